/* command.c - the command table and dispatch (see command.h).
 *
 * The table is declarative, one row per command, with Redis 7.0's arity,
 * flags, key positions and ACL categories as COMMAND INFO reports them, and
 * its summary, since, group and argument synopsis as COMMAND DOCS does. Rows
 * are kept sorted by name, so a lookup is a binary search with a
 * case-insensitive compare (about six compares, no allocation). */
#include "proto/command.h"

#include <string.h>

#include "proto/cmd_cluster.h"
#include "proto/cmd_conn.h"
#include "proto/cmd_keys.h"

/* Redis prints at most this much of an unknown command and its arguments. */
#define COMMAND_ECHO_MAX 128

/* Redis's flags of AUTH, HELLO, QUIT and RESET. */
#define COMMAND_FLAGS_HANDSHAKE \
    (CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_NOAUTH | CMD_ALLOW_BUSY)

/* Sorted by name (a test checks it). Columns: name, handler, arity, flags,
 * first key, last key, key step; summary, since, group; synopsis; ACL
 * categories. */
static const command_def_t command_defs[] = {
    {"append", cmd_append, 3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1,
     "Append a value to a key", "2.0.0", "string",
     "key value",
     "@write @string @fast"},
    {"auth", cmd_auth, -2, COMMAND_FLAGS_HANDSHAKE, 0, 0, 0,
     "Authenticate to the server", "1.0.0", "connection",
     "[username] password",
     "@fast @connection"},
    {"client", cmd_client, -2, 0, 0, 0, 0,
     "A container for client connection commands", "2.4.0", "connection",
     "",
     "@slow"},
    {"cluster", cmd_cluster, -2, 0, 0, 0, 0,
     "A container for Redis Cluster commands", "3.0.0", "cluster",
     "",
     "@slow"},
    {"command", cmd_command, -1, CMD_LOADING | CMD_STALE, 0, 0, 0,
     "Get array of Redis command details", "2.8.13", "server",
     "",
     "@slow @connection"},
    {"config", cmd_config, -2, 0, 0, 0, 0,
     "A container for server configuration commands", "2.0.0", "server",
     "",
     "@slow"},
    {"dbsize", cmd_dbsize, 1, CMD_READONLY | CMD_FAST, 0, 0, 0,
     "Return the number of keys in the selected database", "1.0.0", "server",
     "",
     "@keyspace @read @fast"},
    {"del", cmd_del, -2, CMD_WRITE, 1, -1, 1,
     "Delete a key", "1.0.0", "generic",
     "key [key ...]",
     "@keyspace @write @slow"},
    {"dyn.del", cmd_dyn_del, 3, CMD_WRITE, 1, 1, 1,
     "Delete what the context covers with a tombstone", "0.1.0", "string",
     "key context",
     "@keyspace @write @slow"},
    {"dyn.get", cmd_dyn_get, 2, CMD_READONLY | CMD_FAST, 1, 1, 1,
     "Get every live version of a key and the context that covers them", "0.1.0", "string",
     "key",
     "@read @string @fast"},
    {"dyn.local", cmd_dyn_local, 2, CMD_READONLY | CMD_FAST, 1, 1, 1,
     "Get this node's own stored versions of a key, without quorum or read repair",
     "0.1.0", "string",
     "key",
     "@read @string @fast"},
    {"dyn.put", cmd_dyn_put, -4, CMD_WRITE | CMD_DENYOOM, 1, 1, 1,
     "Write a version that supersedes what the context covers", "0.1.0", "string",
     "key context value [EX seconds|PX milliseconds]",
     "@write @string @slow"},
    {"echo", cmd_echo, 2, CMD_LOADING | CMD_STALE | CMD_FAST, 0, 0, 0,
     "Echo the given string", "1.0.0", "connection",
     "message",
     "@fast @connection"},
    {"exists", cmd_exists, -2, CMD_READONLY | CMD_FAST, 1, -1, 1,
     "Determine if a key exists", "1.0.0", "generic",
     "key [key ...]",
     "@keyspace @read @fast"},
    {"expire", cmd_expire, -3, CMD_WRITE | CMD_FAST, 1, 1, 1,
     "Set a key's time to live in seconds", "1.0.0", "generic",
     "key seconds [NX|XX|GT|LT]",
     "@keyspace @write @fast"},
    {"expireat", cmd_expireat, -3, CMD_WRITE | CMD_FAST, 1, 1, 1,
     "Set the expiration for a key as a UNIX timestamp", "1.2.0", "generic",
     "key unix-time-seconds [NX|XX|GT|LT]",
     "@keyspace @write @fast"},
    {"flushall", cmd_flushall, -1, CMD_WRITE, 0, 0, 0,
     "Remove all keys from all databases", "1.0.0", "server",
     "[ASYNC|SYNC]",
     "@keyspace @write @slow @dangerous"},
    {"flushdb", cmd_flushdb, -1, CMD_WRITE, 0, 0, 0,
     "Remove all keys from the current database", "1.0.0", "server",
     "[ASYNC|SYNC]",
     "@keyspace @write @slow @dangerous"},
    {"get", cmd_get, 2, CMD_READONLY | CMD_FAST, 1, 1, 1,
     "Get the value of a key", "1.0.0", "string",
     "key",
     "@read @string @fast"},
    {"getdel", cmd_getdel, 2, CMD_WRITE | CMD_FAST, 1, 1, 1,
     "Get the value of a key and delete the key", "6.2.0", "string",
     "key",
     "@write @string @fast"},
    {"getex", cmd_getex, -2, CMD_WRITE | CMD_FAST, 1, 1, 1,
     "Get the value of a key and optionally set its expiration", "6.2.0", "string",
     "key [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|PERSIST]",
     "@write @string @fast"},
    {"hello", cmd_hello, -1, COMMAND_FLAGS_HANDSHAKE, 0, 0, 0,
     "Handshake with Redis", "6.0.0", "connection",
     "[protover [AUTH username password] [SETNAME clientname]]",
     "@fast @connection"},
    {"info", cmd_info, -1, CMD_LOADING | CMD_STALE, 0, 0, 0,
     "Get information and statistics about the server", "1.0.0", "server",
     "[section [section ...]]",
     "@slow @dangerous"},
    {"keys", cmd_keys, 2, CMD_READONLY, 0, 0, 0,
     "Find all keys matching the given pattern", "1.0.0", "generic",
     "pattern",
     "@keyspace @read @slow @dangerous"},
    {"mget", cmd_mget, -2, CMD_READONLY | CMD_FAST, 1, -1, 1,
     "Get the values of all the given keys", "1.0.0", "string",
     "key [key ...]",
     "@read @string @fast"},
    {"mset", cmd_mset, -3, CMD_WRITE | CMD_DENYOOM, 1, -1, 2,
     "Set multiple keys to multiple values", "1.0.1", "string",
     "key value [key value ...]",
     "@write @string @slow"},
    {"persist", cmd_persist, 2, CMD_WRITE | CMD_FAST, 1, 1, 1,
     "Remove the expiration from a key", "2.2.0", "generic",
     "key",
     "@keyspace @write @fast"},
    {"pexpire", cmd_pexpire, -3, CMD_WRITE | CMD_FAST, 1, 1, 1,
     "Set a key's time to live in milliseconds", "2.6.0", "generic",
     "key milliseconds [NX|XX|GT|LT]",
     "@keyspace @write @fast"},
    {"pexpireat", cmd_pexpireat, -3, CMD_WRITE | CMD_FAST, 1, 1, 1,
     "Set the expiration for a key as a UNIX timestamp specified in milliseconds",
     "2.6.0", "generic",
     "key unix-time-milliseconds [NX|XX|GT|LT]",
     "@keyspace @write @fast"},
    {"ping", cmd_ping, -1, CMD_FAST, 0, 0, 0,
     "Ping the server", "1.0.0", "connection",
     "[message]",
     "@fast @connection"},
    {"pttl", cmd_pttl, 2, CMD_READONLY | CMD_FAST, 1, 1, 1,
     "Get the time to live for a key in milliseconds", "2.6.0", "generic",
     "key",
     "@keyspace @read @fast"},
    {"quit", cmd_quit, -1, COMMAND_FLAGS_HANDSHAKE, 0, 0, 0,
     "Close the connection", "1.0.0", "connection",
     "",
     "@fast @connection"},
    {"reset", cmd_reset, 1, COMMAND_FLAGS_HANDSHAKE, 0, 0, 0,
     "Reset the connection", "6.2.0", "connection",
     "",
     "@fast @connection"},
    {"scan", cmd_scan, -2, CMD_READONLY, 0, 0, 0,
     "Incrementally iterate the keys space", "2.8.0", "generic",
     "cursor [MATCH pattern] [COUNT count] [TYPE type]",
     "@keyspace @read @slow"},
    {"select", cmd_select, 2, CMD_LOADING | CMD_STALE | CMD_FAST, 0, 0, 0,
     "Change the selected database for the current connection", "1.0.0", "connection",
     "index",
     "@fast @connection"},
    {"set", cmd_set, -3, CMD_WRITE | CMD_DENYOOM, 1, 1, 1,
     "Set the string value of a key", "1.0.0", "string",
     "key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT "
     "unix-time-milliseconds|KEEPTTL]",
     "@write @string @slow"},
    {"shutdown", cmd_shutdown, -1,
     CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_NO_MULTI | CMD_ALLOW_BUSY, 0, 0, 0,
     "Synchronously save the dataset to disk and then shut down the server", "1.0.0", "server",
     "[NOSAVE|SAVE] [NOW] [FORCE] [ABORT]",
     "@admin @slow @dangerous"},
    {"strlen", cmd_strlen, 2, CMD_READONLY | CMD_FAST, 1, 1, 1,
     "Get the length of the value stored in a key", "2.2.0", "string",
     "key",
     "@read @string @fast"},
    {"time", cmd_time, 1, CMD_LOADING | CMD_STALE | CMD_FAST, 0, 0, 0,
     "Return the current server time", "2.6.0", "server",
     "",
     "@fast"},
    {"ttl", cmd_ttl, 2, CMD_READONLY | CMD_FAST, 1, 1, 1,
     "Get the time to live for a key in seconds", "1.0.0", "generic",
     "key",
     "@keyspace @read @fast"},
    {"type", cmd_type, 2, CMD_READONLY | CMD_FAST, 1, 1, 1,
     "Determine the type stored at key", "1.0.0", "generic",
     "key",
     "@keyspace @read @fast"},
};

#define COMMAND_COUNT (sizeof command_defs / sizeof command_defs[0])

const command_def_t *command_table(size_t *count)
{
    *count = COMMAND_COUNT;
    return command_defs;
}

static unsigned char fold(char c)
{
    return (unsigned char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
}

/* Compares name (len bytes, any case) with the lower-case def, as strcmp. */
static int name_cmp(const char *name, size_t len, const char *def)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char b = (unsigned char)def[i];
        if (b == '\0')
            return 1;
        unsigned char a = fold(name[i]);
        if (a != b)
            return a < b ? -1 : 1;
    }
    return def[len] == '\0' ? 0 : -1;
}

const command_def_t *command_lookup(const char *name, size_t len)
{
    size_t lo = 0, hi = COMMAND_COUNT;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = name_cmp(name, len, command_defs[mid].name);
        if (c == 0)
            return &command_defs[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* "ERR unknown command 'foo', with args beginning with: 'a' 'b' ", with
 * Redis's truncation: the name to 128 bytes, the arguments until their text
 * reaches 128 bytes (each cut at a NUL, as %s does). */
static void reply_unknown(cmd_ctx_t *ctx)
{
    buf_t msg = BUF_INIT;
    buf_printf(&msg, "ERR unknown command '%.*s', with args beginning with: ", COMMAND_ECHO_MAX,
               ctx->argv[0]);
    size_t args_at = msg.len;
    for (int i = 1; i < ctx->argc && msg.len - args_at < COMMAND_ECHO_MAX; i++)
        buf_printf(&msg, "'%.*s' ", (int)(COMMAND_ECHO_MAX - (msg.len - args_at)), ctx->argv[i]);
    buf_append_byte(&msg, 0);
    reply_error(ctx->reply, msg.data);
    buf_free(&msg);
}

bool command_arity_ok(int arity, int argc)
{
    return arity >= 0 ? argc == arity : argc >= -arity;
}

const command_def_t *command_dispatch(cmd_ctx_t *ctx)
{
    const command_def_t *def = command_lookup(ctx->argv[0], ctx->argvlen[0]);
    if (def == NULL) {
        reply_unknown(ctx);
        return NULL;
    }
    if (!command_arity_ok(def->arity, ctx->argc)) {
        reply_errorf(ctx->reply, "ERR wrong number of arguments for '%s' command", def->name);
        return NULL;
    }
    if (!ctx->client->authenticated && !(def->flags & CMD_NOAUTH)) {
        reply_error(ctx->reply, "NOAUTH Authentication required.");
        return NULL;
    }
    def->handler(ctx);
    return def;
}
