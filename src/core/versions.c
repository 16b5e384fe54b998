/* versions.c - the sibling set stored under every key (see versions.h).
 *
 * Siblings are kept in an array sorted by dot. A write drops what its context
 * covers and adds one version with a fresh dot; a merge takes the union of two
 * sets and drops what another version's past covers. Both keep the order, so
 * every replica lists the same siblings in the same order.
 *
 * Stored form: one format byte (VERSIONS_FORMAT), a varint sibling count, then
 * per sibling: dot actor and counter (varints), the past (vclock_encode), the
 * expiry (varint ms), a flags byte (bit 0: tombstone) and the value (varint
 * length and bytes). The decoder accepts only well-formed input: known format
 * and flags, dots strictly increasing with counters >= 1, a past that does not
 * cover its own dot, no value on a tombstone, no trailing bytes, and bounds on
 * the sibling count and the value length; it never allocates more than the
 * input can hold. */
#include "core/versions.h"

#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

#define VERSIONS_FORMAT 1
#define VERSIONS_FLAG_TOMBSTONE 0x01
/* The most siblings a decoder accepts: merges may pass VERSIONS_SIBLINGS_MAX,
 * but a stored set this large means corruption. */
#define VERSIONS_DECODE_SIBLINGS_MAX (VERSIONS_SIBLINGS_MAX * 4)
/* The fewest bytes one encoded sibling takes (six one-byte fields). */
#define VERSIONS_SIBLING_BYTES_MIN 6
#define VERSIONS_CAP_MIN 2

/* ---- single versions ---- */

static void version_free(version_t *v)
{
    vclock_free(&v->past);
    if (v->value != NULL)
        free(v->value);
    v->value = NULL;
    v->value_len = 0;
}

static void version_copy(version_t *dst, const version_t *src)
{
    dst->dot = src->dot;
    vclock_init(&dst->past);
    vclock_copy(&dst->past, &src->past);
    dst->expire_at_ms = src->expire_at_ms;
    dst->tombstone = src->tombstone;
    dst->value = xmemdup(src->value, src->value_len);
    dst->value_len = src->value_len;
}

static int dot_cmp(dot_t a, dot_t b)
{
    if (a.actor != b.actor)
        return a.actor < b.actor ? -1 : 1;
    if (a.counter != b.counter)
        return a.counter < b.counter ? -1 : 1;
    return 0;
}

static void version_encode(const version_t *v, buf_t *out)
{
    buf_put_varint(out, v->dot.actor);
    buf_put_varint(out, v->dot.counter);
    vclock_encode(&v->past, out);
    buf_put_varint(out, v->expire_at_ms);
    buf_append_byte(out, v->tombstone ? VERSIONS_FLAG_TOMBSTONE : 0);
    buf_put_bytes(out, v->value, v->value_len);
}

/* True when a and b are the same version, field by field. */
static bool version_equal(const version_t *a, const version_t *b)
{
    return dot_cmp(a->dot, b->dot) == 0 && a->expire_at_ms == b->expire_at_ms &&
           a->tombstone == b->tombstone && a->value_len == b->value_len &&
           (a->value_len == 0 || memcmp(a->value, b->value, a->value_len) == 0) &&
           a->past.len == b->past.len &&
           (a->past.len == 0 ||
            memcmp(a->past.entries, b->past.entries, a->past.len * sizeof a->past.entries[0]) == 0);
}

/* A total order on versions by their encodings (dot first, as it leads). */
static int version_cmp(const version_t *a, const version_t *b)
{
    buf_t ea = BUF_INIT, eb = BUF_INIT;
    version_encode(a, &ea);
    version_encode(b, &eb);
    size_t n = ea.len < eb.len ? ea.len : eb.len;
    int r = memcmp(ea.data, eb.data, n);
    if (r == 0 && ea.len != eb.len)
        r = ea.len < eb.len ? -1 : 1;
    buf_free(&ea);
    buf_free(&eb);
    return r;
}

/* Reads one sibling into v (left empty on failure); prev is the sibling before
 * it (NULL for the first), whose dot must be smaller. */
static bool version_decode(version_t *v, cursor_t *in, const version_t *prev)
{
    uint8_t flags;
    const uint8_t *value;
    size_t value_len;
    memset(v, 0, sizeof *v);
    if (!cursor_varint(in, &v->dot.actor) || !cursor_varint(in, &v->dot.counter))
        return false;
    if (v->dot.counter == 0 || (prev && dot_cmp(prev->dot, v->dot) >= 0))
        return false;
    if (!vclock_decode(&v->past, in))
        return false;
    if (vclock_covers(&v->past, v->dot) || !cursor_varint(in, &v->expire_at_ms) ||
        !cursor_u8(in, &flags) || (flags & ~VERSIONS_FLAG_TOMBSTONE) ||
        !cursor_bytes(in, VERSIONS_VALUE_MAX, &value, &value_len) ||
        ((flags & VERSIONS_FLAG_TOMBSTONE) && value_len > 0)) {
        vclock_free(&v->past);
        return false;
    }
    v->tombstone = flags & VERSIONS_FLAG_TOMBSTONE;
    v->value = xmemdup(value, value_len);
    v->value_len = value_len;
    return true;
}

/* ---- sets ---- */

void versions_init(versions_t *vs)
{
    vs->items = NULL;
    vs->len = 0;
    vs->cap = 0;
}

void versions_free(versions_t *vs)
{
    for (uint32_t i = 0; i < vs->len; i++)
        version_free(&vs->items[i]);
    if (vs->items != NULL) /* skips the allocator's call for an empty set */
        free(vs->items);
    versions_init(vs);
}

static void versions_reserve(versions_t *vs, uint32_t need)
{
    if (vs->cap >= need)
        return;
    uint32_t cap = vs->cap ? vs->cap : VERSIONS_CAP_MIN;
    while (cap < need)
        cap *= 2;
    vs->items = xrealloc(vs->items, (size_t)cap * sizeof vs->items[0]);
    vs->cap = cap;
}

void versions_copy(versions_t *dst, const versions_t *src)
{
    if (dst == src)
        return;
    versions_free(dst);
    versions_reserve(dst, src->len);
    for (uint32_t i = 0; i < src->len; i++)
        version_copy(&dst->items[i], &src->items[i]);
    dst->len = src->len;
}

void versions_encode(const versions_t *vs, buf_t *out)
{
    buf_append_byte(out, VERSIONS_FORMAT);
    buf_put_varint(out, vs->len);
    for (uint32_t i = 0; i < vs->len; i++)
        version_encode(&vs->items[i], out);
}

int versions_decode(versions_t *vs, const void *bytes, size_t len)
{
    cursor_t in;
    uint8_t format;
    uint64_t count;
    versions_free(vs);
    cursor_init(&in, bytes, len);
    if (!cursor_u8(&in, &format) || format != VERSIONS_FORMAT || !cursor_varint(&in, &count) ||
        count > VERSIONS_DECODE_SIBLINGS_MAX ||
        count > cursor_left(&in) / VERSIONS_SIBLING_BYTES_MIN)
        return VERSIONS_ECORRUPT;
    versions_reserve(vs, (uint32_t)count);
    for (uint32_t i = 0; i < count; i++) {
        if (!version_decode(&vs->items[i], &in, i ? &vs->items[i - 1] : NULL))
            goto fail;
        vs->len++;
    }
    if (cursor_left(&in) == 0)
        return VERSIONS_OK;
fail:
    versions_free(vs);
    return VERSIONS_ECORRUPT;
}

int versions_peek_single(const void *bytes, size_t len, uint64_t now_ms, const uint8_t **value,
                         size_t *value_len)
{
    cursor_t in;
    uint8_t format, flags;
    uint64_t count, expire_at_ms, covered;
    dot_t dot;
    cursor_init(&in, bytes, len);
    if (!cursor_u8(&in, &format) || format != VERSIONS_FORMAT || !cursor_varint(&in, &count) ||
        count > VERSIONS_DECODE_SIBLINGS_MAX ||
        count > cursor_left(&in) / VERSIONS_SIBLING_BYTES_MIN)
        return VERSIONS_ECORRUPT;
    if (count > 1)
        return VERSIONS_PEEK_SEVERAL;
    if (count == 0)
        return cursor_left(&in) == 0 ? VERSIONS_PEEK_NONE : VERSIONS_ECORRUPT;
    /* The checks of version_decode, in its order. */
    if (!cursor_varint(&in, &dot.actor) || !cursor_varint(&in, &dot.counter) ||
        dot.counter == 0 || !vclock_skip(&in, dot.actor, &covered) || covered >= dot.counter ||
        !cursor_varint(&in, &expire_at_ms) || !cursor_u8(&in, &flags) ||
        (flags & ~VERSIONS_FLAG_TOMBSTONE) ||
        !cursor_bytes(&in, VERSIONS_VALUE_MAX, value, value_len) ||
        ((flags & VERSIONS_FLAG_TOMBSTONE) && *value_len > 0) || cursor_left(&in) != 0)
        return VERSIONS_ECORRUPT;
    version_t v = {.expire_at_ms = expire_at_ms, .tombstone = flags & VERSIONS_FLAG_TOMBSTONE};
    return version_is_dead(&v, now_ms) ? VERSIONS_PEEK_NONE : VERSIONS_PEEK_LIVE;
}

/* The newest time a version's past records: the touch time its dot gets in a
 * context (a version does not store when its dot was made). */
static uint64_t version_past_time_ms(const version_t *v)
{
    uint64_t t = 0;
    for (uint32_t i = 0; i < v->past.len; i++)
        if (v->past.entries[i].touched_ms > t)
            t = v->past.entries[i].touched_ms;
    return t;
}

void versions_context(const versions_t *vs, vclock_t *out)
{
    out->len = 0;
    for (uint32_t i = 0; i < vs->len; i++) {
        const version_t *v = &vs->items[i];
        vclock_merge(out, &v->past);
        vclock_advance(out, v->dot.actor, v->dot.counter, version_past_time_ms(v));
    }
}

/* ---- the coordinator's write ---- */

/* One more than the highest counter of actor in vs (dots and pasts) and ctx. */
static uint64_t versions_next_counter(const versions_t *vs, const vclock_t *ctx, uint64_t actor)
{
    uint64_t max = vclock_get(ctx, actor);
    for (uint32_t i = 0; i < vs->len; i++) {
        const version_t *v = &vs->items[i];
        uint64_t c = vclock_get(&v->past, actor);
        if (v->dot.actor == actor && v->dot.counter > c)
            c = v->dot.counter;
        if (c > max)
            max = c;
    }
    return max + 1;
}

/* The new version's past: the context, with the dots it supersedes touched at
 * now_ms (so pruning keeps them), pruned to VCLOCK_ENTRIES_MAX. */
static void versions_new_past(const versions_t *vs, const vclock_t *ctx, uint64_t now_ms,
                              vclock_t *past)
{
    vclock_copy(past, ctx);
    for (uint32_t i = 0; i < vs->len; i++)
        if (vclock_covers(ctx, vs->items[i].dot))
            vclock_advance(past, vs->items[i].dot.actor, vs->items[i].dot.counter, now_ms);
    vclock_prune(past, VCLOCK_ENTRIES_MAX);
}

int versions_write(versions_t *vs, uint64_t actor, uint64_t now_ms,
                   const version_write_t *w, dot_t *dot_out)
{
    static const vclock_t empty = VCLOCK_INIT;
    const vclock_t *ctx = w->context ? w->context : &empty;
    uint32_t kept = 0;
    for (uint32_t i = 0; i < vs->len; i++)
        kept += !vclock_covers(ctx, vs->items[i].dot);
    if (kept + 1 > VERSIONS_SIBLINGS_MAX)
        return VERSIONS_ETOOMANY;

    version_t nv = {.dot = {actor, versions_next_counter(vs, ctx, actor)},
                    .past = VCLOCK_INIT,
                    .expire_at_ms = w->expire_at_ms,
                    .tombstone = w->tombstone};
    versions_new_past(vs, ctx, now_ms, &nv.past);
    if (!w->tombstone) {
        nv.value = xmemdup(w->value, w->value_len);
        nv.value_len = w->value_len;
    }
    uint32_t n = 0;
    for (uint32_t i = 0; i < vs->len; i++) {
        if (vclock_covers(ctx, vs->items[i].dot))
            version_free(&vs->items[i]);
        else
            vs->items[n++] = vs->items[i];
    }
    vs->len = n;
    versions_reserve(vs, n + 1);
    uint32_t at = n;
    while (at > 0 && dot_cmp(vs->items[at - 1].dot, nv.dot) > 0)
        at--;
    memmove(&vs->items[at + 1], &vs->items[at], (size_t)(n - at) * sizeof vs->items[0]);
    vs->items[at] = nv;
    vs->len++;
    if (dot_out)
        *dot_out = nv.dot;
    return VERSIONS_OK;
}

/* ---- replica merge ---- */

/* A candidate of a merge: a version of dst or of src. */
typedef struct merge_cand {
    const version_t *v;
    bool from_src;
} merge_cand_t;

/* The sorted union of dst and src, one candidate per dot (of two different
 * copies of one dot, the smaller encoding, so the choice is symmetric).
 * Returns the count; *changed is set when a copy from src wins. */
static uint32_t merge_union(const versions_t *dst, const versions_t *src, merge_cand_t *out,
                            bool *changed)
{
    uint32_t i = 0, j = 0, n = 0;
    while (i < dst->len || j < src->len) {
        const version_t *a = i < dst->len ? &dst->items[i] : NULL;
        const version_t *b = j < src->len ? &src->items[j] : NULL;
        int c = !a ? 1 : !b ? -1 : dot_cmp(a->dot, b->dot);
        if (c == 0) {
            bool take_src = !version_equal(a, b) && version_cmp(b, a) < 0;
            out[n++] = (merge_cand_t){take_src ? b : a, take_src};
            *changed |= take_src;
            i++, j++;
        } else if (c < 0) {
            out[n++] = (merge_cand_t){a, false};
            i++;
        } else {
            out[n++] = (merge_cand_t){b, true};
            j++;
        }
    }
    return n;
}

static bool merge_is_covered(const merge_cand_t *cand, uint32_t n, uint32_t k)
{
    for (uint32_t i = 0; i < n; i++)
        if (i != k && vclock_covers(&cand[i].v->past, cand[k].v->dot))
            return true;
    return false;
}

bool versions_merge(versions_t *dst, const versions_t *src)
{
    if (dst == src || src->len == 0)
        return false;
    uint32_t cap = dst->len + src->len;
    merge_cand_t *cand = xmalloc((size_t)cap * sizeof cand[0]);
    bool changed = false;
    uint32_t n = merge_union(dst, src, cand, &changed);
    version_t *items = xmalloc((size_t)cap * sizeof items[0]);
    bool *moved = xcalloc(dst->len ? dst->len : 1, sizeof moved[0]);
    uint32_t len = 0;
    for (uint32_t k = 0; k < n; k++) {
        bool covered = merge_is_covered(cand, n, k);
        changed |= covered != cand[k].from_src;
        if (covered)
            continue;
        if (cand[k].from_src) {
            version_copy(&items[len++], cand[k].v);
        } else {
            uint32_t idx = (uint32_t)(cand[k].v - dst->items);
            items[len++] = dst->items[idx];
            moved[idx] = true;
        }
    }
    for (uint32_t i = 0; i < dst->len; i++)
        if (!moved[i])
            version_free(&dst->items[i]);
    free(dst->items);
    free(moved);
    free(cand);
    dst->items = items;
    dst->len = len;
    dst->cap = cap;
    return changed;
}

/* ---- liveness ---- */

bool version_is_dead(const version_t *v, uint64_t now_ms)
{
    return v->tombstone || (v->expire_at_ms != 0 && v->expire_at_ms <= now_ms);
}

uint32_t versions_live_count(const versions_t *vs, uint64_t now_ms)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < vs->len; i++)
        n += !version_is_dead(&vs->items[i], now_ms);
    return n;
}

const version_t *versions_live_at(const versions_t *vs, uint64_t now_ms, uint32_t i)
{
    for (uint32_t k = 0; k < vs->len; k++) {
        if (version_is_dead(&vs->items[k], now_ms))
            continue;
        if (i == 0)
            return &vs->items[k];
        i--;
    }
    return NULL;
}

/* ---- printable contexts: base64url without padding ---- */

/* The longest context text a parser accepts: a clock of
 * VCLOCK_DECODE_ENTRIES_MAX entries of three 10-byte varints, in base64. */
#define VCLOCK_CONTEXT_TEXT_MAX (((VCLOCK_DECODE_ENTRIES_MAX * 30 + 20) * 4) / 3 + 4)

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int b64url_value(uint8_t ch)
{
    const char *p = ch ? memchr(b64url, ch, 64) : NULL;
    return p ? (int)(p - b64url) : -1;
}

static void b64url_encode(const uint8_t *p, size_t len, buf_t *out)
{
    for (size_t i = 0; i < len; i += 3) {
        size_t take = len - i < 3 ? len - i : 3;
        uint32_t word = (uint32_t)p[i] << 16;
        if (take > 1)
            word |= (uint32_t)p[i + 1] << 8;
        if (take > 2)
            word |= p[i + 2];
        for (size_t k = 0; k <= take; k++)
            buf_append_byte(out, (uint8_t)b64url[(word >> (18 - 6 * k)) & 63]);
    }
}

/* Strict: only the alphabet, no padding, no dangling bits. */
static bool b64url_decode(const uint8_t *t, size_t len, buf_t *out)
{
    if (len % 4 == 1)
        return false;
    uint32_t word = 0;
    unsigned bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64url_value(t[i]);
        if (v < 0)
            return false;
        word = (word << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf_append_byte(out, (uint8_t)(word >> bits));
            word &= (1u << bits) - 1;
        }
    }
    return word == 0;
}

void vclock_context_encode(const vclock_t *vc, buf_t *out)
{
    buf_t raw = BUF_INIT;
    vclock_encode(vc, &raw);
    b64url_encode((const uint8_t *)raw.data, raw.len, out);
    buf_free(&raw);
}

bool vclock_context_decode(vclock_t *vc, const void *text, size_t len)
{
    buf_t raw = BUF_INIT;
    cursor_t in;
    vc->len = 0;
    if (len == 0)
        return true; /* no context at all: the empty clock */
    bool ok = len <= VCLOCK_CONTEXT_TEXT_MAX && b64url_decode(text, len, &raw);
    if (ok) {
        cursor_init(&in, raw.data, raw.len);
        ok = vclock_decode(vc, &in) && cursor_left(&in) == 0;
    }
    buf_free(&raw);
    if (!ok)
        vclock_free(vc);
    return ok;
}
