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
 * expire_interval_ms; it deletes keys whose versions all expired, and
 * tombstones, which the node writes with expire_at_ms = now +
 * tombstone_grace_ms, once that grace passed.
 *
 * Known limits: reads ask the N preference nodes only (substitutes keep
 * hints, not readable data), so a read needs R of them up; a tombstone is
 * reclaimed after its grace whether or not every replica has it (Dynamo's
 * rule, drop it once every replica holds it, is not done): a replica that
 * missed the delete for longer than the grace can bring the value back
 * through read repair or anti-entropy; a handoff waits for every new owner,
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
#include "core/coord.h"
#include "core/fd.h"
#include "core/hint.h"
#include "core/keyspace.h"
#include "core/member.h"
#include "core/ring.h"
#include "core/store.h"

#define NODE_HANDOFF_BATCH_MAX 256 /* keys handed off per tick */
#define NODE_EXPIRE_KEYS_MAX 1000  /* keys the expiry cycle visits per round (default) */

/* Test-only fault injection: each value breaks one mechanism on purpose so
 * that the simulator's oracle can show it catches the break. Never set
 * outside tests. */
enum node_test_break {
    NODE_BREAK_NONE = 0,
    NODE_BREAK_ACK_BEFORE_W,      /* the coordinator answers after its own write */
    NODE_BREAK_MERGE_DROPS_SIBLING, /* replica merges keep only the last sibling */
    NODE_BREAK_NO_FORWARD,        /* every node coordinates the writes it receives */
    NODE_BREAK_HINT_DROP,         /* substitutes acknowledge but keep no hint */
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
    uint64_t tombstone_grace_ms;   /* a tombstone is reclaimed this long after its write */
    uint64_t value_len_max;        /* APPEND's longest result (proto-max-bulk-len) */
    fd_config_t fd;
    hint_config_t hint;
    ae_config_t ae;
    enum node_test_break test_break; /* test-only fault injection, see above */
} node_config_t;

/* N=3 R=2 W=2, 2 s requests, 200 ms read repair, 1 s gossip to 3 peers,
 * 10 s anti-entropy, 1 s handoff retries, expiry rounds of
 * NODE_EXPIRE_KEYS_MAX keys every 100 ms, KEYSPACE_TOMBSTONE_GRACE_MS,
 * VERSIONS_VALUE_MAX, the modules' defaults. id, actor and host must still
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

typedef struct node_stats {
    uint64_t client_ops;
    uint64_t forwarded;       /* writes forwarded to another coordinator */
    uint64_t forward_fallbacks; /* forwards that timed out and ran here */
    uint64_t puts;            /* writes coordinated */
    uint64_t gets;            /* reads coordinated */
    uint64_t quorum_failures; /* requests answered with a quorum error */
    uint64_t read_repairs;    /* replicas repaired after reads */
    uint64_t hints_stored;
    uint64_t handoff_keys;    /* keys handed to new owners and deleted here */
    uint64_t ring_changes;
    uint64_t bad_messages;    /* bus messages that did not decode */
    uint64_t store_errors;
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
/* CONFIG SET proto-max-bulk-len: the longest value APPEND may make. */
void node_set_value_len_max(node_t *node, uint64_t value_len_max);
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
/* True while keys of slots this node no longer replicates await handoff. */
bool node_handoff_pending(const node_t *node);
/* The peer key hint.h and ae.h use for id: its first 16 hex characters. */
uint64_t node_peer_key(const char *id);

#endif
