#!/usr/bin/env bash
# redis-tests/compat_self.sh - checks the differential tests themselves:
# every case of cases.txt and every random sequence of compat_random.py must
# agree between two real redis-servers (one that does not is a broken case or
# generator, not a dynis bug), and a case that cannot agree (TIME, compared
# exactly; a key planted on one server only) must be reported as a difference.
set -euo pipefail
if [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then sed -n '2,6p' "$0"; exit 0; fi
here=$(dirname "$0")
command -v redis-server >/dev/null || { echo "redis-server is not installed: skipping"; echo "0 passed, 0 failed"; exit 77; }

status=0
out=$(/usr/bin/python3 "$here/compat.py" --self) || status=$?
printf '%s\n' "$out" | sed '$d'
last=$(printf '%s\n' "$out" | tail -n 1)
passed=$(sed -E 's/^([0-9]+) passed.*/\1/' <<<"$last")
failed=$(sed -E 's/.* ([0-9]+) failed$/\1/' <<<"$last")

out=$(/usr/bin/python3 "$here/compat_random.py" --self) || status=$?
printf '%s\n' "$out" | sed '$d'
last=$(printf '%s\n' "$out" | tail -n 1)
passed=$((passed + $(sed -E 's/^([0-9]+) passed.*/\1/' <<<"$last")))
failed=$((failed + $(sed -E 's/.* ([0-9]+) failed$/\1/' <<<"$last")))

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
if /usr/bin/python3 "$here/compat_random.py" --self --plant --seqs 1 >"$tmp/out" 2>&1; then
  echo "FAIL: a difference (a key planted on one server) went unreported"; cat "$tmp/out"
  failed=$((failed + 1))
elif grep -q '^0 passed, 1 failed$' "$tmp/out" && grep -q 'redis2: ' "$tmp/out"; then
  passed=$((passed + 1))
else
  echo "FAIL: the planted-key run failed for another reason"; cat "$tmp/out"
  failed=$((failed + 1))
fi
echo "$passed passed, $failed failed"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
