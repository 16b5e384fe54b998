/* fd.h - the failure detector: phi accrual over heartbeat arrivals.
 *
 * For each peer (named by its node id) fd keeps the last FD_WINDOW_MAX
 * inter-arrival times of its heartbeats (Hayashibara et al., "The phi accrual
 * failure detector"). With exponentially distributed arrivals of mean m, the
 * suspicion after t ms of silence is phi = (t / m) * log10(e): the minus log10
 * of the probability that a live peer stays silent that long. phi needs no
 * libm. A peer is
 *   FD_ALIVE   while phi < phi_threshold,
 *   FD_SUSPECT once phi >= phi_threshold,
 *   FD_FAILED  once it has been silent longer than node_timeout_ms, whatever
 *              phi says (the hard bound).
 * A heartbeat makes a peer alive again. Pure: time comes in as now_ms.
 *
 * Ownership: fd_new returns an fd the caller frees with fd_free; peer ids are
 * copied, never kept. */
#ifndef DYNIS_CORE_FD_H
#define DYNIS_CORE_FD_H

#include <stdint.h>

#include "core/ring.h"

#define FD_WINDOW_MAX 100          /* inter-arrival samples kept per peer */
#define FD_PEERS_MAX RING_NODES_MAX
#define FD_PHI_MAX 1000.0          /* phi is clamped here */

typedef enum fd_state {
    FD_UNKNOWN, /* never heard */
    FD_ALIVE,
    FD_SUSPECT,
    FD_FAILED
} fd_state_t;

typedef struct fd_config {
    double phi_threshold;         /* suspect at or above this phi */
    uint64_t node_timeout_ms;     /* failed when silent longer than this */
    uint32_t window;              /* samples kept, 1..FD_WINDOW_MAX */
    uint32_t interval_ms_initial; /* assumed mean before the first interval */
    uint32_t interval_ms_min;     /* floor on the mean, so bursts do not make phi jumpy */
} fd_config_t;

typedef struct fd fd_t;

/* phi_threshold 4 (about 9 mean intervals of silence), node_timeout_ms
 * 15000 (Redis's cluster-node-timeout), window 100, initial 1000, min 100. */
void fd_config_default(fd_config_t *cfg);

/* Returns an empty detector, or NULL when cfg is invalid (window out of
 * range, threshold not > 0, a timeout or interval of 0). cfg is copied. */
fd_t *fd_new(const fd_config_t *cfg);
void fd_free(fd_t *fd);

/* Records a heartbeat of peer at now_ms (registering the peer on first use).
 * Returns 0, or -1 when peer is not a valid node id or the table already
 * holds FD_PEERS_MAX other peers. */
int fd_heard(fd_t *fd, const char *peer, uint64_t now_ms);
/* Drops peer's history (CLUSTER FORGET). */
void fd_forget(fd_t *fd, const char *peer);

/* Suspicion of peer at now_ms (0 for an unknown peer, at most FD_PHI_MAX). */
double fd_phi(const fd_t *fd, const char *peer, uint64_t now_ms);
fd_state_t fd_state(const fd_t *fd, const char *peer, uint64_t now_ms);
/* Mean inter-arrival time in ms used for peer (0 for an unknown peer). */
double fd_mean_ms(const fd_t *fd, const char *peer);
const char *fd_state_name(fd_state_t state);

#endif
