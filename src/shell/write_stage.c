/* write_stage.c - the writes of one round, deduplicated by key (see
 * write_stage.h). */
#include "shell/write_stage.h"

#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/hash.h"

static uint64_t stage_hash(uint8_t cf, const void *key, size_t key_len)
{
    return hash64(key, key_len, cf);
}

static void table_alloc(write_stage_t *ws, size_t nslots)
{
    ws->slots = xcalloc(nslots, sizeof *ws->slots);
    ws->order = xmalloc(nslots / 2 * sizeof *ws->order);
    ws->nslots = nslots;
    ws->gen = 1;
}

void write_stage_init(write_stage_t *ws)
{
    memset(ws, 0, sizeof *ws);
    table_alloc(ws, WRITE_STAGE_SLOTS_MIN);
    buf_reserve(&ws->arena, 1); /* never NULL: offsets are always valid */
}

void write_stage_free(write_stage_t *ws)
{
    free(ws->slots);
    free(ws->order);
    buf_free(&ws->arena);
    memset(ws, 0, sizeof *ws);
}

void write_stage_clear(write_stage_t *ws)
{
    ws->count = 0;
    if (ws->arena.cap > WRITE_STAGE_ARENA_KEEP) {
        buf_free(&ws->arena);
        buf_reserve(&ws->arena, 1);
    }
    buf_clear(&ws->arena);
    if (ws->nslots > WRITE_STAGE_SLOTS_MIN * 16) {
        free(ws->slots);
        free(ws->order);
        table_alloc(ws, WRITE_STAGE_SLOTS_MIN);
        return;
    }
    if (++ws->gen == 0) { /* wrapped: old entries could look current */
        memset(ws->slots, 0, ws->nslots * sizeof *ws->slots);
        ws->gen = 1;
    }
}

/* The slot of (cf, key): its entry, or the free slot where it belongs. */
static size_t probe(const write_stage_t *ws, uint64_t h, uint8_t cf, const void *key,
                    size_t key_len)
{
    size_t mask = ws->nslots - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        const write_stage_entry_t *e = &ws->slots[i];
        if (e->gen != ws->gen)
            return i;
        if (e->hash == h && e->cf == cf && e->key_len == key_len &&
            memcmp(ws->arena.data + e->key_off, key, key_len) == 0)
            return i;
    }
}

static void grow(write_stage_t *ws)
{
    write_stage_entry_t *old = ws->slots;
    uint32_t *old_order = ws->order;
    size_t count = ws->count;
    table_alloc(ws, ws->nslots * 2);
    for (size_t k = 0; k < count; k++) {
        const write_stage_entry_t *e = &old[old_order[k]];
        size_t mask = ws->nslots - 1, i = e->hash & mask;
        while (ws->slots[i].gen == ws->gen)
            i = (i + 1) & mask;
        ws->slots[i] = *e;
        ws->slots[i].gen = ws->gen;
        ws->order[k] = (uint32_t)i;
    }
    free(old);
    free(old_order);
}

static void stage(write_stage_t *ws, uint8_t cf, const void *key, size_t key_len,
                  const void *val, size_t val_len, bool tombstone)
{
    if (ws->count + 1 > ws->nslots / 2)
        grow(ws);
    uint64_t h = stage_hash(cf, key, key_len);
    size_t i = probe(ws, h, cf, key, key_len);
    write_stage_entry_t *e = &ws->slots[i];
    if (e->gen != ws->gen) {
        e->gen = ws->gen;
        e->hash = h;
        e->cf = cf;
        e->key_off = ws->arena.len;
        e->key_len = key_len;
        buf_append(&ws->arena, key, key_len);
        ws->order[ws->count++] = (uint32_t)i;
    }
    e->tombstone = tombstone;
    e->val_off = ws->arena.len;
    e->val_len = val_len;
    buf_append(&ws->arena, val, val_len);
}

void write_stage_put(write_stage_t *ws, uint8_t cf, const void *key, size_t key_len,
                     const void *val, size_t val_len)
{
    stage(ws, cf, key, key_len, val, val_len, false);
}

void write_stage_del(write_stage_t *ws, uint8_t cf, const void *key, size_t key_len)
{
    stage(ws, cf, key, key_len, NULL, 0, true);
}

const write_stage_entry_t *write_stage_find(const write_stage_t *ws, uint8_t cf,
                                            const void *key, size_t key_len)
{
    if (ws->count == 0)
        return NULL;
    size_t i = probe(ws, stage_hash(cf, key, key_len), cf, key, key_len);
    return ws->slots[i].gen == ws->gen ? &ws->slots[i] : NULL;
}

const write_stage_entry_t *write_stage_at(const write_stage_t *ws, size_t i)
{
    return &ws->slots[ws->order[i]];
}
