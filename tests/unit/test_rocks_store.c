/* test_rocks_store.c - Check suite for src/shell/rocks_store.c, in a fresh
 * temporary directory per test: get/put/del/scan/del_range on every column
 * family, staged writes visible before commit, durability across reopen, and
 * the compaction filter that drops expired version sets; the write stage
 * that deduplicates a round's writes by key; and the hot-key read cache, on
 * its own and kept equal to the store by every write. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "core/versions.h"
#include "shell/read_cache.h"
#include "shell/rocks_store.h"
#include "shell/write_stage.h"

/* Keys used by the scan tests. */
#define TEST_SCAN_KEYS 600
/* Distinct keys staged by the growth test (several table doublings). */
#define TEST_STAGE_KEYS 5000

static char dir[64];

static void setup(void)
{
    strcpy(dir, "/tmp/dynis-test-rocks-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static rocks_store_t *open_store(void)
{
    buf_t err = BUF_INIT;
    rocks_store_t *rs = rocks_store_open(dir, false, &err);
    ck_assert_msg(rs != NULL, "%.*s", (int)err.len, err.data);
    buf_free(&err);
    return rs;
}

static void commit(rocks_store_t *rs)
{
    buf_t err = BUF_INIT;
    ck_assert_int_eq(rocks_store_commit(rs, &err), STORE_OK);
    buf_free(&err);
}

static void assert_value(store_t *s, enum store_cf cf, const char *key, const char *want)
{
    buf_t v = BUF_INIT;
    int rc = store_get(s, cf, key, strlen(key), &v);
    if (want == NULL) {
        ck_assert_int_eq(rc, 0);
    } else {
        ck_assert_int_eq(rc, 1);
        ck_assert_uint_eq(v.len, strlen(want));
        ck_assert(v.len == 0 || memcmp(v.data, want, v.len) == 0);
    }
    buf_free(&v);
}

START_TEST(put_get_del_every_cf)
{
    rocks_store_t *rs = open_store();
    store_t *s = rocks_store_store(rs);
    for (int cf = 0; cf < STORE_CF_COUNT; cf++) {
        char val[16];
        snprintf(val, sizeof val, "v%d", cf);
        ck_assert_int_eq(store_put(s, cf, "k", 1, val, strlen(val)), STORE_OK);
    }
    ck_assert(rocks_store_pending(rs));
    /* Staged writes are visible before the commit, each in its own family. */
    assert_value(s, STORE_CF_DATA, "k", "v0");
    assert_value(s, STORE_CF_META, "k", "v3");
    commit(rs);
    ck_assert(!rocks_store_pending(rs));
    assert_value(s, STORE_CF_HINTS, "k", "v1");
    ck_assert_int_eq(store_del(s, STORE_CF_MERKLE, "k", 1), STORE_OK);
    assert_value(s, STORE_CF_MERKLE, "k", NULL);
    assert_value(s, STORE_CF_DATA, "k", "v0");
    ck_assert_int_eq(store_put(s, STORE_CF_DATA, "empty", 5, "", 0), STORE_OK);
    assert_value(s, STORE_CF_DATA, "empty", "");
    static const char bin[] = {'a', 0, 'b', (char)0xff};
    ck_assert_int_eq(store_put(s, STORE_CF_DATA, bin, 4, bin, 4), STORE_OK);
    commit(rs);
    buf_t v = BUF_INIT;
    ck_assert_int_eq(store_get(s, STORE_CF_DATA, bin, 4, &v), 1);
    ck_assert_int_eq(memcmp(v.data, bin, 4), 0);
    buf_free(&v);
    ck_assert_uint_eq(rocks_store_commits(rs), 2);
    rocks_store_close(rs);
}
END_TEST

typedef struct scan_log {
    buf_t keys;
    int n;
    int stop_after;
    store_t *delete_from; /* when set, the callback deletes what it visits */
} scan_log_t;

static int log_key(void *arg, const void *key, size_t key_len, const void *val, size_t val_len)
{
    scan_log_t *log = arg;
    buf_append(&log->keys, key, key_len);
    buf_append_byte(&log->keys, ',');
    log->n++;
    if (log->delete_from != NULL)
        store_del(log->delete_from, STORE_CF_DATA, key, key_len);
    return log->stop_after > 0 && log->n >= log->stop_after;
}

static const char *scan_keys(store_t *s, const char *start, const char *end, int stop_after)
{
    static scan_log_t log;
    buf_free(&log.keys);
    log.n = 0;
    log.stop_after = stop_after;
    log.delete_from = NULL;
    int rc = store_scan(s, STORE_CF_DATA, start, strlen(start), end, end ? strlen(end) : 0,
                        log_key, &log);
    ck_assert_int_eq(rc, STORE_OK);
    buf_append_byte(&log.keys, 0);
    return log.keys.data;
}

START_TEST(scan_merges_staged_and_committed)
{
    rocks_store_t *rs = open_store();
    store_t *s = rocks_store_store(rs);
    store_put(s, STORE_CF_DATA, "a", 1, "1", 1);
    store_put(s, STORE_CF_DATA, "c", 1, "1", 1);
    store_put(s, STORE_CF_DATA, "e", 1, "1", 1);
    store_put(s, STORE_CF_META, "b", 1, "1", 1);
    commit(rs);
    store_put(s, STORE_CF_DATA, "b", 1, "1", 1);
    store_del(s, STORE_CF_DATA, "c", 1);
    store_put(s, STORE_CF_DATA, "d", 1, "1", 1);
    ck_assert_str_eq(scan_keys(s, "", NULL, 0), "a,b,d,e,");
    ck_assert_str_eq(scan_keys(s, "b", "e", 0), "b,d,");
    ck_assert_str_eq(scan_keys(s, "a", NULL, 2), "a,b,");
    ck_assert_str_eq(scan_keys(s, "f", NULL, 0), "");
    commit(rs);
    ck_assert_str_eq(scan_keys(s, "", NULL, 0), "a,b,d,e,");
    rocks_store_close(rs);
}
END_TEST

START_TEST(scan_in_chunks_allows_writes)
{
    rocks_store_t *rs = open_store();
    store_t *s = rocks_store_store(rs);
    for (int i = 0; i < TEST_SCAN_KEYS; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%05d", i);
        store_put(s, STORE_CF_DATA, k, strlen(k), "v", 1);
        if (i == TEST_SCAN_KEYS / 2)
            commit(rs);
    }
    scan_log_t log = {BUF_INIT, 0, 0, s};
    ck_assert_int_eq(store_scan(s, STORE_CF_DATA, "", 0, NULL, 0, log_key, &log), STORE_OK);
    ck_assert_int_eq(log.n, TEST_SCAN_KEYS);
    ck_assert_int_eq(memcmp(log.keys.data, "k00000,k00001,", 14), 0);
    ck_assert_str_eq(scan_keys(s, "", NULL, 0), "");
    buf_free(&log.keys);
    rocks_store_close(rs);
}
END_TEST

START_TEST(del_range_bounds)
{
    rocks_store_t *rs = open_store();
    store_t *s = rocks_store_store(rs);
    static const char *const keys[] = {"a", "b", "c", "d", "e"};
    for (int i = 0; i < 5; i++)
        store_put(s, STORE_CF_DATA, keys[i], 1, "v", 1);
    commit(rs);
    store_put(s, STORE_CF_DATA, "bb", 2, "v", 1); /* staged, inside the range */
    ck_assert_int_eq(store_del_range(s, STORE_CF_DATA, "b", 1, "d", 1), STORE_OK);
    ck_assert_str_eq(scan_keys(s, "", NULL, 0), "a,d,e,");
    ck_assert_int_eq(store_del_range(s, STORE_CF_DATA, "d", 1, NULL, 0), STORE_OK);
    ck_assert_str_eq(scan_keys(s, "", NULL, 0), "a,");
    store_put(s, STORE_CF_DATA, "z", 1, "v", 1);
    ck_assert_int_eq(store_del_range(s, STORE_CF_DATA, "", 0, NULL, 0), STORE_OK);
    ck_assert_str_eq(scan_keys(s, "", NULL, 0), "");
    ck_assert_int_eq(store_del_range(s, STORE_CF_DATA, "", 0, NULL, 0), STORE_OK);
    store_put(s, STORE_CF_DATA, "a", 1, "v2", 2);
    assert_value(s, STORE_CF_DATA, "a", "v2");
    rocks_store_close(rs);
}
END_TEST

/* A range of more than ROCKS_DEL_RANGE_KEYS_MAX keys is deleted as a range
 * (and compacted); a smaller one key by key, in the order of the round. */
START_TEST(del_range_large_and_small)
{
    rocks_store_t *rs = open_store();
    store_t *s = rocks_store_store(rs);
    int n = ROCKS_DEL_RANGE_KEYS_MAX + 10;
    char k[16];
    for (int i = 0; i < n; i++) {
        snprintf(k, sizeof k, "k%05d", i);
        store_put(s, STORE_CF_DATA, k, strlen(k), "v", 1);
    }
    commit(rs);
    ck_assert_int_eq(store_del_range(s, STORE_CF_DATA, "k00003", 6, NULL, 0), STORE_OK);
    ck_assert_str_eq(scan_keys(s, "", NULL, 0), "k00000,k00001,k00002,");
    ck_assert_int_eq(store_del_range(s, STORE_CF_DATA, "", 0, NULL, 0), STORE_OK);
    store_put(s, STORE_CF_DATA, "k00001", 6, "w", 1); /* after the delete: kept */
    assert_value(s, STORE_CF_DATA, "k00000", NULL);
    assert_value(s, STORE_CF_DATA, "k00001", "w");
    ck_assert_str_eq(scan_keys(s, "", NULL, 0), "k00001,");
    rocks_store_close(rs);
}
END_TEST

START_TEST(del_range_hides_cached_rows)
{
    rocks_store_t *rs = open_store();
    store_t *s = rocks_store_store(rs);
    static const char *const keys[] = {"a", "b", "c"};
    for (int i = 0; i < 3; i++)
        store_put(s, STORE_CF_DATA, keys[i], 1, "v", 1);
    commit(rs);
    rocks_store_compact(rs, STORE_CF_DATA); /* the rows now live in an SST */
    for (int i = 0; i < 3; i++)
        assert_value(s, STORE_CF_DATA, keys[i], "v"); /* and in the row cache */
    ck_assert_int_eq(store_del_range(s, STORE_CF_DATA, "a", 1, "c", 1), STORE_OK);
    assert_value(s, STORE_CF_DATA, "a", NULL);
    assert_value(s, STORE_CF_DATA, "b", NULL);
    assert_value(s, STORE_CF_DATA, "c", "v");
    rocks_store_compact(rs, STORE_CF_DATA);
    assert_value(s, STORE_CF_DATA, "a", NULL);
    assert_value(s, STORE_CF_DATA, "c", "v");
    store_put(s, STORE_CF_DATA, "a", 1, "new", 3);
    commit(rs);
    rocks_store_compact(rs, STORE_CF_DATA);
    assert_value(s, STORE_CF_DATA, "a", "new");
    assert_value(s, STORE_CF_DATA, "a", "new");
    rocks_store_close(rs);
}
END_TEST

/* Reads fill the hot-key cache; every later put, del and del_range (key by
 * key, or as a range) must show through it. */
START_TEST(hot_cache_follows_writes)
{
    rocks_store_t *rs = open_store();
    store_t *s = rocks_store_store(rs);
    store_put(s, STORE_CF_DATA, "k", 1, "one", 3);
    commit(rs);
    assert_value(s, STORE_CF_DATA, "k", "one"); /* from RocksDB: cached */
    assert_value(s, STORE_CF_DATA, "k", "one"); /* from the cache */
    store_put(s, STORE_CF_DATA, "k", 1, "two", 3);
    assert_value(s, STORE_CF_DATA, "k", "two");
    commit(rs);
    assert_value(s, STORE_CF_DATA, "k", "two");
    char big[READ_CACHE_ENTRY_MAX + 1];
    memset(big, 'b', sizeof big - 1);
    big[sizeof big - 1] = 0;
    store_put(s, STORE_CF_DATA, "k", 1, big, strlen(big)); /* too big: dropped */
    commit(rs);
    assert_value(s, STORE_CF_DATA, "k", big);
    store_put(s, STORE_CF_DATA, "k", 1, "three", 5);
    commit(rs);
    assert_value(s, STORE_CF_DATA, "k", "three");
    store_del(s, STORE_CF_DATA, "k", 1);
    assert_value(s, STORE_CF_DATA, "k", NULL);
    commit(rs);
    assert_value(s, STORE_CF_DATA, "k", NULL);
    /* The same key in another family is not the data family's. */
    store_put(s, STORE_CF_META, "k", 1, "meta", 4);
    commit(rs);
    assert_value(s, STORE_CF_DATA, "k", NULL);
    int n = ROCKS_DEL_RANGE_KEYS_MAX + 10;
    char k[16];
    for (int i = 0; i < n; i++) {
        snprintf(k, sizeof k, "k%05d", i);
        store_put(s, STORE_CF_DATA, k, strlen(k), "v", 1);
    }
    commit(rs);
    for (int i = 0; i < n; i++) {
        snprintf(k, sizeof k, "k%05d", i);
        assert_value(s, STORE_CF_DATA, k, "v");
    }
    ck_assert_int_eq(store_del_range(s, STORE_CF_DATA, "k00000", 6, "k00002", 6), STORE_OK);
    assert_value(s, STORE_CF_DATA, "k00000", NULL);
    assert_value(s, STORE_CF_DATA, "k00002", "v");
    ck_assert_int_eq(store_del_range(s, STORE_CF_DATA, "", 0, NULL, 0), STORE_OK);
    for (int i = 0; i < n; i++) {
        snprintf(k, sizeof k, "k%05d", i);
        assert_value(s, STORE_CF_DATA, k, NULL);
    }
    rocks_store_close(rs);
}
END_TEST

START_TEST(big_round_commits_early)
{
    rocks_store_t *rs = open_store();
    store_t *s = rocks_store_store(rs);
    for (int i = 0; i < ROCKS_STAGE_ENTRIES_MAX; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        ck_assert_int_eq(store_put(s, STORE_CF_DATA, k, strlen(k), "v", 1), STORE_OK);
    }
    ck_assert_uint_eq(rocks_store_commits(rs), 1);
    ck_assert(!rocks_store_pending(rs));
    assert_value(s, STORE_CF_DATA, "k0", "v");
    rocks_store_close(rs);
}
END_TEST

START_TEST(durable_after_commit_and_reopen)
{
    rocks_store_t *rs = open_store();
    store_t *s = rocks_store_store(rs);
    store_put(s, STORE_CF_DATA, "kept", 4, "1", 1);
    store_put(s, STORE_CF_META, "actor", 5, "42", 2);
    commit(rs);
    buf_t err = BUF_INIT;
    ck_assert_int_eq(rocks_store_sync_wal(rs, &err), STORE_OK);
    store_put(s, STORE_CF_DATA, "staged", 6, "2", 1); /* close commits it */
    rocks_store_close(rs);

    rs = open_store();
    s = rocks_store_store(rs);
    assert_value(s, STORE_CF_DATA, "kept", "1");
    assert_value(s, STORE_CF_DATA, "staged", "2");
    assert_value(s, STORE_CF_META, "actor", "42");
    assert_value(s, STORE_CF_HINTS, "kept", NULL);
    rocks_store_set_sync_commits(rs, true);
    store_put(s, STORE_CF_DATA, "synced", 6, "3", 1);
    commit(rs);
    rocks_store_close(rs);
    rs = open_store();
    assert_value(rocks_store_store(rs), STORE_CF_DATA, "synced", "3");
    rocks_store_close(rs);
    buf_free(&err);
}
END_TEST

static void put_versions(store_t *s, const char *key, uint64_t expire_at_ms, bool tombstone)
{
    versions_t vs = VERSIONS_INIT;
    version_write_t w = {NULL, "value", 5, expire_at_ms, tombstone};
    dot_t dot;
    ck_assert_int_eq(versions_write(&vs, 7, 1000, &w, &dot), VERSIONS_OK);
    buf_t enc = BUF_INIT;
    versions_encode(&vs, &enc);
    ck_assert_int_eq(store_put(s, STORE_CF_DATA, key, strlen(key), enc.data, enc.len), STORE_OK);
    buf_free(&enc);
    versions_free(&vs);
}

START_TEST(compaction_filter_drops_expired)
{
    rocks_store_t *rs = open_store();
    store_t *s = rocks_store_store(rs);
    uint64_t far_future = (uint64_t)4000000000 * 1000;
    put_versions(s, "expired", 1000, false);
    put_versions(s, "tombstone", 2000, true);
    put_versions(s, "forever", 0, false);
    put_versions(s, "later", far_future, false);
    store_put(s, STORE_CF_DATA, "garbage", 7, "\xff\xff\xff", 3);
    commit(rs);
    /* With the default grace an hour-old expiry would go; 1970 is older. */
    rocks_store_compact(rs, STORE_CF_DATA);
    assert_value(s, STORE_CF_DATA, "garbage", "\xff\xff\xff");
    buf_t v = BUF_INIT;
    ck_assert_int_eq(store_get(s, STORE_CF_DATA, "expired", 7, &v), 0);
    ck_assert_int_eq(store_get(s, STORE_CF_DATA, "tombstone", 9, &v), 0);
    ck_assert_int_eq(store_get(s, STORE_CF_DATA, "forever", 7, &v), 1);
    ck_assert_int_eq(store_get(s, STORE_CF_DATA, "later", 5, &v), 1);
    ck_assert_uint_eq(rocks_store_filtered_keys(rs), 2);
    /* A grace longer than the age of the expiry keeps the key. */
    rocks_store_set_filter_grace(rs, far_future);
    put_versions(s, "recent", 1000, false);
    commit(rs);
    rocks_store_compact(rs, STORE_CF_DATA);
    ck_assert_int_eq(store_get(s, STORE_CF_DATA, "recent", 6, &v), 1);
    buf_free(&v);
    ck_assert_uint_gt(rocks_store_property(rs, STORE_CF_DATA, "rocksdb.total-sst-files-size"), 0);
    rocks_store_close(rs);
}
END_TEST

START_TEST(open_fails_cleanly)
{
    buf_t err = BUF_INIT;
    ck_assert_ptr_null(rocks_store_open("/proc/dynis-cannot-exist/db", false, &err));
    ck_assert_uint_gt(err.len, 0);
    buf_free(&err);
}
END_TEST

START_TEST(stage_keeps_last_write_per_key)
{
    write_stage_t ws;
    write_stage_init(&ws);
    ck_assert_ptr_null(write_stage_find(&ws, 0, "k", 1));
    write_stage_put(&ws, 0, "k", 1, "v1", 2);
    write_stage_put(&ws, 1, "k", 1, "other", 5);
    write_stage_put(&ws, 0, "k", 1, "v2", 2);
    write_stage_put(&ws, 0, "", 0, "", 0);
    ck_assert_uint_eq(write_stage_count(&ws), 3);
    const write_stage_entry_t *e = write_stage_find(&ws, 0, "k", 1);
    ck_assert_ptr_nonnull(e);
    ck_assert(!e->tombstone);
    ck_assert_int_eq(memcmp(write_stage_val(&ws, e), "v2", 2), 0);
    write_stage_del(&ws, 0, "k", 1);
    ck_assert(write_stage_find(&ws, 0, "k", 1)->tombstone);
    ck_assert_uint_eq(write_stage_find(&ws, 1, "k", 1)->val_len, 5);
    ck_assert_uint_eq(write_stage_find(&ws, 0, "", 0)->val_len, 0);
    /* First-write order is kept. */
    ck_assert_uint_eq(write_stage_at(&ws, 0)->cf, 0);
    ck_assert_uint_eq(write_stage_at(&ws, 1)->cf, 1);
    write_stage_clear(&ws);
    ck_assert_uint_eq(write_stage_count(&ws), 0);
    ck_assert_ptr_null(write_stage_find(&ws, 0, "k", 1));
    write_stage_free(&ws);
}
END_TEST

START_TEST(stage_grows_and_shrinks)
{
    write_stage_t ws;
    write_stage_init(&ws);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < TEST_STAGE_KEYS; i++) {
            char k[16], v[16];
            snprintf(k, sizeof k, "key%d", i);
            snprintf(v, sizeof v, "%d-%d", round, i);
            write_stage_put(&ws, STORE_CF_DATA, k, strlen(k), v, strlen(v));
        }
        ck_assert_uint_eq(write_stage_count(&ws), TEST_STAGE_KEYS);
        for (int i = 0; i < TEST_STAGE_KEYS; i += 97) {
            char k[16], v[16];
            snprintf(k, sizeof k, "key%d", i);
            snprintf(v, sizeof v, "%d-%d", round, i);
            const write_stage_entry_t *e = write_stage_find(&ws, STORE_CF_DATA, k, strlen(k));
            ck_assert_ptr_nonnull(e);
            ck_assert_uint_eq(e->val_len, strlen(v));
            ck_assert_int_eq(memcmp(write_stage_val(&ws, e), v, e->val_len), 0);
            ck_assert_int_eq(memcmp(write_stage_key(&ws, write_stage_at(&ws, (size_t)i)), k,
                                    strlen(k)), 0);
        }
        write_stage_clear(&ws);
    }
    write_stage_free(&ws);
}
END_TEST

START_TEST(staged_overwrites_commit_once)
{
    rocks_store_t *rs = open_store();
    store_t *s = rocks_store_store(rs);
    for (int i = 0; i < 100; i++) {
        char v[16];
        snprintf(v, sizeof v, "v%d", i);
        store_put(s, STORE_CF_DATA, "hot", 3, v, strlen(v));
    }
    store_del(s, STORE_CF_DATA, "gone", 4);
    assert_value(s, STORE_CF_DATA, "hot", "v99");
    commit(rs);
    assert_value(s, STORE_CF_DATA, "hot", "v99");
    assert_value(s, STORE_CF_DATA, "gone", NULL);
    store_put(s, STORE_CF_DATA, "gone", 4, "x", 1);
    commit(rs);
    store_del(s, STORE_CF_DATA, "gone", 4);
    assert_value(s, STORE_CF_DATA, "gone", NULL); /* a staged delete hides the stored value */
    commit(rs);
    assert_value(s, STORE_CF_DATA, "gone", NULL);
    rocks_store_close(rs);
}
END_TEST

static void assert_cached(read_cache_t *rc, const char *key, const char *want)
{
    size_t len = 0;
    const char *v = read_cache_find(rc, key, strlen(key), &len);
    if (want == NULL) {
        ck_assert_ptr_null(v);
        return;
    }
    ck_assert_ptr_nonnull(v);
    ck_assert_uint_eq(len, strlen(want));
    ck_assert(len == 0 || memcmp(v, want, len) == 0);
}

START_TEST(read_cache_fill_update_erase)
{
    read_cache_t rc;
    read_cache_init(&rc);
    assert_cached(&rc, "a", NULL);
    read_cache_update(&rc, "a", 1, "x", 1); /* a write never adds a key */
    assert_cached(&rc, "a", NULL);
    read_cache_fill(&rc, "a", 1, "x", 1);
    read_cache_fill(&rc, "e", 1, "", 0);
    assert_cached(&rc, "a", "x");
    assert_cached(&rc, "e", "");
    read_cache_update(&rc, "a", 1, "longer value", 12);
    assert_cached(&rc, "a", "longer value");
    read_cache_update(&rc, "a", 1, "y", 1);
    assert_cached(&rc, "a", "y");
    char big[READ_CACHE_ENTRY_MAX];
    memset(big, 'b', sizeof big);
    read_cache_update(&rc, "a", 1, big, sizeof big); /* too big now: dropped */
    assert_cached(&rc, "a", NULL);
    read_cache_fill(&rc, "b", 1, big, sizeof big);
    assert_cached(&rc, "b", NULL);
    read_cache_fill(&rc, "c", 1, "z", 1);
    read_cache_erase(&rc, "c", 1);
    assert_cached(&rc, "c", NULL);
    ck_assert_uint_eq(rc.count, 1);
    read_cache_clear(&rc);
    assert_cached(&rc, "e", NULL);
    ck_assert_uint_eq(rc.count, 0);
    read_cache_free(&rc);
}
END_TEST

/* More keys than the cache holds: it stays bounded, every key it still
 * holds has its value, and a key read often survives the clock. */
START_TEST(read_cache_bounded_with_clock)
{
    read_cache_t rc;
    read_cache_init(&rc);
    size_t total = (size_t)READ_CACHE_SETS * READ_CACHE_WAYS;
    char k[32], v[32];
    read_cache_fill(&rc, "hot", 3, "H", 1);
    for (size_t i = 0; i < 3 * total; i++) {
        snprintf(k, sizeof k, "key%zu", i);
        snprintf(v, sizeof v, "val%zu", i);
        read_cache_fill(&rc, k, strlen(k), v, strlen(v));
        ck_assert_uint_le(rc.count, total);
        if (i % 2 == 0)
            assert_cached(&rc, "hot", "H");
    }
    size_t held = 0;
    for (size_t i = 0; i < 3 * total; i++) {
        snprintf(k, sizeof k, "key%zu", i);
        snprintf(v, sizeof v, "val%zu", i);
        size_t len;
        const char *got = read_cache_find(&rc, k, strlen(k), &len);
        if (got == NULL)
            continue;
        held++;
        ck_assert(len == strlen(v) && memcmp(got, v, len) == 0);
    }
    ck_assert_uint_le(held, total);
    ck_assert_uint_gt(held, total / 2);
    read_cache_free(&rc);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("rocks_store");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, put_get_del_every_cf);
    tcase_add_test(tc, scan_merges_staged_and_committed);
    tcase_add_test(tc, scan_in_chunks_allows_writes);
    tcase_add_test(tc, del_range_bounds);
    tcase_add_test(tc, del_range_hides_cached_rows);
    tcase_add_test(tc, del_range_large_and_small);
    tcase_add_test(tc, durable_after_commit_and_reopen);
    tcase_add_test(tc, compaction_filter_drops_expired);
    tcase_add_test(tc, open_fails_cleanly);
    tcase_add_test(tc, staged_overwrites_commit_once);
    tcase_add_test(tc, big_round_commits_early);
    tcase_add_test(tc, hot_cache_follows_writes);
    suite_add_tcase(s, tc);
    TCase *stage = tcase_create("stage");
    tcase_add_test(stage, stage_keeps_last_write_per_key);
    tcase_add_test(stage, stage_grows_and_shrinks);
    tcase_add_test(stage, read_cache_fill_update_erase);
    tcase_add_test(stage, read_cache_bounded_with_clock);
    suite_add_tcase(s, stage);
    return s;
}
