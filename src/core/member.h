/* member.h - the gossip view: every node this node knows, and their liveness.
 *
 * An entry holds what the node itself announces (address, weight, zone,
 * incarnation, heartbeat, whether it has left) and what this node concludes
 * locally (state alive/suspect/failed, the local time its heartbeat last
 * advanced). Every gossip round the owner bumps its own heartbeat
 * (member_tick) and sends its digest (member_encode) to a few random peers
 * (member_pick_targets); a receiver merges it (member_merge): for each node,
 * the entry with the higher (incarnation, heartbeat) wins, so the node's own
 * latest word (address, weight, zone, left) spreads, and an advance counts as
 * a heartbeat for the view's failure detector (fd.h). member_tick also turns
 * the detector's verdicts into states.
 *
 * A node is never dropped without an explicit member_forget (CLUSTER FORGET).
 * A forget leaves a tombstone for MEMBER_FORGET_TTL_MS (Redis's 60 s
 * blacklist): gossip about that id is ignored until it expires. Tombstones
 * travel in the digest with their remaining time, so one FORGET reaches the
 * whole cluster without ever being extended.
 *
 * Entries are kept sorted by id; an index (< member_count) is valid until the
 * next member_merge, member_upsert or member_forget.
 *
 * Pure: time comes in as now_ms, randomness from the caller's pcg32_t.
 * Ownership: member_view_new returns a view the caller frees with
 * member_view_free; the view owns its failure detector. */
#ifndef DYNIS_CORE_MEMBER_H
#define DYNIS_CORE_MEMBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/fd.h"
#include "core/ring.h"
#include "util/buf.h"
#include "util/pcg.h"

#define MEMBER_MAX RING_NODES_MAX
#define MEMBER_TOMBSTONES_MAX RING_NODES_MAX
#define MEMBER_HOST_LEN_MAX 255
#define MEMBER_FORGET_TTL_MS 60000
#define MEMBER_TARGETS_MAX 16 /* k bound for member_pick_targets */

typedef enum member_state {
    MEMBER_ALIVE,
    MEMBER_SUSPECT,
    MEMBER_FAILED,
    MEMBER_LEFT /* announced by the node itself; sticky until it rejoins */
} member_state_t;

typedef struct member {
    char id[RING_NODE_ID_LEN + 1];
    char host[MEMBER_HOST_LEN_MAX + 1];
    uint16_t port;     /* client port */
    uint16_t bus_port;
    uint32_t weight;   /* 1..RING_WEIGHT_MAX */
    char zone[RING_ZONE_LEN_MAX + 1];
    uint64_t incarnation; /* bumped by the node on every restart */
    uint64_t heartbeat;   /* bumped by the node every gossip round */
    member_state_t state;
    bool leave_done;      /* left, and handed everything off: may be dropped */
    uint64_t heard_ms;    /* local time the heartbeat last advanced */
} member_t;

typedef struct member_view member_view_t;

/* A view holding only self (state alive, heard at now_ms). self->id, weight,
 * zone and host must be valid; fd_cfg configures the failure detector.
 * Returns NULL when either is invalid. */
member_view_t *member_view_new(const member_t *self, const fd_config_t *fd_cfg, uint64_t now_ms);
void member_view_free(member_view_t *view);

size_t member_count(const member_view_t *view);
/* Borrowed; valid until the view changes. */
const member_t *member_at(const member_view_t *view, size_t idx);
/* The entry with id, or NULL. */
const member_t *member_find(const member_view_t *view, const char *id);
/* This node's own entry, mutable (address, weight, zone): changes spread with
 * the next heartbeat. */
member_t *member_self(member_view_t *view);
/* The view's failure detector (for phi figures), borrowed. */
const fd_t *member_fd(const member_view_t *view);

/* One gossip round: bumps self's heartbeat and re-evaluates every other
 * non-left node with the failure detector. Returns how many states changed. */
size_t member_tick(member_view_t *view, uint64_t now_ms);
/* Announces that this node leaves (state left, heartbeat bumped). */
void member_leave(member_view_t *view);
/* Announces that this node, having left, handed off everything: the others
 * may drop it from their views (heartbeat bumped). */
void member_leave_done(member_view_t *view);

/* Applies m as a merge applies one gossiped entry (CLUSTER MEET's answer):
 * inserted when unknown, replacing the entry when its (incarnation,
 * heartbeat) is higher; only the announced fields and "left" are taken from
 * m (state otherwise alive, heard at now_ms). Returns 1 when the view
 * changed, 0 when not (not newer, or tombstoned; m about self bumps self past
 * it instead), -1 when m is invalid or the view is full. m is copied. */
int member_upsert(member_view_t *view, const member_t *m, uint64_t now_ms);
/* Drops id and tombstones it for MEMBER_FORGET_TTL_MS (the view's detector
 * forgets it too). Returns false, changing nothing, when id is self or not in
 * the view. */
bool member_forget(member_view_t *view, const char *id, uint64_t now_ms);
/* True while id is tombstoned. */
bool member_forgotten(const member_view_t *view, const char *id, uint64_t now_ms);

/* Appends the digest (every entry's announced fields, live tombstones with
 * their remaining time) to out. */
void member_encode(const member_view_t *view, uint64_t now_ms, buf_t *out);
/* Reads one digest from c (fully validated before anything is applied) and
 * merges it. Returns the number of entries that changed (>= 0), or -1 with
 * c->error set on malformed input (the view is then untouched). */
int member_merge(member_view_t *view, cursor_t *c, uint64_t now_ms);

/* Picks up to k (<= MEMBER_TARGETS_MAX) distinct random peers other than self
 * and left nodes (failed ones included, so their return is seen); writes their
 * indices to out and returns how many. */
size_t member_pick_targets(const member_view_t *view, pcg32_t *rng, size_t k, size_t *out);

/* Fills out (room for MEMBER_MAX) with the ring members: every node not
 * left, failed ones included (a failure is transient, DESIGN.md section 1).
 * Returns how many. */
size_t member_ring_nodes(const member_view_t *view, ring_node_t *out);

const char *member_state_name(member_state_t state);

#endif
