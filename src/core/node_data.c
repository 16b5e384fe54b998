/* node_data.c - the data path of a node (see node_int.h): coordinating
 * writes (forwarding to the first reachable preference node, sloppy quorum
 * with hints, W durable acks) and reads (R replies, merge, read repair), the
 * replica side of both, and request timeouts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/node_int.h"
#include "core/slot.h"
#include "core/strop.h"
#include "util/alloc.h"

/* A reused read buffer (node->scratch_*) larger than this is freed after
 * use, so one huge value does not stay allocated. */
#define NODE_SCRATCH_KEEP_BYTES ((size_t)64 * 1024)

static void node_scratch_trim(node_t *node)
{
    if (node->scratch_val.cap > NODE_SCRATCH_KEEP_BYTES)
        buf_free(&node->scratch_val);
    if (node->scratch_key.cap > NODE_SCRATCH_KEEP_BYTES)
        buf_free(&node->scratch_key);
}

/* A GET's reply of one value (copied). */
static void node_reply_value(coord_reply_t *reply, const void *value, size_t len)
{
    reply->strop = STROP_REPLY_VALUE;
    buf_reserve(&reply->value, len + 1); /* data is never NULL, even for "" */
    buf_append(&reply->value, value, len);
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
uint64_t node_actor(const node_t *node)
{
    return node->cfg.actor << NODE_GENERATION_BITS | node->generation;
}

/* Saves (generation, deleted); on failure restores the previous values, so
 * that memory never runs ahead of what a restart would load. */
int node_set_generation(node_t *node, uint64_t generation, bool deleted)
{
    buf_t val = BUF_INIT;
    buf_put_u64be(&val, generation);
    buf_append_byte(&val, deleted ? 1 : 0);
    int rc = node_save_meta(node, NODE_META_GENERATION, &val);
    buf_free(&val);
    if (rc == 0) {
        node->generation = generation;
        node->deleted = deleted;
    }
    return rc;
}

/* Called before a write: a new generation if a key was deleted since.
 * Returns 0, or < 0 when the new generation could not be saved (the write
 * must not happen: after a restart the old generation would come back). The
 * simulator found that one too (a storage fault, then a crash). */
static int node_fresh_actor(node_t *node)
{
    if (!node->deleted)
        return 0;
    uint64_t next = (node->generation + 1) & ((UINT64_C(1) << NODE_GENERATION_BITS) - 1);
    return node_set_generation(node, next, false);
}

/* True when the ring holds this node alone: every slot's extended list is
 * this node, so a write's only target is self and a read's only replica is
 * the local store; the data path then answers without a request in flight. */
static bool node_alone(const node_t *node)
{
    return ring_node_count(node->ring) == 1 &&
           strcmp(ring_node(node->ring, 0)->id, node->cfg.id) == 0;
}

/* Slot's extended list into *ids (allocated for the ring's nodes only, to
 * free); returns its length. */
static size_t node_walk_all(const node_t *node, uint16_t slot, char (**ids)[NODE_ID_SIZE])
{
    size_t n = ring_node_count(node->ring);
    n = n > RING_NODES_MAX ? RING_NODES_MAX : n ? n : 1;
    *ids = xmalloc(n * NODE_ID_SIZE);
    return node_walk(node, slot, n, *ids);
}

/* The first alive node of slot's extended list that tried (may be NULL)
 * has not tried yet, into id (self when there is none). */
static void node_coordinator(const node_t *node, uint16_t slot, const coord_req_t *tried,
                             char id[NODE_ID_SIZE])
{
    char (*ids)[NODE_ID_SIZE];
    size_t len = node_walk_all(node, slot, &ids);
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

bool node_coordinates_write(const node_t *node, const char *key, size_t len)
{
    if (node_alone(node))
        return true;
    if (!node_ready(node) || node->cfg.test_break == NODE_BREAK_NO_FORWARD)
        return false;
    char ids[COORD_REPLICAS_MAX][NODE_ID_SIZE];
    size_t n = node_walk(node, slot_of_key(key, len), node_nrep(node), ids);
    for (size_t i = 0; i < n; i++) /* as node_coordinator, within the first N */
        if (node_alive(node, ids[i]))
            return strcmp(ids[i], node->cfg.id) == 0;
    return false;
}

/* Sloppy quorum: self (already written), every alive preference node, and
 * for each one believed down the next alive node of the extended list,
 * carrying a hint naming it. */
static void node_put_targets(node_t *node, coord_req_t *req, uint16_t slot)
{
    char (*ids)[NODE_ID_SIZE];
    size_t len = node_walk_all(node, slot, &ids);
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

/* Sends the written versions to the other targets; answers at W acks.
 * Takes reply's contents over. */
static void node_put_replicate(node_t *node, const coord_origin_t *origin, const coord_op_t *op,
                               const versions_t *vs, coord_reply_t *reply)
{
    if (node_alone(node)) { /* self is every target and W is met already */
        node_answer(node, origin, reply);
        return;
    }
    size_t key_len;
    const char *key = coord_op_key(op, &key_len);
    coord_req_t *req = coord_table_add(&node->reqs, COORD_REQ_PUT);
    if (!req) {
        node_answer_error(node, origin, "BUSY too many requests in flight");
        return;
    }
    req->origin = *origin;
    coord_reply_move(&req->reply, reply);
    size_t nrep = node_nrep(node);
    req->needed = node->cfg.w < nrep ? node->cfg.w : (uint32_t)nrep;
    if (req->needed == 0 || node->cfg.test_break == NODE_BREAK_ACK_BEFORE_W)
        req->needed = 1;
    req->deadline_ms = node->now_ms + node->cfg.request_timeout_ms;
    node_put_targets(node, req, op->slot);
    buf_t body = BUF_INIT;
    for (uint32_t i = 0; i < req->ntargets; i++) {
        coord_target_t *t = &req->targets[i];
        if (t->state != COORD_TARGET_WAITING)
            continue;
        if (body.len == 0)
            versions_encode(vs, &body); /* once, and only when someone needs it */
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
        sop.value_len_max = node->cfg.value_len_max;
        strop_eval(&cur, node->now_ms, &sop, &res);
        keyspace_note_lookup(node->ks, &sop, &cur, node->now_ms);
        if (res.has_write && res.write.tombstone) /* reclaimed after the grace */
            res.write.expire_at_ms = node->now_ms + node->cfg.tombstone_grace_ms;
        coord_reply_from_strop(reply, &res);
        versions_copy(next, &cur);
        if (res.has_write && node_fresh_actor(node) < 0) {
            buf_append_str(&err, "ERR storage failure");
        } else if (res.has_write) {
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
    slot_data_key(&dk, op->slot, key, key_len);
    versions_t next = VERSIONS_INIT;
    coord_reply_t reply;
    coord_reply_init(&reply);
    node->stats.puts++;
    if (node_put_eval(node, origin, op, &dk, &next, &reply) == 0) {
        if (reply.wrote)
            node_put_replicate(node, origin, op, &next, &reply);
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
void node_route_write(node_t *node, const coord_origin_t *origin, coord_op_t *op)
{
    if (node_alone(node)) {
        node_put_start(node, origin, op);
        return;
    }
    char coord[NODE_ID_SIZE];
    node_coordinator(node, op->slot, NULL, coord);
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
    coord_op_own(&req->op);
    node_forward_send(node, req, coord);
    node->stats.forwarded++;
}

/* A forward timed out: try the next alive coordinator, or coordinate here. */
static void node_forward_retry(node_t *node, coord_req_t *req)
{
    char next[NODE_ID_SIZE];
    node_coordinator(node, req->op.slot, req, next);
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

coord_req_t *node_take_ack(node_t *node, const msg_t *m, enum coord_req_kind kind)
{
    coord_req_t *req = coord_table_find(&node->reqs, m->req_id);
    if (!req || req->kind != kind)
        return NULL;
    int idx = coord_req_target(req, m->from);
    if (idx < 0 || req->targets[idx].state != COORD_TARGET_WAITING)
        return NULL;
    req->targets[idx].state =
        m->status == MSG_STATUS_OK ? COORD_TARGET_OK : COORD_TARGET_FAILED;
    return req;
}

void node_on_put_ack(node_t *node, const msg_t *m)
{
    coord_req_t *req = node_take_ack(node, m, COORD_REQ_PUT);
    if (!req)
        return;
    if (coord_put_quorum(req)) {
        node_answer(node, &req->origin, &req->reply);
        coord_table_remove(&node->reqs, req);
    } else if (coord_req_all_answered(req)) {
        node_put_answer_quorum_error(node, req);
        coord_table_remove(&node->reqs, req);
    }
}

void node_on_forward(node_t *node, const msg_t *m)
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

void node_on_forward_reply(node_t *node, const msg_t *m)
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

/* The answer to read op from the merged replies. take: merged is the caller's to discard,
 * so a reply that lists its siblings takes them over instead of a copy (merged
 * is left empty); otherwise merged is only borrowed. */
static void node_get_reply(node_t *node, const coord_op_t *op, versions_t *merged, bool take,
                           coord_reply_t *reply)
{
    if (op->dyn_get) {
        coord_reply_context(reply, merged);
        return;
    }
    uint32_t live = op->kind == STROP_GET ? versions_live_count(merged, node->now_ms) : 0;
    if (op->kind == STROP_GET && live <= 1) {
        /* GET of one value (or none): the value alone, not a copy of the set. */
        keyspace_note_get(node->ks, live == 1);
        reply->strop = STROP_REPLY_NIL;
        if (live) {
            const version_t *v = versions_live_at(merged, node->now_ms, 0);
            node_reply_value(reply, v->value, v->value_len);
        }
        return;
    }
    strop_op_t sop;
    strop_op_init(&sop, op->kind);
    buf_t err = BUF_INIT;
    if (strop_parse(&sop, op->kind, op->argc, (const char *const *)op->argv, op->argvlen,
                    node->now_ms, &err) == 0) {
        strop_result_t res;
        strop_result_init(&res);
        sop.value_len_max = node->cfg.value_len_max;
        strop_eval(merged, node->now_ms, &sop, &res);
        keyspace_note_lookup(node->ks, &sop, merged, node->now_ms);
        bool move = take && res.reply == STROP_REPLY_VALUES && res.values == merged;
        if (move)
            res.values = NULL; /* taken below, not copied */
        coord_reply_from_strop(reply, &res);
        if (move) {
            reply->values = *merged;
            versions_init(merged);
        }
        strop_result_free(&res);
    } else {
        buf_append_byte(&err, 0);
        coord_reply_error(reply, err.data);
    }
    buf_free(&err);
    strop_op_free(&sop);
}

/* Read repair: sends the merge to every replica that answered with less
 * (skipped, and counted, while the background budget is spent: anti-entropy
 * repairs those replicas later). */
static void node_get_repair(node_t *node, coord_req_t *req)
{
    size_t key_len;
    const char *key = coord_op_key(&req->op, &key_len);
    buf_t body = BUF_INIT, dk = BUF_INIT;
    for (uint32_t i = 0; i < req->ntargets; i++) {
        if (!coord_get_stale(req, (int)i))
            continue;
        bool local = strcmp(req->targets[i].id, node->cfg.id) == 0;
        if (!local && !node_bg_try(node)) {
            node->stats.read_repairs_skipped++;
            continue;
        }
        node->stats.read_repairs++;
        if (local) {
            slot_data_key(&dk, req->op.slot, key, key_len);
            node_merge_local(node, &dk, &req->merged);
            continue;
        }
        if (body.len == 0) /* encoded once, and only for a stale replica */
            versions_encode(&req->merged, &body);
        msg_t m = {.type = MSG_PUT_REPLICA, .key = (const uint8_t *)key, .key_len = key_len,
                   .body = (const uint8_t *)body.data, .body_len = body.len};
        size_t mark = node->out_len;
        node_send(node, req->targets[i].id, &m);
        node_bg_charge(node, NODE_BG_REPAIR, mark, true);
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
            node_get_reply(node, &req->op, &req->merged, false, &reply);
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

/* A GET on a lone node whose key holds at most one version: the value is
 * read straight from the stored bytes (versions_peek_single) into the reply,
 * with no version set, through the node's reused key and value buffers.
 * Returns false, having answered nothing, when the general path must run
 * (siblings, a store error, bytes that do not decode); true after
 * answering and freeing op. */
static bool node_get_alone_value(node_t *node, const coord_origin_t *origin, coord_op_t *op)
{
    if (op->dyn_get || op->kind != STROP_GET)
        return false;
    size_t key_len;
    const char *key = coord_op_key(op, &key_len);
    slot_data_key(&node->scratch_key, op->slot, key, key_len);
    int rc = store_get(node->store, STORE_CF_DATA, node->scratch_key.data, node->scratch_key.len,
                       &node->scratch_val);
    const uint8_t *value = NULL;
    size_t value_len = 0;
    int peek = rc == 1 ? versions_peek_single(node->scratch_val.data, node->scratch_val.len,
                                              node->now_ms, &value, &value_len)
                       : VERSIONS_PEEK_NONE;
    if (rc < 0 || peek < 0 || peek == VERSIONS_PEEK_SEVERAL) {
        node_scratch_trim(node);
        return false;
    }
    node->stats.gets++;
    keyspace_note_get(node->ks, peek == VERSIONS_PEEK_LIVE);
    coord_reply_t reply;
    coord_reply_init(&reply);
    reply.strop = STROP_REPLY_NIL;
    if (peek == VERSIONS_PEEK_LIVE)
        node_reply_value(&reply, value, value_len);
    node_answer(node, origin, &reply);
    coord_reply_free(&reply);
    coord_op_free(op);
    node_scratch_trim(node);
    return true;
}

/* A read on a lone node, answered from the local store as the general path
 * would: one replica (self) and at most one version, so the merge is the
 * read and no repair follows (a failed read: no quorum). Returns false,
 * having only read, when the general path must run (several versions);
 * true after answering and freeing op. */
static bool node_get_alone(node_t *node, const coord_origin_t *origin, coord_op_t *op)
{
    if (!node_alone(node) || node_nrep(node) != 1)
        return false;
    char ids[1][NODE_ID_SIZE];
    if (node_walk(node, op->slot, 1, ids) != 1 || strcmp(ids[0], node->cfg.id) != 0)
        return false;
    if (node_get_alone_value(node, origin, op))
        return true;
    size_t key_len;
    const char *key = coord_op_key(op, &key_len);
    versions_t vs = VERSIONS_INIT;
    buf_t dk = BUF_INIT;
    slot_data_key(&dk, op->slot, key, key_len);
    int rc = node_read(node, &dk, &vs);
    buf_free(&dk);
    bool done = rc < 0 || vs.len <= 1;
    if (done) {
        node->stats.gets++;
        coord_reply_t reply;
        coord_reply_init(&reply);
        if (rc >= 0) {
            node_get_reply(node, op, &vs, true, &reply);
        } else {
            coord_reply_error(&reply, "NOQUORUM read answered by 0 of 1 replicas");
            node->stats.quorum_failures++;
        }
        node_answer(node, origin, &reply);
        coord_reply_free(&reply);
        coord_op_free(op);
    }
    versions_free(&vs);
    return done;
}

/* Asks the preference list for key's versions; takes op over. */
void node_get_start(node_t *node, const coord_origin_t *origin, coord_op_t *op)
{
    if (node_get_alone(node, origin, op))
        return;
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
    uint16_t slot = req->op.slot;
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
            coord_get_take(req, idx, rc < 0 ? COORD_TARGET_FAILED
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
    if (!coord_req_all_answered(req))
        coord_op_own(&req->op); /* it outlives the caller's arguments */
    node_get_progress(node, req);
}

void node_on_get_reply(node_t *node, const msg_t *m)
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
    if (coord_get_take(req, idx, state, &vs))
        node_get_progress(node, req);
    versions_free(&vs);
}

/* ---- replica-side handlers ----------------------------------------------- */

void node_ack(node_t *node, const msg_t *req, enum msg_type type, int rc)
{
    if (req->req_id == 0)
        return;
    msg_t m = {.type = type, .req_id = req->req_id, .key = req->key, .key_len = req->key_len,
               .status = rc < 0 ? MSG_STATUS_ERROR : MSG_STATUS_OK};
    node_send(node, req->from, &m);
}

void node_on_put_replica(node_t *node, const msg_t *m)
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

/* Answers with the stored bytes as they are, read through the node's
 * reused buffers (node_send copies them). */
void node_on_get_replica(node_t *node, const msg_t *m)
{
    buf_t *dk = &node->scratch_key, *val = &node->scratch_val;
    slot_data_key(dk, slot_of_key(m->key, m->key_len), m->key, m->key_len);
    int rc = store_get(node->store, STORE_CF_DATA, dk->data, dk->len, val);
    msg_t r = {.type = MSG_GET_REPLY, .req_id = m->req_id,
               .status = rc < 0 ? MSG_STATUS_ERROR : rc == 0 ? MSG_STATUS_MISSING : MSG_STATUS_OK,
               .body = (const uint8_t *)val->data, .body_len = rc == 1 ? val->len : 0};
    node_send(node, m->from, &r);
    node_scratch_trim(node);
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

void node_tick_requests(node_t *node)
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
