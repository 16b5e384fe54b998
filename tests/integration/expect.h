/* expect.h - Check assertions on the replies of a real server, for the
 * integration tests: each helper sends one command (hiredis format: %s for a
 * C string, %b for pointer + length) and asserts the reply's type and value,
 * naming the command in the failure message. */
#ifndef DYNIS_TESTS_EXPECT_H
#define DYNIS_TESTS_EXPECT_H

#include <hiredis/hiredis.h>

/* Sends the command and returns its reply (owned: freeReplyObject); fails
 * the test when the connection broke. */
redisReply *expect_reply(redisContext *c, const char *fmt, ...);
/* The reply must be the status "OK". */
void expect_ok(redisContext *c, const char *fmt, ...);
/* The reply must be a status reply equal to want ("PONG"). */
void expect_status(redisContext *c, const char *want, const char *fmt, ...);
void expect_int(redisContext *c, long long want, const char *fmt, ...);
/* The reply must be a bulk string equal to the C string want. */
void expect_str(redisContext *c, const char *want, const char *fmt, ...);
/* The reply must be a bulk string of exactly len bytes equal to want. */
void expect_bytes(redisContext *c, const void *want, size_t len, const char *fmt, ...);
void expect_nil(redisContext *c, const char *fmt, ...);
/* The reply must be an error whose text starts with prefix. */
void expect_error(redisContext *c, const char *prefix, const char *fmt, ...);
/* Reads one more reply (after redisAppendFormattedCommand) and asserts it is
 * an error starting with prefix; then asserts the server closes the
 * connection. */
void expect_error_then_close(redisContext *c, const char *prefix);

#endif
