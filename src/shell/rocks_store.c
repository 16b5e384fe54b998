/* rocks_store.c - store_t over RocksDB's C API (see rocks_store.h).
 *
 * Sections: options and open/close, the expiry compaction filter, the
 * store_ops (get put del scan del_range), commit and properties. */
#include "shell/rocks_store.h"

#include <rocksdb/c.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/versions.h"
#include "shell/read_cache.h"
#include "shell/write_stage.h"
#include "util/alloc.h"

static const char *const cf_names[STORE_CF_COUNT] = {"data", "hints", "merkle", "meta"};

struct rocks_store {
    rocksdb_t *db;
    rocksdb_options_t *db_opts;
    rocksdb_options_t *cf_opts[STORE_CF_COUNT];
    rocksdb_column_family_handle_t *cf[STORE_CF_COUNT];
    rocksdb_cache_t *row_cache;
    rocksdb_block_based_table_options_t *data_table;
    rocksdb_cache_t *data_block_cache;
    rocksdb_compactionfilter_t *expiry_filter;
    write_stage_t stage;        /* the round's writes, until commit */
    read_cache_t hot;           /* the data family's hot keys */
    rocksdb_writebatch_t *batch; /* reused by every commit */
    rocksdb_writeoptions_t *wopts;
    rocksdb_readoptions_t *ropts;
    store_t store;
    uint64_t commits;
    bool commit_failed;     /* sticky: some staged writes were lost */
    uint64_t filtered_keys; /* written by compaction threads (atomic) */
    uint64_t filter_grace_ms;
};

/* ------------------------------------------------ the compaction filter */

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* True when every version of vs is dead and expired (tombstones carry their
 * reclaim time as expiry, see core/keyspace.h) before before_ms. */
static bool versions_reclaimable(const versions_t *vs, uint64_t before_ms)
{
    for (uint32_t i = 0; i < vs->len; i++) {
        uint64_t at = vs->items[i].expire_at_ms;
        if (at == 0 || at > before_ms)
            return false;
    }
    return true;
}

/* Drops a data key once every version of it expired ROCKS_FILTER_GRACE_MS
 * ago. A value that does not decode is kept: the filter never destroys what
 * it cannot read. */
static unsigned char expiry_filter_fn(void *state, int level, const char *key, size_t key_len,
                                      const char *val, size_t val_len, char **new_val,
                                      size_t *new_val_len, unsigned char *changed)
{
    rocks_store_t *rs = state;
    versions_t vs = VERSIONS_INIT;
    *changed = 0;
    if (versions_decode(&vs, val, val_len) != VERSIONS_OK)
        return 0;
    uint64_t now = wall_ms(), grace = __atomic_load_n(&rs->filter_grace_ms, __ATOMIC_RELAXED);
    unsigned char drop = now > grace && versions_reclaimable(&vs, now - grace);
    versions_free(&vs);
    if (drop)
        __atomic_add_fetch(&rs->filtered_keys, 1, __ATOMIC_RELAXED);
    return drop;
}

static void expiry_filter_destroy(void *state)
{
}

static const char *expiry_filter_name(void *state)
{
    return "dynis.expiry";
}

/* ------------------------------------------------------ open and close */

static void set_data_options(rocks_store_t *rs, rocksdb_options_t *o)
{
    rocksdb_options_optimize_for_point_lookup(o, ROCKS_BLOCK_CACHE_MB);
    /* optimize_for_point_lookup installs its own table factory; replace it
     * with one whose cache we hold, so INFO can report its usage. */
    rs->data_block_cache = rocksdb_cache_create_lru((size_t)ROCKS_BLOCK_CACHE_MB * 1024 * 1024);
    rs->data_table = rocksdb_block_based_options_create();
    rocksdb_block_based_options_set_block_cache(rs->data_table, rs->data_block_cache);
    rocksdb_block_based_options_set_filter_policy(rs->data_table,
                                                  rocksdb_filterpolicy_create_bloom(10));
    rocksdb_block_based_options_set_data_block_index_type(
        rs->data_table, rocksdb_block_based_table_data_block_index_type_binary_search_and_hash);
    rocksdb_block_based_options_set_whole_key_filtering(rs->data_table, 1);
    rocksdb_options_set_block_based_table_factory(o, rs->data_table);
    rs->expiry_filter = rocksdb_compactionfilter_create(rs, expiry_filter_destroy,
                                                        expiry_filter_fn, expiry_filter_name);
    rocksdb_options_set_compaction_filter(o, rs->expiry_filter);
}

static void set_options(rocks_store_t *rs, bool sync_commits)
{
    rs->db_opts = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(rs->db_opts, 1);
    rocksdb_options_set_create_missing_column_families(rs->db_opts, 1);
    rocksdb_options_set_max_background_jobs(rs->db_opts, 2);
    rocksdb_options_set_allow_concurrent_memtable_write(rs->db_opts, 0);
    rocksdb_options_set_keep_log_file_num(rs->db_opts, 4);
    rocksdb_options_set_max_log_file_size(rs->db_opts, 16 * 1024 * 1024);
    rs->row_cache = rocksdb_cache_create_lru(ROCKS_ROW_CACHE_BYTES);
    rocksdb_options_set_row_cache(rs->db_opts, rs->row_cache);
    for (int i = 0; i < STORE_CF_COUNT; i++) {
        rs->cf_opts[i] = rocksdb_options_create();
        rocksdb_options_set_compression(rs->cf_opts[i], rocksdb_lz4_compression);
    }
    set_data_options(rs, rs->cf_opts[STORE_CF_DATA]);
    rs->wopts = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(rs->wopts, sync_commits);
    rs->ropts = rocksdb_readoptions_create();
    rs->batch = rocksdb_writebatch_create();
    write_stage_init(&rs->stage);
    read_cache_init(&rs->hot);
}

static void free_options(rocks_store_t *rs)
{
    rocksdb_writebatch_destroy(rs->batch);
    write_stage_free(&rs->stage);
    read_cache_free(&rs->hot);
    rocksdb_readoptions_destroy(rs->ropts);
    rocksdb_writeoptions_destroy(rs->wopts);
    for (int i = 0; i < STORE_CF_COUNT; i++)
        rocksdb_options_destroy(rs->cf_opts[i]);
    rocksdb_options_destroy(rs->db_opts);
    rocksdb_block_based_options_destroy(rs->data_table);
    rocksdb_cache_destroy(rs->data_block_cache);
    rocksdb_cache_destroy(rs->row_cache);
    rocksdb_compactionfilter_destroy(rs->expiry_filter);
}

static const store_ops_t rocks_store_ops;

rocks_store_t *rocks_store_open(const char *dir, bool sync_commits, buf_t *err)
{
    rocks_store_t *rs = xcalloc(1, sizeof *rs);
    rs->filter_grace_ms = ROCKS_FILTER_GRACE_MS;
    set_options(rs, sync_commits);
    const rocksdb_options_t *cf_opts[STORE_CF_COUNT];
    for (int i = 0; i < STORE_CF_COUNT; i++)
        cf_opts[i] = rs->cf_opts[i];
    /* "default" must be opened too; this store keeps nothing in it. */
    const char *names[STORE_CF_COUNT + 1] = {"default"};
    const rocksdb_options_t *opts[STORE_CF_COUNT + 1] = {rs->db_opts};
    rocksdb_column_family_handle_t *handles[STORE_CF_COUNT + 1];
    for (int i = 0; i < STORE_CF_COUNT; i++) {
        names[i + 1] = cf_names[i];
        opts[i + 1] = cf_opts[i];
    }
    char *e = NULL;
    rs->db = rocksdb_open_column_families(rs->db_opts, dir, STORE_CF_COUNT + 1, names, opts,
                                          handles, &e);
    if (e != NULL) {
        buf_append_str(err, e);
        free(e);
        free_options(rs);
        free(rs);
        return NULL;
    }
    rocksdb_column_family_handle_destroy(handles[0]);
    for (int i = 0; i < STORE_CF_COUNT; i++)
        rs->cf[i] = handles[i + 1];
    rs->store.ops = &rocks_store_ops;
    rs->store.impl = rs;
    return rs;
}

void rocks_store_close(rocks_store_t *rs)
{
    if (rs == NULL)
        return;
    buf_t err = BUF_INIT;
    rocks_store_commit(rs, &err);
    rocks_store_sync_wal(rs, &err);
    buf_free(&err);
    rocksdb_cancel_all_background_work(rs->db, 1);
    for (int i = 0; i < STORE_CF_COUNT; i++)
        rocksdb_column_family_handle_destroy(rs->cf[i]);
    rocksdb_close(rs->db);
    free_options(rs);
    free(rs);
}

store_t *rocks_store_store(rocks_store_t *rs)
{
    return &rs->store;
}

/* ---------------------------------------------------------- store_ops */

/* Copies len bytes at v into val_out (which holds nothing yet). */
static void copy_value(buf_t *val_out, const char *v, size_t len)
{
    buf_reserve(val_out, len + 1);
    buf_append(val_out, v, len);
}

/* Reads the stage, then (data family) the hot-key cache, then RocksDB; a
 * data key found in RocksDB is cached. */
static int rs_get(void *impl, enum store_cf cf, const void *key, size_t key_len, buf_t *val_out)
{
    rocks_store_t *rs = impl;
    buf_clear(val_out);
    const write_stage_entry_t *e = write_stage_find(&rs->stage, (uint8_t)cf, key, key_len);
    if (e != NULL) {
        if (e->tombstone)
            return 0;
        copy_value(val_out, write_stage_val(&rs->stage, e), e->val_len);
        return 1;
    }
    size_t len;
    const char *v = cf == STORE_CF_DATA ? read_cache_find(&rs->hot, key, key_len, &len) : NULL;
    if (v != NULL) {
        copy_value(val_out, v, len);
        return 1;
    }
    char *err = NULL;
    rocksdb_pinnableslice_t *ps =
        rocksdb_get_pinned_cf(rs->db, rs->ropts, rs->cf[cf], key, key_len, &err);
    if (err != NULL) {
        free(err);
        return STORE_EIO;
    }
    if (ps == NULL)
        return 0;
    v = rocksdb_pinnableslice_value(ps, &len);
    copy_value(val_out, v, len);
    if (cf == STORE_CF_DATA)
        read_cache_fill(&rs->hot, key, key_len, v, len);
    rocksdb_pinnableslice_destroy(ps);
    return 1;
}

/* Commits early when a round stages more than the stage's bounds (a huge
 * MSET, a FLUSH of many keys): durable sooner, never more memory. */
static int stage_bound(rocks_store_t *rs)
{
    if (write_stage_count(&rs->stage) < ROCKS_STAGE_ENTRIES_MAX &&
        rs->stage.arena.len < ROCKS_STAGE_BYTES_MAX)
        return STORE_OK;
    buf_t err = BUF_INIT;
    int rc = rocks_store_commit(rs, &err);
    buf_free(&err);
    return rc;
}

static int rs_put(void *impl, enum store_cf cf, const void *key, size_t key_len, const void *val,
                  size_t val_len)
{
    rocks_store_t *rs = impl;
    write_stage_put(&rs->stage, (uint8_t)cf, key, key_len, val, val_len);
    if (cf == STORE_CF_DATA)
        read_cache_update(&rs->hot, key, key_len, val, val_len);
    return stage_bound(rs);
}

static int rs_del(void *impl, enum store_cf cf, const void *key, size_t key_len)
{
    rocks_store_t *rs = impl;
    write_stage_del(&rs->stage, (uint8_t)cf, key, key_len);
    if (cf == STORE_CF_DATA)
        read_cache_erase(&rs->hot, key, key_len);
    return stage_bound(rs);
}

static int key_cmp(const char *a, size_t alen, const void *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen;
}

/* One chunk of a scan: entries copied out of the iterator. */
typedef struct scan_chunk {
    buf_t bytes;    /* key and value bytes, back to back */
    size_t offs[ROCKS_SCAN_CHUNK_ENTRIES][2]; /* key length, value length */
    int n;
    bool more;      /* the range goes on past this chunk */
} scan_chunk_t;

/* Copies entries from start (inclusive unless after) up to end into ch.
 * Commits first, so the staged writes are in what the iterator reads. */
static int scan_fill(rocks_store_t *rs, enum store_cf cf, const void *start, size_t start_len,
                     bool after, const void *end, size_t end_len, scan_chunk_t *ch)
{
    buf_t err = BUF_INIT;
    int rc = rocks_store_commit(rs, &err);
    buf_free(&err);
    if (rc != STORE_OK)
        return rc;
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(rs->db, rs->ropts, rs->cf[cf]);
    rocksdb_iter_seek(it, start_len ? start : "", start_len);
    buf_clear(&ch->bytes);
    ch->n = 0;
    ch->more = false;
    for (; rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t kl, vl;
        const char *k = rocksdb_iter_key(it, &kl);
        if (after && key_cmp(k, kl, start, start_len) == 0)
            continue;
        if (end != NULL && key_cmp(k, kl, end, end_len) >= 0)
            break;
        if (ch->n == ROCKS_SCAN_CHUNK_ENTRIES || ch->bytes.len >= ROCKS_SCAN_CHUNK_BYTES) {
            ch->more = true;
            break;
        }
        const char *v = rocksdb_iter_value(it, &vl);
        buf_append(&ch->bytes, k, kl);
        buf_append(&ch->bytes, v, vl);
        ch->offs[ch->n][0] = kl;
        ch->offs[ch->n][1] = vl;
        ch->n++;
    }
    char *e = NULL;
    rocksdb_iter_get_error(it, &e);
    rocksdb_iter_destroy(it);
    if (e != NULL) {
        free(e);
        return STORE_EIO;
    }
    return STORE_OK;
}

static int rs_scan(void *impl, enum store_cf cf, const void *start, size_t start_len,
                   const void *end, size_t end_len, store_scan_fn fn, void *arg)
{
    rocks_store_t *rs = impl;
    scan_chunk_t *ch = xcalloc(1, sizeof *ch);
    buf_t from = BUF_INIT;
    buf_append(&from, start, start_len);
    bool after = false, stop = false;
    int rc;
    while ((rc = scan_fill(rs, cf, from.data, from.len, after, end, end_len, ch)) == STORE_OK) {
        size_t pos = 0;
        for (int i = 0; i < ch->n && !stop; i++) {
            const char *k = ch->bytes.data + pos;
            const char *v = k + ch->offs[i][0];
            pos += ch->offs[i][0] + ch->offs[i][1];
            stop = fn(arg, k, ch->offs[i][0], v, ch->offs[i][1]) != 0;
        }
        if (stop || !ch->more || ch->n == 0)
            break;
        /* Go on after the chunk's last key. */
        size_t last = pos - ch->offs[ch->n - 1][0] - ch->offs[ch->n - 1][1];
        buf_clear(&from);
        buf_append(&from, ch->bytes.data + last, ch->offs[ch->n - 1][0]);
        after = true;
    }
    buf_free(&from);
    buf_free(&ch->bytes);
    free(ch);
    return rc;
}

/* The key just past cf's last key (into past); false when cf is empty. */
static bool key_past_last(rocks_store_t *rs, enum store_cf cf, buf_t *past)
{
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(rs->db, rs->ropts, rs->cf[cf]);
    rocksdb_iter_seek_to_last(it);
    bool found = rocksdb_iter_valid(it);
    if (found) {
        size_t kl;
        const char *k = rocksdb_iter_key(it, &kl);
        buf_append(past, k, kl);
        buf_append_byte(past, 0);
    }
    rocksdb_iter_destroy(it);
    return found;
}

/* Copies up to max + 1 keys of cf in [start, end) (end NULL: to the last
 * key) into keys as (varint length, bytes) records; returns how many. */
static size_t range_keys(rocks_store_t *rs, enum store_cf cf, const void *start,
                         size_t start_len, const void *end, size_t end_len, size_t max,
                         buf_t *keys)
{
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(rs->db, rs->ropts, rs->cf[cf]);
    size_t n = 0;
    for (rocksdb_iter_seek(it, start_len ? start : "", start_len);
         rocksdb_iter_valid(it) && n <= max; rocksdb_iter_next(it)) {
        size_t kl;
        const char *k = rocksdb_iter_key(it, &kl);
        if (end != NULL && key_cmp(k, kl, end, end_len) >= 0)
            break;
        buf_put_bytes(keys, k, kl);
        n++;
    }
    rocksdb_iter_destroy(it);
    return n;
}

/* Stages a delete of each key range_keys collected. */
static int del_each(rocks_store_t *rs, enum store_cf cf, const buf_t *keys)
{
    cursor_t c;
    cursor_init(&c, keys->data, keys->len);
    const uint8_t *k;
    size_t kl;
    while (cursor_left(&c) > 0 && cursor_bytes(&c, keys->len, &k, &kl)) {
        write_stage_del(&rs->stage, (uint8_t)cf, k, kl);
        if (cf == STORE_CF_DATA)
            read_cache_erase(&rs->hot, k, kl);
    }
    return stage_bound(rs);
}

/* Deletes [start, end) (end NULL: to the last key). A range tombstone slows
 * every later read of the family until compaction drops it (a FLUSHALL per
 * test piled up thousands: a GET took milliseconds), so a small range gets
 * one staged delete per key, and a large one is compacted at once. */
static int rs_del_range(void *impl, enum store_cf cf, const void *start, size_t start_len,
                        const void *end, size_t end_len)
{
    rocks_store_t *rs = impl;
    buf_t err = BUF_INIT, keys = BUF_INIT, past = BUF_INIT;
    int rc = rocks_store_commit(rs, &err);
    size_t n = rc == STORE_OK ? range_keys(rs, cf, start, start_len, end, end_len,
                                           ROCKS_DEL_RANGE_KEYS_MAX, &keys)
                              : 0;
    if (n > 0 && n <= ROCKS_DEL_RANGE_KEYS_MAX) {
        rc = del_each(rs, cf, &keys);
    } else if (n > 0) {
        if (cf == STORE_CF_DATA)
            read_cache_clear(&rs->hot);
        if (end == NULL) { /* one past the last key covers the last key too */
            rc = key_past_last(rs, cf, &past) ? STORE_OK : STORE_EIO;
            end = past.data;
            end_len = past.len;
        }
        char *e = NULL;
        rocksdb_delete_range_cf(rs->db, rs->wopts, rs->cf[cf], start, start_len, end, end_len,
                                &e);
        rc = e ? STORE_EIO : rc;
        free(e);
        if (rc == STORE_OK)
            rocksdb_compact_range_cf(rs->db, rs->cf[cf], start, start_len, end, end_len);
    }
    buf_free(&err);
    buf_free(&keys);
    buf_free(&past);
    return rc;
}

static const store_ops_t rocks_store_ops = {
    .get = rs_get,
    .put = rs_put,
    .del = rs_del,
    .scan = rs_scan,
    .del_range = rs_del_range,
};

/* ------------------------------------------------- commit and figures */

int rocks_store_commit(rocks_store_t *rs, buf_t *err)
{
    write_stage_t *ws = &rs->stage;
    size_t n = write_stage_count(ws);
    if (rs->commit_failed) {
        buf_append_str(err, "an earlier commit failed");
        return STORE_EIO;
    }
    if (n == 0)
        return STORE_OK;
    for (size_t i = 0; i < n; i++) {
        const write_stage_entry_t *e = write_stage_at(ws, i);
        const char *k = write_stage_key(ws, e);
        if (e->tombstone)
            rocksdb_writebatch_delete_cf(rs->batch, rs->cf[e->cf], k, e->key_len);
        else
            rocksdb_writebatch_put_cf(rs->batch, rs->cf[e->cf], k, e->key_len,
                                      write_stage_val(ws, e), e->val_len);
    }
    char *e = NULL;
    rocksdb_write(rs->db, rs->wopts, rs->batch, &e);
    rocksdb_writebatch_clear(rs->batch);
    write_stage_clear(ws);
    if (e != NULL) {
        buf_append_str(err, e);
        free(e);
        rs->commit_failed = true;
        return STORE_EIO;
    }
    rs->commits++;
    return STORE_OK;
}

bool rocks_store_pending(const rocks_store_t *rs)
{
    return write_stage_count(&rs->stage) != 0;
}

bool rocks_store_failed(const rocks_store_t *rs)
{
    return rs->commit_failed;
}

int rocks_store_sync_wal(rocks_store_t *rs, buf_t *err)
{
    char *e = NULL;
    rocksdb_flush_wal(rs->db, 1, &e);
    if (e != NULL) {
        buf_append_str(err, e);
        free(e);
        return STORE_EIO;
    }
    return STORE_OK;
}

void rocks_store_set_sync_commits(rocks_store_t *rs, bool sync_commits)
{
    rocksdb_writeoptions_set_sync(rs->wopts, sync_commits);
}

void rocks_store_compact(rocks_store_t *rs, enum store_cf cf)
{
    rocksdb_compact_range_cf(rs->db, rs->cf[cf], NULL, 0, NULL, 0);
}

uint64_t rocks_store_property(rocks_store_t *rs, enum store_cf cf, const char *name)
{
    uint64_t v = 0;
    if (rocksdb_property_int_cf(rs->db, rs->cf[cf], name, &v) != 0)
        return 0;
    return v;
}

uint64_t rocks_store_cache_bytes(rocks_store_t *rs)
{
    return rocksdb_cache_get_usage(rs->row_cache) + rocksdb_cache_get_usage(rs->data_block_cache);
}

uint64_t rocks_store_commits(const rocks_store_t *rs)
{
    return rs->commits;
}

uint64_t rocks_store_filtered_keys(const rocks_store_t *rs)
{
    return __atomic_load_n(&rs->filtered_keys, __ATOMIC_RELAXED);
}

void rocks_store_set_filter_grace(rocks_store_t *rs, uint64_t grace_ms)
{
    __atomic_store_n(&rs->filter_grace_ms, grace_ms, __ATOMIC_RELAXED);
}
