/* test_placement.c - where a real cluster puts its data, configured per
 * node: `zone` spreads each key's N replicas over distinct zones, and
 * `weight` gives a node a proportional share of the ring. Six
 * dynis-server processes in three zones, one of them with weight 2, formed
 * by CLUSTER MEET; the placement is read back from CLUSTER SLOTS and
 * INFO dynamo, and keys written through one node are found on exactly N
 * nodes of distinct zones (node-local DBSIZE). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check_main.h"
#include "cluster.h"
#include "expect.h"

#define TEST_TIMEOUT_S 120
#define PLACEMENT_NODES 6
#define PLACEMENT_ZONES 3
#define PLACEMENT_N 3
#define HEAVY_NODE 5   /* the node with weight 2 */
#define CHUNK_SLOTS 32 /* ring.h's RING_CHUNK_SLOTS: shares are whole chunks */
#define PLACEMENT_KEYS 600

static const char *const zone_opts[PLACEMENT_ZONES][3] = {
    {"--zone", "east", NULL}, {"--zone", "west", NULL}, {"--zone", "north", NULL}};
static const char *const heavy_opts[] = {"--zone", "north", "--weight", "2", NULL};

static void placement_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* The zone of node i: i % PLACEMENT_ZONES. */
static int zone_of(int i)
{
    return i % PLACEMENT_ZONES;
}

static cluster_t *form_zoned(void)
{
    const char *const *extra_of[CLUSTER_NODES_MAX] = {NULL};
    for (int i = 0; i < PLACEMENT_NODES; i++)
        extra_of[i] = i == HEAVY_NODE ? heavy_opts : zone_opts[zone_of(i)];
    cluster_t *cl = cluster_form_each(PLACEMENT_NODES, extra_of);
    ck_assert_msg(cl != NULL, "6 nodes in 3 zones did not form a cluster");
    return cl;
}

/* The index of the node whose client port is port, or -1. */
static int node_of_port(const cluster_t *cl, long long port)
{
    for (int i = 0; i < cl->count; i++)
        if (cl->node[i]->port == port)
            return i;
    return -1;
}

/* True when node i's INFO dynamo shows every node with its configured
 * weight and zone (a node first met by CLUSTER MEET is known by its id and
 * address; its weight and zone come with its own gossip, and the ring is
 * rebuilt with them). */
static bool knows_placement(const cluster_t *cl, int i)
{
    redisContext *c = cluster_connect(cl, i);
    redisReply *r = c ? redisCommand(c, "INFO dynamo") : NULL;
    bool all = r != NULL && r->type == REDIS_REPLY_STRING;
    for (int j = 0; all && j < cl->count; j++) {
        char addr[32], want[64];
        snprintf(addr, sizeof addr, ":%d@", cl->node[j]->port);
        snprintf(want, sizeof want, "weight=%d,zone=%s\r", j == HEAVY_NODE ? 2 : 1,
                 zone_opts[zone_of(j)][1]);
        const char *line = strstr(r->str, addr);
        const char *end = line ? strchr(line, '\n') : NULL;
        const char *found = line ? strstr(line, want) : NULL;
        all = found != NULL && (end == NULL || found < end);
    }
    freeReplyObject(r);
    redisFree(c);
    return all;
}

/* Waits until every node knows every weight and zone, and they agree on
 * the ring built with them. */
static void wait_placement_known(cluster_t *cl)
{
    bool known = false;
    for (int polls = 0; !known && polls < CLUSTER_FORM_TIMEOUT_MS / CLUSTER_POLL_MS; polls++) {
        known = true;
        for (int i = 0; known && i < cl->count; i++)
            known = knows_placement(cl, i);
        if (!known)
            placement_sleep_ms(CLUSTER_POLL_MS);
    }
    ck_assert_msg(known, "the nodes never learned every weight and zone");
    ck_assert_msg(cluster_wait_agree(cl, cl->count, CLUSTER_FORM_TIMEOUT_MS),
                  "the nodes did not agree on a ring with the weights and zones");
}

/* Node-local DBSIZE summed per zone into per_zone; true when every zone
 * holds want keys. */
static bool zones_hold(const cluster_t *cl, long long want, long long *per_zone)
{
    bool all = true;
    for (int z = 0; z < PLACEMENT_ZONES; z++)
        per_zone[z] = 0;
    for (int i = 0; i < cl->count; i++) {
        redisContext *c = cluster_connect(cl, i);
        per_zone[zone_of(i)] += node_dbsize(c);
        redisFree(c);
    }
    for (int z = 0; z < PLACEMENT_ZONES; z++)
        all = all && per_zone[z] == want;
    return all;
}

/* Every CLUSTER SLOTS range names N nodes of distinct zones (besides the
 * master-only entry per master that opens the reply, see cluster_reply.h);
 * returns the number of ranges checked. */
static size_t check_slot_zones(const cluster_t *cl, redisContext *c)
{
    redisReply *r = expect_reply(c, "CLUSTER SLOTS");
    ck_assert_int_eq(r->type, REDIS_REPLY_ARRAY);
    size_t checked = 0;
    for (size_t i = PLACEMENT_NODES; i < r->elements; i++) {
        const redisReply *range = r->element[i];
        ck_assert_uint_eq(range->elements, 2 + PLACEMENT_N);
        checked++;
        bool zone_used[PLACEMENT_ZONES] = {false};
        for (size_t j = 2; j < range->elements; j++) {
            int node = node_of_port(cl, range->element[j]->element[1]->integer);
            ck_assert_msg(node >= 0, "range %zu names an unknown port", i);
            ck_assert_msg(!zone_used[zone_of(node)], "slots %lld-%lld: two replicas in zone %d",
                          range->element[0]->integer, range->element[1]->integer, zone_of(node));
            zone_used[zone_of(node)] = true;
        }
    }
    freeReplyObject(r);
    return checked;
}

static long long owned_slots(const cluster_t *cl, int i)
{
    redisContext *c = cluster_connect(cl, i);
    char v[CLUSTER_FIELD_MAX];
    ck_assert_int_eq(info_field(c, "dynamo", "owned_slots", v, sizeof v), 0);
    redisFree(c);
    return atoll(v);
}

START_TEST(zones_and_weights_place_replicas)
{
    cluster_t *cl = form_zoned();
    wait_placement_known(cl);
    redisContext *c0 = cluster_connect(cl, 0);
    ck_assert_uint_gt(check_slot_zones(cl, c0), 0);
    long long light_min = -1, light_max = 0;
    for (int i = 0; i < PLACEMENT_NODES; i++) {
        long long owned = owned_slots(cl, i);
        if (i == HEAVY_NODE)
            continue;
        light_min = light_min < 0 || owned < light_min ? owned : light_min;
        light_max = owned > light_max ? owned : light_max;
    }
    long long heavy = owned_slots(cl, HEAVY_NODE);
    ck_assert_msg(heavy >= 2 * light_min - CHUNK_SLOTS && heavy <= 2 * light_max + CHUNK_SLOTS,
                  "weight 2 owns %lld slots; weight 1 owns %lld..%lld", heavy, light_min,
                  light_max);
    for (int k = 0; k < PLACEMENT_KEYS; k++)
        expect_ok(c0, "SET zoned:%d v", k);
    /* W = 2: the third copy may still be on its way; every zone ends with
     * one copy of each key. */
    long long per_zone[PLACEMENT_ZONES];
    for (int polls = 0; !zones_hold(cl, PLACEMENT_KEYS, per_zone) &&
                        polls < CLUSTER_FORM_TIMEOUT_MS / CLUSTER_POLL_MS;
         polls++)
        placement_sleep_ms(CLUSTER_POLL_MS);
    ck_assert_msg(zones_hold(cl, PLACEMENT_KEYS, per_zone),
                  "copies per zone %lld %lld %lld, want %d each", per_zone[0], per_zone[1],
                  per_zone[2], PLACEMENT_KEYS);
    redisFree(c0);
    cluster_free(cl);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("placement");
    PROCS_ADD_CASE(s, zones_and_weights_place_replicas, TEST_TIMEOUT_S);
    return s;
}
