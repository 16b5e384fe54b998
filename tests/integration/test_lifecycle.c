/* test_lifecycle.c - a real dynis-server over time and across restarts:
 * keys with a TTL disappear on access and, without any access, by active
 * expiry (DBSIZE drops); 1000 acknowledged writes survive kill -9 and a
 * restart on the same directory; SIGTERM and SHUTDOWN exit with status 0
 * and keep the data; a configuration file applies and the command line
 * overrides it; a client that half-closes after a pipeline gets every
 * reply, then the server closes. Each test starts its own server. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check_main.h"
#include "expect.h"
#include "procs.h"

#define DURABLE_KEYS 1000
#define EXPIRING_KEYS 50
#define POLL_MS 50
#define ACTIVE_EXPIRY_WAIT_MS 10000
#define TEST_TIMEOUT_S 60
#define HALF_CLOSE_SETS 2000     /* SETs pipelined before shutdown(SHUT_WR) */
#define HALF_CLOSE_BIG_BYTES (4 << 20) /* a value read back HALF_CLOSE_BIG_GETS times: */
#define HALF_CLOSE_BIG_GETS 4         /* more output than the socket buffers hold */
#define HALF_CLOSE_READ_MAX (32 << 20) /* bytes of replies read at most */
#define HALF_CLOSE_RCV_TIMEOUT_S 10

static void suite_setup(void)
{
    procs_init();
}

static void suite_teardown(void)
{
    procs_cleanup();
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static proc_t *start(const char *const *extra)
{
    proc_t *p = proc_start(extra);
    ck_assert_msg(p != NULL, "dynis-server did not start");
    return p;
}

static redisContext *connect_to(proc_t *p)
{
    redisContext *c = proc_connect(p);
    ck_assert_msg(c != NULL, "cannot connect to port %d", p->port);
    return c;
}

static long long dbsize(redisContext *c)
{
    redisReply *r = expect_reply(c, "DBSIZE");
    ck_assert_int_eq(r->type, REDIS_REPLY_INTEGER);
    long long n = r->integer;
    freeReplyObject(r);
    return n;
}

START_TEST(expired_key_disappears_on_access)
{
    proc_t *p = start(NULL);
    redisContext *c = connect_to(p);
    expect_ok(c, "SET k v PX 100");
    expect_ok(c, "SET keep v");
    expect_str(c, "v", "GET k");
    sleep_ms(300);
    expect_nil(c, "GET k");
    expect_int(c, 0, "EXISTS k");
    expect_int(c, -2, "TTL k");
    expect_int(c, 1, "DBSIZE");
    redisFree(c);
    proc_free(p);
}
END_TEST

START_TEST(active_expiry_without_access)
{
    proc_t *p = start(NULL);
    redisContext *c = connect_to(p);
    for (int i = 0; i < EXPIRING_KEYS; i++)
        expect_ok(c, "SET exp:%d v PX 100", i);
    expect_ok(c, "SET keep v");
    int waited = 0;
    while (dbsize(c) > 1 && waited < ACTIVE_EXPIRY_WAIT_MS) {
        sleep_ms(POLL_MS);
        waited += POLL_MS;
    }
    ck_assert_msg(dbsize(c) == 1, "expired keys still counted after %d ms", waited);
    expect_str(c, "v", "GET keep");
    redisFree(c);
    proc_free(p);
}
END_TEST

static void write_keys(redisContext *c, int n)
{
    for (int i = 0; i < n; i++)
        expect_ok(c, "SET durable:%d value-%d", i, i);
}

/* After a restart: n durable keys with their values, dbsize keys in all. */
static void check_keys(proc_t *p, int n, int keys)
{
    redisContext *c = connect_to(p);
    ck_assert_int_eq(dbsize(c), keys);
    for (int i = 0; i < n; i++) {
        char want[32];
        snprintf(want, sizeof want, "value-%d", i);
        expect_str(c, want, "GET durable:%d", i);
    }
    redisFree(c);
}

START_TEST(kill_9_loses_no_acknowledged_write)
{
    proc_t *p = start(NULL);
    redisContext *c = connect_to(p);
    write_keys(c, DURABLE_KEYS);
    redisFree(c);
    ck_assert_int_eq(proc_stop(p, SIGKILL, PROC_STOP_TIMEOUT_MS), -1);
    ck_assert_msg(proc_restart(p) == 0, "no restart after kill -9");
    check_keys(p, DURABLE_KEYS, DURABLE_KEYS);
    proc_free(p);
}
END_TEST

START_TEST(sigterm_exits_cleanly)
{
    proc_t *p = start(NULL);
    redisContext *c = connect_to(p);
    write_keys(c, DURABLE_KEYS);
    expect_ok(c, "SET ttl v EX 1000");
    redisFree(c);
    ck_assert_int_eq(proc_stop(p, SIGTERM, PROC_STOP_TIMEOUT_MS), 0);
    ck_assert_msg(proc_restart(p) == 0, "no restart after SIGTERM");
    check_keys(p, DURABLE_KEYS, DURABLE_KEYS + 1);
    c = connect_to(p);
    redisReply *r = expect_reply(c, "TTL ttl");
    ck_assert(r->type == REDIS_REPLY_INTEGER && r->integer > 900 && r->integer <= 1000);
    freeReplyObject(r);
    redisFree(c);
    proc_free(p);
}
END_TEST

START_TEST(shutdown_exits_cleanly)
{
    proc_t *p = start(NULL);
    redisContext *c = connect_to(p);
    write_keys(c, DURABLE_KEYS);
    redisReply *r = redisCommand(c, "SHUTDOWN");
    /* Redis closes the connection without a reply on success. */
    ck_assert_msg(r == NULL || r->type != REDIS_REPLY_ERROR, "SHUTDOWN: %s", r ? r->str : "");
    if (r != NULL)
        freeReplyObject(r);
    redisFree(c);
    ck_assert_int_eq(proc_wait_exit(p, PROC_STOP_TIMEOUT_MS), 0);
    ck_assert_msg(proc_restart(p) == 0, "no restart after SHUTDOWN");
    check_keys(p, DURABLE_KEYS, DURABLE_KEYS);
    proc_free(p);
}
END_TEST

/* A plain socket to p (receive timeout HALF_CLOSE_RCV_TIMEOUT_S). */
static int raw_connect(const proc_t *p)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p->port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    struct timeval tv = {HALF_CLOSE_RCV_TIMEOUT_S, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

/* As `printf 'SET a 1\r\nGET a\r\n...' | nc -N`: a pipeline, then end of
 * input; every reply must come back, then the server's close (an
 * incomplete last request is dropped). */
START_TEST(half_close_gets_every_reply)
{
    proc_t *p = start(NULL);
    char *in = NULL, *want = NULL;
    size_t in_len = 0, want_len = 0;
    FILE *fin = open_memstream(&in, &in_len), *fwant = open_memstream(&want, &want_len);
    ck_assert(fin != NULL && fwant != NULL);
    fputs("SET a 1\r\nGET a\r\n", fin);
    fputs("+OK\r\n$1\r\n1\r\n", fwant);
    for (int i = 0; i < HALF_CLOSE_SETS; i++) {
        char key[32];
        int kl = snprintf(key, sizeof key, "hc:%d", i);
        fprintf(fin, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", kl, key, kl, key);
        fputs("+OK\r\n", fwant);
    }
    char last[32];
    int last_len = snprintf(last, sizeof last, "hc:%d", HALF_CLOSE_SETS - 1);
    fprintf(fin, "MGET a %s\r\n", last);
    fprintf(fwant, "*2\r\n$1\r\n1\r\n$%d\r\n%s\r\n", last_len, last);
    char *big = malloc(HALF_CLOSE_BIG_BYTES);
    memset(big, 'b', HALF_CLOSE_BIG_BYTES);
    fprintf(fin, "*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$%d\r\n", HALF_CLOSE_BIG_BYTES);
    fwrite(big, 1, HALF_CLOSE_BIG_BYTES, fin);
    fputs("\r\n", fin);
    fputs("+OK\r\n", fwant);
    for (int i = 0; i < HALF_CLOSE_BIG_GETS; i++) {
        fputs("GET big\r\n", fin);
        fprintf(fwant, "$%d\r\n", HALF_CLOSE_BIG_BYTES);
        fwrite(big, 1, HALF_CLOSE_BIG_BYTES, fwant);
        fputs("\r\n", fwant);
    }
    fputs("GET a", fin); /* the last request is incomplete */
    free(big);
    fclose(fin);
    fclose(fwant);
    int fd = raw_connect(p);
    ck_assert_int_eq(write(fd, in, in_len), (ssize_t)in_len);
    ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
    char *got = malloc(HALF_CLOSE_READ_MAX);
    size_t got_len = 0;
    ssize_t n = 1;
    while (got_len < HALF_CLOSE_READ_MAX &&
           (n = read(fd, got + got_len, HALF_CLOSE_READ_MAX - got_len)) > 0)
        got_len += (size_t)n;
    ck_assert_msg(n == 0, "no close after the replies (read: %zd)", n);
    ck_assert_uint_eq(got_len, want_len);
    ck_assert(memcmp(got, want, want_len) == 0);
    close(fd);
    free(in);
    free(want);
    free(got);
    proc_free(p);
}
END_TEST

START_TEST(flushall_survives_restart)
{
    proc_t *p = start(NULL);
    redisContext *c = connect_to(p);
    write_keys(c, 10);
    expect_ok(c, "FLUSHALL");
    expect_ok(c, "SET after v");
    redisFree(c);
    ck_assert_int_eq(proc_stop(p, SIGKILL, PROC_STOP_TIMEOUT_MS), -1);
    ck_assert(proc_restart(p) == 0);
    c = connect_to(p);
    ck_assert_int_eq(dbsize(c), 1);
    expect_str(c, "v", "GET after");
    redisFree(c);
    proc_free(p);
}
END_TEST

/* dynis-server FILE --option value: the file's settings apply, and the
 * command line overrides them, as with redis-server. */
START_TEST(config_file_and_overrides)
{
    char dir[PROC_PATH_MAX], conf[PROC_PATH_MAX + 16];
    ck_assert_int_eq(procs_temp_dir(dir, sizeof dir), 0);
    snprintf(conf, sizeof conf, "%s/dynis.conf", dir);
    FILE *f = fopen(conf, "w");
    ck_assert_ptr_nonnull(f);
    fputs("# written by test_lifecycle\nport 1\nmaxclients 77\n"
          "appendfsync always\nproto-max-bulk-len 2mb\n", f);
    fclose(f);
    static const char *const opts[] = {"--appendfsync", "no", NULL};
    proc_t *p = proc_start_conf(conf, opts);
    ck_assert_msg(p != NULL, "dynis-server did not start with %s", conf);
    redisContext *c = connect_to(p);
    const char *want[][2] = {{"maxclients", "77"}, {"appendfsync", "no"},
                             {"proto-max-bulk-len", "2097152"}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        redisReply *r = expect_reply(c, "CONFIG GET %s", want[i][0]);
        ck_assert_msg(r->type == REDIS_REPLY_ARRAY && r->elements == 2, "CONFIG GET %s", want[i][0]);
        ck_assert_str_eq(r->element[1]->str, want[i][1]);
        freeReplyObject(r);
    }
    redisFree(c);
    proc_free(p);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("lifecycle");
    TCase *tc = tcase_create("lifecycle");
    tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
    tcase_set_timeout(tc, TEST_TIMEOUT_S);
    tcase_add_test(tc, expired_key_disappears_on_access);
    tcase_add_test(tc, active_expiry_without_access);
    tcase_add_test(tc, kill_9_loses_no_acknowledged_write);
    tcase_add_test(tc, sigterm_exits_cleanly);
    tcase_add_test(tc, shutdown_exits_cleanly);
    tcase_add_test(tc, flushall_survives_restart);
    tcase_add_test(tc, half_close_gets_every_reply);
    tcase_add_test(tc, config_file_and_overrides);
    suite_add_tcase(s, tc);
    return s;
}
