/* msg.h - the messages nodes send each other on the bus, and their encoding.
 *
 * A message is a small tagged record: a type, the sender's node id, a request
 * id that ties replies to requests, and the type's fields. Variable parts (a
 * key, an encoded version set, a forwarded client operation, a gossip or
 * anti-entropy payload) are byte strings; msg does not interpret them, so it
 * depends on no other core module. The node decodes them with the owning
 * module's decoder (versions_decode, coord_op_decode, member/ring/ae decoders).
 *
 * The payload encoding is built with buf_t and read with cursor_t: version
 * byte, type, sender, request id, then the type's fields (varints and
 * length-prefixed byte strings). Decoding is strict: an unknown type, a field
 * past its bound, a short input or trailing bytes all fail. On the wire the
 * bus frames each payload as a RESP bulk string (the shell's job).
 *
 * Ownership: a decoded msg_t copies the node ids and borrows its other byte
 * strings from the input, which must outlive it; msg_t owns nothing and needs
 * no free. */
#ifndef DYNIS_CORE_MSG_H
#define DYNIS_CORE_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

#define MSG_WIRE_VERSION 2 /* 2: anti-entropy trees with leaves per (slot, bucket) */
/* The longest key a message may carry (Redis's own key limit is larger, but a
 * bus message carrying a larger key is refused). */
#define MSG_KEY_MAX (1u << 20)
/* The longest body: a version set of large siblings, or a gossip/AE payload. */
#define MSG_BODY_MAX (1u << 30)
/* The longest node id (ring.h's ids are 40 hex characters). */
#define MSG_NODE_ID_MAX 40

/* X-macro: type name, number, whether the type carries a key, a hint target,
 * a status, a body. Keys are user keys (the receiver computes the slot).
 *   PUT_REPLICA   store these versions (merge); req_id 0 for read repair
 *   GET_REPLICA   send your versions of key; GET_REPLY answers
 *   FORWARD       coordinate this client op (body: coord_op encoding)
 *   FORWARD_REPLY its answer (body: coord_reply encoding)
 *   HINT_DELIVER  a hinted write for you (req_id: the hint's stamp)
 *   HANDOFF       a key of a slot the sender no longer replicates
 *   *_ACK         echo req_id and key
 *   GOSSIP        member digest + ring;  AE: an ae_msg_t
 *   REAP_CHECK    may the sender reclaim its tombstone of key? body: the
 *                 sender's stored version set (all dead, past their grace)
 *   REAP_ACK      OK: this replica holds nothing live and every tombstone of
 *                 the set or a descendant (or nothing at all); DISAGREE: it
 *                 does not (it merged the set meanwhile, and body is what it
 *                 holds now); ERROR: storage failure */
#define MSG_TYPES(X)                                      \
    X(PUT_REPLICA, 1, true, true, false, true)            \
    X(PUT_ACK, 2, false, false, true, false)              \
    X(GET_REPLICA, 3, true, false, false, false)          \
    X(GET_REPLY, 4, false, false, true, true)             \
    X(FORWARD, 5, false, false, false, true)              \
    X(FORWARD_REPLY, 6, false, false, true, true)         \
    X(HINT_DELIVER, 7, true, false, false, true)          \
    X(HINT_ACK, 8, true, false, true, false)              \
    X(GOSSIP, 9, false, false, false, true)               \
    X(AE, 10, false, false, false, true)                  \
    X(HANDOFF, 11, true, false, false, true)              \
    X(HANDOFF_ACK, 12, true, false, true, false)          \
    X(REAP_CHECK, 13, true, false, false, true)           \
    X(REAP_ACK, 14, true, false, true, true)

enum msg_type {
#define MSG_ENUM(name, num, k, h, s, b) MSG_##name = num,
    MSG_TYPES(MSG_ENUM)
#undef MSG_ENUM
    MSG_TYPE_END
};

/* Status values of replies. */
enum msg_status {
    MSG_STATUS_OK = 0,      /* done (GET_REPLY: found, body is the versions) */
    MSG_STATUS_MISSING = 1, /* GET_REPLY: the replica has no version of the key */
    MSG_STATUS_ERROR = 2,   /* the replica could not do it (storage failure) */
    MSG_STATUS_DISAGREE = 3, /* REAP_ACK: the replica holds what the check does not cover */
    MSG_STATUS_MAX = MSG_STATUS_DISAGREE,
};

typedef struct msg {
    enum msg_type type;
    char from[MSG_NODE_ID_MAX + 1];     /* sender's node id */
    uint64_t req_id;                    /* 0: no reply expected */
    char hint_for[MSG_NODE_ID_MAX + 1]; /* PUT_REPLICA: the intended owner when
                                         * sent to a substitute, else "" */
    uint8_t status;    /* enum msg_status, on replies */
    const uint8_t *key; /* borrowed */
    size_t key_len;
    const uint8_t *body; /* borrowed */
    size_t body_len;
} msg_t;

/* The type's name ("PUT_REPLICA"), or "?" for an unknown type. */
const char *msg_type_name(enum msg_type type);

/* Appends the encoding of m to out. m's fields that its type does not carry
 * are ignored. */
void msg_encode(const msg_t *m, buf_t *out);

/* Decodes bytes into m (borrowing from bytes). Returns false on any malformed
 * input, leaving m zeroed. */
bool msg_decode(msg_t *m, const void *bytes, size_t len);

#endif
