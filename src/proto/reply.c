/* reply.c - RESP2 and RESP3 reply writing (see reply.h).
 *
 * Every reply is a type byte, a decimal or a text, and CRLF; a bulk adds its
 * bytes and another CRLF. Headers are formatted by hand into a small stack
 * buffer and appended with one buf_append, since they are on every reply's
 * path (printf would cost more than the rest of a GET). */
#include "proto/reply.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* A type byte, "-9223372036854775808" and CRLF fit. */
#define REPLY_HEADER_MAX 32
/* Longest error text kept by reply_errorf; longer ones are truncated. */
#define REPLY_ERROR_MAX 1024

/* Writes "<type><v>\r\n" for a signed decimal v. */
static void put_header(reply_t *r, char type, int64_t v)
{
    char tmp[REPLY_HEADER_MAX];
    char *end = tmp + sizeof tmp;
    char *p = end;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    *--p = '\n';
    *--p = '\r';
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        *--p = '-';
    *--p = type;
    buf_append(r->out, p, (size_t)(end - p));
}

static void put_line(reply_t *r, char type, const char *s, size_t len)
{
    buf_reserve(r->out, len + 3);
    r->out->data[r->out->len++] = type;
    memcpy(r->out->data + r->out->len, s, len);
    r->out->len += len;
    r->out->data[r->out->len++] = '\r';
    r->out->data[r->out->len++] = '\n';
}

void reply_ok(reply_t *r)
{
    buf_append(r->out, "+OK\r\n", 5);
}

void reply_simple(reply_t *r, const char *s)
{
    put_line(r, '+', s, strlen(s));
}

void reply_error(reply_t *r, const char *text)
{
    size_t len = strlen(text);
    size_t at = r->out->len + 1;
    put_line(r, '-', text, len);
    for (size_t i = 0; i < len; i++) {
        char c = r->out->data[at + i];
        if (c == '\r' || c == '\n')
            r->out->data[at + i] = ' ';
    }
}

void reply_errorf(reply_t *r, const char *fmt, ...)
{
    char text[REPLY_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    reply_error(r, text);
}

void reply_int(reply_t *r, int64_t v)
{
    put_header(r, ':', v);
}

void reply_bulk(reply_t *r, const void *p, size_t len)
{
    put_header(r, '$', (int64_t)len);
    buf_reserve(r->out, len + 2);
    if (len > 0)
        memcpy(r->out->data + r->out->len, p, len);
    r->out->len += len;
    r->out->data[r->out->len++] = '\r';
    r->out->data[r->out->len++] = '\n';
}

void reply_bulk_str(reply_t *r, const char *s)
{
    reply_bulk(r, s, strlen(s));
}

void reply_bulk_int(reply_t *r, int64_t v)
{
    char tmp[REPLY_HEADER_MAX];
    int n = snprintf(tmp, sizeof tmp, "%lld", (long long)v);
    reply_bulk(r, tmp, (size_t)n);
}

void reply_null(reply_t *r)
{
    if (r->resp == 3)
        buf_append(r->out, "_\r\n", 3);
    else
        buf_append(r->out, "$-1\r\n", 5);
}

void reply_null_array(reply_t *r)
{
    if (r->resp == 3)
        buf_append(r->out, "_\r\n", 3);
    else
        buf_append(r->out, "*-1\r\n", 5);
}

void reply_array(reply_t *r, size_t n)
{
    put_header(r, '*', (int64_t)n);
}

void reply_map(reply_t *r, size_t n)
{
    if (r->resp == 3)
        put_header(r, '%', (int64_t)n);
    else
        put_header(r, '*', (int64_t)(2 * n));
}

void reply_set(reply_t *r, size_t n)
{
    put_header(r, r->resp == 3 ? '~' : '*', (int64_t)n);
}

/* As Redis: "inf", "-inf" and "nan" spelled out, otherwise %.17g. */
void reply_double(reply_t *r, double v)
{
    char tmp[REPLY_HEADER_MAX];
    int n;
    if (isinf(v))
        n = snprintf(tmp, sizeof tmp, "%s", v > 0 ? "inf" : "-inf");
    else if (isnan(v))
        n = snprintf(tmp, sizeof tmp, "nan");
    else
        n = snprintf(tmp, sizeof tmp, "%.17g", v);
    if (r->resp == 3)
        put_line(r, ',', tmp, (size_t)n);
    else
        reply_bulk(r, tmp, (size_t)n);
}

void reply_bool(reply_t *r, int v)
{
    if (r->resp == 3)
        buf_append(r->out, v ? "#t\r\n" : "#f\r\n", 4);
    else
        buf_append(r->out, v ? ":1\r\n" : ":0\r\n", 4);
}

void reply_verbatim(reply_t *r, const char *fmt, const void *p, size_t len)
{
    if (r->resp != 3) {
        reply_bulk(r, p, len);
        return;
    }
    put_header(r, '=', (int64_t)(len + 4));
    buf_append(r->out, fmt, 3);
    buf_append(r->out, ":", 1);
    buf_append(r->out, p, len);
    buf_append(r->out, "\r\n", 2);
}
