/* sha256.h - SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104).
 *
 * The bus proves knowledge of the cluster secret with HMAC-SHA256 over
 * per-connection nonces (src/shell/bus_frame.c); nothing else in dynis needs a
 * cryptographic hash. Pure and self-contained: libc only. */
#ifndef DYNIS_UTIL_SHA256_H
#define DYNIS_UTIL_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_LEN 32
#define SHA256_BLOCK_LEN 64

typedef struct sha256 {
    uint32_t h[8];
    uint64_t total_len; /* bytes hashed so far */
    uint8_t block[SHA256_BLOCK_LEN];
    size_t block_len;   /* bytes waiting in block */
} sha256_t;

void sha256_init(sha256_t *s);
void sha256_update(sha256_t *s, const void *p, size_t len);
/* Writes the digest to out and leaves s unusable until sha256_init. */
void sha256_final(sha256_t *s, uint8_t out[SHA256_DIGEST_LEN]);
/* One-shot digest of len bytes of p. */
void sha256(const void *p, size_t len, uint8_t out[SHA256_DIGEST_LEN]);

/* HMAC-SHA256 keyed by key, over the concatenation of the first n parts
 * (parts[i] of lens[i] bytes); every pointer is borrowed. */
void hmac_sha256(const void *key, size_t key_len, size_t n, const void *const *parts,
                 const size_t *lens, uint8_t out[SHA256_DIGEST_LEN]);

#endif
