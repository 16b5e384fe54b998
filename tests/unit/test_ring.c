/* test_ring.c - Check suite for src/core/ring: claim balance and movement in
 * chunks, determinism, preference lists (distinct nodes, distinct zones),
 * ranges (one per chunk at most), encode/decode and epoch comparison. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "check_main.h"
#include "core/ring.h"
#include "util/hash.h"
#include "util/pcg.h"

#define TEST_NODES_MAX 64
#define TEST_PREF_N 3

/* A deterministic node: id from i, weight 1..3, zone from zones (0: none). */
static ring_node_t test_node(size_t i, size_t zones)
{
    ring_node_t n;
    memset(&n, 0, sizeof n);
    uint64_t a = hash64_mix(i + 1), b = hash64_mix(i + 1000), c = hash64_mix(i + 2000);
    snprintf(n.id, sizeof n.id, "%016" PRIx64 "%016" PRIx64 "%08" PRIx32, a, b, (uint32_t)c);
    n.weight = (uint32_t)(1 + i % 3);
    if (zones)
        snprintf(n.zone, sizeof n.zone, "zone-%zu", i % zones);
    return n;
}

static void test_nodes(ring_node_t *out, size_t count, size_t zones)
{
    for (size_t i = 0; i < count; i++)
        out[i] = test_node(i, zones);
}

/* Every chunk has one owner. */
static void assert_chunked(const ring_t *ring)
{
    for (size_t s = 0; s < SLOT_COUNT; s++)
        ck_assert_uint_eq(ring_owner(ring, (uint16_t)s),
                          ring_owner(ring, (uint16_t)(s - s % RING_CHUNK_SLOTS)));
}

/* Every node within one chunk of its exact weighted share, whole chunks. */
static void assert_balanced(const ring_t *ring)
{
    uint64_t total = 0, owned = 0;
    size_t n = ring_node_count(ring);
    for (size_t i = 0; i < n; i++)
        total += ring_node(ring, i)->weight;
    for (size_t i = 0; i < n; i++) {
        uint64_t exact_x_total = (uint64_t)SLOT_COUNT * ring_node(ring, i)->weight;
        uint64_t have_x_total = ring_owned_count(ring, i) * total;
        uint64_t diff = have_x_total > exact_x_total ? have_x_total - exact_x_total
                                                     : exact_x_total - have_x_total;
        ck_assert_msg(diff < total * RING_CHUNK_SLOTS, "node %zu of %zu owns %zu, share %.2f", i, n,
                      ring_owned_count(ring, i), (double)exact_x_total / (double)total);
        owned += ring_owned_count(ring, i);
    }
    ck_assert_uint_eq(owned, SLOT_COUNT);
    for (size_t s = 0; s < SLOT_COUNT; s++)
        ck_assert_uint_lt(ring_owner(ring, (uint16_t)s), n);
    assert_chunked(ring);
}

START_TEST(balance_from_scratch)
{
    ring_node_t nodes[TEST_NODES_MAX];
    test_nodes(nodes, TEST_NODES_MAX, 0);
    for (size_t n = 1; n <= TEST_NODES_MAX; n++) {
        ring_t *ring = ring_new();
        ck_assert_int_eq(ring_rebalance(ring, nodes, n), SLOT_COUNT);
        ck_assert_uint_eq(ring_epoch(ring), 1);
        assert_balanced(ring);
        ring_free(ring);
    }
}
END_TEST

/* Joins one node at a time up to 64, then removes them one at a time: every
 * step balanced, and a step moves at most the slots the joining (leaving)
 * node gains (held) plus one chunk per other node for rounding. */
START_TEST(join_and_leave_move_little)
{
    ring_node_t nodes[TEST_NODES_MAX];
    test_nodes(nodes, TEST_NODES_MAX, 0);
    ring_t *ring = ring_new();
    for (size_t n = 1; n <= TEST_NODES_MAX; n++) {
        int moved = ring_rebalance(ring, nodes, n);
        int gained = (int)ring_owned_count(ring, (size_t)ring_node_index(ring, nodes[n - 1].id));
        ck_assert_int_ge(moved, gained);
        ck_assert_int_le(moved, gained + (int)(n - 1) * RING_CHUNK_SLOTS);
        assert_balanced(ring);
    }
    for (size_t n = TEST_NODES_MAX; n > 1; n--) {
        int held = (int)ring_owned_count(ring, (size_t)ring_node_index(ring, nodes[0].id));
        int moved = ring_rebalance(ring, nodes + 1, n - 1);
        ck_assert_int_ge(moved, held);
        ck_assert_int_le(moved, held + (int)(n - 1) * RING_CHUNK_SLOTS);
        memmove(nodes, nodes + 1, (n - 1) * sizeof *nodes);
        assert_balanced(ring);
    }
    ring_free(ring);
}
END_TEST

START_TEST(weight_change_moves_the_difference)
{
    ring_node_t nodes[8];
    test_nodes(nodes, 8, 0);
    for (size_t i = 0; i < 8; i++)
        nodes[i].weight = 1;
    ring_t *ring = ring_new();
    ring_rebalance(ring, nodes, 8);
    nodes[3].weight = 2; /* share 2048 -> 3640.9 slots */
    int moved = ring_rebalance(ring, nodes, 8);
    ck_assert_int_ge(moved, 3641 - 2048 - RING_CHUNK_SLOTS);
    ck_assert_int_le(moved, 3641 - 2048 + 8 * RING_CHUNK_SLOTS);
    assert_balanced(ring);
    ring_free(ring);
}
END_TEST

START_TEST(rebalance_unchanged_keeps_epoch)
{
    ring_node_t nodes[5];
    test_nodes(nodes, 5, 2);
    ring_t *ring = ring_new();
    ring_rebalance(ring, nodes, 5);
    uint64_t hash = ring_hash(ring);
    ck_assert_int_eq(ring_rebalance(ring, nodes, 5), 0);
    ck_assert_uint_eq(ring_epoch(ring), 1);
    ck_assert_uint_eq(ring_hash(ring), hash);
    nodes[2].zone[0] = 'Z'; /* a zone change alone is a new ring */
    ck_assert_int_eq(ring_rebalance(ring, nodes, 5), 0);
    ck_assert_uint_eq(ring_epoch(ring), 2);
    ring_free(ring);
}
END_TEST

START_TEST(rebalance_rejects_bad_members)
{
    ring_node_t nodes[3];
    test_nodes(nodes, 3, 0);
    ring_t *ring = ring_new();
    ring_rebalance(ring, nodes, 2);
    uint64_t hash = ring_hash(ring);
    ring_node_t bad[3];
    memcpy(bad, nodes, sizeof bad);
    bad[2].weight = 0;
    ck_assert_int_eq(ring_rebalance(ring, bad, 3), RING_EINVAL);
    bad[2].weight = RING_WEIGHT_MAX + 1;
    ck_assert_int_eq(ring_rebalance(ring, bad, 3), RING_EINVAL);
    memcpy(bad, nodes, sizeof bad);
    bad[1].id[5] = 'G';
    ck_assert_int_eq(ring_rebalance(ring, bad, 3), RING_EINVAL);
    memcpy(bad, nodes, sizeof bad);
    bad[2] = bad[0];
    ck_assert_int_eq(ring_rebalance(ring, bad, 3), RING_EDUP);
    ck_assert_int_eq(ring_rebalance(ring, nodes, RING_NODES_MAX + 1), RING_ETOOMANY);
    ck_assert_uint_eq(ring_epoch(ring), 1);
    ck_assert_uint_eq(ring_hash(ring), hash);
    ck_assert_int_eq(ring_node_index(ring, nodes[2].id), -1);
    ck_assert_int_eq(ring_node_index(ring, "nope"), -1);
    ring_free(ring);
}
END_TEST

static void encode(const ring_t *ring, buf_t *out)
{
    buf_clear(out);
    ring_encode(ring, out);
}

/* The same joins and leaves, members listed in shuffled orders, give
 * byte-identical rings. */
START_TEST(same_inputs_same_ring)
{
    ring_node_t nodes[24], shuffled[24];
    test_nodes(nodes, 24, 3);
    ring_t *a = ring_new(), *b = ring_new();
    pcg32_t rng;
    pcg32_seed(&rng, 42, 1);
    buf_t ea = BUF_INIT, eb = BUF_INIT;
    static const size_t sizes[] = {3, 4, 10, 9, 24, 17, 1, 12};
    for (size_t step = 0; step < sizeof sizes / sizeof sizes[0]; step++) {
        size_t n = sizes[step];
        memcpy(shuffled, nodes, n * sizeof *nodes);
        for (size_t i = n; i > 1; i--) {
            size_t j = pcg32_bounded(&rng, (uint32_t)i);
            ring_node_t t = shuffled[i - 1];
            shuffled[i - 1] = shuffled[j];
            shuffled[j] = t;
        }
        ck_assert_int_eq(ring_rebalance(a, nodes, n), ring_rebalance(b, shuffled, n));
        encode(a, &ea);
        encode(b, &eb);
        ck_assert_uint_eq(ea.len, eb.len);
        ck_assert_int_eq(memcmp(ea.data, eb.data, ea.len), 0);
        ck_assert_int_eq(ring_compare(a, b), 0);
    }
    buf_free(&ea);
    buf_free(&eb);
    ring_free(a);
    ring_free(b);
}
END_TEST

/* A ring grown by joins of count nodes (weights 1..3, zones). */
static ring_t *grown_ring_weighted(size_t count, size_t zones, bool equal_weights)
{
    ring_node_t nodes[TEST_NODES_MAX];
    test_nodes(nodes, count, zones);
    for (size_t i = 0; i < count && equal_weights; i++)
        nodes[i].weight = 1;
    ring_t *ring = ring_new();
    for (size_t n = 1; n <= count; n++)
        ring_rebalance(ring, nodes, n);
    return ring;
}

static ring_t *grown_ring(size_t count, size_t zones)
{
    return grown_ring_weighted(count, zones, false);
}

static void assert_distinct(const uint16_t *list, size_t len)
{
    for (size_t i = 0; i < len; i++)
        for (size_t j = i + 1; j < len; j++)
            ck_assert_uint_ne(list[i], list[j]);
}

START_TEST(preference_lists_distinct)
{
    static const size_t sizes[] = {1, 2, 3, 5, 16, 64};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        ring_t *ring = grown_ring(sizes[k], 0);
        size_t want = sizes[k] < TEST_PREF_N ? sizes[k] : TEST_PREF_N;
        for (size_t s = 0; s < SLOT_COUNT; s++) {
            uint16_t list[TEST_PREF_N];
            size_t len = ring_preference_list(ring, (uint16_t)s, TEST_PREF_N, list);
            ck_assert_uint_eq(len, want);
            ck_assert_uint_eq(list[0], ring_owner(ring, (uint16_t)s));
            assert_distinct(list, len);
        }
        ring_free(ring);
    }
}
END_TEST

/* The extended list holds every node once, and its prefix is the preference
 * list, both through the cache and past its depth. */
START_TEST(extended_list_extends_preference_list)
{
    ring_t *ring = grown_ring(40, 4);
    for (size_t s = 0; s < SLOT_COUNT; s += 37) {
        uint16_t ext[RING_NODES_MAX], pref[5], deep[RING_NODES_MAX];
        size_t len = ring_extended_list(ring, (uint16_t)s, RING_NODES_MAX, ext);
        ck_assert_uint_eq(len, 40);
        assert_distinct(ext, len);
        ck_assert_uint_eq(ring_preference_list(ring, (uint16_t)s, 5, pref), 5);
        ck_assert_int_eq(memcmp(ext, pref, sizeof pref), 0);
        ck_assert_uint_eq(ring_extended_list(ring, (uint16_t)s, 12, deep), 12);
        ck_assert_int_eq(memcmp(ext, deep, 12 * sizeof *deep), 0);
    }
    ring_free(ring);
}
END_TEST

static void assert_zones_distinct(const ring_t *ring, size_t zones, size_t n)
{
    for (size_t s = 0; s < SLOT_COUNT; s++) {
        uint16_t list[RING_NODES_MAX];
        size_t len = ring_preference_list(ring, (uint16_t)s, n, list);
        size_t distinct = n < zones ? n : zones;
        for (size_t i = 0; i < distinct; i++)
            for (size_t j = i + 1; j < distinct; j++)
                ck_assert_str_ne(ring_node(ring, list[i])->zone, ring_node(ring, list[j])->zone);
        ck_assert_uint_eq(len, n);
    }
}

START_TEST(preference_lists_spread_zones)
{
    ring_t *ring = grown_ring(12, 3);
    assert_zones_distinct(ring, 3, 3);
    assert_zones_distinct(ring, 3, 5);
    ring_free(ring);
    /* Lopsided: five nodes in one zone, one in another. */
    ring_node_t nodes[6];
    test_nodes(nodes, 6, 0);
    for (size_t i = 0; i < 6; i++)
        strcpy(nodes[i].zone, i == 4 ? "east" : "west");
    ring = ring_new();
    ring_rebalance(ring, nodes, 6);
    assert_zones_distinct(ring, 2, 2);
    assert_zones_distinct(ring, 2, 4);
    ring_free(ring);
}
END_TEST

/* Striped ownership spreads replicas: with equal weights, each node holds
 * within 15% of N / nodes of all N-replica placements, at every size a
 * cluster grows through one join at a time (the donors' freed chunks are
 * spread evenly around the ring; without that a joiner's chunks sat side
 * by side and a fourth node held 0.78 of its share). (With mixed weights a heavy node cannot take
 * more than one place per list, so replica load is not proportional to
 * weight in small clusters; that is inherent.) */
START_TEST(replica_load_balanced)
{
    static const size_t sizes[] = {4, 5, 6, 7, 8, 9, 10, 11, 12, 32};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        ring_t *ring = grown_ring_weighted(sizes[k], 0, true);
        size_t n = ring_node_count(ring);
        uint32_t load[TEST_NODES_MAX] = {0};
        uint64_t total = 0;
        for (size_t i = 0; i < n; i++)
            total += ring_node(ring, i)->weight;
        for (size_t s = 0; s < SLOT_COUNT; s++) {
            uint16_t list[TEST_PREF_N];
            size_t len = ring_preference_list(ring, (uint16_t)s, TEST_PREF_N, list);
            for (size_t i = 0; i < len; i++)
                load[list[i]]++;
        }
        for (size_t i = 0; i < n; i++) {
            double ideal = (double)TEST_PREF_N * SLOT_COUNT * ring_node(ring, i)->weight / total;
            ck_assert_msg(load[i] > 0.85 * ideal && load[i] < 1.15 * ideal,
                          "%zu nodes: node %zu load %u ideal %.0f", n, i, load[i], ideal);
        }
        ring_free(ring);
    }
}
END_TEST

/* Maximal runs of slots owned by node idx. */
static size_t owned_blocks(const ring_t *ring, uint16_t idx)
{
    size_t blocks = 0;
    for (size_t s = 0; s < SLOT_COUNT; s++) {
        uint16_t prev = ring_owner(ring, (uint16_t)((s + SLOT_COUNT - 1) % SLOT_COUNT));
        blocks += ring_owner(ring, (uint16_t)s) == idx && prev != idx;
    }
    return blocks;
}

/* A joiner takes chunks spread around the ring, not one block: at least one
 * separate block per two chunks (picks of two donors can be neighbours). */
START_TEST(join_takes_spread_chunks)
{
    static const size_t sizes[] = {3, 9, 31};
    ring_node_t nodes[TEST_NODES_MAX];
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        ring_t *ring = grown_ring(sizes[k], 0);
        test_nodes(nodes, sizes[k] + 1, 0);
        ring_rebalance(ring, nodes, sizes[k] + 1);
        uint16_t joiner = (uint16_t)ring_node_index(ring, nodes[sizes[k]].id);
        size_t chunks = ring_owned_count(ring, joiner) / RING_CHUNK_SLOTS;
        ck_assert_uint_gt(chunks, 0);
        ck_assert_uint_ge(2 * owned_blocks(ring, joiner), chunks);
        ring_free(ring);
    }
}
END_TEST

/* Runs of ring_range_next start and end on chunk boundaries, so there are at
 * most RING_CHUNK_COUNT of them, fresh and after joins and leaves. */
static size_t assert_chunk_ranges(const ring_t *ring)
{
    ring_range_t r;
    uint32_t cursor = 0;
    size_t count = 0;
    while (ring_range_next(ring, TEST_PREF_N, &cursor, &r)) {
        ck_assert_uint_eq(r.first % RING_CHUNK_SLOTS, 0);
        ck_assert_uint_eq((r.last + 1u) % RING_CHUNK_SLOTS, 0);
        ck_assert_uint_le(++count, RING_CHUNK_COUNT);
    }
    return count;
}

START_TEST(ranges_follow_chunks)
{
    static const size_t sizes[] = {3, 5, 9};
    ring_node_t nodes[12];
    test_nodes(nodes, 12, 0);
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        ring_t *ring = ring_new();
        ring_rebalance(ring, nodes, sizes[k]);
        assert_chunk_ranges(ring);
        ring_rebalance(ring, nodes, sizes[k] + 2); /* two joins */
        assert_chunk_ranges(ring);
        ring_rebalance(ring, nodes + 1, sizes[k] + 1); /* a leave */
        assert_chunk_ranges(ring);
        ring_free(ring);
    }
}
END_TEST

START_TEST(ranges_cover_the_ring)
{
    ring_t *ring = grown_ring(7, 0);
    ring_range_t r;
    uint32_t cursor = 0, next = 0, count = 0;
    while (ring_range_next(ring, TEST_PREF_N, &cursor, &r)) {
        ck_assert_uint_eq(r.first, next);
        ck_assert_uint_ge(r.last, r.first);
        ck_assert_uint_eq(r.count, TEST_PREF_N);
        for (uint32_t s = r.first; s <= r.last; s++) {
            uint16_t list[TEST_PREF_N];
            ring_preference_list(ring, (uint16_t)s, TEST_PREF_N, list);
            ck_assert_int_eq(memcmp(list, r.nodes, sizeof list), 0);
        }
        next = r.last + 1u;
        ck_assert_uint_lt(++count, SLOT_COUNT + 1);
    }
    ck_assert_uint_eq(next, SLOT_COUNT);
    ring_free(ring);
    /* One node: one range; empty ring: none. */
    ring = grown_ring(1, 0);
    cursor = 0;
    ck_assert(ring_range_next(ring, TEST_PREF_N, &cursor, &r));
    ck_assert_uint_eq(r.first, 0);
    ck_assert_uint_eq(r.last, SLOT_COUNT - 1);
    ck_assert_uint_eq(r.count, 1);
    ck_assert(!ring_range_next(ring, TEST_PREF_N, &cursor, &r));
    ring_free(ring);
    ring = ring_new();
    cursor = 0;
    ck_assert(!ring_range_next(ring, TEST_PREF_N, &cursor, &r));
    ring_free(ring);
}
END_TEST

START_TEST(encode_decode_round_trip)
{
    static const size_t sizes[] = {0, 1, 3, 5, 64};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        ring_t *ring = grown_ring(sizes[k], sizes[k] % 4);
        ring_set_epoch(ring, 77 + k);
        buf_t a = BUF_INIT, b = BUF_INIT;
        ring_encode(ring, &a);
        cursor_t c;
        cursor_init(&c, a.data, a.len);
        ring_t *back = ring_decode(&c);
        ck_assert_ptr_nonnull(back);
        ck_assert_uint_eq(cursor_left(&c), 0);
        ck_assert_uint_eq(ring_epoch(back), 77 + k);
        ck_assert_uint_eq(ring_hash(back), ring_hash(ring));
        ck_assert_int_eq(ring_compare(ring, back), 0);
        ring_encode(back, &b);
        ck_assert_uint_eq(a.len, b.len);
        ck_assert_int_eq(memcmp(a.data, b.data, a.len), 0);
        for (size_t s = 0; s < SLOT_COUNT && sizes[k] > 0; s += 101) {
            uint16_t l1[TEST_PREF_N], l2[TEST_PREF_N];
            size_t n1 = ring_preference_list(ring, (uint16_t)s, TEST_PREF_N, l1);
            ck_assert_uint_eq(ring_preference_list(back, (uint16_t)s, TEST_PREF_N, l2), n1);
            ck_assert_int_eq(memcmp(l1, l2, n1 * sizeof *l1), 0);
        }
        ring_t *copy = ring_copy(back);
        ck_assert_int_eq(ring_compare(copy, ring), 0);
        ring_free(copy);
        ring_free(back);
        ring_free(ring);
        buf_free(&a);
        buf_free(&b);
    }
}
END_TEST

/* Decodes p; a ring that does decode must survive its own round trip. */
static bool decodes(const void *p, size_t len)
{
    cursor_t c;
    cursor_init(&c, p, len);
    ring_t *ring = ring_decode(&c);
    if (!ring) {
        ck_assert(c.error);
        return false;
    }
    buf_t again = BUF_INIT;
    ring_encode(ring, &again);
    cursor_init(&c, again.data, again.len);
    ring_t *back = ring_decode(&c);
    ck_assert_ptr_nonnull(back);
    ck_assert_uint_eq(cursor_left(&c), 0);
    ck_assert_int_eq(ring_compare(ring, back), 0);
    buf_free(&again);
    ring_free(back);
    ring_free(ring);
    return true;
}

START_TEST(decode_rejects_garbage)
{
    ring_t *ring = grown_ring(5, 2);
    buf_t enc = BUF_INIT;
    ring_encode(ring, &enc);
    pcg32_t rng;
    pcg32_seed(&rng, 7, 3);
    for (size_t len = 0; len < 300; len++) /* every cut through the header */
        ck_assert(!decodes(enc.data, len));
    for (size_t round = 0; round < 300; round++)
        ck_assert(!decodes(enc.data, pcg32_bounded(&rng, (uint32_t)enc.len)));
    uint8_t junk[512];
    size_t accepted = 0;
    for (size_t round = 0; round < 1000; round++) {
        size_t len = pcg32_bounded(&rng, sizeof junk);
        for (size_t i = 0; i < len; i++)
            junk[i] = (uint8_t)pcg32_next(&rng);
        if (len > 0 && round % 2)
            junk[0] = 1; /* get past the version byte */
        accepted += decodes(junk, len); /* only an empty ring can be hit by chance */
    }
    ck_assert_uint_lt(accepted, 10);
    /* Bit flips: decode cleanly or fail cleanly. */
    for (size_t round = 0; round < 500; round++) {
        size_t at = pcg32_bounded(&rng, (uint32_t)enc.len);
        enc.data[at] ^= (char)(1u << pcg32_bounded(&rng, 8));
        decodes(enc.data, enc.len);
        buf_clear(&enc);
        ring_encode(ring, &enc);
    }
    buf_free(&enc);
    ring_free(ring);
}
END_TEST

/* The largest ring: RING_NODES_MAX nodes, 8 bits per owner, every node (of
 * weight 1 to 3) owning a chunk; with equal weights, equal shares. */
START_TEST(full_size_ring)
{
    static ring_node_t nodes[RING_NODES_MAX];
    test_nodes(nodes, RING_NODES_MAX, 7);
    ring_t *ring = ring_new();
    ck_assert_int_eq(ring_rebalance(ring, nodes, RING_NODES_MAX), SLOT_COUNT);
    assert_balanced(ring);
    buf_t enc = BUF_INIT;
    ring_encode(ring, &enc);
    ck_assert_uint_lt(enc.len, 16 * 1024 + RING_NODES_MAX * 64);
    cursor_t c;
    cursor_init(&c, enc.data, enc.len);
    ring_t *back = ring_decode(&c);
    ck_assert_ptr_nonnull(back);
    ck_assert_int_eq(ring_compare(ring, back), 0);
    uint16_t ext[RING_NODES_MAX];
    ck_assert_uint_eq(ring_extended_list(back, 123, RING_NODES_MAX, ext), RING_NODES_MAX);
    assert_distinct(ext, RING_NODES_MAX);
    ring_free(back);
    for (size_t i = 0; i < RING_NODES_MAX; i++)
        nodes[i].weight = 7;
    ring_rebalance(ring, nodes, RING_NODES_MAX); /* equal weights: equal chunks */
    for (size_t i = 0; i < RING_NODES_MAX; i++)
        ck_assert_uint_eq(ring_owned_count(ring, i), SLOT_COUNT / RING_NODES_MAX);
    ring_free(ring);
    buf_free(&enc);
}
END_TEST

/* An owner table not cut in chunks (decoded from elsewhere) is claimed in
 * finer chunks, never merged: only the surplus moves. */
START_TEST(unchunked_table_is_split)
{
    ring_node_t nodes[4];
    test_nodes(nodes, 4, 0);
    for (size_t i = 0; i < 4; i++)
        nodes[i].weight = 1;
    ring_t *ring = ring_new();
    ring_rebalance(ring, nodes, 3);
    buf_t enc = BUF_INIT;
    ring_encode(ring, &enc);
    /* 2 bits per owner, first slot lowest: owners 0, 1, 2, 0 in every byte. */
    memset(enc.data + enc.len - SLOT_COUNT / 4, 0x24, SLOT_COUNT / 4);
    cursor_t c;
    cursor_init(&c, enc.data, enc.len);
    ring_t *odd = ring_decode(&c);
    ck_assert_ptr_nonnull(odd);
    ck_assert_uint_eq(ring_owned_count(odd, 0), SLOT_COUNT / 2);
    int moved = ring_rebalance(odd, nodes, 3); /* 8192, 4096, 4096 -> 5461 each */
    ck_assert_int_ge(moved, 8192 - 5462);
    ck_assert_int_le(moved, 8192 - 5461 + 2 * RING_CHUNK_SLOTS);
    for (size_t i = 0; i < 3; i++)
        ck_assert_uint_le(ring_owned_count(odd, i) - 5461, 1);
    ring_free(odd);
    ring_free(ring);
    buf_free(&enc);
}
END_TEST

START_TEST(decode_rejects_bad_fields)
{
    ring_node_t nodes[3];
    test_nodes(nodes, 3, 0);
    ring_t *ring = ring_new();
    ring_rebalance(ring, nodes, 3);
    buf_t enc = BUF_INIT;
    ring_encode(ring, &enc);
    size_t first_id = 1 + 8 + 1;
    enc.data[0] = 2; /* unknown version */
    ck_assert(!decodes(enc.data, enc.len));
    enc.data[0] = 1;
    enc.data[first_id] = 'X'; /* not hex */
    ck_assert(!decodes(enc.data, enc.len));
    buf_clear(&enc);
    ring_encode(ring, &enc);
    memcpy(&enc.data[first_id], ring_node(ring, 1)->id, RING_NODE_ID_LEN); /* unsorted */
    ck_assert(!decodes(enc.data, enc.len));
    buf_clear(&enc);
    ring_encode(ring, &enc);
    ck_assert(decodes(enc.data, enc.len));
    enc.data[enc.len - 1] = (char)0xff; /* owner 3 of 3 nodes (2 bits each) */
    ck_assert(!decodes(enc.data, enc.len));
    buf_clear(&enc);
    ring_encode(ring, &enc);
    buf_append_byte(&enc, 0); /* trailing bytes are left to the caller */
    cursor_t c;
    cursor_init(&c, enc.data, enc.len);
    ring_t *back = ring_decode(&c);
    ck_assert_ptr_nonnull(back);
    ck_assert_uint_eq(cursor_left(&c), 1);
    ring_free(back);
    buf_free(&enc);
    ring_free(ring);
}
END_TEST

START_TEST(compare_epoch_then_content)
{
    ring_node_t nodes[4];
    test_nodes(nodes, 4, 0);
    ring_t *a = ring_new(), *b = ring_new();
    ring_rebalance(a, nodes, 3);
    ring_rebalance(b, nodes + 1, 3);
    ck_assert_uint_eq(ring_epoch(a), ring_epoch(b));
    int ab = ring_compare(a, b);
    ck_assert_int_ne(ab, 0);
    ck_assert_int_eq(ring_compare(b, a), -ab);
    ring_set_epoch(b, 5);
    ck_assert_int_lt(ring_compare(a, b), 0);
    ck_assert_int_gt(ring_compare(b, a), 0);
    ring_t *empty = ring_new();
    ck_assert_int_lt(ring_compare(empty, a), 0);
    ring_free(empty);
    ring_free(a);
    ring_free(b);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("ring");
    TCase *tc = tcase_create("ring");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, balance_from_scratch);
    tcase_add_test(tc, join_and_leave_move_little);
    tcase_add_test(tc, weight_change_moves_the_difference);
    tcase_add_test(tc, rebalance_unchanged_keeps_epoch);
    tcase_add_test(tc, rebalance_rejects_bad_members);
    tcase_add_test(tc, same_inputs_same_ring);
    tcase_add_test(tc, preference_lists_distinct);
    tcase_add_test(tc, extended_list_extends_preference_list);
    tcase_add_test(tc, preference_lists_spread_zones);
    tcase_add_test(tc, replica_load_balanced);
    tcase_add_test(tc, join_takes_spread_chunks);
    tcase_add_test(tc, ranges_follow_chunks);
    tcase_add_test(tc, ranges_cover_the_ring);
    tcase_add_test(tc, encode_decode_round_trip);
    tcase_add_test(tc, full_size_ring);
    tcase_add_test(tc, unchunked_table_is_split);
    tcase_add_test(tc, decode_rejects_garbage);
    tcase_add_test(tc, decode_rejects_bad_fields);
    tcase_add_test(tc, compare_epoch_then_content);
    suite_add_tcase(s, tc);
    return s;
}
