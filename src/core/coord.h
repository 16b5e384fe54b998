/* coord.h - the coordinator's per-request state: client operations, their
 * replies, and the quorum state machines of GET and PUT.
 *
 * A client operation (coord_op_t) is one single-key string command given as
 * its arguments; the coordinator parses it with strop_parse and evaluates it
 * with strop_eval (strop.h), so the cluster serves every command strop knows,
 * plus DYN.GET. Reads (GET STRLEN TTL PTTL EXISTS TYPE DYN.GET) take the read
 * path: ask N replicas, answer after R, merge, read-repair. Everything else is
 * a write: the first reachable node of the key's preference list evaluates it
 * against its local versions, writes, replicates to N-1 others and answers
 * after W durable copies. Operations travel in FORWARD messages, replies in
 * FORWARD_REPLY, hence their encodings here.
 *
 * coord_req_t is one request in flight at its coordinator: the targets asked,
 * who answered how, the quorum needed, the deadline; for a read, the merge of
 * the replies and the repair window. The node (node.c) does the storage and
 * the messages; this module only keeps count, so it is tested on its own.
 *
 * Node ids are ring.h's 40-hex-character strings.
 *
 * Ownership: coord_op_t, coord_reply_t and coord_req_t own everything they
 * point to (free with their *_free). coord_table_t owns its requests. */
#ifndef DYNIS_CORE_COORD_H
#define DYNIS_CORE_COORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/ring.h"
#include "core/strop.h"
#include "core/vclock.h"
#include "core/versions.h"
#include "util/buf.h"

#define COORD_ARGS_MAX 16             /* arguments of one operation, name included */
#define COORD_ARG_MAX (512u << 20)    /* bytes of one argument (proto-max-bulk-len) */
#define COORD_REPLICAS_MAX RING_RANGE_NODES_MAX /* N's ceiling */
#define COORD_TARGETS_MAX (2 * COORD_REPLICAS_MAX)
#define COORD_PENDING_MAX 65536       /* requests in flight at one coordinator */
#define COORD_TEXT_MAX 512            /* an error or status text */
#define COORD_SPARE_MAX 1024          /* freed requests a table keeps for reuse (pipelined
                                       * clients keep hundreds in flight; malloc of one
                                       * costs more than the rest of a read) */

/* Copies a node id (at most RING_NODE_ID_LEN characters) into dst. */
static inline void coord_id_copy(char dst[RING_NODE_ID_LEN + 1], const char *src)
{
    size_t n = strnlen(src, RING_NODE_ID_LEN);
    memcpy(dst, src, n);
    dst[n] = 0;
}

/* ---- operations ---------------------------------------------------------- */

typedef struct coord_op {
    int argc;
    char **argv;     /* each NUL-terminated: owned copies, or borrowed */
    size_t *argvlen;
    bool owned;      /* argv and argvlen are one owned block (coord_op_own) */
    uint16_t slot;   /* the key's slot (slot_of_key of argv[1]) */
    enum strop_kind kind; /* meaningless for DYN.GET */
    bool dyn_get;         /* DYN.GET: a read answering [context, values...] */
    bool is_read;         /* takes the read path */
    /* The causal floor of a read (DESIGN.md section 7): answer only with
     * versions at or after this clock. Carried, not yet enforced. */
    vclock_t floor;
} coord_op_t;

/* Copies argv[0..argc) into op and classifies the command (argv[0], any case;
 * argv[1] is the key). Returns 0, or -1 with an error text in err for an
 * unknown command, a missing key or more than COORD_ARGS_MAX arguments. */
int coord_op_init(coord_op_t *op, int argc, const char *const *argv, const size_t *argvlen,
                  buf_t *err);
/* As coord_op_init, but op borrows argv and argvlen (each argv[i] must be
 * followed by a NUL) until coord_op_own or coord_op_free: for an op that
 * completes within the caller's call. */
int coord_op_borrow(coord_op_t *op, int argc, const char *const *argv, const size_t *argvlen,
                    buf_t *err);
/* Makes a borrowed op own copies of its arguments (no-op when owned). */
void coord_op_own(coord_op_t *op);
void coord_op_free(coord_op_t *op);
/* The key of op (argv[1]), borrowed. */
static inline const char *coord_op_key(const coord_op_t *op, size_t *len)
{
    *len = op->argvlen[1];
    return op->argv[1];
}
void coord_op_encode(const coord_op_t *op, buf_t *out);
/* Replaces op (which must be initialised or zeroed) with the decoded bytes;
 * false on malformed input or an unknown command. */
bool coord_op_decode(coord_op_t *op, const void *bytes, size_t len);

/* ---- replies ------------------------------------------------------------- */

/* What a client is answered: strop's reply kinds, plus DYN.GET's. */
enum coord_reply_kind {
    COORD_REPLY_STROP,   /* strop is set (OK NIL INT VALUE VALUES STATUS ERROR CONFLICT) */
    COORD_REPLY_CONTEXT, /* DYN.GET: context, then the live siblings of values */
};

typedef struct coord_reply {
    enum coord_reply_kind kind;
    enum strop_reply strop;
    int64_t integer;  /* INT, CONFLICT */
    buf_t text;       /* STATUS, ERROR (no leading '-') */
    buf_t value;      /* VALUE */
    versions_t values; /* VALUES, CONTEXT: the version set read (use the live ones) */
    buf_t context;    /* CONTEXT: the printable context */
    bool wrote;       /* a write was made and acknowledged with this reply */
    dot_t dot;        /* its dot */
} coord_reply_t;

void coord_reply_init(coord_reply_t *r);
void coord_reply_free(coord_reply_t *r);
void coord_reply_copy(coord_reply_t *dst, const coord_reply_t *src);
/* An error reply (text without the leading '-'). */
void coord_reply_error(coord_reply_t *r, const char *text);
/* The reply for strop's result res (its value is moved, the rest copied). */
void coord_reply_from_strop(coord_reply_t *r, strop_result_t *res);
/* Moves src into dst (freed first); src is left empty. */
void coord_reply_move(coord_reply_t *dst, coord_reply_t *src);
/* DYN.GET's reply for the set read. */
void coord_reply_context(coord_reply_t *r, const versions_t *read);
void coord_reply_encode(const coord_reply_t *r, buf_t *out);
bool coord_reply_decode(coord_reply_t *r, const void *bytes, size_t len);

/* ---- requests in flight -------------------------------------------------- */

enum coord_req_kind {
    COORD_REQ_PUT,     /* a write this node coordinates */
    COORD_REQ_GET,     /* a read this node coordinates */
    COORD_REQ_FORWARD, /* a client op forwarded to another coordinator */
    COORD_REQ_HANDOFF, /* a key sent to its new owners after a ring change */
};

enum coord_target_state {
    COORD_TARGET_WAITING,
    COORD_TARGET_OK,      /* PUT: acked; GET: replied with versions */
    COORD_TARGET_MISSING, /* GET: replied, no version of the key */
    COORD_TARGET_FAILED,  /* replied with an error */
};

typedef struct coord_target {
    char id[RING_NODE_ID_LEN + 1];
    char hint_for[RING_NODE_ID_LEN + 1]; /* "" unless a substitute */
    enum coord_target_state state;
    versions_t read; /* GET: what it replied */
} coord_target_t;

/* Where the reply goes: a local client or the node that forwarded the op. */
typedef struct coord_origin {
    uint64_t client_req_id;                   /* when from is "" */
    char from[RING_NODE_ID_LEN + 1];          /* forwarding node, or "" */
    uint64_t from_req_id;                     /* its request id */
} coord_origin_t;

typedef struct coord_req {
    uint64_t req_id;
    enum coord_req_kind kind;
    coord_origin_t origin;
    coord_op_t op;
    uint32_t ntargets;
    uint32_t needed;       /* W or R, clamped */
    bool replied;          /* the client has its answer */
    uint64_t deadline_ms;  /* answer (or fail) by then */
    uint64_t linger_ms;    /* GET: keep collecting late replies until then */
    versions_t merged;     /* GET: merge of the replies so far */
    coord_reply_t reply;   /* PUT: the answer to give once W acks are in */
    uint32_t pos;          /* its position in the table's array */
    buf_t data_key;        /* HANDOFF: the key handed off */
    uint64_t sent_hash;    /* HANDOFF: hash of the versions sent */
    uint64_t ring_mark;    /* HANDOFF: the sender's ring when sent (node_ring_mark) */
    /* Last, so that a new request zeroes only what precedes it: targets at
     * ntargets and beyond are garbage until coord_req_add_target. */
    coord_target_t targets[COORD_TARGETS_MAX];
} coord_req_t;

/* Adds target id (with hint_for, "" for none) to req. Returns its index, or
 * -1 when req already has COORD_TARGETS_MAX. */
int coord_req_add_target(coord_req_t *req, const char *id, const char *hint_for);
/* The index of the target named id, or -1. */
int coord_req_target(const coord_req_t *req, const char *id);
/* Targets in state. */
uint32_t coord_req_count(const coord_req_t *req, enum coord_target_state state);
/* PUT: true once needed targets acked. */
bool coord_put_quorum(const coord_req_t *req);
/* GET: records target idx's reply (read NULL for missing or failed) and merges
 * it. Duplicates are ignored. Returns true when this reply is new. */
bool coord_get_record(coord_req_t *req, int idx, enum coord_target_state state,
                      const versions_t *read);
/* As coord_get_record, but takes read's contents over (read is left empty). */
bool coord_get_take(coord_req_t *req, int idx, enum coord_target_state state,
                    versions_t *read);
/* GET: true once needed targets answered found or missing. */
bool coord_get_quorum(const coord_req_t *req);
/* GET: true when target idx answered with less than the merge (missing, or
 * a set that merging would change), so it needs read repair. */
bool coord_get_stale(const coord_req_t *req, int idx);
/* True when every target has answered. */
bool coord_req_all_answered(const coord_req_t *req);

/* The requests in flight of one node, by request id: a dense array (for
 * scans) and an open-addressing index from id to position (for lookups). */
typedef struct coord_table {
    coord_req_t **reqs; /* owned; unordered */
    uint32_t len, cap;
    uint32_t *index;    /* slot -> position + 1 (0: empty); index_cap slots */
    uint32_t index_cap; /* a power of two, at least twice cap */
    uint64_t next_id;
    coord_req_t *spare[COORD_SPARE_MAX]; /* freed requests kept for reuse */
    uint32_t nspare;
} coord_table_t;

void coord_table_init(coord_table_t *t);
void coord_table_free(coord_table_t *t);
/* A new request with a fresh id, owned by the table, zeroed but for the
 * unused targets; NULL when COORD_PENDING_MAX are in flight. */
coord_req_t *coord_table_add(coord_table_t *t, enum coord_req_kind kind);
coord_req_t *coord_table_find(const coord_table_t *t, uint64_t req_id);
/* Frees the request (its pointer becomes invalid). */
void coord_table_remove(coord_table_t *t, coord_req_t *req);
/* The earliest deadline or linger time of any request, UINT64_MAX if none. */
uint64_t coord_table_next_deadline(const coord_table_t *t);

#endif
