/* test_cluster_reply.c - Check suite for src/proto/cluster_reply: CLUSTER
 * SLOTS, SHARDS, NODES, INFO, MYID, KEYSLOT and the subcommand dispatch,
 * read back with a small RESP reader and checked against the ring (every
 * slot covered once, masters and replicas in preference order, failed nodes
 * skipped), in RESP2 and RESP3. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "core/member.h"
#include "core/ring.h"
#include "proto/cluster_reply.h"
#include "util/hash.h"

#define TEST_NODES_MAX 8
#define TEST_REPLICAS 3

/* ------------------------------------------------------------------------
 * Fixture: a ring of k nodes and the view of node 0 */

typedef struct fixture {
    ring_t *ring;
    member_view_t *view;
    member_t members[TEST_NODES_MAX];
    size_t k;
    cluster_src_t src;
    buf_t out;
} fixture_t;

static member_t test_member(size_t i)
{
    member_t m;
    memset(&m, 0, sizeof m);
    snprintf(m.id, sizeof m.id, "%016" PRIx64 "%016" PRIx64 "%08" PRIx32, hash64_mix(i + 1),
             hash64_mix(i + 77), (uint32_t)hash64_mix(i + 99));
    snprintf(m.host, sizeof m.host, "127.0.0.%zu", i + 1);
    m.port = (uint16_t)(7001 + i);
    m.bus_port = (uint16_t)(17001 + i);
    m.weight = 1;
    m.incarnation = 1;
    return m;
}

/* k nodes in the ring; the first in_view of them in node 0's view. */
static void fixture_init(fixture_t *f, size_t k, size_t in_view)
{
    fd_config_t cfg;
    fd_config_default(&cfg);
    ring_node_t nodes[TEST_NODES_MAX];
    f->k = k;
    for (size_t i = 0; i < k; i++) {
        f->members[i] = test_member(i);
        memset(&nodes[i], 0, sizeof nodes[i]);
        strcpy(nodes[i].id, f->members[i].id);
        nodes[i].weight = 1;
    }
    f->ring = ring_new();
    ck_assert_int_ge(ring_rebalance(f->ring, nodes, k), 0);
    f->view = member_view_new(&f->members[0], &cfg, 0);
    ck_assert_ptr_nonnull(f->view);
    for (size_t i = 1; i < in_view; i++)
        ck_assert_int_eq(member_upsert(f->view, &f->members[i], 0), 1);
    f->src = (cluster_src_t){f->ring, f->view, f->members[0].id, TEST_REPLICAS, 12, 34, true};
    buf_init(&f->out);
}

static void fixture_free(fixture_t *f)
{
    ring_free(f->ring);
    member_view_free(f->view);
    buf_free(&f->out);
}

/* Node i heard again at now_ms (a newer heartbeat). */
static void heard(fixture_t *f, size_t i, uint64_t now_ms)
{
    f->members[i].heartbeat++;
    ck_assert_int_eq(member_upsert(f->view, &f->members[i], now_ms), 1);
}

static size_t member_index_of(const fixture_t *f, const char *id)
{
    for (size_t i = 0; i < f->k; i++) {
        if (strcmp(f->members[i].id, id) == 0)
            return i;
    }
    ck_abort_msg("unknown id %s", id);
    return 0;
}

/* ------------------------------------------------------------------------
 * A RESP reader over f->out: each call reads one header or one value */

typedef struct rd {
    const char *p, *end;
} rd_t;

static rd_t rd_of(const buf_t *b)
{
    return (rd_t){b->data, b->data + b->len};
}

/* Reads "<type><text>\r\n", checks the type and returns the text as a number. */
static int64_t rd_header(rd_t *rd, char type)
{
    ck_assert(rd->p < rd->end);
    ck_assert_msg(*rd->p == type, "want '%c', got '%c'", type, *rd->p);
    char *stop;
    int64_t v = strtoll(rd->p + 1, &stop, 10);
    ck_assert(stop + 1 < rd->end && stop[0] == '\r' && stop[1] == '\n');
    rd->p = stop + 2;
    return v;
}

/* A bulk string into s (room for cap bytes and a NUL). */
static void rd_bulk(rd_t *rd, char *s, size_t cap)
{
    int64_t len = rd_header(rd, '$');
    ck_assert(len >= 0 && (size_t)len < cap && rd->p + len + 2 <= rd->end);
    memcpy(s, rd->p, (size_t)len);
    s[len] = '\0';
    rd->p += len + 2;
}

static void rd_bulk_is(rd_t *rd, const char *want)
{
    char got[MEMBER_HOST_LEN_MAX + 1];
    rd_bulk(rd, got, sizeof got);
    ck_assert_str_eq(got, want);
}

/* ------------------------------------------------------------------------
 * CLUSTER SLOTS */

/* Reads one [host, port, id, {}] entry; returns the node's index. */
static size_t rd_slots_node(const fixture_t *f, rd_t *rd, int resp)
{
    char id[RING_NODE_ID_LEN + 1];
    ck_assert_int_eq(rd_header(rd, '*'), 4);
    char host[MEMBER_HOST_LEN_MAX + 1];
    rd_bulk(rd, host, sizeof host);
    int64_t port = rd_header(rd, ':');
    rd_bulk(rd, id, sizeof id);
    ck_assert_int_eq(rd_header(rd, resp == 3 ? '%' : '*'), 0);
    size_t i = member_index_of(f, id);
    ck_assert_str_eq(host, f->members[i].host);
    ck_assert_int_eq(port, f->members[i].port);
    return i;
}

/* The nodes SLOTS must list for slot s: its preference list without the
 * nodes in skip, or this node alone. Returns how many. */
static size_t expected_nodes(const fixture_t *f, uint16_t s, const bool *skip, size_t *want)
{
    uint16_t pref[TEST_REPLICAS];
    size_t count = ring_preference_list(f->ring, s, TEST_REPLICAS, pref), kept = 0;
    for (size_t i = 0; i < count; i++) {
        size_t idx = member_index_of(f, ring_node(f->ring, pref[i])->id);
        if (skip == NULL || !skip[idx])
            want[kept++] = idx;
    }
    if (kept == 0)
        want[kept++] = 0;
    return kept;
}

/* Reads SLOTS and checks that every slot is covered once; that the reply
 * opens with one single-slot, master-only entry per master, so every node is
 * first named as a master; and that the other entries, in slot order, list
 * the nodes of each slot's preference list not in skip. Returns the number
 * of entries. */
static size_t check_slots(fixture_t *f, int resp, const bool *skip)
{
    reply_t r = {&f->out, resp};
    cluster_reply_slots(&f->src, &r);
    rd_t rd = rd_of(&f->out);
    int64_t entries = rd_header(&rd, '*');
    bool *covered = calloc(SLOT_COUNT, sizeof *covered);
    bool seen[TEST_NODES_MAX] = {false}, leading = true;
    int64_t next = 0, total = 0;
    for (int64_t e = 0; e < entries; e++) {
        int64_t len = rd_header(&rd, '*');
        int64_t first = rd_header(&rd, ':'), last = rd_header(&rd, ':');
        ck_assert(len >= 3 && first >= 0 && last >= first && last < SLOT_COUNT);
        size_t got[RING_RANGE_NODES_MAX];
        for (int64_t n = 0; n < len - 2; n++)
            got[n] = rd_slots_node(f, &rd, resp);
        leading = leading && len == 3 && first == last && !seen[got[0]];
        ck_assert(seen[got[0]] || leading);
        for (int64_t n = 0; n < len - 2; n++)
            seen[got[n]] = true;
        if (!leading) {
            ck_assert_int_ge(first, next);
            next = last + 1;
        }
        for (int64_t s = first; s <= last; s++) {
            size_t want[RING_RANGE_NODES_MAX];
            size_t count = expected_nodes(f, (uint16_t)s, skip, want);
            ck_assert_uint_eq(got[0], want[0]);
            if (!leading) {
                ck_assert_uint_eq(count, (size_t)(len - 2));
                ck_assert_int_eq(memcmp(got, want, count * sizeof *got), 0);
            }
            ck_assert(!covered[s]);
            covered[s] = true;
            total++;
        }
    }
    ck_assert_int_eq(total, SLOT_COUNT);
    ck_assert_ptr_eq(rd.p, rd.end);
    free(covered);
    buf_clear(&f->out);
    return (size_t)entries;
}

static size_t count_runs(const ring_t *ring)
{
    uint32_t cursor = 0;
    ring_range_t run;
    size_t runs = 0;
    while (ring_range_next(ring, TEST_REPLICAS, &cursor, &run))
        runs++;
    return runs;
}

START_TEST(slots_follow_preference_lists)
{
    fixture_t f;
    fixture_init(&f, 3, 3);
    size_t runs = count_runs(f.ring);
    ck_assert_uint_gt(runs, 1);
    /* Every run is a chunk here, so the three lead entries (each the first
     * slot of a run) come on top of the runs. */
    ck_assert_uint_eq(check_slots(&f, 2, NULL), runs + 3);
    ck_assert_uint_eq(check_slots(&f, 3, NULL), runs + 3);
    fixture_free(&f);
}
END_TEST

START_TEST(slots_skip_failed_nodes)
{
    fixture_t f;
    fixture_init(&f, 3, 3);
    heard(&f, 1, 20000);
    ck_assert_uint_eq(member_tick(f.view, 20000), 1); /* node 2 failed */
    ck_assert_int_eq(member_find(f.view, f.members[2].id)->state, MEMBER_FAILED);
    bool skip[TEST_NODES_MAX] = {false, false, true};
    check_slots(&f, 2, skip);
    /* Both others failed: this node stands in for every slot: its lead
     * slot 0, then one entry for the rest. */
    ck_assert_uint_eq(member_tick(f.view, 40000), 1);
    skip[1] = true;
    ck_assert_uint_eq(check_slots(&f, 2, skip), 2);
    fixture_free(&f);
}
END_TEST

/* A node that announced its leave (still in this ring) is skipped like a
 * failed one and reported as failed. */
START_TEST(left_nodes_are_skipped)
{
    fixture_t f;
    fixture_init(&f, 3, 3);
    f.members[1].state = MEMBER_LEFT;
    heard(&f, 1, 100);
    bool skip[TEST_NODES_MAX] = {false, true, false};
    check_slots(&f, 2, skip);
    cluster_nodes_text(&f.src, &f.out);
    buf_append_byte(&f.out, '\0');
    char want[128];
    snprintf(want, sizeof want, "%s 127.0.0.2:7002@17002 master,fail - 0 100 ", f.members[1].id);
    ck_assert_ptr_nonnull(strstr(f.out.data, want));
    buf_clear(&f.out);
    reply_t r = {&f.out, 2};
    cluster_reply_shards(&f.src, &r);
    buf_append_byte(&f.out, '\0');
    ck_assert_ptr_nonnull(strstr(f.out.data, "$6\r\nhealth\r\n$4\r\nfail\r\n"));
    fixture_free(&f);
}
END_TEST

START_TEST(slots_of_empty_ring_and_unknown_nodes)
{
    fixture_t f;
    fixture_init(&f, 3, 2); /* node 2 is in the ring only */
    bool skip[TEST_NODES_MAX] = {false, false, true};
    check_slots(&f, 3, skip);
    ring_free(f.ring);
    f.ring = ring_new();
    f.src.ring = f.ring;
    reply_t r = {&f.out, 2};
    cluster_reply_slots(&f.src, &r);
    buf_append_byte(&f.out, '\0');
    ck_assert_str_eq(f.out.data, "*0\r\n");
    fixture_free(&f);
}
END_TEST

/* ------------------------------------------------------------------------
 * CLUSTER NODES */

/* The fields of one NODES line; slots are added to owned_by. */
static void check_node_line(fixture_t *f, char *line, uint16_t *owned_by, const char *flags,
                            const char *link)
{
    char *save = NULL;
    char *id = strtok_r(line, " ", &save);
    size_t i = member_index_of(f, id);
    char addr[MEMBER_HOST_LEN_MAX + 32];
    snprintf(addr, sizeof addr, "%s:%u@%u", f->members[i].host, f->members[i].port,
             f->members[i].bus_port);
    ck_assert_str_eq(strtok_r(NULL, " ", &save), addr);
    ck_assert_str_eq(strtok_r(NULL, " ", &save), i == 0 ? "myself,master" : flags);
    ck_assert_str_eq(strtok_r(NULL, " ", &save), "-");
    ck_assert_str_eq(strtok_r(NULL, " ", &save), "0");
    ck_assert_ptr_nonnull(strtok_r(NULL, " ", &save));
    char epoch[32];
    snprintf(epoch, sizeof epoch, "%" PRIu64, ring_epoch(f->ring));
    ck_assert_str_eq(strtok_r(NULL, " ", &save), epoch);
    ck_assert_str_eq(strtok_r(NULL, " ", &save), i == 0 ? "connected" : link);
    for (char *tok = strtok_r(NULL, " ", &save); tok != NULL; tok = strtok_r(NULL, " ", &save)) {
        char *dash = strchr(tok, '-');
        long first = strtol(tok, NULL, 10), last = dash ? strtol(dash + 1, NULL, 10) : first;
        ck_assert(first >= 0 && last >= first && last < SLOT_COUNT);
        for (long s = first; s <= last; s++) {
            ck_assert_uint_eq(owned_by[s], UINT16_MAX);
            owned_by[s] = (uint16_t)i;
        }
    }
}

/* Reads NODES (RESP2: a bulk string) and checks every line and that the
 * slots listed are exactly the ring's owners. */
static void check_nodes(fixture_t *f, const char *flags, const char *link)
{
    reply_t r = {&f->out, 2};
    cluster_reply_nodes(&f->src, &r);
    rd_t rd = rd_of(&f->out);
    int64_t len = rd_header(&rd, '$');
    ck_assert_int_eq(len + 2, rd.end - rd.p);
    char *text = strndup(rd.p, (size_t)len);
    ck_assert(len > 0 && text[len - 1] == '\n');
    uint16_t *owned_by = malloc(SLOT_COUNT * sizeof *owned_by);
    memset(owned_by, 0xff, SLOT_COUNT * sizeof *owned_by);
    size_t lines = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        check_node_line(f, line, owned_by, flags, link);
        lines++;
    }
    ck_assert_uint_eq(lines, f->k);
    for (size_t s = 0; s < SLOT_COUNT; s++)
        ck_assert_str_eq(f->members[owned_by[s]].id, ring_node(f->ring, ring_owner(f->ring, (uint16_t)s))->id);
    free(owned_by);
    free(text);
    buf_clear(&f->out);
}

START_TEST(nodes_list_owned_slots)
{
    fixture_t f;
    fixture_init(&f, 3, 3);
    check_nodes(&f, "master", "connected");
    ck_assert_uint_eq(member_tick(f.view, 10000), 2);
    check_nodes(&f, "master,fail?", "connected");
    ck_assert_uint_eq(member_tick(f.view, 20000), 2);
    check_nodes(&f, "master,fail", "disconnected");
    fixture_free(&f);
}
END_TEST

START_TEST(nodes_text_of_unknown_and_slotless_nodes)
{
    fixture_t f;
    fixture_init(&f, 2, 2);
    member_t extra = test_member(5);
    ck_assert_int_eq(member_upsert(f.view, &extra, 0), 1); /* in the view only */
    ring_node_t ghost;
    memset(&ghost, 0, sizeof ghost);
    strcpy(ghost.id, test_member(6).id);
    ghost.weight = 1;
    ring_node_t nodes[3];
    for (size_t i = 0; i < 2; i++) {
        nodes[i] = *ring_node(f.ring, i);
    }
    nodes[2] = ghost;
    ck_assert_int_gt(ring_rebalance(f.ring, nodes, 3), 0); /* ghost: ring only */
    cluster_nodes_text(&f.src, &f.out);
    buf_append_byte(&f.out, '\0');
    char want[256];
    snprintf(want, sizeof want, "%s 127.0.0.6:7006@17006 master - 0 0 %" PRIu64 " connected\n",
             extra.id, ring_epoch(f.ring));
    ck_assert_ptr_nonnull(strstr(f.out.data, want));
    snprintf(want, sizeof want, "%s :0@0 master,noaddr - 0 0 %" PRIu64 " disconnected ",
             ghost.id, ring_epoch(f.ring));
    ck_assert_ptr_nonnull(strstr(f.out.data, want));
    snprintf(want, sizeof want, "%s 127.0.0.1:7001@17001 myself,master - 0 0 ", f.members[0].id);
    ck_assert_ptr_nonnull(strstr(f.out.data, want));
    fixture_free(&f);
}
END_TEST

/* ------------------------------------------------------------------------
 * CLUSTER SHARDS */

/* Reads one node map of a shard; returns its index. */
static size_t rd_shard_node(fixture_t *f, rd_t *rd, const char *role)
{
    char id[RING_NODE_ID_LEN + 1];
    ck_assert_int_eq(rd_header(rd, '%'), 7);
    rd_bulk_is(rd, "id");
    rd_bulk(rd, id, sizeof id);
    size_t i = member_index_of(f, id);
    rd_bulk_is(rd, "port");
    ck_assert_int_eq(rd_header(rd, ':'), f->members[i].port);
    rd_bulk_is(rd, "ip");
    rd_bulk_is(rd, f->members[i].host);
    rd_bulk_is(rd, "endpoint");
    rd_bulk_is(rd, f->members[i].host);
    rd_bulk_is(rd, "role");
    rd_bulk_is(rd, role);
    rd_bulk_is(rd, "replication-offset");
    ck_assert_int_eq(rd_header(rd, ':'), 0);
    rd_bulk_is(rd, "health");
    rd_bulk_is(rd, "online");
    return i;
}

/* The nodes after the owner in the preference lists of the owner's slots. */
static size_t followers_of(const fixture_t *f, size_t owner, bool *is_follower)
{
    size_t count = 0;
    for (size_t s = 0; s < SLOT_COUNT; s++) {
        uint16_t pref[TEST_REPLICAS];
        size_t len = ring_preference_list(f->ring, (uint16_t)s, TEST_REPLICAS, pref);
        if (strcmp(ring_node(f->ring, pref[0])->id, f->members[owner].id) != 0)
            continue;
        for (size_t i = 1; i < len; i++) {
            size_t idx = member_index_of(f, ring_node(f->ring, pref[i])->id);
            count += !is_follower[idx];
            is_follower[idx] = true;
        }
    }
    return count;
}

/* Reads one shard: its slots must be its master's, its replicas the
 * master's followers. Returns the number of slots. */
static size_t check_shard(fixture_t *f, rd_t *rd, int64_t *bounds)
{
    ck_assert_int_eq(rd_header(rd, '%'), 2);
    rd_bulk_is(rd, "slots");
    int64_t ints = rd_header(rd, '*');
    ck_assert(ints % 2 == 0 && ints <= SLOT_COUNT);
    for (int64_t i = 0; i < ints; i++)
        bounds[i] = rd_header(rd, ':');
    rd_bulk_is(rd, "nodes");
    int64_t nodes = rd_header(rd, '*');
    size_t master = rd_shard_node(f, rd, "master");
    bool is_follower[TEST_NODES_MAX] = {false};
    ck_assert_int_eq(nodes, 1 + (int64_t)followers_of(f, master, is_follower));
    for (int64_t n = 1; n < nodes; n++)
        ck_assert(is_follower[rd_shard_node(f, rd, "replica")]);
    size_t covered = 0;
    for (int64_t i = 0; i < ints; i += 2) {
        for (int64_t s = bounds[i]; s <= bounds[i + 1]; s++) {
            const char *owner = ring_node(f->ring, ring_owner(f->ring, (uint16_t)s))->id;
            ck_assert_str_eq(owner, f->members[master].id);
            covered++;
        }
    }
    return covered;
}

START_TEST(shards_are_owners_with_their_followers)
{
    fixture_t f;
    fixture_init(&f, 4, 4);
    reply_t r = {&f.out, 3};
    cluster_reply_shards(&f.src, &r);
    rd_t rd = rd_of(&f.out);
    int64_t *bounds = malloc(SLOT_COUNT * sizeof *bounds);
    ck_assert_int_eq(rd_header(&rd, '*'), 4);
    size_t covered = 0;
    for (size_t sh = 0; sh < 4; sh++)
        covered += check_shard(&f, &rd, bounds);
    ck_assert_uint_eq(covered, SLOT_COUNT);
    ck_assert_ptr_eq(rd.p, rd.end);
    free(bounds);
    fixture_free(&f);
}
END_TEST

/* ------------------------------------------------------------------------
 * CLUSTER INFO */

static void check_info_has(fixture_t *f, const char *line)
{
    buf_clear(&f->out);
    cluster_info_text(&f->src, &f->out);
    buf_append_byte(&f->out, '\0');
    ck_assert_msg(strstr(f->out.data, line) != NULL, "no %s in %s", line, f->out.data);
}

START_TEST(info_counts_slots_by_owner_state)
{
    fixture_t f;
    fixture_init(&f, 3, 3);
    check_info_has(&f, "cluster_state:ok\r\ncluster_slots_assigned:16384\r\n"
                       "cluster_slots_ok:16384\r\ncluster_slots_pfail:0\r\n"
                       "cluster_slots_fail:0\r\ncluster_known_nodes:3\r\ncluster_size:3\r\n");
    check_info_has(&f, "cluster_stats_messages_sent:12\r\ncluster_stats_messages_received:34\r\n"
                       "total_cluster_links_buffer_limit_exceeded:0\r\n");
    char line[128];
    snprintf(line, sizeof line, "cluster_current_epoch:%" PRIu64 "\r\ncluster_my_epoch:%" PRIu64,
             ring_epoch(f.ring), ring_epoch(f.ring));
    check_info_has(&f, line);
    member_tick(f.view, 20000); /* both others failed; this node still serves */
    size_t mine = ring_owned_count(f.ring, (size_t)ring_node_index(f.ring, f.members[0].id));
    snprintf(line, sizeof line, "cluster_state:ok\r\ncluster_slots_assigned:16384\r\n"
             "cluster_slots_ok:%zu\r\ncluster_slots_pfail:0\r\ncluster_slots_fail:%zu\r\n",
             mine, SLOT_COUNT - mine);
    check_info_has(&f, line);
    f.src.ready = false; /* the node answers CLUSTERDOWN: so does INFO */
    check_info_has(&f, "cluster_state:fail\r\ncluster_slots_assigned:16384\r\n");
    f.src.ready = true;
    f.src.replicas = 1; /* now the others' slots have no live node */
    check_info_has(&f, "cluster_state:fail\r\n");
    ring_free(f.ring);
    f.ring = ring_new();
    f.src.ring = f.ring;
    check_info_has(&f, "cluster_state:fail\r\ncluster_slots_assigned:0\r\n");
    check_info_has(&f, "cluster_known_nodes:3\r\ncluster_size:0\r\n");
    fixture_free(&f);
}
END_TEST

START_TEST(info_and_nodes_are_verbatim_in_resp3)
{
    fixture_t f;
    fixture_init(&f, 3, 3);
    buf_t text = BUF_INIT;
    cluster_info_text(&f.src, &text);
    reply_t r = {&f.out, 3};
    cluster_reply_info(&f.src, &r);
    rd_t rd = rd_of(&f.out);
    ck_assert_int_eq(rd_header(&rd, '='), (int64_t)text.len + 4);
    ck_assert_int_eq(memcmp(rd.p, "txt:", 4), 0);
    ck_assert_int_eq(memcmp(rd.p + 4, text.data, text.len), 0);
    buf_clear(&f.out);
    buf_clear(&text);
    cluster_nodes_text(&f.src, &text);
    cluster_reply_nodes(&f.src, &r);
    rd = rd_of(&f.out);
    ck_assert_int_eq(rd_header(&rd, '='), (int64_t)text.len + 4);
    buf_free(&text);
    fixture_free(&f);
}
END_TEST

/* ------------------------------------------------------------------------
 * The subcommand dispatch */

static bool run(fixture_t *f, int resp, int argc, const char *const *argv)
{
    size_t lens[4];
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    buf_clear(&f->out);
    reply_t r = {&f->out, resp};
    bool mine = cluster_reply_command(&f->src, argc, argv, lens, &r);
    buf_append_byte(&f->out, '\0');
    return mine;
}

START_TEST(dispatch_answers_redis_texts)
{
    fixture_t f;
    fixture_init(&f, 3, 3);
    const char *keyslot[] = {"CLUSTER", "KeySlot", "foo"};
    ck_assert(run(&f, 2, 3, keyslot));
    ck_assert_str_eq(f.out.data, ":12182\r\n");
    const char *tagged[] = {"cluster", "keyslot", "{user1}.cart"};
    ck_assert(run(&f, 2, 3, tagged));
    char want[64];
    snprintf(want, sizeof want, ":%u\r\n", slot_of_key("user1", 5));
    ck_assert_str_eq(f.out.data, want);
    ck_assert(run(&f, 2, 2, keyslot));
    ck_assert_str_eq(f.out.data, "-ERR wrong number of arguments for 'cluster|keyslot' command\r\n");
    const char *info[] = {"cluster", "INFO", "x"};
    ck_assert(run(&f, 2, 3, info));
    ck_assert_str_eq(f.out.data, "-ERR wrong number of arguments for 'cluster|info' command\r\n");
    const char *myid[] = {"cluster", "myid"};
    ck_assert(run(&f, 3, 2, myid));
    snprintf(want, sizeof want, "$40\r\n%s\r\n", f.members[0].id);
    ck_assert_str_eq(f.out.data, want);
    const char *help[] = {"cluster", "help"};
    ck_assert(run(&f, 2, 2, help));
    ck_assert_str_eq(strstr(f.out.data, "\r\n") + 2,
                     strstr(f.out.data, "+CLUSTER <subcommand> [<arg> [value] [opt] ...]. "
                                        "Subcommands are:\r\n"));
    const char *meet[] = {"cluster", "meet", "127.0.0.1", "7002"};
    ck_assert(!run(&f, 2, 4, meet));
    ck_assert_str_eq(f.out.data, "");
    reply_t r = {&f.out, 2};
    buf_clear(&f.out);
    cluster_reply_unknown(&r, "FOO", 3);
    buf_append_byte(&f.out, '\0');
    ck_assert_str_eq(f.out.data, "-ERR unknown subcommand 'FOO'. Try CLUSTER HELP.\r\n");
    fixture_free(&f);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("cluster_reply");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, slots_follow_preference_lists);
    tcase_add_test(tc, slots_skip_failed_nodes);
    tcase_add_test(tc, left_nodes_are_skipped);
    tcase_add_test(tc, slots_of_empty_ring_and_unknown_nodes);
    tcase_add_test(tc, nodes_list_owned_slots);
    tcase_add_test(tc, nodes_text_of_unknown_and_slotless_nodes);
    tcase_add_test(tc, shards_are_owners_with_their_followers);
    tcase_add_test(tc, info_counts_slots_by_owner_state);
    tcase_add_test(tc, info_and_nodes_are_verbatim_in_resp3);
    tcase_add_test(tc, dispatch_answers_redis_texts);
    suite_add_tcase(s, tc);
    return s;
}
