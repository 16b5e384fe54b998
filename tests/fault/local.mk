# tests/fault/local.mk - fault tests: real dynis-server processes, each in
# its own network namespace on a bridge, under a recorded client workload,
# through one fault each (faultlib.py builds the network and the workload;
# check_history.py checks a run's history against every replica's state).
# They need root and network namespaces, and skip (exit 77) without them.
# test_check_history.py checks the checker itself on made-up runs.
FAULT_TESTS = \
	tests/fault/test_check_history.py \
	tests/fault/fault_cutoff.py \
	tests/fault/fault_partition.py \
	tests/fault/fault_kill.py \
	tests/fault/fault_hint_holder.py \
	tests/fault/fault_wipe.py \
	tests/fault/fault_join_leave.py
dist_check_SCRIPTS += $(FAULT_TESTS)
TESTS += $(FAULT_TESTS)
EXTRA_DIST += tests/fault/faultlib.py tests/fault/check_history.py
