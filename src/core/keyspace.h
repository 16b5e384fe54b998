/* keyspace.h - the keyspace of one node: string operations over a store_t.
 *
 * The keyspace reads a key's version set from the data column family (slot +
 * key, see slot.h), evaluates one string operation on it with strop_eval
 * (strop.h), applies the resulting write with versions_write under the node's
 * actor, and stores the encoded set (a stored key goes away only when it is
 * reclaimed, see below, or flushed). It keeps in memory the exact key counts that DBSIZE and INFO's
 * keyspace line report, and the keyspace statistics of INFO stats.
 *
 * Counting rule: a stored key counts as a key while its set holds at least one
 * non-tombstone version, expired or not (as Redis counts an expired key until
 * it is reclaimed); it counts as a key with an expiry when, in addition, one of
 * its non-tombstone versions has an expiry time. load_counts computes both by
 * a scan at open; every change made through the keyspace maintains them.
 *
 * Reclaiming rule (single node; the cluster will refine it): a tombstone is
 * written with expire_at_ms = its write time + KEYSPACE_TOMBSTONE_GRACE_MS, so
 * that replicas can still learn of the delete for that long. A stored key is
 * reclaimed (store_del) once every one of its versions is dead and has an
 * expiry time <= now: expired values at once, tombstones after the grace.
 * Reads reclaim lazily; keyspace_expire_cycle reclaims actively.
 *
 * Time is always an argument (now_ms). Every function returning int returns 0
 * (or a count) on success, else a negative keyspace_status.
 *
 * Ownership: keyspace_new borrows store (it must outlive the keyspace).
 * Pointers a keyspace returns (results, version sets) are borrowed and valid
 * until the next call on the same keyspace. */
#ifndef DYNIS_CORE_KEYSPACE_H
#define DYNIS_CORE_KEYSPACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/store.h"
#include "core/strop.h"
#include "core/versions.h"

/* How long a tombstone is kept before a single node drops it. */
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
    KEYSPACE_ETOOMANY = -3,             /* the write would pass VERSIONS_SIBLINGS_MAX */
};

typedef struct keyspace_stats {
    uint64_t keyspace_hits;    /* reads that found a live version */
    uint64_t keyspace_misses;  /* reads that found none */
    uint64_t expired_keys;     /* keys reclaimed because their values expired */
    uint64_t siblings_created; /* writes that left more than one live version */
} keyspace_stats_t;

/* A new keyspace over store (borrowed), writing versions as actor. Counts
 * start at zero: call keyspace_load_counts before serving. */
keyspace_t *keyspace_new(store_t *store, uint64_t actor);
void keyspace_free(keyspace_t *ks);

/* Scans the data family and sets the key counts. KEYSPACE_ECORRUPT when a
 * stored set does not decode (the counts then skip it). */
int keyspace_load_counts(keyspace_t *ks);
uint64_t keyspace_key_count(const keyspace_t *ks);    /* DBSIZE, db0:keys */
uint64_t keyspace_expire_count(const keyspace_t *ks); /* db0:expires */
const keyspace_stats_t *keyspace_stats(const keyspace_t *ks);
void keyspace_reset_stats(keyspace_t *ks);

/* Runs op on key at now_ms: read (with lazy reclaiming), strop_eval, apply.
 * *res_out borrows the keyspace's result (valid until the next call); its
 * STROP_REPLY_VALUES borrow the keyspace's copy of the set. Counts hits and
 * misses as Redis's read lookups do (GET GETDEL GETEX STRLEN TTL TYPE EXISTS,
 * SET ... GET). KEYSPACE_ETOOMANY: nothing was written. */
int keyspace_run(keyspace_t *ks, const void *key, size_t len, const strop_op_t *op,
                 uint64_t now_ms, const strop_result_t **res_out);

/* Reads key's stored set (tombstones and expired versions included, after
 * lazy reclaiming) into *out, borrowed until the next call; an absent key
 * gives an empty set. For DYN.GET. */
int keyspace_read(keyspace_t *ks, const void *key, size_t len, uint64_t now_ms,
                  const versions_t **out);

/* Active expiry: visits at most max_keys stored keys from a saved position
 * (wrapping at the end), reclaiming those the rule above allows. Returns the
 * number of keys reclaimed. */
int keyspace_expire_cycle(keyspace_t *ks, uint64_t now_ms, uint32_t max_keys);

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
