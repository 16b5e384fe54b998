/* hash.h - a fast 64-bit non-cryptographic hash for Merkle leaves and tables.
 *
 * Stable across platforms and runs (no per-process seed), because replicas
 * compare these hashes with each other. */
#ifndef DYNIS_UTIL_HASH_H
#define DYNIS_UTIL_HASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t hash64(const void *p, size_t len, uint64_t seed);
/* Mixes one 64-bit word (the splitmix64 finalizer). */
uint64_t hash64_mix(uint64_t x);

#endif
