/* test_util.c - Check suite for src/util (buffers, cursors, PRNG, CRC16,
 * hashing) and the key-to-slot mapping built on them. */
#include <string.h>

#include "check_main.h"
#include "core/slot.h"
#include "util/buf.h"
#include "util/crc16.h"
#include "util/hash.h"
#include "util/pcg.h"

START_TEST(crc16_matches_redis_cluster)
{
    ck_assert_uint_eq(crc16("123456789", 9), 0x31c3);
    ck_assert_uint_eq(slot_of_key("foo", 3), 12182);
    ck_assert_uint_eq(slot_of_key("bar", 3), 5061);
    ck_assert_uint_eq(slot_of_key("", 0), 0);
}
END_TEST

START_TEST(slot_hash_tags)
{
    ck_assert_uint_eq(slot_of_key("{user1}.cart", 12), slot_of_key("user1", 5));
    ck_assert_uint_eq(slot_of_key("{}.x", 4), crc16("{}.x", 4) & 16383);
    ck_assert_uint_eq(slot_of_key("a{b", 3), crc16("a{b", 3) & 16383);
    ck_assert_uint_eq(slot_of_key("x{a}{b}", 7), slot_of_key("a", 1));
}
END_TEST

START_TEST(buf_varint_round_trip)
{
    static const uint64_t values[] = {0, 1, 127, 128, 300, 1u << 31, UINT64_MAX};
    buf_t b = BUF_INIT;
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        buf_put_varint(&b, values[i]);
    buf_put_bytes(&b, "abc", 3);
    cursor_t c;
    cursor_init(&c, b.data, b.len);
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        uint64_t v;
        ck_assert(cursor_varint(&c, &v));
        ck_assert_uint_eq(v, values[i]);
    }
    const uint8_t *p;
    size_t len;
    ck_assert(cursor_bytes(&c, 16, &p, &len));
    ck_assert_uint_eq(len, 3);
    ck_assert_int_eq(memcmp(p, "abc", 3), 0);
    ck_assert_uint_eq(cursor_left(&c), 0);
    ck_assert(!cursor_varint(&c, &(uint64_t){0}));
    ck_assert(c.error);
    buf_free(&b);
}
END_TEST

START_TEST(cursor_rejects_short_and_oversized)
{
    uint8_t overlong[11];
    memset(overlong, 0xff, sizeof overlong);
    cursor_t c;
    uint64_t v;
    cursor_init(&c, overlong, sizeof overlong);
    ck_assert(!cursor_varint(&c, &v));
    uint8_t field[] = {5, 'a', 'b'};
    const uint8_t *p;
    size_t len;
    cursor_init(&c, field, sizeof field);
    ck_assert(!cursor_bytes(&c, 100, &p, &len));
    cursor_init(&c, field, sizeof field);
    ck_assert(!cursor_bytes(&c, 1, &p, &len));
    uint32_t u;
    cursor_init(&c, field, 3);
    ck_assert(!cursor_u32be(&c, &u));
}
END_TEST

START_TEST(buf_consume_and_printf)
{
    buf_t b = BUF_INIT;
    buf_printf(&b, "%d-%s", 42, "x");
    ck_assert_uint_eq(b.len, 4);
    buf_consume(&b, 3);
    ck_assert_uint_eq(b.len, 1);
    ck_assert_int_eq(b.data[0], 'x');
    buf_free(&b);
}
END_TEST

START_TEST(pcg_is_deterministic_and_bounded)
{
    pcg32_t a, b;
    pcg32_seed(&a, 42, 54);
    pcg32_seed(&b, 42, 54);
    for (int i = 0; i < 1000; i++) {
        ck_assert_uint_eq(pcg32_next(&a), pcg32_next(&b));
        ck_assert_uint_lt(pcg32_bounded(&a, 7), 7);
        pcg32_bounded(&b, 7);
    }
    /* The reference output of pcg32 (seed 42, stream 54). */
    pcg32_seed(&a, 42, 54);
    ck_assert_uint_eq(pcg32_next(&a), 0xa15c02b7);
}
END_TEST

START_TEST(hash_is_stable)
{
    ck_assert_uint_eq(hash64("abc", 3, 0), hash64("abc", 3, 0));
    ck_assert_uint_ne(hash64("abc", 3, 0), hash64("abd", 3, 0));
    ck_assert_uint_ne(hash64("abc", 3, 0), hash64("abc", 3, 1));
    ck_assert_uint_ne(hash64("", 0, 0), hash64("\0", 1, 0));
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("util");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, crc16_matches_redis_cluster);
    tcase_add_test(tc, slot_hash_tags);
    tcase_add_test(tc, buf_varint_round_trip);
    tcase_add_test(tc, cursor_rejects_short_and_oversized);
    tcase_add_test(tc, buf_consume_and_printf);
    tcase_add_test(tc, pcg_is_deterministic_and_bounded);
    tcase_add_test(tc, hash_is_stable);
    suite_add_tcase(s, tc);
    return s;
}
