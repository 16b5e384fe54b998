#!/usr/bin/env bash
# redis-tests/redis_cli.sh - redis-cli against dynis-server: commands given
# as arguments, read from a file and from stdin, -x, -r, --scan, and
# `redis-cli --pipe` mass insertion of 10,000 keys (its "errors: 0,
# replies: 10000" line, then DBSIZE).
#
#   redis_cli.sh [--self]    (--self: run against a real redis-server)
set -euo pipefail
if [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then sed -n '2,7p' "$0"; exit 0; fi
source "$(dirname "$0")/lib.sh"
target_start "$@"
PIPE_KEYS=10000

cli() { redis-cli -p "$PORT" "$@"; }

check_eq "SET as arguments" OK "$(cli SET greeting hello)"
check_eq "GET as arguments" hello "$(cli GET greeting)"
check_eq "GET missing key (raw mode)" "" "$(cli GET nokey)"
check_eq "GET missing key (--no-raw)" "(nil)" "$(cli --no-raw GET nokey)"
check_eq "DEL count" 1 "$(cli DEL greeting)"
check_eq "ECHO with spaces" "a b  c" "$(cli ECHO 'a b  c')"
check_eq "PING repeated with -r" $'PONG\nPONG\nPONG' "$(cli -r 3 PING)"
check_eq "error reply" "ERR unknown command 'NOSUCH', with args beginning with: 'x' " "$(cli NOSUCH x 2>&1)"

printf 'SET a 1\nSET b "two words"\nMGET a b nokey\nAPPEND a 23\nGET a\nDBSIZE\n' >"$TMP/cmds.txt"
check_eq "commands from a file" $'OK\nOK\n1\ntwo words\n\n3\n123\n2' "$(cli <"$TMP/cmds.txt")"
check_eq "commands from stdin" $'PONG\nhi' "$(printf 'PING\nECHO hi\n' | cli)"

printf 'bytes\0with\nNUL' >"$TMP/value.bin"
check_eq "-x takes the last argument from stdin" OK "$(cli -x SET binkey <"$TMP/value.bin")"
cli --raw GET binkey | head -c -1 >"$TMP/back.bin"
check "binary value round trip" cmp -s "$TMP/value.bin" "$TMP/back.bin"
check_eq "STRLEN of binary value" 14 "$(cli STRLEN binkey)"

check_eq "SET EX" OK "$(cli SET ttlkey v EX 100)"
check_eq "TTL" 100 "$(cli TTL ttlkey)"
check_eq "FLUSHALL" OK "$(cli FLUSHALL)"

# Mass insertion: one file of RESP commands, as the Redis manual describes.
/usr/bin/python3 - "$PIPE_KEYS" >"$TMP/pipe.resp" <<'PY'
import sys
out = sys.stdout.buffer
for i in range(int(sys.argv[1])):
    k, v = b"key:%d" % i, b"value:%d" % i
    out.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, len(v), v))
PY
pipe_out=$(cli --pipe <"$TMP/pipe.resp" 2>&1 || true)
check_eq "--pipe summary" "errors: 0, replies: $PIPE_KEYS" "$(grep -o 'errors: [0-9]*, replies: [0-9]*' <<<"$pipe_out" || true)"
check_eq "DBSIZE after --pipe" "$PIPE_KEYS" "$(cli DBSIZE)"
check_eq "a piped key" value:9999 "$(cli GET key:9999)"
check_eq "--scan --pattern" 111 "$(cli --scan --pattern 'key:99*' | wc -l | tr -d ' ')"
check_eq "KEYS pattern" 11 "$(cli KEYS 'key:999*' | wc -l | tr -d ' ')"

finish
