/* test_keyspace.c - Check suite for src/core/keyspace.c over the in-memory
 * store: exact counts as writes are noted, hit and miss counting, the
 * bounded expiry cycle and its reclaim callback, tombstones kept for their
 * grace, SCAN and KEYS, FLUSHALL, siblings; src/util/glob.c, which SCAN
 * MATCH uses. The suite writes as the node does (node.c's node_store_set:
 * store, then keyspace_note_write); the node's own use of the keyspace is
 * tested in test_node.c and test_cmd_node.c. */
#include <stdio.h>
#include <string.h>

#include "check_main.h"
#include "strop_fixture.h"
#include "core/keyspace.h"
#include "core/mem_store.h"
#include "core/slot.h"
#include "util/glob.h"

#define NOW UINT64_C(1700000000000)
#define ACTOR 3
/* The most arguments a test command has, and the most keys a test makes. */
#define ARGS_MAX 8
#define KEYS_MAX 1000

typedef struct fixture {
    mem_store_t *ms;
    store_t store;
    keyspace_t *ks;
    versions_t cur;      /* the last command's key, as stored after it */
    strop_result_t res;
    int rc;              /* 0, a store error, or VERSIONS_ETOOMANY */
} fixture_t;

static fixture_t f;

static void setup(void)
{
    f.ms = mem_store_new();
    f.store = mem_store_as_store(f.ms);
    f.ks = keyspace_new(&f.store);
    versions_init(&f.cur);
    strop_result_init(&f.res);
    ck_assert_int_eq(keyspace_load_counts(f.ks), 0);
}

static void teardown(void)
{
    keyspace_free(f.ks);
    versions_free(&f.cur);
    strop_result_free(&f.res);
    mem_store_free(f.ms);
}

/* Reads key's stored set into f.cur: 1 found, 0 absent, < 0 on errors. */
static int read_key(const char *key, buf_t *dk)
{
    buf_t val = BUF_INIT;
    slot_data_key(dk, slot_of_key(key, strlen(key)), key, strlen(key));
    versions_free(&f.cur);
    int rc = store_get(&f.store, STORE_CF_DATA, dk->data, dk->len, &val);
    if (rc == 1)
        ck_assert_int_eq(versions_decode(&f.cur, val.data, val.len), 0);
    buf_free(&val);
    return rc;
}

/* What the node does with one client command on argv[1] at now: read,
 * note the lookup, evaluate, write (tombstones get the default grace),
 * store, note the write. */
static void run_at(uint64_t now, const char **argv)
{
    size_t lens[ARGS_MAX];
    int argc = strop_fixture_lens(argv, lens, ARGS_MAX);
    strop_op_t op;
    buf_t err = BUF_INIT, dk = BUF_INIT, enc = BUF_INIT;
    ck_assert_int_eq(strop_parse(&op, strop_fixture_kind(argv[0]), argc, argv, lens, now, &err), 0);
    f.rc = read_key(argv[1], &dk);
    if (f.rc >= 0) {
        f.rc = 0;
        keyspace_note_lookup(f.ks, &op, &f.cur, now);
        strop_eval(&f.cur, now, &op, &f.res);
    }
    if (f.rc == 0 && f.res.has_write) {
        version_write_t w = f.res.write;
        if (w.tombstone)
            w.expire_at_ms = now + KEYSPACE_TOMBSTONE_GRACE_MS;
        versions_t next = VERSIONS_INIT;
        versions_copy(&next, &f.cur);
        f.rc = versions_write(&next, ACTOR, now, &w, NULL);
        if (f.rc == 0) {
            versions_encode(&next, &enc);
            f.rc = store_put(&f.store, STORE_CF_DATA, dk.data, dk.len, enc.data, enc.len);
        }
        if (f.rc == 0)
            keyspace_note_write(f.ks, &f.cur, &next, now);
        versions_free(&next);
    }
    strop_op_free(&op);
    buf_free(&err);
    buf_free(&dk);
    buf_free(&enc);
}

#define RUN_AT(now, ...) run_at((now), (const char *[]){__VA_ARGS__, NULL})
#define RUN(...) RUN_AT(NOW, __VA_ARGS__)

/* keyspace_reclaim_fn as the node's: deletes, then notes the delete. */
static int reclaim_fn(void *arg, const void *data_key, size_t len, const versions_t *old)
{
    int *calls = arg;
    (*calls)++;
    int rc = store_del(&f.store, STORE_CF_DATA, data_key, len);
    if (rc == 0)
        keyspace_note_write(f.ks, old, NULL, NOW);
    return rc;
}

static int cycle(uint64_t now, uint32_t max_keys)
{
    int calls = 0;
    int n = keyspace_expire_cycle(f.ks, now, max_keys, reclaim_fn, &calls);
    if (n >= 0)
        ck_assert_int_eq(n, calls);
    return n;
}

static void expect_counts(uint64_t keys, uint64_t expires)
{
    ck_assert_uint_eq(keyspace_key_count(f.ks), keys);
    ck_assert_uint_eq(keyspace_expire_count(f.ks), expires);
}

/* A second keyspace over the same store counts exactly what f.ks counts. */
static void expect_counts_reload(void)
{
    keyspace_t *other = keyspace_new(&f.store);
    ck_assert_int_eq(keyspace_load_counts(other), 0);
    ck_assert_uint_eq(keyspace_key_count(other), keyspace_key_count(f.ks));
    ck_assert_uint_eq(keyspace_expire_count(other), keyspace_expire_count(f.ks));
    keyspace_free(other);
}

static uint32_t live_at(uint64_t now)
{
    return f.res.reply == STROP_REPLY_VALUES ? versions_live_count(f.res.values, now) : 0;
}

static void key_name(char *out, size_t size, int i)
{
    snprintf(out, size, "key:%d", i);
}

START_TEST(counts_follow_every_change)
{
    RUN("set", "a", "1");
    RUN("set", "b", "2", "ex", "10");
    RUN("set", "c", "3");
    expect_counts(3, 1);
    RUN("set", "a", "1", "px", "500");
    expect_counts(3, 2);
    RUN("persist", "b");
    expect_counts(3, 1);
    RUN("del", "c");
    ck_assert_int_eq(f.res.integer, 1);
    expect_counts(2, 1);
    expect_counts_reload();
    RUN("del", "c");
    ck_assert_int_eq(f.res.integer, 0);
    RUN("set", "c", "3");
    expect_counts(3, 1);
    RUN("getdel", "c");
    expect_counts(2, 1);
    RUN("append", "d", "x");
    expect_counts(3, 1);
    RUN("expire", "d", "-1");
    expect_counts(2, 1);
    expect_counts_reload();
    keyspace_note_write(f.ks, NULL, NULL, NOW); /* absent to absent: no change */
    expect_counts(2, 1);
}
END_TEST

START_TEST(lookups_count_hits_and_misses)
{
    RUN("set", "k", "v", "px", "100");
    RUN("set", "k2", "v", "get");
    ck_assert_uint_eq(keyspace_stats(f.ks)->keyspace_misses, 1); /* SET ... GET reads */
    RUN("set", "k3", "v");
    RUN("append", "k3", "v");
    RUN_AT(NOW + 99, "get", "k");
    ck_assert_uint_eq(live_at(NOW + 99), 1);
    RUN_AT(NOW + 100, "strlen", "k");
    RUN_AT(NOW + 100, "exists", "k2");
    ck_assert_uint_eq(keyspace_stats(f.ks)->keyspace_hits, 2);
    ck_assert_uint_eq(keyspace_stats(f.ks)->keyspace_misses, 2);
    /* An expired key counts until it is reclaimed. */
    expect_counts(3, 1);
    ck_assert_int_eq(cycle(NOW + 100, 100), 1);
    expect_counts(2, 0);
    ck_assert_uint_eq(keyspace_stats(f.ks)->expired_keys, 1);
    keyspace_reset_stats(f.ks);
    ck_assert_uint_eq(keyspace_stats(f.ks)->keyspace_hits, 0);
    ck_assert_uint_eq(keyspace_stats(f.ks)->expired_keys, 0);
}
END_TEST

START_TEST(expire_cycle_is_bounded)
{
    char name[32];
    for (int i = 0; i < 50; i++) {
        key_name(name, sizeof name, i);
        RUN("set", name, "v", "px", i < 30 ? "100" : "100000");
    }
    expect_counts(50, 50);
    int total = 0;
    for (int round = 0; round < 20 && total < 30; round++) {
        int n = cycle(NOW + 200, 10);
        ck_assert_int_ge(n, 0);
        ck_assert_int_le(n, 10);
        total += n;
    }
    ck_assert_int_eq(total, 30);
    expect_counts(20, 20);
    ck_assert_uint_eq(mem_store_count(f.ms, STORE_CF_DATA), 20);
    ck_assert_uint_eq(keyspace_stats(f.ks)->expired_keys, 30);
    for (int round = 0; round < 10; round++)
        ck_assert_int_eq(cycle(NOW + 200, 7), 0);
    expect_counts_reload();
}
END_TEST

START_TEST(tombstones_kept_for_the_grace_period)
{
    RUN("set", "k", "v");
    RUN("del", "k");
    expect_counts(0, 0);
    ck_assert_uint_eq(mem_store_count(f.ms, STORE_CF_DATA), 1);
    buf_t dk = BUF_INIT;
    ck_assert_int_eq(read_key("k", &dk), 1);
    ck_assert(f.cur.len == 1 && f.cur.items[0].tombstone);
    ck_assert_int_eq(cycle(NOW + KEYSPACE_TOMBSTONE_GRACE_MS - 1, 100), 0);
    ck_assert_uint_eq(mem_store_count(f.ms, STORE_CF_DATA), 1);
    ck_assert_int_eq(cycle(NOW + KEYSPACE_TOMBSTONE_GRACE_MS, 100), 1);
    ck_assert_uint_eq(mem_store_count(f.ms, STORE_CF_DATA), 0);
    ck_assert_uint_eq(keyspace_stats(f.ks)->expired_keys, 0); /* a delete, not an expiry */
    expect_counts(0, 0);
    buf_free(&dk);
}
END_TEST

/* A failing reclaim stops the cycle with its status; nothing is counted. */
static int failing_reclaim_fn(void *arg, const void *data_key, size_t len, const versions_t *old)
{
    (void)arg;
    (void)data_key;
    (void)len;
    (void)old;
    return STORE_EIO;
}

START_TEST(expire_cycle_reports_reclaim_failures)
{
    RUN("set", "a", "v", "px", "10");
    RUN("set", "b", "v", "px", "10");
    ck_assert_int_eq(keyspace_expire_cycle(f.ks, NOW + 10, 100, failing_reclaim_fn, NULL),
                     KEYSPACE_EIO);
    expect_counts(2, 2);
    ck_assert_uint_eq(keyspace_stats(f.ks)->expired_keys, 0);
    ck_assert_int_eq(cycle(NOW + 10, 100), 2);
    expect_counts(0, 0);
}
END_TEST

/* How often SCAN or KEYS returned each key:N. */
typedef struct seen {
    int times[KEYS_MAX];
    int other; /* keys not of the form key:N */
} seen_t;

static void seen_fn(void *arg, const void *key, size_t len)
{
    seen_t *s = arg;
    char text[32];
    int i;
    if (len >= sizeof text) {
        s->other++;
        return;
    }
    memcpy(text, key, len);
    text[len] = 0;
    if (sscanf(text, "key:%d", &i) == 1 && i >= 0 && i < KEYS_MAX)
        s->times[i]++;
    else
        s->other++;
}

static void make_keys(int n)
{
    char name[32];
    for (int i = 0; i < n; i++) {
        key_name(name, sizeof name, i);
        RUN("set", name, "v");
    }
}

/* Runs a whole SCAN of step count into s, deleting key:(step * 3) before
 * each step, and returns the number of steps. */
static int scan_all(seen_t *s, uint32_t count, const char *pattern, bool deletes)
{
    uint64_t cursor = 0;
    int steps = 0;
    do {
        if (deletes) {
            char name[32];
            key_name(name, sizeof name, steps * 3);
            RUN("del", name);
        }
        ck_assert_int_eq(keyspace_scan(f.ks, cursor, NOW, pattern, pattern ? strlen(pattern) : 0,
                                       count, seen_fn, s, &cursor),
                         0);
        ck_assert_int_lt(++steps, 10 * KEYS_MAX);
    } while (cursor != 0);
    return steps;
}

START_TEST(scan_returns_every_key_once)
{
    make_keys(200);
    static seen_t s;
    memset(&s, 0, sizeof s);
    int steps = scan_all(&s, 7, NULL, true);
    ck_assert_int_ge(steps, 200 / 7);
    for (int i = 0; i < 200; i++) {
        bool deleted = i % 3 == 0 && i / 3 < steps;
        if (deleted)
            ck_assert_int_le(s.times[i], 1);
        else
            ck_assert_msg(s.times[i] == 1, "key:%d seen %d times", i, s.times[i]);
    }
    ck_assert_int_eq(s.other, 0);
}
END_TEST

START_TEST(scan_match_and_cursor_format)
{
    make_keys(100);
    RUN("set", "other", "v");
    RUN("set", "gone", "v", "px", "10");
    static seen_t s;
    memset(&s, 0, sizeof s);
    scan_all(&s, 1000, "key:1?", false);
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(s.times[i], i >= 10 && i < 20);
    ck_assert_int_eq(s.other, 0);
    memset(&s, 0, sizeof s);
    uint64_t next;
    ck_assert_int_eq(keyspace_scan(f.ks, 0, NOW + 10, "*", 1, 5, seen_fn, &s, &next), 0);
    ck_assert_uint_ne(next, 0);
    ck_assert_uint_lt(next, UINT64_C(1) << 63); /* clients parse it as a signed decimal */
    memset(&s, 0, sizeof s);
    scan_all(&s, 10, NULL, false);
    ck_assert_int_eq(s.other, 2);
    memset(&s, 0, sizeof s);
    ck_assert_int_eq(keyspace_keys(f.ks, NOW + 10, "*", 1, seen_fn, &s), 0);
    ck_assert_int_eq(s.other, 1); /* "gone" expired */
    memset(&s, 0, sizeof s);
    ck_assert_int_eq(keyspace_keys(f.ks, NOW, "key:[5-6]", 9, seen_fn, &s), 0);
    ck_assert(s.times[5] == 1 && s.times[6] == 1 && s.other == 0);
}
END_TEST

START_TEST(scan_forgotten_cursor_restarts_its_slot)
{
    make_keys(300);
    uint64_t first;
    static seen_t s;
    memset(&s, 0, sizeof s);
    ck_assert_int_eq(keyspace_scan(f.ks, 0, NOW, NULL, 0, 50, seen_fn, &s, &first), 0);
    uint64_t other;
    for (int i = 0; i < KEYSPACE_SCAN_CURSORS_MAX + 1; i++)
        ck_assert_int_eq(keyspace_scan(f.ks, 0, NOW, NULL, 0, 1, seen_fn, &s, &other), 0);
    memset(&s, 0, sizeof s);
    uint64_t cursor = first;
    for (int steps = 0; cursor != 0 && steps < KEYS_MAX; steps++)
        ck_assert_int_eq(keyspace_scan(f.ks, cursor, NOW, NULL, 0, 50, seen_fn, &s, &cursor), 0);
    ck_assert_uint_eq(cursor, 0);
    /* Every key at or after the first cursor's slot is seen at least once. */
    uint16_t resume_slot = (uint16_t)(first & (SLOT_COUNT - 1));
    for (int i = 0; i < 300; i++) {
        char name[32];
        key_name(name, sizeof name, i);
        if (slot_of_key(name, strlen(name)) >= resume_slot)
            ck_assert_int_ge(s.times[i], 1);
    }
}
END_TEST

START_TEST(flushall_empties_everything)
{
    make_keys(20);
    RUN("set", "t", "v", "ex", "5");
    expect_counts(21, 1);
    ck_assert_int_eq(keyspace_flush(f.ks), 0);
    expect_counts(0, 0);
    ck_assert_uint_eq(mem_store_count(f.ms, STORE_CF_DATA), 0);
    RUN("get", "t");
    ck_assert_int_eq(f.res.reply, STROP_REPLY_NIL);
    RUN("set", "t", "v");
    expect_counts(1, 0);
    expect_counts_reload();
}
END_TEST

START_TEST(siblings_from_one_context)
{
    RUN("set", "k", "v");
    buf_t dk = BUF_INIT;
    ck_assert_int_eq(read_key("k", &dk), 1);
    buf_free(&dk);
    vclock_t vc = VCLOCK_INIT;
    versions_context(&f.cur, &vc);
    buf_t ctx = BUF_INIT;
    vclock_context_encode(&vc, &ctx);
    buf_append_byte(&ctx, 0);
    RUN("dyn.put", "k", ctx.data, "a");
    RUN("dyn.put", "k", ctx.data, "b");
    ck_assert_uint_eq(keyspace_stats(f.ks)->siblings_created, 1);
    RUN("get", "k");
    ck_assert_uint_eq(live_at(NOW), 2);
    expect_counts(1, 0);
    RUN("append", "k", "x");
    ck_assert_int_eq(f.res.reply, STROP_REPLY_CONFLICT);
    RUN("set", "k", "c");
    RUN("get", "k");
    ck_assert_uint_eq(live_at(NOW), 1);
    expect_counts(1, 0);
    vclock_free(&vc);
    buf_free(&ctx);
}
END_TEST

START_TEST(too_many_siblings_refused)
{
    for (int i = 0; i < VERSIONS_SIBLINGS_MAX; i++) {
        RUN("dyn.put", "k", "", "v");
        ck_assert_int_eq(f.rc, 0);
    }
    RUN("dyn.put", "k", "", "v");
    ck_assert_int_eq(f.rc, VERSIONS_ETOOMANY);
    RUN("get", "k");
    ck_assert_uint_eq(live_at(NOW), VERSIONS_SIBLINGS_MAX);
    RUN("set", "k", "one");
    ck_assert_int_eq(f.rc, 0);
    RUN("get", "k");
    ck_assert_uint_eq(live_at(NOW), 1);
}
END_TEST

START_TEST(store_failures_are_reported)
{
    RUN("set", "k", "v");
    mem_store_fail_next(f.ms, 1);
    RUN("get", "k");
    ck_assert_int_eq(f.rc, KEYSPACE_EIO);
    mem_store_fail_next(f.ms, 2);
    RUN("set", "x", "v");
    ck_assert_int_eq(f.rc, KEYSPACE_EIO);
    mem_store_fail_next(f.ms, 0);
    expect_counts(1, 0);
    ck_assert_int_eq(store_put(&f.store, STORE_CF_DATA, "\0\0bad", 5, "\xff\xff", 2), 0);
    ck_assert_int_eq(keyspace_load_counts(f.ks), KEYSPACE_ECORRUPT);
    expect_counts(1, 0);
}
END_TEST

START_TEST(glob_matches_like_redis)
{
    static const struct { const char *pattern, *str; bool match; } cases[] = {
        {"*", "", false},         {"*", "abc", true},        {"a*", "abc", true},
        {"a*c", "abc", true},     {"a*d", "abc", false},     {"?", "a", true},
        {"?", "", false},         {"a?c", "abc", true},      {"[abc]", "b", true},
        {"[^abc]", "b", false},   {"[^abc]", "d", true},     {"[a-c]x", "bx", true},
        {"[c-a]x", "bx", true},   {"[a-c]", "d", false},     {"\\*", "*", true},
        {"\\*", "a", false},      {"[\\]]", "]", true},      {"h[ae]llo", "hello", true},
        {"h[ae]llo", "hillo", false}, {"[abc", "b", true},   {"[abc", "[", false},
        {"***a", "bba", true},    {"a**", "a", true},        {"abc", "ABC", false},
        {"*.txt", "x.txt", true}, {"*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ck_assert_msg(glob_match(cases[i].pattern, strlen(cases[i].pattern), cases[i].str,
                                 strlen(cases[i].str), false) == cases[i].match,
                      "%s vs %s", cases[i].pattern, cases[i].str);
    ck_assert(glob_match("ABC", 3, "abc", 3, true));
    ck_assert(glob_match("[A-C]", 5, "b", 1, true));
    ck_assert(glob_match("a\0b", 3, "a\0b", 3, false));
    ck_assert(!glob_match("a\0b", 3, "a\0c", 3, false));
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("keyspace");
    TCase *tc = tcase_create("keyspace");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, counts_follow_every_change);
    tcase_add_test(tc, lookups_count_hits_and_misses);
    tcase_add_test(tc, expire_cycle_is_bounded);
    tcase_add_test(tc, tombstones_kept_for_the_grace_period);
    tcase_add_test(tc, expire_cycle_reports_reclaim_failures);
    tcase_add_test(tc, scan_returns_every_key_once);
    tcase_add_test(tc, scan_match_and_cursor_format);
    tcase_add_test(tc, scan_forgotten_cursor_restarts_its_slot);
    tcase_add_test(tc, flushall_empties_everything);
    tcase_add_test(tc, siblings_from_one_context);
    tcase_add_test(tc, too_many_siblings_refused);
    tcase_add_test(tc, store_failures_are_reported);
    tcase_add_test(tc, glob_matches_like_redis);
    suite_add_tcase(s, tc);
    return s;
}
