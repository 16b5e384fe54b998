/* sim_oracle.c - the invariant oracle: what was acknowledged, per-key traces,
 * and the checks a run must pass (see sim.h):
 *   - an acknowledged write is durable on W nodes when it is acknowledged;
 *   - after heal and quiet every acknowledged write is still there, as itself
 *     or superseded by a version whose past covers its dot, or by a tombstone
 *     seen in a store during the run (reclaimed since); an acknowledged delete
 *     may be gone once reclaimed: the next check stands for it;
 *   - no value an acknowledged delete superseded is live at the end (a
 *     tombstone reclaimed too early lets it come back);
 *   - every replica of every key holds the same version set, no other node
 *     holds the key, and replicas' Merkle roots over shared slots agree;
 *   - a fault-free run with one writer per key never shows a sibling;
 *   - every acknowledged cart item is in the final cart;
 *   - hints drain to zero. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/merkle.h"
#include "core/msg.h"
#include "core/slot.h"
#include "sim_int.h"
#include "util/alloc.h"
#include "util/hash.h"

#define SIM_HINT_HEADER_MIN 2 /* format byte + created_ms varint (hint.h's layout) */
#define SIM_READ_RETRIES 8    /* store reads retried past injected faults */

/* ---- keys and traces ------------------------------------------------------ */

int sim_key_find(sim_t *s, const void *name, size_t len)
{
    uint32_t h = (uint32_t)hash64(name, len, 0) & (SIM_KEY_INDEX - 1);
    for (uint32_t probe = 0; probe < SIM_KEY_INDEX; probe++) {
        uint32_t slot = (h + probe) & (SIM_KEY_INDEX - 1);
        uint32_t v = s->key_index[slot];
        if (v == 0)
            return -1;
        const sim_key_t *k = &s->keys[v - 1];
        if (k->len == len && memcmp(k->name, name, len) == 0)
            return (int)(v - 1);
    }
    return -1;
}

int sim_key_add(sim_t *s, const char *name, int owner, bool cart)
{
    size_t len = strlen(name);
    int found = sim_key_find(s, name, len);
    if (found >= 0 || s->nkeys >= SIM_KEYS_MAX)
        return found;
    sim_key_t *k = &s->keys[s->nkeys];
    k->name = xstrdup(name);
    k->len = len;
    k->owner = owner;
    k->cart = cart;
    uint32_t h = (uint32_t)hash64(name, len, 0) & (SIM_KEY_INDEX - 1);
    while (s->key_index[h] != 0)
        h = (h + 1) & (SIM_KEY_INDEX - 1);
    s->key_index[h] = ++s->nkeys;
    return (int)(s->nkeys - 1);
}

void sim_trace(sim_t *s, int key, enum sim_trace_kind kind, uint32_t a, uint32_t b, uint64_t x,
               uint64_t y, uint64_t z)
{
    sim_trace_rec_t rec = {s->now - SIM_T0_MS, (uint8_t)kind, (uint8_t)a, (uint8_t)b, x, y, z};
    if (key < 0) {
        if (kind >= SIM_TR_CRASH)
            s->faults[s->nfaults++ % SIM_TRACE_MAX] = rec;
        return;
    }
    sim_key_t *k = &s->keys[key];
    k->trace[k->ntrace++ % SIM_TRACE_MAX] = rec;
}

void sim_trace_msg(sim_t *s, enum sim_trace_kind kind, uint32_t from, uint32_t to,
                   const void *bytes, size_t len)
{
    msg_t m;
    if (!msg_decode(&m, bytes, len) || !m.key || m.key_len == 0)
        return;
    int key = sim_key_find(s, m.key, m.key_len);
    sim_trace(s, key, kind, from, to, m.type, m.req_id, m.status);
}

static const char *sim_op_name(uint64_t op)
{
    static const char *names[] = {"SET", "DEL", "GET", "DYN.GET", "DYN.PUT", "SET(probe)"};
    return op < sizeof names / sizeof names[0] ? names[op] : "?";
}

static void sim_trace_line(const sim_t *s, const sim_trace_rec_t *r)
{
    fprintf(s->out, "    t=%" PRIu64 " ", r->t);
    switch (r->kind) {
    case SIM_TR_OP:
        fprintf(s->out, "client %u sends %s (seq %" PRIu64 ") via node %u\n", r->a,
                sim_op_name(r->x), r->y, r->b);
        break;
    case SIM_TR_REPLY:
        fprintf(s->out, "client %u gets %s, dot (%" PRIu64 ",%" PRIu64 ")\n", r->a,
                r->x ? "an error" : "ok", r->y, r->z);
        break;
    case SIM_TR_MSG:
    case SIM_TR_DROP:
        fprintf(s->out, "%s %s node %u -> node %u (req %" PRIu64 ", status %" PRIu64 ")\n",
                r->kind == SIM_TR_MSG ? "deliver" : "drop", msg_type_name(r->x), r->a, r->b,
                r->y, r->z);
        break;
    case SIM_TR_CRASH:
        fprintf(s->out, "node %u crashes%s\n", r->a, r->x ? " in the middle of an event" : "");
        break;
    case SIM_TR_RESTART: fprintf(s->out, "node %u restarts\n", r->a); break;
    case SIM_TR_PARTITION:
        if (r->x)
            fprintf(s->out, "network cut one way: node %u -> node %u\n", r->a, r->b);
        else
            fprintf(s->out, "network partitioned in two\n");
        break;
    case SIM_TR_HEAL: fprintf(s->out, "network healed\n"); break;
    case SIM_TR_JOIN: fprintf(s->out, "node %u joins through node %u\n", r->a, r->b); break;
    default: fprintf(s->out, "node %u starts leaving\n", r->a); break;
    }
}

static void sim_trace_print(const sim_t *s, const sim_key_t *k)
{
    uint64_t first = k->ntrace > SIM_TRACE_MAX ? k->ntrace - SIM_TRACE_MAX : 0;
    fprintf(s->out, "  trace of key %s (last %" PRIu64 " of %" PRIu64 " events):\n", k->name,
            k->ntrace - first, k->ntrace);
    for (uint64_t i = first; i < k->ntrace; i++)
        sim_trace_line(s, &k->trace[i % SIM_TRACE_MAX]);
    first = s->nfaults > SIM_TRACE_MAX ? s->nfaults - SIM_TRACE_MAX : 0;
    fprintf(s->out, "  node and network events (last %" PRIu64 " of %" PRIu64 "):\n",
            s->nfaults - first, s->nfaults);
    for (uint64_t i = first; i < s->nfaults; i++)
        sim_trace_line(s, &s->faults[i % SIM_TRACE_MAX]);
}

bool sim_violation(sim_t *s, int key, const char *fmt, ...)
{
    s->sum->violations++;
    if (s->violations_printed++ > 0 && !s->opts.verbose)
        return false;
    fprintf(s->out, "VIOLATION seed %" PRIu64 " t=%" PRIu64 ": ", s->opts.seed,
            s->now - SIM_T0_MS);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(s->out, fmt, ap);
    va_end(ap);
    if (key >= 0)
        fprintf(s->out, " [key %s]", s->keys[key].name);
    fputc('\n', s->out);
    if (key >= 0)
        sim_trace_print(s, &s->keys[key]);
    return true;
}

/* ---- reading the stores --------------------------------------------------- */

static int sim_store_get(sim_t *s, uint32_t i, enum store_cf cf, const buf_t *key, buf_t *out)
{
    int rc = STORE_EIO;
    for (int t = 0; t < SIM_READ_RETRIES && rc == STORE_EIO; t++)
        rc = store_get(&s->nodes[i].store, cf, key->data, key->len, out);
    return rc;
}

int sim_read_data(sim_t *s, uint32_t i, const sim_key_t *k, versions_t *vs)
{
    buf_t dk = BUF_INIT, val = BUF_INIT;
    slot_data_key(&dk, slot_of_key(k->name, k->len), k->name, k->len);
    versions_free(vs);
    int rc = sim_store_get(s, i, STORE_CF_DATA, &dk, &val);
    if (rc == 1 && versions_decode(vs, val.data, val.len) != 0)
        rc = STORE_ECORRUPT;
    buf_free(&dk);
    buf_free(&val);
    return rc;
}

static bool sim_covers(const versions_t *vs, dot_t d)
{
    for (uint32_t i = 0; i < vs->len; i++) {
        const version_t *v = &vs->items[i];
        if ((v->dot.actor == d.actor && v->dot.counter == d.counter) || vclock_covers(&v->past, d))
            return true;
    }
    return false;
}

typedef struct sim_hint_scan {
    const buf_t *dk;
    dot_t dot;
    bool covered;
} sim_hint_scan_t;

static int sim_hint_visit(void *arg, const void *key, size_t key_len, const void *val,
                          size_t val_len)
{
    sim_hint_scan_t *h = arg;
    if (key_len != HINT_KEY_PREFIX_LEN + h->dk->len ||
        memcmp((const char *)key + HINT_KEY_PREFIX_LEN, h->dk->data, h->dk->len) != 0)
        return 0;
    cursor_t c;
    cursor_init(&c, val, val_len);
    uint8_t format;
    uint64_t created;
    if (!cursor_u8(&c, &format) || !cursor_varint(&c, &created))
        return 0;
    versions_t vs = VERSIONS_INIT;
    if (versions_decode(&vs, c.pos, cursor_left(&c)) == 0 && sim_covers(&vs, h->dot))
        h->covered = true;
    versions_free(&vs);
    return h->covered;
}

/* True when node i durably holds the write dot of key (data or a hint). */
static bool sim_node_holds(sim_t *s, uint32_t i, const sim_key_t *k, dot_t dot)
{
    versions_t vs = VERSIONS_INIT;
    bool held = sim_read_data(s, i, k, &vs) == 1 && sim_covers(&vs, dot);
    versions_free(&vs);
    if (held)
        return true;
    buf_t dk = BUF_INIT;
    slot_data_key(&dk, slot_of_key(k->name, k->len), k->name, k->len);
    sim_hint_scan_t h = {&dk, dot, false};
    int rc = STORE_EIO;
    for (int t = 0; t < SIM_READ_RETRIES && rc == STORE_EIO; t++)
        rc = store_scan(&s->nodes[i].store, STORE_CF_HINTS, NULL, 0, NULL, 0, sim_hint_visit, &h);
    buf_free(&dk);
    return h.covered;
}

/* The past of the version with exactly dot, from any node holding it, and
 * whether it is a tombstone. */
static bool sim_find_past(sim_t *s, const sim_key_t *k, dot_t dot, vclock_t *past,
                          bool *tombstone)
{
    versions_t vs = VERSIONS_INIT;
    bool found = false;
    for (uint32_t i = 0; i < s->nnodes && !found; i++) {
        if (!s->nodes[i].ms || sim_read_data(s, i, k, &vs) != 1)
            continue;
        for (uint32_t v = 0; v < vs.len && !found; v++) {
            if (vs.items[v].dot.actor == dot.actor && vs.items[v].dot.counter == dot.counter) {
                vclock_copy(past, &vs.items[v].past);
                *tombstone = vs.items[v].tombstone;
                found = true;
            }
        }
    }
    versions_free(&vs);
    return found;
}

/* Marks the earlier acknowledged writes that the new one causally
 * supersedes; a delete adds its past to what must stay deleted. Returns
 * whether the new write is a delete. */
static bool sim_mark_superseded(sim_t *s, sim_key_t *k, dot_t dot)
{
    vclock_t past = VCLOCK_INIT;
    bool tombstone = false;
    if (sim_find_past(s, k, dot, &past, &tombstone)) {
        for (uint32_t d = 0; d < k->ndots; d++) {
            if (k->sup[d] < 0 && vclock_covers(&past, k->dots[d]))
                k->sup[d] = (int32_t)k->ndots;
        }
        if (tombstone)
            vclock_merge(&k->deleted, &past);
    }
    vclock_free(&past);
    return tombstone;
}

void sim_oracle_acked(sim_t *s, int key, dot_t dot)
{
    if (key < 0)
        return;
    sim_key_t *k = &s->keys[key];
    uint32_t copies = 0;
    for (uint32_t i = 0; i < s->nnodes; i++)
        copies += s->nodes[i].ms && sim_node_holds(s, i, k, dot);
    if (copies < sim_write_quorum(s))
        sim_violation(s, key, "write (%" PRIu64 ",%" PRIu64 ") acknowledged with %u durable "
                              "copies, fewer than W=%u", dot.actor, dot.counter, copies,
                      sim_write_quorum(s));
    bool tombstone = sim_mark_superseded(s, k, dot);
    if (k->ndots == k->capdots) {
        k->capdots = k->capdots ? k->capdots * 2 : 8;
        k->dots = xrealloc(k->dots, k->capdots * sizeof *k->dots);
        k->sup = xrealloc(k->sup, k->capdots * sizeof *k->sup);
        k->tomb = xrealloc(k->tomb, k->capdots * sizeof *k->tomb);
    }
    k->sup[k->ndots] = -1;
    k->tomb[k->ndots] = tombstone;
    k->dots[k->ndots++] = dot;
}

void sim_oracle_cart_item(sim_t *s, int key, const char *item)
{
    sim_key_t *k = &s->keys[key];
    if (k->nitems == k->capitems) {
        k->capitems = k->capitems ? k->capitems * 2 : 8;
        k->items = xrealloc(k->items, k->capitems * sizeof *k->items);
    }
    k->items[k->nitems++] = xstrdup(item);
}

void sim_oracle_sample(sim_t *s)
{
    versions_t vs = VERSIONS_INIT;
    for (uint32_t key = 0; key < s->nkeys; key++) {
        sim_key_t *k = &s->keys[key];
        for (uint32_t i = 0; i < s->nnodes; i++) {
            if (!s->nodes[i].ms || sim_read_data(s, i, k, &vs) != 1)
                continue;
            for (uint32_t v = 0; v < vs.len; v++) {
                if (vs.items[v].tombstone)
                    vclock_merge(&k->tombs_seen, &vs.items[v].past);
            }
        }
    }
    versions_free(&vs);
}

/* ---- convergence ---------------------------------------------------------- */

static const ring_t *sim_ref_ring(const sim_t *s)
{
    for (uint32_t i = 0; i < s->nnodes; i++) {
        if (sim_node_usable(s, i))
            return node_ring(s->nodes[i].node);
    }
    return NULL;
}

static int sim_index_of(const sim_t *s, const char *id)
{
    for (uint32_t i = 0; i < s->nnodes; i++) {
        if (strcmp(s->nodes[i].id, id) == 0)
            return (int)i;
    }
    return -1;
}

/* The nodes that must replicate key under ring, into out; returns how many. */
static uint32_t sim_replicas(const sim_t *s, const ring_t *ring, const sim_key_t *k,
                             uint32_t out[RING_RANGE_NODES_MAX])
{
    uint16_t idx[RING_RANGE_NODES_MAX];
    size_t count = ring_node_count(ring);
    size_t n = s->opts.n < count ? s->opts.n : count;
    n = ring_preference_list(ring, slot_of_key(k->name, k->len), n, idx);
    uint32_t m = 0;
    for (size_t i = 0; i < n; i++) {
        int at = sim_index_of(s, ring_node(ring, idx[i])->id);
        if (at >= 0)
            out[m++] = (uint32_t)at;
    }
    return m;
}

static bool sim_is_replica(const uint32_t *reps, uint32_t nreps, uint32_t i)
{
    for (uint32_t r = 0; r < nreps; r++) {
        if (reps[r] == i)
            return true;
    }
    return false;
}

/* Whether every replica of key holds the same set and no other node holds
 * it; reports a violation when report is set. final_out gets the set. */
static bool sim_key_agrees(sim_t *s, const ring_t *ring, int key, bool report,
                           versions_t *final_out)
{
    sim_key_t *k = &s->keys[key];
    uint32_t reps[RING_RANGE_NODES_MAX];
    uint32_t nreps = sim_replicas(s, ring, k, reps);
    buf_t ref = BUF_INIT, enc = BUF_INIT;
    versions_t vs = VERSIONS_INIT;
    bool ok = nreps > 0;
    if (ok && sim_read_data(s, reps[0], k, final_out) == 1)
        versions_encode(final_out, &ref);
    for (uint32_t i = 0; i < s->nnodes && ok; i++) {
        if (!s->nodes[i].node || i == reps[0])
            continue;
        int rc = sim_read_data(s, i, k, &vs);
        buf_clear(&enc);
        if (rc == 1)
            versions_encode(&vs, &enc);
        bool replica = sim_is_replica(reps, nreps, i);
        if (!replica && rc != 0) {
            ok = false;
            if (report)
                sim_violation(s, key, "node %u holds the key but is not one of its replicas", i);
        } else if (replica && (enc.len != ref.len ||
                               (enc.len && memcmp(enc.data, ref.data, enc.len) != 0))) {
            ok = false;
            if (report)
                sim_violation(s, key, "replicas %u and %u hold different version sets",
                              reps[0], i);
        }
    }
    buf_free(&ref);
    buf_free(&enc);
    versions_free(&vs);
    return ok;
}

static bool sim_hints_drained(const sim_t *s)
{
    for (uint32_t i = 0; i < s->nnodes; i++) {
        if (s->nodes[i].node && hint_stats(node_hints(s->nodes[i].node))->pending > 0)
            return false;
    }
    return true;
}

bool sim_oracle_converged(sim_t *s)
{
    const ring_t *ring = sim_ref_ring(s);
    if (!ring || !sim_hints_drained(s))
        return false;
    bool ok = true;
    for (uint32_t key = 0; key < s->nkeys && ok; key++) {
        versions_t vs = VERSIONS_INIT;
        ok = sim_key_agrees(s, ring, (int)key, false, &vs);
        versions_free(&vs);
    }
    return ok;
}

/* ---- final checks --------------------------------------------------------- */

static bool sim_cart_has(const versions_t *vs, uint64_t now, const char *item)
{
    size_t len = strlen(item);
    for (uint32_t i = 0; i < versions_live_count(vs, now); i++) {
        const version_t *v = versions_live_at(vs, now, i);
        const char *p = v->value, *end = v->value + v->value_len;
        while (p && p < end) {
            const char *comma = memchr(p, ',', (size_t)(end - p));
            const char *stop = comma ? comma : end;
            if ((size_t)(stop - p) == len && memcmp(p, item, len) == 0)
                return true;
            p = comma ? comma + 1 : end;
        }
    }
    return false;
}

/* Prints a version set: each sibling's dot and past. */
static void sim_print_versions(const sim_t *s, const versions_t *vs)
{
    for (uint32_t i = 0; i < vs->len; i++) {
        const version_t *v = &vs->items[i];
        fprintf(s->out, "    sibling (%" PRIu64 ",%" PRIu64 ")%s past {", v->dot.actor,
                v->dot.counter, v->tombstone ? " tombstone" : "");
        for (uint32_t e = 0; e < v->past.len; e++)
            fprintf(s->out, "%s%" PRIu64 ":%" PRIu64, e ? " " : "", v->past.entries[e].actor,
                    v->past.entries[e].counter);
        fprintf(s->out, "}\n");
    }
}

/* A live version that an acknowledged delete superseded came back. */
static void sim_key_resurrected(sim_t *s, int key, const versions_t *vs)
{
    const sim_key_t *k = &s->keys[key];
    for (uint32_t i = 0; i < vs->len; i++) {
        const version_t *v = &vs->items[i];
        if (version_is_dead(v, s->now) || !vclock_covers(&k->deleted, v->dot))
            continue;
        if (sim_violation(s, key, "value (%" PRIu64 ",%" PRIu64 ") is live again after an "
                                  "acknowledged delete superseded it", v->dot.actor,
                          v->dot.counter)) {
            fprintf(s->out, "  final version set:\n");
            sim_print_versions(s, vs);
        }
        return;
    }
}

static void sim_key_final(sim_t *s, const ring_t *ring, int key)
{
    sim_key_t *k = &s->keys[key];
    versions_t vs = VERSIONS_INIT;
    sim_key_agrees(s, ring, key, true, &vs);
    /* A write survives as itself, covered by the final set, or superseded
     * by a later write that survives (pruned clocks may forget old dots). */
    bool *ok = xcalloc(k->ndots + 1, sizeof *ok);
    for (uint32_t d = k->ndots; d-- > 0;)
        ok[d] = k->tomb[d] || sim_covers(&vs, k->dots[d]) ||
                vclock_covers(&k->tombs_seen, k->dots[d]) || (k->sup[d] >= 0 && ok[k->sup[d]]);
    for (uint32_t d = 0; d < k->ndots; d++) {
        if (!ok[d]) {
            if (sim_violation(s, key, "acknowledged write (%" PRIu64 ",%" PRIu64 ") is lost",
                              k->dots[d].actor, k->dots[d].counter)) {
                fprintf(s->out, "  final version set:\n");
                sim_print_versions(s, &vs);
            }
            break;
        }
    }
    free(ok);
    sim_key_resurrected(s, key, &vs);
    for (uint32_t i = 0; i < k->nitems; i++) {
        if (!sim_cart_has(&vs, s->now, k->items[i])) {
            sim_violation(s, key, "acknowledged cart item %s is lost", k->items[i]);
            break;
        }
    }
    uint32_t live = versions_live_count(&vs, s->now);
    s->sum->final_siblings += live > 1;
    if (s->opts.faults == SIM_FAULTS_NONE && k->owner >= 0 && vs.len > 1)
        sim_violation(s, key, "a fault-free run with one writer left %u siblings", vs.len);
    versions_free(&vs);
}

/* Replicas' Merkle roots agree over the slots both replicate. */
static void sim_merkle_final(sim_t *s, const ring_t *ring)
{
    merkle_slots_t *mask = xmalloc(sizeof *mask);
    size_t nrep = s->opts.n < ring_node_count(ring) ? s->opts.n : ring_node_count(ring);
    for (uint32_t a = 0; a < s->nnodes; a++) {
        for (uint32_t b = a + 1; b < s->nnodes; b++) {
            if (!sim_node_usable(s, a) || !sim_node_usable(s, b))
                continue;
            int ia = ring_node_index(ring, s->nodes[a].id);
            int ib = ring_node_index(ring, s->nodes[b].id);
            merkle_slots_clear(mask);
            uint32_t cursor = 0;
            ring_range_t r;
            while (ring_range_next(ring, nrep, &cursor, &r)) {
                bool ha = false, hb = false;
                for (size_t i = 0; i < r.count; i++) {
                    ha |= (int)r.nodes[i] == ia;
                    hb |= (int)r.nodes[i] == ib;
                }
                if (ha && hb)
                    merkle_slots_add_range(mask, r.first, r.last);
            }
            if (node_merkle_root(s->nodes[a].node, mask) !=
                node_merkle_root(s->nodes[b].node, mask))
                sim_violation(s, -1, "nodes %u and %u have different Merkle roots over the "
                                     "slots they share", a, b);
        }
    }
    free(mask);
}

void sim_oracle_final(sim_t *s)
{
    const ring_t *ring = sim_ref_ring(s);
    if (!ring) {
        sim_violation(s, -1, "no live node at the end");
        return;
    }
    for (uint32_t i = 0; i < s->nnodes; i++) {
        if (sim_node_usable(s, i) && ring_compare(node_ring(s->nodes[i].node), ring) != 0)
            sim_violation(s, -1, "node %u ends with a different ring", i);
    }
    if (!sim_hints_drained(s))
        sim_violation(s, -1, "hints did not drain");
    for (uint32_t key = 0; key < s->nkeys; key++)
        sim_key_final(s, ring, (int)key);
    sim_merkle_final(s, ring);
}

void sim_oracle_free(sim_t *s)
{
    for (uint32_t key = 0; key < s->nkeys; key++) {
        sim_key_t *k = &s->keys[key];
        for (uint32_t i = 0; i < k->nitems; i++)
            free(k->items[i]);
        free(k->items);
        free(k->dots);
        free(k->sup);
        free(k->tomb);
        vclock_free(&k->deleted);
        vclock_free(&k->tombs_seen);
        free(k->name);
    }
    s->nkeys = 0;
}
