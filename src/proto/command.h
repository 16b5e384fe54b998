/* command.h - the command table, dispatch, and what a handler is given.
 *
 * One declarative table (command.c) lists every command with its arity
 * (-N: at least N arguments, the name included), flags and key positions, as
 * Redis's does. command_dispatch looks the name up case-insensitively,
 * answers unknown commands, wrong arity and -NOAUTH itself, and only then
 * calls the handler, so handlers never re-check arity.
 *
 * Handlers write exactly one reply through ctx->reply, at once, except the
 * keyed string commands: they hand their single-key operations to the
 * cluster node through server_api's node_begin/node_op, and the reply is
 * written when the node's answers are in, in request order (the shell may
 * run later pipelined commands meanwhile: src/shell/client.h). They reach
 * the rest of the server only through ctx: the client's state, the node's
 * keyspace (src/core/keyspace.h) and the server_api that the shell
 * implements (INFO text, CONFIG, CLIENT LIST, SHUTDOWN). Nothing in
 * src/proto includes libevent or RocksDB.
 *
 * Who writes which handlers:
 *   src/proto/cmd_conn.c   PING ECHO QUIT RESET HELLO AUTH SELECT CLIENT COMMAND
 *                          CONFIG INFO TIME SHUTDOWN (server state via server_api)
 *   src/proto/cmd_cluster.c CLUSTER (the ring and view via server_api)
 *   src/proto/cmd_keys.c   GET SET DEL EXISTS MGET MSET EXPIRE PEXPIRE EXPIREAT
 *                          PEXPIREAT TTL PTTL PERSIST GETDEL GETEX STRLEN APPEND
 *                          DBSIZE FLUSHALL FLUSHDB SCAN KEYS TYPE DYN.GET
 *                          DYN.PUT DYN.DEL (keyed ones through the node,
 *                          DBSIZE SCAN KEYS through the keyspace, FLUSH*
 *                          through server_api's node_flush, DYN.LOCAL
 *                          through its node_local)
 * Handler names are cmd_ + the command in lower case, '.' as '_'
 * (cmd_get, cmd_dyn_put), declared in cmd_conn.h and cmd_keys.h. */
#ifndef DYNIS_PROTO_COMMAND_H
#define DYNIS_PROTO_COMMAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/coord_reply_write.h"
#include "proto/reply.h"
#include "util/buf.h"

struct keyspace;
struct cluster_src;

/* The server mode HELLO's "mode" and INFO's redis_mode report: every
 * server runs a cluster node (a lone node is a cluster of one). */
#define COMMAND_SERVER_MODE "cluster"

/* Per-connection state that commands read and change. The shell owns the
 * struct (one per client) and frees the owned strings when the client goes. */
typedef struct client_state {
    uint64_t id;
    int resp;              /* 2 or 3, set by HELLO */
    bool authenticated;    /* false only while requirepass is set and unproven */
    bool close_after_reply; /* QUIT, protocol errors */
    char *name;            /* owned, CLIENT SETNAME; NULL when unset */
    char *lib_name;        /* owned, CLIENT SETINFO LIB-NAME */
    char *lib_ver;         /* owned, CLIENT SETINFO LIB-VER */
    uint64_t last_command_ms;
} client_state_t;

/* The shell's side of the server, for the commands that report on or change
 * it. Every string argument is borrowed. */
typedef struct server_api {
    void *impl;
    /* Appends INFO's text for section ("" or "default", "all", a name). */
    void (*info)(void *impl, const char *section, buf_t *out);
    /* Appends CLIENT LIST lines (only the client with id only_id unless 0). */
    void (*client_list)(void *impl, uint64_t only_id, buf_t *out);
    /* Replies to CONFIG GET with the map of every parameter matching one of
     * the glob patterns. */
    void (*config_get)(void *impl, int npatterns, const char *const *patterns, reply_t *r);
    /* Sets one parameter; 0 on success, else -1 with Redis's error text
     * (without the leading '-') written to err. */
    int (*config_set)(void *impl, const char *name, const char *value, buf_t *err);
    void (*reset_stats)(void *impl);
    /* Asks the server to stop after this round (SHUTDOWN). */
    void (*shutdown)(void *impl);
    /* The password AUTH checks, or NULL when requirepass is unset. */
    const char *(*requirepass)(void *impl);

    /* Keyed commands run on the cluster node. node_begin queues the running
     * command until n answers are gathered as kind (coord_reply_write.h);
     * its reply is written once they are, after the replies of the
     * commands before it (src/shell/client.h says which requests may run
     * meanwhile). node_op
     * then sends each single-key operation (argv[0] the command, argv[1]
     * the key, borrowed) as answer idx (0..n-1). An answer may arrive
     * inside node_op (a lone node answers at once) or in a later round. */
    void (*node_begin)(void *impl, enum gather_kind kind, uint32_t n);
    void (*node_op)(void *impl, uint32_t idx, int argc, const char *const *argv,
                    const size_t *argvlen);
    /* FLUSHALL / FLUSHDB: empties the node's data (node_flush). Returns 0 or
     * a negative keyspace_status. */
    int (*node_flush)(void *impl);
    /* DYN.LOCAL: this node's stored version set of key (borrowed) as a
     * DYN.GET reply in reply (initialised, the caller's; replaced), without
     * quorum or read repair. Returns 0 or a negative store status. */
    int (*node_local)(void *impl, const char *key, size_t key_len, coord_reply_t *reply);
    /* CLUSTER: fills what the replies are rendered from (borrowed until the
     * handler returns). */
    void (*cluster_src)(void *impl, struct cluster_src *src);
    /* CLUSTER MEET: asks the bus at host:bus_port (a numeric address) for
     * its node id and adds it (client port port) once it answers. */
    void (*cluster_meet)(void *impl, const char *host, uint16_t port, uint16_t bus_port);
    /* CLUSTER FORGET: false when id is unknown. */
    bool (*cluster_forget)(void *impl, const char *id);
    /* CLUSTER LEAVE: this node leaves the ring; its data moves. */
    void (*cluster_leave)(void *impl);
} server_api_t;

typedef struct cmd_ctx {
    int argc;
    const char *const *argv; /* borrowed; argv[i] has argvlen[i] bytes (+ a NUL) */
    const size_t *argvlen;
    reply_t *reply;
    client_state_t *client;
    const server_api_t *server;
    struct keyspace *keyspace;
    uint64_t now_ms; /* wall clock in ms, read once per event-loop round */
    uint64_t now_us; /* the same clock in microseconds (TIME) */
} cmd_ctx_t;

typedef void (*command_handler_fn)(cmd_ctx_t *ctx);

enum command_flags {
    CMD_WRITE = 1 << 0,
    CMD_READONLY = 1 << 1,
    CMD_NOAUTH = 1 << 2,   /* allowed before AUTH (AUTH, HELLO, QUIT, RESET) */
    CMD_FAST = 1 << 3,
    CMD_ADMIN = 1 << 4,
    CMD_LOADING = 1 << 5,
    /* The rest only make COMMAND report Redis's flags. */
    CMD_DENYOOM = 1 << 6,
    CMD_NOSCRIPT = 1 << 7,
    CMD_STALE = 1 << 8,
    CMD_NO_MULTI = 1 << 9,
    CMD_ALLOW_BUSY = 1 << 10,
};

typedef struct command_def {
    const char *name; /* lower case */
    command_handler_fn handler;
    int arity;
    unsigned flags;
    int first_key; /* 0: no keys */
    int last_key;  /* -1: the last argument */
    int key_step;
    const char *summary; /* for COMMAND DOCS and redis-cli's hints */
    const char *since;
    const char *group;   /* "string", "generic", "connection", "server", "cluster" */
    const char *args;    /* the argument synopsis, e.g. "key value [NX|XX]" */
    const char *acl;     /* ACL categories as COMMAND shows them, "@read @fast" */
} command_def_t;

/* The command named name (len bytes, any case), or NULL. */
const command_def_t *command_lookup(const char *name, size_t len);
/* Every command, for COMMAND, COMMAND COUNT and the tests. */
const command_def_t *command_table(size_t *count);
/* True when argc arguments (the name included) satisfy arity. */
bool command_arity_ok(int arity, int argc);
/* Runs one request: checks the name, arity and authentication, then calls
 * the handler. Returns the definition run, or NULL when it replied with an
 * error instead. */
const command_def_t *command_dispatch(cmd_ctx_t *ctx);

#endif
