/* node.c - one Dynamo node driven by events (see node.h): its lifecycle and
 * outbox, local storage (every data write and delete goes through
 * node_store_set, so the Merkle tree and the keyspace's counts follow;
 * reclaiming and FLUSHALL too), the ring and membership, and the entry points.
 * The data path is in node_data.c, the background mechanisms and timers in
 * node_cluster.c; node_int.h is what they share. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/node_int.h"
#include "core/slot.h"
#include "util/alloc.h"
#include "util/hash.h"

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
    cfg->expire_interval_ms = 100;
    cfg->expire_keys_max = NODE_EXPIRE_KEYS_MAX;
    cfg->tombstone_grace_ms = KEYSPACE_TOMBSTONE_GRACE_MS;
    cfg->value_len_max = VERSIONS_VALUE_MAX;
    cfg->background_bytes_per_sec = NODE_BACKGROUND_BYTES_PER_SEC;
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
bool node_peer_id(const node_t *node, uint64_t key, char id[NODE_ID_SIZE])
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
void node_send(node_t *node, const char *to, msg_t *m)
{
    coord_id_copy(m->from, node->cfg.id);
    node_effect_t *e = node_effect_add(node, NODE_EFFECT_SEND);
    coord_id_copy(e->to, to);
    msg_encode(m, &e->bytes);
}

/* Answers a request's origin: a local client, or the node that forwarded it.
 * Takes reply's contents over (reply is left empty). */
void node_answer(node_t *node, const coord_origin_t *origin, coord_reply_t *reply)
{
    if (origin->from[0] == 0) {
        node_effect_t *e = node_effect_add(node, NODE_EFFECT_REPLY);
        e->client_req_id = origin->client_req_id;
        coord_reply_move(&e->reply, reply);
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

void node_answer_error(node_t *node, const coord_origin_t *origin, const char *text)
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
int node_read(node_t *node, const buf_t *data_key, versions_t *vs)
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

/* Records that a data key is about to be deleted (see node_actor); a
 * delete must not happen when this fails. Returns 0 or < 0. */
static int node_note_delete(node_t *node)
{
    return node->deleted ? 0 : node_set_generation(node, node->generation, true);
}

static int node_store_del(node_t *node, const buf_t *data_key)
{
    int rc = node_note_delete(node);
    return rc < 0 ? rc : store_del(node->store, STORE_CF_DATA, data_key->data, data_key->len);
}

/* The one place the data family changes: stores vs under data_key (vs NULL:
 * deletes the key), where old was (NULL or empty: absent), and updates the
 * Merkle tree and the keyspace's counts. */
int node_store_set(node_t *node, const buf_t *data_key, const versions_t *old,
                          const versions_t *vs)
{
    buf_t val = BUF_INIT;
    if (vs)
        versions_encode(vs, &val);
    int rc = vs ? store_put(node->store, STORE_CF_DATA, data_key->data, data_key->len, val.data,
                            val.len)
                : node_store_del(node, data_key);
    buf_free(&val);
    if (rc == 0 && merkle_update_key(node->merkle, data_key->data, data_key->len, old, vs) < 0)
        merkle_invalidate(node->merkle);
    if (rc == 0)
        keyspace_note_write(node->ks, old, vs, node->now_ms);
    if (rc < 0)
        node->stats.store_errors++;
    uint16_t slot = (uint16_t)((uint8_t)data_key->data[0] << 8 | (uint8_t)data_key->data[1]);
    if (rc == 0 && vs && !node_replicates(node, slot)) {
        /* A key held here for others: hand it off soon. */
        uint64_t soon = node->now_ms + node->cfg.handoff_interval_ms;
        if (!node->handoff_pending || node->next_handoff_ms > soon)
            node->next_handoff_ms = soon;
        node->handoff_pending = true;
        node->handoff_idle = 0;
    }
    return rc;
}

/* keyspace_reclaim_fn: deletes a key the expiry cycle found dead, or keeps
 * a tombstone until its replicas confirmed it (node_reap). */
static int node_reclaim(void *arg, const void *data_key, size_t len, const versions_t *old)
{
    node_t *node = arg;
    buf_t dk = BUF_INIT;
    buf_append(&dk, data_key, len);
    int rc = node_reap(node, &dk, old);
    buf_free(&dk);
    return rc;
}

/* One round of active expiry (node_tick): times reap checks out, then
 * reclaims what the keyspace's cycle finds, through node_reap. */
void node_expire_round(node_t *node)
{
    node_reap_round(node);
    if (keyspace_expire_cycle(node->ks, node->now_ms, node->cfg.expire_keys_max, node_reclaim,
                              node) < 0)
        node->stats.store_errors++;
}

int node_flush(node_t *node)
{
    int rc = node_note_delete(node);
    if (rc == 0)
        rc = keyspace_flush(node->ks);
    if (rc == 0 && merkle_rebuild(node->merkle) < 0)
        merkle_invalidate(node->merkle);
    if (rc < 0)
        node->stats.store_errors++;
    return rc;
}

int node_local_get(node_t *node, const char *key, size_t key_len, coord_reply_t *reply)
{
    buf_t dk = BUF_INIT;
    versions_t vs;
    versions_init(&vs);
    slot_data_key(&dk, slot_of_key(key, key_len), key, key_len);
    int rc = node_read(node, &dk, &vs);
    if (rc >= 0)
        coord_reply_context(reply, &vs);
    versions_free(&vs);
    buf_free(&dk);
    return rc < 0 ? rc : 0;
}

void node_set_value_len_max(node_t *node, uint64_t value_len_max)
{
    node->cfg.value_len_max = value_len_max;
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
int node_merge_local(node_t *node, const buf_t *data_key, const versions_t *incoming)
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

int node_merge_encoded(node_t *node, const uint8_t *key, size_t key_len,
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

size_t node_nrep(const node_t *node)
{
    size_t count = ring_node_count(node->ring);
    size_t n = node->cfg.n < count ? node->cfg.n : count;
    return n > COORD_REPLICAS_MAX ? COORD_REPLICAS_MAX : n;
}

/* The first n ids of slot's extended list into ids; returns how many. */
size_t node_walk(const node_t *node, uint16_t slot, size_t n, char ids[][NODE_ID_SIZE])
{
    uint16_t idx[RING_NODES_MAX];
    size_t len = ring_extended_list(node->ring, slot, n, idx);
    for (size_t i = 0; i < len; i++)
        coord_id_copy(ids[i], ring_node(node->ring, idx[i])->id);
    return len;
}

uint64_t node_ring_mark(const node_t *node)
{
    return node->ring_mark;
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
    node->ring_mark = ring_hash(node->ring) ^ hash64_mix(ring_epoch(node->ring));
}

bool node_alive(const node_t *node, const char *id)
{
    if (strcmp(id, node->cfg.id) == 0)
        return true;
    const member_t *m = member_find(node->view, id);
    return m && m->state == MEMBER_ALIVE;
}

int node_save_meta(node_t *node, const char *name, const buf_t *val)
{
    int rc = store_put(node->store, STORE_CF_META, name, strlen(name), val->data, val->len);
    if (rc < 0)
        node->stats.store_errors++;
    return rc;
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
void node_set_ring(node_t *node, ring_t *ring)
{
    ring_free(node->ring);
    node->ring = ring;
    node_ring_derive(node);
    buf_t b = BUF_INIT;
    ring_encode(ring, &b);
    node_save_meta(node, NODE_META_RING, &b);
    buf_free(&b);
    node->handoff_pending = true;
    node->handoff_idle = 0;
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
bool node_ready(const node_t *node)
{
    return node->ring_heard || member_count(node->view) == 1;
}

/* The leader rebalances when the view's ring members differ from the ring. */
void node_sync_ring(node_t *node)
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

/* ---- entry points: client operations and bus messages -------------------- */

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
    } else if (coord_op_borrow(&op, argc, argv, argvlen, &err) != 0) {
        buf_append_byte(&err, 0);
        node_answer_error(node, &origin, err.data);
    } else if (op.is_read) {
        node_get_start(node, &origin, &op);
    } else {
        node_route_write(node, &origin, &op);
    }
    buf_free(&err);
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
    case MSG_HANDOFF: node_on_handoff(node, &m); break;
    case MSG_HANDOFF_ACK: node_on_handoff_ack(node, &m); break;
    case MSG_REAP_CHECK: node_on_reap_check(node, &m); break;
    case MSG_REAP_ACK: node_on_reap_ack(node, &m); break;
    default: node->stats.bad_messages++; break;
    }
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
/* Reads a meta value into val: 1 found, 0 missing, < 0 on a store error. */
static int node_meta_get(node_t *node, const char *name, buf_t *val)
{
    return store_get(node->store, STORE_CF_META, name, strlen(name), val);
}

/* Bumps and saves the incarnation kept in the meta family; 0 on failure. */
static uint64_t node_next_incarnation(node_t *node)
{
    buf_t val = BUF_INIT;
    uint64_t inc = 0;
    int rc = node_meta_get(node, NODE_META_INCARNATION, &val);
    if (rc == 1) {
        cursor_t c;
        cursor_init(&c, val.data, val.len);
        cursor_u64be(&c, &inc);
    }
    buf_clear(&val);
    buf_put_u64be(&val, ++inc);
    if (rc < 0 || node_save_meta(node, NODE_META_INCARNATION, &val) < 0)
        inc = 0;
    buf_free(&val);
    return inc;
}

/* Every load fails on a store error rather than starting from defaults: a
 * node that forgot its incarnation, generation or ring would do harm. */
static bool node_load_generation(node_t *node)
{
    buf_t val = BUF_INIT;
    int rc = node_meta_get(node, NODE_META_GENERATION, &val);
    if (rc == 1) {
        cursor_t c;
        cursor_init(&c, val.data, val.len);
        uint8_t deleted = 0;
        cursor_u64be(&c, &node->generation);
        cursor_u8(&c, &deleted);
        node->deleted = deleted != 0;
    }
    buf_free(&val);
    return rc >= 0;
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
    if (self.incarnation == 0)
        return false;
    node->view = member_view_new(&self, &node->cfg.fd, node->now_ms);
    if (!node->view)
        return false;
    buf_t val = BUF_INIT;
    int rc = node_meta_get(node, NODE_META_VIEW, &val);
    if (rc == 1) {
        cursor_t c;
        cursor_init(&c, val.data, val.len);
        member_merge(node->view, &c, node->now_ms);
    }
    buf_free(&val);
    return rc >= 0;
}

static bool node_load_ring(node_t *node)
{
    buf_t val = BUF_INIT;
    int rc = node_meta_get(node, NODE_META_RING, &val);
    if (rc == 1) {
        cursor_t c;
        cursor_init(&c, val.data, val.len);
        node->ring = ring_decode(&c);
    }
    buf_free(&val);
    if (rc < 0)
        return false;
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
    return true;
}

static bool node_open_modules(node_t *node)
{
    node->hints = hint_new(&node->cfg.hint, node->store);
    node->merkle = merkle_new(node->store);
    node->ks = keyspace_new(node->store);
    int rc = keyspace_load_counts(node->ks);
    node->stats.store_errors += rc == KEYSPACE_ECORRUPT; /* not counted, kept */
    if (!node->hints || !node->merkle || hint_load(node->hints, node->now_ms) < 0 ||
        merkle_load(node->merkle, NULL) < 0 || (rc < 0 && rc != KEYSPACE_ECORRUPT))
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
    budget_init(&node->budget, cfg->background_bytes_per_sec, now_ms);
    /* Request ids start at a random point, so that a reply addressed to a
     * request of this node's previous life (before a crash) matches nothing
     * in this one. */
    node->reqs.next_id = (pcg32_next64(&node->rng) >> 1) | 1;
    node->reap_next_id = (hash64_mix(node->reqs.next_id) >> 1) | 1; /* keeps the PRNG's draws */
    if (!node_load_generation(node) || !node_load_view(node) || !node_load_ring(node) ||
        !node_open_modules(node)) {
        node_free(node);
        return NULL;
    }
    node->member_count_saved = member_count(node->view);
    node->next_gossip_ms = now_ms + pcg32_bounded(&node->rng, (uint32_t)cfg->gossip_interval_ms);
    node->next_ae_ms = now_ms + cfg->ae_interval_ms +
                       pcg32_bounded(&node->rng, (uint32_t)(cfg->ae_interval_ms + 1));
    node->handoff_pending = true;
    node->next_handoff_ms = now_ms + cfg->handoff_interval_ms;
    node->next_expire_ms = now_ms + cfg->expire_interval_ms;
    return node;
}

void node_free(node_t *node)
{
    if (!node)
        return;
    node_outbox_clear(node);
    free(node->out);
    node_reap_free(node);
    coord_table_free(&node->reqs);
    node_ae_held_free(node);
    ae_free(node->ae);
    merkle_free(node->merkle);
    keyspace_free(node->ks);
    hint_free(node->hints);
    ring_free(node->ring);
    free(node->ranges);
    free(node->sent);
    member_view_free(node->view);
    buf_free(&node->scratch_key);
    buf_free(&node->scratch_val);
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
keyspace_t *node_keyspace(node_t *node) { return node->ks; }

uint64_t node_merkle_root(const node_t *node, const merkle_slots_t *mask)
{
    return merkle_hash_masked(node->merkle, 0, 0, mask);
}
