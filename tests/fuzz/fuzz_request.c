/* fuzz_request.c - libFuzzer harness for the RESP request parser.
 *
 * The input's first byte picks the limits (Redis's defaults, small ones that
 * the input can reach, or the unauthenticated ones) and seeds the splits;
 * the rest is the byte stream. The harness parses the stream whole, then in
 * random splits (alternating feed and space+commit), and aborts unless both
 * give the same requests, the same error text and the same pending count.
 * It also checks every request's invariants: argc >= 1, each argument
 * NUL-terminated, pending never above the bytes fed. Built by `make fuzz`
 * (tests/fuzz/local.mk) with clang -fsanitize=fuzzer,address,undefined. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/request.h"
#include "util/buf.h"
#include "util/pcg.h"

#define FUZZ_SMALL_BULK_MAX 64
#define FUZZ_SMALL_COUNT_MAX 8
#define FUZZ_SMALL_INLINE_MAX 32
#define FUZZ_SPLIT_ROUNDS 3
#define FUZZ_CHUNK_MAX 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_request: invariant failed: %s\n", what);
        abort();
    }
}

/* Appends the ready requests to out; returns true once in error. */
static int drain(request_parser_t *p, const request_limits_t *lim, size_t fed, buf_t *out)
{
    request_t req;
    request_status_t st;
    while ((st = request_parser_next(p, lim, &req)) == REQUEST_READY) {
        check(req.argc >= 1, "argc >= 1");
        buf_printf(out, "%d", req.argc);
        for (int i = 0; i < req.argc; i++) {
            check(req.argv[i][req.argvlen[i]] == '\0', "argument NUL-terminated");
            buf_printf(out, "[%zu:", req.argvlen[i]);
            buf_append(out, req.argv[i], req.argvlen[i]);
            buf_append_byte(out, ']');
        }
    }
    check(request_parser_pending(p) <= fed, "pending <= fed");
    if (st == REQUEST_ERROR) {
        check(request_parser_error(p) != NULL, "error text");
        buf_printf(out, "error(%s)", request_parser_error(p));
        return 1;
    }
    check(request_parser_error(p) == NULL, "no error text");
    return 0;
}

/* Parses data in chunks of random sizes (whole when g is NULL). */
static void parse(const uint8_t *data, size_t size, pcg32_t *g, const request_limits_t *lim,
                  buf_t *out)
{
    request_parser_t *p = request_parser_new();
    size_t at = 0;
    int failed = 0;
    while (at < size && !failed) {
        size_t n = g ? 1 + pcg32_bounded(g, FUZZ_CHUNK_MAX) : size - at;
        if (n > size - at)
            n = size - at;
        if (g && pcg32_bounded(g, 2)) {
            size_t avail;
            char *dst = request_parser_space(p, n, &avail);
            check(avail >= n, "space avail");
            memcpy(dst, data + at, n);
            request_parser_commit(p, n);
        } else {
            request_parser_feed(p, data + at, n);
        }
        at += n;
        failed = drain(p, lim, at, out);
    }
    if (!failed)
        buf_printf(out, "more(%zu)", request_parser_pending(p));
    request_parser_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    request_limits_t lim = REQUEST_LIMITS_DEFAULT;
    uint8_t mode = data[0];
    if (mode & 1) {
        lim.bulk_len_max = FUZZ_SMALL_BULK_MAX;
        lim.multibulk_count_max = FUZZ_SMALL_COUNT_MAX;
        lim.inline_len_max = FUZZ_SMALL_INLINE_MAX;
    }
    lim.unauthenticated = (mode & 2) != 0;
    buf_t whole = BUF_INIT, split = BUF_INIT;
    parse(data + 1, size - 1, NULL, &lim, &whole);
    for (uint64_t round = 0; round < FUZZ_SPLIT_ROUNDS; round++) {
        pcg32_t g;
        pcg32_seed(&g, mode, round);
        buf_clear(&split);
        parse(data + 1, size - 1, &g, &lim, &split);
        check(split.len == whole.len && memcmp(split.data, whole.data, whole.len) == 0,
              "split parse equals whole parse");
    }
    buf_free(&whole);
    buf_free(&split);
    return 0;
}
