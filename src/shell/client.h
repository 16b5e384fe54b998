/* client.h - one client connection: raw read and write events, the request
 * parser that owns its query buffer, its output buffer and its
 * client_state_t (src/proto/command.h).
 *
 * A readable event reads up to REQUEST_READ_CHUNK bytes straight into the
 * parser's buffer, runs every complete request through command_dispatch with
 * the client's reply_t bound to its output buffer, and puts the client on the
 * server's pending list; the server writes the output after committing the
 * round's writes (server.h). A protocol error answers "-ERR Protocol error:
 * ..." and closes after the reply; so does QUIT. A query buffer over
 * client-query-buffer-limit closes at once.
 *
 * Keyed commands run on the cluster node (server_node.c), which may answer
 * them in a later round. A client keeps up to CLIENT_CMDS_MAX of them in
 * flight at once, in a queue in request order: a command's reply is written
 * to the output buffer once it and every command before it are answered
 * (a reply that comes early waits in its queue entry), so replies always
 * leave in request order. A pipelined request overlaps the commands in
 * flight only when it is a single-key command that cannot observe or change
 * what they do: its key differs from theirs, or each command on that key
 * (it and those in flight) either only reads or is a write this node
 * coordinates itself. Such a write is evaluated and stored here, in order,
 * before its node_op returns, and a read starts (reads the local copy,
 * sends its requests) at once, so they apply in request order; a write
 * forwarded to another coordinator could be overtaken. Any other request
 * (a read or write after a forwarded write to the same key, a forwarded
 * write after a command on its key, a multi-key command, every command
 * that is not keyed: CONFIG, INFO, QUIT, AUTH, DBSIZE ...) is held (copied
 * out of the parser)
 * until everything before it is answered, and then runs; so is a request
 * that would pass CLIENT_OPS_INFLIGHT_MAX or CLIENT_CMDS_MAX. A held client
 * runs again through client_resume, later in the same round as the answer
 * that freed it.
 *
 * End of input (the peer's shutdown(SHUT_WR), `nc -N`) stops reading but
 * not the client: the requests buffered still run, and it closes when
 * nothing is in flight, its input is used up and its output written. */
#ifndef DYNIS_SHELL_CLIENT_H
#define DYNIS_SHELL_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/command.h"
#include "proto/coord_reply_write.h"
#include "proto/reply.h"
#include "proto/request.h"
#include "util/buf.h"

/* Room for "ip:port" of either family. */
#define CLIENT_ADDR_MAX 64
/* An output buffer larger than this is freed (not kept) once written. */
#define CLIENT_OUT_KEEP_BYTES ((size_t)64 * 1024)
/* Reading from a client pauses while more output than this waits for it
 * (and resumes once it drained); normal clients have no hard limit, as
 * Redis's client-output-buffer-limit normal 0 0 0. */
#define CLIENT_OUT_PAUSE_BYTES ((size_t)64 * 1024 * 1024)
/* Per-key operations one client has in flight on the node at most; a
 * multi-key command's further operations wait in the client's backlog
 * (server_node.c), so that one MGET cannot fill the node's table of
 * requests (COORD_PENDING_MAX) and starve the other clients. */
#define CLIENT_OPS_INFLIGHT_MAX 1024
/* Keyed commands one client has in flight at most (a power of two; node
 * request ids carry a command's sequence number modulo this). */
#define CLIENT_CMDS_MAX 128
#define CLIENT_CMDS_BITS 7
_Static_assert(CLIENT_CMDS_MAX == 1 << CLIENT_CMDS_BITS, "CLIENT_CMDS_BITS");
/* Queue entries a client starts with (a power of two; doubles up to the max). */
#define CLIENT_CMDS_MIN 4

/* One keyed command in flight. */
typedef struct client_cmd {
    gather_t gather;   /* its answers */
    buf_t out;         /* its reply, while an earlier command is in flight */
    uint64_t key_hash; /* its key's (a single-key command) */
    bool readonly;     /* it only reads its key */
    bool local;        /* a write this node coordinates: stored before its
                        * node_op returned (node_coordinates_write) */
    bool solo;         /* nothing may overlap it (several keys) */
    bool done;         /* answered: the reply is in out */
} client_cmd_t;

struct server;
struct event;

typedef struct client {
    struct server *srv;       /* borrowed */
    int fd;
    struct event *read_ev;
    struct event *write_ev;   /* armed only while a write would block */
    client_state_t st;
    request_parser_t *parser; /* owned */
    reply_t reply;            /* bound to out */
    buf_t out;
    size_t out_pos;           /* bytes of out already written */
    size_t out_peak;          /* the most bytes out has held (CLIENT LIST
                               * rbp; rbs is out's capacity) */
    char addr[CLIENT_ADDR_MAX];
    char laddr[CLIENT_ADDR_MAX];
    uint64_t created_ms;
    uint64_t last_interaction_ms;
    const char *last_cmd;     /* static command name, or NULL */
    bool closing;             /* close once out is written */
    bool pending;             /* on the server's pending list */
    bool write_armed;
    bool parked;              /* has keyed commands in flight (the server's
                               * table of parked clients) */
    bool resume;              /* on the server's resume list */
    bool eof;                 /* the peer sent everything it will */
    bool reading;             /* read_ev is armed (see client_watch_input) */
    client_cmd_t *cmds;       /* the queue (owned), cmds_cap entries; the
                               * command of sequence s at s & (cmds_cap - 1) */
    uint32_t cmds_cap;        /* 0 until the first keyed command */
    uint32_t cmd_head;        /* sequence number of the oldest in the queue */
    uint32_t ncmds;           /* commands in the queue */
    uint32_t cmd_running;     /* sequence number of the command dispatched now */
    bool cmd_started;         /* the command dispatched now went to the node */
    buf_t held;               /* a request held back (see above), encoded */
    int held_argc;            /* its argument count; 0: none held */
    const char **held_argv;   /* its view (owned arrays of held_cap) */
    size_t *held_argvlen;
    int held_cap;
    uint32_t ops_inflight;    /* operations given to the node, not answered */
    buf_t ops_backlog;        /* operations waiting for room (server_node.c) */
    size_t ops_backlog_pos;   /* bytes of ops_backlog already issued */
    bool refill;              /* on the server's refill list */
    struct client *prev, *next;   /* the server's list of all clients */
    struct client *pending_next;  /* the server's pending list */
    struct client *parked_next;   /* the server's table of parked clients */
    struct client *resume_next;   /* the server's resume list */
    struct client *refill_next;   /* the server's refill list */
} client_t;

/* A new client on the connected, non-blocking socket fd (owned from now on),
 * reading as soon as the event loop runs. Returns NULL when libevent fails. */
client_t *client_new(struct server *srv, uint64_t id, int fd, uint64_t now_ms);
/* Closes the socket and frees everything c owns (the server unlinks it). */
void client_free(client_t *c);

/* Runs the requests buffered (a held one first), as a readable event does. */
void client_resume(client_t *c, uint64_t now_ms);

/* Queues the keyed command being dispatched (server_node.c's node_begin):
 * returns its queue entry, whose gather the caller begins. */
client_cmd_t *client_cmd_begin(client_t *c);
/* The queue entry whose sequence number is seq modulo CLIENT_CMDS_MAX, or
 * NULL when no such command is in flight. */
client_cmd_t *client_cmd_find(client_t *c, uint32_t seq_low);
/* Records the answer to operation idx of command cmd. Once the command is
 * complete its reply is written (to the output buffer when every command
 * before it is answered, else to its entry until they are). Returns true
 * when replies were written to the output buffer. */
bool client_cmd_answer(client_t *c, client_cmd_t *cmd, uint32_t idx, const coord_reply_t *reply,
                       uint64_t now_ms);

/* Writes what out holds with one write(). Returns 1 when everything was
 * written, 0 when the rest must wait for a writable event (armed here), or
 * -1 when the connection failed. Resumes reading once the output drained
 * below CLIENT_OUT_PAUSE_BYTES. */
int client_flush(client_t *c, uint64_t now_ms);

/* The queue entry of sequence number seq. */
static inline client_cmd_t *client_cmd_at(const client_t *c, uint32_t seq)
{
    return &c->cmds[seq & (c->cmds_cap - 1)];
}

/* Appends c's CLIENT LIST line (with its trailing "\n"); flags=b while c
 * has commands in flight, as Redis shows a blocked client. cmd names the command c is
 * running (NULL: the last one it ran). */
void client_list_line(const client_t *c, const char *cmd, uint64_t now_ms, buf_t *out);

#endif
