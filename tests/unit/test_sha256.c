/* test_sha256.c - Check suite for src/util/sha256.c: the FIPS 180-4 example
 * digests and the RFC 4231 HMAC-SHA256 test cases. */
#include <string.h>

#include "check_main.h"
#include "util/sha256.h"

static void check_hex(const uint8_t *digest, const char *want)
{
    char got[2 * SHA256_DIGEST_LEN + 1];
    for (int i = 0; i < SHA256_DIGEST_LEN; i++)
        snprintf(got + 2 * i, 3, "%02x", digest[i]);
    ck_assert_str_eq(got, want);
}

START_TEST(sha256_vectors)
{
    uint8_t d[SHA256_DIGEST_LEN];
    sha256("", 0, d);
    check_hex(d, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    sha256("abc", 3, d);
    check_hex(d, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha256(two, strlen(two), d);
    check_hex(d, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* One million 'a', fed in uneven pieces. */
    sha256_t s;
    sha256_init(&s);
    char a[1000];
    memset(a, 'a', sizeof a);
    size_t left = 1000000;
    for (size_t piece = 1; left > 0; piece = piece % 997 + 1) {
        size_t n = piece < left ? piece : left;
        sha256_update(&s, a, n);
        left -= n;
    }
    sha256_final(&s, d);
    check_hex(d, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}
END_TEST

static void hmac1(const void *key, size_t key_len, const void *msg, size_t len, uint8_t *out)
{
    const void *parts[] = {msg};
    hmac_sha256(key, key_len, 1, parts, &len, out);
}

START_TEST(hmac_rfc4231)
{
    uint8_t d[SHA256_DIGEST_LEN], key[131];
    memset(key, 0x0b, 20);
    hmac1(key, 20, "Hi There", 8, d);
    check_hex(d, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    hmac1("Jefe", 4, "what do ya want for nothing?", 28, d);
    check_hex(d, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* Case 6: a key longer than a block; the message split in two parts. */
    memset(key, 0xaa, sizeof key);
    const char *m1 = "Test Using Larger Than Block-Size Key", *m2 = " - Hash Key First";
    const void *parts[] = {m1, m2};
    const size_t lens[] = {strlen(m1), strlen(m2)};
    hmac_sha256(key, sizeof key, 2, parts, lens, d);
    check_hex(d, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}
END_TEST

Suite *make_suite(void)
{
    Suite *s = suite_create("sha256");
    TCase *tc = tcase_create("vectors");
    tcase_add_test(tc, sha256_vectors);
    tcase_add_test(tc, hmac_rfc4231);
    suite_add_tcase(s, tc);
    return s;
}
