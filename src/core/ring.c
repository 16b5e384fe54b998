/* ring.c - slot ownership, claim by weight, preference lists, encoding.
 *
 * See ring.h for the model. Layout of this file: the ring object and its
 * derived fields, claim (ring_rebalance), the preference walk and its
 * per-slot cache, ranges, and encode/decode/compare. */
#include "core/ring.h"

#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/hash.h"
#include "util/hex.h"

#define RING_ENCODING_VERSION 1
#define RING_CACHE_DEPTH RING_RANGE_NODES_MAX /* cached prefix of each walk */
#define RING_HASH_SEED 0x72696e67ULL          /* "ring" */

_Static_assert(SLOT_COUNT % RING_CHUNK_SLOTS == 0, "chunks tile the slots");
_Static_assert(RING_CHUNK_COUNT >= 2 * RING_NODES_MAX, "half the mean weight owns a chunk");

/* The per-slot walk cache. len[s] == 0 means slot s is not computed yet. */
typedef struct ring_cache {
    uint8_t len[SLOT_COUNT];
    uint16_t nodes[SLOT_COUNT][RING_CACHE_DEPTH];
} ring_cache_t;

/* Mutable side of a ring, so lookups on a const ring can fill the cache. */
typedef struct ring_lazy {
    ring_cache_t *cache; /* owned; NULL until the first lookup */
} ring_lazy_t;

struct ring {
    uint64_t epoch;
    size_t node_count;
    ring_node_t nodes[RING_NODES_MAX]; /* sorted by id */
    uint16_t owner[SLOT_COUNT];
    /* Derived by ring_derive from nodes and owner. */
    uint32_t owned[RING_NODES_MAX];
    uint16_t zone_of[RING_NODES_MAX]; /* index of the first node of its zone */
    size_t zone_count;                /* distinct zones among owning nodes */
    size_t owning_count;              /* nodes owning at least one slot */
    uint64_t hash;
    ring_lazy_t *lazy; /* owned */
};

/* ---------------------------------------------------------------- object */

static void ring_encode_body(const ring_t *ring, buf_t *out);

static void ring_cache_clear(ring_t *ring)
{
    if (ring->lazy->cache)
        memset(ring->lazy->cache->len, 0, sizeof ring->lazy->cache->len);
}

static void ring_derive_zones(ring_t *ring)
{
    bool seen[RING_NODES_MAX] = {false};
    ring->zone_count = 0;
    for (size_t i = 0; i < ring->node_count; i++) {
        size_t first = i;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(ring->nodes[j].zone, ring->nodes[i].zone) == 0) {
                first = j;
                break;
            }
        }
        ring->zone_of[i] = (uint16_t)first;
        if (ring->owned[i] > 0 && !seen[first]) {
            seen[first] = true;
            ring->zone_count++;
        }
    }
}

/* Recomputes every derived field and drops the cache. */
static void ring_derive(ring_t *ring)
{
    memset(ring->owned, 0, sizeof ring->owned);
    for (size_t s = 0; s < SLOT_COUNT; s++) {
        if (ring->owner[s] != RING_NODE_NONE)
            ring->owned[ring->owner[s]]++;
    }
    ring->owning_count = 0;
    for (size_t i = 0; i < ring->node_count; i++)
        ring->owning_count += ring->owned[i] > 0;
    ring_derive_zones(ring);
    buf_t body = BUF_INIT;
    ring_encode_body(ring, &body);
    ring->hash = hash64(body.data, body.len, RING_HASH_SEED);
    buf_free(&body);
    ring_cache_clear(ring);
}

ring_t *ring_new(void)
{
    ring_t *ring = xcalloc(1, sizeof *ring);
    ring->lazy = xcalloc(1, sizeof *ring->lazy);
    for (size_t s = 0; s < SLOT_COUNT; s++)
        ring->owner[s] = RING_NODE_NONE;
    ring_derive(ring);
    return ring;
}

void ring_free(ring_t *ring)
{
    if (!ring)
        return;
    free(ring->lazy->cache);
    free(ring->lazy);
    free(ring);
}

ring_t *ring_copy(const ring_t *ring)
{
    ring_t *copy = xmalloc(sizeof *copy);
    memcpy(copy, ring, sizeof *copy);
    copy->lazy = xcalloc(1, sizeof *copy->lazy);
    return copy;
}

uint64_t ring_epoch(const ring_t *ring) { return ring->epoch; }
void ring_set_epoch(ring_t *ring, uint64_t epoch) { ring->epoch = epoch; }
size_t ring_node_count(const ring_t *ring) { return ring->node_count; }
uint16_t ring_owner(const ring_t *ring, uint16_t slot) { return ring->owner[slot % SLOT_COUNT]; }
uint64_t ring_hash(const ring_t *ring) { return ring->hash; }

const ring_node_t *ring_node(const ring_t *ring, size_t idx)
{
    return idx < ring->node_count ? &ring->nodes[idx] : NULL;
}

size_t ring_owned_count(const ring_t *ring, size_t idx)
{
    return idx < ring->node_count ? ring->owned[idx] : 0;
}

static int ring_node_cmp(const void *a, const void *b)
{
    return strcmp(((const ring_node_t *)a)->id, ((const ring_node_t *)b)->id);
}

int ring_node_index(const ring_t *ring, const char *id)
{
    ring_node_t key;
    if (!ring_node_id_valid(id, strnlen(id, RING_NODE_ID_LEN + 1)))
        return -1;
    memcpy(key.id, id, RING_NODE_ID_LEN + 1);
    const ring_node_t *hit =
        bsearch(&key, ring->nodes, ring->node_count, sizeof key, ring_node_cmp);
    return hit ? (int)(hit - ring->nodes) : -1;
}

bool ring_node_id_valid(const char *id, size_t len)
{
    return len == RING_NODE_ID_LEN && hex_is_lower(id, len);
}

size_t ring_id_search(const void *base, size_t count, size_t size, const char *id, bool *found)
{
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strncmp((const char *)base + mid * size, id, RING_NODE_ID_LEN + 1);
        if (cmp == 0) {
            *found = true;
            return mid;
        }
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

static bool ring_zone_valid(const char *zone, size_t len)
{
    return len <= RING_ZONE_LEN_MAX && memchr(zone, '\0', len) == NULL;
}

static bool ring_member_valid(const ring_node_t *m)
{
    return ring_node_id_valid(m->id, strnlen(m->id, RING_NODE_ID_LEN + 1)) &&
           m->weight >= 1 && m->weight <= RING_WEIGHT_MAX &&
           strnlen(m->zone, RING_ZONE_LEN_MAX + 1) <= RING_ZONE_LEN_MAX;
}

/* ----------------------------------------------------------------- claim */

/* Largest-remainder shares of `units` chunks by weight; ties go to the lower
 * index (the smaller id), so every node computes the same targets. */
static void ring_targets(const ring_node_t *nodes, size_t count, uint32_t units,
                         uint32_t *target)
{
    uint64_t total = 0;
    uint64_t rem[RING_NODES_MAX];
    for (size_t i = 0; i < count; i++)
        total += nodes[i].weight;
    uint32_t assigned = 0;
    for (size_t i = 0; i < count; i++) {
        uint64_t scaled = (uint64_t)units * nodes[i].weight;
        target[i] = (uint32_t)(scaled / total);
        rem[i] = scaled % total;
        assigned += target[i];
    }
    for (; assigned < units; assigned++) {
        size_t best = 0;
        for (size_t i = 1; i < count; i++) {
            if (rem[i] > rem[best])
                best = i;
        }
        target[best]++;
        rem[best] = 0;
    }
}

/* The chunk size of a claim: RING_CHUNK_SLOTS, halved until every aligned
 * chunk of owner has one owner (only a table not made by this claim needs
 * that), so chunks are never merged, which would move slots nobody asked to
 * move. */
static uint32_t ring_chunk_slots(const uint16_t *owner)
{
    uint32_t size = RING_CHUNK_SLOTS;
    for (uint32_t s = 0; s < SLOT_COUNT && size > 1; s++) {
        while (size > 1 && owner[s] != owner[s - s % size])
            size /= 2;
    }
    return size;
}

/* The chunk at distance step k from u in the order u, u+1, u-1, u+2, ... */
static uint32_t ring_outward(uint32_t u, uint32_t k, uint32_t units)
{
    uint32_t d = (k + 1) / 2 % units;
    return k % 2 ? (u + d) % units : (u + units - d) % units;
}

/* Marks in freed[] the chunks that must change hands: unowned chunks, and
 * the over-quota nodes' surplus, spread evenly around the ring: the j-th of
 * S surplus chunks is the one nearest to position (j + 1/2) * units / S
 * whose owner still has surplus. Freed chunks are therefore about
 * units / S apart, wherever their donors' holdings are, so a receiver's new
 * chunks sit apart, each in the preference lists of different slots, and
 * its replica load matches its share. */
static void ring_collect_surplus(const uint16_t *owner, uint32_t units, const uint32_t *target,
                                 bool *freed)
{
    uint32_t left[RING_NODES_MAX] = {0};
    for (size_t u = 0; u < units; u++) {
        freed[u] = owner[u] == RING_NODE_NONE;
        if (!freed[u])
            left[owner[u]]++;
    }
    uint64_t surplus = 0;
    for (size_t i = 0; i < RING_NODES_MAX; i++) {
        left[i] = left[i] > target[i] ? left[i] - target[i] : 0;
        surplus += left[i];
    }
    for (uint64_t j = 0; j < surplus; j++) {
        uint32_t at = (uint32_t)((2 * j + 1) * units / (2 * surplus));
        for (uint32_t k = 0; k < units; k++) {
            uint32_t u = ring_outward(at, k, units);
            if (!freed[u] && left[owner[u]] > 0) {
                freed[u] = true;
                left[owner[u]]--;
                break;
            }
        }
    }
}

/* Deals the freed chunks, in ring order, to the nodes under quota by smooth
 * weighted round robin on their deficits, so each receiver's new chunks are
 * spread around the ring. */
static void ring_deal(uint16_t *owner, uint32_t units, size_t count, const uint32_t *target,
                      const bool *freed)
{
    int64_t deficit[RING_NODES_MAX] = {0};
    int64_t credit[RING_NODES_MAX] = {0};
    int64_t pool = 0;
    for (size_t u = 0; u < units; u++) {
        if (!freed[u])
            deficit[owner[u]]--;
        else
            pool++;
    }
    for (size_t i = 0; i < count; i++)
        deficit[i] = deficit[i] + target[i] > 0 ? deficit[i] + target[i] : 0;
    for (size_t u = 0; u < units; u++) {
        if (!freed[u])
            continue;
        size_t best = count;
        for (size_t i = 0; i < count; i++) {
            if (deficit[i] == 0)
                continue;
            credit[i] += deficit[i];
            if (best == count || credit[i] > credit[best])
                best = i;
        }
        credit[best] -= pool;
        owner[u] = (uint16_t)best;
    }
}

/* The claim on owner (remapped to the sorted table of count > 0 nodes):
 * chunks of ring_chunk_slots slots change hands as a whole. */
static void ring_claim(uint16_t *owner, const ring_node_t *sorted, size_t count)
{
    uint32_t size = ring_chunk_slots(owner);
    uint32_t units = SLOT_COUNT / size;
    uint32_t target[RING_NODES_MAX] = {0};
    uint16_t *chunk = xmalloc(units * sizeof *chunk);
    bool *freed = xmalloc(units * sizeof *freed);
    for (uint32_t u = 0; u < units; u++)
        chunk[u] = owner[u * size];
    ring_targets(sorted, count, units, target);
    ring_collect_surplus(chunk, units, target, freed);
    ring_deal(chunk, units, count, target, freed);
    for (uint32_t s = 0; s < SLOT_COUNT; s++)
        owner[s] = chunk[s / size];
    free(freed);
    free(chunk);
}

/* Old owner indices mapped into the new sorted table (NONE when gone). */
static void ring_remap(const ring_t *ring, const ring_node_t *sorted, size_t count,
                       uint16_t *owner)
{
    uint16_t map[RING_NODES_MAX];
    for (size_t i = 0; i < ring->node_count; i++) {
        const ring_node_t *hit = bsearch(&ring->nodes[i], sorted, count, sizeof *sorted,
                                         ring_node_cmp);
        map[i] = hit ? (uint16_t)(hit - sorted) : RING_NODE_NONE;
    }
    for (size_t s = 0; s < SLOT_COUNT; s++) {
        uint16_t o = ring->owner[s];
        owner[s] = o == RING_NODE_NONE ? RING_NODE_NONE : map[o];
    }
}

/* Validates and sorts members into sorted (room for RING_NODES_MAX). */
static int ring_sort_members(const ring_node_t *members, size_t count, ring_node_t *sorted)
{
    if (count > RING_NODES_MAX)
        return RING_ETOOMANY;
    for (size_t i = 0; i < count; i++) {
        if (!ring_member_valid(&members[i]))
            return RING_EINVAL;
        memset(&sorted[i], 0, sizeof sorted[i]);
        memcpy(sorted[i].id, members[i].id, RING_NODE_ID_LEN);
        sorted[i].weight = members[i].weight;
        memcpy(sorted[i].zone, members[i].zone, strlen(members[i].zone));
    }
    if (count > 0)
        qsort(sorted, count, sizeof *sorted, ring_node_cmp);
    for (size_t i = 1; i < count; i++) {
        if (strcmp(sorted[i - 1].id, sorted[i].id) == 0)
            return RING_EDUP;
    }
    return RING_OK;
}

int ring_rebalance(ring_t *ring, const ring_node_t *members, size_t count)
{
    ring_node_t *sorted = xcalloc(RING_NODES_MAX, sizeof *sorted);
    int rc = ring_sort_members(members, count, sorted);
    if (rc != RING_OK) {
        free(sorted);
        return rc;
    }
    uint16_t *owner = xmalloc(SLOT_COUNT * sizeof *owner);
    ring_remap(ring, sorted, count, owner);
    if (count > 0)
        ring_claim(owner, sorted, count);
    int moved = 0;
    for (size_t s = 0; s < SLOT_COUNT; s++) {
        uint16_t o = ring->owner[s];
        bool was_none = o == RING_NODE_NONE;
        if (was_none != (owner[s] == RING_NODE_NONE) ||
            (!was_none && strcmp(ring->nodes[o].id, sorted[owner[s]].id) != 0))
            moved++;
    }
    bool changed = moved > 0 || count != ring->node_count ||
                   memcmp(sorted, ring->nodes, count * sizeof *sorted) != 0;
    memcpy(ring->nodes, sorted, RING_NODES_MAX * sizeof *sorted);
    ring->node_count = count;
    memcpy(ring->owner, owner, sizeof ring->owner);
    free(owner);
    free(sorted);
    if (changed)
        ring->epoch++;
    ring_derive(ring);
    return moved;
}

/* ------------------------------------------------------ preference lists */

/* The preference walk from slot, up to max nodes (see ring.h). */
static size_t ring_walk(const ring_t *ring, uint16_t slot, size_t max, uint16_t *out)
{
    uint8_t seen[RING_NODES_MAX] = {0}; /* 1 chosen, 2 deferred */
    bool zone_taken[RING_NODES_MAX] = {false};
    uint16_t deferred[RING_NODES_MAX];
    size_t deferred_len = 0, deferred_pos = 0, count = 0;
    size_t zones_left = ring->zone_count > 1 ? ring->zone_count : 0;
    size_t want = max < ring->owning_count ? max : ring->owning_count;
    for (size_t i = 0; i < SLOT_COUNT && count < want; i++) {
        uint16_t o = ring->owner[(slot + i) % SLOT_COUNT];
        if (seen[o])
            continue;
        uint16_t zone = ring->zone_of[o];
        if (zones_left > 0 && zone_taken[zone]) {
            seen[o] = 2;
            deferred[deferred_len++] = o;
            continue;
        }
        seen[o] = 1;
        out[count++] = o;
        if (zones_left > 0 && !zone_taken[zone]) {
            zone_taken[zone] = true;
            if (--zones_left == 0) {
                while (deferred_pos < deferred_len && count < want)
                    out[count++] = deferred[deferred_pos++];
            }
        }
    }
    return count;
}

size_t ring_extended_list(const ring_t *ring, uint16_t slot, size_t max, uint16_t *out)
{
    slot %= SLOT_COUNT;
    if (max > RING_CACHE_DEPTH || ring->node_count == 0)
        return ring_walk(ring, slot, max, out);
    ring_cache_t *cache = ring->lazy->cache;
    if (!cache)
        cache = ring->lazy->cache = xcalloc(1, sizeof *cache);
    if (cache->len[slot] == 0)
        cache->len[slot] = (uint8_t)ring_walk(ring, slot, RING_CACHE_DEPTH, cache->nodes[slot]);
    size_t count = cache->len[slot] < max ? cache->len[slot] : max;
    memcpy(out, cache->nodes[slot], count * sizeof *out);
    return count;
}

size_t ring_preference_list(const ring_t *ring, uint16_t slot, size_t n, uint16_t *out)
{
    return ring_extended_list(ring, slot, n, out);
}

bool ring_range_next(const ring_t *ring, size_t n, uint32_t *cursor, ring_range_t *out)
{
    if (ring->node_count == 0 || *cursor >= SLOT_COUNT)
        return false;
    if (n == 0)
        n = 1;
    if (n > RING_RANGE_NODES_MAX)
        n = RING_RANGE_NODES_MAX;
    out->first = (uint16_t)*cursor;
    out->count = ring_preference_list(ring, out->first, n, out->nodes);
    uint32_t s = *cursor + 1;
    for (; s < SLOT_COUNT; s++) {
        uint16_t next[RING_RANGE_NODES_MAX];
        size_t len = ring_preference_list(ring, (uint16_t)s, n, next);
        if (len != out->count || memcmp(next, out->nodes, len * sizeof *next) != 0)
            break;
    }
    out->last = (uint16_t)(s - 1);
    *cursor = s;
    return true;
}

/* ------------------------------------------------------------- encoding */

/* Bits per owner in the packed owner table: enough for node_count - 1 (0 for
 * a single node, whose table is then empty). */
static unsigned ring_owner_bits(size_t node_count)
{
    unsigned bits = 0;
    while (((size_t)1 << bits) < node_count)
        bits++;
    return bits;
}

/* The owner table, `bits` bits per slot, least significant bit first. */
static void ring_pack_owners(const ring_t *ring, buf_t *out)
{
    unsigned bits = ring_owner_bits(ring->node_count);
    uint32_t acc = 0;
    unsigned held = 0;
    for (size_t s = 0; s < SLOT_COUNT && bits > 0; s++) {
        acc |= (uint32_t)ring->owner[s] << held;
        for (held += bits; held >= 8; held -= 8, acc >>= 8)
            buf_append_byte(out, (uint8_t)acc);
    }
}

static void ring_encode_body(const ring_t *ring, buf_t *out)
{
    buf_put_varint(out, ring->node_count);
    for (size_t i = 0; i < ring->node_count; i++) {
        const ring_node_t *node = &ring->nodes[i];
        buf_append(out, node->id, RING_NODE_ID_LEN);
        buf_put_varint(out, node->weight);
        buf_put_bytes(out, node->zone, strlen(node->zone));
    }
    ring_pack_owners(ring, out);
}

void ring_encode(const ring_t *ring, buf_t *out)
{
    buf_append_byte(out, RING_ENCODING_VERSION);
    buf_put_u64be(out, ring->epoch);
    ring_encode_body(ring, out);
}

static bool ring_decode_fail(cursor_t *c)
{
    c->error = true;
    c->pos = c->end;
    return false;
}

static bool ring_decode_nodes(ring_t *ring, cursor_t *c)
{
    uint64_t count;
    if (!cursor_varint(c, &count) || count > RING_NODES_MAX)
        return ring_decode_fail(c);
    ring->node_count = (size_t)count;
    for (size_t i = 0; i < ring->node_count; i++) {
        ring_node_t *node = &ring->nodes[i];
        const uint8_t *id, *zone;
        size_t zone_len;
        uint64_t weight;
        if (!cursor_raw(c, RING_NODE_ID_LEN, &id) || !cursor_varint(c, &weight) ||
            !cursor_bytes(c, RING_ZONE_LEN_MAX, &zone, &zone_len))
            return false;
        if (!ring_node_id_valid((const char *)id, RING_NODE_ID_LEN) || weight < 1 ||
            weight > RING_WEIGHT_MAX || !ring_zone_valid((const char *)zone, zone_len))
            return ring_decode_fail(c);
        memcpy(node->id, id, RING_NODE_ID_LEN);
        node->weight = (uint32_t)weight;
        memcpy(node->zone, zone, zone_len);
        if (i > 0 && strcmp(ring->nodes[i - 1].id, node->id) >= 0)
            return ring_decode_fail(c);
    }
    return true;
}

static bool ring_decode_owners(ring_t *ring, cursor_t *c)
{
    if (ring->node_count == 0)
        return true;
    unsigned bits = ring_owner_bits(ring->node_count);
    const uint8_t *p;
    if (!cursor_raw(c, SLOT_COUNT / 8 * bits, &p))
        return false;
    uint32_t acc = 0, mask = ((uint32_t)1 << bits) - 1;
    unsigned held = 0;
    for (size_t s = 0; s < SLOT_COUNT; s++) {
        for (; held < bits; held += 8)
            acc |= (uint32_t)*p++ << held;
        uint32_t owner = acc & mask;
        if (owner >= ring->node_count)
            return ring_decode_fail(c);
        ring->owner[s] = (uint16_t)owner;
        acc >>= bits;
        held -= bits;
    }
    return true;
}

ring_t *ring_decode(cursor_t *c)
{
    uint8_t version;
    if (!cursor_u8(c, &version))
        return NULL;
    if (version != RING_ENCODING_VERSION) {
        ring_decode_fail(c);
        return NULL;
    }
    ring_t *ring = ring_new();
    if (!cursor_u64be(c, &ring->epoch) || !ring_decode_nodes(ring, c) ||
        !ring_decode_owners(ring, c)) {
        ring_free(ring);
        return NULL;
    }
    ring_derive(ring);
    return ring;
}

int ring_compare(const ring_t *a, const ring_t *b)
{
    if (a->epoch != b->epoch)
        return a->epoch > b->epoch ? 1 : -1;
    if (a->hash != b->hash)
        return a->hash > b->hash ? 1 : -1;
    buf_t ea = BUF_INIT, eb = BUF_INIT;
    ring_encode_body(a, &ea);
    ring_encode_body(b, &eb);
    int rc = ea.len != eb.len ? (ea.len > eb.len ? 1 : -1)
                              : (ea.len ? memcmp(ea.data, eb.data, ea.len) : 0);
    buf_free(&ea);
    buf_free(&eb);
    return rc > 0 ? 1 : rc < 0 ? -1 : 0;
}
