/* reply.h - writing RESP2 and RESP3 replies into a byte buffer.
 *
 * A reply_t binds an output buffer to the protocol version the client chose
 * with HELLO (2 by default). Handlers write through it and never format RESP
 * themselves, so a reply reads the same in RESP2 and RESP3 code paths:
 * reply_null is "$-1" in RESP2 and "_" in RESP3, reply_map is a flat array of
 * 2n elements in RESP2 and a "%" map in RESP3, and so on.
 *
 * The writer holds no state but the two fields below; the caller owns out. */
#ifndef DYNIS_PROTO_REPLY_H
#define DYNIS_PROTO_REPLY_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

typedef struct reply {
    buf_t *out; /* borrowed */
    int resp;   /* 2 or 3 */
} reply_t;

void reply_ok(reply_t *r); /* +OK */
void reply_simple(reply_t *r, const char *s); /* +s (s has no CR or LF) */
/* -text: text starts with its error code, as Redis's do ("ERR ...",
 * "WRONGTYPE ..."); CR and LF in it are replaced by spaces. */
void reply_error(reply_t *r, const char *text);
void reply_errorf(reply_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void reply_int(reply_t *r, int64_t v);
void reply_bulk(reply_t *r, const void *p, size_t len);
void reply_bulk_str(reply_t *r, const char *s);
void reply_bulk_int(reply_t *r, int64_t v); /* an integer as a bulk string */
void reply_null(reply_t *r);                /* $-1 (RESP2) or _ (RESP3) */
void reply_null_array(reply_t *r);      /* *-1 (RESP2) or _ (RESP3) */
void reply_array(reply_t *r, size_t n);     /* header; the n elements follow */
void reply_map(reply_t *r, size_t n);       /* n key/value pairs follow */
void reply_set(reply_t *r, size_t n);       /* ~n in RESP3, *n in RESP2 */
void reply_double(reply_t *r, double v);    /* ,v in RESP3, bulk in RESP2 */
void reply_bool(reply_t *r, int v);         /* #t/#f in RESP3, :1/:0 in RESP2 */
/* =len\r\nfmt:text in RESP3 (fmt is 3 bytes, e.g. "txt"), a bulk in RESP2. */
void reply_verbatim(reply_t *r, const char *fmt, const void *p, size_t len);

#endif
