/* test_node.c - Check suite for src/core/node: a lone node serving with
 * clamped quorums, and small clusters on in-memory stores driven by a FIFO
 * message pump (no simulator): replication, forwarding, quorum errors,
 * hinted handoff, siblings from one context, read repair, bad input; the
 * node's keyspace and Merkle tree following every local change
 * (reclaiming, FLUSHALL), APPEND's length limit. */
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

static void cl_config(int i, node_config_t *cfg)
{
    node_config_default(cfg);
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
    suite_add_tcase(s, tc);
    return s;
}
