/* node.c - one Dynamo node driven by events (see node.h).
 *
 * Sections: lifecycle and outbox; local storage (every data write goes
 * through node_store_set so the Merkle tree follows); ring and membership;
 * the write path (forwarding, sloppy quorum, W acks); the read path (R
 * replies, merge, read repair); replica-side message handlers; timers
 * (timeouts, gossip, hints, anti-entropy, handoff). */
#include "core/node.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/merkle.h"
#include "core/msg.h"
#include "core/slot.h"
#include "core/strop.h"
#include "util/alloc.h"
#include "util/hash.h"
#include "util/pcg.h"

#define NODE_META_RING "ring"
#define NODE_META_VIEW "view"
#define NODE_META_INCARNATION "incarnation"
#define NODE_META_GENERATION "generation"
#define NODE_GENERATION_BITS 24
#define NODE_TOO_MANY_TEXT "ERR too many siblings; resolve them with DYN.GET and DYN.PUT"
#define NODE_NOT_READY_TEXT "CLUSTERDOWN the cluster's ring is not known here yet"
#define NODE_FORWARD_TRIES_MAX 3 /* coordinators a forwarded write tries */
#define NODE_SENT_MAX (2 * MEMBER_MAX) /* peers whose last gossip time is kept */
#define NODE_RING_EVERY 8        /* gossip carries the full ring one round in 8 */
#define NODE_RING_FRESH_ROUNDS 20 /* ... and in every round this long after a change */
#define NODE_ID_SIZE (RING_NODE_ID_LEN + 1)

struct node {
    node_config_t cfg;
    pcg32_t rng;
    store_t *store;
    ring_t *ring;
    member_view_t *view;
    hint_t *hints;
    merkle_t *merkle;
    ae_t *ae;
    coord_table_t reqs;
    node_effect_t *out;
    size_t out_len, out_cap;
    uint64_t now_ms;
    uint64_t next_gossip_ms, next_ae_ms, next_handoff_ms;
    bool handoff_pending;
    bool ring_heard; /* a peer's ring was seen (or loaded): rebalancing is safe */
    uint64_t ring_changed_ms;
    /* Derived from the ring at every change: the runs of slots sharing a
     * preference list, and the slots this node replicates. */
    ring_range_t *ranges;
    size_t nranges;
    merkle_slots_t mine;
    struct node_sent {
        char id[NODE_ID_SIZE];
        uint64_t ms;
    } *sent; /* when gossip last went to each peer */
    size_t nsent, capsent;
    uint64_t generation; /* see node_actor */
    bool deleted;        /* a data key was deleted since the generation began */
    size_t member_count_saved;
    node_stats_t stats;
};

static void node_set_ring(node_t *node, ring_t *ring);
bool node_replicates(const node_t *node, uint16_t slot);

/* ---- lifecycle and outbox ------------------------------------------------ */

void node_config_default(node_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->host, sizeof cfg->host, "127.0.0.1");
    cfg->port = 6379;
    cfg->bus_port = 16379;
    cfg->weight = 1;
    cfg->n = 3;
    cfg->r = 2;
    cfg->w = 2;
    cfg->request_timeout_ms = 2000;
    cfg->read_repair_ms = 200;
    cfg->gossip_interval_ms = 1000;
    cfg->gossip_fanout = 3;
    cfg->ae_interval_ms = 10000;
    cfg->handoff_interval_ms = 1000;
    fd_config_default(&cfg->fd);
    hint_config_default(&cfg->hint);
    ae_config_default(&cfg->ae);
}

uint64_t node_peer_key(const char *id)
{
    uint64_t key = 0;
    for (int i = 0; i < 16 && id[i]; i++) {
        char c = id[i];
        unsigned d = (c >= '0' && c <= '9') ? (unsigned)(c - '0') : (unsigned)(c - 'a' + 10);
        key = (key << 4) | (d & 15);
    }
    return key;
}

/* The id of the member whose peer key is key, into id; false if none. */
static bool node_peer_id(const node_t *node, uint64_t key, char id[NODE_ID_SIZE])
{
    for (size_t i = 0; i < member_count(node->view); i++) {
        const member_t *m = member_at(node->view, i);
        if (node_peer_key(m->id) == key) {
            coord_id_copy(id, m->id);
            return true;
        }
    }
    return false;
}

static node_effect_t *node_effect_add(node_t *node, enum node_effect_kind kind)
{
    if (node->out_len == node->out_cap) {
        node->out_cap = node->out_cap ? node->out_cap * 2 : 64;
        node->out = xrealloc(node->out, node->out_cap * sizeof *node->out);
    }
    node_effect_t *e = &node->out[node->out_len++];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    coord_reply_init(&e->reply);
    return e;
}

/* Sends m (its from field is filled in here) to node `to`. */
static void node_send(node_t *node, const char *to, msg_t *m)
{
    coord_id_copy(m->from, node->cfg.id);
    node_effect_t *e = node_effect_add(node, NODE_EFFECT_SEND);
    coord_id_copy(e->to, to);
    msg_encode(m, &e->bytes);
}

/* Answers a request's origin: a local client, or the node that forwarded it. */
static void node_answer(node_t *node, const coord_origin_t *origin, const coord_reply_t *reply)
{
    if (origin->from[0] == 0) {
        node_effect_t *e = node_effect_add(node, NODE_EFFECT_REPLY);
        e->client_req_id = origin->client_req_id;
        coord_reply_copy(&e->reply, reply);
        return;
    }
    buf_t body = BUF_INIT;
    coord_reply_encode(reply, &body);
    msg_t m = {.type = MSG_FORWARD_REPLY, .req_id = origin->from_req_id,
               .status = MSG_STATUS_OK, .body = (const uint8_t *)body.data,
               .body_len = body.len};
    node_send(node, origin->from, &m);
    buf_free(&body);
}

static void node_answer_error(node_t *node, const coord_origin_t *origin, const char *text)
{
    coord_reply_t r;
    coord_reply_init(&r);
    coord_reply_error(&r, text);
    node_answer(node, origin, &r);
    coord_reply_free(&r);
}

const node_effect_t *node_outbox(const node_t *node, size_t *count)
{
    *count = node->out_len;
    return node->out;
}

void node_outbox_clear(node_t *node)
{
    for (size_t i = 0; i < node->out_len; i++) {
        buf_free(&node->out[i].bytes);
        coord_reply_free(&node->out[i].reply);
    }
    node->out_len = 0;
}

/* ---- local storage ------------------------------------------------------- */

/* Reads key's versions into vs: 1 found, 0 missing, < 0 on a store error. */
static int node_read(node_t *node, const buf_t *data_key, versions_t *vs)
{
    buf_t val = BUF_INIT;
    versions_free(vs);
    int rc = store_get(node->store, STORE_CF_DATA, data_key->data, data_key->len, &val);
    if (rc == 1 && versions_decode(vs, val.data, val.len) != VERSIONS_OK)
        rc = STORE_ECORRUPT;
    buf_free(&val);
    if (rc < 0)
        node->stats.store_errors++;
    return rc;
}

/* Stores vs under data_key (old: what was there) and updates the tree. */
static int node_store_set(node_t *node, const buf_t *data_key, const versions_t *old,
                          const versions_t *vs)
{
    buf_t val = BUF_INIT;
    versions_encode(vs, &val);
    int rc = store_put(node->store, STORE_CF_DATA, data_key->data, data_key->len, val.data,
                       val.len);
    buf_free(&val);
    if (rc == 0 && merkle_update_key(node->merkle, data_key->data, data_key->len, old, vs) < 0)
        merkle_invalidate(node->merkle);
    if (rc < 0)
        node->stats.store_errors++;
    uint16_t slot = (uint16_t)((uint8_t)data_key->data[0] << 8 | (uint8_t)data_key->data[1]);
    if (rc == 0 && !node_replicates(node, slot))
        node->handoff_pending = true; /* a key held here for others: hand it off */
    return rc;
}

/* Test-only break: keep only the last sibling after a replica merge. */
static void node_break_drop_sibling(versions_t *vs)
{
    while (vs->len > 1) {
        vclock_free(&vs->items[0].past);
        free(vs->items[0].value);
        memmove(&vs->items[0], &vs->items[1], (vs->len - 1) * sizeof vs->items[0]);
        vs->len--;
    }
}

/* Merges incoming into the local versions of data_key. Returns 0 or < 0. */
static int node_merge_local(node_t *node, const buf_t *data_key, const versions_t *incoming)
{
    versions_t cur = VERSIONS_INIT, old = VERSIONS_INIT;
    int rc = node_read(node, data_key, &cur);
    if (rc >= 0) {
        versions_copy(&old, &cur);
        bool changed = versions_merge(&cur, incoming);
        if (node->cfg.test_break == NODE_BREAK_MERGE_DROPS_SIBLING && cur.len > 1) {
            node_break_drop_sibling(&cur);
            changed = true;
        }
        rc = changed ? node_store_set(node, data_key, &old, &cur) : 0;
    }
    versions_free(&cur);
    versions_free(&old);
    return rc < 0 ? rc : 0;
}

static int node_merge_encoded(node_t *node, const uint8_t *key, size_t key_len,
                              const uint8_t *body, size_t body_len)
{
    versions_t in = VERSIONS_INIT;
    if (versions_decode(&in, body, body_len) != VERSIONS_OK)
        return STORE_ECORRUPT;
    buf_t dk = BUF_INIT;
    slot_data_key(&dk, slot_of_key(key, key_len), key, key_len);
    int rc = node_merge_local(node, &dk, &in);
    buf_free(&dk);
    versions_free(&in);
    return rc;
}

/* ae.h's write path. */
static int node_ae_merge(void *arg, const void *data_key, size_t key_len,
                         const versions_t *incoming)
{
    node_t *node = arg;
    buf_t dk = BUF_INIT;
    buf_append(&dk, data_key, key_len);
    int rc = node_merge_local(node, &dk, incoming);
    buf_free(&dk);
    return rc;
}

/* ---- ring and membership ------------------------------------------------- */

static size_t node_nrep(const node_t *node)
{
    size_t count = ring_node_count(node->ring);
    size_t n = node->cfg.n < count ? node->cfg.n : count;
    return n > COORD_REPLICAS_MAX ? COORD_REPLICAS_MAX : n;
}

/* The first n ids of slot's extended list into ids; returns how many. */
static size_t node_walk(const node_t *node, uint16_t slot, size_t n, char ids[][NODE_ID_SIZE])
{
    uint16_t idx[RING_NODES_MAX];
    size_t len = ring_extended_list(node->ring, slot, n, idx);
    for (size_t i = 0; i < len; i++)
        coord_id_copy(ids[i], ring_node(node->ring, idx[i])->id);
    return len;
}

bool node_replicates(const node_t *node, uint16_t slot)
{
    return merkle_slots_has(&node->mine, slot);
}

/* Recomputes what the node derives from its ring. */
static void node_ring_derive(node_t *node)
{
    size_t cap = 64, n = 0;
    ring_range_t *ranges = xmalloc(cap * sizeof *ranges);
    uint32_t cursor = 0;
    int self = ring_node_index(node->ring, node->cfg.id);
    merkle_slots_clear(&node->mine);
    while (ring_range_next(node->ring, node_nrep(node), &cursor, &ranges[n])) {
        for (size_t i = 0; i < ranges[n].count; i++) {
            if (self >= 0 && ranges[n].nodes[i] == (uint16_t)self)
                merkle_slots_add_range(&node->mine, ranges[n].first, ranges[n].last);
        }
        if (++n == cap) {
            cap *= 2;
            ranges = xrealloc(ranges, cap * sizeof *ranges);
        }
    }
    free(node->ranges);
    node->ranges = ranges;
    node->nranges = n;
}

static bool node_alive(const node_t *node, const char *id)
{
    if (strcmp(id, node->cfg.id) == 0)
        return true;
    const member_t *m = member_find(node->view, id);
    return m && m->state == MEMBER_ALIVE;
}

static void node_save_meta(node_t *node, const char *name, const buf_t *val)
{
    if (store_put(node->store, STORE_CF_META, name, strlen(name), val->data, val->len) < 0)
        node->stats.store_errors++;
}

static void node_save_view(node_t *node)
{
    buf_t b = BUF_INIT;
    member_encode(node->view, node->now_ms, &b);
    node_save_meta(node, NODE_META_VIEW, &b);
    buf_free(&b);
    node->member_count_saved = member_count(node->view);
}

/* Takes ring over as the node's ring; saves it and schedules handoff. */
static void node_set_ring(node_t *node, ring_t *ring)
{
    ring_free(node->ring);
    node->ring = ring;
    node_ring_derive(node);
    buf_t b = BUF_INIT;
    ring_encode(ring, &b);
    node_save_meta(node, NODE_META_RING, &b);
    buf_free(&b);
    node->handoff_pending = true;
    node->next_handoff_ms = node->now_ms;
    node->stats.ring_changes++;
    node->ring_changed_ms = node->now_ms;
}

/* True when this node is the lowest-id alive member: the one that rebalances. */
static bool node_is_leader(const node_t *node)
{
    for (size_t i = 0; i < member_count(node->view); i++) {
        const member_t *m = member_at(node->view, i);
        if (m->state == MEMBER_ALIVE && strcmp(m->id, node->cfg.id) < 0)
            return false;
    }
    return true;
}

static bool node_ring_matches(const node_t *node, const ring_node_t *members, size_t count)
{
    if (count != ring_node_count(node->ring))
        return false;
    for (size_t i = 0; i < count; i++) {
        int idx = ring_node_index(node->ring, members[i].id);
        if (idx < 0)
            return false;
        const ring_node_t *rn = ring_node(node->ring, (size_t)idx);
        if (rn->weight != members[i].weight || strcmp(rn->zone, members[i].zone) != 0)
            return false;
    }
    return true;
}

/* A node that has met others coordinates nothing until it has their ring:
 * with its own lone ring it would take itself for the whole cluster. */
static bool node_ready(const node_t *node)
{
    return node->ring_heard || member_count(node->view) == 1;
}

/* The leader rebalances when the view's ring members differ from the ring. */
static void node_sync_ring(node_t *node)
{
    if (member_count(node->view) != node->member_count_saved)
        node_save_view(node);
    ring_node_t *members = xcalloc(MEMBER_MAX, sizeof *members);
    size_t count = member_ring_nodes(node->view, members);
    bool may = node->ring_heard || member_count(node->view) == 1;
    if (may && !node_ring_matches(node, members, count) && node_is_leader(node)) {
        ring_t *next = ring_copy(node->ring);
        if (ring_rebalance(next, members, count) >= 0)
            node_set_ring(node, next);
        else
            ring_free(next);
    }
    free(members);
}

/* ---- the write path ------------------------------------------------------ */

/* The actor this node writes as. versions_write numbers a new dot one past
 * the highest counter of the actor that the key's local versions and the
 * context know. That is unique only while the coordinator holds every version
 * it ever wrote of the key; once the node deletes a key (handoff), it could
 * coordinate that key again and reuse a dot, and replicas would take the two
 * writes for one (the simulator found exactly that: a lost cart item). So the
 * actor carries a generation, and the first write after any deletion starts
 * a new one (Riak's per-key epochs solve the same problem, KV679). */
static uint64_t node_actor(const node_t *node)
{
    return node->cfg.actor << NODE_GENERATION_BITS | node->generation;
}

static void node_save_generation(node_t *node)
{
    buf_t val = BUF_INIT;
    buf_put_u64be(&val, node->generation);
    buf_append_byte(&val, node->deleted ? 1 : 0);
    node_save_meta(node, NODE_META_GENERATION, &val);
    buf_free(&val);
}

static void node_load_generation(node_t *node)
{
    buf_t val = BUF_INIT;
    if (store_get(node->store, STORE_CF_META, NODE_META_GENERATION,
                  strlen(NODE_META_GENERATION), &val) == 1) {
        cursor_t c;
        cursor_init(&c, val.data, val.len);
        uint8_t deleted = 0;
        cursor_u64be(&c, &node->generation);
        cursor_u8(&c, &deleted);
        node->deleted = deleted != 0;
    }
    buf_free(&val);
}

/* Called before a write: a new generation if a key was deleted since. */
static void node_fresh_actor(node_t *node)
{
    if (!node->deleted)
        return;
    node->generation = (node->generation + 1) & ((UINT64_C(1) << NODE_GENERATION_BITS) - 1);
    node->deleted = false;
    node_save_generation(node);
}

/* The first alive node of slot's extended list that tried (may be NULL)
 * has not tried yet, into id (self when there is none). */
static void node_coordinator(const node_t *node, uint16_t slot, const coord_req_t *tried,
                             char id[NODE_ID_SIZE])
{
    char (*ids)[NODE_ID_SIZE] = xcalloc(RING_NODES_MAX, NODE_ID_SIZE);
    size_t len = node_walk(node, slot, RING_NODES_MAX, ids);
    coord_id_copy(id, node->cfg.id);
    for (size_t i = 0; i < len; i++) {
        if (tried && coord_req_target(tried, ids[i]) >= 0)
            continue;
        if (node_alive(node, ids[i])) {
            coord_id_copy(id, ids[i]);
            break;
        }
    }
    free(ids);
}

/* Sloppy quorum: self (already written), every alive preference node, and
 * for each one believed down the next alive node of the extended list,
 * carrying a hint naming it. */
static void node_put_targets(node_t *node, coord_req_t *req, uint16_t slot)
{
    char (*ids)[NODE_ID_SIZE] = xcalloc(RING_NODES_MAX, NODE_ID_SIZE);
    size_t len = node_walk(node, slot, RING_NODES_MAX, ids);
    size_t nrep = node_nrep(node), next_sub = nrep;
    int self = coord_req_add_target(req, node->cfg.id, "");
    req->targets[self].state = COORD_TARGET_OK;
    for (size_t i = 0; i < nrep && i < len; i++) {
        if (strcmp(ids[i], node->cfg.id) == 0)
            continue;
        if (node_alive(node, ids[i])) {
            coord_req_add_target(req, ids[i], "");
            continue;
        }
        while (next_sub < len) {
            const char *s = ids[next_sub++];
            if (strcmp(s, node->cfg.id) != 0 && node_alive(node, s) &&
                coord_req_target(req, s) < 0) {
                coord_req_add_target(req, s, ids[i]);
                break;
            }
        }
    }
    free(ids);
}

static void node_put_answer_quorum_error(node_t *node, coord_req_t *req)
{
    char text[COORD_TEXT_MAX];
    snprintf(text, sizeof text, "NOQUORUM write acknowledged by %u of %u replicas",
             coord_req_count(req, COORD_TARGET_OK), req->needed);
    node->stats.quorum_failures++;
    node_answer_error(node, &req->origin, text);
}

/* Sends the written versions to the other targets; answers at W acks. */
static void node_put_replicate(node_t *node, const coord_origin_t *origin, const char *key,
                               size_t key_len, const versions_t *vs, coord_reply_t *reply)
{
    coord_req_t *req = coord_table_add(&node->reqs, COORD_REQ_PUT);
    if (!req) {
        node_answer_error(node, origin, "BUSY too many requests in flight");
        return;
    }
    req->origin = *origin;
    coord_reply_copy(&req->reply, reply);
    size_t nrep = node_nrep(node);
    req->needed = node->cfg.w < nrep ? node->cfg.w : (uint32_t)nrep;
    if (req->needed == 0 || node->cfg.test_break == NODE_BREAK_ACK_BEFORE_W)
        req->needed = 1;
    req->deadline_ms = node->now_ms + node->cfg.request_timeout_ms;
    node_put_targets(node, req, slot_of_key(key, key_len));
    buf_t body = BUF_INIT;
    versions_encode(vs, &body);
    for (uint32_t i = 0; i < req->ntargets; i++) {
        coord_target_t *t = &req->targets[i];
        if (t->state != COORD_TARGET_WAITING)
            continue;
        msg_t m = {.type = MSG_PUT_REPLICA, .req_id = req->req_id,
                   .key = (const uint8_t *)key, .key_len = key_len,
                   .body = (const uint8_t *)body.data, .body_len = body.len};
        coord_id_copy(m.hint_for, t->hint_for);
        node_send(node, t->id, &m);
    }
    buf_free(&body);
    if (coord_put_quorum(req)) {
        node_answer(node, &req->origin, &req->reply);
        coord_table_remove(&node->reqs, req);
    }
}

/* Evaluates a write op against the local versions and applies it. Returns
 * 0 with *next set and reply filled (wrote tells whether to replicate), or
 * -1 after answering an error. */
static int node_put_eval(node_t *node, const coord_origin_t *origin, const coord_op_t *op,
                         const buf_t *dk, versions_t *next, coord_reply_t *reply)
{
    versions_t cur = VERSIONS_INIT;
    strop_op_t sop;
    strop_result_t res;
    strop_op_init(&sop, op->kind);
    strop_result_init(&res);
    buf_t err = BUF_INIT;
    int rc = node_read(node, dk, &cur);
    if (rc < 0) {
        buf_append_str(&err, "ERR storage failure");
    } else if (strop_parse(&sop, op->kind, op->argc, (const char *const *)op->argv,
                           op->argvlen, node->now_ms, &err) == 0) {
        strop_eval(&cur, node->now_ms, &sop, &res);
        coord_reply_from_strop(reply, &res);
        versions_copy(next, &cur);
        if (res.has_write) {
            node_fresh_actor(node);
            int wr = versions_write(next, node_actor(node), node->now_ms, &res.write, &reply->dot);
            if (wr == VERSIONS_ETOOMANY)
                buf_append_str(&err, NODE_TOO_MANY_TEXT);
            else if (node_store_set(node, dk, &cur, next) < 0)
                buf_append_str(&err, "ERR storage failure");
            else
                reply->wrote = true;
        }
    }
    if (err.len > 0) {
        buf_append_byte(&err, 0);
        node_answer_error(node, origin, err.data);
    }
    rc = err.len > 0 ? -1 : 0;
    buf_free(&err);
    strop_result_free(&res);
    strop_op_free(&sop);
    versions_free(&cur);
    return rc;
}

/* Coordinates a write here; takes op over. */
static void node_put_start(node_t *node, const coord_origin_t *origin, coord_op_t *op)
{
    size_t key_len;
    const char *key = coord_op_key(op, &key_len);
    buf_t dk = BUF_INIT;
    slot_data_key(&dk, slot_of_key(key, key_len), key, key_len);
    versions_t next = VERSIONS_INIT;
    coord_reply_t reply;
    coord_reply_init(&reply);
    node->stats.puts++;
    if (node_put_eval(node, origin, op, &dk, &next, &reply) == 0) {
        if (reply.wrote)
            node_put_replicate(node, origin, key, key_len, &next, &reply);
        else
            node_answer(node, origin, &reply);
    }
    coord_reply_free(&reply);
    versions_free(&next);
    buf_free(&dk);
    coord_op_free(op);
}

/* Sends a forwarded write (again) to coordinator `to`. */
static void node_forward_send(node_t *node, coord_req_t *req, const char *to)
{
    coord_req_add_target(req, to, "");
    req->deadline_ms = node->now_ms + node->cfg.request_timeout_ms / 2;
    buf_t body = BUF_INIT;
    coord_op_encode(&req->op, &body);
    msg_t m = {.type = MSG_FORWARD, .req_id = req->req_id, .body = (const uint8_t *)body.data,
               .body_len = body.len};
    node_send(node, to, &m);
    buf_free(&body);
}

/* Sends a write to its coordinator, or coordinates it here; takes op over. */
static void node_route_write(node_t *node, const coord_origin_t *origin, coord_op_t *op)
{
    size_t key_len;
    const char *key = coord_op_key(op, &key_len);
    char coord[NODE_ID_SIZE];
    node_coordinator(node, slot_of_key(key, key_len), NULL, coord);
    coord_req_t *req = NULL;
    if (strcmp(coord, node->cfg.id) != 0 && node->cfg.test_break != NODE_BREAK_NO_FORWARD)
        req = coord_table_add(&node->reqs, COORD_REQ_FORWARD);
    if (!req) {
        node_put_start(node, origin, op);
        return;
    }
    req->origin = *origin;
    req->op = *op;
    memset(op, 0, sizeof *op);
    node_forward_send(node, req, coord);
    node->stats.forwarded++;
}

/* A forward timed out: try the next alive coordinator, or coordinate here. */
static void node_forward_retry(node_t *node, coord_req_t *req)
{
    size_t key_len;
    const char *key = coord_op_key(&req->op, &key_len);
    char next[NODE_ID_SIZE];
    node_coordinator(node, slot_of_key(key, key_len), req, next);
    if (req->ntargets < NODE_FORWARD_TRIES_MAX && strcmp(next, node->cfg.id) != 0) {
        node_forward_send(node, req, next);
        return;
    }
    coord_origin_t origin = req->origin;
    coord_op_t op = req->op;
    memset(&req->op, 0, sizeof req->op);
    coord_table_remove(&node->reqs, req);
    node->stats.forward_fallbacks++;
    node_put_start(node, &origin, &op);
}

static void node_on_put_ack(node_t *node, const msg_t *m)
{
    coord_req_t *req = coord_table_find(&node->reqs, m->req_id);
    if (!req || req->kind != COORD_REQ_PUT)
        return;
    int idx = coord_req_target(req, m->from);
    if (idx < 0 || req->targets[idx].state != COORD_TARGET_WAITING)
        return;
    req->targets[idx].state =
        m->status == MSG_STATUS_OK ? COORD_TARGET_OK : COORD_TARGET_FAILED;
    if (coord_put_quorum(req)) {
        node_answer(node, &req->origin, &req->reply);
        coord_table_remove(&node->reqs, req);
    } else if (coord_req_all_answered(req)) {
        node_put_answer_quorum_error(node, req);
        coord_table_remove(&node->reqs, req);
    }
}

static void node_on_forward(node_t *node, const msg_t *m)
{
    coord_op_t op;
    memset(&op, 0, sizeof op);
    if (!coord_op_decode(&op, m->body, m->body_len) || op.is_read) {
        coord_op_free(&op);
        node->stats.bad_messages++;
        return;
    }
    coord_origin_t origin = {.from_req_id = m->req_id};
    coord_id_copy(origin.from, m->from);
    if (node_ready(node)) {
        node_put_start(node, &origin, &op);
    } else {
        node_answer_error(node, &origin, NODE_NOT_READY_TEXT);
        coord_op_free(&op);
    }
}

static void node_on_forward_reply(node_t *node, const msg_t *m)
{
    coord_req_t *req = coord_table_find(&node->reqs, m->req_id);
    if (!req || req->kind != COORD_REQ_FORWARD)
        return;
    coord_reply_t reply;
    coord_reply_init(&reply);
    if (coord_reply_decode(&reply, m->body, m->body_len)) {
        node_answer(node, &req->origin, &reply);
        coord_table_remove(&node->reqs, req);
    } else {
        node->stats.bad_messages++;
    }
    coord_reply_free(&reply);
}

/* ---- the read path ------------------------------------------------------- */

/* The answer to a read from the merged replies. */
static void node_get_reply(node_t *node, coord_req_t *req, coord_reply_t *reply)
{
    if (req->op.dyn_get) {
        coord_reply_context(reply, &req->merged);
        return;
    }
    strop_op_t sop;
    strop_op_init(&sop, req->op.kind);
    buf_t err = BUF_INIT;
    if (strop_parse(&sop, req->op.kind, req->op.argc, (const char *const *)req->op.argv,
                    req->op.argvlen, node->now_ms, &err) == 0) {
        strop_result_t res;
        strop_result_init(&res);
        strop_eval(&req->merged, node->now_ms, &sop, &res);
        coord_reply_from_strop(reply, &res);
        strop_result_free(&res);
    } else {
        buf_append_byte(&err, 0);
        coord_reply_error(reply, err.data);
    }
    buf_free(&err);
    strop_op_free(&sop);
}

/* Read repair: sends the merge to every replica that answered with less. */
static void node_get_repair(node_t *node, coord_req_t *req)
{
    size_t key_len;
    const char *key = coord_op_key(&req->op, &key_len);
    buf_t body = BUF_INIT, dk = BUF_INIT;
    versions_encode(&req->merged, &body);
    slot_data_key(&dk, slot_of_key(key, key_len), key, key_len);
    for (uint32_t i = 0; i < req->ntargets; i++) {
        if (!coord_get_stale(req, (int)i))
            continue;
        node->stats.read_repairs++;
        if (strcmp(req->targets[i].id, node->cfg.id) == 0) {
            node_merge_local(node, &dk, &req->merged);
            continue;
        }
        msg_t m = {.type = MSG_PUT_REPLICA, .key = (const uint8_t *)key, .key_len = key_len,
                   .body = (const uint8_t *)body.data, .body_len = body.len};
        node_send(node, req->targets[i].id, &m);
    }
    buf_free(&body);
    buf_free(&dk);
}

/* Moves a read on: answer at R, repair once everyone answered or the
 * window closed (or the deadline passed without a quorum). */
static void node_get_progress(node_t *node, coord_req_t *req)
{
    if (!req->replied && (coord_get_quorum(req) || coord_req_all_answered(req) ||
                          node->now_ms >= req->deadline_ms)) {
        coord_reply_t reply;
        coord_reply_init(&reply);
        if (coord_get_quorum(req)) {
            node_get_reply(node, req, &reply);
        } else {
            char text[COORD_TEXT_MAX];
            snprintf(text, sizeof text, "NOQUORUM read answered by %u of %u replicas",
                     coord_req_count(req, COORD_TARGET_OK) +
                         coord_req_count(req, COORD_TARGET_MISSING),
                     req->needed);
            coord_reply_error(&reply, text);
            node->stats.quorum_failures++;
        }
        node_answer(node, &req->origin, &reply);
        coord_reply_free(&reply);
        req->replied = true;
        req->linger_ms = node->now_ms + node->cfg.read_repair_ms;
    }
    if (req->replied && (coord_req_all_answered(req) || node->now_ms >= req->linger_ms)) {
        node_get_repair(node, req);
        coord_table_remove(&node->reqs, req);
    }
}

/* Asks the preference list for key's versions; takes op over. */
static void node_get_start(node_t *node, const coord_origin_t *origin, coord_op_t *op)
{
    coord_req_t *req = coord_table_add(&node->reqs, COORD_REQ_GET);
    if (!req) {
        node_answer_error(node, origin, "BUSY too many requests in flight");
        coord_op_free(op);
        return;
    }
    node->stats.gets++;
    req->origin = *origin;
    req->op = *op;
    memset(op, 0, sizeof *op);
    size_t key_len, nrep = node_nrep(node);
    const char *key = coord_op_key(&req->op, &key_len);
    uint16_t slot = slot_of_key(key, key_len);
    req->needed = node->cfg.r < nrep ? node->cfg.r : (uint32_t)nrep;
    req->needed = req->needed ? req->needed : 1;
    req->deadline_ms = node->now_ms + node->cfg.request_timeout_ms;
    char ids[COORD_REPLICAS_MAX][NODE_ID_SIZE];
    size_t len = node_walk(node, slot, nrep, ids);
    for (size_t i = 0; i < len; i++) {
        int idx = coord_req_add_target(req, ids[i], "");
        if (strcmp(ids[i], node->cfg.id) == 0) {
            versions_t vs = VERSIONS_INIT;
            buf_t dk = BUF_INIT;
            slot_data_key(&dk, slot, key, key_len);
            int rc = node_read(node, &dk, &vs);
            coord_get_record(req, idx, rc < 0 ? COORD_TARGET_FAILED
                                       : rc == 0 ? COORD_TARGET_MISSING : COORD_TARGET_OK, &vs);
            versions_free(&vs);
            buf_free(&dk);
        } else if (node_alive(node, ids[i])) {
            msg_t m = {.type = MSG_GET_REPLICA, .req_id = req->req_id,
                       .key = (const uint8_t *)key, .key_len = key_len};
            node_send(node, ids[i], &m);
        } else {
            coord_get_record(req, idx, COORD_TARGET_FAILED, NULL);
        }
    }
    node_get_progress(node, req);
}

static void node_on_get_reply(node_t *node, const msg_t *m)
{
    coord_req_t *req = coord_table_find(&node->reqs, m->req_id);
    if (!req || req->kind != COORD_REQ_GET)
        return;
    int idx = coord_req_target(req, m->from);
    if (idx < 0)
        return;
    versions_t vs = VERSIONS_INIT;
    enum coord_target_state state = COORD_TARGET_FAILED;
    if (m->status == MSG_STATUS_MISSING)
        state = COORD_TARGET_MISSING;
    else if (m->status == MSG_STATUS_OK && versions_decode(&vs, m->body, m->body_len) == 0)
        state = COORD_TARGET_OK;
    if (coord_get_record(req, idx, state, &vs))
        node_get_progress(node, req);
    versions_free(&vs);
}

/* ---- client entry point -------------------------------------------------- */

void node_client_op(node_t *node, uint64_t now_ms, uint64_t client_req_id, int argc,
                    const char *const *argv, const size_t *argvlen)
{
    node->now_ms = now_ms;
    node->stats.client_ops++;
    coord_origin_t origin = {.client_req_id = client_req_id};
    coord_op_t op;
    buf_t err = BUF_INIT;
    if (!node_ready(node)) {
        node_answer_error(node, &origin, NODE_NOT_READY_TEXT);
    } else if (coord_op_init(&op, argc, argv, argvlen, &err) != 0) {
        buf_append_byte(&err, 0);
        node_answer_error(node, &origin, err.data);
    } else if (op.is_read) {
        node_get_start(node, &origin, &op);
    } else {
        node_route_write(node, &origin, &op);
    }
    buf_free(&err);
}

/* ---- replica-side handlers ----------------------------------------------- */

static void node_ack(node_t *node, const msg_t *req, enum msg_type type, int rc)
{
    if (req->req_id == 0)
        return;
    msg_t m = {.type = type, .req_id = req->req_id, .key = req->key, .key_len = req->key_len,
               .status = rc < 0 ? MSG_STATUS_ERROR : MSG_STATUS_OK};
    node_send(node, req->from, &m);
}

static void node_on_put_replica(node_t *node, const msg_t *m)
{
    int rc;
    if (m->hint_for[0] && strcmp(m->hint_for, node->cfg.id) != 0) {
        versions_t vs = VERSIONS_INIT;
        rc = versions_decode(&vs, m->body, m->body_len) == 0 ? 0 : STORE_ECORRUPT;
        if (rc == 0 && node->cfg.test_break != NODE_BREAK_HINT_DROP) {
            buf_t dk = BUF_INIT;
            slot_data_key(&dk, slot_of_key(m->key, m->key_len), m->key, m->key_len);
            rc = hint_add(node->hints, node_peer_key(m->hint_for), dk.data, dk.len, &vs,
                          node->now_ms);
            node->stats.hints_stored += rc == 0;
            buf_free(&dk);
        }
        versions_free(&vs);
    } else {
        rc = node_merge_encoded(node, m->key, m->key_len, m->body, m->body_len);
    }
    node_ack(node, m, MSG_PUT_ACK, rc);
}

static void node_on_get_replica(node_t *node, const msg_t *m)
{
    buf_t dk = BUF_INIT, val = BUF_INIT;
    slot_data_key(&dk, slot_of_key(m->key, m->key_len), m->key, m->key_len);
    int rc = store_get(node->store, STORE_CF_DATA, dk.data, dk.len, &val);
    msg_t r = {.type = MSG_GET_REPLY, .req_id = m->req_id,
               .status = rc < 0 ? MSG_STATUS_ERROR : rc == 0 ? MSG_STATUS_MISSING : MSG_STATUS_OK,
               .body = (const uint8_t *)val.data, .body_len = rc == 1 ? val.len : 0};
    node_send(node, m->from, &r);
    buf_free(&dk);
    buf_free(&val);
}

static void node_on_hint_ack(node_t *node, const msg_t *m)
{
    if (m->status != MSG_STATUS_OK)
        return;
    buf_t dk = BUF_INIT;
    slot_data_key(&dk, slot_of_key(m->key, m->key_len), m->key, m->key_len);
    if (hint_ack(node->hints, node_peer_key(m->from), dk.data, dk.len, m->req_id) < 0)
        node->stats.store_errors++;
    buf_free(&dk);
}

/* A handed-off key reached every new owner: delete it unless it changed. */
static void node_handoff_done(node_t *node, coord_req_t *req)
{
    buf_t val = BUF_INIT;
    int rc = store_get(node->store, STORE_CF_DATA, req->data_key.data, req->data_key.len, &val);
    if (rc == 1 && hash64(val.data, val.len, 0) == req->sent_hash) {
        versions_t old = VERSIONS_INIT;
        if (versions_decode(&old, val.data, val.len) == 0 &&
            store_del(node->store, STORE_CF_DATA, req->data_key.data, req->data_key.len) == 0) {
            if (merkle_update_key(node->merkle, req->data_key.data, req->data_key.len, &old,
                                  NULL) < 0)
                merkle_invalidate(node->merkle);
            node->stats.handoff_keys++;
            if (!node->deleted) {
                node->deleted = true;
                node_save_generation(node);
            }
        }
        versions_free(&old);
    }
    buf_free(&val);
}

static void node_on_handoff_ack(node_t *node, const msg_t *m)
{
    coord_req_t *req = coord_table_find(&node->reqs, m->req_id);
    if (!req || req->kind != COORD_REQ_HANDOFF)
        return;
    int idx = coord_req_target(req, m->from);
    if (idx < 0 || req->targets[idx].state != COORD_TARGET_WAITING)
        return;
    req->targets[idx].state =
        m->status == MSG_STATUS_OK ? COORD_TARGET_OK : COORD_TARGET_FAILED;
    if (coord_req_count(req, COORD_TARGET_OK) == req->ntargets) {
        node_handoff_done(node, req);
        coord_table_remove(&node->reqs, req);
    }
}

/* A gossip message: the member digest, the ring's epoch and hash, and the
 * full ring only when the sender's changed lately or in one round of
 * NODE_RING_EVERY (the ring is the costly part of gossip). */
static void node_gossip_encode(node_t *node, bool with_ring, buf_t *out)
{
    member_encode(node->view, node->now_ms, out);
    buf_put_u64be(out, ring_epoch(node->ring));
    buf_put_u64be(out, ring_hash(node->ring));
    buf_append_byte(out, with_ring ? 1 : 0);
    if (with_ring)
        ring_encode(node->ring, out);
}

static void node_gossip_send(node_t *node, const char *to, bool with_ring)
{
    buf_t body = BUF_INIT;
    node_gossip_encode(node, with_ring, &body);
    msg_t m = {.type = MSG_GOSSIP, .body = (const uint8_t *)body.data, .body_len = body.len};
    node_send(node, to, &m);
    buf_free(&body);
}

/* Reads the ring part of a gossip message; adopts the ring if it wins. */
static bool node_gossip_ring_in(node_t *node, const msg_t *m, cursor_t *c)
{
    uint64_t epoch, hash;
    uint8_t has_ring;
    if (!cursor_u64be(c, &epoch) || !cursor_u64be(c, &hash) || !cursor_u8(c, &has_ring) ||
        has_ring > 1)
        return false;
    bool same = epoch == ring_epoch(node->ring) && hash == ring_hash(node->ring);
    if (!has_ring) {
        if (!same) /* the sender holds another ring: show it ours */
            node_gossip_send(node, m->from, true);
        return cursor_left(c) == 0;
    }
    node->ring_heard = true;
    if (same)
        return true;
    ring_t *ring = ring_decode(c);
    if (!ring || cursor_left(c) != 0) {
        ring_free(ring);
        return false;
    }
    if (ring_compare(ring, node->ring) > 0)
        node_set_ring(node, ring);
    else
        ring_free(ring);
    return true;
}

static void node_gossip_in(node_t *node, const msg_t *m)
{
    cursor_t c;
    cursor_init(&c, m->body, m->body_len);
    if (member_merge(node->view, &c, node->now_ms) < 0 || !node_gossip_ring_in(node, m, &c)) {
        node->stats.bad_messages++;
        return;
    }
    node_sync_ring(node);
}

static void node_ae_flush(node_t *node, ae_outbox_t *out)
{
    for (uint32_t i = 0; i < out->len; i++) {
        char id[NODE_ID_SIZE];
        if (!node_peer_id(node, out->items[i].peer, id))
            continue;
        msg_t m = {.type = MSG_AE, .body = (const uint8_t *)out->items[i].bytes.data,
                   .body_len = out->items[i].bytes.len};
        node_send(node, id, &m);
    }
    ae_outbox_clear(out);
}

static void node_on_ae(node_t *node, const msg_t *m)
{
    ae_outbox_t out = AE_OUTBOX_INIT;
    ae_handle_message(node->ae, node->now_ms, node_peer_key(m->from), m->body, m->body_len,
                      &out);
    node_ae_flush(node, &out);
    ae_outbox_free(&out);
}

void node_bus_message(node_t *node, uint64_t now_ms, const char *from, const void *bytes,
                      size_t len)
{
    node->now_ms = now_ms;
    msg_t m;
    if (!msg_decode(&m, bytes, len) || strcmp(m.from, from) != 0) {
        node->stats.bad_messages++;
        return;
    }
    switch (m.type) {
    case MSG_PUT_REPLICA: node_on_put_replica(node, &m); break;
    case MSG_PUT_ACK: node_on_put_ack(node, &m); break;
    case MSG_GET_REPLICA: node_on_get_replica(node, &m); break;
    case MSG_GET_REPLY: node_on_get_reply(node, &m); break;
    case MSG_FORWARD: node_on_forward(node, &m); break;
    case MSG_FORWARD_REPLY: node_on_forward_reply(node, &m); break;
    case MSG_HINT_DELIVER:
        node_ack(node, &m, MSG_HINT_ACK,
                 node_merge_encoded(node, m.key, m.key_len, m.body, m.body_len));
        break;
    case MSG_HINT_ACK: node_on_hint_ack(node, &m); break;
    case MSG_GOSSIP: node_gossip_in(node, &m); break;
    case MSG_AE: node_on_ae(node, &m); break;
    case MSG_HANDOFF:
        node_ack(node, &m, MSG_HANDOFF_ACK,
                 node_merge_encoded(node, m.key, m.key_len, m.body, m.body_len));
        break;
    case MSG_HANDOFF_ACK: node_on_handoff_ack(node, &m); break;
    default: node->stats.bad_messages++; break;
    }
}

/* ---- timers -------------------------------------------------------------- */

/* Handles one request whose deadline (or read-repair window) passed. */
static void node_req_expired(node_t *node, coord_req_t *req)
{
    switch (req->kind) {
    case COORD_REQ_PUT:
        node_put_answer_quorum_error(node, req);
        coord_table_remove(&node->reqs, req);
        break;
    case COORD_REQ_GET:
        node_get_progress(node, req);
        break;
    case COORD_REQ_FORWARD:
        node_forward_retry(node, req);
        break;
    case COORD_REQ_HANDOFF:
        coord_table_remove(&node->reqs, req);
        break;
    }
}

static void node_tick_requests(node_t *node)
{
    /* Collect first: handlers add and remove requests. */
    uint64_t *due = NULL;
    size_t ndue = 0;
    for (uint32_t i = 0; i < node->reqs.len; i++) {
        const coord_req_t *r = node->reqs.reqs[i];
        uint64_t at = r->replied ? r->linger_ms : r->deadline_ms;
        if (at <= node->now_ms) {
            due = xrealloc(due, (ndue + 1) * sizeof *due);
            due[ndue++] = r->req_id;
        }
    }
    for (size_t i = 0; i < ndue; i++) {
        coord_req_t *req = coord_table_find(&node->reqs, due[i]);
        if (req)
            node_req_expired(node, req);
    }
    free(due);
}

/* When this node last gossiped to id (0: never), and recording a send. */
static uint64_t *node_gossip_sent(node_t *node, const char *id)
{
    for (size_t i = 0; i < node->nsent; i++) {
        if (strcmp(node->sent[i].id, id) == 0)
            return &node->sent[i].ms;
    }
    if (node->nsent == NODE_SENT_MAX)
        node->nsent = 0; /* ids churned: forget them all, they get gossip now */
    if (node->nsent == node->capsent) {
        node->capsent = node->capsent ? node->capsent * 2 : 16;
        node->sent = xrealloc(node->sent, node->capsent * sizeof *node->sent);
    }
    coord_id_copy(node->sent[node->nsent].id, id);
    node->sent[node->nsent].ms = 0;
    return &node->sent[node->nsent++].ms;
}

static bool node_gossip_picked(char ids[][NODE_ID_SIZE], size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(ids[i], id) == 0)
            return true;
    }
    return false;
}

/* Gossip peers: fanout random ones; plus, as Redis Cluster does, every peer
 * not gossiped to for a quarter of the failure detector's bound (when most
 * nodes are down a random pick can miss a live one long enough to suspect
 * it: the simulator found a write refused that way); plus every node that has
 * left (the random pick skips them) so that it still hears the cluster while
 * it hands its data off. Returns how many ids were written. */
static size_t node_gossip_peers(node_t *node, char ids[][NODE_ID_SIZE], size_t max)
{
    size_t idx[MEMBER_TARGETS_MAX];
    size_t fanout = node->cfg.gossip_fanout;
    fanout = fanout > MEMBER_TARGETS_MAX ? MEMBER_TARGETS_MAX : fanout;
    size_t n = member_pick_targets(node->view, &node->rng, fanout, idx);
    for (size_t i = 0; i < n; i++)
        coord_id_copy(ids[i], member_at(node->view, idx[i])->id);
    uint64_t stale_ms = node->cfg.fd.node_timeout_ms / 4;
    for (size_t i = 0; i < member_count(node->view) && n < max; i++) {
        const member_t *m = member_at(node->view, i);
        if (strcmp(m->id, node->cfg.id) == 0 || node_gossip_picked(ids, n, m->id))
            continue;
        if (m->state == MEMBER_LEFT || *node_gossip_sent(node, m->id) + stale_ms <= node->now_ms)
            coord_id_copy(ids[n++], m->id);
    }
    for (size_t i = 0; i < n; i++)
        *node_gossip_sent(node, ids[i]) = node->now_ms;
    return n;
}

static void node_gossip_round(node_t *node)
{
    member_tick(node->view, node->now_ms);
    node_sync_ring(node);
    char (*ids)[NODE_ID_SIZE] = xcalloc(MEMBER_MAX, NODE_ID_SIZE);
    size_t n = node_gossip_peers(node, ids, MEMBER_MAX);
    bool with_ring = node->now_ms < node->ring_changed_ms + NODE_RING_FRESH_ROUNDS *
                                                                node->cfg.gossip_interval_ms ||
                     pcg32_bounded(&node->rng, NODE_RING_EVERY) == 0;
    for (size_t i = 0; i < n; i++)
        node_gossip_send(node, ids[i], with_ring);
    free(ids);
}

/* Hints for a node that is no longer in the ring go to the key's current
 * replicas instead: stored here when self is one, re-hinted otherwise. */
static void node_rehome_hints(node_t *node, uint64_t target, const hint_batch_t *batch)
{
    for (uint32_t j = 0; j < batch->len; j++) {
        const hint_item_t *it = &batch->items[j];
        versions_t vs = VERSIONS_INIT;
        if (it->key.len < SLOT_KEY_PREFIX_LEN ||
            versions_decode(&vs, it->versions.data, it->versions.len) != 0)
            continue;
        uint16_t slot = (uint16_t)((uint8_t)it->key.data[0] << 8 | (uint8_t)it->key.data[1]);
        char ids[COORD_REPLICAS_MAX][NODE_ID_SIZE];
        size_t len = node_walk(node, slot, node_nrep(node), ids);
        int rc = 0;
        for (size_t i = 0; i < len && rc >= 0; i++) {
            if (strcmp(ids[i], node->cfg.id) == 0)
                rc = node_merge_local(node, &it->key, &vs);
            else
                rc = hint_add(node->hints, node_peer_key(ids[i]), it->key.data, it->key.len, &vs,
                              node->now_ms);
        }
        if (rc >= 0)
            hint_ack(node->hints, target, it->key.data, it->key.len, it->stamp);
        versions_free(&vs);
    }
}

static void node_send_hints(node_t *node, const char *id, const hint_batch_t *batch)
{
    for (uint32_t j = 0; j < batch->len; j++) {
        const hint_item_t *it = &batch->items[j];
        msg_t m = {.type = MSG_HINT_DELIVER, .req_id = it->stamp,
                   .key = (const uint8_t *)it->key.data + SLOT_KEY_PREFIX_LEN,
                   .key_len = it->key.len - SLOT_KEY_PREFIX_LEN,
                   .body = (const uint8_t *)it->versions.data, .body_len = it->versions.len};
        node_send(node, id, &m);
    }
}

static void node_deliver_hints(node_t *node)
{
    uint64_t *targets = xcalloc(HINT_TARGETS_MAX, sizeof *targets);
    uint32_t n = hint_targets(node->hints, targets, HINT_TARGETS_MAX);
    hint_batch_t batch = HINT_BATCH_INIT;
    for (uint32_t i = 0; i < n; i++) {
        char id[NODE_ID_SIZE];
        bool known = node_peer_id(node, targets[i], id);
        bool in_ring = known && ring_node_index(node->ring, id) >= 0;
        if (in_ring && !node_alive(node, id))
            continue;
        if (hint_next_batch(node->hints, targets[i], node->now_ms, &batch) <= 0)
            continue;
        if (in_ring)
            node_send_hints(node, id, &batch);
        else
            node_rehome_hints(node, targets[i], &batch);
    }
    hint_batch_free(&batch);
    free(targets);
}

/* The slots both self and peer replicate (peer NULL: the slots self does). */
static void node_shared_slots(const node_t *node, const char *peer, merkle_slots_t *out)
{
    merkle_slots_clear(out);
    int self = ring_node_index(node->ring, node->cfg.id);
    int other = peer ? ring_node_index(node->ring, peer) : self;
    if (self < 0 || other < 0)
        return;
    for (size_t r = 0; r < node->nranges; r++) {
        const ring_range_t *range = &node->ranges[r];
        bool has_self = false, has_other = false;
        for (size_t i = 0; i < range->count; i++) {
            has_self |= range->nodes[i] == (uint16_t)self;
            has_other |= range->nodes[i] == (uint16_t)other;
        }
        if (has_self && has_other)
            merkle_slots_add_range(out, range->first, range->last);
    }
}

static void node_ae_local_slots(void *arg, merkle_slots_t *out)
{
    node_shared_slots(arg, NULL, out);
}

static void node_ae_round(node_t *node)
{
    size_t idx[MEMBER_TARGETS_MAX];
    size_t n = member_pick_targets(node->view, &node->rng, 3, idx);
    for (size_t i = 0; i < n; i++) {
        char id[NODE_ID_SIZE];
        coord_id_copy(id, member_at(node->view, idx[i])->id);
        if (!node_alive(node, id) || ae_session_active(node->ae, node_peer_key(id)))
            continue;
        merkle_slots_t *shared = xmalloc(sizeof *shared);
        node_shared_slots(node, id, shared);
        ae_outbox_t out = AE_OUTBOX_INIT;
        int rc = merkle_slots_count(shared) > 0
                     ? ae_session_start(node->ae, node->now_ms, node_peer_key(id), shared, &out)
                     : AE_EINVAL;
        node_ae_flush(node, &out);
        ae_outbox_free(&out);
        free(shared);
        if (rc == AE_OK)
            return;
    }
}

/* ---- handoff after ring changes ------------------------------------------ */

typedef struct node_handoff_scan {
    node_t *node;
    size_t found; /* keys seen that must move */
    size_t sent;
} node_handoff_scan_t;

static bool node_handoff_in_flight(const node_t *node, const void *key, size_t len)
{
    for (uint32_t i = 0; i < node->reqs.len; i++) {
        const coord_req_t *r = node->reqs.reqs[i];
        if (r->kind == COORD_REQ_HANDOFF && r->data_key.len == len &&
            memcmp(r->data_key.data, key, len) == 0)
            return true;
    }
    return false;
}

/* Sends one key of a slot this node does not replicate to every node of
 * the slot's preference list. */
static int node_handoff_key(void *arg, const void *key, size_t key_len, const void *val,
                            size_t val_len)
{
    node_handoff_scan_t *s = arg;
    node_t *node = s->node;
    const uint8_t *k = key;
    if (key_len < SLOT_KEY_PREFIX_LEN)
        return 0;
    uint16_t slot = (uint16_t)(k[0] << 8 | k[1]);
    if (node_replicates(node, slot))
        return 0;
    s->found++;
    if (s->sent >= NODE_HANDOFF_BATCH_MAX)
        return 1;
    if (node_handoff_in_flight(node, key, key_len))
        return 0;
    coord_req_t *req = coord_table_add(&node->reqs, COORD_REQ_HANDOFF);
    if (!req)
        return 1;
    s->sent++;
    buf_append(&req->data_key, key, key_len);
    req->sent_hash = hash64(val, val_len, 0);
    req->deadline_ms = node->now_ms + node->cfg.request_timeout_ms;
    char ids[COORD_REPLICAS_MAX][NODE_ID_SIZE];
    size_t len = node_walk(node, slot, node_nrep(node), ids);
    for (size_t i = 0; i < len; i++) {
        coord_req_add_target(req, ids[i], "");
        msg_t m = {.type = MSG_HANDOFF, .req_id = req->req_id,
                   .key = k + SLOT_KEY_PREFIX_LEN, .key_len = key_len - SLOT_KEY_PREFIX_LEN,
                   .body = val, .body_len = val_len};
        node_send(node, ids[i], &m);
    }
    return 0;
}

/* One pass over the data family (only while something may need to move). */
static void node_handoff_round(node_t *node)
{
    node_handoff_scan_t scan = {.node = node};
    if (store_scan(node->store, STORE_CF_DATA, NULL, 0, NULL, 0, node_handoff_key, &scan) < 0) {
        node->stats.store_errors++;
        return;
    }
    node->handoff_pending = scan.found > 0;
}

void node_tick(node_t *node, uint64_t now_ms)
{
    node->now_ms = now_ms;
    node_tick_requests(node);
    if (now_ms >= node->next_gossip_ms) {
        node_gossip_round(node);
        node->next_gossip_ms = now_ms + node->cfg.gossip_interval_ms;
    }
    if (hint_tick(node->hints, now_ms, &node->rng) < 0)
        node->stats.store_errors++;
    node_deliver_hints(node);
    ae_outbox_t out = AE_OUTBOX_INIT;
    ae_tick(node->ae, now_ms, &out);
    node_ae_flush(node, &out);
    ae_outbox_free(&out);
    if (node->cfg.ae_interval_ms && now_ms >= node->next_ae_ms) {
        node_ae_round(node);
        node->next_ae_ms = now_ms + node->cfg.ae_interval_ms;
    }
    if (node->handoff_pending && now_ms >= node->next_handoff_ms) {
        node_handoff_round(node);
        node->next_handoff_ms = now_ms + node->cfg.handoff_interval_ms;
    }
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

uint64_t node_next_deadline(const node_t *node)
{
    uint64_t next = min_u64(node->next_gossip_ms, coord_table_next_deadline(&node->reqs));
    if (node->cfg.ae_interval_ms)
        next = min_u64(next, node->next_ae_ms);
    if (node->handoff_pending)
        next = min_u64(next, node->next_handoff_ms);
    return min_u64(next, ae_next_deadline(node->ae));
}

/* ---- creation and membership --------------------------------------------- */

static bool node_config_valid(const node_config_t *cfg)
{
    return ring_node_id_valid(cfg->id, strnlen(cfg->id, sizeof cfg->id)) && cfg->actor != 0 &&
           cfg->actor < (UINT64_C(1) << (64 - NODE_GENERATION_BITS)) &&
           cfg->n >= 1 && cfg->r >= 1 && cfg->w >= 1 && cfg->weight >= 1 &&
           cfg->weight <= RING_WEIGHT_MAX && cfg->gossip_interval_ms > 0 &&
           cfg->request_timeout_ms > 0 && cfg->handoff_interval_ms > 0;
}

/* A counter kept in the meta family (0 when absent). */
static uint64_t node_load_counter(node_t *node, const char *name)
{
    buf_t val = BUF_INIT;
    uint64_t v = 0;
    if (store_get(node->store, STORE_CF_META, name, strlen(name), &val) == 1) {
        cursor_t c;
        cursor_init(&c, val.data, val.len);
        cursor_u64be(&c, &v);
    }
    buf_free(&val);
    return v;
}

/* Bumps and saves the incarnation kept in the meta family. */
static uint64_t node_next_incarnation(node_t *node)
{
    uint64_t inc = node_load_counter(node, NODE_META_INCARNATION) + 1;
    buf_t val = BUF_INIT;
    buf_put_u64be(&val, inc);
    node_save_meta(node, NODE_META_INCARNATION, &val);
    buf_free(&val);
    return inc;
}

static bool node_load_view(node_t *node)
{
    member_t self;
    memset(&self, 0, sizeof self);
    coord_id_copy(self.id, node->cfg.id);
    snprintf(self.host, sizeof self.host, "%s", node->cfg.host);
    snprintf(self.zone, sizeof self.zone, "%s", node->cfg.zone);
    self.port = node->cfg.port;
    self.bus_port = node->cfg.bus_port;
    self.weight = node->cfg.weight;
    self.incarnation = node_next_incarnation(node);
    node->view = member_view_new(&self, &node->cfg.fd, node->now_ms);
    if (!node->view)
        return false;
    buf_t val = BUF_INIT;
    if (store_get(node->store, STORE_CF_META, NODE_META_VIEW, strlen(NODE_META_VIEW), &val) == 1) {
        cursor_t c;
        cursor_init(&c, val.data, val.len);
        member_merge(node->view, &c, node->now_ms);
    }
    buf_free(&val);
    return true;
}

static void node_load_ring(node_t *node)
{
    buf_t val = BUF_INIT;
    if (store_get(node->store, STORE_CF_META, NODE_META_RING, strlen(NODE_META_RING), &val) == 1) {
        cursor_t c;
        cursor_init(&c, val.data, val.len);
        node->ring = ring_decode(&c);
    }
    buf_free(&val);
    if (!node->ring) {
        /* A lone ring at epoch 0: any ring a peer gossips wins over it. */
        node->ring = ring_new();
        ring_node_t self;
        memset(&self, 0, sizeof self);
        coord_id_copy(self.id, node->cfg.id);
        snprintf(self.zone, sizeof self.zone, "%s", node->cfg.zone);
        self.weight = node->cfg.weight;
        ring_rebalance(node->ring, &self, 1);
        ring_set_epoch(node->ring, 0);
    }
    node->ring_heard = ring_node_count(node->ring) > 1;
    node_ring_derive(node);
}

static bool node_open_modules(node_t *node)
{
    node->hints = hint_new(&node->cfg.hint, node->store);
    node->merkle = merkle_new(node->store);
    if (!node->hints || !node->merkle || hint_load(node->hints, node->now_ms) < 0 ||
        merkle_load(node->merkle, NULL) < 0)
        return false;
    ae_config_t aecfg = node->cfg.ae;
    aecfg.sid_base = pcg32_next64(&node->rng) | 1;
    ae_ops_t ops = {.merge = node_ae_merge, .local_slots = node_ae_local_slots, .arg = node};
    node->ae = ae_new(&aecfg, &ops, node->merkle, node->store);
    return node->ae != NULL;
}

node_t *node_new(const node_config_t *cfg, uint64_t seed, store_t *store, uint64_t now_ms)
{
    if (!node_config_valid(cfg))
        return NULL;
    node_t *node = xcalloc(1, sizeof *node);
    node->cfg = *cfg;
    node->store = store;
    node->now_ms = now_ms;
    pcg32_seed(&node->rng, seed, node_peer_key(cfg->id));
    coord_table_init(&node->reqs);
    node_load_generation(node);
    if (!node_load_view(node)) {
        node_free(node);
        return NULL;
    }
    node_load_ring(node);
    if (!node_open_modules(node)) {
        node_free(node);
        return NULL;
    }
    node->member_count_saved = member_count(node->view);
    node->next_gossip_ms = now_ms + pcg32_bounded(&node->rng, (uint32_t)cfg->gossip_interval_ms);
    node->next_ae_ms = now_ms + cfg->ae_interval_ms +
                       pcg32_bounded(&node->rng, (uint32_t)(cfg->ae_interval_ms + 1));
    node->handoff_pending = true;
    node->next_handoff_ms = now_ms + cfg->handoff_interval_ms;
    return node;
}

void node_free(node_t *node)
{
    if (!node)
        return;
    node_outbox_clear(node);
    free(node->out);
    coord_table_free(&node->reqs);
    ae_free(node->ae);
    merkle_free(node->merkle);
    hint_free(node->hints);
    ring_free(node->ring);
    free(node->ranges);
    free(node->sent);
    member_view_free(node->view);
    free(node);
}

int node_meet(node_t *node, uint64_t now_ms, const member_t *peer)
{
    node->now_ms = now_ms;
    int rc = member_upsert(node->view, peer, now_ms);
    if (rc > 0)
        node_save_view(node);
    return rc;
}

void node_leave(node_t *node, uint64_t now_ms)
{
    node->now_ms = now_ms;
    member_leave(node->view);
    node_sync_ring(node);
}

bool node_forget(node_t *node, uint64_t now_ms, const char *id)
{
    node->now_ms = now_ms;
    if (!member_forget(node->view, id, now_ms))
        return false;
    node_sync_ring(node);
    return true;
}

/* ---- read-only views ----------------------------------------------------- */

const node_config_t *node_config(const node_t *node) { return &node->cfg; }
const ring_t *node_ring(const node_t *node) { return node->ring; }
const member_view_t *node_view(const node_t *node) { return node->view; }
const hint_t *node_hints(const node_t *node) { return node->hints; }
const ae_stats_t *node_ae_stats(const node_t *node) { return ae_stats(node->ae); }
const node_stats_t *node_stats(const node_t *node) { return &node->stats; }
bool node_handoff_pending(const node_t *node) { return node->handoff_pending; }

uint64_t node_merkle_root(const node_t *node, const merkle_slots_t *mask)
{
    return merkle_hash_masked(node->merkle, 0, 0, mask);
}
