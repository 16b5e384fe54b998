/* test_command.c - Check suite for the command table and dispatch
 * (command.h) and the connection and server commands (cmd_conn.h), run
 * against a fake server_api. Replies are compared byte for byte with what
 * Redis 7.0 sends. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "proto/cmd_conn.h"
#include "proto/command.h"

#define TEST_ARGS_MAX 16

/* The fake server: records what the commands asked of it. */
static const char *fake_password;
static int fake_shutdowns;
static int fake_resets;

static void fake_info(void *impl, const char *section, buf_t *out)
{
    buf_printf(out, "# %s\r\n", section);
}

static void fake_client_list(void *impl, uint64_t only_id, buf_t *out)
{
    buf_printf(out, "id=%llu\n", (unsigned long long)(only_id ? only_id : 99));
}

static void fake_config_get(void *impl, int n, const char *const *patterns, reply_t *r)
{
    reply_map(r, 1);
    reply_bulk_str(r, patterns[0]);
    reply_bulk_int(r, n);
}

static int fake_config_set(void *impl, const char *name, const char *value, buf_t *err)
{
    if (strcmp(name, "maxclients") == 0)
        return 0;
    buf_printf(err, "ERR Unknown option or number of arguments for CONFIG SET - '%s'", name);
    return -1;
}

static void fake_reset_stats(void *impl)
{
    fake_resets++;
}

static void fake_shutdown(void *impl)
{
    fake_shutdowns++;
}

static const char *fake_requirepass(void *impl)
{
    return fake_password;
}

static const server_api_t fake_server = {
    .info = fake_info,
    .client_list = fake_client_list,
    .config_get = fake_config_get,
    .config_set = fake_config_set,
    .reset_stats = fake_reset_stats,
    .shutdown = fake_shutdown,
    .requirepass = fake_requirepass,
};

static client_state_t client;
static buf_t out;
static reply_t reply;

static void setup(void)
{
    memset(&client, 0, sizeof client);
    client.id = 7;
    client.resp = 2;
    client.authenticated = true;
    buf_init(&out);
    reply = (reply_t){&out, 2};
    fake_password = NULL;
    fake_shutdowns = fake_resets = 0;
}

static void teardown(void)
{
    free(client.name);
    free(client.lib_name);
    free(client.lib_ver);
    buf_free(&out);
}

/* Runs the words of line (split at single spaces; "_" is an empty word) and
 * returns the reply, NUL-terminated. */
static const char *run(const char *line)
{
    static char words[1024];
    const char *argv[TEST_ARGS_MAX];
    size_t argvlen[TEST_ARGS_MAX];
    int argc = 0;
    snprintf(words, sizeof words, "%s", line);
    for (char *w = strtok(words, " "); w != NULL && argc < TEST_ARGS_MAX; w = strtok(NULL, " ")) {
        if (strcmp(w, "_") == 0)
            *w = '\0';
        argv[argc] = w;
        argvlen[argc++] = strlen(w);
    }
    buf_clear(&out);
    cmd_ctx_t ctx = {.argc = argc, .argv = argv, .argvlen = argvlen, .reply = &reply,
                     .client = &client, .server = &fake_server, .now_ms = 1700000000123,
                     .now_us = 1700000000123456};
    command_dispatch(&ctx);
    buf_append_byte(&out, 0);
    out.len--;
    return out.data;
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

START_TEST(table_is_sane)
{
    size_t n;
    const command_def_t *defs = command_table(&n);
    ck_assert_uint_ge(n, 39);
    for (size_t i = 0; i < n; i++) {
        const command_def_t *d = &defs[i];
        ck_assert_ptr_nonnull(d->handler);
        ck_assert_int_ne(d->arity, 0);
        ck_assert(d->arity >= 1 || d->arity <= -1);
        if (i > 0)
            ck_assert_msg(strcmp(defs[i - 1].name, d->name) < 0, "%s not sorted", d->name);
        for (const char *c = d->name; *c; c++)
            ck_assert(!(*c >= 'A' && *c <= 'Z'));
        if (d->first_key == 0) {
            ck_assert_int_eq(d->last_key, 0);
            ck_assert_int_eq(d->key_step, 0);
        } else {
            ck_assert_int_gt(d->key_step, 0);
            ck_assert(d->last_key == -1 || d->last_key >= d->first_key);
            ck_assert(d->arity < 0 || d->arity > d->first_key);
        }
        ck_assert(d->summary && d->since && d->group && d->args && d->acl);
        ck_assert((d->flags & (CMD_WRITE | CMD_READONLY)) != (CMD_WRITE | CMD_READONLY));
    }
}
END_TEST

START_TEST(lookup_is_case_insensitive)
{
    size_t n;
    const command_def_t *defs = command_table(&n);
    for (size_t i = 0; i < n; i++) {
        char upper[64];
        size_t len = strlen(defs[i].name);
        for (size_t j = 0; j <= len; j++)
            upper[j] = (char)(defs[i].name[j] >= 'a' && defs[i].name[j] <= 'z'
                                  ? defs[i].name[j] - 32 : defs[i].name[j]);
        ck_assert_ptr_eq(command_lookup(upper, len), &defs[i]);
        ck_assert_ptr_eq(command_lookup(defs[i].name, len), &defs[i]);
        ck_assert_ptr_ne(command_lookup(defs[i].name, len - 1), &defs[i]);
    }
    ck_assert_ptr_null(command_lookup("ge", 2));
    ck_assert_ptr_null(command_lookup("gett", 4));
    ck_assert_ptr_null(command_lookup("get\0", 4));
    ck_assert_ptr_null(command_lookup("", 0));
    ck_assert_ptr_nonnull(command_lookup("Dyn.Put", 7));
    ck_assert_ptr_eq(command_lookup("GETx", 3), command_lookup("get", 3));
}
END_TEST

START_TEST(redis_arity_and_keys)
{
    const command_def_t *d = command_lookup("set", 3);
    ck_assert_int_eq(d->arity, -3);
    ck_assert_uint_eq(d->flags, CMD_WRITE | CMD_DENYOOM);
    d = command_lookup("mset", 4);
    ck_assert_int_eq(d->first_key, 1);
    ck_assert_int_eq(d->last_key, -1);
    ck_assert_int_eq(d->key_step, 2);
    d = command_lookup("auth", 4);
    ck_assert(d->flags & CMD_NOAUTH);
    ck_assert_int_eq(command_lookup("get", 3)->arity, 2);
    ck_assert_int_eq(command_lookup("dyn.put", 7)->arity, -4);
}
END_TEST

START_TEST(dispatch_errors)
{
    ck_assert_str_eq(run("foo a b"),
                     "-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n");
    ck_assert_str_eq(run("FOO"), "-ERR unknown command 'FOO', with args beginning with: \r\n");
    ck_assert_str_eq(run("GET"), "-ERR wrong number of arguments for 'get' command\r\n");
    ck_assert_str_eq(run("set k"), "-ERR wrong number of arguments for 'set' command\r\n");
    ck_assert_str_eq(run("ping a b"), "-ERR wrong number of arguments for 'ping' command\r\n");
    char line[512];
    snprintf(line, sizeof line, "x %0100d %0100d c", 1, 2);
    const char *got = run(line);
    char want[512];
    snprintf(want, sizeof want,
             "-ERR unknown command 'x', with args beginning with: '%0100d' '%025d' \r\n", 1, 0);
    ck_assert_str_eq(got, want);
    client.authenticated = false;
    ck_assert_str_eq(run("get k"), "-NOAUTH Authentication required.\r\n");
    ck_assert_str_eq(run("ping"), "-NOAUTH Authentication required.\r\n");
    ck_assert_str_eq(run("nosuch"), "-ERR unknown command 'nosuch', with args beginning with: \r\n");
    ck_assert_str_eq(run("quit"), "+OK\r\n");
    ck_assert(client.close_after_reply);
}
END_TEST

START_TEST(ping_echo_select)
{
    ck_assert_str_eq(run("PING"), "+PONG\r\n");
    ck_assert_str_eq(run("ping hi"), "$2\r\nhi\r\n");
    ck_assert_str_eq(run("echo _"), "$0\r\n\r\n");
    ck_assert_str_eq(run("select 0"), "+OK\r\n");
    ck_assert_str_eq(run("select 1"), "-ERR SELECT is not allowed in cluster mode\r\n");
    ck_assert_str_eq(run("select 00"), "-ERR value is not an integer or out of range\r\n");
    ck_assert_str_eq(run("select x"), "-ERR value is not an integer or out of range\r\n");
    ck_assert_str_eq(run("select 99999999999"), "-ERR value is not an integer or out of range\r\n");
    ck_assert_str_eq(run("time"), "*2\r\n$10\r\n1700000000\r\n$6\r\n123456\r\n");
}
END_TEST

START_TEST(hello_and_auth)
{
    ck_assert_str_eq(run("hello 4"), "-NOPROTO unsupported protocol version\r\n");
    ck_assert_str_eq(run("hello x"), "-ERR Protocol version is not an integer or out of range\r\n");
    ck_assert_str_eq(run("hello 2 setname"), "-ERR Syntax error in HELLO option 'setname'\r\n");
    ck_assert_str_eq(run("auth x"),
                     "-ERR AUTH <password> called without any password configured for the default "
                     "user. Are you sure your configuration is correct?\r\n");
    ck_assert_str_eq(run("auth default x"), "+OK\r\n");
    ck_assert_str_eq(run("auth bob x"),
                     "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    ck_assert_str_eq(run("auth a b c"), "-ERR syntax error\r\n");
    const char *got = run("hello 3 setname conn1");
    ck_assert_int_eq(reply.resp, 3);
    ck_assert_int_eq(client.resp, 3);
    ck_assert_str_eq(client.name, "conn1");
    ck_assert(starts_with(got, "%7\r\n$6\r\nserver\r\n$5\r\ndynis\r\n$7\r\nversion\r\n"));
    ck_assert_ptr_nonnull(strstr(got, "$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:7\r\n$4\r\nmode\r\n"));
    ck_assert_ptr_nonnull(strstr(got, "\r\n" COMMAND_SERVER_MODE "\r\n$4\r\nrole\r\n$6\r\nmaster\r\n"
                                      "$7\r\nmodules\r\n*0\r\n"));
    ck_assert_str_eq(run("client getname"), "$5\r\nconn1\r\n");
    ck_assert_str_eq(run("reset"), "+RESET\r\n");
    ck_assert_int_eq(reply.resp, 2);
    ck_assert_ptr_null(client.name);
}
END_TEST

START_TEST(requirepass)
{
    fake_password = "secret";
    client.authenticated = false;
    ck_assert_str_eq(run("hello 3"),
                     "-NOAUTH HELLO must be called with the client already authenticated, otherwise "
                     "the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the "
                     "client and select the RESP protocol version at the same time\r\n");
    ck_assert_str_eq(run("auth wrong"),
                     "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    ck_assert(!client.authenticated);
    ck_assert_str_eq(run("hello 2 auth default wrong"),
                     "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    ck_assert_str_eq(run("auth secret"), "+OK\r\n");
    ck_assert(client.authenticated);
    ck_assert_str_eq(run("reset"), "+RESET\r\n");
    ck_assert(!client.authenticated);
    ck_assert(starts_with(run("hello 2 auth default secret"), "*14\r\n"));
    ck_assert(client.authenticated);
}
END_TEST

START_TEST(client_subcommands)
{
    ck_assert_str_eq(run("client id"), ":7\r\n");
    ck_assert_str_eq(run("client getname"), "$-1\r\n");
    ck_assert_str_eq(run("client setname a\tb"),
                     "-ERR Client names cannot contain spaces, newlines or special characters.\r\n");
    ck_assert_str_eq(run("CLIENT SETNAME me"), "+OK\r\n");
    ck_assert_str_eq(run("client getname"), "$2\r\nme\r\n");
    ck_assert_str_eq(run("client setname _"), "+OK\r\n");
    ck_assert_ptr_null(client.name);
    ck_assert_str_eq(run("client setinfo lib-name redis-py"), "+OK\r\n");
    ck_assert_str_eq(client.lib_name, "redis-py");
    ck_assert_str_eq(run("client setinfo foo x"), "-ERR Unrecognized option 'foo'\r\n");
    ck_assert_str_eq(run("client foo"), "-ERR unknown subcommand 'foo'. Try CLIENT HELP.\r\n");
    ck_assert_str_eq(run("client setname"),
                     "-ERR wrong number of arguments for 'client|setname' command\r\n");
    ck_assert_str_eq(run("client id x"), "-ERR wrong number of arguments for 'client|id' command\r\n");
    ck_assert_str_eq(run("client list"), "$6\r\nid=99\n\r\n");
    ck_assert_str_eq(run("client info"), "$5\r\nid=7\n\r\n");
    ck_assert_str_eq(run("client list id 3"), "$5\r\nid=3\n\r\n");
    ck_assert_str_eq(run("client list id x"), "-ERR Invalid client ID\r\n");
    ck_assert_str_eq(run("client list type pubsub"), "$0\r\n\r\n");
    const char *help = run("client help");
    ck_assert(starts_with(help, "*19\r\n+CLIENT <subcommand> [<arg> [value] [opt] ...]. "
                                "Subcommands are:\r\n+GETNAME\r\n"));
    reply.resp = 3;
    ck_assert_str_eq(run("client info"), "=9\r\ntxt:id=7\n\r\n");
}
END_TEST

START_TEST(config_info_shutdown)
{
    ck_assert_str_eq(run("config get maxmemory"), "*2\r\n$9\r\nmaxmemory\r\n$1\r\n1\r\n");
    ck_assert_str_eq(run("config set maxclients 10"), "+OK\r\n");
    ck_assert_str_eq(run("config set a b"),
                     "-ERR Unknown option or number of arguments for CONFIG SET - 'a'\r\n");
    ck_assert_str_eq(run("config set a b c"),
                     "-ERR wrong number of arguments for 'config|set' command\r\n");
    ck_assert_str_eq(run("config get"), "-ERR wrong number of arguments for 'config|get' command\r\n");
    ck_assert_str_eq(run("config resetstat"), "+OK\r\n");
    ck_assert_int_eq(fake_resets, 1);
    ck_assert_str_eq(run("config foo"), "-ERR unknown subcommand 'foo'. Try CONFIG HELP.\r\n");
    ck_assert_str_eq(run("info"), "$4\r\n# \r\n\r\n");
    ck_assert_str_eq(run("info server clients"), "$21\r\n# server\r\n# clients\r\n\r\n");
    ck_assert_str_eq(run("shutdown foo"), "-ERR syntax error\r\n");
    ck_assert_str_eq(run("shutdown abort"), "-ERR No shutdown in progress.\r\n");
    ck_assert_str_eq(run("shutdown nosave save"), "-ERR syntax error\r\n");
    ck_assert_int_eq(fake_shutdowns, 0);
    ck_assert_str_eq(run("shutdown nosave"), "");
    ck_assert_int_eq(fake_shutdowns, 1);
}
END_TEST

START_TEST(command_command)
{
    char want[64];
    size_t n;
    command_table(&n);
    snprintf(want, sizeof want, ":%zu\r\n", n);
    ck_assert_str_eq(run("command count"), want);
    /* Byte for byte what Redis 7.0 answers but the key specs and tips. */
    ck_assert_str_eq(run("command info get nosuch"),
                     "*2\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n"
                     "*3\r\n+@read\r\n+@string\r\n+@fast\r\n*0\r\n*0\r\n*0\r\n$-1\r\n");
    ck_assert_str_eq(run("command docs echo nosuch"),
                     "*2\r\n$4\r\necho\r\n*8\r\n$7\r\nsummary\r\n$21\r\nEcho the given string\r\n"
                     "$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n"
                     "$9\r\narguments\r\n*1\r\n*4\r\n$4\r\nname\r\n$7\r\nmessage\r\n"
                     "$4\r\ntype\r\n$6\r\nstring\r\n");
    reply.resp = 3;
    ck_assert_str_eq(run("command docs ping"),
                     "%1\r\n$4\r\nping\r\n%4\r\n$7\r\nsummary\r\n$15\r\nPing the server\r\n"
                     "$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n"
                     "$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$7\r\nmessage\r\n"
                     "$4\r\ntype\r\n$6\r\nstring\r\n$5\r\nflags\r\n~1\r\n+optional\r\n");
    snprintf(want, sizeof want, "*%zu\r\n*10\r\n$6\r\nappend\r\n", n);
    ck_assert(starts_with(run("command"), want));
    snprintf(want, sizeof want, "*%zu\r\n$6\r\nappend\r\n", n);
    ck_assert(starts_with(run("command list"), want));
    ck_assert_str_eq(run("command foo"), "-ERR unknown subcommand 'foo'. Try COMMAND HELP.\r\n");
    ck_assert_str_eq(run("command count x"),
                     "-ERR wrong number of arguments for 'command|count' command\r\n");
    ck_assert_ptr_nonnull(strstr(run("command docs client"), "$9\r\nclient|id\r\n"));
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("command");
    TCase *tc = tcase_create("command");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, table_is_sane);
    tcase_add_test(tc, lookup_is_case_insensitive);
    tcase_add_test(tc, redis_arity_and_keys);
    tcase_add_test(tc, dispatch_errors);
    tcase_add_test(tc, ping_echo_select);
    tcase_add_test(tc, hello_and_auth);
    tcase_add_test(tc, requirepass);
    tcase_add_test(tc, client_subcommands);
    tcase_add_test(tc, config_info_shutdown);
    tcase_add_test(tc, command_command);
    suite_add_tcase(s, tc);
    return s;
}
