/* test_cmd_node.c - Check suite for src/proto/coord_reply_write.c (RESP of
 * the node's answers, the gathering of multi-key commands) and for the keyed
 * handlers of src/proto/cmd_keys.c run end to end on a lone node over the
 * in-memory store, through a server_api that does what the shell's
 * server_node.c does: node_client_op, then the outbox's REPLY effects into
 * the client's gather. */
#include <stdio.h>
#include <string.h>

#include "check_main.h"
#include "core/keyspace.h"
#include "core/mem_store.h"
#include "core/node.h"
#include "proto/command.h"
#include "proto/coord_reply_write.h"

#define NOW UINT64_C(1700000000000)
/* The most arguments a test command has. */
#define ARGS_MAX 16

/* ---- replies as text: CR LF shown as "|" ---- */

static const char *shown(const buf_t *raw, buf_t *out)
{
    buf_clear(out);
    for (size_t i = 0; i < raw->len; i++)
        if (raw->data[i] != '\r')
            buf_append_byte(out, raw->data[i] == '\n' ? '|' : (uint8_t)raw->data[i]);
    buf_append_byte(out, 0);
    return out->data;
}

/* ---- rendering ---- */

static void add_value(coord_reply_t *cr, uint64_t actor, const char *value, uint64_t expire_at)
{
    version_write_t w = {.context = NULL, .value = value, .value_len = strlen(value),
                         .expire_at_ms = expire_at};
    ck_assert_int_eq(versions_write(&cr->values, actor, NOW - 10, &w, NULL), 0);
}

static const char *render(const coord_reply_t *cr, int resp, buf_t *out)
{
    buf_t raw = BUF_INIT;
    reply_t r = {&raw, resp};
    coord_reply_write(&r, cr, NOW);
    shown(&raw, out);
    buf_free(&raw);
    return out->data;
}

START_TEST(renders_every_strop_reply)
{
    buf_t out = BUF_INIT;
    coord_reply_t cr;
    coord_reply_init(&cr);
    cr.strop = STROP_REPLY_OK;
    ck_assert_str_eq(render(&cr, 2, &out), "+OK|");
    cr.strop = STROP_REPLY_NIL;
    ck_assert_str_eq(render(&cr, 2, &out), "$-1|");
    ck_assert_str_eq(render(&cr, 3, &out), "_|");
    cr.strop = STROP_REPLY_INT;
    cr.integer = -7;
    ck_assert_str_eq(render(&cr, 2, &out), ":-7|");
    cr.strop = STROP_REPLY_VALUE;
    buf_append_str(&cr.value, "abc");
    ck_assert_str_eq(render(&cr, 2, &out), "$3|abc|");
    cr.strop = STROP_REPLY_STATUS;
    buf_append_str(&cr.text, "string");
    ck_assert_str_eq(render(&cr, 2, &out), "+string|");
    cr.strop = STROP_REPLY_CONFLICT;
    cr.integer = 2;
    ck_assert_str_eq(render(&cr, 2, &out),
                     "-CONFLICT key has 2 siblings; resolve with DYN.GET and DYN.PUT|");
    coord_reply_error(&cr, "NOQUORUM write acknowledged by 1 of 2 replicas");
    ck_assert_str_eq(render(&cr, 2, &out), "-NOQUORUM write acknowledged by 1 of 2 replicas|");
    coord_reply_free(&cr);
    buf_free(&out);
}
END_TEST

START_TEST(renders_values_and_contexts)
{
    buf_t out = BUF_INIT;
    coord_reply_t cr;
    coord_reply_init(&cr);
    cr.strop = STROP_REPLY_VALUES;
    ck_assert_str_eq(render(&cr, 2, &out), "$-1|");
    add_value(&cr, 1, "a", 0);
    ck_assert_str_eq(render(&cr, 2, &out), "$1|a|");
    add_value(&cr, 2, "b", 0);
    add_value(&cr, 3, "gone", NOW - 1); /* expired: not live */
    ck_assert_str_eq(render(&cr, 2, &out), "*2|$1|a|$1|b|");
    versions_t read = VERSIONS_INIT;
    versions_copy(&read, &cr.values);
    coord_reply_context(&cr, &read);
    const char *text = render(&cr, 2, &out);
    ck_assert_msg(strncmp(text, "*3|$", 4) == 0 && strstr(text, "|$1|a|$1|b|") != NULL, "%s",
                  text);
    versions_free(&read);
    coord_reply_context(&cr, &read); /* a key never written */
    ck_assert_str_eq(render(&cr, 2, &out), "*1|$0||");
    coord_reply_free(&cr);
    buf_free(&out);
}
END_TEST

/* ---- gathering ---- */

static void reply_int_of(coord_reply_t *cr, int64_t v)
{
    coord_reply_free(cr);
    cr->strop = STROP_REPLY_INT;
    cr->integer = v;
}

START_TEST(gathers_out_of_order_answers)
{
    buf_t raw = BUF_INIT, out = BUF_INIT;
    reply_t r = {&raw, 2};
    gather_t g;
    gather_init(&g);
    coord_reply_t cr;
    coord_reply_init(&cr);
    gather_begin(&g, GATHER_MGET, 3);
    cr.strop = STROP_REPLY_VALUES;
    add_value(&cr, 1, "c", 0);
    ck_assert(!gather_add(&g, 2, &cr, &r, NOW));
    coord_reply_free(&cr);
    cr.strop = STROP_REPLY_VALUES;
    ck_assert(!gather_add(&g, 0, &cr, &r, NOW));
    ck_assert(!gather_add(&g, 7, &cr, &r, NOW)); /* out of range: ignored */
    add_value(&cr, 1, "x", 0);
    add_value(&cr, 2, "y", 0);
    ck_assert_uint_eq(raw.len, 0);
    ck_assert(gather_add(&g, 1, &cr, &r, NOW));
    ck_assert_str_eq(shown(&raw, &out), "*3|$-1|*2|$1|x|$1|y|$1|c|");
    ck_assert(!gather_busy(&g));
    ck_assert(!gather_add(&g, 0, &cr, &r, NOW)); /* idle: nothing expected */

    buf_clear(&raw);
    gather_begin(&g, GATHER_SUM, 3);
    reply_int_of(&cr, 1);
    ck_assert(!gather_add(&g, 1, &cr, &r, NOW));
    ck_assert(!gather_add(&g, 0, &cr, &r, NOW));
    reply_int_of(&cr, 0);
    ck_assert(gather_add(&g, 2, &cr, &r, NOW));
    ck_assert_str_eq(shown(&raw, &out), ":2|");

    buf_clear(&raw);
    gather_begin(&g, GATHER_ONE, 5); /* ONE always expects one answer */
    reply_int_of(&cr, 9);
    ck_assert(gather_add(&g, 0, &cr, &r, NOW));
    ck_assert_str_eq(shown(&raw, &out), ":9|");
    coord_reply_free(&cr);
    gather_free(&g);
    buf_free(&raw);
    buf_free(&out);
}
END_TEST

START_TEST(gathers_the_first_error_in_key_order)
{
    buf_t raw = BUF_INIT, out = BUF_INIT;
    reply_t r = {&raw, 2};
    gather_t g;
    gather_init(&g);
    coord_reply_t ok, e1, e2;
    coord_reply_init(&ok);
    coord_reply_init(&e1);
    coord_reply_init(&e2);
    coord_reply_error(&e1, "NOQUORUM first");
    coord_reply_error(&e2, "NOQUORUM second");
    for (int kind = GATHER_MGET; kind <= GATHER_SUM; kind++) {
        buf_clear(&raw);
        gather_begin(&g, (enum gather_kind)kind, 3);
        ck_assert(!gather_add(&g, 2, &e2, &r, NOW));
        ck_assert(!gather_add(&g, 0, &ok, &r, NOW));
        ck_assert_uint_eq(raw.len, 0);
        ck_assert(gather_add(&g, 1, &e1, &r, NOW)); /* earlier key: its error wins */
        ck_assert_str_eq(shown(&raw, &out), "-NOQUORUM first|");
        buf_clear(&raw);
        gather_begin(&g, (enum gather_kind)kind, 2);
        ck_assert(!gather_add(&g, 1, &e2, &r, NOW));
        gather_begin(&g, (enum gather_kind)kind, 2); /* a new command drops the old */
        ck_assert(!gather_add(&g, 1, &ok, &r, NOW));
        ck_assert(gather_add(&g, 0, &e1, &r, NOW));
        ck_assert_str_eq(shown(&raw, &out), "-NOQUORUM first|");
    }
    buf_clear(&raw);
    gather_begin(&g, GATHER_MSET, 2);
    ok.strop = STROP_REPLY_OK;
    ck_assert(!gather_add(&g, 1, &ok, &r, NOW));
    ck_assert(gather_add(&g, 0, &ok, &r, NOW));
    ck_assert_str_eq(shown(&raw, &out), "+OK|");
    coord_reply_free(&ok);
    coord_reply_free(&e1);
    coord_reply_free(&e2);
    gather_free(&g);
    buf_free(&raw);
    buf_free(&out);
}
END_TEST

/* ---- the handlers on a lone node ---- */

typedef struct fixture {
    mem_store_t *ms;
    store_t store;
    node_t *node;
    gather_t gather;
    reply_t reply;
    buf_t raw;
    uint32_t parked; /* node_begin calls not yet answered */
} fixture_t;

static fixture_t f;

static void fake_begin(void *impl, enum gather_kind kind, uint32_t n)
{
    gather_begin(&f.gather, kind, n);
    f.parked++;
}

static void fake_op(void *impl, uint32_t idx, int argc, const char *const *argv,
                    const size_t *argvlen)
{
    node_client_op(f.node, NOW, idx, argc, argv, argvlen);
    size_t n;
    const node_effect_t *e = node_outbox(f.node, &n);
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(e[i].kind, NODE_EFFECT_REPLY); /* alone: nothing to send */
        if (gather_add(&f.gather, (uint32_t)e[i].client_req_id, &e[i].reply, &f.reply, NOW))
            f.parked--;
    }
    node_outbox_clear(f.node);
}

static int fake_flush(void *impl)
{
    return node_flush(f.node);
}

static int fake_local(void *impl, const char *key, size_t key_len, coord_reply_t *reply)
{
    return node_local_get(f.node, key, key_len, reply);
}

static const server_api_t fake_api = {.node_begin = fake_begin, .node_op = fake_op,
                                      .node_flush = fake_flush, .node_local = fake_local};

static void setup(void)
{
    memset(&f, 0, sizeof f);
    f.ms = mem_store_new();
    f.store = mem_store_as_store(f.ms);
    node_config_t cfg;
    node_config_default(&cfg);
    snprintf(cfg.id, sizeof cfg.id, "%040d", 1);
    cfg.actor = 1;
    f.node = node_new(&cfg, 1, &f.store, NOW);
    ck_assert_ptr_nonnull(f.node);
    gather_init(&f.gather);
    f.reply = (reply_t){&f.raw, 2};
}

static void teardown(void)
{
    gather_free(&f.gather);
    buf_free(&f.raw);
    node_free(f.node);
    mem_store_free(f.ms);
}

/* Runs the words of line (split at spaces, '' an empty word) through
 * command_dispatch and returns the reply shown in out. */
static const char *handle(const char *line, buf_t *out)
{
    char words[256];
    const char *argv[ARGS_MAX];
    size_t lens[ARGS_MAX];
    int argc = 0;
    ck_assert_uint_lt(strlen(line), sizeof words);
    strcpy(words, line);
    for (char *p = strtok(words, " "); p; p = strtok(NULL, " ")) {
        ck_assert_int_lt(argc, ARGS_MAX);
        argv[argc] = strcmp(p, "''") ? p : "";
        lens[argc] = strlen(argv[argc]);
        argc++;
    }
    client_state_t client = {.id = 1, .resp = 2, .authenticated = true};
    cmd_ctx_t ctx = {.argc = argc, .argv = argv, .argvlen = lens, .reply = &f.reply,
                     .client = &client, .server = &fake_api,
                     .keyspace = node_keyspace(f.node), .now_ms = NOW};
    buf_clear(&f.raw);
    command_dispatch(&ctx);
    ck_assert_uint_eq(f.parked, 0); /* a lone node answers at once */
    return shown(&f.raw, out);
}

/* The context DYN.GET k replies, into ctx (NUL-terminated). */
static void dyn_context(buf_t *ctx)
{
    buf_t out = BUF_INIT;
    const char *text = handle("dyn.get k", &out);
    const char *start = strchr(strchr(text, '$'), '|') + 1;
    buf_clear(ctx);
    buf_append(ctx, start, (size_t)(strchr(start, '|') - start));
    buf_append_byte(ctx, 0);
    buf_free(&out);
}

START_TEST(handlers_reply_siblings)
{
    buf_t out = BUF_INIT, ctx = BUF_INIT;
    char line[128];
    ck_assert_str_eq(handle("dyn.get k", &out), "*1|$0||");
    ck_assert_str_eq(handle("set k v", &out), "+OK|");
    dyn_context(&ctx);
    snprintf(line, sizeof line, "dyn.put k %s a", ctx.data);
    ck_assert_str_eq(handle(line, &out), "+OK|");
    snprintf(line, sizeof line, "dyn.put k %s b", ctx.data);
    ck_assert_str_eq(handle(line, &out), "+OK|");
    ck_assert_str_eq(handle("get k", &out), "*2|$1|a|$1|b|");
    ck_assert_str_eq(handle("mget k nokey", &out), "*2|*2|$1|a|$1|b|$-1|");
    ck_assert_str_eq(handle("strlen k", &out),
                     "-CONFLICT key has 2 siblings; resolve with DYN.GET and DYN.PUT|");
    snprintf(line, sizeof line, "dyn.del k %s", ctx.data);
    ck_assert_str_eq(handle(line, &out), ":0|"); /* covers neither sibling */
    dyn_context(&ctx);
    snprintf(line, sizeof line, "dyn.put k %s ab", ctx.data);
    ck_assert_str_eq(handle(line, &out), "+OK|");
    ck_assert_str_eq(handle("get k", &out), "$2|ab|");
    dyn_context(&ctx);
    snprintf(line, sizeof line, "dyn.del k %s", ctx.data);
    ck_assert_str_eq(handle(line, &out), ":1|");
    ck_assert_str_eq(handle("get k", &out), "$-1|");
    ck_assert_str_eq(handle("dyn.put k %%% v", &out), "-ERR invalid context|");
    ck_assert_str_eq(handle("dyn.del k A", &out), "-ERR invalid context|");
    buf_free(&out);
    buf_free(&ctx);
}
END_TEST

/* DYN.LOCAL answers like DYN.GET from the node's own set; a tombstone shows
 * as a context with no values. */
START_TEST(dyn_local_shows_the_stored_set)
{
    buf_t out = BUF_INIT, ctx = BUF_INIT, local = BUF_INIT;
    char line[128];
    ck_assert_str_eq(handle("dyn.local k", &out), "*1|$0||");
    ck_assert_str_eq(handle("set k v", &out), "+OK|");
    dyn_context(&ctx);
    snprintf(line, sizeof line, "dyn.put k %s a", ctx.data);
    ck_assert_str_eq(handle(line, &out), "+OK|");
    snprintf(line, sizeof line, "dyn.put k %s b", ctx.data);
    ck_assert_str_eq(handle(line, &out), "+OK|");
    buf_append_str(&local, handle("dyn.local k", &out));
    buf_append_byte(&local, 0);
    ck_assert_str_eq(local.data, handle("dyn.get k", &out));
    ck_assert_ptr_nonnull(strstr(local.data, "|$1|a|$1|b|"));
    ck_assert_str_eq(handle("del k", &out), ":1|");
    const char *text = handle("dyn.local k", &out);
    ck_assert_msg(strncmp(text, "*1|$", 4) == 0 && strncmp(text, "*1|$0|", 6) != 0, "%s", text);
    ck_assert_str_eq(handle("dyn.local", &out),
                     "-ERR wrong number of arguments for 'dyn.local' command|");
    buf_free(&out);
    buf_free(&ctx);
    buf_free(&local);
}
END_TEST

START_TEST(handlers_split_multi_key_commands)
{
    buf_t out = BUF_INIT;
    ck_assert_str_eq(handle("mset a 1 b 2", &out), "+OK|");
    ck_assert_str_eq(handle("mset a 1 b", &out),
                     "-ERR wrong number of arguments for 'mset' command|");
    ck_assert_str_eq(handle("exists a a b c", &out), ":3|");
    ck_assert_str_eq(handle("mget a c b", &out), "*3|$1|1|$-1|$1|2|");
    ck_assert_str_eq(handle("type a", &out), "+string|");
    ck_assert_str_eq(handle("set c 3 px 100", &out), "+OK|");
    ck_assert_str_eq(handle("pttl c", &out), ":100|");
    ck_assert_str_eq(handle("del a b c d", &out), ":3|");
    ck_assert_str_eq(handle("del a b", &out), ":0|");
    ck_assert_str_eq(handle("exists a", &out), ":0|");
    ck_assert_str_eq(handle("set k v ex 0", &out), "-ERR invalid expire time in 'set' command|");
    ck_assert_str_eq(handle("getdel nokey", &out), "$-1|");
    buf_free(&out);
}
END_TEST

START_TEST(local_commands_use_the_keyspace)
{
    buf_t out = BUF_INIT;
    ck_assert_str_eq(handle("set a 1", &out), "+OK|");
    ck_assert_str_eq(handle("mset b 2 c 3", &out), "+OK|");
    ck_assert_str_eq(handle("del c", &out), ":1|");
    ck_assert_str_eq(handle("dbsize", &out), ":2|");
    ck_assert_str_eq(handle("del b", &out), ":1|");
    ck_assert_str_eq(handle("keys a", &out), "*1|$1|a|");
    ck_assert_str_eq(handle("scan 0 match a", &out), "*2|$1|0|*1|$1|a|");
    ck_assert_str_eq(handle("scan 0 type hash", &out), "*2|$1|0|*0|");
    ck_assert_str_eq(handle("scan x", &out), "-ERR invalid cursor|");
    ck_assert_str_eq(handle("flushall now", &out), "-ERR syntax error|");
    ck_assert_str_eq(handle("flushdb async", &out), "+OK|");
    ck_assert_str_eq(handle("keys *", &out), "*0|");
    ck_assert_str_eq(handle("dbsize", &out), ":0|");
    ck_assert_str_eq(handle("get a", &out), "$-1|");
    ck_assert_str_eq(handle("set a 1", &out), "+OK|");
    ck_assert_str_eq(handle("dbsize", &out), ":1|");
    buf_free(&out);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("cmd_node");
    TCase *tc = tcase_create("render");
    tcase_add_test(tc, renders_every_strop_reply);
    tcase_add_test(tc, renders_values_and_contexts);
    tcase_add_test(tc, gathers_out_of_order_answers);
    tcase_add_test(tc, gathers_the_first_error_in_key_order);
    suite_add_tcase(s, tc);
    tc = tcase_create("handlers");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, handlers_reply_siblings);
    tcase_add_test(tc, dyn_local_shows_the_stored_set);
    tcase_add_test(tc, handlers_split_multi_key_commands);
    tcase_add_test(tc, local_commands_use_the_keyspace);
    suite_add_tcase(s, tc);
    return s;
}
