/* pcg.c - PCG32 pseudo-random generator (see pcg.h). */
#include "util/pcg.h"

#define PCG32_MULT 6364136223846793005ULL

void pcg32_seed(pcg32_t *g, uint64_t seed, uint64_t stream)
{
    g->state = 0;
    g->inc = (stream << 1) | 1u;
    pcg32_next(g);
    g->state += seed;
    pcg32_next(g);
}

uint32_t pcg32_next(pcg32_t *g)
{
    uint64_t old = g->state;
    g->state = old * PCG32_MULT + g->inc;
    uint32_t xorshifted = (uint32_t)(((old >> 18) ^ old) >> 27);
    uint32_t rot = (uint32_t)(old >> 59);
    return (xorshifted >> rot) | (xorshifted << ((-rot) & 31));
}

uint64_t pcg32_next64(pcg32_t *g)
{
    uint64_t hi = pcg32_next(g);
    return (hi << 32) | pcg32_next(g);
}

uint32_t pcg32_bounded(pcg32_t *g, uint32_t bound)
{
    if (bound == 0)
        return 0;
    uint32_t threshold = -bound % bound;
    for (;;) {
        uint32_t r = pcg32_next(g);
        if (r >= threshold)
            return r % bound;
    }
}

double pcg32_unit(pcg32_t *g)
{
    return (pcg32_next64(g) >> 11) * (1.0 / 9007199254740992.0);
}
