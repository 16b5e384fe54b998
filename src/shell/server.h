/* server.h - the server process: one libevent event base, the client
 * listener, timers and signals, the RocksDB store and the cluster node.
 *
 * A round of the event loop runs every ready callback (client reads parse
 * and dispatch requests, replies go to each client's output buffer; bus
 * messages and timers drive the cluster node), then server_before_sleep
 * runs the clients the node's answers unparked, commits the store's batch
 * (so every write is in RocksDB before its reply leaves) and writes every
 * pending client's output with one write() each. Nothing that depends on
 * the round's writes is written before the commit: bus_send only queues
 * and bus_flush hands the frames to the links after the commit (so a
 * replica's acknowledgement never leaves before the write it acknowledges
 * is committed), and a client's writable event only writes while nothing
 * is staged.
 *
 * The struct is shared by the shell's files (client.c, server_api.c, info.c)
 * and no one else; the core and proto layers see only store_t, the node's
 * keyspace_t and server_api_t. */
#ifndef DYNIS_SHELL_SERVER_H
#define DYNIS_SHELL_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/keyspace.h"
#include "core/node.h"
#include "proto/command.h"
#include "shell/bus.h"
#include "shell/client.h"
#include "shell/config.h"
#include "shell/rocks_store.h"

/* Listening sockets (one per bind address). */
#define SERVER_LISTENERS_MAX 16
/* Connections accepted per readable event of a listener (as Redis). */
#define SERVER_ACCEPTS_PER_CALL 1000
/* Samples averaged for instantaneous_ops_per_sec. */
#define SERVER_OPS_SAMPLES 16
/* File descriptors kept beyond maxclients for RocksDB and listeners. */
#define SERVER_RESERVED_FDS 128
/* CLUSTER MEETs waiting for their bus probe's answer (bus.h's probes). */
#define SERVER_MEETS_MAX BUS_PROBES_MAX
/* A node request id is the client id shifted by SERVER_REQ_CLIENT_SHIFT,
 * then the command's sequence number in the client's queue modulo
 * CLIENT_CMDS_MAX, then the index of the key in the command
 * (coord_reply_write.h's GATHER_KEYS_MAX) in the low SERVER_REQ_IDX_BITS. */
#define SERVER_REQ_IDX_BITS 20
#define SERVER_REQ_CLIENT_SHIFT (SERVER_REQ_IDX_BITS + CLIENT_CMDS_BITS)

struct event_base;
struct event;

typedef struct server_stats {
    uint64_t total_connections_received;
    uint64_t total_commands_processed;
    uint64_t rejected_connections;
    uint64_t total_net_input_bytes;
    uint64_t total_net_output_bytes;
    uint64_t total_reads_processed;
    uint64_t total_writes_processed;
    uint64_t client_qbuf_limit_disconnections;
} server_stats_t;

typedef struct server {
    config_t *cfg; /* borrowed; CONFIG SET changes it */
    struct event_base *base;
    int listen_fds[SERVER_LISTENERS_MAX];
    struct event *listen_evs[SERVER_LISTENERS_MAX];
    int nlisten;
    int port;                    /* the port bound (cfg->port, or the kernel's for 0) */
    struct event *sig_evs[2];    /* SIGTERM, SIGINT */
    struct event *cron_ev;       /* every 1000/hz ms */
    struct event *second_ev;     /* every second: WAL sync, idle clients */

    rocks_store_t *rs;
    node_t *node;                /* the cluster node over rs (server_node.c) */
    bus_t *bus;
    struct event *node_ev;       /* node_tick at node_next_deadline */
    uint64_t node_armed_ms;      /* when node_ev fires; UINT64_MAX: not armed */
    struct server_meet {
        char host[BUS_HOST_LEN_MAX + 1];
        uint16_t port, bus_port;
    } meets[SERVER_MEETS_MAX];   /* CLUSTER MEETs awaiting their probe */
    size_t nmeets;
    client_t **parked;           /* parked clients by id, chained on parked_next */
    size_t parked_cap;           /* buckets, a power of two (0: none yet) */
    size_t nparked;
    client_t *resume;            /* unparked clients with requests waiting */
    client_t *refill;            /* clients with room for backlogged operations */
    server_api_t api;
    uint64_t actor;              /* vector-clock actor of this node */
    char node_id[41];            /* 40 hex digits */

    client_t *clients;           /* every client, oldest first (list head) */
    client_t *clients_tail;
    client_t *pending;           /* clients with output to write or to close */
    client_t *current;           /* the client whose command is running */
    uint32_t nclients;
    uint64_t next_client_id;

    uint64_t now_ms;             /* wall clock of this round (see server_now_ms) */
    uint64_t now_us;
    bool now_valid;
    uint64_t start_ms;
    bool shutdown_asked;

    server_stats_t stats;
    uint64_t used_memory_peak;
    uint64_t ops_samples[SERVER_OPS_SAMPLES];
    int ops_sample_idx;
    uint64_t ops_sample_ms;      /* time and count of the last sample */
    uint64_t ops_sample_count;
} server_t;

/* Opens the store in cfg->dir (creating the directory), loads the node's
 * identity and the key counts, and binds the listeners. Returns the server
 * (owned; server_free) or NULL after logging why. cfg is borrowed and must
 * outlive the server. */
server_t *server_new(config_t *cfg);
/* Runs until SIGTERM, SIGINT or SHUTDOWN, then stops accepting, finishes the
 * round, commits and closes the store. Returns the exit status. */
int server_run(server_t *srv);
void server_free(server_t *srv);

/* The wall clock in ms (and in us), read once per event-loop round. */
uint64_t server_now_ms(server_t *srv);
uint64_t server_now_us(server_t *srv);
/* Puts c on the list written by server_before_sleep. */
void server_mark_pending(server_t *srv, client_t *c);
/* Closes c now: unlinks it, closes its socket and frees it. */
void server_close_client(server_t *srv, client_t *c);
/* Applies a changed hz (re-arms the cron timer). */
void server_apply_hz(server_t *srv);

/* The server_api_t implementation (server_api.c, and server_node.c for the
 * node's entries). */
void server_api_init(server_t *srv);

/* The cluster node (server_node.c). server_node_start creates the node
 * over the store and the bus on the bus port, and arms the node's timer;
 * -1 (logged) on failure. server_node_stop frees them (before the event
 * base). */
int server_node_start(server_t *srv);
void server_node_stop(server_t *srv);
/* Fills api's node and CLUSTER entries. */
void server_node_api(server_api_t *api);
/* Carries out the node's effects: SEND to the bus, REPLY to the parked
 * client that waits for it (dropped when that client is gone). */
void server_node_drain(server_t *srv);
/* Runs the clients the node's answers unparked, then re-arms the node's
 * timer. Called by server_before_sleep before the commit. */
void server_node_round(server_t *srv);
/* Forgets a client that is closing (parked table, resume list). */
void server_node_client_gone(server_t *srv, client_t *c);

#endif
