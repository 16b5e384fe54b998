/* versions.h - the version set stored under every key: siblings with dotted
 * version vectors.
 *
 * A version is one value written by one coordinator event: its dot (actor,
 * counter) names the write, its past is the causal context the writer had read
 * (the clock it supersedes). A version v is obsolete when another version's
 * past covers v's dot, or when a write's context covers it. This is Riak 2.0's
 * dotted version vector scheme: two writes made from the same context get two
 * different dots, so neither can silently replace the other even when the same
 * node coordinates both (plain per-node vector clocks get this wrong).
 *
 * A version set holds the live siblings of a key in a deterministic order
 * (by dot: actor, then counter), so every replica returns siblings in the same
 * order. Tombstones (DEL) are versions without a value; expiry is a per-version
 * absolute time in ms (0: never). Readers treat an expired version like a
 * tombstone.
 *
 * The context that DYN.GET returns is the encoding of versions_context(): the
 * merge of every sibling's past and dot.
 *
 * Ownership: versions_t owns its items and their values and clocks. */
#ifndef DYNIS_CORE_VERSIONS_H
#define DYNIS_CORE_VERSIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/vclock.h"
#include "util/buf.h"

/* The most siblings one key may hold. A coordinator refuses a write that would
 * pass it (VERSIONS_ETOOMANY, which the client sees as an error asking it to
 * resolve siblings); a merge of replicas never drops a sibling to meet it. */
#define VERSIONS_SIBLINGS_MAX 64
/* The longest value a decoder accepts (proto-max-bulk-len's ceiling). */
#define VERSIONS_VALUE_MAX (512u * 1024 * 1024)

typedef struct version {
    dot_t dot;
    vclock_t past;
    uint64_t expire_at_ms; /* 0: never expires */
    bool tombstone;
    char *value; /* owned; NULL for a tombstone or an empty value */
    size_t value_len;
} version_t;

typedef struct versions {
    version_t *items; /* owned, sorted by dot */
    uint32_t len;
    uint32_t cap;
} versions_t;

#define VERSIONS_INIT {NULL, 0, 0}

enum versions_status {
    VERSIONS_OK = 0,
    VERSIONS_ETOOMANY = -1,
    VERSIONS_ECORRUPT = -2,
};

void versions_init(versions_t *vs);
void versions_free(versions_t *vs);
void versions_copy(versions_t *dst, const versions_t *src);

/* Encodes / decodes the stored form. decode replaces vs's contents; on
 * malformed input it returns VERSIONS_ECORRUPT and leaves vs empty. */
void versions_encode(const versions_t *vs, buf_t *out);
int versions_decode(versions_t *vs, const void *bytes, size_t len);

/* A read that needs one live value and no set: the stored bytes are
 * checked as versions_decode checks them, but nothing is decoded or
 * allocated. VERSIONS_PEEK_LIVE: one sibling, live at now_ms, *value
 * (borrowed from bytes) and *value_len set; VERSIONS_PEEK_NONE: no sibling,
 * or one dead one (tombstone or expired); VERSIONS_PEEK_SEVERAL: more than
 * one sibling (not checked further: decode the set); VERSIONS_ECORRUPT:
 * versions_decode would refuse it. */
enum versions_peek {
    VERSIONS_PEEK_NONE = 0,
    VERSIONS_PEEK_LIVE = 1,
    VERSIONS_PEEK_SEVERAL = 2,
};
int versions_peek_single(const void *bytes, size_t len, uint64_t now_ms, const uint8_t **value,
                         size_t *value_len);

/* The merge of every sibling's past and dot: what a reader has seen. */
void versions_context(const versions_t *vs, vclock_t *out);

/* The coordinator's write. Drops every sibling whose dot context covers, adds
 * a new version with dot (actor, n), where n is one more than any counter of
 * actor in vs or context, and past = context. value is copied. Returns
 * VERSIONS_OK and the new dot, or VERSIONS_ETOOMANY (vs unchanged). */
typedef struct version_write {
    const vclock_t *context; /* borrowed; NULL: the empty clock */
    const void *value;
    size_t value_len;
    uint64_t expire_at_ms;
    bool tombstone;
} version_write_t;
int versions_write(versions_t *vs, uint64_t actor, uint64_t now_ms,
                   const version_write_t *w, dot_t *dot_out);

/* Replica merge: adds every version of src to dst, keeps one copy of equal
 * dots, and drops every version whose dot another version's past covers.
 * Commutative, associative and idempotent. Returns true if dst changed. */
bool versions_merge(versions_t *dst, const versions_t *src);

/* True when v is a tombstone or has expired at now_ms. */
bool version_is_dead(const version_t *v, uint64_t now_ms);
/* The number of siblings that are not dead at now_ms. */
uint32_t versions_live_count(const versions_t *vs, uint64_t now_ms);
/* The i-th live sibling at now_ms (in sibling order), or NULL. */
const version_t *versions_live_at(const versions_t *vs, uint64_t now_ms, uint32_t i);

/* The printable (base64url) form of a context, as DYN.GET returns it, and its
 * parser (false on malformed input). */
void vclock_context_encode(const vclock_t *vc, buf_t *out);
bool vclock_context_decode(vclock_t *vc, const void *text, size_t len);

#endif
