/* buf.c - growable byte buffers and bounds-checked readers (see buf.h). */
#include "util/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

void buf_init(buf_t *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void buf_free(buf_t *b)
{
    if (b->data != NULL) /* free(NULL) still costs a call into the allocator */
        free(b->data);
    buf_init(b);
}

void buf_reserve(buf_t *b, size_t extra)
{
    if (b->cap - b->len >= extra)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap - b->len < extra)
        cap *= 2;
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
}

void buf_append(buf_t *b, const void *p, size_t len)
{
    if (len == 0)
        return;
    buf_reserve(b, len);
    memcpy(b->data + b->len, p, len);
    b->len += len;
}

void buf_append_str(buf_t *b, const char *s)
{
    buf_append(b, s, strlen(s));
}

void buf_append_byte(buf_t *b, uint8_t byte)
{
    buf_reserve(b, 1);
    b->data[b->len++] = (char)byte;
}

void buf_printf(buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (need <= 0)
        return;
    buf_reserve(b, (size_t)need + 1);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)need + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)need;
}

void buf_consume(buf_t *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

char *buf_release(buf_t *b, size_t *len_out)
{
    char *p = b->data;
    if (len_out)
        *len_out = b->len;
    buf_init(b);
    return p;
}

void buf_put_u16be(buf_t *b, uint16_t v)
{
    uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    buf_append(b, x, 2);
}

void buf_put_u32be(buf_t *b, uint32_t v)
{
    buf_put_u16be(b, (uint16_t)(v >> 16));
    buf_put_u16be(b, (uint16_t)v);
}

void buf_put_u64be(buf_t *b, uint64_t v)
{
    buf_put_u32be(b, (uint32_t)(v >> 32));
    buf_put_u32be(b, (uint32_t)v);
}

void buf_put_varint(buf_t *b, uint64_t v)
{
    buf_reserve(b, 10); /* the longest varint of 64 bits */
    uint8_t *x = (uint8_t *)b->data + b->len;
    size_t n = 0;
    while (v >= 0x80) {
        x[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    x[n++] = (uint8_t)v;
    b->len += n;
}

void buf_put_bytes(buf_t *b, const void *p, size_t len)
{
    buf_put_varint(b, len);
    buf_append(b, p, len);
}

void cursor_init(cursor_t *c, const void *p, size_t len)
{
    c->pos = p;
    c->end = c->pos + len;
    c->error = false;
}

static bool cursor_fail(cursor_t *c)
{
    c->error = true;
    c->pos = c->end;
    return false;
}

bool cursor_raw(cursor_t *c, size_t len, const uint8_t **p)
{
    *p = NULL;
    if (c->error || cursor_left(c) < len)
        return cursor_fail(c);
    *p = c->pos;
    c->pos += len;
    return true;
}

static bool cursor_be(cursor_t *c, size_t width, uint64_t *v)
{
    const uint8_t *p;
    *v = 0;
    if (!cursor_raw(c, width, &p))
        return false;
    for (size_t i = 0; i < width; i++)
        *v = (*v << 8) | p[i];
    return true;
}

bool cursor_u8(cursor_t *c, uint8_t *v)
{
    uint64_t x;
    bool ok = cursor_be(c, 1, &x);
    *v = (uint8_t)x;
    return ok;
}

bool cursor_u16be(cursor_t *c, uint16_t *v)
{
    uint64_t x;
    bool ok = cursor_be(c, 2, &x);
    *v = (uint16_t)x;
    return ok;
}

bool cursor_u32be(cursor_t *c, uint32_t *v)
{
    uint64_t x;
    bool ok = cursor_be(c, 4, &x);
    *v = (uint32_t)x;
    return ok;
}

bool cursor_u64be(cursor_t *c, uint64_t *v)
{
    return cursor_be(c, 8, v);
}

/* The longest varint of a uint64_t. */
#define CURSOR_VARINT_BYTES_MAX 10

bool cursor_varint(cursor_t *c, uint64_t *v)
{
    *v = 0;
    if (c->error)
        return false;
    uint64_t x = 0;
    const uint8_t *p = c->pos;
    if (p < c->end && *p < 0x80) { /* one byte: most lengths, counters, flags */
        c->pos = p + 1;
        *v = *p;
        return true;
    }
    if (c->end - p >= CURSOR_VARINT_BYTES_MAX) { /* the longest fits: no bound checks */
        for (unsigned i = 0; i < CURSOR_VARINT_BYTES_MAX; i++) {
            uint8_t byte = p[i];
            if (i == CURSOR_VARINT_BYTES_MAX - 1 && byte > 1)
                break; /* overflows 64 bits */
            x |= (uint64_t)(byte & 0x7f) << (7 * i);
            if (!(byte & 0x80)) {
                c->pos = p + i + 1;
                *v = x;
                return true;
            }
        }
        return cursor_fail(c);
    }
    for (unsigned shift = 0; shift < 64 && p < c->end; shift += 7) {
        uint8_t byte = *p++;
        if (shift == 63 && byte > 1)
            break; /* overflows 64 bits */
        x |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            c->pos = p;
            *v = x;
            return true;
        }
    }
    return cursor_fail(c);
}

bool cursor_bytes(cursor_t *c, size_t max, const uint8_t **p, size_t *len)
{
    uint64_t n;
    *p = NULL;
    *len = 0;
    if (!cursor_varint(c, &n))
        return false;
    if (n > max)
        return cursor_fail(c);
    if (!cursor_raw(c, (size_t)n, p))
        return false;
    *len = (size_t)n;
    return true;
}
