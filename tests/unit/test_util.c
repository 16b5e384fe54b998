/* test_util.c - Check suite for src/util (buffers, cursors, PRNG, CRC16,
 * hashing, hex digits, strict integers, argument splitting) and the
 * key-to-slot mapping built on them. */
#include <limits.h>
#include <string.h>

#include "check_main.h"
#include "core/slot.h"
#include "util/buf.h"
#include "util/crc16.h"
#include "util/hash.h"
#include "util/hex.h"
#include "util/pcg.h"
#include "util/splitargs.h"
#include "util/strconv.h"

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

START_TEST(string2ll_is_strict)
{
    long long v;
    ck_assert(strconv_string2ll("0", 1, &v) && v == 0);
    ck_assert(strconv_string2ll("-1", 2, &v) && v == -1);
    ck_assert(strconv_string2ll("9223372036854775807", 19, &v) && v == LLONG_MAX);
    ck_assert(strconv_string2ll("-9223372036854775808", 20, &v) && v == LLONG_MIN);
    ck_assert(!strconv_string2ll("9223372036854775808", 19, &v));
    ck_assert(!strconv_string2ll("-9223372036854775809", 20, &v));
    ck_assert(!strconv_string2ll("99999999999999999999", 20, &v));
    ck_assert(!strconv_string2ll("-00000000000000000001", 21, &v));
    ck_assert(!strconv_string2ll("", 0, &v));
    ck_assert(!strconv_string2ll("-", 1, &v));
    ck_assert(!strconv_string2ll("01", 2, &v));
    ck_assert(!strconv_string2ll("-0", 2, &v));
    ck_assert(!strconv_string2ll("+1", 2, &v));
    ck_assert(!strconv_string2ll(" 1", 2, &v));
    ck_assert(!strconv_string2ll("1 ", 2, &v));
    ck_assert(!strconv_string2ll("1a", 2, &v));
    ck_assert(!strconv_string2ll("1\0", 2, &v));
    v = 7;
    ck_assert(!strconv_string2ll("x", 1, &v) && v == 7);
}
END_TEST

START_TEST(hex_round_trip)
{
    static const uint8_t bytes[] = {0x00, 0x7f, 0xa5, 0xff};
    char text[2 * sizeof bytes + 1];
    hex_encode(bytes, sizeof bytes, text);
    ck_assert_str_eq(text, "007fa5ff");
    uint8_t back[sizeof bytes];
    ck_assert(hex_decode("007FA5ff", 8, back, sizeof back));
    ck_assert_mem_eq(back, bytes, sizeof bytes);
    ck_assert(!hex_decode("007fa5f", 7, back, sizeof back));
    ck_assert(!hex_decode("007fa5fg", 8, back, sizeof back));
    ck_assert_int_eq(hex_digit_value('0'), 0);
    ck_assert_int_eq(hex_digit_value('F'), 15);
    ck_assert_int_eq(hex_digit_value('g'), -1);
    ck_assert_int_eq(hex_digit_value('\0'), -1);
    ck_assert(hex_is_lower("0123456789abcdef", 16));
    ck_assert(!hex_is_lower("0123456789ABCDEF", 16));
    ck_assert(hex_is_lower("", 0));
}
END_TEST

#define SPLIT_WORDS_MAX 8

/* Splits line (copied, as the splitter writes in place) into words joined
 * by '|' in out; returns the status that ended the split. */
static splitargs_status_t split_joined(const char *line, char *out, size_t out_size)
{
    char buf[128];
    ck_assert_uint_lt(strlen(line), sizeof buf);
    strcpy(buf, line);
    char *pos = buf, *word;
    size_t len, used = 0;
    splitargs_status_t st;
    for (int n = 0; n < SPLIT_WORDS_MAX; n++) {
        st = splitargs_next(&pos, &word, &len);
        if (st != SPLITARGS_WORD)
            break;
        ck_assert_uint_eq(word[len], '\0');
        ck_assert_uint_lt(used + len + 2, out_size);
        if (n > 0)
            out[used++] = '|';
        memcpy(out + used, word, len);
        used += len;
    }
    out[used] = '\0';
    return st;
}

START_TEST(splitargs_matches_sdssplitargs)
{
    char out[128];
    ck_assert_int_eq(split_joined("  set k  v\t", out, sizeof out), SPLITARGS_END);
    ck_assert_str_eq(out, "set|k|v");
    ck_assert_int_eq(split_joined("a \"b c\" 'd\\'e'", out, sizeof out), SPLITARGS_END);
    ck_assert_str_eq(out, "a|b c|d'e");
    ck_assert_int_eq(split_joined("\"\\x41\\x4a\\n\\q\\xg1\"", out, sizeof out), SPLITARGS_END);
    ck_assert_str_eq(out, "AJ\nqxg1");
    ck_assert_int_eq(split_joined("'a\\nb'", out, sizeof out), SPLITARGS_END);
    ck_assert_str_eq(out, "a\\nb");
    ck_assert_int_eq(split_joined("foo\"bar baz\" x", out, sizeof out), SPLITARGS_END);
    ck_assert_str_eq(out, "foobar baz|x");
    ck_assert_int_eq(split_joined("\"\" ''", out, sizeof out), SPLITARGS_END);
    ck_assert_str_eq(out, "|");
    ck_assert_int_eq(split_joined(" \v\f ", out, sizeof out), SPLITARGS_END);
    ck_assert_str_eq(out, "");
    ck_assert_int_eq(split_joined("a \"bc", out, sizeof out), SPLITARGS_UNBALANCED);
    ck_assert_int_eq(split_joined("a \"b\"c", out, sizeof out), SPLITARGS_UNBALANCED);
    ck_assert_int_eq(split_joined("'b'c", out, sizeof out), SPLITARGS_UNBALANCED);
    ck_assert_int_eq(split_joined("'b", out, sizeof out), SPLITARGS_UNBALANCED);
    ck_assert_int_eq(split_joined("\"b\\\"", out, sizeof out), SPLITARGS_UNBALANCED);
    ck_assert_int_eq(split_joined("\"b\"\v", out, sizeof out), SPLITARGS_END);
    ck_assert_str_eq(out, "b");
}
END_TEST

START_TEST(splitargs_keeps_nul_bytes)
{
    char line[] = "\"a\\x00b\" c";
    char *pos = line, *word;
    size_t len;
    ck_assert_int_eq(splitargs_next(&pos, &word, &len), SPLITARGS_WORD);
    ck_assert_uint_eq(len, 3);
    ck_assert_mem_eq(word, "a\0b", 3);
    ck_assert_int_eq(splitargs_next(&pos, &word, &len), SPLITARGS_WORD);
    ck_assert_str_eq(word, "c");
    ck_assert_int_eq(splitargs_next(&pos, &word, &len), SPLITARGS_END);
    ck_assert_int_eq(splitargs_next(&pos, &word, &len), SPLITARGS_END);
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
    tcase_add_test(tc, string2ll_is_strict);
    tcase_add_test(tc, hex_round_trip);
    tcase_add_test(tc, splitargs_matches_sdssplitargs);
    tcase_add_test(tc, splitargs_keeps_nul_bytes);
    suite_add_tcase(s, tc);
    return s;
}
