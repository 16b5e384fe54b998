/* test_bus.c - Check suite for src/shell/bus.c and bus_frame.c: the frame
 * parser on its own, then two buses on one event base over loopback:
 * ordered delivery both ways, reconnection, the cluster secret, malformed
 * and oversized frames, the per-peer queue bound and the redis-cli path.
 * Every wait runs the loop in 10 ms slices, at most PUMP_ROUNDS_MAX times,
 * each after a bus_flush of every bus (as the server's round does). */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check_main.h"
#include "shell/bus.h"
#include "util/alloc.h"
#include "util/hex.h"

#define PUMP_ROUNDS_MAX 1000 /* 10 ms each */
#define EXCHANGE_MESSAGES 10000
#define EXCHANGE_PER_ROUND 500
#define TRACKED_MAX 8        /* buses alive at once in one test */
#define HELD_ROUNDS 20       /* loop slices a frame waits for bus_flush */

static const char *const ID_A = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char *const ID_B = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

/* What one bus's callbacks saw. */
typedef struct rx {
    const char *expect_from;
    uint64_t received;
    uint64_t wrong;      /* messages out of order, from the wrong node, or corrupt */
    int ups, downs;      /* on_peer_state reports */
    uint64_t probe_answers;
    int probe_failures;  /* on_probe with no id */
    char probe_id[BUS_NODE_ID_LEN + 1];
} rx_t;

/* The payload of message seq: its number, then seq % 97 bytes of a pattern. */
static size_t make_payload(uint64_t seq, char *out)
{
    size_t len = (size_t)snprintf(out, 32, "%llu:", (unsigned long long)seq);
    for (uint64_t i = 0; i < seq % 97; i++)
        out[len++] = (char)('a' + (seq + i) % 26);
    return len;
}

static void on_message(void *arg, const char *from, const void *payload, size_t len)
{
    rx_t *rx = arg;
    char want[160];
    size_t want_len = make_payload(rx->received, want);
    if (strcmp(from, rx->expect_from) != 0 || len != want_len || memcmp(payload, want, len) != 0)
        rx->wrong++;
    rx->received++;
}

static void on_peer_state(void *arg, const char *peer, bool up)
{
    rx_t *rx = arg;
    if (up)
        rx->ups++;
    else
        rx->downs++;
}

static void on_probe(void *arg, const char *host, uint16_t port, const char *id)
{
    rx_t *rx = arg;
    rx->probe_answers++;
    if (id == NULL)
        rx->probe_failures++;
    else
        snprintf(rx->probe_id, sizeof rx->probe_id, "%s", id);
}

/* The buses alive, flushed by pump. */
static bus_t *tracked[TRACKED_MAX];

static bus_t *bus_new_tracked(struct event_base *base, const bus_config_t *cfg,
                              bus_callbacks_t cb)
{
    bus_t *bus = bus_new(base, cfg, cb);
    for (size_t i = 0; bus != NULL && i < TRACKED_MAX; i++) {
        if (tracked[i] == NULL) {
            tracked[i] = bus;
            return bus;
        }
    }
    ck_assert_ptr_null(bus); /* more than TRACKED_MAX buses */
    return NULL;
}

static void bus_free_tracked(bus_t *bus)
{
    for (size_t i = 0; i < TRACKED_MAX; i++)
        if (tracked[i] == bus)
            tracked[i] = NULL;
    bus_free(bus);
}

static bus_t *make_bus(struct event_base *base, const char *id, uint16_t port, const char *secret,
                       rx_t *rx)
{
    bus_config_t cfg = {.bind_addr = "127.0.0.1", .port = port, .node_id = id, .secret = secret};
    bus_callbacks_t cb = {on_message, on_peer_state, on_probe, rx};
    bus_t *bus = bus_new_tracked(base, &cfg, cb);
    ck_assert_ptr_nonnull(bus);
    return bus;
}

/* One 10 ms slice of the loop, without flushing. */
static void pump_held(struct event_base *base)
{
    struct timeval tv = {0, 10000};
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
}

static void pump(struct event_base *base)
{
    for (size_t i = 0; i < TRACKED_MAX; i++)
        if (tracked[i] != NULL)
            bus_flush(tracked[i]);
    pump_held(base);
}

/* Runs the loop until *counter reaches want (or the bound). */
static void pump_until(struct event_base *base, const uint64_t *counter, uint64_t want)
{
    for (int i = 0; i < PUMP_ROUNDS_MAX && *counter < want; i++)
        pump(base);
}

/* -------------------------------------------------------------------------
 * The parser without sockets */

START_TEST(parser_frames_byte_by_byte)
{
    static const char input[] = "*2\r\n$3\r\nMSG\r\n$5\r\nhe\0lo\r\n*1\r\n$4\r\nPING\r\n";
    bus_parser_t *p = bus_parser_new(1024);
    bus_frame_t f;
    int frames = 0;
    for (size_t i = 0; i < sizeof input - 1; i++) {
        bus_parser_feed(p, input + i, 1);
        enum bus_parse_result r;
        while ((r = bus_frame_parse(p, &f)) == BUS_PARSE_FRAME) {
            frames++;
            if (frames == 1) {
                ck_assert_int_eq(f.argc, 2);
                ck_assert_str_eq(f.argv[0], "MSG");
                ck_assert_uint_eq(f.argvlen[1], 5);
                ck_assert_int_eq(memcmp(f.argv[1], "he\0lo", 5), 0);
            } else {
                ck_assert_int_eq(f.argc, 1);
                ck_assert_str_eq(f.argv[0], "PING");
            }
        }
        ck_assert_int_eq(r, BUS_PARSE_NEED_MORE);
    }
    ck_assert_int_eq(frames, 2);
    bus_parser_free(p);
}
END_TEST

static enum bus_parse_result parse_one(const char *input, size_t max)
{
    bus_parser_t *p = bus_parser_new(max);
    bus_parser_feed(p, input, strlen(input));
    bus_frame_t f;
    enum bus_parse_result r = bus_frame_parse(p, &f);
    ck_assert_int_eq(bus_frame_parse(p, &f), r == BUS_PARSE_FRAME ? BUS_PARSE_NEED_MORE : r);
    bus_parser_free(p);
    return r;
}

START_TEST(parser_refuses_malformed_and_big)
{
    ck_assert_int_eq(parse_one("*1\r\n$4\r\nPING\r\n", 1024), BUS_PARSE_FRAME);
    ck_assert_int_eq(parse_one("PING\r\n", 1024), BUS_PARSE_ERROR);
    ck_assert_int_eq(parse_one("$4\r\nPING\r\n", 1024), BUS_PARSE_ERROR);
    ck_assert_int_eq(parse_one("*0\r\n", 1024), BUS_PARSE_ERROR);
    ck_assert_int_eq(parse_one("*-1\r\n", 1024), BUS_PARSE_ERROR);
    ck_assert_int_eq(parse_one("*5\r\n", 1024), BUS_PARSE_ERROR);
    ck_assert_int_eq(parse_one("*2\r\n:1\r\n", 1024), BUS_PARSE_ERROR);
    ck_assert_int_eq(parse_one("*2\r\n$-1\r\n", 1024), BUS_PARSE_ERROR);
    ck_assert_int_eq(parse_one("*2\r\n+OK\r\n", 1024), BUS_PARSE_ERROR);
    ck_assert_int_eq(parse_one("*2\r\n*1\r\n$1\r\nx\r\n", 1024), BUS_PARSE_ERROR);
    ck_assert_int_eq(parse_one("*2\r\n$3\r\nMSG\r\n$2000\r\n", 1024), BUS_PARSE_NEED_MORE);
    char big[1200] = "*2\r\n$3\r\nMSG\r\n$1100\r\n";
    memset(big + strlen(big), 'x', 1100 - strlen(big));
    big[1100] = '\0';
    ck_assert_int_eq(parse_one(big, 1024), BUS_PARSE_TOO_BIG);
    ck_assert_int_eq(parse_one("*2\r\n$3\r\nMSG\r\n$1000\r\n", 1024), BUS_PARSE_NEED_MORE);
}
END_TEST

START_TEST(session_handshake_without_sockets)
{
    bus_stats_t stats = {0};
    rx_t rx = {.expect_from = ID_A};
    uint8_t nonce[BUS_NONCE_LEN] = {1, 2, 3};
    bus_session_config_t cfg = {ID_B, "s3cret", 4096, on_message, &rx, &stats};
    bus_session_t *s = bus_session_new(&cfg, nonce);
    buf_t out = BUF_INIT;
    const char msg[] = "*2\r\n$3\r\nMSG\r\n$2\r\n0:\r\n";
    ck_assert_int_eq(bus_session_feed(s, msg, strlen(msg), &out), BUS_SESSION_OK);
    ck_assert_uint_eq(rx.received, 0);
    ck_assert_int_eq(strncmp(out.data, "-NOAUTH", 7), 0);
    /* NODE.HELLO, then the right proof: MSG passes. */
    uint8_t cnonce[BUS_NONCE_LEN] = {9}, proof[SHA256_DIGEST_LEN];
    char cnonce_hex[2 * BUS_NONCE_LEN + 1], proof_hex[2 * SHA256_DIGEST_LEN + 1];
    hex_encode(cnonce, sizeof cnonce, cnonce_hex);
    buf_t in = BUF_INIT;
    buf_printf(&in, "*4\r\n$10\r\nNODE.HELLO\r\n$1\r\n1\r\n$40\r\n%s\r\n$32\r\n%s\r\n", ID_A, cnonce_hex);
    buf_clear(&out);
    ck_assert_int_eq(bus_session_feed(s, in.data, in.len, &out), BUS_SESSION_OK);
    ck_assert_int_eq(strncmp(out.data, "*3\r\n$40\r\nbbbb", 13), 0);
    bus_proof_client("s3cret", nonce, cnonce, ID_A, proof);
    hex_encode(proof, sizeof proof, proof_hex);
    buf_clear(&in);
    buf_printf(&in, "*2\r\n$9\r\nNODE.AUTH\r\n$64\r\n%s\r\n%s", proof_hex, msg);
    buf_clear(&out);
    ck_assert_int_eq(bus_session_feed(s, in.data, in.len, &out), BUS_SESSION_OK);
    ck_assert_uint_eq(out.len, 5);
    ck_assert_int_eq(memcmp(out.data, "+OK\r\n", 5), 0);
    ck_assert_uint_eq(rx.received, 1);
    ck_assert_uint_eq(rx.wrong, 0);
    buf_free(&in);
    buf_free(&out);
    bus_session_free(s);
}
END_TEST

START_TEST(session_refuses_a_wrong_proof)
{
    bus_stats_t stats = {0};
    rx_t rx = {.expect_from = ID_A};
    uint8_t nonce[BUS_NONCE_LEN] = {4}, cnonce[BUS_NONCE_LEN] = {5}, proof[SHA256_DIGEST_LEN];
    bus_session_config_t cfg = {ID_B, "right", 4096, on_message, &rx, &stats};
    bus_session_t *s = bus_session_new(&cfg, nonce);
    char cnonce_hex[2 * BUS_NONCE_LEN + 1], proof_hex[2 * SHA256_DIGEST_LEN + 1];
    hex_encode(cnonce, sizeof cnonce, cnonce_hex);
    bus_proof_client("wrong", nonce, cnonce, ID_A, proof);
    hex_encode(proof, sizeof proof, proof_hex);
    buf_t in = BUF_INIT, out = BUF_INIT;
    buf_printf(&in, "*4\r\n$10\r\nNODE.HELLO\r\n$1\r\n1\r\n$40\r\n%s\r\n$32\r\n%s\r\n", ID_A, cnonce_hex);
    buf_printf(&in, "*2\r\n$9\r\nNODE.AUTH\r\n$64\r\n%s\r\n", proof_hex);
    buf_append_str(&in, "*2\r\n$3\r\nMSG\r\n$2\r\n0:\r\n");
    ck_assert_int_eq(bus_session_feed(s, in.data, in.len, &out), BUS_SESSION_CLOSE);
    buf_append_byte(&out, 0);
    ck_assert_ptr_nonnull(strstr(out.data, "-ERR bus authentication failed\r\n"));
    ck_assert_uint_eq(stats.auth_failures, 1);
    ck_assert_uint_eq(rx.received, 0);
    buf_free(&in);
    buf_free(&out);
    bus_session_free(s);
}
END_TEST

/* -------------------------------------------------------------------------
 * Two buses over loopback */

/* Sends messages [*sent, *sent + n) from bus to peer. */
static void send_batch(bus_t *bus, const char *peer, uint16_t port, uint64_t *sent, uint64_t n)
{
    char payload[160];
    for (uint64_t i = 0; i < n; i++, (*sent)++) {
        size_t len = make_payload(*sent, payload);
        ck_assert_int_eq(bus_send(bus, peer, "127.0.0.1", port, payload, len), BUS_SEND_QUEUED);
    }
}

static void exchange(const char *secret)
{
    struct event_base *base = event_base_new();
    rx_t rxa = {.expect_from = ID_B}, rxb = {.expect_from = ID_A};
    bus_t *a = make_bus(base, ID_A, 0, secret, &rxa);
    bus_t *b = make_bus(base, ID_B, 0, secret, &rxb);
    uint64_t sent_ab = 0, sent_ba = 0;
    for (int round = 0; round < PUMP_ROUNDS_MAX && (rxa.received < EXCHANGE_MESSAGES ||
                                                    rxb.received < EXCHANGE_MESSAGES); round++) {
        if (sent_ab < EXCHANGE_MESSAGES) {
            send_batch(a, ID_B, bus_port(b), &sent_ab, EXCHANGE_PER_ROUND);
            send_batch(b, ID_A, bus_port(a), &sent_ba, EXCHANGE_PER_ROUND);
        }
        pump(base);
    }
    ck_assert_uint_eq(rxb.received, EXCHANGE_MESSAGES);
    ck_assert_uint_eq(rxa.received, EXCHANGE_MESSAGES);
    ck_assert_uint_eq(rxa.wrong + rxb.wrong, 0);
    ck_assert_int_eq(rxa.ups, 1);
    ck_assert_int_eq(rxb.ups, 1);
    ck_assert(bus_peer_connected(a, ID_B));
    const bus_stats_t *st = bus_stats(b);
    ck_assert_uint_eq(st->messages_in, EXCHANGE_MESSAGES);
    ck_assert_uint_eq(st->messages_out, EXCHANGE_MESSAGES);
    ck_assert_uint_eq(st->auth_failures + st->bad_frames + st->dropped, 0);
    ck_assert_uint_eq(st->links_connected, 1);
    ck_assert_uint_eq(bus_queued_bytes(a, ID_B), 0);
    bus_free_tracked(a);
    bus_free_tracked(b);
    event_base_free(base);
}

START_TEST(exchange_in_order_both_ways) { exchange(NULL); }
END_TEST

START_TEST(exchange_with_secret) { exchange("correct horse"); }
END_TEST

/* A frame stays with its bus until bus_flush, however long the loop runs
 * (the server flushes after committing the round's writes). */
START_TEST(nothing_leaves_before_flush)
{
    struct event_base *base = event_base_new();
    rx_t rxa = {.expect_from = ID_B}, rxb = {.expect_from = ID_A};
    bus_t *a = make_bus(base, ID_A, 0, NULL, &rxa);
    bus_t *b = make_bus(base, ID_B, 0, NULL, &rxb);
    uint64_t sent = 0;
    send_batch(a, ID_B, bus_port(b), &sent, 1);
    pump_until(base, &rxb.received, 1);
    ck_assert_uint_eq(rxb.received, 1);
    ck_assert(bus_peer_connected(a, ID_B));
    send_batch(a, ID_B, bus_port(b), &sent, 2);
    for (int i = 0; i < HELD_ROUNDS; i++)
        pump_held(base);
    ck_assert_uint_eq(rxb.received, 1);
    ck_assert_uint_gt(bus_queued_bytes(a, ID_B), 0);
    pump_until(base, &rxb.received, 3);
    ck_assert_uint_eq(rxb.received, 3);
    ck_assert_uint_eq(rxb.wrong, 0);
    bus_free_tracked(a);
    bus_free_tracked(b);
    event_base_free(base);
}
END_TEST

START_TEST(reconnects_after_peer_restart)
{
    struct event_base *base = event_base_new();
    rx_t rxa = {.expect_from = ID_B}, rxb = {.expect_from = ID_A};
    bus_t *a = make_bus(base, ID_A, 0, "s", &rxa);
    bus_t *b = make_bus(base, ID_B, 0, "s", &rxb);
    uint16_t port = bus_port(b);
    uint64_t sent = 0;
    send_batch(a, ID_B, port, &sent, 1);
    pump_until(base, &rxb.received, 1);
    ck_assert_uint_eq(rxb.received, 1);
    bus_free_tracked(b);
    uint64_t downs = 0;
    for (int i = 0; i < PUMP_ROUNDS_MAX && downs == 0; i++, downs = (uint64_t)rxa.downs)
        pump(base);
    ck_assert_int_eq(rxa.downs, 1);
    ck_assert(!bus_peer_connected(a, ID_B));
    /* The new life of B counts from 0: A keeps sending until one arrives. */
    rx_t rxb2 = {.expect_from = ID_A};
    b = make_bus(base, ID_B, port, "s", &rxb2);
    for (int i = 0; i < PUMP_ROUNDS_MAX && rxb2.received == 0; i++) {
        char payload[160];
        size_t len = make_payload(0, payload);
        bus_send(a, ID_B, "127.0.0.1", port, payload, len);
        pump(base);
    }
    ck_assert_uint_ge(rxb2.received, 1);
    ck_assert_uint_eq(rxb2.wrong, rxb2.received - 1); /* repeats of message 0 after the first */
    ck_assert_int_eq(rxa.ups, 2);
    bus_free_tracked(a);
    bus_free_tracked(b);
    event_base_free(base);
}
END_TEST

/* A sends to B with secrets sa and sb; nothing may arrive. */
static void refused(const char *sa, const char *sb)
{
    struct event_base *base = event_base_new();
    rx_t rxa = {.expect_from = ID_B}, rxb = {.expect_from = ID_A};
    bus_t *a = make_bus(base, ID_A, 0, sa, &rxa);
    bus_t *b = make_bus(base, ID_B, 0, sb, &rxb);
    uint64_t sent = 0;
    const bus_stats_t *sta = bus_stats(a), *stb = bus_stats(b);
    for (int i = 0; i < PUMP_ROUNDS_MAX && sta->link_failures < 3; i++) {
        send_batch(a, ID_B, bus_port(b), &sent, 1);
        pump(base);
    }
    ck_assert_uint_ge(sta->link_failures, 3);
    ck_assert_uint_ge(sta->auth_failures + stb->auth_failures + stb->bad_frames, 1);
    ck_assert_uint_eq(rxb.received, 0);
    ck_assert_uint_eq(stb->messages_in, 0);
    ck_assert_int_eq(rxa.ups, 0);
    bus_free_tracked(a);
    bus_free_tracked(b);
    event_base_free(base);
}

START_TEST(wrong_secret_refused) { refused("one", "two"); }
END_TEST

START_TEST(missing_secret_refused)
{
    refused(NULL, "two");
    refused("one", NULL);
}
END_TEST

START_TEST(probe_learns_the_node_id)
{
    struct event_base *base = event_base_new();
    rx_t rxa = {.expect_from = ID_B}, rxb = {.expect_from = ID_A}, rxc = {.expect_from = ID_A};
    bus_t *a = make_bus(base, ID_A, 0, "s", &rxa);
    bus_t *b = make_bus(base, ID_B, 0, "s", &rxb);
    bus_t *c = make_bus(base, ID_B, 0, "other", &rxc);
    ck_assert(bus_probe(a, "127.0.0.1", bus_port(b)));
    ck_assert_uint_eq(rxa.probe_answers, 0); /* never from inside bus_probe */
    pump_until(base, &rxa.probe_answers, 1);
    ck_assert_uint_eq(rxa.probe_answers, 1);
    ck_assert_int_eq(rxa.probe_failures, 0);
    ck_assert_str_eq(rxa.probe_id, ID_B);
    ck_assert(bus_probe(a, "127.0.0.1", bus_port(c))); /* the wrong secret */
    pump_until(base, &rxa.probe_answers, 2);
    ck_assert_int_eq(rxa.probe_failures, 1);
    uint16_t dead = bus_port(c);
    bus_free_tracked(c);
    ck_assert(bus_probe(a, "127.0.0.1", dead)); /* nobody listens */
    pump_until(base, &rxa.probe_answers, 3);
    ck_assert_uint_eq(rxa.probe_answers, 3);
    ck_assert_int_eq(rxa.probe_failures, 2);
    ck_assert(bus_probe(a, "127.0.0.1", bus_port(b))); /* freed unanswered by bus_free */
    ck_assert_uint_eq(rxb.received, 0);
    bus_free_tracked(a);
    bus_free_tracked(b);
    event_base_free(base);
}
END_TEST

/* -------------------------------------------------------------------------
 * Raw connections, as a person or an attacker would make them */

static int raw_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

/* Sends text, then pumps until want_len bytes came back or the server
 * closed. Returns what was read (NUL-terminated); *closed tells which. */
static char *raw_exchange(struct event_base *base, int fd, const char *text, size_t text_len,
                          size_t want_len, bool *closed)
{
    ck_assert_int_eq(write(fd, text, text_len), (ssize_t)text_len);
    buf_t got = BUF_INIT;
    *closed = false;
    for (int i = 0; i < PUMP_ROUNDS_MAX && got.len < want_len && !*closed; i++) {
        pump(base);
        char chunk[4096];
        ssize_t n;
        while ((n = recv(fd, chunk, sizeof chunk, MSG_DONTWAIT)) > 0)
            buf_append(&got, chunk, (size_t)n);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
            *closed = true;
    }
    buf_append_byte(&got, 0);
    return got.data;
}

static void expect_reply(struct event_base *base, int fd, const char *cmd, const char *reply)
{
    bool closed;
    char *got = raw_exchange(base, fd, cmd, strlen(cmd), strlen(reply), &closed);
    ck_assert_str_eq(got, reply);
    ck_assert(!closed);
    free(got);
}

/* Sends bad input and checks the server answers with an error and closes. */
static void expect_close(struct event_base *base, uint16_t port, const char *text, size_t len)
{
    int fd = raw_connect(port);
    bool closed;
    char *got = raw_exchange(base, fd, text, len, SIZE_MAX, &closed);
    ck_assert(closed);
    ck_assert_msg(got[0] == '-' || strstr(got, "\r\n-") != NULL, "got %s", got);
    free(got);
    close(fd);
}

START_TEST(malformed_frames_close_the_connection)
{
    struct event_base *base = event_base_new();
    rx_t rx = {.expect_from = ID_A};
    bus_t *b = make_bus(base, ID_B, 0, NULL, &rx);
    uint16_t port = bus_port(b);
    static const char *const bad[] = {
        "PING\r\n",
        "*1\r\n:5\r\n",
        "*2\r\n*1\r\n$1\r\nx\r\n",
        "*1\r\n$x\r\n",
        "*4\r\n$10\r\nNODE.HELLO\r\n$1\r\n9\r\n$1\r\nx\r\n$1\r\ny\r\n",
        "*4\r\n$10\r\nNODE.HELLO\r\n$1\r\n1\r\n$1\r\nx\r\n$1\r\ny\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_close(base, port, bad[i], strlen(bad[i]));
    expect_close(base, port, "\0\0\0\xff", 4);
    /* Too many refused frames. */
    buf_t spam = BUF_INIT;
    for (int i = 0; i <= BUS_BAD_FRAMES_MAX; i++)
        buf_append_str(&spam, "*1\r\n$4\r\nNOPE\r\n");
    expect_close(base, port, spam.data, spam.len);
    buf_free(&spam);
    /* The bus still serves. */
    int fd = raw_connect(port);
    expect_reply(base, fd, "*1\r\n$4\r\nPING\r\n", "+PONG\r\n");
    close(fd);
    ck_assert_uint_eq(rx.received, 0);
    ck_assert_uint_ge(bus_stats(b)->bad_frames, 7);
    bus_free_tracked(b);
    event_base_free(base);
}
END_TEST

START_TEST(oversized_frames_refused)
{
    struct event_base *base = event_base_new();
    rx_t rx = {.expect_from = ID_A};
    bus_config_t cfg = {.bind_addr = "127.0.0.1", .node_id = ID_B, .frame_bytes_max = 1024};
    bus_t *b = bus_new_tracked(base, &cfg, (bus_callbacks_t){on_message, NULL, NULL, &rx});
    ck_assert_ptr_nonnull(b);
    static char payload[2048];
    ck_assert_int_eq(bus_send(b, ID_A, "127.0.0.1", 1, payload, sizeof payload), BUS_SEND_TOO_BIG);
    buf_t in = BUF_INIT;
    buf_printf(&in, "*4\r\n$10\r\nNODE.HELLO\r\n$1\r\n1\r\n$40\r\n%s\r\n$32\r\n%032d\r\n", ID_A, 0);
    buf_printf(&in, "*2\r\n$3\r\nMSG\r\n$%zu\r\n", sizeof payload);
    buf_append(&in, payload, sizeof payload);
    buf_append_str(&in, "\r\n");
    expect_close(base, bus_port(b), in.data, in.len);
    ck_assert_uint_eq(rx.received, 0);
    buf_free(&in);
    bus_free_tracked(b);
    event_base_free(base);
}
END_TEST

static void on_big(void *arg, const char *from, const void *payload, size_t len)
{
    rx_t *rx = arg;
    const uint8_t *p = payload;
    for (size_t i = 0; i < len; i++)
        if (p[i] != (uint8_t)(i * 7))
            rx->wrong++;
    rx->received++;
}

START_TEST(big_frames_only_after_the_handshake)
{
    struct event_base *base = event_base_new();
    rx_t rxa = {0}, rxb = {0};
    bus_config_t cfg = {.bind_addr = "127.0.0.1", .node_id = ID_A, .secret = "s"};
    bus_t *a = bus_new_tracked(base, &cfg, (bus_callbacks_t){on_big, NULL, NULL, &rxa});
    cfg.node_id = ID_B;
    bus_t *b = bus_new_tracked(base, &cfg, (bus_callbacks_t){on_big, NULL, NULL, &rxb});
    /* A stranger's big frame is refused before it is buffered whole. */
    buf_t in = BUF_INIT;
    buf_printf(&in, "*2\r\n$4\r\nPING\r\n$%d\r\n", 2 * BUS_HANDSHAKE_FRAME_BYTES_MAX);
    for (int i = 0; i < 2 * BUS_HANDSHAKE_FRAME_BYTES_MAX; i++)
        buf_append_byte(&in, 'x');
    buf_append_str(&in, "\r\n");
    expect_close(base, bus_port(b), in.data, in.len);
    buf_free(&in);
    /* A node that proved the secret sends 1 MiB messages. */
    static uint8_t payload[1 << 20];
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)(i * 7);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(bus_send(a, ID_B, "127.0.0.1", bus_port(b), payload, sizeof payload),
                         BUS_SEND_QUEUED);
    pump_until(base, &rxb.received, 3);
    ck_assert_uint_eq(rxb.received, 3);
    ck_assert_uint_eq(rxb.wrong, 0);
    bus_free_tracked(a);
    bus_free_tracked(b);
    event_base_free(base);
}
END_TEST

START_TEST(person_with_redis_cli_commands)
{
    struct event_base *base = event_base_new();
    rx_t rx = {.expect_from = ID_A};
    bus_t *b = make_bus(base, ID_B, 0, "pw", &rx);
    int fd = raw_connect(bus_port(b));
    expect_reply(base, fd, "*1\r\n$4\r\nPING\r\n", "+PONG\r\n");
    expect_reply(base, fd, "*1\r\n$4\r\nINFO\r\n", "-NOAUTH Authentication required.\r\n");
    expect_reply(base, fd, "*2\r\n$3\r\nMSG\r\n$1\r\nx\r\n", "-NOAUTH Authentication required.\r\n");
    expect_reply(base, fd, "*2\r\n$4\r\nAUTH\r\n$2\r\nno\r\n",
                 "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    expect_reply(base, fd, "*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n", "+OK\r\n");
    bool closed;
    char *info = raw_exchange(base, fd, "*1\r\n$4\r\nINFO\r\n", 14, 200, &closed);
    ck_assert_ptr_nonnull(strstr(info, "bus_auth_failures:1"));
    free(info);
    expect_reply(base, fd, "*2\r\n$3\r\nMSG\r\n$1\r\nx\r\n", "-ERR MSG needs NODE.HELLO first\r\n");
    expect_reply(base, fd, "*1\r\n$3\r\nFOO\r\n", "-ERR unknown command\r\n");
    ck_assert_uint_eq(rx.received, 0);
    close(fd);
    bus_free_tracked(b);
    event_base_free(base);
}
END_TEST

START_TEST(full_queue_drops)
{
    struct event_base *base = event_base_new();
    rx_t rx = {.expect_from = ID_B};
    int fd = socket(AF_INET, SOCK_STREAM, 0); /* a port nobody listens on */
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    socklen_t salen = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &salen);
    bus_config_t cfg = {.bind_addr = "127.0.0.1", .node_id = ID_A, .queue_bytes_max = 4096};
    bus_t *a = bus_new_tracked(base, &cfg, (bus_callbacks_t){on_message, on_peer_state, NULL, &rx});
    char payload[100] = {0};
    int queued = 0, dropped = 0;
    for (int i = 0; i < 100; i++) {
        enum bus_send_result r = bus_send(a, ID_B, "127.0.0.1", ntohs(sa.sin_port), payload, 100);
        queued += r == BUS_SEND_QUEUED;
        dropped += r == BUS_SEND_DROPPED;
    }
    ck_assert_int_gt(queued, 0);
    ck_assert_int_eq(queued + dropped, 100);
    ck_assert_uint_eq(bus_stats(a)->dropped, (uint64_t)dropped);
    ck_assert_uint_le(bus_queued_bytes(a, ID_B), 4096);
    for (int i = 0; i < 30; i++)
        pump(base);
    ck_assert_uint_ge(bus_stats(a)->link_failures, 1);
    ck_assert_int_eq(rx.ups, 0);
    ck_assert_int_eq(bus_send(a, "not-an-id", "127.0.0.1", 1, "x", 1), BUS_SEND_BAD_PEER);
    close(fd);
    bus_free_tracked(a);
    event_base_free(base);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("bus");
    TCase *pure = tcase_create("frames");
    tcase_add_test(pure, parser_frames_byte_by_byte);
    tcase_add_test(pure, parser_refuses_malformed_and_big);
    tcase_add_test(pure, session_handshake_without_sockets);
    tcase_add_test(pure, session_refuses_a_wrong_proof);
    suite_add_tcase(s, pure);
    TCase *net = tcase_create("loopback");
    tcase_set_timeout(net, 60);
    tcase_add_test(net, exchange_in_order_both_ways);
    tcase_add_test(net, exchange_with_secret);
    tcase_add_test(net, nothing_leaves_before_flush);
    tcase_add_test(net, reconnects_after_peer_restart);
    tcase_add_test(net, wrong_secret_refused);
    tcase_add_test(net, missing_secret_refused);
    tcase_add_test(net, probe_learns_the_node_id);
    tcase_add_test(net, malformed_frames_close_the_connection);
    tcase_add_test(net, oversized_frames_refused);
    tcase_add_test(net, big_frames_only_after_the_handshake);
    tcase_add_test(net, person_with_redis_cli_commands);
    tcase_add_test(net, full_queue_drops);
    suite_add_tcase(s, net);
    return s;
}
