/* test_merkle.c - Check suite for src/core/merkle: incremental updates equal
 * a full rebuild, equal data gives equal roots, a descent finds exactly the
 * differing slots and keys, masks, and the leaf cache across restarts. Runs
 * over the in-memory store. */
#include <stdio.h>
#include <string.h>

#include "check_main.h"
#include "core/mem_store.h"
#include "core/merkle.h"
#include "core/slot.h"
#include "core/versions.h"
#include "util/pcg.h"

#define TEST_KEYS 2000
#define TEST_KEY_LEN_MAX 32
#define TEST_DIFF_MAX 64

typedef struct rep {
    mem_store_t *ms;
    store_t st;
    merkle_t *tree;
} rep_t;

static void rep_init(rep_t *r)
{
    r->ms = mem_store_new();
    r->st = mem_store_as_store(r->ms);
    r->tree = merkle_new(&r->st);
    ck_assert_int_eq(merkle_load(r->tree, NULL), 0);
}

static void rep_free(rep_t *r)
{
    merkle_free(r->tree);
    mem_store_free(r->ms);
}

static void data_key(buf_t *out, const char *key)
{
    size_t len = strlen(key);
    slot_data_key(out, slot_of_key(key, len), key, len);
}

static void key_name(char out[TEST_KEY_LEN_MAX], uint32_t i)
{
    snprintf(out, TEST_KEY_LEN_MAX, "key:%u", i);
}

/* The write path: store vs under key and update the tree. */
static void put_versions(rep_t *r, const buf_t *dkey, const versions_t *vs)
{
    buf_t old = BUF_INIT, enc = BUF_INIT;
    versions_t before = VERSIONS_INIT;
    if (store_get(&r->st, STORE_CF_DATA, dkey->data, dkey->len, &old) == 1)
        ck_assert_int_eq(versions_decode(&before, old.data, old.len), VERSIONS_OK);
    versions_encode(vs, &enc);
    ck_assert_int_eq(store_put(&r->st, STORE_CF_DATA, dkey->data, dkey->len, enc.data, enc.len), 0);
    ck_assert_int_eq(merkle_update_key(r->tree, dkey->data, dkey->len, &before, vs), 0);
    versions_free(&before);
    buf_free(&old);
    buf_free(&enc);
}

/* A coordinator write of value to key by actor, superseding what is there. */
static void write_key(rep_t *r, const char *key, uint64_t actor, const char *value)
{
    buf_t dkey = BUF_INIT, old = BUF_INIT;
    versions_t vs = VERSIONS_INIT;
    vclock_t ctx = VCLOCK_INIT;
    data_key(&dkey, key);
    if (store_get(&r->st, STORE_CF_DATA, dkey.data, dkey.len, &old) == 1)
        ck_assert_int_eq(versions_decode(&vs, old.data, old.len), VERSIONS_OK);
    versions_context(&vs, &ctx);
    version_write_t w = {&ctx, value, strlen(value), 0, false};
    dot_t dot;
    ck_assert_int_eq(versions_write(&vs, actor, 1000, &w, &dot), VERSIONS_OK);
    put_versions(r, &dkey, &vs);
    vclock_free(&ctx);
    versions_free(&vs);
    buf_free(&dkey);
    buf_free(&old);
}

/* Copies key's version set from src to dst (as replication would). */
static void copy_key(rep_t *dst, rep_t *src, const char *key)
{
    buf_t dkey = BUF_INIT, val = BUF_INIT;
    versions_t vs = VERSIONS_INIT;
    data_key(&dkey, key);
    ck_assert_int_eq(store_get(&src->st, STORE_CF_DATA, dkey.data, dkey.len, &val), 1);
    ck_assert_int_eq(versions_decode(&vs, val.data, val.len), VERSIONS_OK);
    put_versions(dst, &dkey, &vs);
    versions_free(&vs);
    buf_free(&dkey);
    buf_free(&val);
}

static void assert_same_tree(const merkle_t *a, const merkle_t *b)
{
    for (unsigned l = 0; l < MERKLE_LEVELS; l++)
        for (uint32_t i = 0; i < merkle_level_width(l); i++)
            ck_assert_uint_eq(merkle_hash(a, l, i), merkle_hash(b, l, i));
}

START_TEST(incremental_equals_rebuild)
{
    rep_t r;
    char key[TEST_KEY_LEN_MAX];
    rep_init(&r);
    for (uint32_t i = 0; i < TEST_KEYS; i++) {
        key_name(key, i);
        write_key(&r, key, 1, "v1");
    }
    for (uint32_t i = 0; i < TEST_KEYS; i += 7) {
        key_name(key, i);
        write_key(&r, key, 2, "v2");
    }
    ck_assert_uint_ne(merkle_root(r.tree), 0);
    merkle_t *fresh = merkle_new(&r.st);
    ck_assert_int_eq(merkle_rebuild(fresh), 0);
    assert_same_tree(r.tree, fresh);
    merkle_free(fresh);
    rep_free(&r);
}
END_TEST

START_TEST(same_data_equal_roots)
{
    rep_t a, b;
    char key[TEST_KEY_LEN_MAX];
    rep_init(&a);
    rep_init(&b);
    ck_assert_uint_eq(merkle_root(a.tree), 0);
    for (uint32_t i = 0; i < TEST_KEYS; i++) {
        key_name(key, i);
        write_key(&a, key, 1, "v");
    }
    for (uint32_t i = TEST_KEYS; i-- > 0;) { /* the other order */
        key_name(key, i);
        copy_key(&b, &a, key);
    }
    ck_assert_uint_eq(merkle_root(a.tree), merkle_root(b.tree));
    assert_same_tree(a.tree, b.tree);
    rep_free(&a);
    rep_free(&b);
}
END_TEST

/* What a descent found: the slots of differing leaves, and those leaves. */
typedef struct descent {
    merkle_slots_t slots;
    uint32_t leaves[TEST_DIFF_MAX];
    uint32_t n_leaves;
    uint32_t visited;
} descent_t;

/* Descends from the root where a and b differ, into *found. */
static void descend(const merkle_t *a, const merkle_t *b, unsigned level, uint32_t index,
                    const merkle_slots_t *mask, descent_t *found)
{
    found->visited++;
    if (merkle_hash_masked(a, level, index, mask) == merkle_hash_masked(b, level, index, mask))
        return;
    if (level == MERKLE_LEAF_LEVEL) {
        merkle_slots_add(&found->slots, merkle_leaf_slot(index));
        ck_assert_uint_lt(found->n_leaves, TEST_DIFF_MAX);
        found->leaves[found->n_leaves++] = index;
        return;
    }
    uint32_t fan = merkle_level_width(level + 1) / merkle_level_width(level);
    for (uint32_t c = index * fan; c < (index + 1) * fan; c++)
        descend(a, b, level + 1, c, mask, found);
}

/* Whether key's leaf (its slot and bucket) is among found's leaves. */
static bool leaf_found(const descent_t *found, const char *key)
{
    buf_t dkey = BUF_INIT;
    data_key(&dkey, key);
    uint32_t leaf = merkle_leaf_index(slot_of_key(key, strlen(key)),
                                      merkle_key_bucket(dkey.data, dkey.len));
    buf_free(&dkey);
    for (uint32_t i = 0; i < found->n_leaves; i++)
        if (found->leaves[i] == leaf)
            return true;
    return false;
}

typedef struct key_list {
    char keys[TEST_DIFF_MAX * 4][TEST_KEY_LEN_MAX];
    uint64_t hashes[TEST_DIFF_MAX * 4];
    uint32_t n;
} key_list_t;

static int collect_fn(void *arg, const void *key, size_t key_len, const void *val, size_t val_len)
{
    key_list_t *kl = arg;
    ck_assert_uint_lt(kl->n, TEST_DIFF_MAX * 4);
    ck_assert_uint_lt(key_len - SLOT_KEY_PREFIX_LEN, TEST_KEY_LEN_MAX);
    memcpy(kl->keys[kl->n], (const char *)key + SLOT_KEY_PREFIX_LEN, key_len - SLOT_KEY_PREFIX_LEN);
    kl->keys[kl->n][key_len - SLOT_KEY_PREFIX_LEN] = '\0';
    ck_assert_int_eq(merkle_key_hash_encoded(key, key_len, val, val_len, &kl->hashes[kl->n]), 0);
    kl->n++;
    return 0;
}

static void slot_keys(rep_t *r, uint16_t slot, key_list_t *kl)
{
    uint8_t start[SLOT_KEY_PREFIX_LEN], end[SLOT_KEY_PREFIX_LEN];
    slot_prefix(start, slot);
    slot_prefix(end, (uint16_t)(slot + 1));
    kl->n = 0;
    bool last = slot + 1 == SLOT_COUNT;
    ck_assert_int_eq(store_scan(&r->st, STORE_CF_DATA, start, 2, last ? NULL : end, last ? 0 : 2,
                                collect_fn, kl), 0);
}

/* Keys of slot whose hash differs between a and b, counted into *n. */
static void differing_keys(rep_t *a, rep_t *b, uint16_t slot, bool *is_modified, uint32_t *n)
{
    static key_list_t ka, kb;
    slot_keys(a, slot, &ka);
    slot_keys(b, slot, &kb);
    ck_assert_uint_eq(ka.n, kb.n); /* same key sets, only versions differ */
    for (uint32_t i = 0; i < ka.n; i++) {
        ck_assert_str_eq(ka.keys[i], kb.keys[i]);
        if (ka.hashes[i] != kb.hashes[i]) {
            uint32_t idx;
            ck_assert_int_eq(sscanf(ka.keys[i], "key:%u", &idx), 1);
            ck_assert(is_modified[idx]);
            (*n)++;
        }
    }
}

static void check_descent(uint32_t k)
{
    rep_t a, b;
    char key[TEST_KEY_LEN_MAX];
    static bool modified[TEST_KEYS];
    merkle_slots_t expect;
    static descent_t found;
    pcg32_t rng;
    pcg32_seed(&rng, 42 + k, 1);
    rep_init(&a);
    rep_init(&b);
    memset(modified, 0, sizeof modified);
    merkle_slots_clear(&expect);
    memset(&found, 0, sizeof found);
    for (uint32_t i = 0; i < TEST_KEYS; i++) {
        key_name(key, i);
        write_key(&a, key, 1, "v");
        copy_key(&b, &a, key);
    }
    for (uint32_t n = 0; n < k;) {
        uint32_t i = pcg32_bounded(&rng, TEST_KEYS);
        if (modified[i])
            continue;
        modified[i] = true;
        n++;
        key_name(key, i);
        write_key(&b, key, 2, "changed");
        merkle_slots_add(&expect, slot_of_key(key, strlen(key)));
    }
    uint32_t keys_found = 0;
    descend(a.tree, b.tree, 0, 0, NULL, &found);
    ck_assert_mem_eq(found.slots.words, expect.words, sizeof expect.words);
    /* each modified key's own leaf differs, and no other leaf */
    ck_assert_uint_le(found.n_leaves, k);
    for (uint32_t i = 0; i < TEST_KEYS; i++) {
        key_name(key, i);
        if (modified[i])
            ck_assert(leaf_found(&found, key));
    }
    /* only below differing nodes: fanouts 16, 16, 16 to the slots, 8, 8 below */
    ck_assert_uint_le(found.visited, 1 + 4 + (16 * 3 + 8 * 2) * k);
    for (uint32_t s = 0; s < SLOT_COUNT; s++)
        if (merkle_slots_has(&found.slots, (uint16_t)s))
            differing_keys(&a, &b, (uint16_t)s, modified, &keys_found);
    ck_assert_uint_eq(keys_found, k);
    rep_free(&a);
    rep_free(&b);
}

START_TEST(descent_finds_differing_slots_and_keys)
{
    check_descent(1);
    check_descent(5);
    check_descent(TEST_DIFF_MAX);
}
END_TEST

START_TEST(masked_hashes)
{
    rep_t r;
    char key[TEST_KEY_LEN_MAX];
    merkle_slots_t all, low, none;
    rep_init(&r);
    for (uint32_t i = 0; i < TEST_KEYS; i++) {
        key_name(key, i);
        write_key(&r, key, 1, "v");
    }
    merkle_slots_fill(&all);
    merkle_slots_clear(&none);
    merkle_slots_clear(&low);
    merkle_slots_add_range(&low, 0, SLOT_COUNT / 2 - 1);
    ck_assert_uint_eq(merkle_slots_count(&low), SLOT_COUNT / 2);
    ck_assert_uint_eq(merkle_hash_masked(r.tree, 0, 0, &all), merkle_root(r.tree));
    ck_assert_uint_eq(merkle_hash_masked(r.tree, 0, 0, &none), 0);
    uint64_t expect = 0;
    for (uint32_t s = 0; s < SLOT_COUNT / 2; s++)
        expect ^= merkle_hash(r.tree, MERKLE_SLOT_LEVEL, s);
    ck_assert_uint_eq(merkle_hash_masked(r.tree, 0, 0, &low), expect);
    ck_assert_uint_eq(merkle_hash_masked(r.tree, 1, 0, &low) ^ merkle_hash_masked(r.tree, 1, 1, &low),
                      expect);
    ck_assert(merkle_slots_any(&low, 100, 16));
    ck_assert(!merkle_slots_any(&low, SLOT_COUNT / 2, 16));
    rep_free(&r);
}
END_TEST

START_TEST(cache_survives_restart)
{
    rep_t r;
    char key[TEST_KEY_LEN_MAX];
    bool rebuilt = true;
    rep_init(&r);
    for (uint32_t i = 0; i < TEST_KEYS; i++) {
        key_name(key, i);
        write_key(&r, key, 1, "v");
    }
    mem_store_commit(r.ms);
    uint64_t root = merkle_root(r.tree);
    /* uncommitted writes vanish with the crash, data and leaves alike */
    for (uint32_t i = 0; i < 10; i++) {
        key_name(key, i);
        write_key(&r, key, 3, "lost");
    }
    mem_store_crash(r.ms);
    merkle_t *again = merkle_new(&r.st);
    ck_assert_int_eq(merkle_load(again, &rebuilt), 0);
    ck_assert(!rebuilt);
    ck_assert_uint_eq(merkle_root(again), root);
    merkle_t *full = merkle_new(&r.st);
    ck_assert_int_eq(merkle_rebuild(full), 0);
    assert_same_tree(again, full);
    ck_assert_int_eq(merkle_invalidate(again), 0);
    ck_assert_int_eq(merkle_load(again, &rebuilt), 0);
    ck_assert(rebuilt);
    ck_assert_uint_eq(merkle_root(again), root);
    merkle_free(full);
    merkle_free(again);
    rep_free(&r);
}
END_TEST

START_TEST(fresh_store_rebuilds_and_slot_rebuild)
{
    rep_t r;
    char key[TEST_KEY_LEN_MAX];
    bool rebuilt = false;
    rep_init(&r);
    for (uint32_t i = 0; i < TEST_KEYS; i++) {
        key_name(key, i);
        write_key(&r, key, 1, "v");
    }
    /* a range delete outside the write path, repaired by a slot rebuild */
    uint16_t slot = slot_of_key("key:1", 5);
    uint8_t start[SLOT_KEY_PREFIX_LEN], end[SLOT_KEY_PREFIX_LEN];
    slot_prefix(start, slot);
    slot_prefix(end, (uint16_t)(slot + 1));
    ck_assert_uint_ne(merkle_hash(r.tree, MERKLE_SLOT_LEVEL, slot), 0);
    ck_assert_int_eq(store_del_range(&r.st, STORE_CF_DATA, start, 2, end, 2), 0);
    ck_assert_int_eq(merkle_rebuild_slot(r.tree, slot), 0);
    ck_assert_uint_eq(merkle_hash(r.tree, MERKLE_SLOT_LEVEL, slot), 0);
    merkle_t *full = merkle_new(&r.st);
    ck_assert_int_eq(merkle_load(full, &rebuilt), 0);
    ck_assert(!rebuilt);
    assert_same_tree(r.tree, full);
    ck_assert_int_eq(merkle_rebuild(full), 0);
    assert_same_tree(r.tree, full);
    merkle_free(full);
    rep_free(&r);
}
END_TEST

START_TEST(store_failure_reported)
{
    rep_t r;
    rep_init(&r);
    mem_store_fail_next(r.ms, 1);
    ck_assert_int_eq(merkle_update(r.tree, 5, 0, 1234), STORE_EIO);
    ck_assert_uint_eq(merkle_hash(r.tree, MERKLE_LEAF_LEVEL, 5), 1234);
    mem_store_fail_next(r.ms, 1);
    ck_assert_int_lt(merkle_rebuild(r.tree), 0);
    ck_assert_uint_eq(merkle_key_hash("ab", 2, NULL), 0);
    uint64_t h;
    ck_assert_int_eq(merkle_key_hash_encoded("ab", 2, "zz", 2, &h), STORE_ECORRUPT);
    rep_free(&r);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("merkle");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, incremental_equals_rebuild);
    tcase_add_test(tc, same_data_equal_roots);
    tcase_add_test(tc, descent_finds_differing_slots_and_keys);
    tcase_add_test(tc, masked_hashes);
    tcase_add_test(tc, cache_survives_restart);
    tcase_add_test(tc, fresh_store_rebuilds_and_slot_rebuild);
    tcase_add_test(tc, store_failure_reported);
    suite_add_tcase(s, tc);
    return s;
}
