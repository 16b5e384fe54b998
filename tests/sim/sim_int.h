/* sim_int.h - the simulator's internals, shared by its files:
 *   sim_world.c   nodes, the virtual network, faults, the event loop, phases
 *   sim_client.c  the workload's clients
 *   sim_oracle.c  the key table, what was acknowledged, traces, final checks */
#ifndef DYNIS_SIM_INT_H
#define DYNIS_SIM_INT_H

#include "core/mem_store.h"
#include "core/node.h"
#include "sim.h"
#include "sim_queue.h"
#include "util/buf.h"
#include "util/pcg.h"

#define SIM_CLIENTS 8
#define SIM_OWN_KEYS 6       /* single-writer keys per client */
#define SIM_CARTS 12         /* shared add-to-cart keys */
#define SIM_REGS 4           /* shared registers (concurrent SETs) */
#define SIM_KEYS_MAX 4096
#define SIM_TRACE_MAX 128     /* trace records kept per key */
#define SIM_T0_MS 1000000    /* virtual time at the start (room for skew) */
#define SIM_CLIENT_TIMEOUT_MS 3000
#define SIM_THINK_MS_MAX 20
#define SIM_QUIET_MS_MAX 120000 /* the quiet phase gives up after this */
#define SIM_TOMBSTONE_GRACE_MS 3000 /* short, so tombstones are reclaimed in a run */
#define SIM_SAMPLE_MS 1000   /* the oracle looks for tombstones this often: less than
                              * the grace, so it sees each before it can go */
#define SIM_PROBES 40
#define SIM_KEY_INDEX 16384  /* open-addressing index over keys (power of 2) */

enum sim_trace_kind {
    SIM_TR_OP,      /* client a sends op x through node b */
    SIM_TR_REPLY,   /* client a got: x = 0 ok / 1 error, dot (y, z) */
    SIM_TR_MSG,     /* message type x delivered from a to b */
    SIM_TR_DROP,    /* message type x from a to b dropped */
    /* node-level events, in the run's fault trace (key -1): */
    SIM_TR_CRASH,   /* node a crashed (x = 1: in the middle of an event) */
    SIM_TR_RESTART, /* node a restarted */
    SIM_TR_PARTITION, /* the network was cut (x = 1: one way, a -> b) */
    SIM_TR_HEAL,    /* every cut was healed */
    SIM_TR_JOIN,    /* node a joined through node b */
    SIM_TR_LEAVE,   /* node a started leaving */
};

typedef struct sim_trace_rec {
    uint64_t t;
    uint8_t kind;
    uint8_t a, b;
    uint64_t x, y, z;
} sim_trace_rec_t;

typedef struct sim_key {
    char *name;
    size_t len;
    int owner;        /* the single writer client, or -1 for shared keys */
    bool cart;
    dot_t *dots;      /* acknowledged writes */
    int32_t *sup;     /* per dot: the later acknowledged write whose past covered
                       * it when written (causally superseded), or -1 */
    bool *tomb;       /* per dot: the write was a delete (a tombstone) */
    uint32_t ndots, capdots;
    vclock_t deleted; /* the merged pasts of the acknowledged deletes: what they
                       * superseded, which must never be live again */
    vclock_t tombs_seen; /* the merged pasts of every tombstone seen in a store,
                          * acknowledged or not (sim_oracle_sample) */
    char **items;     /* acknowledged cart items */
    uint32_t nitems, capitems;
    sim_trace_rec_t trace[SIM_TRACE_MAX];
    uint64_t ntrace;
} sim_key_t;

typedef struct sim_node {
    char id[RING_NODE_ID_LEN + 1];
    mem_store_t *ms;
    store_t store;
    node_t *node;   /* NULL while crashed or removed */
    int64_t skew_ms;
    bool member;    /* part of the cluster (joined, not removed) */
    bool leaving;
    uint32_t life;
    uint64_t down_until; /* restart time while crashed */
    uint64_t tick_floor; /* no tick before this (one tick per ms at most) */
} sim_node_t;

enum sim_client_phase {
    SIM_CLIENT_IDLE,
    SIM_CLIENT_WAIT,      /* for a SET, DEL, GET or probe */
    SIM_CLIENT_CART_READ, /* for DYN.GET, then sends DYN.PUT */
    SIM_CLIENT_CART_PUT,
};

typedef struct sim_client {
    enum sim_client_phase phase;
    uint32_t seq;       /* of the current request */
    uint32_t wake;      /* the wake-up event that is current */
    int key;
    int op;             /* enum sim_op */
    char item[32];
    buf_t value;        /* what is being written */
    bool stopped;
} sim_client_t;

#define SIM_CLIENT_REQS 64 /* recent requests a client remembers */

/* What a client asked, kept to attribute late replies. */
typedef struct sim_req_rec {
    uint32_t seq;
    int key;
    int op;
    char item[32];
} sim_req_rec_t;

enum sim_op { SIM_OP_SET, SIM_OP_DEL, SIM_OP_GET, SIM_OP_CART_GET, SIM_OP_CART_PUT, SIM_OP_PROBE };

typedef struct sim {
    sim_options_t opts;
    sim_summary_t *sum;
    FILE *out;
    pcg32_t net_rng, fault_rng, work_rng;
    uint64_t now;
    sim_queue_t q;
    sim_node_t nodes[SIM_NODES_MAX];
    uint32_t nnodes;
    bool blocked[SIM_NODES_MAX][SIM_NODES_MAX];
    uint32_t drop_permille, dup_permille;
    bool faulty;         /* faults are being injected (workload phase) */
    uint64_t next_fault_ms;
    uint64_t next_sample_ms; /* sim_oracle_sample */
    sim_client_t clients[SIM_CLIENTS];
    sim_req_rec_t recs[SIM_CLIENTS][SIM_CLIENT_REQS];
    uint64_t ops_issued;
    bool probing;
    sim_key_t keys[SIM_KEYS_MAX];
    uint32_t nkeys;
    uint32_t key_index[SIM_KEY_INDEX]; /* key number + 1; 0: empty */
    uint64_t violations_printed;
    sim_trace_rec_t faults[SIM_TRACE_MAX]; /* the last node-level events */
    uint64_t nfaults;
} sim_t;

/* sim_world.c */
uint64_t sim_node_now(const sim_t *s, uint32_t i);
/* True when node i is up and a cluster member. */
bool sim_node_usable(const sim_t *s, uint32_t i);
/* Drains node i's outbox after an event (commit first). */
void sim_after_event(sim_t *s, uint32_t i);
uint32_t sim_write_quorum(const sim_t *s);

/* sim_client.c */
void sim_client_wake(sim_t *s, uint32_t c, uint32_t wake);
void sim_client_reply(sim_t *s, uint32_t via, const node_effect_t *e);
void sim_clients_start(sim_t *s);
bool sim_clients_idle(const sim_t *s);
/* Issues one probe write through node via; returns its client request id. */
void sim_probe(sim_t *s, uint32_t via, uint32_t n);

/* sim_oracle.c */
int sim_key_find(sim_t *s, const void *name, size_t len);
int sim_key_add(sim_t *s, const char *name, int owner, bool cart);
void sim_trace(sim_t *s, int key, enum sim_trace_kind kind, uint32_t a, uint32_t b, uint64_t x,
               uint64_t y, uint64_t z);
/* Notes a message delivered or dropped, in the trace of its key. */
void sim_trace_msg(sim_t *s, enum sim_trace_kind kind, uint32_t from, uint32_t to,
                   const void *bytes, size_t len);
/* Counts a violation and prints it (only the first one unless --verbose);
 * returns whether it was printed. */
bool sim_violation(sim_t *s, int key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* An acknowledged write of key: checks W durable copies now, records it. */
void sim_oracle_acked(sim_t *s, int key, dot_t dot);
void sim_oracle_cart_item(sim_t *s, int key, const char *item);
/* Notes every tombstone the stores hold now: a write a tombstone covers may
 * be gone once that tombstone is reclaimed, acknowledged or not. */
void sim_oracle_sample(sim_t *s);
/* The final checks, after the quiet phase. */
void sim_oracle_final(sim_t *s);
/* True when every replica of every key agrees (the quiet phase's goal). */
bool sim_oracle_converged(sim_t *s);
void sim_oracle_free(sim_t *s);
/* Reads node i's stored versions of key (data family); 1 found. */
int sim_read_data(sim_t *s, uint32_t i, const sim_key_t *k, versions_t *vs);

#endif
