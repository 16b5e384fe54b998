/* sim.h - the deterministic simulator: many nodes of the pure core in one
 * process, a virtual clock, a faulty virtual network, clients, and an oracle.
 *
 * One run (sim_run) is a pure function of its options: the seed drives every
 * random choice (network delays, drops, duplicates, partitions, crashes,
 * storage faults, clock skew, workload), so the same seed prints the same
 * bytes. A run has phases:
 *   1. workload: clients issue SET/GET/DEL and add-to-cart read-modify-writes
 *      (DYN.GET then DYN.PUT) through random nodes while faults are injected;
 *   2. heal: partitions removed, the network made reliable, crashed nodes
 *      restarted with their durable store;
 *   3. availability probe: with at most N-W nodes down (and detected), every
 *      write through a live node must succeed (sloppy quorum);
 *   4. quiet: no clients; gossip, hinted handoff, anti-entropy and handoff run
 *      until replicas converge (bounded);
 *   5. the oracle's final checks.
 * On a violation the run prints the seed and the trace of the offending key.
 *
 * The driver (sim_main.c) parses the command line and sweeps seeds. */
#ifndef DYNIS_SIM_H
#define DYNIS_SIM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/node.h"

#define SIM_NODES_MAX 12 /* nodes at once, joins included */

enum sim_faults {
    SIM_FAULTS_NONE,  /* a reliable network, no crashes: no sibling may appear */
    SIM_FAULTS_NET,   /* delays, drops, duplicates, reordering, partitions */
    SIM_FAULTS_CRASH, /* crashes and restarts, storage faults */
    SIM_FAULTS_ALL,   /* both, plus clock skew, a join and a removal */
};

typedef struct sim_options {
    uint64_t seed;
    uint32_t nodes;   /* 3..9 at the start */
    enum sim_faults faults;
    uint32_t ops;     /* client operations in the workload phase */
    uint32_t n, r, w;
    uint64_t budget;  /* background bytes per second of every node, 0: unlimited */
    enum node_test_break brk; /* test-only: break one mechanism */
    bool verbose;     /* print every violation's trace, not only the first */
} sim_options_t;

typedef struct sim_summary {
    uint64_t ops, acked, failed, timed_out;
    uint64_t writes_acked, reads_ok, carts_acked;
    uint64_t siblings_seen;   /* replies that showed more than one sibling */
    uint64_t final_siblings;  /* keys holding siblings at the end */
    uint64_t hints_stored, hints_delivered;
    uint64_t read_repairs, ae_keys, handoff_keys, forwards;
    uint64_t tombstones_reaped, reaps_deferred;
    uint64_t background_bytes, background_deferred, read_repairs_skipped;
    uint64_t msgs_sent, msgs_dropped, msgs_duplicated;
    uint64_t crashes, partitions, storage_faults, joins, leaves;
    uint64_t probes, probes_failed;
    uint64_t violations;
    uint64_t sim_ms; /* virtual time the run took */
} sim_summary_t;

/* Runs one simulation, printing its summary (and violations) to out.
 * Returns the number of violations. */
uint64_t sim_run(const sim_options_t *opts, sim_summary_t *sum, FILE *out);

const char *sim_faults_name(enum sim_faults f);
/* Parses a break name ("ack-before-w", ...); false if unknown. */
bool sim_break_parse(const char *name, enum node_test_break *out);

#endif
