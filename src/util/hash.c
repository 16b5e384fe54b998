/* hash.c - 64-bit hash: 8-byte little-endian words folded through the
 * splitmix64 finalizer (see hash.h). */
#include "util/hash.h"

#include <string.h>

uint64_t hash64_mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

static uint64_t load_le(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* A whole word: one load where the machine is little-endian (the compiler
 * does not turn load_le's loop into one), the same value either way. */
static uint64_t load_le_word(const uint8_t *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
#else
    return load_le(p, 8);
#endif
}

uint64_t hash64(const void *data, size_t len, uint64_t seed)
{
    const uint8_t *p = data;
    uint64_t h = hash64_mix(seed ^ (len * 0x9e3779b97f4a7c15ULL));
    while (len >= 8) {
        h = hash64_mix(h ^ load_le_word(p)) + 0x9e3779b97f4a7c15ULL;
        p += 8;
        len -= 8;
    }
    if (len)
        h = hash64_mix(h ^ load_le(p, len) ^ ((uint64_t)len << 56));
    return hash64_mix(h);
}
