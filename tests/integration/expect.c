/* expect.c - the reply assertions of expect.h over blocking hiredis
 * connections. */
#include "expect.h"

#include <check.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

#define CLOSE_WAIT_S 5

static redisReply *vcommand(redisContext *c, const char *fmt, va_list ap)
{
    ck_assert_msg(c != NULL, "no connection for '%s'", fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    ck_assert_msg(r != NULL, "'%s': connection error: %s", fmt, c->errstr);
    return r;
}

redisReply *expect_reply(redisContext *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = vcommand(c, fmt, ap);
    va_end(ap);
    return r;
}

static void check_status(redisReply *r, const char *want, const char *fmt)
{
    ck_assert_msg(r->type == REDIS_REPLY_STATUS && strcmp(r->str, want) == 0,
                  "'%s': expected +%s, got type %d '%s'", fmt, want, r->type,
                  r->str ? r->str : "");
    freeReplyObject(r);
}

void expect_ok(redisContext *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = vcommand(c, fmt, ap);
    va_end(ap);
    check_status(r, "OK", fmt);
}

void expect_status(redisContext *c, const char *want, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = vcommand(c, fmt, ap);
    va_end(ap);
    check_status(r, want, fmt);
}

void expect_int(redisContext *c, long long want, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = vcommand(c, fmt, ap);
    va_end(ap);
    ck_assert_msg(r->type == REDIS_REPLY_INTEGER && r->integer == want,
                  "'%s': expected :%lld, got type %d %lld '%s'", fmt, want, r->type,
                  r->integer, r->str ? r->str : "");
    freeReplyObject(r);
}

static void check_bytes(redisReply *r, const void *want, size_t len, const char *fmt)
{
    ck_assert_msg(r->type == REDIS_REPLY_STRING, "'%s': expected a bulk string, got type %d '%s'",
                  fmt, r->type, r->str ? r->str : "");
    ck_assert_msg(r->len == len && memcmp(r->str, want, len) == 0,
                  "'%s': bulk of %zu bytes differs from the %zu expected", fmt, r->len, len);
    freeReplyObject(r);
}

void expect_str(redisContext *c, const char *want, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = vcommand(c, fmt, ap);
    va_end(ap);
    check_bytes(r, want, strlen(want), fmt);
}

void expect_bytes(redisContext *c, const void *want, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = vcommand(c, fmt, ap);
    va_end(ap);
    check_bytes(r, want, len, fmt);
}

void expect_nil(redisContext *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = vcommand(c, fmt, ap);
    va_end(ap);
    ck_assert_msg(r->type == REDIS_REPLY_NIL, "'%s': expected nil, got type %d '%s'", fmt,
                  r->type, r->str ? r->str : "");
    freeReplyObject(r);
}

static void check_error(redisReply *r, const char *prefix, const char *what)
{
    ck_assert_msg(r->type == REDIS_REPLY_ERROR && strncmp(r->str, prefix, strlen(prefix)) == 0,
                  "'%s': expected -%s..., got type %d '%s'", what, prefix, r->type,
                  r->str ? r->str : "");
    freeReplyObject(r);
}

void expect_error(redisContext *c, const char *prefix, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = vcommand(c, fmt, ap);
    va_end(ap);
    check_error(r, prefix, fmt);
}

void expect_error_then_close(redisContext *c, const char *prefix)
{
    void *reply = NULL;
    ck_assert_msg(redisGetReply(c, &reply) == REDIS_OK && reply != NULL,
                  "expected -%s..., the connection failed: %s", prefix, c->errstr);
    check_error(reply, prefix, "raw bytes");
    reply = NULL;
    struct timeval tv = {CLOSE_WAIT_S, 0};
    redisSetTimeout(c, tv);
    int rc = redisGetReply(c, &reply);
    if (reply != NULL)
        freeReplyObject(reply);
    bool closed = c->err == REDIS_ERR_EOF ||
                  (c->err == REDIS_ERR_IO && strstr(c->errstr, "reset") != NULL);
    ck_assert_msg(rc == REDIS_ERR && closed,
                  "the server kept the connection open after -%s (err %d: %s)", prefix, c->err,
                  c->errstr);
}
