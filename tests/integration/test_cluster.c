/* test_cluster.c - real dynis-server clusters on loopback (cluster.h):
 * formation from CLUSTER MEET and ring agreement (3 and 5 nodes), what
 * INFO and CLUSTER say about it, keys written through one node read through
 * every other and stored on exactly N nodes (node-local KEYS and DBSIZE),
 * multi-key commands across nodes, siblings from concurrent DYN.PUTs and
 * their resolution, R=W=2 with one and two of three nodes killed and read
 * repair after restart, the cluster secret on the bus, and cluster_state:ok
 * on every node meaning that commands through any node work. Each test forms
 * its own cluster and stops it; every wait is a bounded poll. Run one test
 * with CK_RUN_CASE=<test name>. */
#define _GNU_SOURCE /* strcasestr */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check_main.h"
#include "cluster.h"
#include "expect.h"
#include "procs.h"

#define REPLICAS 3                /* N: the servers' default, checked in INFO */
#define KEYS_COUNT 10000          /* keys of the placement tests */
#define PIPELINE_BATCH 1000       /* commands in flight per pipelined batch */
#define FAIL_KEYS 100             /* keys of the failure test */
#define SETTLE_TIMEOUT_MS 20000   /* bounded waits after a change */
#define DBSIZE_TIMEOUT_MS 10000   /* for hints to be handed off before counting */
#define WATCH_ROUNDS 30           /* polls that must all see a stranger refused */
#define REPLY_TEXT_MAX 512
#define SIBLINGS_MAX 8
#define TEST_TIMEOUT_S 100
#define MGET_KEYS 100000          /* more than the node's requests in flight */
#define MSET_CHUNK 1000           /* keys per MSET filling them */
#define MGET_KEY_MAX 24
#define STRANGER_ID "0123456789abcdef0123456789abcdef01234567" /* a well-formed node id */
#define STRANGER_NONCE "00112233445566778899aabbccddeeff"        /* BUS_NONCE_LEN bytes, hex */

/* The failure test: a fast failure detector, and no anti-entropy, so that
 * what a restarted node missed comes back by read repair (or hints). */
static const char *const fast_fd[] = {"--node-timeout", "1000", "--anti-entropy-interval", "0",
                                      NULL};

static void sleep_poll(void)
{
    struct timespec ts = {0, CLUSTER_POLL_MS * 1000000L};
    nanosleep(&ts, NULL);
}

static cluster_t *form(int count, const char *const *extra)
{
    cluster_t *cl = cluster_form(count, extra);
    ck_assert_msg(cl != NULL, "a cluster of %d nodes did not form within %d ms", count,
                  CLUSTER_FORM_TIMEOUT_MS);
    return cl;
}

static redisContext *conn(const cluster_t *cl, int i)
{
    redisContext *c = cluster_connect(cl, i);
    ck_assert_msg(c != NULL, "cannot connect to node %d", i);
    return c;
}

/* Describes a reply in text (for failure messages). */
static void reply_text(const redisReply *r, char *out, size_t cap)
{
    if (r == NULL)
        snprintf(out, cap, "(connection error)");
    else if (r->type == REDIS_REPLY_ARRAY)
        snprintf(out, cap, "(array of %zu)", r->elements);
    else if (r->type == REDIS_REPLY_INTEGER)
        snprintf(out, cap, "(integer %lld)", r->integer);
    else if (r->type == REDIS_REPLY_NIL)
        snprintf(out, cap, "(nil)");
    else
        snprintf(out, cap, "(type %d) %.*s", r->type, (int)r->len, r->str);
}

/* SETs (write) or GETs and compares keys prefix0..prefix<n-1> on c,
 * pipelined. Returns how many failed; the first failure goes to err. */
static int keys_batch(redisContext *c, const char *prefix, int from, int to, bool write,
                      char *err, size_t cap)
{
    char key[64], value[64];
    for (int i = from; i < to; i++) {
        snprintf(key, sizeof key, "%s%d", prefix, i);
        snprintf(value, sizeof value, "value-%s%d", prefix, i);
        if (write)
            redisAppendCommand(c, "SET %s %s", key, value);
        else
            redisAppendCommand(c, "GET %s", key);
    }
    int failed = 0;
    for (int i = from; i < to; i++) {
        redisReply *r = NULL;
        if (redisGetReply(c, (void **)&r) != REDIS_OK)
            r = NULL;
        snprintf(value, sizeof value, "value-%s%d", prefix, i);
        bool ok = r != NULL &&
                  (write ? r->type == REDIS_REPLY_STATUS && strcmp(r->str, "OK") == 0
                         : r->type == REDIS_REPLY_STRING && strcmp(r->str, value) == 0);
        if (!ok && failed++ == 0 && err[0] == '\0') {
            int head = snprintf(err, cap, "%s %s%d: ", write ? "SET" : "GET", prefix, i);
            if (head >= 0 && (size_t)head < cap)
                reply_text(r, err + head, cap - (size_t)head);
        }
        if (r == NULL)
            return failed + (to - i - 1); /* the connection is gone */
        freeReplyObject(r);
    }
    return failed;
}

static int keys_do(redisContext *c, const char *prefix, int n, bool write, char *err, size_t cap)
{
    int failed = 0;
    for (int from = 0; from < n; from += PIPELINE_BATCH) {
        int to = from + PIPELINE_BATCH < n ? from + PIPELINE_BATCH : n;
        failed += keys_batch(c, prefix, from, to, write, err, cap);
    }
    return failed;
}

static void expect_keys(redisContext *c, const char *prefix, int n, bool write, const char *where)
{
    char err[REPLY_TEXT_MAX] = "";
    int failed = keys_do(c, prefix, n, write, err, sizeof err);
    ck_assert_msg(failed == 0, "%s: %d of %d %s failed, first: %s", where, failed, n,
                  write ? "SETs" : "GETs", err);
}

/* Counts the keys matching pattern held by the node itself (KEYS). */
static long long local_keys(redisContext *c, const char *pattern)
{
    redisReply *r = expect_reply(c, "KEYS %s", pattern);
    long long n = r->type == REDIS_REPLY_ARRAY ? (long long)r->elements : -1;
    freeReplyObject(r);
    return n;
}

/* The sum over the nodes of a node-local count (DBSIZE, or KEYS of
 * pattern when pattern is not NULL), each node's figure listed in per_node. */
static long long local_sum(const cluster_t *cl, const char *pattern, char *per_node, size_t cap)
{
    long long sum = 0;
    size_t used = 0;
    for (int i = 0; i < cl->count; i++) {
        redisContext *c = conn(cl, i);
        long long n = pattern != NULL ? local_keys(c, pattern) : node_dbsize(c);
        redisFree(c);
        sum += n;
        used += (size_t)snprintf(per_node + used, used < cap ? cap - used : 0, " %lld", n);
    }
    return sum;
}

/* Waits until the local counts add up to want; returns the last sum. */
static long long wait_local_sum(const cluster_t *cl, const char *pattern, long long want,
                                char *per_node, size_t cap)
{
    long long sum = -1;
    for (int waited = 0; waited <= DBSIZE_TIMEOUT_MS && sum != want; waited += CLUSTER_POLL_MS) {
        if (waited > 0)
            sleep_poll();
        sum = local_sum(cl, pattern, per_node, cap);
    }
    return sum;
}

/* Each key is on exactly N nodes: the node-local KEYS, then the node-local
 * DBSIZEs, add up to N times the keys written. */
static void check_copies(const cluster_t *cl)
{
    const long long want = (long long)REPLICAS * KEYS_COUNT;
    char per_node[REPLY_TEXT_MAX] = "";
    long long sum = wait_local_sum(cl, "key:*", want, per_node, sizeof per_node);
    ck_assert_msg(sum == want, "%d nodes: node-local KEYS key:* add up to %lld, not N x %d = %lld "
                  "(per node:%s)", cl->count, sum, KEYS_COUNT, want, per_node);
    sum = wait_local_sum(cl, NULL, want, per_node, sizeof per_node);
    ck_assert_msg(sum == want, "%d nodes: node-local DBSIZEs add up to %lld, not N x %d = %lld "
                  "(per node:%s)", cl->count, sum, KEYS_COUNT, want, per_node);
}

static void expect_info(redisContext *c, const char *section, const char *field, const char *want)
{
    char got[CLUSTER_FIELD_MAX] = "(missing)";
    info_field(c, section, field, got, sizeof got);
    ck_assert_msg(strcmp(got, want) == 0, "INFO %s: %s is %s, want %s", section, field, got, want);
}

/* What a formed cluster of count nodes says about itself through c. */
static void check_introspection(redisContext *c, int count)
{
    char members[16];
    snprintf(members, sizeof members, "%d", count);
    expect_info(c, "cluster", "cluster_enabled", "1");
    expect_info(c, "dynamo", "members", members);
    expect_info(c, "dynamo", "replicas", "3");
    expect_info(c, "dynamo", "read_quorum", "2");
    expect_info(c, "dynamo", "write_quorum", "2");
    expect_int(c, 12182, "CLUSTER KEYSLOT foo");
    redisReply *id = expect_reply(c, "CLUSTER MYID");
    redisReply *nodes = expect_reply(c, "CLUSTER NODES");
    ck_assert_int_eq(id->type, REDIS_REPLY_STRING);
    ck_assert_int_eq(nodes->type, REDIS_REPLY_STRING);
    int lines = 0, myself = 0;
    char *save = NULL;
    for (char *line = strtok_r(nodes->str, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char node_id[CLUSTER_FIELD_MAX], flags[CLUSTER_FIELD_MAX];
        lines++;
        if (sscanf(line, "%255s %*s %255s", node_id, flags) == 2 && strstr(flags, "myself") &&
            strcmp(node_id, id->str) == 0)
            myself++;
    }
    ck_assert_msg(lines == count && myself == 1,
                  "CLUSTER NODES: %d lines (want %d), %d myself lines with id %s (want 1)", lines,
                  count, myself, id->str);
    freeReplyObject(id);
    freeReplyObject(nodes);
}

/* Multi-key commands across slots, each through another node. */
static void check_multi_key(const cluster_t *cl)
{
    redisContext *c0 = conn(cl, 0), *c1 = conn(cl, 1), *c2 = conn(cl, 2);
    expect_ok(c1, "MSET m:a 1 m:b 2 m:c 3");
    redisReply *r = expect_reply(c2, "MGET m:a m:b m:none m:c");
    char text[REPLY_TEXT_MAX];
    reply_text(r, text, sizeof text);
    ck_assert_msg(r->type == REDIS_REPLY_ARRAY && r->elements == 4, "MGET: got %s", text);
    ck_assert_str_eq(r->element[0]->str, "1");
    ck_assert_str_eq(r->element[1]->str, "2");
    ck_assert_int_eq(r->element[2]->type, REDIS_REPLY_NIL);
    ck_assert_str_eq(r->element[3]->str, "3");
    freeReplyObject(r);
    expect_int(c0, 2, "EXISTS m:a m:b m:none");
    expect_int(c2, 2, "DEL m:a m:b m:none");
    expect_int(c1, 0, "EXISTS m:a m:b");
    expect_nil(c0, "GET m:a");
    expect_str(c0, "3", "GET m:c");
    redisFree(c0);
    redisFree(c1);
    redisFree(c2);
}

static void check_placement(int count)
{
    cluster_t *cl = form(count, NULL);
    redisContext *c0 = conn(cl, 0);
    check_introspection(c0, count);
    expect_keys(c0, "key:", KEYS_COUNT, true, "writes through node 0");
    for (int i = 1; i < count; i++) {
        redisContext *c = conn(cl, i);
        char where[64];
        snprintf(where, sizeof where, "reads through node %d", i);
        expect_keys(c, "key:", KEYS_COUNT, false, where);
        redisFree(c);
    }
    check_copies(cl);
    check_multi_key(cl);
    ck_assert_msg(cluster_wait_agree(cl, count, CLUSTER_FORM_TIMEOUT_MS), "the ring changed");
    redisFree(c0);
    cluster_free(cl);
}

START_TEST(three_nodes_place_keys_on_n)
{
    check_placement(3);
}
END_TEST

START_TEST(five_nodes_place_keys_on_n)
{
    check_placement(5);
}
END_TEST

/* The sorted values of a GET or of DYN.GET's tail in vals; returns their
 * count, or -1 when the reply is neither. */
static int reply_values(const redisReply *r, size_t skip, const char **vals)
{
    if (r->type == REDIS_REPLY_STRING) {
        vals[0] = r->str;
        return 1;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements < skip || r->elements - skip > SIBLINGS_MAX)
        return -1;
    int n = 0;
    for (size_t i = skip; i < r->elements; i++) {
        if (r->element[i]->type != REDIS_REPLY_STRING)
            return -1;
        vals[n++] = r->element[i]->str;
    }
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && strcmp(vals[j - 1], vals[j]) > 0; j--) {
            const char *t = vals[j];
            vals[j] = vals[j - 1];
            vals[j - 1] = t;
        }
    return n;
}

/* True when GET key answers exactly the values want (sorted, "|"-joined:
 * a single value is a bulk string, more are an array); what it answered
 * goes to got. */
static bool get_matches(redisContext *c, const char *key, const char *want, char *got, size_t cap)
{
    redisReply *r = redisCommand(c, "GET %s", key);
    if (r == NULL) {
        reply_text(r, got, cap);
        return false;
    }
    const char *vals[SIBLINGS_MAX];
    int n = reply_values(r, 0, vals);
    size_t used = 0;
    got[0] = '\0';
    for (int i = 0; i < n; i++)
        used += (size_t)snprintf(got + used, used < cap ? cap - used : 0, "%s%s", i ? "|" : "",
                                 vals[i]);
    if (n <= 0)
        reply_text(r, got, cap);
    int want_type = strchr(want, '|') != NULL ? REDIS_REPLY_ARRAY : REDIS_REPLY_STRING;
    bool ok = n > 0 && r->type == want_type && strcmp(got, want) == 0;
    freeReplyObject(r);
    return ok;
}

/* Waits until GET key through every node answers want. */
static void wait_get_everywhere(const cluster_t *cl, const char *key, const char *want)
{
    for (int i = 0; i < cl->count; i++) {
        redisContext *c = conn(cl, i);
        char got[REPLY_TEXT_MAX] = "";
        bool ok = false;
        for (int waited = 0; !ok && waited <= SETTLE_TIMEOUT_MS; waited += CLUSTER_POLL_MS) {
            ok = get_matches(c, key, want, got, sizeof got);
            if (!ok)
                sleep_poll();
        }
        ck_assert_msg(ok, "GET %s through node %d: want %s, got %s", key, i, want, got);
        redisFree(c);
    }
}

/* DYN.GET key: the context (owned: free; *ctx_len bytes, NUL-terminated)
 * and the number of values. */
static char *dyn_get(redisContext *c, const char *key, size_t *ctx_len, int *values)
{
    redisReply *r = expect_reply(c, "DYN.GET %s", key);
    char text[REPLY_TEXT_MAX];
    reply_text(r, text, sizeof text);
    ck_assert_msg(r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
                      r->element[0]->type == REDIS_REPLY_STRING,
                  "DYN.GET %s: want [context, values...], got %s", key, text);
    const char *vals[SIBLINGS_MAX];
    *values = reply_values(r, 1, vals);
    char *ctx = malloc(r->element[0]->len + 1);
    ck_assert_ptr_nonnull(ctx);
    memcpy(ctx, r->element[0]->str, r->element[0]->len + 1);
    *ctx_len = r->element[0]->len;
    freeReplyObject(r);
    return ctx;
}

START_TEST(concurrent_puts_make_siblings)
{
    cluster_t *cl = form(3, NULL);
    redisContext *c0 = conn(cl, 0), *c1 = conn(cl, 1), *c2 = conn(cl, 2);
    expect_ok(c0, "SET sib base");
    wait_get_everywhere(cl, "sib", "base");
    int values = 0;
    size_t len = 0;
    char *ctx = dyn_get(c0, "sib", &len, &values);
    ck_assert_int_eq(values, 1);
    expect_ok(c0, "DYN.PUT sib %b left", ctx, len);
    expect_ok(c1, "DYN.PUT sib %b right", ctx, len);
    free(ctx);
    wait_get_everywhere(cl, "sib", "left|right");
    ctx = dyn_get(c2, "sib", &len, &values);
    ck_assert_int_eq(values, 2);
    expect_ok(c2, "DYN.PUT sib %b merged", ctx, len);
    free(ctx);
    wait_get_everywhere(cl, "sib", "merged");
    ctx = dyn_get(c1, "sib", &len, &values);
    ck_assert_int_eq(values, 1);
    free(ctx);
    redisFree(c0);
    redisFree(c1);
    redisFree(c2);
    cluster_free(cl);
}
END_TEST

/* Waits until writes through node a and reads through nodes a and b of a
 * batch of keys all succeed (the failure detector noticed a dead node, or
 * a restarted one is back). New connections every round: a request stuck
 * past the client timeout must not end the wait. */
static void wait_serving(const cluster_t *cl, int a, int b, const char *prefix)
{
    char err[REPLY_TEXT_MAX] = "";
    int failed = 1;
    for (int waited = 0; failed != 0 && waited <= SETTLE_TIMEOUT_MS; waited += CLUSTER_POLL_MS) {
        redisContext *ca = conn(cl, a), *cb = conn(cl, b);
        err[0] = '\0';
        failed = keys_do(ca, prefix, FAIL_KEYS, true, err, sizeof err);
        failed += failed == 0 ? keys_do(ca, prefix, FAIL_KEYS, false, err, sizeof err) : 0;
        failed += failed == 0 ? keys_do(cb, prefix, FAIL_KEYS, false, err, sizeof err) : 0;
        redisFree(ca);
        redisFree(cb);
        if (failed != 0)
            sleep_poll();
    }
    ck_assert_msg(failed == 0, "nodes %d and %d still fail requests: %s", a, b, err);
}

/* Waits until a SET through c fails, then asserts that SET and GET both
 * answer an error naming the quorum. */
static void expect_quorum_errors(redisContext *c)
{
    char text[REPLY_TEXT_MAX] = "";
    bool failing = false;
    for (int waited = 0; !failing && waited <= SETTLE_TIMEOUT_MS; waited += CLUSTER_POLL_MS) {
        redisReply *r = expect_reply(c, "SET lonely v");
        failing = r->type == REDIS_REPLY_ERROR;
        reply_text(r, text, sizeof text);
        freeReplyObject(r);
        if (!failing)
            sleep_poll();
    }
    ck_assert_msg(failing, "SET still succeeds with two of three nodes down: %s", text);
    const char *cmds[] = {"SET key:1 v", "GET pre:1"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        redisReply *r = expect_reply(c, cmds[i]);
        reply_text(r, text, sizeof text);
        ck_assert_msg(r->type == REDIS_REPLY_ERROR && strcasestr(r->str, "quorum") != NULL,
                      "%s with two of three nodes down: want an error naming the quorum, got %s",
                      cmds[i], text);
        freeReplyObject(r);
    }
}

/* The sum over the running nodes of a numeric INFO dynamo field. */
static long long dynamo_sum(const cluster_t *cl, const char *field)
{
    long long sum = 0;
    for (int i = 0; i < cl->count; i++) {
        redisContext *c = proc_alive(cl->node[i]) ? conn(cl, i) : NULL;
        char v[CLUSTER_FIELD_MAX];
        if (c != NULL && info_field(c, "dynamo", field, v, sizeof v) == 0)
            sum += strtoll(v, NULL, 10);
        if (c != NULL)
            redisFree(c);
    }
    return sum;
}

/* Reads the keys through c until the restarted node d holds all of them
 * (read repair, or hinted handoff: both counts are printed). */
static void wait_repaired(redisContext *c, redisContext *d, const char *prefix, const char *pattern)
{
    long long held = -1;
    for (int waited = 0; held != FAIL_KEYS && waited <= SETTLE_TIMEOUT_MS;
         waited += CLUSTER_POLL_MS) {
        expect_keys(c, prefix, FAIL_KEYS, false, "reads after the restart");
        held = local_keys(d, pattern);
        if (held != FAIL_KEYS)
            sleep_poll();
    }
    ck_assert_msg(held == FAIL_KEYS, "the restarted node holds %lld of the %d keys read (%s)", held,
                  FAIL_KEYS, pattern);
}

static void print_repairs(const cluster_t *cl)
{
    printf("after the restart: read_repairs %lld, hints_delivered %lld, ae_keys_exchanged %lld "
           "(all nodes)\n", dynamo_sum(cl, "read_repairs"), dynamo_sum(cl, "hints_delivered"),
           dynamo_sum(cl, "ae_keys_exchanged"));
}

START_TEST(quorum_survives_one_failure)
{
    cluster_t *cl = form(3, fast_fd);
    redisContext *c0 = conn(cl, 0);
    expect_keys(c0, "pre:", FAIL_KEYS, true, "writes with every node up");
    redisFree(c0);
    ck_assert_int_eq(proc_stop(cl->node[2], SIGKILL, PROC_STOP_TIMEOUT_MS), -1);
    wait_serving(cl, 0, 1, "one:");
    redisContext *c1 = conn(cl, 1);
    c0 = conn(cl, 0);
    expect_keys(c1, "down:", FAIL_KEYS, true, "writes through node 1, node 2 down");
    expect_keys(c0, "down:", FAIL_KEYS, false, "reads through node 0, node 2 down");
    expect_keys(c0, "pre:", FAIL_KEYS, false, "old keys through node 0, node 2 down");
    redisFree(c1);
    ck_assert_int_eq(proc_stop(cl->node[1], SIGKILL, PROC_STOP_TIMEOUT_MS), -1);
    expect_quorum_errors(c0);
    redisFree(c0);
    ck_assert_int_eq(proc_restart(cl->node[1]), 0);
    ck_assert_int_eq(proc_restart(cl->node[2]), 0);
    ck_assert_msg(cluster_wait_agree(cl, 3, CLUSTER_FORM_TIMEOUT_MS),
                  "the restarted nodes did not rejoin");
    wait_serving(cl, 2, 1, "again:");
    c0 = conn(cl, 0);
    redisContext *c2 = conn(cl, 2);
    wait_repaired(c0, c2, "down:", "down:*");
    print_repairs(cl);
    expect_keys(c2, "pre:", FAIL_KEYS, false, "old keys through the restarted node 2");
    redisFree(c0);
    redisFree(c2);
    cluster_free(cl);
}
END_TEST

static const char *const secret_a[] = {"--cluster-secret", "alpha-secret", "--node-timeout", "1000",
                                       NULL};
static const char *const secret_b[] = {"--cluster-secret", "beta-secret", "--node-timeout", "1000",
                                       NULL};

/* MEET in both directions between node 0 and the stranger; the replies
 * may be OK or errors, membership must not change either way. */
static void meet_stranger(const cluster_t *cl, const proc_t *stranger)
{
    redisContext *c0 = conn(cl, 0);
    redisContext *cs = proc_connect(stranger);
    ck_assert_ptr_nonnull(cs);
    freeReplyObject(expect_reply(c0, "CLUSTER MEET 127.0.0.1 %d %d", stranger->port,
                                 stranger->bus_port));
    freeReplyObject(expect_reply(cs, "CLUSTER MEET 127.0.0.1 %d %d", cl->node[0]->port,
                                 cl->node[0]->bus_port));
    for (int round = 0; round < WATCH_ROUNDS; round++) {
        for (int i = 0; i < cl->count; i++) {
            redisContext *c = conn(cl, i);
            ck_assert_int_eq(cluster_info_ll(c, "cluster_known_nodes"), cl->count);
            redisFree(c);
        }
        ck_assert_int_eq(cluster_info_ll(cs, "cluster_known_nodes"), 1);
        sleep_poll();
    }
    redisFree(c0);
    redisFree(cs);
}

static void expect_bus_error(redisContext *b, const char *prefix, const char *fmt, const char *arg)
{
    redisReply *r = arg != NULL ? redisCommand(b, fmt, arg) : redisCommand(b, fmt);
    char text[REPLY_TEXT_MAX];
    reply_text(r, text, sizeof text);
    ck_assert_msg(r != NULL && r->type == REDIS_REPLY_ERROR &&
                      strncmp(r->str, prefix, strlen(prefix)) == 0,
                  "bus '%s': want -%s..., got %s", fmt, prefix, text);
    freeReplyObject(r);
}

/* A raw bus connection that never proves the secret is refused. */
static void raw_bus_refused(const proc_t *node)
{
    struct timeval tv = {10, 0};
    redisContext *b = redisConnectWithTimeout("127.0.0.1", node->bus_port, tv);
    ck_assert_msg(b != NULL && !b->err, "cannot connect to bus port %d", node->bus_port);
    redisSetTimeout(b, tv);
    expect_bus_error(b, "NOAUTH", "MSG %s", "injected");
    redisReply *r = redisCommand(b, "NODE.HELLO 1 %s %s", STRANGER_ID, STRANGER_NONCE);
    ck_assert_msg(r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 3,
                  "NODE.HELLO: want [id, nonce, proof]");
    freeReplyObject(r);
    expect_bus_error(b, "NOAUTH", "MSG %s", "injected");
    expect_bus_error(b, "ERR", "NODE.AUTH %s",
                     "0000000000000000000000000000000000000000000000000000000000000000");
    redisFree(b);
    b = redisConnectWithTimeout("127.0.0.1", node->bus_port, tv);
    ck_assert_msg(b != NULL && !b->err, "cannot reconnect to bus port %d", node->bus_port);
    expect_bus_error(b, "WRONGPASS", "AUTH %s", "beta-secret");
    expect_bus_error(b, "NOAUTH", "MSG %s", "injected");
    redisFree(b);
}

START_TEST(secret_keeps_strangers_out)
{
    cluster_t *cl = form(3, secret_a);
    proc_t *stranger = proc_start_node(NULL, secret_b);
    ck_assert_msg(stranger != NULL, "the stranger node did not start");
    meet_stranger(cl, stranger);
    raw_bus_refused(cl->node[1]);
    ck_assert_msg(cluster_wait_agree(cl, 3, CLUSTER_FORM_TIMEOUT_MS), "the members disagree");
    redisContext *c1 = conn(cl, 1);
    expect_ok(c1, "SET after-refusal v");
    expect_str(c1, "v", "GET after-refusal");
    redisFree(c1);
    proc_free(stranger);
    cluster_free(cl);
}
END_TEST
static void *test_alloc(size_t len)
{
    void *p = malloc(len);
    ck_assert_ptr_nonnull(p);
    return p;
}

/* argv of `cmd key:0 [v:0] key:1 [v:1] ...` for keys [from, from + n). */
static char **mget_argv(const char *cmd, int from, int n, bool values, size_t **lens_out)
{
    int argc = 1 + n * (values ? 2 : 1);
    char **argv = test_alloc((size_t)argc * sizeof *argv);
    size_t *lens = test_alloc((size_t)argc * sizeof *lens);
    argv[0] = test_alloc(strlen(cmd) + 1);
    strcpy(argv[0], cmd);
    for (int i = 0, a = 1; i < n; i++) {
        argv[a] = test_alloc(MGET_KEY_MAX);
        snprintf(argv[a++], MGET_KEY_MAX, "key:%d", from + i);
        if (values) {
            argv[a] = test_alloc(MGET_KEY_MAX);
            snprintf(argv[a++], MGET_KEY_MAX, "v:%d", from + i);
        }
    }
    for (int a = 0; a < argc; a++)
        lens[a] = strlen(argv[a]);
    *lens_out = lens;
    return argv;
}

static void argv_free(char **argv, size_t *lens, int argc)
{
    for (int a = 0; a < argc; a++)
        free(argv[a]);
    free(argv);
    free(lens);
}

/* An MGET of more keys than a node keeps requests in flight answers every
 * one (a client's operations go out in windows), and another client's SET
 * meanwhile is not refused as BUSY. */
START_TEST(mget_of_many_keys)
{
    cluster_t *cl = cluster_form(3, NULL);
    ck_assert_msg(cl != NULL, "the cluster did not form");
    redisContext *c = cluster_connect(cl, 0), *other = cluster_connect(cl, 0);
    ck_assert(c != NULL && other != NULL);
    for (int from = 0; from < MGET_KEYS; from += MSET_CHUNK) {
        size_t *lens;
        char **argv = mget_argv("MSET", from, MSET_CHUNK, true, &lens);
        redisReply *r = redisCommandArgv(c, 1 + 2 * MSET_CHUNK, (const char **)argv, lens);
        ck_assert_msg(r != NULL && r->type == REDIS_REPLY_STATUS, "MSET at %d: %s", from,
                      r && r->str ? r->str : "no reply");
        freeReplyObject(r);
        argv_free(argv, lens, 1 + 2 * MSET_CHUNK);
    }
    size_t *lens;
    char **argv = mget_argv("MGET", 0, MGET_KEYS, false, &lens);
    ck_assert_int_eq(redisAppendCommandArgv(c, 1 + MGET_KEYS, (const char **)argv, lens),
                     REDIS_OK);
    int done = 0;
    ck_assert_int_eq(redisBufferWrite(c, &done), REDIS_OK); /* sends part of it */
    expect_ok(other, "SET other 1");
    redisReply *r = NULL;
    ck_assert_int_eq(redisGetReply(c, (void **)&r), REDIS_OK);
    ck_assert_msg(r->type == REDIS_REPLY_ARRAY, "MGET: %s", r->str ? r->str : "not an array");
    ck_assert_uint_eq(r->elements, MGET_KEYS);
    for (int i = 0; i < MGET_KEYS; i++) {
        char want[MGET_KEY_MAX];
        snprintf(want, sizeof want, "v:%d", i);
        ck_assert_msg(r->element[i]->type == REDIS_REPLY_STRING && !strcmp(r->element[i]->str, want),
                      "MGET element %d", i);
    }
    freeReplyObject(r);
    argv_free(argv, lens, 1 + MGET_KEYS);
    redisFree(c);
    redisFree(other);
    cluster_free(cl);
}
END_TEST

/* ---- pipelined commands through one node: replies in request order ---- */

#define PIPE_COMMANDS 3000  /* commands in one pipeline */
#define PIPE_VALUE_MAX 64
#define PIPE_KEYS_FEW 8     /* one pass on few keys (commands on the same key in a row) */
#define PIPE_KEYS_MANY 400  /* and one on many (mostly different keys in flight) */

/* What one pipelined command must answer. */
typedef struct pipe_want {
    int type;                   /* REDIS_REPLY_* */
    long long integer;
    char str[PIPE_VALUE_MAX];   /* STRING and STATUS; for an ARRAY of two, the first */
    char str2[PIPE_VALUE_MAX];  /* the ARRAY's second ("" and type2 NIL for nil) */
    int type2, type1;
} pipe_want_t;

/* The model: each key's value ("" and absent[] for no key). */
typedef struct pipe_model {
    char value[PIPE_KEYS_MANY][PIPE_VALUE_MAX];
    bool present[PIPE_KEYS_MANY];
} pipe_model_t;

static uint32_t pipe_rand(uint64_t *state)
{
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(*state >> 33);
}

static void want_value(pipe_want_t *w, const pipe_model_t *m, int k)
{
    w->type = m->present[k] ? REDIS_REPLY_STRING : REDIS_REPLY_NIL;
    snprintf(w->str, sizeof w->str, "%s", m->value[k]);
}

/* Appends command n (on keys below nkeys of the run's prefix) to c, and
 * what it must answer to w, updating the model. */
static void pipe_append(redisContext *c, const char *prefix, int nkeys, int n, uint64_t *rng,
                        pipe_model_t *m, pipe_want_t *w)
{
    int k = (int)(pipe_rand(rng) % (uint32_t)nkeys), k2 = (int)(pipe_rand(rng) % (uint32_t)nkeys);
    char key[64], key2[64], v[PIPE_VALUE_MAX];
    snprintf(key, sizeof key, "%s%d", prefix, k);
    snprintf(key2, sizeof key2, "%s%d", prefix, k2);
    snprintf(v, sizeof v, "v%d", n);
    memset(w, 0, sizeof *w);
    switch (pipe_rand(rng) % 10) {
    case 0: case 1: case 2:
        redisAppendCommand(c, "SET %s %s", key, v);
        w->type = REDIS_REPLY_STATUS;
        snprintf(w->str, sizeof w->str, "OK");
        snprintf(m->value[k], sizeof m->value[k], "%s", v);
        m->present[k] = true;
        break;
    case 3: case 4: case 5:
        redisAppendCommand(c, "GET %s", key);
        want_value(w, m, k);
        break;
    case 6:
        if (strlen(m->value[k]) + 4 >= PIPE_VALUE_MAX) { /* keep values short */
            redisAppendCommand(c, "DEL %s", key);
            w->type = REDIS_REPLY_INTEGER;
            w->integer = m->present[k];
            m->present[k] = false;
            m->value[k][0] = 0;
            break;
        }
        redisAppendCommand(c, "APPEND %s +a", key);
        strcat(m->value[k], "+a");
        m->present[k] = true;
        w->type = REDIS_REPLY_INTEGER;
        w->integer = (long long)strlen(m->value[k]);
        break;
    case 7:
        redisAppendCommand(c, "EXISTS %s", key);
        w->type = REDIS_REPLY_INTEGER;
        w->integer = m->present[k];
        break;
    case 8:
        redisAppendCommand(c, "MGET %s %s", key, key2);
        w->type = REDIS_REPLY_ARRAY;
        w->type1 = m->present[k] ? REDIS_REPLY_STRING : REDIS_REPLY_NIL;
        snprintf(w->str, sizeof w->str, "%s", m->value[k]);
        w->type2 = m->present[k2] ? REDIS_REPLY_STRING : REDIS_REPLY_NIL;
        snprintf(w->str2, sizeof w->str2, "%s", m->value[k2]);
        break;
    default:
        redisAppendCommand(c, "ECHO e%d", n); /* not keyed: waits for what is before it */
        w->type = REDIS_REPLY_STRING;
        snprintf(w->str, sizeof w->str, "e%d", n);
        break;
    }
}

static bool pipe_reply_ok(const redisReply *r, const pipe_want_t *w)
{
    if (r->type != w->type)
        return false;
    switch (w->type) {
    case REDIS_REPLY_INTEGER:
        return r->integer == w->integer;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
        return strcmp(r->str, w->str) == 0;
    case REDIS_REPLY_ARRAY:
        return r->elements == 2 && r->element[0]->type == w->type1 &&
               r->element[1]->type == w->type2 &&
               (w->type1 == REDIS_REPLY_NIL || strcmp(r->element[0]->str, w->str) == 0) &&
               (w->type2 == REDIS_REPLY_NIL || strcmp(r->element[1]->str, w->str2) == 0);
    default:
        return true; /* NIL */
    }
}

/* One pipeline of PIPE_COMMANDS on nkeys keys through c; every reply must
 * be the one its request gets when the commands run one at a time. */
static void pipe_run(redisContext *c, const char *prefix, int nkeys, uint64_t seed)
{
    pipe_model_t *m = test_alloc(sizeof *m);
    pipe_want_t *want = test_alloc(PIPE_COMMANDS * sizeof *want);
    memset(m, 0, sizeof *m);
    uint64_t rng = seed;
    for (int n = 0; n < PIPE_COMMANDS; n++)
        pipe_append(c, prefix, nkeys, n, &rng, m, &want[n]);
    for (int n = 0; n < PIPE_COMMANDS; n++) {
        redisReply *r = NULL;
        ck_assert_msg(redisGetReply(c, (void **)&r) == REDIS_OK && r != NULL,
                      "%s: no reply to command %d", prefix, n);
        char got[REPLY_TEXT_MAX];
        reply_text(r, got, sizeof got);
        ck_assert_msg(pipe_reply_ok(r, &want[n]), "%s: command %d (seed %llu) answered %s, "
                      "expected type %d %s %lld", prefix, n, (unsigned long long)seed, got,
                      want[n].type, want[n].str, want[n].integer);
        freeReplyObject(r);
    }
    free(want);
    free(m);
}

/* Writes in flight, then a protocol error: the error comes after their
 * replies, and the connection closes. */
static void pipe_then_protocol_error(redisContext *c)
{
    for (int i = 0; i < PIPE_KEYS_FEW; i++)
        redisAppendCommand(c, "SET perr:%d v%d", i, i);
    redisAppendFormattedCommand(c, "*1\r\n$abc\r\n", 11);
    for (int i = 0; i < PIPE_KEYS_FEW; i++) {
        redisReply *r = NULL;
        ck_assert_msg(redisGetReply(c, (void **)&r) == REDIS_OK && r != NULL &&
                          r->type == REDIS_REPLY_STATUS && strcmp(r->str, "OK") == 0,
                      "SET %d before the protocol error", i);
        freeReplyObject(r);
    }
    redisReply *r = NULL;
    ck_assert_msg(redisGetReply(c, (void **)&r) == REDIS_OK && r != NULL &&
                      r->type == REDIS_REPLY_ERROR &&
                      strcmp(r->str, "ERR Protocol error: invalid bulk length") == 0,
                  "the protocol error after the pipeline");
    freeReplyObject(r);
}

START_TEST(pipeline_keeps_request_order)
{
    cluster_t *cl = form(3, NULL);
    redisContext *c = conn(cl, 0), *d = conn(cl, 1);
    pipe_run(c, "few:", PIPE_KEYS_FEW, 1);
    pipe_run(c, "many:", PIPE_KEYS_MANY, 2);
    pipe_run(d, "other:", PIPE_KEYS_FEW, 3); /* through another node */
    pipe_then_protocol_error(d);
    redisFree(c);
    redisFree(d);
    cluster_free(cl);
}
END_TEST

/* True when every node of cl knows every other and reports cluster_state:ok
 * (a node that knows only itself serves alone, and reports ok, until gossip
 * tells it of the others). */
static bool all_state_ok(cluster_t *cl, redisContext **c)
{
    for (int i = 0; i < cl->count; i++) {
        char state[CLUSTER_FIELD_MAX];
        if (cluster_info_field(c[i], "cluster_state", state, sizeof state) != 0 ||
            strcmp(state, "ok") != 0 || cluster_info_ll(c[i], "cluster_known_nodes") != cl->count)
            return false;
    }
    return true;
}

/* A tool that waits for cluster_state:ok on every node and then sends
 * commands must not get CLUSTERDOWN: a node that knows its peers reports ok
 * only once it serves (it has their ring), right from the CLUSTER MEETs on
 * (it used to report ok with its own lone ring at epoch 0 meanwhile). */
START_TEST(state_ok_means_commands_work)
{
    cluster_t *cl = cluster_new(3, NULL);
    ck_assert_msg(cl != NULL, "the nodes did not start");
    redisContext *c[3];
    for (int i = 0; i < 3; i++)
        c[i] = conn(cl, i);
    ck_assert_int_eq(cluster_meet(cl), 0);
    int polls = 0;
    while (!all_state_ok(cl, c) && polls++ < CLUSTER_FORM_TIMEOUT_MS / CLUSTER_POLL_MS)
        sleep_poll();
    ck_assert_msg(all_state_ok(cl, c), "cluster_state never became ok everywhere");
    for (int i = 0; i < 3; i++) {
        redisReply *r = redisCommand(c[i], "SET ready:%d v", i);
        ck_assert_msg(r != NULL && r->type == REDIS_REPLY_STATUS,
                      "SET through node %d after cluster_state:ok: %s", i,
                      r && r->str ? r->str : "no reply");
        freeReplyObject(r);
        redisFree(c[i]);
    }
    cluster_free(cl);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("cluster");
    PROCS_ADD_CASE(s, three_nodes_place_keys_on_n, TEST_TIMEOUT_S);
    PROCS_ADD_CASE(s, five_nodes_place_keys_on_n, TEST_TIMEOUT_S);
    PROCS_ADD_CASE(s, concurrent_puts_make_siblings, TEST_TIMEOUT_S);
    PROCS_ADD_CASE(s, quorum_survives_one_failure, TEST_TIMEOUT_S);
    PROCS_ADD_CASE(s, secret_keeps_strangers_out, TEST_TIMEOUT_S);
    PROCS_ADD_CASE(s, mget_of_many_keys, TEST_TIMEOUT_S);
    PROCS_ADD_CASE(s, state_ok_means_commands_work, TEST_TIMEOUT_S);
    PROCS_ADD_CASE(s, pipeline_keeps_request_order, TEST_TIMEOUT_S);
    return s;
}
