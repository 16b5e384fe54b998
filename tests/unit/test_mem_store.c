/* test_mem_store.c - Check suite for src/core/mem_store.c: get, put, del,
 * scans and range deletes per column family, the staged/durable contract
 * (commit and crash), fault injection, and a random operation sequence
 * checked against a plain reference model. */
#include <string.h>

#include "check_main.h"
#include "core/mem_store.h"
#include "util/pcg.h"

#define MODEL_KEY_LEN_MAX 3
#define MODEL_KEYS 40 /* 1 + 3 + 9 + 27 */
#define MODEL_OPS 20000
#define BIG_KEYS 100000

/* ---- helpers ---- */

static void put_s(store_t *s, enum store_cf cf, const char *k, const char *v)
{
    ck_assert_int_eq(store_put(s, cf, k, strlen(k), v, strlen(v)), STORE_OK);
}

/* 1 and the value in out when k is present, 0 when it is not. */
static int get_s(store_t *s, enum store_cf cf, const char *k, buf_t *out)
{
    int rc = store_get(s, cf, k, strlen(k), out);
    ck_assert_int_ge(rc, 0);
    buf_append_byte(out, 0);
    out->len--;
    return rc;
}

/* Scan visitor: appends "key=value;" to a buf; stops after limit keys. */
typedef struct collect {
    buf_t text;
    int seen;
    int limit;
} collect_t;

static int collect_fn(void *arg, const void *key, size_t key_len, const void *val, size_t val_len)
{
    collect_t *c = arg;
    buf_append(&c->text, key, key_len);
    buf_append_byte(&c->text, '=');
    buf_append(&c->text, val, val_len);
    buf_append_byte(&c->text, ';');
    return ++c->seen == c->limit;
}

/* The text of a scan of [start, end) (end NULL: to the end). */
static void scan_text(store_t *s, enum store_cf cf, const char *start, const char *end,
                      int limit, buf_t *out)
{
    collect_t c = {BUF_INIT, 0, limit};
    int rc = store_scan(s, cf, start, strlen(start), end, end ? strlen(end) : 0, collect_fn, &c);
    ck_assert_int_eq(rc, STORE_OK);
    buf_clear(out);
    buf_append(out, c.text.data, c.text.len);
    buf_append_byte(out, 0);
    out->len--;
    buf_free(&c.text);
}

/* ---- basic operations ---- */

START_TEST(get_put_del_per_cf)
{
    mem_store_t *ms = mem_store_new();
    store_t s = mem_store_as_store(ms);
    buf_t v = BUF_INIT;
    ck_assert_int_eq(get_s(&s, STORE_CF_DATA, "k", &v), 0);
    put_s(&s, STORE_CF_DATA, "k", "data");
    put_s(&s, STORE_CF_META, "k", "meta");
    ck_assert_int_eq(get_s(&s, STORE_CF_DATA, "k", &v), 1);
    ck_assert_str_eq(v.data, "data");
    ck_assert_int_eq(get_s(&s, STORE_CF_META, "k", &v), 1);
    ck_assert_str_eq(v.data, "meta");
    ck_assert_int_eq(get_s(&s, STORE_CF_HINTS, "k", &v), 0);
    ck_assert_uint_eq(v.len, 0);
    put_s(&s, STORE_CF_DATA, "k", "data2");
    ck_assert_int_eq(get_s(&s, STORE_CF_DATA, "k", &v), 1);
    ck_assert_str_eq(v.data, "data2");
    ck_assert_uint_eq(mem_store_count(ms, STORE_CF_DATA), 1);
    ck_assert_uint_eq(mem_store_bytes(ms, STORE_CF_DATA), 6);
    ck_assert_int_eq(store_del(&s, STORE_CF_DATA, "k", 1), STORE_OK);
    ck_assert_int_eq(store_del(&s, STORE_CF_DATA, "k", 1), STORE_OK); /* absent: fine */
    ck_assert_int_eq(get_s(&s, STORE_CF_DATA, "k", &v), 0);
    ck_assert_int_eq(get_s(&s, STORE_CF_META, "k", &v), 1);
    ck_assert_uint_eq(mem_store_count(ms, STORE_CF_DATA), 0);
    ck_assert_uint_eq(mem_store_bytes(ms, STORE_CF_DATA), 0);
    /* Binary keys and values, the empty key and the empty value. */
    ck_assert_int_eq(store_put(&s, STORE_CF_DATA, "a\0b", 3, "\0\1", 2), STORE_OK);
    ck_assert_int_eq(store_put(&s, STORE_CF_DATA, "", 0, "", 0), STORE_OK);
    ck_assert_int_eq(store_get(&s, STORE_CF_DATA, "a\0b", 3, &v), 1);
    ck_assert_uint_eq(v.len, 2);
    ck_assert_int_eq(memcmp(v.data, "\0\1", 2), 0);
    ck_assert_int_eq(store_get(&s, STORE_CF_DATA, "a", 1, &v), 0);
    ck_assert_int_eq(store_get(&s, STORE_CF_DATA, "", 0, &v), 1);
    ck_assert_uint_eq(v.len, 0);
    ck_assert_int_eq(store_get(&s, STORE_CF_COUNT, "", 0, &v), STORE_EIO);
    buf_free(&v);
    mem_store_free(ms);
}
END_TEST

START_TEST(scan_ranges_in_key_order)
{
    mem_store_t *ms = mem_store_new();
    store_t s = mem_store_as_store(ms);
    buf_t t = BUF_INIT;
    static const char *keys[] = {"b", "a", "ab", "abc", "c", "bb", "a0"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        put_s(&s, STORE_CF_HINTS, keys[i], keys[i]);
    put_s(&s, STORE_CF_DATA, "zz", "other cf");
    scan_text(&s, STORE_CF_HINTS, "", NULL, 0, &t);
    ck_assert_str_eq(t.data, "a=a;a0=a0;ab=ab;abc=abc;b=b;bb=bb;c=c;");
    scan_text(&s, STORE_CF_HINTS, "ab", "bb", 0, &t);
    ck_assert_str_eq(t.data, "ab=ab;abc=abc;b=b;");
    scan_text(&s, STORE_CF_HINTS, "aa", "ab", 0, &t);
    ck_assert_str_eq(t.data, "");
    scan_text(&s, STORE_CF_HINTS, "b", "a", 0, &t);
    ck_assert_str_eq(t.data, "");
    scan_text(&s, STORE_CF_HINTS, "a", NULL, 2, &t); /* the callback stops it */
    ck_assert_str_eq(t.data, "a=a;a0=a0;");
    scan_text(&s, STORE_CF_HINTS, "bc", NULL, 0, &t);
    ck_assert_str_eq(t.data, "c=c;");
    ck_assert_int_eq(store_del_range(&s, STORE_CF_HINTS, "a0", 2, "b", 1), STORE_OK);
    scan_text(&s, STORE_CF_HINTS, "", NULL, 0, &t);
    ck_assert_str_eq(t.data, "a=a;b=b;bb=bb;c=c;");
    ck_assert_int_eq(store_del_range(&s, STORE_CF_HINTS, "b", 1, NULL, 0), STORE_OK);
    scan_text(&s, STORE_CF_HINTS, "", NULL, 0, &t);
    ck_assert_str_eq(t.data, "a=a;");
    ck_assert_uint_eq(mem_store_count(ms, STORE_CF_HINTS), 1);
    ck_assert_uint_eq(mem_store_count(ms, STORE_CF_DATA), 1);
    buf_free(&t);
    mem_store_free(ms);
}
END_TEST

/* A visitor that deletes each key it sees and adds one further ahead. */
static int rewrite_fn(void *arg, const void *key, size_t key_len, const void *val, size_t val_len)
{
    store_t *s = arg;
    ck_assert_int_eq(store_del(s, STORE_CF_DATA, key, key_len), STORE_OK);
    if (key_len == 1) {
        char next[2] = {((const char *)key)[0], 'x'};
        ck_assert_int_eq(store_put(s, STORE_CF_DATA, next, 2, val, val_len), STORE_OK);
    }
    return 0;
}

START_TEST(scan_callback_may_write)
{
    mem_store_t *ms = mem_store_new();
    store_t s = mem_store_as_store(ms);
    put_s(&s, STORE_CF_DATA, "a", "1");
    put_s(&s, STORE_CF_DATA, "b", "2");
    put_s(&s, STORE_CF_DATA, "c", "3");
    ck_assert_int_eq(store_scan(&s, STORE_CF_DATA, "", 0, NULL, 0, rewrite_fn, &s), STORE_OK);
    ck_assert_uint_eq(mem_store_count(ms, STORE_CF_DATA), 0);
    mem_store_free(ms);
}
END_TEST

START_TEST(commit_and_crash)
{
    mem_store_t *ms = mem_store_new();
    store_t s = mem_store_as_store(ms);
    buf_t t = BUF_INIT;
    put_s(&s, STORE_CF_DATA, "k1", "v1");
    put_s(&s, STORE_CF_DATA, "k2", "v2");
    put_s(&s, STORE_CF_META, "id", "node");
    ck_assert_uint_eq(mem_store_pending(ms), 3);
    mem_store_commit(ms);
    ck_assert_uint_eq(mem_store_pending(ms), 0);
    put_s(&s, STORE_CF_DATA, "k1", "staged");
    put_s(&s, STORE_CF_DATA, "k1", "staged again");
    put_s(&s, STORE_CF_DATA, "k3", "new");
    ck_assert_int_eq(store_del(&s, STORE_CF_DATA, "k2", 2), STORE_OK);
    ck_assert_int_eq(store_del_range(&s, STORE_CF_META, "", 0, NULL, 0), STORE_OK);
    scan_text(&s, STORE_CF_DATA, "", NULL, 0, &t); /* staged writes are visible */
    ck_assert_str_eq(t.data, "k1=staged again;k3=new;");
    mem_store_crash(ms);
    scan_text(&s, STORE_CF_DATA, "", NULL, 0, &t);
    ck_assert_str_eq(t.data, "k1=v1;k2=v2;");
    scan_text(&s, STORE_CF_META, "", NULL, 0, &t);
    ck_assert_str_eq(t.data, "id=node;");
    ck_assert_uint_eq(mem_store_count(ms, STORE_CF_DATA), 2);
    ck_assert_uint_eq(mem_store_bytes(ms, STORE_CF_DATA), 8);
    /* Committed deletes stay deleted. */
    ck_assert_int_eq(store_del(&s, STORE_CF_DATA, "k1", 2), STORE_OK);
    mem_store_commit(ms);
    put_s(&s, STORE_CF_DATA, "k1", "back?");
    mem_store_crash(ms);
    scan_text(&s, STORE_CF_DATA, "", NULL, 0, &t);
    ck_assert_str_eq(t.data, "k2=v2;");
    buf_free(&t);
    mem_store_free(ms);
}
END_TEST

START_TEST(fault_injection)
{
    mem_store_t *ms = mem_store_new();
    store_t s = mem_store_as_store(ms);
    buf_t v = BUF_INIT;
    put_s(&s, STORE_CF_DATA, "k", "v");
    mem_store_fail_next(ms, 5);
    ck_assert_int_eq(store_put(&s, STORE_CF_DATA, "k", 1, "lost", 4), STORE_EIO);
    ck_assert_int_eq(store_get(&s, STORE_CF_DATA, "k", 1, &v), STORE_EIO);
    ck_assert_int_eq(store_del(&s, STORE_CF_DATA, "k", 1), STORE_EIO);
    ck_assert_int_eq(store_del_range(&s, STORE_CF_DATA, "", 0, NULL, 0), STORE_EIO);
    collect_t c = {BUF_INIT, 0, 0};
    ck_assert_int_eq(store_scan(&s, STORE_CF_DATA, "", 0, NULL, 0, collect_fn, &c), STORE_EIO);
    ck_assert_int_eq(c.seen, 0);
    ck_assert_uint_eq(mem_store_failed_ops(ms), 5);
    ck_assert_int_eq(get_s(&s, STORE_CF_DATA, "k", &v), 1);
    ck_assert_str_eq(v.data, "v");
    ck_assert_uint_eq(mem_store_count(ms, STORE_CF_DATA), 1);
    mem_store_fail_next(ms, 3);
    mem_store_fail_next(ms, 0); /* cancels */
    put_s(&s, STORE_CF_DATA, "k", "w");
    ck_assert_uint_eq(mem_store_failed_ops(ms), 5);
    buf_free(&v);
    mem_store_free(ms);
}
END_TEST

/* ---- against a reference model ---- */

/* The model: every key of length 0 to 3 over {NUL, 'a', 0xff} (so prefixes
 * and NUL bytes matter), listed in bytewise order, and per column family the
 * live and the durable value id of each (-1: absent). */
typedef struct model {
    char keys[MODEL_KEYS][MODEL_KEY_LEN_MAX];
    size_t key_lens[MODEL_KEYS];
    int nkeys;
    int live[STORE_CF_COUNT][MODEL_KEYS];
    int durable[STORE_CF_COUNT][MODEL_KEYS];
} model_t;

/* Adds prefix and, depth first, its extensions: bytewise order. */
static void model_keys_build(model_t *m, char *prefix, size_t len)
{
    static const char alpha[3] = {0, 'a', (char)0xff};
    memcpy(m->keys[m->nkeys], prefix, len);
    m->key_lens[m->nkeys++] = len;
    if (len == MODEL_KEY_LEN_MAX)
        return;
    for (int i = 0; i < 3; i++) {
        prefix[len] = alpha[i];
        model_keys_build(m, prefix, len + 1);
    }
}

static void model_check(store_t *s, const model_t *m)
{
    buf_t want = BUF_INIT;
    for (int cf = 0; cf < STORE_CF_COUNT; cf++) {
        buf_clear(&want);
        for (int i = 0; i < m->nkeys; i++) {
            if (m->live[cf][i] < 0)
                continue;
            buf_append(&want, m->keys[i], m->key_lens[i]);
            buf_printf(&want, "=%d;", m->live[cf][i]);
        }
        collect_t c = {BUF_INIT, 0, 0};
        ck_assert_int_eq(store_scan(s, (enum store_cf)cf, "", 0, NULL, 0, collect_fn, &c), 0);
        ck_assert_uint_eq(c.text.len, want.len);
        ck_assert(want.len == 0 || memcmp(c.text.data, want.data, want.len) == 0);
        buf_free(&c.text);
    }
    buf_free(&want);
}

static void model_step(pcg32_t *g, mem_store_t *ms, store_t *s, model_t *m, int op)
{
    int cf = (int)pcg32_bounded(g, STORE_CF_COUNT);
    int i = (int)pcg32_bounded(g, MODEL_KEYS), j = (int)pcg32_bounded(g, MODEL_KEYS);
    const char *k = m->keys[i], *e = m->keys[j];
    size_t kl = m->key_lens[i], el = m->key_lens[j];
    char val[16];
    uint32_t what = pcg32_bounded(g, 100);
    if (what < 50) {
        int n = snprintf(val, sizeof val, "%d", op);
        ck_assert_int_eq(store_put(s, (enum store_cf)cf, k, kl, val, (size_t)n), 0);
        m->live[cf][i] = op;
    } else if (what < 75) {
        ck_assert_int_eq(store_del(s, (enum store_cf)cf, k, kl), 0);
        m->live[cf][i] = -1;
    } else if (what < 80) {
        ck_assert_int_eq(store_del_range(s, (enum store_cf)cf, k, kl, e, el), 0);
        for (int x = i; x < j; x++)
            m->live[cf][x] = -1;
    } else if (what < 92) {
        mem_store_commit(ms);
        memcpy(m->durable, m->live, sizeof m->live);
    } else if (what < 97) {
        mem_store_crash(ms);
        memcpy(m->live, m->durable, sizeof m->live);
    } else {
        mem_store_fail_next(ms, 1); /* the next operation must change nothing */
        ck_assert_int_eq(store_del_range(s, (enum store_cf)cf, "", 0, NULL, 0), STORE_EIO);
    }
}

START_TEST(random_ops_match_model)
{
    mem_store_t *ms = mem_store_new();
    store_t s = mem_store_as_store(ms);
    static model_t m;
    char prefix[MODEL_KEY_LEN_MAX];
    memset(&m, 0xff, sizeof m);
    m.nkeys = 0;
    model_keys_build(&m, prefix, 0);
    ck_assert_int_eq(m.nkeys, MODEL_KEYS);
    pcg32_t g;
    pcg32_seed(&g, 2024, 1);
    for (int op = 0; op < MODEL_OPS; op++) {
        model_step(&g, ms, &s, &m, op);
        if (op % 50 == 0)
            model_check(&s, &m);
    }
    model_check(&s, &m);
    mem_store_crash(ms);
    memcpy(m.live, m.durable, sizeof m.live);
    model_check(&s, &m);
    mem_store_free(ms);
}
END_TEST

START_TEST(many_keys)
{
    mem_store_t *ms = mem_store_new();
    store_t s = mem_store_as_store(ms);
    buf_t v = BUF_INIT;
    char k[16];
    for (uint32_t i = 0; i < BIG_KEYS; i++) {
        uint32_t x = (uint32_t)(((uint64_t)i * 7919) % BIG_KEYS); /* a permutation */
        int n = snprintf(k, sizeof k, "%08u", x);
        ck_assert_int_eq(store_put(&s, STORE_CF_DATA, k, (size_t)n, k, (size_t)n), 0);
    }
    mem_store_commit(ms);
    ck_assert_uint_eq(mem_store_count(ms, STORE_CF_DATA), BIG_KEYS);
    for (uint32_t i = 0; i < BIG_KEYS; i += 7) {
        int n = snprintf(k, sizeof k, "%08u", i);
        ck_assert_int_eq(store_get(&s, STORE_CF_DATA, k, (size_t)n, &v), 1);
        ck_assert_int_eq(memcmp(v.data, k, (size_t)n), 0);
    }
    ck_assert_int_eq(store_del_range(&s, STORE_CF_DATA, "00001000", 8, "00099000", 8), 0);
    ck_assert_uint_eq(mem_store_count(ms, STORE_CF_DATA), BIG_KEYS - 98000);
    mem_store_crash(ms);
    ck_assert_uint_eq(mem_store_count(ms, STORE_CF_DATA), BIG_KEYS);
    buf_free(&v);
    mem_store_free(ms);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("mem_store");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, get_put_del_per_cf);
    tcase_add_test(tc, scan_ranges_in_key_order);
    tcase_add_test(tc, scan_callback_may_write);
    tcase_add_test(tc, commit_and_crash);
    tcase_add_test(tc, fault_injection);
    tcase_add_test(tc, random_ops_match_model);
    tcase_add_test(tc, many_keys);
    suite_add_tcase(s, tc);
    return s;
}
