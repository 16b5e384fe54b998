#!/usr/bin/env bash
# redis-tests/redis_benchmark.sh - redis-benchmark -t set,get against
# dynis-server completes with no errors, with and without pipelining. Not
# timed: the figures are printed, never compared (utils/bench measures).
#
#   redis_benchmark.sh [--self]    (--self: run against a real redis-server)
set -euo pipefail
if [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then sed -n '2,6p' "$0"; exit 0; fi
source "$(dirname "$0")/lib.sh"
skip_without redis-benchmark
target_start "$@"

# run NAME ARGS...: one redis-benchmark run; passes when it exits 0, prints
# a figure for SET and GET and no error.
run() {
  local name=$1; shift
  local out
  out=$(timeout 120 redis-benchmark -p "$PORT" -t set,get -c 20 -q "$@" 2>&1 | tr '\r' '\n') || {
    check_eq "$name: exit status" 0 1; echo "$out" | tail -n 5; return; }
  echo "$name:"; grep -E '^(SET|GET): .*requests per second' <<<"$out" | sed 's/^/  /' || true
  check_eq "$name: SET figure" 1 "$(grep -cE '^SET: .*requests per second' <<<"$out" || true)"
  check_eq "$name: GET figure" 1 "$(grep -cE '^GET: .*requests per second' <<<"$out" || true)"
  check_eq "$name: no errors" "" "$(grep -iE 'error|ERR ' <<<"$out" || true)"
}

run "plain" -n 20000
run "pipelined" -n 20000 -P 16
run "random keys" -n 20000 -r 10000 -d 100
check "keys were written" test "$(redis-cli -p "$PORT" DBSIZE)" -gt 1
finish
