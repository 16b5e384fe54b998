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
 *                   after ring changes, node_tick and node_next_deadline */
#ifndef DYNIS_CORE_NODE_INT_H
#define DYNIS_CORE_NODE_INT_H

#include "core/merkle.h"
#include "core/msg.h"
#include "core/node.h"
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
    keyspace_t *ks; /* counts and statistics of the data family */
    ae_t *ae;
    coord_table_t reqs;
    node_effect_t *out;
    size_t out_len, out_cap;
    uint64_t now_ms;
    uint64_t next_gossip_ms, next_ae_ms, next_handoff_ms, next_expire_ms;
    bool handoff_pending;
    uint32_t handoff_idle; /* rounds in a row that handed nothing off */
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
bool node_ready(const node_t *node);
void node_sync_ring(node_t *node);

/* node_data.c: the write and read paths, replica handlers, request timers. */
uint64_t node_actor(const node_t *node);
int node_set_generation(node_t *node, uint64_t generation, bool deleted);
void node_route_write(node_t *node, const coord_origin_t *origin, coord_op_t *op);
void node_on_put_ack(node_t *node, const msg_t *m);
void node_on_forward(node_t *node, const msg_t *m);
void node_on_forward_reply(node_t *node, const msg_t *m);
void node_get_start(node_t *node, const coord_origin_t *origin, coord_op_t *op);
void node_on_get_reply(node_t *node, const msg_t *m);
void node_ack(node_t *node, const msg_t *req, enum msg_type type, int rc);
void node_on_put_replica(node_t *node, const msg_t *m);
void node_on_get_replica(node_t *node, const msg_t *m);
void node_tick_requests(node_t *node);

/* node_cluster.c: gossip, hints, anti-entropy, handoff, node_tick. */
void node_on_hint_ack(node_t *node, const msg_t *m);
void node_on_handoff(node_t *node, const msg_t *m);
void node_on_handoff_ack(node_t *node, const msg_t *m);
void node_gossip_in(node_t *node, const msg_t *m);
void node_on_ae(node_t *node, const msg_t *m);
void node_ae_local_slots(void *arg, merkle_slots_t *out);

#endif
