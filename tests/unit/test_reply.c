/* test_reply.c - Check suite for the reply writer (reply.h): every reply
 * type's bytes in RESP2 and in RESP3. */
#include <math.h>
#include <string.h>

#include "check_main.h"
#include "proto/reply.h"

static buf_t out;
static reply_t r2 = {&out, 2};
static reply_t r3 = {&out, 3};

/* Compares what was written with want (len bytes) and clears it. */
static void check_bytes(const char *want, size_t len)
{
    ck_assert_uint_eq(out.len, len);
    ck_assert_int_eq(memcmp(out.data, want, len), 0);
    buf_clear(&out);
}

static void check(const char *want)
{
    check_bytes(want, strlen(want));
}

START_TEST(simple_types)
{
    reply_ok(&r2);
    check("+OK\r\n");
    reply_simple(&r3, "PONG");
    check("+PONG\r\n");
    reply_error(&r2, "ERR bad\r\nthing\n");
    check("-ERR bad  thing \r\n");
    reply_errorf(&r3, "ERR unknown command '%s'", "x");
    check("-ERR unknown command 'x'\r\n");
    reply_int(&r2, 0);
    check(":0\r\n");
    reply_int(&r2, -42);
    check(":-42\r\n");
    reply_int(&r3, INT64_MIN);
    check(":-9223372036854775808\r\n");
    reply_int(&r3, INT64_MAX);
    check(":9223372036854775807\r\n");
}
END_TEST

START_TEST(bulks)
{
    reply_bulk(&r2, "a\0\r\n", 4);
    check_bytes("$4\r\na\0\r\n\r\n", 10);
    reply_bulk(&r3, NULL, 0);
    check("$0\r\n\r\n");
    reply_bulk_str(&r2, "hello");
    check("$5\r\nhello\r\n");
    reply_bulk_int(&r2, -17);
    check("$3\r\n-17\r\n");
    reply_verbatim(&r2, "txt", "abc", 3);
    check("$3\r\nabc\r\n");
    reply_verbatim(&r3, "txt", "abc", 3);
    check("=7\r\ntxt:abc\r\n");
}
END_TEST

START_TEST(nulls_and_aggregates)
{
    reply_null(&r2);
    check("$-1\r\n");
    reply_null(&r3);
    check("_\r\n");
    reply_null_array(&r2);
    check("*-1\r\n");
    reply_null_array(&r3);
    check("_\r\n");
    reply_array(&r2, 3);
    check("*3\r\n");
    reply_array(&r3, 0);
    check("*0\r\n");
    reply_map(&r2, 2);
    check("*4\r\n");
    reply_map(&r3, 2);
    check("%2\r\n");
    reply_set(&r2, 5);
    check("*5\r\n");
    reply_set(&r3, 5);
    check("~5\r\n");
    reply_bool(&r2, 1);
    check(":1\r\n");
    reply_bool(&r2, 0);
    check(":0\r\n");
    reply_bool(&r3, 1);
    check("#t\r\n");
    reply_bool(&r3, 0);
    check("#f\r\n");
}
END_TEST

START_TEST(doubles)
{
    reply_double(&r2, 1.5);
    check("$3\r\n1.5\r\n");
    reply_double(&r3, 1.5);
    check(",1.5\r\n");
    reply_double(&r3, 0.1);
    check(",0.10000000000000001\r\n");
    reply_double(&r2, INFINITY);
    check("$3\r\ninf\r\n");
    reply_double(&r3, -INFINITY);
    check(",-inf\r\n");
    reply_double(&r3, NAN);
    check(",nan\r\n");
    reply_double(&r2, -NAN);
    check("$3\r\nnan\r\n");
    reply_double(&r3, 1e300);
    check(",1.0000000000000001e+300\r\n");
    reply_double(&r3, 3.0);
    check(",3\r\n");
}
END_TEST

/* Replies append: many in a row come out in order. */
START_TEST(replies_append)
{
    reply_array(&r3, 2);
    reply_bulk_str(&r3, "a");
    reply_int(&r3, 1);
    check("*2\r\n$1\r\na\r\n:1\r\n");
    buf_free(&out);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("reply");
    TCase *tc = tcase_create("reply");
    tcase_add_test(tc, simple_types);
    tcase_add_test(tc, bulks);
    tcase_add_test(tc, nulls_and_aggregates);
    tcase_add_test(tc, doubles);
    tcase_add_test(tc, replies_append);
    suite_add_tcase(s, tc);
    return s;
}
