/* pcg.h - the PCG32 pseudo-random generator (O'Neill's pcg32, XSH RR).
 *
 * All randomness in the core and the simulator comes from a pcg32_t seeded by
 * the caller, so the same seed replays the same run. Nothing here reads the
 * clock or the operating system's entropy. */
#ifndef DYNIS_UTIL_PCG_H
#define DYNIS_UTIL_PCG_H

#include <stdint.h>

typedef struct pcg32 {
    uint64_t state;
    uint64_t inc;
} pcg32_t;

/* Seeds g; stream selects one of 2^63 independent sequences. */
void pcg32_seed(pcg32_t *g, uint64_t seed, uint64_t stream);
uint32_t pcg32_next(pcg32_t *g);
uint64_t pcg32_next64(pcg32_t *g);
/* Uniform in [0, bound), without modulo bias; bound 0 returns 0. */
uint32_t pcg32_bounded(pcg32_t *g, uint32_t bound);
/* Uniform in [0, 1). */
double pcg32_unit(pcg32_t *g);

#endif
