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
 * A keyed command parks the client (server_node.c) until the cluster node
 * has answered: its reply then goes to the output buffer, and the requests
 * pipelined after it, which waited in the parser's buffer, run when the
 * server resumes it (client_resume) later in the same round.
 *
 * End of input (the peer's shutdown(SHUT_WR), `nc -N`) stops reading but
 * not the client: the requests buffered still run (through client_resume
 * once it is unparked), and it closes when it is not parked, its input is
 * used up and its output written. */
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
    bool parked;              /* waiting for the node's answers (gather) */
    bool resume;              /* on the server's resume list */
    bool eof;                 /* the peer sent everything it will */
    bool reading;             /* read_ev is armed (see client_watch_input) */
    gather_t gather;          /* the answers of the keyed command running */
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

/* Runs the requests buffered while c was parked, as a readable event does. */
void client_resume(client_t *c, uint64_t now_ms);

/* Writes what out holds with one write(). Returns 1 when everything was
 * written, 0 when the rest must wait for a writable event (armed here), or
 * -1 when the connection failed. Resumes reading once the output drained
 * below CLIENT_OUT_PAUSE_BYTES. */
int client_flush(client_t *c, uint64_t now_ms);

/* Appends c's CLIENT LIST line (with its trailing "\n"); flags=b while c
 * is parked, as Redis shows a blocked client. cmd names the command c is
 * running (NULL: the last one it ran). */
void client_list_line(const client_t *c, const char *cmd, uint64_t now_ms, buf_t *out);

#endif
