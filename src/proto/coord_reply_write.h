/* coord_reply_write.h - RESP for the cluster node's answers: one
 * coord_reply_t (src/core/coord.h) as the single-key command's reply, and
 * the gathering of the per-key answers of a multi-key command into the one
 * reply Redis gives.
 *
 * Every keyed string command runs on the node (src/core/node.h), which
 * answers each single-key operation with a coord_reply_t, now or later. This
 * module is the only place that turns those into RESP:
 *   GET, GETDEL, GETEX ...  nil, a bulk, or an array of the live siblings;
 *   DYN.GET                 [context, value, ...];
 *   errors                  the node's text ("NOQUORUM ...", "ERR ...");
 *   CONFLICT                "CONFLICT key has N siblings; resolve with
 *                           DYN.GET and DYN.PUT".
 * A multi-key command is split by its handler (cmd_keys.c) into one
 * operation per key and gathered here:
 *   GATHER_ONE   the single reply, written as it arrives;
 *   GATHER_MGET  an array, one element per key as GET renders it (a key
 *                with siblings gives a nested array);
 *   GATHER_MSET  +OK once every key acknowledged;
 *   GATHER_SUM   DEL and EXISTS: the sum of the integers.
 * When any key's operation failed, the whole command answers the error of
 * the first such key (in argument order), after every answer is in.
 *
 * Ownership: a gather_t owns its copies (gather_free); replies passed in
 * are borrowed for the call. */
#ifndef DYNIS_PROTO_COORD_REPLY_WRITE_H
#define DYNIS_PROTO_COORD_REPLY_WRITE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/coord.h"
#include "proto/reply.h"

/* Keys of one multi-key command (the request parser's argument ceiling). */
#define GATHER_KEYS_MAX (1u << 20)

/* Writes cr as the reply of its single-key command; expiry is judged at
 * now_ms. */
void coord_reply_write(reply_t *r, const coord_reply_t *cr, uint64_t now_ms);

enum gather_kind {
    GATHER_ONE,  /* one key: its reply as is */
    GATHER_MGET, /* an array of GET replies */
    GATHER_MSET, /* +OK */
    GATHER_SUM,  /* an integer: the sum (DEL, EXISTS) */
};

typedef struct gather {
    enum gather_kind kind;
    uint32_t total;       /* answers expected */
    uint32_t done;        /* answers received */
    int64_t sum;          /* GATHER_SUM */
    coord_reply_t *each;  /* GATHER_MGET: one per key (owned) */
    uint32_t error_at;    /* the first failed key, total when none */
    coord_reply_t error;  /* its answer */
} gather_t;

/* An idle gather (nothing expected). */
void gather_init(gather_t *g);
void gather_free(gather_t *g);
/* Expects total (1..GATHER_KEYS_MAX) answers of kind; GATHER_ONE takes 1. */
void gather_begin(gather_t *g, enum gather_kind kind, uint32_t total);
/* Records the answer to operation idx (< total, each once). Returns true
 * when it completed the command: the reply is then written to r and g is
 * idle again. */
bool gather_add(gather_t *g, uint32_t idx, const coord_reply_t *cr, reply_t *r,
                uint64_t now_ms);
/* True while answers are expected. */
static inline bool gather_busy(const gather_t *g)
{
    return g->done < g->total;
}

#endif
