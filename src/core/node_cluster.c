/* node_cluster.c - what a node does in the background (see node_int.h):
 * gossip (member digest and ring), hinted handoff delivery, anti-entropy
 * sessions, handoff of keys after ring changes, and the timers that drive
 * them (node_tick, node_next_deadline).
 *
 * The background budget (budget.h, node->budget): hint delivery batches,
 * handoff keys, anti-entropy session starts and the initiator's messages
 * wait while it is spent (read repair, in node_data.c, is skipped), and every
 * byte they send is charged. What cannot wait is absorbed (budget.h): a
 * responder's answers (its peer's session would time out), the initiator's
 * messages once held for half the session timeout, and the END of a timed
 * out session. Gossip and the client data path are not background work. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/node_int.h"
#include "core/slot.h"
#include "util/alloc.h"
#include "util/hash.h"

/* ---- the background budget ---------------------------------------------- */

bool node_bg_try(node_t *node)
{
    if (budget_try(&node->budget, node->now_ms))
        return true;
    node->budget_waiting = true;
    return false;
}

void node_bg_charge(node_t *node, enum node_bg_kind kind, size_t out_from, bool owe)
{
    uint64_t bytes = 0;
    for (size_t i = out_from; i < node->out_len; i++) {
        if (node->out[i].kind == NODE_EFFECT_SEND)
            bytes += node->out[i].bytes.len;
    }
    if (owe)
        budget_charge(&node->budget, node->now_ms, bytes);
    else
        budget_absorb(&node->budget, node->now_ms, bytes);
    node->stats.background_bytes[kind] += bytes;
}

void node_set_background_rate(node_t *node, uint64_t now_ms, uint64_t bytes_per_sec)
{
    node->now_ms = now_ms;
    node->cfg.background_bytes_per_sec = bytes_per_sec;
    budget_set_rate(&node->budget, bytes_per_sec, now_ms);
}

const budget_t *node_budget(const node_t *node)
{
    return &node->budget;
}

/* ---- hint and handoff acknowledgements ----------------------------------- */

void node_on_hint_ack(node_t *node, const msg_t *m)
{
    if (m->status != MSG_STATUS_OK)
        return;
    buf_t dk = BUF_INIT;
    slot_data_key(&dk, slot_of_key(m->key, m->key_len), m->key, m->key_len);
    if (hint_ack(node->hints, node_peer_key(m->from), dk.data, dk.len, m->req_id) < 0)
        node->stats.store_errors++;
    buf_free(&dk);
}

/* A key handed to this node. It is taken only when this node replicates the
 * key's slot by its own ring: the sender deletes its copy once every owner
 * acknowledged, and two nodes whose rings disagree would otherwise hand the
 * key to each other and both delete it (the simulator lost a write so, with
 * N = 1 during a join). */
void node_on_handoff(node_t *node, const msg_t *m)
{
    int rc = STORE_EIO;
    if (node_replicates(node, slot_of_key(m->key, m->key_len)))
        rc = node_merge_encoded(node, m->key, m->key_len, m->body, m->body_len);
    node->stats.handoff_received += rc == 0;
    node_ack(node, m, MSG_HANDOFF_ACK, rc);
}

/* A key of slot left this node (handed off): one less to move. */
static void node_handoff_uncount(node_t *node, uint16_t slot)
{
    if (node->handoff_slot_keys[slot] == 0)
        return; /* not counted: written since the count */
    node->handoff_left--;
    if (--node->handoff_slot_keys[slot] == 0)
        node->handoff_slots_left--;
}

/* A handed-off key reached every new owner: delete it unless it changed. */
static void node_handoff_done(node_t *node, coord_req_t *req)
{
    buf_t val = BUF_INIT;
    int rc = store_get(node->store, STORE_CF_DATA, req->data_key.data, req->data_key.len, &val);
    /* Only if the key did not change and the ring did not either (a ring
     * adopted since may make this node an owner again: two nodes whose rings
     * flipped while they handed a key to each other both deleted it, found
     * by the simulator with N = 1 during a leave). node_store_set records
     * the deletion first: see node_actor. */
    if (rc == 1 && hash64(val.data, val.len, 0) == req->sent_hash &&
        req->ring_mark == node_ring_mark(node)) {
        versions_t old = VERSIONS_INIT;
        if (versions_decode(&old, val.data, val.len) == 0 &&
            node_store_set(node, &req->data_key, &old, NULL) == 0) {
            node->stats.handoff_keys++;
            node_handoff_uncount(node, (uint16_t)((uint8_t)req->data_key.data[0] << 8 |
                                                  (uint8_t)req->data_key.data[1]));
        }
        versions_free(&old);
    }
    buf_free(&val);
}

/* True while a handoff of key (of any key when key is NULL) awaits its
 * acknowledgements. */
static bool node_handoff_in_flight(const node_t *node, const void *key, size_t len)
{
    for (uint32_t i = 0; i < node->reqs.len; i++) {
        const coord_req_t *r = node->reqs.reqs[i];
        if (r->kind == COORD_REQ_HANDOFF &&
            (!key || (r->data_key.len == len && memcmp(r->data_key.data, key, len) == 0)))
            return true;
    }
    return false;
}

void node_on_handoff_ack(node_t *node, const msg_t *m)
{
    coord_req_t *req = node_take_ack(node, m, COORD_REQ_HANDOFF);
    if (!req)
        return;
    if (coord_req_count(req, COORD_TARGET_OK) == req->ntargets) {
        node_handoff_done(node, req);
        coord_table_remove(&node->reqs, req);
        if (!node_handoff_in_flight(node, NULL, 0))
            node->next_handoff_ms = node->now_ms; /* the batch is through: go on */
    }
}

/* ---- gossip and anti-entropy messages ----------------------------------- */

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

void node_gossip_in(node_t *node, const msg_t *m)
{
    cursor_t c;
    cursor_init(&c, m->body, m->body_len);
    if (member_merge(node->view, &c, node->now_ms) < 0 || !node_gossip_ring_in(node, m, &c)) {
        node->stats.bad_messages++;
        return;
    }
    node_sync_ring(node);
}

/* Sends anti-entropy's messages and charges them to the budget (owe: see
 * node_bg_charge). */
static void node_ae_flush(node_t *node, ae_outbox_t *out, bool owe)
{
    size_t mark = node->out_len;
    for (uint32_t i = 0; i < out->len; i++) {
        char id[NODE_ID_SIZE];
        if (!node_peer_id(node, out->items[i].peer, id))
            continue;
        msg_t m = {.type = MSG_AE, .body = (const uint8_t *)out->items[i].bytes.data,
                   .body_len = out->items[i].bytes.len};
        node_send(node, id, &m);
    }
    ae_outbox_clear(out);
    node_bg_charge(node, NODE_BG_AE, mark, owe);
}

static void node_ae_handle(node_t *node, uint64_t peer, const void *bytes, size_t len, bool owe)
{
    ae_outbox_t out = AE_OUTBOX_INIT;
    ae_handle_message(node->ae, node->now_ms, peer, bytes, len, &out);
    node_ae_flush(node, &out, owe);
    ae_outbox_free(&out);
}

/* True when the message comes from a session's responder: this node
 * initiated the session, and its answer is background work that may wait.
 * (A message that does not decode is handed to ae, which drops it.) */
static bool node_ae_from_responder(const void *bytes, size_t len)
{
    ae_msg_t m;
    if (!ae_msg_decode(&m, bytes, len))
        return false;
    bool from_responder = !m.from_initiator;
    ae_msg_free(&m);
    return from_responder;
}

/* Keeps a message until the budget is ready, but no longer than half the
 * session timeout: a session held past its timeout would end, and under a
 * small budget no session would ever complete (the simulator found replicas
 * that never converged so). Dropped when NODE_AE_HELD_MAX wait already: its
 * session times out and a later round starts again. */
static void node_ae_hold(node_t *node, uint64_t peer, const void *bytes, size_t len)
{
    if (node->n_ae_held == NODE_AE_HELD_MAX)
        return;
    if (!node->ae_held)
        node->ae_held = xcalloc(NODE_AE_HELD_MAX, sizeof *node->ae_held);
    struct node_ae_held *h = &node->ae_held[node->n_ae_held++];
    h->peer = peer;
    h->until_ms = node->now_ms + node->cfg.ae.timeout_ms / 2;
    buf_init(&h->bytes);
    buf_append(&h->bytes, bytes, len);
}

void node_on_ae(node_t *node, const msg_t *m)
{
    uint64_t peer = node_peer_key(m->from);
    if (!node_ae_from_responder(m->body, m->body_len))
        node_ae_handle(node, peer, m->body, m->body_len, false);
    else if (node_bg_try(node))
        node_ae_handle(node, peer, m->body, m->body_len, true);
    else
        node_ae_hold(node, peer, m->body, m->body_len);
}

/* Handles the held messages, in arrival order, while the budget allows or
 * their wait is over. */
static void node_ae_release(node_t *node)
{
    if (node->n_ae_held == 0)
        return;
    size_t done = 0;
    while (done < node->n_ae_held) {
        struct node_ae_held *h = &node->ae_held[done];
        bool owe = node->now_ms < h->until_ms;
        if (owe && !node_bg_try(node))
            break;
        done++;
        node_ae_handle(node, h->peer, h->bytes.data, h->bytes.len, owe);
        buf_free(&h->bytes);
    }
    memmove(node->ae_held, node->ae_held + done, (node->n_ae_held - done) * sizeof *node->ae_held);
    node->n_ae_held -= done;
}

void node_ae_held_free(node_t *node)
{
    for (size_t i = 0; i < node->n_ae_held; i++)
        buf_free(&node->ae_held[i].bytes);
    free(node->ae_held);
    node->ae_held = NULL;
    node->n_ae_held = 0;
}

/* ---- gossip rounds, hint delivery, anti-entropy rounds ------------------ */

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

bool node_leave_done(const node_t *node)
{
    const member_t *self = member_find(node->view, node->cfg.id);
    return self && self->state == MEMBER_LEFT && ring_node_index(node->ring, node->cfg.id) < 0 &&
           !node->handoff_pending && hint_stats(node->hints)->pending == 0;
}

/* Drops the nodes that announced their leave done (they hold nothing any
 * more). A node that left but went quiet before that stays: it may still
 * hold keys or hints, and tombstones are only reclaimed once it confirms
 * (node_reap). */
static void node_drop_departed(node_t *node)
{
    for (size_t i = member_count(node->view); i-- > 0;) {
        const member_t *m = member_at(node->view, i);
        if (m->state == MEMBER_LEFT && m->leave_done && strcmp(m->id, node->cfg.id) != 0) {
            char id[NODE_ID_SIZE];
            coord_id_copy(id, m->id);
            member_forget(node->view, id, node->now_ms);
        }
    }
}

/* A leaving node announces when it is done, gossips that for
 * NODE_LEAVE_ANNOUNCE_ROUNDS rounds, then falls silent (the others' forget
 * tombstones spread to any that missed it). Returns false when it is silent. */
static bool node_leave_announce(node_t *node)
{
    if (!node_leave_done(node))
        return true;
    const member_t *self = member_find(node->view, node->cfg.id);
    if (!self->leave_done) {
        member_leave_done(node->view);
        node->leave_rounds_left = NODE_LEAVE_ANNOUNCE_ROUNDS;
    }
    if (node->leave_rounds_left == 0)
        return false;
    node->leave_rounds_left--;
    return true;
}

/* A gossip round. */
static void node_gossip_round(node_t *node)
{
    member_tick(node->view, node->now_ms);
    node_drop_departed(node);
    node_sync_ring(node);
    if (!node_leave_announce(node))
        return;
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

/* A batch of hints for every reachable target that has one due, while
 * the budget allows (rehoming stays local and never waits). */
static void node_deliver_hints(node_t *node)
{
    uint64_t *targets = xcalloc(HINT_TARGETS_MAX, sizeof *targets);
    uint32_t n = hint_targets(node->hints, targets, HINT_TARGETS_MAX);
    hint_batch_t batch = HINT_BATCH_INIT;
    bool spent = false;
    for (uint32_t i = 0; i < n; i++) {
        char id[NODE_ID_SIZE];
        bool known = node_peer_id(node, targets[i], id);
        bool in_ring = known && ring_node_index(node->ring, id) >= 0;
        if (in_ring && (spent || !node_alive(node, id)))
            continue;
        if (in_ring && !node_bg_try(node)) {
            spent = true;
            continue;
        }
        if (hint_next_batch(node->hints, targets[i], node->now_ms, &batch) <= 0)
            continue;
        size_t mark = node->out_len;
        if (in_ring)
            node_send_hints(node, id, &batch);
        else
            node_rehome_hints(node, targets[i], &batch);
        node_bg_charge(node, NODE_BG_HINTS, mark, true);
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

void node_ae_local_slots(void *arg, merkle_slots_t *out)
{
    node_shared_slots(arg, NULL, out);
}

/* Starts one anti-entropy session with a random live peer that shares
 * slots with this node. */
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
        node_ae_flush(node, &out, true);
        ae_outbox_free(&out);
        free(shared);
        if (rc == AE_OK)
            return;
    }
}

/* ---- handoff after ring changes ------------------------------------------ */

typedef struct node_handoff_scan {
    node_t *node;
    bool count;       /* a full pass that counts what must move */
    uint64_t found;   /* keys seen that must move */
    size_t sent;
    bool sending;     /* false once the batch is full or the budget spent */
    bool deferred;    /* the budget stopped the sending */
} node_handoff_scan_t;


/* Sends one key to every node of its slot's preference list. */
static void node_handoff_send(node_t *node, coord_req_t *req, uint16_t slot, const uint8_t *k,
                              size_t key_len, const void *val, size_t val_len)
{
    buf_append(&req->data_key, k, key_len);
    req->sent_hash = hash64(val, val_len, 0);
    req->ring_mark = node_ring_mark(node);
    req->deadline_ms = node->now_ms + node->cfg.request_timeout_ms;
    char ids[COORD_REPLICAS_MAX][NODE_ID_SIZE];
    size_t len = node_walk(node, slot, node_nrep(node), ids);
    size_t mark = node->out_len;
    for (size_t i = 0; i < len; i++) {
        coord_req_add_target(req, ids[i], "");
        msg_t m = {.type = MSG_HANDOFF, .req_id = req->req_id,
                   .key = k + SLOT_KEY_PREFIX_LEN, .key_len = key_len - SLOT_KEY_PREFIX_LEN,
                   .body = val, .body_len = val_len};
        node_send(node, ids[i], &m);
    }
    node_bg_charge(node, NODE_BG_HANDOFF, mark, true);
    node->stats.handoff_sent++;
}

/* A key of a slot this node does not replicate (the scan visits only
 * those): counted, and sent while the round may still send. A pass that
 * does not count stops at the first key it cannot send. */
static int node_handoff_key(void *arg, const void *key, size_t key_len, const void *val,
                            size_t val_len)
{
    node_handoff_scan_t *s = arg;
    node_t *node = s->node;
    const uint8_t *k = key;
    if (key_len < SLOT_KEY_PREFIX_LEN)
        return 0;
    uint16_t slot = (uint16_t)(k[0] << 8 | k[1]);
    s->found++;
    if (s->count && node->handoff_slot_keys[slot]++ == 0)
        node->handoff_slots_left++;
    if (s->sending && !node_handoff_in_flight(node, key, key_len)) {
        coord_req_t *req = NULL;
        if (s->sent < NODE_HANDOFF_BATCH_MAX && node_bg_try(node))
            req = coord_table_add(&node->reqs, COORD_REQ_HANDOFF);
        else
            s->deferred = s->sent < NODE_HANDOFF_BATCH_MAX;
        s->sending = req != NULL;
        if (req) {
            s->sent++;
            node_handoff_send(node, req, slot, k, key_len, val, val_len);
        }
    }
    return !s->count && !s->sending;
}

/* Scans the keys of slots first..last (inclusive). */
static int node_handoff_scan_slots(node_handoff_scan_t *scan, uint32_t first, uint32_t last)
{
    uint8_t start[SLOT_KEY_PREFIX_LEN] = {(uint8_t)(first >> 8), (uint8_t)first};
    uint8_t end[SLOT_KEY_PREFIX_LEN] = {(uint8_t)((last + 1) >> 8), (uint8_t)(last + 1)};
    bool to_end = last + 1 == SLOT_COUNT;
    return store_scan(scan->node->store, STORE_CF_DATA, start, sizeof start, to_end ? NULL : end,
                      to_end ? 0 : sizeof end, node_handoff_key, scan);
}

/* Visits the runs of slots this node does not replicate, from the slot
 * where the last round stopped (so that no round scans again over the keys
 * handed off and deleted before it) around the ring, until the scan stops.
 * Returns 0 or a negative store code. */
static int node_handoff_scan_runs(node_handoff_scan_t *scan)
{
    node_t *node = scan->node;
    uint32_t start = node->handoff_resume_slot;
    int rc = 0;
    for (uint32_t i = 0; i < SLOT_COUNT && rc >= 0; i++) {
        uint32_t slot = (start + i) % SLOT_COUNT;
        if (node_replicates(node, (uint16_t)slot))
            continue;
        uint32_t last = slot; /* the run ends at the ring's end or the pass's */
        while (last + 1 < SLOT_COUNT && i + (last - slot) + 1 < SLOT_COUNT &&
               !node_replicates(node, (uint16_t)(last + 1)))
            last++;
        rc = node_handoff_scan_slots(scan, slot, last);
        if (!scan->count && !scan->sending) {
            node->handoff_resume_slot = (uint16_t)slot;
            break;
        }
        i += last - slot;
    }
    return rc;
}

/* Starts a counting pass: the counts start from zero. */
static void node_handoff_count_begin(node_t *node)
{
    memset(node->handoff_slot_keys, 0, sizeof node->handoff_slot_keys);
    node->handoff_slots_left = 0;
    node->handoff_left = 0;
}

/* One round (only while something may need to move): sends up to
 * NODE_HANDOFF_BATCH_MAX keys while the budget allows, counting everything
 * that must move after a ring change. Returns when the next round is due:
 * when the budget is ready if it stopped the round, soon after a full
 * batch, else at the interval (backing off while nothing could be sent). */
static uint64_t node_handoff_round(node_t *node)
{
    if (!node_bg_try(node))
        return budget_ready_ms(&node->budget);
    node_handoff_scan_t scan = {.node = node, .sending = true};
    scan.count = !node->handoff_counted || node->handoff_counted_mark != node_ring_mark(node);
    if (scan.count)
        node_handoff_count_begin(node);
    if (node_handoff_scan_runs(&scan) < 0) {
        node->stats.store_errors++;
        node->handoff_counted = false;
        return node->now_ms + node->cfg.handoff_interval_ms;
    }
    node->handoff_pending = scan.found > 0;
    if (scan.count) {
        node->handoff_left = scan.found;
        node->handoff_counted_mark = node_ring_mark(node);
    }
    /* Keys written since the count: count again next round. */
    node->handoff_counted = node->handoff_left > 0 || scan.found == 0;
    if (scan.deferred)
        return budget_ready_ms(&node->budget);
    node->handoff_idle = scan.sent > 0 ? 0 : node->handoff_idle + 1;
    if (scan.sent == NODE_HANDOFF_BATCH_MAX) /* more to send: the budget sets the pace */
        return node->now_ms + 1 + node->cfg.handoff_interval_ms / NODE_HANDOFF_FULL_DIV;
    /* At the interval while keys move, backing off (up to
     * NODE_HANDOFF_BACKOFF_SHIFT_MAX doublings) while they wait on
     * unreachable owners. */
    uint32_t shift = node->handoff_idle < NODE_HANDOFF_BACKOFF_SHIFT_MAX
                         ? node->handoff_idle
                         : NODE_HANDOFF_BACKOFF_SHIFT_MAX;
    return node->now_ms + (node->cfg.handoff_interval_ms << shift);
}

uint64_t node_handoff_left(const node_t *node, uint32_t *slots_out)
{
    *slots_out = node->handoff_pending ? node->handoff_slots_left : 0;
    return node->handoff_pending ? node->handoff_left : 0;
}

/* ---- the timers ---------------------------------------------------------- */

static void node_tick_ae(node_t *node)
{
    node_ae_release(node);
    if (!node->cfg.ae_interval_ms || node->now_ms < node->next_ae_ms)
        return;
    if (node_bg_try(node)) {
        node_ae_round(node);
        node->next_ae_ms = node->now_ms + node->cfg.ae_interval_ms;
    } else {
        node->next_ae_ms = budget_ready_ms(&node->budget);
    }
}

static void node_tick_handoff(node_t *node)
{
    if (node->handoff_pending && node->now_ms >= node->next_handoff_ms)
        node->next_handoff_ms = node_handoff_round(node);
}

/* The work that waits for the budget, each tick in a turn that rotates: the
 * first in line takes the tokens that came back, and a fixed order let
 * anti-entropy starve a handoff under a small budget in the simulator. */
static void node_tick_background(node_t *node)
{
    static void (*const work[])(node_t *) = {node_deliver_hints, node_tick_ae,
                                              node_tick_handoff};
    const uint32_t count = sizeof work / sizeof work[0];
    for (uint32_t i = 0; i < count; i++)
        work[(node->bg_turn + i) % count](node);
    node->bg_turn = (node->bg_turn + 1) % count;
}

void node_tick(node_t *node, uint64_t now_ms)
{
    node->now_ms = now_ms;
    node->budget_waiting = false;
    node_tick_requests(node);
    if (now_ms >= node->next_gossip_ms) {
        node_gossip_round(node);
        node->next_gossip_ms = now_ms + node->cfg.gossip_interval_ms;
    }
    if (hint_tick(node->hints, now_ms, &node->rng) < 0)
        node->stats.store_errors++;
    ae_outbox_t out = AE_OUTBOX_INIT;
    ae_tick(node->ae, now_ms, &out);
    node_ae_flush(node, &out, false);
    ae_outbox_free(&out);
    node_tick_background(node);
    if (node->cfg.expire_interval_ms && now_ms >= node->next_expire_ms) {
        node_expire_round(node);
        node->next_expire_ms = now_ms + node->cfg.expire_interval_ms;
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
    if (node->cfg.expire_interval_ms)
        next = min_u64(next, node->next_expire_ms);
    if (node->budget_waiting || node->n_ae_held > 0)
        next = min_u64(next, budget_ready_ms(&node->budget));
    if (node->n_ae_held > 0)
        next = min_u64(next, node->ae_held[0].until_ms);
    return min_u64(next, ae_next_deadline(node->ae));
}
