/* node_reap.c - reclaiming tombstones by Dynamo's rule (see node.h): a
 * tombstone past its grace is deleted only once every other node of the
 * key's preference list confirmed that it holds the delete (the tombstone or
 * a descendant, and nothing live) or nothing at all.
 *
 * The preference list is not enough on its own: a node outside it may still
 * hold the key for others (an old owner after a ring change, a node that is
 * leaving) and hand a value the tombstone superseded to the owners after
 * they reclaimed it; the simulator found exactly that. So every other member
 * that is not failed (a node that left, while it is still heard) is asked
 * too, and a node holding hints for a node of the key's preference list
 * (which may carry such a value) does not confirm until they are delivered.
 *
 * The expiry round (node.c) hands each reclaimable set holding a tombstone
 * to node_reap, which starts a check: one REAP_CHECK per peer carrying the
 * stored set. The answers (REAP_ACK) complete it here; node_reap_round
 * times checks out. A node that disagrees merges the checked set as it
 * answers, so the next check can succeed; every check that does not reap
 * backs the key off. */
#include <stdlib.h>
#include <string.h>

#include "core/node_int.h"
#include "core/slot.h"
#include "util/alloc.h"
#include "util/hash.h"

/* ---- the rule ------------------------------------------------------------ */

static bool node_reap_has_tombstone(const versions_t *vs)
{
    for (uint32_t i = 0; i < vs->len; i++) {
        if (vs->items[i].tombstone)
            return true;
    }
    return false;
}

/* True when a version of vs is d itself or descends from it. */
static bool node_reap_dot_held(const versions_t *vs, dot_t d)
{
    for (uint32_t i = 0; i < vs->len; i++) {
        const version_t *v = &vs->items[i];
        if ((v->dot.actor == d.actor && v->dot.counter == d.counter) ||
            vclock_covers(&v->past, d))
            return true;
    }
    return false;
}

/* A replica's answer: held (its set) covers checked (the reaper's) when it
 * holds nothing at all, or nothing live and every tombstone of checked or a
 * descendant of it. */
static bool node_reap_covered(const versions_t *held, const versions_t *checked,
                              uint64_t now_ms)
{
    if (held->len == 0)
        return true;
    if (versions_live_count(held, now_ms) > 0)
        return false;
    for (uint32_t i = 0; i < checked->len; i++) {
        if (checked->items[i].tombstone && !node_reap_dot_held(held, checked->items[i].dot))
            return false;
    }
    return true;
}

/* ---- backoff ------------------------------------------------------------- */

static node_reap_wait_t *node_reap_wait(node_t *node, const buf_t *data_key, uint64_t *hash)
{
    *hash = hash64(data_key->data, data_key->len, 0);
    return &node->reap_waits[*hash % NODE_REAP_WAITS_MAX];
}

/* A check of data_key did not reap: count it and back the key off. */
static void node_reap_defer(node_t *node, const buf_t *data_key)
{
    uint64_t hash;
    node_reap_wait_t *w = node_reap_wait(node, data_key, &hash);
    if (w->key_hash == hash && w->retry_ms != 0)
        w->shift += w->shift < NODE_REAP_BACKOFF_SHIFT_MAX;
    else
        w->shift = 0;
    w->key_hash = hash;
    w->retry_ms = node->now_ms + (node->cfg.request_timeout_ms << w->shift);
    node->stats.tombstone_reaps_deferred++;
}

static bool node_reap_waiting(node_t *node, const buf_t *data_key)
{
    uint64_t hash;
    const node_reap_wait_t *w = node_reap_wait(node, data_key, &hash);
    return w->key_hash == hash && w->retry_ms > node->now_ms;
}

static void node_reap_forget_wait(node_t *node, const buf_t *data_key)
{
    uint64_t hash;
    node_reap_wait_t *w = node_reap_wait(node, data_key, &hash);
    if (w->key_hash == hash)
        memset(w, 0, sizeof *w);
}

/* ---- the reaper's side --------------------------------------------------- */

static void node_reap_release(node_reap_t *r)
{
    buf_free(&r->data_key);
    buf_free(&r->set);
    free(r->peers);
    memset(r, 0, sizeof *r);
}

void node_reap_free(node_t *node)
{
    for (size_t i = 0; i < NODE_REAP_CHECKS_MAX; i++)
        node_reap_release(&node->reaps[i]);
}

static int node_reap_delete(node_t *node, const buf_t *data_key, const versions_t *old)
{
    int rc = node_store_set(node, data_key, old, NULL);
    if (rc == 0) {
        node->stats.tombstones_reaped++;
        node_reap_forget_wait(node, data_key);
    }
    return rc;
}

/* The check in flight for data_key, or else a free entry (NULL: none). */
static node_reap_t *node_reap_slot(node_t *node, const buf_t *data_key, bool *busy)
{
    node_reap_t *free_entry = NULL;
    *busy = false;
    for (size_t i = 0; i < NODE_REAP_CHECKS_MAX; i++) {
        node_reap_t *r = &node->reaps[i];
        if (r->id == 0) {
            free_entry = free_entry ? free_entry : r;
        } else if (r->data_key.len == data_key->len &&
                   memcmp(r->data_key.data, data_key->data, data_key->len) == 0) {
            *busy = true;
            return r;
        }
    }
    return free_entry;
}

/* Sends r's REAP_CHECK to each of its peers. */
static void node_reap_send(node_t *node, const node_reap_t *r)
{
    msg_t m = {.type = MSG_REAP_CHECK, .req_id = r->id,
               .key = (const uint8_t *)r->data_key.data + SLOT_KEY_PREFIX_LEN,
               .key_len = r->data_key.len - SLOT_KEY_PREFIX_LEN,
               .body = (const uint8_t *)r->set.data, .body_len = r->set.len};
    for (uint32_t i = 0; i < r->npeers; i++)
        node_send(node, r->peers[i].id, &m);
}

static uint16_t node_reap_slot_of(const buf_t *data_key)
{
    return (uint16_t)((uint8_t)data_key->data[0] << 8 | (uint8_t)data_key->data[1]);
}

/* slot's preference list (N nodes of the current ring) into ids. */
static size_t node_reap_list(const node_t *node, uint16_t slot,
                             char ids[COORD_REPLICAS_MAX][NODE_ID_SIZE])
{
    return node_walk(node, slot, node_nrep(node), ids);
}

/* True when this node holds hints for a node of slot's preference list:
 * one may carry a value a tombstone of the slot superseded. */
static bool node_reap_hints_pending(const node_t *node, uint16_t slot)
{
    char ids[COORD_REPLICAS_MAX][NODE_ID_SIZE];
    size_t n = node_reap_list(node, slot, ids);
    for (size_t i = 0; i < n; i++) {
        if (hint_pending(node->hints, node_peer_key(ids[i]), NULL) > 0)
            return true;
    }
    return false;
}

/* A member outside the preference list that may hold keys for others: not
 * failed and, when it left, still heard within the failure timeout. */
static bool node_reap_member_asked(const node_t *node, const member_t *m)
{
    if (m->state == MEMBER_FAILED)
        return false;
    return m->state != MEMBER_LEFT || node->now_ms - m->heard_ms <= node->cfg.fd.node_timeout_ms;
}

static void node_reap_add_peer(node_reap_t *r, const char *id)
{
    for (uint32_t i = 0; i < r->npeers; i++) {
        if (strcmp(r->peers[i].id, id) == 0)
            return;
    }
    coord_id_copy(r->peers[r->npeers++].id, id);
}

/* The nodes that must confirm a reap of data_key, into r (see the top of
 * this file). Returns false when a node of the preference list is not
 * alive. */
static bool node_reap_peers(node_t *node, const buf_t *data_key, node_reap_t *r)
{
    char ids[COORD_REPLICAS_MAX][NODE_ID_SIZE];
    size_t n = node_reap_list(node, node_reap_slot_of(data_key), ids);
    size_t members = member_count(node->view);
    bool alive = true;
    r->peers = xcalloc(n + members, sizeof *r->peers);
    r->npeers = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(ids[i], node->cfg.id) == 0)
            continue;
        alive = alive && node_alive(node, ids[i]);
        node_reap_add_peer(r, ids[i]);
    }
    for (size_t i = 0; i < members; i++) {
        const member_t *m = member_at(node->view, i);
        if (strcmp(m->id, node->cfg.id) != 0 && node_reap_member_asked(node, m))
            node_reap_add_peer(r, m->id);
    }
    return alive;
}

/* The expiry round found data_key's stored set old reclaimable: deletes it
 * at once when it holds no tombstone (or no other replica exists), else
 * starts (or waits for) a reap check. Returns 0 when it deleted the key,
 * KEYSPACE_RECLAIM_KEPT when it kept it, or < 0 on a store error. */
int node_reap(node_t *node, const buf_t *data_key, const versions_t *old)
{
    if (!node_reap_has_tombstone(old))
        return node_store_set(node, data_key, old, NULL);
    if (node->cfg.test_break == NODE_BREAK_EARLY_REAP)
        return node_reap_delete(node, data_key, old);
    bool busy;
    node_reap_t *r = node_reap_slot(node, data_key, &busy);
    if (busy || !node_ready(node) || node_reap_waiting(node, data_key))
        return KEYSPACE_RECLAIM_KEPT;
    if (!r || node->reap_started >= NODE_REAP_STARTS_MAX)
        return KEYSPACE_RECLAIM_KEPT; /* a later round starts it */
    node_reap_t probe;
    memset(&probe, 0, sizeof probe);
    bool alive = node_reap_peers(node, data_key, &probe);
    if (probe.npeers == 0) {
        node_reap_release(&probe);
        return node_reap_delete(node, data_key, old);
    }
    if (!alive || node_reap_hints_pending(node, node_reap_slot_of(data_key))) {
        node_reap_release(&probe);
        node_reap_defer(node, data_key);
        return KEYSPACE_RECLAIM_KEPT;
    }
    node->reap_started++;
    *r = probe;
    r->id = node->reap_next_id++;
    buf_append(&r->data_key, data_key->data, data_key->len);
    versions_encode(old, &r->set);
    r->deadline_ms = node->now_ms + node->cfg.request_timeout_ms;
    r->ring_mark = node_ring_mark(node);
    node_reap_send(node, r);
    return KEYSPACE_RECLAIM_KEPT;
}

/* Every peer confirmed: deletes the key if the ring and the stored set are
 * still those that were checked. */
static void node_reap_finish(node_t *node, node_reap_t *r)
{
    versions_t cur = VERSIONS_INIT;
    buf_t enc = BUF_INIT;
    int rc = node_read(node, &r->data_key, &cur);
    if (rc == 1)
        versions_encode(&cur, &enc);
    bool same = rc == 1 && enc.len == r->set.len && memcmp(enc.data, r->set.data, enc.len) == 0;
    if (same && r->ring_mark == node_ring_mark(node))
        node_reap_delete(node, &r->data_key, &cur);
    else if (rc == 1)
        node_reap_defer(node, &r->data_key);
    versions_free(&cur);
    buf_free(&enc);
    node_reap_release(r);
}

void node_on_reap_ack(node_t *node, const msg_t *m)
{
    node_reap_t *r = NULL;
    for (size_t i = 0; i < NODE_REAP_CHECKS_MAX && !r; i++) {
        if (node->reaps[i].id != 0 && node->reaps[i].id == m->req_id)
            r = &node->reaps[i];
    }
    uint32_t peer = 0;
    while (r && peer < r->npeers && strcmp(r->peers[peer].id, m->from) != 0)
        peer++;
    if (!r || peer == r->npeers)
        return; /* late or not asked */
    if (m->status == MSG_STATUS_OK) {
        r->nconfirmed += !r->peers[peer].confirmed; /* duplicates count once */
        r->peers[peer].confirmed = true;
        if (r->nconfirmed == r->npeers)
            node_reap_finish(node, r);
        return;
    }
    /* The replica holds what the tombstone does not cover: learn it (it may
     * be a newer write) and try again later. */
    if (m->status == MSG_STATUS_DISAGREE && m->body_len > 0 &&
        node_merge_encoded(node, m->key, m->key_len, m->body, m->body_len) == STORE_ECORRUPT)
        node->stats.bad_messages++;
    node_reap_defer(node, &r->data_key);
    node_reap_release(r);
}

/* At the start of each expiry round: checks past their deadline are
 * deferred, and the round may start NODE_REAP_STARTS_MAX new ones. */
void node_reap_round(node_t *node)
{
    node->reap_started = 0;
    for (size_t i = 0; i < NODE_REAP_CHECKS_MAX; i++) {
        node_reap_t *r = &node->reaps[i];
        if (r->id != 0 && r->deadline_ms <= node->now_ms) {
            node_reap_defer(node, &r->data_key);
            node_reap_release(r);
        }
    }
}

/* ---- the replica's side -------------------------------------------------- */

/* REAP_CHECK: confirms when what this node holds covers the checked set and
 * it holds no hints for the key's preference list; else answers DISAGREE:
 * with what it holds now, after merging the set (the delete reaches this
 * node, as read repair would bring it), unless only hints held it back. */
void node_on_reap_check(node_t *node, const msg_t *m)
{
    versions_t checked = VERSIONS_INIT, held = VERSIONS_INIT;
    buf_t dk = BUF_INIT, body = BUF_INIT;
    uint8_t status = MSG_STATUS_ERROR;
    slot_data_key(&dk, slot_of_key(m->key, m->key_len), m->key, m->key_len);
    bool valid = versions_decode(&checked, m->body, m->body_len) == VERSIONS_OK;
    int rc = valid ? node_read(node, &dk, &held) : STORE_ECORRUPT;
    node->stats.bad_messages += !valid;
    bool covered = rc >= 0 && node_reap_covered(&held, &checked, node->now_ms);
    if (covered && !node_reap_hints_pending(node, slot_of_key(m->key, m->key_len))) {
        status = MSG_STATUS_OK;
    } else if (covered) {
        status = MSG_STATUS_DISAGREE;
    } else if (rc >= 0 && node_merge_local(node, &dk, &checked) == 0 &&
               node_read(node, &dk, &held) >= 0) {
        status = MSG_STATUS_DISAGREE;
        versions_encode(&held, &body);
    }
    msg_t r = {.type = MSG_REAP_ACK, .req_id = m->req_id, .key = m->key,
               .key_len = m->key_len, .status = status, .body = (const uint8_t *)body.data,
               .body_len = body.len};
    node_send(node, m->from, &r);
    versions_free(&checked);
    versions_free(&held);
    buf_free(&dk);
    buf_free(&body);
}
