/* cluster_reply.h - the replies of the CLUSTER command family, in Redis
 * Cluster 7.0's formats, rendered from the ring and the gossip view.
 *
 * Pure: every function reads a cluster_src_t (the ring, the member view, this
 * node's id, N and the bus counters) and writes one reply, so the CLUSTER
 * handler only gathers those and calls cluster_reply_command; MEET and FORGET
 * change the node and stay with the handler.
 *
 * How a Dynamo ring reads as a Redis Cluster (DESIGN.md section 4):
 *   SLOTS   one entry per run of slots with the same preference list of N
 *           (ring_range_next): its nodes in preference order, the first as
 *           master, the rest as replicas. Nodes that cannot be routed to
 *           (failed, left, or without an address) are skipped, as Redis skips
 *           failed replicas, so the master is the first reachable node of the
 *           list, the key's coordinator; when none is left this node stands
 *           in (it forwards). Adjacent runs that render alike are merged, and
 *           every one of the SLOT_COUNT slots is covered once. The reply
 *           opens with one single-slot, master-only entry per master (the
 *           first slot it is master of), then the runs in slot order: clients
 *           that keep the role a node has in the first entry naming it
 *           (redis-py's RedisCluster) then see every node as a primary,
 *           though each is also a replica of other runs.
 *   NODES   one line per node known to the ring or the view, every one a
 *           master ("-" as master id) listing the slots it owns, as ranges
 *           "a-b" (ownership moves in RING_CHUNK_SLOTS chunks, so a line has
 *           at most RING_CHUNK_COUNT ranges). Flags: myself, master, fail? (suspect), fail
 *           (failed or left), noaddr (in the ring but not in the view).
 *   SHARDS  one shard per node: the slots it owns as [start, end, ...], its
 *           own entry as "master", then as "replica" every other node that
 *           follows it in a preference list of one of its slots.
 *   INFO    owner-based slot counts (ok / pfail / fail by the owner's state);
 *           cluster_state is ok while the node is ready (src->ready: it
 *           coordinates commands rather than answer CLUSTERDOWN, so a tool
 *           that waits for ok can then send them), the ring is not empty and
 *           every slot has a node in its preference list of N that is not
 *           failed.
 * The config epoch of every node and both INFO epochs are the ring's epoch.
 *
 * Ownership: every pointer argument is borrowed for the call only. */
#ifndef DYNIS_PROTO_CLUSTER_REPLY_H
#define DYNIS_PROTO_CLUSTER_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/member.h"
#include "core/ring.h"
#include "proto/reply.h"
#include "util/buf.h"

/* What the CLUSTER replies are rendered from. */
typedef struct cluster_src {
    const ring_t *ring;             /* borrowed */
    const member_view_t *members;   /* borrowed; holds this node */
    const char *myid;               /* borrowed; this node's id */
    size_t replicas;                /* N, the preference-list length listed */
    uint64_t messages_sent;         /* bus messages, for CLUSTER INFO */
    uint64_t messages_received;
    bool ready; /* node_ready: the node coordinates client commands */
} cluster_src_t;

/* Appends CLUSTER INFO's text ("name:value\r\n" lines) to out. */
void cluster_info_text(const cluster_src_t *src, buf_t *out);
/* Appends CLUSTER NODES's text (one "\n"-terminated line per node) to out. */
void cluster_nodes_text(const cluster_src_t *src, buf_t *out);

/* CLUSTER INFO and CLUSTER NODES: their text as a verbatim string ("txt"). */
void cluster_reply_info(const cluster_src_t *src, reply_t *r);
void cluster_reply_nodes(const cluster_src_t *src, reply_t *r);
/* CLUSTER SLOTS: [[start, end, [host, port, id, {}], ...], ...]. */
void cluster_reply_slots(const cluster_src_t *src, reply_t *r);
/* CLUSTER SHARDS: [{slots: [...], nodes: [{id, port, ip, endpoint, role,
 * replication-offset, health}, ...]}, ...]. */
void cluster_reply_shards(const cluster_src_t *src, reply_t *r);
/* CLUSTER MYID: this node's id as a bulk string. */
void cluster_reply_myid(const cluster_src_t *src, reply_t *r);
/* CLUSTER KEYSLOT: the slot of key (len bytes) as an integer. */
void cluster_reply_keyslot(reply_t *r, const void *key, size_t len);

/* Runs the pure subcommands of CLUSTER: argv[1] (any case) is INFO, NODES,
 * SLOTS, SHARDS, MYID, KEYSLOT or HELP. Wrong arity gets Redis's
 * "'cluster|info'" error. Returns true when it wrote the reply, false
 * (writing nothing) for any other subcommand, which the caller handles
 * (MEET, FORGET) or answers with cluster_reply_unknown. argc >= 2. */
bool cluster_reply_command(const cluster_src_t *src, int argc, const char *const *argv,
                           const size_t *argvlen, reply_t *r);
/* "ERR unknown subcommand '<name>'. Try CLUSTER HELP." */
void cluster_reply_unknown(reply_t *r, const char *name, size_t len);

#endif
