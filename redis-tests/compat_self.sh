#!/usr/bin/env bash
# redis-tests/compat_self.sh - checks the differential test itself: every
# case of cases.txt must agree between two real redis-servers (a case that
# does not is a broken case, not a dynis bug), and a case that cannot agree
# (TIME, compared exactly) must be reported as a difference.
set -euo pipefail
if [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then sed -n '2,5p' "$0"; exit 0; fi
here=$(dirname "$0")
command -v redis-server >/dev/null || { echo "redis-server is not installed: skipping"; echo "0 passed, 0 failed"; exit 77; }

status=0
out=$(/usr/bin/python3 "$here/compat.py" --self) || status=$?
printf '%s\n' "$out" | sed '$d'
last=$(printf '%s\n' "$out" | tail -n 1)
passed=$(sed -E 's/^([0-9]+) passed.*/\1/' <<<"$last")
failed=$(sed -E 's/.* ([0-9]+) failed$/\1/' <<<"$last")

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dynis-cs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
printf '=== time-exact\nTIME\n' >"$tmp/cases.txt"
if /usr/bin/python3 "$here/compat.py" --self --cases "$tmp/cases.txt" --exceptions /dev/null >"$tmp/out" 2>&1; then
  echo "FAIL: a difference (TIME compared exactly) went unreported"; cat "$tmp/out"
  failed=$((failed + 1))
elif grep -q 'FAIL: time-exact' "$tmp/out"; then
  passed=$((passed + 1))
else
  echo "FAIL: the must-differ run failed for another reason"; cat "$tmp/out"
  failed=$((failed + 1))
fi
echo "$passed passed, $failed failed"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
