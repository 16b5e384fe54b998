/* vclock.c - vector clocks with per-entry timestamps (see vclock.h).
 *
 * Entries live in one array sorted by actor, so lookups are binary searches
 * and merge and compare are single linear walks over both clocks. The stored
 * form is compact: a varint entry count, the smallest touched_ms (the base),
 * then per entry the actor, the counter and touched_ms - base, all varints.
 * The decoder accepts only the canonical form (actors strictly increasing,
 * counters >= 1, the base equal to the smallest timestamp), so decoding and
 * re-encoding gives the same bytes. */
#include "core/vclock.h"

#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

/* The fewest bytes one encoded entry takes (three one-byte varints); bounds
 * what a decoder allocates by what the input can really hold. */
#define VCLOCK_ENTRY_BYTES_MIN 3
#define VCLOCK_CAP_MIN 4

void vclock_init(vclock_t *vc)
{
    vc->entries = NULL;
    vc->len = 0;
    vc->cap = 0;
}

void vclock_free(vclock_t *vc)
{
    if (vc->entries != NULL) /* skips the allocator's call when empty */
        free(vc->entries);
    vclock_init(vc);
}

static void vclock_reserve(vclock_t *vc, uint32_t need)
{
    if (vc->cap >= need)
        return;
    uint32_t cap = vc->cap ? vc->cap : VCLOCK_CAP_MIN;
    while (cap < need)
        cap *= 2;
    vc->entries = xrealloc(vc->entries, (size_t)cap * sizeof vc->entries[0]);
    vc->cap = cap;
}

void vclock_copy(vclock_t *dst, const vclock_t *src)
{
    if (dst == src)
        return;
    dst->len = 0;
    vclock_reserve(dst, src->len);
    if (src->len)
        memcpy(dst->entries, src->entries, (size_t)src->len * sizeof src->entries[0]);
    dst->len = src->len;
}

/* The index of the first entry whose actor is >= actor. */
static uint32_t vclock_lower_bound(const vclock_t *vc, uint64_t actor)
{
    uint32_t lo = 0, hi = vc->len;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (vc->entries[mid].actor < actor)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

uint64_t vclock_get(const vclock_t *vc, uint64_t actor)
{
    uint32_t i = vclock_lower_bound(vc, actor);
    return i < vc->len && vc->entries[i].actor == actor ? vc->entries[i].counter : 0;
}

void vclock_advance(vclock_t *vc, uint64_t actor, uint64_t counter, uint64_t now_ms)
{
    if (counter == 0)
        return;
    uint32_t i = vclock_lower_bound(vc, actor);
    if (i < vc->len && vc->entries[i].actor == actor) {
        vclock_entry_t *e = &vc->entries[i];
        if (e->counter < counter)
            e->counter = counter;
        if (e->touched_ms < now_ms)
            e->touched_ms = now_ms;
        return;
    }
    vclock_reserve(vc, vc->len + 1);
    memmove(&vc->entries[i + 1], &vc->entries[i], (size_t)(vc->len - i) * sizeof vc->entries[0]);
    vc->entries[i] = (vclock_entry_t){actor, counter, now_ms};
    vc->len++;
}

uint64_t vclock_increment(vclock_t *vc, uint64_t actor, uint64_t now_ms)
{
    uint64_t next = vclock_get(vc, actor) + 1;
    vclock_advance(vc, actor, next, now_ms);
    return next;
}

static vclock_entry_t vclock_entry_max(const vclock_entry_t *a, const vclock_entry_t *b)
{
    vclock_entry_t e = *a;
    if (e.counter < b->counter)
        e.counter = b->counter;
    if (e.touched_ms < b->touched_ms)
        e.touched_ms = b->touched_ms;
    return e;
}

void vclock_merge(vclock_t *dst, const vclock_t *src)
{
    if (dst == src || src->len == 0)
        return;
    uint32_t cap = dst->len + src->len;
    vclock_entry_t *out = xmalloc((size_t)cap * sizeof out[0]);
    uint32_t i = 0, j = 0, n = 0;
    while (i < dst->len || j < src->len) {
        const vclock_entry_t *a = i < dst->len ? &dst->entries[i] : NULL;
        const vclock_entry_t *b = j < src->len ? &src->entries[j] : NULL;
        if (a && b && a->actor == b->actor) {
            out[n++] = vclock_entry_max(a, b);
            i++, j++;
        } else if (a && (!b || a->actor < b->actor)) {
            out[n++] = *a;
            i++;
        } else {
            out[n++] = *b;
            j++;
        }
    }
    free(dst->entries);
    dst->entries = out;
    dst->len = n;
    dst->cap = cap;
}

vclock_order_t vclock_compare(const vclock_t *a, const vclock_t *b)
{
    bool a_more = false, b_more = false; /* a has something b lacks, and vice versa */
    uint32_t i = 0, j = 0;
    while (i < a->len || j < b->len) {
        const vclock_entry_t *x = i < a->len ? &a->entries[i] : NULL;
        const vclock_entry_t *y = j < b->len ? &b->entries[j] : NULL;
        if (x && y && x->actor == y->actor) {
            a_more |= x->counter > y->counter;
            b_more |= y->counter > x->counter;
            i++, j++;
        } else if (x && (!y || x->actor < y->actor)) {
            a_more = true;
            i++;
        } else {
            b_more = true;
            j++;
        }
    }
    if (a_more && b_more)
        return VCLOCK_CONCURRENT;
    if (a_more)
        return VCLOCK_AFTER;
    return b_more ? VCLOCK_BEFORE : VCLOCK_EQUAL;
}

bool vclock_covers(const vclock_t *vc, dot_t d)
{
    return vclock_get(vc, d.actor) >= d.counter;
}

/* Orders entries by (touched_ms, actor): the prune order, oldest first. */
static int vclock_entry_age_cmp(const void *pa, const void *pb)
{
    const vclock_entry_t *a = pa, *b = pb;
    if (a->touched_ms != b->touched_ms)
        return a->touched_ms < b->touched_ms ? -1 : 1;
    if (a->actor != b->actor)
        return a->actor < b->actor ? -1 : 1;
    return 0;
}

void vclock_prune(vclock_t *vc, uint32_t max)
{
    if (vc->len <= max)
        return;
    /* The youngest entry among those to drop: every entry not younger goes. */
    vclock_entry_t *by_age = xmemdup(vc->entries, (size_t)vc->len * sizeof vc->entries[0]);
    qsort(by_age, vc->len, sizeof by_age[0], vclock_entry_age_cmp);
    vclock_entry_t cut = by_age[vc->len - max - 1];
    free(by_age);
    uint32_t n = 0;
    for (uint32_t i = 0; i < vc->len; i++)
        if (vclock_entry_age_cmp(&vc->entries[i], &cut) > 0)
            vc->entries[n++] = vc->entries[i];
    vc->len = n;
}

void vclock_encode(const vclock_t *vc, buf_t *out)
{
    buf_put_varint(out, vc->len);
    if (vc->len == 0)
        return;
    uint64_t base = UINT64_MAX;
    for (uint32_t i = 0; i < vc->len; i++)
        if (vc->entries[i].touched_ms < base)
            base = vc->entries[i].touched_ms;
    buf_put_varint(out, base);
    for (uint32_t i = 0; i < vc->len; i++) {
        buf_put_varint(out, vc->entries[i].actor);
        buf_put_varint(out, vc->entries[i].counter);
        buf_put_varint(out, vc->entries[i].touched_ms - base);
    }
}

/* Reads one entry after entry prev (NULL for the first); false when it is
 * short or breaks the canonical form. */
static bool vclock_decode_entry(cursor_t *in, uint64_t base, const vclock_entry_t *prev,
                                vclock_entry_t *e)
{
    uint64_t delta;
    if (!cursor_varint(in, &e->actor) || !cursor_varint(in, &e->counter) ||
        !cursor_varint(in, &delta))
        return false;
    if (e->counter == 0 || (prev && e->actor <= prev->actor) || delta > UINT64_MAX - base)
        return false;
    e->touched_ms = base + delta;
    return true;
}

bool vclock_decode(vclock_t *vc, cursor_t *in)
{
    uint64_t count, base = 0;
    vc->len = 0;
    if (!cursor_varint(in, &count))
        goto fail;
    if (count == 0)
        return true;
    if (count > VCLOCK_DECODE_ENTRIES_MAX || count > cursor_left(in) / VCLOCK_ENTRY_BYTES_MIN ||
        !cursor_varint(in, &base))
        goto fail;
    vclock_reserve(vc, (uint32_t)count);
    bool base_seen = false;
    for (uint32_t i = 0; i < count; i++) {
        vclock_entry_t *e = &vc->entries[i];
        if (!vclock_decode_entry(in, base, i ? e - 1 : NULL, e))
            goto fail;
        base_seen |= e->touched_ms == base;
        vc->len++;
    }
    if (base_seen)
        return true;
fail:
    vclock_free(vc);
    return false;
}

bool vclock_skip(cursor_t *in, uint64_t actor, uint64_t *counter)
{
    uint64_t count, base = 0;
    *counter = 0;
    if (!cursor_varint(in, &count))
        return false;
    if (count == 0)
        return true;
    if (count > VCLOCK_DECODE_ENTRIES_MAX || count > cursor_left(in) / VCLOCK_ENTRY_BYTES_MIN ||
        !cursor_varint(in, &base))
        return false;
    vclock_entry_t prev, e;
    bool base_seen = false;
    for (uint32_t i = 0; i < count; i++) {
        if (!vclock_decode_entry(in, base, i ? &prev : NULL, &e))
            return false;
        base_seen |= e.touched_ms == base;
        if (e.actor == actor)
            *counter = e.counter;
        prev = e;
    }
    return base_seen;
}
