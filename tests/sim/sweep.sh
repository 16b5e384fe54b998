#!/bin/sh
# sweep.sh - make check's simulator sweep: consecutive seeds across the fault
# mixes, cluster sizes and quorums; each line below is one test, which fails
# at the first seed whose run the oracle rejects (dynis-sim prints that seed
# and the trace of the offending key). About 340 seeds in all, sized to take
# well under 3 minutes on 2 cores. A longer sweep, for example
#   dynis-sim --faults all --sweep 10000
# is in the README. Prints "N passed, M failed".
sim="${top_builddir:-.}/dynis-sim"
if [ ! -x "$sim" ]; then
    echo "sweep: $sim not built"
    echo "0 passed, 1 failed"
    exit 1
fi
passed=0
failed=0
run() { # description, dynis-sim options...
    what=$1
    shift
    if out=$("$sim" "$@" 2>&1); then
        passed=$((passed + 1))
        echo "sweep: ok   $what: $(printf '%s\n' "$out" | grep '^sweep:' | tail -n 1)"
    else
        failed=$((failed + 1))
        echo "sweep: FAIL $what"
        printf '%s\n' "$out" | head -n 120
    fi
}
run "no faults, 3 nodes" --faults none --nodes 3 --ops 800 --sweep 40 --first-seed 1
run "network faults, 5 nodes" --faults net --nodes 5 --ops 800 --sweep 80 --first-seed 1001
run "crashes and storage faults, 7 nodes" --faults crash --nodes 7 --ops 800 --sweep 60 --first-seed 2001
run "all faults with join and leave, 5 nodes" --faults all --nodes 5 --ops 800 --sweep 60 --first-seed 3001
run "all faults, 9 nodes" --faults all --nodes 9 --ops 500 --sweep 20 --first-seed 4001
run "all faults, N=3 R=1 W=1, 4 nodes" --faults all --nodes 4 --n 3 --r 1 --w 1 --ops 500 --sweep 20 --first-seed 5001
run "all faults, N=1, 5 nodes" --faults all --nodes 5 --n 1 --r 1 --w 1 --ops 500 --sweep 20 --first-seed 6001
run "all faults, N=2 W=2, 6 nodes" --faults all --nodes 6 --n 2 --r 1 --w 2 --ops 500 --sweep 20 --first-seed 7001
run "all faults, a tight background budget, 5 nodes" --faults all --nodes 5 --budget 3000 --ops 500 --sweep 20 --first-seed 8001
a=$("$sim" --faults all --seed 11 --ops 500 2>/dev/null)
b=$("$sim" --faults all --seed 11 --ops 500 2>/dev/null)
if [ -n "$a" ] && [ "$a" = "$b" ]; then
    passed=$((passed + 1))
    echo "sweep: ok   the same seed prints the same bytes"
else
    failed=$((failed + 1))
    echo "sweep: FAIL the same seed printed different output"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
