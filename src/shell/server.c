/* server.c - the event loop, the listener, timers and signals (see server.h).
 *
 * Sections: the clock and the client lists, listening and accepting, the
 * round (before sleep), timers and signals, the node's identity, and
 * startup and shutdown. */
#define _GNU_SOURCE /* accept4 */
#include <config.h>

#include "shell/server.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "shell/log.h"
#include "util/alloc.h"

/* The listen(2) backlog, as Redis's tcp-backlog default. */
#define SERVER_TCP_BACKLOG 511
/* Input read (and dropped) from a client refused for maxclients. */
#define SERVER_REJECT_DRAIN_BYTES 4096

static uint64_t wall_clock_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static uint64_t wall_clock_ms(void)
{
    return wall_clock_us() / 1000;
}

uint64_t server_now_us(server_t *srv)
{
    if (!srv->now_valid) {
        srv->now_us = wall_clock_us();
        srv->now_ms = srv->now_us / 1000;
        srv->now_valid = true;
    }
    return srv->now_us;
}

uint64_t server_now_ms(server_t *srv)
{
    server_now_us(srv);
    return srv->now_ms;
}

/* ------------------------------------------------------- client lists */

void server_mark_pending(server_t *srv, client_t *c)
{
    if (c->pending)
        return;
    c->pending = true;
    c->pending_next = srv->pending;
    srv->pending = c;
}

static void unlink_pending(server_t *srv, client_t *c)
{
    if (!c->pending)
        return;
    for (client_t **pp = &srv->pending; *pp != NULL; pp = &(*pp)->pending_next) {
        if (*pp == c) {
            *pp = c->pending_next;
            break;
        }
    }
    c->pending = false;
}

void server_close_client(server_t *srv, client_t *c)
{
    unlink_pending(srv, c);
    server_node_client_gone(srv, c);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        srv->clients = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    else
        srv->clients_tail = c->prev;
    srv->nclients--;
    log_verbose("Client closed connection id=%llu addr=%s", (unsigned long long)c->st.id,
                c->addr);
    client_free(c);
}

/* ------------------------------------------------ listening and accepting */

static void tune_client_socket(const server_t *srv, int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int idle = srv->cfg->tcp_keepalive;
    if (idle > 0) {
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
        int intvl = idle / 3 > 0 ? idle / 3 : 1, cnt = 3;
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
    }
}

/* Answers Redis's error and closes. Input already received is read first,
 * so that closing does not reset the connection before the error arrives. */
static void reject_client(server_t *srv, int fd)
{
    static const char msg[] = "-ERR max number of clients reached\r\n";
    char drain[SERVER_REJECT_DRAIN_BYTES];
    ssize_t ignored = recv(fd, drain, sizeof drain, MSG_DONTWAIT);
    ignored = write(fd, msg, sizeof msg - 1);
    (void)ignored;
    close(fd);
    srv->stats.rejected_connections++;
}

static void accept_one(server_t *srv, int fd)
{
    tune_client_socket(srv, fd);
    srv->stats.total_connections_received++;
    if (srv->nclients >= (uint32_t)srv->cfg->maxclients) {
        reject_client(srv, fd);
        return;
    }
    client_t *c = client_new(srv, ++srv->next_client_id, fd, server_now_ms(srv));
    if (c == NULL) {
        log_warning("Error registering fd event for the new client");
        close(fd);
        return;
    }
    c->prev = srv->clients_tail;
    if (srv->clients_tail != NULL)
        srv->clients_tail->next = c;
    else
        srv->clients = c;
    srv->clients_tail = c;
    srv->nclients++;
    log_verbose("Accepted %s", c->addr);
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
    server_t *srv = arg;
    for (int i = 0; i < SERVER_ACCEPTS_PER_CALL; i++) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                log_warning("Accepting client connection: %s", strerror(errno));
            return;
        }
        accept_one(srv, fd);
    }
}

/* Binds one address of the bind list; "-addr" may fail without stopping
 * the server, "*" is every IPv4 address. Returns the socket or -1. */
static int listen_on(server_t *srv, const char *addr, int port)
{
    bool optional = addr[0] == '-';
    const char *host = optional ? addr + 1 : addr;
    if (strcmp(host, "*") == 0)
        host = "0.0.0.0";
    char port_str[16];
    snprintf(port_str, sizeof port_str, "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICHOST};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host, port_str, &hints, &res);
    if (rc != 0) {
        log_warning("Could not create server TCP listening socket %s:%d: %s", host, port,
                    gai_strerror(rc));
        return optional ? -2 : -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (res->ai_family == AF_INET6)
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    }
    if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) < 0 ||
        listen(fd, SERVER_TCP_BACKLOG) < 0) {
        log_warning("Could not create server TCP listening socket %s:%d: bind: %s", host, port,
                    strerror(errno));
        if (fd >= 0)
            close(fd);
        fd = optional ? -2 : -1;
    }
    freeaddrinfo(res);
    return fd;
}

/* The port the kernel chose when port 0 was asked for. */
static int bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
        return 0;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static int server_listen(server_t *srv)
{
    char *list = xstrdup(srv->cfg->bind);
    char *save = NULL;
    int rc = 0;
    srv->port = srv->cfg->port;
    for (char *a = strtok_r(list, " ", &save); a != NULL && rc == 0;
         a = strtok_r(NULL, " ", &save)) {
        if (srv->nlisten == SERVER_LISTENERS_MAX) {
            log_warning("Too many bind addresses (at most %d)", SERVER_LISTENERS_MAX);
            rc = -1;
            break;
        }
        int fd = listen_on(srv, a, srv->port);
        if (fd == -2)
            continue;
        if (fd < 0) {
            rc = -1;
            break;
        }
        if (srv->port == 0)
            srv->port = bound_port(fd); /* later addresses share the chosen port */
        srv->listen_fds[srv->nlisten] = fd;
        srv->listen_evs[srv->nlisten] =
            event_new(srv->base, fd, EV_READ | EV_PERSIST, on_accept, srv);
        event_add(srv->listen_evs[srv->nlisten], NULL);
        srv->nlisten++;
    }
    free(list);
    if (rc == 0 && srv->nlisten == 0) {
        log_warning("Failed listening on any bind address");
        rc = -1;
    }
    return rc;
}

static void server_unlisten(server_t *srv)
{
    for (int i = 0; i < srv->nlisten; i++) {
        event_free(srv->listen_evs[i]);
        close(srv->listen_fds[i]);
    }
    srv->nlisten = 0;
}

/* ------------------------------------------------------------ the round */

/* Runs after the callbacks of one loop round, before the loop polls again:
 * commits the round's writes, then sends the replies and bus frames (a
 * replica's acknowledgements) that depend on them. A failed commit, this
 * one or an early one during the round, exits before anything is sent. */
static void server_before_sleep(server_t *srv)
{
    server_node_round(srv);
    if (rocks_store_pending(srv->rs) || rocks_store_failed(srv->rs)) {
        buf_t err = BUF_INIT;
        if (rocks_store_commit(srv->rs, &err) != STORE_OK) {
            /* Replies would acknowledge writes that are not stored. */
            log_warning("RocksDB write failed, exiting without acknowledging: %.*s",
                        (int)err.len, err.data);
            exit(1);
        }
        buf_free(&err);
    }
    bus_flush(srv->bus);
    uint64_t now_ms = server_now_ms(srv);
    client_t *c;
    while ((c = srv->pending) != NULL) {
        srv->pending = c->pending_next;
        c->pending = false;
        int rc = client_flush(c, now_ms);
        if (rc < 0 || (rc == 1 && c->closing))
            server_close_client(srv, c);
    }
    srv->now_valid = false;
}

/* ------------------------------------------------------ timers, signals */

static void ops_sample(server_t *srv, uint64_t now_ms)
{
    uint64_t elapsed = now_ms - srv->ops_sample_ms;
    if (elapsed < 100 || now_ms < srv->ops_sample_ms)
        return;
    uint64_t ops = srv->stats.total_commands_processed - srv->ops_sample_count;
    srv->ops_samples[srv->ops_sample_idx] = ops * 1000 / elapsed;
    srv->ops_sample_idx = (srv->ops_sample_idx + 1) % SERVER_OPS_SAMPLES;
    srv->ops_sample_ms = now_ms;
    srv->ops_sample_count = srv->stats.total_commands_processed;
}

static void on_cron(evutil_socket_t fd, short what, void *arg)
{
    server_t *srv = arg;
    ops_sample(srv, server_now_ms(srv));
}

static void close_idle_clients(server_t *srv, uint64_t now_ms)
{
    uint64_t limit_ms = (uint64_t)srv->cfg->timeout * 1000;
    client_t *c = srv->clients;
    while (c != NULL) {
        client_t *next = c->next;
        if (now_ms > c->last_interaction_ms && now_ms - c->last_interaction_ms > limit_ms &&
            !c->closing) {
            log_verbose("Closing idle client id=%llu addr=%s", (unsigned long long)c->st.id,
                        c->addr);
            server_close_client(srv, c);
        }
        c = next;
    }
}

static void on_second(evutil_socket_t fd, short what, void *arg)
{
    server_t *srv = arg;
    if (srv->cfg->appendfsync == CONFIG_FSYNC_EVERYSEC) {
        buf_t err = BUF_INIT;
        if (rocks_store_sync_wal(srv->rs, &err) != STORE_OK)
            log_warning("Syncing the RocksDB WAL failed: %.*s", (int)err.len, err.data);
        buf_free(&err);
    }
    if (srv->cfg->timeout > 0)
        close_idle_clients(srv, server_now_ms(srv));
}

void server_apply_hz(server_t *srv)
{
    int hz = srv->cfg->hz > 0 ? srv->cfg->hz : 1;
    struct timeval tv = {0, 1000000 / hz};
    if (hz == 1)
        tv = (struct timeval){1, 0};
    event_add(srv->cron_ev, &tv);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    server_t *srv = arg;
    log_warning("Received %s scheduling shutdown...", sig == SIGINT ? "SIGINT" : "SIGTERM");
    srv->shutdown_asked = true;
}

static int server_add_timers(server_t *srv)
{
    srv->cron_ev = event_new(srv->base, -1, EV_PERSIST, on_cron, srv);
    srv->second_ev = event_new(srv->base, -1, EV_PERSIST, on_second, srv);
    srv->sig_evs[0] = evsignal_new(srv->base, SIGTERM, on_signal, srv);
    srv->sig_evs[1] = evsignal_new(srv->base, SIGINT, on_signal, srv);
    if (!srv->cron_ev || !srv->second_ev || !srv->sig_evs[0] || !srv->sig_evs[1])
        return -1;
    server_apply_hz(srv);
    struct timeval second = {1, 0};
    event_add(srv->second_ev, &second);
    event_add(srv->sig_evs[0], NULL);
    event_add(srv->sig_evs[1], NULL);
    return 0;
}

/* --------------------------------------------------- the node's identity */

static const char meta_actor_key[] = "actor";
static const char meta_node_id_key[] = "node-id";

static int read_urandom(void *p, size_t len)
{
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, p, len);
    close(fd);
    return n == (ssize_t)len ? 0 : -1;
}

/* Reads the actor and node id kept in the meta family; false if absent. */
static bool identity_read(server_t *srv, store_t *s)
{
    buf_t v = BUF_INIT;
    bool ok = store_get(s, STORE_CF_META, meta_actor_key, strlen(meta_actor_key), &v) == 1 &&
              v.len == 8;
    if (ok) {
        cursor_t cur;
        cursor_init(&cur, v.data, v.len);
        ok = cursor_u64be(&cur, &srv->actor) && srv->actor != 0;
    }
    ok = ok && store_get(s, STORE_CF_META, meta_node_id_key, strlen(meta_node_id_key), &v) == 1 &&
         v.len == 40;
    if (ok)
        memcpy(srv->node_id, v.data, 40);
    buf_free(&v);
    return ok;
}

/* Makes a random actor (a new incarnation: no vector-clock counter of an
 * earlier life of this node id can be reused) and the node id (the
 * configured one, else random), and stores both durably. */
static int identity_create(server_t *srv, store_t *s)
{
    uint8_t rnd[8 + 20];
    if (read_urandom(rnd, sizeof rnd) < 0)
        return -1;
    srv->actor = 0;
    for (int i = 0; i < 8; i++)
        srv->actor = srv->actor << 8 | rnd[i];
    srv->actor |= srv->actor == 0; /* 0 is no actor */
    for (int i = 0; i < 20; i++)
        snprintf(srv->node_id + 2 * i, 3, "%02x", rnd[8 + i]);
    if (srv->cfg->node_id[0] != '\0')
        memcpy(srv->node_id, srv->cfg->node_id, 40);
    buf_t v = BUF_INIT, err = BUF_INIT;
    buf_put_u64be(&v, srv->actor);
    store_put(s, STORE_CF_META, meta_actor_key, strlen(meta_actor_key), v.data, v.len);
    store_put(s, STORE_CF_META, meta_node_id_key, strlen(meta_node_id_key), srv->node_id, 40);
    int rc = rocks_store_commit(srv->rs, &err) == STORE_OK &&
                     rocks_store_sync_wal(srv->rs, &err) == STORE_OK
                 ? 0
                 : -1;
    if (rc < 0)
        log_warning("Storing the node identity failed: %.*s", (int)err.len, err.data);
    buf_free(&v);
    buf_free(&err);
    log_notice("No node identity in %s: node id %.40s (%s), new actor %016llx", srv->cfg->dir,
               srv->node_id, srv->cfg->node_id[0] ? "configured" : "random",
               (unsigned long long)srv->actor);
    return rc;
}

/* Loads the actor and node id from the meta family, creating them when the
 * directory has none (first start, or a node that lost its data). A stored
 * id that differs from the configured node-id is an error: the directory
 * belongs to another node. */
static int server_load_identity(server_t *srv)
{
    store_t *s = rocks_store_store(srv->rs);
    int rc = identity_read(srv, s) ? 0 : identity_create(srv, s);
    srv->node_id[40] = '\0';
    if (rc == 0 && srv->cfg->node_id[0] != '\0' && strcmp(srv->cfg->node_id, srv->node_id) != 0) {
        log_warning("node-id %s differs from the id stored in %s (%s)", srv->cfg->node_id,
                    srv->cfg->dir, srv->node_id);
        rc = -1;
    }
    return rc;
}

/* ------------------------------------------------ startup and shutdown */

/* Creates dir and its missing parents. */
static int make_dir(const char *dir)
{
    char *path = xstrdup(dir);
    int rc = 0;
    for (char *p = path + 1; rc == 0; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(path, 0755) < 0 && errno != EEXIST)
            rc = -1;
        *p = saved;
        if (saved == '\0')
            break;
    }
    free(path);
    return rc;
}

/* Raises the descriptor limit to fit maxclients, as redis-server does. */
static void raise_fd_limit(const config_t *cfg)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)cfg->maxclients + SERVER_RESERVED_FDS;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
        return;
    rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur < want)
        log_warning("You requested maxclients of %d requiring at least %llu max file "
                    "descriptors; the limit is %llu", cfg->maxclients,
                    (unsigned long long)want, (unsigned long long)rl.rlim_cur);
}

static int server_open_store(server_t *srv)
{
    const config_t *cfg = srv->cfg;
    if (make_dir(cfg->dir) < 0) {
        log_warning("Can't create the data directory '%s': %s", cfg->dir, strerror(errno));
        return -1;
    }
    buf_t err = BUF_INIT;
    srv->rs = rocks_store_open(cfg->dir, cfg->appendfsync == CONFIG_FSYNC_ALWAYS, &err);
    if (srv->rs == NULL) {
        log_warning("Can't open RocksDB in '%s': %.*s", cfg->dir, (int)err.len, err.data);
        buf_free(&err);
        return -1;
    }
    buf_free(&err);
    if (server_load_identity(srv) < 0) {
        log_warning("Can't load or create the node identity");
        return -1;
    }
    return 0;
}

server_t *server_new(config_t *cfg)
{
    server_t *srv = xcalloc(1, sizeof *srv);
    srv->cfg = cfg;
    srv->start_ms = wall_clock_ms();
    srv->ops_sample_ms = srv->start_ms;
    raise_fd_limit(cfg);
    struct event_config *ec = event_config_new();
    event_config_set_flag(ec, EVENT_BASE_FLAG_NOLOCK);
    srv->base = event_base_new_with_config(ec);
    event_config_free(ec);
    server_api_init(srv);
    /* Bind first: a busy port fails before RocksDB is touched. Connections
     * wait in the backlog until the loop runs. */
    if (srv->base == NULL || server_listen(srv) < 0 || server_open_store(srv) < 0 ||
        server_node_start(srv) < 0 || server_add_timers(srv) < 0) {
        server_free(srv);
        return NULL;
    }
    log_notice("Server initialized");
    return srv;
}

/* Closes every client after one non-blocking attempt to write the output
 * it still has (replies of the last round, committed by then). */
static void server_close_clients_flushed(server_t *srv)
{
    uint64_t now_ms = server_now_ms(srv);
    while (srv->clients != NULL) {
        client_t *c = srv->clients;
        if (c->out.len > c->out_pos)
            client_flush(c, now_ms);
        server_close_client(srv, c);
    }
}

int server_run(server_t *srv)
{
    log_notice("Running mode=cluster, port=%d.", srv->port);
    log_notice("Ready to accept connections tcp");
    int status = 0;
    while (!srv->shutdown_asked) {
        if (event_base_loop(srv->base, EVLOOP_ONCE) < 0) {
            log_warning("The event loop failed");
            status = 1;
            break;
        }
        server_before_sleep(srv);
    }
    log_warning("User requested shutdown...");
    server_unlisten(srv);
    server_close_clients_flushed(srv);
    server_node_stop(srv);
    rocks_store_close(srv->rs);
    srv->rs = NULL;
    log_notice("RocksDB closed; all acknowledged writes are on disk.");
    log_warning("Dynis is now ready to exit, bye bye...");
    return status;
}

void server_free(server_t *srv)
{
    if (srv == NULL)
        return;
    server_unlisten(srv);
    while (srv->clients != NULL)
        server_close_client(srv, srv->clients);
    server_node_stop(srv);
    struct event *evs[] = {srv->cron_ev, srv->second_ev, srv->sig_evs[0], srv->sig_evs[1]};
    for (size_t i = 0; i < sizeof evs / sizeof evs[0]; i++)
        if (evs[i] != NULL)
            event_free(evs[i]);
    rocks_store_close(srv->rs);
    if (srv->base != NULL)
        event_base_free(srv->base);
    free(srv);
}
