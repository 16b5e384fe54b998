/* read_cache.c - the data family's hot keys (see read_cache.h). */
#include "shell/read_cache.h"

#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/hash.h"

/* Seed of the key hash (any constant: the cache is never shared). */
#define READ_CACHE_SEED 0x5245414443414348ull

void read_cache_init(read_cache_t *rc)
{
    memset(rc, 0, sizeof *rc);
}

static void entry_drop(read_cache_t *rc, read_cache_entry_t *e)
{
    if (e->bytes == NULL)
        return;
    free(e->bytes);
    memset(e, 0, sizeof *e);
    rc->count--;
}

void read_cache_clear(read_cache_t *rc)
{
    if (rc->ways == NULL)
        return;
    for (size_t i = 0; i < (size_t)READ_CACHE_SETS * READ_CACHE_WAYS; i++)
        entry_drop(rc, &rc->ways[i]);
}

void read_cache_free(read_cache_t *rc)
{
    read_cache_clear(rc);
    free(rc->ways);
    free(rc->hand);
    memset(rc, 0, sizeof *rc);
}

static uint64_t key_hash(const void *key, size_t key_len)
{
    return hash64(key, key_len, READ_CACHE_SEED);
}

static read_cache_entry_t *set_of(const read_cache_t *rc, uint64_t h)
{
    return &rc->ways[(h & (READ_CACHE_SETS - 1)) * READ_CACHE_WAYS];
}

/* key's entry, or NULL. */
static read_cache_entry_t *lookup(const read_cache_t *rc, uint64_t h, const void *key,
                                  size_t key_len)
{
    if (rc->ways == NULL)
        return NULL;
    read_cache_entry_t *set = set_of(rc, h);
    for (int w = 0; w < READ_CACHE_WAYS; w++) {
        read_cache_entry_t *e = &set[w];
        if (e->bytes != NULL && e->hash == h && e->key_len == key_len &&
            memcmp(e->bytes, key, key_len) == 0)
            return e;
    }
    return NULL;
}

const char *read_cache_find(read_cache_t *rc, const void *key, size_t key_len, size_t *val_len)
{
    read_cache_entry_t *e = lookup(rc, key_hash(key, key_len), key, key_len);
    if (e == NULL) {
        rc->misses++;
        return NULL;
    }
    rc->hits++;
    e->used = true;
    *val_len = e->val_len;
    return e->bytes + e->key_len;
}

/* Stores key and val in e (growing its block when needed). */
static void entry_set(read_cache_entry_t *e, uint64_t h, const void *key, size_t key_len,
                      const void *val, size_t val_len)
{
    size_t need = key_len + val_len;
    if (e->cap < need || e->bytes == NULL) {
        free(e->bytes);
        e->bytes = xmalloc(need ? need : 1);
        e->cap = (uint32_t)(need ? need : 1);
    }
    e->hash = h;
    e->key_len = (uint32_t)key_len;
    e->val_len = (uint32_t)val_len;
    memcpy(e->bytes, key, key_len);
    if (val_len > 0)
        memcpy(e->bytes + key_len, val, val_len);
}

/* The way of h's set a new entry goes to: a free one, else the clock's. */
static read_cache_entry_t *victim(read_cache_t *rc, uint64_t h)
{
    read_cache_entry_t *set = set_of(rc, h);
    for (int w = 0; w < READ_CACHE_WAYS; w++)
        if (set[w].bytes == NULL)
            return &set[w];
    uint8_t *hand = &rc->hand[h & (READ_CACHE_SETS - 1)];
    for (;;) { /* ends: each pass clears a used bit */
        read_cache_entry_t *e = &set[*hand];
        *hand = (uint8_t)((*hand + 1) % READ_CACHE_WAYS);
        if (!e->used)
            return e;
        e->used = false;
    }
}

void read_cache_fill(read_cache_t *rc, const void *key, size_t key_len, const void *val,
                     size_t val_len)
{
    if (key_len + val_len > READ_CACHE_ENTRY_MAX)
        return;
    if (rc->ways == NULL) {
        rc->ways = xcalloc((size_t)READ_CACHE_SETS * READ_CACHE_WAYS, sizeof *rc->ways);
        rc->hand = xcalloc(READ_CACHE_SETS, sizeof *rc->hand);
    }
    uint64_t h = key_hash(key, key_len);
    read_cache_entry_t *e = lookup(rc, h, key, key_len);
    if (e == NULL) {
        e = victim(rc, h);
        rc->count += e->bytes == NULL;
        e->used = false; /* a second chance only once read again */
    }
    entry_set(e, h, key, key_len, val, val_len);
}

void read_cache_update(read_cache_t *rc, const void *key, size_t key_len, const void *val,
                       size_t val_len)
{
    uint64_t h = key_hash(key, key_len);
    read_cache_entry_t *e = lookup(rc, h, key, key_len);
    if (e == NULL)
        return;
    if (key_len + val_len > READ_CACHE_ENTRY_MAX)
        entry_drop(rc, e);
    else
        entry_set(e, h, key, key_len, val, val_len);
    e->used = e->bytes != NULL;
}

void read_cache_erase(read_cache_t *rc, const void *key, size_t key_len)
{
    read_cache_entry_t *e = lookup(rc, key_hash(key, key_len), key, key_len);
    if (e != NULL)
        entry_drop(rc, e);
}
