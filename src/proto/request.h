/* request.h - the RESP request parser: bytes in, argument vectors out.
 *
 * A pure state machine in the manner of hiredis's read.c, but for requests
 * as Redis's server reads them (networking.c: processMultibulkBuffer and
 * processInlineBuffer): multibulk requests ("*N\r\n$len\r\n...") and inline
 * commands (space separated words with sdssplitargs's "..." and '...'
 * quoting and \xHH escapes). No sockets, no replies: a protocol error comes
 * back as Redis's text and the caller answers "-ERR <text>" and closes.
 *
 * The parser owns the connection's input buffer. The caller either reads
 * straight into it (request_parser_space + request_parser_commit, no copy) or
 * copies bytes in (request_parser_feed). Any split of the bytes gives the same
 * requests. request_parser_next then hands out one complete request at a
 * time; its argv points into the input buffer (each argument is followed by a
 * NUL byte) and the arrays are reused, so a request costs no allocation once
 * the buffers have grown. The pointers stay valid until the next call of any
 * request_parser_* function on the same parser.
 *
 * Usage, per readable event:
 *     size_t avail;
 *     char *dst = request_parser_space(p, 16384, &avail);
 *     ssize_t n = read(fd, dst, avail);          // n > 0
 *     request_parser_commit(p, (size_t)n);
 *     request_t req;
 *     int st;
 *     while ((st = request_parser_next(p, &limits, &req)) == REQUEST_READY)
 *         run(req.argc, req.argv, req.argvlen);
 *     if (st == REQUEST_ERROR) reply "-ERR " + request_parser_error(p), close;
 *     if (request_parser_pending(p) > client_query_buffer_limit) close;
 */
#ifndef DYNIS_PROTO_REQUEST_H
#define DYNIS_PROTO_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

/* Redis's defaults: proto-max-bulk-len, the multibulk count bound and
 * PROTO_INLINE_MAX_SIZE (which also bounds "*N" and "$len" lines). */
#define REQUEST_BULK_LEN_MAX_DEFAULT ((size_t)512 * 1024 * 1024)
#define REQUEST_MULTIBULK_COUNT_MAX_DEFAULT ((size_t)1024 * 1024)
#define REQUEST_INLINE_LEN_MAX_DEFAULT ((size_t)64 * 1024)
/* What Redis 7.0 allows a client that must still AUTH (see unauthenticated). */
#define REQUEST_UNAUTH_MULTIBULK_COUNT_MAX 10
#define REQUEST_UNAUTH_BULK_LEN_MAX 16384
/* request_parser_space's default read size. */
#define REQUEST_READ_CHUNK 16384

typedef struct request_limits {
    size_t bulk_len_max;        /* proto-max-bulk-len */
    size_t multibulk_count_max; /* "*N" with N above this is invalid */
    size_t inline_len_max;      /* longest inline line or "*N"/"$len" line */
    /* True while requirepass is set and the client has not authenticated:
     * Redis then refuses "*N" above 10 and "$len" above 16384 with
     * "Protocol error: unauthenticated multibulk length" / "... bulk length". */
    bool unauthenticated;
} request_limits_t;

#define REQUEST_LIMITS_DEFAULT                                                  \
    {REQUEST_BULK_LEN_MAX_DEFAULT, REQUEST_MULTIBULK_COUNT_MAX_DEFAULT,          \
     REQUEST_INLINE_LEN_MAX_DEFAULT, false}

typedef enum request_status {
    REQUEST_NEED_MORE = 0, /* no complete request buffered: read more bytes */
    REQUEST_READY = 1,     /* *req holds one request (argc >= 1) */
    REQUEST_ERROR = -1,    /* protocol error; sticky; see request_parser_error */
} request_status_t;

/* One request. argv[i] has argvlen[i] bytes followed by a NUL; everything is
 * borrowed from the parser (valid until its next call). The types match
 * cmd_ctx_t's argc/argv/argvlen. */
typedef struct request {
    int argc;
    const char *const *argv;
    const size_t *argvlen;
} request_t;

typedef struct request_parser request_parser_t;

/* A new parser with an empty buffer; the caller owns it. */
request_parser_t *request_parser_new(void);
void request_parser_free(request_parser_t *p);

/* Returns where at least want bytes (REQUEST_READ_CHUNK when want is 0) can
 * be written, and in *avail how many may be; follow with
 * request_parser_commit. When a long bulk argument is pending the space also
 * covers the rest of it (up to 8 MiB), so it arrives without reallocation. */
char *request_parser_space(request_parser_t *p, size_t want, size_t *avail);
/* Adds n (<= *avail) bytes written at request_parser_space's pointer. */
void request_parser_commit(request_parser_t *p, size_t n);
/* Copies len bytes of data into the buffer (space + memcpy + commit). */
void request_parser_feed(request_parser_t *p, const void *data, size_t len);

/* Parses the next request. REQUEST_READY: *req is set and its bytes count as
 * consumed. REQUEST_NEED_MORE: everything buffered is a prefix of a request
 * (empty inline lines, "*0" and "*-1" are skipped as Redis does).
 * REQUEST_ERROR: the bytes are not RESP; the parser stays in error. limits is
 * borrowed for the call, so CONFIG SET takes effect on the next request. */
request_status_t request_parser_next(request_parser_t *p, const request_limits_t *limits,
                                     request_t *req);
/* The protocol error's text, e.g. "Protocol error: invalid bulk length"
 * (send it as "-ERR <text>\r\n"), or NULL when not in error. */
const char *request_parser_error(const request_parser_t *p);
/* Bytes buffered and not yet handed out: the request being read plus any
 * pipelined after it (what client-query-buffer-limit bounds). */
size_t request_parser_pending(const request_parser_t *p);

#endif
