/* server_node.c - the server's cluster node: the node_t over the RocksDB
 * store (src/core/node.h), the bus that carries its messages
 * (src/shell/bus.h), its timer, and the parking of clients whose keyed
 * commands wait for the node's answers.
 *
 * Every keyed command goes through node_client_op with request id
 * (client id << SERVER_REQ_CLIENT_SHIFT) | (its sequence number in the
 * client's queue, client.h) | key index. A client with commands in flight
 * is parked (in a table by client id) until every one is answered; each
 * answer goes to its command's gather (coord_reply_write.h), and a REPLY
 * whose client or command is gone is dropped.
 * The outbox is drained right after each client operation (a lone node
 * answers at once, so the client goes on without a round trip through the
 * loop) and once per round in server_node_round, which also runs the
 * clients unparked by answers from the bus or the timer.
 *
 * A client has at most CLIENT_OPS_INFLIGHT_MAX operations on the node at
 * once: a multi-key command's further operations are copied to the
 * client's backlog and issued, in order, as answers make room (the refill
 * list, served by server_node_drain once the outbox is cleared).
 *
 * Sections: configuration, the parked table, the outbox, the timer and the
 * bus, the server_api entries, startup. */
#include "shell/server.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/cluster_reply.h"
#include "shell/log.h"
#include "util/alloc.h"

#define SERVER_REQ_IDX_MASK ((UINT64_C(1) << SERVER_REQ_IDX_BITS) - 1)
_Static_assert(GATHER_KEYS_MAX <= (1u << SERVER_REQ_IDX_BITS), "a key index must fit a request id");
/* Bytes a bus frame may carry beyond the largest value (key, versions). */
#define SERVER_BUS_FRAME_MARGIN ((size_t)1 << 20)
/* Buckets of the parked table at first use. */
#define SERVER_PARKED_BUCKETS_MIN 64
/* Arguments of a backlogged operation (`name key [value]`). */
#define SERVER_OP_ARGC_MAX 3
/* A backlog buffer larger than this is freed once it is used up. */
#define SERVER_BACKLOG_KEEP_BYTES ((size_t)64 * 1024)

/* ------------------------------------------------------- configuration */

/* The address other nodes and clients reach this one at: the first bind
 * address, or loopback when that is a wildcard (returns true then). */
static bool advertised_host(const config_t *cfg, char *out, size_t len)
{
    const char *b = cfg->bind;
    while (*b == ' ')
        b++;
    if (*b == '-')
        b++;
    size_t n = strcspn(b, " ");
    if (n == 0 || (n == 1 && b[0] == '*') || (n == 7 && !strncmp(b, "0.0.0.0", 7)) ||
        (n == 2 && !strncmp(b, "::", 2))) {
        snprintf(out, len, "127.0.0.1");
        return true;
    }
    snprintf(out, len, "%.*s", (int)n, b);
    return false;
}

/* The bus port: bus-port, else the client port actually bound + 10000. */
static int node_bus_port(const server_t *srv)
{
    return srv->cfg->bus_port ? srv->cfg->bus_port : srv->port + 10000;
}

/* node_config_t from the server's configuration and identity; -1 (logged)
 * when a value does not fit. *wildcard: the bus listens on every address. */
static int node_config_fill(const server_t *srv, node_config_t *nc, bool *wildcard)
{
    const config_t *cfg = srv->cfg;
    node_config_default(nc);
    snprintf(nc->id, sizeof nc->id, "%s", srv->node_id);
    /* The node writes as actor << 24 | generation: keep 40 bits. */
    nc->actor = srv->actor >> 24;
    nc->actor |= nc->actor == 0;
    *wildcard = advertised_host(cfg, nc->host, sizeof nc->host);
    int bus = node_bus_port(srv);
    if (bus <= 0 || bus > 65535 || strlen(cfg->zone) > RING_ZONE_LEN_MAX) {
        log_warning("Invalid cluster settings: bus port %d (at most 65535), zone '%s' (at most "
                    "%d characters)", bus, cfg->zone, RING_ZONE_LEN_MAX);
        return -1;
    }
    nc->port = (uint16_t)srv->port;
    nc->bus_port = (uint16_t)bus;
    nc->weight = (uint32_t)cfg->weight;
    snprintf(nc->zone, sizeof nc->zone, "%s", cfg->zone);
    nc->n = (uint32_t)cfg->replicas;
    nc->r = (uint32_t)cfg->read_quorum;
    nc->w = (uint32_t)cfg->write_quorum;
    nc->fd.node_timeout_ms = (uint64_t)cfg->node_timeout;
    nc->gossip_interval_ms = (uint64_t)cfg->gossip_interval;
    nc->ae_interval_ms = (uint64_t)cfg->anti_entropy_interval;
    nc->value_len_max = (uint64_t)cfg->proto_max_bulk_len;
    nc->background_bytes_per_sec = (uint64_t)cfg->background_bytes_per_sec;
    nc->hint.bytes_max = (uint64_t)cfg->hint_max_bytes;
    nc->hint.ttl_ms = (uint64_t)cfg->hint_ttl * 1000;
    return 0;
}

/* ----------------------------------------------------- the parked table */

static size_t parked_bucket(const server_t *srv, uint64_t id)
{
    return (size_t)(id & (srv->parked_cap - 1));
}

static void parked_grow(server_t *srv)
{
    size_t cap = srv->parked_cap ? srv->parked_cap * 2 : SERVER_PARKED_BUCKETS_MIN;
    client_t **old = srv->parked;
    size_t old_cap = srv->parked_cap;
    srv->parked = xcalloc(cap, sizeof *srv->parked);
    srv->parked_cap = cap;
    for (size_t i = 0; i < old_cap; i++) {
        client_t *c = old[i];
        while (c != NULL) {
            client_t *next = c->parked_next;
            size_t b = parked_bucket(srv, c->st.id);
            c->parked_next = srv->parked[b];
            srv->parked[b] = c;
            c = next;
        }
    }
    free(old);
}

static void park(server_t *srv, client_t *c)
{
    if (c->parked)
        return;
    if (srv->nparked >= srv->parked_cap)
        parked_grow(srv);
    size_t b = parked_bucket(srv, c->st.id);
    c->parked_next = srv->parked[b];
    srv->parked[b] = c;
    c->parked = true;
    srv->nparked++;
}

static void unpark(server_t *srv, client_t *c)
{
    if (!c->parked)
        return;
    for (client_t **pp = &srv->parked[parked_bucket(srv, c->st.id)]; *pp; pp = &(*pp)->parked_next) {
        if (*pp == c) {
            *pp = c->parked_next;
            break;
        }
    }
    c->parked = false;
    c->parked_next = NULL;
    srv->nparked--;
}

static client_t *parked_find(const server_t *srv, uint64_t id)
{
    if (srv->parked_cap == 0)
        return NULL;
    for (client_t *c = srv->parked[parked_bucket(srv, id)]; c != NULL; c = c->parked_next)
        if (c->st.id == id)
            return c;
    return NULL;
}

static void refill_unlist(server_t *srv, client_t *c)
{
    if (!c->refill)
        return;
    for (client_t **pp = &srv->refill; *pp != NULL; pp = &(*pp)->refill_next) {
        if (*pp == c) {
            *pp = c->refill_next;
            break;
        }
    }
    c->refill = false;
    c->refill_next = NULL;
}

void server_node_client_gone(server_t *srv, client_t *c)
{
    unpark(srv, c);
    refill_unlist(srv, c);
    if (!c->resume)
        return;
    for (client_t **pp = &srv->resume; *pp != NULL; pp = &(*pp)->resume_next) {
        if (*pp == c) {
            *pp = c->resume_next;
            break;
        }
    }
    c->resume = false;
}

/* ------------------------------------------------------------ the outbox */

/* One answer for request req_id: into its command's gather; once replies
 * are written (client.h's queue) the client is unparked when nothing is
 * left in flight, its output queued for writing, and (unless it is the
 * client running now) put on the resume list for the requests it holds. */
static void deliver(server_t *srv, uint64_t req_id, const coord_reply_t *reply)
{
    client_t *c = parked_find(srv, req_id >> SERVER_REQ_CLIENT_SHIFT);
    if (c == NULL)
        return; /* the client went away */
    uint32_t seq_low = (uint32_t)(req_id >> SERVER_REQ_IDX_BITS) & (CLIENT_CMDS_MAX - 1);
    client_cmd_t *cmd = client_cmd_find(c, seq_low);
    if (cmd == NULL)
        return;
    if (c->ops_inflight > 0)
        c->ops_inflight--;
    if (c->ops_backlog_pos < c->ops_backlog.len && !c->refill) {
        c->refill = true;
        c->refill_next = srv->refill;
        srv->refill = c;
    }
    uint32_t idx = (uint32_t)(req_id & SERVER_REQ_IDX_MASK);
    if (!client_cmd_answer(c, cmd, idx, reply, server_now_ms(srv)))
        return;
    if (c->ncmds == 0)
        unpark(srv, c);
    server_mark_pending(srv, c);
    if (c != srv->current && !c->resume) {
        c->resume = true;
        c->resume_next = srv->resume;
        srv->resume = c;
    }
}

static void send_to(server_t *srv, const node_effect_t *e)
{
    const member_t *m = member_find(node_view(srv->node), e->to);
    if (m == NULL || m->host[0] == '\0' || m->bus_port == 0)
        return; /* no address known yet: the node retries */
    /* DROPPED (a full queue) is counted by the bus; the node retries. */
    bus_send(srv->bus, e->to, m->host, m->bus_port, e->bytes.data, e->bytes.len);
}

/* The low bits of the request id of operation idx of the command running. */
static uint32_t op_low(const client_t *c, uint32_t idx)
{
    return (c->cmd_running & (CLIENT_CMDS_MAX - 1)) << SERVER_REQ_IDX_BITS | idx;
}

/* Gives an operation of client c to the node (no draining); low: its
 * request id's bits below the client id (op_low). */
static void issue_op(server_t *srv, client_t *c, uint32_t low, int argc,
                     const char *const *argv, const size_t *argvlen)
{
    uint64_t req_id = c->st.id << SERVER_REQ_CLIENT_SHIFT | low;
    c->ops_inflight++;
    node_client_op(srv->node, server_now_ms(srv), req_id, argc, argv, argvlen);
}

/* Copies an operation to c's backlog: its request id's low bits
 * (op_low), argc, then each argument with a NUL after it (arguments are C
 * strings too). */
static void backlog_push(client_t *c, uint32_t low, int argc, const char *const *argv,
                         const size_t *argvlen)
{
    buf_put_u32be(&c->ops_backlog, low);
    buf_append_byte(&c->ops_backlog, (uint8_t)argc);
    for (int i = 0; i < argc; i++) {
        buf_put_varint(&c->ops_backlog, argvlen[i]);
        buf_append(&c->ops_backlog, argv[i], argvlen[i]);
        buf_append_byte(&c->ops_backlog, 0);
    }
}

/* Issues c's next backlogged operation; false when none is left. */
static bool backlog_issue_one(server_t *srv, client_t *c)
{
    cursor_t cur;
    cursor_init(&cur, c->ops_backlog.data + c->ops_backlog_pos,
                c->ops_backlog.len - c->ops_backlog_pos);
    uint32_t low;
    uint8_t argc;
    const char *argv[SERVER_OP_ARGC_MAX];
    size_t argvlen[SERVER_OP_ARGC_MAX];
    if (!cursor_u32be(&cur, &low) || !cursor_u8(&cur, &argc) || argc > SERVER_OP_ARGC_MAX)
        return false;
    for (uint8_t i = 0; i < argc; i++) {
        uint64_t len;
        const uint8_t *p;
        if (!cursor_varint(&cur, &len) || !cursor_raw(&cur, (size_t)len + 1, &p))
            return false;
        argv[i] = (const char *)p;
        argvlen[i] = (size_t)len;
    }
    c->ops_backlog_pos = c->ops_backlog.len - cursor_left(&cur);
    issue_op(srv, c, low, argc, argv, argvlen);
    return true;
}

/* Issues backlogged operations of every client on the refill list while
 * they have room; a used-up backlog is emptied. */
static void refill_all(server_t *srv)
{
    client_t *c;
    while ((c = srv->refill) != NULL) {
        srv->refill = c->refill_next;
        c->refill = false;
        c->refill_next = NULL;
        while (c->ops_inflight < CLIENT_OPS_INFLIGHT_MAX && backlog_issue_one(srv, c))
            ;
        if (c->ops_backlog_pos < c->ops_backlog.len)
            continue;
        if (c->ops_backlog.cap > SERVER_BACKLOG_KEEP_BYTES)
            buf_free(&c->ops_backlog);
        else
            buf_clear(&c->ops_backlog);
        c->ops_backlog_pos = 0;
    }
}

/* Carries out the outbox, then refills the clients its answers made room
 * for, whose operations may answer at once: until both are empty (every
 * pass issues backlogged operations or clears effects, so it ends). */
void server_node_drain(server_t *srv)
{
    for (;;) {
        size_t n;
        const node_effect_t *effects = node_outbox(srv->node, &n);
        if (n == 0 && srv->refill == NULL)
            return;
        for (size_t i = 0; i < n; i++) {
            if (effects[i].kind == NODE_EFFECT_SEND)
                send_to(srv, &effects[i]);
            else
                deliver(srv, effects[i].client_req_id, &effects[i].reply);
        }
        if (n > 0)
            node_outbox_clear(srv->node);
        refill_all(srv);
    }
}

/* --------------------------------------------------- the timer, the bus */

static void node_arm(server_t *srv)
{
    uint64_t at = node_next_deadline(srv->node);
    if (at == srv->node_armed_ms)
        return;
    srv->node_armed_ms = at;
    if (at == UINT64_MAX) {
        event_del(srv->node_ev);
        return;
    }
    uint64_t now = server_now_ms(srv);
    uint64_t wait = at > now ? at - now : 0;
    struct timeval tv = {(time_t)(wait / 1000), (suseconds_t)(wait % 1000) * 1000};
    event_add(srv->node_ev, &tv);
}

/* Resumed clients are taken one at a time from the list, so a client that
 * another's resumption unparks (or closes) is never held elsewhere. The loop
 * ends: a resumed client runs until it parks again or its input is used up,
 * and only bus messages and timers, which do not run here, answer a parked
 * client later than its own node_op. */
void server_node_round(server_t *srv)
{
    server_node_drain(srv);
    client_t *c;
    while ((c = srv->resume) != NULL) {
        srv->resume = c->resume_next;
        c->resume = false;
        c->resume_next = NULL;
        client_resume(c, server_now_ms(srv));
    }
    node_arm(srv);
}

static void on_node_timer(evutil_socket_t fd, short what, void *arg)
{
    server_t *srv = arg;
    srv->node_armed_ms = UINT64_MAX;
    node_tick(srv->node, server_now_ms(srv));
}

static void on_bus_message(void *arg, const char *from_id, const void *payload, size_t len)
{
    server_t *srv = arg;
    node_bus_message(srv->node, server_now_ms(srv), from_id, payload, len);
}

/* A CLUSTER MEET's probe answered: the node at host:bus_port is node_id
 * (NULL: nobody with our secret answered). */
static void on_bus_probe(void *arg, const char *host, uint16_t bus_port, const char *node_id)
{
    server_t *srv = arg;
    for (size_t i = 0; i < srv->nmeets; i++) {
        struct server_meet *m = &srv->meets[i];
        if (m->bus_port != bus_port || strcmp(m->host, host) != 0)
            continue;
        if (node_id == NULL) {
            log_warning("CLUSTER MEET %s:%u: no node answered on bus port %u", host, m->port,
                        bus_port);
        } else {
            member_t peer;
            memset(&peer, 0, sizeof peer);
            snprintf(peer.id, sizeof peer.id, "%s", node_id);
            snprintf(peer.host, sizeof peer.host, "%s", host);
            peer.port = m->port;
            peer.bus_port = bus_port;
            peer.weight = 1; /* its own gossip corrects weight and zone */
            int rc = node_meet(srv->node, server_now_ms(srv), &peer);
            log_notice("CLUSTER MEET %s:%u: node %s %s", host, m->port, node_id,
                       rc > 0 ? "added" : rc == 0 ? "already known" : "refused");
        }
        srv->meets[i] = srv->meets[--srv->nmeets];
        return;
    }
}

/* ------------------------------------------------ server_api entries */

static void api_node_begin(void *impl, enum gather_kind kind, uint32_t n)
{
    server_t *srv = impl;
    client_cmd_t *cmd = client_cmd_begin(srv->current);
    gather_begin(&cmd->gather, kind, n);
    park(srv, srv->current);
}

/* Issues the operation now, or behind the client's backlog when that is
 * not empty or the client has CLIENT_OPS_INFLIGHT_MAX operations out. */
static void api_node_op(void *impl, uint32_t idx, int argc, const char *const *argv,
                        const size_t *argvlen)
{
    server_t *srv = impl;
    client_t *c = srv->current;
    bool wait = c->ops_backlog_pos < c->ops_backlog.len ||
                c->ops_inflight >= CLIENT_OPS_INFLIGHT_MAX;
    if (wait && argc <= SERVER_OP_ARGC_MAX) {
        backlog_push(c, op_low(c, idx), argc, argv, argvlen);
        return;
    }
    issue_op(srv, c, op_low(c, idx), argc, argv, argvlen);
    server_node_drain(srv);
}

static int api_node_flush(void *impl)
{
    server_t *srv = impl;
    return node_flush(srv->node);
}

static void api_cluster_src(void *impl, cluster_src_t *src)
{
    server_t *srv = impl;
    const bus_stats_t *bs = bus_stats(srv->bus);
    *src = (cluster_src_t){
        .ring = node_ring(srv->node),
        .members = node_view(srv->node),
        .myid = srv->node_id,
        .replicas = node_config(srv->node)->n,
        .messages_sent = bs->messages_out,
        .messages_received = bs->messages_in,
        .ready = node_ready(srv->node),
    };
}

static void api_cluster_meet(void *impl, const char *host, uint16_t port, uint16_t bus_port)
{
    server_t *srv = impl;
    if (srv->nmeets == SERVER_MEETS_MAX || !bus_probe(srv->bus, host, bus_port)) {
        log_warning("CLUSTER MEET %s:%u: too many meets in flight", host, port);
        return;
    }
    struct server_meet *m = &srv->meets[srv->nmeets++];
    snprintf(m->host, sizeof m->host, "%s", host);
    m->port = port;
    m->bus_port = bus_port;
}

static bool api_cluster_forget(void *impl, const char *id)
{
    server_t *srv = impl;
    return node_forget(srv->node, server_now_ms(srv), id);
}

static void api_cluster_leave(void *impl)
{
    server_t *srv = impl;
    log_notice("CLUSTER LEAVE: this node leaves the ring");
    node_leave(srv->node, server_now_ms(srv));
}

void server_node_api(server_api_t *api)
{
    api->node_begin = api_node_begin;
    api->node_op = api_node_op;
    api->node_flush = api_node_flush;
    api->cluster_src = api_cluster_src;
    api->cluster_meet = api_cluster_meet;
    api->cluster_forget = api_cluster_forget;
    api->cluster_leave = api_cluster_leave;
}

/* ------------------------------------------------------------ startup */

int server_node_start(server_t *srv)
{
    node_config_t nc;
    bool wildcard;
    if (node_config_fill(srv, &nc, &wildcard) < 0)
        return -1;
    uint64_t now = server_now_ms(srv);
    srv->node = node_new(&nc, srv->actor ^ now, rocks_store_store(srv->rs), now);
    if (srv->node == NULL) {
        log_warning("Can't start the cluster node (invalid settings or unreadable store)");
        return -1;
    }
    const keyspace_t *ks = node_keyspace(srv->node);
    log_notice("Node %s (actor %016llx): %llu keys (%llu with an expiry) in RocksDB",
               srv->node_id, (unsigned long long)srv->actor,
               (unsigned long long)keyspace_key_count(ks),
               (unsigned long long)keyspace_expire_count(ks));
    const config_t *cfg = srv->cfg;
    bus_config_t bc = {
        .bind_addr = wildcard ? NULL : nc.host,
        .port = nc.bus_port,
        .node_id = srv->node_id,
        .secret = cfg->cluster_secret,
        .frame_bytes_max = (size_t)cfg->proto_max_bulk_len + SERVER_BUS_FRAME_MARGIN,
    };
    bus_callbacks_t cb = {.on_message = on_bus_message, .on_probe = on_bus_probe, .arg = srv};
    srv->bus = bus_new(srv->base, &bc, cb);
    srv->node_ev = evtimer_new(srv->base, on_node_timer, srv);
    if (srv->bus == NULL || srv->node_ev == NULL) {
        log_warning("Can't listen on the cluster bus port %u", nc.bus_port);
        return -1;
    }
    srv->node_armed_ms = UINT64_MAX - 1; /* differs from any deadline: arm now */
    node_arm(srv);
    log_notice("Cluster node %s: %s:%u, bus port %u, N=%u R=%u W=%u", srv->node_id, nc.host,
               nc.port, nc.bus_port, nc.n, nc.r, nc.w);
    return 0;
}

void server_node_stop(server_t *srv)
{
    if (srv->node_ev != NULL)
        event_free(srv->node_ev);
    srv->node_ev = NULL;
    if (srv->bus != NULL)
        bus_free(srv->bus);
    srv->bus = NULL;
    node_free(srv->node);
    srv->node = NULL;
    free(srv->parked);
    srv->parked = NULL;
    srv->parked_cap = srv->nparked = 0;
}
