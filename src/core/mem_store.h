/* mem_store.h - an in-memory store_t for the unit tests and the simulator.
 *
 * Each column family is an ordered map (a skiplist, bytewise key order as
 * RocksDB's default comparator). Writes follow store.h's staged/durable
 * contract: put, del and del_range are visible at once, and become durable at
 * mem_store_commit; mem_store_crash forgets every write since the last commit,
 * as a kill -9 of a process whose WAL holds only committed batches would.
 * mem_store_fail_next injects storage faults: the next count operations
 * (get, put, del, scan, del_range) return STORE_EIO and have no effect.
 *
 * Deterministic: no clock, no hidden randomness (skiplist levels come from a
 * fixed-seed PCG and never show in results).
 *
 * Ownership: mem_store_new returns an owned store that mem_store_free
 * releases; the store_t from mem_store_as_store borrows it. */
#ifndef DYNIS_CORE_MEM_STORE_H
#define DYNIS_CORE_MEM_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/store.h"

typedef struct mem_store mem_store_t;

mem_store_t *mem_store_new(void);
void mem_store_free(mem_store_t *ms);
/* A store_t view of ms, valid while ms lives. */
store_t mem_store_as_store(mem_store_t *ms);

/* Makes every staged write durable. */
void mem_store_commit(mem_store_t *ms);
/* Drops every write not committed (a crash and restart); fault counters stay. */
void mem_store_crash(mem_store_t *ms);
/* The number of staged writes (put, del and each key of a del_range that
 * changed something) waiting for the next commit. */
size_t mem_store_pending(const mem_store_t *ms);

/* The next count operations fail with STORE_EIO without effect (0 cancels). */
void mem_store_fail_next(mem_store_t *ms, uint32_t count);
/* How many operations fault injection has failed so far. */
uint64_t mem_store_failed_ops(const mem_store_t *ms);

/* The number of keys in cf, and the bytes of their keys and values. */
size_t mem_store_count(const mem_store_t *ms, enum store_cf cf);
size_t mem_store_bytes(const mem_store_t *ms, enum store_cf cf);

#endif
