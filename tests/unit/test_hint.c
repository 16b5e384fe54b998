/* test_hint.c - Check suite for src/core/hint: store, merge, deliver and ack;
 * acks of records changed since delivery; byte and count bounds; TTL drops;
 * backoff growth with jitter and ack timeouts; bounded batches; reload after
 * a restart. Runs over the in-memory store. */
#include <string.h>

#include "check_main.h"
#include "core/hint.h"
#include "core/mem_store.h"
#include "core/slot.h"
#include "core/versions.h"
#include "util/pcg.h"

#define TEST_TARGET 7
#define TEST_OTHER 9
#define TEST_KEY_LEN_MAX 32

typedef struct fixture {
    mem_store_t *ms;
    store_t st;
    hint_config_t cfg;
    hint_t *h;
    pcg32_t rng;
} fixture_t;

static void fx_init(fixture_t *f)
{
    f->ms = mem_store_new();
    f->st = mem_store_as_store(f->ms);
    hint_config_default(&f->cfg);
    f->h = NULL;
    pcg32_seed(&f->rng, 1, 1);
}

static void fx_open(fixture_t *f, uint64_t now_ms)
{
    hint_free(f->h);
    f->h = hint_new(&f->cfg, &f->st);
    ck_assert_int_eq(hint_load(f->h, now_ms), 0);
}

static void fx_free(fixture_t *f)
{
    hint_free(f->h);
    mem_store_free(f->ms);
}

static void data_key(buf_t *out, const char *key)
{
    size_t len = strlen(key);
    slot_data_key(out, slot_of_key(key, len), key, len);
}

/* A one-sibling version set written by actor with no context. */
static void make_versions(versions_t *vs, uint64_t actor, const char *value)
{
    version_write_t w = {NULL, value, strlen(value), 0, false};
    dot_t dot;
    versions_init(vs);
    ck_assert_int_eq(versions_write(vs, actor, 1, &w, &dot), VERSIONS_OK);
}

static int add(fixture_t *f, uint64_t target, const char *key, uint64_t actor,
               const char *value, uint64_t now_ms)
{
    buf_t dkey = BUF_INIT;
    versions_t vs;
    data_key(&dkey, key);
    make_versions(&vs, actor, value);
    int rc = hint_add(f->h, target, dkey.data, dkey.len, &vs, now_ms);
    versions_free(&vs);
    buf_free(&dkey);
    return rc;
}

static void ack_all(fixture_t *f, uint64_t target, const hint_batch_t *b)
{
    for (uint32_t i = 0; i < b->len; i++)
        ck_assert_int_eq(hint_ack(f->h, target, b->items[i].key.data, b->items[i].key.len,
                                  b->items[i].stamp), 0);
}

START_TEST(store_merge_deliver_ack)
{
    fixture_t f;
    hint_batch_t b = HINT_BATCH_INIT;
    fx_init(&f);
    fx_open(&f, 0);
    ck_assert_int_eq(add(&f, TEST_TARGET, "cart", 1, "apple", 10), HINT_OK);
    ck_assert_int_eq(add(&f, TEST_TARGET, "cart", 2, "pear", 20), HINT_OK);
    ck_assert_int_eq(add(&f, TEST_TARGET, "cart", 2, "pear", 30), HINT_OK); /* nothing new */
    ck_assert_int_eq(add(&f, TEST_OTHER, "cart", 1, "apple", 10), HINT_OK);
    ck_assert_uint_eq(hint_pending(f.h, TEST_TARGET, NULL), 1);
    ck_assert_uint_eq(hint_stats(f.h)->pending, 2);
    ck_assert_uint_eq(hint_stats(f.h)->merged, 2);
    ck_assert_uint_eq(mem_store_count(f.ms, STORE_CF_HINTS), 2);
    ck_assert_int_eq(hint_next_batch(f.h, TEST_TARGET, 40, &b), 1);
    versions_t vs = VERSIONS_INIT;
    ck_assert_int_eq(versions_decode(&vs, b.items[0].versions.data, b.items[0].versions.len),
                     VERSIONS_OK);
    ck_assert_uint_eq(vs.len, 2); /* the merge kept both siblings */
    versions_free(&vs);
    buf_t dkey = BUF_INIT;
    data_key(&dkey, "cart");
    ck_assert_mem_eq(b.items[0].key.data, dkey.data, dkey.len);
    ck_assert_int_eq(hint_next_batch(f.h, TEST_TARGET, 41, &b), 0); /* one batch in flight */
    /* the send failed: after the backoff the same record goes again */
    hint_batch_t again = HINT_BATCH_INIT;
    hint_failed(f.h, TEST_TARGET, 41, &f.rng);
    ck_assert_uint_eq(hint_backoff_ms(f.h, TEST_TARGET), f.cfg.backoff_base_ms);
    ck_assert_int_eq(hint_next_batch(f.h, TEST_TARGET, 41 + f.cfg.backoff_base_ms, &again), 1);
    ck_assert_uint_eq(again.items[0].stamp, b.items[0].stamp);
    ack_all(&f, TEST_TARGET, &again);
    ck_assert_uint_eq(hint_pending(f.h, TEST_TARGET, NULL), 0);
    ck_assert_uint_eq(hint_stats(f.h)->delivered, 1);
    ck_assert_uint_eq(hint_stats(f.h)->pending, 1);
    ck_assert_uint_eq(hint_backoff_ms(f.h, TEST_TARGET), 0);
    uint64_t targets[4];
    ck_assert_uint_eq(hint_targets(f.h, targets, 4), 1);
    ck_assert_uint_eq(targets[0], TEST_OTHER);
    buf_free(&dkey);
    hint_batch_free(&again);
    hint_batch_free(&b);
    fx_free(&f);
}
END_TEST

START_TEST(ack_of_changed_record_keeps_it)
{
    fixture_t f;
    hint_batch_t b = HINT_BATCH_INIT;
    fx_init(&f);
    fx_open(&f, 0);
    ck_assert_int_eq(add(&f, TEST_TARGET, "k", 1, "v1", 0), HINT_OK);
    ck_assert_int_eq(hint_next_batch(f.h, TEST_TARGET, 1, &b), 1);
    ck_assert_int_eq(add(&f, TEST_TARGET, "k", 2, "v2", 2), HINT_OK); /* merged meanwhile */
    ack_all(&f, TEST_TARGET, &b);
    ck_assert_uint_eq(hint_pending(f.h, TEST_TARGET, NULL), 1);
    ck_assert_uint_eq(hint_stats(f.h)->delivered, 0);
    ck_assert_int_eq(hint_next_batch(f.h, TEST_TARGET, 3, &b), 1); /* batch done: next one */
    ack_all(&f, TEST_TARGET, &b);
    ack_all(&f, TEST_TARGET, &b); /* duplicate acks are ignored */
    ck_assert_uint_eq(hint_pending(f.h, TEST_TARGET, NULL), 0);
    ck_assert_uint_eq(hint_stats(f.h)->delivered, 1);
    hint_batch_free(&b);
    fx_free(&f);
}
END_TEST

START_TEST(bounds_refuse)
{
    fixture_t f;
    fx_init(&f);
    f.cfg.count_max = 3;
    fx_open(&f, 0);
    ck_assert_int_eq(add(&f, 1, "a", 1, "x", 0), HINT_OK);
    ck_assert_int_eq(add(&f, 1, "b", 1, "x", 0), HINT_OK);
    ck_assert_int_eq(add(&f, 2, "c", 1, "x", 0), HINT_OK);
    ck_assert_int_eq(add(&f, 2, "d", 1, "x", 0), HINT_EFULL);
    ck_assert_uint_eq(hint_stats(f.h)->dropped_full, 1);
    ck_assert_uint_eq(hint_stats(f.h)->pending, 3);
    uint64_t bytes1, bytes2;
    ck_assert_uint_eq(hint_pending(f.h, 1, &bytes1), 2);
    ck_assert_uint_eq(hint_pending(f.h, 2, &bytes2), 1);
    ck_assert_uint_eq(bytes1 + bytes2, hint_stats(f.h)->pending_bytes);
    ck_assert_uint_eq(hint_stats(f.h)->pending_bytes, mem_store_bytes(f.ms, STORE_CF_HINTS));
    f.cfg.count_max = 1000;
    f.cfg.bytes_max = hint_stats(f.h)->pending_bytes + 10;
    fx_open(&f, 0);
    ck_assert_int_eq(add(&f, 1, "e", 1, "a value longer than ten bytes", 0), HINT_EFULL);
    ck_assert_int_eq(add(&f, 1, "a", 2, "a value longer than ten bytes", 0), HINT_EFULL);
    ck_assert_uint_eq(hint_stats(f.h)->pending, 3);
    buf_t dkey = BUF_INIT;
    versions_t empty = VERSIONS_INIT;
    data_key(&dkey, "z");
    ck_assert_int_eq(hint_add(f.h, 1, dkey.data, dkey.len, &empty, 0), HINT_EINVAL);
    ck_assert_int_eq(hint_add(f.h, 1, "z", 1, &empty, 0), HINT_EINVAL);
    buf_free(&dkey);
    fx_free(&f);
}
END_TEST

START_TEST(ttl_drops)
{
    fixture_t f;
    hint_batch_t b = HINT_BATCH_INIT;
    fx_init(&f);
    f.cfg.ttl_ms = 1000;
    fx_open(&f, 0);
    ck_assert_int_eq(add(&f, 1, "old", 1, "x", 0), HINT_OK);
    ck_assert_int_eq(add(&f, 1, "new", 1, "x", 800), HINT_OK);
    ck_assert_int_eq(add(&f, 2, "old2", 1, "x", 100), HINT_OK);
    ck_assert_uint_eq(hint_next_deadline(f.h), 1000);
    ck_assert_int_eq(hint_tick(f.h, 999, &f.rng), 0);
    ck_assert_uint_eq(hint_stats(f.h)->dropped_ttl, 0);
    ck_assert_int_eq(hint_tick(f.h, 1000, &f.rng), 0);
    ck_assert_uint_eq(hint_stats(f.h)->dropped_ttl, 1);
    ck_assert_uint_eq(hint_pending(f.h, 1, NULL), 1);
    ck_assert_uint_eq(hint_next_deadline(f.h), 1100);
    /* a batch also drops what expired on the way */
    ck_assert_int_eq(hint_next_batch(f.h, 2, 1200, &b), 0);
    ck_assert_uint_eq(hint_stats(f.h)->dropped_ttl, 2);
    ck_assert_uint_eq(hint_pending(f.h, 2, NULL), 0);
    ck_assert_uint_eq(mem_store_count(f.ms, STORE_CF_HINTS), 1);
    hint_batch_free(&b);
    fx_free(&f);
}
END_TEST

START_TEST(backoff_grows_with_jitter)
{
    fixture_t f;
    hint_batch_t b = HINT_BATCH_INIT;
    fx_init(&f);
    f.cfg.backoff_base_ms = 100;
    f.cfg.backoff_max_ms = 1000;
    f.cfg.ack_timeout_ms = 50;
    fx_open(&f, 0);
    ck_assert_int_eq(add(&f, 1, "k", 1, "x", 0), HINT_OK);
    uint64_t now = 0, expect = 100, prev = 0;
    for (int i = 0; i < 8; i++) {
        ck_assert_int_eq(hint_next_batch(f.h, 1, now, &b), 1);
        ck_assert_uint_eq(hint_next_deadline(f.h), now + 50);
        ck_assert_int_eq(hint_tick(f.h, now + 50, &f.rng), 0); /* no ack: timed out */
        now += 50;
        uint64_t backoff = hint_backoff_ms(f.h, 1);
        ck_assert_uint_eq(backoff, expect);
        ck_assert_uint_ge(backoff, prev);
        prev = backoff;
        expect = expect * 2 > 1000 ? 1000 : expect * 2;
        /* not before backoff / 2, always by backoff */
        ck_assert_int_eq(hint_next_batch(f.h, 1, now + backoff / 2 - 1, &b), 0);
        now += backoff;
    }
    ck_assert_uint_eq(hint_stats(f.h)->failures, 8);
    ck_assert_int_eq(hint_next_batch(f.h, 1, now, &b), 1);
    ack_all(&f, 1, &b);
    ck_assert_uint_eq(hint_backoff_ms(f.h, 1), 0);
    ck_assert_uint_eq(hint_stats(f.h)->delivered, 1);
    ck_assert_uint_eq(hint_next_deadline(f.h), UINT64_MAX);
    hint_batch_free(&b);
    fx_free(&f);
}
END_TEST

START_TEST(batches_are_bounded_and_drain)
{
    fixture_t f;
    hint_batch_t b = HINT_BATCH_INIT;
    char key[TEST_KEY_LEN_MAX];
    fx_init(&f);
    f.cfg.batch_keys_max = 10;
    fx_open(&f, 0);
    for (int i = 0; i < 95; i++) {
        snprintf(key, sizeof key, "key%d", i);
        ck_assert_int_eq(add(&f, 3, key, 1, "x", 0), HINT_OK);
    }
    ck_assert_int_eq(add(&f, 4, "else", 1, "x", 0), HINT_OK);
    int batches = 0;
    for (int n; batches < 100 && (n = hint_next_batch(f.h, 3, 1, &b)) > 0; batches++) {
        ck_assert_int_le(n, 10);
        ack_all(&f, 3, &b);
    }
    ck_assert_int_eq(batches, 10);
    ck_assert_uint_eq(hint_stats(f.h)->delivered, 95);
    ck_assert_uint_eq(hint_pending(f.h, 4, NULL), 1);
    hint_batch_free(&b);
    fx_free(&f);
}
END_TEST

START_TEST(restart_reloads)
{
    fixture_t f;
    hint_batch_t b = HINT_BATCH_INIT;
    fx_init(&f);
    f.cfg.ttl_ms = 1000;
    fx_open(&f, 0);
    ck_assert_int_eq(add(&f, 1, "a", 1, "x", 0), HINT_OK);
    ck_assert_int_eq(add(&f, 1, "b", 1, "x", 500), HINT_OK);
    ck_assert_int_eq(add(&f, 2, "c", 1, "x", 600), HINT_OK);
    mem_store_commit(f.ms);
    ck_assert_int_eq(add(&f, 2, "lost", 1, "x", 700), HINT_OK); /* not committed */
    const hint_stats_t before = *hint_stats(f.h);
    mem_store_crash(f.ms);
    fx_open(&f, 800);
    ck_assert_uint_eq(hint_stats(f.h)->pending, before.pending - 1);
    ck_assert_uint_eq(hint_pending(f.h, 1, NULL), 2);
    ck_assert_uint_eq(hint_pending(f.h, 2, NULL), 1);
    fx_open(&f, 1200); /* "a" expired while the node was down */
    ck_assert_uint_eq(hint_stats(f.h)->dropped_ttl, 1);
    ck_assert_uint_eq(hint_pending(f.h, 1, NULL), 1);
    ck_assert_int_eq(hint_next_batch(f.h, 1, 1200, &b), 1);
    hint_batch_free(&b);
    fx_free(&f);
}
END_TEST

START_TEST(store_faults_surface)
{
    fixture_t f;
    hint_batch_t b = HINT_BATCH_INIT;
    fx_init(&f);
    fx_open(&f, 0);
    mem_store_fail_next(f.ms, 1);
    ck_assert_int_eq(add(&f, 1, "a", 1, "x", 0), STORE_EIO);
    ck_assert_uint_eq(hint_stats(f.h)->pending, 0);
    ck_assert_int_eq(add(&f, 1, "a", 1, "x", 0), HINT_OK);
    mem_store_fail_next(f.ms, 1);
    ck_assert_int_eq(hint_next_batch(f.h, 1, 1, &b), STORE_EIO);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_int_eq(hint_next_batch(f.h, 1, 1, &b), 1);
    hint_batch_free(&b);
    fx_free(&f);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("hint");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, store_merge_deliver_ack);
    tcase_add_test(tc, ack_of_changed_record_keeps_it);
    tcase_add_test(tc, bounds_refuse);
    tcase_add_test(tc, ttl_drops);
    tcase_add_test(tc, backoff_grows_with_jitter);
    tcase_add_test(tc, batches_are_bounded_and_drain);
    tcase_add_test(tc, restart_reloads);
    tcase_add_test(tc, store_faults_surface);
    suite_add_tcase(s, tc);
    return s;
}
