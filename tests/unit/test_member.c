/* test_member.c - Check suite for src/core/member: gossip merge (newer
 * heartbeat and incarnation win), liveness through the failure detector,
 * leave, forget tombstones and their spread, targets, digest bounds. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "check_main.h"
#include "core/member.h"
#include "util/hash.h"

static member_t test_member(size_t i)
{
    member_t m;
    memset(&m, 0, sizeof m);
    snprintf(m.id, sizeof m.id, "%016" PRIx64 "%016" PRIx64 "%08" PRIx32, hash64_mix(i + 1),
             hash64_mix(i + 77), (uint32_t)hash64_mix(i + 99));
    snprintf(m.host, sizeof m.host, "10.0.0.%zu", i + 1);
    m.port = (uint16_t)(7000 + i);
    m.bus_port = (uint16_t)(17000 + i);
    m.weight = 1;
    m.incarnation = 1;
    return m;
}

static member_view_t *test_view(size_t i, uint64_t now_ms)
{
    fd_config_t cfg;
    fd_config_default(&cfg);
    member_t self = test_member(i);
    member_view_t *view = member_view_new(&self, &cfg, now_ms);
    ck_assert_ptr_nonnull(view);
    return view;
}

/* Sends from's digest to to at now_ms; returns member_merge's answer. */
static int gossip(const member_view_t *from, member_view_t *to, uint64_t now_ms)
{
    buf_t b = BUF_INIT;
    member_encode(from, now_ms, &b);
    cursor_t c;
    cursor_init(&c, b.data, b.len);
    int rc = member_merge(to, &c, now_ms);
    ck_assert_uint_eq(cursor_left(&c), 0);
    buf_free(&b);
    return rc;
}

START_TEST(new_view_holds_self)
{
    member_view_t *v = test_view(0, 100);
    member_t self = test_member(0);
    ck_assert_uint_eq(member_count(v), 1);
    ck_assert_str_eq(member_self(v)->id, self.id);
    ck_assert_int_eq(member_self(v)->state, MEMBER_ALIVE);
    ck_assert_ptr_eq(member_find(v, self.id), member_at(v, 0));
    ck_assert_ptr_null(member_at(v, 1));
    ck_assert_uint_eq(member_tick(v, 200), 0);
    ck_assert_uint_eq(member_self(v)->heartbeat, 1);
    ck_assert_str_eq(member_state_name(MEMBER_LEFT), "left");
    member_view_free(v);
    fd_config_t cfg;
    fd_config_default(&cfg);
    self.weight = 0;
    ck_assert_ptr_null(member_view_new(&self, &cfg, 0));
    self.weight = 1;
    cfg.window = 0;
    ck_assert_ptr_null(member_view_new(&self, &cfg, 0));
}
END_TEST

START_TEST(gossip_spreads_entries)
{
    member_view_t *a = test_view(0, 0), *b = test_view(1, 0), *c = test_view(2, 0);
    member_tick(a, 1000);
    ck_assert_int_eq(gossip(a, b, 1000), 1);
    ck_assert_int_eq(gossip(b, c, 1100), 2);
    ck_assert_uint_eq(member_count(c), 3);
    const member_t *seen = member_find(c, test_member(0).id);
    ck_assert_ptr_nonnull(seen);
    ck_assert_str_eq(seen->host, "10.0.0.1");
    ck_assert_uint_eq(seen->port, 7000);
    ck_assert_uint_eq(seen->bus_port, 17000);
    ck_assert_uint_eq(seen->heartbeat, 1);
    ck_assert_uint_eq(seen->heard_ms, 1100);
    ck_assert_int_eq(seen->state, MEMBER_ALIVE);
    ck_assert_int_eq(gossip(c, a, 1200), 2);
    ck_assert_int_eq(gossip(c, b, 1200), 1);
    ck_assert_int_eq(gossip(c, b, 1300), 0); /* nothing newer */
    ck_assert_uint_eq(member_count(a), 3);
    ck_assert_uint_eq(member_count(b), 3);
    member_view_free(a);
    member_view_free(b);
    member_view_free(c);
}
END_TEST

START_TEST(newer_word_wins)
{
    member_view_t *a = test_view(0, 0), *b = test_view(1, 0);
    buf_t old = BUF_INIT;
    member_tick(a, 1000);
    member_encode(a, 1000, &old);
    member_tick(a, 2000);
    member_self(a)->weight = 3;
    strcpy(member_self(a)->zone, "east");
    gossip(a, b, 2000);
    cursor_t c;
    cursor_init(&c, old.data, old.len);
    ck_assert_int_eq(member_merge(b, &c, 2100), 0); /* older heartbeat loses */
    const member_t *seen = member_find(b, test_member(0).id);
    ck_assert_uint_eq(seen->heartbeat, 2);
    ck_assert_uint_eq(seen->weight, 3);
    ck_assert_str_eq(seen->zone, "east");
    ck_assert_uint_eq(seen->heard_ms, 2000);
    /* A restart: higher incarnation beats a higher heartbeat. */
    member_view_free(a);
    member_t reborn = test_member(0);
    reborn.incarnation = 2;
    strcpy(reborn.host, "10.9.9.9");
    ck_assert_int_eq(member_upsert(b, &reborn, 3000), 1);
    ck_assert_str_eq(member_find(b, reborn.id)->host, "10.9.9.9");
    ck_assert_uint_eq(member_find(b, reborn.id)->heartbeat, 0);
    reborn.incarnation = 1;
    reborn.heartbeat = 100;
    ck_assert_int_eq(member_upsert(b, &reborn, 3000), 0);
    reborn.weight = 0;
    ck_assert_int_eq(member_upsert(b, &reborn, 3000), -1);
    buf_free(&old);
    member_view_free(b);
}
END_TEST

/* A restarted node that lost its incarnation sees its old word gossiped
 * back and jumps past it, so its own word wins again. */
START_TEST(self_refutes_stale_word)
{
    member_view_t *a = test_view(0, 0), *b = test_view(1, 0);
    for (uint64_t t = 1; t <= 5; t++)
        member_tick(a, t * 1000);
    gossip(a, b, 5000);
    member_view_free(a);
    a = test_view(0, 6000); /* heartbeat 0 again */
    ck_assert_int_eq(gossip(b, a, 6000), 2);
    ck_assert_uint_eq(member_self(a)->heartbeat, 6);
    ck_assert_int_eq(gossip(a, b, 6100), 1);
    ck_assert_uint_eq(member_find(b, test_member(0).id)->heartbeat, 6);
    member_view_free(a);
    member_view_free(b);
}
END_TEST

/* b hears a's heartbeats every second, then a goes silent: suspect at phi 4
 * (about 9.2 s), failed past 15 s; its next heartbeat makes it alive. */
START_TEST(liveness_follows_heartbeats)
{
    member_view_t *a = test_view(0, 0), *b = test_view(1, 0);
    const char *id = member_self(a)->id;
    uint64_t t = 0;
    for (size_t i = 0; i < 20; i++) {
        t += 1000;
        member_tick(a, t);
        gossip(a, b, t);
        ck_assert_uint_eq(member_tick(b, t), 0);
    }
    ck_assert_uint_eq(member_tick(b, t + 9000), 0);
    ck_assert_int_eq(member_find(b, id)->state, MEMBER_ALIVE);
    ck_assert_uint_eq(member_tick(b, t + 9500), 1);
    ck_assert_int_eq(member_find(b, id)->state, MEMBER_SUSPECT);
    ck_assert_uint_eq(member_tick(b, t + 16000), 1);
    ck_assert_int_eq(member_find(b, id)->state, MEMBER_FAILED);
    ck_assert(fd_phi(member_fd(b), id, t + 16000) > 4);
    /* Failed nodes stay in the view and in the ring. */
    ring_node_t nodes[MEMBER_MAX];
    ck_assert_uint_eq(member_ring_nodes(b, nodes), 2);
    member_tick(a, t + 17000);
    ck_assert_int_eq(gossip(a, b, t + 17000), 1);
    ck_assert_int_eq(member_find(b, id)->state, MEMBER_ALIVE);
    ck_assert_uint_eq(member_tick(b, t + 17000), 0);
    member_view_free(a);
    member_view_free(b);
}
END_TEST

START_TEST(leave_and_rejoin)
{
    member_view_t *a = test_view(0, 0), *b = test_view(1, 0);
    const char *id = member_self(a)->id;
    gossip(b, a, 0);
    gossip(a, b, 0);
    member_leave(a);
    ck_assert_int_eq(gossip(a, b, 1000), 1);
    ck_assert_int_eq(member_find(b, id)->state, MEMBER_LEFT);
    ck_assert_uint_eq(member_tick(b, 100000), 0); /* left is not failed */
    ck_assert_int_eq(member_find(b, id)->state, MEMBER_LEFT);
    ck_assert_int_eq(fd_state(member_fd(b), id, 100000), FD_UNKNOWN);
    ring_node_t nodes[MEMBER_MAX];
    ck_assert_uint_eq(member_ring_nodes(b, nodes), 1);
    ck_assert_uint_eq(member_ring_nodes(a, nodes), 1);
    size_t out[MEMBER_TARGETS_MAX];
    pcg32_t rng;
    pcg32_seed(&rng, 1, 1);
    ck_assert_uint_eq(member_pick_targets(b, &rng, 3, out), 0);
    /* It comes back with a new incarnation. */
    member_t back = *member_find(a, id);
    back.state = MEMBER_ALIVE;
    back.incarnation++;
    ck_assert_int_eq(member_upsert(b, &back, 101000), 1);
    ck_assert_int_eq(member_find(b, id)->state, MEMBER_ALIVE);
    ck_assert_uint_eq(member_ring_nodes(b, nodes), 2);
    member_view_free(a);
    member_view_free(b);
}
END_TEST

/* A finished leave spreads by gossip; a rejoin clears it. */
START_TEST(leave_done_spreads)
{
    member_view_t *a = test_view(0, 0), *b = test_view(1, 0), *c = test_view(2, 0);
    const char *id = member_self(a)->id;
    gossip(a, b, 0);
    member_leave(a);
    gossip(a, b, 1000);
    ck_assert(!member_find(b, id)->leave_done);
    member_leave_done(a);
    ck_assert_int_eq(gossip(a, b, 2000), 1);
    ck_assert(member_find(b, id)->leave_done);
    ck_assert_int_eq(member_find(b, id)->state, MEMBER_LEFT);
    gossip(b, c, 3000); /* second hand */
    ck_assert(member_find(c, id)->leave_done);
    member_t back = *member_find(a, id);
    back.state = MEMBER_ALIVE;
    back.incarnation++;
    ck_assert_int_eq(member_upsert(b, &back, 4000), 1);
    ck_assert(!member_find(b, id)->leave_done);
    member_view_free(a);
    member_view_free(b);
    member_view_free(c);
}
END_TEST

START_TEST(forget_blocks_resurrection)
{
    member_view_t *a = test_view(0, 0), *b = test_view(1, 0);
    const char *id = member_self(a)->id;
    gossip(a, b, 0);
    ck_assert(!member_forget(b, member_self(b)->id, 10));
    ck_assert(!member_forget(b, test_member(9).id, 10));
    ck_assert(member_forget(b, id, 1000));
    ck_assert_ptr_null(member_find(b, id));
    ck_assert(member_forgotten(b, id, 1000));
    ck_assert_int_eq(fd_state(member_fd(b), id, 1000), FD_UNKNOWN);
    member_tick(a, 2000);
    ck_assert_int_eq(gossip(a, b, 2000), 0);
    ck_assert_ptr_null(member_find(b, id));
    member_tick(a, 60999);
    ck_assert_int_eq(gossip(a, b, 60999), 0);
    ck_assert(!member_forgotten(b, id, 61000));
    member_tick(a, 61000);
    ck_assert_int_eq(gossip(a, b, 61000), 1); /* as Redis: back after 60 s */
    ck_assert_ptr_nonnull(member_find(b, id));
    member_view_free(a);
    member_view_free(b);
}
END_TEST

/* A forget on b reaches c through gossip; c's tombstone never outlives b's
 * and gossip back to b does not extend b's. */
START_TEST(forget_spreads_without_extension)
{
    member_view_t *a = test_view(0, 0), *b = test_view(1, 0), *c = test_view(2, 0);
    const char *id = member_self(a)->id;
    gossip(a, b, 0);
    gossip(a, c, 0);
    gossip(b, c, 0);
    member_forget(b, id, 1000);
    ck_assert_int_eq(gossip(b, c, 5000), 1);
    ck_assert_ptr_null(member_find(c, id));
    ck_assert(member_forgotten(c, id, 60999));
    ck_assert(!member_forgotten(c, id, 61000));
    for (uint64_t t = 6000; t < 61000; t += 5000) {
        gossip(c, b, t);
        gossip(b, c, t);
    }
    ck_assert(member_forgotten(b, id, 60999));
    ck_assert(!member_forgotten(b, id, 61000));
    ck_assert_uint_eq(member_count(c), 2);
    member_view_free(a);
    member_view_free(b);
    member_view_free(c);
}
END_TEST

START_TEST(pick_targets_random_and_bounded)
{
    member_view_t *views[8];
    for (size_t i = 0; i < 8; i++)
        views[i] = test_view(i, 0);
    for (size_t i = 1; i < 8; i++)
        gossip(views[i], views[0], 0);
    member_view_t *v = views[0];
    pcg32_t rng;
    pcg32_seed(&rng, 99, 2);
    uint32_t hits[8] = {0};
    size_t self_idx = (size_t)(member_self(v) - member_at(v, 0));
    for (size_t round = 0; round < 700; round++) {
        size_t out[MEMBER_TARGETS_MAX];
        ck_assert_uint_eq(member_pick_targets(v, &rng, 3, out), 3);
        ck_assert(out[0] != out[1] && out[1] != out[2] && out[0] != out[2]);
        for (size_t i = 0; i < 3; i++) {
            ck_assert_uint_ne(out[i], self_idx);
            hits[out[i]]++;
        }
    }
    for (size_t i = 0; i < 8; i++) /* 300 expected each */
        ck_assert(i == self_idx ? hits[i] == 0 : hits[i] > 200 && hits[i] < 400);
    size_t out[MEMBER_TARGETS_MAX];
    ck_assert_uint_eq(member_pick_targets(v, &rng, 100, out), 7);
    pcg32_t r1, r2;
    pcg32_seed(&r1, 5, 5);
    pcg32_seed(&r2, 5, 5);
    size_t o1[4], o2[4];
    member_pick_targets(v, &r1, 4, o1);
    member_pick_targets(v, &r2, 4, o2);
    ck_assert_int_eq(memcmp(o1, o2, sizeof o1), 0);
    for (size_t i = 0; i < 8; i++)
        member_view_free(views[i]);
}
END_TEST

START_TEST(ring_nodes_feed_the_ring)
{
    member_view_t *a = test_view(0, 0);
    for (size_t i = 1; i < 5; i++) {
        member_t m = test_member(i);
        m.weight = (uint32_t)i;
        snprintf(m.zone, sizeof m.zone, "z%zu", i % 2);
        ck_assert_int_eq(member_upsert(a, &m, 0), 1);
    }
    ring_node_t nodes[MEMBER_MAX];
    size_t n = member_ring_nodes(a, nodes);
    ck_assert_uint_eq(n, 5);
    ring_t *ring = ring_new();
    ck_assert_int_eq(ring_rebalance(ring, nodes, n), SLOT_COUNT);
    int idx = ring_node_index(ring, test_member(4).id);
    ck_assert_int_ge(idx, 0);
    ck_assert_str_eq(ring_node(ring, (size_t)idx)->zone, "z0");
    ck_assert_uint_eq(ring_node(ring, (size_t)idx)->weight, 4);
    ring_free(ring);
    member_view_free(a);
}
END_TEST

START_TEST(view_capacity)
{
    member_view_t *v = test_view(0, 0);
    for (size_t i = 1; i < MEMBER_MAX; i++) {
        member_t m = test_member(i);
        ck_assert_int_eq(member_upsert(v, &m, 0), 1);
    }
    member_t extra = test_member(MEMBER_MAX);
    ck_assert_int_eq(member_upsert(v, &extra, 0), -1);
    ck_assert_uint_eq(member_count(v), MEMBER_MAX);
    member_view_t *w = test_view(MEMBER_MAX, 0);
    ck_assert_int_eq(gossip(v, w, 0), MEMBER_MAX - 1); /* full: own entry kept */
    member_view_free(v);
    member_view_free(w);
}
END_TEST

/* Malformed digests fail cleanly and change nothing. */
START_TEST(merge_rejects_garbage)
{
    member_view_t *a = test_view(0, 0), *b = test_view(1, 0), *c = test_view(2, 0);
    gossip(c, a, 0);
    member_forget(a, member_self(c)->id, 0);
    buf_t good = BUF_INIT, before = BUF_INIT, after = BUF_INIT;
    member_encode(a, 10, &good);
    member_encode(b, 10, &before);
    pcg32_t rng;
    pcg32_seed(&rng, 3, 3);
    for (size_t round = 0; round < 3000; round++) {
        buf_t junk = BUF_INIT;
        size_t len = pcg32_bounded(&rng, (uint32_t)good.len);
        if (round % 3 == 0) { /* truncation */
            buf_append(&junk, good.data, len);
        } else if (round % 3 == 1) { /* random bytes after a valid version */
            buf_append_byte(&junk, 1);
            for (size_t i = 0; i < len; i++)
                buf_append_byte(&junk, (uint8_t)pcg32_next(&rng));
        } else { /* one corrupted byte */
            buf_append(&junk, good.data, good.len);
            junk.data[len] = (char)0xff;
        }
        cursor_t cur;
        cursor_init(&cur, junk.data, junk.len);
        int rc = member_merge(b, &cur, 10);
        ck_assert(rc == -1 || round % 3 == 2);
        buf_clear(&after);
        member_encode(b, 10, &after);
        if (rc == -1) {
            ck_assert(cur.error);
            ck_assert_uint_eq(after.len, before.len);
            ck_assert_int_eq(memcmp(after.data, before.data, after.len), 0);
        }
        buf_clear(&before);
        buf_append(&before, after.data, after.len);
        buf_free(&junk);
    }
    buf_t big = BUF_INIT;
    buf_append_byte(&big, 1);
    buf_put_varint(&big, MEMBER_MAX + 1);
    cursor_t cur;
    cursor_init(&cur, big.data, big.len);
    ck_assert_int_eq(member_merge(b, &cur, 10), -1);
    buf_free(&big);
    buf_free(&good);
    buf_free(&before);
    buf_free(&after);
    member_view_free(a);
    member_view_free(b);
    member_view_free(c);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("member");
    TCase *tc = tcase_create("member");
    tcase_add_test(tc, new_view_holds_self);
    tcase_add_test(tc, gossip_spreads_entries);
    tcase_add_test(tc, newer_word_wins);
    tcase_add_test(tc, self_refutes_stale_word);
    tcase_add_test(tc, liveness_follows_heartbeats);
    tcase_add_test(tc, leave_and_rejoin);
    tcase_add_test(tc, leave_done_spreads);
    tcase_add_test(tc, forget_blocks_resurrection);
    tcase_add_test(tc, forget_spreads_without_extension);
    tcase_add_test(tc, pick_targets_random_and_bounded);
    tcase_add_test(tc, ring_nodes_feed_the_ring);
    tcase_add_test(tc, view_capacity);
    tcase_add_test(tc, merge_rejects_garbage);
    suite_add_tcase(s, tc);
    return s;
}
