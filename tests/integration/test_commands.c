/* test_commands.c - every command of the single-node server against a real
 * dynis-server process over TCP with hiredis: strings, expiry commands,
 * keyspace iteration, connection and server commands, binary data, and the
 * error replies. One server serves the whole suite (started in the parent
 * by an unchecked fixture); each test starts from FLUSHALL. */
#define _GNU_SOURCE /* memmem */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check_main.h"
#include "expect.h"
#include "procs.h"

#define SCAN_KEYS 300
#define SCAN_ROUNDS_MAX 1000
#define BIG_VALUE_BYTES (1024 * 1024)
#define HELLO_REPLY_MAX 4096
#define TEST_TIMEOUT_S 60

static proc_t *server;

static void suite_setup(void)
{
    procs_init();
    server = proc_start(NULL);
}

static void suite_teardown(void)
{
    proc_free(server);
    server = NULL;
    procs_cleanup();
}

/* A new connection to the shared server, after FLUSHALL. */
static redisContext *fresh(void)
{
    ck_assert_msg(server != NULL, "dynis-server did not start");
    redisContext *c = proc_connect(server);
    ck_assert_msg(c != NULL, "cannot connect to port %d", server->port);
    expect_ok(c, "FLUSHALL");
    return c;
}

START_TEST(set_and_get)
{
    redisContext *c = fresh();
    expect_nil(c, "GET k");
    expect_ok(c, "SET k v");
    expect_str(c, "v", "GET k");
    expect_ok(c, "SET k w");
    expect_str(c, "w", "GET k");
    expect_error(c, "ERR wrong number of arguments for 'get' command", "GET");
    expect_error(c, "ERR syntax error", "SET k v FOO");
    expect_error(c, "ERR syntax error", "SET k v NX XX");
    expect_error(c, "ERR invalid expire time in 'set' command", "SET k v EX 0");
    expect_error(c, "ERR value is not an integer or out of range", "SET k v EX abc");
    redisFree(c);
}
END_TEST

START_TEST(set_options)
{
    redisContext *c = fresh();
    expect_nil(c, "SET k v XX");
    expect_ok(c, "SET k v NX");
    expect_nil(c, "SET k w NX");
    expect_ok(c, "SET k w XX");
    expect_str(c, "w", "SET k x GET");
    expect_nil(c, "SET fresh x GET");
    expect_ok(c, "SET k v EX 100");
    expect_int(c, 100, "TTL k");
    expect_ok(c, "SET k v2 KEEPTTL");
    expect_int(c, 100, "TTL k");
    expect_ok(c, "SET k v3");
    expect_int(c, -1, "TTL k");
    expect_ok(c, "SET k v PX 100000");
    expect_int(c, 100, "TTL k");
    long long now = (long long)time(NULL);
    expect_ok(c, "SET k v EXAT %lld", now + 100);
    redisReply *r = expect_reply(c, "TTL k");
    ck_assert(r->type == REDIS_REPLY_INTEGER && r->integer >= 98 && r->integer <= 100);
    freeReplyObject(r);
    expect_ok(c, "SET k v PXAT %lld", (now + 200) * 1000);
    r = expect_reply(c, "PTTL k");
    ck_assert(r->type == REDIS_REPLY_INTEGER && r->integer > 190000 && r->integer <= 200000);
    freeReplyObject(r);
    expect_ok(c, "SET k v EXAT 1");
    expect_nil(c, "GET k");
    redisFree(c);
}
END_TEST

START_TEST(del_exists_mget_mset)
{
    redisContext *c = fresh();
    expect_ok(c, "MSET a 1 b 2 c 3");
    expect_int(c, 3, "EXISTS a b c");
    expect_int(c, 2, "EXISTS a a nokey");
    redisReply *r = expect_reply(c, "MGET a nokey c");
    ck_assert_int_eq(r->type, REDIS_REPLY_ARRAY);
    ck_assert_uint_eq(r->elements, 3);
    ck_assert_str_eq(r->element[0]->str, "1");
    ck_assert_int_eq(r->element[1]->type, REDIS_REPLY_NIL);
    ck_assert_str_eq(r->element[2]->str, "3");
    freeReplyObject(r);
    expect_int(c, 2, "DEL a b nokey");
    expect_int(c, 0, "EXISTS a b");
    expect_int(c, 1, "DBSIZE");
    expect_error(c, "ERR wrong number of arguments for 'mset' command", "MSET a 1 b");
    expect_error(c, "ERR wrong number of arguments for 'del' command", "DEL");
    redisFree(c);
}
END_TEST

START_TEST(expire_family)
{
    redisContext *c = fresh();
    expect_int(c, -2, "TTL nokey");
    expect_int(c, -2, "PTTL nokey");
    expect_int(c, 0, "EXPIRE nokey 10");
    expect_ok(c, "SET k v");
    expect_int(c, -1, "TTL k");
    expect_int(c, 1, "EXPIRE k 100");
    expect_int(c, 100, "TTL k");
    expect_int(c, 1, "PEXPIRE k 50000");
    expect_int(c, 50, "TTL k");
    expect_int(c, 1, "EXPIREAT k %lld", (long long)time(NULL) + 1000);
    redisReply *r = expect_reply(c, "TTL k");
    ck_assert(r->integer >= 998 && r->integer <= 1000);
    freeReplyObject(r);
    expect_int(c, 1, "PEXPIREAT k %lld", ((long long)time(NULL) + 2000) * 1000);
    r = expect_reply(c, "TTL k");
    ck_assert(r->integer >= 1998 && r->integer <= 2000);
    freeReplyObject(r);
    expect_int(c, 1, "PERSIST k");
    expect_int(c, 0, "PERSIST k");
    expect_int(c, -1, "PTTL k");
    expect_int(c, 1, "EXPIRE k 0");
    expect_int(c, 0, "EXISTS k");
    expect_ok(c, "SET k v");
    expect_int(c, 1, "EXPIREAT k 1");
    expect_nil(c, "GET k");
    expect_error(c, "ERR value is not an integer or out of range", "EXPIRE k x");
    redisFree(c);
}
END_TEST

START_TEST(getdel_getex_strlen_append)
{
    redisContext *c = fresh();
    expect_ok(c, "SET k hello");
    expect_int(c, 5, "STRLEN k");
    expect_int(c, 0, "STRLEN nokey");
    expect_int(c, 11, "APPEND k %s", " world");
    expect_str(c, "hello world", "GET k");
    expect_int(c, 3, "APPEND fresh abc");
    expect_str(c, "hello world", "GETEX k EX 100");
    expect_int(c, 100, "TTL k");
    expect_str(c, "hello world", "GETEX k PERSIST");
    expect_int(c, -1, "TTL k");
    expect_str(c, "hello world", "GETEX k PX 100000");
    expect_int(c, 100, "TTL k");
    expect_str(c, "hello world", "GETEX k");
    expect_nil(c, "GETEX nokey EX 10");
    expect_error(c, "ERR syntax error", "GETEX k FOO");
    expect_str(c, "hello world", "GETDEL k");
    expect_nil(c, "GETDEL k");
    expect_int(c, 0, "EXISTS k");
    redisFree(c);
}
END_TEST

START_TEST(dbsize_and_flush)
{
    redisContext *c = fresh();
    expect_int(c, 0, "DBSIZE");
    expect_ok(c, "MSET a 1 b 2 c 3");
    expect_int(c, 3, "DBSIZE");
    expect_ok(c, "FLUSHDB");
    expect_int(c, 0, "DBSIZE");
    expect_ok(c, "MSET a 1 b 2");
    expect_ok(c, "FLUSHALL ASYNC");
    expect_int(c, 0, "DBSIZE");
    expect_nil(c, "GET a");
    redisFree(c);
}
END_TEST

/* Full SCAN iteration: every key exactly as written, each at least once. */
static void scan_all(redisContext *c, const char *match, int want)
{
    char *seen = calloc(SCAN_KEYS, 1);
    ck_assert_ptr_nonnull(seen);
    char cursor[32] = "0";
    int rounds = 0;
    do {
        redisReply *r = expect_reply(c, "SCAN %s MATCH %s COUNT 17", cursor, match);
        ck_assert_int_eq(r->type, REDIS_REPLY_ARRAY);
        ck_assert_uint_eq(r->elements, 2);
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        for (size_t i = 0; i < r->element[1]->elements; i++) {
            int n = atoi(r->element[1]->element[i]->str + 4);
            ck_assert(n >= 0 && n < SCAN_KEYS);
            seen[n] = 1;
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0 && ++rounds < SCAN_ROUNDS_MAX);
    ck_assert_int_lt(rounds, SCAN_ROUNDS_MAX);
    int count = 0;
    for (int i = 0; i < SCAN_KEYS; i++)
        count += seen[i];
    ck_assert_int_eq(count, want);
    free(seen);
}

START_TEST(scan_keys_type)
{
    redisContext *c = fresh();
    for (int i = 0; i < SCAN_KEYS; i++)
        expect_ok(c, "SET key:%d v", i);
    scan_all(c, "*", SCAN_KEYS);
    scan_all(c, "key:1?", 10);
    redisReply *r = expect_reply(c, "KEYS key:2?");
    ck_assert_int_eq(r->type, REDIS_REPLY_ARRAY);
    ck_assert_uint_eq(r->elements, 10);
    freeReplyObject(r);
    r = expect_reply(c, "KEYS *");
    ck_assert_uint_eq(r->elements, SCAN_KEYS);
    freeReplyObject(r);
    expect_status(c, "string", "TYPE key:1");
    expect_status(c, "none", "TYPE nokey");
    expect_error(c, "ERR invalid cursor", "SCAN abc");
    redisFree(c);
}
END_TEST

START_TEST(connection_commands)
{
    redisContext *c = fresh();
    expect_status(c, "PONG", "PING");
    expect_str(c, "hi", "PING hi");
    expect_str(c, "a b", "ECHO %s", "a b");
    expect_ok(c, "SELECT 0");
    expect_error(c, "ERR SELECT is not allowed in cluster mode", "SELECT 1");
    expect_error(c, "ERR AUTH <password> called without any password configured", "AUTH x");
    redisReply *r = expect_reply(c, "HELLO 2");
    ck_assert_int_eq(r->type, REDIS_REPLY_ARRAY);
    ck_assert_uint_eq(r->elements % 2, 0);
    freeReplyObject(r);
    expect_error(c, "NOPROTO", "HELLO 4");
    expect_status(c, "RESET", "RESET");
    expect_status(c, "PONG", "PING");
    expect_ok(c, "QUIT");
    ck_assert_ptr_null(redisCommand(c, "PING"));
    redisFree(c);
}
END_TEST

/* hiredis 0.14 reads RESP2 only: HELLO 3 is checked on the raw socket. A
 * server either speaks RESP3 (a map) or refuses with -NOPROTO. */
START_TEST(hello_3)
{
    redisContext *c = fresh();
    static const char req[] = "HELLO 3\r\nGET nokey\r\n";
    ck_assert_int_eq(write(c->fd, req, sizeof req - 1), (ssize_t)(sizeof req - 1));
    char buf[HELLO_REPLY_MAX + 1];
    size_t n = 0;
    while (n < HELLO_REPLY_MAX && memmem(buf, n, "\r\n_\r\n", 5) == NULL &&
           memmem(buf, n, "$-1\r\n", 5) == NULL) {
        ssize_t got = read(c->fd, buf + n, HELLO_REPLY_MAX - n);
        ck_assert_int_gt(got, 0);
        n += (size_t)got;
    }
    buf[n] = '\0';
    if (buf[0] == '%') {
        ck_assert_msg(strstr(buf, "$5\r\nproto\r\n:3\r\n") != NULL, "HELLO 3: %s", buf);
        ck_assert_msg(memmem(buf, n, "\r\n_\r\n", 5) != NULL, "RESP3 nil expected: %s", buf);
    } else {
        ck_assert_msg(strncmp(buf, "-NOPROTO", 8) == 0, "HELLO 3: %s", buf);
    }
    redisFree(c);
}
END_TEST

START_TEST(client_commands)
{
    redisContext *c = fresh();
    redisReply *r = expect_reply(c, "CLIENT ID");
    ck_assert_int_eq(r->type, REDIS_REPLY_INTEGER);
    long long id = r->integer;
    freeReplyObject(r);
    expect_nil(c, "CLIENT GETNAME");
    expect_ok(c, "CLIENT SETNAME tester");
    expect_str(c, "tester", "CLIENT GETNAME");
    expect_error(c, "ERR Client names cannot contain spaces", "CLIENT SETNAME %s", "a b");
    expect_ok(c, "CLIENT SETINFO LIB-NAME hiredis");
    expect_ok(c, "CLIENT SETINFO LIB-VER 0.14.1");
    r = expect_reply(c, "CLIENT LIST");
    ck_assert_int_eq(r->type, REDIS_REPLY_STRING);
    char want[64];
    snprintf(want, sizeof want, "id=%lld ", id);
    ck_assert_msg(strstr(r->str, want) != NULL, "CLIENT LIST lacks %s: %s", want, r->str);
    ck_assert_ptr_nonnull(strstr(r->str, "name=tester"));
    freeReplyObject(r);
    r = expect_reply(c, "CLIENT INFO");
    ck_assert_int_eq(r->type, REDIS_REPLY_STRING);
    ck_assert_ptr_nonnull(strstr(r->str, want));
    freeReplyObject(r);
    expect_error(c, "ERR unknown subcommand", "CLIENT FOO");
    redisFree(c);
}
END_TEST

START_TEST(server_commands)
{
    redisContext *c = fresh();
    redisReply *r = expect_reply(c, "COMMAND COUNT");
    ck_assert_int_eq(r->type, REDIS_REPLY_INTEGER);
    ck_assert_int_gt(r->integer, 30);
    freeReplyObject(r);
    r = expect_reply(c, "COMMAND INFO get set");
    ck_assert(r->type == REDIS_REPLY_ARRAY && r->elements == 2);
    ck_assert(r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements >= 6);
    ck_assert_str_eq(r->element[0]->element[0]->str, "get");
    ck_assert_int_eq(r->element[0]->element[1]->integer, 2);
    freeReplyObject(r);
    r = expect_reply(c, "COMMAND DOCS get");
    ck_assert_int_eq(r->type, REDIS_REPLY_ARRAY);
    freeReplyObject(r);
    r = expect_reply(c, "TIME");
    ck_assert(r->type == REDIS_REPLY_ARRAY && r->elements == 2);
    ck_assert(atoll(r->element[0]->str) > 1600000000LL);
    freeReplyObject(r);
    expect_ok(c, "CONFIG SET proto-max-bulk-len 4000000");
    r = expect_reply(c, "CONFIG GET proto-max-bulk-len");
    ck_assert(r->type == REDIS_REPLY_ARRAY && r->elements == 2);
    ck_assert_str_eq(r->element[1]->str, "4000000");
    freeReplyObject(r);
    expect_error(c, "ERR Unknown option", "CONFIG SET nosuch 1");
    expect_ok(c, "CONFIG RESETSTAT");
    expect_ok(c, "SET k v");
    expect_str(c, "v", "GET k");
    r = expect_reply(c, "INFO");
    ck_assert_int_eq(r->type, REDIS_REPLY_STRING);
    const char *fields[] = {"# Server", "# Clients", "# Memory", "# Persistence", "# Stats",
                            "# Keyspace", "used_memory:", "connected_clients:",
                            "total_commands_processed:", "instantaneous_ops_per_sec:",
                            "keyspace_hits:", "db0:keys=1,expires=0"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        ck_assert_msg(strstr(r->str, fields[i]) != NULL, "INFO lacks '%s'", fields[i]);
    freeReplyObject(r);
    redisFree(c);
}
END_TEST

START_TEST(errors)
{
    redisContext *c = fresh();
    expect_error(c, "ERR unknown command 'FOO', with args beginning with: 'a' ", "FOO a");
    expect_error(c, "ERR wrong number of arguments for 'set' command", "SET k");
    expect_error(c, "ERR wrong number of arguments for 'expire' command", "EXPIRE k");
    expect_error(c, "ERR wrong number of arguments for 'echo' command", "ECHO");
    expect_status(c, "PONG", "PING");
    redisFree(c);
}
END_TEST

START_TEST(binary_round_trip)
{
    redisContext *c = fresh();
    static const char key[] = "k\0e\r\ny", val[] = "\0v\0\xff\r\n";
    expect_ok(c, "SET %b %b", key, sizeof key - 1, val, sizeof val - 1);
    expect_bytes(c, val, sizeof val - 1, "GET %b", key, sizeof key - 1);
    expect_nil(c, "GET k");
    expect_ok(c, "SET %b %b", "", (size_t)0, "", (size_t)0);
    expect_bytes(c, "", 0, "GET %b", "", (size_t)0);
    expect_int(c, 1, "EXISTS %b", "", (size_t)0);
    char *big = malloc(BIG_VALUE_BYTES);
    ck_assert_ptr_nonnull(big);
    for (size_t i = 0; i < BIG_VALUE_BYTES; i++)
        big[i] = (char)(i * 7 + i / 251);
    expect_ok(c, "SET big %b", big, (size_t)BIG_VALUE_BYTES);
    expect_bytes(c, big, BIG_VALUE_BYTES, "GET big");
    expect_int(c, BIG_VALUE_BYTES, "STRLEN big");
    expect_ok(c, "SET %b v", big, (size_t)BIG_VALUE_BYTES);
    expect_str(c, "v", "GET %b", big, (size_t)BIG_VALUE_BYTES);
    free(big);
    redisFree(c);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("commands");
    TCase *tc = tcase_create("commands");
    tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
    tcase_set_timeout(tc, TEST_TIMEOUT_S);
    tcase_add_test(tc, set_and_get);
    tcase_add_test(tc, set_options);
    tcase_add_test(tc, del_exists_mget_mset);
    tcase_add_test(tc, expire_family);
    tcase_add_test(tc, getdel_getex_strlen_append);
    tcase_add_test(tc, dbsize_and_flush);
    tcase_add_test(tc, scan_keys_type);
    tcase_add_test(tc, connection_commands);
    tcase_add_test(tc, hello_3);
    tcase_add_test(tc, client_commands);
    tcase_add_test(tc, server_commands);
    tcase_add_test(tc, errors);
    tcase_add_test(tc, binary_round_trip);
    suite_add_tcase(s, tc);
    return s;
}
