/* fd.c - phi accrual failure detector (see fd.h).
 *
 * Peers live in an array sorted by id (binary search); each keeps a ring
 * buffer of its last `window` inter-arrival times and their running sum. */
#include "core/fd.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

#define FD_LOG10_E 0.43429448190325182765 /* log10(e) */

typedef struct fd_peer {
    char id[RING_NODE_ID_LEN + 1];
    uint64_t last_ms;
    uint64_t sum_ms;                    /* of the samples held */
    uint32_t samples[FD_WINDOW_MAX];    /* inter-arrival times, ring buffer */
    uint32_t count;                     /* samples held, <= window */
    uint32_t next;                      /* slot the next sample goes to */
} fd_peer_t;

_Static_assert(offsetof(fd_peer_t, id) == 0, "ring_id_search needs the id first");

struct fd {
    fd_config_t cfg;
    fd_peer_t *peers; /* owned, FD_PEERS_MAX entries, first len used */
    size_t len;
};

void fd_config_default(fd_config_t *cfg)
{
    cfg->phi_threshold = 4.0;
    cfg->node_timeout_ms = 15000;
    cfg->window = FD_WINDOW_MAX;
    cfg->interval_ms_initial = 1000;
    cfg->interval_ms_min = 100;
}

fd_t *fd_new(const fd_config_t *cfg)
{
    if (!(cfg->phi_threshold > 0) || cfg->node_timeout_ms == 0 || cfg->window < 1 ||
        cfg->window > FD_WINDOW_MAX || cfg->interval_ms_initial < 1 || cfg->interval_ms_min < 1)
        return NULL;
    fd_t *fd = xcalloc(1, sizeof *fd);
    fd->cfg = *cfg;
    fd->peers = xcalloc(FD_PEERS_MAX, sizeof *fd->peers);
    return fd;
}

void fd_free(fd_t *fd)
{
    if (!fd)
        return;
    free(fd->peers);
    free(fd);
}

/* The position of peer, or where it would be inserted (*found false). */
static size_t fd_search(const fd_t *fd, const char *peer, bool *found)
{
    return ring_id_search(fd->peers, fd->len, sizeof *fd->peers, peer, found);
}

static const fd_peer_t *fd_find(const fd_t *fd, const char *peer)
{
    bool found;
    size_t pos = fd_search(fd, peer, &found);
    return found ? &fd->peers[pos] : NULL;
}

static void fd_sample(const fd_t *fd, fd_peer_t *p, uint64_t now_ms)
{
    uint64_t gap = now_ms > p->last_ms ? now_ms - p->last_ms : 0;
    uint32_t sample = gap > UINT32_MAX ? UINT32_MAX : (uint32_t)gap;
    if (p->count == fd->cfg.window)
        p->sum_ms -= p->samples[p->next];
    else
        p->count++;
    p->samples[p->next] = sample;
    p->sum_ms += sample;
    p->next = (p->next + 1) % fd->cfg.window;
}

int fd_heard(fd_t *fd, const char *peer, uint64_t now_ms)
{
    if (!ring_node_id_valid(peer, strnlen(peer, RING_NODE_ID_LEN + 1)))
        return -1;
    bool found;
    size_t pos = fd_search(fd, peer, &found);
    if (found) {
        fd_peer_t *p = &fd->peers[pos];
        fd_sample(fd, p, now_ms);
        if (now_ms > p->last_ms)
            p->last_ms = now_ms;
        return 0;
    }
    if (fd->len == FD_PEERS_MAX)
        return -1;
    memmove(&fd->peers[pos + 1], &fd->peers[pos], (fd->len - pos) * sizeof *fd->peers);
    fd->len++;
    fd_peer_t *p = &fd->peers[pos];
    memset(p, 0, sizeof *p);
    memcpy(p->id, peer, strnlen(peer, RING_NODE_ID_LEN));
    p->last_ms = now_ms;
    return 0;
}

void fd_forget(fd_t *fd, const char *peer)
{
    bool found;
    size_t pos = fd_search(fd, peer, &found);
    if (!found)
        return;
    memmove(&fd->peers[pos], &fd->peers[pos + 1], (fd->len - pos - 1) * sizeof *fd->peers);
    fd->len--;
}

static double fd_peer_mean(const fd_t *fd, const fd_peer_t *p)
{
    double mean = p->count ? (double)p->sum_ms / p->count : fd->cfg.interval_ms_initial;
    return mean < fd->cfg.interval_ms_min ? fd->cfg.interval_ms_min : mean;
}

double fd_mean_ms(const fd_t *fd, const char *peer)
{
    const fd_peer_t *p = fd_find(fd, peer);
    return p ? fd_peer_mean(fd, p) : 0;
}

static uint64_t fd_silence(const fd_peer_t *p, uint64_t now_ms)
{
    return now_ms > p->last_ms ? now_ms - p->last_ms : 0;
}

double fd_phi(const fd_t *fd, const char *peer, uint64_t now_ms)
{
    const fd_peer_t *p = fd_find(fd, peer);
    if (!p)
        return 0;
    double phi = (double)fd_silence(p, now_ms) / fd_peer_mean(fd, p) * FD_LOG10_E;
    return phi > FD_PHI_MAX ? FD_PHI_MAX : phi;
}

fd_state_t fd_state(const fd_t *fd, const char *peer, uint64_t now_ms)
{
    const fd_peer_t *p = fd_find(fd, peer);
    if (!p)
        return FD_UNKNOWN;
    if (fd_silence(p, now_ms) > fd->cfg.node_timeout_ms)
        return FD_FAILED;
    return fd_phi(fd, peer, now_ms) >= fd->cfg.phi_threshold ? FD_SUSPECT : FD_ALIVE;
}

const char *fd_state_name(fd_state_t state)
{
    switch (state) {
    case FD_UNKNOWN: return "unknown";
    case FD_ALIVE: return "alive";
    case FD_SUSPECT: return "suspect";
    case FD_FAILED: return "failed";
    }
    return "?";
}
