/* node.h - one Dynamo node: the single entry point of the pure core.
 *
 * A node owns its ring, gossip view (with failure detector), hint store,
 * Merkle tree, anti-entropy sessions and requests in flight. The caller (the
 * server's shells, or the simulator) drives it with one call per event, each
 * taking the current time in ms:
 *   node_client_op    a client's single-key command
 *   node_bus_message  a message from another node
 *   node_tick         timers: request timeouts, gossip, failure detection,
 *                     hint delivery, anti-entropy, handoff after ring changes
 * and asks node_next_deadline when to call node_tick next. Every effect goes
 * to the outbox (node_outbox), which the caller drains after committing the
 * store: SEND a bus message to a node, REPLY to a client request. Effects
 * hold copies, never pointers into the node.
 *
 * Background work (hint delivery, handoff after ring changes, anti-entropy,
 * read repair) shares one budget of background_bytes_per_sec (budget.h):
 * it waits while the budget is spent (read repair is skipped), and every
 * byte it sends is charged; node_next_deadline includes the time the
 * budget is ready again while something waits for it.
 *
 * Randomness comes from a pcg32_t seeded at node_new; storage goes through
 * store.h (data, hints, merkle and meta families). The node keeps no global
 * state and never reads a clock.
 *
 * Replies to clients are coord_reply_t values (coord.h), not RESP: the shell
 * formats them for the client's protocol. Errors a client may see besides
 * strop's: "NOQUORUM ..." (W acks or R replies did not arrive in time; the
 * write may still have been stored), "CLUSTERDOWN ..." (this node has met
 * peers but not yet received their ring), "BUSY ..." (COORD_PENDING_MAX
 * requests in flight), "ERR storage failure".
 *
 * Local data: every change the node makes to its data family (client
 * writes, replica merges, handoff deletes, reclaiming, FLUSHALL) goes through
 * one place that updates both its Merkle tree and its keyspace (keyspace.h:
 * the counts DBSIZE reports, INFO's statistics, SCAN, KEYS). A client's read
 * lookup counts a keyspace hit or miss once, where its reply is evaluated:
 * at the coordinator (a forwarded SET ... GET or GETDEL at the node it was
 * forwarded to).
 * Reclaiming: node_tick runs the keyspace's expiry cycle every
 * expire_interval_ms; it deletes keys whose versions all expired at once.
 * Tombstones, which the node writes with expire_at_ms = now +
 * tombstone_grace_ms, go by Dynamo's rule: once the grace passed, the node
 * sends a REAP_CHECK carrying its stored set to every other node of the
 * key's preference list (N nodes of its current ring; all must be alive) and
 * to every other member not failed (one may hold the key for others: an old
 * owner after a ring change, a leaving node), and deletes the tombstone only
 * when all of them confirmed they hold nothing live and the tombstone or a
 * descendant (or nothing at all) and no hints for the key's preference list,
 * and the key did not change meanwhile. A node that disagrees merges the
 * tombstone as it answers (and sends what it holds, which the node merges),
 * so a later check succeeds; a node that is down, disagrees or does not
 * answer leaves the tombstone for a later round, after a backoff per key
 * (NODE_REAP_* in node_int.h bound the checks in flight and started per
 * round). node_reap.c has the details.
 *
 * Known limits: reads ask the N preference nodes only (substitutes keep
 * hints, not readable data), so a read needs R of them up; a node outside
 * the preference list that was failed while the tombstone was reclaimed,
 * holding the old value for others (for handoff or in a hint), brings it
 * back when it returns, as in Dynamo: the grace is for such late arrivals;
 * a handoff waits for every new owner,
 * so keys held for a failed owner stay until it returns or is forgotten.
 *
 * Node ids are ring.h's 40-hex-character strings. hint.h and ae.h name peers
 * with a uint64_t: the node uses the first 16 hex characters of the id
 * (node_peer_key), so ids must differ in those.
 *
 * Ownership: node_new borrows store (it must outlive the node) and copies cfg.
 * Every pointer argument is borrowed for the call. Effects in the outbox are
 * owned by the node until node_outbox_clear. */
#ifndef DYNIS_CORE_NODE_H
#define DYNIS_CORE_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ae.h"
#include "core/budget.h"
#include "core/coord.h"
#include "core/fd.h"
#include "core/hint.h"
#include "core/keyspace.h"
#include "core/member.h"
#include "core/ring.h"
#include "core/store.h"

#define NODE_HANDOFF_BATCH_MAX 256 /* keys handed off per round */
#define NODE_EXPIRE_KEYS_MAX 1000  /* keys the expiry cycle visits per round (default) */
#define NODE_BACKGROUND_BYTES_PER_SEC (10u * 1024 * 1024) /* the default budget */

/* Test-only fault injection: each value breaks one mechanism on purpose so
 * that the simulator's oracle can show it catches the break. Never set
 * outside tests. */
enum node_test_break {
    NODE_BREAK_NONE = 0,
    NODE_BREAK_ACK_BEFORE_W,      /* the coordinator answers after its own write */
    NODE_BREAK_MERGE_DROPS_SIBLING, /* replica merges keep only the last sibling */
    NODE_BREAK_NO_FORWARD,        /* every node coordinates the writes it receives */
    NODE_BREAK_HINT_DROP,         /* substitutes acknowledge but keep no hint */
    NODE_BREAK_EARLY_REAP,        /* tombstones reclaimed after the grace unconfirmed */
};

typedef struct node_config {
    char id[RING_NODE_ID_LEN + 1];
    uint64_t actor;       /* unique per node, < 2^40: the node writes as actor << 24
                           * | a generation it bumps whenever it deletes a key */
    char host[MEMBER_HOST_LEN_MAX + 1];
    uint16_t port, bus_port;
    uint32_t weight;
    char zone[RING_ZONE_LEN_MAX + 1];
    uint32_t n, r, w;              /* clamped to the cluster size per request */
    uint64_t request_timeout_ms;   /* a client request fails after this */
    uint64_t read_repair_ms;       /* late replies collected after a read's answer */
    uint64_t gossip_interval_ms;
    uint32_t gossip_fanout;        /* peers per round, <= MEMBER_TARGETS_MAX */
    uint64_t ae_interval_ms;       /* 0: no anti-entropy */
    uint64_t handoff_interval_ms;  /* how often a pending handoff is retried */
    uint64_t expire_interval_ms;   /* 0: no active expiry (reclaiming) */
    uint32_t expire_keys_max;      /* keys one expiry round visits */
    uint64_t tombstone_grace_ms;   /* a tombstone may be reclaimed this long after its
                                    * write, once every replica confirmed it */
    uint64_t value_len_max;        /* APPEND's longest result (proto-max-bulk-len) */
    uint64_t background_bytes_per_sec; /* the background budget; 0: unlimited */
    fd_config_t fd;
    hint_config_t hint;
    ae_config_t ae;
    enum node_test_break test_break; /* test-only fault injection, see above */
} node_config_t;

/* N=3 R=2 W=2, 2 s requests, 200 ms read repair, 1 s gossip to 3 peers,
 * 10 s anti-entropy, 1 s handoff retries, expiry rounds of
 * NODE_EXPIRE_KEYS_MAX keys every 100 ms, KEYSPACE_TOMBSTONE_GRACE_MS,
 * VERSIONS_VALUE_MAX, NODE_BACKGROUND_BYTES_PER_SEC, the modules' defaults. id, actor and host must still
 * be set. */
void node_config_default(node_config_t *cfg);

enum node_effect_kind {
    NODE_EFFECT_SEND,  /* send bytes to node `to` on the bus */
    NODE_EFFECT_REPLY, /* answer client request client_req_id with reply */
};

typedef struct node_effect {
    enum node_effect_kind kind;
    char to[RING_NODE_ID_LEN + 1];
    buf_t bytes;            /* SEND: one encoded msg_t */
    uint64_t client_req_id; /* REPLY */
    coord_reply_t reply;    /* REPLY */
} node_effect_t;

/* What the background budget's bytes went to (node_stats.background_bytes). */
enum node_bg_kind {
    NODE_BG_HINTS,   /* hint delivery batches */
    NODE_BG_HANDOFF, /* keys handed to new owners */
    NODE_BG_AE,      /* anti-entropy messages, both roles */
    NODE_BG_REPAIR,  /* read repair writes */
    NODE_BG_KINDS,
};

typedef struct node_stats {
    uint64_t client_ops;
    uint64_t forwarded;       /* writes forwarded to another coordinator */
    uint64_t forward_fallbacks; /* forwards that timed out and ran here */
    uint64_t puts;            /* writes coordinated */
    uint64_t gets;            /* reads coordinated */
    uint64_t quorum_failures; /* requests answered with a quorum error */
    uint64_t read_repairs;    /* replicas repaired after reads */
    uint64_t read_repairs_skipped; /* repairs not sent: the background budget was spent */
    uint64_t hints_stored;
    uint64_t handoff_keys;    /* keys handed to new owners and deleted here */
    uint64_t handoff_sent;    /* keys sent to new owners (again after a timeout) */
    uint64_t handoff_received; /* keys taken from a previous owner */
    uint64_t background_bytes[NODE_BG_KINDS]; /* charged to the budget, by kind */
    uint64_t ring_changes;
    uint64_t bad_messages;    /* bus messages that did not decode */
    uint64_t store_errors;
    uint64_t tombstones_reaped;        /* tombstones reclaimed (all replicas confirmed) */
    uint64_t tombstone_reaps_deferred; /* past their grace but left for a later round:
                                        * a replica down, disagreeing or silent */
} node_stats_t;

typedef struct node node_t;

/* A node over store, with cfg copied and its PRNG seeded with seed. Loads the
 * ring (meta family), hints and Merkle tree from the store. Returns NULL when
 * cfg is invalid or the store cannot be read. */
node_t *node_new(const node_config_t *cfg, uint64_t seed, store_t *store, uint64_t now_ms);
void node_free(node_t *node);

/* A client's command (argv[0] the name, argv[1] the key; borrowed): one of
 * the single-key string commands coord.h knows (multi-key commands are split
 * by the caller). Reads are coordinated here; writes go to the first alive
 * node of the key's preference list (FORWARD). The answer comes as a REPLY
 * effect with client_req_id, now or later (every request is answered, at the
 * latest after request_timeout_ms per coordinator tried). */
void node_client_op(node_t *node, uint64_t now_ms, uint64_t client_req_id, int argc,
                    const char *const *argv, const size_t *argvlen);
/* True when a write of key (len bytes) given to node_client_op now would be
 * coordinated here: evaluated and stored locally before node_client_op
 * returns, not forwarded. False when unsure (the caller must then assume a
 * forward). A client pipelining writes to one key may overlap them only
 * then (the shell's client.h). */
bool node_coordinates_write(const node_t *node, const char *key, size_t len);
/* A bus message (bytes borrowed) from node `from`. Malformed input is counted
 * and dropped. */
void node_bus_message(node_t *node, uint64_t now_ms, const char *from, const void *bytes,
                      size_t len);
/* Runs every timer due at now_ms. */
void node_tick(node_t *node, uint64_t now_ms);
/* When node_tick has work next (UINT64_MAX: nothing scheduled). */
uint64_t node_next_deadline(const node_t *node);

/* Adds a peer to the view (CLUSTER MEET's answer, or the caller's seed list);
 * the ring follows at the next gossip round. Returns member_upsert's code. */
int node_meet(node_t *node, uint64_t now_ms, const member_t *peer);
/* Announces that this node leaves: the ring drops it and its data moves. */
void node_leave(node_t *node, uint64_t now_ms);
/* Forgets a node (CLUSTER FORGET): it leaves the view and the ring. */
bool node_forget(node_t *node, uint64_t now_ms, const char *id);

/* The outbox: effects since the last clear, in order (borrowed). */
const node_effect_t *node_outbox(const node_t *node, size_t *count);
void node_outbox_clear(node_t *node);

/* FLUSHALL / FLUSHDB: deletes every key of the data family (the keyspace's
 * counts drop to zero) and rebuilds the Merkle tree to match. Returns 0 or a
 * negative keyspace_status. */
int node_flush(node_t *node);
/* DYN.LOCAL: this node's own stored version set of key (borrowed), read
 * without a quorum and without read repair, as a DYN.GET reply (kind
 * COORD_REPLY_CONTEXT) written to reply (initialised, owned by the caller;
 * replaced). A missing key gives the empty context and no versions. Returns
 * 0, or a negative store status (reply untouched). */
int node_local_get(node_t *node, const char *key, size_t key_len, coord_reply_t *reply);
/* CONFIG SET proto-max-bulk-len: the longest value APPEND may make. */
void node_set_value_len_max(node_t *node, uint64_t value_len_max);
/* CONFIG SET background-bytes-per-sec (0: unlimited). */
void node_set_background_rate(node_t *node, uint64_t now_ms, uint64_t bytes_per_sec);
/* The node's keyspace (owned by the node): counts, statistics, SCAN, KEYS. */
keyspace_t *node_keyspace(node_t *node);

/* Read-only views for INFO, CLUSTER and the simulator's oracle. */
const node_config_t *node_config(const node_t *node);
const ring_t *node_ring(const node_t *node);
const member_view_t *node_view(const node_t *node);
const hint_t *node_hints(const node_t *node);
const ae_stats_t *node_ae_stats(const node_t *node);
const node_stats_t *node_stats(const node_t *node);
uint64_t node_merkle_root(const node_t *node, const merkle_slots_t *mask);
/* True when this node replicates slot (is in its preference list of N). */
bool node_replicates(const node_t *node, uint16_t slot);
/* True when the node coordinates client operations: it is alone, or it has
 * heard its peers' ring (else they get CLUSTERDOWN). CLUSTER INFO's
 * cluster_state is ok only while this holds. */
bool node_ready(const node_t *node);
/* True while keys of slots this node no longer replicates await handoff. */
bool node_handoff_pending(const node_t *node);
/* True once this node left (node_leave), holds a ring without itself (the
 * others' ring) and handed off every key and hint: it then stops gossiping, and the others drop it from their view after
 * the failure detector's bound (node_timeout_ms) of silence. */
bool node_leave_done(const node_t *node);
/* Keys still held here for other nodes, and in how many slots: counted by
 * a full pass after each ring change, less the keys handed off since (both
 * 0 once the handoff is done). */
uint64_t node_handoff_left(const node_t *node, uint32_t *slots_out);
/* The background budget shared by hint delivery, handoff, anti-entropy and
 * read repair (budget.h), owned by the node. */
const budget_t *node_budget(const node_t *node);
/* The peer key hint.h and ae.h use for id: its first 16 hex characters. */
uint64_t node_peer_key(const char *id);

#endif
