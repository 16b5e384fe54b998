/* test_request.c - Check suite for the RESP request parser (request.h):
 * multibulk and inline requests, Redis's error texts and limits, and that
 * every split of the input (byte by byte, random PCG splits) gives exactly
 * what the whole buffer gives. */
#include <stdio.h>
#include <string.h>

#include "check_main.h"
#include "proto/request.h"
#include "util/buf.h"
#include "util/pcg.h"

#define SPLIT_SEEDS 50
#define SPLIT_CHUNK_MAX 17

/* Appends every request ready in p to out as "argc[len:bytes]...;" and, at
 * the end, the state: "more(pending)" or "error(text)". True on error. */
static bool drain(request_parser_t *p, const request_limits_t *lim, buf_t *out, bool final)
{
    request_t req;
    request_status_t st;
    while ((st = request_parser_next(p, lim, &req)) == REQUEST_READY) {
        ck_assert_int_gt(req.argc, 0);
        buf_printf(out, "%d", req.argc);
        for (int i = 0; i < req.argc; i++) {
            ck_assert_int_eq(req.argv[i][req.argvlen[i]], '\0');
            buf_printf(out, "[%zu:", req.argvlen[i]);
            buf_append(out, req.argv[i], req.argvlen[i]);
            buf_append_str(out, "]");
        }
        buf_append_str(out, ";");
    }
    if (st == REQUEST_ERROR) {
        ck_assert_ptr_nonnull(request_parser_error(p));
        buf_printf(out, "error(%s)", request_parser_error(p));
        return true;
    }
    ck_assert_ptr_null(request_parser_error(p));
    if (final)
        buf_printf(out, "more(%zu)", request_parser_pending(p));
    return false;
}

/* Feeds data in chunks: whole when g is NULL, else of random sizes in
 * [1, chunk_max], alternating feed and space+commit. */
static void parse_split(const char *data, size_t len, pcg32_t *g, size_t chunk_max,
                        const request_limits_t *lim, buf_t *out)
{
    request_parser_t *p = request_parser_new();
    size_t at = 0;
    while (at < len) {
        size_t n = g ? 1 + pcg32_bounded(g, (uint32_t)chunk_max) : len - at;
        if (n > len - at)
            n = len - at;
        if (g && pcg32_bounded(g, 2)) {
            size_t avail;
            char *dst = request_parser_space(p, n, &avail);
            ck_assert_uint_ge(avail, n);
            memcpy(dst, data + at, n);
            request_parser_commit(p, n);
        } else {
            request_parser_feed(p, data + at, n);
        }
        at += n;
        if (drain(p, lim, out, at == len))
            break;
    }
    if (len == 0)
        drain(p, lim, out, true);
    request_parser_free(p);
}

static const request_limits_t default_limits = REQUEST_LIMITS_DEFAULT;

/* The result of parsing s whole, checked against byte-by-byte and random
 * splits. */
static char *parse_all(const char *s, size_t len, const request_limits_t *lim)
{
    buf_t whole = BUF_INIT, split = BUF_INIT;
    parse_split(s, len, NULL, 0, lim, &whole);
    parse_split(s, len, &(pcg32_t){0}, 1, lim, &split);
    buf_append_byte(&split, 0);
    buf_append_byte(&whole, 0);
    ck_assert_str_eq(split.data, whole.data);
    for (uint64_t seed = 1; seed <= SPLIT_SEEDS; seed++) {
        pcg32_t g;
        pcg32_seed(&g, seed, 7);
        buf_clear(&split);
        parse_split(s, len, &g, SPLIT_CHUNK_MAX, lim, &split);
        buf_append_byte(&split, 0);
        ck_assert_msg(strcmp(split.data, whole.data) == 0, "seed %llu: %s != %s",
                      (unsigned long long)seed, split.data, whole.data);
    }
    buf_free(&split);
    return whole.data;
}

static void expect(const char *in, const char *want)
{
    char *got = parse_all(in, strlen(in), &default_limits);
    ck_assert_str_eq(got, want);
    free(got);
}

static void expect_lim(const char *in, size_t len, const request_limits_t *lim, const char *want)
{
    char *got = parse_all(in, len, lim);
    ck_assert_str_eq(got, want);
    free(got);
}

START_TEST(multibulk_requests)
{
    expect("*1\r\n$4\r\nPING\r\n", "1[4:PING];more(0)");
    expect("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
           "3[3:SET][1:k][0:];2[3:GET][1:k];more(0)");
    expect("*2\r\n$3\r\nGET\r\n$1\r\nk", "more(18)");
    expect("*1\r\n$4\r\nPI", "more(10)");
    expect("*", "more(1)");
    /* Binary bulks: CR, LF and NUL inside are data. */
    static const char bin[] = "*2\r\n$4\r\necho\r\n$5\r\na\r\n\0b\r\n";
    char *got = parse_all(bin, sizeof bin - 1, &default_limits);
    ck_assert_int_eq(memcmp(got, "2[4:echo][5:a\r\n\0b];more(0)", 27), 0);
    free(got);
}
END_TEST

START_TEST(redis_quirks)
{
    /* Empty multibulks are skipped, as are empty inline lines. */
    expect("*0\r\n*-1\r\n*-5\r\n*1\r\n$4\r\nping\r\n", "1[4:ping];more(0)");
    expect("\r\n\n  \r\nping\n", "1[4:ping];more(0)");
    /* The byte after "\r" and the two after a bulk are not checked. */
    expect("*1\rX$4\r\nPINGxx", "1[4:PING];more(0)");
    expect("*1\r\n$4\r\nPING\r", "more(13)");
}
END_TEST

START_TEST(inline_requests)
{
    expect("set k v\r\n", "3[3:set][1:k][1:v];more(0)");
    expect("  get   k  \n", "2[3:get][1:k];more(0)");
    expect("set k \"a b\"\r\n", "3[3:set][1:k][3:a b];more(0)");
    expect("echo \"\\x41\\x4a\\n\\t\\\\\\\"\"\n", "2[4:echo][6:AJ\n\t\\\"];more(0)");
    expect("echo \"\\xZZ\"\n", "2[4:echo][3:xZZ];more(0)");
    expect("echo 'it\\'s' ''\n", "3[4:echo][4:it's][0:];more(0)");
    expect("echo 'a\\nb'\n", "2[4:echo][4:a\\nb];more(0)");
    expect("echo a\"b c\"d\n", "error(Protocol error: unbalanced quotes in request)");
    expect("echo a\"b c\" d\n", "3[4:echo][4:ab c][1:d];more(0)");
    expect("echo \"abc\n", "error(Protocol error: unbalanced quotes in request)");
    expect("echo 'abc\n", "error(Protocol error: unbalanced quotes in request)");
    expect("echo 'a'b\n", "error(Protocol error: unbalanced quotes in request)");
    expect("echo a\rb\n", "3[4:echo][1:a][1:b];more(0)");
    expect("echo \va\n", "2[4:echo][1:a];more(0)");
    expect("echo a\vb\n", "2[4:echo][3:a\vb];more(0)");
    expect("get k", "more(5)");
    /* A NUL ends the words of the line (sdssplitargs reads a C string). */
    static const char nul[] = "echo a\0b c\nping\n";
    char *got = parse_all(nul, sizeof nul - 1, &default_limits);
    ck_assert_str_eq(got, "2[4:echo][1:a];1[4:ping];more(0)");
    free(got);
}
END_TEST

START_TEST(protocol_errors)
{
    expect("*1\r\n$-1\r\n", "error(Protocol error: invalid bulk length)");
    expect("*1\r\n$\r\n", "error(Protocol error: invalid bulk length)");
    expect("*1\r\n$ 3\r\n", "error(Protocol error: invalid bulk length)");
    expect("*1\r\n$03\r\n", "error(Protocol error: invalid bulk length)");
    expect("*1\r\n$99999999999999999999\r\n", "error(Protocol error: invalid bulk length)");
    expect("*x\r\n", "error(Protocol error: invalid multibulk length)");
    expect("*\r\n", "error(Protocol error: invalid multibulk length)");
    expect("*01\r\n", "error(Protocol error: invalid multibulk length)");
    expect("*-0\r\n", "error(Protocol error: invalid multibulk length)");
    expect("*+1\r\n", "error(Protocol error: invalid multibulk length)");
    expect("*2\r\n$4\r\necho\r\nx\r\n", "error(Protocol error: expected '$', got 'x')");
    expect("*1\r\n\r\n", "error(Protocol error: expected '$', got '\r')");
    /* Requests before the error are still handed out; the error is sticky. */
    expect("ping\r\n*1\r\n:1\r\nping\r\n", "1[4:ping];error(Protocol error: expected '$', got ':')");
}
END_TEST

START_TEST(limits)
{
    request_limits_t lim = REQUEST_LIMITS_DEFAULT;
    lim.bulk_len_max = 5;
    lim.multibulk_count_max = 3;
    lim.inline_len_max = 16;
    const char *s = "*1\r\n$5\r\nhello\r\n*1\r\n$6\r\n";
    expect_lim(s, strlen(s), &lim, "1[5:hello];error(Protocol error: invalid bulk length)");
    s = "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n*4\r\n";
    expect_lim(s, strlen(s), &lim, "3[1:a][1:b][1:c];error(Protocol error: invalid multibulk length)");
    s = "0123456789 1234\r\n0123456789 123456\n";
    expect_lim(s, strlen(s), &lim, "2[10:0123456789][4:1234];error(Protocol error: too big inline request)");
    s = "0123456789 1234567";
    expect_lim(s, strlen(s), &lim, "error(Protocol error: too big inline request)");
    s = "0123456789 12345";
    expect_lim(s, strlen(s), &lim, "more(16)");
    s = "*000000000000000001\r\n";
    expect_lim(s, strlen(s), &lim, "error(Protocol error: too big mbulk count string)");
    s = "*000000000000000";
    expect_lim(s, strlen(s), &lim, "more(16)");
    s = "*1\r\n$00000000000000001\r\n";
    expect_lim(s, strlen(s), &lim, "error(Protocol error: too big bulk count string)");
    lim = (request_limits_t)REQUEST_LIMITS_DEFAULT;
    lim.unauthenticated = true;
    s = "*11\r\n";
    expect_lim(s, strlen(s), &lim, "error(Protocol error: unauthenticated multibulk length)");
    s = "*1\r\n$16385\r\n";
    expect_lim(s, strlen(s), &lim, "error(Protocol error: unauthenticated bulk length)");
    s = "*10\r\n$16384\r\n";
    expect_lim(s, strlen(s), &lim, "more(13)");
}
END_TEST

START_TEST(default_limits_are_redis)
{
    ck_assert_uint_eq(default_limits.bulk_len_max, 512u * 1024 * 1024);
    ck_assert_uint_eq(default_limits.multibulk_count_max, 1024u * 1024);
    ck_assert_uint_eq(default_limits.inline_len_max, 64u * 1024);
    expect("*1048577\r\n", "error(Protocol error: invalid multibulk length)");
    expect("*1048576\r\n", "more(10)");
    expect("*1\r\n$536870913\r\n", "error(Protocol error: invalid bulk length)");
    buf_t big = BUF_INIT;
    for (int i = 0; i < 65536; i++)
        buf_append_byte(&big, 'a');
    buf_append_str(&big, "\n");
    request_parser_t *p = request_parser_new();
    request_parser_feed(p, big.data, big.len);
    request_t req;
    ck_assert_int_eq(request_parser_next(p, &default_limits, &req), REQUEST_READY);
    ck_assert_uint_eq(req.argvlen[0], 65536);
    request_parser_feed(p, big.data, big.len - 1);
    request_parser_feed(p, "a", 1);
    ck_assert_int_eq(request_parser_next(p, &default_limits, &req), REQUEST_ERROR);
    ck_assert_str_eq(request_parser_error(p), "Protocol error: too big inline request");
    request_parser_free(p);
    buf_free(&big);
}
END_TEST

/* Many requests pipelined, then parsed over random splits. */
START_TEST(random_pipelines)
{
    pcg32_t g;
    pcg32_seed(&g, 42, 1);
    for (int round = 0; round < 20; round++) {
        buf_t in = BUF_INIT, want = BUF_INIT;
        for (int r = 0; r < 30; r++) {
            int argc = 1 + (int)pcg32_bounded(&g, 5);
            buf_printf(&in, "*%d\r\n", argc);
            buf_printf(&want, "%d", argc);
            for (int a = 0; a < argc; a++) {
                size_t len = pcg32_bounded(&g, 40);
                char arg[40];
                for (size_t i = 0; i < len; i++)
                    arg[i] = (char)pcg32_bounded(&g, 256);
                buf_printf(&in, "$%zu\r\n", len);
                buf_append(&in, arg, len);
                buf_append_str(&in, "\r\n");
                buf_printf(&want, "[%zu:", len);
                buf_append(&want, arg, len);
                buf_append_str(&want, "]");
            }
            buf_append_str(&want, ";");
        }
        buf_append_str(&want, "more(0)");
        char *got = parse_all(in.data, in.len, &default_limits);
        ck_assert_int_eq(memcmp(got, want.data, want.len), 0);
        free(got);
        buf_free(&in);
        buf_free(&want);
    }
}
END_TEST

START_TEST(pending_and_space)
{
    request_parser_t *p = request_parser_new();
    request_t req;
    request_parser_feed(p, "*2\r\n$3\r\nset\r\n$100000\r\nab", 24);
    ck_assert_int_eq(request_parser_next(p, &default_limits, &req), REQUEST_NEED_MORE);
    ck_assert_uint_eq(request_parser_pending(p), 24);
    size_t avail;
    char *dst = request_parser_space(p, 10, &avail);
    /* The space covers the rest of the pending bulk and its CRLF. */
    ck_assert_uint_ge(avail, 100000 - 2 + 2);
    memset(dst, 'x', 99998);
    memcpy(dst + 99998, "\r\n", 2);
    request_parser_commit(p, 100000);
    request_parser_feed(p, "ping\r\n", 6);
    ck_assert_int_eq(request_parser_next(p, &default_limits, &req), REQUEST_READY);
    ck_assert_int_eq(req.argc, 2);
    ck_assert_uint_eq(req.argvlen[1], 100000);
    ck_assert_int_eq(memcmp(req.argv[1], "abxx", 4), 0);
    ck_assert_int_eq(req.argv[1][100000], '\0');
    ck_assert_uint_eq(request_parser_pending(p), 6);
    ck_assert_int_eq(request_parser_next(p, &default_limits, &req), REQUEST_READY);
    ck_assert_str_eq(req.argv[0], "ping");
    ck_assert_uint_eq(request_parser_pending(p), 0);
    ck_assert_int_eq(request_parser_next(p, &default_limits, &req), REQUEST_NEED_MORE);
    ck_assert_ptr_null(request_parser_error(p));
    request_parser_free(p);
}
END_TEST

/* Requests with many arguments reuse and grow the argument arrays. */
START_TEST(many_arguments)
{
    buf_t in = BUF_INIT;
    buf_printf(&in, "*%d\r\n", 3000);
    for (int i = 0; i < 3000; i++)
        buf_printf(&in, "$%d\r\n%d\r\n", i < 10 ? 1 : i < 100 ? 2 : i < 1000 ? 3 : 4, i);
    request_parser_t *p = request_parser_new();
    request_t req;
    for (int round = 0; round < 3; round++) {
        request_parser_feed(p, in.data, in.len);
        ck_assert_int_eq(request_parser_next(p, &default_limits, &req), REQUEST_READY);
        ck_assert_int_eq(req.argc, 3000);
        ck_assert_str_eq(req.argv[2999], "2999");
        ck_assert_str_eq(req.argv[7], "7");
    }
    request_parser_free(p);
    buf_free(&in);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("request");
    TCase *tc = tcase_create("request");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, multibulk_requests);
    tcase_add_test(tc, redis_quirks);
    tcase_add_test(tc, inline_requests);
    tcase_add_test(tc, protocol_errors);
    tcase_add_test(tc, limits);
    tcase_add_test(tc, default_limits_are_redis);
    tcase_add_test(tc, random_pipelines);
    tcase_add_test(tc, pending_and_space);
    tcase_add_test(tc, many_arguments);
    suite_add_tcase(s, tc);
    return s;
}
