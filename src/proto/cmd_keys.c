/* cmd_keys.c - the keyspace command handlers (see cmd_keys.h).
 *
 * Keyed commands go to the cluster node through server_api's node_begin and
 * node_op: a single-key command as one operation, MGET MSET DEL EXISTS as
 * one per key; the node parses each (strop_parse), coordinates it, and the
 * shell renders the gathered answers with coord_reply_write.h. DBSIZE,
 * FLUSHALL, FLUSHDB, SCAN and KEYS are node-local, as in Redis Cluster, and
 * answered at once: DBSIZE SCAN KEYS read ctx->keyspace (the node's),
 * FLUSHALL and FLUSHDB go through server_api's node_flush, DYN.LOCAL through
 * its node_local. */
#include "proto/cmd_keys.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/keyspace.h"
#include "proto/coord_reply_write.h"
#include "util/strconv.h"

#define CMD_KEYS_ERR_SYNTAX "ERR syntax error"
/* SCAN's COUNT when none is given (Redis's default). */
#define CMD_KEYS_SCAN_COUNT_DEFAULT 10

/* ---- replies of the node-local commands ---- */

static void cmd_keys_reply_status(cmd_ctx_t *ctx, int rc)
{
    if (rc == KEYSPACE_ECORRUPT)
        reply_error(ctx->reply, "ERR stored value is corrupt");
    else
        reply_error(ctx->reply, "ERR storage error");
}

/* ---- keyed commands: one node operation per key ---- */

/* A single-key command as is: the node parses and answers it. */
static void cmd_keys_node(cmd_ctx_t *ctx)
{
    const server_api_t *s = ctx->server;
    s->node_begin(s->impl, GATHER_ONE, 1);
    s->node_op(s->impl, 0, ctx->argc, ctx->argv, ctx->argvlen);
}

void cmd_get(cmd_ctx_t *ctx) { cmd_keys_node(ctx); }
void cmd_set(cmd_ctx_t *ctx) { cmd_keys_node(ctx); }
void cmd_expire(cmd_ctx_t *ctx) { cmd_keys_node(ctx); }
void cmd_pexpire(cmd_ctx_t *ctx) { cmd_keys_node(ctx); }
void cmd_expireat(cmd_ctx_t *ctx) { cmd_keys_node(ctx); }
void cmd_pexpireat(cmd_ctx_t *ctx) { cmd_keys_node(ctx); }
void cmd_ttl(cmd_ctx_t *ctx) { cmd_keys_node(ctx); }
void cmd_pttl(cmd_ctx_t *ctx) { cmd_keys_node(ctx); }
void cmd_persist(cmd_ctx_t *ctx) { cmd_keys_node(ctx); }
void cmd_getdel(cmd_ctx_t *ctx) { cmd_keys_node(ctx); }
void cmd_getex(cmd_ctx_t *ctx) { cmd_keys_node(ctx); }
void cmd_strlen(cmd_ctx_t *ctx) { cmd_keys_node(ctx); }
void cmd_append(cmd_ctx_t *ctx) { cmd_keys_node(ctx); }
void cmd_type(cmd_ctx_t *ctx) { cmd_keys_node(ctx); }
void cmd_dyn_get(cmd_ctx_t *ctx) { cmd_keys_node(ctx); }
void cmd_dyn_put(cmd_ctx_t *ctx) { cmd_keys_node(ctx); }
void cmd_dyn_del(cmd_ctx_t *ctx) { cmd_keys_node(ctx); }

/* DYN.LOCAL key: the node's own version set, answered at once. */
void cmd_dyn_local(cmd_ctx_t *ctx)
{
    coord_reply_t cr;
    coord_reply_init(&cr);
    int rc = ctx->server->node_local(ctx->server->impl, ctx->argv[1], ctx->argvlen[1], &cr);
    if (rc < 0)
        cmd_keys_reply_status(ctx, rc);
    else
        coord_reply_write(ctx->reply, &cr, ctx->now_ms);
    coord_reply_free(&cr);
}

/* A multi-key command split into one operation `name key [value]` per key
 * (step 1: every argument is a key; step 2: key value pairs), gathered as
 * kind. */
static void cmd_keys_each(cmd_ctx_t *ctx, enum gather_kind kind, const char *name, int step)
{
    const server_api_t *s = ctx->server;
    uint32_t n = (uint32_t)((ctx->argc - 1) / step);
    if (n > GATHER_KEYS_MAX) {
        reply_error(ctx->reply, "ERR too many keys");
        return;
    }
    s->node_begin(s->impl, kind, n);
    const char *argv[3] = {name, NULL, NULL};
    size_t argvlen[3] = {strlen(name), 0, 0};
    for (uint32_t i = 0; i < n; i++) {
        int at = 1 + (int)i * step;
        for (int k = 0; k < step; k++) {
            argv[1 + k] = ctx->argv[at + k];
            argvlen[1 + k] = ctx->argvlen[at + k];
        }
        s->node_op(s->impl, i, 1 + step, argv, argvlen);
    }
}

void cmd_del(cmd_ctx_t *ctx) { cmd_keys_each(ctx, GATHER_SUM, "del", 1); }
void cmd_exists(cmd_ctx_t *ctx) { cmd_keys_each(ctx, GATHER_SUM, "exists", 1); }
void cmd_mget(cmd_ctx_t *ctx) { cmd_keys_each(ctx, GATHER_MGET, "get", 1); }

void cmd_mset(cmd_ctx_t *ctx)
{
    if (ctx->argc % 2 == 0) {
        reply_error(ctx->reply, "ERR wrong number of arguments for 'mset' command");
        return;
    }
    cmd_keys_each(ctx, GATHER_MSET, "set", 2);
}

/* ---- whole-keyspace commands ---- */

void cmd_dbsize(cmd_ctx_t *ctx)
{
    reply_int(ctx->reply, (int64_t)keyspace_key_count(ctx->keyspace));
}

/* FLUSHALL and FLUSHDB [ASYNC|SYNC] (both flush synchronously). */
static void cmd_keys_flush(cmd_ctx_t *ctx)
{
    if (ctx->argc > 2 || (ctx->argc == 2 && strcasecmp(ctx->argv[1], "async") != 0 &&
                          strcasecmp(ctx->argv[1], "sync") != 0)) {
        reply_error(ctx->reply, CMD_KEYS_ERR_SYNTAX);
        return;
    }
    int rc = ctx->server->node_flush(ctx->server->impl);
    if (rc < 0)
        cmd_keys_reply_status(ctx, rc);
    else
        reply_ok(ctx->reply);
}

void cmd_flushall(cmd_ctx_t *ctx) { cmd_keys_flush(ctx); }
void cmd_flushdb(cmd_ctx_t *ctx) { cmd_keys_flush(ctx); }

/* The keys a SCAN or KEYS found, as (varint length, bytes) records. */
typedef struct cmd_keys_list {
    buf_t bytes;
    size_t count;
    bool drop; /* SCAN TYPE other than string: keep none */
} cmd_keys_list_t;

static void cmd_keys_collect(void *arg, const void *key, size_t len)
{
    cmd_keys_list_t *list = arg;
    if (list->drop)
        return;
    buf_put_bytes(&list->bytes, key, len);
    list->count++;
}

static void cmd_keys_reply_list(reply_t *r, cmd_keys_list_t *list)
{
    reply_array(r, list->count);
    cursor_t c;
    cursor_init(&c, list->bytes.data, list->bytes.len);
    const uint8_t *p;
    size_t len;
    for (size_t i = 0; i < list->count && cursor_bytes(&c, list->bytes.len, &p, &len); i++)
        reply_bulk(r, p, len);
    buf_free(&list->bytes);
}

void cmd_keys(cmd_ctx_t *ctx)
{
    cmd_keys_list_t list = {BUF_INIT, 0, false};
    int rc = keyspace_keys(ctx->keyspace, ctx->now_ms, ctx->argv[1], ctx->argvlen[1],
                           cmd_keys_collect, &list);
    if (rc < 0) {
        buf_free(&list.bytes);
        cmd_keys_reply_status(ctx, rc);
        return;
    }
    cmd_keys_reply_list(ctx->reply, &list);
}

/* SCAN's arguments after the cursor. */
typedef struct cmd_keys_scan_args {
    uint64_t cursor;
    const char *pattern; /* NULL: every key */
    size_t pattern_len;
    uint32_t count;
    const char *type; /* NULL: every type */
} cmd_keys_scan_args_t;

/* Redis's parseScanCursorOrReply (strtoul, no leading space, all consumed). */
static bool cmd_keys_parse_cursor(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (isspace((unsigned char)s[0]) || end[0] != '\0' || errno == ERANGE)
        return false;
    *out = v;
    return true;
}

/* Parses SCAN's options as scanGenericCommand does; replies on error. */
static bool cmd_keys_parse_scan(cmd_ctx_t *ctx, cmd_keys_scan_args_t *a)
{
    a->count = CMD_KEYS_SCAN_COUNT_DEFAULT;
    if (!cmd_keys_parse_cursor(ctx->argv[1], &a->cursor)) {
        reply_error(ctx->reply, "ERR invalid cursor");
        return false;
    }
    for (int i = 2; i < ctx->argc; i += 2) {
        const char *opt = ctx->argv[i];
        bool has_value = i + 1 < ctx->argc;
        long long count;
        if (has_value && !strcasecmp(opt, "count")) {
            if (!strconv_string2ll(ctx->argv[i + 1], ctx->argvlen[i + 1], &count)) {
                reply_error(ctx->reply, "ERR value is not an integer or out of range");
                return false;
            }
            if (count < 1) {
                reply_error(ctx->reply, CMD_KEYS_ERR_SYNTAX);
                return false;
            }
            a->count = count > KEYSPACE_SCAN_COUNT_MAX ? KEYSPACE_SCAN_COUNT_MAX : (uint32_t)count;
        } else if (has_value && !strcasecmp(opt, "match")) {
            a->pattern = ctx->argv[i + 1];
            a->pattern_len = ctx->argvlen[i + 1];
        } else if (has_value && !strcasecmp(opt, "type")) {
            a->type = ctx->argv[i + 1];
        } else {
            reply_error(ctx->reply, CMD_KEYS_ERR_SYNTAX);
            return false;
        }
    }
    return true;
}

void cmd_scan(cmd_ctx_t *ctx)
{
    cmd_keys_scan_args_t a = {0, NULL, 0, 0, NULL};
    if (!cmd_keys_parse_scan(ctx, &a))
        return;
    cmd_keys_list_t list = {BUF_INIT, 0, a.type && strcasecmp(a.type, "string") != 0};
    uint64_t next;
    int rc = keyspace_scan(ctx->keyspace, a.cursor, ctx->now_ms, a.pattern, a.pattern_len, a.count,
                           cmd_keys_collect, &list, &next);
    if (rc < 0) {
        buf_free(&list.bytes);
        cmd_keys_reply_status(ctx, rc);
        return;
    }
    char text[24];
    int len = snprintf(text, sizeof text, "%llu", (unsigned long long)next);
    reply_array(ctx->reply, 2);
    reply_bulk(ctx->reply, text, (size_t)len);
    cmd_keys_reply_list(ctx->reply, &list);
}
