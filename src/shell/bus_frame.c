/* bus_frame.c - the bus wire protocol without sockets (see bus_frame.h).
 *
 * The parser gives hiredis's reader its own object functions so that a
 * frame is built in one reusable buffer: no redisReply per argument, and
 * anything but a flat array of bulk strings is refused as it is read. */
#include "shell/bus_frame.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/alloc.h"
#include "util/hex.h"

/* Framing counted per argument and per array header against the limit. */
#define BUS_FRAME_ARG_FRAMING 16
/* Bytes handed to hiredis's reader at a time. The reader discards what it
 * consumed by moving the rest of its buffer to the front after every reply
 * once 1 KiB is consumed, so a 16 KiB read of a hundred small frames fed at
 * once costs a hundred moves of up to 16 KiB; fed by the KiB, about one
 * move of less than a frame per chunk. */
#define BUS_FEED_CHUNK 1024

/* -------------------------------------------------------------------------
 * The frame parser */

typedef struct bus_pframe {
    bool in_use;
    int argc;
    size_t total; /* bytes counted against the limit */
    size_t off[BUS_FRAME_ARGS_MAX], len[BUS_FRAME_ARGS_MAX];
    buf_t bytes;  /* the arguments, each NUL-terminated */
} bus_pframe_t;

struct bus_parser {
    redisReader *reader;
    size_t frame_bytes_max;
    bus_pframe_t frame;     /* the one frame being read or lent out */
    bool lent;              /* frame was returned by the last call */
    bool too_big;           /* the reader's error came from the limit */
    enum bus_parse_result sticky; /* BUS_PARSE_NEED_MORE while no error */
};

static void *parser_create_array(const redisReadTask *task, int elements)
{
    bus_parser_t *p = task->privdata;
    if (task->parent != NULL || elements < 1 || elements > BUS_FRAME_ARGS_MAX || p->frame.in_use)
        return NULL;
    bus_pframe_t *f = &p->frame;
    f->in_use = true;
    f->argc = 0;
    f->total = BUS_FRAME_ARG_FRAMING;
    buf_clear(&f->bytes);
    return f;
}

static void *parser_create_string(const redisReadTask *task, char *str, size_t len)
{
    bus_parser_t *p = task->privdata;
    if (task->parent == NULL || task->type != REDIS_REPLY_STRING)
        return NULL;
    bus_pframe_t *f = task->parent->obj;
    if (len > p->frame_bytes_max || f->total + len + BUS_FRAME_ARG_FRAMING > p->frame_bytes_max) {
        p->too_big = true;
        return NULL;
    }
    f->total += len + BUS_FRAME_ARG_FRAMING;
    f->off[task->idx] = f->bytes.len;
    f->len[task->idx] = len;
    buf_append(&f->bytes, str, len);
    buf_append_byte(&f->bytes, 0);
    f->argc = task->idx + 1;
    return f;
}

static void *parser_create_integer(const redisReadTask *task, long long v) { return NULL; }
static void *parser_create_nil(const redisReadTask *task) { return NULL; }

static void parser_free_object(void *obj)
{
    bus_pframe_t *f = obj;
    f->in_use = false;
}

static redisReplyObjectFunctions parser_functions = {
    parser_create_string, parser_create_array, parser_create_integer,
    parser_create_nil,    parser_free_object,
};

bus_parser_t *bus_parser_new(size_t frame_bytes_max)
{
    bus_parser_t *p = xcalloc(1, sizeof *p);
    p->reader = redisReaderCreateWithFunctions(&parser_functions);
    if (p->reader == NULL)
        abort(); /* out of memory, as xmalloc */
    p->reader->privdata = p;
    p->frame_bytes_max = frame_bytes_max;
    buf_init(&p->frame.bytes);
    return p;
}

void bus_parser_free(bus_parser_t *p)
{
    if (p == NULL)
        return;
    redisReaderFree(p->reader);
    buf_free(&p->frame.bytes);
    free(p);
}

void bus_parser_set_limit(bus_parser_t *p, size_t frame_bytes_max)
{
    p->frame_bytes_max = frame_bytes_max;
}

void bus_parser_feed(bus_parser_t *p, const void *data, size_t len)
{
    if (p->sticky == BUS_PARSE_NEED_MORE && redisReaderFeed(p->reader, data, len) != REDIS_OK)
        p->sticky = BUS_PARSE_ERROR;
}

enum bus_parse_result bus_frame_parse(bus_parser_t *p, bus_frame_t *frame)
{
    if (p->sticky != BUS_PARSE_NEED_MORE)
        return p->sticky;
    if (p->lent) {
        p->frame.in_use = false;
        p->lent = false;
    }
    void *obj = NULL;
    if (redisReaderGetReply(p->reader, &obj) != REDIS_OK) {
        p->sticky = p->too_big ? BUS_PARSE_TOO_BIG : BUS_PARSE_ERROR;
        return p->sticky;
    }
    if (obj == NULL) {
        if (p->reader->len - p->reader->pos > p->frame_bytes_max)
            p->sticky = BUS_PARSE_TOO_BIG;
        return p->sticky;
    }
    bus_pframe_t *f = obj;
    p->lent = true;
    frame->argc = f->argc;
    for (int i = 0; i < f->argc; i++) {
        frame->argv[i] = f->bytes.data + f->off[i];
        frame->argvlen[i] = f->len[i];
    }
    return BUS_PARSE_FRAME;
}

/* -------------------------------------------------------------------------
 * Hex, ids, proofs */

bool bus_node_id_valid(const char *s, size_t len)
{
    return len == BUS_NODE_ID_LEN && hex_is_lower(s, len);
}

bool bus_equal_const_time(const void *a, const void *b, size_t len)
{
    const uint8_t *x = a, *y = b;
    uint8_t diff = 0;
    for (size_t i = 0; i < len; i++)
        diff |= x[i] ^ y[i];
    return diff == 0;
}

static void bus_proof(const char *secret, const char *label, const uint8_t *nonce1,
                      const uint8_t *nonce2, const char *id, uint8_t out[SHA256_DIGEST_LEN])
{
    const void *parts[] = {label, nonce1, nonce2, id};
    const size_t lens[] = {strlen(label), BUS_NONCE_LEN, BUS_NONCE_LEN, BUS_NODE_ID_LEN};
    hmac_sha256(secret, strlen(secret), 4, parts, lens, out);
}

void bus_proof_server(const char *secret, const uint8_t *client_nonce, const uint8_t *server_nonce,
                      const char *server_id, uint8_t out[SHA256_DIGEST_LEN])
{
    bus_proof(secret, "dynis-bus-server", client_nonce, server_nonce, server_id, out);
}

void bus_proof_client(const char *secret, const uint8_t *server_nonce, const uint8_t *client_nonce,
                      const char *client_id, uint8_t out[SHA256_DIGEST_LEN])
{
    bus_proof(secret, "dynis-bus-client", server_nonce, client_nonce, client_id, out);
}

/* Written by hand: snprintf cost more than the rest of sending a message. */
size_t bus_msg_header(char out[BUS_MSG_HEADER_MAX], size_t len)
{
    static const char head[] = "*2\r\n$3\r\nMSG\r\n$";
    char digits[24];
    size_t nd = 0;
    do {
        digits[nd++] = (char)('0' + len % 10);
        len /= 10;
    } while (len > 0);
    size_t n = sizeof head - 1;
    memcpy(out, head, n);
    while (nd > 0)
        out[n++] = digits[--nd];
    out[n++] = '\r';
    out[n++] = '\n';
    return n;
}

/* -------------------------------------------------------------------------
 * The server side of a connection */

struct bus_session {
    bus_session_config_t cfg;
    bus_parser_t *parser;
    uint8_t nonce[BUS_NONCE_LEN];        /* ours */
    uint8_t client_nonce[BUS_NONCE_LEN]; /* from NODE.HELLO */
    char peer_id[BUS_NODE_ID_LEN + 1];   /* from NODE.HELLO; "" before */
    bool authed;                         /* proved the secret (or none is set) */
    unsigned bad;                        /* refused frames so far */
};

/* Lifts the handshake's frame limit once a proved node is identified. */
static void session_identified(bus_session_t *s)
{
    if (s->authed && s->peer_id[0] != '\0' && s->cfg.frame_bytes_max > BUS_HANDSHAKE_FRAME_BYTES_MAX)
        bus_parser_set_limit(s->parser, s->cfg.frame_bytes_max);
}

static void reply_status(buf_t *out, const char *text) { buf_printf(out, "+%s\r\n", text); }
static void reply_error(buf_t *out, const char *text) { buf_printf(out, "-%s\r\n", text); }

static void reply_bulk(buf_t *out, const void *p, size_t len)
{
    buf_printf(out, "$%zu\r\n", len);
    buf_append(out, p, len);
    buf_append(out, "\r\n", 2);
}

/* Counts a refused frame; closes once there were too many. */
static enum bus_session_result session_refuse(bus_session_t *s, buf_t *out, const char *err)
{
    reply_error(out, err);
    s->cfg.stats->bad_frames++;
    return ++s->bad > BUS_BAD_FRAMES_MAX ? BUS_SESSION_CLOSE : BUS_SESSION_OK;
}

static enum bus_session_result session_fail(bus_session_t *s, buf_t *out, const char *err)
{
    reply_error(out, err);
    s->cfg.stats->bad_frames++;
    return BUS_SESSION_CLOSE;
}

typedef enum bus_session_result bus_cmd_fn(bus_session_t *s, const bus_frame_t *f, buf_t *out);

static enum bus_session_result cmd_ping(bus_session_t *s, const bus_frame_t *f, buf_t *out)
{
    if (f->argc == 2)
        reply_bulk(out, f->argv[1], f->argvlen[1]);
    else
        reply_status(out, "PONG");
    return BUS_SESSION_OK;
}

static enum bus_session_result cmd_quit(bus_session_t *s, const bus_frame_t *f, buf_t *out)
{
    reply_status(out, "OK");
    return BUS_SESSION_CLOSE;
}

/* Compares digests of the two secrets, so the time does not depend on the
 * length or the first differing byte. */
static bool secret_matches(const char *secret, const char *given, size_t given_len)
{
    uint8_t a[SHA256_DIGEST_LEN], b[SHA256_DIGEST_LEN];
    sha256(secret, strlen(secret), a);
    sha256(given, given_len, b);
    return bus_equal_const_time(a, b, sizeof a);
}

static enum bus_session_result cmd_auth(bus_session_t *s, const bus_frame_t *f, buf_t *out)
{
    if (s->cfg.secret == NULL)
        return session_refuse(s, out, "ERR AUTH <password> called without any password configured "
                                      "for the default user. Are you sure your configuration is correct?");
    bool user_ok = f->argc == 2 || strcmp(f->argv[1], "default") == 0;
    int pass = f->argc - 1;
    if (!user_ok || !secret_matches(s->cfg.secret, f->argv[pass], f->argvlen[pass])) {
        s->cfg.stats->auth_failures++;
        return session_refuse(s, out, "WRONGPASS invalid username-password pair or user is disabled.");
    }
    s->authed = true;
    session_identified(s);
    reply_status(out, "OK");
    return BUS_SESSION_OK;
}

static enum bus_session_result cmd_node_hello(bus_session_t *s, const bus_frame_t *f, buf_t *out)
{
    char version[16];
    snprintf(version, sizeof version, "%d", BUS_VERSION);
    if (strcmp(f->argv[1], version) != 0)
        return session_fail(s, out, "ERR bus protocol version mismatch");
    if (s->peer_id[0] != '\0' || !bus_node_id_valid(f->argv[2], f->argvlen[2]) ||
        !hex_decode(f->argv[3], f->argvlen[3], s->client_nonce, BUS_NONCE_LEN))
        return session_fail(s, out, "ERR bad NODE.HELLO");
    memcpy(s->peer_id, f->argv[2], BUS_NODE_ID_LEN + 1);
    session_identified(s);
    char nonce_hex[2 * BUS_NONCE_LEN + 1], proof_hex[2 * SHA256_DIGEST_LEN + 1] = "";
    hex_encode(s->nonce, BUS_NONCE_LEN, nonce_hex);
    if (s->cfg.secret != NULL) {
        uint8_t proof[SHA256_DIGEST_LEN];
        bus_proof_server(s->cfg.secret, s->client_nonce, s->nonce, s->cfg.self_id, proof);
        hex_encode(proof, sizeof proof, proof_hex);
    }
    buf_append_str(out, "*3\r\n");
    reply_bulk(out, s->cfg.self_id, BUS_NODE_ID_LEN);
    reply_bulk(out, nonce_hex, strlen(nonce_hex));
    reply_bulk(out, proof_hex, strlen(proof_hex));
    return BUS_SESSION_OK;
}

static enum bus_session_result cmd_node_auth(bus_session_t *s, const bus_frame_t *f, buf_t *out)
{
    if (s->cfg.secret == NULL || s->peer_id[0] == '\0')
        return session_fail(s, out, "ERR NODE.AUTH needs a cluster secret and NODE.HELLO first");
    uint8_t want[SHA256_DIGEST_LEN], got[SHA256_DIGEST_LEN];
    bus_proof_client(s->cfg.secret, s->nonce, s->client_nonce, s->peer_id, want);
    if (!hex_decode(f->argv[1], f->argvlen[1], got, sizeof got) ||
        !bus_equal_const_time(want, got, sizeof want)) {
        s->cfg.stats->auth_failures++;
        return session_fail(s, out, "ERR bus authentication failed");
    }
    s->authed = true;
    session_identified(s);
    reply_status(out, "OK");
    return BUS_SESSION_OK;
}

static enum bus_session_result cmd_msg(bus_session_t *s, const bus_frame_t *f, buf_t *out)
{
    if (s->peer_id[0] == '\0')
        return session_refuse(s, out, "ERR MSG needs NODE.HELLO first");
    s->cfg.stats->messages_in++;
    s->cfg.on_message(s->cfg.arg, s->peer_id, f->argv[1], f->argvlen[1]);
    return BUS_SESSION_OK;
}

static enum bus_session_result cmd_info(bus_session_t *s, const bus_frame_t *f, buf_t *out)
{
    const bus_stats_t *st = s->cfg.stats;
    buf_t text = BUF_INIT;
    buf_printf(&text,
               "# Bus\r\nbus_version:%d\r\nnode_id:%s\r\nbus_bytes_in:%llu\r\n"
               "bus_bytes_out:%llu\r\nbus_messages_in:%llu\r\nbus_messages_out:%llu\r\n"
               "bus_dropped:%llu\r\nbus_auth_failures:%llu\r\nbus_bad_frames:%llu\r\n"
               "bus_connections_accepted:%llu\r\nbus_links_connected:%llu\r\n"
               "bus_link_failures:%llu\r\n",
               BUS_VERSION, s->cfg.self_id, (unsigned long long)st->bytes_in,
               (unsigned long long)st->bytes_out, (unsigned long long)st->messages_in,
               (unsigned long long)st->messages_out, (unsigned long long)st->dropped,
               (unsigned long long)st->auth_failures, (unsigned long long)st->bad_frames,
               (unsigned long long)st->connections_accepted,
               (unsigned long long)st->links_connected, (unsigned long long)st->link_failures);
    reply_bulk(out, text.data, text.len);
    buf_free(&text);
    return BUS_SESSION_OK;
}

/* The commands of a bus port: name, the fewest and the most arguments
 * (the name included), whether the secret must be proved first, handler.
 * Dispatch checks all of it, so handlers never re-check. */
typedef struct bus_cmd {
    const char *name;
    int argc_min, argc_max;
    bool needs_auth;
    bus_cmd_fn *fn;
} bus_cmd_t;

static const bus_cmd_t bus_cmds[] = {
    {"MSG", 2, 2, true, cmd_msg}, /* first: nearly every frame */
    {"PING", 1, 2, false, cmd_ping},
    {"AUTH", 2, 3, false, cmd_auth},
    {"NODE.HELLO", 4, 4, false, cmd_node_hello},
    {"NODE.AUTH", 2, 2, false, cmd_node_auth},
    {"INFO", 1, 2, true, cmd_info},
    {"QUIT", 1, 1, false, cmd_quit},
};

static enum bus_session_result session_dispatch(bus_session_t *s, const bus_frame_t *f, buf_t *out)
{
    const bus_cmd_t *cmd = NULL;
    for (size_t i = 0; i < sizeof bus_cmds / sizeof bus_cmds[0] && cmd == NULL; i++)
        if (strcasecmp(f->argv[0], bus_cmds[i].name) == 0)
            cmd = &bus_cmds[i];
    if (cmd == NULL)
        return session_refuse(s, out, "ERR unknown command");
    if (f->argc < cmd->argc_min || f->argc > cmd->argc_max)
        return session_refuse(s, out, "ERR wrong number of arguments");
    if (cmd->needs_auth && !s->authed)
        return session_refuse(s, out, "NOAUTH Authentication required.");
    return cmd->fn(s, f, out);
}

bus_session_t *bus_session_new(const bus_session_config_t *cfg, const uint8_t nonce[BUS_NONCE_LEN])
{
    bus_session_t *s = xcalloc(1, sizeof *s);
    s->cfg = *cfg;
    size_t limit = cfg->frame_bytes_max;
    s->parser = bus_parser_new(limit < BUS_HANDSHAKE_FRAME_BYTES_MAX ? limit : BUS_HANDSHAKE_FRAME_BYTES_MAX);
    memcpy(s->nonce, nonce, BUS_NONCE_LEN);
    s->authed = cfg->secret == NULL;
    return s;
}

void bus_session_free(bus_session_t *s)
{
    if (s == NULL)
        return;
    bus_parser_free(s->parser);
    free(s);
}

enum bus_session_result bus_session_feed(bus_session_t *s, const void *data, size_t len, buf_t *out)
{
    s->cfg.stats->bytes_in += len;
    const char *p = data;
    for (size_t at = 0; at < len; at += BUS_FEED_CHUNK) {
        bus_parser_feed(s->parser, p + at, len - at < BUS_FEED_CHUNK ? len - at : BUS_FEED_CHUNK);
        for (;;) {
            bus_frame_t f;
            enum bus_parse_result r = bus_frame_parse(s->parser, &f);
            if (r == BUS_PARSE_NEED_MORE)
                break;
            if (r == BUS_PARSE_TOO_BIG)
                return session_fail(s, out, "ERR Protocol error: bus frame too big");
            if (r == BUS_PARSE_ERROR)
                return session_fail(s, out, "ERR Protocol error");
            if (session_dispatch(s, &f, out) == BUS_SESSION_CLOSE)
                return BUS_SESSION_CLOSE;
        }
    }
    return BUS_SESSION_OK;
}
