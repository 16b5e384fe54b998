/* node_int.h - what the files of the node share: the node itself and the
 * functions one file calls in another. Internal to src/core/node*.c; the
 * public interface is node.h.
 *
 *   node.c          lifecycle, outbox, local storage (node_store_set, the
 *                   expiry round, node_flush), ring and membership, the
 *                   entry points (client op, bus message dispatch)
 *   node_data.c     the write path (forwarding, sloppy quorum, W acks), the
 *                   read path (R replies, merge, read repair), replica-side
 *                   handlers, request timeouts
 *   node_cluster.c  gossip, hinted handoff delivery, anti-entropy, handoff
 *                   after ring changes, node_tick and node_next_deadline
 *   node_reap.c     reclaiming tombstones: reap checks to every replica,
 *                   their answers on both sides, backoff */
#ifndef DYNIS_CORE_NODE_INT_H
#define DYNIS_CORE_NODE_INT_H

#include "core/merkle.h"
#include "core/msg.h"
#include "core/node.h"
#include "core/slot.h"
#include "util/pcg.h"

#define NODE_META_RING "ring"
#define NODE_META_VIEW "view"
#define NODE_META_INCARNATION "incarnation"
#define NODE_META_GENERATION "generation"
#define NODE_GENERATION_BITS 24
#define NODE_TOO_MANY_TEXT "ERR too many siblings; resolve them with DYN.GET and DYN.PUT"
#define NODE_NOT_READY_TEXT "CLUSTERDOWN the cluster's ring is not known here yet"
#define NODE_FORWARD_TRIES_MAX 3 /* coordinators a forwarded write tries */
#define NODE_HANDOFF_BACKOFF_SHIFT_MAX 5 /* handoff rounds back off to 32 intervals */
#define NODE_HANDOFF_FULL_DIV 10 /* after a full batch, the next round in 1/10 interval */
#define NODE_LEAVE_ANNOUNCE_ROUNDS 20 /* gossip rounds a finished leave is announced */
#define NODE_SENT_MAX (2 * MEMBER_MAX) /* peers whose last gossip time is kept */
#define NODE_RING_EVERY 8        /* gossip carries the full ring one round in 8 */
#define NODE_RING_FRESH_ROUNDS 20 /* ... and in every round this long after a change */
#define NODE_ID_SIZE (RING_NODE_ID_LEN + 1)
#define NODE_REAP_CHECKS_MAX 64    /* tombstone reap checks in flight */
#define NODE_REAP_STARTS_MAX 16    /* reap checks one expiry round starts */
#define NODE_REAP_WAITS_MAX 1024   /* keys whose reap backoff is remembered */
#define NODE_REAP_BACKOFF_SHIFT_MAX 5 /* backoff up to 32 request timeouts */

/* A tombstone's reap check in flight (node_reap.c). */
typedef struct node_reap_peer {
    char id[NODE_ID_SIZE];
    bool confirmed;
} node_reap_peer_t;

typedef struct node_reap {
    uint64_t id; /* the REAP_CHECKs' req_id; 0: a free entry */
    buf_t data_key;
    buf_t set;   /* the stored set that was checked, encoded */
    uint64_t deadline_ms;
    uint64_t ring_mark;
    node_reap_peer_t *peers; /* owned: the nodes that must confirm */
    uint32_t npeers, nconfirmed;
} node_reap_t;

/* A key's reap backoff, direct-mapped by the key's hash (a collision only
 * forgets a backoff). */
typedef struct node_reap_wait {
    uint64_t key_hash;
    uint64_t retry_ms;
    uint32_t shift;
} node_reap_wait_t;
#define NODE_AE_HELD_MAX AE_SESSIONS_MAX /* anti-entropy messages waiting for the budget */

struct node {
    node_config_t cfg;
    pcg32_t rng;
    store_t *store;
    ring_t *ring;
    member_view_t *view;
    hint_t *hints;
    merkle_t *merkle;
    keyspace_t *ks; /* counts and statistics of the data family */
    ae_t *ae;
    coord_table_t reqs;
    node_effect_t *out;
    size_t out_len, out_cap;
    uint64_t now_ms;
    uint64_t next_gossip_ms, next_ae_ms, next_handoff_ms, next_expire_ms;
    bool handoff_pending;
    uint32_t leave_rounds_left; /* rounds a finished leave is still announced */
    uint16_t handoff_resume_slot; /* where the next handoff round starts scanning */
    uint32_t handoff_idle; /* rounds in a row that handed nothing off */
    /* Handoff progress: what must move, counted by a full pass after each
     * ring change (or when the count ran out while keys remained), less
     * what was handed off since. */
    uint64_t handoff_left;       /* keys */
    uint32_t handoff_slots_left; /* slots with handoff_slot_keys > 0 */
    uint32_t handoff_slot_keys[SLOT_COUNT];
    uint64_t handoff_counted_mark; /* the ring (node_ring_mark) of the count */
    bool handoff_counted;        /* a count is valid for that ring */
    budget_t budget; /* the background budget */
    bool budget_waiting; /* work waits for the budget: tick when it is ready */
    uint32_t bg_turn;    /* which background work goes first this tick */
    struct node_ae_held {
        uint64_t peer;
        buf_t bytes;
        uint64_t until_ms; /* handled by then even if the budget is still spent */
    } *ae_held; /* responders' messages held while the budget is spent (initiator side) */
    size_t n_ae_held;
    bool ring_heard; /* a peer's ring was seen (or loaded): rebalancing is safe */
    uint64_t ring_changed_ms;
    /* Derived from the ring at every change: the runs of slots sharing a
     * preference list, and the slots this node replicates. */
    ring_range_t *ranges;
    size_t nranges;
    merkle_slots_t mine;
    uint64_t ring_mark; /* node_ring_mark */
    struct node_sent {
        char id[NODE_ID_SIZE];
        uint64_t ms;
    } *sent; /* when gossip last went to each peer */
    size_t nsent, capsent;
    uint64_t generation; /* see node_actor */
    bool deleted;        /* a data key was deleted since the generation began */
    size_t member_count_saved;
    node_stats_t stats;
    node_reap_t reaps[NODE_REAP_CHECKS_MAX];
    node_reap_wait_t reap_waits[NODE_REAP_WAITS_MAX];
    uint64_t reap_next_id;
    uint32_t reap_started; /* checks the current expiry round started */
    buf_t scratch_key, scratch_val; /* reads that end within one call (lone-node
                                     * GET, replica GET), reused */
};


/* node.c: outbox, local storage, ring and membership basics. */
bool node_peer_id(const node_t *node, uint64_t key, char id[NODE_ID_SIZE]);
void node_send(node_t *node, const char *to, msg_t *m);
void node_answer(node_t *node, const coord_origin_t *origin, coord_reply_t *reply);
void node_answer_error(node_t *node, const coord_origin_t *origin, const char *text);
int node_read(node_t *node, const buf_t *data_key, versions_t *vs);
int node_store_set(node_t *node, const buf_t *data_key, const versions_t *old,
                   const versions_t *vs);
void node_expire_round(node_t *node);
int node_merge_local(node_t *node, const buf_t *data_key, const versions_t *incoming);
int node_merge_encoded(node_t *node, const uint8_t *key, size_t key_len, const uint8_t *body,
                       size_t body_len);
size_t node_nrep(const node_t *node);
size_t node_walk(const node_t *node, uint16_t slot, size_t n, char ids[][NODE_ID_SIZE]);
bool node_alive(const node_t *node, const char *id);
/* Identifies the node's current ring (content and epoch). */
uint64_t node_ring_mark(const node_t *node);
int node_save_meta(node_t *node, const char *name, const buf_t *val);
void node_set_ring(node_t *node, ring_t *ring);
void node_sync_ring(node_t *node);

/* node_data.c: the write and read paths, replica handlers, request timers. */
uint64_t node_actor(const node_t *node);
int node_set_generation(node_t *node, uint64_t generation, bool deleted);
void node_route_write(node_t *node, const coord_origin_t *origin, coord_op_t *op);
void node_on_put_ack(node_t *node, const msg_t *m);
/* An acknowledgement m for a request of kind: marks its sender's target ok
 * or failed and returns the request, or NULL when there is no such request
 * or the sender was not awaited. */
coord_req_t *node_take_ack(node_t *node, const msg_t *m, enum coord_req_kind kind);
void node_on_forward(node_t *node, const msg_t *m);
void node_on_forward_reply(node_t *node, const msg_t *m);
void node_get_start(node_t *node, const coord_origin_t *origin, coord_op_t *op);
void node_on_get_reply(node_t *node, const msg_t *m);
void node_ack(node_t *node, const msg_t *req, enum msg_type type, int rc);
void node_on_put_replica(node_t *node, const msg_t *m);
void node_on_get_replica(node_t *node, const msg_t *m);
void node_tick_requests(node_t *node);

/* node_reap.c: reclaiming tombstones once every replica confirmed. */
int node_reap(node_t *node, const buf_t *data_key, const versions_t *old);
void node_reap_round(node_t *node);
void node_on_reap_check(node_t *node, const msg_t *m);
void node_on_reap_ack(node_t *node, const msg_t *m);
void node_reap_free(node_t *node);

/* node_cluster.c: gossip, hints, anti-entropy, handoff, node_tick. */
void node_on_hint_ack(node_t *node, const msg_t *m);
void node_on_handoff(node_t *node, const msg_t *m);
void node_on_handoff_ack(node_t *node, const msg_t *m);
void node_gossip_in(node_t *node, const msg_t *m);
void node_on_ae(node_t *node, const msg_t *m);
void node_ae_local_slots(void *arg, merkle_slots_t *out);
void node_ae_held_free(node_t *node);
/* The background budget: may work start now (false counts a deferral and
 * makes the node tick again when the budget is ready), and charging the
 * bytes of the SEND effects added to the outbox since index out_from (owe:
 * work that waited for the budget, which may leave a debt; else work that
 * could not wait, absorbed: budget.h). */
bool node_bg_try(node_t *node);
void node_bg_charge(node_t *node, enum node_bg_kind kind, size_t out_from, bool owe);

#endif
