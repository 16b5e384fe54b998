/* test_coord.c - Check suite for src/core/coord: classifying and encoding
 * client operations and replies, the PUT and GET quorum bookkeeping, read
 * repair's staleness test and the table of requests in flight. */
#include <string.h>

#include "check_main.h"
#include "core/coord.h"
#include "core/slot.h"

#define ID_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define ID_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define ID_C "cccccccccccccccccccccccccccccccccccccccc"

static int op_from(coord_op_t *op, int argc, const char **argv)
{
    size_t lens[COORD_ARGS_MAX + 1];
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    buf_t err = BUF_INIT;
    int rc = coord_op_init(op, argc, argv, lens, &err);
    buf_free(&err);
    return rc;
}

START_TEST(ops_are_classified)
{
    coord_op_t op;
    const char *get[] = {"gEt", "k"};
    ck_assert_int_eq(op_from(&op, 2, get), 0);
    ck_assert(op.is_read && !op.dyn_get && op.kind == STROP_GET);
    coord_op_free(&op);
    const char *dget[] = {"DYN.GET", "k"};
    ck_assert_int_eq(op_from(&op, 2, dget), 0);
    ck_assert(op.is_read && op.dyn_get);
    coord_op_free(&op);
    const char *set[] = {"SET", "k", "v", "EX", "10"};
    ck_assert_int_eq(op_from(&op, 5, set), 0);
    ck_assert(!op.is_read && op.kind == STROP_SET);
    size_t klen;
    ck_assert_int_eq(memcmp(coord_op_key(&op, &klen), "k", 1), 0);
    ck_assert_uint_eq(klen, 1);
    coord_op_free(&op);
    const char *bad[] = {"FLUSHALL", "k"};
    ck_assert_int_eq(op_from(&op, 2, bad), -1);
    const char *nokey[] = {"GET"};
    ck_assert_int_eq(op_from(&op, 1, nokey), -1);
}
END_TEST

START_TEST(op_round_trip_and_bad_input)
{
    coord_op_t op, back;
    memset(&back, 0, sizeof back);
    const char *argv[] = {"DYN.PUT", "cart", "ctx", "a\0b"};
    size_t lens[] = {7, 4, 3, 3};
    buf_t err = BUF_INIT;
    ck_assert_int_eq(coord_op_init(&op, 4, argv, lens, &err), 0);
    buf_t b = BUF_INIT;
    coord_op_encode(&op, &b);
    ck_assert(coord_op_decode(&back, b.data, b.len));
    ck_assert_int_eq(back.argc, 4);
    ck_assert_uint_eq(back.argvlen[3], 3);
    ck_assert_int_eq(memcmp(back.argv[3], "a\0b", 3), 0);
    ck_assert_int_eq(back.kind, STROP_DYN_PUT);
    for (size_t len = 0; len < b.len; len++)
        ck_assert(!coord_op_decode(&back, b.data, len));
    buf_append_byte(&b, 7);
    ck_assert(!coord_op_decode(&back, b.data, b.len));
    coord_op_free(&back);
    coord_op_free(&op);
    buf_free(&b);
    buf_free(&err);
}
END_TEST

static void version_add(versions_t *vs, uint64_t actor, const char *value)
{
    version_write_t w = {.value = value, .value_len = strlen(value)};
    dot_t dot;
    ck_assert_int_eq(versions_write(vs, actor, 1000, &w, &dot), VERSIONS_OK);
}

START_TEST(reply_round_trip)
{
    coord_reply_t r, back;
    coord_reply_init(&r);
    coord_reply_init(&back);
    versions_t vs = VERSIONS_INIT;
    version_add(&vs, 1, "x");
    version_add(&vs, 2, "y");
    coord_reply_context(&r, &vs);
    r.wrote = true;
    r.dot = (dot_t){7, 9};
    buf_t b = BUF_INIT;
    coord_reply_encode(&r, &b);
    ck_assert(coord_reply_decode(&back, b.data, b.len));
    ck_assert_int_eq(back.kind, COORD_REPLY_CONTEXT);
    ck_assert_uint_eq(back.values.len, 2);
    ck_assert_uint_eq(back.context.len, r.context.len);
    ck_assert(back.wrote && back.dot.actor == 7 && back.dot.counter == 9);
    for (size_t len = 0; len < b.len; len++)
        ck_assert(!coord_reply_decode(&back, b.data, len));
    coord_reply_error(&r, "NOQUORUM test");
    buf_clear(&b);
    coord_reply_encode(&r, &b);
    ck_assert(coord_reply_decode(&back, b.data, b.len));
    ck_assert_int_eq(back.strop, STROP_REPLY_ERROR);
    ck_assert_int_eq(memcmp(back.text.data, "NOQUORUM test", 13), 0);
    coord_reply_free(&r);
    coord_reply_free(&back);
    versions_free(&vs);
    buf_free(&b);
}
END_TEST

START_TEST(put_quorum_counts_acks)
{
    coord_table_t t;
    coord_table_init(&t);
    coord_req_t *req = coord_table_add(&t, COORD_REQ_PUT);
    req->needed = 2;
    int self = coord_req_add_target(req, ID_A, "");
    req->targets[self].state = COORD_TARGET_OK;
    coord_req_add_target(req, ID_B, "");
    coord_req_add_target(req, ID_C, ID_B);
    ck_assert_str_eq(req->targets[2].hint_for, ID_B);
    ck_assert(!coord_put_quorum(req));
    req->targets[coord_req_target(req, ID_C)].state = COORD_TARGET_FAILED;
    ck_assert(!coord_put_quorum(req));
    ck_assert(!coord_req_all_answered(req));
    req->targets[coord_req_target(req, ID_B)].state = COORD_TARGET_OK;
    ck_assert(coord_put_quorum(req));
    ck_assert(coord_req_all_answered(req));
    ck_assert_int_eq(coord_req_target(req, "nobody"), -1);
    coord_table_free(&t);
}
END_TEST

START_TEST(get_merges_and_finds_stale_replicas)
{
    coord_table_t t;
    coord_table_init(&t);
    coord_req_t *req = coord_table_add(&t, COORD_REQ_GET);
    req->needed = 2;
    int a = coord_req_add_target(req, ID_A, "");
    int b = coord_req_add_target(req, ID_B, "");
    int c = coord_req_add_target(req, ID_C, "");
    versions_t old = VERSIONS_INIT, newer = VERSIONS_INIT;
    version_add(&old, 1, "v1");
    versions_copy(&newer, &old);
    vclock_t ctx = VCLOCK_INIT;
    versions_context(&newer, &ctx);
    version_write_t w = {.context = &ctx, .value = "v2", .value_len = 2};
    dot_t dot;
    versions_write(&newer, 1, 2000, &w, &dot);
    ck_assert(coord_get_record(req, a, COORD_TARGET_OK, &old));
    ck_assert(!coord_get_quorum(req));
    ck_assert(!coord_get_record(req, a, COORD_TARGET_OK, &newer)); /* duplicate */
    ck_assert(coord_get_record(req, b, COORD_TARGET_OK, &newer));
    ck_assert(coord_get_quorum(req));
    ck_assert_uint_eq(req->merged.len, 1);
    ck_assert_uint_eq(req->merged.items[0].dot.counter, dot.counter);
    ck_assert(coord_get_stale(req, a));
    ck_assert(!coord_get_stale(req, b));
    ck_assert(!coord_get_stale(req, c)); /* no answer: not repaired */
    ck_assert(coord_get_record(req, c, COORD_TARGET_MISSING, NULL));
    ck_assert(coord_get_stale(req, c));
    ck_assert(coord_req_all_answered(req));
    versions_free(&old);
    versions_free(&newer);
    vclock_free(&ctx);
    coord_table_free(&t);
}
END_TEST

START_TEST(table_finds_removes_and_bounds)
{
    coord_table_t t;
    coord_table_init(&t);
    ck_assert_uint_eq(coord_table_next_deadline(&t), UINT64_MAX);
    coord_req_t *a = coord_table_add(&t, COORD_REQ_PUT);
    coord_req_t *b = coord_table_add(&t, COORD_REQ_GET);
    a->deadline_ms = 50;
    b->deadline_ms = 70;
    b->replied = true;
    b->linger_ms = 30;
    ck_assert_uint_eq(coord_table_next_deadline(&t), 30);
    uint64_t ida = a->req_id, idb = b->req_id;
    ck_assert_uint_ne(ida, idb);
    ck_assert_ptr_eq(coord_table_find(&t, ida), a);
    coord_table_remove(&t, a);
    ck_assert_ptr_null(coord_table_find(&t, ida));
    ck_assert_ptr_eq(coord_table_find(&t, idb), b);
    ck_assert_uint_eq(coord_table_next_deadline(&t), 30);
    coord_table_free(&t);
    coord_table_init(&t);
    for (int i = 0; i < COORD_PENDING_MAX; i++)
        ck_assert_ptr_nonnull(coord_table_add(&t, COORD_REQ_PUT));
    ck_assert_ptr_null(coord_table_add(&t, COORD_REQ_PUT));
    coord_table_free(&t);
}
END_TEST

/* Random adds and removes against a plain list of what should be there. */
START_TEST(table_index_survives_churn)
{
    enum { LIVE_MAX = 3000, ROUNDS = 40000 };
    coord_table_t t;
    coord_table_init(&t);
    static uint64_t live[LIVE_MAX];
    size_t nlive = 0;
    uint64_t x = 88172645463325252ull;
    for (int round = 0; round < ROUNDS; round++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        bool add = nlive == 0 || (nlive < LIVE_MAX && (x & 3) != 0 && (round / 5000) % 2 == 0) ||
                   (nlive < LIVE_MAX && (x & 7) == 0);
        if (add) {
            coord_req_t *r = coord_table_add(&t, COORD_REQ_GET);
            ck_assert_ptr_nonnull(r);
            live[nlive++] = r->req_id;
        } else {
            size_t k = (size_t)(x >> 20) % nlive;
            coord_req_t *r = coord_table_find(&t, live[k]);
            ck_assert_ptr_nonnull(r);
            ck_assert_uint_eq(r->req_id, live[k]);
            coord_table_remove(&t, r);
            ck_assert_ptr_null(coord_table_find(&t, live[k]));
            live[k] = live[--nlive];
        }
        if (round % 997 == 0) {
            ck_assert_uint_eq(t.len, nlive);
            for (size_t i = 0; i < nlive; i++)
                ck_assert_ptr_nonnull(coord_table_find(&t, live[i]));
        }
    }
    ck_assert_ptr_null(coord_table_find(&t, UINT64_MAX));
    coord_table_free(&t);
}
END_TEST

START_TEST(borrowed_op_is_owned_on_demand)
{
    char key[] = "user:{42}";
    char val[] = "v";
    const char *argv[] = {"SET", key, val};
    size_t lens[] = {3, strlen(key), 1};
    coord_op_t op;
    buf_t err = BUF_INIT;
    ck_assert_int_eq(coord_op_borrow(&op, 3, argv, lens, &err), 0);
    ck_assert(!op.owned);
    ck_assert_ptr_eq(op.argv[1], key);
    ck_assert_uint_eq(op.slot, slot_of_key("42", 2));
    coord_op_own(&op);
    ck_assert(op.owned);
    key[0] = 'X';
    ck_assert_str_eq(op.argv[1], "user:{42}");
    ck_assert_uint_eq(op.argvlen[1], 9);
    ck_assert_str_eq(op.argv[2], "v");
    coord_op_own(&op); /* no-op */
    coord_op_free(&op);
    const char *empty[] = {"SET", "k", NULL};
    size_t elens[] = {3, 1, 0};
    ck_assert_int_eq(coord_op_init(&op, 3, empty, elens, &err), 0);
    ck_assert_uint_eq(op.argvlen[2], 0);
    ck_assert_str_eq(op.argv[2], "");
    coord_op_free(&op);
    buf_free(&err);
}
END_TEST

START_TEST(take_and_move_leave_sources_empty)
{
    coord_table_t t;
    coord_table_init(&t);
    coord_req_t *req = coord_table_add(&t, COORD_REQ_GET);
    req->needed = 1;
    int a = coord_req_add_target(req, ID_A, "");
    versions_t vs = VERSIONS_INIT;
    version_add(&vs, 1, "v1");
    ck_assert(coord_get_take(req, a, COORD_TARGET_OK, &vs));
    ck_assert_uint_eq(vs.len, 0);
    ck_assert_uint_eq(req->targets[a].read.len, 1);
    ck_assert_uint_eq(req->merged.len, 1);
    ck_assert(!coord_get_stale(req, a)); /* identical to the merge */
    coord_reply_t r, moved;
    coord_reply_init(&r);
    coord_reply_init(&moved);
    coord_reply_error(&r, "ERR x");
    coord_reply_move(&moved, &r);
    ck_assert_uint_eq(r.text.len, 0);
    ck_assert_int_eq(memcmp(moved.text.data, "ERR x", 5), 0);
    coord_reply_free(&moved);
    coord_reply_free(&r);
    versions_free(&vs);
    /* A removed request is reused zeroed (but for its unused targets). */
    coord_table_remove(&t, req);
    coord_req_t *again = coord_table_add(&t, COORD_REQ_PUT);
    ck_assert_uint_eq(again->ntargets, 0);
    ck_assert_uint_eq(again->merged.len, 0);
    ck_assert(!again->replied);
    ck_assert_ptr_eq(coord_table_find(&t, again->req_id), again);
    coord_table_free(&t);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("coord");
    TCase *tc = tcase_create("coord");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, ops_are_classified);
    tcase_add_test(tc, op_round_trip_and_bad_input);
    tcase_add_test(tc, reply_round_trip);
    tcase_add_test(tc, put_quorum_counts_acks);
    tcase_add_test(tc, get_merges_and_finds_stale_replicas);
    tcase_add_test(tc, table_finds_removes_and_bounds);
    tcase_add_test(tc, table_index_survives_churn);
    tcase_add_test(tc, borrowed_op_is_owned_on_demand);
    tcase_add_test(tc, take_and_move_leave_sources_empty);
    suite_add_tcase(s, tc);
    return s;
}
