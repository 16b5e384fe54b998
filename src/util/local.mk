# src/util: allocation, buffers, PRNG, hashing, SHA-256, glob matching, hex
# digits, strict integers and argument splitting. Depends on libc only.
noinst_LIBRARIES += libdynisutil.a
libdynisutil_a_SOURCES = \
	src/util/alloc.c src/util/alloc.h \
	src/util/buf.c src/util/buf.h \
	src/util/crc16.c src/util/crc16.h \
	src/util/glob.c src/util/glob.h \
	src/util/hash.c src/util/hash.h \
	src/util/hex.c src/util/hex.h \
	src/util/pcg.c src/util/pcg.h \
	src/util/sha256.c src/util/sha256.h \
	src/util/splitargs.c src/util/splitargs.h \
	src/util/strconv.c src/util/strconv.h
