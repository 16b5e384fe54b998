/* store.h - the storage interface the core reads and writes through.
 *
 * The core never includes rocksdb/c.h: it calls these operations on a store_t,
 * which the shell implements over RocksDB (src/shell/rocks_store.c), and the
 * tests and the simulator implement in memory (src/core/mem_store.c), with
 * fault injection in the simulator.
 *
 * A store has four column families (DESIGN.md section 2):
 *   STORE_CF_DATA    slot (2 bytes, big-endian) + user key -> encoded version set
 *   STORE_CF_HINTS   hinted-handoff records
 *   STORE_CF_MERKLE  cached Merkle tree nodes
 *   STORE_CF_META    node id, incarnation, ring, epochs, counters
 *
 * Writes are staged: put and del take effect at once for later gets and scans
 * through the same store, and become durable when the owner of the store
 * commits (the shell commits once per event-loop round, before it sends any
 * reply that depends on them). The core therefore never acknowledges a write
 * itself; it emits a reply effect, and the shell sends it after the commit.
 *
 * Return values: 0 success; for get, 1 found and 0 missing; a negative
 * STORE_E* code on failure. Every key and value pointer passed in is borrowed
 * for the duration of the call. */
#ifndef DYNIS_CORE_STORE_H
#define DYNIS_CORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

enum store_cf {
    STORE_CF_DATA = 0,
    STORE_CF_HINTS,
    STORE_CF_MERKLE,
    STORE_CF_META,
    STORE_CF_COUNT
};

enum store_status {
    STORE_OK = 0,
    STORE_EIO = -1,      /* the storage failed; the operation did not happen */
    STORE_ECORRUPT = -2, /* stored bytes could not be decoded */
};

/* Called for each (key, value) of a scan, in key order. Both pointers are
 * borrowed until the callback returns. Return 0 to go on, 1 to stop. */
typedef int (*store_scan_fn)(void *arg, const void *key, size_t key_len,
                             const void *val, size_t val_len);

typedef struct store_ops {
    /* Replaces val_out's contents with the value of key; 1 found, 0 missing. */
    int (*get)(void *impl, enum store_cf cf, const void *key, size_t key_len, buf_t *val_out);
    int (*put)(void *impl, enum store_cf cf, const void *key, size_t key_len,
               const void *val, size_t val_len);
    int (*del)(void *impl, enum store_cf cf, const void *key, size_t key_len);
    /* Visits keys k with start <= k < end (end NULL: to the end of cf). */
    int (*scan)(void *impl, enum store_cf cf, const void *start, size_t start_len,
                const void *end, size_t end_len, store_scan_fn fn, void *arg);
    /* Deletes every key k with start <= k < end (end NULL: to the end of cf). */
    int (*del_range)(void *impl, enum store_cf cf, const void *start, size_t start_len,
                     const void *end, size_t end_len);
} store_ops_t;

typedef struct store {
    const store_ops_t *ops;
    void *impl;
} store_t;

static inline int store_get(store_t *s, enum store_cf cf, const void *k, size_t kl, buf_t *out)
{
    return s->ops->get(s->impl, cf, k, kl, out);
}
static inline int store_put(store_t *s, enum store_cf cf, const void *k, size_t kl,
                            const void *v, size_t vl)
{
    return s->ops->put(s->impl, cf, k, kl, v, vl);
}
static inline int store_del(store_t *s, enum store_cf cf, const void *k, size_t kl)
{
    return s->ops->del(s->impl, cf, k, kl);
}
static inline int store_scan(store_t *s, enum store_cf cf, const void *start, size_t sl,
                             const void *end, size_t el, store_scan_fn fn, void *arg)
{
    return s->ops->scan(s->impl, cf, start, sl, end, el, fn, arg);
}
static inline int store_del_range(store_t *s, enum store_cf cf, const void *start, size_t sl,
                                  const void *end, size_t el)
{
    return s->ops->del_range(s->impl, cf, start, sl, end, el);
}

#endif
