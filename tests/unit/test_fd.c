/* test_fd.c - Check suite for src/core/fd: phi growth, the suspect and
 * failed thresholds, the sample window, bounds and bad input. */
#include <stdio.h>
#include <string.h>

#include "check_main.h"
#include "core/fd.h"
#include "util/pcg.h"

#define PEER_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define PEER_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define LOG10_E 0.4342944819

static fd_t *default_fd(void)
{
    fd_config_t cfg;
    fd_config_default(&cfg);
    fd_t *fd = fd_new(&cfg);
    ck_assert_ptr_nonnull(fd);
    return fd;
}

/* Heartbeats of peer every interval ms from start, count times; returns the
 * time of the last one. */
static uint64_t beat(fd_t *fd, const char *peer, uint64_t start, uint64_t interval, size_t count)
{
    uint64_t t = start;
    for (size_t i = 0; i < count; i++, t += interval)
        ck_assert_int_eq(fd_heard(fd, peer, t), 0);
    return t - interval;
}

START_TEST(config_validation)
{
    fd_config_t cfg;
    fd_config_default(&cfg);
    fd_config_t bad = cfg;
    bad.window = 0;
    ck_assert_ptr_null(fd_new(&bad));
    bad.window = FD_WINDOW_MAX + 1;
    ck_assert_ptr_null(fd_new(&bad));
    bad = cfg;
    bad.phi_threshold = 0;
    ck_assert_ptr_null(fd_new(&bad));
    bad = cfg;
    bad.node_timeout_ms = 0;
    ck_assert_ptr_null(fd_new(&bad));
    bad = cfg;
    bad.interval_ms_min = 0;
    ck_assert_ptr_null(fd_new(&bad));
    fd_free(fd_new(&cfg));
    fd_free(NULL);
}
END_TEST

START_TEST(unknown_peer)
{
    fd_t *fd = default_fd();
    ck_assert_int_eq(fd_state(fd, PEER_A, 1000), FD_UNKNOWN);
    ck_assert(fd_phi(fd, PEER_A, 1000) == 0);
    ck_assert(fd_mean_ms(fd, PEER_A) == 0);
    ck_assert_int_eq(fd_heard(fd, "short", 1), -1);
    ck_assert_int_eq(fd_heard(fd, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 1), -1);
    ck_assert_str_eq(fd_state_name(FD_SUSPECT), "suspect");
    fd_free(fd);
}
END_TEST

/* Heartbeats every second: phi = t / 1000 * log10(e); suspect from phi 4
 * (about 9210 ms of silence), failed past 15000 ms whatever phi says. */
START_TEST(regular_heartbeats_thresholds)
{
    fd_t *fd = default_fd();
    uint64_t last = beat(fd, PEER_A, 0, 1000, 50);
    ck_assert(fd_mean_ms(fd, PEER_A) == 1000);
    ck_assert(fd_phi(fd, PEER_A, last) == 0);
    double phi = fd_phi(fd, PEER_A, last + 1000);
    ck_assert_double_eq_tol(phi, LOG10_E, 1e-9);
    ck_assert_int_eq(fd_state(fd, PEER_A, last + 1000), FD_ALIVE);
    ck_assert_int_eq(fd_state(fd, PEER_A, last + 9200), FD_ALIVE);
    ck_assert_int_eq(fd_state(fd, PEER_A, last + 9220), FD_SUSPECT);
    ck_assert_int_eq(fd_state(fd, PEER_A, last + 15000), FD_SUSPECT);
    ck_assert_int_eq(fd_state(fd, PEER_A, last + 15001), FD_FAILED);
    ck_assert_int_eq(fd_heard(fd, PEER_A, last + 20000), 0);
    ck_assert_int_eq(fd_state(fd, PEER_A, last + 20000), FD_ALIVE);
    /* The other peer is independent. */
    ck_assert_int_eq(fd_state(fd, PEER_B, last), FD_UNKNOWN);
    fd_free(fd);
}
END_TEST

START_TEST(phi_grows_and_is_clamped)
{
    fd_t *fd = default_fd();
    uint64_t last = beat(fd, PEER_A, 500, 700, 20);
    double prev = -1;
    for (uint64_t t = last; t < last + 30000; t += 250) {
        double phi = fd_phi(fd, PEER_A, t);
        ck_assert(phi > prev);
        prev = phi;
    }
    ck_assert(fd_phi(fd, PEER_A, UINT64_MAX) == FD_PHI_MAX);
    ck_assert(fd_phi(fd, PEER_A, 0) == 0); /* a clock behind the last beat */
    fd_free(fd);
}
END_TEST

START_TEST(window_forgets_old_samples)
{
    fd_config_t cfg;
    fd_config_default(&cfg);
    cfg.window = 10;
    fd_t *fd = fd_new(&cfg);
    uint64_t last = beat(fd, PEER_A, 0, 1000, 30);
    last = beat(fd, PEER_A, last + 400, 400, 10);
    ck_assert(fd_mean_ms(fd, PEER_A) == 400);
    beat(fd, PEER_A, last + 2000, 2000, 5);
    ck_assert(fd_mean_ms(fd, PEER_A) == (5 * 400 + 5 * 2000) / 10.0);
    fd_free(fd);
}
END_TEST

START_TEST(initial_and_minimum_mean)
{
    fd_t *fd = default_fd();
    ck_assert_int_eq(fd_heard(fd, PEER_A, 5000), 0);
    ck_assert(fd_mean_ms(fd, PEER_A) == 1000); /* no interval yet */
    beat(fd, PEER_A, 5010, 10, 50);
    ck_assert(fd_mean_ms(fd, PEER_A) == 100); /* floored */
    /* A clock that steps back records a zero gap, not a wrap. */
    ck_assert_int_eq(fd_heard(fd, PEER_B, 9000), 0);
    ck_assert_int_eq(fd_heard(fd, PEER_B, 8000), 0);
    ck_assert_int_eq(fd_state(fd, PEER_B, 9000), FD_ALIVE);
    ck_assert(fd_mean_ms(fd, PEER_B) == 100);
    fd_free(fd);
}
END_TEST

/* Jittered arrivals (1000 +- 300 ms, fixed seed): a live peer is never
 * suspected at its arrival times. */
START_TEST(jitter_stays_alive)
{
    fd_t *fd = default_fd();
    pcg32_t rng;
    pcg32_seed(&rng, 11, 5);
    uint64_t t = 0;
    for (size_t i = 0; i < 1000; i++) {
        t += 700 + pcg32_bounded(&rng, 601);
        ck_assert_int_eq(fd_state(fd, PEER_A, t), i == 0 ? FD_UNKNOWN : FD_ALIVE);
        ck_assert_int_eq(fd_heard(fd, PEER_A, t), 0);
    }
    double mean = fd_mean_ms(fd, PEER_A);
    ck_assert(mean > 900 && mean < 1100);
    fd_free(fd);
}
END_TEST

START_TEST(forget_and_capacity)
{
    fd_t *fd = default_fd();
    char id[RING_NODE_ID_LEN + 1];
    for (size_t i = 0; i < FD_PEERS_MAX; i++) {
        snprintf(id, sizeof id, "%040zx", i);
        ck_assert_int_eq(fd_heard(fd, id, i), 0);
    }
    snprintf(id, sizeof id, "%040zx", (size_t)FD_PEERS_MAX);
    ck_assert_int_eq(fd_heard(fd, id, 1), -1);
    for (size_t i = 0; i < FD_PEERS_MAX; i += 17) {
        char known[RING_NODE_ID_LEN + 1];
        snprintf(known, sizeof known, "%040zx", i);
        ck_assert_int_eq(fd_state(fd, known, i + 10), FD_ALIVE);
    }
    fd_forget(fd, "0000000000000000000000000000000000000005");
    fd_forget(fd, PEER_B); /* unknown: nothing */
    ck_assert_int_eq(fd_state(fd, "0000000000000000000000000000000000000005", 10), FD_UNKNOWN);
    ck_assert_int_eq(fd_heard(fd, id, 1), 0);
    ck_assert_int_eq(fd_state(fd, id, 2), FD_ALIVE);
    ck_assert_int_eq(fd_state(fd, "0000000000000000000000000000000000000006", 10), FD_ALIVE);
    fd_free(fd);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("fd");
    TCase *tc = tcase_create("fd");
    tcase_add_test(tc, config_validation);
    tcase_add_test(tc, unknown_peer);
    tcase_add_test(tc, regular_heartbeats_thresholds);
    tcase_add_test(tc, phi_grows_and_is_clamped);
    tcase_add_test(tc, window_forgets_old_samples);
    tcase_add_test(tc, initial_and_minimum_mean);
    tcase_add_test(tc, jitter_stays_alive);
    tcase_add_test(tc, forget_and_capacity);
    suite_add_tcase(s, tc);
    return s;
}
