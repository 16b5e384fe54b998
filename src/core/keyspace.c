/* keyspace.c - one node's keyspace over a store_t: exact key counts and
 * statistics as the node reports its changes, the active expiry cycle,
 * FLUSHALL, SCAN cursors and KEYS. See keyspace.h for the counting and
 * reclaiming rules; the node (node.c) makes every change. */
#include "core/keyspace.h"

#include <stdlib.h>
#include <string.h>

#include "core/slot.h"
#include "util/alloc.h"
#include "util/glob.h"

/* Bits of a SCAN cursor that hold the slot; the rest name a remembered
 * position (see keyspace_scan). */
#define KEYSPACE_CURSOR_SLOT_BITS 14
/* Cursor position ids stay below this, so cursors fit in 63 bits. */
#define KEYSPACE_CURSOR_ID_MAX (UINT64_C(1) << 48)

typedef struct keyspace_cursor {
    uint64_t id; /* 0: unused */
    buf_t pos;   /* the data key to resume at */
} keyspace_cursor_t;

struct keyspace {
    store_t *store; /* borrowed */
    uint64_t keys;
    uint64_t expires;
    keyspace_stats_t stats;
    buf_t cycle_pos;     /* where the expiry cycle resumes (empty: start) */
    buf_t scan_last;     /* the last key a SCAN step visited */
    keyspace_cursor_t cursors[KEYSPACE_SCAN_CURSORS_MAX];
    uint64_t cursor_next_id;
};

keyspace_t *keyspace_new(store_t *store)
{
    keyspace_t *ks = xcalloc(1, sizeof *ks);
    ks->store = store;
    return ks;
}

void keyspace_free(keyspace_t *ks)
{
    if (!ks)
        return;
    buf_free(&ks->cycle_pos);
    buf_free(&ks->scan_last);
    for (size_t i = 0; i < KEYSPACE_SCAN_CURSORS_MAX; i++)
        buf_free(&ks->cursors[i].pos);
    free(ks);
}

/* ---- counting and reclaiming rules ---- */

typedef struct keyspace_class {
    bool counted;    /* holds a non-tombstone version */
    bool has_expire; /* ... one of which has an expiry */
} keyspace_class_t;

static keyspace_class_t keyspace_classify(const versions_t *vs)
{
    keyspace_class_t c = {false, false};
    for (uint32_t i = 0; vs && i < vs->len; i++) {
        if (vs->items[i].tombstone)
            continue;
        c.counted = true;
        c.has_expire |= vs->items[i].expire_at_ms != 0;
    }
    return c;
}

static void keyspace_count(keyspace_t *ks, keyspace_class_t c, int sign)
{
    if (c.counted)
        ks->keys += (uint64_t)(int64_t)sign;
    if (c.counted && c.has_expire)
        ks->expires += (uint64_t)(int64_t)sign;
}

/* True when every version is dead with an expiry time <= now_ms. */
static bool keyspace_reclaimable(const versions_t *vs, uint64_t now_ms)
{
    for (uint32_t i = 0; i < vs->len; i++) {
        uint64_t at = vs->items[i].expire_at_ms;
        if (at == 0 || at > now_ms)
            return false;
    }
    return vs->len > 0;
}

uint64_t keyspace_key_count(const keyspace_t *ks) { return ks->keys; }
uint64_t keyspace_expire_count(const keyspace_t *ks) { return ks->expires; }
const keyspace_stats_t *keyspace_stats(const keyspace_t *ks) { return &ks->stats; }
void keyspace_reset_stats(keyspace_t *ks) { memset(&ks->stats, 0, sizeof ks->stats); }

/* ---- what the node tells: writes and client lookups ---- */

static uint32_t keyspace_live(const versions_t *vs, uint64_t now_ms)
{
    return vs ? versions_live_count(vs, now_ms) : 0;
}

void keyspace_note_write(keyspace_t *ks, const versions_t *old, const versions_t *new_vs,
                         uint64_t now_ms)
{
    keyspace_count(ks, keyspace_classify(old), -1);
    keyspace_count(ks, keyspace_classify(new_vs), 1);
    uint32_t after = keyspace_live(new_vs, now_ms);
    if (after > 1 && after > keyspace_live(old, now_ms))
        ks->stats.siblings_created++;
}

/* Whether op looks the key up as a Redis read does (hits and misses). */
static bool keyspace_op_reads(const strop_op_t *op)
{
    switch (op->kind) {
    case STROP_GET:
    case STROP_GETDEL:
    case STROP_GETEX:
    case STROP_STRLEN:
    case STROP_TTL:
    case STROP_TYPE:
    case STROP_EXISTS:
        return true;
    case STROP_SET:
        return (op->flags & STROP_F_GET) != 0;
    default:
        return false;
    }
}

void keyspace_note_lookup(keyspace_t *ks, const strop_op_t *op, const versions_t *vs,
                          uint64_t now_ms)
{
    if (!keyspace_op_reads(op))
        return;
    if (keyspace_live(vs, now_ms) > 0)
        ks->stats.keyspace_hits++;
    else
        ks->stats.keyspace_misses++;
}

void keyspace_note_get(keyspace_t *ks, bool hit)
{
    if (hit)
        ks->stats.keyspace_hits++;
    else
        ks->stats.keyspace_misses++;
}

/* ---- whole-keyspace scans: counts, the expiry cycle, FLUSHALL ---- */

/* The state of a scan over the data family that decodes each set. */
typedef struct keyspace_walk {
    keyspace_t *ks;
    uint64_t now_ms;
    uint32_t visited;
    uint32_t max;        /* stop after this many keys */
    bool track_last;     /* SCAN: remember the last key in ks->scan_last */
    bool corrupt;        /* a stored set did not decode */
    versions_t vs;       /* the visited key's set */
    buf_t doomed;        /* expiry cycle: (key, stored set) records */
    const char *pattern; /* SCAN/KEYS: NULL matches every key */
    size_t pattern_len;
    keyspace_key_fn fn;
    void *arg;
} keyspace_walk_t;

static void keyspace_walk_init(keyspace_walk_t *w, keyspace_t *ks, uint64_t now_ms, uint32_t max)
{
    memset(w, 0, sizeof *w);
    w->ks = ks;
    w->now_ms = now_ms;
    w->max = max;
    versions_init(&w->vs);
    buf_init(&w->doomed);
}

static void keyspace_walk_free(keyspace_walk_t *w)
{
    versions_free(&w->vs);
    buf_free(&w->doomed);
}

/* Decodes one visited set into w->vs; false (and w->corrupt) on bad bytes. */
static bool keyspace_walk_decode(keyspace_walk_t *w, const void *val, size_t val_len)
{
    if (versions_decode(&w->vs, val, val_len) == VERSIONS_OK)
        return true;
    w->corrupt = true;
    return false;
}

static int keyspace_count_fn(void *arg, const void *key, size_t key_len, const void *val,
                             size_t val_len)
{
    keyspace_walk_t *w = arg;
    (void)key;
    (void)key_len;
    if (keyspace_walk_decode(w, val, val_len))
        keyspace_count(w->ks, keyspace_classify(&w->vs), 1);
    return 0;
}

int keyspace_load_counts(keyspace_t *ks)
{
    keyspace_walk_t w;
    keyspace_walk_init(&w, ks, 0, UINT32_MAX);
    ks->keys = 0;
    ks->expires = 0;
    int rc = store_scan(ks->store, STORE_CF_DATA, NULL, 0, NULL, 0, keyspace_count_fn, &w);
    bool corrupt = w.corrupt;
    keyspace_walk_free(&w);
    if (rc < 0)
        return rc;
    return corrupt ? KEYSPACE_ECORRUPT : KEYSPACE_OK;
}

static int keyspace_cycle_fn(void *arg, const void *key, size_t key_len, const void *val,
                             size_t val_len)
{
    keyspace_walk_t *w = arg;
    keyspace_t *ks = w->ks;
    w->visited++;
    buf_clear(&ks->cycle_pos);
    buf_append(&ks->cycle_pos, key, key_len);
    if (keyspace_walk_decode(w, val, val_len) && keyspace_reclaimable(&w->vs, w->now_ms)) {
        buf_put_bytes(&w->doomed, key, key_len);
        buf_put_bytes(&w->doomed, val, val_len);
    }
    return w->visited >= w->max;
}

/* Hands each key the cycle collected to reclaim; returns how many went. */
static int keyspace_cycle_reclaim(keyspace_t *ks, const buf_t *doomed,
                                  keyspace_reclaim_fn reclaim, void *arg)
{
    cursor_t c;
    cursor_init(&c, doomed->data, doomed->len);
    int n = 0, rc = 0;
    const uint8_t *key, *val;
    size_t key_len, val_len;
    versions_t vs = VERSIONS_INIT;
    while (rc >= 0 && cursor_left(&c) > 0 && cursor_bytes(&c, doomed->len, &key, &key_len) &&
           cursor_bytes(&c, doomed->len, &val, &val_len)) {
        if (versions_decode(&vs, val, val_len) != VERSIONS_OK)
            continue;
        rc = reclaim(arg, key, key_len, &vs);
        if (rc == 0) {
            ks->stats.expired_keys += keyspace_classify(&vs).counted;
            n++;
        }
    }
    versions_free(&vs);
    return rc < 0 ? rc : n;
}

int keyspace_expire_cycle(keyspace_t *ks, uint64_t now_ms, uint32_t max_keys,
                          keyspace_reclaim_fn reclaim, void *arg)
{
    if (max_keys == 0)
        return 0;
    keyspace_walk_t w;
    keyspace_walk_init(&w, ks, now_ms, max_keys);
    const void *start = ks->cycle_pos.len ? ks->cycle_pos.data : NULL;
    size_t start_len = ks->cycle_pos.len;
    int rc = store_scan(ks->store, STORE_CF_DATA, start, start_len, NULL, 0, keyspace_cycle_fn,
                        &w);
    if (rc >= 0 && w.visited >= max_keys)
        buf_append_byte(&ks->cycle_pos, 0); /* resume just after the last key */
    else
        buf_clear(&ks->cycle_pos); /* reached the end (or failed): wrap */
    if (rc >= 0)
        rc = keyspace_cycle_reclaim(ks, &w.doomed, reclaim, arg);
    keyspace_walk_free(&w);
    return rc;
}

int keyspace_flush(keyspace_t *ks)
{
    uint8_t start[SLOT_KEY_PREFIX_LEN];
    slot_prefix(start, 0);
    int rc = store_del_range(ks->store, STORE_CF_DATA, start, sizeof start, NULL, 0);
    if (rc < 0)
        return rc;
    ks->keys = 0;
    ks->expires = 0;
    buf_clear(&ks->cycle_pos);
    return KEYSPACE_OK;
}

/* ---- SCAN and KEYS ---- */

static int keyspace_match_fn(void *arg, const void *key, size_t key_len, const void *val,
                             size_t val_len)
{
    keyspace_walk_t *w = arg;
    w->visited++;
    if (w->track_last) {
        buf_clear(&w->ks->scan_last);
        buf_append(&w->ks->scan_last, key, key_len);
    }
    if (key_len >= SLOT_KEY_PREFIX_LEN) {
        const char *user = (const char *)key + SLOT_KEY_PREFIX_LEN;
        size_t user_len = key_len - SLOT_KEY_PREFIX_LEN;
        if ((!w->pattern || glob_match(w->pattern, w->pattern_len, user, user_len, false)) &&
            keyspace_walk_decode(w, val, val_len) && versions_live_count(&w->vs, w->now_ms) > 0)
            w->fn(w->arg, user, user_len);
    }
    return w->visited >= w->max;
}

static void keyspace_walk_pattern(keyspace_walk_t *w, const char *pattern, size_t len,
                                  keyspace_key_fn fn, void *arg)
{
    bool all = !pattern || (len == 1 && pattern[0] == '*');
    w->pattern = all ? NULL : pattern;
    w->pattern_len = all ? 0 : len;
    w->fn = fn;
    w->arg = arg;
}

/* Remembers the position just after ks->scan_last; returns the cursor. */
static uint64_t keyspace_cursor_save(keyspace_t *ks)
{
    if (++ks->cursor_next_id >= KEYSPACE_CURSOR_ID_MAX)
        ks->cursor_next_id = 1;
    uint64_t id = ks->cursor_next_id;
    keyspace_cursor_t *c = &ks->cursors[id % KEYSPACE_SCAN_CURSORS_MAX];
    c->id = id;
    buf_clear(&c->pos);
    buf_append(&c->pos, ks->scan_last.data, ks->scan_last.len);
    buf_append_byte(&c->pos, 0);
    const uint8_t *k = (const uint8_t *)ks->scan_last.data;
    uint64_t slot = ks->scan_last.len >= SLOT_KEY_PREFIX_LEN ? ((uint64_t)k[0] << 8 | k[1]) : 0;
    return id << KEYSPACE_CURSOR_SLOT_BITS | (slot & (SLOT_COUNT - 1));
}

int keyspace_scan(keyspace_t *ks, uint64_t cursor, uint64_t now_ms, const char *pattern,
                  size_t pattern_len, uint32_t count, keyspace_key_fn fn, void *arg,
                  uint64_t *next_out)
{
    uint64_t id = cursor >> KEYSPACE_CURSOR_SLOT_BITS;
    uint8_t prefix[SLOT_KEY_PREFIX_LEN];
    slot_prefix(prefix, (uint16_t)(cursor & (SLOT_COUNT - 1)));
    const void *start = prefix;
    size_t start_len = sizeof prefix;
    const keyspace_cursor_t *saved = &ks->cursors[id % KEYSPACE_SCAN_CURSORS_MAX];
    if (id != 0 && saved->id == id) {
        start = saved->pos.data;
        start_len = saved->pos.len;
    }
    if (count == 0)
        count = 1;
    if (count > KEYSPACE_SCAN_COUNT_MAX)
        count = KEYSPACE_SCAN_COUNT_MAX;
    keyspace_walk_t w;
    keyspace_walk_init(&w, ks, now_ms, count);
    keyspace_walk_pattern(&w, pattern, pattern_len, fn, arg);
    w.track_last = true;
    int rc = store_scan(ks->store, STORE_CF_DATA, start, start_len, NULL, 0, keyspace_match_fn,
                        &w);
    *next_out = rc >= 0 && w.visited >= count ? keyspace_cursor_save(ks) : 0;
    keyspace_walk_free(&w);
    return rc < 0 ? rc : KEYSPACE_OK;
}

int keyspace_keys(keyspace_t *ks, uint64_t now_ms, const char *pattern, size_t pattern_len,
                  keyspace_key_fn fn, void *arg)
{
    keyspace_walk_t w;
    keyspace_walk_init(&w, ks, now_ms, UINT32_MAX);
    keyspace_walk_pattern(&w, pattern, pattern_len, fn, arg);
    int rc = store_scan(ks->store, STORE_CF_DATA, NULL, 0, NULL, 0, keyspace_match_fn, &w);
    keyspace_walk_free(&w);
    return rc < 0 ? rc : KEYSPACE_OK;
}
