/* bus.h - the node-to-node bus: a listener on the bus port and one outgoing
 * link per peer, carrying the core's messages as opaque bytes.
 *
 * Incoming connections are parsed and answered by bus_frame.c's session
 * (hiredis's reader, RESP arrays); outgoing links are hiredis
 * redisAsyncContexts on the server's event base (hiredis's libevent
 * adapter). Messages are fire-and-forget in both directions: the core keeps
 * request ids and timeouts. Only the handshake (NODE.HELLO, NODE.AUTH) gets
 * replies, so hiredis's callback queue holds at most one entry; MSG frames
 * wait in the peer's own buffer until bus_flush, which the server calls
 * once per round right after committing the round's writes, moves them to
 * the link's output buffer (without a callback) and writes them (the rest,
 * if the socket is full, when it is writable again):
 * a frame (a replica's acknowledgement) never leaves before the writes of
 * its round are in RocksDB, and every frame of a round leaves in one
 * write() per peer.
 *
 * A link is opened by the first bus_send to a peer, and after a failure
 * reopened with exponential backoff (BUS_BACKOFF_MIN_MS..MAX) while
 * messages wait. Messages wait in a per-peer queue of at most
 * queue_bytes_max bytes (in our buffer until a bus_flush after the
 * handshake, then in hiredis's); past that they are dropped and counted, and the core retries.
 * With a cluster secret both ends prove it (see bus_frame.h) before any
 * message passes.
 *
 * No callback may call bus_free. */
#ifndef DYNIS_SHELL_BUS_H
#define DYNIS_SHELL_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shell/bus_frame.h"

#define BUS_PEERS_MAX 1024            /* distinct peers bus_send accepts */
#define BUS_PROBES_MAX 64             /* bus_probe calls in flight */
#define BUS_CONNS_MAX 1024            /* incoming connections at once */
#define BUS_READ_CHUNK 65536          /* bytes per read() of an incoming connection */
#define BUS_BACKOFF_MIN_MS 100        /* first reconnect delay */
#define BUS_BACKOFF_MAX_MS 5000       /* reconnect delay ceiling */
#define BUS_HANDSHAKE_TIMEOUT_MS 5000 /* connect + NODE.HELLO (+ NODE.AUTH) */
#define BUS_SECRET_LEN_MAX 512
#define BUS_HOST_LEN_MAX 255
#define BUS_FRAME_BYTES_DEFAULT (512u * 1024 * 1024) /* as proto-max-bulk-len */
#define BUS_QUEUE_BYTES_DEFAULT (64u * 1024 * 1024)
#define BUS_PENDING_KEEP_BYTES 65536  /* a peer's buffer larger than this is freed once flushed */

struct event_base;

typedef struct bus_config {
    const char *bind_addr;  /* numeric address to listen on ("127.0.0.1", "::"); NULL: all IPv4 */
    uint16_t port;          /* the bus port; 0: the kernel picks one (see bus_port) */
    const char *node_id;    /* this node's id, BUS_NODE_ID_LEN hex characters */
    const char *secret;     /* cluster-secret, NULL or "" for none */
    size_t frame_bytes_max; /* a frame, framing included (0: the default) */
    size_t queue_bytes_max; /* bytes waiting per peer (0: the default) */
} bus_config_t;

typedef struct bus_callbacks {
    /* A message from node from_id; from_id and payload are borrowed for the
     * call. May call bus_send. */
    void (*on_message)(void *arg, const char *from_id, const void *payload, size_t len);
    /* The outgoing link to peer_id became ready (true) or was lost (false).
     * May be NULL. */
    void (*on_peer_state)(void *arg, const char *peer_id, bool connected);
    /* The answer to bus_probe(host, port): the node id found there, or NULL
     * when none answered (with our cluster secret) in time. May be NULL. */
    void (*on_probe)(void *arg, const char *host, uint16_t port, const char *node_id);
    void *arg;
} bus_callbacks_t;

typedef struct bus bus_t;

/* Listens on cfg's address and port. cfg and its strings are copied; base is
 * borrowed and must outlive the bus. Returns NULL (logged) when the config is
 * invalid or the port cannot be bound. */
bus_t *bus_new(struct event_base *base, const bus_config_t *cfg, bus_callbacks_t cb);
/* Closes every connection and link and frees the bus; reports nothing. */
void bus_free(bus_t *bus);
/* The port listened on. */
uint16_t bus_port(const bus_t *bus);

enum bus_send_result {
    BUS_SEND_QUEUED = 0,
    BUS_SEND_DROPPED = -1,  /* the peer's queue is full (counted in dropped) */
    BUS_SEND_TOO_BIG = -2,  /* the frame would exceed frame_bytes_max */
    BUS_SEND_BAD_PEER = -3, /* not a node id, a host too long, or BUS_PEERS_MAX reached */
};

/* Queues len bytes of payload (copied) for node peer_id, reachable at host
 * (numeric or a name) and port, opening the link if needed; nothing is
 * written before the next bus_flush. A new host or port for a known peer
 * reopens its link there. */
enum bus_send_result bus_send(bus_t *bus, const char *peer_id, const char *host, uint16_t port,
                              const void *payload, size_t len);
/* Hands every frame queued for a ready link to that link and writes it
 * (frames for links still in their handshake wait for a later flush). Call
 * once per event-loop round, after the round's commit. */
void bus_flush(bus_t *bus);
/* Asks the bus port at host:port for its node id (CLUSTER MEET knows only
 * an address): connects, checks NODE.HELLO's reply (and the secret proof),
 * closes, and answers through on_probe, never from inside this call.
 * Returns false when BUS_PROBES_MAX probes are in flight or host is too
 * long. */
bool bus_probe(bus_t *bus, const char *host, uint16_t port);
/* Bytes waiting for peer_id (0 for an unknown peer). */
size_t bus_queued_bytes(const bus_t *bus, const char *peer_id);
/* True while the link to peer_id is ready. */
bool bus_peer_connected(const bus_t *bus, const char *peer_id);
const bus_stats_t *bus_stats(const bus_t *bus);

#endif
