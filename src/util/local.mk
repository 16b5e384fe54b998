# src/util: allocation, buffers, PRNG, hashing, glob matching. Depends on libc only.
noinst_LIBRARIES += libdynisutil.a
libdynisutil_a_SOURCES = \
	src/util/alloc.c src/util/alloc.h \
	src/util/buf.c src/util/buf.h \
	src/util/crc16.c src/util/crc16.h \
	src/util/glob.c src/util/glob.h \
	src/util/hash.c src/util/hash.h \
	src/util/pcg.c src/util/pcg.h
