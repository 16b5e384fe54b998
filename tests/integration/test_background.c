/* test_background.c - the operational knobs of hinted handoff and the
 * background budget, on real dynis-server processes (procs.h, cluster.h):
 * background-bytes-per-sec, hint-max-bytes and hint-ttl are accepted, shown
 * by CONFIG GET and INFO dynamo (the budget changes at run time); with a
 * tiny budget, the hints for a stopped node are all delivered once it is
 * back while the budget visibly throttles them; hints survive SIGKILL of
 * the nodes that hold them; with hint-max-bytes 0 no
 * hint is kept and every refused one is counted as dropped. Every wait is a
 * bounded poll. Run one test with CK_RUN_CASE=<test name>. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check_main.h"
#include "cluster.h"
#include "expect.h"
#include "procs.h"

#define HINT_KEYS 300           /* keys written while a node is down */
#define VALUE_BYTES 100         /* their values' length */
#define KEY_MAX 32
#define SETTLE_TIMEOUT_MS 60000 /* bounded waits: detection, delivery */
#define TEST_TIMEOUT_S 150
/* The tiny budget: the hints for the stopped node are about 200 messages of
 * some 250 bytes, so they take several seconds to go at 4 KiB/s. */
#define TINY_BUDGET "4kb"
#define TINY_BUDGET_BYTES 4096

/* Dynamo fields the INFO section must show (besides the ones checked by
 * value). */
static const char *const dynamo_fields[] = {
    "hints_pending", "hints_pending_bytes", "hints_delivered", "hints_dropped",
    "hints_stored", "ae_rounds", "ae_sessions_served", "ae_trees_compared",
    "ae_slots_differing", "ae_keys_exchanged", "ae_bytes_sent", "handoff_pending",
    "handoff_keys", "handoff_keys_pending", "handoff_slots_pending", "handoff_keys_received",
    "background_bytes_used", "background_deferred", "read_repairs_skipped",
};

/* Two replicas of three nodes, so a stopped node's writes have a substitute
 * that keeps a hint for it; a fast failure detector; no anti-entropy, so
 * only hinted handoff brings the node its keys. */
static const char *const throttled[] = {
    "--replicas", "2", "--node-timeout", "1000", "--anti-entropy-interval", "0",
    "--background-bytes-per-sec", TINY_BUDGET, NULL};
/* As above with no budget limit. */
static const char *const unthrottled[] = {
    "--replicas", "2", "--node-timeout", "1000", "--anti-entropy-interval", "0",
    "--background-bytes-per-sec", "0", NULL};
/* As above with W = 1 (the coordinator's write suffices) and no hints. */
static const char *const hintless[] = {
    "--replicas", "2", "--write-quorum", "1", "--read-quorum", "1", "--node-timeout", "1000",
    "--anti-entropy-interval", "0", "--hint-max-bytes", "0", NULL};

static void sleep_poll(void)
{
    struct timespec ts = {0, CLUSTER_POLL_MS * 1000000L};
    nanosleep(&ts, NULL);
}

static redisContext *conn(const cluster_t *cl, int i)
{
    redisContext *c = cluster_connect(cl, i);
    ck_assert_msg(c != NULL, "cannot connect to node %d", i);
    return c;
}

/* A numeric INFO dynamo field of c; fails the test when it is missing. */
static long long dyn_ll(redisContext *c, const char *field)
{
    char v[CLUSTER_FIELD_MAX];
    ck_assert_msg(info_field(c, "dynamo", field, v, sizeof v) == 0, "INFO dynamo has no %s",
                  field);
    return strtoll(v, NULL, 10);
}

/* The sum of a numeric INFO dynamo field over the running nodes. */
static long long dyn_sum(const cluster_t *cl, const char *field)
{
    long long sum = 0;
    for (int i = 0; i < cl->count; i++) {
        if (!proc_alive(cl->node[i]))
            continue;
        redisContext *c = conn(cl, i);
        sum += dyn_ll(c, field);
        redisFree(c);
    }
    return sum;
}

static long long dbsize_of(const cluster_t *cl, int i)
{
    redisContext *c = conn(cl, i);
    long long n = node_dbsize(c);
    redisFree(c);
    return n;
}

/* True when CLUSTER NODES through c flags the node on client port `port`
 * as failed ("fail", not the suspicion "fail?"). */
static bool sees_failed(redisContext *c, int port)
{
    char addr[KEY_MAX];
    snprintf(addr, sizeof addr, ":%d@", port);
    redisReply *r = expect_reply(c, "CLUSTER NODES");
    char flags[CLUSTER_FIELD_MAX] = "";
    const char *line = r->type == REDIS_REPLY_STRING ? strstr(r->str, addr) : NULL;
    if (line != NULL)
        sscanf(line, "%*s %255s", flags); /* the address, then the flags */
    _Static_assert(CLUSTER_FIELD_MAX == 256, "the sscanf width above");
    bool failed = false;
    for (char *save = NULL, *f = strtok_r(flags, ",", &save); f != NULL;
         f = strtok_r(NULL, ",", &save))
        failed |= strcmp(f, "fail") == 0;
    freeReplyObject(r);
    return failed;
}

/* Waits until nodes 0 and 1 both see node 2 failed, so that writes go to
 * substitutes at once (no forward times out and falls back). */
static void wait_failed(const cluster_t *cl)
{
    bool seen = false;
    for (int waited = 0; !seen && waited <= SETTLE_TIMEOUT_MS; waited += CLUSTER_POLL_MS) {
        redisContext *c0 = conn(cl, 0), *c1 = conn(cl, 1);
        seen = sees_failed(c0, cl->node[2]->port) && sees_failed(c1, cl->node[2]->port);
        redisFree(c0);
        redisFree(c1);
        if (!seen)
            sleep_poll();
    }
    ck_assert_msg(seen, "nodes 0 and 1 did not mark the stopped node failed");
}

/* CONFIG GET name must answer [name, want]. */
static void expect_config(redisContext *c, const char *name, const char *want)
{
    redisReply *r = expect_reply(c, "CONFIG GET %s", name);
    ck_assert_msg(r->type == REDIS_REPLY_ARRAY && r->elements == 2, "CONFIG GET %s", name);
    ck_assert_str_eq(r->element[0]->str, name);
    ck_assert_msg(strcmp(r->element[1]->str, want) == 0, "CONFIG GET %s: %s, want %s", name,
                  r->element[1]->str, want);
    freeReplyObject(r);
}

/* Writes key<i> = a VALUE_BYTES value for every i in [0, n) through c,
 * retrying the failed ones (a write waits for the failure detector) until
 * all succeeded or SETTLE_TIMEOUT_MS passed. Returns how many failed. */
static int write_keys(redisContext *c, const char *prefix, int n)
{
    char value[VALUE_BYTES + 1];
    memset(value, 'v', VALUE_BYTES);
    value[VALUE_BYTES] = '\0';
    bool *done = calloc((size_t)n, sizeof *done);
    int left = n;
    for (int waited = 0; left > 0 && waited <= SETTLE_TIMEOUT_MS; waited += CLUSTER_POLL_MS) {
        for (int i = 0; i < n; i++) {
            if (done[i])
                continue;
            redisReply *r = expect_reply(c, "SET %s%d %s", prefix, i, value);
            done[i] = r->type == REDIS_REPLY_STATUS;
            left -= done[i];
            freeReplyObject(r);
        }
        if (left > 0)
            sleep_poll();
    }
    free(done);
    return left;
}

START_TEST(options_show_in_config_and_info)
{
    static const char *const opts[] = {"--background-bytes-per-sec", "3kb", "--hint-max-bytes",
                                       "1mb", "--hint-ttl", "60", NULL};
    proc_t *p = proc_start(opts);
    ck_assert_ptr_nonnull(p);
    redisContext *c = proc_connect(p);
    ck_assert_ptr_nonnull(c);
    expect_config(c, "background-bytes-per-sec", "3072");
    expect_config(c, "hint-max-bytes", "1048576");
    expect_config(c, "hint-ttl", "60");
    ck_assert_int_eq(dyn_ll(c, "background_bytes_per_sec"), 3072);
    for (size_t i = 0; i < sizeof dynamo_fields / sizeof dynamo_fields[0]; i++)
        ck_assert_int_ge(dyn_ll(c, dynamo_fields[i]), 0);
    expect_ok(c, "CONFIG SET background-bytes-per-sec 2mb");
    expect_config(c, "background-bytes-per-sec", "2097152");
    ck_assert_int_eq(dyn_ll(c, "background_bytes_per_sec"), 2097152);
    expect_ok(c, "CONFIG SET background-bytes-per-sec 0");
    ck_assert_int_eq(dyn_ll(c, "background_bytes_per_sec"), 0);
    expect_error(c, "ERR CONFIG SET failed", "CONFIG SET background-bytes-per-sec lots");
    expect_error(c, "ERR CONFIG SET failed", "CONFIG SET hint-max-bytes 2mb");
    expect_ok(c, "SET still serving");
    redisFree(c);
    proc_free(p);
    static const char *const defaults[] = {NULL};
    p = proc_start(defaults);
    ck_assert_ptr_nonnull(p);
    c = proc_connect(p);
    ck_assert_ptr_nonnull(c);
    expect_config(c, "background-bytes-per-sec", "10485760");
    expect_config(c, "hint-max-bytes", "67108864");
    expect_config(c, "hint-ttl", "10800");
    redisFree(c);
    proc_free(p);
}
END_TEST

/* Stops node 2, waits until the others mark it failed, writes HINT_KEYS
 * keys named prefix<i> through node 0 and returns node 2's share: every key
 * belongs on two nodes, so what nodes 0 and 1 do not hold waits in hints
 * (checked). */
static long long write_while_down(const cluster_t *cl, const char *prefix)
{
    ck_assert_int_eq(proc_stop(cl->node[2], SIGTERM, PROC_STOP_TIMEOUT_MS), 0);
    wait_failed(cl);
    redisContext *c0 = conn(cl, 0);
    ck_assert_int_eq(write_keys(c0, prefix, HINT_KEYS), 0);
    redisFree(c0);
    long long share = 2 * HINT_KEYS - dbsize_of(cl, 0) - dbsize_of(cl, 1);
    long long hints = dyn_sum(cl, "hints_pending");
    ck_assert_msg(share > 0 && hints == share, "the stopped node's share is %lld keys, hints %lld",
                  share, hints);
    return share;
}

/* Restarts node 2 and waits until it holds its share and no hint is
 * pending; fails the test if that never happens. */
static void restart_and_wait_delivered(const cluster_t *cl, long long share)
{
    ck_assert_int_eq(proc_restart(cl->node[2]), 0);
    long long held = -1, pending = -1;
    for (int waited = 0; (held != share || pending != 0) && waited <= SETTLE_TIMEOUT_MS;
         waited += CLUSTER_POLL_MS) {
        sleep_poll();
        held = dbsize_of(cl, 2);
        pending = dyn_sum(cl, "hints_pending");
    }
    ck_assert_msg(held == share && pending == 0,
                  "the restarted node holds %lld of its %lld keys, %lld hints pending", held,
                  share, pending);
}

START_TEST(tiny_budget_still_delivers_hints)
{
    cluster_t *cl = cluster_form(3, throttled);
    ck_assert_msg(cl != NULL, "the cluster did not form");
    long long share = write_while_down(cl, "hinted:");
    ck_assert_int_gt(dyn_sum(cl, "hints_pending_bytes"), TINY_BUDGET_BYTES);
    restart_and_wait_delivered(cl, share);
    long long deferred = dyn_sum(cl, "background_deferred");
    long long hint_bytes = dyn_sum(cl, "background_bytes_hints");
    printf("tiny budget: %lld hints delivered to the restarted node (%lld bytes at %s/s), "
           "background_deferred %lld\n", dyn_sum(cl, "hints_delivered"), hint_bytes, TINY_BUDGET,
           deferred);
    ck_assert_int_eq(dyn_sum(cl, "hints_delivered"), share);
    ck_assert_int_eq(dbsize_of(cl, 0) + dbsize_of(cl, 1) + dbsize_of(cl, 2), 2 * HINT_KEYS);
    ck_assert_int_gt(hint_bytes, TINY_BUDGET_BYTES);
    ck_assert_msg(deferred > 0, "the budget never deferred hint delivery");
    cluster_free(cl);
}
END_TEST

/* Hints are kept in RocksDB: both holders killed with SIGKILL and
 * restarted before the owner is back still hold every hint, and deliver
 * them all once it returns. */
START_TEST(hints_survive_holder_kill)
{
    cluster_t *cl = cluster_form(3, unthrottled);
    ck_assert_msg(cl != NULL, "the cluster did not form");
    long long share = write_while_down(cl, "kept:");
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(proc_stop(cl->node[i], SIGKILL, PROC_STOP_TIMEOUT_MS), -1); /* killed */
        ck_assert_int_eq(proc_restart(cl->node[i]), 0);
    }
    ck_assert_int_eq(dyn_sum(cl, "hints_pending"), share);
    restart_and_wait_delivered(cl, share);
    printf("holders killed: %lld hints kept and delivered\n", share);
    cluster_free(cl);
}
END_TEST

START_TEST(no_hints_with_hint_max_bytes_zero)
{
    cluster_t *cl = cluster_form(3, hintless);
    ck_assert_msg(cl != NULL, "the cluster did not form");
    ck_assert_int_eq(proc_stop(cl->node[2], SIGTERM, PROC_STOP_TIMEOUT_MS), 0);
    redisContext *c0 = conn(cl, 0);
    long long dropped = 0;
    for (int round = 0; dropped == 0 && round * CLUSTER_POLL_MS <= SETTLE_TIMEOUT_MS; round++) {
        char prefix[KEY_MAX];
        snprintf(prefix, sizeof prefix, "nohint%d:", round);
        ck_assert_int_eq(write_keys(c0, prefix, HINT_KEYS / 10), 0);
        dropped = dyn_sum(cl, "hints_dropped");
        if (dropped == 0)
            sleep_poll();
    }
    redisFree(c0);
    printf("hint-max-bytes 0: hints_dropped %lld, hints_stored %lld\n", dropped,
           dyn_sum(cl, "hints_stored"));
    ck_assert_msg(dropped > 0, "no hint was refused after the node stopped");
    ck_assert_int_eq(dyn_sum(cl, "hints_dropped_full"), dropped);
    ck_assert_int_eq(dyn_sum(cl, "hints_stored"), 0);
    ck_assert_int_eq(dyn_sum(cl, "hints_pending"), 0);
    ck_assert_int_eq(dyn_sum(cl, "hints_pending_bytes"), 0);
    cluster_free(cl);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("background");
    PROCS_ADD_CASE(s, options_show_in_config_and_info, TEST_TIMEOUT_S);
    PROCS_ADD_CASE(s, tiny_budget_still_delivers_hints, TEST_TIMEOUT_S);
    PROCS_ADD_CASE(s, hints_survive_holder_kill, TEST_TIMEOUT_S);
    PROCS_ADD_CASE(s, no_hints_with_hint_max_bytes_zero, TEST_TIMEOUT_S);
    return s;
}
