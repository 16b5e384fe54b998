/* test_budget.c - Check suite for src/core/budget: unlimited budgets only
 * count; a full budget refuses once spent and is ready again when its
 * tokens come back; the burst bound after idling; a message larger than the
 * bucket goes and the debt it leaves is bounded; absorbed work leaves no
 * debt; the long-run rate of a sender that sends whenever allowed; a clock
 * going back; rate changes; huge rates and charges without overflow. */
#include "check_main.h"
#include "core/budget.h"

#define RATE 1000        /* bytes per second */
#define MSG_BYTES 100    /* one message of the long-run test */
#define RUN_MS 60000     /* the long-run test's length */

START_TEST(unlimited_only_counts)
{
    budget_t b;
    budget_init(&b, 0, 5);
    for (int i = 0; i < 100; i++) {
        ck_assert(budget_try(&b, 5));
        budget_charge(&b, 5, 1u << 20);
    }
    ck_assert_uint_eq(budget_stats(&b)->used_bytes, 100u << 20);
    ck_assert_uint_eq(budget_stats(&b)->deferred, 0);
    ck_assert_uint_le(budget_ready_ms(&b), 5);
}
END_TEST

START_TEST(spent_budget_refuses_until_refilled)
{
    budget_t b;
    budget_init(&b, RATE, 1000);
    ck_assert_int_eq(budget_available(&b), RATE); /* starts full: one second's worth */
    ck_assert(budget_try(&b, 1000));
    budget_charge(&b, 1000, RATE);
    ck_assert_int_eq(budget_available(&b), 0);
    ck_assert(!budget_try(&b, 1000));
    ck_assert_uint_eq(budget_stats(&b)->deferred, 1);
    uint64_t ready = budget_ready_ms(&b);
    ck_assert_uint_eq(ready, 1001);
    ck_assert(budget_try(&b, ready));
    ck_assert_uint_eq(budget_stats(&b)->used_bytes, RATE);
}
END_TEST

START_TEST(idle_budget_holds_one_burst)
{
    budget_t b;
    budget_init(&b, RATE, 0);
    budget_charge(&b, 0, 10);
    ck_assert(budget_try(&b, 3600 * 1000));
    ck_assert_int_eq(budget_available(&b), (int64_t)RATE * BUDGET_BURST_MS / 1000);
}
END_TEST

START_TEST(large_message_goes_and_debt_is_bounded)
{
    budget_t b;
    budget_init(&b, RATE, 0);
    budget_charge(&b, 0, RATE / 2);
    ck_assert(budget_try(&b, 0)); /* tokens left: a message of any size may start */
    budget_charge(&b, 0, 1000 * RATE);
    ck_assert_int_eq(budget_available(&b), -(int64_t)RATE * BUDGET_DEBT_MS / 1000);
    ck_assert(!budget_try(&b, 0));
    ck_assert_uint_le(budget_ready_ms(&b), BUDGET_DEBT_MS + 1);
    ck_assert(!budget_try(&b, BUDGET_DEBT_MS - 1));
    ck_assert(budget_try(&b, BUDGET_DEBT_MS + 1));
}
END_TEST

/* Work that could not wait empties the bucket but leaves no debt: the
 * budget is ready again one ms later. */
START_TEST(absorbed_work_leaves_no_debt)
{
    budget_t b;
    budget_init(&b, RATE, 0);
    budget_absorb(&b, 0, RATE / 4);
    ck_assert_int_eq(budget_available(&b), RATE - RATE / 4);
    budget_absorb(&b, 0, 100 * RATE);
    ck_assert_int_eq(budget_available(&b), 0);
    ck_assert(!budget_try(&b, 0));
    budget_charge(&b, 0, RATE); /* a debt taken before ... */
    budget_absorb(&b, 0, RATE); /* ... is not deepened */
    ck_assert_int_eq(budget_available(&b), -RATE);
    ck_assert_uint_eq(budget_stats(&b)->used_bytes, RATE / 4 + 100 * RATE + 2 * RATE);
    budget_t fresh;
    budget_init(&fresh, RATE, 0);
    budget_absorb(&fresh, 0, 100 * RATE);
    ck_assert_uint_eq(budget_ready_ms(&fresh), 1);
}
END_TEST

/* A sender sends a message whenever allowed; the bytes it sends over
 * RUN_MS are the rate times the time, plus the initial burst, give or take
 * one message. */
START_TEST(long_run_rate_holds)
{
    budget_t b;
    budget_init(&b, RATE, 0);
    uint64_t sent = 0;
    for (uint64_t now = 0; now < RUN_MS; now++) {
        while (budget_try(&b, now)) {
            budget_charge(&b, now, MSG_BYTES);
            sent += MSG_BYTES;
        }
    }
    uint64_t expect = (uint64_t)RATE * RUN_MS / 1000 + RATE;
    ck_assert_uint_ge(sent + MSG_BYTES, expect);
    ck_assert_uint_le(sent, expect + MSG_BYTES);
    ck_assert_uint_eq(budget_stats(&b)->used_bytes, sent);
    ck_assert_uint_gt(budget_stats(&b)->deferred, 0);
}
END_TEST

START_TEST(clock_going_back_accrues_nothing)
{
    budget_t b;
    budget_init(&b, RATE, 10000);
    budget_charge(&b, 10000, RATE);
    ck_assert(!budget_try(&b, 5000));
    ck_assert(!budget_try(&b, 10000));
    ck_assert(budget_try(&b, 10500));
    ck_assert_int_eq(budget_available(&b), RATE / 2);
}
END_TEST

START_TEST(rate_changes)
{
    budget_t b;
    budget_init(&b, 0, 0);
    budget_set_rate(&b, RATE, 0); /* from unlimited: full */
    ck_assert_int_eq(budget_available(&b), RATE);
    budget_set_rate(&b, RATE / 10, 0); /* lower: clamped to the new burst */
    ck_assert_int_eq(budget_available(&b), RATE / 10);
    budget_charge(&b, 0, 100 * RATE);
    ck_assert_int_eq(budget_available(&b), -(int64_t)RATE / 10 * BUDGET_DEBT_MS / 1000);
    budget_set_rate(&b, RATE / 100, 0); /* lower still: the debt is clamped too */
    ck_assert_int_eq(budget_available(&b), -(int64_t)RATE / 100 * BUDGET_DEBT_MS / 1000);
    budget_set_rate(&b, 0, 0); /* unlimited again */
    ck_assert(budget_try(&b, 0));
}
END_TEST

START_TEST(huge_values_do_not_overflow)
{
    budget_t b;
    budget_init(&b, UINT64_MAX, 0);
    ck_assert_uint_eq(b.rate, BUDGET_RATE_MAX);
    budget_charge(&b, 0, UINT64_MAX / 2);
    ck_assert(!budget_try(&b, 0));
    ck_assert(budget_try(&b, UINT64_MAX));
    ck_assert_int_eq(budget_available(&b), (int64_t)(BUDGET_RATE_MAX * BUDGET_BURST_MS / 1000));
    budget_t slow;
    budget_init(&slow, 1, 0);
    budget_charge(&slow, 0, UINT64_MAX);
    ck_assert_uint_eq(budget_ready_ms(&slow), BUDGET_DEBT_MS + 1);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("budget");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, unlimited_only_counts);
    tcase_add_test(tc, spent_budget_refuses_until_refilled);
    tcase_add_test(tc, idle_budget_holds_one_burst);
    tcase_add_test(tc, large_message_goes_and_debt_is_bounded);
    tcase_add_test(tc, absorbed_work_leaves_no_debt);
    tcase_add_test(tc, long_run_rate_holds);
    tcase_add_test(tc, clock_going_back_accrues_nothing);
    tcase_add_test(tc, rate_changes);
    tcase_add_test(tc, huge_values_do_not_overflow);
    suite_add_tcase(s, tc);
    return s;
}
