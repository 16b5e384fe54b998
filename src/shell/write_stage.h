/* write_stage.h - the writes of one event-loop round, deduplicated by key.
 *
 * rocks_store stages puts and deletes here until it commits: a get looks
 * here before RocksDB, and the commit writes each key once, with its last
 * value, in one RocksDB WriteBatch. A pipelined client that rewrites one hot
 * key a thousand times a round thus costs RocksDB one memtable insert, not a
 * thousand. An open-addressing hash table (linear probing, load <= 1/2) maps
 * (column family, key) to the key's latest entry; keys and values live in
 * one append-only arena that is reset at commit.
 *
 * Pure C: no RocksDB here. Ownership: the stage owns every byte; pointers it
 * returns are valid until the next put, del or clear. */
#ifndef DYNIS_SHELL_WRITE_STAGE_H
#define DYNIS_SHELL_WRITE_STAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* The table's first size (slots) and the arena kept after a clear. */
#define WRITE_STAGE_SLOTS_MIN 1024
#define WRITE_STAGE_ARENA_KEEP ((size_t)4 * 1024 * 1024)

typedef struct write_stage_entry {
    uint64_t hash;
    size_t key_off, val_off; /* into the arena */
    size_t key_len, val_len;
    uint32_t gen;            /* equal to the stage's gen when in use */
    uint8_t cf;
    bool tombstone;
} write_stage_entry_t;

typedef struct write_stage {
    write_stage_entry_t *slots;
    size_t nslots;           /* a power of two */
    uint32_t *order;         /* slot indices in first-write order */
    size_t count;
    uint32_t gen;
    buf_t arena;
} write_stage_t;

void write_stage_init(write_stage_t *ws);
void write_stage_free(write_stage_t *ws);
/* Forgets every staged write (after a commit). */
void write_stage_clear(write_stage_t *ws);

static inline size_t write_stage_count(const write_stage_t *ws) { return ws->count; }

void write_stage_put(write_stage_t *ws, uint8_t cf, const void *key, size_t key_len,
                     const void *val, size_t val_len);
void write_stage_del(write_stage_t *ws, uint8_t cf, const void *key, size_t key_len);

/* The staged entry of (cf, key), or NULL when the key has no staged write. */
const write_stage_entry_t *write_stage_find(const write_stage_t *ws, uint8_t cf,
                                            const void *key, size_t key_len);
/* The i-th staged key (0 <= i < count), in first-write order. */
const write_stage_entry_t *write_stage_at(const write_stage_t *ws, size_t i);
/* The bytes of an entry's key and value. */
static inline const char *write_stage_key(const write_stage_t *ws, const write_stage_entry_t *e)
{
    return ws->arena.data + e->key_off;
}
static inline const char *write_stage_val(const write_stage_t *ws, const write_stage_entry_t *e)
{
    return ws->arena.data + e->val_off;
}

#endif
