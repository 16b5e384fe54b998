/* cmd_conn.c - the connection and server commands (see cmd_conn.h).
 *
 * Sections: connection commands (PING ... SELECT), the containers' shared
 * subcommand dispatch, CLIENT, CONFIG, COMMAND (INFO and the DOCS that
 * redis-cli's hints are built from), and the server commands. */
#include "proto/cmd_conn.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "util/alloc.h"
#include "util/strconv.h"

#define CONN_ERR_NOT_INTEGER "ERR value is not an integer or out of range"
#define CONN_ERR_SYNTAX "ERR syntax error"
#define CONN_ERR_WRONGPASS "WRONGPASS invalid username-password pair or user is disabled."
#define CONN_ERR_BAD_NAME "ERR Client names cannot contain spaces, newlines or special characters."
/* Redis echoes at most this much of an unknown subcommand. */
#define CONN_ECHO_MAX 128
#define CONN_DEFAULT_USER "default"
#define CONN_USEC_PER_SEC 1000000

static bool arg_is(const cmd_ctx_t *ctx, int i, const char *word)
{
    return strlen(word) == ctx->argvlen[i] && strcasecmp(ctx->argv[i], word) == 0;
}

/* ------------------------------------------------------------------------
 * Connection commands */

void cmd_ping(cmd_ctx_t *ctx)
{
    if (ctx->argc > 2)
        reply_error(ctx->reply, "ERR wrong number of arguments for 'ping' command");
    else if (ctx->argc == 2)
        reply_bulk(ctx->reply, ctx->argv[1], ctx->argvlen[1]);
    else
        reply_simple(ctx->reply, "PONG");
}

void cmd_echo(cmd_ctx_t *ctx)
{
    reply_bulk(ctx->reply, ctx->argv[1], ctx->argvlen[1]);
}

void cmd_quit(cmd_ctx_t *ctx)
{
    ctx->client->close_after_reply = true;
    reply_ok(ctx->reply);
}

static bool no_password(const cmd_ctx_t *ctx)
{
    return ctx->server->requirepass(ctx->server->impl) == NULL;
}

void cmd_reset(cmd_ctx_t *ctx)
{
    client_state_t *c = ctx->client;
    c->resp = 2;
    ctx->reply->resp = 2;
    c->authenticated = no_password(ctx);
    free(c->name);
    c->name = NULL;
    reply_simple(ctx->reply, "RESET");
}

/* True when argument i is exactly the bytes of s (case matters). */
static bool arg_equals(const cmd_ctx_t *ctx, int i, const char *s)
{
    return strlen(s) == ctx->argvlen[i] && memcmp(s, ctx->argv[i], ctx->argvlen[i]) == 0;
}

/* Redis's ACL check with only the default user (user 0: the two-argument
 * AUTH): any password passes while requirepass is unset. */
static bool auth_ok(const cmd_ctx_t *ctx, int user, int pass)
{
    if (user != 0 && !arg_equals(ctx, user, CONN_DEFAULT_USER))
        return false;
    const char *want = ctx->server->requirepass(ctx->server->impl);
    return want == NULL || arg_equals(ctx, pass, want);
}

void cmd_auth(cmd_ctx_t *ctx)
{
    if (ctx->argc > 3) {
        reply_error(ctx->reply, CONN_ERR_SYNTAX);
        return;
    }
    if (ctx->argc == 2 && no_password(ctx)) {
        reply_error(ctx->reply, "ERR AUTH <password> called without any password configured for "
                                "the default user. Are you sure your configuration is correct?");
        return;
    }
    bool ok = ctx->argc == 2 ? auth_ok(ctx, 0, 1) : auth_ok(ctx, 1, 2);
    if (!ok) {
        reply_error(ctx->reply, CONN_ERR_WRONGPASS);
        return;
    }
    ctx->client->authenticated = true;
    reply_ok(ctx->reply);
}

void cmd_select(cmd_ctx_t *ctx)
{
    long long id;
    if (!strconv_string2ll(ctx->argv[1], ctx->argvlen[1], &id) || id < INT32_MIN || id > INT32_MAX)
        reply_error(ctx->reply, CONN_ERR_NOT_INTEGER);
    else if (id != 0)
        reply_error(ctx->reply, "ERR SELECT is not allowed in cluster mode");
    else
        reply_ok(ctx->reply);
}

/* Redis's client name rule: printable ASCII without spaces. */
static bool name_valid(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] < '!' || s[i] > '~')
            return false;
    return true;
}

/* Sets (or, when empty, clears) an owned string of the client. */
static void set_owned(char **dst, const char *s, size_t len)
{
    free(*dst);
    *dst = len ? xstrndup(s, len) : NULL;
}

static bool hello_options(cmd_ctx_t *ctx, int *user, int *name)
{
    for (int j = 2; j < ctx->argc; j++) {
        int more = ctx->argc - 1 - j;
        if (arg_is(ctx, j, "auth") && more >= 2) {
            *user = j + 1;
            j += 2;
        } else if (arg_is(ctx, j, "setname") && more >= 1) {
            *name = ++j;
        } else {
            reply_errorf(ctx->reply, "ERR Syntax error in HELLO option '%s'", ctx->argv[j]);
            return false;
        }
    }
    return true;
}

static void hello_reply(cmd_ctx_t *ctx)
{
    reply_t *r = ctx->reply;
    reply_map(r, 7);
    reply_bulk_str(r, "server");
    reply_bulk_str(r, PACKAGE_NAME);
    reply_bulk_str(r, "version");
    reply_bulk_str(r, PACKAGE_VERSION);
    reply_bulk_str(r, "proto");
    reply_int(r, ctx->client->resp);
    reply_bulk_str(r, "id");
    reply_int(r, (int64_t)ctx->client->id);
    reply_bulk_str(r, "mode");
    reply_bulk_str(r, COMMAND_SERVER_MODE);
    reply_bulk_str(r, "role");
    reply_bulk_str(r, "master");
    reply_bulk_str(r, "modules");
    reply_array(r, 0);
}

void cmd_hello(cmd_ctx_t *ctx)
{
    long long ver = 0;
    if (ctx->argc >= 2) {
        if (!strconv_string2ll(ctx->argv[1], ctx->argvlen[1], &ver)) {
            reply_error(ctx->reply, "ERR Protocol version is not an integer or out of range");
            return;
        }
        if (ver < 2 || ver > 3) {
            reply_error(ctx->reply, "NOPROTO unsupported protocol version");
            return;
        }
    }
    int user = 0, name = 0;
    if (!hello_options(ctx, &user, &name))
        return;
    if (user && !auth_ok(ctx, user, user + 1)) {
        reply_error(ctx->reply, CONN_ERR_WRONGPASS);
        return;
    }
    if (user)
        ctx->client->authenticated = true;
    if (!ctx->client->authenticated) {
        reply_error(ctx->reply, "NOAUTH HELLO must be called with the client already authenticated, "
                                "otherwise the HELLO <proto> AUTH <user> <pass> option can be used "
                                "to authenticate the client and select the RESP protocol version "
                                "at the same time");
        return;
    }
    if (name && !name_valid(ctx->argv[name], ctx->argvlen[name])) {
        reply_error(ctx->reply, CONN_ERR_BAD_NAME);
        return;
    }
    if (name)
        set_owned(&ctx->client->name, ctx->argv[name], ctx->argvlen[name]);
    if (ver) {
        ctx->client->resp = (int)ver;
        ctx->reply->resp = (int)ver;
    }
    hello_reply(ctx);
}

/* ------------------------------------------------------------------------
 * Containers: CLIENT, COMMAND and CONFIG dispatch on their second word */

typedef struct conn_sub {
    const char *name; /* lower case */
    command_handler_fn handler;
    int arity;
    const char *summary;
    const char *since;
    const char *args; /* synopsis, as command_def_t's */
} conn_sub_t;

typedef struct conn_container {
    const char *name;  /* lower case */
    const char *upper; /* for "Try CLIENT HELP." */
    const char *group;
    const conn_sub_t *subs;
    size_t nsubs;
    const char *const *help; /* HELP lines after the first */
} conn_container_t;

static void container_help(cmd_ctx_t *ctx, const conn_container_t *c)
{
    size_t n = 0;
    while (c->help[n] != NULL)
        n++;
    reply_t *r = ctx->reply;
    reply_array(r, n + 3);
    buf_printf(r->out, "+%s <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n", c->upper);
    for (size_t i = 0; i < n; i++)
        reply_simple(r, c->help[i]);
    reply_simple(r, "HELP");
    reply_simple(r, "    Prints this help.");
}

static void container_run(cmd_ctx_t *ctx, const conn_container_t *c)
{
    for (size_t i = 0; i < c->nsubs; i++) {
        const conn_sub_t *s = &c->subs[i];
        if (!arg_is(ctx, 1, s->name))
            continue;
        if (!command_arity_ok(s->arity, ctx->argc))
            reply_errorf(ctx->reply, "ERR wrong number of arguments for '%s|%s' command", c->name,
                         s->name);
        else if (s->handler == NULL)
            container_help(ctx, c);
        else
            s->handler(ctx);
        return;
    }
    reply_errorf(ctx->reply, "ERR unknown subcommand '%.*s'. Try %s HELP.", CONN_ECHO_MAX,
                 ctx->argv[1], c->upper);
}

/* ------------------------------------------------------------------------
 * CLIENT */

static void client_id(cmd_ctx_t *ctx)
{
    reply_int(ctx->reply, (int64_t)ctx->client->id);
}

static void client_setname(cmd_ctx_t *ctx)
{
    if (!name_valid(ctx->argv[2], ctx->argvlen[2])) {
        reply_error(ctx->reply, CONN_ERR_BAD_NAME);
        return;
    }
    set_owned(&ctx->client->name, ctx->argv[2], ctx->argvlen[2]);
    reply_ok(ctx->reply);
}

static void client_getname(cmd_ctx_t *ctx)
{
    if (ctx->client->name == NULL)
        reply_null(ctx->reply);
    else
        reply_bulk_str(ctx->reply, ctx->client->name);
}

/* CLIENT SETINFO LIB-NAME|LIB-VER value (Redis 7.2, sent by newer clients). */
static void client_setinfo(cmd_ctx_t *ctx)
{
    char **dst = arg_is(ctx, 2, "lib-name") ? &ctx->client->lib_name
                 : arg_is(ctx, 2, "lib-ver") ? &ctx->client->lib_ver
                                              : NULL;
    if (dst == NULL) {
        reply_errorf(ctx->reply, "ERR Unrecognized option '%s'", ctx->argv[2]);
        return;
    }
    if (!name_valid(ctx->argv[3], ctx->argvlen[3])) {
        reply_errorf(ctx->reply, "ERR %s cannot contain spaces, newlines or special characters.",
                     dst == &ctx->client->lib_name ? "lib-name" : "lib-ver");
        return;
    }
    set_owned(dst, ctx->argv[3], ctx->argvlen[3]);
    reply_ok(ctx->reply);
}

/* CLIENT LIST [TYPE type] [ID id ...]; only normal clients exist here. */
static bool client_list_filter(cmd_ctx_t *ctx, buf_t *out)
{
    if (ctx->argc == 4 && arg_is(ctx, 2, "type")) {
        if (arg_is(ctx, 3, "normal"))
            ctx->server->client_list(ctx->server->impl, 0, out);
        else if (!arg_is(ctx, 3, "master") && !arg_is(ctx, 3, "replica") &&
                 !arg_is(ctx, 3, "slave") && !arg_is(ctx, 3, "pubsub")) {
            reply_errorf(ctx->reply, "ERR Unknown client type '%s'", ctx->argv[3]);
            return false;
        }
        return true;
    }
    if (ctx->argc < 4 || !arg_is(ctx, 2, "id")) {
        reply_error(ctx->reply, CONN_ERR_SYNTAX);
        return false;
    }
    for (int i = 3; i < ctx->argc; i++) {
        long long id;
        if (!strconv_string2ll(ctx->argv[i], ctx->argvlen[i], &id) || id <= 0) {
            reply_error(ctx->reply, "ERR Invalid client ID");
            return false;
        }
        ctx->server->client_list(ctx->server->impl, (uint64_t)id, out);
    }
    return true;
}

static void client_list(cmd_ctx_t *ctx)
{
    buf_t out = BUF_INIT;
    bool ok = true;
    if (ctx->argc == 2)
        ctx->server->client_list(ctx->server->impl, 0, &out);
    else
        ok = client_list_filter(ctx, &out);
    if (ok)
        reply_verbatim(ctx->reply, "txt", out.data, out.len);
    buf_free(&out);
}

static void client_info(cmd_ctx_t *ctx)
{
    buf_t out = BUF_INIT;
    ctx->server->client_list(ctx->server->impl, ctx->client->id, &out);
    reply_verbatim(ctx->reply, "txt", out.data, out.len);
    buf_free(&out);
}

static void client_no_evict(cmd_ctx_t *ctx)
{
    if (arg_is(ctx, 2, "on") || arg_is(ctx, 2, "off"))
        reply_ok(ctx->reply);
    else
        reply_error(ctx->reply, CONN_ERR_SYNTAX);
}

static const conn_sub_t client_subs[] = {
    {"id", client_id, 2, "Returns the client ID for the current connection", "5.0.0", ""},
    {"setname", client_setname, 3, "Set the current connection name", "2.6.9", "connection-name"},
    {"getname", client_getname, 2, "Get the current connection name", "2.6.9", ""},
    {"setinfo", client_setinfo, 4, "Set client or connection specific info", "7.2.0",
     "LIB-NAME libname|LIB-VER libver"},
    {"list", client_list, -2, "Get the list of client connections", "2.4.0",
     "[TYPE NORMAL|MASTER|REPLICA|PUBSUB] [ID client-id [client-id ...]]"},
    {"info", client_info, 2, "Returns information about the current client connection.", "6.2.0", ""},
    {"no-evict", client_no_evict, 3, "Set client eviction mode for the current connection", "7.0.0",
     "ON|OFF"},
    {"help", NULL, 2, "Show helpful text about the different subcommands", "5.0.0", ""},
};

static const char *const client_help[] = {
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
    "SETINFO <LIB-NAME|LIB-VER> <value>",
    "    Set the client library name or version.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    NULL,
};

static const conn_container_t client_container = {
    "client", "CLIENT", "connection", client_subs, sizeof client_subs / sizeof client_subs[0],
    client_help,
};

void cmd_client(cmd_ctx_t *ctx)
{
    container_run(ctx, &client_container);
}

/* ------------------------------------------------------------------------
 * CONFIG */

static void config_get(cmd_ctx_t *ctx)
{
    ctx->server->config_get(ctx->server->impl, ctx->argc - 2, ctx->argv + 2, ctx->reply);
}

/* CONFIG SET name value [name value ...], applied in order; the first
 * failure is answered with the server's text. */
static void config_set(cmd_ctx_t *ctx)
{
    if (ctx->argc % 2 != 0) {
        reply_error(ctx->reply, "ERR wrong number of arguments for 'config|set' command");
        return;
    }
    buf_t err = BUF_INIT;
    for (int i = 2; i < ctx->argc; i += 2) {
        if (ctx->server->config_set(ctx->server->impl, ctx->argv[i], ctx->argv[i + 1], &err) != 0) {
            buf_append_byte(&err, 0);
            reply_error(ctx->reply, err.data);
            buf_free(&err);
            return;
        }
    }
    buf_free(&err);
    reply_ok(ctx->reply);
}

static void config_resetstat(cmd_ctx_t *ctx)
{
    ctx->server->reset_stats(ctx->server->impl);
    reply_ok(ctx->reply);
}

static const conn_sub_t config_subs[] = {
    {"get", config_get, -3, "Get the values of configuration parameters", "2.0.0",
     "parameter [parameter ...]"},
    {"set", config_set, -4, "Set configuration parameters to the given values", "2.0.0",
     "parameter value [parameter value ...]"},
    {"resetstat", config_resetstat, 2, "Reset the stats returned by INFO", "2.0.0", ""},
    {"help", NULL, 2, "Show helpful text about the different subcommands", "5.0.0", ""},
};

static const char *const config_help[] = {
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    NULL,
};

static const conn_container_t config_container = {
    "config", "CONFIG", "server", config_subs, sizeof config_subs / sizeof config_subs[0],
    config_help,
};

void cmd_config(cmd_ctx_t *ctx)
{
    container_run(ctx, &config_container);
}

/* ------------------------------------------------------------------------
 * COMMAND: INFO rows, DOCS maps (redis-cli builds its hints from DOCS) */

static const struct {
    unsigned bit;
    const char *name;
} conn_flag_names[] = {
    /* In the order Redis prints them. */
    {CMD_WRITE, "write"},     {CMD_READONLY, "readonly"}, {CMD_DENYOOM, "denyoom"},
    {CMD_ADMIN, "admin"},     {CMD_NOSCRIPT, "noscript"}, {CMD_LOADING, "loading"},
    {CMD_STALE, "stale"},     {CMD_FAST, "fast"},         {CMD_NOAUTH, "no_auth"},
    {CMD_NO_MULTI, "no_multi"}, {CMD_ALLOW_BUSY, "allow_busy"},
};

#define CONN_FLAG_NAMES (sizeof conn_flag_names / sizeof conn_flag_names[0])

/* Length of the element of s (len bytes) that ends at the first sep outside
 * brackets. */
static size_t synopsis_elem(const char *s, size_t len, char sep)
{
    int depth = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '[')
            depth++;
        else if (s[i] == ']')
            depth--;
        else if (s[i] == sep && depth == 0)
            return i;
    }
    return len;
}

static size_t synopsis_count(const char *s, size_t len, char sep)
{
    size_t n = 0;
    for (size_t at = 0; at < len; n++)
        at += synopsis_elem(s + at, len - at, sep) + 1;
    return n;
}

static void conn_words(reply_t *r, const char *words)
{
    size_t len = strlen(words);
    reply_set(r, synopsis_count(words, len, ' '));
    for (size_t at = 0; at < len;) {
        size_t n = synopsis_elem(words + at, len - at, ' ');
        buf_append_byte(r->out, '+');
        buf_append(r->out, words + at, n);
        buf_append(r->out, "\r\n", 2);
        at += n + 1;
    }
}

static void command_info_row(reply_t *r, const command_def_t *def)
{
    size_t nflags = 0;
    for (size_t i = 0; i < CONN_FLAG_NAMES; i++)
        nflags += (def->flags & conn_flag_names[i].bit) != 0;
    reply_array(r, 10);
    reply_bulk_str(r, def->name);
    reply_int(r, def->arity);
    reply_set(r, nflags);
    for (size_t i = 0; i < CONN_FLAG_NAMES; i++)
        if (def->flags & conn_flag_names[i].bit)
            reply_simple(r, conn_flag_names[i].name);
    reply_int(r, def->first_key);
    reply_int(r, def->last_key);
    reply_int(r, def->key_step);
    conn_words(r, def->acl);
    reply_set(r, 0);   /* tips */
    reply_array(r, 0); /* key specs */
    reply_array(r, 0); /* subcommands */
}

static bool is_token(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || s[i] == '-'))
            return false;
    return len > 0;
}

/* One argument of a synopsis as a COMMAND DOCS map: "[x]" is optional,
 * "a|b" a oneof, an upper-case word a pure token, "key" a key, anything else
 * a string named by its text (so redis-cli prints the synopsis back). */
static void doc_arg(reply_t *r, const char *s, size_t len)
{
    bool optional = len >= 2 && s[0] == '[' && s[len - 1] == ']';
    if (optional) {
        s++;
        len -= 2;
    }
    size_t nalt = synopsis_count(s, len, '|');
    bool token = nalt == 1 && is_token(s, len);
    const char *type = nalt > 1 ? "oneof" : token ? "pure-token"
                       : len == 3 && memcmp(s, "key", 3) == 0 ? "key" : "string";
    reply_map(r, 2 + token + optional + (nalt > 1));
    reply_bulk_str(r, "name");
    reply_bulk(r, s, len);
    reply_bulk_str(r, "type");
    reply_bulk_str(r, type);
    if (token) {
        reply_bulk_str(r, "token");
        reply_bulk(r, s, len);
    }
    if (optional) {
        reply_bulk_str(r, "flags");
        conn_words(r, "optional");
    }
    if (nalt > 1) {
        reply_bulk_str(r, "arguments");
        reply_array(r, nalt);
        for (size_t at = 0; at < len;) {
            size_t n = synopsis_elem(s + at, len - at, '|');
            doc_arg(r, s + at, n);
            at += n + 1;
        }
    }
}

/* The fields every doc map has, and "arguments" when there are any. */
static void doc_fields(reply_t *r, size_t extra, const char *summary, const char *since,
                       const char *group, const char *args)
{
    size_t len = strlen(args);
    reply_map(r, 3 + (len > 0) + extra);
    reply_bulk_str(r, "summary");
    reply_bulk_str(r, summary);
    reply_bulk_str(r, "since");
    reply_bulk_str(r, since);
    reply_bulk_str(r, "group");
    reply_bulk_str(r, group);
    if (len == 0)
        return;
    reply_bulk_str(r, "arguments");
    reply_array(r, synopsis_count(args, len, ' '));
    for (size_t at = 0; at < len;) {
        size_t n = synopsis_elem(args + at, len - at, ' ');
        doc_arg(r, args + at, n);
        at += n + 1;
    }
}

static const conn_container_t command_container;

static const conn_container_t *container_of(const command_def_t *def)
{
    if (strcmp(def->name, client_container.name) == 0)
        return &client_container;
    if (strcmp(def->name, config_container.name) == 0)
        return &config_container;
    if (strcmp(def->name, command_container.name) == 0)
        return &command_container;
    return NULL;
}

static void command_doc(reply_t *r, const command_def_t *def)
{
    const conn_container_t *c = container_of(def);
    reply_bulk_str(r, def->name);
    doc_fields(r, c != NULL, def->summary, def->since, def->group, def->args);
    if (c == NULL)
        return;
    reply_bulk_str(r, "subcommands");
    reply_map(r, c->nsubs);
    for (size_t i = 0; i < c->nsubs; i++) {
        const conn_sub_t *s = &c->subs[i];
        buf_printf(r->out, "$%zu\r\n%s|%s\r\n", strlen(c->name) + 1 + strlen(s->name), c->name,
                   s->name);
        doc_fields(r, 0, s->summary, s->since, c->group, s->args);
    }
}

static void command_all(cmd_ctx_t *ctx)
{
    size_t n;
    const command_def_t *defs = command_table(&n);
    reply_array(ctx->reply, n);
    for (size_t i = 0; i < n; i++)
        command_info_row(ctx->reply, &defs[i]);
}

static void command_count(cmd_ctx_t *ctx)
{
    size_t n;
    command_table(&n);
    reply_int(ctx->reply, (int64_t)n);
}

static void command_list(cmd_ctx_t *ctx)
{
    size_t n;
    const command_def_t *defs = command_table(&n);
    if (ctx->argc > 2) {
        reply_error(ctx->reply, CONN_ERR_SYNTAX);
        return;
    }
    reply_array(ctx->reply, n);
    for (size_t i = 0; i < n; i++)
        reply_bulk_str(ctx->reply, defs[i].name);
}

static void command_info(cmd_ctx_t *ctx)
{
    if (ctx->argc == 2) {
        command_all(ctx);
        return;
    }
    reply_array(ctx->reply, (size_t)(ctx->argc - 2));
    for (int i = 2; i < ctx->argc; i++) {
        const command_def_t *def = command_lookup(ctx->argv[i], ctx->argvlen[i]);
        if (def == NULL)
            reply_null(ctx->reply);
        else
            command_info_row(ctx->reply, def);
    }
}

static void command_docs(cmd_ctx_t *ctx)
{
    size_t n;
    const command_def_t *defs = command_table(&n);
    if (ctx->argc == 2) {
        reply_map(ctx->reply, n);
        for (size_t i = 0; i < n; i++)
            command_doc(ctx->reply, &defs[i]);
        return;
    }
    size_t found = 0;
    for (int i = 2; i < ctx->argc; i++)
        found += command_lookup(ctx->argv[i], ctx->argvlen[i]) != NULL;
    reply_map(ctx->reply, found);
    for (int i = 2; i < ctx->argc; i++) {
        const command_def_t *def = command_lookup(ctx->argv[i], ctx->argvlen[i]);
        if (def != NULL)
            command_doc(ctx->reply, def);
    }
}

static const conn_sub_t command_subs[] = {
    {"count", command_count, 2, "Get total number of Redis commands", "2.8.13", ""},
    {"info", command_info, -2,
     "Get array of specific Redis command details, or all when no argument is given.", "2.8.13",
     "[command-name [command-name ...]]"},
    {"docs", command_docs, -2, "Get array of specific Redis command documentation", "7.0.0",
     "[command-name [command-name ...]]"},
    {"list", command_list, -2, "Get an array of Redis command names", "7.0.0", ""},
    {"help", NULL, 2, "Show helpful text about the different subcommands", "5.0.0", ""},
};

static const char *const command_help[] = {
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    NULL,
};

static const conn_container_t command_container = {
    "command", "COMMAND", "server", command_subs, sizeof command_subs / sizeof command_subs[0],
    command_help,
};

void cmd_command(cmd_ctx_t *ctx)
{
    if (ctx->argc == 1)
        command_all(ctx);
    else
        container_run(ctx, &command_container);
}

/* ------------------------------------------------------------------------
 * Server commands */

void cmd_info(cmd_ctx_t *ctx)
{
    buf_t out = BUF_INIT;
    if (ctx->argc == 1)
        ctx->server->info(ctx->server->impl, "", &out);
    for (int i = 1; i < ctx->argc; i++)
        ctx->server->info(ctx->server->impl, ctx->argv[i], &out);
    reply_verbatim(ctx->reply, "txt", out.data, out.len);
    buf_free(&out);
}

void cmd_time(cmd_ctx_t *ctx)
{
    uint64_t us = ctx->now_us ? ctx->now_us : ctx->now_ms * 1000;
    reply_array(ctx->reply, 2);
    reply_bulk_int(ctx->reply, (int64_t)(us / CONN_USEC_PER_SEC));
    reply_bulk_int(ctx->reply, (int64_t)(us % CONN_USEC_PER_SEC));
}

/* SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]: the words are checked as
 * Redis does; there is nothing to save and no shutdown to abort. */
void cmd_shutdown(cmd_ctx_t *ctx)
{
    bool nosave = false, save = false, abort_ = false, other = false;
    for (int i = 1; i < ctx->argc; i++) {
        if (arg_is(ctx, i, "nosave"))
            nosave = true;
        else if (arg_is(ctx, i, "save"))
            save = true;
        else if (arg_is(ctx, i, "now") || arg_is(ctx, i, "force"))
            other = true;
        else if (arg_is(ctx, i, "abort"))
            abort_ = true;
        else {
            reply_error(ctx->reply, CONN_ERR_SYNTAX);
            return;
        }
    }
    if ((abort_ && (nosave || save || other)) || (nosave && save)) {
        reply_error(ctx->reply, CONN_ERR_SYNTAX);
        return;
    }
    if (abort_) {
        reply_error(ctx->reply, "ERR No shutdown in progress.");
        return;
    }
    ctx->client->close_after_reply = true;
    ctx->server->shutdown(ctx->server->impl);
}
