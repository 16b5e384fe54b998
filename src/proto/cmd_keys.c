/* cmd_keys.c - the keyspace command handlers (see cmd_keys.h).
 *
 * A handler parses with strop_parse (pure, shared with the future cluster
 * coordinator), runs the op on ctx->keyspace and turns the strop_result_t into
 * RESP with reply.h. Multi-key commands (MGET MSET DEL EXISTS) run one op per
 * key. No handler allocates on the GET/SET path: the keyspace reuses its
 * buffers, and error texts are only built when an error is replied. */
#include "proto/cmd_keys.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "core/keyspace.h"
#include "core/strop.h"
#include "core/versions.h"

#define CMD_KEYS_ERR_SYNTAX "ERR syntax error"
/* SCAN's COUNT when none is given (Redis's default). */
#define CMD_KEYS_SCAN_COUNT_DEFAULT 10

/* ---- replies ---- */

static void cmd_keys_reply_status(cmd_ctx_t *ctx, int rc)
{
    if (rc == KEYSPACE_ETOOMANY)
        reply_errorf(ctx->reply,
                     "CONFLICT key has too many siblings (max %d); resolve with DYN.GET and DYN.PUT",
                     VERSIONS_SIBLINGS_MAX);
    else if (rc == KEYSPACE_ECORRUPT)
        reply_error(ctx->reply, "ERR stored value is corrupt");
    else
        reply_error(ctx->reply, "ERR storage error");
}

/* The live siblings of vs: nil, one bulk, or an array of bulks. */
static void cmd_keys_reply_values(reply_t *r, const versions_t *vs, uint64_t now_ms)
{
    uint32_t n = vs ? versions_live_count(vs, now_ms) : 0;
    if (n == 0) {
        reply_null(r);
        return;
    }
    if (n > 1)
        reply_array(r, n);
    for (uint32_t k = 0; k < vs->len; k++) {
        const version_t *v = &vs->items[k];
        if (!version_is_dead(v, now_ms))
            reply_bulk(r, v->value, v->value_len);
    }
}

static void cmd_keys_reply_result(cmd_ctx_t *ctx, const strop_result_t *res)
{
    reply_t *r = ctx->reply;
    switch (res->reply) {
    case STROP_REPLY_OK:
        reply_ok(r);
        break;
    case STROP_REPLY_NIL:
        reply_null(r);
        break;
    case STROP_REPLY_INT:
        reply_int(r, res->integer);
        break;
    case STROP_REPLY_VALUE:
        reply_bulk(r, res->value.data, res->value.len);
        break;
    case STROP_REPLY_VALUES:
        cmd_keys_reply_values(r, res->values, ctx->now_ms);
        break;
    case STROP_REPLY_STATUS:
        reply_simple(r, res->text);
        break;
    case STROP_REPLY_ERROR:
        reply_error(r, res->text);
        break;
    case STROP_REPLY_CONFLICT:
        reply_errorf(r, "CONFLICT key has %lld siblings; resolve with DYN.GET and DYN.PUT",
                     (long long)res->integer);
        break;
    }
}

/* Replies err (a strop_parse error text) and frees it. */
static void cmd_keys_reply_parse_error(cmd_ctx_t *ctx, buf_t *err)
{
    buf_append_byte(err, 0);
    reply_error(ctx->reply, err->data);
    buf_free(err);
}

/* ---- single-key commands ---- */

/* Parses argv as kind, runs it on argv[1] and replies. */
static void cmd_keys_run(cmd_ctx_t *ctx, enum strop_kind kind)
{
    strop_op_t op;
    buf_t err = BUF_INIT;
    if (strop_parse(&op, kind, ctx->argc, ctx->argv, ctx->argvlen, ctx->now_ms, &err) != 0) {
        strop_op_free(&op);
        cmd_keys_reply_parse_error(ctx, &err);
        return;
    }
    const strop_result_t *res;
    int rc = keyspace_run(ctx->keyspace, ctx->argv[1], ctx->argvlen[1], &op, ctx->now_ms, &res);
    if (rc < 0)
        cmd_keys_reply_status(ctx, rc);
    else
        cmd_keys_reply_result(ctx, res);
    strop_op_free(&op);
}

void cmd_get(cmd_ctx_t *ctx) { cmd_keys_run(ctx, STROP_GET); }
void cmd_set(cmd_ctx_t *ctx) { cmd_keys_run(ctx, STROP_SET); }
void cmd_expire(cmd_ctx_t *ctx) { cmd_keys_run(ctx, STROP_EXPIRE); }
void cmd_pexpire(cmd_ctx_t *ctx) { cmd_keys_run(ctx, STROP_EXPIRE); }
void cmd_expireat(cmd_ctx_t *ctx) { cmd_keys_run(ctx, STROP_EXPIRE); }
void cmd_pexpireat(cmd_ctx_t *ctx) { cmd_keys_run(ctx, STROP_EXPIRE); }
void cmd_ttl(cmd_ctx_t *ctx) { cmd_keys_run(ctx, STROP_TTL); }
void cmd_pttl(cmd_ctx_t *ctx) { cmd_keys_run(ctx, STROP_TTL); }
void cmd_persist(cmd_ctx_t *ctx) { cmd_keys_run(ctx, STROP_PERSIST); }
void cmd_getdel(cmd_ctx_t *ctx) { cmd_keys_run(ctx, STROP_GETDEL); }
void cmd_getex(cmd_ctx_t *ctx) { cmd_keys_run(ctx, STROP_GETEX); }
void cmd_strlen(cmd_ctx_t *ctx) { cmd_keys_run(ctx, STROP_STRLEN); }
void cmd_append(cmd_ctx_t *ctx) { cmd_keys_run(ctx, STROP_APPEND); }
void cmd_type(cmd_ctx_t *ctx) { cmd_keys_run(ctx, STROP_TYPE); }
void cmd_dyn_put(cmd_ctx_t *ctx) { cmd_keys_run(ctx, STROP_DYN_PUT); }
void cmd_dyn_del(cmd_ctx_t *ctx) { cmd_keys_run(ctx, STROP_DYN_DEL); }

void cmd_dyn_get(cmd_ctx_t *ctx)
{
    const versions_t *vs;
    int rc = keyspace_read(ctx->keyspace, ctx->argv[1], ctx->argvlen[1], ctx->now_ms, &vs);
    if (rc < 0) {
        cmd_keys_reply_status(ctx, rc);
        return;
    }
    uint32_t n = versions_live_count(vs, ctx->now_ms);
    buf_t text = BUF_INIT;
    if (vs->len > 0) {
        vclock_t context = VCLOCK_INIT;
        versions_context(vs, &context);
        vclock_context_encode(&context, &text);
        vclock_free(&context);
    }
    reply_array(ctx->reply, (size_t)n + 1);
    reply_bulk(ctx->reply, text.data, text.len);
    for (uint32_t i = 0; i < n; i++) {
        const version_t *v = versions_live_at(vs, ctx->now_ms, i);
        reply_bulk(ctx->reply, v->value, v->value_len);
    }
    buf_free(&text);
}

/* ---- multi-key commands ---- */

/* Runs a parse-free op of kind on each key argv[1..argc); replies the sum of
 * the integer results (DEL, EXISTS). */
static void cmd_keys_sum(cmd_ctx_t *ctx, enum strop_kind kind)
{
    strop_op_t op;
    strop_op_init(&op, kind);
    int64_t sum = 0;
    for (int i = 1; i < ctx->argc; i++) {
        const strop_result_t *res;
        int rc = keyspace_run(ctx->keyspace, ctx->argv[i], ctx->argvlen[i], &op, ctx->now_ms,
                              &res);
        if (rc < 0) {
            cmd_keys_reply_status(ctx, rc);
            return;
        }
        sum += res->integer;
    }
    reply_int(ctx->reply, sum);
}

void cmd_del(cmd_ctx_t *ctx) { cmd_keys_sum(ctx, STROP_DEL); }
void cmd_exists(cmd_ctx_t *ctx) { cmd_keys_sum(ctx, STROP_EXISTS); }

/* MGET: one element per key; a key with siblings gives a nested array. */
void cmd_mget(cmd_ctx_t *ctx)
{
    strop_op_t op;
    strop_op_init(&op, STROP_GET);
    size_t mark = ctx->reply->out->len;
    reply_array(ctx->reply, (size_t)ctx->argc - 1);
    for (int i = 1; i < ctx->argc; i++) {
        const strop_result_t *res;
        int rc = keyspace_run(ctx->keyspace, ctx->argv[i], ctx->argvlen[i], &op, ctx->now_ms,
                              &res);
        if (rc < 0) {
            ctx->reply->out->len = mark; /* drop the partial array */
            cmd_keys_reply_status(ctx, rc);
            return;
        }
        cmd_keys_reply_values(ctx->reply, res->reply == STROP_REPLY_VALUES ? res->values : NULL,
                              ctx->now_ms);
    }
}

void cmd_mset(cmd_ctx_t *ctx)
{
    if (ctx->argc % 2 == 0) {
        reply_error(ctx->reply, "ERR wrong number of arguments for 'mset' command");
        return;
    }
    strop_op_t op;
    strop_op_init(&op, STROP_SET);
    for (int i = 1; i + 1 < ctx->argc; i += 2) {
        op.value = ctx->argv[i + 1];
        op.value_len = ctx->argvlen[i + 1];
        const strop_result_t *res;
        int rc = keyspace_run(ctx->keyspace, ctx->argv[i], ctx->argvlen[i], &op, ctx->now_ms,
                              &res);
        if (rc < 0) {
            cmd_keys_reply_status(ctx, rc);
            return;
        }
    }
    reply_ok(ctx->reply);
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
    int rc = keyspace_flush(ctx->keyspace);
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
        int64_t count;
        if (has_value && !strcasecmp(opt, "count")) {
            if (!strop_string2ll(ctx->argv[i + 1], ctx->argvlen[i + 1], &count)) {
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
