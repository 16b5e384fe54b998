/* ring.h - the consistent-hashing ring: slot -> owner node, preference lists.
 *
 * The ring splits the key space into SLOT_COUNT equal slots (slot.h) and
 * gives each slot one owner. Nodes are kept in a compact table sorted by node
 * id; a node index (uint16_t) is a position in that table and stays valid
 * until the next ring_rebalance or ring replacement (map back to ids with
 * ring_node when keeping them longer).
 *
 * Claim (ring_rebalance): slots change hands in chunks of RING_CHUNK_SLOTS
 * aligned slots (RING_CHUNK_COUNT chunks; finer only for an owner table not
 * made by this claim, whose mixed chunks are split, never merged). Each node
 * owns a share of the chunks proportional to its weight (largest-remainder
 * rounding), so every node is within one chunk of its exact share; with
 * RING_CHUNK_COUNT >= 2 * RING_NODES_MAX every node weighing at least half
 * the average owns a chunk (lighter ones may own none). On a join, leave or weight
 * change only over-quota nodes give up chunks, picked evenly spread over
 * their holdings, and the freed chunks are dealt to under-quota nodes
 * interleaved (smooth weighted round robin), so a new node takes chunks
 * spread around the ring and replica load stays even; a step moves the slots
 * the changed node gains or loses plus at most one chunk per other node. A
 * fresh ring is striped chunk by chunk too: contiguous blocks per node would
 * make the next joiner a replica of nearly every slot (its scattered chunks
 * break every block's successors). Ownership striped by chunk makes at most
 * RING_CHUNK_COUNT runs in ring_range_next (CLUSTER SLOTS), not one per slot.
 * The result depends only on the previous ring and the member set, never on
 * the order members are listed.
 *
 * Preference list of a slot: its owner, then the owners of slot+1, slot+2...
 * (wrapping), skipping nodes already chosen; when nodes have more than one
 * zone, a node of an already chosen zone is deferred while unchosen zones
 * remain, and deferred nodes come first once every zone is represented. The
 * full order is the extended list; the preference list of n is its first n.
 * Lists are cached per slot (lazily, dropped on any change).
 *
 * Epoch: gossip keeps the ring that wins ring_compare (higher epoch, then the
 * higher content hash), so two nodes never disagree forever.
 *
 * Ownership: ring_new/ring_copy/ring_decode return a ring the caller frees
 * with ring_free. Every other function borrows its arguments. */
#ifndef DYNIS_CORE_RING_H
#define DYNIS_CORE_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/slot.h"
#include "util/buf.h"

#define RING_NODE_ID_LEN 40       /* hex characters, as Redis Cluster's */
#define RING_NODES_MAX 256
#define RING_WEIGHT_MAX 1000      /* weights are 1..RING_WEIGHT_MAX */
#define RING_ZONE_LEN_MAX 32      /* "" means no zone */
#define RING_RANGE_NODES_MAX 16   /* n bound for ring_range_next */
#define RING_NODE_NONE UINT16_MAX /* owner of every slot of an empty ring */
#define RING_CHUNK_SLOTS 32       /* slots that change hands together */
#define RING_CHUNK_COUNT (SLOT_COUNT / RING_CHUNK_SLOTS) /* 512 */

typedef struct ring_node {
    char id[RING_NODE_ID_LEN + 1]; /* 40 lowercase hex chars, NUL-terminated */
    uint32_t weight;
    char zone[RING_ZONE_LEN_MAX + 1];
} ring_node_t;

typedef struct ring ring_t;

typedef enum ring_status {
    RING_OK = 0,
    RING_EINVAL = -1,   /* bad id, weight or zone */
    RING_EDUP = -2,     /* the same id twice */
    RING_ETOOMANY = -3  /* more than RING_NODES_MAX members */
} ring_status_t;

/* A run of consecutive slots sharing one preference list (CLUSTER SLOTS). */
typedef struct ring_range {
    uint16_t first; /* inclusive */
    uint16_t last;  /* inclusive */
    size_t count;
    uint16_t nodes[RING_RANGE_NODES_MAX];
} ring_range_t;

/* An empty ring: epoch 0, no nodes, every slot owned by RING_NODE_NONE. */
ring_t *ring_new(void);
void ring_free(ring_t *ring);
/* An independent copy (the per-slot cache is not copied). */
ring_t *ring_copy(const ring_t *ring);

uint64_t ring_epoch(const ring_t *ring);
void ring_set_epoch(ring_t *ring, uint64_t epoch);

size_t ring_node_count(const ring_t *ring);
/* The node at idx (< ring_node_count); borrowed, valid until the ring changes. */
const ring_node_t *ring_node(const ring_t *ring, size_t idx);
/* The index of the node with this id, or -1 when it is not in the ring. */
int ring_node_index(const ring_t *ring, const char *id);
/* The owner of slot, or RING_NODE_NONE for an empty ring. */
uint16_t ring_owner(const ring_t *ring, uint16_t slot);
/* How many slots node idx owns. */
size_t ring_owned_count(const ring_t *ring, size_t idx);

/* True when id is RING_NODE_ID_LEN lowercase hex characters (len excludes
 * any terminator). */
bool ring_node_id_valid(const char *id, size_t len);

/* Binary search of id in base, count elements of size bytes each sorted by
 * id, every element starting with a char id[RING_NODE_ID_LEN + 1] (the peer
 * tables of fd.c and member.c). Returns the position of id (*found true) or
 * where it would be inserted (*found false). Borrows base and id. */
size_t ring_id_search(const void *base, size_t count, size_t size, const char *id, bool *found);

/* Replaces the node table with members (any order; count may be 0) and moves
 * slots to match their weights, moving as few as possible. Bumps the epoch by
 * one when the table or any owner changed. Returns the number of slots whose
 * owner changed (>= 0), or a ring_status_t (< 0) with the ring untouched. */
int ring_rebalance(ring_t *ring, const ring_node_t *members, size_t count);

/* Writes the first min(n, nodes owning slots) nodes of slot's preference list
 * to out (which holds n entries); returns how many. */
size_t ring_preference_list(const ring_t *ring, uint16_t slot, size_t n, uint16_t *out);
/* The whole walk: every node that owns a slot, in preference order, up to
 * max; the first n entries equal ring_preference_list(n). */
size_t ring_extended_list(const ring_t *ring, uint16_t slot, size_t max, uint16_t *out);

/* Iterates the runs of slots with the same preference list of n (clamped to
 * RING_RANGE_NODES_MAX). Start with *cursor = 0; each call fills out and
 * returns true, false when done (or the ring is empty). */
bool ring_range_next(const ring_t *ring, size_t n, uint32_t *cursor, ring_range_t *out);

/* Appends the ring to out: epoch, node table, then the owner of every slot
 * bit-packed (ceil(log2(nodes)) bits each: 4 KiB for 3 nodes, 12 KiB for 64,
 * nothing for one). */
void ring_encode(const ring_t *ring, buf_t *out);
/* Reads one ring from c, validating every field (ids sorted and valid,
 * weights, zones, owners, exactly SLOT_COUNT slots). Returns an owned ring, or
 * NULL with c->error set on malformed input. */
ring_t *ring_decode(cursor_t *c);
/* A hash of the content (nodes and owners, not the epoch). */
uint64_t ring_hash(const ring_t *ring);
/* > 0 when a wins over b, < 0 when b wins, 0 when they are the same ring:
 * higher epoch wins, then higher ring_hash, then the encoding's bytes. */
int ring_compare(const ring_t *a, const ring_t *b);

#endif
