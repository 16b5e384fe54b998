#!/bin/sh
# purity.sh - proves the core pure: no symbol of libdyniscore.a may come from
# a clock, the C library's randomness, sockets, libevent, RocksDB or hiredis
# (DESIGN.md section 3). `nm -u` lists the symbols the library needs from
# outside; each forbidden family is one check. Prints "N passed, M failed".
lib="${top_builddir:-.}/libdyniscore.a"
if [ ! -f "$lib" ]; then
    echo "purity: $lib not built"
    echo "0 passed, 1 failed"
    exit 1
fi
undefined=$(nm -u "$lib" 2>/dev/null | awk '{print $NF}' | sed 's/@.*//' | sort -u)
if [ -z "$undefined" ]; then
    echo "purity: nm -u listed nothing for $lib"
    echo "0 passed, 1 failed"
    exit 1
fi
passed=0
failed=0
check() { # name, extended regex of forbidden symbols
    hits=$(printf '%s\n' "$undefined" | grep -E "$2" || true)
    if [ -n "$hits" ]; then
        echo "purity: FAIL $1:" $hits
        failed=$((failed + 1))
    else
        passed=$((passed + 1))
    fi
}
check clock '^(time|clock_gettime|clock|gettimeofday|ftime|timespec_get|clock_getres)$'
check randomness '^(rand|random|srand|srandom|rand_r|drand48|lrand48|mrand48|arc4random.*|getrandom|getentropy)$'
check sockets '^(socket|connect|bind|listen|accept|accept4|send|sendto|sendmsg|recv|recvfrom|recvmsg|getaddrinfo|poll|select|epoll_.*)$'
check libevent '^(event_|evbuffer_|bufferevent_|evutil_|evconn)'
check rocksdb '^rocksdb_'
check hiredis '^(redis|sds)'
check threads-and-sleep '^(pthread_.*|sleep|usleep|nanosleep)$'
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
