/* test_config.c - Check suite for src/shell/config.c: defaults, redis.conf
 * syntax and quoting, command-line overrides, memory sizes, Redis's fatal
 * error texts, CONFIG GET globbing and CONFIG SET. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "shell/config.h"

static int load(config_t *cfg, const char *text, buf_t *err)
{
    return config_load_text(cfg, text, strlen(text), err);
}

static const char *err_str(buf_t *err)
{
    buf_append_byte(err, 0);
    err->len--;
    return err->data;
}

START_TEST(defaults)
{
    config_t cfg;
    config_init(&cfg);
    ck_assert_int_eq(cfg.port, 6379);
    ck_assert_str_eq(cfg.bind, "127.0.0.1");
    ck_assert_int_eq(config_bus_port(&cfg), 16379);
    ck_assert_str_eq(cfg.dir, "./data");
    ck_assert_str_eq(cfg.requirepass, "");
    ck_assert_int_eq(cfg.maxclients, 10000);
    ck_assert_int_eq(cfg.proto_max_bulk_len, 512LL * 1024 * 1024);
    ck_assert_int_eq(cfg.client_query_buffer_limit, 1024LL * 1024 * 1024);
    ck_assert_int_eq(cfg.appendfsync, CONFIG_FSYNC_EVERYSEC);
    ck_assert_int_eq(cfg.loglevel, CONFIG_LOG_NOTICE);
    ck_assert_int_eq(cfg.replicas, 3);
    ck_assert_int_eq(cfg.read_quorum, 2);
    ck_assert_int_eq(cfg.write_quorum, 2);
    ck_assert_int_eq(cfg.node_timeout, 5000);
    ck_assert_int_eq(cfg.hz, 10);
    ck_assert_int_eq(cfg.timeout, 0);
    ck_assert(!cfg.daemonize);
    ck_assert_str_eq(cfg.node_id, "");
    config_free(&cfg);
}
END_TEST

START_TEST(file_syntax_and_quoting)
{
    config_t cfg;
    config_init(&cfg);
    buf_t err = BUF_INIT;
    const char *text = "# a comment\n"
                       "   \n"
                       "port 7001\r\n"
                       "  bind 127.0.0.1 ::1  \n"
                       "requirepass \"pa ss\\x41\\n\"\n"
                       "dir '/tmp/a b'\n"
                       "LogLevel WARNING\n"
                       "save 900 1 300 10\n"
                       "appendonly yes\n"
                       "databases 16\n";
    ck_assert_msg(load(&cfg, text, &err) == 0, "%s", err_str(&err));
    ck_assert_int_eq(cfg.port, 7001);
    ck_assert_int_eq(config_bus_port(&cfg), 17001);
    ck_assert_str_eq(cfg.bind, "127.0.0.1 ::1");
    ck_assert_str_eq(cfg.requirepass, "pa ssA\n");
    ck_assert_str_eq(cfg.dir, "/tmp/a b");
    ck_assert_int_eq(cfg.loglevel, CONFIG_LOG_WARNING);
    ck_assert_str_eq(cfg.save, "900 1 300 10");
    ck_assert(cfg.appendonly);
    buf_free(&err);
    config_free(&cfg);
}
END_TEST

START_TEST(split_line_rules)
{
    char *args[8];
    int n = config_split_line("a \"b c\" 'd\\'e' \"\\x00z\"", 22, args, 8);
    ck_assert_int_eq(n, 4);
    ck_assert_str_eq(args[0], "a");
    ck_assert_str_eq(args[1], "b c");
    ck_assert_str_eq(args[2], "d'e");
    ck_assert_int_eq(args[3][0], 0);
    ck_assert_int_eq(args[3][1], 'z');
    for (int i = 0; i < n; i++)
        free(args[i]);
    ck_assert_int_eq(config_split_line("a \"bc", 5, args, 8), -1);
    ck_assert_int_eq(config_split_line("a \"b\"c", 6, args, 8), -1);
    ck_assert_int_eq(config_split_line("a 'b", 4, args, 8), -1);
    ck_assert_int_eq(config_split_line("a b c", 5, args, 2), -1);
    ck_assert_int_eq(config_split_line("   ", 3, args, 2), 0);
}
END_TEST

START_TEST(memory_sizes)
{
    long long v;
    ck_assert(config_parse_memory("100", &v) && v == 100);
    ck_assert(config_parse_memory("1k", &v) && v == 1000);
    ck_assert(config_parse_memory("1kb", &v) && v == 1024);
    ck_assert(config_parse_memory("2m", &v) && v == 2000000);
    ck_assert(config_parse_memory("512mb", &v) && v == 512LL * 1024 * 1024);
    ck_assert(config_parse_memory("1GB", &v) && v == 1024LL * 1024 * 1024);
    ck_assert(config_parse_memory("3g", &v) && v == 3000000000LL);
    ck_assert(!config_parse_memory("", &v));
    ck_assert(!config_parse_memory("mb", &v));
    ck_assert(!config_parse_memory("1zz", &v));
    ck_assert(!config_parse_memory("1.5mb", &v));
    ck_assert(!config_parse_memory("99999999999999999999", &v));
    ck_assert(!config_parse_memory("9999999999999gb", &v));
}
END_TEST

START_TEST(fatal_errors_match_redis)
{
    static const struct {
        const char *text;
        const char *expect;
    } cases[] = {
        {"port 1\nfoo bar\n",
         "at line 2\n>>> 'foo bar'\nBad directive or wrong number of arguments"},
        {"port\n", ">>> 'port'\nBad directive or wrong number of arguments"},
        {"port 1 2\n", "Bad directive or wrong number of arguments"},
        {"port abc\n", ">>> 'port abc'\nargument couldn't be parsed into an integer"},
        {"port 70000\n", "argument must be between 0 and 65535 inclusive"},
        {"proto-max-bulk-len 1zz\n", "argument must be a memory value"},
        {"proto-max-bulk-len 1k\n", "argument must be between 1048576 and"},
        {"loglevel loud\n",
         "argument(s) must be one of the following: debug, verbose, notice, warning"},
        {"appendfsync sometimes\n", "one of the following: everysec, always, no"},
        {"daemonize maybe\n", "argument must be 'yes' or 'no'"},
        {"requirepass \"abc\n", "Unbalanced quotes in configuration line"},
        {"replicas 2\nread-quorum 3\n", "must not exceed replicas"},
        {"node-id abc\n", "node-id must be 40 lowercase hex digits"},
        {"node-id 0123456789ABCDEF0123456789abcdef01234567\n", "node-id must be 40"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        config_t cfg;
        config_init(&cfg);
        buf_t err = BUF_INIT;
        ck_assert_int_eq(load(&cfg, cases[i].text, &err), -1);
        const char *e = err_str(&err);
        ck_assert_msg(strstr(e, "*** FATAL CONFIG FILE ERROR (dynis ") != NULL, "%s", e);
        ck_assert_msg(strstr(e, cases[i].expect) != NULL, "case %zu: %s", i, e);
        buf_free(&err);
        config_free(&cfg);
    }
}
END_TEST

START_TEST(command_line_overrides_file)
{
    char path[] = "/tmp/dynis-test-config-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    const char *text = "port 7001\nmaxclients 50\nrequirepass secret\n";
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    char *argv[] = {"dynis-server", path, "--port", "7005", "--dir", "/tmp/d",
                    "--bind", "127.0.0.1", "::1", "--requirepass", "has \"quote\""};
    config_t cfg;
    config_init(&cfg);
    buf_t err = BUF_INIT;
    ck_assert_msg(config_load_args(&cfg, 11, argv, &err) == 0, "%s", err_str(&err));
    ck_assert_int_eq(cfg.port, 7005);
    ck_assert_int_eq(cfg.maxclients, 50);
    ck_assert_str_eq(cfg.dir, "/tmp/d");
    ck_assert_str_eq(cfg.bind, "127.0.0.1 ::1");
    ck_assert_str_eq(cfg.requirepass, "has \"quote\"");
    ck_assert_str_ne(cfg.config_file, "");
    config_free(&cfg);

    char *save_alone[] = {"dynis-server", "--save", "--appendonly", "no"};
    config_init(&cfg);
    ck_assert_msg(config_load_args(&cfg, 4, save_alone, &err) == 0, "%s", err_str(&err));
    ck_assert_str_eq(cfg.save, "");
    config_free(&cfg);

    char *bad[] = {"dynis-server", "--port", "0", "--unknownopt", "1"};
    config_init(&cfg);
    ck_assert_int_eq(config_load_args(&cfg, 5, bad, &err), -1);
    ck_assert_msg(strstr(err_str(&err), "at line 3\n>>> 'unknownopt \"1\"'") != NULL, "%s",
                  err_str(&err));
    config_free(&cfg);
    buf_clear(&err);

    char *missing[] = {"dynis-server", "/nonexistent/dynis.conf"};
    config_init(&cfg);
    ck_assert_int_eq(config_load_args(&cfg, 2, missing, &err), -1);
    ck_assert(strstr(err_str(&err), "can't open config file") != NULL);
    config_free(&cfg);
    buf_free(&err);
    unlink(path);
}
END_TEST

START_TEST(config_set_rules)
{
    config_t cfg;
    config_init(&cfg);
    buf_t err = BUF_INIT;
    ck_assert_int_eq(config_set(&cfg, "maxclients", "7", &err), 0);
    ck_assert_int_eq(cfg.maxclients, 7);
    ck_assert_int_eq(config_set(&cfg, "PROTO-MAX-BULK-LEN", "2mb", &err), 0);
    ck_assert_int_eq(cfg.proto_max_bulk_len, 2 * 1024 * 1024);
    ck_assert_int_eq(config_set(&cfg, "appendfsync", "always", &err), 0);
    ck_assert_int_eq(cfg.appendfsync, CONFIG_FSYNC_ALWAYS);
    ck_assert_int_eq(config_set(&cfg, "save", "", &err), 0);

    ck_assert_int_eq(config_set(&cfg, "foo", "1", &err), -1);
    ck_assert_str_eq(err_str(&err),
                     "ERR Unknown option or number of arguments for CONFIG SET - 'foo'");
    buf_clear(&err);
    ck_assert_int_eq(config_set(&cfg, "port", "1000", &err), -1);
    ck_assert_str_eq(err_str(&err), "ERR CONFIG SET failed (possibly related to argument "
                                    "'port') - can't set immutable config");
    buf_clear(&err);
    ck_assert_int_eq(config_set(&cfg, "maxclients", "abc", &err), -1);
    ck_assert_str_eq(err_str(&err), "ERR CONFIG SET failed (possibly related to argument "
                                    "'maxclients') - argument couldn't be parsed into an integer");
    buf_clear(&err);
    ck_assert_int_eq(config_set(&cfg, "timeout", "-1", &err), -1);
    ck_assert_str_eq(err_str(&err), "ERR CONFIG SET failed (possibly related to argument "
                                    "'timeout') - argument must be between 0 and 2147483647 "
                                    "inclusive");
    ck_assert_int_eq(cfg.maxclients, 7);
    buf_free(&err);
    config_free(&cfg);
}
END_TEST

static void collect(void *arg, const char *name, const char *value)
{
    buf_printf(arg, "%s=%s;", name, value);
}

START_TEST(config_get_globs)
{
    config_t cfg;
    config_init(&cfg);
    buf_t out = BUF_INIT;
    const char *p1[] = {"maxclients"};
    config_get(&cfg, 1, p1, collect, &out);
    ck_assert_str_eq(err_str(&out), "maxclients=10000;");
    buf_clear(&out);
    const char *p2[] = {"*max-*", "PORT", "port"};
    config_get(&cfg, 3, p2, collect, &out);
    ck_assert_str_eq(err_str(&out),
                     "port=6379;proto-max-bulk-len=536870912;hint-max-bytes=67108864;");
    buf_clear(&out);
    const char *p3[] = {"[ab]ind", "append?sync", "nothing*"};
    config_get(&cfg, 3, p3, collect, &out);
    ck_assert_str_eq(err_str(&out), "bind=127.0.0.1;appendfsync=everysec;");
    buf_free(&out);
    config_free(&cfg);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, file_syntax_and_quoting);
    tcase_add_test(tc, split_line_rules);
    tcase_add_test(tc, memory_sizes);
    tcase_add_test(tc, fatal_errors_match_redis);
    tcase_add_test(tc, command_line_overrides_file);
    tcase_add_test(tc, config_set_rules);
    tcase_add_test(tc, config_get_globs);
    suite_add_tcase(s, tc);
    return s;
}
