/* request.c - the RESP request parser (see request.h).
 *
 * The parser keeps the connection's bytes in one buffer: [start, pos) is the
 * part of the current request already parsed, [pos, len) is not parsed yet.
 * A multibulk request is read header by header and its state (arguments
 * left, the pending bulk's length, the arguments' offsets from start) is kept
 * between calls, so a long request arriving in many pieces is parsed once.
 * Arguments are recorded as offsets, because the buffer may move when it
 * grows; they become pointers only when the request is handed out.
 *
 * Behaviour follows Redis 7.0's processMultibulkBuffer/processInlineBuffer,
 * with two deliberate differences that make the result independent of how the
 * bytes are split: a "*N", "$len" or inline line longer than the limit is
 * refused even when its terminator has already arrived, and a NUL byte does
 * not hide the line's end (Redis searches with strchr). */
#include "proto/request.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/splitargs.h"
#include "util/strconv.h"

/* The argument arrays start at this many slots (Redis preallocates
 * min(N, 1024) for "*N"). */
#define REQUEST_ARGS_PREALLOC_MAX 1024
/* An idle buffer larger than this is given back (as Redis's clientsCron
 * shrinks idle query buffers). */
#define REQUEST_IDLE_BUF_MAX ((size_t)1024 * 1024)
#define REQUEST_ERROR_MAX 64
/* request_parser_space reserves the rest of a pending bulk ahead, up to this
 * much (a larger bulk grows the buffer by doubling as it arrives), so a
 * client cannot make us allocate proto-max-bulk-len with one header. */
#define REQUEST_BULK_RESERVE_MAX ((size_t)8 * 1024 * 1024)

enum step { STEP_MORE, STEP_DONE, STEP_ERROR };

struct request_parser {
    char *buf; /* owned input buffer */
    size_t len;
    size_t cap;
    size_t start; /* first byte of the request being read */
    size_t pos;   /* first byte not parsed yet */
    size_t mb_left;     /* bulks still to read; 0 between requests */
    long long bulk_len; /* the next bulk's length, -1 while its header is unread */
    int argc;
    size_t args_cap;
    size_t *arg_off;    /* owned; argument offsets from start */
    size_t *arg_len;    /* owned; handed out as argvlen */
    const char **argv;  /* owned array; handed out as argv */
    bool failed;
    char error[REQUEST_ERROR_MAX];
};

request_parser_t *request_parser_new(void)
{
    request_parser_t *p = xcalloc(1, sizeof *p);
    p->bulk_len = -1;
    return p;
}

void request_parser_free(request_parser_t *p)
{
    if (p == NULL)
        return;
    free(p->buf);
    free(p->arg_off);
    free(p->arg_len);
    free(p->argv);
    free(p);
}

/* ------------------------------------------------------------------------
 * The buffer */

static void args_resize(request_parser_t *p, size_t cap)
{
    p->arg_off = xrealloc(p->arg_off, cap * sizeof *p->arg_off);
    p->arg_len = xrealloc(p->arg_len, cap * sizeof *p->arg_len);
    p->argv = xrealloc(p->argv, cap * sizeof *p->argv);
    p->args_cap = cap;
}

/* Gives back the memory of an idle parser that once held a huge request. */
static void shrink_if_idle(request_parser_t *p, size_t want)
{
    if (p->len != 0 || p->mb_left != 0)
        return;
    if (p->cap > REQUEST_IDLE_BUF_MAX && want <= REQUEST_IDLE_BUF_MAX) {
        p->buf = xrealloc(p->buf, want);
        p->cap = want;
    }
    if (p->args_cap > REQUEST_ARGS_PREALLOC_MAX)
        args_resize(p, REQUEST_ARGS_PREALLOC_MAX);
}

/* Makes room for want more bytes, first by dropping consumed bytes. */
static void make_room(request_parser_t *p, size_t want)
{
    if (p->start == p->len) {
        p->start = p->pos = p->len = 0;
        shrink_if_idle(p, want);
    }
    if (p->cap - p->len >= want)
        return;
    if (p->start > 0) {
        memmove(p->buf, p->buf + p->start, p->len - p->start);
        p->len -= p->start;
        p->pos -= p->start;
        p->start = 0;
        if (p->cap - p->len >= want)
            return;
    }
    size_t cap = p->cap * 2;
    if (cap < p->len + want)
        cap = p->len + want;
    p->buf = xrealloc(p->buf, cap);
    p->cap = cap;
}

char *request_parser_space(request_parser_t *p, size_t want, size_t *avail)
{
    if (want == 0)
        want = REQUEST_READ_CHUNK;
    if (p->mb_left > 0 && p->bulk_len >= 0) {
        size_t end = p->pos + (size_t)p->bulk_len + 2;
        size_t rest = end > p->len ? end - p->len : 0;
        if (rest > REQUEST_BULK_RESERVE_MAX)
            rest = REQUEST_BULK_RESERVE_MAX;
        if (rest > want)
            want = rest;
    }
    make_room(p, want);
    *avail = p->cap - p->len;
    return p->buf + p->len;
}

void request_parser_commit(request_parser_t *p, size_t n)
{
    p->len += n;
}

void request_parser_feed(request_parser_t *p, const void *data, size_t len)
{
    if (len == 0)
        return;
    make_room(p, len);
    memcpy(p->buf + p->len, data, len);
    p->len += len;
}

const char *request_parser_error(const request_parser_t *p)
{
    return p->failed ? p->error : NULL;
}

size_t request_parser_pending(const request_parser_t *p)
{
    return p->len - p->start;
}

/* ------------------------------------------------------------------------
 * Multibulk requests */

static enum step fail(request_parser_t *p, const char *text)
{
    snprintf(p->error, sizeof p->error, "Protocol error: %s", text);
    p->failed = true;
    return STEP_ERROR;
}

/* Finds the "\r?" ending the header line at pos: its length (without the
 * CR) in *line_len once the CR and one byte after it are buffered. Like
 * Redis, the byte after the CR is skipped unchecked. */
static enum step header_line(request_parser_t *p, size_t max, const char *too_big,
                             size_t *line_len)
{
    size_t avail = p->len - p->pos;
    size_t window = avail <= max ? avail : max + 1;
    const char *cr = memchr(p->buf + p->pos, '\r', window);
    if (cr == NULL)
        return avail > max ? fail(p, too_big) : STEP_MORE;
    *line_len = (size_t)(cr - (p->buf + p->pos));
    return *line_len + 2 <= avail ? STEP_DONE : STEP_MORE;
}

static void args_reserve(request_parser_t *p, size_t n)
{
    if (n > p->args_cap)
        args_resize(p, n);
}

static void args_push(request_parser_t *p, size_t off, size_t len)
{
    if ((size_t)p->argc == p->args_cap)
        args_resize(p, p->args_cap ? p->args_cap * 2 : 8);
    p->arg_off[p->argc] = off;
    p->arg_len[p->argc] = len;
    p->argc++;
}

/* Reads "*N\r\n". N <= 0 is a request of no arguments, which is skipped. */
static enum step read_count(request_parser_t *p, const request_limits_t *lim)
{
    size_t line_len;
    enum step st = header_line(p, lim->inline_len_max, "too big mbulk count string", &line_len);
    if (st != STEP_DONE)
        return st;
    long long n;
    if (!strconv_string2ll(p->buf + p->pos + 1, line_len - 1, &n) || n > INT_MAX ||
        (n > 0 && (unsigned long long)n > lim->multibulk_count_max))
        return fail(p, "invalid multibulk length");
    if (n > REQUEST_UNAUTH_MULTIBULK_COUNT_MAX && lim->unauthenticated)
        return fail(p, "unauthenticated multibulk length");
    p->pos += line_len + 2;
    if (n > 0) {
        p->mb_left = (size_t)n;
        p->bulk_len = -1;
        args_reserve(p, n < REQUEST_ARGS_PREALLOC_MAX ? (size_t)n : REQUEST_ARGS_PREALLOC_MAX);
    }
    return STEP_DONE;
}

/* Reads "$len\r\n". */
static enum step read_bulk_len(request_parser_t *p, const request_limits_t *lim)
{
    size_t line_len;
    enum step st = header_line(p, lim->inline_len_max, "too big bulk count string", &line_len);
    if (st != STEP_DONE)
        return st;
    char c = p->buf[p->pos];
    if (c != '$') {
        snprintf(p->error, sizeof p->error, "Protocol error: expected '$', got '%c'", c);
        p->failed = true;
        return STEP_ERROR;
    }
    long long n;
    if (!strconv_string2ll(p->buf + p->pos + 1, line_len - 1, &n) || n < 0 ||
        (unsigned long long)n > lim->bulk_len_max)
        return fail(p, "invalid bulk length");
    if (n > REQUEST_UNAUTH_BULK_LEN_MAX && lim->unauthenticated)
        return fail(p, "unauthenticated bulk length");
    p->pos += line_len + 2;
    p->bulk_len = n;
    return STEP_DONE;
}

/* Reads the bulks of a multibulk request until it is complete. */
static enum step read_bulks(request_parser_t *p, const request_limits_t *lim)
{
    while (p->mb_left > 0) {
        if (p->bulk_len < 0) {
            enum step st = read_bulk_len(p, lim);
            if (st != STEP_DONE)
                return st;
        }
        size_t n = (size_t)p->bulk_len;
        if (p->len - p->pos < n + 2)
            return STEP_MORE;
        /* Like Redis, the two bytes after the bulk are not checked. */
        p->buf[p->pos + n] = '\0';
        args_push(p, p->pos - p->start, n);
        p->pos += n + 2;
        p->bulk_len = -1;
        p->mb_left--;
    }
    return STEP_DONE;
}

/* ------------------------------------------------------------------------
 * Inline requests */

/* Splits the NUL-terminated line at line into arguments, in place. */
static enum step split_inline(request_parser_t *p, char *line)
{
    char *s = line, *word;
    size_t len;
    splitargs_status_t st;
    while ((st = splitargs_next(&s, &word, &len)) == SPLITARGS_WORD)
        args_push(p, (size_t)(word - (p->buf + p->start)), len);
    if (st == SPLITARGS_END)
        return STEP_DONE;
    p->argc = 0;
    return fail(p, "unbalanced quotes in request");
}

/* Reads one inline line ("\n" or "\r\n" ended); an empty one has no args. */
static enum step read_inline(request_parser_t *p, const request_limits_t *lim)
{
    size_t avail = p->len - p->pos;
    size_t max = lim->inline_len_max;
    size_t window = avail <= max ? avail : max + 1;
    char *line = p->buf + p->pos;
    char *nl = memchr(line, '\n', window);
    if (nl == NULL)
        return avail > max ? fail(p, "too big inline request") : STEP_MORE;
    size_t line_len = (size_t)(nl - line);
    if (line_len > 0 && line[line_len - 1] == '\r')
        line_len--;
    line[line_len] = '\0';
    p->pos += (size_t)(nl - line) + 1;
    return split_inline(p, line);
}

/* ------------------------------------------------------------------------
 * Requests */

static void hand_out(request_parser_t *p, request_t *req)
{
    for (int i = 0; i < p->argc; i++)
        p->argv[i] = p->buf + p->start + p->arg_off[i];
    req->argc = p->argc;
    req->argv = p->argv;
    req->argvlen = p->arg_len;
}

request_status_t request_parser_next(request_parser_t *p, const request_limits_t *limits,
                                     request_t *req)
{
    if (p->failed)
        return REQUEST_ERROR;
    for (;;) {
        enum step st = STEP_DONE;
        if (p->mb_left == 0) {
            if (p->pos == p->len)
                return REQUEST_NEED_MORE;
            p->start = p->pos;
            p->argc = 0;
            st = p->buf[p->pos] == '*' ? read_count(p, limits) : read_inline(p, limits);
        }
        if (st == STEP_DONE && p->mb_left > 0)
            st = read_bulks(p, limits);
        if (st == STEP_MORE)
            return REQUEST_NEED_MORE;
        if (st == STEP_ERROR)
            return REQUEST_ERROR;
        if (p->argc > 0) {
            hand_out(p, req);
            p->start = p->pos;
            return REQUEST_READY;
        }
        p->start = p->pos;
    }
}
