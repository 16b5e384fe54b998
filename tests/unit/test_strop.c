/* test_strop.c - Check suite for src/core/strop.c: every string command,
 * option and error case against a version set, with no store (the
 * evaluation is pure). Error texts are Redis 7.0's, checked against
 * redis-server 7.0.15. */
#include <stdint.h>
#include <string.h>

#include "check_main.h"
#include "strop_fixture.h"
#include "core/strop.h"
#include "core/versions.h"

#define NOW UINT64_C(1700000000000)
#define ACTOR 7
/* The most arguments a test command has. */
#define ARGS_MAX 16

typedef struct harness {
    versions_t vs;
    strop_result_t res;
    buf_t err;
    int parse_rc;
} harness_t;

static harness_t h;

static void setup(void)
{
    versions_init(&h.vs);
    strop_result_init(&h.res);
    buf_init(&h.err);
}

static void teardown(void)
{
    versions_free(&h.vs);
    strop_result_free(&h.res);
    buf_free(&h.err);
}

/* Forgets the key (every test works on one key's set, h.vs). */
static void reset_key(void)
{
    versions_free(&h.vs);
    versions_init(&h.vs);
}

/* Parses and evaluates argv at now; applies the write to h.vs. */
static void run_at(uint64_t now, const char **argv)
{
    size_t lens[ARGS_MAX];
    int argc = strop_fixture_lens(argv, lens, ARGS_MAX);
    strop_op_t op;
    buf_clear(&h.err);
    h.parse_rc = strop_parse(&op, strop_fixture_kind(argv[0]), argc, argv, lens, now, &h.err);
    buf_append_byte(&h.err, 0);
    if (h.parse_rc == 0) {
        strop_eval(&h.vs, now, &op, &h.res);
        if (h.res.has_write)
            ck_assert_int_eq(versions_write(&h.vs, ACTOR, now, &h.res.write, NULL), VERSIONS_OK);
    }
    strop_op_free(&op);
}

#define RUN_AT(now, ...) run_at((now), (const char *[]){__VA_ARGS__, NULL})
#define RUN(...) RUN_AT(NOW, __VA_ARGS__)

static void expect_parse_error(const char *text)
{
    ck_assert_int_eq(h.parse_rc, -1);
    ck_assert_str_eq(h.err.data, text);
}

static void expect_reply(enum strop_reply reply)
{
    ck_assert_int_eq(h.parse_rc, 0);
    ck_assert_int_eq(h.res.reply, reply);
}

static void expect_int(int64_t v)
{
    expect_reply(STROP_REPLY_INT);
    ck_assert_int_eq(h.res.integer, v);
}

static void expect_value(const char *v)
{
    expect_reply(STROP_REPLY_VALUE);
    ck_assert_uint_eq(h.res.value.len, strlen(v));
    ck_assert(h.res.value.len == 0 || memcmp(h.res.value.data, v, h.res.value.len) == 0);
}

/* GET at now replies exactly v (NULL: nil). */
static void expect_get_at(uint64_t now, const char *v)
{
    RUN_AT(now, "get", "k");
    if (!v) {
        expect_reply(STROP_REPLY_NIL);
        return;
    }
    expect_reply(STROP_REPLY_VALUES);
    ck_assert_uint_eq(versions_live_count(h.res.values, now), 1);
    const version_t *ver = versions_live_at(h.res.values, now, 0);
    ck_assert_uint_eq(ver->value_len, strlen(v));
    ck_assert(ver->value_len == 0 || memcmp(ver->value, v, ver->value_len) == 0);
}

#define expect_get(v) expect_get_at(NOW, (v))

static void expect_ttl_ms(int64_t ms)
{
    RUN("pttl", "k");
    expect_int(ms);
}

START_TEST(set_and_get)
{
    expect_get(NULL);
    RUN("set", "k", "v");
    expect_reply(STROP_REPLY_OK);
    expect_get("v");
    RUN("set", "k", "w");
    expect_reply(STROP_REPLY_OK);
    expect_get("w");
    ck_assert_uint_eq(h.vs.len, 1); /* the plain SET superseded the first */
    RUN("set", "k", "");
    expect_get("");
    RUN("strlen", "k");
    expect_int(0);
}
END_TEST

START_TEST(set_expire_options)
{
    RUN("set", "k", "v", "ex", "10");
    expect_reply(STROP_REPLY_OK);
    expect_ttl_ms(10000);
    RUN("ttl", "k");
    expect_int(10);
    RUN("set", "k", "v", "PX", "1500");
    expect_ttl_ms(1500);
    RUN("ttl", "k");
    expect_int(2); /* (1500 + 500) / 1000, as Redis rounds */
    RUN("set", "k", "v", "exat", "1700000100");
    expect_ttl_ms(100000);
    RUN("set", "k", "v", "pxat", "1700000000123");
    expect_ttl_ms(123);
    expect_get_at(NOW + 122, "v");
    expect_get_at(NOW + 123, NULL);
    RUN_AT(NOW + 123, "ttl", "k");
    expect_int(-2);
    RUN("set", "k", "v", "ex", "10", "ex", "20");
    expect_ttl_ms(20000);
    RUN("set", "k", "v", "pxat", "9223372036854775807");
    expect_reply(STROP_REPLY_OK);
    RUN("set", "k", "v");
    RUN("ttl", "k");
    expect_int(-1); /* a plain SET clears the TTL */
}
END_TEST

START_TEST(set_keepttl)
{
    RUN("set", "k", "v", "ex", "100");
    RUN("set", "k", "w", "keepttl");
    expect_reply(STROP_REPLY_OK);
    expect_ttl_ms(100000);
    expect_get("w");
    reset_key();
    RUN("set", "k", "w", "KEEPTTL");
    expect_reply(STROP_REPLY_OK);
    expect_ttl_ms(-1);
}
END_TEST

START_TEST(set_errors)
{
    static const char *const syntax[][8] = {
        {"set", "k", "v", "nx", "xx", NULL},     {"set", "k", "v", "xx", "nx", NULL},
        {"set", "k", "v", "ex", "1", "px", "1"}, {"set", "k", "v", "keepttl", "ex", "1", NULL},
        {"set", "k", "v", "ex", "1", "keepttl"}, {"set", "k", "v", "foo", NULL},
        {"set", "k", "v", "ex", NULL},           {"set", "k", "v", "ex", "abc", "foo", NULL},
        {"set", "k", "v", "persist", NULL},      {"set", "k", "v", "exat", "1", "pxat", "1"},
        {"set", "k", "v", "ex", "0", "foo", NULL},
    };
    for (size_t i = 0; i < sizeof syntax / sizeof syntax[0]; i++) {
        run_at(NOW, (const char **)syntax[i]);
        expect_parse_error("ERR syntax error");
    }
    RUN("set", "k", "v", "ex", "abc");
    expect_parse_error("ERR value is not an integer or out of range");
    RUN("set", "k", "v", "px", "1.5");
    expect_parse_error("ERR value is not an integer or out of range");
    static const char *const bad_times[][2] = {
        {"ex", "0"},  {"ex", "-1"}, {"px", "0"}, {"exat", "0"}, {"pxat", "-5"},
        {"ex", "9223372036854775"}, {"ex", "9223372036854776"},
        {"px", "9223372036854775807"}, {"exat", "9223372036854776"},
    };
    for (size_t i = 0; i < sizeof bad_times / sizeof bad_times[0]; i++) {
        RUN("set", "k", "v", bad_times[i][0], bad_times[i][1]);
        expect_parse_error("ERR invalid expire time in 'set' command");
    }
    RUN("set", "k", "v", "exat", "9223372036854775");
    expect_reply(STROP_REPLY_OK);
}
END_TEST

START_TEST(set_nx_xx_get)
{
    RUN("set", "k", "v", "xx");
    expect_reply(STROP_REPLY_NIL);
    expect_get(NULL);
    RUN("set", "k", "v", "nx");
    expect_reply(STROP_REPLY_OK);
    RUN("set", "k", "w", "nx");
    expect_reply(STROP_REPLY_NIL);
    expect_get("v");
    RUN("set", "k", "w", "xx");
    expect_reply(STROP_REPLY_OK);
    expect_get("w");
    RUN("set", "k", "x", "get");
    expect_value("w");
    RUN("set", "k", "y", "nx", "get");
    expect_value("x"); /* not set, old value returned */
    expect_get("x");
    reset_key();
    RUN("set", "k", "y", "xx", "get");
    expect_reply(STROP_REPLY_NIL);
    expect_get(NULL);
    RUN("set", "k", "y", "get", "get");
    expect_reply(STROP_REPLY_NIL);
    expect_get("y");
}
END_TEST

START_TEST(getex_options)
{
    RUN("getex", "k", "ex", "0");
    expect_reply(STROP_REPLY_NIL); /* a missing key is not validated */
    RUN("getex", "k", "ex", "abc");
    expect_reply(STROP_REPLY_NIL);
    RUN("set", "k", "v");
    RUN("getex", "k");
    expect_value("v");
    ck_assert(!h.res.has_write);
    RUN("getex", "k", "ex", "0");
    expect_reply(STROP_REPLY_ERROR);
    ck_assert_str_eq(h.res.text, "ERR invalid expire time in 'getex' command");
    RUN("getex", "k", "px", "abc");
    expect_reply(STROP_REPLY_ERROR);
    ck_assert_str_eq(h.res.text, "ERR value is not an integer or out of range");
    RUN("getex", "k", "ex", "9223372036854776");
    ck_assert_str_eq(h.res.text, "ERR invalid expire time in 'getex' command");
    RUN("getex", "k", "ex", "10");
    expect_value("v");
    expect_ttl_ms(10000);
    RUN("getex", "k", "persist");
    expect_value("v");
    expect_ttl_ms(-1);
    RUN("getex", "k", "persist");
    ck_assert(!h.res.has_write);
    RUN("getex", "k", "pxat", "1700000000500");
    expect_ttl_ms(500);
    RUN("getex", "k", "exat", "1");
    expect_value("v"); /* the value, then the key is deleted */
    expect_get(NULL);
    ck_assert(h.vs.len == 1 && h.vs.items[0].tombstone);
}
END_TEST

START_TEST(getex_errors)
{
    static const char *const syntax[][7] = {
        {"getex", "k", "persist", "ex", "1", NULL}, {"getex", "k", "ex", "1", "persist", NULL},
        {"getex", "k", "foo", NULL},                {"getex", "k", "ex", NULL},
        {"getex", "k", "keepttl", NULL},            {"getex", "k", "nx", NULL},
        {"getex", "k", "get", NULL},                {"getex", "k", "ex", "1", "px", "1"},
    };
    for (size_t i = 0; i < sizeof syntax / sizeof syntax[0]; i++) {
        run_at(NOW, (const char **)syntax[i]);
        expect_parse_error("ERR syntax error");
    }
    RUN("getex", "k", "persist", "persist");
    expect_reply(STROP_REPLY_NIL);
}
END_TEST

START_TEST(getdel_and_del)
{
    RUN("getdel", "k");
    expect_reply(STROP_REPLY_NIL);
    RUN("del", "k");
    expect_int(0);
    ck_assert(!h.res.has_write);
    RUN("set", "k", "v");
    RUN("getdel", "k");
    expect_value("v");
    expect_get(NULL);
    RUN("getdel", "k");
    expect_reply(STROP_REPLY_NIL);
    RUN("set", "k", "v");
    RUN("exists", "k");
    expect_int(1);
    RUN("type", "k");
    expect_reply(STROP_REPLY_STATUS);
    ck_assert_str_eq(h.res.text, "string");
    RUN("del", "k");
    expect_int(1);
    ck_assert(h.res.write.tombstone);
    RUN("exists", "k");
    expect_int(0);
    RUN("type", "k");
    ck_assert_str_eq(h.res.text, "none");
    ck_assert_uint_eq(h.vs.len, 1); /* one tombstone, the value superseded */
}
END_TEST

START_TEST(append_and_strlen)
{
    RUN("strlen", "k");
    expect_int(0);
    RUN("append", "k", "ab");
    expect_int(2);
    RUN("append", "k", "cd");
    expect_int(4);
    expect_get("abcd");
    RUN("strlen", "k");
    expect_int(4);
    RUN("expire", "k", "100");
    RUN("append", "k", "");
    expect_int(4);
    expect_ttl_ms(100000); /* APPEND keeps the TTL */
}
END_TEST

/* APPEND past value_len_max (the server's proto-max-bulk-len) fails and
 * writes nothing, as Redis's checkStringLength. */
START_TEST(append_over_limit)
{
    RUN("set", "k", "abc");
    const char *argv[] = {"append", "k", "de"};
    const size_t lens[] = {6, 1, 2};
    strop_op_t op;
    buf_clear(&h.err);
    ck_assert_int_eq(strop_parse(&op, STROP_APPEND, 3, argv, lens, NOW, &h.err), 0);
    op.value_len_max = 5;
    strop_eval(&h.vs, NOW, &op, &h.res);
    expect_int(5);
    ck_assert(h.res.has_write);
    ck_assert_int_eq(versions_write(&h.vs, ACTOR, NOW, &h.res.write, NULL), VERSIONS_OK);
    strop_eval(&h.vs, NOW, &op, &h.res);
    ck_assert_int_eq(h.res.reply, STROP_REPLY_ERROR);
    ck_assert_str_eq(h.res.text, "ERR string exceeds maximum allowed size (proto-max-bulk-len)");
    ck_assert(!h.res.has_write);
    op.value_len_max = 4;
    op.value_len = 0;
    strop_eval(&h.vs, NOW, &op, &h.res);
    ck_assert_int_eq(h.res.reply, STROP_REPLY_ERROR);
    strop_op_free(&op);
    expect_get("abcde");
}
END_TEST

START_TEST(expire_errors)
{
    RUN("expire", "k", "abc");
    expect_parse_error("ERR value is not an integer or out of range");
    RUN("expire", "k", "abc", "foo");
    expect_parse_error("ERR Unsupported option foo");
    RUN("expire", "k", "abc", "nx", "xx");
    expect_parse_error("ERR NX and XX, GT or LT options at the same time are not compatible");
    RUN("expire", "k", "10", "nx", "gt");
    expect_parse_error("ERR NX and XX, GT or LT options at the same time are not compatible");
    RUN("expire", "k", "10", "lt", "nx");
    expect_parse_error("ERR NX and XX, GT or LT options at the same time are not compatible");
    RUN("expire", "k", "10", "gt", "lt");
    expect_parse_error("ERR GT and LT options at the same time are not compatible");
    RUN("expire", "k", "9223372036854776");
    expect_parse_error("ERR invalid expire time in 'expire' command");
    RUN("expire", "k", "9223372036854775");
    expect_parse_error("ERR invalid expire time in 'expire' command"); /* + now overflows */
    RUN("pexpire", "k", "9223372036854775807");
    expect_parse_error("ERR invalid expire time in 'pexpire' command");
    RUN("expireat", "k", "-9223372036854776");
    expect_parse_error("ERR invalid expire time in 'expireat' command");
    RUN("expireat", "k", "9223372036854775");
    expect_int(0); /* fine, and the key is missing */
    RUN("pexpireat", "k", "9223372036854775807");
    expect_int(0);
    RUN("pexpireat", "k", "-9223372036854775808");
    expect_int(0);
}
END_TEST

START_TEST(expire_flags)
{
    RUN("set", "k", "v");
    RUN("expire", "k", "100", "xx");
    expect_int(0);
    RUN("expire", "k", "100", "gt");
    expect_int(0); /* no TTL counts as infinite */
    RUN("expire", "k", "100", "lt");
    expect_int(1);
    expect_ttl_ms(100000);
    RUN("expire", "k", "200", "nx");
    expect_int(0);
    RUN("expire", "k", "100", "gt");
    expect_int(0);
    RUN("expire", "k", "200", "GT");
    expect_int(1);
    RUN("expire", "k", "300", "lt");
    expect_int(0);
    RUN("pexpire", "k", "1500", "lt", "xx");
    expect_int(1);
    expect_ttl_ms(1500);
    RUN("persist", "k");
    expect_int(1);
    RUN("persist", "k");
    expect_int(0);
    RUN("expire", "k", "50", "nx");
    expect_int(1);
    RUN("pexpireat", "k", "1700000000700");
    expect_int(1);
    expect_ttl_ms(700);
    RUN("expireat", "k", "1700000001");
    expect_int(1);
    expect_ttl_ms(1000);
    expect_get("v");
}
END_TEST

START_TEST(expire_in_the_past_deletes)
{
    RUN("expire", "k", "10");
    expect_int(0);
    RUN("set", "k", "v");
    RUN("expire", "k", "-5");
    expect_int(1);
    expect_get(NULL);
    RUN("set", "k", "v");
    RUN("pexpire", "k", "0");
    expect_int(1);
    expect_get(NULL);
    RUN("set", "k", "v");
    RUN("expireat", "k", "1");
    expect_int(1);
    RUN("exists", "k");
    expect_int(0);
    RUN("persist", "k");
    expect_int(0);
}
END_TEST

START_TEST(ttl_replies)
{
    RUN("ttl", "k");
    expect_int(-2);
    RUN("pttl", "k");
    expect_int(-2);
    RUN("set", "k", "v");
    RUN("ttl", "k");
    expect_int(-1);
    RUN("set", "k", "v", "px", "1499");
    RUN("ttl", "k");
    expect_int(1);
    RUN("set", "k", "v", "px", "1500");
    RUN("ttl", "k");
    expect_int(2);
    RUN_AT(NOW + 1499, "pttl", "k");
    expect_int(1);
}
END_TEST

/* The printable context of h.vs, into out (NUL-terminated). */
static void context_of(buf_t *out)
{
    vclock_t vc = VCLOCK_INIT;
    versions_context(&h.vs, &vc);
    buf_clear(out);
    vclock_context_encode(&vc, out);
    buf_append_byte(out, 0);
    vclock_free(&vc);
}

/* Makes two siblings "a" and "b": two DYN.PUTs from the same context. */
static void make_siblings(void)
{
    buf_t ctx = BUF_INIT;
    RUN("set", "k", "v");
    context_of(&ctx);
    RUN("dyn.put", "k", ctx.data, "a");
    expect_reply(STROP_REPLY_OK);
    RUN("dyn.put", "k", ctx.data, "b");
    expect_reply(STROP_REPLY_OK);
    buf_free(&ctx);
    ck_assert_uint_eq(versions_live_count(&h.vs, NOW), 2);
}

START_TEST(siblings_get_and_conflicts)
{
    make_siblings();
    RUN("get", "k");
    expect_reply(STROP_REPLY_VALUES);
    ck_assert_uint_eq(versions_live_count(h.res.values, NOW), 2);
    const version_t *a = versions_live_at(h.res.values, NOW, 0);
    const version_t *b = versions_live_at(h.res.values, NOW, 1);
    ck_assert(memcmp(a->value, "a", 1) == 0 && memcmp(b->value, "b", 1) == 0);
    static const char *const one_value[][5] = {
        {"append", "k", "x", NULL}, {"strlen", "k", NULL},        {"getex", "k", NULL},
        {"getdel", "k", NULL},      {"set", "k", "x", "get", NULL}, {"expire", "k", "10", NULL},
        {"persist", "k", NULL},     {"ttl", "k", NULL},           {"pttl", "k", NULL},
    };
    for (size_t i = 0; i < sizeof one_value / sizeof one_value[0]; i++) {
        run_at(NOW, (const char **)one_value[i]);
        expect_reply(STROP_REPLY_CONFLICT);
        ck_assert_int_eq(h.res.integer, 2);
        ck_assert(!h.res.has_write);
    }
    buf_t text = BUF_INIT;
    strop_conflict_text(2, &text);
    buf_append_byte(&text, 0);
    ck_assert_str_eq(text.data, "CONFLICT key has 2 siblings; resolve with DYN.GET and DYN.PUT");
    buf_free(&text);
    RUN("exists", "k");
    expect_int(1);
    RUN("type", "k");
    ck_assert_str_eq(h.res.text, "string");
}
END_TEST

START_TEST(siblings_superseded_by_set_and_del)
{
    make_siblings();
    RUN("set", "k", "c");
    expect_reply(STROP_REPLY_OK);
    expect_get("c");
    ck_assert_uint_eq(h.vs.len, 1);
    make_siblings();
    RUN("del", "k");
    expect_int(1);
    expect_get(NULL);
    ck_assert_uint_eq(h.vs.len, 1);
    make_siblings();
    RUN("set", "k", "d", "nx");
    expect_reply(STROP_REPLY_NIL);
    RUN("set", "k", "d", "xx", "keepttl");
    expect_reply(STROP_REPLY_OK);
    expect_get("d");
}
END_TEST

START_TEST(dyn_put_resolves_with_context)
{
    make_siblings();
    buf_t ctx = BUF_INIT;
    context_of(&ctx);
    RUN("dyn.put", "k", ctx.data, "ab", "px", "5000");
    expect_reply(STROP_REPLY_OK);
    expect_get("ab");
    expect_ttl_ms(5000);
    RUN("dyn.put", "k", "", "fresh");
    expect_reply(STROP_REPLY_OK); /* the empty context covers nothing */
    ck_assert_uint_eq(versions_live_count(&h.vs, NOW), 2);
    RUN("dyn.put", "k", "!!", "x");
    expect_parse_error("ERR invalid context");
    RUN("dyn.del", "k", "A");
    expect_parse_error("ERR invalid context");
    RUN("dyn.put", "k", "", "x", "ex", "0");
    expect_parse_error("ERR invalid expire time in 'dyn.put' command");
    RUN("dyn.put", "k", "", "x", "ex", "y");
    expect_parse_error("ERR value is not an integer or out of range");
    RUN("dyn.put", "k", "", "x", "exat", "5");
    expect_parse_error("ERR syntax error");
    RUN("dyn.put", "k", "", "x", "ex");
    expect_parse_error("ERR syntax error");
    buf_free(&ctx);
}
END_TEST

START_TEST(dyn_del_reports_what_it_superseded)
{
    RUN("dyn.del", "k", "");
    expect_int(0);
    ck_assert(!h.res.has_write);
    make_siblings();
    RUN("dyn.del", "k", "");
    expect_int(0);
    buf_t ctx = BUF_INIT;
    context_of(&ctx);
    RUN("dyn.del", "k", ctx.data);
    expect_int(1);
    ck_assert(h.res.write.tombstone);
    expect_get(NULL);
    RUN("dyn.del", "k", ctx.data);
    expect_int(0);
    buf_free(&ctx);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("strop");
    TCase *tc = tcase_create("strop");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, set_and_get);
    tcase_add_test(tc, set_expire_options);
    tcase_add_test(tc, set_keepttl);
    tcase_add_test(tc, set_errors);
    tcase_add_test(tc, set_nx_xx_get);
    tcase_add_test(tc, getex_options);
    tcase_add_test(tc, getex_errors);
    tcase_add_test(tc, getdel_and_del);
    tcase_add_test(tc, append_and_strlen);
    tcase_add_test(tc, append_over_limit);
    tcase_add_test(tc, expire_errors);
    tcase_add_test(tc, expire_flags);
    tcase_add_test(tc, expire_in_the_past_deletes);
    tcase_add_test(tc, ttl_replies);
    tcase_add_test(tc, siblings_get_and_conflicts);
    tcase_add_test(tc, siblings_superseded_by_set_and_del);
    tcase_add_test(tc, dyn_put_resolves_with_context);
    tcase_add_test(tc, dyn_del_reports_what_it_superseded);
    suite_add_tcase(s, tc);
    return s;
}
