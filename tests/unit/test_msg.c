/* test_msg.c - Check suite for src/core/msg: every message type round-trips,
 * and the strict decoder refuses short, long, unknown and oversized input. */
#include <string.h>

#include "check_main.h"
#include "core/msg.h"

static const char *id_a = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char *id_b = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

static msg_t sample(enum msg_type type)
{
    msg_t m;
    memset(&m, 0, sizeof m);
    m.type = type;
    strcpy(m.from, id_a);
    m.req_id = 0x123456789ull;
    strcpy(m.hint_for, id_b);
    m.status = MSG_STATUS_MISSING;
    m.key = (const uint8_t *)"key\0with nul";
    m.key_len = 12;
    m.body = (const uint8_t *)"body bytes";
    m.body_len = 10;
    return m;
}

START_TEST(round_trip_every_type)
{
    for (int t = 1; t < MSG_TYPE_END; t++) {
        msg_t m = sample((enum msg_type)t), d;
        buf_t b = BUF_INIT;
        msg_encode(&m, &b);
        ck_assert(msg_decode(&d, b.data, b.len));
        ck_assert_int_eq(d.type, t);
        ck_assert_str_eq(d.from, id_a);
        ck_assert_uint_eq(d.req_id, m.req_id);
        if (d.key) {
            ck_assert_uint_eq(d.key_len, 12);
            ck_assert_int_eq(memcmp(d.key, m.key, 12), 0);
        }
        if (d.body) {
            ck_assert_uint_eq(d.body_len, 10);
            ck_assert_int_eq(memcmp(d.body, "body bytes", 10), 0);
        }
        if (t == MSG_PUT_REPLICA)
            ck_assert_str_eq(d.hint_for, id_b);
        else
            ck_assert_str_eq(d.hint_for, "");
        ck_assert_str_ne(msg_type_name((enum msg_type)t), "?");
        buf_free(&b);
    }
    ck_assert_str_eq(msg_type_name(MSG_TYPE_END), "?");
}
END_TEST

START_TEST(every_truncation_and_trailing_byte_fails)
{
    for (int t = 1; t < MSG_TYPE_END; t++) {
        msg_t m = sample((enum msg_type)t), d;
        buf_t b = BUF_INIT;
        msg_encode(&m, &b);
        for (size_t len = 0; len < b.len; len++)
            ck_assert(!msg_decode(&d, b.data, len));
        buf_append_byte(&b, 0);
        ck_assert(!msg_decode(&d, b.data, b.len));
        ck_assert_int_eq(d.type, 0);
        buf_free(&b);
    }
}
END_TEST

START_TEST(bad_headers_fail)
{
    msg_t m = sample(MSG_PUT_ACK), d;
    buf_t b = BUF_INIT;
    msg_encode(&m, &b);
    b.data[0] = MSG_WIRE_VERSION + 1;
    ck_assert(!msg_decode(&d, b.data, b.len));
    b.data[0] = MSG_WIRE_VERSION;
    b.data[1] = MSG_TYPE_END;
    ck_assert(!msg_decode(&d, b.data, b.len));
    b.data[1] = 0;
    ck_assert(!msg_decode(&d, b.data, b.len));
    b.data[1] = MSG_PUT_ACK;
    ck_assert(msg_decode(&d, b.data, b.len));
    b.data[b.len - 1] = MSG_STATUS_MAX + 1; /* the status byte is last */
    ck_assert(!msg_decode(&d, b.data, b.len));
    buf_free(&b);
}
END_TEST

START_TEST(oversized_ids_and_nul_in_ids_fail)
{
    buf_t b = BUF_INIT;
    buf_append_byte(&b, MSG_WIRE_VERSION);
    buf_append_byte(&b, MSG_GET_REPLICA);
    char longid[MSG_NODE_ID_MAX + 2];
    memset(longid, 'a', sizeof longid);
    buf_put_bytes(&b, longid, sizeof longid);
    buf_put_varint(&b, 1);
    buf_put_bytes(&b, "k", 1);
    msg_t d;
    ck_assert(!msg_decode(&d, b.data, b.len));
    buf_clear(&b);
    buf_append_byte(&b, MSG_WIRE_VERSION);
    buf_append_byte(&b, MSG_GET_REPLICA);
    buf_put_bytes(&b, "a\0b", 3);
    buf_put_varint(&b, 1);
    buf_put_bytes(&b, "k", 1);
    ck_assert(!msg_decode(&d, b.data, b.len));
    buf_free(&b);
}
END_TEST

START_TEST(random_bytes_never_crash)
{
    uint8_t bytes[64];
    uint32_t x = 12345;
    int accepted = 0;
    for (int round = 0; round < 20000; round++) {
        size_t len = (size_t)(round % (int)sizeof bytes);
        for (size_t i = 0; i < len; i++) {
            x = x * 1103515245u + 12345u;
            bytes[i] = (uint8_t)(x >> 16);
        }
        if (len > 1) {
            bytes[0] = MSG_WIRE_VERSION;
            bytes[1] = (uint8_t)(1 + round % (MSG_TYPE_END - 1));
        }
        msg_t d;
        if (msg_decode(&d, bytes, len)) {
            accepted++;
            ck_assert(d.type > 0 && d.type < MSG_TYPE_END);
            ck_assert(!d.key || d.key + d.key_len <= bytes + len);
            ck_assert(!d.body || d.body + d.body_len <= bytes + len);
        }
    }
    ck_assert_int_ge(accepted, 0);
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("msg");
    TCase *tc = tcase_create("msg");
    tcase_add_test(tc, round_trip_every_type);
    tcase_add_test(tc, every_truncation_and_trailing_byte_fails);
    tcase_add_test(tc, bad_headers_fail);
    tcase_add_test(tc, oversized_ids_and_nul_in_ids_fail);
    tcase_add_test(tc, random_bytes_never_crash);
    suite_add_tcase(s, tc);
    return s;
}
