/* hint.h - hinted handoff: writes a substitute holds for a node that was down.
 *
 * When a sloppy quorum sends a replica write to a substitute, the substitute
 * stores the write under STORE_CF_HINTS, naming the intended owner (the
 * target), and delivers it when the target is reachable again.
 *
 * Store layout: key = target node id (8 bytes big-endian) + data key (slot
 * prefix + user key), so all hints for one target are one contiguous range;
 * value = format byte, varint created_ms, encoded version set. A second hint
 * for the same target and key merges its versions into the stored set
 * (versions_merge) and keeps the first created_ms; ttl_ms counts from it.
 *
 * In memory, per target: the number and bytes of its hints, the oldest
 * created_ms, the delivery state (idle, or a batch in flight until all its
 * items are acked or ack_timeout_ms passes) and the retry backoff. The store
 * is the queue: batches are read from it in key order, so restarting only
 * needs hint_load to rebuild the counters by scanning the family.
 *
 * Delivery: the caller asks for a batch for a target it can reach
 * (hint_next_batch), sends each item (a data key and its encoded versions),
 * and reports each acknowledgement with the item's stamp (hint_ack); an item
 * is deleted only if the stored record is still the one delivered (a hint
 * merged meanwhile stays and goes in a later batch). A batch that fails
 * (hint_failed) or is not fully acked within ack_timeout_ms (hint_tick) makes
 * the target wait backoff_ms before the next batch: backoff starts at
 * backoff_base_ms, doubles per failure up to backoff_max_ms, and the wait is
 * drawn uniformly in [backoff/2, backoff] from the caller's pcg32_t. A fully
 * acked batch resets the backoff.
 *
 * Bounds: a hint that would pass bytes_max or count_max (over all targets) is
 * refused (HINT_EFULL, counted as dropped); at most HINT_TARGETS_MAX targets;
 * hints older than ttl_ms are deleted and counted as dropped when seen by a
 * batch or swept by hint_tick.
 *
 * Ownership: hint_new borrows the store (it must outlive the hint_t); a
 * hint_batch_t owns its items' bytes. Other pointers are borrowed. */
#ifndef DYNIS_CORE_HINT_H
#define DYNIS_CORE_HINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/store.h"
#include "core/versions.h"
#include "util/buf.h"
#include "util/pcg.h"

#define HINT_TARGETS_MAX 1024
#define HINT_KEY_PREFIX_LEN 8
#define HINT_FORMAT 1
/* Ceilings for the configurable batch bounds. */
#define HINT_BATCH_KEYS_MAX 4096
#define HINT_BATCH_BYTES_MAX (64u * 1024 * 1024)

enum hint_status {
    HINT_OK = 0,
    /* negative STORE_E* codes pass through (-1, -2) */
    HINT_EFULL = -10,    /* bytes_max, count_max or HINT_TARGETS_MAX reached */
    HINT_EINVAL = -11,   /* an empty version set or a malformed data key */
};

typedef struct hint_config {
    uint64_t bytes_max;        /* total key + value bytes of all hints */
    uint64_t count_max;        /* total hints */
    uint64_t ttl_ms;           /* 0: hints never expire */
    uint32_t batch_keys_max;   /* items per batch, 1..HINT_BATCH_KEYS_MAX */
    uint64_t batch_bytes_max;  /* soft byte bound per batch (one item may pass it) */
    uint64_t backoff_base_ms;
    uint64_t backoff_max_ms;
    uint64_t ack_timeout_ms;
} hint_config_t;

/* 64 MiB, 1M hints, 3 hours, 64 keys / 1 MiB per batch, 100 ms .. 30 s
 * backoff, 5 s ack timeout. */
void hint_config_default(hint_config_t *cfg);

typedef struct hint_stats {
    uint64_t pending;        /* hints stored now */
    uint64_t pending_bytes;
    uint64_t delivered;      /* acked and deleted */
    uint64_t dropped_ttl;    /* expired before delivery */
    uint64_t dropped_full;   /* refused by a bound */
    uint64_t dropped_corrupt; /* stored records that did not decode */
    uint64_t merged;         /* added onto an existing hint for the same key */
    uint64_t failures;       /* batches failed or timed out */
} hint_stats_t;

typedef struct hint_item {
    buf_t key;      /* the data key (slot prefix + user key) */
    buf_t versions; /* the encoded version set */
    uint64_t stamp; /* identifies this record's content; pass back to hint_ack */
} hint_item_t;

typedef struct hint_batch {
    hint_item_t *items; /* owned */
    uint32_t len;
    uint32_t cap;
} hint_batch_t;

#define HINT_BATCH_INIT {NULL, 0, 0}

void hint_batch_free(hint_batch_t *b);

typedef struct hint hint_t;

/* A hint store over store (borrowed) with cfg copied. Call hint_load before
 * use (it also works on an empty store). */
hint_t *hint_new(const hint_config_t *cfg, store_t *store);
void hint_free(hint_t *h);

/* Rebuilds the per-target counters by scanning STORE_CF_HINTS; drops (and
 * counts) expired hints. Returns 0 or a negative STORE_E* code. */
int hint_load(hint_t *h, uint64_t now_ms);

/* Stores (or merges) a hint for target. data_key is the data-family key; vs
 * is borrowed. Returns HINT_OK, HINT_EFULL, HINT_EINVAL or a STORE_E* code. */
int hint_add(hint_t *h, uint64_t target, const void *data_key, size_t key_len,
             const versions_t *vs, uint64_t now_ms);

/* The caller can reach target: when it has hints, no batch in flight and its
 * backoff has elapsed, replaces batch's items with up to batch_keys_max hints
 * (expired ones are dropped on the way), marks the batch in flight, and
 * returns the number of items (> 0). Returns 0 when nothing is due, or a
 * negative STORE_E* code. */
int hint_next_batch(hint_t *h, uint64_t target, uint64_t now_ms, hint_batch_t *batch);

/* target acknowledged the item (key, stamp) of its batch in flight: deletes
 * the record unless it changed since. When every item of the batch is acked
 * the batch completes and the backoff resets. Returns 0 or a STORE_E* code;
 * unknown items are ignored. */
int hint_ack(hint_t *h, uint64_t target, const void *data_key, size_t key_len,
             uint64_t stamp);

/* The batch in flight to target failed (unreachable, refused): backs off. */
void hint_failed(hint_t *h, uint64_t target, uint64_t now_ms, pcg32_t *rng);

/* Times out batches in flight past ack_timeout_ms (as hint_failed) and
 * drops expired hints of targets whose oldest hint passed ttl_ms. Returns 0
 * or a STORE_E* code. */
int hint_tick(hint_t *h, uint64_t now_ms, pcg32_t *rng);

/* The earliest time hint_tick has work: a batch ack timeout or a hint
 * expiring (UINT64_MAX: none). Batches are asked for on the caller's own
 * schedule (each tick, for each reachable target); hint_next_batch returns 0
 * while a target backs off. */
uint64_t hint_next_deadline(const hint_t *h);

/* Writes up to max targets that have hints to out; returns how many. */
uint32_t hint_targets(const hint_t *h, uint64_t *out, uint32_t max);
/* Hints and bytes pending for target (0 when none). */
uint64_t hint_pending(const hint_t *h, uint64_t target, uint64_t *bytes_out);
/* The current backoff of target in ms (0 when none). */
uint64_t hint_backoff_ms(const hint_t *h, uint64_t target);
const hint_stats_t *hint_stats(const hint_t *h);

#endif
