/* cluster_fake_render.c - renders the CLUSTER replies of a k-node ring for
 * the fake cluster that real clients are pointed at (cluster_fake.sh).
 *
 *   cluster_fake_render DIR REPLICAS PORT...
 *
 * builds a ring of one node per PORT (host 127.0.0.1, bus port PORT+10000,
 * all alive) and, for each node i, writes DIR/<i>.<sub><resp> with the exact
 * bytes cluster_reply_command answers to CLUSTER <sub> in RESP2 and RESP3
 * (sub: slots nodes shards info myid), and DIR/masters: one line of
 * SLOT_COUNT digits, the index of the node each slot is routed to (the first
 * of its preference list). Prints the sizes and render times of node 0's
 * replies. Test-only: it is the renderer half of cluster_fake.py. */
#include <errno.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/member.h"
#include "core/ring.h"
#include "proto/cluster_reply.h"
#include "util/hash.h"

#define FAKE_NODES_MAX 9 /* node indices are one digit in DIR/masters */
#define FAKE_PATH_MAX 4096
#define FAKE_NS_PER_MS 1000000.0

static const char *const fake_subs[] = {"slots", "nodes", "shards", "info", "myid"};

static member_t fake_member(size_t i, uint16_t port)
{
    member_t m;
    memset(&m, 0, sizeof m);
    snprintf(m.id, sizeof m.id, "%016" PRIx64 "%016" PRIx64 "%08" PRIx32, hash64_mix(i + 1),
             hash64_mix(i + 77), (uint32_t)hash64_mix(i + 99));
    strcpy(m.host, "127.0.0.1");
    m.port = port;
    m.bus_port = (uint16_t)(port + 10000);
    m.weight = 1;
    m.incarnation = 1;
    return m;
}

static int fake_write(const char *dir, const char *name, const buf_t *b)
{
    char path[FAKE_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(b->data, 1, b->len, f) != b->len || fclose(f) != 0) {
        fprintf(stderr, "cluster_fake_render: %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

static double fake_ms(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) * 1000.0 + (double)(b->tv_nsec - a->tv_nsec) / FAKE_NS_PER_MS;
}

/* Writes node self's replies to every subcommand in RESP2 and RESP3;
 * prints their sizes and render times when report is set. */
static int fake_render_node(const char *dir, const cluster_src_t *src, size_t self, bool report)
{
    for (size_t s = 0; s < sizeof fake_subs / sizeof fake_subs[0]; s++) {
        for (int resp = 2; resp <= 3; resp++) {
            buf_t out = BUF_INIT;
            reply_t r = {&out, resp};
            const char *argv[] = {"cluster", fake_subs[s]};
            size_t lens[] = {strlen(argv[0]), strlen(argv[1])};
            struct timespec t0, t1;
            clock_gettime(CLOCK_MONOTONIC, &t0);
            bool answered = cluster_reply_command(src, 2, argv, lens, &r);
            clock_gettime(CLOCK_MONOTONIC, &t1);
            char name[FAKE_PATH_MAX];
            snprintf(name, sizeof name, "%zu.%s%d", self, fake_subs[s], resp);
            int rc = answered ? fake_write(dir, name, &out) : -1;
            if (report)
                printf("RESP%d CLUSTER %-6s %8zu bytes %8.2f ms\n", resp, fake_subs[s], out.len,
                       fake_ms(&t0, &t1));
            buf_free(&out);
            if (rc != 0)
                return -1;
        }
    }
    return 0;
}

/* DIR/masters: for each slot, the member index of its owner. */
static int fake_write_masters(const char *dir, const ring_t *ring, const member_t *members,
                              size_t k)
{
    buf_t b = BUF_INIT;
    for (size_t s = 0; s < SLOT_COUNT; s++) {
        const char *id = ring_node(ring, ring_owner(ring, (uint16_t)s))->id;
        for (size_t i = 0; i < k; i++) {
            if (strcmp(members[i].id, id) == 0)
                buf_append_byte(&b, (uint8_t)('0' + i));
        }
    }
    buf_append_byte(&b, '\n');
    int rc = b.len == SLOT_COUNT + 1 ? fake_write(dir, "masters", &b) : -1;
    buf_free(&b);
    return rc;
}

/* Renders node i's replies from its own view (itself plus the others). */
static int fake_render_views(const char *dir, const ring_t *ring, const member_t *members,
                             size_t k, size_t replicas)
{
    fd_config_t cfg;
    fd_config_default(&cfg);
    for (size_t i = 0; i < k; i++) {
        member_view_t *view = member_view_new(&members[i], &cfg, 0);
        for (size_t j = 0; view != NULL && j < k; j++) {
            if (j != i && member_upsert(view, &members[j], 0) != 1) {
                member_view_free(view);
                view = NULL;
            }
        }
        cluster_src_t src = {ring, view, members[i].id, replicas, 0, 0, true};
        int rc = view != NULL ? fake_render_node(dir, &src, i, i == 0) : -1;
        member_view_free(view);
        if (rc != 0)
            return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4 || argc - 3 > FAKE_NODES_MAX) {
        fprintf(stderr, "usage: cluster_fake_render DIR REPLICAS PORT... (1 to %d ports)\n",
                FAKE_NODES_MAX);
        return 2;
    }
    size_t k = (size_t)argc - 3, replicas = strtoul(argv[2], NULL, 10);
    member_t members[FAKE_NODES_MAX];
    ring_node_t nodes[FAKE_NODES_MAX];
    for (size_t i = 0; i < k; i++) {
        members[i] = fake_member(i, (uint16_t)strtoul(argv[3 + i], NULL, 10));
        memset(&nodes[i], 0, sizeof nodes[i]);
        strcpy(nodes[i].id, members[i].id);
        nodes[i].weight = 1;
    }
    ring_t *ring = ring_new();
    int rc = ring_rebalance(ring, nodes, k) < 0 ? -1 : 0;
    uint32_t cursor = 0;
    ring_range_t run;
    size_t runs = 0;
    while (rc == 0 && ring_range_next(ring, replicas, &cursor, &run))
        runs++;
    printf("%zu nodes, N=%zu: %zu runs of slots with one preference list\n", k, replicas, runs);
    if (rc == 0)
        rc = fake_write_masters(argv[1], ring, members, k);
    if (rc == 0)
        rc = fake_render_views(argv[1], ring, members, k, replicas);
    ring_free(ring);
    return rc == 0 ? 0 : 1;
}
