/* ae.h - anti-entropy sessions between two replicas, built on merkle.
 *
 * A pure, message-driven state machine. The initiator picks a peer and the
 * slots both replicate (ae_session_start); the two sides then exchange
 * messages in lock step (exactly one message in flight per session, each
 * carrying a sequence number, so duplicated or stale messages are ignored and
 * a lost one ends the session by timeout):
 *
 *   I -> R  START    the slot set, and the root hash over it (level 0)
 *   R -> I  TREE     for each node that differed, its children's hashes
 *                    (a bitmap of the children carried, then the hashes of
 *                    those that are not 0, so sparse subtrees cost little)
 *   I -> R  TREE     ... alternating, one level per message, down to the
 *                    leaves (level 6: a slot's keys split by key hash into
 *                    MERKLE_BUCKETS buckets, see merkle.h)
 *   R -> I  DIGESTS  R compared the leaf hashes: for the slots with differing
 *                    leaves, a bounded batch of (data key, key hash) over
 *                    contiguous key ranges ("segments"), each segment naming
 *                    its slot's differing buckets and carrying the digests of
 *                    the keys in those buckets only (R scans the whole slot
 *                    range and filters), so the bytes follow the keys that
 *                    differ, not the keys stored
 *   I -> R  SYNC     I compared its own keys over those ranges and buckets:
 *                    it pushes its version sets where R lacks the key or
 *                    differs, asks for R's where I lacks the key or differs,
 *                    and says where it stopped (the "cut") when its own
 *                    bounds were hit
 *   R -> I  DIGESTS  R merged the pushes; carries the values asked for (after
 *                    the merge, so I gets the merge of both) and the next
 *                    batch of digests from the cut, or the END flag
 *   ...              until R runs out of differing slots.
 * Either side ends early with END (in sync: no node differed; busy; error).
 *
 * Responder masks: R compares over the initiator's slots intersected with the
 * slots it replicates itself (ops->local_slots), and never merges keys of
 * other slots.
 *
 * Writes: every version set received goes to ops->merge, the caller's write
 * path, which merges it into local storage (versions_merge) and updates the
 * merkle tree, so storage and tree change in one place.
 *
 * Bounds: digests per message (keys_per_msg_max), bytes of version sets per
 * message (msg_bytes_max, a soft bound: a message always carries at least one
 * item, so every round makes progress), sessions at once (sessions_max), and
 * a session idle longer than timeout_ms ends (ae_tick).
 *
 * Ownership: ae_new borrows the merkle tree and the store (they must outlive
 * the ae_t) and copies cfg and ops. Outbox items own their bytes. */
#ifndef DYNIS_CORE_AE_H
#define DYNIS_CORE_AE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/merkle.h"
#include "core/store.h"
#include "core/versions.h"
#include "util/buf.h"

#define AE_SESSIONS_MAX 64
#define AE_KEYS_PER_MSG_MAX 4096        /* ceiling of keys_per_msg_max, digests and wants */
#define AE_KEY_MAX ((1u << 20) + SLOT_KEY_PREFIX_LEN) /* a data key */
#define AE_VALUE_MAX (1u << 30)         /* an encoded version set */
#define AE_SEGMENTS_MAX 1024            /* key ranges per DIGESTS message */

typedef struct ae_config {
    uint32_t keys_per_msg_max; /* digests per DIGESTS, keys per SYNC; 1..AE_KEYS_PER_MSG_MAX */
    uint64_t msg_bytes_max;    /* soft bound on version-set bytes per message */
    uint32_t sessions_max;     /* 1..AE_SESSIONS_MAX */
    uint64_t timeout_ms;       /* a session with no message for this long ends */
    /* The first session id; ids then count up. Pass a random number per
     * incarnation (from the node's PRNG): a responder refuses a START whose
     * (peer, id) it answered recently, as a duplicate. */
    uint64_t sid_base;
} ae_config_t;

/* 256 keys, 1 MiB, 8 sessions, 10 s, sid_base 1. */
void ae_config_default(ae_config_t *cfg);

typedef struct ae_ops {
    /* Merges incoming (borrowed) into the local version set of data_key and
     * stores it (updating the merkle tree). Returns 0, or < 0 to end the
     * session with an error. */
    int (*merge)(void *arg, const void *data_key, size_t key_len, const versions_t *incoming);
    /* Fills out with the slots this node replicates (for sessions it answers).
     * NULL: every slot. */
    void (*local_slots)(void *arg, merkle_slots_t *out);
    void *arg;
} ae_ops_t;

typedef struct ae_stats {
    uint64_t rounds;           /* sessions started here (as initiator) */
    uint64_t sessions_served;  /* sessions answered (as responder) */
    uint64_t completed;        /* sessions that ran to their end, either role */
    uint64_t in_sync;          /* of those, ended at the tree: nothing differed */
    uint64_t failed;           /* timed out, refused, or ended by an error */
    uint64_t trees_compared;   /* tree nodes compared */
    uint64_t slots_differing;  /* slots with a leaf found different */
    uint64_t keys_compared;    /* key digests compared */
    uint64_t keys_exchanged;   /* version sets sent plus received */
    uint64_t msgs_sent;
    uint64_t bytes_sent;
} ae_stats_t;

/* One message to send: the shell wraps bytes in a bus message (MSG_AE). */
typedef struct ae_out {
    uint64_t peer;
    buf_t bytes; /* owned */
} ae_out_t;

typedef struct ae_outbox {
    ae_out_t *items; /* owned */
    uint32_t len;
    uint32_t cap;
} ae_outbox_t;

#define AE_OUTBOX_INIT {NULL, 0, 0}

/* Frees every item's bytes, keeps the array (for the next round). */
void ae_outbox_clear(ae_outbox_t *out);
void ae_outbox_free(ae_outbox_t *out);

enum ae_status {
    AE_OK = 0,
    AE_EBUSY = -1,    /* sessions_max reached, or a session with peer is running */
    AE_EINVAL = -2,   /* empty slot set */
    AE_EMSG = -3,     /* a message did not decode */
    AE_ESTALE = -4,   /* a message for no session, or out of sequence: ignored */
    AE_ESTORE = -5,   /* the store failed; the session ended */
};

typedef struct ae ae_t;

ae_t *ae_new(const ae_config_t *cfg, const ae_ops_t *ops, merkle_t *tree, store_t *store);
void ae_free(ae_t *ae);

/* Starts a session with peer over shared (borrowed; copied): appends START to
 * out. Returns AE_OK, AE_EBUSY or AE_EINVAL. */
int ae_session_start(ae_t *ae, uint64_t now_ms, uint64_t peer, const merkle_slots_t *shared,
                     ae_outbox_t *out);
/* Handles one message from peer (bytes borrowed), appending any reply to out.
 * Returns AE_OK, or a negative ae_status (the message had no effect, or the
 * session ended). */
int ae_handle_message(ae_t *ae, uint64_t now_ms, uint64_t from_peer, const void *bytes,
                      size_t len, ae_outbox_t *out);
/* Ends sessions idle past timeout_ms (counted as failed). */
void ae_tick(ae_t *ae, uint64_t now_ms, ae_outbox_t *out);
/* The earliest session deadline, UINT64_MAX when none. */
uint64_t ae_next_deadline(const ae_t *ae);
/* Sessions running (both roles); whether one with peer is. */
uint32_t ae_sessions(const ae_t *ae);
bool ae_session_active(const ae_t *ae, uint64_t peer);
const ae_stats_t *ae_stats(const ae_t *ae);

/* --- messages (exposed for tests and fuzzing) --- */

enum ae_msg_type {
    AE_MSG_START = 1,
    AE_MSG_TREE = 2,
    AE_MSG_DIGESTS = 3,
    AE_MSG_SYNC = 4,
    AE_MSG_END = 5,
};

enum ae_end_status {
    AE_END_IN_SYNC = 0,
    AE_END_BUSY = 1,
    AE_END_ERROR = 2,
};

typedef struct ae_node_hash {
    uint32_t index;
    uint64_t hash;
} ae_node_hash_t;

/* A byte string borrowed from the decoded input (or from the encoder's caller). */
typedef struct ae_bytes {
    const uint8_t *p;
    size_t len;
} ae_bytes_t;

typedef struct ae_digest {
    ae_bytes_t key; /* data key */
    uint64_t hash;  /* merkle_key_hash */
} ae_digest_t;

/* Keys k of one slot with start <= k < end, of the given buckets only (the
 * differing leaves of the slot); an empty end runs to the slot's end. Its
 * digests are the sender's keys in that range and those buckets, in key
 * order. */
typedef struct ae_segment {
    uint16_t slot;
    uint64_t buckets; /* the buckets covered (bit b: merkle bucket b), never 0 */
    ae_bytes_t start;
    ae_bytes_t end;
    uint32_t first; /* index of its first digest in ae_msg_t.digests */
    uint32_t count;
} ae_segment_t;

typedef struct ae_kv {
    ae_bytes_t key; /* data key */
    ae_bytes_t val; /* encoded version set */
} ae_kv_t;

typedef struct ae_msg {
    uint8_t type;  /* enum ae_msg_type */
    uint64_t sid;  /* session id, chosen by the initiator */
    uint64_t seq;  /* 0 for START, +1 per message of the session */
    bool from_initiator; /* which side of session sid sent it */
    merkle_slots_t slots;    /* START */
    uint8_t level;           /* START: 0, the root's; TREE: the children's (>= 1) */
    ae_node_hash_t *nodes;   /* START: the root (index 0), the one hash sent even
                              * when 0; TREE: the children of parents whose hash
                              * is not 0, strictly increasing indices (a child
                              * of a parent that is not in nodes hashes to 0) */
    uint32_t n_nodes;
    uint32_t *parents;       /* TREE: the nodes at level - 1 whose children are
                              * compared, strictly increasing */
    uint32_t n_parents;
    bool end;                /* DIGESTS: the last message of the session */
    ae_kv_t *kvs;            /* DIGESTS: values asked for; SYNC: pushes */
    uint32_t n_kvs;
    ae_segment_t *segments;  /* DIGESTS */
    uint32_t n_segments;
    ae_digest_t *digests;    /* DIGESTS */
    uint32_t n_digests;
    ae_bytes_t *wants;       /* SYNC: data keys, strictly increasing */
    uint32_t n_wants;
    ae_bytes_t cut;          /* SYNC: where I stopped (empty: the whole batch) */
    uint8_t status;          /* END: enum ae_end_status */
} ae_msg_t;

/* Zeroes m. ae_msg_free frees its arrays (not the borrowed bytes). */
void ae_msg_init(ae_msg_t *m);
void ae_msg_free(ae_msg_t *m);
/* Appends the encoding of m to out. */
void ae_msg_encode(const ae_msg_t *m, buf_t *out);
/* Strict decode (bounds, orderings, slot prefixes, no trailing bytes) into m,
 * which borrows from bytes. Returns false and leaves m empty on bad input. */
bool ae_msg_decode(ae_msg_t *m, const void *bytes, size_t len);

#endif
