/* strop.h - the string operations of one key, evaluated purely.
 *
 * The coordinator (the node's data path, node_data.c) runs a string command
 * in two pure steps:
 *   strop_parse  turns a command's arguments into a strop_op_t, answering the
 *                errors Redis gives before it looks at the key (syntax,
 *                integers, invalid expire times);
 *   strop_eval   evaluates the op against the key's current version set at
 *                now_ms and returns what to reply and, optionally, one
 *                version_write_t to apply with versions_write.
 * Nothing here formats RESP or touches storage: data in, data out.
 *
 * Semantics (Redis 7.0 for a key with at most one live version):
 * - Expired versions and tombstones are absent (lazy expiry).
 * - Plain writes (SET, DEL, APPEND, GETEX, EXPIRE, ...) use the context of
 *   everything current holds, so they supersede it; DYN.PUT and DYN.DEL use
 *   the client's decoded context and supersede only what it covers.
 * - DEL and GETDEL write a tombstone; an EXPIRE family time in the past also
 *   deletes (tombstone) and replies 1.
 * - GET with several live siblings replies all of them (STROP_REPLY_VALUES);
 *   SET and DEL supersede every sibling (SET KEEPTTL over siblings keeps no
 *   TTL: there is no single one to keep); every other command that needs one
 *   value replies STROP_REPLY_CONFLICT with the sibling count.
 * - TYPE is "string" or "none".
 *
 * Ownership: strop_op_t owns its decoded context (strop_op_free); it borrows
 * the argument bytes (value) from the caller. strop_result_t owns its buffers
 * and clock (strop_result_free) and is meant to be reused across calls: no
 * allocation happens once its buffers are large enough. */
#ifndef DYNIS_CORE_STROP_H
#define DYNIS_CORE_STROP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/vclock.h"
#include "core/versions.h"
#include "util/buf.h"

enum strop_kind {
    STROP_GET,
    STROP_SET,     /* SET key value [NX|XX] [GET] [EX|PX|EXAT|PXAT|KEEPTTL] */
    STROP_GETDEL,
    STROP_GETEX,   /* GETEX key [EX|PX|EXAT|PXAT|PERSIST] */
    STROP_APPEND,
    STROP_STRLEN,
    STROP_EXPIRE,  /* EXPIRE PEXPIRE EXPIREAT PEXPIREAT key t [NX|XX|GT|LT] */
    STROP_PERSIST,
    STROP_TTL,     /* TTL and PTTL (STROP_F_MS) */
    STROP_DEL,     /* one key of DEL */
    STROP_EXISTS,  /* one key of EXISTS */
    STROP_TYPE,
    STROP_DYN_PUT, /* DYN.PUT key context value [EX s|PX ms] */
    STROP_DYN_DEL, /* DYN.DEL key context */
};

/* op flags */
#define STROP_F_NX (1u << 0)
#define STROP_F_XX (1u << 1)
#define STROP_F_GET (1u << 2) /* SET ... GET */
#define STROP_F_GT (1u << 3)
#define STROP_F_LT (1u << 4)
#define STROP_F_MS (1u << 5)  /* PTTL: reply in milliseconds */

/* What an op does to the expiry of the version it writes. */
enum strop_expire {
    STROP_EXPIRE_NONE,    /* SET, DYN.PUT: no expiry; GETEX: leave it */
    STROP_EXPIRE_AT,      /* at when_ms (absolute, ms) */
    STROP_EXPIRE_KEEPTTL, /* SET KEEPTTL: keep the current version's */
    STROP_EXPIRE_PERSIST, /* GETEX PERSIST */
};

/* How a client's time argument reads. */
enum strop_unit {
    STROP_UNIT_EX,   /* seconds from now */
    STROP_UNIT_PX,   /* milliseconds from now */
    STROP_UNIT_EXAT, /* unix time in seconds */
    STROP_UNIT_PXAT, /* unix time in milliseconds */
};

typedef struct strop_op {
    enum strop_kind kind;
    unsigned flags;         /* STROP_F_* */
    enum strop_expire expire;
    int64_t when_ms;        /* STROP_EXPIRE_AT: absolute unix time in ms
                             * (EXPIRE family: may be in the past or < 0) */
    enum strop_unit unit;   /* GETEX: how expire_arg reads */
    const char *expire_arg; /* borrowed: GETEX's time, checked by strop_eval
                             * only when the key exists, as Redis does */
    size_t expire_arg_len;
    const void *value;      /* borrowed: SET, APPEND, DYN.PUT */
    size_t value_len;
    uint64_t value_len_max; /* APPEND: the longest result (the server's
                             * proto-max-bulk-len); strop_op_init sets
                             * VERSIONS_VALUE_MAX */
    vclock_t context;       /* owned: DYN.PUT, DYN.DEL (decoded) */
} strop_op_t;

void strop_op_init(strop_op_t *op, enum strop_kind kind);
void strop_op_free(strop_op_t *op);

/* Parses argv[0..argc) (argv[0] the command name, argv[1] the key; the arity
 * is already checked) into op for kind. now_ms turns relative times into
 * absolute ones. Returns 0, or -1 with Redis's error text (without the
 * leading '-', e.g. "ERR syntax error") in err. op borrows from argv. For
 * STROP_EXPIRE the unit comes from the name: EXPIRE, PEXPIRE, EXPIREAT,
 * PEXPIREAT; for STROP_TTL, PTTL sets STROP_F_MS. */
int strop_parse(strop_op_t *op, enum strop_kind kind, int argc, const char *const *argv,
                const size_t *argvlen, uint64_t now_ms, buf_t *err);

enum strop_reply {
    STROP_REPLY_OK,       /* +OK */
    STROP_REPLY_NIL,      /* null bulk */
    STROP_REPLY_INT,      /* integer */
    STROP_REPLY_VALUE,    /* one bulk: value */
    STROP_REPLY_VALUES,   /* live siblings of values at now_ms: nil when
                           * none, a bulk for one, else an array of bulks */
    STROP_REPLY_STATUS,   /* simple string: text */
    STROP_REPLY_ERROR,    /* error: text (static, no leading '-') */
    STROP_REPLY_CONFLICT, /* several siblings: integer is their count */
};

typedef struct strop_result {
    enum strop_reply reply;
    int64_t integer;
    const char *text;
    buf_t value;               /* owned: STROP_REPLY_VALUE's bytes */
    const versions_t *values;  /* borrowed from current: STROP_REPLY_VALUES */
    bool has_write;            /* apply write with versions_write */
    version_write_t write;     /* its pointers borrow from this result or
                                * from the op's arguments */
    vclock_t context;          /* owned: what write.context points to */
    buf_t scratch;             /* owned: a rewritten value (APPEND, EXPIRE) */
} strop_result_t;

void strop_result_init(strop_result_t *res);
void strop_result_free(strop_result_t *res);

/* Evaluates op against current (borrowed; NULL or empty when the key is
 * absent) at now_ms and fills res (previous contents replaced). res->values
 * borrows current; res->write borrows only res and op's arguments, so the
 * write may be applied to current itself. A tombstone write has
 * expire_at_ms 0: the node sets its grace period (see keyspace.h). */
void strop_eval(const versions_t *current, uint64_t now_ms, const strop_op_t *op,
                strop_result_t *res);

/* The text of STROP_REPLY_CONFLICT for n siblings, into out (replaced). */
void strop_conflict_text(uint32_t n, buf_t *out);

#endif
