# fuzz_run.sh - sourced by the fuzz test scripts: fuzz_run HARNESS CORPUS
# [libFuzzer options...] builds tests/fuzz/HARNESS (`make fuzz`'s target, with
# clang), fuzzes it from the seed corpus tests/fuzz/corpus/CORPUS for at most
# FUZZ_SECONDS (default 20) and ends with "N passed, M failed". Skips (77)
# when clang is missing. New inputs go to a temporary directory, so the seed
# corpus in the tree is never changed.
: "${top_srcdir:?}" "${top_builddir:?}"

fuzz_run() {
    harness=$1 corpus=$2
    shift 2
    seconds=${FUZZ_SECONDS:-20}
    clang=${CLANG:-$(command -v clang)}
    if [ -z "$clang" ]; then
        echo "clang not found: skipping the fuzz run"
        echo "0 passed, 0 failed"
        exit 77
    fi
    work=$(mktemp -d "${TMPDIR:-/tmp}/dynis-$harness.XXXXXX") || exit 1
    trap 'rm -rf "$work"' EXIT INT TERM
    make -s -C "$top_builddir" "tests/fuzz/$harness" CLANG="$clang" >"$work/build.log" 2>&1 ||
        { cat "$work/build.log"; fuzz_fail "build failed"; }
    mkdir "$work/corpus"
    "$top_builddir/tests/fuzz/$harness" "$@" -max_total_time="$seconds" -timeout=10 \
        -rss_limit_mb=2048 -artifact_prefix="$work/" -print_final_stats=1 \
        "$work/corpus" "$top_srcdir/tests/fuzz/corpus/$corpus" >"$work/fuzz.log" 2>&1
    status=$?
    tail -n 15 "$work/fuzz.log"
    if [ "$status" -ne 0 ]; then
        for f in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
            [ -f "$f" ] && { echo "input $f:"; od -c "$f" | head -n 20; }
        done
        fuzz_fail "exit status $status"
    fi
    echo "1 passed, 0 failed"
}

fuzz_fail() {
    echo "$harness: $1"
    echo "0 passed, 1 failed"
    exit 1
}
