# shellcheck shell=bash
# redis-tests/lib.sh - sourced by the redis-tests shell scripts: starts the
# server under test (dynis-server, or with --self a real redis-server, to
# check the script itself) on a free port in a temporary directory, stops it
# and removes the directory on exit, and counts checks for the closing
# "N passed, M failed" line.
#
# After `target_start "$@"`: $PORT, $TMP (scratch dir), $TARGET_PID.

top_srcdir=${top_srcdir:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
DYNIS_SERVER=${DYNIS_SERVER:-$top_srcdir/build/dynis-server}
START_TRIES_MAX=500        # 20 ms apart: 10 s
STOP_TRIES_MAX=250         # 20 ms apart: 5 s, then kill -9
PROTO_MAX_BULK_LEN=2097152

PASSED=0
FAILED=0
TARGET_PID=

# check NAME COMMAND...: runs the command, counts a pass when it succeeds.
check() {
  local name=$1; shift
  if "$@"; then PASSED=$((PASSED + 1)); else FAILED=$((FAILED + 1)); echo "FAIL: $name"; fi
}

# check_eq NAME EXPECTED ACTUAL
check_eq() {
  if [ "$2" = "$3" ]; then PASSED=$((PASSED + 1))
  else FAILED=$((FAILED + 1)); printf 'FAIL: %s\n  expected: %q\n  actual:   %q\n' "$1" "$2" "$3"; fi
}

finish() {
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ] && [ "$PASSED" -gt 0 ]
}

skip_without() {
  local tool
  for tool in "$@"; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      echo "$tool is not installed: skipping"; echo "0 passed, 0 failed"; exit 77
    fi
  done
}

target_stop() {
  if [ -n "$TARGET_PID" ] && kill -0 "$TARGET_PID" 2>/dev/null; then
    kill -TERM "$TARGET_PID" 2>/dev/null || true
    local i=0
    while kill -0 "$TARGET_PID" 2>/dev/null && [ $i -lt $STOP_TRIES_MAX ]; do sleep 0.02; i=$((i + 1)); done
    kill -9 "$TARGET_PID" 2>/dev/null || true
    wait "$TARGET_PID" 2>/dev/null || true
  fi
  TARGET_PID=
  [ -n "${TMP:-}" ] && rm -rf "$TMP"
}

# target_start [--self]: starts the server under test, waits for PING.
target_start() {
  skip_without redis-cli
  TMP=$(mktemp -d "${TMPDIR:-/tmp}/dynis-rt.XXXXXX")
  trap target_stop EXIT
  trap 'exit 1' INT TERM
  PORT=$("$top_srcdir/utils/free_port" --bus)
  if [ "${1:-}" = --self ]; then
    skip_without redis-server
    redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no \
      --dir "$TMP" --proto-max-bulk-len $PROTO_MAX_BULK_LEN >"$TMP/server.log" 2>&1 &
  else
    if [ ! -x "$DYNIS_SERVER" ]; then
      echo "dynis-server not found at $DYNIS_SERVER"; echo "0 passed, 1 failed"; exit 1
    fi
    "$DYNIS_SERVER" --port "$PORT" --bind 127.0.0.1 --dir "$TMP/data" \
      --proto-max-bulk-len $PROTO_MAX_BULK_LEN >"$TMP/server.log" 2>&1 &
  fi
  TARGET_PID=$!
  local i=0
  until [ "$(redis-cli -p "$PORT" PING 2>/dev/null)" = PONG ]; do
    if ! kill -0 "$TARGET_PID" 2>/dev/null || [ $i -ge $START_TRIES_MAX ]; then
      echo "the server did not start:"; tail -n 20 "$TMP/server.log"
      echo "0 passed, 1 failed"; exit 1
    fi
    sleep 0.02; i=$((i + 1))
  done
}
