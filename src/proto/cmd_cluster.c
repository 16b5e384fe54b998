/* cmd_cluster.c - the CLUSTER command (see cmd_cluster.h): the pure
 * subcommands through cluster_reply_command, MEET FORGET LEAVE through
 * server_api. */
#include "proto/cmd_cluster.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

#include "proto/cluster_reply.h"
#include "util/strconv.h"

/* Redis's CLUSTER_PORT_INCR: the bus port when MEET names none. */
#define CMD_CLUSTER_PORT_INCR 10000
/* The longest text of an address argument echoed in an error. */
#define CMD_CLUSTER_ECHO_MAX 128

static bool sub_is(const cmd_ctx_t *ctx, const char *name)
{
    return strcasecmp(ctx->argv[1], name) == 0;
}

static void wrong_arity(cmd_ctx_t *ctx, const char *sub)
{
    reply_errorf(ctx->reply, "ERR wrong number of arguments for 'cluster|%s' command", sub);
}

/* A numeric IPv4 or IPv6 address, as Redis's handshake requires. */
static bool address_valid(const char *s)
{
    unsigned char addr[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, s, addr) == 1 || inet_pton(AF_INET6, s, addr) == 1;
}

/* CLUSTER MEET ip port [cport]. */
static void cluster_meet(cmd_ctx_t *ctx)
{
    if (ctx->argc != 4 && ctx->argc != 5) {
        wrong_arity(ctx, "meet");
        return;
    }
    long long port, cport;
    if (!strconv_string2ll(ctx->argv[3], ctx->argvlen[3], &port)) {
        reply_errorf(ctx->reply, "ERR Invalid base port specified: %.*s", CMD_CLUSTER_ECHO_MAX,
                     ctx->argv[3]);
        return;
    }
    cport = port + CMD_CLUSTER_PORT_INCR;
    if (ctx->argc == 5 && !strconv_string2ll(ctx->argv[4], ctx->argvlen[4], &cport)) {
        reply_errorf(ctx->reply, "ERR Invalid bus port specified: %.*s", CMD_CLUSTER_ECHO_MAX,
                     ctx->argv[4]);
        return;
    }
    if (!address_valid(ctx->argv[2]) || port <= 0 || port > 65535 || cport <= 0 ||
        cport > 65535) {
        reply_errorf(ctx->reply, "ERR Invalid node address specified: %.*s:%.*s",
                     CMD_CLUSTER_ECHO_MAX, ctx->argv[2], CMD_CLUSTER_ECHO_MAX, ctx->argv[3]);
        return;
    }
    ctx->server->cluster_meet(ctx->server->impl, ctx->argv[2], (uint16_t)port, (uint16_t)cport);
    reply_ok(ctx->reply);
}

/* CLUSTER FORGET id. */
static void cluster_forget(cmd_ctx_t *ctx, const cluster_src_t *src)
{
    if (ctx->argc != 3) {
        wrong_arity(ctx, "forget");
        return;
    }
    if (strcasecmp(ctx->argv[2], src->myid) == 0)
        reply_error(ctx->reply, "ERR I tried hard but I can't forget myself...");
    else if (!ctx->server->cluster_forget(ctx->server->impl, ctx->argv[2]))
        reply_errorf(ctx->reply, "ERR Unknown node %.*s", CMD_CLUSTER_ECHO_MAX, ctx->argv[2]);
    else
        reply_ok(ctx->reply);
}

void cmd_cluster(cmd_ctx_t *ctx)
{
    cluster_src_t src;
    ctx->server->cluster_src(ctx->server->impl, &src);
    if (cluster_reply_command(&src, ctx->argc, ctx->argv, ctx->argvlen, ctx->reply))
        return;
    if (sub_is(ctx, "meet")) {
        cluster_meet(ctx);
    } else if (sub_is(ctx, "forget")) {
        cluster_forget(ctx, &src);
    } else if (sub_is(ctx, "leave")) {
        if (ctx->argc != 2) {
            wrong_arity(ctx, "leave");
            return;
        }
        ctx->server->cluster_leave(ctx->server->impl);
        reply_ok(ctx->reply);
    } else {
        cluster_reply_unknown(ctx->reply, ctx->argv[1], ctx->argvlen[1]);
    }
}
