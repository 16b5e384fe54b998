/* bus_frame.h - the bus wire protocol without sockets: frame decoding, the
 * server side of a bus connection, and the handshake proofs.
 *
 * Every bus frame is a RESP array of bulk strings, parsed with hiredis's
 * reader (a socket-free state machine), so redis-cli can talk to a bus port.
 * The commands a bus port understands:
 *   NODE.HELLO <version> <node-id> <client-nonce>
 *        -> [server-node-id, server-nonce, server-proof]   (the proof is ""
 *           when no cluster secret is set)
 *   NODE.AUTH <client-proof>  -> +OK, or an error and the connection closed
 *   MSG <payload>             -> no reply: one opaque message of the core
 *   PING [text], AUTH <secret>, INFO, QUIT  for a person with redis-cli.
 * Nonces are BUS_NONCE_LEN random bytes and proofs HMAC-SHA256 digests, both
 * as lowercase hex. With a cluster secret s:
 *   server-proof = HMAC(s, "dynis-bus-server" client-nonce server-nonce server-id)
 *   client-proof = HMAC(s, "dynis-bus-client" server-nonce client-nonce client-id)
 * so each side proves the secret, bound to fresh nonces and its node id.
 * Until a connection has proved the secret (NODE.AUTH, or AUTH by a person),
 * everything but PING, AUTH, NODE.HELLO, NODE.AUTH and QUIT gets -NOAUTH;
 * MSG also needs the node id of NODE.HELLO. Until a connection has both,
 * frames are limited to BUS_HANDSHAKE_FRAME_BYTES_MAX, so strangers cannot
 * make us buffer big frames; then to frame_bytes_max. A connection is closed
 * on a malformed frame, a frame over the limit, a failed NODE.AUTH, or more
 * than BUS_BAD_FRAMES_MAX refused frames.
 *
 * bus_session_t is the server side of one connection: bytes in, replies out
 * (appended to a buf_t) and messages delivered through a callback. bus.c
 * wires it to sockets; tests/fuzz/fuzz_bus.c feeds it arbitrary bytes. */
#ifndef DYNIS_SHELL_BUS_FRAME_H
#define DYNIS_SHELL_BUS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/sha256.h"

#define BUS_VERSION 1
#define BUS_NODE_ID_LEN 40          /* ring.h's node ids: 40 hex characters */
#define BUS_NONCE_LEN 16            /* random bytes per side and connection */
#define BUS_FRAME_ARGS_MAX 4        /* arguments of the longest command */
#define BUS_BAD_FRAMES_MAX 16       /* refused frames before a connection is closed */
#define BUS_HANDSHAKE_FRAME_BYTES_MAX 4096 /* frame limit until a node is identified */
#define BUS_FRAME_OVERHEAD_MAX 64   /* framing counted around a MSG's payload */
#define BUS_MSG_HEADER_MAX 48       /* "*2\r\n$3\r\nMSG\r\n$<len>\r\n" */

/* The per-bus counters (INFO dynamo, and the bus's own INFO). */
typedef struct bus_stats {
    uint64_t bytes_in, bytes_out;       /* bus bytes read and queued for writing */
    uint64_t messages_in, messages_out; /* MSG frames delivered and queued */
    uint64_t dropped;                   /* messages dropped at a full peer queue */
    uint64_t auth_failures;             /* refused proofs or passwords, both sides */
    uint64_t bad_frames;                /* refused or malformed incoming frames */
    uint64_t connections_accepted;
    uint64_t links_connected;           /* outgoing links ready now */
    uint64_t link_failures;             /* outgoing links lost or never ready */
} bus_stats_t;

/* One decoded frame: argv[i] (argvlen[i] bytes, NUL-terminated) borrows from
 * the parser until the next bus_frame_parse call. */
typedef struct bus_frame {
    int argc;
    const char *argv[BUS_FRAME_ARGS_MAX];
    size_t argvlen[BUS_FRAME_ARGS_MAX];
} bus_frame_t;

typedef struct bus_parser bus_parser_t;

/* A parser refusing frames (arguments plus framing) over frame_bytes_max. */
bus_parser_t *bus_parser_new(size_t frame_bytes_max);
void bus_parser_free(bus_parser_t *p);
/* Changes the limit for the frames not yet started. */
void bus_parser_set_limit(bus_parser_t *p, size_t frame_bytes_max);
/* Appends len bytes (copied) to the parser's input. */
void bus_parser_feed(bus_parser_t *p, const void *data, size_t len);

enum bus_parse_result {
    BUS_PARSE_FRAME = 1,     /* *frame holds the next frame */
    BUS_PARSE_NEED_MORE = 0, /* no complete frame buffered */
    BUS_PARSE_ERROR = -1,    /* malformed input (sticky) */
    BUS_PARSE_TOO_BIG = -2,  /* a frame over the limit (sticky) */
};

/* The next frame of the input fed so far. Malformed RESP, anything but an
 * array of 1..BUS_FRAME_ARGS_MAX bulk strings, and a frame (complete or
 * still arriving) over the limit are errors, after which the connection must
 * be closed. */
enum bus_parse_result bus_frame_parse(bus_parser_t *p, bus_frame_t *frame);

typedef void bus_message_fn(void *arg, const char *from_id, const void *payload, size_t len);

typedef struct bus_session_config {
    const char *self_id;   /* this node's id (borrowed) */
    const char *secret;    /* the cluster secret (borrowed), NULL when none */
    size_t frame_bytes_max;
    bus_message_fn *on_message;
    void *arg;
    bus_stats_t *stats;    /* counters to bump (borrowed) */
} bus_session_config_t;

typedef struct bus_session bus_session_t;

/* The server side of one accepted connection; cfg's pointers must outlive it.
 * nonce is this connection's random server nonce (copied). */
bus_session_t *bus_session_new(const bus_session_config_t *cfg, const uint8_t nonce[BUS_NONCE_LEN]);
void bus_session_free(bus_session_t *s);

enum bus_session_result {
    BUS_SESSION_OK = 0,
    BUS_SESSION_CLOSE = -1, /* write out (best effort) and close */
};

/* Handles len bytes read from the connection: replies are appended to out,
 * messages go to on_message (from_id and payload borrowed for the call). */
enum bus_session_result bus_session_feed(bus_session_t *s, const void *data, size_t len, buf_t *out);

/* The proofs of the handshake (see above), as raw digests; secret is
 * NUL-terminated, nonces are BUS_NONCE_LEN bytes, ids BUS_NODE_ID_LEN. */
void bus_proof_server(const char *secret, const uint8_t *client_nonce, const uint8_t *server_nonce,
                      const char *server_id, uint8_t out[SHA256_DIGEST_LEN]);
void bus_proof_client(const char *secret, const uint8_t *server_nonce, const uint8_t *client_nonce,
                      const char *client_id, uint8_t out[SHA256_DIGEST_LEN]);

/* True when s (len bytes) is a node id: BUS_NODE_ID_LEN lowercase hex
 * characters, as ring.h's. */
bool bus_node_id_valid(const char *s, size_t len);
/* Compares len bytes in time independent of where they differ. */
bool bus_equal_const_time(const void *a, const void *b, size_t len);

/* Writes the RESP header of a MSG frame of a payload of len bytes to out
 * (NUL-terminated); the payload and "\r\n" follow. Returns its length. */
size_t bus_msg_header(char out[BUS_MSG_HEADER_MAX], size_t len);

#endif
