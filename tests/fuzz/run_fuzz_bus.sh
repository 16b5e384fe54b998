#!/bin/sh
# run_fuzz_bus.sh - builds the bus decoder's libFuzzer harness
# (tests/fuzz/fuzz_bus.c, `make fuzz`) and fuzzes it for FUZZ_BUS_RUNS inputs
# (default 200000, at most FUZZ_SECONDS, default 20) from the seed corpus in
# tests/fuzz/corpus/bus/. Skips (77) when clang is missing. New inputs go to
# a temporary directory, so the seed corpus in the tree is never changed.
: "${top_srcdir:?}" "${top_builddir:?}"
runs=${FUZZ_BUS_RUNS:-200000}
seconds=${FUZZ_SECONDS:-20}
clang=${CLANG:-$(command -v clang)}
if [ -z "$clang" ]; then
    echo "clang not found: skipping the fuzz run"
    echo "0 passed, 0 failed"
    exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/dynis-fuzz-bus.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT INT TERM

fail() {
    echo "fuzz_bus: $1"
    echo "0 passed, 1 failed"
    exit 1
}

make -s -C "$top_builddir" tests/fuzz/fuzz_bus CLANG="$clang" >"$work/build.log" 2>&1 ||
    { cat "$work/build.log"; fail "build failed"; }
mkdir "$work/corpus"
"$top_builddir/tests/fuzz/fuzz_bus" -runs="$runs" -max_total_time="$seconds" -timeout=10 \
    -max_len=4096 -rss_limit_mb=2048 -artifact_prefix="$work/" -print_final_stats=1 \
    "$work/corpus" "$top_srcdir/tests/fuzz/corpus/bus" >"$work/fuzz.log" 2>&1
status=$?
tail -n 15 "$work/fuzz.log"
if [ "$status" -ne 0 ]; then
    for f in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
        [ -f "$f" ] && { echo "input $f:"; od -c "$f" | head -n 20; }
    done
    fail "exit status $status"
fi
echo "1 passed, 0 failed"
