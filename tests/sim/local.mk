# tests/sim: the deterministic simulator. libdynissim.a holds the world, the
# clients and the oracle; dynis-sim is its driver; the scripts sweep seeds
# across fault mixes and show that the oracle catches broken mechanisms.
noinst_LIBRARIES += libdynissim.a
libdynissim_a_SOURCES = \
	tests/sim/sim.h tests/sim/sim_int.h \
	tests/sim/sim_queue.c tests/sim/sim_queue.h \
	tests/sim/sim_world.c tests/sim/sim_client.c tests/sim/sim_oracle.c

noinst_PROGRAMS += dynis-sim
dynis_sim_SOURCES = tests/sim/sim_main.c
dynis_sim_LDADD = libdynissim.a libdyniscore.a libdynisutil.a

dist_check_SCRIPTS += tests/sim/sweep.sh tests/sim/breaks.sh
TESTS += tests/sim/sweep.sh tests/sim/breaks.sh
