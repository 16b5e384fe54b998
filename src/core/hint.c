/* hint.c - hinted handoff records in STORE_CF_HINTS and their delivery state
 * per target (see hint.h): add with merge, batches in key order, acks that
 * delete only what was delivered, TTL drops, and backoff with jitter. */
#include "core/hint.h"

#include <stdlib.h>
#include <string.h>

#include "core/slot.h"
#include "util/alloc.h"
#include "util/hash.h"

#define HINT_STAMP_SEED 0x68696e74ULL /* "hint" */

/* One item of a batch in flight: which key (by hash) and which content. */
typedef struct hint_flight {
    uint64_t key_hash;
    uint64_t stamp;
    bool acked;
} hint_flight_t;

typedef struct hint_target {
    uint64_t id;
    uint64_t count;
    uint64_t bytes;
    uint64_t oldest_ms;       /* a lower bound of its hints' created_ms */
    uint64_t backoff_ms;      /* 0: no failure since the last good batch */
    uint64_t next_attempt_ms; /* no batch before this */
    bool in_flight;
    uint64_t flight_deadline_ms;
    hint_flight_t *flight; /* owned, cap HINT_BATCH_KEYS_MAX */
    uint32_t flight_len;
    uint32_t unacked;
} hint_target_t;

struct hint {
    hint_config_t cfg;
    store_t *store; /* borrowed */
    hint_target_t *targets; /* owned */
    uint32_t n_targets;
    hint_stats_t stats;
};

/* A decoded record: created_ms and the encoded versions (borrowed). */
typedef struct hint_record {
    uint64_t created_ms;
    const uint8_t *versions;
    size_t versions_len;
} hint_record_t;

void hint_config_default(hint_config_t *cfg)
{
    cfg->bytes_max = 64u * 1024 * 1024;
    cfg->count_max = 1000000;
    cfg->ttl_ms = 3u * 3600 * 1000;
    cfg->batch_keys_max = 64;
    cfg->batch_bytes_max = 1024 * 1024;
    cfg->backoff_base_ms = 100;
    cfg->backoff_max_ms = 30000;
    cfg->ack_timeout_ms = 5000;
}

void hint_batch_free(hint_batch_t *b)
{
    for (uint32_t i = 0; i < b->len; i++) {
        buf_free(&b->items[i].key);
        buf_free(&b->items[i].versions);
    }
    free(b->items);
    b->items = NULL;
    b->len = b->cap = 0;
}

static void batch_clear(hint_batch_t *b)
{
    for (uint32_t i = 0; i < b->len; i++) {
        buf_free(&b->items[i].key);
        buf_free(&b->items[i].versions);
    }
    b->len = 0;
}

/* --- records and keys --- */

static void store_key(buf_t *out, uint64_t target, const void *data_key, size_t key_len)
{
    buf_clear(out);
    buf_put_u64be(out, target);
    buf_append(out, data_key, key_len);
}

static void target_prefix(uint8_t p[HINT_KEY_PREFIX_LEN], uint64_t target)
{
    for (int i = 0; i < HINT_KEY_PREFIX_LEN; i++)
        p[i] = (uint8_t)(target >> (56 - 8 * i));
}

static bool record_decode(hint_record_t *r, const void *val, size_t len)
{
    cursor_t c;
    uint8_t format;
    cursor_init(&c, val, len);
    if (!cursor_u8(&c, &format) || format != HINT_FORMAT || !cursor_varint(&c, &r->created_ms))
        return false;
    r->versions = c.pos;
    r->versions_len = cursor_left(&c);
    return r->versions_len > 0;
}

static void record_encode(buf_t *out, uint64_t created_ms, const versions_t *vs)
{
    buf_clear(out);
    buf_append_byte(out, HINT_FORMAT);
    buf_put_varint(out, created_ms);
    versions_encode(vs, out);
}

static uint64_t record_stamp(const void *val, size_t len)
{
    return hash64(val, len, HINT_STAMP_SEED);
}

static bool expired(const hint_t *h, uint64_t created_ms, uint64_t now_ms)
{
    return h->cfg.ttl_ms != 0 && now_ms >= created_ms && now_ms - created_ms >= h->cfg.ttl_ms;
}

/* --- targets --- */

static hint_target_t *target_find(hint_t *h, uint64_t id)
{
    for (uint32_t i = 0; i < h->n_targets; i++)
        if (h->targets[i].id == id)
            return &h->targets[i];
    return NULL;
}

static const hint_target_t *target_find_const(const hint_t *h, uint64_t id)
{
    return target_find((hint_t *)h, id);
}

static hint_target_t *target_get(hint_t *h, uint64_t id, uint64_t now_ms)
{
    hint_target_t *t = target_find(h, id);
    if (t != NULL || h->n_targets == HINT_TARGETS_MAX)
        return t;
    t = &h->targets[h->n_targets++];
    memset(t, 0, sizeof *t);
    t->id = id;
    t->oldest_ms = now_ms;
    t->flight = xcalloc(HINT_BATCH_KEYS_MAX, sizeof *t->flight);
    return t;
}

/* Forgets targets with no hints and no batch in flight (a new hint for one
 * starts without backoff: the target may well be back by then). */
static void targets_compact(hint_t *h)
{
    for (uint32_t i = 0; i < h->n_targets;) {
        hint_target_t *t = &h->targets[i];
        if (t->count == 0 && !t->in_flight) {
            free(t->flight);
            h->targets[i] = h->targets[--h->n_targets];
        } else {
            i++;
        }
    }
}

static void account_add(hint_t *h, hint_target_t *t, uint64_t bytes, uint64_t created_ms)
{
    if (t->count == 0 || created_ms < t->oldest_ms)
        t->oldest_ms = created_ms;
    t->count++;
    t->bytes += bytes;
    h->stats.pending++;
    h->stats.pending_bytes += bytes;
}

static void account_remove(hint_t *h, hint_target_t *t, uint64_t bytes)
{
    t->count -= t->count > 0;
    t->bytes -= bytes < t->bytes ? bytes : t->bytes;
    h->stats.pending -= h->stats.pending > 0;
    h->stats.pending_bytes -= bytes < h->stats.pending_bytes ? bytes : h->stats.pending_bytes;
}

/* --- lifecycle --- */

hint_t *hint_new(const hint_config_t *cfg, store_t *store)
{
    hint_t *h = xcalloc(1, sizeof *h);
    h->cfg = *cfg;
    if (h->cfg.batch_keys_max == 0 || h->cfg.batch_keys_max > HINT_BATCH_KEYS_MAX)
        h->cfg.batch_keys_max = HINT_BATCH_KEYS_MAX;
    if (h->cfg.batch_bytes_max == 0 || h->cfg.batch_bytes_max > HINT_BATCH_BYTES_MAX)
        h->cfg.batch_bytes_max = HINT_BATCH_BYTES_MAX;
    if (h->cfg.backoff_base_ms == 0)
        h->cfg.backoff_base_ms = 1;
    if (h->cfg.backoff_max_ms < h->cfg.backoff_base_ms)
        h->cfg.backoff_max_ms = h->cfg.backoff_base_ms;
    if (h->cfg.backoff_max_ms > UINT32_MAX)
        h->cfg.backoff_max_ms = UINT32_MAX;
    h->store = store;
    h->targets = xcalloc(HINT_TARGETS_MAX, sizeof *h->targets);
    return h;
}

void hint_free(hint_t *h)
{
    if (h == NULL)
        return;
    for (uint32_t i = 0; i < h->n_targets; i++)
        free(h->targets[i].flight);
    free(h->targets);
    free(h);
}

/* --- scanning: load, sweep and batch share one walk --- */

typedef struct hint_scan {
    hint_t *h;
    uint64_t now_ms;
    buf_t doomed;      /* store keys to delete, each as buf_put_bytes */
    uint32_t n_doomed;
    hint_batch_t *batch; /* NULL: no batch wanted */
    uint64_t batch_bytes;
    bool load;         /* count every live record into its target */
    uint64_t oldest_ms; /* sweep: oldest live created_ms seen */
} hint_scan_t;

static void scan_doom(hint_scan_t *s, const void *key, size_t key_len, size_t bytes,
                      bool corrupt)
{
    buf_put_bytes(&s->doomed, key, key_len);
    buf_put_varint(&s->doomed, bytes);
    buf_append_byte(&s->doomed, corrupt);
    s->n_doomed++;
}

static void batch_push(hint_batch_t *b, const void *key, size_t key_len,
                       const hint_record_t *r, uint64_t stamp)
{
    if (b->len == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 16;
        b->items = xrealloc(b->items, b->cap * sizeof *b->items);
    }
    hint_item_t *it = &b->items[b->len++];
    buf_init(&it->key);
    buf_init(&it->versions);
    buf_append(&it->key, key, key_len);
    buf_append(&it->versions, r->versions, r->versions_len);
    it->stamp = stamp;
}

static int scan_fn(void *arg, const void *key, size_t key_len, const void *val, size_t val_len)
{
    hint_scan_t *s = arg;
    hint_record_t r;
    const uint8_t *k = key;
    if (s->n_doomed >= HINT_BATCH_KEYS_MAX)
        return 1;
    bool ok = key_len >= HINT_KEY_PREFIX_LEN + SLOT_KEY_PREFIX_LEN &&
              record_decode(&r, val, val_len);
    if (!ok || expired(s->h, r.created_ms, s->now_ms)) {
        scan_doom(s, key, key_len, key_len + val_len, !ok);
        return 0;
    }
    if (r.created_ms < s->oldest_ms)
        s->oldest_ms = r.created_ms;
    if (s->load) {
        uint64_t target = 0;
        for (int i = 0; i < HINT_KEY_PREFIX_LEN; i++)
            target = (target << 8) | k[i];
        hint_target_t *t = target_get(s->h, target, r.created_ms);
        if (t != NULL)
            account_add(s->h, t, key_len + val_len, r.created_ms);
        return 0;
    }
    if (s->batch == NULL)
        return 0;
    batch_push(s->batch, k + HINT_KEY_PREFIX_LEN, key_len - HINT_KEY_PREFIX_LEN, &r,
               record_stamp(val, val_len));
    s->batch_bytes += key_len + val_len;
    return s->batch->len >= s->h->cfg.batch_keys_max ||
           s->batch_bytes >= s->h->cfg.batch_bytes_max;
}

/* Deletes the doomed keys (expired or corrupt), counting them. */
static int scan_finish(hint_scan_t *s, hint_target_t *t)
{
    cursor_t c;
    int rc = 0;
    cursor_init(&c, s->doomed.data, s->doomed.len);
    for (uint32_t i = 0; i < s->n_doomed && rc == 0; i++) {
        const uint8_t *key;
        size_t key_len;
        uint64_t bytes;
        uint8_t corrupt;
        cursor_bytes(&c, SIZE_MAX, &key, &key_len);
        cursor_varint(&c, &bytes);
        cursor_u8(&c, &corrupt);
        rc = store_del(s->h->store, STORE_CF_HINTS, key, key_len);
        if (rc != 0)
            break;
        if (corrupt)
            s->h->stats.dropped_corrupt++;
        else
            s->h->stats.dropped_ttl++;
        if (t != NULL)
            account_remove(s->h, t, bytes);
    }
    buf_free(&s->doomed);
    return rc;
}

/* Scans target's range (or the whole family when t is NULL and s->load). */
static int scan_run(hint_scan_t *s, hint_target_t *t)
{
    uint8_t start[HINT_KEY_PREFIX_LEN], end[HINT_KEY_PREFIX_LEN];
    int rc;
    s->oldest_ms = UINT64_MAX;
    if (t == NULL) {
        rc = store_scan(s->h->store, STORE_CF_HINTS, NULL, 0, NULL, 0, scan_fn, s);
    } else {
        target_prefix(start, t->id);
        target_prefix(end, t->id + 1);
        bool last = t->id == UINT64_MAX;
        rc = store_scan(s->h->store, STORE_CF_HINTS, start, sizeof start, last ? NULL : end,
                        last ? 0 : sizeof end, scan_fn, s);
    }
    int rc2 = scan_finish(s, t);
    return rc < 0 ? rc : rc2;
}

int hint_load(hint_t *h, uint64_t now_ms)
{
    int rc;
    for (;;) { /* each pass deletes at most HINT_BATCH_KEYS_MAX dead records */
        hint_scan_t s = {.h = h, .now_ms = now_ms, .load = true};
        for (uint32_t i = 0; i < h->n_targets; i++)
            h->targets[i].count = h->targets[i].bytes = 0;
        h->stats.pending = h->stats.pending_bytes = 0;
        rc = scan_run(&s, NULL);
        if (rc < 0 || s.n_doomed < HINT_BATCH_KEYS_MAX)
            break;
    }
    targets_compact(h);
    return rc;
}

/* --- adding --- */

static int add_new(hint_t *h, uint64_t target, const buf_t *key, const versions_t *vs,
                   uint64_t now_ms)
{
    hint_target_t *t = target_get(h, target, now_ms);
    buf_t val = BUF_INIT;
    record_encode(&val, now_ms, vs);
    uint64_t bytes = key->len + val.len;
    int rc = HINT_EFULL;
    if (t != NULL && h->stats.pending < h->cfg.count_max &&
        h->stats.pending_bytes + bytes <= h->cfg.bytes_max)
        rc = store_put(h->store, STORE_CF_HINTS, key->data, key->len, val.data, val.len);
    if (rc == 0)
        account_add(h, t, bytes, now_ms);
    else if (rc == HINT_EFULL)
        h->stats.dropped_full++;
    buf_free(&val);
    return rc;
}

/* Merges vs into the stored record old (a corrupt one is replaced). */
static int add_merge(hint_t *h, uint64_t target, const buf_t *key, const buf_t *old,
                     const versions_t *vs, uint64_t now_ms)
{
    hint_record_t r;
    versions_t merged = VERSIONS_INIT;
    if (!record_decode(&r, old->data, old->len) ||
        versions_decode(&merged, r.versions, r.versions_len) != VERSIONS_OK) {
        h->stats.dropped_corrupt++;
        r.created_ms = now_ms;
    }
    if (!versions_merge(&merged, vs)) {
        versions_free(&merged);
        h->stats.merged++;
        return HINT_OK;
    }
    buf_t val = BUF_INIT;
    record_encode(&val, r.created_ms, &merged);
    versions_free(&merged);
    int rc = HINT_EFULL;
    uint64_t grow = val.len > old->len ? val.len - old->len : 0;
    if (h->stats.pending_bytes + grow <= h->cfg.bytes_max)
        rc = store_put(h->store, STORE_CF_HINTS, key->data, key->len, val.data, val.len);
    hint_target_t *t = target_find(h, target);
    if (rc == 0 && t != NULL) {
        t->bytes = t->bytes + val.len - old->len;
        h->stats.pending_bytes = h->stats.pending_bytes + val.len - old->len;
    }
    h->stats.merged += rc == 0;
    h->stats.dropped_full += rc == HINT_EFULL;
    buf_free(&val);
    return rc;
}

int hint_add(hint_t *h, uint64_t target, const void *data_key, size_t key_len,
             const versions_t *vs, uint64_t now_ms)
{
    if (key_len < SLOT_KEY_PREFIX_LEN || vs == NULL || vs->len == 0)
        return HINT_EINVAL;
    buf_t key = BUF_INIT, old = BUF_INIT;
    store_key(&key, target, data_key, key_len);
    int rc = store_get(h->store, STORE_CF_HINTS, key.data, key.len, &old);
    if (rc == 1)
        rc = add_merge(h, target, &key, &old, vs, now_ms);
    else if (rc == 0)
        rc = add_new(h, target, &key, vs, now_ms);
    buf_free(&key);
    buf_free(&old);
    targets_compact(h);
    return rc;
}

/* --- delivery --- */

int hint_next_batch(hint_t *h, uint64_t target, uint64_t now_ms, hint_batch_t *batch)
{
    batch_clear(batch);
    hint_target_t *t = target_find(h, target);
    if (t == NULL || t->count == 0 || t->in_flight || now_ms < t->next_attempt_ms)
        return 0;
    hint_scan_t s = {.h = h, .now_ms = now_ms, .batch = batch};
    int rc = scan_run(&s, t);
    if (rc < 0 || batch->len == 0) {
        batch_clear(batch);
        targets_compact(h);
        return rc;
    }
    t->in_flight = true;
    t->flight_deadline_ms = now_ms + h->cfg.ack_timeout_ms;
    t->flight_len = t->unacked = batch->len;
    for (uint32_t i = 0; i < batch->len; i++) {
        const hint_item_t *it = &batch->items[i];
        t->flight[i] = (hint_flight_t){hash64(it->key.data, it->key.len, 0), it->stamp, false};
    }
    return (int)batch->len;
}

/* Marks (key, stamp) acked in t's batch in flight; false when it is not there. */
static bool flight_ack(hint_target_t *t, const void *data_key, size_t key_len, uint64_t stamp)
{
    uint64_t key_hash = hash64(data_key, key_len, 0);
    for (uint32_t i = 0; t->in_flight && i < t->flight_len; i++) {
        hint_flight_t *f = &t->flight[i];
        if (!f->acked && f->key_hash == key_hash && f->stamp == stamp) {
            f->acked = true;
            t->unacked--;
            return true;
        }
    }
    return false;
}

int hint_ack(hint_t *h, uint64_t target, const void *data_key, size_t key_len,
             uint64_t stamp)
{
    hint_target_t *t = target_find(h, target);
    if (t == NULL || !flight_ack(t, data_key, key_len, stamp))
        return 0;
    buf_t key = BUF_INIT, val = BUF_INIT;
    store_key(&key, target, data_key, key_len);
    int rc = store_get(h->store, STORE_CF_HINTS, key.data, key.len, &val);
    if (rc == 1 && record_stamp(val.data, val.len) == stamp) {
        rc = store_del(h->store, STORE_CF_HINTS, key.data, key.len);
        if (rc == 0) {
            account_remove(h, t, key.len + val.len);
            h->stats.delivered++;
        }
    }
    if (t->unacked == 0) {
        t->in_flight = false;
        t->backoff_ms = 0;
        t->next_attempt_ms = 0;
    }
    buf_free(&key);
    buf_free(&val);
    targets_compact(h);
    return rc < 0 ? rc : 0;
}

static void target_fail(hint_t *h, hint_target_t *t, uint64_t now_ms, pcg32_t *rng)
{
    t->in_flight = false;
    t->flight_len = t->unacked = 0;
    uint64_t doubled = t->backoff_ms * 2;
    t->backoff_ms = t->backoff_ms == 0 ? h->cfg.backoff_base_ms : doubled;
    if (t->backoff_ms > h->cfg.backoff_max_ms)
        t->backoff_ms = h->cfg.backoff_max_ms;
    uint32_t half = (uint32_t)(t->backoff_ms / 2);
    t->next_attempt_ms = now_ms + (t->backoff_ms - half) + pcg32_bounded(rng, half + 1);
    h->stats.failures++;
}

void hint_failed(hint_t *h, uint64_t target, uint64_t now_ms, pcg32_t *rng)
{
    hint_target_t *t = target_find(h, target);
    if (t != NULL)
        target_fail(h, t, now_ms, rng);
}

/* Drops t's expired hints; the oldest bound moves only after a full pass. */
static int sweep(hint_t *h, hint_target_t *t, uint64_t now_ms)
{
    hint_scan_t s = {.h = h, .now_ms = now_ms};
    int rc = scan_run(&s, t);
    if (rc == 0 && s.n_doomed < HINT_BATCH_KEYS_MAX)
        t->oldest_ms = s.oldest_ms == UINT64_MAX ? now_ms : s.oldest_ms;
    return rc;
}

int hint_tick(hint_t *h, uint64_t now_ms, pcg32_t *rng)
{
    int rc = 0;
    for (uint32_t i = 0; i < h->n_targets; i++) {
        hint_target_t *t = &h->targets[i];
        if (t->in_flight && now_ms >= t->flight_deadline_ms)
            target_fail(h, t, now_ms, rng);
        if (rc == 0 && t->count > 0 && expired(h, t->oldest_ms, now_ms))
            rc = sweep(h, t, now_ms);
    }
    targets_compact(h);
    return rc;
}

static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }

uint64_t hint_next_deadline(const hint_t *h)
{
    uint64_t next = UINT64_MAX;
    for (uint32_t i = 0; i < h->n_targets; i++) {
        const hint_target_t *t = &h->targets[i];
        if (t->in_flight)
            next = min_u64(next, t->flight_deadline_ms);
        if (t->count > 0 && h->cfg.ttl_ms != 0)
            next = min_u64(next, t->oldest_ms + h->cfg.ttl_ms);
    }
    return next;
}

/* --- introspection --- */

uint32_t hint_targets(const hint_t *h, uint64_t *out, uint32_t max)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < h->n_targets && n < max; i++)
        if (h->targets[i].count > 0)
            out[n++] = h->targets[i].id;
    return n;
}

uint64_t hint_pending(const hint_t *h, uint64_t target, uint64_t *bytes_out)
{
    const hint_target_t *t = target_find_const(h, target);
    if (bytes_out != NULL)
        *bytes_out = t != NULL ? t->bytes : 0;
    return t != NULL ? t->count : 0;
}

uint64_t hint_backoff_ms(const hint_t *h, uint64_t target)
{
    const hint_target_t *t = target_find_const(h, target);
    return t != NULL ? t->backoff_ms : 0;
}

const hint_stats_t *hint_stats(const hint_t *h) { return &h->stats; }
