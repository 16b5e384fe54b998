#!/usr/bin/env bash
# redis-tests/cluster_clients.sh - real cluster clients against a 3-node
# dynis cluster formed with CLUSTER MEET: python3-redis's RedisCluster
# (Debian's, /usr/bin/python3), `redis-cli -c`, and `redis-benchmark
# --cluster -t set,get`, all with no special options and no errors. Not
# timed: the benchmark figures are printed, never compared.
#
#   cluster_clients.sh
set -euo pipefail
if [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then sed -n '2,8p' "$0"; exit 0; fi
source "$(dirname "$0")/lib.sh"
skip_without redis-cli redis-benchmark

NODES=3
FORM_TRIES_MAX=200   # 100 ms apart: 20 s
BENCH_REQUESTS=20000

TMP=$(mktemp -d "${TMPDIR:-/tmp}/dynis-cc.XXXXXX")
PIDS=()
PORTS=()
BUS_PORTS=()

stop_nodes() {
  local pid i
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    i=0
    while kill -0 "$pid" 2>/dev/null && [ $i -lt "$STOP_TRIES_MAX" ]; do sleep 0.02; i=$((i + 1)); done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$TMP"
}
trap stop_nodes EXIT
trap 'exit 1' INT TERM

fail_start() {
  local n
  echo "$1"
  for n in $(seq 0 $((NODES - 1))); do echo "--- node $n"; tail -n 20 "$TMP/$n/server.log" 2>/dev/null || true; done
  echo "$PASSED passed, $((FAILED + 1)) failed"
  exit 1
}

# start_node I: node I on PORTS[I] (bus BUS_PORTS[I]), waits for PING.
start_node() {
  local n=$1 i=0
  mkdir -p "$TMP/$n"
  "$DYNIS_SERVER" --port "${PORTS[$n]}" --bus-port "${BUS_PORTS[$n]}" --bind 127.0.0.1 \
    --dir "$TMP/$n/data" >"$TMP/$n/server.log" 2>&1 &
  PIDS+=($!)
  until [ "$(redis-cli -p "${PORTS[$n]}" PING 2>/dev/null)" = PONG ]; do
    if ! kill -0 "${PIDS[$n]}" 2>/dev/null || [ $i -ge "$START_TRIES_MAX" ]; then
      fail_start "node $n did not start"
    fi
    sleep 0.02; i=$((i + 1))
  done
}

# ring_view PORT: state, known nodes, epoch and a digest of CLUSTER SLOTS.
ring_view() {
  local info
  info=$(redis-cli -p "$1" CLUSTER INFO 2>/dev/null | tr -d '\r')
  printf '%s %s %s %s\n' "$(sed -n 's/^cluster_state://p' <<<"$info")" \
    "$(sed -n 's/^cluster_known_nodes://p' <<<"$info")" \
    "$(sed -n 's/^cluster_current_epoch://p' <<<"$info")" \
    "$(redis-cli -p "$1" CLUSTER SLOTS 2>/dev/null | md5sum | cut -c1-32)"
}

# agreed: every node reports "ok NODES" and the same epoch and slots.
agreed() {
  local port first="" view
  for port in "${PORTS[@]}"; do
    view=$(ring_view "$port")
    [[ "$view" == "ok $NODES "* ]] || return 1
    [[ "$view" == "ok 1 "* || "$view" != "ok $NODES 0 "* ]] || return 1  # no ring built yet
    [ -z "$first" ] && first=$view
    [ "$view" = "$first" ] || return 1
  done
}

form_cluster() {
  [ -x "$DYNIS_SERVER" ] || { echo "dynis-server not found at $DYNIS_SERVER"; echo "0 passed, 1 failed"; exit 1; }
  local ports n i=0
  mapfile -t ports < <("$top_srcdir/utils/free_port" $((2 * NODES)))
  for n in $(seq 0 $((NODES - 1))); do
    PORTS[$n]=${ports[$((2 * n))]}; BUS_PORTS[$n]=${ports[$((2 * n + 1))]}
    start_node "$n"
  done
  for n in $(seq 1 $((NODES - 1))); do
    check_eq "CLUSTER MEET node $n" OK \
      "$(redis-cli -p "${PORTS[0]}" CLUSTER MEET 127.0.0.1 "${PORTS[$n]}" "${BUS_PORTS[$n]}" 2>&1)"
  done
  [ "$FAILED" -eq 0 ] || fail_start "CLUSTER MEET failed"
  until agreed; do
    if [ $i -ge $FORM_TRIES_MAX ]; then
      for n in "${PORTS[@]}"; do echo "node $n: $(ring_view "$n")"; done
      fail_start "the nodes did not agree on a ring"
    fi
    sleep 0.1; i=$((i + 1))
  done
  echo "cluster of $NODES formed on ports ${PORTS[*]} (bus ${BUS_PORTS[*]})"
}

# python_cluster PORT: RedisCluster from one node; the last line counts the
# failed checks.
python_cluster() {
  timeout 120 /usr/bin/python3 - "$1" "$NODES" <<'PY'
import sys
from redis.cluster import RedisCluster
port, nodes = int(sys.argv[1]), int(sys.argv[2])
rc = RedisCluster(host="127.0.0.1", port=port)
bad = []
def check(ok, name):
    if not ok:
        bad.append(name)
check(len(rc.get_nodes()) == nodes, "get_nodes lists %d nodes: %r" % (nodes, rc.get_nodes()))
for i in range(500):
    check(rc.set("py:%d" % i, "v%d" % i) is True, "set py:%d" % i)
for i in range(500):
    check(rc.get("py:%d" % i) == b"v%d" % i, "get py:%d" % i)
check(rc.get("py:none") is None, "get missing")
check(rc.append("py:2", "x") == 3 and rc.get("py:2") == b"v2x", "append")
check(rc.expire("py:0", 100) is True and rc.ttl("py:0") == 100, "expire/ttl")
check(rc.mset_nonatomic({"py:a": "1", "py:b": "2"}) is not None, "mset_nonatomic")
check(rc.mget_nonatomic(["py:a", "py:b", "py:none"]) == [b"1", b"2", None], "mget_nonatomic")
check(rc.delete("py:1") == 1 and rc.exists("py:1") == 0, "delete/exists")
info = rc.cluster_info()
check(isinstance(info, dict) and info.get("cluster_state") == "ok", "cluster_info: %r" % (info,))
for name in bad[:10]:
    print("FAILED:", name)
print("python cluster: %d failed checks" % len(bad))
PY
}

run_python_cluster() {
  if ! /usr/bin/python3 -c 'import redis.cluster' 2>/dev/null; then
    echo "python3-redis with RedisCluster is not installed: not run"; return
  fi
  local out
  out=$(python_cluster "${PORTS[1]}" 2>&1) || true
  echo "$out" | tail -n 12
  check_eq "python3-redis RedisCluster" "python cluster: 0 failed checks" "$(tail -n 1 <<<"$out")"
}

run_redis_cli() {
  local i port=${PORTS[0]}
  check_eq "redis-cli -c SET" OK "$(redis-cli -c -p "$port" SET cli:key hello 2>&1)"
  for i in $(seq 1 $((NODES - 1))); do
    check_eq "redis-cli -c GET through node $i" hello "$(redis-cli -c -p "${PORTS[$i]}" GET cli:key 2>&1)"
  done
  for i in $(seq 1 20); do redis-cli -c -p "$port" SET "cli:$i" "v$i" >/dev/null 2>&1; done
  local got=""
  for i in $(seq 1 20); do got+="$(redis-cli -c -p "${PORTS[2]}" GET "cli:$i" 2>&1) "; done
  check_eq "redis-cli -c 20 keys" "$(for i in $(seq 1 20); do printf 'v%s ' "$i"; done)" "$got"
  check_eq "redis-cli -c never redirected" "" \
    "$(redis-cli -c -p "$port" GET cli:key 2>&1 | grep -i -E 'moved|ask|redirect' || true)"
  check_eq "redis-cli -c DEL" 1 "$(redis-cli -c -p "${PORTS[1]}" DEL cli:key 2>&1)"
  check_eq "redis-cli -c GET deleted" "" "$(redis-cli -c -p "$port" GET cli:key 2>&1)"
}

# bench NAME ARGS...: redis-benchmark -t set,get exits 0 with both figures and no error.
bench() {
  local name=$1 out; shift
  out=$(timeout 180 redis-benchmark -p "${PORTS[0]}" -t set,get -c 20 -q "$@" 2>&1 | tr '\r' '\n') || {
    check_eq "$name: exit status" 0 1; echo "$out" | tail -n 5; return; }
  echo "$name:"; grep -E '^(SET|GET): .*requests per second' <<<"$out" | sed 's/^/  /' || true
  check_eq "$name: SET figure" 1 "$(grep -cE '^SET: .*requests per second' <<<"$out" || true)"
  check_eq "$name: GET figure" 1 "$(grep -cE '^GET: .*requests per second' <<<"$out" || true)"
  check_eq "$name: no errors" "" "$(grep -iE 'error|ERR |moved' <<<"$out" | head -n 3 || true)"
}

form_cluster
run_python_cluster
run_redis_cli
bench "redis-benchmark --cluster" --cluster -n $BENCH_REQUESTS
bench "redis-benchmark through one node" -n $BENCH_REQUESTS -r 10000
bench "redis-benchmark --cluster -P 16" --cluster -n $BENCH_REQUESTS -P 16
for n in "${PORTS[@]}"; do
  check "node $n still answers" test "$(redis-cli -p "$n" PING 2>/dev/null)" = PONG
done
finish
