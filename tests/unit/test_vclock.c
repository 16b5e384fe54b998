/* test_vclock.c - Check suite for src/core/vclock.c: the clock operations,
 * pruning, the encoding and its strict decoder, and property tests over random
 * histories of actors exchanging messages (compare agrees with the history's
 * happened-before; merge is commutative, associative and idempotent). */
#include <string.h>

#include "check_main.h"
#include "core/vclock.h"
#include "util/pcg.h"

#define HIST_ACTORS 6
#define HIST_EVENTS 192
#define HIST_WORDS (HIST_EVENTS / 64)
#define HIST_SEEDS 24

/* Builds vc from (actor, counter, touched_ms) triples in any order. */
static void vc_set(vclock_t *vc, const uint64_t (*t)[3], size_t n)
{
    vclock_free(vc);
    for (size_t i = 0; i < n; i++)
        vclock_advance(vc, t[i][0], t[i][1], t[i][2]);
}

static bool vc_same(const vclock_t *a, const vclock_t *b)
{
    buf_t ea = BUF_INIT, eb = BUF_INIT;
    vclock_encode(a, &ea);
    vclock_encode(b, &eb);
    bool same = ea.len == eb.len && memcmp(ea.data, eb.data, ea.len) == 0;
    buf_free(&ea);
    buf_free(&eb);
    return same;
}

START_TEST(increment_get_advance)
{
    vclock_t vc = VCLOCK_INIT;
    ck_assert_uint_eq(vclock_get(&vc, 7), 0);
    ck_assert_uint_eq(vclock_increment(&vc, 7, 100), 1);
    ck_assert_uint_eq(vclock_increment(&vc, 7, 101), 2);
    ck_assert_uint_eq(vclock_increment(&vc, 3, 102), 1);
    vclock_advance(&vc, 9, 5, 103);
    vclock_advance(&vc, 9, 2, 104); /* never lowers the counter */
    vclock_advance(&vc, 1, 0, 105); /* counter 0: no entry */
    ck_assert_uint_eq(vc.len, 3);
    ck_assert_uint_eq(vc.entries[0].actor, 3);
    ck_assert_uint_eq(vc.entries[1].actor, 7);
    ck_assert_uint_eq(vc.entries[2].actor, 9);
    ck_assert_uint_eq(vclock_get(&vc, 9), 5);
    ck_assert_uint_eq(vc.entries[2].touched_ms, 104);
    ck_assert(vclock_covers(&vc, (dot_t){7, 2}));
    ck_assert(!vclock_covers(&vc, (dot_t){7, 3}));
    ck_assert(!vclock_covers(&vc, (dot_t){8, 1}));
    vclock_t copy = VCLOCK_INIT;
    vclock_copy(&copy, &vc);
    ck_assert(vc_same(&copy, &vc));
    vclock_increment(&copy, 7, 200);
    ck_assert_uint_eq(vclock_get(&vc, 7), 2);
    vclock_free(&copy);
    vclock_free(&vc);
    ck_assert_ptr_null(vc.entries);
}
END_TEST

START_TEST(compare_cases)
{
    vclock_t a = VCLOCK_INIT, b = VCLOCK_INIT;
    ck_assert_int_eq(vclock_compare(&a, &b), VCLOCK_EQUAL);
    vc_set(&a, (const uint64_t[][3]){{1, 1, 0}, {2, 3, 0}}, 2);
    vc_set(&b, (const uint64_t[][3]){{1, 1, 9}, {2, 3, 9}}, 2);
    ck_assert_int_eq(vclock_compare(&a, &b), VCLOCK_EQUAL); /* timestamps do not count */
    vc_set(&b, (const uint64_t[][3]){{1, 2, 0}, {2, 3, 0}}, 2);
    ck_assert_int_eq(vclock_compare(&a, &b), VCLOCK_BEFORE);
    ck_assert_int_eq(vclock_compare(&b, &a), VCLOCK_AFTER);
    vc_set(&b, (const uint64_t[][3]){{1, 1, 0}, {2, 3, 0}, {5, 1, 0}}, 3);
    ck_assert_int_eq(vclock_compare(&a, &b), VCLOCK_BEFORE);
    vc_set(&b, (const uint64_t[][3]){{1, 2, 0}, {2, 2, 0}}, 2);
    ck_assert_int_eq(vclock_compare(&a, &b), VCLOCK_CONCURRENT);
    vc_set(&b, (const uint64_t[][3]){{0, 1, 0}}, 1);
    ck_assert_int_eq(vclock_compare(&a, &b), VCLOCK_CONCURRENT);
    vclock_free(&a);
    ck_assert_int_eq(vclock_compare(&a, &b), VCLOCK_BEFORE);
    vclock_free(&b);
}
END_TEST

START_TEST(merge_pointwise_max)
{
    vclock_t a = VCLOCK_INIT, b = VCLOCK_INIT;
    vc_set(&a, (const uint64_t[][3]){{1, 4, 10}, {3, 1, 50}, {9, 2, 5}}, 3);
    vc_set(&b, (const uint64_t[][3]){{1, 2, 20}, {2, 7, 1}, {9, 6, 3}}, 3);
    vclock_merge(&a, &b);
    ck_assert_uint_eq(a.len, 4);
    static const uint64_t want[][3] = {{1, 4, 20}, {2, 7, 1}, {3, 1, 50}, {9, 6, 5}};
    for (uint32_t i = 0; i < 4; i++) {
        ck_assert_uint_eq(a.entries[i].actor, want[i][0]);
        ck_assert_uint_eq(a.entries[i].counter, want[i][1]);
        ck_assert_uint_eq(a.entries[i].touched_ms, want[i][2]);
    }
    vclock_merge(&a, &a);
    ck_assert_uint_eq(a.len, 4);
    vclock_t empty = VCLOCK_INIT;
    vclock_merge(&empty, &b);
    ck_assert(vc_same(&empty, &b));
    vclock_free(&empty);
    vclock_free(&a);
    vclock_free(&b);
}
END_TEST

START_TEST(prune_drops_oldest)
{
    vclock_t vc = VCLOCK_INIT;
    for (uint64_t a = 1; a <= 15; a++)
        vclock_advance(&vc, a * 10, a, 1000 - a * 7); /* higher actor: older */
    vclock_prune(&vc, 20);
    ck_assert_uint_eq(vc.len, 15);
    vclock_prune(&vc, VCLOCK_ENTRIES_MAX);
    ck_assert_uint_eq(vc.len, VCLOCK_ENTRIES_MAX);
    for (uint32_t i = 0; i < vc.len; i++)
        ck_assert_uint_eq(vc.entries[i].actor, (i + 1) * 10);
    /* Ties on the timestamp: the lower actor goes first. */
    vclock_free(&vc);
    for (uint64_t a = 1; a <= 4; a++)
        vclock_advance(&vc, a, 1, 5);
    vclock_advance(&vc, 9, 1, 1);
    vclock_prune(&vc, 2);
    ck_assert_uint_eq(vc.len, 2);
    ck_assert_uint_eq(vc.entries[0].actor, 3);
    ck_assert_uint_eq(vc.entries[1].actor, 4);
    vclock_prune(&vc, 0);
    ck_assert_uint_eq(vc.len, 0);
    vclock_free(&vc);
}
END_TEST

START_TEST(encode_round_trip)
{
    vclock_t vc = VCLOCK_INIT, back = VCLOCK_INIT;
    buf_t b = BUF_INIT;
    cursor_t c;
    vclock_encode(&vc, &b);
    ck_assert_uint_eq(b.len, 1);
    cursor_init(&c, b.data, b.len);
    ck_assert(vclock_decode(&back, &c));
    ck_assert_uint_eq(back.len, 0);
    vc_set(&vc, (const uint64_t[][3]){{UINT64_MAX, UINT64_MAX, UINT64_MAX}, {0, 1, 0},
                                      {1ULL << 40, 3, 1700000000000ULL}}, 3);
    buf_clear(&b);
    vclock_encode(&vc, &b);
    buf_append(&b, "x", 1);
    cursor_init(&c, b.data, b.len);
    ck_assert(vclock_decode(&back, &c));
    ck_assert_uint_eq(cursor_left(&c), 1);
    ck_assert(vc_same(&vc, &back));
    for (uint32_t i = 0; i < vc.len; i++)
        ck_assert_uint_eq(back.entries[i].touched_ms, vc.entries[i].touched_ms);
    /* Every truncation fails and leaves the clock empty. */
    for (size_t n = 0; n + 1 < b.len; n++) {
        cursor_init(&c, b.data, n);
        ck_assert(!vclock_decode(&back, &c));
        ck_assert_uint_eq(back.len, 0);
    }
    buf_free(&b);
    vclock_free(&vc);
    vclock_free(&back);
}
END_TEST

/* Decodes bytes; true when the decoder accepts them. */
static bool try_decode(const uint8_t *p, size_t len)
{
    vclock_t vc = VCLOCK_INIT;
    cursor_t c;
    cursor_init(&c, p, len);
    bool ok = vclock_decode(&vc, &c);
    if (!ok)
        ck_assert_uint_eq(vc.len, 0);
    vclock_free(&vc);
    return ok;
}

START_TEST(decode_rejects_malformed)
{
    /* count, base, then (actor, counter, delta) per entry */
    static const uint8_t good[] = {2, 5, 1, 1, 0, 2, 1, 3};
    static const uint8_t unsorted[] = {2, 5, 2, 1, 0, 1, 1, 3};
    static const uint8_t duplicate[] = {2, 5, 1, 1, 0, 1, 2, 3};
    static const uint8_t zero_counter[] = {2, 5, 1, 0, 0, 2, 1, 3};
    static const uint8_t base_not_min[] = {2, 5, 1, 1, 1, 2, 1, 3};
    static const uint8_t overflow[] = {1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                       0x01, 1, 1, 1};
    ck_assert(try_decode(good, sizeof good));
    ck_assert(!try_decode(unsorted, sizeof unsorted));
    ck_assert(!try_decode(duplicate, sizeof duplicate));
    ck_assert(!try_decode(zero_counter, sizeof zero_counter));
    ck_assert(!try_decode(base_not_min, sizeof base_not_min));
    ck_assert(!try_decode(overflow, sizeof overflow));
    /* An entry count over the bound, or over what the input can hold. */
    buf_t b = BUF_INIT;
    buf_put_varint(&b, VCLOCK_DECODE_ENTRIES_MAX + 1);
    buf_put_varint(&b, 0);
    for (uint32_t i = 0; i <= VCLOCK_DECODE_ENTRIES_MAX; i++) {
        buf_put_varint(&b, i);
        buf_put_varint(&b, 1);
        buf_put_varint(&b, 0);
    }
    ck_assert(!try_decode((const uint8_t *)b.data, b.len));
    static const uint8_t huge_count[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0, 1, 1, 0};
    ck_assert(!try_decode(huge_count, sizeof huge_count));
    buf_free(&b);
}
END_TEST

START_TEST(decode_random_garbage)
{
    pcg32_t g;
    pcg32_seed(&g, 7, 1);
    uint8_t bytes[64];
    for (int round = 0; round < 5000; round++) {
        size_t len = pcg32_bounded(&g, sizeof bytes + 1);
        for (size_t i = 0; i < len; i++)
            bytes[i] = (uint8_t)pcg32_bounded(&g, round % 2 ? 256 : 8);
        vclock_t vc = VCLOCK_INIT;
        cursor_t c;
        cursor_init(&c, bytes, len);
        if (vclock_decode(&vc, &c)) {
            for (uint32_t i = 0; i < vc.len; i++) {
                ck_assert_uint_ge(vc.entries[i].counter, 1);
                if (i)
                    ck_assert_uint_gt(vc.entries[i].actor, vc.entries[i - 1].actor);
            }
        }
        vclock_free(&vc);
    }
}
END_TEST

/* ---- random histories ---- */

/* One event of a history: its clock and the set of events before it. */
typedef struct hist_event {
    vclock_t clock;
    uint64_t past[HIST_WORDS]; /* bit e: event e happened before this one */
    int actor;
} hist_event_t;

typedef struct history {
    hist_event_t ev[HIST_EVENTS];
    int last[HIST_ACTORS]; /* each actor's latest event, -1 before its first */
} history_t;

/* Records event e of actor a after the actor's previous event and, when
 * from >= 0, after receiving the message sent at event from. */
static void hist_step(history_t *h, int e, int a, int from, uint64_t now_ms)
{
    hist_event_t *ev = &h->ev[e];
    vclock_init(&ev->clock);
    memset(ev->past, 0, sizeof ev->past);
    ev->actor = a;
    int prevs[2] = {h->last[a], from};
    for (int k = 0; k < 2; k++) {
        if (prevs[k] < 0)
            continue;
        const hist_event_t *p = &h->ev[prevs[k]];
        vclock_merge(&ev->clock, &p->clock);
        for (int w = 0; w < HIST_WORDS; w++)
            ev->past[w] |= p->past[w];
        ev->past[prevs[k] / 64] |= 1ULL << (prevs[k] % 64);
    }
    vclock_increment(&ev->clock, (uint64_t)a * 1000 + 17, now_ms);
    h->last[a] = e;
}

/* A history in which each event is a local step or the receipt of a message
 * sent at a random earlier event of another actor. */
static void hist_build(history_t *h, uint64_t seed)
{
    pcg32_t g;
    pcg32_seed(&g, seed, 3);
    for (int a = 0; a < HIST_ACTORS; a++)
        h->last[a] = -1;
    for (int e = 0; e < HIST_EVENTS; e++) {
        int a = (int)pcg32_bounded(&g, HIST_ACTORS);
        int from = -1;
        if (e > 0 && pcg32_bounded(&g, 2)) {
            from = (int)pcg32_bounded(&g, (uint32_t)e);
            if (h->ev[from].actor == a)
                from = -1;
        }
        hist_step(h, e, a, from, 1000 + pcg32_bounded(&g, 100000));
    }
}

static void hist_free(history_t *h)
{
    for (int e = 0; e < HIST_EVENTS; e++)
        vclock_free(&h->ev[e].clock);
}

static bool hist_before(const history_t *h, int a, int b)
{
    return (h->ev[b].past[a / 64] >> (a % 64)) & 1;
}

START_TEST(compare_agrees_with_happened_before)
{
    static history_t h;
    for (uint64_t seed = 1; seed <= HIST_SEEDS; seed++) {
        hist_build(&h, seed);
        for (int a = 0; a < HIST_EVENTS; a++) {
            for (int b = 0; b < HIST_EVENTS; b++) {
                vclock_order_t want = a == b                 ? VCLOCK_EQUAL
                                      : hist_before(&h, a, b) ? VCLOCK_BEFORE
                                      : hist_before(&h, b, a) ? VCLOCK_AFTER
                                                              : VCLOCK_CONCURRENT;
                ck_assert_int_eq(vclock_compare(&h.ev[a].clock, &h.ev[b].clock), want);
                ck_assert_int_eq(vclock_covers(&h.ev[b].clock,
                                               (dot_t){(uint64_t)h.ev[a].actor * 1000 + 17,
                                                       vclock_get(&h.ev[a].clock,
                                                                  (uint64_t)h.ev[a].actor * 1000 + 17)}),
                                 a == b || hist_before(&h, a, b));
            }
        }
        hist_free(&h);
    }
}
END_TEST

START_TEST(merge_laws)
{
    static history_t h;
    pcg32_t g;
    pcg32_seed(&g, 99, 5);
    for (uint64_t seed = 1; seed <= HIST_SEEDS; seed++) {
        hist_build(&h, seed + 1000);
        for (int round = 0; round < 400; round++) {
            const vclock_t *x = &h.ev[pcg32_bounded(&g, HIST_EVENTS)].clock;
            const vclock_t *y = &h.ev[pcg32_bounded(&g, HIST_EVENTS)].clock;
            const vclock_t *z = &h.ev[pcg32_bounded(&g, HIST_EVENTS)].clock;
            vclock_t xy = VCLOCK_INIT, yx = VCLOCK_INIT, yz = VCLOCK_INIT;
            vclock_t l = VCLOCK_INIT, r = VCLOCK_INIT;
            vclock_copy(&xy, x);
            vclock_merge(&xy, y);
            vclock_copy(&yx, y);
            vclock_merge(&yx, x);
            ck_assert(vc_same(&xy, &yx));
            vclock_copy(&l, &xy); /* (x y) z */
            vclock_merge(&l, z);
            vclock_copy(&yz, y); /* x (y z) */
            vclock_merge(&yz, z);
            vclock_copy(&r, x);
            vclock_merge(&r, &yz);
            ck_assert(vc_same(&l, &r));
            vclock_copy(&l, x);
            vclock_merge(&l, x);
            ck_assert(vc_same(&l, x));
            ck_assert_int_ne(vclock_compare(&r, x), VCLOCK_BEFORE);
            ck_assert_int_ne(vclock_compare(&r, x), VCLOCK_CONCURRENT);
            vclock_free(&xy);
            vclock_free(&yx);
            vclock_free(&yz);
            vclock_free(&l);
            vclock_free(&r);
        }
        hist_free(&h);
    }
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("vclock");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, increment_get_advance);
    tcase_add_test(tc, compare_cases);
    tcase_add_test(tc, merge_pointwise_max);
    tcase_add_test(tc, prune_drops_oldest);
    tcase_add_test(tc, encode_round_trip);
    tcase_add_test(tc, decode_rejects_malformed);
    tcase_add_test(tc, decode_random_garbage);
    suite_add_tcase(s, tc);
    TCase *props = tcase_create("properties");
    tcase_set_timeout(props, 60);
    tcase_add_test(props, compare_agrees_with_happened_before);
    tcase_add_test(props, merge_laws);
    suite_add_tcase(s, props);
    return s;
}
