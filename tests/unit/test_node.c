/* test_node.c - Check suite for src/core/node: a lone node serving with
 * clamped quorums, and small clusters on in-memory stores driven by a FIFO
 * message pump (no simulator): replication, forwarding, quorum errors,
 * hinted handoff, siblings from one context, read repair, bad input; the
 * node's keyspace and Merkle tree following every local change
 * (reclaiming, FLUSHALL), APPEND's length limit; tombstones reclaimed only
 * once every replica confirmed (and the test-only early-reap break caught);
 * readiness (node_ready) gating client commands; the background budget
 * pacing hint delivery, skipping read repair and pacing a leave's handoff
 * (with its progress figures); a finished leave dropped from every view. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "core/mem_store.h"
#include "core/msg.h"
#include "core/node.h"
#include "core/slot.h"
#include "util/alloc.h"

#define CL_NODES_MAX 5
#define CL_MSGS_MAX 100000
#define CL_REPLIES_MAX 256

typedef struct cl_msg {
    int from, to;
    char *bytes;
    size_t len;
} cl_msg_t;

typedef struct cluster {
    int n;
    mem_store_t *ms[CL_NODES_MAX];
    store_t st[CL_NODES_MAX];
    node_t *nodes[CL_NODES_MAX];
    bool down[CL_NODES_MAX];
    bool cut[CL_NODES_MAX]; /* drop every message to this node */
    uint64_t now;
    cl_msg_t *q;
    size_t qhead, qlen;
    uint64_t reply_ids[CL_REPLIES_MAX];
    coord_reply_t replies[CL_REPLIES_MAX];
    int nreplies;
} cluster_t;

static void cl_id(int i, char out[RING_NODE_ID_LEN + 1])
{
    snprintf(out, RING_NODE_ID_LEN + 1, "%016" PRIx64 "%024x",
             (uint64_t)(i + 1) * UINT64_C(0x1111111111111111), i + 1);
}

static int cl_index(const char *id)
{
    for (int i = 0; i < CL_NODES_MAX; i++) {
        char x[RING_NODE_ID_LEN + 1];
        cl_id(i, x);
        if (strcmp(x, id) == 0)
            return i;
    }
    return -1;
}

/* Set by a test before cl_new: a short tombstone grace, a test-only break. */
static uint64_t cl_grace_ms;
static enum node_test_break cl_break;

static void cl_config(int i, node_config_t *cfg)
{
    node_config_default(cfg);
    if (cl_grace_ms)
        cfg->tombstone_grace_ms = cl_grace_ms;
    cfg->test_break = cl_break;
    cl_id(i, cfg->id);
    cfg->actor = (uint64_t)i + 1;
    cfg->request_timeout_ms = 300;
    cfg->read_repair_ms = 50;
    cfg->gossip_interval_ms = 50;
    cfg->ae_interval_ms = 0;
    cfg->handoff_interval_ms = 100;
    cfg->fd.interval_ms_initial = 50;
    cfg->fd.node_timeout_ms = 500;
    cfg->hint.backoff_base_ms = 50;
    cfg->hint.backoff_max_ms = 200;
}

static void cl_member(int i, member_t *m)
{
    memset(m, 0, sizeof *m);
    cl_id(i, m->id);
    strcpy(m->host, "127.0.0.1");
    m->port = (uint16_t)(7000 + i);
    m->bus_port = (uint16_t)(17000 + i);
    m->weight = 1;
}

static void cl_drain(cluster_t *cl, int i)
{
    mem_store_commit(cl->ms[i]);
    size_t count;
    const node_effect_t *e = node_outbox(cl->nodes[i], &count);
    for (size_t k = 0; k < count; k++) {
        if (e[k].kind == NODE_EFFECT_REPLY) {
            ck_assert_int_lt(cl->nreplies, CL_REPLIES_MAX);
            cl->reply_ids[cl->nreplies] = e[k].client_req_id;
            coord_reply_init(&cl->replies[cl->nreplies]);
            coord_reply_copy(&cl->replies[cl->nreplies++], &e[k].reply);
            continue;
        }
        int to = cl_index(e[k].to);
        if (to < 0 || cl->down[to] || cl->down[i] || cl->cut[to] || cl->cut[i])
            continue;
        ck_assert_uint_lt(cl->qlen, CL_MSGS_MAX);
        cl->q[cl->qlen++] = (cl_msg_t){i, to, xmemdup(e[k].bytes.data, e[k].bytes.len),
                                       e[k].bytes.len};
    }
    node_outbox_clear(cl->nodes[i]);
}

static cluster_t *cl_new(int n, uint32_t nrep, uint32_t r, uint32_t w)
{
    cluster_t *cl = xcalloc(1, sizeof *cl);
    cl->n = n;
    cl->now = 1000000;
    cl->q = xcalloc(CL_MSGS_MAX, sizeof *cl->q);
    for (int i = 0; i < n; i++) {
        node_config_t cfg;
        cl_config(i, &cfg);
        cfg.n = nrep;
        cfg.r = r;
        cfg.w = w;
        cl->ms[i] = mem_store_new();
        cl->st[i] = mem_store_as_store(cl->ms[i]);
        cl->nodes[i] = node_new(&cfg, 42 + (uint64_t)i, &cl->st[i], cl->now);
        ck_assert_ptr_nonnull(cl->nodes[i]);
    }
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
            member_t m;
            cl_member(j, &m);
            if (i != j)
                node_meet(cl->nodes[i], cl->now, &m);
        }
        cl_drain(cl, i);
    }
    return cl;
}

static void cl_free(cluster_t *cl)
{
    for (size_t k = cl->qhead; k < cl->qlen; k++)
        free(cl->q[k].bytes);
    free(cl->q);
    for (int i = 0; i < cl->n; i++) {
        node_free(cl->nodes[i]);
        mem_store_free(cl->ms[i]);
    }
    for (int k = 0; k < cl->nreplies; k++)
        coord_reply_free(&cl->replies[k]);
    free(cl);
}

/* Delivers queued messages, then ticks every live node, for ms of time. */
static void cl_run(cluster_t *cl, uint64_t ms)
{
    uint64_t end = cl->now + ms;
    while (cl->now < end) {
        while (cl->qhead < cl->qlen) {
            cl_msg_t m = cl->q[cl->qhead++];
            if (!cl->down[m.to] && !cl->cut[m.to]) {
                char from[RING_NODE_ID_LEN + 1];
                cl_id(m.from, from);
                node_bus_message(cl->nodes[m.to], cl->now, from, m.bytes, m.len);
                cl_drain(cl, m.to);
            }
            free(m.bytes);
        }
        cl->now += 10;
        for (int i = 0; i < cl->n; i++) {
            if (!cl->down[i] && node_next_deadline(cl->nodes[i]) <= cl->now) {
                node_tick(cl->nodes[i], cl->now);
                cl_drain(cl, i);
            }
        }
    }
}

/* Sends a client command through node via and returns the reply (after
 * running the cluster for up to 2 s), or NULL. */
static const coord_reply_t *cl_op(cluster_t *cl, int via, uint64_t id, int argc,
                                  const char **argv)
{
    size_t lens[8];
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    node_client_op(cl->nodes[via], cl->now, id, argc, argv, lens);
    cl_drain(cl, via);
    for (int round = 0; round < 200; round++) {
        for (int k = 0; k < cl->nreplies; k++) {
            if (cl->reply_ids[k] == id)
                return &cl->replies[k];
        }
        cl_run(cl, 10);
    }
    return NULL;
}

static bool reply_is_error(const coord_reply_t *r)
{
    return r->kind == COORD_REPLY_STROP && r->strop == STROP_REPLY_ERROR;
}

static bool stored(cluster_t *cl, int i, const char *key)
{
    buf_t dk = BUF_INIT, val = BUF_INIT;
    slot_data_key(&dk, slot_of_key(key, strlen(key)), key, strlen(key));
    bool found = store_get(&cl->st[i], STORE_CF_DATA, dk.data, dk.len, &val) == 1;
    buf_free(&dk);
    buf_free(&val);
    return found;
}

START_TEST(lone_node_serves_with_clamped_quorums)
{
    cluster_t *cl = cl_new(1, 3, 2, 2);
    const char *set[] = {"SET", "k", "v"};
    const coord_reply_t *r = cl_op(cl, 0, 1, 3, set);
    ck_assert_ptr_nonnull(r);
    ck_assert(!reply_is_error(r) && r->wrote);
    ck_assert_int_eq(r->strop, STROP_REPLY_OK);
    const char *get[] = {"GET", "k"};
    r = cl_op(cl, 0, 2, 2, get);
    ck_assert_ptr_nonnull(r);
    /* A lone node answers a single version's GET with the value alone. */
    ck_assert_int_eq(r->strop, STROP_REPLY_VALUE);
    ck_assert_uint_eq(r->value.len, 1);
    ck_assert_int_eq(r->value.data[0], 'v');
    const char *missing[] = {"GET", "nokey"};
    r = cl_op(cl, 0, 5, 2, missing);
    ck_assert_int_eq(r->strop, STROP_REPLY_NIL);
    const char *dget[] = {"DYN.GET", "k"};
    r = cl_op(cl, 0, 3, 2, dget);
    ck_assert_int_eq(r->kind, COORD_REPLY_CONTEXT);
    ck_assert_uint_gt(r->context.len, 0);
    const char *bad[] = {"NOSUCH", "k"};
    r = cl_op(cl, 0, 4, 2, bad);
    ck_assert(reply_is_error(r));
    cl_free(cl);
}
END_TEST

START_TEST(cluster_replicates_and_forwards)
{
    cluster_t *cl = cl_new(3, 3, 2, 2);
    cl_run(cl, 1000);
    for (int i = 0; i < 3; i++)
        ck_assert_uint_eq(ring_node_count(node_ring(cl->nodes[i])), 3);
    char key[16];
    for (int k = 0; k < 20; k++) {
        snprintf(key, sizeof key, "key%d", k);
        const char *set[] = {"SET", key, "value"};
        const coord_reply_t *r = cl_op(cl, 0, 100 + (uint64_t)k, 3, set);
        ck_assert_ptr_nonnull(r);
        ck_assert(!reply_is_error(r) && r->wrote);
    }
    cl_run(cl, 200);
    ck_assert_uint_gt(node_stats(cl->nodes[0])->forwarded, 0);
    for (int i = 0; i < 3; i++)
        ck_assert(stored(cl, i, "key7"));
    const char *get[] = {"GET", "key7"};
    const coord_reply_t *r = cl_op(cl, 2, 200, 2, get);
    ck_assert_int_eq(r->strop, STROP_REPLY_VALUE); /* one version: its value alone */
    ck_assert_uint_eq(r->value.len, 5);
    ck_assert_int_eq(memcmp(r->value.data, "value", 5), 0);
    cl_free(cl);
}
END_TEST

/* node_coordinates_write names exactly the node a write is coordinated
 * by: one node per key, and the one that does not forward it. */
START_TEST(coordinates_write_names_one_node)
{
    cluster_t *cl = cl_new(1, 3, 2, 2);
    ck_assert(node_coordinates_write(cl->nodes[0], "k", 1)); /* a lone node */
    cl_free(cl);
    cl = cl_new(3, 3, 2, 2);
    cl_run(cl, 1000);
    char key[16];
    for (int k = 0; k < 30; k++) {
        snprintf(key, sizeof key, "key%d", k);
        int here = -1, count = 0;
        for (int i = 0; i < 3; i++) {
            if (node_coordinates_write(cl->nodes[i], key, strlen(key))) {
                here = i;
                count++;
            }
        }
        ck_assert_int_eq(count, 1);
        uint64_t forwarded = node_stats(cl->nodes[here])->forwarded;
        const char *set[] = {"SET", key, "v"};
        const coord_reply_t *r = cl_op(cl, here, 300 + (uint64_t)k, 3, set);
        ck_assert(r != NULL && !reply_is_error(r));
        ck_assert_uint_eq(node_stats(cl->nodes[here])->forwarded, forwarded);
    }
    cl_free(cl);
}
END_TEST

START_TEST(quorum_error_when_replicas_unreachable)
{
    cluster_t *cl = cl_new(3, 3, 2, 2);
    cl_run(cl, 1000);
    cl->cut[1] = cl->cut[2] = true; /* believed alive, but nothing arrives */
    const char *set[] = {"SET", "k", "v"};
    const coord_reply_t *r = cl_op(cl, 0, 1, 3, set);
    ck_assert_ptr_nonnull(r);
    ck_assert(reply_is_error(r));
    ck_assert_int_eq(memcmp(r->text.data, "NOQUORUM", 8), 0);
    const char *get[] = {"GET", "k"};
    r = cl_op(cl, 0, 2, 2, get);
    ck_assert(reply_is_error(r));
    ck_assert_uint_ge(node_stats(cl->nodes[0])->quorum_failures, 2);
    cl_free(cl);
}
END_TEST

START_TEST(sloppy_quorum_and_hinted_handoff)
{
    cluster_t *cl = cl_new(4, 3, 2, 2);
    cl_run(cl, 1000);
    cl->down[3] = true;
    cl_run(cl, 1500); /* node 3 is detected as failed */
    char key[16];
    int written = 0;
    for (int k = 0; k < 30; k++) {
        snprintf(key, sizeof key, "h%d", k);
        const char *set[] = {"SET", key, "v"};
        const coord_reply_t *r = cl_op(cl, k % 3, 300 + (uint64_t)k, 3, set);
        ck_assert_ptr_nonnull(r);
        ck_assert(!reply_is_error(r));
        written++;
    }
    uint64_t hints = 0;
    for (int i = 0; i < 3; i++)
        hints += node_stats(cl->nodes[i])->hints_stored;
    ck_assert_uint_gt(hints, 0);
    cl->down[3] = false;
    cl_run(cl, 3000);
    uint64_t pending = 0, delivered = 0;
    for (int i = 0; i < 3; i++) {
        pending += hint_stats(node_hints(cl->nodes[i]))->pending;
        delivered += hint_stats(node_hints(cl->nodes[i]))->delivered;
    }
    ck_assert_uint_eq(pending, 0);
    ck_assert_uint_gt(delivered, 0);
    ck_assert_int_eq(written, 30);
    cl_free(cl);
}
END_TEST

START_TEST(one_context_two_writes_make_siblings)
{
    cluster_t *cl = cl_new(3, 3, 2, 2);
    cl_run(cl, 1000);
    const char *set[] = {"SET", "cart", "a"};
    ck_assert(!reply_is_error(cl_op(cl, 0, 1, 3, set)));
    const char *dget[] = {"DYN.GET", "cart"};
    const coord_reply_t *r = cl_op(cl, 1, 2, 2, dget);
    char *ctx = xstrndup(r->context.data, r->context.len);
    const char *put1[] = {"DYN.PUT", "cart", ctx, "a,b"};
    const char *put2[] = {"DYN.PUT", "cart", ctx, "a,c"};
    ck_assert(!reply_is_error(cl_op(cl, 1, 3, 4, put1)));
    ck_assert(!reply_is_error(cl_op(cl, 2, 4, 4, put2)));
    const char *get[] = {"GET", "cart"};
    r = cl_op(cl, 0, 5, 2, get);
    ck_assert_int_eq(r->strop, STROP_REPLY_VALUES);
    ck_assert_uint_eq(versions_live_count(&r->values, cl->now), 2);
    free(ctx);
    cl_free(cl);
}
END_TEST

START_TEST(read_repair_fixes_a_stale_replica)
{
    cluster_t *cl = cl_new(3, 3, 2, 2);
    cl_run(cl, 1000);
    int lagging = -1;
    for (int i = 0; i < 3 && lagging < 0; i++) {
        /* Cut a node that does not coordinate "rr" so the write still
         * reaches W = 2. */
        cl->cut[i] = true;
        const char *set[] = {"SET", "rr", "v"};
        const coord_reply_t *r = cl_op(cl, (i + 1) % 3, 10 + (uint64_t)i, 3, set);
        cl->cut[i] = false;
        if (r && !reply_is_error(r) && !stored(cl, i, "rr"))
            lagging = i;
    }
    ck_assert_int_ge(lagging, 0);
    const char *get[] = {"GET", "rr"};
    const coord_reply_t *r = cl_op(cl, lagging, 50, 2, get);
    ck_assert(!reply_is_error(r));
    cl_run(cl, 200);
    ck_assert(stored(cl, lagging, "rr"));
    ck_assert_uint_gt(node_stats(cl->nodes[lagging])->read_repairs, 0);
    cl_free(cl);
}
END_TEST

/* A node that handed a key off and deleted it must not reuse a dot when it
 * coordinates that key again (the simulator's lost cart item). */
START_TEST(no_dot_reuse_after_handoff)
{
    cluster_t *cl = cl_new(2, 1, 1, 1);
    cl_run(cl, 1000);
    /* Find a key node 1 owns (N = 1), and make node 0 coordinate it. */
    char key[16];
    uint16_t idx[1];
    int k = 0;
    do {
        snprintf(key, sizeof key, "g%d", k++);
        ring_preference_list(node_ring(cl->nodes[0]), slot_of_key(key, strlen(key)), 1, idx);
    } while (strcmp(ring_node(node_ring(cl->nodes[0]), idx[0])->id,
                    node_config(cl->nodes[1])->id) != 0);
    cl->down[1] = true;
    cl_run(cl, 1500);
    const char *set1[] = {"SET", key, "one"};
    const coord_reply_t *r = cl_op(cl, 0, 1, 3, set1);
    ck_assert(!reply_is_error(r) && r->wrote);
    dot_t first = r->dot;
    ck_assert(stored(cl, 0, key));
    cl->down[1] = false;
    cl_run(cl, 3000); /* handed off to node 1, deleted on node 0 */
    ck_assert(!stored(cl, 0, key));
    ck_assert(stored(cl, 1, key));
    ck_assert_uint_gt(node_stats(cl->nodes[0])->handoff_keys, 0);
    cl->down[1] = true;
    cl_run(cl, 1500);
    const char *set2[] = {"SET", key, "two"};
    r = cl_op(cl, 0, 2, 3, set2);
    ck_assert(!reply_is_error(r) && r->wrote);
    ck_assert(r->dot.actor != first.actor || r->dot.counter != first.counter);
    ck_assert_uint_ne(r->dot.actor, first.actor); /* a new generation */
    cl_free(cl);
}
END_TEST

/* A node refuses a handoff of a key it does not replicate by its own ring
 * (two nodes with different rings would otherwise swap and both delete). */
START_TEST(handoff_refused_by_non_owner)
{
    cluster_t *cl = cl_new(2, 1, 1, 1);
    cl_run(cl, 1000);
    char key[16];
    uint16_t idx[1];
    int k = 0;
    do { /* a key node 1 owns */
        snprintf(key, sizeof key, "o%d", k++);
        ring_preference_list(node_ring(cl->nodes[0]), slot_of_key(key, strlen(key)), 1, idx);
    } while (strcmp(ring_node(node_ring(cl->nodes[0]), idx[0])->id,
                    node_config(cl->nodes[1])->id) != 0);
    versions_t vs = VERSIONS_INIT;
    version_write_t w = {.value = "v", .value_len = 1};
    versions_write(&vs, 9, cl->now, &w, NULL);
    buf_t body = BUF_INIT, bytes = BUF_INIT;
    versions_encode(&vs, &body);
    msg_t m = {.type = MSG_HANDOFF, .req_id = 77, .key = (const uint8_t *)key,
               .key_len = strlen(key), .body = (const uint8_t *)body.data, .body_len = body.len};
    cl_id(1, m.from);
    msg_encode(&m, &bytes);
    node_bus_message(cl->nodes[0], cl->now, m.from, bytes.data, bytes.len);
    size_t count;
    const node_effect_t *e = node_outbox(cl->nodes[0], &count);
    ck_assert_uint_eq(count, 1);
    msg_t ack;
    ck_assert(msg_decode(&ack, e[0].bytes.data, e[0].bytes.len));
    ck_assert_int_eq(ack.type, MSG_HANDOFF_ACK);
    ck_assert_int_eq(ack.status, MSG_STATUS_ERROR);
    cl_drain(cl, 0);
    ck_assert(!stored(cl, 0, key));
    node_bus_message(cl->nodes[1], cl->now, node_config(cl->nodes[0])->id, bytes.data,
                     bytes.len); /* claims the wrong sender: dropped */
    ck_assert_uint_eq(node_stats(cl->nodes[1])->bad_messages, 1);
    buf_free(&body);
    buf_free(&bytes);
    versions_free(&vs);
    cl_free(cl);
}
END_TEST

START_TEST(bad_bus_messages_are_counted)
{
    cluster_t *cl = cl_new(2, 3, 2, 2);
    char from[RING_NODE_ID_LEN + 1];
    cl_id(1, from);
    node_bus_message(cl->nodes[0], cl->now, from, "junk", 4);
    msg_t m = {.type = MSG_PUT_ACK, .req_id = 99};
    cl_id(0, m.from); /* claims to come from someone else */
    buf_t b = BUF_INIT;
    msg_encode(&m, &b);
    node_bus_message(cl->nodes[0], cl->now, from, b.data, b.len);
    ck_assert_uint_eq(node_stats(cl->nodes[0])->bad_messages, 2);
    ck_assert_uint_ne(node_next_deadline(cl->nodes[0]), UINT64_MAX);
    buf_free(&b);
    cl_free(cl);
}
END_TEST

/* The keyspace's count of node i. */
static uint64_t keys_of(cluster_t *cl, int i)
{
    return keyspace_key_count(node_keyspace(cl->nodes[i]));
}

/* Every local change reaches the keyspace and the Merkle tree: client
 * writes, lookups, reclaiming of expired values and of tombstones after
 * their grace. */
START_TEST(keyspace_and_tree_follow_local_changes)
{
    cluster_t *cl = cl_new(1, 3, 2, 2);
    const keyspace_t *ks = node_keyspace(cl->nodes[0]);
    const char *set_a[] = {"SET", "a", "1"}, *set_b[] = {"SET", "b", "2", "PX", "100"};
    const char *get_a[] = {"GET", "a"}, *get_c[] = {"GET", "c"}, *del_a[] = {"DEL", "a"};
    ck_assert(cl_op(cl, 0, 1, 3, set_a)->wrote);
    ck_assert(cl_op(cl, 0, 2, 5, set_b)->wrote);
    ck_assert_uint_eq(keys_of(cl, 0), 2);
    ck_assert_uint_eq(keyspace_expire_count(ks), 1);
    cl_op(cl, 0, 3, 2, get_a);
    cl_op(cl, 0, 4, 2, get_c);
    ck_assert_uint_eq(keyspace_stats(ks)->keyspace_hits, 1);
    ck_assert_uint_eq(keyspace_stats(ks)->keyspace_misses, 1);
    cl_run(cl, 300); /* b expired and was reclaimed */
    ck_assert(!stored(cl, 0, "b"));
    ck_assert_uint_eq(keys_of(cl, 0), 1);
    ck_assert_uint_eq(keyspace_stats(ks)->expired_keys, 1);
    ck_assert_int_eq(cl_op(cl, 0, 5, 2, del_a)->integer, 1);
    ck_assert_uint_eq(keys_of(cl, 0), 0);
    ck_assert(stored(cl, 0, "a")); /* the tombstone, for its grace */
    ck_assert_uint_ne(node_merkle_root(cl->nodes[0], NULL), 0);
    cl_run(cl, node_config(cl->nodes[0])->tombstone_grace_ms + 200);
    ck_assert(!stored(cl, 0, "a"));
    ck_assert_uint_eq(node_merkle_root(cl->nodes[0], NULL), 0);
    ck_assert_uint_eq(keyspace_stats(ks)->expired_keys, 1); /* a delete, not an expiry */
    cl_free(cl);
}
END_TEST

START_TEST(flush_empties_data_counts_and_tree)
{
    cluster_t *cl = cl_new(1, 3, 2, 2);
    const char *set_a[] = {"SET", "a", "1"}, *set_b[] = {"SET", "b", "2"};
    const coord_reply_t *r = cl_op(cl, 0, 1, 3, set_a);
    dot_t first = r->dot;
    cl_op(cl, 0, 2, 3, set_b);
    ck_assert_uint_eq(keys_of(cl, 0), 2);
    ck_assert_int_eq(node_flush(cl->nodes[0]), 0);
    ck_assert_uint_eq(keys_of(cl, 0), 0);
    ck_assert(!stored(cl, 0, "a") && !stored(cl, 0, "b"));
    ck_assert_uint_eq(node_merkle_root(cl->nodes[0], NULL), 0);
    r = cl_op(cl, 0, 3, 3, set_a);
    ck_assert(!reply_is_error(r) && r->wrote);
    ck_assert_uint_ne(r->dot.actor, first.actor); /* a new generation: no dot reuse */
    ck_assert_uint_eq(keys_of(cl, 0), 1);
    cl_free(cl);
}
END_TEST

START_TEST(append_respects_value_len_max)
{
    cluster_t *cl = cl_new(1, 3, 2, 2);
    node_set_value_len_max(cl->nodes[0], 4);
    const char *set[] = {"SET", "k", "ab"}, *long_app[] = {"APPEND", "k", "cde"};
    const char *app[] = {"APPEND", "k", "cd"};
    cl_op(cl, 0, 1, 3, set);
    ck_assert(reply_is_error(cl_op(cl, 0, 2, 3, long_app)));
    const coord_reply_t *r = cl_op(cl, 0, 3, 3, app);
    ck_assert(!reply_is_error(r));
    ck_assert_int_eq(r->integer, 4);
    cl_free(cl);
}
END_TEST

/* ---- reclaiming tombstones --------------------------------------------- */

#define REAP_GRACE_MS 500
#define REAP_RUN_MS 30000 /* enough for every backoff to end */

/* True when node i stores a live version of key. */
static bool live_at(cluster_t *cl, int i, const char *key)
{
    buf_t dk = BUF_INIT, val = BUF_INIT;
    versions_t vs = VERSIONS_INIT;
    slot_data_key(&dk, slot_of_key(key, strlen(key)), key, strlen(key));
    bool live = store_get(&cl->st[i], STORE_CF_DATA, dk.data, dk.len, &val) == 1 &&
                versions_decode(&vs, val.data, val.len) == VERSIONS_OK &&
                versions_live_count(&vs, cl->now) > 0;
    versions_free(&vs);
    buf_free(&dk);
    buf_free(&val);
    return live;
}

/* True when a GET's reply r found a value. */
static bool get_found(const coord_reply_t *r, uint64_t now)
{
    ck_assert(r && !reply_is_error(r));
    return r->strop == STROP_REPLY_VALUE ||
           (r->strop == STROP_REPLY_VALUES && versions_live_count(&r->values, now) > 0);
}

static uint64_t reaped(cluster_t *cl)
{
    uint64_t n = 0;
    for (int i = 0; i < cl->n; i++)
        n += node_stats(cl->nodes[i])->tombstones_reaped;
    return n;
}

static uint64_t deferred(cluster_t *cl)
{
    uint64_t n = 0;
    for (int i = 0; i < cl->n; i++)
        n += node_stats(cl->nodes[i])->tombstone_reaps_deferred;
    return n;
}

/* A 3-node N=3 cluster where key was written everywhere, then deleted
 * (acknowledged by nodes 0 and 1) while node 2 was cut off: node 2 still
 * holds the old value. AE is off, so only reap checks can tell it. */
static cluster_t *cl_stale_replica(const char *key)
{
    cl_grace_ms = REAP_GRACE_MS;
    cluster_t *cl = cl_new(3, 3, 2, 2);
    cl_run(cl, 1000);
    const char *set[] = {"SET", key, "old"}, *del[] = {"DEL", key};
    ck_assert(cl_op(cl, 0, 1, 3, set)->wrote);
    cl_run(cl, 100);
    cl->cut[2] = true;
    const coord_reply_t *r = cl_op(cl, 0, 2, 2, del);
    ck_assert(r && !reply_is_error(r) && r->integer == 1);
    cl->cut[2] = false;
    ck_assert(live_at(cl, 2, key) && !live_at(cl, 0, key) && stored(cl, 0, key));
    return cl;
}

/* Runs the cluster for ms in 10 ms steps; returns how many steps saw node 2
 * still holding the old value while node 0 or 1 had dropped the tombstone
 * (the resurrection Dynamo's rule prevents). */
static int stale_while_reaped(cluster_t *cl, const char *key, uint64_t ms)
{
    int bad = 0;
    for (uint64_t t = 0; t < ms; t += 10) {
        cl_run(cl, 10);
        bad += live_at(cl, 2, key) && (!stored(cl, 0, key) || !stored(cl, 1, key));
    }
    return bad;
}

START_TEST(tombstone_waits_for_an_unreachable_replica)
{
    cl_grace_ms = REAP_GRACE_MS;
    cluster_t *cl = cl_new(3, 3, 2, 2);
    cl_run(cl, 1000);
    const char *set[] = {"SET", "t", "v"}, *del[] = {"DEL", "t"};
    ck_assert(cl_op(cl, 0, 1, 3, set)->wrote);
    ck_assert_int_eq(cl_op(cl, 0, 2, 2, del)->integer, 1);
    cl_run(cl, 100);
    cl->cut[2] = true; /* every node holds the tombstone; node 2 cannot answer */
    cl_run(cl, 10 * REAP_GRACE_MS);
    ck_assert(stored(cl, 0, "t") && stored(cl, 1, "t"));
    ck_assert_uint_eq(reaped(cl), 0);
    ck_assert_uint_gt(deferred(cl), 0);
    cl->cut[2] = false;
    cl_run(cl, REAP_RUN_MS);
    for (int i = 0; i < 3; i++)
        ck_assert(!stored(cl, i, "t"));
    ck_assert_uint_eq(reaped(cl), 3);
    cl_free(cl);
}
END_TEST

START_TEST(tombstone_waits_for_a_stale_replica)
{
    cluster_t *cl = cl_stale_replica("s");
    ck_assert_int_eq(stale_while_reaped(cl, "s", REAP_RUN_MS), 0);
    for (int i = 0; i < 3; i++)
        ck_assert(!stored(cl, i, "s"));
    ck_assert_uint_eq(reaped(cl), 3);
    ck_assert_uint_gt(deferred(cl), 0); /* node 2 disagreed first */
    const char *get[] = {"GET", "s"};
    for (int i = 0; i < 3; i++)
        ck_assert(!get_found(cl_op(cl, i, 10 + (uint64_t)i, 2, get), cl->now));
    ck_assert(!live_at(cl, 0, "s") && !live_at(cl, 1, "s") && !live_at(cl, 2, "s"));
    cl_free(cl);
}
END_TEST

/* The old rule (reclaim after the grace, unconfirmed) lets the value come
 * back: the same run as above must catch it. */
START_TEST(early_reap_break_resurrects)
{
    cl_break = NODE_BREAK_EARLY_REAP;
    cluster_t *cl = cl_stale_replica("e");
    ck_assert_int_gt(stale_while_reaped(cl, "e", 10 * REAP_GRACE_MS), 0);
    const char *get[] = {"GET", "e"};
    ck_assert(get_found(cl_op(cl, 2, 10, 2, get), cl->now));
    cl_free(cl);
}
END_TEST

/* Sends node 0 a REAP_CHECK of key with set (from node 1) and returns the
 * REAP_ACK's status. */
static int reap_check(cluster_t *cl, const char *key, const versions_t *set)
{
    buf_t body = BUF_INIT, bytes = BUF_INIT;
    versions_encode(set, &body);
    msg_t m = {.type = MSG_REAP_CHECK, .req_id = 7, .key = (const uint8_t *)key,
               .key_len = strlen(key), .body = (const uint8_t *)body.data,
               .body_len = body.len};
    cl_id(1, m.from);
    msg_encode(&m, &bytes);
    node_bus_message(cl->nodes[0], cl->now, m.from, bytes.data, bytes.len);
    mem_store_commit(cl->ms[0]);
    size_t count;
    const node_effect_t *e = node_outbox(cl->nodes[0], &count);
    int status = -1;
    msg_t r;
    for (size_t k = 0; k < count; k++) {
        if (e[k].kind == NODE_EFFECT_SEND && msg_decode(&r, e[k].bytes.data, e[k].bytes.len) &&
            r.type == MSG_REAP_ACK && r.req_id == 7)
            status = r.status;
    }
    node_outbox_clear(cl->nodes[0]);
    buf_free(&body);
    buf_free(&bytes);
    return status;
}

/* The replica's side: nothing held confirms; a live value the tombstone
 * supersedes does not, but the check brings the tombstone, so the next one
 * confirms; a value written after the tombstone never confirms. */
START_TEST(reap_check_answers)
{
    cluster_t *cl = cl_new(2, 1, 1, 1);
    versions_t old = VERSIONS_INIT, tomb = VERSIONS_INIT;
    version_write_t tw = {.tombstone = true, .expire_at_ms = cl->now};
    dot_t dot;
    ck_assert_int_eq(versions_write(&tomb, 99, cl->now, &tw, &dot), VERSIONS_OK);
    ck_assert_int_eq(reap_check(cl, "none", &tomb), MSG_STATUS_OK);
    ck_assert(!stored(cl, 0, "none"));
    /* Node 0 holds a value; the tombstone's context covers it. */
    version_write_t vw = {.value = "v", .value_len = 1};
    ck_assert_int_eq(versions_write(&old, 5, cl->now, &vw, &dot), VERSIONS_OK);
    buf_t dk = BUF_INIT, enc = BUF_INIT;
    slot_data_key(&dk, slot_of_key("k", 1), "k", 1);
    versions_encode(&old, &enc);
    ck_assert_int_eq(store_put(&cl->st[0], STORE_CF_DATA, dk.data, dk.len, enc.data, enc.len), 0);
    vclock_t ctx = VCLOCK_INIT;
    versions_context(&old, &ctx);
    versions_free(&tomb);
    tw.context = &ctx;
    ck_assert_int_eq(versions_write(&tomb, 99, cl->now, &tw, &dot), VERSIONS_OK);
    ck_assert_int_eq(reap_check(cl, "k", &tomb), MSG_STATUS_DISAGREE);
    ck_assert(!live_at(cl, 0, "k") && stored(cl, 0, "k"));
    ck_assert_int_eq(reap_check(cl, "k", &tomb), MSG_STATUS_OK);
    /* A newer value (its context covers the tombstone) is not confirmed. */
    versions_t cur = VERSIONS_INIT;
    versions_copy(&cur, &tomb);
    vclock_t ctx2 = VCLOCK_INIT;
    versions_context(&cur, &ctx2);
    vw.context = &ctx2;
    ck_assert_int_eq(versions_write(&cur, 5, cl->now, &vw, &dot), VERSIONS_OK);
    buf_clear(&enc);
    versions_encode(&cur, &enc);
    ck_assert_int_eq(store_put(&cl->st[0], STORE_CF_DATA, dk.data, dk.len, enc.data, enc.len), 0);
    ck_assert_int_eq(reap_check(cl, "k", &tomb), MSG_STATUS_DISAGREE);
    ck_assert(live_at(cl, 0, "k"));
    vclock_free(&ctx);
    vclock_free(&ctx2);
    versions_free(&cur);
    versions_free(&old);
    versions_free(&tomb);
    buf_free(&dk);
    buf_free(&enc);
    cl_free(cl);
}
END_TEST

/* ---- the background budget ---------------------------------------------- */

#define TINY_RATE 200 /* bytes per second */
#define BUDGET_KEYS 240 /* more hints per holder than one batch carries */

static void cl_set_rate(cluster_t *cl, uint64_t rate)
{
    for (int i = 0; i < cl->n; i++)
        node_set_background_rate(cl->nodes[i], cl->now, rate);
}

static uint64_t cl_hints_pending(cluster_t *cl)
{
    uint64_t pending = 0;
    for (int i = 0; i < cl->n; i++)
        pending += hint_stats(node_hints(cl->nodes[i]))->pending;
    return pending;
}

static uint64_t cl_deferred(cluster_t *cl)
{
    uint64_t deferred = 0;
    for (int i = 0; i < cl->n; i++)
        deferred += budget_stats(node_budget(cl->nodes[i]))->deferred;
    return deferred;
}

/* Hints wait for the budget, and all of them are still delivered. */
START_TEST(budget_paces_hint_delivery)
{
    cluster_t *cl = cl_new(3, 2, 2, 2);
    cl_run(cl, 1000);
    cl->down[2] = true;
    cl_run(cl, 1500);
    char key[16];
    for (int k = 0; k < BUDGET_KEYS; k++) {
        snprintf(key, sizeof key, "b%d", k);
        const char *set[] = {"SET", key, "value-of-some-length"};
        const coord_reply_t *r = cl_op(cl, k % 2, 400 + (uint64_t)k, 3, set);
        ck_assert(r != NULL && !reply_is_error(r));
    }
    uint64_t stored = cl_hints_pending(cl);
    ck_assert_uint_gt(stored, 0);
    cl_set_rate(cl, TINY_RATE);
    cl->down[2] = false;
    cl_run(cl, 3000);
    ck_assert_uint_gt(cl_hints_pending(cl), 0); /* paced: a batch, then a wait */
    ck_assert_uint_gt(cl_deferred(cl), 0);
    cl_run(cl, 60000);
    ck_assert_uint_eq(cl_hints_pending(cl), 0);
    uint64_t hint_bytes = 0;
    for (int i = 0; i < 2; i++)
        hint_bytes += node_stats(cl->nodes[i])->background_bytes[NODE_BG_HINTS];
    ck_assert_uint_gt(hint_bytes, TINY_RATE);
    cl_free(cl);
}
END_TEST

/* A read whose repair finds the budget spent skips it (and counts it). */
START_TEST(read_repair_skipped_when_budget_spent)
{
    cluster_t *cl = cl_new(3, 3, 2, 2);
    cl_run(cl, 1000);
    const char *keys[] = {"rs1", "rs2"};
    int lagging = 1, via = 2;
    cl->cut[lagging] = true;
    for (int k = 0; k < 2; k++) {
        const char *set[] = {"SET", keys[k], "v"};
        const coord_reply_t *r = cl_op(cl, via, 10 + (uint64_t)k, 3, set);
        ck_assert(r != NULL && !reply_is_error(r));
    }
    cl->cut[lagging] = false;
    ck_assert(!stored(cl, lagging, "rs1") && !stored(cl, lagging, "rs2"));
    node_set_background_rate(cl->nodes[via], cl->now, 1);
    for (int k = 0; k < 2; k++) {
        const char *get[] = {"GET", keys[k]};
        const coord_reply_t *r = cl_op(cl, via, 20 + (uint64_t)k, 2, get);
        ck_assert(r != NULL && !reply_is_error(r));
        cl_run(cl, 100);
    }
    ck_assert_uint_gt(node_stats(cl->nodes[via])->read_repairs_skipped, 0);
    ck_assert(!stored(cl, lagging, "rs2"));
    cl_free(cl);
}
END_TEST

/* ---- readiness ------------------------------------------------------------ */

/* A node that met peers but has not heard their ring is not ready and
 * answers CLUSTERDOWN (CLUSTER INFO reports cluster_state:fail from the
 * same predicate); once the ring arrives it is ready and serves. */
START_TEST(ready_gates_commands)
{
    cluster_t *cl = cl_new(3, 3, 2, 2);
    const char *set[] = {"SET", "r", "v"};
    ck_assert(!node_ready(cl->nodes[1]));
    size_t lens[3] = {3, 1, 1};
    node_client_op(cl->nodes[1], cl->now, 1, 3, set, lens);
    cl_drain(cl, 1);
    ck_assert_int_eq(cl->nreplies, 1);
    ck_assert(reply_is_error(&cl->replies[0]));
    cl_run(cl, 1000);
    for (int i = 0; i < 3; i++)
        ck_assert(node_ready(cl->nodes[i]));
    const coord_reply_t *r = cl_op(cl, 1, 2, 3, set);
    ck_assert(r && !reply_is_error(r));
    cl_free(cl);
}
END_TEST

/* A leaving node hands its keys off at the budget's pace, showing how many
 * keys (and slots) are left; the new owners count what they received. */
START_TEST(handoff_progress_under_budget)
{
    cluster_t *cl = cl_new(3, 1, 1, 1);
    cl_run(cl, 1000);
    char key[16];
    for (int k = 0; k < 40; k++) {
        snprintf(key, sizeof key, "p%d", k);
        const char *set[] = {"SET", key, "v"};
        const coord_reply_t *r = cl_op(cl, k % 3, 500 + (uint64_t)k, 3, set);
        ck_assert(r != NULL && !reply_is_error(r));
    }
    uint64_t held = keys_of(cl, 0);
    ck_assert_uint_gt(held, 1);
    node_set_background_rate(cl->nodes[0], cl->now, TINY_RATE);
    node_leave(cl->nodes[0], cl->now);
    cl_drain(cl, 0);
    cl_run(cl, 2000);
    uint32_t slots = 0;
    uint64_t left = node_handoff_left(cl->nodes[0], &slots);
    ck_assert_uint_gt(left, 0);
    ck_assert_uint_le(left, held);
    ck_assert_uint_gt(slots, 0);
    ck_assert_uint_le(slots, left);
    cl_run(cl, 60000);
    ck_assert_uint_eq(keys_of(cl, 0), 0);
    ck_assert_uint_eq(node_handoff_left(cl->nodes[0], &slots), 0);
    ck_assert_uint_eq(slots, 0);
    ck_assert_uint_eq(node_stats(cl->nodes[0])->handoff_keys, held);
    ck_assert_uint_gt(budget_stats(node_budget(cl->nodes[0]))->deferred, 0);
    uint64_t received = node_stats(cl->nodes[1])->handoff_received +
                        node_stats(cl->nodes[2])->handoff_received;
    ck_assert_uint_ge(received, held);
    cl_free(cl);
}
END_TEST

/* A node that left and handed everything off announces it; the others drop
 * it from their views and its ring no longer has it. */
START_TEST(finished_leave_is_dropped)
{
    cluster_t *cl = cl_new(4, 3, 2, 2);
    cl_run(cl, 1000);
    char key[16];
    for (int k = 0; k < 30; k++) {
        snprintf(key, sizeof key, "l%d", k);
        const char *set[] = {"SET", key, "v"};
        ck_assert(!reply_is_error(cl_op(cl, k % 3, 700 + (uint64_t)k, 3, set)));
    }
    const char *leaving = node_config(cl->nodes[3])->id;
    ck_assert(!node_leave_done(cl->nodes[3]));
    node_leave(cl->nodes[3], cl->now);
    cl_drain(cl, 3);
    cl_run(cl, 30000);
    ck_assert(node_leave_done(cl->nodes[3]));
    ck_assert_uint_eq(keys_of(cl, 3), 0);
    for (int i = 0; i < 3; i++) {
        ck_assert_ptr_null(member_find(node_view(cl->nodes[i]), leaving));
        ck_assert_int_lt(ring_node_index(node_ring(cl->nodes[i]), leaving), 0);
    }
    for (int k = 0; k < 30; k++) {
        snprintf(key, sizeof key, "l%d", k);
        const char *get[] = {"GET", key};
        const coord_reply_t *r = cl_op(cl, k % 3, 800 + (uint64_t)k, 2, get);
        ck_assert(r && r->strop == STROP_REPLY_VALUE && r->value.len == 1);
    }
    cl_free(cl);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("node");
    TCase *tc = tcase_create("node");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, lone_node_serves_with_clamped_quorums);
    tcase_add_test(tc, cluster_replicates_and_forwards);
    tcase_add_test(tc, coordinates_write_names_one_node);
    tcase_add_test(tc, quorum_error_when_replicas_unreachable);
    tcase_add_test(tc, sloppy_quorum_and_hinted_handoff);
    tcase_add_test(tc, one_context_two_writes_make_siblings);
    tcase_add_test(tc, read_repair_fixes_a_stale_replica);
    tcase_add_test(tc, no_dot_reuse_after_handoff);
    tcase_add_test(tc, handoff_refused_by_non_owner);
    tcase_add_test(tc, bad_bus_messages_are_counted);
    tcase_add_test(tc, keyspace_and_tree_follow_local_changes);
    tcase_add_test(tc, flush_empties_data_counts_and_tree);
    tcase_add_test(tc, append_respects_value_len_max);
    tcase_add_test(tc, tombstone_waits_for_an_unreachable_replica);
    tcase_add_test(tc, tombstone_waits_for_a_stale_replica);
    tcase_add_test(tc, early_reap_break_resurrects);
    tcase_add_test(tc, reap_check_answers);
    tcase_add_test(tc, ready_gates_commands);
    tcase_add_test(tc, budget_paces_hint_delivery);
    tcase_add_test(tc, read_repair_skipped_when_budget_spent);
    tcase_add_test(tc, handoff_progress_under_budget);
    tcase_add_test(tc, finished_leave_is_dropped);
    suite_add_tcase(s, tc);
    return s;
}
