#!/usr/bin/env bash
# cluster_fake.sh - do real Redis Cluster clients accept dynis's CLUSTER
# replies? cluster_fake_render writes the replies of a 3-node ring (slot
# ownership striped, so thousands of ranges), cluster_fake.py serves them on
# three free ports, and this script points at it: redis-cli (-2 and -3),
# redis-cli -c, redis-cli --cluster check, redis-benchmark --cluster and
# python3-redis's RedisCluster (cluster_fake_client.py). The fake counts keyed
# commands that reach a node other than the slot's master (FAKE.STATS), so
# the routing clients must route every key as the replies say. Skips (77)
# when redis-tools or python3-redis is missing. CLUSTER_FAKE_NODES (1..9,
# default 3) sets the number of nodes.
set -u

srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
builddir=${top_builddir:-.}
PY=/usr/bin/python3
NODES=${CLUSTER_FAKE_NODES:-3}
REPLICAS=3
READY_TRIES_MAX=100 # 0.1 s each
BENCH_REQUESTS=3000

for tool in redis-cli redis-benchmark; do
  command -v "$tool" >/dev/null || { echo "skip: no $tool"; echo "0 passed, 0 failed"; exit 77; }
done
"$PY" -c 'import redis.cluster' 2>/dev/null || { echo "skip: no python3-redis"; echo "0 passed, 0 failed"; exit 77; }

tmp=$(mktemp -d)
fake_pid=
cleanup() {
  [ -n "$fake_pid" ] && kill "$fake_pid" 2>/dev/null && wait "$fake_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

passed=0
failed=0
check() { # check NAME COMMAND...: passes when COMMAND succeeds
  local name=$1; shift
  if "$@" >"$tmp/out" 2>&1; then
    passed=$((passed + 1)); echo "ok: $name"
  else
    failed=$((failed + 1)); echo "FAIL: $name"; head -c 2000 "$tmp/out"; echo
  fi
}

read -r -a ports <<<"$("$srcdir/utils/free_port" --bus "$NODES" | tr '\n' ' ')"
p1=${ports[0]}
"$builddir/tests/unit/cluster_fake_render" "$tmp" "$REPLICAS" "${ports[@]}" || {
  echo "cluster_fake_render failed"; echo "0 passed, 1 failed"; exit 1; }
"$PY" "$srcdir/tests/unit/cluster_fake.py" "$tmp" "${ports[@]}" >"$tmp/fake.log" 2>&1 &
fake_pid=$!
for _ in $(seq "$READY_TRIES_MAX"); do
  grep -q ready "$tmp/fake.log" && break
  sleep 0.1
done
grep -q ready "$tmp/fake.log" || { cat "$tmp/fake.log"; echo "0 passed, 1 failed"; exit 1; }

cli() { redis-cli -h 127.0.0.1 "$@"; }
# misrouted PORT: prints how many keyed commands went to the wrong node so far
misrouted() { cli -p "$1" fake.stats | sed -n 2p; }
contains() { # contains TEXT COMMAND...: COMMAND succeeds and prints TEXT
  local want=$1; shift
  local got; got=$("$@") || return 1
  printf '%s\n' "$got"
  grep -qF -- "$want" <<<"$got"
}

for p in "${ports[@]}"; do
  check "cluster info on $p" contains "cluster_state:ok" cli -p "$p" cluster info
  check "RESP3 cluster info on $p" contains "cluster_slots_assigned:16384" cli -3 -p "$p" cluster info
done
check "redis-cli -3 cluster slots" contains "127.0.0.1" cli -3 -p "$p1" cluster slots
check "redis-cli -3 cluster shards" contains "replication-offset" cli -3 -p "$p1" cluster shards
check "redis-cli -3 cluster nodes" contains "myself,master" cli -3 -p "$p1" cluster nodes
check "redis-cli -c set" contains "OK" cli -c -p "$p1" set "{user1}.cart" apples
check "redis-cli -c get" contains "apples" cli -c -p "${ports[1]}" get "{user1}.cart"
check "redis-cli --cluster check: coverage" \
  contains "[OK] All 16384 slots covered." cli --cluster check "127.0.0.1:$p1"
check "redis-cli --cluster check: agreement" \
  contains "[OK] All nodes agree about slots configuration." cli --cluster check "127.0.0.1:$p1"

before=$(misrouted "$p1")
check "redis-benchmark --cluster" contains "GET: " \
  redis-benchmark --cluster -h 127.0.0.1 -p "$p1" -t set,get -n "$BENCH_REQUESTS" -c 6 -q
tr '\r' '\n' <"$tmp/out" | grep -E "^ *(SET|GET): [0-9]"
check "redis-benchmark --cluster routes every key" test "$(misrouted "$p1")" = "$before"

check "python3-redis RedisCluster" "$PY" "$srcdir/tests/unit/cluster_fake_client.py" "$p1" "$NODES"
cat "$tmp/out"
check "python3-redis routes every key" test "$(misrouted "$p1")" = "$before"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
