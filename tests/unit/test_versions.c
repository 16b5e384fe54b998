/* test_versions.c - Check suite for src/core/versions.c: writes with contexts
 * (the dotted version vector case: two writes from the same context through
 * the same coordinator both survive), sibling resolution, the sibling bound,
 * replica merge and its laws over sets built from random histories, expiry
 * and tombstones, the stored encoding and its strict decoder, and the
 * printable context. */
#include <string.h>

#include "check_main.h"
#include "core/versions.h"
#include "util/pcg.h"

#define ACTOR_A 0xa1
#define ACTOR_B 0xb2
#define NOW 1700000000000ULL

/* ---- helpers ---- */

static dot_t put(versions_t *vs, uint64_t actor, const vclock_t *ctx, const char *value)
{
    version_write_t w = {.context = ctx, .value = value, .value_len = strlen(value)};
    dot_t d = {0, 0};
    ck_assert_int_eq(versions_write(vs, actor, NOW, &w, &d), VERSIONS_OK);
    return d;
}

static bool same_encoding(const versions_t *a, const versions_t *b)
{
    buf_t ea = BUF_INIT, eb = BUF_INIT;
    versions_encode(a, &ea);
    versions_encode(b, &eb);
    bool same = ea.len == eb.len && memcmp(ea.data, eb.data, ea.len) == 0;
    buf_free(&ea);
    buf_free(&eb);
    return same;
}

static bool has_value(const versions_t *vs, const char *value)
{
    for (uint32_t i = 0; i < vs->len; i++)
        if (vs->items[i].value_len == strlen(value) &&
            memcmp(vs->items[i].value, value, vs->items[i].value_len) == 0)
            return true;
    return false;
}

static const version_t *find_dot(const versions_t *vs, dot_t d)
{
    for (uint32_t i = 0; i < vs->len; i++)
        if (vs->items[i].dot.actor == d.actor && vs->items[i].dot.counter == d.counter)
            return &vs->items[i];
    return NULL;
}

static void assert_sorted(const versions_t *vs)
{
    for (uint32_t i = 1; i < vs->len; i++) {
        dot_t a = vs->items[i - 1].dot, b = vs->items[i].dot;
        ck_assert(a.actor < b.actor || (a.actor == b.actor && a.counter < b.counter));
    }
}

/* ---- writes and contexts ---- */

START_TEST(same_context_same_coordinator_keeps_both)
{
    versions_t vs = VERSIONS_INIT;
    vclock_t ctx = VCLOCK_INIT;
    put(&vs, ACTOR_A, NULL, "v0");
    versions_context(&vs, &ctx);
    /* Two clients read ctx, then both write through the same coordinator. */
    dot_t d1 = put(&vs, ACTOR_A, &ctx, "cart+milk");
    dot_t d2 = put(&vs, ACTOR_A, &ctx, "cart+eggs");
    ck_assert_uint_eq(d1.actor, ACTOR_A);
    ck_assert_uint_eq(d2.actor, ACTOR_A);
    ck_assert_uint_gt(d2.counter, d1.counter);
    ck_assert_uint_eq(vs.len, 2);
    ck_assert_uint_eq(versions_live_count(&vs, NOW), 2);
    ck_assert(has_value(&vs, "cart+milk"));
    ck_assert(has_value(&vs, "cart+eggs"));
    ck_assert(!has_value(&vs, "v0"));
    /* Siblings come in dot order. */
    ck_assert_ptr_eq(versions_live_at(&vs, NOW, 0), find_dot(&vs, d1));
    ck_assert_ptr_eq(versions_live_at(&vs, NOW, 1), find_dot(&vs, d2));
    ck_assert_ptr_null(versions_live_at(&vs, NOW, 2));
    /* A write with the merged context resolves them. */
    versions_context(&vs, &ctx);
    put(&vs, ACTOR_A, &ctx, "cart+milk+eggs");
    ck_assert_uint_eq(vs.len, 1);
    ck_assert(has_value(&vs, "cart+milk+eggs"));
    vclock_free(&ctx);
    versions_free(&vs);
}
END_TEST

START_TEST(plain_write_supersedes)
{
    versions_t vs = VERSIONS_INIT;
    vclock_t ctx = VCLOCK_INIT;
    put(&vs, ACTOR_A, NULL, "a");
    put(&vs, ACTOR_B, NULL, "b"); /* concurrent: empty context */
    ck_assert_uint_eq(vs.len, 2);
    versions_context(&vs, &ctx);
    ck_assert_uint_eq(vclock_get(&ctx, ACTOR_A), 1);
    ck_assert_uint_eq(vclock_get(&ctx, ACTOR_B), 1);
    dot_t d = put(&vs, ACTOR_A, &ctx, "plain");
    ck_assert_uint_eq(d.counter, 2);
    ck_assert_uint_eq(vs.len, 1);
    ck_assert(has_value(&vs, "plain"));
    ck_assert(vclock_covers(&vs.items[0].past, (dot_t){ACTOR_B, 1}));
    /* A stale context only supersedes what it covers. */
    vclock_t stale = VCLOCK_INIT;
    vclock_advance(&stale, ACTOR_B, 1, NOW);
    put(&vs, ACTOR_B, &stale, "stale");
    ck_assert_uint_eq(vs.len, 2);
    vclock_free(&stale);
    vclock_free(&ctx);
    versions_free(&vs);
}
END_TEST

START_TEST(counter_is_above_everything_seen)
{
    versions_t vs = VERSIONS_INIT;
    vclock_t ctx = VCLOCK_INIT;
    vclock_advance(&ctx, ACTOR_A, 10, NOW);
    ck_assert_uint_eq(put(&vs, ACTOR_A, &ctx, "x").counter, 11);
    vclock_free(&ctx);
    vclock_advance(&ctx, ACTOR_A, 30, NOW); /* in a sibling's past only */
    put(&vs, ACTOR_B, &ctx, "y");
    vclock_free(&ctx);
    ck_assert_uint_eq(put(&vs, ACTOR_A, NULL, "z").counter, 31);
    ck_assert_uint_eq(vs.len, 2); /* y covered x; z is concurrent with y */
    vclock_free(&ctx);
    versions_free(&vs);
}
END_TEST

START_TEST(sibling_bound_on_write_only)
{
    versions_t vs = VERSIONS_INIT, copy = VERSIONS_INIT, other = VERSIONS_INIT;
    for (int i = 0; i < VERSIONS_SIBLINGS_MAX; i++)
        put(&vs, ACTOR_A, NULL, "s");
    ck_assert_uint_eq(vs.len, VERSIONS_SIBLINGS_MAX);
    versions_copy(&copy, &vs);
    version_write_t w = {.value = "one too many", .value_len = 12};
    dot_t d = {0, 0};
    ck_assert_int_eq(versions_write(&vs, ACTOR_A, NOW, &w, &d), VERSIONS_ETOOMANY);
    ck_assert(same_encoding(&vs, &copy));
    /* A merge of replicas never drops a sibling to meet the bound. */
    for (int i = 0; i < VERSIONS_SIBLINGS_MAX; i++)
        put(&other, ACTOR_B, NULL, "t");
    ck_assert(versions_merge(&vs, &other));
    ck_assert_uint_eq(vs.len, 2 * VERSIONS_SIBLINGS_MAX);
    /* A write whose context covers them resolves. */
    vclock_t ctx = VCLOCK_INIT;
    versions_context(&vs, &ctx);
    put(&vs, ACTOR_B, &ctx, "resolved");
    ck_assert_uint_eq(vs.len, 1);
    vclock_free(&ctx);
    versions_free(&vs);
    versions_free(&copy);
    versions_free(&other);
}
END_TEST

START_TEST(new_past_is_pruned_keeping_superseded_dots)
{
    versions_t vs = VERSIONS_INIT;
    vclock_t ctx = VCLOCK_INIT;
    for (uint64_t a = 1; a <= 2 * VCLOCK_ENTRIES_MAX; a++)
        vclock_advance(&ctx, 1000 + a, 3, a); /* old history of many actors */
    put(&vs, ACTOR_B, NULL, "sib");
    vclock_advance(&ctx, ACTOR_B, 1, 0);
    put(&vs, ACTOR_A, &ctx, "new");
    ck_assert_uint_eq(vs.len, 1);
    const vclock_t *past = &vs.items[0].past;
    ck_assert_uint_eq(past->len, VCLOCK_ENTRIES_MAX);
    ck_assert(vclock_covers(past, (dot_t){ACTOR_B, 1}));
    ck_assert_uint_eq(vclock_get(past, 1001), 0); /* the oldest went */
    ck_assert_uint_eq(vclock_get(past, 1000 + 2 * VCLOCK_ENTRIES_MAX), 3);
    vclock_free(&ctx);
    versions_free(&vs);
}
END_TEST

START_TEST(tombstones_and_expiry)
{
    versions_t vs = VERSIONS_INIT;
    vclock_t ctx = VCLOCK_INIT;
    version_write_t w = {.value = "ttl", .value_len = 3, .expire_at_ms = NOW + 100};
    ck_assert_int_eq(versions_write(&vs, ACTOR_A, NOW, &w, NULL), VERSIONS_OK);
    put(&vs, ACTOR_B, NULL, "forever");
    ck_assert_uint_eq(versions_live_count(&vs, NOW + 99), 2);
    ck_assert_uint_eq(versions_live_count(&vs, NOW + 100), 1);
    ck_assert(version_is_dead(&vs.items[0], NOW + 100));
    ck_assert(!version_is_dead(&vs.items[0], NOW + 99));
    const version_t *v = versions_live_at(&vs, NOW + 100, 0);
    ck_assert_ptr_nonnull(v);
    ck_assert_uint_eq(v->dot.actor, ACTOR_B);
    /* DEL: a tombstone that supersedes everything, dead at once. */
    versions_context(&vs, &ctx);
    version_write_t del = {.context = &ctx, .value = "ignored", .value_len = 7, .tombstone = true};
    ck_assert_int_eq(versions_write(&vs, ACTOR_A, NOW, &del, NULL), VERSIONS_OK);
    ck_assert_uint_eq(vs.len, 1);
    ck_assert(vs.items[0].tombstone);
    ck_assert_ptr_null(vs.items[0].value);
    ck_assert_uint_eq(vs.items[0].value_len, 0);
    ck_assert_uint_eq(versions_live_count(&vs, NOW), 0);
    ck_assert_ptr_null(versions_live_at(&vs, NOW, 0));
    /* A write after the tombstone with its context replaces it. */
    versions_context(&vs, &ctx);
    put(&vs, ACTOR_B, &ctx, "again");
    ck_assert_uint_eq(vs.len, 1);
    ck_assert_uint_eq(versions_live_count(&vs, NOW), 1);
    /* An empty value is live and distinct from a tombstone. */
    versions_context(&vs, &ctx);
    put(&vs, ACTOR_B, &ctx, "");
    ck_assert_uint_eq(versions_live_count(&vs, NOW), 1);
    vclock_free(&ctx);
    versions_free(&vs);
}
END_TEST

/* ---- merge ---- */

START_TEST(merge_basics)
{
    versions_t a = VERSIONS_INIT, b = VERSIONS_INIT, before = VERSIONS_INIT;
    vclock_t ctx = VCLOCK_INIT;
    put(&a, ACTOR_A, NULL, "1");
    versions_copy(&b, &a);
    ck_assert(!versions_merge(&a, &b)); /* equal dots: one copy */
    ck_assert(!versions_merge(&a, &a));
    ck_assert_uint_eq(a.len, 1);
    versions_context(&b, &ctx);
    put(&b, ACTOR_B, &ctx, "2"); /* descends from 1 */
    versions_copy(&before, &b);
    ck_assert(!versions_merge(&b, &a)); /* a's version is covered by b's */
    ck_assert(same_encoding(&b, &before));
    ck_assert(versions_merge(&a, &b));
    ck_assert(same_encoding(&a, &b));
    put(&a, ACTOR_A, NULL, "3"); /* concurrent */
    ck_assert(versions_merge(&b, &a));
    ck_assert_uint_eq(b.len, 2);
    assert_sorted(&b);
    vclock_free(&ctx);
    versions_free(&a);
    versions_free(&b);
    versions_free(&before);
}
END_TEST

START_TEST(merge_same_dot_different_copies_is_symmetric)
{
    versions_t a = VERSIONS_INIT, b = VERSIONS_INIT, ab = VERSIONS_INIT, ba = VERSIONS_INIT;
    put(&a, ACTOR_A, NULL, "left");
    put(&b, ACTOR_A, NULL, "right"); /* same dot (A,1), other bytes */
    ck_assert_uint_eq(a.items[0].dot.counter, b.items[0].dot.counter);
    versions_copy(&ab, &a);
    versions_merge(&ab, &b);
    versions_copy(&ba, &b);
    versions_merge(&ba, &a);
    ck_assert_uint_eq(ab.len, 1);
    ck_assert(same_encoding(&ab, &ba));
    versions_free(&a);
    versions_free(&b);
    versions_free(&ab);
    versions_free(&ba);
}
END_TEST

/* ---- random histories ---- */

#define HIST_REPLICAS 3
#define HIST_STEPS 80
#define HIST_POOL 96
#define HIST_SEEDS 40
#define HIST_LAW_ROUNDS 300
#define HIST_WRITES_MAX HIST_STEPS

/* Replicas that coordinate writes (actor = 100 + replica) from fresh, stale
 * or empty contexts and sync by whole-set merges; snapshots go to a pool. */
typedef struct hist {
    pcg32_t g;
    versions_t rep[HIST_REPLICAS];
    versions_t pool[HIST_POOL];
    uint32_t pool_len;
    vclock_t stale; /* a context read some time ago */
    dot_t written[HIST_WRITES_MAX];
    uint32_t written_len;
} hist_t;

/* Checks that a merge dropped nothing its inputs do not cover. */
static void check_merge_drops(const versions_t *dst_before, const versions_t *src,
                              const versions_t *out)
{
    const versions_t *in[2] = {dst_before, src};
    for (int s = 0; s < 2; s++) {
        for (uint32_t i = 0; i < in[s]->len; i++) {
            dot_t d = in[s]->items[i].dot;
            if (find_dot(out, d))
                continue;
            bool covered = false;
            for (int t = 0; t < 2 && !covered; t++)
                for (uint32_t k = 0; k < in[t]->len && !covered; k++)
                    covered = vclock_covers(&in[t]->items[k].past, d);
            ck_assert_msg(covered, "merge dropped an uncovered sibling");
        }
    }
    assert_sorted(out);
}

static void hist_merge(versions_t *dst, const versions_t *src)
{
    versions_t before = VERSIONS_INIT;
    versions_copy(&before, dst);
    bool changed = versions_merge(dst, src);
    ck_assert_int_eq(changed, !same_encoding(dst, &before));
    check_merge_drops(&before, src, dst);
    versions_free(&before);
}

static void hist_write(hist_t *h, uint32_t step)
{
    uint32_t r = pcg32_bounded(&h->g, HIST_REPLICAS);
    vclock_t ctx = VCLOCK_INIT;
    switch (pcg32_bounded(&h->g, 4)) {
    case 0: versions_context(&h->rep[r], &ctx); break; /* plain SET */
    case 1: versions_context(&h->rep[pcg32_bounded(&h->g, HIST_REPLICAS)], &ctx); break;
    case 2: vclock_copy(&ctx, &h->stale); break;
    default: break; /* blind write */
    }
    char value[32];
    int n = snprintf(value, sizeof value, "v%u", step);
    version_write_t w = {.context = &ctx, .value = value, .value_len = (size_t)n,
                         .tombstone = pcg32_bounded(&h->g, 8) == 0};
    dot_t d;
    if (versions_write(&h->rep[r], 100 + r, NOW + step, &w, &d) == VERSIONS_OK)
        h->written[h->written_len++] = d;
    vclock_free(&ctx);
}

static void hist_run(hist_t *h, uint64_t seed)
{
    memset(h, 0, sizeof *h);
    pcg32_seed(&h->g, seed, 11);
    for (uint32_t step = 0; step < HIST_STEPS; step++) {
        uint32_t what = pcg32_bounded(&h->g, 20);
        uint32_t i = pcg32_bounded(&h->g, HIST_REPLICAS), j = pcg32_bounded(&h->g, HIST_REPLICAS);
        if (what < 9)
            hist_write(h, step);
        else if (what < 16)
            hist_merge(&h->rep[j], &h->rep[i]);
        else if (what < 18)
            versions_context(&h->rep[i], &h->stale);
        else if (h->pool_len < HIST_POOL)
            versions_copy(&h->pool[h->pool_len++], &h->rep[i]);
    }
    for (uint32_t i = 0; i < HIST_REPLICAS && h->pool_len < HIST_POOL; i++)
        versions_copy(&h->pool[h->pool_len++], &h->rep[i]);
}

static void hist_free(hist_t *h)
{
    for (uint32_t i = 0; i < HIST_REPLICAS; i++)
        versions_free(&h->rep[i]);
    for (uint32_t i = 0; i < h->pool_len; i++)
        versions_free(&h->pool[i]);
    vclock_free(&h->stale);
}

/* After full sync every write is a sibling or covered by what is left. */
static void check_converged(hist_t *h)
{
    for (int round = 0; round < 2; round++)
        for (uint32_t i = 0; i < HIST_REPLICAS; i++)
            for (uint32_t j = 0; j < HIST_REPLICAS; j++)
                hist_merge(&h->rep[j], &h->rep[i]);
    vclock_t ctx = VCLOCK_INIT;
    versions_context(&h->rep[0], &ctx);
    for (uint32_t i = 0; i < h->written_len; i++)
        ck_assert(find_dot(&h->rep[0], h->written[i]) || vclock_covers(&ctx, h->written[i]));
    for (uint32_t i = 1; i < HIST_REPLICAS; i++)
        ck_assert(same_encoding(&h->rep[0], &h->rep[i]));
    vclock_free(&ctx);
}

/* merged = x merged with y, then with z (any of them may be NULL). */
static void merge3(versions_t *out, const versions_t *x, const versions_t *y, const versions_t *z)
{
    versions_copy(out, x);
    if (y)
        versions_merge(out, y);
    if (z)
        versions_merge(out, z);
}

static void check_laws(hist_t *h)
{
    versions_t l = VERSIONS_INIT, r = VERSIONS_INIT, yz = VERSIONS_INIT;
    for (int round = 0; round < HIST_LAW_ROUNDS; round++) {
        const versions_t *x = &h->pool[pcg32_bounded(&h->g, h->pool_len)];
        const versions_t *y = &h->pool[pcg32_bounded(&h->g, h->pool_len)];
        const versions_t *z = &h->pool[pcg32_bounded(&h->g, h->pool_len)];
        merge3(&l, x, y, NULL);
        merge3(&r, y, x, NULL);
        ck_assert_msg(same_encoding(&l, &r), "merge is not commutative");
        merge3(&l, x, y, z);
        merge3(&yz, y, z, NULL);
        merge3(&r, x, &yz, NULL);
        ck_assert_msg(same_encoding(&l, &r), "merge is not associative");
        merge3(&l, x, x, NULL);
        ck_assert_msg(same_encoding(&l, x), "merge is not idempotent");
    }
    versions_free(&l);
    versions_free(&r);
    versions_free(&yz);
}

START_TEST(merge_laws_over_random_histories)
{
    static hist_t h;
    for (uint64_t seed = 1; seed <= HIST_SEEDS; seed++) {
        hist_run(&h, seed);
        check_laws(&h);
        check_converged(&h);
        hist_free(&h);
    }
}
END_TEST

/* ---- encoding ---- */

static void sample_set(versions_t *vs)
{
    vclock_t ctx = VCLOCK_INIT;
    put(vs, ACTOR_A, NULL, "alpha");
    versions_context(vs, &ctx);
    put(vs, ACTOR_B, &ctx, "beta");
    put(vs, ACTOR_A, &ctx, "");
    version_write_t w = {.context = &ctx, .expire_at_ms = NOW + 5, .tombstone = true};
    ck_assert_int_eq(versions_write(vs, 1, NOW, &w, NULL), VERSIONS_OK);
    char big[300];
    memset(big, 'z', sizeof big);
    version_write_t wb = {.value = big, .value_len = sizeof big, .expire_at_ms = UINT64_MAX};
    ck_assert_int_eq(versions_write(vs, UINT64_MAX, NOW, &wb, NULL), VERSIONS_OK);
    vclock_free(&ctx);
}

START_TEST(encode_round_trip_and_truncations)
{
    versions_t vs = VERSIONS_INIT, back = VERSIONS_INIT;
    buf_t b = BUF_INIT;
    versions_encode(&vs, &b);
    ck_assert_int_eq(versions_decode(&back, b.data, b.len), VERSIONS_OK);
    ck_assert_uint_eq(back.len, 0);
    sample_set(&vs);
    ck_assert_uint_eq(vs.len, 4);
    buf_clear(&b);
    versions_encode(&vs, &b);
    ck_assert_int_eq(versions_decode(&back, b.data, b.len), VERSIONS_OK);
    ck_assert(same_encoding(&vs, &back));
    ck_assert(back.items[0].tombstone);
    for (size_t n = 0; n < b.len; n++) {
        ck_assert_int_eq(versions_decode(&back, b.data, n), VERSIONS_ECORRUPT);
        ck_assert_uint_eq(back.len, 0);
    }
    buf_append_byte(&b, 0);
    ck_assert_int_eq(versions_decode(&back, b.data, b.len), VERSIONS_ECORRUPT);
    buf_free(&b);
    versions_free(&vs);
    versions_free(&back);
}
END_TEST

/* Encodes one hand-built sibling (dot, empty past, expiry, flags, value). */
static void raw_sibling(buf_t *b, uint64_t actor, uint64_t counter, uint8_t flags,
                        const char *value)
{
    buf_put_varint(b, actor);
    buf_put_varint(b, counter);
    buf_put_varint(b, 0); /* empty past */
    buf_put_varint(b, 0);
    buf_append_byte(b, flags);
    buf_put_bytes(b, value, strlen(value));
}

static int decode_raw(buf_t *b)
{
    versions_t vs = VERSIONS_INIT;
    int rc = versions_decode(&vs, b->data, b->len);
    versions_free(&vs);
    buf_clear(b);
    return rc;
}

START_TEST(decode_rejects_malformed)
{
    buf_t b = BUF_INIT;
    buf_append_byte(&b, 1);
    buf_put_varint(&b, 2);
    raw_sibling(&b, 5, 1, 0, "x");
    raw_sibling(&b, 5, 2, 1, "");
    ck_assert_int_eq(decode_raw(&b), VERSIONS_OK);
    buf_append_byte(&b, 2); /* unknown format */
    buf_put_varint(&b, 0);
    ck_assert_int_eq(decode_raw(&b), VERSIONS_ECORRUPT);
    buf_append_byte(&b, 1); /* dots out of order */
    buf_put_varint(&b, 2);
    raw_sibling(&b, 5, 2, 0, "x");
    raw_sibling(&b, 5, 1, 0, "y");
    ck_assert_int_eq(decode_raw(&b), VERSIONS_ECORRUPT);
    buf_append_byte(&b, 1); /* duplicate dot */
    buf_put_varint(&b, 2);
    raw_sibling(&b, 5, 1, 0, "x");
    raw_sibling(&b, 5, 1, 0, "x");
    ck_assert_int_eq(decode_raw(&b), VERSIONS_ECORRUPT);
    buf_append_byte(&b, 1); /* zero counter */
    buf_put_varint(&b, 1);
    raw_sibling(&b, 5, 0, 0, "x");
    ck_assert_int_eq(decode_raw(&b), VERSIONS_ECORRUPT);
    buf_append_byte(&b, 1); /* unknown flag, tombstone with a value */
    buf_put_varint(&b, 1);
    raw_sibling(&b, 5, 1, 2, "x");
    ck_assert_int_eq(decode_raw(&b), VERSIONS_ECORRUPT);
    buf_append_byte(&b, 1);
    buf_put_varint(&b, 1);
    raw_sibling(&b, 5, 1, 1, "x");
    ck_assert_int_eq(decode_raw(&b), VERSIONS_ECORRUPT);
    buf_append_byte(&b, 1); /* a past covering its own dot */
    buf_put_varint(&b, 1);
    buf_put_varint(&b, 5);
    buf_put_varint(&b, 1);
    buf_append(&b, "\x01\x00\x05\x01\x00", 5);
    buf_put_varint(&b, 0);
    buf_append_byte(&b, 0);
    buf_put_bytes(&b, "x", 1);
    ck_assert_int_eq(decode_raw(&b), VERSIONS_ECORRUPT);
    buf_append_byte(&b, 1); /* more siblings than the bound */
    buf_put_varint(&b, VERSIONS_SIBLINGS_MAX * 4 + 1);
    for (uint32_t i = 1; i <= VERSIONS_SIBLINGS_MAX * 4 + 1; i++)
        raw_sibling(&b, 5, i, 0, "");
    ck_assert_int_eq(decode_raw(&b), VERSIONS_ECORRUPT);
    buf_append_byte(&b, 1); /* a count the input cannot hold */
    buf_put_varint(&b, 200);
    raw_sibling(&b, 5, 1, 0, "");
    ck_assert_int_eq(decode_raw(&b), VERSIONS_ECORRUPT);
    buf_append_byte(&b, 1); /* a value longer than the bound */
    buf_put_varint(&b, 1);
    buf_append(&b, "\x05\x01\x00\x00\x00", 5);
    buf_put_varint(&b, (uint64_t)VERSIONS_VALUE_MAX + 1);
    buf_append(&b, "short", 5);
    ck_assert_int_eq(decode_raw(&b), VERSIONS_ECORRUPT);
    buf_free(&b);
}
END_TEST

START_TEST(decode_random_garbage_and_mutations)
{
    pcg32_t g;
    pcg32_seed(&g, 4242, 9);
    versions_t vs = VERSIONS_INIT, out = VERSIONS_INIT;
    buf_t good = BUF_INIT, b = BUF_INIT;
    sample_set(&vs);
    versions_encode(&vs, &good);
    for (int round = 0; round < 20000; round++) {
        buf_clear(&b);
        if (round % 2) {
            size_t len = pcg32_bounded(&g, 96);
            for (size_t i = 0; i < len; i++)
                buf_append_byte(&b, (uint8_t)pcg32_bounded(&g, round % 4 == 1 ? 256 : 4));
        } else {
            buf_append(&b, good.data, good.len);
            for (int k = 0; k < 1 + (int)pcg32_bounded(&g, 3); k++)
                b.data[pcg32_bounded(&g, (uint32_t)b.len)] = (char)pcg32_next(&g);
        }
        if (versions_decode(&out, b.data, b.len) == VERSIONS_OK) {
            assert_sorted(&out);
            buf_t again = BUF_INIT;
            versions_encode(&out, &again);
            ck_assert_int_eq(versions_decode(&out, again.data, again.len), VERSIONS_OK);
            buf_free(&again);
        } else {
            ck_assert_uint_eq(out.len, 0);
        }
    }
    buf_free(&good);
    buf_free(&b);
    versions_free(&vs);
    versions_free(&out);
}
END_TEST

/* versions_peek_single against the full decoder on bytes b. */
static void assert_peek_agrees(const buf_t *b, uint64_t now_ms)
{
    versions_t vs = VERSIONS_INIT;
    const uint8_t *value = NULL;
    size_t value_len = 0;
    int peek = versions_peek_single(b->data, b->len, now_ms, &value, &value_len);
    int rc = versions_decode(&vs, b->data, b->len);
    if (peek == VERSIONS_ECORRUPT) {
        ck_assert_int_eq(rc, VERSIONS_ECORRUPT);
    } else if (peek == VERSIONS_PEEK_SEVERAL) {
        ck_assert(rc == VERSIONS_ECORRUPT || vs.len > 1);
    } else {
        ck_assert_int_eq(rc, VERSIONS_OK);
        ck_assert_uint_le(vs.len, 1);
        ck_assert_uint_eq(versions_live_count(&vs, now_ms), peek == VERSIONS_PEEK_LIVE);
        if (peek == VERSIONS_PEEK_LIVE) {
            ck_assert_uint_eq(value_len, vs.items[0].value_len);
            ck_assert(value_len == 0 || memcmp(value, vs.items[0].value, value_len) == 0);
        }
    }
    versions_free(&vs);
}

START_TEST(peek_single_agrees_with_decode)
{
    versions_t vs = VERSIONS_INIT;
    buf_t b = BUF_INIT;
    const uint8_t *value;
    size_t value_len;
    versions_encode(&vs, &b);
    ck_assert_int_eq(versions_peek_single(b.data, b.len, NOW, &value, &value_len),
                     VERSIONS_PEEK_NONE);
    vclock_t ctx = VCLOCK_INIT;
    version_write_t w = {.value = "hello", .value_len = 5, .expire_at_ms = NOW + 10};
    ck_assert_int_eq(versions_write(&vs, ACTOR_A, NOW, &w, NULL), VERSIONS_OK);
    versions_context(&vs, &ctx);
    w.context = &ctx; /* a second write superseding the first: one sibling, a past */
    ck_assert_int_eq(versions_write(&vs, ACTOR_A, NOW, &w, NULL), VERSIONS_OK);
    ck_assert_uint_eq(vs.len, 1);
    buf_clear(&b);
    versions_encode(&vs, &b);
    ck_assert_int_eq(versions_peek_single(b.data, b.len, NOW, &value, &value_len),
                     VERSIONS_PEEK_LIVE);
    ck_assert_uint_eq(value_len, 5);
    ck_assert(memcmp(value, "hello", 5) == 0);
    ck_assert_int_eq(versions_peek_single(b.data, b.len, NOW + 10, &value, &value_len),
                     VERSIONS_PEEK_NONE);
    assert_peek_agrees(&b, NOW);
    for (size_t n = 0; n < b.len; n++)
        ck_assert_int_eq(versions_peek_single(b.data, n, NOW, &value, &value_len),
                         VERSIONS_ECORRUPT);
    pcg32_t g;
    pcg32_seed(&g, 77, 3);
    buf_t m = BUF_INIT;
    for (int round = 0; round < 20000; round++) {
        buf_clear(&m);
        buf_append(&m, b.data, b.len);
        for (int k = 0; k < 1 + (int)pcg32_bounded(&g, 3); k++)
            m.data[pcg32_bounded(&g, (uint32_t)m.len)] = (char)pcg32_next(&g);
        assert_peek_agrees(&m, NOW + pcg32_bounded(&g, 20));
    }
    versions_free(&vs);
    sample_set(&vs);
    buf_clear(&b);
    versions_encode(&vs, &b);
    ck_assert_int_eq(versions_peek_single(b.data, b.len, NOW, &value, &value_len),
                     VERSIONS_PEEK_SEVERAL);
    buf_free(&m);
    buf_free(&b);
    vclock_free(&ctx);
    versions_free(&vs);
}
END_TEST

/* ---- printable contexts ---- */

START_TEST(context_round_trip)
{
    versions_t vs = VERSIONS_INIT;
    vclock_t ctx = VCLOCK_INIT, back = VCLOCK_INIT;
    buf_t text = BUF_INIT;
    sample_set(&vs);
    versions_context(&vs, &ctx);
    ck_assert_uint_eq(vclock_get(&ctx, UINT64_MAX), 1);
    vclock_context_encode(&ctx, &text);
    for (size_t i = 0; i < text.len; i++)
        ck_assert_ptr_nonnull(memchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
                                     text.data[i], 64));
    ck_assert(vclock_context_decode(&back, text.data, text.len));
    ck_assert_int_eq(vclock_compare(&ctx, &back), VCLOCK_EQUAL);
    for (uint32_t i = 0; i < ctx.len; i++)
        ck_assert_uint_eq(ctx.entries[i].touched_ms, back.entries[i].touched_ms);
    /* Every length mod 3 of the raw bytes round-trips. */
    for (uint64_t a = 1; a < 40; a++) {
        vclock_advance(&ctx, a * 977, a, a * 13);
        buf_clear(&text);
        vclock_context_encode(&ctx, &text);
        ck_assert(vclock_context_decode(&back, text.data, text.len));
        ck_assert_int_eq(vclock_compare(&ctx, &back), VCLOCK_EQUAL);
    }
    /* The empty clock, and no context at all. */
    vclock_free(&ctx);
    buf_clear(&text);
    vclock_context_encode(&ctx, &text);
    ck_assert_uint_eq(text.len, 2);
    ck_assert(vclock_context_decode(&back, text.data, text.len));
    ck_assert_uint_eq(back.len, 0);
    ck_assert(vclock_context_decode(&back, "", 0));
    ck_assert_uint_eq(back.len, 0);
    buf_free(&text);
    vclock_free(&ctx);
    vclock_free(&back);
    versions_free(&vs);
}
END_TEST

START_TEST(context_rejects_garbage)
{
    static const char *bad[] = {
        "A",        /* a length no encoding has */
        "AB",       /* dangling bits */
        "AA==",     /* padding */
        "A+",       /* standard, not url, alphabet */
        "AQ",       /* count 1, then nothing */
        "AAA",      /* trailing byte after the empty clock */
        "not a context",
    };
    vclock_t vc = VCLOCK_INIT;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(!vclock_context_decode(&vc, bad[i], strlen(bad[i])), "accepted %s", bad[i]);
        ck_assert_uint_eq(vc.len, 0);
    }
    ck_assert(!vclock_context_decode(&vc, "AA\0", 3));
    pcg32_t g;
    pcg32_seed(&g, 5, 5);
    char text[48];
    for (int round = 0; round < 5000; round++) {
        size_t len = 1 + pcg32_bounded(&g, sizeof text);
        for (size_t i = 0; i < len; i++)
            text[i] = "ABQgw-_9az"[pcg32_bounded(&g, 10)];
        if (vclock_context_decode(&vc, text, len))
            for (uint32_t i = 1; i < vc.len; i++)
                ck_assert_uint_gt(vc.entries[i].actor, vc.entries[i - 1].actor);
    }
    vclock_free(&vc);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("versions");
    TCase *tc = tcase_create("write");
    tcase_add_test(tc, same_context_same_coordinator_keeps_both);
    tcase_add_test(tc, plain_write_supersedes);
    tcase_add_test(tc, counter_is_above_everything_seen);
    tcase_add_test(tc, sibling_bound_on_write_only);
    tcase_add_test(tc, new_past_is_pruned_keeping_superseded_dots);
    tcase_add_test(tc, tombstones_and_expiry);
    suite_add_tcase(s, tc);
    TCase *merge = tcase_create("merge");
    tcase_set_timeout(merge, 60);
    tcase_add_test(merge, merge_basics);
    tcase_add_test(merge, merge_same_dot_different_copies_is_symmetric);
    tcase_add_test(merge, merge_laws_over_random_histories);
    suite_add_tcase(s, merge);
    TCase *enc = tcase_create("encoding");
    tcase_set_timeout(enc, 60);
    tcase_add_test(enc, encode_round_trip_and_truncations);
    tcase_add_test(enc, decode_rejects_malformed);
    tcase_add_test(enc, decode_random_garbage_and_mutations);
    tcase_add_test(enc, peek_single_agrees_with_decode);
    tcase_add_test(enc, context_round_trip);
    tcase_add_test(enc, context_rejects_garbage);
    suite_add_tcase(s, enc);
    return s;
}
