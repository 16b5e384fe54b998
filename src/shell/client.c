/* client.c - one client connection (see client.h).
 *
 * Sections: creation and teardown, the queue of keyed commands, reading and
 * dispatching (with the rule of what may overlap what is in flight),
 * writing, and the CLIENT LIST line. */
#include "shell/client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "shell/log.h"
#include "shell/server.h"
#include "util/alloc.h"
#include "util/hash.h"

static void client_on_readable(evutil_socket_t fd, short what, void *arg);
static void client_on_writable(evutil_socket_t fd, short what, void *arg);

/* ------------------------------------------------ creation and teardown */

static void format_addr(const struct sockaddr_storage *ss, char *out, size_t len)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof ip);
        port = ntohs(sin->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof ip);
        port = ntohs(sin6->sin6_port);
    }
    snprintf(out, len, "%s:%d", ip, port);
}

static void client_fill_addrs(client_t *c)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    memset(&ss, 0, sizeof ss);
    if (getpeername(c->fd, (struct sockaddr *)&ss, &sl) == 0)
        format_addr(&ss, c->addr, sizeof c->addr);
    sl = sizeof ss;
    memset(&ss, 0, sizeof ss);
    if (getsockname(c->fd, (struct sockaddr *)&ss, &sl) == 0)
        format_addr(&ss, c->laddr, sizeof c->laddr);
}

client_t *client_new(struct server *srv, uint64_t id, int fd, uint64_t now_ms)
{
    client_t *c = xcalloc(1, sizeof *c);
    c->srv = srv;
    c->fd = fd;
    c->st.id = id;
    c->st.resp = 2;
    c->st.authenticated = srv->cfg->requirepass[0] == '\0';
    c->parser = request_parser_new();
    c->reply.out = &c->out;
    c->reply.resp = 2;
    c->created_ms = c->last_interaction_ms = now_ms;
    client_fill_addrs(c);
    c->read_ev = event_new(srv->base, fd, EV_READ | EV_PERSIST, client_on_readable, c);
    c->write_ev = event_new(srv->base, fd, EV_WRITE | EV_PERSIST, client_on_writable, c);
    if (c->read_ev == NULL || c->write_ev == NULL || event_add(c->read_ev, NULL) < 0) {
        client_free(c);
        return NULL;
    }
    c->reading = true;
    return c;
}

void client_free(client_t *c)
{
    if (c->read_ev != NULL)
        event_free(c->read_ev);
    if (c->write_ev != NULL)
        event_free(c->write_ev);
    close(c->fd);
    request_parser_free(c->parser);
    buf_free(&c->out);
    buf_free(&c->ops_backlog);
    for (uint32_t i = 0; i < c->cmds_cap; i++) {
        gather_free(&c->cmds[i].gather);
        buf_free(&c->cmds[i].out);
    }
    free(c->cmds);
    buf_free(&c->held);
    free(c->held_argv);
    free(c->held_argvlen);
    free(c->st.name);
    free(c->st.lib_name);
    free(c->st.lib_ver);
    free(c);
}

/* ------------------------------------------ the queue of keyed commands */

/* Doubles the queue. An entry's place is its sequence number modulo the
 * capacity, so the commands in flight (fewer than the old capacity, with
 * consecutive numbers) move to distinct places; the others are idle. */
static void cmds_grow(client_t *c)
{
    uint32_t cap = c->cmds_cap ? c->cmds_cap * 2 : CLIENT_CMDS_MIN;
    client_cmd_t *cmds = xcalloc(cap, sizeof *cmds);
    for (uint32_t i = 0; i < cap; i++)
        gather_init(&cmds[i].gather);
    for (uint32_t i = 0; i < c->cmds_cap; i++) {
        uint32_t off = (i - c->cmd_head) & (c->cmds_cap - 1);
        if (off < c->ncmds) {
            cmds[(c->cmd_head + off) & (cap - 1)] = c->cmds[i];
        } else {
            gather_free(&c->cmds[i].gather);
            buf_free(&c->cmds[i].out);
        }
    }
    free(c->cmds);
    c->cmds = cmds;
    c->cmds_cap = cap;
}

client_cmd_t *client_cmd_begin(client_t *c)
{
    if (c->ncmds == c->cmds_cap)
        cmds_grow(c);
    uint32_t seq = c->cmd_head + c->ncmds++;
    client_cmd_t *cmd = client_cmd_at(c, seq);
    cmd->done = cmd->solo = cmd->readonly = cmd->local = false;
    cmd->key_hash = 0;
    buf_clear(&cmd->out);
    c->cmd_running = seq;
    c->cmd_started = true;
    return cmd;
}

client_cmd_t *client_cmd_find(client_t *c, uint32_t seq_low)
{
    uint32_t off = (seq_low - c->cmd_head) & (CLIENT_CMDS_MAX - 1);
    if (off >= c->ncmds)
        return NULL;
    client_cmd_t *cmd = client_cmd_at(c, c->cmd_head + off);
    return cmd->done ? NULL : cmd;
}

/* Drops the answered commands at the head of the queue; the first one's
 * reply is in the output buffer already, the others' are moved there. */
static void cmds_pop_done(client_t *c)
{
    c->cmd_head++;
    c->ncmds--;
    while (c->ncmds > 0) {
        client_cmd_t *cmd = client_cmd_at(c, c->cmd_head);
        if (!cmd->done)
            break;
        buf_append(&c->out, cmd->out.data, cmd->out.len);
        if (cmd->out.cap > CLIENT_OUT_KEEP_BYTES)
            buf_free(&cmd->out);
        else
            buf_clear(&cmd->out);
        c->cmd_head++;
        c->ncmds--;
    }
}

bool client_cmd_answer(client_t *c, client_cmd_t *cmd, uint32_t idx, const coord_reply_t *reply,
                       uint64_t now_ms)
{
    bool head = cmd == client_cmd_at(c, c->cmd_head);
    reply_t r = {.out = head ? &c->out : &cmd->out, .resp = c->reply.resp};
    if (!gather_add(&cmd->gather, idx, reply, &r, now_ms))
        return false;
    cmd->done = true;
    if (!head)
        return false;
    cmds_pop_done(c);
    return true;
}

/* --------------------------------------------- reading and dispatching */

/* How many keys a request of argc arguments names for def (keys from
 * argument 1); 0 for a command without keys. */
static int request_key_count(const command_def_t *def, int argc)
{
    int last = def->last_key < 0 ? argc + def->last_key : def->last_key;
    if (def->first_key != 1 || def->key_step < 1 || last < 1)
        return 0;
    return (last - 1) / def->key_step + 1;
}

/* True when the write of key (len bytes) is coordinated here (client.h). */
static bool client_write_local(const client_t *c, const char *key, size_t len)
{
    return node_coordinates_write(c->srv->node, key, len);
}

/* True when req may start while c has commands in flight (see client.h):
 * a single-key command with room, and every unanswered command on its key
 * and it itself only read or are writes coordinated here. */
static bool client_may_overlap(const client_t *c, const request_t *req)
{
    const command_def_t *def = command_lookup(req->argv[0], req->argvlen[0]);
    if (def == NULL || !command_arity_ok(def->arity, req->argc) || !c->st.authenticated ||
        request_key_count(def, req->argc) != 1 || c->ncmds >= CLIENT_CMDS_MAX ||
        c->ops_backlog_pos < c->ops_backlog.len || c->ops_inflight >= CLIENT_OPS_INFLIGHT_MAX)
        return false;
    uint64_t hash = hash64(req->argv[1], req->argvlen[1], 0);
    bool readonly = (def->flags & CMD_READONLY) != 0;
    int local = -1; /* unknown yet; asked once a command shares the key */
    for (uint32_t i = 0; i < c->ncmds; i++) {
        const client_cmd_t *cmd = client_cmd_at(c, c->cmd_head + i);
        if (cmd->done)
            continue;
        if (cmd->solo)
            return false;
        if (cmd->key_hash != hash || (readonly && cmd->readonly))
            continue;
        if (!cmd->readonly && !cmd->local)
            return false;
        if (!readonly && local < 0)
            local = client_write_local(c, req->argv[1], req->argvlen[1]);
        if (!readonly && !local)
            return false;
    }
    return true;
}

/* Copies req out of the parser (whose buffer moves on) to run it later. */
static void client_hold(client_t *c, const request_t *req)
{
    buf_clear(&c->held);
    for (int i = 0; i < req->argc; i++) {
        buf_put_varint(&c->held, req->argvlen[i]);
        buf_append(&c->held, req->argv[i], req->argvlen[i]);
        buf_append_byte(&c->held, 0);
    }
    if (c->held_cap < req->argc) {
        c->held_argv = xrealloc(c->held_argv, (size_t)req->argc * sizeof *c->held_argv);
        c->held_argvlen = xrealloc(c->held_argvlen, (size_t)req->argc * sizeof *c->held_argvlen);
        c->held_cap = req->argc;
    }
    cursor_t cur;
    cursor_init(&cur, c->held.data, c->held.len);
    for (int i = 0; i < req->argc; i++) {
        uint64_t len = 0;
        const uint8_t *p = NULL;
        cursor_varint(&cur, &len);
        cursor_raw(&cur, (size_t)len + 1, &p);
        c->held_argv[i] = (const char *)p;
        c->held_argvlen[i] = (size_t)len;
    }
    c->held_argc = req->argc;
}

/* The request held, as a request_t (valid until the next client_hold). */
static void client_held(const client_t *c, request_t *req)
{
    req->argc = c->held_argc;
    req->argv = c->held_argv;
    req->argvlen = c->held_argvlen;
}

static void client_run(client_t *c, const request_t *req, uint64_t now_ms)
{
    server_t *srv = c->srv;
    c->reply.resp = c->st.resp;
    cmd_ctx_t ctx = {
        .argc = req->argc,
        .argv = req->argv,
        .argvlen = req->argvlen,
        .reply = &c->reply,
        .client = &c->st,
        .server = &srv->api,
        .keyspace = node_keyspace(srv->node),
        .now_ms = now_ms,
        .now_us = server_now_us(srv),
    };
    srv->current = c;
    c->cmd_started = false;
    const command_def_t *def = command_dispatch(&ctx);
    srv->current = NULL;
    if (c->cmd_started && c->ncmds > 0 &&
        (uint32_t)(c->cmd_running - c->cmd_head) < c->ncmds) {
        /* Still in flight: what later requests must not overlap. */
        client_cmd_t *cmd = client_cmd_at(c, c->cmd_running);
        cmd->solo = def == NULL || request_key_count(def, req->argc) != 1;
        cmd->readonly = def != NULL && (def->flags & CMD_READONLY) != 0;
        cmd->key_hash = req->argc > 1 ? hash64(req->argv[1], req->argvlen[1], 0) : 0;
        cmd->local = !cmd->solo && !cmd->readonly &&
                     client_write_local(c, req->argv[1], req->argvlen[1]);
    }
    if (def != NULL) {
        srv->stats.total_commands_processed++;
        c->last_cmd = def->name;
    }
    c->st.last_command_ms = now_ms;
}

/* Runs every complete request buffered, the held one first. Stops at a
 * protocol error (answered once nothing is in flight), once the client is
 * to be closed (QUIT), or at a request that must wait for the commands in
 * flight (held). */
static void client_process(client_t *c, uint64_t now_ms)
{
    const config_t *cfg = c->srv->cfg;
    request_limits_t limits = REQUEST_LIMITS_DEFAULT;
    limits.bulk_len_max = (size_t)cfg->proto_max_bulk_len;
    request_t req;
    for (;;) {
        if (c->held_argc > 0) {
            if (c->ncmds > 0)
                return; /* a held request waits for everything before it */
            client_held(c, &req);
            c->held_argc = 0;
            client_run(c, &req, now_ms);
            if (c->st.close_after_reply) {
                c->closing = true;
                return;
            }
            continue;
        }
        limits.unauthenticated = !c->st.authenticated && cfg->requirepass[0] != '\0';
        request_status_t st = request_parser_next(c->parser, &limits, &req);
        if (st == REQUEST_NEED_MORE)
            return;
        if (st == REQUEST_ERROR && c->ncmds > 0)
            return; /* the error is answered after the replies before it */
        if (st == REQUEST_READY && c->ncmds > 0 && !client_may_overlap(c, &req)) {
            client_hold(c, &req);
            return;
        }
        if (st == REQUEST_ERROR) {
            const char *why = request_parser_error(c->parser);
            reply_errorf(&c->reply, "ERR %s", why);
            log_verbose("Protocol error (%s) from client: id=%llu addr=%s", why,
                        (unsigned long long)c->st.id, c->addr);
            c->closing = true;
            return;
        }
        client_run(c, &req, now_ms);
        if (c->st.close_after_reply) {
            c->closing = true;
            return;
        }
    }
}

/* Reads while the client is open, has input to come and not too much
 * output waiting. */
static void client_watch_input(client_t *c)
{
    bool want = !c->closing && !c->eof && c->out.len - c->out_pos <= CLIENT_OUT_PAUSE_BYTES;
    if (want == c->reading)
        return;
    int rc = want ? event_add(c->read_ev, NULL) : event_del(c->read_ev);
    if (rc == 0)
        c->reading = want;
}

static void client_on_readable(evutil_socket_t fd, short what, void *arg)
{
    client_t *c = arg;
    server_t *srv = c->srv;
    size_t avail;
    char *dst = request_parser_space(c->parser, REQUEST_READ_CHUNK, &avail);
    ssize_t n = read(fd, dst, avail);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n < 0) {
        log_verbose("Reading from client: %s", strerror(errno));
        server_close_client(srv, c);
        return;
    }
    if (n == 0) { /* half-closed: answer what was asked, then close */
        c->eof = true;
        client_resume(c, server_now_ms(srv));
        return;
    }
    request_parser_commit(c->parser, (size_t)n);
    srv->stats.total_net_input_bytes += (uint64_t)n;
    srv->stats.total_reads_processed++;
    uint64_t now_ms = server_now_ms(srv);
    c->last_interaction_ms = now_ms;
    client_resume(c, now_ms);
}

void client_resume(client_t *c, uint64_t now_ms)
{
    server_t *srv = c->srv;
    client_process(c, now_ms);
    size_t qbuf = request_parser_pending(c->parser);
    if (!c->closing && qbuf > (size_t)srv->cfg->client_query_buffer_limit) {
        log_warning("Closing client that reached max query buffer length: id=%llu addr=%s "
                    "qbuf=%zu", (unsigned long long)c->st.id, c->addr, qbuf);
        srv->stats.client_qbuf_limit_disconnections++;
        server_close_client(srv, c);
        return;
    }
    if (c->eof && c->ncmds == 0 && c->held_argc == 0)
        c->closing = true; /* what is left is an incomplete request */
    client_watch_input(c);
    if (c->out.len > c->out_pos || c->closing)
        server_mark_pending(srv, c);
}

/* -------------------------------------------------------------- writing */

int client_flush(client_t *c, uint64_t now_ms)
{
    if (c->out.len > c->out_peak)
        c->out_peak = c->out.len;
    while (c->out.len > c->out_pos) {
        ssize_t n = write(c->fd, c->out.data + c->out_pos, c->out.len - c->out_pos);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN)
            return -1;
        if (n < 0)
            break;
        c->srv->stats.total_net_output_bytes += (uint64_t)n;
        c->srv->stats.total_writes_processed++;
        c->out_pos += (size_t)n;
        c->last_interaction_ms = now_ms;
        if (c->out.len > c->out_pos)
            break; /* short write: the socket buffer is full */
    }
    client_watch_input(c);
    if (c->out.len > c->out_pos) {
        /* Drop what was sent once it is most of the buffer: each byte is
         * moved O(1) times however slowly the client reads. */
        if (c->out_pos >= CLIENT_OUT_KEEP_BYTES && c->out_pos > c->out.len / 2) {
            buf_consume(&c->out, c->out_pos);
            c->out_pos = 0;
        }
        if (!c->write_armed && event_add(c->write_ev, NULL) == 0)
            c->write_armed = true;
        return c->write_armed ? 0 : -1;
    }
    if (c->out.cap > CLIENT_OUT_KEEP_BYTES)
        buf_free(&c->out);
    else
        buf_clear(&c->out);
    c->out_pos = 0;
    if (c->write_armed) {
        event_del(c->write_ev);
        c->write_armed = false;
    }
    return 1;
}

/* Writes the rest of c's output, unless writes of this round are staged
 * (a reply appended this round may acknowledge them): the server then
 * writes it after the commit. */
static void client_on_writable(evutil_socket_t fd, short what, void *arg)
{
    client_t *c = arg;
    server_t *srv = c->srv;
    if (rocks_store_pending(srv->rs) || rocks_store_failed(srv->rs)) {
        server_mark_pending(srv, c);
        return;
    }
    int rc = client_flush(c, server_now_ms(srv));
    if (rc < 0 || (rc == 1 && c->closing))
        server_close_client(srv, c);
}

/* ------------------------------------------------------ CLIENT LIST line */

/* CLIENT LIST's events: r while reading, w while a write waits. */
static const char *client_events(const client_t *c)
{
    if (c->reading)
        return c->write_armed ? "rw" : "r";
    return c->write_armed ? "w" : "";
}

void client_list_line(const client_t *c, const char *cmd, uint64_t now_ms, buf_t *out)
{
    if (cmd == NULL)
        cmd = c->last_cmd ? c->last_cmd : "NULL";
    size_t qbuf = request_parser_pending(c->parser);
    size_t obl = c->out.len - c->out_pos;
    buf_printf(out,
               "id=%llu addr=%s laddr=%s fd=%d name=%s age=%llu idle=%llu flags=%s db=0 "
               "sub=0 psub=0 ssub=0 multi=-1 qbuf=%zu qbuf-free=0 argv-mem=0 multi-mem=0 "
               "rbs=%zu rbp=%zu obl=%zu oll=0 omem=%zu tot-mem=%zu events=%s cmd=%s "
               "user=default redir=-1 resp=%d lib-name=%s lib-ver=%s\n",
               (unsigned long long)c->st.id, c->addr, c->laddr, c->fd,
               c->st.name ? c->st.name : "",
               (unsigned long long)((now_ms - c->created_ms) / 1000),
               (unsigned long long)((now_ms - c->last_interaction_ms) / 1000),
               c->parked ? "b" : "N", qbuf,
               c->out.cap, c->out_peak, obl,
               c->out.cap, sizeof *c + qbuf + c->out.cap, client_events(c),
               cmd, c->st.resp,
               c->st.lib_name ? c->st.lib_name : "", c->st.lib_ver ? c->st.lib_ver : "");
}
