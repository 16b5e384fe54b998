#!/bin/sh
# breaks.sh - shows that the oracle can fail: each test breaks one mechanism
# on purpose (node_config's test-only test_break knob, through dynis-sim
# --break) and expects dynis-sim to report a violation within a short sweep.
# Prints "N passed, M failed".
sim="${top_builddir:-.}/dynis-sim"
if [ ! -x "$sim" ]; then
    echo "breaks: $sim not built"
    echo "0 passed, 1 failed"
    exit 1
fi
passed=0
failed=0
expect_violation() { # break, dynis-sim options...
    brk=$1
    shift
    out=$("$sim" --break "$brk" "$@" 2>&1)
    rc=$?
    if [ "$rc" -eq 1 ] && printf '%s\n' "$out" | grep -q '^VIOLATION seed'; then
        passed=$((passed + 1))
        echo "breaks: ok   --break $brk caught: $(printf '%s\n' "$out" | grep '^VIOLATION' | head -n 1)"
    else
        failed=$((failed + 1))
        echo "breaks: FAIL --break $brk went unnoticed (exit $rc)"
        printf '%s\n' "$out" | tail -n 5
    fi
}
expect_violation ack-before-w --faults none --ops 500 --sweep 5
expect_violation merge-drops-sibling --faults net --ops 800 --sweep 10
# With W = 1 the acknowledgement check cannot see it: the final check must.
expect_violation merge-drops-sibling --faults none --w 1 --r 1 --ops 800 --sweep 10
expect_violation no-forward --faults none --ops 800 --sweep 10
expect_violation hint-drop --faults crash --ops 500 --sweep 10
# Tombstones reclaimed after the grace without every replica's confirmation:
# a replica that missed the delete brings the value back.
expect_violation early-reap --faults crash --ops 800 --sweep 10
# And the unbroken build passes the same runs.
if "$sim" --faults none --ops 500 --sweep 5 >/dev/null 2>&1; then
    passed=$((passed + 1))
    echo "breaks: ok   no break, no violation"
else
    failed=$((failed + 1))
    echo "breaks: FAIL the unbroken run reported a violation"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
