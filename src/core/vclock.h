/* vclock.h - vector clocks with per-entry timestamps, and dots.
 *
 * A vclock maps an actor (a node incarnation, see DESIGN.md) to the highest
 * event counter of that actor it has seen. A dot names one event: (actor,
 * counter). Versions carry a dot (the write that made them) and a vclock (the
 * causal past that write superseded); see versions.h for how the two make a
 * dotted version vector.
 *
 * Entries are kept sorted by actor. Each entry also carries the time it was
 * last advanced (touched_ms, from the coordinator's clock), used only to prune
 * the oldest entries when a clock grows past VCLOCK_ENTRIES_MAX; timestamps
 * never take part in comparison.
 *
 * Ownership: a vclock_t owns its entries array; vclock_free releases it.
 * Functions taking const vclock_t * borrow. */
#ifndef DYNIS_CORE_VCLOCK_H
#define DYNIS_CORE_VCLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "util/buf.h"

#define VCLOCK_ENTRIES_MAX 10
/* The most entries a decoder accepts (pruning keeps stored clocks far below). */
#define VCLOCK_DECODE_ENTRIES_MAX 1024

typedef struct dot {
    uint64_t actor;
    uint64_t counter; /* >= 1 for a real event; 0 means "no dot" */
} dot_t;

typedef struct vclock_entry {
    uint64_t actor;
    uint64_t counter;
    uint64_t touched_ms;
} vclock_entry_t;

typedef struct vclock {
    vclock_entry_t *entries; /* owned, sorted by actor, counters >= 1 */
    uint32_t len;
    uint32_t cap;
} vclock_t;

#define VCLOCK_INIT {NULL, 0, 0}

typedef enum vclock_order {
    VCLOCK_EQUAL,
    VCLOCK_BEFORE,    /* a happened before b: a < b */
    VCLOCK_AFTER,     /* a > b */
    VCLOCK_CONCURRENT
} vclock_order_t;

void vclock_init(vclock_t *vc);
void vclock_free(vclock_t *vc);
/* Makes dst an independent copy of src (dst's old entries are freed). */
void vclock_copy(vclock_t *dst, const vclock_t *src);
/* The counter for actor, 0 when absent. */
uint64_t vclock_get(const vclock_t *vc, uint64_t actor);
/* Raises actor's counter to at least counter (touching it at now_ms). */
void vclock_advance(vclock_t *vc, uint64_t actor, uint64_t counter, uint64_t now_ms);
/* Increments actor's counter by one and returns the new value. */
uint64_t vclock_increment(vclock_t *vc, uint64_t actor, uint64_t now_ms);
/* dst = pointwise max of dst and src (timestamps: max too). */
void vclock_merge(vclock_t *dst, const vclock_t *src);
vclock_order_t vclock_compare(const vclock_t *a, const vclock_t *b);
/* True when vc has seen the event d: vclock_get(vc, d.actor) >= d.counter. */
bool vclock_covers(const vclock_t *vc, dot_t d);
/* Drops the least recently touched entries until at most max remain. */
void vclock_prune(vclock_t *vc, uint32_t max);

/* Compact binary encoding (varints). decode replaces vc's contents and
 * returns false (leaving vc empty) on malformed input. */
void vclock_encode(const vclock_t *vc, buf_t *out);
bool vclock_decode(vclock_t *vc, cursor_t *in);
/* Reads past an encoded clock, checking it as vclock_decode does but keeping
 * nothing (no allocation); *counter is actor's counter in it (0: none).
 * False on malformed input. */
bool vclock_skip(cursor_t *in, uint64_t actor, uint64_t *counter);

#endif
