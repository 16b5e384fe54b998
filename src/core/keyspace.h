/* keyspace.h - the node-local view of one node's data family: exact key
 * counts, the keyspace statistics, reclaiming, FLUSHALL, SCAN and KEYS.
 *
 * The keyspace writes no version set itself: the node (node.h) owns every
 * local data change and tells the keyspace of each one (keyspace_note_write,
 * from the node's one write/delete place), of each client read it answers
 * (keyspace_note_lookup), and runs reclaiming and FLUSHALL through it, so
 * that the node's Merkle tree follows every change too.
 *
 * Counting rule: a stored key counts as a key while its set holds at least one
 * non-tombstone version, expired or not (as Redis counts an expired key until
 * it is reclaimed); it counts as a key with an expiry when, in addition, one of
 * its non-tombstone versions has an expiry time. keyspace_load_counts computes
 * both by a scan at open; keyspace_note_write and keyspace_flush maintain them.
 *
 * Reclaiming rule: a stored key may be deleted once every one of its versions
 * is dead and has an expiry time <= now. Expired values go at once;
 * tombstones carry expire_at_ms = their write time + a grace (the node's
 * tombstone_grace_ms, by default KEYSPACE_TOMBSTONE_GRACE_MS), so replicas
 * can still learn of the delete for that long. keyspace_expire_cycle finds
 * such keys; its caller deletes them, or keeps one for now (the node keeps a
 * tombstone until every replica has confirmed it holds the delete).
 *
 * Time is always an argument (now_ms). Every function returning int returns 0
 * (or a count) on success, else a negative keyspace_status.
 *
 * Ownership: keyspace_new borrows store (it must outlive the keyspace).
 * Version sets passed in are borrowed for the call. */
#ifndef DYNIS_CORE_KEYSPACE_H
#define DYNIS_CORE_KEYSPACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/store.h"
#include "core/strop.h"
#include "core/versions.h"

/* How long a tombstone is kept before it may be reclaimed (the default). */
#define KEYSPACE_TOMBSTONE_GRACE_MS (10u * 60 * 1000)
/* SCAN cursors remembered at once (older ones restart at their slot). */
#define KEYSPACE_SCAN_CURSORS_MAX 256
/* The most stored keys one SCAN call visits (its COUNT is clamped to this). */
#define KEYSPACE_SCAN_COUNT_MAX 100000

typedef struct keyspace keyspace_t;

enum keyspace_status {
    KEYSPACE_OK = 0,
    KEYSPACE_EIO = STORE_EIO,           /* the store failed */
    KEYSPACE_ECORRUPT = STORE_ECORRUPT, /* a stored set did not decode */
};

typedef struct keyspace_stats {
    uint64_t keyspace_hits;    /* client read lookups that found a live version */
    uint64_t keyspace_misses;  /* client read lookups that found none */
    uint64_t expired_keys;     /* keys reclaimed because their values expired */
    uint64_t siblings_created; /* writes that left more live versions than
                                * they found, and more than one */
} keyspace_stats_t;

/* A new keyspace over store (borrowed). Counts start at zero: call
 * keyspace_load_counts before serving. */
keyspace_t *keyspace_new(store_t *store);
void keyspace_free(keyspace_t *ks);

/* Scans the data family and sets the key counts. KEYSPACE_ECORRUPT when a
 * stored set does not decode (the counts then skip it). */
int keyspace_load_counts(keyspace_t *ks);
uint64_t keyspace_key_count(const keyspace_t *ks);    /* DBSIZE, db0:keys */
uint64_t keyspace_expire_count(const keyspace_t *ks); /* db0:expires */
const keyspace_stats_t *keyspace_stats(const keyspace_t *ks);
void keyspace_reset_stats(keyspace_t *ks);

/* A key's stored set changed from old to new_vs (either NULL or empty when
 * absent) at now_ms: adjusts the counts and siblings_created. The caller has
 * stored the change. */
void keyspace_note_write(keyspace_t *ks, const versions_t *old, const versions_t *new_vs,
                         uint64_t now_ms);

/* A client's op was answered from vs (NULL: absent) at now_ms: counts a hit
 * or a miss when op looks the key up as Redis's read lookups do (GET GETDEL
 * GETEX STRLEN TTL TYPE EXISTS, SET ... GET). */
void keyspace_note_lookup(keyspace_t *ks, const strop_op_t *op, const versions_t *vs,
                          uint64_t now_ms);
/* A GET answered without a version set (the lone node's fast path): a hit
 * when it found a live value, else a miss. */
void keyspace_note_get(keyspace_t *ks, bool hit);

/* Deletes one reclaimable key: data_key (slot + key) whose stored set is old
 * (both borrowed for the call). It must delete the key and call
 * keyspace_note_write(ks, old, NULL, ...), or keep it for now. Returns 0 when
 * it deleted the key, KEYSPACE_RECLAIM_KEPT when it kept it, or a negative
 * status. */
#define KEYSPACE_RECLAIM_KEPT 1
typedef int (*keyspace_reclaim_fn)(void *arg, const void *data_key, size_t len,
                                   const versions_t *old);

/* Active expiry: visits at most max_keys stored keys from a saved position
 * (wrapping at the end) and calls reclaim for each one the rule above allows
 * (after the visit, so reclaim may write to the store). Returns the number of
 * keys reclaimed (kept ones not counted), or the first negative status of
 * the store or of reclaim. */
int keyspace_expire_cycle(keyspace_t *ks, uint64_t now_ms, uint32_t max_keys,
                          keyspace_reclaim_fn reclaim, void *arg);

/* FLUSHALL / FLUSHDB: deletes every data key; counts drop to zero. */
int keyspace_flush(keyspace_t *ks);

/* Called with each live key (borrowed until it returns) of a SCAN or KEYS. */
typedef void (*keyspace_key_fn)(void *arg, const void *key, size_t len);

/* One SCAN step from cursor (0: the start). A cursor is a decimal-safe
 * uint64: (n << 14) | slot, where slot is where to resume and n (> 0) names a
 * remembered position inside it (n = 0: the slot's start). Visits at most
 * count stored keys (1..KEYSPACE_SCAN_COUNT_MAX) and calls fn for each live
 * key matching pattern (NULL: all). *next_out is 0 when the scan is done.
 * Every key present for a whole scan is returned once, unless its position
 * was forgotten (more than KEYSPACE_SCAN_CURSORS_MAX newer cursors), when its
 * slot is visited again (at least once, as Redis promises). */
int keyspace_scan(keyspace_t *ks, uint64_t cursor, uint64_t now_ms, const char *pattern,
                  size_t pattern_len, uint32_t count, keyspace_key_fn fn, void *arg,
                  uint64_t *next_out);

/* KEYS: calls fn for every live key matching pattern. */
int keyspace_keys(keyspace_t *ks, uint64_t now_ms, const char *pattern, size_t pattern_len,
                  keyspace_key_fn fn, void *arg);

#endif
