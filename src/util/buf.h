/* buf.h - growable byte buffers and bounds-checked readers.
 *
 * buf_t is the one way dynis builds bytes: replies, bus messages, stored
 * values and keys are appended to a buf_t. cursor_t is its reading half: every
 * decoder (stored values, bus messages, contexts) reads through a cursor, which
 * never reads past its end and turns any short or malformed input into a
 * sticky error instead of undefined behaviour.
 *
 * Integers are encoded as LEB128 varints (unsigned) or fixed big-endian. */
#ifndef DYNIS_UTIL_BUF_H
#define DYNIS_UTIL_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct buf {
    char *data; /* owned; NULL until the first append */
    size_t len;
    size_t cap;
} buf_t;

#define BUF_INIT {NULL, 0, 0}

void buf_init(buf_t *b);
/* Frees the bytes and leaves b empty and reusable. */
void buf_free(buf_t *b);
/* Keeps the allocation, forgets the contents. */
static inline void buf_clear(buf_t *b) { b->len = 0; }
/* Makes room for at least extra more bytes. */
void buf_reserve(buf_t *b, size_t extra);
void buf_append(buf_t *b, const void *p, size_t len);
void buf_append_str(buf_t *b, const char *s);
void buf_append_byte(buf_t *b, uint8_t byte);
/* printf-style append. */
void buf_printf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drops the first n bytes (n <= len). */
void buf_consume(buf_t *b, size_t n);
/* Hands the bytes to the caller (who frees them) and leaves b empty. */
char *buf_release(buf_t *b, size_t *len_out);

void buf_put_u16be(buf_t *b, uint16_t v);
void buf_put_u32be(buf_t *b, uint32_t v);
void buf_put_u64be(buf_t *b, uint64_t v);
void buf_put_varint(buf_t *b, uint64_t v);
/* A varint length followed by the bytes. */
void buf_put_bytes(buf_t *b, const void *p, size_t len);

typedef struct cursor {
    const uint8_t *pos;
    const uint8_t *end;
    bool error; /* sticky: set by the first read that did not fit */
} cursor_t;

void cursor_init(cursor_t *c, const void *p, size_t len);
static inline size_t cursor_left(const cursor_t *c) { return (size_t)(c->end - c->pos); }
/* Each reader returns false (and sets c->error) when the input is short or
 * malformed; the output is then zero. */
bool cursor_u8(cursor_t *c, uint8_t *v);
bool cursor_u16be(cursor_t *c, uint16_t *v);
bool cursor_u32be(cursor_t *c, uint32_t *v);
bool cursor_u64be(cursor_t *c, uint64_t *v);
bool cursor_varint(cursor_t *c, uint64_t *v);
/* Borrows len bytes from the input (no copy). */
bool cursor_raw(cursor_t *c, size_t len, const uint8_t **p);
/* Reads a buf_put_bytes field; *p borrows from the input. max bounds *len. */
bool cursor_bytes(cursor_t *c, size_t max, const uint8_t **p, size_t *len);

#endif
