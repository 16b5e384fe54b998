/* bus.c - the node-to-node bus on sockets (see bus.h): the listener and
 * incoming connections (each driving a bus_session_t), and the outgoing
 * hiredis links, one per peer.
 *
 * hiredis rules this file follows (async.c): a context freed from inside
 * one of its reply callbacks is freed by hiredis after the callback returns;
 * when a context goes away, its pending reply callbacks run with a NULL
 * reply and then its disconnect callback, so a peer is never freed before
 * bus_free and every callback checks that its context is still the peer's. */
#include "shell/bus.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <hiredis/sds.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "shell/log.h"
#include "util/alloc.h"
#include "util/hex.h"

#define BUS_LISTEN_BACKLOG 511

typedef struct bus_conn {
    struct bus *bus;
    int fd;
    struct event *rev, *wev;
    bus_session_t *session;
    buf_t out; /* replies not yet written */
    struct bus_conn *prev, *next;
} bus_conn_t;

enum peer_state {
    PEER_IDLE,      /* no link; retry_ev may hold the backoff */
    PEER_HANDSHAKE, /* connecting, NODE.HELLO or NODE.AUTH sent */
    PEER_READY,     /* bus_flush moves pending to the link's output buffer */
};

typedef struct bus_peer {
    struct bus *bus;
    char id[BUS_NODE_ID_LEN + 1];
    char host[BUS_HOST_LEN_MAX + 1];
    uint16_t port;
    enum peer_state state;
    redisAsyncContext *ac;     /* NULL while idle */
    uint8_t nonce[BUS_NONCE_LEN];
    buf_t pending;             /* frames waiting for bus_flush (and the handshake) */
    struct event *retry_ev;    /* backoff while idle, handshake timeout otherwise */
    uint32_t backoff_ms;
    bool reported_up;          /* on_peer_state(true) was the last report */
    bool probe;                /* a bus_probe: id unknown, one attempt, then freed */
    bool probe_answered;       /* on_probe was called */
} bus_peer_t;

struct bus {
    struct event_base *base;
    char node_id[BUS_NODE_ID_LEN + 1];
    char *secret; /* owned; NULL for none */
    size_t frame_bytes_max, queue_bytes_max;
    bus_callbacks_t cb;
    struct evconnlistener *listener;
    uint16_t port;
    bus_conn_t *conns;
    size_t nconns;
    bus_peer_t **peers;
    size_t npeers;
    bus_peer_t *probes[BUS_PROBES_MAX];
    size_t nprobes;
    bool freeing; /* bus_free runs: hiredis callbacks do nothing */
    bus_stats_t stats;
    char rbuf[BUS_READ_CHUNK];
};

static void bus_random(uint8_t *out, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = getrandom(out + got, len - got, 0);
        if (n < 0 && errno != EINTR) {
            log_warning("bus: getrandom failed: %s", strerror(errno));
            abort();
        }
        if (n > 0)
            got += (size_t)n;
    }
}

static void set_nodelay(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* -------------------------------------------------------------------------
 * Incoming connections */

static void conn_close(bus_conn_t *c)
{
    bus_t *bus = c->bus;
    if (c->prev)
        c->prev->next = c->next;
    else
        bus->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    bus->nconns--;
    event_free(c->rev);
    event_free(c->wev);
    close(c->fd);
    bus_session_free(c->session);
    buf_free(&c->out);
    free(c);
}

/* Writes what it can of c->out. Returns false on a write error. */
static bool conn_flush(bus_conn_t *c)
{
    while (c->out.len > 0) {
        ssize_t n = write(c->fd, c->out.data, c->out.len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0)
            return false;
        c->bus->stats.bytes_out += (uint64_t)n;
        buf_consume(&c->out, (size_t)n);
    }
    if (c->out.len > 0)
        event_add(c->wev, NULL);
    else
        event_del(c->wev);
    return true;
}

static void conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
    bus_conn_t *c = arg;
    if (!conn_flush(c))
        conn_close(c);
}

static void conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
    bus_conn_t *c = arg;
    bus_t *bus = c->bus;
    ssize_t n = read(fd, bus->rbuf, sizeof bus->rbuf);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) {
        conn_close(c);
        return;
    }
    enum bus_session_result r = bus_session_feed(c->session, bus->rbuf, (size_t)n, &c->out);
    bool ok = conn_flush(c);
    if (r == BUS_SESSION_CLOSE || !ok || c->out.len > bus->queue_bytes_max)
        conn_close(c);
}

static void bus_accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *addr,
                          int addrlen, void *arg)
{
    bus_t *bus = arg;
    if (bus->nconns >= BUS_CONNS_MAX) {
        log_warning("bus: refusing a connection: %d already open", BUS_CONNS_MAX);
        close(fd);
        return;
    }
    set_nodelay(fd);
    bus_conn_t *c = xcalloc(1, sizeof *c);
    c->bus = bus;
    c->fd = fd;
    c->rev = event_new(bus->base, fd, EV_READ | EV_PERSIST, conn_read_cb, c);
    c->wev = event_new(bus->base, fd, EV_WRITE | EV_PERSIST, conn_write_cb, c);
    uint8_t nonce[BUS_NONCE_LEN];
    bus_random(nonce, sizeof nonce);
    bus_session_config_t scfg = {
        .self_id = bus->node_id,
        .secret = bus->secret,
        .frame_bytes_max = bus->frame_bytes_max,
        .on_message = bus->cb.on_message,
        .arg = bus->cb.arg,
        .stats = &bus->stats,
    };
    c->session = bus_session_new(&scfg, nonce);
    buf_init(&c->out);
    c->next = bus->conns;
    if (bus->conns)
        bus->conns->prev = c;
    bus->conns = c;
    bus->nconns++;
    bus->stats.connections_accepted++;
    event_add(c->rev, NULL);
}

/* -------------------------------------------------------------------------
 * Outgoing links */

static void peer_connect(bus_peer_t *p);
static void probe_answer(bus_peer_t *p, const char *id);

static void peer_arm(bus_peer_t *p, uint32_t ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(p->retry_ev, &tv);
}

static void peer_report(bus_peer_t *p, bool up)
{
    if (p->reported_up == up)
        return;
    p->reported_up = up;
    if (up)
        p->bus->stats.links_connected++;
    else
        p->bus->stats.links_connected--;
    if (p->bus->cb.on_peer_state != NULL)
        p->bus->cb.on_peer_state(p->bus->cb.arg, p->id, up);
}

/* The link is gone (its context already freed or being freed by hiredis):
 * report it and retry after the backoff (a probe: answer it). */
static void link_lost(bus_peer_t *p)
{
    p->ac = NULL;
    p->state = PEER_IDLE;
    if (p->probe) {
        probe_answer(p, NULL);
        return;
    }
    p->bus->stats.link_failures++;
    peer_arm(p, p->backoff_ms);
    p->backoff_ms = p->backoff_ms * 2 > BUS_BACKOFF_MAX_MS ? BUS_BACKOFF_MAX_MS : p->backoff_ms * 2;
    peer_report(p, false);
}

/* Closes the link ourselves (hiredis defers the free when called from one
 * of the context's callbacks); its callbacks will find p->ac changed. */
static void link_drop(bus_peer_t *p)
{
    redisAsyncContext *ac = p->ac;
    p->ac = NULL;
    redisAsyncFree(ac);
    link_lost(p);
}

/* Frames queued while the handshake ran wait for the next bus_flush: they
 * may acknowledge writes of this round, not yet committed. */
static void link_ready(bus_peer_t *p)
{
    p->state = PEER_READY;
    p->backoff_ms = BUS_BACKOFF_MIN_MS;
    evtimer_del(p->retry_ev);
    log_verbose("bus: link to %.40s (%s:%u) ready", p->id, p->host, p->port);
    peer_report(p, true);
}

static void link_auth_cb(redisAsyncContext *ac, void *r, void *privdata)
{
    bus_peer_t *p = privdata;
    redisReply *reply = r;
    if (reply == NULL || p->bus->freeing || ac != p->ac)
        return;
    if (reply->type != REDIS_REPLY_STATUS || strcmp(reply->str, "OK") != 0) {
        p->bus->stats.auth_failures++;
        log_warning("bus: %.40s refused our cluster-secret proof", p->id);
        link_drop(p);
        return;
    }
    link_ready(p);
}

/* Checks NODE.HELLO's reply [id, nonce, proof]: the right node, and (with a
 * secret) its proof. Decodes the server's nonce into server_nonce. */
static bool link_hello_valid(bus_peer_t *p, const redisReply *reply, uint8_t *server_nonce)
{
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3)
        return false;
    for (size_t i = 0; i < 3; i++)
        if (reply->element[i]->type != REDIS_REPLY_STRING)
            return false;
    const redisReply *id = reply->element[0], *nonce = reply->element[1], *proof = reply->element[2];
    bool id_ok = p->probe ? bus_node_id_valid(id->str, id->len)
                          : id->len == BUS_NODE_ID_LEN && memcmp(id->str, p->id, BUS_NODE_ID_LEN) == 0;
    if (!id_ok || !hex_decode(nonce->str, nonce->len, server_nonce, BUS_NONCE_LEN))
        return false;
    if (p->bus->secret == NULL)
        return proof->len == 0;
    uint8_t want[SHA256_DIGEST_LEN], got[SHA256_DIGEST_LEN];
    bus_proof_server(p->bus->secret, p->nonce, server_nonce, id->str, want);
    return hex_decode(proof->str, proof->len, got, sizeof got) &&
           bus_equal_const_time(want, got, sizeof want);
}

static void link_hello_cb(redisAsyncContext *ac, void *r, void *privdata)
{
    bus_peer_t *p = privdata;
    redisReply *reply = r;
    if (reply == NULL || p->bus->freeing || ac != p->ac)
        return;
    uint8_t server_nonce[BUS_NONCE_LEN];
    if (!link_hello_valid(p, reply, server_nonce)) {
        p->bus->stats.auth_failures++;
        log_warning("bus: %s:%u is not %s%.40s with our cluster-secret (%s)", p->host, p->port,
                    p->probe ? "a dynis node" : "node ", p->id,
                    reply->type == REDIS_REPLY_ERROR ? reply->str : "bad NODE.HELLO reply");
        link_drop(p);
        return;
    }
    if (p->probe) {
        memcpy(p->id, reply->element[0]->str, BUS_NODE_ID_LEN);
        probe_answer(p, p->id);
        return;
    }
    if (p->bus->secret == NULL) {
        link_ready(p);
        return;
    }
    uint8_t proof[SHA256_DIGEST_LEN];
    char proof_hex[2 * SHA256_DIGEST_LEN + 1];
    bus_proof_client(p->bus->secret, server_nonce, p->nonce, p->bus->node_id, proof);
    hex_encode(proof, sizeof proof, proof_hex);
    const char *argv[] = {"NODE.AUTH", proof_hex};
    const size_t argvlen[] = {9, 2 * SHA256_DIGEST_LEN};
    redisAsyncCommandArgv(ac, link_auth_cb, p, 2, argv, argvlen);
}

static void link_connect_cb(const redisAsyncContext *ac, int status)
{
    bus_peer_t *p = ac->data;
    if (status == REDIS_OK || p->bus->freeing || ac != p->ac)
        return;
    log_verbose("bus: cannot connect to %.40s at %s:%u: %s", p->id, p->host, p->port, ac->errstr);
    link_lost(p);
}

static void link_disconnect_cb(const redisAsyncContext *ac, int status)
{
    bus_peer_t *p = ac->data;
    if (p->bus->freeing || ac != p->ac)
        return;
    log_verbose("bus: link to %.40s lost: %s", p->id, status == REDIS_OK ? "closed" : ac->errstr);
    link_lost(p);
}

static void peer_connect(bus_peer_t *p)
{
    redisAsyncContext *ac = redisAsyncConnect(p->host, p->port);
    if (ac == NULL || ac->err) {
        log_verbose("bus: cannot connect to %.40s at %s:%u: %s", p->id, p->host, p->port,
                    ac ? ac->errstr : "out of memory");
        if (ac != NULL)
            redisAsyncFree(ac);
        link_lost(p);
        return;
    }
    ac->data = p;
    p->ac = ac;
    p->state = PEER_HANDSHAKE;
    redisLibeventAttach(ac, p->bus->base);
    redisAsyncSetConnectCallback(ac, link_connect_cb);
    redisAsyncSetDisconnectCallback(ac, link_disconnect_cb);
    redisEnableKeepAlive(&ac->c);
    bus_random(p->nonce, sizeof p->nonce);
    char version[16], nonce_hex[2 * BUS_NONCE_LEN + 1];
    snprintf(version, sizeof version, "%d", BUS_VERSION);
    hex_encode(p->nonce, sizeof p->nonce, nonce_hex);
    const char *argv[] = {"NODE.HELLO", version, p->bus->node_id, nonce_hex};
    const size_t argvlen[] = {10, strlen(version), BUS_NODE_ID_LEN, 2 * BUS_NONCE_LEN};
    redisAsyncCommandArgv(ac, link_hello_cb, p, 4, argv, argvlen);
    peer_arm(p, BUS_HANDSHAKE_TIMEOUT_MS);
}

static void probe_reap(bus_peer_t *p);

/* Handshake timeout; or backoff over (reconnect if messages wait); or a
 * probe to start, or to free once answered. */
static void peer_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    bus_peer_t *p = arg;
    if (p->state == PEER_HANDSHAKE) {
        log_verbose("bus: handshake with %.40s at %s:%u timed out", p->id, p->host, p->port);
        link_drop(p);
    } else if (p->probe && p->probe_answered) {
        probe_reap(p);
    } else if (p->probe || p->pending.len > 0) {
        peer_connect(p);
    }
}

/* Answers a probe once (id NULL: failed), closes its link and frees it from
 * the timer, after hiredis has run the link's last callback. */
static void probe_answer(bus_peer_t *p, const char *id)
{
    if (!p->probe_answered) {
        p->probe_answered = true;
        if (p->bus->cb.on_probe != NULL)
            p->bus->cb.on_probe(p->bus->cb.arg, p->host, p->port, id);
    }
    if (p->ac != NULL) {
        redisAsyncContext *ac = p->ac;
        p->ac = NULL;
        redisAsyncFree(ac);
    }
    p->state = PEER_IDLE;
    peer_arm(p, 0);
}

/* -------------------------------------------------------------------------
 * Peers and the public API */

static bus_peer_t *peer_find(const bus_t *bus, const char *id)
{
    for (size_t i = 0; i < bus->npeers; i++)
        if (memcmp(bus->peers[i]->id, id, BUS_NODE_ID_LEN) == 0)
            return bus->peers[i];
    return NULL;
}

static bus_peer_t *peer_alloc(bus_t *bus)
{
    bus_peer_t *p = xcalloc(1, sizeof *p);
    p->bus = bus;
    p->state = PEER_IDLE;
    buf_init(&p->pending);
    p->retry_ev = evtimer_new(bus->base, peer_timer_cb, p);
    p->backoff_ms = BUS_BACKOFF_MIN_MS;
    return p;
}

static bus_peer_t *peer_new(bus_t *bus, const char *id)
{
    if (bus->npeers >= BUS_PEERS_MAX)
        return NULL;
    bus_peer_t *p = peer_alloc(bus);
    memcpy(p->id, id, BUS_NODE_ID_LEN);
    bus->peers = xrealloc(bus->peers, (bus->npeers + 1) * sizeof *bus->peers);
    bus->peers[bus->npeers++] = p;
    return p;
}

static void peer_free(bus_peer_t *p)
{
    if (p->ac != NULL) {
        redisAsyncContext *ac = p->ac;
        p->ac = NULL;
        redisAsyncFree(ac);
    }
    event_free(p->retry_ev);
    buf_free(&p->pending);
    free(p);
}

static void probe_reap(bus_peer_t *p)
{
    bus_t *bus = p->bus;
    for (size_t i = 0; i < bus->nprobes; i++)
        if (bus->probes[i] == p)
            bus->probes[i] = bus->probes[--bus->nprobes];
    peer_free(p);
}

bool bus_probe(bus_t *bus, const char *host, uint16_t port)
{
    if (bus->nprobes >= BUS_PROBES_MAX || strlen(host) > BUS_HOST_LEN_MAX)
        return false;
    bus_peer_t *p = peer_alloc(bus);
    p->probe = true;
    snprintf(p->host, sizeof p->host, "%s", host);
    p->port = port;
    bus->probes[bus->nprobes++] = p;
    peer_arm(p, 0);
    return true;
}

/* The peer for id at host:port, created or moved there; NULL when full. */
static bus_peer_t *peer_get(bus_t *bus, const char *id, const char *host, uint16_t port)
{
    bus_peer_t *p = peer_find(bus, id);
    if (p == NULL && (!bus_node_id_valid(id, BUS_NODE_ID_LEN) || (p = peer_new(bus, id)) == NULL))
        return NULL;
    if (p->port == port && strcmp(p->host, host) == 0)
        return p;
    snprintf(p->host, sizeof p->host, "%s", host);
    p->port = port;
    if (p->ac != NULL) {
        log_verbose("bus: %.40s moved to %s:%u", p->id, host, port);
        link_drop(p);
        evtimer_del(p->retry_ev);
        p->backoff_ms = BUS_BACKOFF_MIN_MS;
    }
    return p;
}

static size_t peer_queued(const bus_peer_t *p)
{
    return p->pending.len + (p->state == PEER_READY ? sdslen(p->ac->c.obuf) : 0);
}

enum bus_send_result bus_send(bus_t *bus, const char *peer_id, const char *host, uint16_t port,
                              const void *payload, size_t len)
{
    /* The id's characters are checked when its peer is made (peer_get). */
    if (strnlen(peer_id, BUS_NODE_ID_LEN + 1) != BUS_NODE_ID_LEN ||
        strnlen(host, BUS_HOST_LEN_MAX + 1) > BUS_HOST_LEN_MAX)
        return BUS_SEND_BAD_PEER;
    if (len > bus->frame_bytes_max - BUS_FRAME_OVERHEAD_MAX)
        return BUS_SEND_TOO_BIG;
    bus_peer_t *p = peer_get(bus, peer_id, host, port);
    if (p == NULL)
        return BUS_SEND_BAD_PEER;
    char header[BUS_MSG_HEADER_MAX];
    size_t hlen = bus_msg_header(header, len);
    if (peer_queued(p) + hlen + len + 2 > bus->queue_bytes_max) {
        bus->stats.dropped++;
        return BUS_SEND_DROPPED;
    }
    buf_append(&p->pending, header, hlen);
    buf_append(&p->pending, payload, len);
    buf_append(&p->pending, "\r\n", 2);
    if (p->state == PEER_IDLE && !evtimer_pending(p->retry_ev, NULL))
        peer_connect(p);
    bus->stats.messages_out++;
    bus->stats.bytes_out += hlen + len + 2;
    return BUS_SEND_QUEUED;
}

void bus_flush(bus_t *bus)
{
    for (size_t i = 0; i < bus->npeers; i++) {
        bus_peer_t *p = bus->peers[i];
        if (p->state != PEER_READY || p->pending.len == 0)
            continue;
        redisAppendFormattedCommand(&p->ac->c, p->pending.data, p->pending.len);
        if (p->pending.cap > BUS_PENDING_KEEP_BYTES)
            buf_free(&p->pending);
        else
            buf_clear(&p->pending);
        /* Write now (hiredis arms the write event for what the socket does
         * not take): waiting for the loop's next turn would add a whole
         * round of other work to every hop of every request. A failed
         * write drops the link through its disconnect callback; p is not
         * used after. */
        redisAsyncHandleWrite(p->ac);
    }
}

size_t bus_queued_bytes(const bus_t *bus, const char *peer_id)
{
    const bus_peer_t *p = peer_find(bus, peer_id);
    return p == NULL ? 0 : peer_queued(p);
}

bool bus_peer_connected(const bus_t *bus, const char *peer_id)
{
    const bus_peer_t *p = peer_find(bus, peer_id);
    return p != NULL && p->state == PEER_READY;
}

const bus_stats_t *bus_stats(const bus_t *bus) { return &bus->stats; }

uint16_t bus_port(const bus_t *bus) { return bus->port; }

/* Binds the listener; returns false (logged) on failure. */
static bool bus_listen(bus_t *bus, const char *addr, uint16_t port)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    char service[8];
    snprintf(service, sizeof service, "%u", port);
    int rc = getaddrinfo(addr, service, &hints, &res);
    if (rc != 0) {
        log_warning("bus: bad bind address %s: %s", addr, gai_strerror(rc));
        return false;
    }
    bus->listener = evconnlistener_new_bind(bus->base, bus_accept_cb, bus,
                                            LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
                                                LEV_OPT_CLOSE_ON_EXEC,
                                            BUS_LISTEN_BACKLOG, res->ai_addr, (int)res->ai_addrlen);
    freeaddrinfo(res);
    if (bus->listener == NULL) {
        log_warning("bus: cannot listen on %s:%u: %s", addr, port, strerror(errno));
        return false;
    }
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof ss;
    getsockname(evconnlistener_get_fd(bus->listener), (struct sockaddr *)&ss, &sslen);
    bus->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                               : ((struct sockaddr_in *)&ss)->sin_port);
    return true;
}

bus_t *bus_new(struct event_base *base, const bus_config_t *cfg, bus_callbacks_t cb)
{
    if (cfg->node_id == NULL || !bus_node_id_valid(cfg->node_id, strlen(cfg->node_id)) ||
        cb.on_message == NULL) {
        log_warning("bus: invalid configuration (node id or callbacks)");
        return NULL;
    }
    if (cfg->secret != NULL && strlen(cfg->secret) > BUS_SECRET_LEN_MAX) {
        log_warning("bus: cluster-secret longer than %d bytes", BUS_SECRET_LEN_MAX);
        return NULL;
    }
    bus_t *bus = xcalloc(1, sizeof *bus);
    bus->base = base;
    memcpy(bus->node_id, cfg->node_id, BUS_NODE_ID_LEN);
    if (cfg->secret != NULL && cfg->secret[0] != '\0')
        bus->secret = xstrdup(cfg->secret);
    bus->frame_bytes_max = cfg->frame_bytes_max ? cfg->frame_bytes_max : BUS_FRAME_BYTES_DEFAULT;
    bus->queue_bytes_max = cfg->queue_bytes_max ? cfg->queue_bytes_max : BUS_QUEUE_BYTES_DEFAULT;
    if (bus->frame_bytes_max <= BUS_FRAME_OVERHEAD_MAX)
        bus->frame_bytes_max = BUS_FRAME_OVERHEAD_MAX + 1;
    bus->cb = cb;
    if (!bus_listen(bus, cfg->bind_addr ? cfg->bind_addr : "0.0.0.0", cfg->port)) {
        bus_free(bus);
        return NULL;
    }
    return bus;
}

void bus_free(bus_t *bus)
{
    if (bus == NULL)
        return;
    bus->freeing = true;
    if (bus->listener != NULL)
        evconnlistener_free(bus->listener);
    while (bus->conns != NULL)
        conn_close(bus->conns);
    for (size_t i = 0; i < bus->npeers; i++)
        peer_free(bus->peers[i]);
    for (size_t i = 0; i < bus->nprobes; i++)
        peer_free(bus->probes[i]);
    free(bus->peers);
    free(bus->secret);
    free(bus);
}
