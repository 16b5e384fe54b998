/* read_cache.h - the data family's hot keys in memory, in front of RocksDB.
 *
 * A RocksDB point lookup costs thousands of instructions even when the key
 * sits in the memtable or the row cache (DESIGN.md section 8); a GET at
 * Redis's speed needs its own hot-key table. rocks_store keeps one for the
 * data family: a get that misses here and finds the key in RocksDB fills
 * it, a put replaces a key it holds (a write never adds a key: loading a
 * million fresh keys does not fill the cache), a delete drops the key, and
 * a range deletion empties it. So a key's entry always equals what RocksDB
 * plus the write stage hold for it. (The one exception: RocksDB's
 * compaction filter drops keys whose every version expired long ago, on its
 * own threads, and a cached copy of such a key stays until evicted; a reader
 * sees the same dead versions it would have seen before the compaction.)
 *
 * The table is READ_CACHE_SETS sets of READ_CACHE_WAYS entries; a key's set
 * is chosen by its hash, and a full set evicts with the clock rule (a way
 * read or written since it was filled or the hand last passed gets a second
 * chance, so a scan of cold keys does not push out hot ones). Only entries
 * of at most READ_CACHE_ENTRY_MAX bytes (key and value) are kept, and at
 * most READ_CACHE_SETS * READ_CACHE_WAYS of them (32 MiB of entries at most).
 *
 * Pure C, no RocksDB. Ownership: the cache owns every byte; a value it
 * returns is valid until the next fill, update, erase or clear. */
#ifndef DYNIS_SHELL_READ_CACHE_H
#define DYNIS_SHELL_READ_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define READ_CACHE_WAYS 4
#define READ_CACHE_SETS 16384 /* a power of two */
/* The largest key plus value kept (larger ones are always read from RocksDB). */
#define READ_CACHE_ENTRY_MAX 512

typedef struct read_cache_entry {
    uint64_t hash;
    char *bytes;      /* owned: key then value; NULL when the way is free */
    uint32_t key_len;
    uint32_t val_len;
    uint32_t cap;     /* bytes allocated */
    bool used;        /* read or written since the clock hand passed */
} read_cache_entry_t;

typedef struct read_cache {
    read_cache_entry_t *ways; /* READ_CACHE_SETS * READ_CACHE_WAYS, at first fill */
    uint8_t *hand;            /* per set: the next way to consider evicting */
    size_t count;             /* ways in use */
    uint64_t hits, misses;
} read_cache_t;

void read_cache_init(read_cache_t *rc);
void read_cache_free(read_cache_t *rc);
/* Forgets every entry (a range deletion). */
void read_cache_clear(read_cache_t *rc);

/* The cached value of key (its length in *val_len), or NULL. */
const char *read_cache_find(read_cache_t *rc, const void *key, size_t key_len, size_t *val_len);
/* Caches key's value (read from RocksDB), evicting in its set when full. */
void read_cache_fill(read_cache_t *rc, const void *key, size_t key_len, const void *val,
                     size_t val_len);
/* Replaces key's value when it is cached (a put). */
void read_cache_update(read_cache_t *rc, const void *key, size_t key_len, const void *val,
                       size_t val_len);
/* Drops key (a delete). */
void read_cache_erase(read_cache_t *rc, const void *key, size_t key_len);

#endif
