/* merkle.h - the hash tree anti-entropy compares, kept up to date on every write.
 *
 * Shape: one fixed tree over all SLOT_COUNT slots, 7 levels. Level 4 has one
 * node per slot; below it each slot splits into MERKLE_BUCKETS leaves by key
 * hash (the "bucket": the top bits of hash64 of the data key, fixed for the
 * key whatever its versions), so that a leaf holds about
 * keys / (SLOT_COUNT * MERKLE_BUCKETS) keys (one per 1,048,576 stored):
 *     level 0: 1 root   level 1: 4   level 2: 64   level 3: 1024
 *     level 4: 16384 (slots)   level 5: 131072   level 6: 1048576 (leaves)
 * Fanouts 4, 16, 16, 16, 8, 8: a differing key costs at most 16 + 16 + 8 + 8
 * child hashes in the descent (the upper levels are shared between keys, and
 * ae sends no zero hash), and the key exchange that follows only covers the
 * keys of differing leaves, so anti-entropy bytes grow with the keys that
 * differ, not with the keys stored (until a leaf holds many keys: tens of
 * millions of keys per node).
 *
 * Memory: levels 0-4 in one array (17,477 hashes, 137 KiB); below, each slot
 * that has keys gets a block of 8 + 64 hashes (576 bytes) on its first key,
 * so a tree over every slot takes about 10 MB (9.4 MB of blocks, 128 KiB of
 * block pointers), and a node holding a third of the slots a third of that.
 *
 * A node replicates only some slots; the leaves of other slots are simply
 * empty (0). Comparing two replicas is done over the slots both replicate: a
 * merkle_slots_t mask restricts every hash to the masked slots (a node below
 * the slot level is in or out with its slot).
 *
 * Hashes: a key's hash is merkle_key_hash (data key + a canonical digest of
 * its version set: dots, pasts, tombstones, expiry, value bytes); 0 means
 * "absent". A leaf is the XOR of the hashes of its keys, and an inner node
 * the XOR of its children, so the tree is order independent and a write
 * updates it in O(levels): the changed key's old and new hashes are XORed
 * into the leaf and every ancestor.
 *
 * Cache: every leaf change is also written to STORE_CF_MERKLE in the same
 * staged write as the data (key "l" + slot as 2 big-endian bytes + bucket
 * byte -> 8-byte big-endian hash; a zero leaf is deleted), next to a marker
 * key "v" naming the cache format. merkle_load trusts the cache only when the
 * marker is there with MERKLE_CACHE_FORMAT; otherwise (a fresh, invalidated or
 * older cache) it rebuilds every leaf by scanning STORE_CF_DATA and rewrites
 * the cache. merkle_invalidate drops the marker so that the next load
 * rebuilds.
 *
 * Ownership: merkle_new borrows the store, which must outlive the tree.
 * Every other pointer argument is borrowed for the call. */
#ifndef DYNIS_CORE_MERKLE_H
#define DYNIS_CORE_MERKLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/slot.h"
#include "core/store.h"
#include "core/versions.h"

#define MERKLE_LEVELS 7
#define MERKLE_LEAF_LEVEL (MERKLE_LEVELS - 1)
#define MERKLE_SLOT_LEVEL 4 /* one node per slot */
#define MERKLE_FANOUT_MAX 16 /* children of one node, at most */
#define MERKLE_BUCKET_BITS 6
#define MERKLE_BUCKETS (1u << MERKLE_BUCKET_BITS) /* leaves per slot */
#define MERKLE_LEAF_COUNT ((uint32_t)SLOT_COUNT * MERKLE_BUCKETS)
/* The cache format written under the marker key; a different one rebuilds. */
#define MERKLE_CACHE_FORMAT 2

/* A set of slots: bit s of words[s / 64] is slot s. */
typedef struct merkle_slots {
    uint64_t words[SLOT_COUNT / 64];
} merkle_slots_t;

void merkle_slots_clear(merkle_slots_t *s);
void merkle_slots_fill(merkle_slots_t *s);
void merkle_slots_add(merkle_slots_t *s, uint16_t slot);
/* Adds first..last inclusive (first <= last < SLOT_COUNT). */
void merkle_slots_add_range(merkle_slots_t *s, uint16_t first, uint16_t last);
bool merkle_slots_has(const merkle_slots_t *s, uint16_t slot);
uint32_t merkle_slots_count(const merkle_slots_t *s);
/* True when some slot of first .. first + count - 1 is in s. */
bool merkle_slots_any(const merkle_slots_t *s, uint16_t first, uint32_t count);
/* dst = dst AND src. */
void merkle_slots_intersect(merkle_slots_t *dst, const merkle_slots_t *src);

typedef struct merkle merkle_t;

/* The number of nodes at level (0 <= level < MERKLE_LEVELS). */
uint32_t merkle_level_width(unsigned level);
/* The slots node (level, index) covers: first .. first + count - 1 (count 1
 * below the slot level: the slot the node is part of). */
void merkle_node_slots(unsigned level, uint32_t index, uint16_t *first, uint32_t *count);
/* A data key's bucket (0 .. MERKLE_BUCKETS - 1): its leaf within its slot. */
uint32_t merkle_key_bucket(const void *data_key, size_t key_len);
/* The leaf index of (slot, bucket), and back. */
uint32_t merkle_leaf_index(uint16_t slot, uint32_t bucket);
uint16_t merkle_leaf_slot(uint32_t leaf);
uint32_t merkle_leaf_bucket(uint32_t leaf);

/* The hash of one key: data_key is the data-family key (slot prefix + user
 * key). An empty or NULL version set hashes to 0 (the key is absent). */
uint64_t merkle_key_hash(const void *data_key, size_t key_len, const versions_t *vs);
/* The same from the stored (encoded) version set. Returns 0 and *out, or
 * STORE_ECORRUPT when the bytes do not decode. */
int merkle_key_hash_encoded(const void *data_key, size_t key_len, const void *val,
                            size_t val_len, uint64_t *out);

/* An empty tree over store (borrowed). Call merkle_load before use. */
merkle_t *merkle_new(store_t *store);
void merkle_free(merkle_t *m);

/* Loads the leaves from the cache, or rebuilds them from the data when the
 * cache is missing or invalid. *rebuilt (may be NULL) tells which happened.
 * Returns 0 or a negative STORE_E* code (the tree is then empty). */
int merkle_load(merkle_t *m, bool *rebuilt);
/* Recomputes every leaf from STORE_CF_DATA and rewrites the cache. */
int merkle_rebuild(merkle_t *m);
/* Recomputes one slot's leaves from its data range (after a range delete or
 * a handoff) and writes them to the cache. */
int merkle_rebuild_slot(merkle_t *m, uint16_t slot);
/* Drops the cache marker: the next merkle_load rebuilds. */
int merkle_invalidate(merkle_t *m);

/* The write path's hook: a key of leaf (merkle_leaf_index of its slot and
 * bucket) changed from old_hash to new_hash (each 0 when absent). Updates
 * leaf and ancestors and stages the leaf in the cache. Returns 0 or a
 * negative STORE_E* code (the in-memory tree is updated regardless; the
 * cache is then stale, so call merkle_invalidate). */
int merkle_update(merkle_t *m, uint32_t leaf, uint64_t old_hash, uint64_t new_hash);
/* merkle_update with the hashes of old and new computed from version sets
 * (NULL or empty: absent). data_key carries the slot and the bucket. */
int merkle_update_key(merkle_t *m, const void *data_key, size_t key_len,
                      const versions_t *old_vs, const versions_t *new_vs);

/* The unmasked hash of a node, and of the root. */
uint64_t merkle_hash(const merkle_t *m, unsigned level, uint32_t index);
uint64_t merkle_root(const merkle_t *m);
/* A node's hash over the slots in mask only (mask NULL: all slots). */
uint64_t merkle_hash_masked(const merkle_t *m, unsigned level, uint32_t index,
                            const merkle_slots_t *mask);

#endif
