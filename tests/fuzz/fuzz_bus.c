/* fuzz_bus.c - fuzzes the incoming side of the bus: arbitrary bytes go to a
 * bus_session_t (hiredis's reader, frame checks, command dispatch, the
 * handshake), which must never crash, leak or read out of bounds, and must
 * deliver nothing before NODE.HELLO, nor before the secret is proved.
 *
 * Built two ways: with clang -fsanitize=fuzzer as a libFuzzer target
 * (make fuzz; tests/fuzz/run_fuzz_bus.sh), and with -DFUZZ_STANDALONE as
 * tests/fuzz/fuzz_bus_replay, a plain program for make check that runs
 * FUZZ_STANDALONE_RUNS inputs mutated from seed frames by a fixed-seed PCG
 * (one test: it passes unless it crashes).
 *
 * Input layout: byte 0 picks the secret (bit 0) and the frame limit (bits
 * 1-3); byte 1 the feed chunk size; the rest is the connection's bytes. */
#define _GNU_SOURCE /* memmem */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shell/bus_frame.h"

#define FUZZ_SELF_ID "0123456789abcdef0123456789abcdef01234567"
#define FUZZ_SECRET "fuzz-secret"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_on_message(void *arg, const char *from, const void *payload, size_t len)
{
    uint64_t *sum = arg;
    if (!bus_node_id_valid(from, strlen(from)))
        abort(); /* a message before a valid NODE.HELLO */
    const uint8_t *p = payload;
    for (size_t i = 0; i < len; i++)
        *sum += p[i];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint64_t sum = 0;
    bus_stats_t stats = {0};
    bus_session_config_t cfg = {
        .self_id = FUZZ_SELF_ID,
        .secret = (data[0] & 1) ? FUZZ_SECRET : NULL,
        .frame_bytes_max = (size_t)128 << ((data[0] >> 1) & 7),
        .on_message = fuzz_on_message,
        .arg = &sum,
        .stats = &stats,
    };
    static const uint8_t nonce[BUS_NONCE_LEN];
    size_t chunk = (size_t)data[1] + 1;
    bus_session_t *s = bus_session_new(&cfg, nonce);
    buf_t out = BUF_INIT;
    for (size_t pos = 2; pos < size; pos += chunk) {
        size_t n = size - pos < chunk ? size - pos : chunk;
        if (bus_session_feed(s, data + pos, n, &out) == BUS_SESSION_CLOSE)
            break;
    }
    /* No input proves an HMAC over our nonce by chance: with a secret,
     * messages pass only after AUTH with the plain secret. */
    if (cfg.secret != NULL && stats.messages_in > 0 &&
        memmem(data, size, FUZZ_SECRET, strlen(FUZZ_SECRET)) == NULL)
        abort();
    buf_free(&out);
    bus_session_free(s);
    return 0;
}

#ifdef FUZZ_STANDALONE
#include "util/pcg.h"

#define FUZZ_STANDALONE_RUNS 20000
#define FUZZ_INPUT_MAX 4096

static const char *const fuzz_seeds[] = {
    "*1\r\n$4\r\nPING\r\n",
    "*2\r\n$4\r\nAUTH\r\n$11\r\nfuzz-secret\r\n*1\r\n$4\r\nINFO\r\n",
    "*4\r\n$10\r\nNODE.HELLO\r\n$1\r\n1\r\n$40\r\naaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n"
    "$32\r\n00000000000000000000000000000000\r\n*2\r\n$3\r\nMSG\r\n$5\r\nhello\r\n",
    "*2\r\n$9\r\nNODE.AUTH\r\n$64\r\n"
    "0000000000000000000000000000000000000000000000000000000000000000\r\n",
    "*2\r\n$3\r\nMSG\r\n$3\r\nabc\r\n*1\r\n$4\r\nQUIT\r\n",
    "*3\r\n$4\r\nAUTH\r\n$7\r\ndefault\r\n$1\r\nx\r\n*2\r\n$4\r\nPING\r\n$2\r\nhi\r\n",
};

/* One input: a prefix of two control bytes, seeds glued together, then a
 * few random flips, insertions and a truncation. */
static size_t fuzz_make_input(pcg32_t *g, uint8_t *buf)
{
    size_t len = 0, nseeds = sizeof fuzz_seeds / sizeof fuzz_seeds[0];
    buf[len++] = (uint8_t)pcg32_next(g);
    buf[len++] = (uint8_t)pcg32_next(g);
    for (uint32_t k = pcg32_bounded(g, 4) + 1; k > 0; k--) {
        const char *seed = fuzz_seeds[pcg32_bounded(g, (uint32_t)nseeds)];
        size_t n = strlen(seed);
        if (len + n > FUZZ_INPUT_MAX)
            break;
        memcpy(buf + len, seed, n);
        len += n;
    }
    for (uint32_t k = pcg32_bounded(g, 8); k > 0; k--) {
        size_t at = 2 + pcg32_bounded(g, (uint32_t)(len - 2));
        if (pcg32_bounded(g, 2) == 0)
            buf[at] = (uint8_t)pcg32_next(g);
        else
            buf[at] = "*$\r\n-:+0123456789"[pcg32_bounded(g, 17)];
    }
    if (pcg32_bounded(g, 4) == 0)
        len = 2 + pcg32_bounded(g, (uint32_t)(len - 1));
    return len;
}

int main(void)
{
    pcg32_t g;
    pcg32_seed(&g, 0xb05, 1);
    static uint8_t buf[FUZZ_INPUT_MAX];
    for (int i = 0; i < FUZZ_STANDALONE_RUNS; i++)
        LLVMFuzzerTestOneInput(buf, fuzz_make_input(&g, buf));
    printf("1 passed, 0 failed\n"); /* a failure crashes before this line */
    return 0;
}
#endif
