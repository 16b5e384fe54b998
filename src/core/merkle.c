/* merkle.c - the per-node hash tree over slots and key-hash buckets (see
 * merkle.h): XOR leaves and inner nodes updated in O(levels) per write,
 * masked hashes for comparing the slots two replicas share, and the leaf
 * cache in STORE_CF_MERKLE. */
#include "core/merkle.h"

#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/hash.h"

#define MERKLE_KEY_SEED 0x6d65726b6c65ULL /* "merkle" */
#define MERKLE_LEAF_PREFIX 'l'
#define MERKLE_MARKER_KEY "v"
#define MERKLE_LEAF_KEY_LEN 4
#define MERKLE_LEAF_VAL_LEN 8

/* Below the slot level, each slot's nodes live in one block allocated on the
 * slot's first key: MERKLE_SUB_WIDTH level-5 nodes, then its MERKLE_BUCKETS
 * leaves. A slot without a block has only zero nodes there. */
#define MERKLE_SUB_WIDTH 8
#define MERKLE_BLOCK_LEN (MERKLE_SUB_WIDTH + MERKLE_BUCKETS)

static const uint32_t level_width[MERKLE_LEVELS] = {1, 4, 64, 1024, SLOT_COUNT,
                                                    SLOT_COUNT * MERKLE_SUB_WIDTH,
                                                    MERKLE_LEAF_COUNT};

struct merkle {
    store_t *store;                      /* borrowed */
    uint64_t *upper[MERKLE_SLOT_LEVEL + 1]; /* levels 0 .. slot level: level_width[l] hashes */
    uint64_t *upper_storage;             /* owned: those levels in one allocation */
    uint64_t *blocks[SLOT_COUNT];        /* owned, each NULL or MERKLE_BLOCK_LEN hashes */
};

/* --- slot sets --- */

void merkle_slots_clear(merkle_slots_t *s) { memset(s->words, 0, sizeof s->words); }

void merkle_slots_fill(merkle_slots_t *s) { memset(s->words, 0xff, sizeof s->words); }

void merkle_slots_add(merkle_slots_t *s, uint16_t slot)
{
    s->words[(slot % SLOT_COUNT) / 64] |= 1ULL << (slot % 64);
}

void merkle_slots_add_range(merkle_slots_t *s, uint16_t first, uint16_t last)
{
    for (uint32_t slot = first; slot <= last && slot < SLOT_COUNT; slot++)
        merkle_slots_add(s, (uint16_t)slot);
}

bool merkle_slots_has(const merkle_slots_t *s, uint16_t slot)
{
    return slot < SLOT_COUNT && (s->words[slot / 64] >> (slot % 64)) & 1;
}

uint32_t merkle_slots_count(const merkle_slots_t *s)
{
    uint32_t n = 0;
    for (size_t i = 0; i < SLOT_COUNT / 64; i++)
        for (uint64_t w = s->words[i]; w != 0; w &= w - 1)
            n++;
    return n;
}

void merkle_slots_intersect(merkle_slots_t *dst, const merkle_slots_t *src)
{
    for (size_t i = 0; i < SLOT_COUNT / 64; i++)
        dst->words[i] &= src->words[i];
}

/* 0: no slot of first..first+count-1 is in s; 1: all are; 2: some. */
static int slots_coverage(const merkle_slots_t *s, uint32_t first, uint32_t count)
{
    if (count < 64) {
        uint64_t bits = s->words[first / 64] >> (first % 64);
        uint64_t want = (1ULL << count) - 1;
        bits &= want;
        return bits == 0 ? 0 : bits == want ? 1 : 2;
    }
    bool any = false, all = true;
    for (uint32_t w = first / 64; w < (first + count) / 64; w++) {
        any = any || s->words[w] != 0;
        all = all && s->words[w] == UINT64_MAX;
    }
    return !any ? 0 : all ? 1 : 2;
}

bool merkle_slots_any(const merkle_slots_t *s, uint16_t first, uint32_t count)
{
    uint32_t end = first + count;
    for (uint32_t slot = first; slot < end && slot < SLOT_COUNT;) {
        if (slot % 64 == 0 && end - slot >= 64) {
            if (s->words[slot / 64] != 0)
                return true;
            slot += 64;
        } else if (merkle_slots_has(s, (uint16_t)slot++)) {
            return true;
        }
    }
    return false;
}

/* --- shape --- */

uint32_t merkle_level_width(unsigned level)
{
    return level < MERKLE_LEVELS ? level_width[level] : 0;
}

void merkle_node_slots(unsigned level, uint32_t index, uint16_t *first, uint32_t *count)
{
    if (level > MERKLE_SLOT_LEVEL) {
        *first = (uint16_t)(index / (level_width[level] / SLOT_COUNT));
        *count = 1;
        return;
    }
    uint32_t span = SLOT_COUNT / level_width[level];
    *first = (uint16_t)(index * span);
    *count = span;
}

/* The bucket from the key's own hash (hash64 with MERKLE_KEY_SEED). */
static uint32_t bucket_of(uint64_t key_hash)
{
    return (uint32_t)(key_hash >> (64 - MERKLE_BUCKET_BITS));
}

/* The slot of a data key (at least SLOT_KEY_PREFIX_LEN bytes). */
static uint16_t key_slot(const void *data_key)
{
    const uint8_t *k = data_key;
    return (uint16_t)(((k[0] << 8) | k[1]) % SLOT_COUNT);
}

uint32_t merkle_key_bucket(const void *data_key, size_t key_len)
{
    return bucket_of(hash64(data_key, key_len, MERKLE_KEY_SEED));
}

uint32_t merkle_leaf_index(uint16_t slot, uint32_t bucket)
{
    return (uint32_t)slot * MERKLE_BUCKETS + bucket % MERKLE_BUCKETS;
}

uint16_t merkle_leaf_slot(uint32_t leaf) { return (uint16_t)(leaf / MERKLE_BUCKETS); }

uint32_t merkle_leaf_bucket(uint32_t leaf) { return leaf % MERKLE_BUCKETS; }

/* --- key hashes --- */

static uint64_t mix_in(uint64_t h, uint64_t v) { return hash64_mix(h ^ hash64_mix(v)); }

/* merkle_key_hash from the key's own hash (hash64 with MERKLE_KEY_SEED), so
 * that merkle_update_key hashes the key once for both version sets. */
static uint64_t merkle_versions_hash(uint64_t key_hash, const versions_t *vs)
{
    if (vs == NULL || vs->len == 0)
        return 0;
    uint64_t h = mix_in(key_hash, vs->len);
    for (uint32_t i = 0; i < vs->len; i++) {
        const version_t *v = &vs->items[i];
        h = mix_in(h, v->dot.actor);
        h = mix_in(h, v->dot.counter);
        h = mix_in(h, v->expire_at_ms);
        h = mix_in(h, v->tombstone ? 1 : 2);
        h = mix_in(h, hash64(v->value, v->value_len, v->value_len));
        h = mix_in(h, v->past.len);
        for (uint32_t e = 0; e < v->past.len; e++) {
            h = mix_in(h, v->past.entries[e].actor);
            h = mix_in(h, v->past.entries[e].counter);
        }
    }
    return h != 0 ? h : 1; /* 0 is reserved for "absent" */
}

uint64_t merkle_key_hash(const void *data_key, size_t key_len, const versions_t *vs)
{
    if (vs == NULL || vs->len == 0)
        return 0;
    return merkle_versions_hash(hash64(data_key, key_len, MERKLE_KEY_SEED), vs);
}

int merkle_key_hash_encoded(const void *data_key, size_t key_len, const void *val,
                            size_t val_len, uint64_t *out)
{
    versions_t vs = VERSIONS_INIT;
    *out = 0;
    if (versions_decode(&vs, val, val_len) != VERSIONS_OK)
        return STORE_ECORRUPT;
    *out = merkle_key_hash(data_key, key_len, &vs);
    versions_free(&vs);
    return 0;
}

/* --- the tree --- */

merkle_t *merkle_new(store_t *store)
{
    merkle_t *m = xcalloc(1, sizeof *m);
    size_t total = 0;
    for (unsigned l = 0; l <= MERKLE_SLOT_LEVEL; l++)
        total += level_width[l];
    m->upper_storage = xcalloc(total, sizeof *m->upper_storage);
    uint64_t *p = m->upper_storage;
    for (unsigned l = 0; l <= MERKLE_SLOT_LEVEL; l++) {
        m->upper[l] = p;
        p += level_width[l];
    }
    m->store = store;
    return m;
}

static void free_blocks(merkle_t *m)
{
    for (uint32_t s = 0; s < SLOT_COUNT; s++) {
        free(m->blocks[s]);
        m->blocks[s] = NULL;
    }
}

void merkle_free(merkle_t *m)
{
    if (m == NULL)
        return;
    free_blocks(m);
    free(m->upper_storage);
    free(m);
}

/* Where node (level, index) below the slot level lives: its slot, and its
 * offset in the slot's block. */
static uint32_t sub_place(unsigned level, uint32_t index, uint32_t *slot)
{
    uint32_t per_slot = level_width[level] / SLOT_COUNT;
    *slot = index / per_slot;
    return (level == MERKLE_LEAF_LEVEL ? MERKLE_SUB_WIDTH : 0) + index % per_slot;
}

static uint64_t node_hash(const merkle_t *m, unsigned level, uint32_t index)
{
    if (level <= MERKLE_SLOT_LEVEL)
        return m->upper[level][index];
    uint32_t slot, at = sub_place(level, index, &slot);
    return m->blocks[slot] != NULL ? m->blocks[slot][at] : 0;
}

/* XORs delta into a leaf and every ancestor. */
static void apply_delta(merkle_t *m, uint32_t leaf, uint64_t delta)
{
    if (delta == 0)
        return;
    uint32_t index = leaf;
    for (int l = MERKLE_LEAF_LEVEL; l >= 0; l--) {
        if (l > MERKLE_SLOT_LEVEL) {
            uint32_t slot, at = sub_place((unsigned)l, index, &slot);
            if (m->blocks[slot] == NULL)
                m->blocks[slot] = xcalloc(MERKLE_BLOCK_LEN, sizeof *m->blocks[slot]);
            m->blocks[slot][at] ^= delta;
        } else {
            m->upper[l][index] ^= delta;
        }
        if (l > 0)
            index /= level_width[l] / level_width[l - 1];
    }
}

static void leaf_key(uint8_t key[MERKLE_LEAF_KEY_LEN], uint32_t leaf)
{
    uint16_t slot = merkle_leaf_slot(leaf);
    key[0] = MERKLE_LEAF_PREFIX;
    key[1] = (uint8_t)(slot >> 8);
    key[2] = (uint8_t)slot;
    key[3] = (uint8_t)merkle_leaf_bucket(leaf);
}

static int store_leaf(merkle_t *m, uint32_t leaf)
{
    uint8_t key[MERKLE_LEAF_KEY_LEN];
    leaf_key(key, leaf);
    uint64_t h = node_hash(m, MERKLE_LEAF_LEVEL, leaf);
    if (h == 0)
        return store_del(m->store, STORE_CF_MERKLE, key, sizeof key);
    uint8_t val[MERKLE_LEAF_VAL_LEN];
    for (int i = 0; i < MERKLE_LEAF_VAL_LEN; i++)
        val[i] = (uint8_t)(h >> (56 - 8 * i));
    return store_put(m->store, STORE_CF_MERKLE, key, sizeof key, val, sizeof val);
}

/* Adds one cached leaf to a cleared tree. */
static int leaf_scan_fn(void *arg, const void *key, size_t key_len, const void *val,
                        size_t val_len)
{
    merkle_t *m = arg;
    const uint8_t *k = key, *v = val;
    if (key_len != MERKLE_LEAF_KEY_LEN || val_len != MERKLE_LEAF_VAL_LEN)
        return 1;
    uint16_t slot = (uint16_t)((k[1] << 8) | k[2]);
    if (slot >= SLOT_COUNT || k[3] >= MERKLE_BUCKETS)
        return 1;
    uint64_t h = 0;
    for (int i = 0; i < MERKLE_LEAF_VAL_LEN; i++)
        h = (h << 8) | v[i];
    apply_delta(m, merkle_leaf_index(slot, k[3]), h);
    return 0;
}

/* Adds each data key's hash to a cleared tree, or, when slot_leaves is
 * set, to the MERKLE_BUCKETS leaves of one slot kept aside. */
typedef struct data_scan {
    merkle_t *m;
    uint64_t *slot_leaves;
    int rc;
} data_scan_t;

static int data_scan_fn(void *arg, const void *key, size_t key_len, const void *val,
                        size_t val_len)
{
    data_scan_t *ds = arg;
    versions_t vs = VERSIONS_INIT;
    if (key_len < SLOT_KEY_PREFIX_LEN || versions_decode(&vs, val, val_len) != VERSIONS_OK) {
        ds->rc = STORE_ECORRUPT;
        return 1;
    }
    uint64_t key_hash = hash64(key, key_len, MERKLE_KEY_SEED);
    uint64_t h = merkle_versions_hash(key_hash, &vs);
    if (ds->slot_leaves != NULL)
        ds->slot_leaves[bucket_of(key_hash)] ^= h;
    else
        apply_delta(ds->m, merkle_leaf_index(key_slot(key), bucket_of(key_hash)), h);
    versions_free(&vs);
    return 0;
}

static void clear_tree(merkle_t *m)
{
    for (unsigned l = 0; l <= MERKLE_SLOT_LEVEL; l++)
        memset(m->upper[l], 0, level_width[l] * sizeof(uint64_t));
    free_blocks(m);
}

/* Reads the cached leaves; 1 when the cache was valid and read, 0 when it
 * must be rebuilt, < 0 on a store error. */
static int load_cache(merkle_t *m)
{
    buf_t marker = BUF_INIT;
    int rc = store_get(m->store, STORE_CF_MERKLE, MERKLE_MARKER_KEY, 1, &marker);
    bool valid = rc == 1 && marker.len == 1 && (uint8_t)marker.data[0] == MERKLE_CACHE_FORMAT;
    buf_free(&marker);
    if (rc < 0 || !valid)
        return rc < 0 ? rc : 0;
    uint8_t start = MERKLE_LEAF_PREFIX, end = MERKLE_LEAF_PREFIX + 1;
    rc = store_scan(m->store, STORE_CF_MERKLE, &start, 1, &end, 1, leaf_scan_fn, m);
    return rc < 0 ? rc : 1;
}

int merkle_load(merkle_t *m, bool *rebuilt)
{
    clear_tree(m);
    int rc = load_cache(m);
    if (rebuilt != NULL)
        *rebuilt = rc == 0;
    if (rc < 0) {
        clear_tree(m);
        return rc;
    }
    return rc == 0 ? merkle_rebuild(m) : 0;
}

int merkle_rebuild(merkle_t *m)
{
    clear_tree(m);
    data_scan_t ds = {m, NULL, 0};
    int rc = store_scan(m->store, STORE_CF_DATA, NULL, 0, NULL, 0, data_scan_fn, &ds);
    if (rc < 0 || ds.rc < 0) {
        clear_tree(m);
        return rc < 0 ? rc : ds.rc;
    }
    uint8_t start = MERKLE_LEAF_PREFIX, end = MERKLE_LEAF_PREFIX + 1;
    rc = store_del_range(m->store, STORE_CF_MERKLE, &start, 1, &end, 1);
    for (uint32_t leaf = 0; rc == 0 && leaf < MERKLE_LEAF_COUNT; leaf++)
        if (m->blocks[merkle_leaf_slot(leaf)] == NULL)
            leaf += MERKLE_BUCKETS - 1; /* the slot's leaves are all 0 */
        else if (node_hash(m, MERKLE_LEAF_LEVEL, leaf) != 0)
            rc = store_leaf(m, leaf);
    uint8_t format = MERKLE_CACHE_FORMAT;
    if (rc == 0)
        rc = store_put(m->store, STORE_CF_MERKLE, MERKLE_MARKER_KEY, 1, &format, 1);
    return rc;
}

int merkle_rebuild_slot(merkle_t *m, uint16_t slot)
{
    if (slot >= SLOT_COUNT)
        return STORE_EIO;
    uint64_t now[MERKLE_BUCKETS] = {0};
    uint8_t start[SLOT_KEY_PREFIX_LEN], end[SLOT_KEY_PREFIX_LEN];
    slot_prefix(start, slot);
    slot_prefix(end, (uint16_t)(slot + 1));
    bool last = slot + 1 == SLOT_COUNT;
    data_scan_t ds = {m, now, 0};
    int rc = store_scan(m->store, STORE_CF_DATA, start, sizeof start, last ? NULL : end,
                        last ? 0 : sizeof end, data_scan_fn, &ds);
    if (rc < 0 || ds.rc < 0)
        return rc < 0 ? rc : ds.rc;
    for (uint32_t b = 0; rc == 0 && b < MERKLE_BUCKETS; b++) {
        uint32_t leaf = merkle_leaf_index(slot, b);
        uint64_t old = node_hash(m, MERKLE_LEAF_LEVEL, leaf);
        if (old == now[b])
            continue;
        apply_delta(m, leaf, old ^ now[b]);
        rc = store_leaf(m, leaf);
    }
    return rc;
}

int merkle_invalidate(merkle_t *m)
{
    return store_del(m->store, STORE_CF_MERKLE, MERKLE_MARKER_KEY, 1);
}

int merkle_update(merkle_t *m, uint32_t leaf, uint64_t old_hash, uint64_t new_hash)
{
    if (leaf >= MERKLE_LEAF_COUNT)
        return STORE_EIO;
    if (old_hash == new_hash)
        return 0;
    apply_delta(m, leaf, old_hash ^ new_hash);
    return store_leaf(m, leaf);
}

int merkle_update_key(merkle_t *m, const void *data_key, size_t key_len,
                      const versions_t *old_vs, const versions_t *new_vs)
{
    if (key_len < SLOT_KEY_PREFIX_LEN)
        return STORE_EIO;
    bool any = (old_vs && old_vs->len > 0) || (new_vs && new_vs->len > 0);
    if (!any)
        return 0;
    uint64_t key_hash = hash64(data_key, key_len, MERKLE_KEY_SEED);
    return merkle_update(m, merkle_leaf_index(key_slot(data_key), bucket_of(key_hash)),
                         merkle_versions_hash(key_hash, old_vs),
                         merkle_versions_hash(key_hash, new_vs));
}

uint64_t merkle_hash(const merkle_t *m, unsigned level, uint32_t index)
{
    if (level >= MERKLE_LEVELS || index >= level_width[level])
        return 0;
    return node_hash(m, level, index);
}

uint64_t merkle_root(const merkle_t *m) { return m->upper[0][0]; }

uint64_t merkle_hash_masked(const merkle_t *m, unsigned level, uint32_t index,
                            const merkle_slots_t *mask)
{
    if (level >= MERKLE_LEVELS || index >= level_width[level])
        return 0;
    if (mask == NULL)
        return node_hash(m, level, index);
    uint16_t first;
    uint32_t count;
    merkle_node_slots(level, index, &first, &count);
    int cover = slots_coverage(mask, first, count);
    if (cover != 2)
        return cover == 1 ? node_hash(m, level, index) : 0;
    uint32_t fan = level_width[level + 1] / level_width[level];
    uint64_t h = 0;
    for (uint32_t c = 0; c < fan; c++)
        h ^= merkle_hash_masked(m, level + 1, index * fan + c, mask);
    return h;
}
