/* test_badinput.c - a real dynis-server given bad or hostile input: each
 * protocol error gets Redis's error text and the connection closed, the
 * server keeps serving others; a bulk over proto-max-bulk-len, an inline
 * line over 64 KiB, a query buffer over client-query-buffer-limit, one
 * client more than maxclients, and requests before AUTH when requirepass
 * is set. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check_main.h"
#include "expect.h"
#include "procs.h"

#define PROTO_MAX_BULK_LEN "1048576"
#define QUERY_BUFFER_LIMIT "1048576"
#define BIG_QUERY_BYTES (4 * 1024 * 1024)
#define INLINE_TOO_BIG_BYTES (70 * 1024)
#define MAXCLIENTS 3
#define CONNECT_TRIES_MAX 100
#define POLL_MS 20
#define TEST_TIMEOUT_S 60

static proc_t *server; /* the shared server of the "protocol" case */

static const char *const protocol_opts[] = {"--proto-max-bulk-len", PROTO_MAX_BULK_LEN, NULL};

static void suite_setup(void)
{
    procs_init();
    server = proc_start(protocol_opts);
}

static void suite_teardown(void)
{
    proc_free(server);
    server = NULL;
    procs_cleanup();
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static redisContext *connect_to(const proc_t *p)
{
    ck_assert_msg(p != NULL, "dynis-server did not start");
    redisContext *c = proc_connect(p);
    ck_assert_msg(c != NULL, "cannot connect to port %d", p->port);
    return c;
}

/* Sends raw bytes on a new connection to the shared server and expects
 * the error, the connection closed, and the server still serving. */
static void raw_error(const char *bytes, size_t len, const char *error)
{
    redisContext *c = connect_to(server);
    ck_assert_int_eq(redisAppendFormattedCommand(c, bytes, len), REDIS_OK);
    expect_error_then_close(c, error);
    redisFree(c);
    c = connect_to(server);
    expect_status(c, "PONG", "PING");
    redisFree(c);
}

#define RAW_ERROR(lit, error) raw_error(lit, sizeof(lit) - 1, error)

START_TEST(bad_multibulk_length)
{
    RAW_ERROR("*abc\r\n", "ERR Protocol error: invalid multibulk length");
    RAW_ERROR("*2147483648\r\n", "ERR Protocol error: invalid multibulk length");
}
END_TEST

START_TEST(bad_bulk_length)
{
    RAW_ERROR("*1\r\n$abc\r\n", "ERR Protocol error: invalid bulk length");
    RAW_ERROR("*1\r\n$-1\r\n", "ERR Protocol error: invalid bulk length");
    RAW_ERROR("*1\r\nPING\r\n", "ERR Protocol error: expected '$', got 'P'");
}
END_TEST

START_TEST(bulk_over_proto_max_bulk_len)
{
    RAW_ERROR("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1048577\r\n", "ERR Protocol error: invalid bulk length");
    redisContext *c = connect_to(server);
    char *v = malloc(1048576);
    ck_assert_ptr_nonnull(v);
    memset(v, 'x', 1048576);
    expect_ok(c, "SET k %b", v, (size_t)1048576);
    expect_int(c, 1048576, "STRLEN k");
    free(v);
    redisFree(c);
}
END_TEST

START_TEST(inline_errors)
{
    RAW_ERROR("SET k \"abc\r\n", "ERR Protocol error: unbalanced quotes in request");
    RAW_ERROR("SET k 'a'b\r\n", "ERR Protocol error: unbalanced quotes in request");
    char *line = malloc(INLINE_TOO_BIG_BYTES);
    ck_assert_ptr_nonnull(line);
    memset(line, 'a', INLINE_TOO_BIG_BYTES);
    raw_error(line, INLINE_TOO_BIG_BYTES, "ERR Protocol error: too big inline request");
    free(line);
}
END_TEST

START_TEST(inline_commands_work)
{
    redisContext *c = connect_to(server);
    static const char req[] = "SET ik \"a b\"\r\nGET ik\r\nPING\n";
    ck_assert_int_eq(redisAppendFormattedCommand(c, req, sizeof req - 1), REDIS_OK);
    void *r = NULL;
    ck_assert_int_eq(redisGetReply(c, &r), REDIS_OK);
    ck_assert_str_eq(((redisReply *)r)->str, "OK");
    freeReplyObject(r);
    ck_assert_int_eq(redisGetReply(c, &r), REDIS_OK);
    ck_assert_str_eq(((redisReply *)r)->str, "a b");
    freeReplyObject(r);
    ck_assert_int_eq(redisGetReply(c, &r), REDIS_OK);
    ck_assert_str_eq(((redisReply *)r)->str, "PONG");
    freeReplyObject(r);
    redisFree(c);
}
END_TEST

START_TEST(query_buffer_limit_closes_client)
{
    static const char *const opts[] = {"--client-query-buffer-limit", QUERY_BUFFER_LIMIT,
                                       "--proto-max-bulk-len", "16777216", NULL};
    proc_t *p = proc_start(opts);
    redisContext *c = connect_to(p);
    char *v = malloc(BIG_QUERY_BYTES);
    ck_assert_ptr_nonnull(v);
    memset(v, 'q', BIG_QUERY_BYTES);
    redisReply *r = redisCommand(c, "SET big %b", v, (size_t)BIG_QUERY_BYTES);
    free(v);
    ck_assert_msg(r == NULL, "a query over the limit was answered: type %d '%s'", r->type,
                  r->str ? r->str : "");
    redisFree(c);
    c = connect_to(p);
    expect_int(c, 0, "EXISTS big");
    redisFree(c);
    proc_free(p);
}
END_TEST

/* A connection the server accepted (it answers PING): the server may not
 * have seen earlier connections close yet, so retry a bounded time. */
static redisContext *connect_accepted(const proc_t *p)
{
    for (int i = 0; i < CONNECT_TRIES_MAX; i++) {
        redisContext *c = connect_to(p);
        redisReply *r = redisCommand(c, "PING");
        bool ok = r != NULL && r->type == REDIS_REPLY_STATUS;
        if (r != NULL)
            freeReplyObject(r);
        if (ok)
            return c;
        redisFree(c);
        sleep_ms(POLL_MS);
    }
    ck_abort_msg("no connection accepted below maxclients");
    return NULL;
}

START_TEST(maxclients_enforced)
{
    static const char *const opts[] = {"--maxclients", "3", NULL};
    proc_t *p = proc_start(opts);
    redisContext *held[MAXCLIENTS];
    for (int i = 0; i < MAXCLIENTS; i++)
        held[i] = connect_accepted(p);
    redisContext *extra = connect_to(p);
    void *r = NULL;
    ck_assert_msg(redisGetReply(extra, &r) == REDIS_OK && r != NULL,
                  "no error for the client over maxclients: %s", extra->errstr);
    ck_assert_int_eq(((redisReply *)r)->type, REDIS_REPLY_ERROR);
    ck_assert_str_eq(((redisReply *)r)->str, "ERR max number of clients reached");
    freeReplyObject(r);
    redisFree(extra);
    redisFree(held[0]);
    held[0] = connect_accepted(p);
    for (int i = 0; i < MAXCLIENTS; i++)
        redisFree(held[i]);
    proc_free(p);
}
END_TEST

START_TEST(requirepass_and_auth)
{
    static const char *const opts[] = {"--requirepass", "secret", NULL};
    proc_t *p = proc_start(opts);
    redisContext *c = connect_to(p);
    expect_error(c, "NOAUTH Authentication required.", "GET k");
    expect_error(c, "NOAUTH Authentication required.", "SET k v");
    expect_error(c, "NOAUTH Authentication required.", "PING");
    expect_error(c, "WRONGPASS invalid username-password pair or user is disabled.", "AUTH nope");
    expect_error(c, "WRONGPASS", "AUTH default nope");
    expect_ok(c, "AUTH secret");
    expect_ok(c, "SET k v");
    expect_str(c, "v", "GET k");
    redisFree(c);
    c = connect_to(p);
    expect_ok(c, "AUTH default secret");
    expect_str(c, "v", "GET k");
    redisFree(c);
    c = connect_to(p);
    redisReply *r = expect_reply(c, "HELLO 2 AUTH default secret");
    ck_assert_int_eq(r->type, REDIS_REPLY_ARRAY);
    freeReplyObject(r);
    expect_str(c, "v", "GET k");
    redisFree(c);
    proc_free(p);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("badinput");
    TCase *tc = tcase_create("badinput");
    tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
    tcase_set_timeout(tc, TEST_TIMEOUT_S);
    tcase_add_test(tc, bad_multibulk_length);
    tcase_add_test(tc, bad_bulk_length);
    tcase_add_test(tc, bulk_over_proto_max_bulk_len);
    tcase_add_test(tc, inline_errors);
    tcase_add_test(tc, inline_commands_work);
    tcase_add_test(tc, query_buffer_limit_closes_client);
    tcase_add_test(tc, maxclients_enforced);
    tcase_add_test(tc, requirepass_and_auth);
    suite_add_tcase(s, tc);
    return s;
}
