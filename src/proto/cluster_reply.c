/* cluster_reply.c - CLUSTER INFO, NODES, SLOTS, SHARDS, MYID, KEYSLOT (see
 * cluster_reply.h for how the ring maps onto Redis Cluster's formats).
 *
 * Every reply starts from one node table (cl_table_t): the nodes of the view
 * and of the ring joined by id, with the owner of every slot copied out of
 * the ring once. SLOTS and INFO walk the runs of ring_range_next once; NODES
 * and SHARDS scan the owner copy once per node. Sections: the node table,
 * slot ranges, INFO, NODES, SLOTS, SHARDS, the subcommand dispatch. */
#include "proto/cluster_reply.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/slot.h"
#include "util/alloc.h"

/* Every view member, every ring-only node, and this node if in neither. */
#define CLUSTER_TABLE_MAX (MEMBER_MAX + RING_NODES_MAX + 1)
/* Redis echoes at most this much of an unknown subcommand. */
#define CLUSTER_ECHO_MAX 128
/* "65535" and a NUL. */
#define CLUSTER_U16_DIGITS_MAX 6

/* ------------------------------------------------------------------------
 * The node table */

typedef struct cl_node {
    const char *id;     /* borrowed from the view, the ring or src->myid */
    const member_t *m;  /* NULL when the view does not know the node */
    int ring_idx;       /* -1 when the node is not in the ring */
    bool myself;
} cl_node_t;

typedef struct cl_table {
    size_t count;
    size_t self;                      /* index of this node */
    uint16_t of_ring[RING_NODES_MAX]; /* ring index -> table index */
    uint16_t owner[SLOT_COUNT];       /* ring index of each slot's owner */
    cl_node_t nodes[CLUSTER_TABLE_MAX];
} cl_table_t;

static void cl_table_add(cl_table_t *t, const char *id, const member_t *m, int ring_idx,
                         const char *myid)
{
    cl_node_t *n = &t->nodes[t->count];
    n->id = id;
    n->m = m;
    n->ring_idx = ring_idx;
    n->myself = strcmp(id, myid) == 0;
    if (n->myself)
        t->self = t->count;
    if (ring_idx >= 0)
        t->of_ring[ring_idx] = (uint16_t)t->count;
    t->count++;
}

/* The table of src: view members in view order, then ring nodes the view
 * does not know, then this node if neither knows it. Freed with free(). */
static cl_table_t *cl_table_new(const cluster_src_t *src)
{
    cl_table_t *t = xmalloc(sizeof *t);
    t->count = 0;
    t->self = SIZE_MAX;
    for (size_t i = 0; i < member_count(src->members); i++) {
        const member_t *m = member_at(src->members, i);
        cl_table_add(t, m->id, m, ring_node_index(src->ring, m->id), src->myid);
    }
    for (size_t i = 0; i < ring_node_count(src->ring); i++) {
        const ring_node_t *rn = ring_node(src->ring, i);
        if (member_find(src->members, rn->id) == NULL)
            cl_table_add(t, rn->id, NULL, (int)i, src->myid);
    }
    if (t->self == SIZE_MAX)
        cl_table_add(t, src->myid, NULL, ring_node_index(src->ring, src->myid), src->myid);
    for (size_t s = 0; s < SLOT_COUNT; s++)
        t->owner[s] = ring_owner(src->ring, (uint16_t)s);
    return t;
}

/* Unreachable: failed, left, or without an address in the view. */
static bool cl_down(const cl_node_t *n)
{
    return n->m == NULL || n->m->state == MEMBER_FAILED || n->m->state == MEMBER_LEFT;
}

/* Can be listed in CLUSTER SLOTS: up, with an address. */
static bool cl_routable(const cl_node_t *n)
{
    return !cl_down(n) && n->m->port != 0 && n->m->host[0] != '\0';
}

static const char *cl_host(const cl_node_t *n)
{
    return n->m != NULL ? n->m->host : "";
}

static unsigned cl_port(const cl_node_t *n)
{
    return n->m != NULL ? n->m->port : 0;
}

/* ------------------------------------------------------------------------
 * Slot ranges */

/* Writes the runs of consecutive slots owned by ring node ring_idx to pairs
 * (room for SLOT_COUNT entries) as first, last, first, last...; returns the
 * number of entries (twice the runs). */
static size_t cl_owned_ranges(const cl_table_t *t, int ring_idx, uint16_t *pairs)
{
    size_t n = 0;
    if (ring_idx < 0)
        return 0;
    for (size_t s = 0; s < SLOT_COUNT; s++) {
        if (t->owner[s] != (uint16_t)ring_idx)
            continue;
        if (n > 0 && pairs[n - 1] + 1u == s) {
            pairs[n - 1] = (uint16_t)s;
        } else {
            pairs[n++] = (uint16_t)s;
            pairs[n++] = (uint16_t)s;
        }
    }
    return n;
}

static void cl_put_u16(buf_t *out, unsigned v)
{
    char tmp[CLUSTER_U16_DIGITS_MAX];
    char *p = tmp + sizeof tmp;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    buf_append(out, p, (size_t)(tmp + sizeof tmp - p));
}

/* ------------------------------------------------------------------------
 * CLUSTER INFO */

typedef struct cl_counts {
    size_t ok, pfail, fail;
} cl_counts_t;

/* Slots by the state of their owner. */
static cl_counts_t cl_count_slots(const cl_table_t *t)
{
    cl_counts_t c = {0, 0, 0};
    for (size_t s = 0; s < SLOT_COUNT; s++) {
        if (t->owner[s] == RING_NODE_NONE)
            continue;
        const cl_node_t *n = &t->nodes[t->of_ring[t->owner[s]]];
        if (cl_down(n))
            c.fail++;
        else if (n->m->state == MEMBER_SUSPECT)
            c.pfail++;
        else
            c.ok++;
    }
    return c;
}

/* True when the node is ready, the ring is not empty and every slot has a
 * node that is not down among its preference list of N. */
static bool cl_state_ok(const cluster_src_t *src, const cl_table_t *t)
{
    uint32_t cursor = 0;
    ring_range_t run;
    bool any = false;
    if (!src->ready)
        return false;
    while (ring_range_next(src->ring, src->replicas, &cursor, &run)) {
        bool served = false;
        for (size_t i = 0; i < run.count && !served; i++)
            served = !cl_down(&t->nodes[t->of_ring[run.nodes[i]]]);
        if (!served)
            return false;
        any = true;
    }
    return any;
}

void cluster_info_text(const cluster_src_t *src, buf_t *out)
{
    cl_table_t *t = cl_table_new(src);
    cl_counts_t c = cl_count_slots(t);
    size_t size = 0;
    for (size_t i = 0; i < ring_node_count(src->ring); i++)
        size += ring_owned_count(src->ring, i) > 0;
    uint64_t epoch = ring_epoch(src->ring);
    buf_printf(out,
               "cluster_state:%s\r\n"
               "cluster_slots_assigned:%zu\r\n"
               "cluster_slots_ok:%zu\r\n"
               "cluster_slots_pfail:%zu\r\n"
               "cluster_slots_fail:%zu\r\n"
               "cluster_known_nodes:%zu\r\n"
               "cluster_size:%zu\r\n"
               "cluster_current_epoch:%" PRIu64 "\r\n"
               "cluster_my_epoch:%" PRIu64 "\r\n"
               "cluster_stats_messages_sent:%" PRIu64 "\r\n"
               "cluster_stats_messages_received:%" PRIu64 "\r\n"
               "total_cluster_links_buffer_limit_exceeded:0\r\n",
               cl_state_ok(src, t) ? "ok" : "fail", c.ok + c.pfail + c.fail, c.ok, c.pfail,
               c.fail, t->count, size, epoch, epoch, src->messages_sent,
               src->messages_received);
    free(t);
}

void cluster_reply_info(const cluster_src_t *src, reply_t *r)
{
    buf_t text = BUF_INIT;
    cluster_info_text(src, &text);
    reply_verbatim(r, "txt", text.data, text.len);
    buf_free(&text);
}

/* ------------------------------------------------------------------------
 * CLUSTER NODES */

static const char *cl_state_flag(const cl_node_t *n)
{
    if (n->m == NULL)
        return ",noaddr";
    if (n->m->state == MEMBER_SUSPECT)
        return ",fail?";
    if (cl_down(n))
        return ",fail";
    return "";
}

/* One line: id addr flags master ping-sent pong-recv epoch link slots... */
static void cl_node_line(const cluster_src_t *src, const cl_table_t *t, const cl_node_t *n,
                         uint16_t *pairs, buf_t *out)
{
    unsigned bus_port = n->m != NULL ? n->m->bus_port : 0;
    uint64_t pong_ms = n->m != NULL && !n->myself ? n->m->heard_ms : 0;
    buf_printf(out, "%s %s:%u@%u %smaster%s - 0 %" PRIu64 " %" PRIu64 " %s", n->id, cl_host(n),
               cl_port(n), bus_port, n->myself ? "myself," : "", cl_state_flag(n), pong_ms,
               ring_epoch(src->ring), cl_down(n) ? "disconnected" : "connected");
    size_t len = cl_owned_ranges(t, n->ring_idx, pairs);
    for (size_t i = 0; i < len; i += 2) {
        buf_append_byte(out, ' ');
        cl_put_u16(out, pairs[i]);
        if (pairs[i + 1] != pairs[i]) {
            buf_append_byte(out, '-');
            cl_put_u16(out, pairs[i + 1]);
        }
    }
    buf_append_byte(out, '\n');
}

void cluster_nodes_text(const cluster_src_t *src, buf_t *out)
{
    cl_table_t *t = cl_table_new(src);
    uint16_t *pairs = xmalloc(SLOT_COUNT * sizeof *pairs);
    for (size_t i = 0; i < t->count; i++)
        cl_node_line(src, t, &t->nodes[i], pairs, out);
    free(pairs);
    free(t);
}

void cluster_reply_nodes(const cluster_src_t *src, reply_t *r)
{
    buf_t text = BUF_INIT;
    cluster_nodes_text(src, &text);
    reply_verbatim(r, "txt", text.data, text.len);
    buf_free(&text);
}

/* ------------------------------------------------------------------------
 * CLUSTER SLOTS */

/* A run as listed: table indices of its routable nodes, in order. */
typedef struct cl_run {
    uint16_t first, last;
    size_t count;
    uint16_t nodes[RING_RANGE_NODES_MAX];
} cl_run_t;

/* Each node's [host, port, id, {}] rendered once; entry i is
 * data[off[i] .. off[i + 1]). */
typedef struct cl_entries {
    buf_t data;
    size_t off[CLUSTER_TABLE_MAX + 1];
} cl_entries_t;

/* The lead slots: the first slot each listed master is master of, in slot
 * order. Their entries come first, master only (see cluster_reply_slots). */
typedef struct cl_leads {
    size_t count;
    uint16_t slot[CLUSTER_TABLE_MAX];
    uint16_t node[CLUSTER_TABLE_MAX];
} cl_leads_t;

typedef struct cl_slots {
    cl_table_t *table;
    cl_entries_t entries;
    cl_leads_t leads;
    size_t lead_next; /* the first lead not yet passed by the body */
    reply_t body;     /* the entries after the leads */
    size_t written;   /* entries in body */
} cl_slots_t;

static void cl_entries_render(const cl_table_t *t, int resp, cl_entries_t *e)
{
    buf_init(&e->data);
    reply_t er = {&e->data, resp};
    for (size_t i = 0; i < t->count; i++) {
        const cl_node_t *n = &t->nodes[i];
        e->off[i] = e->data.len;
        reply_array(&er, 4);
        reply_bulk_str(&er, cl_host(n));
        reply_int(&er, cl_port(n));
        reply_bulk_str(&er, n->id);
        reply_map(&er, 0); /* Redis 7.0's metadata: no hostname */
    }
    e->off[t->count] = e->data.len;
}

/* The routable nodes of range, or this node alone when none is. */
static void cl_run_of(const cl_table_t *t, const ring_range_t *range, cl_run_t *run)
{
    run->first = range->first;
    run->last = range->last;
    run->count = 0;
    for (size_t i = 0; i < range->count; i++) {
        uint16_t idx = t->of_ring[range->nodes[i]];
        if (cl_routable(&t->nodes[idx]))
            run->nodes[run->count++] = idx;
    }
    if (run->count == 0)
        run->nodes[run->count++] = (uint16_t)t->self;
}

static void cl_find_leads(const cluster_src_t *src, const cl_table_t *t, cl_leads_t *leads)
{
    bool seen[CLUSTER_TABLE_MAX] = {false};
    uint32_t cursor = 0;
    ring_range_t range;
    cl_run_t run;
    leads->count = 0;
    while (ring_range_next(src->ring, src->replicas, &cursor, &range)) {
        cl_run_of(t, &range, &run);
        if (seen[run.nodes[0]])
            continue;
        seen[run.nodes[0]] = true;
        leads->slot[leads->count] = run.first;
        leads->node[leads->count++] = run.nodes[0];
    }
}

/* One entry: slots first..last and the first count nodes of nodes. */
static void cl_slots_entry(const cl_entries_t *e, reply_t *r, unsigned first, unsigned last,
                           const uint16_t *nodes, size_t count)
{
    reply_array(r, 2 + count);
    reply_int(r, first);
    reply_int(r, last);
    for (size_t i = 0; i < count; i++)
        buf_append(r->out, e->data.data + e->off[nodes[i]], e->off[nodes[i] + 1] - e->off[nodes[i]]);
}

/* Writes run to the body, leaving out the lead slots inside it (runs come
 * in slot order, as the leads do). */
static void cl_slots_run(cl_slots_t *st, const cl_run_t *run)
{
    unsigned from = run->first;
    while (st->lead_next < st->leads.count && st->leads.slot[st->lead_next] <= run->last) {
        unsigned lead = st->leads.slot[st->lead_next++];
        if (lead > from) {
            cl_slots_entry(&st->entries, &st->body, from, lead - 1, run->nodes, run->count);
            st->written++;
        }
        from = lead + 1;
    }
    if (from <= run->last) {
        cl_slots_entry(&st->entries, &st->body, from, run->last, run->nodes, run->count);
        st->written++;
    }
}

static bool cl_run_same_nodes(const cl_run_t *a, const cl_run_t *b)
{
    return a->count == b->count && memcmp(a->nodes, b->nodes, a->count * sizeof *a->nodes) == 0;
}

/* The runs in slot order, adjacent runs with the same nodes merged. */
static void cl_slots_body(const cluster_src_t *src, cl_slots_t *st)
{
    uint32_t cursor = 0;
    ring_range_t range;
    cl_run_t pending, next;
    bool have = false;
    while (ring_range_next(src->ring, src->replicas, &cursor, &range)) {
        cl_run_of(st->table, &range, &next);
        if (have && cl_run_same_nodes(&pending, &next)) {
            pending.last = next.last;
            continue;
        }
        if (have)
            cl_slots_run(st, &pending);
        pending = next;
        have = true;
    }
    if (have)
        cl_slots_run(st, &pending);
}

/* Clients that learn roles from CLUSTER SLOTS (redis-py's RedisCluster)
 * keep the role a node has in the first entry that names it. In a striped
 * ring every node is a replica of some runs, so the reply opens with one
 * single-slot, master-only entry per master (its lead slot), and every node
 * is first seen as a master. */
void cluster_reply_slots(const cluster_src_t *src, reply_t *r)
{
    cl_slots_t *st = xmalloc(sizeof *st);
    st->table = cl_table_new(src);
    cl_entries_render(st->table, r->resp, &st->entries);
    cl_find_leads(src, st->table, &st->leads);
    buf_t body = BUF_INIT;
    st->body = (reply_t){&body, r->resp};
    st->lead_next = 0;
    st->written = 0;
    cl_slots_body(src, st);
    reply_array(r, st->leads.count + st->written);
    for (size_t i = 0; i < st->leads.count; i++)
        cl_slots_entry(&st->entries, r, st->leads.slot[i], st->leads.slot[i], &st->leads.node[i], 1);
    buf_append(r->out, body.data, body.len);
    buf_free(&body);
    buf_free(&st->entries.data);
    free(st->table);
    free(st);
}

/* ------------------------------------------------------------------------
 * CLUSTER SHARDS */

/* replica[a * nodes + b]: ring node b follows ring node a in the preference
 * list of a slot a owns. Freed with free(). */
static bool *cl_replica_matrix(const cluster_src_t *src)
{
    size_t nodes = ring_node_count(src->ring);
    bool *replica = xcalloc(nodes * nodes + 1, sizeof *replica);
    uint32_t cursor = 0;
    ring_range_t run;
    while (ring_range_next(src->ring, src->replicas, &cursor, &run)) {
        for (size_t i = 1; i < run.count; i++)
            replica[(size_t)run.nodes[0] * nodes + run.nodes[i]] = true;
    }
    return replica;
}

/* One node's map: id, port, ip, endpoint, role, replication-offset, health. */
static void cl_shard_node(const cl_node_t *n, bool master, reply_t *r)
{
    reply_map(r, cl_port(n) != 0 ? 7 : 6);
    reply_bulk_str(r, "id");
    reply_bulk_str(r, n->id);
    if (cl_port(n) != 0) {
        reply_bulk_str(r, "port");
        reply_int(r, cl_port(n));
    }
    reply_bulk_str(r, "ip");
    reply_bulk_str(r, cl_host(n));
    reply_bulk_str(r, "endpoint");
    reply_bulk_str(r, cl_host(n));
    reply_bulk_str(r, "role");
    reply_bulk_str(r, master ? "master" : "replica");
    reply_bulk_str(r, "replication-offset");
    reply_int(r, 0);
    reply_bulk_str(r, "health");
    reply_bulk_str(r, cl_down(n) ? "fail" : "online");
}

/* The shard of node n: the slots it owns, itself as master, then the nodes
 * that follow it in the preference lists of those slots as replicas. */
static void cl_shard(const cl_table_t *t, size_t ring_nodes, const cl_node_t *n,
                     const bool *replica, uint16_t *pairs, reply_t *r)
{
    const bool *row = n->ring_idx >= 0 ? replica + (size_t)n->ring_idx * ring_nodes : NULL;
    size_t followers = 0;
    for (size_t j = 0; row != NULL && j < ring_nodes; j++)
        followers += row[j];
    reply_map(r, 2);
    reply_bulk_str(r, "slots");
    size_t len = cl_owned_ranges(t, n->ring_idx, pairs);
    reply_array(r, len);
    for (size_t i = 0; i < len; i++)
        reply_int(r, pairs[i]);
    reply_bulk_str(r, "nodes");
    reply_array(r, 1 + followers);
    cl_shard_node(n, true, r);
    for (size_t j = 0; row != NULL && j < ring_nodes; j++) {
        if (row[j])
            cl_shard_node(&t->nodes[t->of_ring[j]], false, r);
    }
}

void cluster_reply_shards(const cluster_src_t *src, reply_t *r)
{
    cl_table_t *t = cl_table_new(src);
    bool *replica = cl_replica_matrix(src);
    uint16_t *pairs = xmalloc(SLOT_COUNT * sizeof *pairs);
    reply_array(r, t->count);
    for (size_t i = 0; i < t->count; i++)
        cl_shard(t, ring_node_count(src->ring), &t->nodes[i], replica, pairs, r);
    free(pairs);
    free(replica);
    free(t);
}

/* ------------------------------------------------------------------------
 * MYID, KEYSLOT, HELP and the subcommand dispatch */

void cluster_reply_myid(const cluster_src_t *src, reply_t *r)
{
    reply_bulk_str(r, src->myid);
}

void cluster_reply_keyslot(reply_t *r, const void *key, size_t len)
{
    reply_int(r, slot_of_key(key, len));
}

static const char *const cluster_help_lines[] = {
    "CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "FORGET <node-id>",
    "    Remove a node from the cluster.",
    "INFO",
    "    Return information about the cluster.",
    "KEYSLOT <key>",
    "    Return the hash slot for <key>.",
    "MEET <ip> <port> [<bus-port>]",
    "    Connect nodes into a working cluster.",
    "MYID",
    "    Return the node id.",
    "NODES",
    "    Return cluster configuration seen by node. Output format:",
    "    <id> <ip:port@bus-port[,hostname]> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
    "SHARDS",
    "    Return information about slot range mappings and the nodes associated with them.",
    "SLOTS",
    "    Return information about slots range mappings. Each range is made of:",
    "    start, end, master and replicas IP addresses, ports and ids",
    "HELP",
    "    Prints this help.",
};

typedef void (*cl_sub_fn)(const cluster_src_t *src, const char *const *argv,
                          const size_t *argvlen, reply_t *r);

static void cl_sub_help(const cluster_src_t *src, const char *const *argv, const size_t *argvlen,
                        reply_t *r)
{
    (void)src, (void)argv, (void)argvlen;
    size_t n = sizeof cluster_help_lines / sizeof cluster_help_lines[0];
    reply_array(r, n);
    for (size_t i = 0; i < n; i++)
        reply_simple(r, cluster_help_lines[i]);
}

static void cl_sub_keyslot(const cluster_src_t *src, const char *const *argv,
                           const size_t *argvlen, reply_t *r)
{
    (void)src;
    cluster_reply_keyslot(r, argv[2], argvlen[2]);
}

/* Adapts a reply that needs nothing but src. */
#define CL_SUB_PLAIN(name)                                                                    \
    static void cl_sub_##name(const cluster_src_t *src, const char *const *argv,              \
                              const size_t *argvlen, reply_t *r)                              \
    {                                                                                         \
        (void)argv, (void)argvlen;                                                            \
        cluster_reply_##name(src, r);                                                         \
    }
CL_SUB_PLAIN(info)
CL_SUB_PLAIN(nodes)
CL_SUB_PLAIN(slots)
CL_SUB_PLAIN(shards)
CL_SUB_PLAIN(myid)

static const struct {
    const char *name; /* lower case */
    int argc;         /* exact, the command and subcommand included */
    cl_sub_fn fn;
} cluster_subs[] = {
    {"info", 2, cl_sub_info},   {"nodes", 2, cl_sub_nodes},     {"slots", 2, cl_sub_slots},
    {"shards", 2, cl_sub_shards}, {"myid", 2, cl_sub_myid},     {"keyslot", 3, cl_sub_keyslot},
    {"help", 2, cl_sub_help},
};

bool cluster_reply_command(const cluster_src_t *src, int argc, const char *const *argv,
                           const size_t *argvlen, reply_t *r)
{
    for (size_t i = 0; i < sizeof cluster_subs / sizeof cluster_subs[0]; i++) {
        const char *name = cluster_subs[i].name;
        if (argvlen[1] != strlen(name) || strncasecmp(argv[1], name, argvlen[1]) != 0)
            continue;
        if (argc != cluster_subs[i].argc)
            reply_errorf(r, "ERR wrong number of arguments for 'cluster|%s' command", name);
        else
            cluster_subs[i].fn(src, argv, argvlen, r);
        return true;
    }
    return false;
}

void cluster_reply_unknown(reply_t *r, const char *name, size_t len)
{
    int shown = len < CLUSTER_ECHO_MAX ? (int)len : CLUSTER_ECHO_MAX;
    reply_errorf(r, "ERR unknown subcommand '%.*s'. Try CLUSTER HELP.", shown, name);
}
