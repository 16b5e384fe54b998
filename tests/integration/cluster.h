/* cluster.h - clusters of real dynis-server nodes for the integration tests:
 * K nodes started with procs.h's proc_start_node (each on its own client
 * and bus port, in its own directory), formed by CLUSTER MEET, and a
 * bounded wait until every running node agrees on the membership and the
 * ring; plus readers of INFO and CLUSTER INFO fields.
 *
 * "Agree" means: every running node reports cluster_state:ok and the
 * expected cluster_known_nodes, and all of them report the same
 * cluster_current_epoch (at least 1 once there are several nodes: a ring
 * was built) and the same CLUSTER SLOTS reply (flattened to text by
 * cluster_slots_text). Waits poll every CLUSTER_POLL_MS and give up after
 * their timeout; nothing is timed. */
#ifndef DYNIS_TESTS_CLUSTER_H
#define DYNIS_TESTS_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>

#include <hiredis/hiredis.h>

#include "procs.h"

#define CLUSTER_NODES_MAX 8
#define CLUSTER_POLL_MS 100
#define CLUSTER_FORM_TIMEOUT_MS 20000
#define CLUSTER_FIELD_MAX 256

typedef struct cluster {
    int count;
    proc_t *node[CLUSTER_NODES_MAX]; /* owned; a node may be stopped */
} cluster_t;

/* Starts count nodes with the extra options (borrowed, NULL-terminated, or
 * NULL; they must outlive the cluster), without meeting. Returns the owned
 * cluster, or NULL (the nodes that started are stopped) on failure. */
cluster_t *cluster_new(int count, const char *const *extra);
/* As cluster_new, node i with its own options extra_of[i] (borrowed, as
 * extra). */
cluster_t *cluster_new_each(int count, const char *const *const *extra_of);
/* Stops every node and frees cl (NULL ok). */
void cluster_free(cluster_t *cl);
/* Node 0 sends CLUSTER MEET 127.0.0.1 <port> <bus port> for every other
 * node. Returns 0 when each answered +OK, else -1 (the reply printed). */
int cluster_meet(cluster_t *cl);
/* Waits up to timeout_ms until every running node agrees (see above) with
 * `known` known nodes. Returns true when they do; else prints what each
 * node reported last. */
bool cluster_wait_agree(cluster_t *cl, int known, int timeout_ms);
/* cluster_new, cluster_meet, cluster_wait_agree(count): the owned, formed
 * cluster, or NULL (stopped, the logs printed) when it did not form. */
cluster_t *cluster_form(int count, const char *const *extra);
/* cluster_form with per-node options, as cluster_new_each. */
cluster_t *cluster_form_each(int count, const char *const *const *extra_of);
/* A new connection to node i (owned: redisFree), or NULL. */
redisContext *cluster_connect(const cluster_t *cl, int i);
/* Prints the end of every node's log to stderr. */
void cluster_print_logs(const cluster_t *cl);

/* The value of `field` in the reply of INFO <section> (section NULL: plain
 * INFO) copied to out (cap bytes). Returns 0, or -1 when it is missing or
 * the command failed. */
int info_field(redisContext *c, const char *section, const char *field, char *out, size_t cap);
/* The same for CLUSTER INFO. */
int cluster_info_field(redisContext *c, const char *field, char *out, size_t cap);
/* A numeric field of CLUSTER INFO, or -1 when missing. */
long long cluster_info_ll(redisContext *c, const char *field);
/* The reply of CLUSTER SLOTS flattened to text (owned: free), or NULL when
 * the command failed or was answered by an error. */
char *cluster_slots_text(redisContext *c);
/* The node-local DBSIZE, or -1 when it failed. */
long long node_dbsize(redisContext *c);

#endif
