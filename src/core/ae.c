/* ae.c - anti-entropy sessions (see ae.h): the message codec, then the
 * session table, the tree descent, the responder's digest stream and the
 * initiator's comparison of digests against its own keys. */
#include "core/ae.h"

#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

#define AE_FLAG_FROM_INITIATOR 1u
#define AE_GROUP_BYTES_MIN 3  /* varint parent step + 2-byte child bitmap */
#define AE_KV_BYTES_MIN 4     /* two lengths, a 2-byte key prefix */
#define AE_DIGEST_BYTES_MIN 11
#define AE_SEGMENT_BYTES_MIN 14 /* slot, buckets, start, end, count */
#define AE_RECENT_MAX 64

_Static_assert(MERKLE_BUCKETS == 64, "a segment's bucket set is one 64-bit word");
_Static_assert(MERKLE_FANOUT_MAX <= 16, "a TREE group's child bitmap is 16 bits");

/* ====================================================================== */
/* codec                                                                   */
/* ====================================================================== */

void ae_msg_init(ae_msg_t *m) { memset(m, 0, sizeof *m); }

void ae_msg_free(ae_msg_t *m)
{
    free(m->nodes);
    free(m->parents);
    free(m->kvs);
    free(m->segments);
    free(m->digests);
    free(m->wants);
    ae_msg_init(m);
}

static int bytes_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen;
}

static uint16_t key_slot(const uint8_t *key) { return (uint16_t)((key[0] << 8) | key[1]); }

static void encode_slots(const merkle_slots_t *slots, buf_t *out)
{
    buf_t ranges = BUF_INIT;
    uint32_t n = 0;
    for (uint32_t s = 0; s < SLOT_COUNT;) {
        if (!merkle_slots_has(slots, (uint16_t)s)) {
            s++;
            continue;
        }
        uint32_t first = s;
        while (s < SLOT_COUNT && merkle_slots_has(slots, (uint16_t)s))
            s++;
        buf_put_varint(&ranges, first);
        buf_put_varint(&ranges, s - first);
        n++;
    }
    buf_put_varint(out, n);
    buf_append(out, ranges.data, ranges.len);
    buf_free(&ranges);
}

static void encode_kvs(const ae_kv_t *kvs, uint32_t n, buf_t *out)
{
    buf_put_varint(out, n);
    for (uint32_t i = 0; i < n; i++) {
        buf_put_bytes(out, kvs[i].key.p, kvs[i].key.len);
        buf_put_bytes(out, kvs[i].val.p, kvs[i].val.len);
    }
}

/* The number of children of a node at level - 1 (1 for a level that has no
 * parent level, which only an invalid message names). */
static uint32_t level_fan(unsigned level)
{
    if (level == 0 || level >= MERKLE_LEVELS)
        return 1;
    return merkle_level_width(level) / merkle_level_width(level - 1);
}

/* TREE: per parent, its index as a step from the previous parent's (the
 * first from 0), a bitmap of its children carried (those with a non-zero
 * hash), then their hashes: a sparse part of the tree costs little. */
static void encode_tree(const ae_msg_t *m, buf_t *out)
{
    uint32_t fan = level_fan(m->level), n = 0;
    buf_append_byte(out, m->level);
    buf_put_varint(out, m->n_parents);
    for (uint32_t i = 0; i < m->n_parents; i++) {
        uint32_t p = m->parents[i], first = n;
        uint16_t bits = 0;
        buf_put_varint(out, p - (i > 0 ? m->parents[i - 1] : 0));
        for (; n < m->n_nodes && m->nodes[n].index / fan == p; n++)
            bits |= (uint16_t)(1u << (m->nodes[n].index % fan));
        buf_put_u16be(out, bits);
        for (uint32_t j = first; j < n; j++)
            buf_put_u64be(out, m->nodes[j].hash);
    }
}

static void encode_digests(const ae_msg_t *m, buf_t *out)
{
    buf_append_byte(out, m->end ? 1 : 0);
    encode_kvs(m->kvs, m->n_kvs, out);
    buf_put_varint(out, m->n_segments);
    for (uint32_t i = 0; i < m->n_segments; i++) {
        const ae_segment_t *s = &m->segments[i];
        buf_put_u16be(out, s->slot);
        buf_put_u64be(out, s->buckets);
        buf_put_bytes(out, s->start.p, s->start.len);
        buf_put_bytes(out, s->end.p, s->end.len);
        buf_put_varint(out, s->count);
        for (uint32_t d = s->first; d < s->first + s->count; d++) {
            buf_put_bytes(out, m->digests[d].key.p, m->digests[d].key.len);
            buf_put_u64be(out, m->digests[d].hash);
        }
    }
}

void ae_msg_encode(const ae_msg_t *m, buf_t *out)
{
    buf_append_byte(out, m->type);
    buf_append_byte(out, m->from_initiator ? AE_FLAG_FROM_INITIATOR : 0);
    buf_put_varint(out, m->sid);
    buf_put_varint(out, m->seq);
    switch (m->type) {
    case AE_MSG_START:
        encode_slots(&m->slots, out);
        buf_put_u64be(out, m->n_nodes > 0 ? m->nodes[0].hash : 0);
        break;
    case AE_MSG_TREE:
        encode_tree(m, out);
        break;
    case AE_MSG_DIGESTS:
        encode_digests(m, out);
        break;
    case AE_MSG_SYNC:
        encode_kvs(m->kvs, m->n_kvs, out);
        buf_put_varint(out, m->n_wants);
        for (uint32_t i = 0; i < m->n_wants; i++)
            buf_put_bytes(out, m->wants[i].p, m->wants[i].len);
        buf_put_bytes(out, m->cut.p, m->cut.len);
        break;
    case AE_MSG_END:
        buf_append_byte(out, m->status);
        break;
    default:
        break;
    }
}

/* Reads a count bounded by max and by what the input can still hold. */
static bool read_count(cursor_t *c, uint32_t max, size_t entry_min, uint32_t *n)
{
    uint64_t v;
    if (!cursor_varint(c, &v) || v > max || v > cursor_left(c) / entry_min) {
        c->error = true;
        return false;
    }
    *n = (uint32_t)v;
    return true;
}

/* A data key: slot prefix and at most AE_KEY_MAX bytes. */
static bool read_key(cursor_t *c, ae_bytes_t *k)
{
    if (!cursor_bytes(c, AE_KEY_MAX, &k->p, &k->len))
        return false;
    if (k->len < SLOT_KEY_PREFIX_LEN || key_slot(k->p) >= SLOT_COUNT)
        c->error = true;
    return !c->error;
}

static bool decode_slots(cursor_t *c, merkle_slots_t *slots)
{
    uint32_t n;
    uint64_t next = 0;
    merkle_slots_clear(slots);
    if (!read_count(c, SLOT_COUNT / 2, 2, &n) || n == 0)
        return false;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t first, count;
        if (!cursor_varint(c, &first) || !cursor_varint(c, &count) || first < next ||
            count == 0 || first >= SLOT_COUNT || count > SLOT_COUNT - first)
            return false;
        merkle_slots_add_range(slots, (uint16_t)first, (uint16_t)(first + count - 1));
        next = first + count + 1; /* ranges are maximal: a gap between two */
    }
    return true;
}

/* One parent's group: its step, bitmap and hashes. */
static bool decode_group(cursor_t *c, ae_msg_t *m, uint32_t i, uint32_t *cap)
{
    uint32_t fan = level_fan(m->level), width = merkle_level_width(m->level - 1);
    uint32_t prev = i > 0 ? m->parents[i - 1] : 0;
    uint64_t step;
    uint16_t bits;
    if (!cursor_varint(c, &step) || (i > 0 && step == 0) || step >= width - prev ||
        !cursor_u16be(c, &bits) || (fan < 16 && bits >> fan != 0))
        return false;
    m->parents[i] = prev + (uint32_t)step;
    for (uint32_t b = 0; b < fan; b++) {
        if (!((bits >> b) & 1))
            continue;
        if (m->n_nodes == *cap) {
            *cap = *cap ? *cap * 2 : 16;
            m->nodes = xrealloc(m->nodes, *cap * sizeof *m->nodes);
        }
        ae_node_hash_t *nh = &m->nodes[m->n_nodes++];
        nh->index = m->parents[i] * fan + b;
        if (!cursor_u64be(c, &nh->hash) || nh->hash == 0)
            return false;
    }
    return true;
}

static bool decode_tree(cursor_t *c, ae_msg_t *m)
{
    uint32_t cap = 0;
    if (!cursor_u8(c, &m->level) || m->level == 0 || m->level >= MERKLE_LEVELS)
        return false;
    uint32_t width = merkle_level_width(m->level - 1);
    if (!read_count(c, width, AE_GROUP_BYTES_MIN, &m->n_parents) || m->n_parents == 0)
        return false;
    m->parents = xcalloc(m->n_parents, sizeof *m->parents);
    for (uint32_t i = 0; i < m->n_parents; i++)
        if (!decode_group(c, m, i, &cap))
            return false;
    return true;
}

static bool decode_start(cursor_t *c, ae_msg_t *m)
{
    if (!decode_slots(c, &m->slots))
        return false;
    m->nodes = xcalloc(1, sizeof *m->nodes);
    m->n_nodes = 1;
    return cursor_u64be(c, &m->nodes[0].hash);
}

static bool decode_kvs(cursor_t *c, ae_msg_t *m)
{
    if (!read_count(c, AE_KEYS_PER_MSG_MAX, AE_KV_BYTES_MIN, &m->n_kvs))
        return false;
    m->kvs = xcalloc(m->n_kvs ? m->n_kvs : 1, sizeof *m->kvs);
    for (uint32_t i = 0; i < m->n_kvs; i++) {
        ae_kv_t *kv = &m->kvs[i];
        if (!read_key(c, &kv->key) || !cursor_bytes(c, AE_VALUE_MAX, &kv->val.p, &kv->val.len) ||
            kv->val.len == 0)
            return false;
        if (i > 0 && bytes_cmp(m->kvs[i - 1].key.p, m->kvs[i - 1].key.len, kv->key.p,
                               kv->key.len) >= 0)
            return false;
    }
    return true;
}

static bool bucket_in(uint64_t buckets, const ae_bytes_t *key)
{
    return (buckets >> merkle_key_bucket(key->p, key->len)) & 1;
}

/* A digest key lies in its segment's slot, buckets and range, after the
 * previous one. */
static bool digest_in_segment(const ae_segment_t *s, const ae_digest_t *d, const ae_digest_t *prev)
{
    if (key_slot(d->key.p) != s->slot || !bucket_in(s->buckets, &d->key) ||
        bytes_cmp(d->key.p, d->key.len, s->start.p, s->start.len) < 0)
        return false;
    if (s->end.len > 0 && bytes_cmp(d->key.p, d->key.len, s->end.p, s->end.len) >= 0)
        return false;
    return prev == NULL || bytes_cmp(prev->key.p, prev->key.len, d->key.p, d->key.len) < 0;
}

static bool decode_segment(cursor_t *c, ae_msg_t *m, ae_segment_t *s, uint32_t *cap)
{
    uint32_t count;
    if (!cursor_u16be(c, &s->slot) || !cursor_u64be(c, &s->buckets) || s->buckets == 0 ||
        !read_key(c, &s->start) ||
        key_slot(s->start.p) != s->slot ||
        !cursor_bytes(c, AE_KEY_MAX, &s->end.p, &s->end.len))
        return false;
    if (s->end.len > 0 && (s->end.len < SLOT_KEY_PREFIX_LEN || key_slot(s->end.p) != s->slot ||
                           bytes_cmp(s->start.p, s->start.len, s->end.p, s->end.len) >= 0))
        return false;
    if (!read_count(c, AE_KEYS_PER_MSG_MAX - m->n_digests, AE_DIGEST_BYTES_MIN, &count))
        return false;
    s->first = m->n_digests;
    s->count = count;
    if (m->n_digests + count > *cap) {
        *cap = m->n_digests + count > 2 * *cap ? m->n_digests + count : 2 * *cap;
        m->digests = xrealloc(m->digests, *cap * sizeof *m->digests);
    }
    for (uint32_t i = 0; i < count; i++) {
        ae_digest_t *d = &m->digests[m->n_digests];
        if (!read_key(c, &d->key) || !cursor_u64be(c, &d->hash) ||
            !digest_in_segment(s, d, i > 0 ? d - 1 : NULL))
            return false;
        m->n_digests++;
    }
    return true;
}

static bool decode_digests(cursor_t *c, ae_msg_t *m)
{
    uint8_t end;
    uint32_t cap = 0;
    if (!cursor_u8(c, &end) || end > 1 || !decode_kvs(c, m) ||
        !read_count(c, AE_SEGMENTS_MAX, AE_SEGMENT_BYTES_MIN, &m->n_segments))
        return false;
    m->end = end == 1;
    if (m->end != (m->n_segments == 0))
        return false;
    m->segments = xcalloc(m->n_segments ? m->n_segments : 1, sizeof *m->segments);
    for (uint32_t i = 0; i < m->n_segments; i++) {
        if (!decode_segment(c, m, &m->segments[i], &cap))
            return false;
        if (i > 0 && m->segments[i].slot <= m->segments[i - 1].slot)
            return false;
    }
    return true;
}

static bool decode_sync(cursor_t *c, ae_msg_t *m)
{
    if (!decode_kvs(c, m) || !read_count(c, AE_KEYS_PER_MSG_MAX, 3, &m->n_wants))
        return false;
    m->wants = xcalloc(m->n_wants ? m->n_wants : 1, sizeof *m->wants);
    for (uint32_t i = 0; i < m->n_wants; i++) {
        ae_bytes_t *w = &m->wants[i];
        if (!read_key(c, w) ||
            (i > 0 && bytes_cmp(w[-1].p, w[-1].len, w->p, w->len) >= 0))
            return false;
    }
    if (!cursor_bytes(c, AE_KEY_MAX, &m->cut.p, &m->cut.len))
        return false;
    return m->cut.len == 0 || (m->cut.len >= SLOT_KEY_PREFIX_LEN && key_slot(m->cut.p) < SLOT_COUNT);
}

static bool decode_body(cursor_t *c, ae_msg_t *m)
{
    switch (m->type) {
    case AE_MSG_START:
        return decode_start(c, m);
    case AE_MSG_TREE:
        return decode_tree(c, m);
    case AE_MSG_DIGESTS:
        return decode_digests(c, m);
    case AE_MSG_SYNC:
        return decode_sync(c, m);
    case AE_MSG_END:
        return cursor_u8(c, &m->status) && m->status <= AE_END_ERROR;
    default:
        return false;
    }
}

bool ae_msg_decode(ae_msg_t *m, const void *bytes, size_t len)
{
    cursor_t c;
    uint8_t flags;
    ae_msg_init(m);
    cursor_init(&c, bytes, len);
    bool ok = cursor_u8(&c, &m->type) && cursor_u8(&c, &flags) &&
              (flags & ~AE_FLAG_FROM_INITIATOR) == 0 && cursor_varint(&c, &m->sid) &&
              cursor_varint(&c, &m->seq);
    m->from_initiator = (flags & AE_FLAG_FROM_INITIATOR) != 0;
    ok = ok && decode_body(&c, m) && !c.error && cursor_left(&c) == 0;
    if (!ok)
        ae_msg_free(m);
    return ok;
}

/* ====================================================================== */
/* sessions                                                                */
/* ====================================================================== */

typedef struct ae_session {
    bool used;
    bool initiator;
    uint64_t peer;
    uint64_t sid;
    uint64_t expect;      /* seq of the next message from the peer */
    uint64_t deadline_ms;
    uint8_t level;        /* tree level last sent or compared */
    merkle_slots_t mask;
    /* responder: the digest stream over the differing leaves */
    uint16_t *diff;       /* owned, ascending: the slots with differing leaves */
    uint64_t *buckets;    /* owned: diff[i]'s differing buckets, bit b for bucket b */
    uint32_t n_diff;
    buf_t pos;            /* next data key to send digests from */
    bool pos_done;        /* no more digests */
    buf_t batch_start;    /* the last batch sent: [start, pos) */
} ae_session_t;

struct ae {
    ae_config_t cfg;
    ae_ops_t ops;
    merkle_t *tree; /* borrowed */
    store_t *store; /* borrowed */
    ae_session_t sessions[AE_SESSIONS_MAX];
    /* sessions answered lately, so that a duplicated START cannot reopen one */
    struct { uint64_t peer, sid; } recent[AE_RECENT_MAX];
    uint32_t recent_next;
    uint64_t next_sid;
    ae_stats_t stats;
};

/* Copies of byte strings a message under construction points at. */
typedef struct ae_pool {
    buf_t *bufs; /* owned */
    uint32_t n;
    uint32_t cap;
} ae_pool_t;

static ae_bytes_t pool_copy(ae_pool_t *p, const void *data, size_t len)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 16;
        p->bufs = xrealloc(p->bufs, p->cap * sizeof *p->bufs);
    }
    buf_t *b = &p->bufs[p->n++];
    buf_init(b);
    buf_append(b, data, len);
    return (ae_bytes_t){(const uint8_t *)b->data, b->len};
}

static void pool_free(ae_pool_t *p)
{
    for (uint32_t i = 0; i < p->n; i++)
        buf_free(&p->bufs[i]);
    free(p->bufs);
}

void ae_config_default(ae_config_t *cfg)
{
    cfg->keys_per_msg_max = 256;
    cfg->msg_bytes_max = 1024 * 1024;
    cfg->sessions_max = 8;
    cfg->timeout_ms = 10000;
    cfg->sid_base = 1;
}

void ae_outbox_clear(ae_outbox_t *out)
{
    for (uint32_t i = 0; i < out->len; i++)
        buf_free(&out->items[i].bytes);
    out->len = 0;
}

void ae_outbox_free(ae_outbox_t *out)
{
    ae_outbox_clear(out);
    free(out->items);
    out->items = NULL;
    out->cap = 0;
}

ae_t *ae_new(const ae_config_t *cfg, const ae_ops_t *ops, merkle_t *tree, store_t *store)
{
    ae_t *ae = xcalloc(1, sizeof *ae);
    ae->cfg = *cfg;
    if (ae->cfg.keys_per_msg_max == 0 || ae->cfg.keys_per_msg_max > AE_KEYS_PER_MSG_MAX)
        ae->cfg.keys_per_msg_max = AE_KEYS_PER_MSG_MAX;
    if (ae->cfg.sessions_max == 0 || ae->cfg.sessions_max > AE_SESSIONS_MAX)
        ae->cfg.sessions_max = AE_SESSIONS_MAX;
    if (ae->cfg.msg_bytes_max == 0)
        ae->cfg.msg_bytes_max = 1;
    ae->ops = *ops;
    ae->tree = tree;
    ae->store = store;
    ae->next_sid = cfg->sid_base != 0 ? cfg->sid_base : 1;
    return ae;
}

static void session_close(ae_session_t *s)
{
    free(s->diff);
    free(s->buckets);
    buf_free(&s->pos);
    buf_free(&s->batch_start);
    memset(s, 0, sizeof *s);
}

void ae_free(ae_t *ae)
{
    if (ae == NULL)
        return;
    for (uint32_t i = 0; i < AE_SESSIONS_MAX; i++)
        if (ae->sessions[i].used)
            session_close(&ae->sessions[i]);
    free(ae);
}

uint32_t ae_sessions(const ae_t *ae)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < AE_SESSIONS_MAX; i++)
        n += ae->sessions[i].used;
    return n;
}

bool ae_session_active(const ae_t *ae, uint64_t peer)
{
    for (uint32_t i = 0; i < AE_SESSIONS_MAX; i++)
        if (ae->sessions[i].used && ae->sessions[i].peer == peer)
            return true;
    return false;
}

const ae_stats_t *ae_stats(const ae_t *ae) { return &ae->stats; }

uint64_t ae_next_deadline(const ae_t *ae)
{
    uint64_t next = UINT64_MAX;
    for (uint32_t i = 0; i < AE_SESSIONS_MAX; i++)
        if (ae->sessions[i].used && ae->sessions[i].deadline_ms < next)
            next = ae->sessions[i].deadline_ms;
    return next;
}

static ae_session_t *session_find(ae_t *ae, uint64_t peer, uint64_t sid, bool initiator)
{
    for (uint32_t i = 0; i < AE_SESSIONS_MAX; i++) {
        ae_session_t *s = &ae->sessions[i];
        if (s->used && s->peer == peer && s->sid == sid && s->initiator == initiator)
            return s;
    }
    return NULL;
}

static ae_session_t *session_alloc(ae_t *ae)
{
    if (ae_sessions(ae) >= ae->cfg.sessions_max)
        return NULL;
    for (uint32_t i = 0; i < AE_SESSIONS_MAX; i++)
        if (!ae->sessions[i].used)
            return &ae->sessions[i];
    return NULL;
}

static void outbox_push(ae_t *ae, ae_outbox_t *out, uint64_t peer, buf_t *bytes)
{
    if (out->len == out->cap) {
        out->cap = out->cap ? out->cap * 2 : 8;
        out->items = xrealloc(out->items, out->cap * sizeof *out->items);
    }
    ae->stats.msgs_sent++;
    ae->stats.bytes_sent += bytes->len;
    out->items[out->len].peer = peer;
    out->items[out->len++].bytes = *bytes;
    buf_init(bytes);
}

/* Sends m as s's next message and re-arms s's timeout. */
static void session_send(ae_t *ae, ae_session_t *s, ae_msg_t *m, uint64_t now_ms,
                         ae_outbox_t *out)
{
    buf_t bytes = BUF_INIT;
    m->sid = s->sid;
    m->seq = s->expect++;
    m->from_initiator = s->initiator;
    ae_msg_encode(m, &bytes);
    outbox_push(ae, out, s->peer, &bytes);
    s->deadline_ms = now_ms + ae->cfg.timeout_ms;
}

/* Ends s, telling the peer with END(status) when send is true. */
static void session_end(ae_t *ae, ae_session_t *s, uint8_t status, bool send, uint64_t now_ms,
                        ae_outbox_t *out)
{
    if (send) {
        ae_msg_t m;
        ae_msg_init(&m);
        m.type = AE_MSG_END;
        m.status = status;
        session_send(ae, s, &m, now_ms, out);
    }
    if (status == AE_END_IN_SYNC) {
        ae->stats.completed++;
        ae->stats.in_sync++;
    } else {
        ae->stats.failed++;
    }
    session_close(s);
}

void ae_tick(ae_t *ae, uint64_t now_ms, ae_outbox_t *out)
{
    for (uint32_t i = 0; i < AE_SESSIONS_MAX; i++) {
        ae_session_t *s = &ae->sessions[i];
        if (s->used && now_ms >= s->deadline_ms) {
            s->expect++; /* the peer's message never came: our END follows it */
            session_end(ae, s, AE_END_ERROR, true, now_ms, out);
        }
    }
}

/* ====================================================================== */
/* the tree descent                                                        */
/* ====================================================================== */

int ae_session_start(ae_t *ae, uint64_t now_ms, uint64_t peer, const merkle_slots_t *shared,
                     ae_outbox_t *out)
{
    if (merkle_slots_count(shared) == 0)
        return AE_EINVAL;
    for (uint32_t i = 0; i < AE_SESSIONS_MAX; i++)
        if (ae->sessions[i].used && ae->sessions[i].initiator && ae->sessions[i].peer == peer)
            return AE_EBUSY;
    ae_session_t *s = session_alloc(ae);
    if (s == NULL)
        return AE_EBUSY;
    memset(s, 0, sizeof *s);
    s->used = true;
    s->initiator = true;
    s->peer = peer;
    s->sid = ae->next_sid++;
    s->mask = *shared;
    ae_node_hash_t root = {0, merkle_hash_masked(ae->tree, 0, 0, &s->mask)};
    ae_msg_t m;
    ae_msg_init(&m);
    m.type = AE_MSG_START;
    m.slots = *shared;
    m.nodes = &root;
    m.n_nodes = 1;
    session_send(ae, s, &m, now_ms, out);
    ae->stats.rounds++;
    return AE_OK;
}

static int start_digests(ae_t *ae, ae_session_t *s, const uint32_t *diff, uint32_t n,
                         uint64_t now_ms, ae_outbox_t *out);

/* Sends the hashes of the children of the n differing nodes at level: the
 * parents among them with a slot in the mask, and their children whose
 * masked hash is not 0. */
static void send_children(ae_t *ae, ae_session_t *s, const uint32_t *diff, uint32_t n,
                          uint64_t now_ms, ae_outbox_t *out)
{
    unsigned child = s->level + 1u;
    uint32_t fan = level_fan(child);
    ae_msg_t m;
    ae_msg_init(&m);
    m.type = AE_MSG_TREE;
    m.level = (uint8_t)child;
    m.parents = xcalloc(n, sizeof *m.parents);
    m.nodes = xcalloc((size_t)n * fan, sizeof *m.nodes);
    for (uint32_t i = 0; i < n; i++) {
        uint16_t first;
        uint32_t count;
        merkle_node_slots(s->level, diff[i], &first, &count);
        if (!merkle_slots_any(&s->mask, first, count))
            continue;
        m.parents[m.n_parents++] = diff[i];
        for (uint32_t c = diff[i] * fan; c < (diff[i] + 1) * fan; c++) {
            uint64_t h = merkle_hash_masked(ae->tree, child, c, &s->mask);
            if (h != 0)
                m.nodes[m.n_nodes++] = (ae_node_hash_t){c, h};
        }
    }
    if (m.n_parents == 0) {
        session_end(ae, s, AE_END_IN_SYNC, true, now_ms, out);
    } else {
        s->level = (uint8_t)child;
        session_send(ae, s, &m, now_ms, out);
    }
    ae_msg_free(&m);
}

/* The nodes of m (START: the root; TREE: every child of its parents) whose
 * masked hash here differs from the peer's; returns how many went to diff
 * (owned by the caller). Leaves of slots outside s's mask are not compared. */
static uint32_t compare_nodes(ae_t *ae, const ae_session_t *s, const ae_msg_t *m, uint32_t **diff)
{
    if (m->type == AE_MSG_START) {
        *diff = xcalloc(1, sizeof **diff);
        ae->stats.trees_compared++;
        return merkle_hash_masked(ae->tree, 0, 0, &s->mask) != m->nodes[0].hash;
    }
    uint32_t fan = level_fan(m->level), n = 0, next = 0;
    *diff = xcalloc((size_t)m->n_parents * fan, sizeof **diff);
    for (uint32_t i = 0; i < m->n_parents; i++) {
        for (uint32_t c = m->parents[i] * fan; c < (m->parents[i] + 1) * fan; c++) {
            uint64_t theirs = 0;
            if (next < m->n_nodes && m->nodes[next].index == c)
                theirs = m->nodes[next++].hash;
            if (m->level == MERKLE_LEAF_LEVEL && !merkle_slots_has(&s->mask, merkle_leaf_slot(c)))
                continue;
            ae->stats.trees_compared++;
            if (merkle_hash_masked(ae->tree, m->level, c, &s->mask) != theirs)
                (*diff)[n++] = c;
        }
    }
    return n;
}

/* Compares the peer's hashes at m->level with ours and answers. */
static int on_tree(ae_t *ae, ae_session_t *s, const ae_msg_t *m, uint64_t now_ms,
                   ae_outbox_t *out)
{
    bool leaf = m->level == MERKLE_LEAF_LEVEL;
    if ((m->type == AE_MSG_TREE && m->level != s->level + 1) || (leaf && s->initiator)) {
        session_end(ae, s, AE_END_ERROR, true, now_ms, out);
        return AE_EMSG;
    }
    uint32_t *diff;
    uint32_t n = compare_nodes(ae, s, m, &diff);
    s->level = m->level;
    int rc = AE_OK;
    if (n == 0)
        session_end(ae, s, AE_END_IN_SYNC, true, now_ms, out);
    else if (leaf)
        rc = start_digests(ae, s, diff, n, now_ms, out);
    else
        send_children(ae, s, diff, n, now_ms, out);
    free(diff);
    return rc;
}

static int on_start(ae_t *ae, uint64_t now_ms, uint64_t peer, const ae_msg_t *m,
                    ae_outbox_t *out)
{
    if (session_find(ae, peer, m->sid, false) != NULL)
        return AE_ESTALE; /* a duplicate START */
    bool recent = false;
    for (uint32_t i = 0; i < AE_RECENT_MAX; i++)
        recent = recent || (ae->recent[i].sid == m->sid && ae->recent[i].peer == peer);
    ae_session_t *s = recent ? NULL : session_alloc(ae);
    if (s == NULL) { /* refused: an END that ends the peer's session, if any */
        ae_msg_t end;
        buf_t bytes = BUF_INIT;
        ae_msg_init(&end);
        end.type = AE_MSG_END;
        end.sid = m->sid;
        end.seq = 1;
        end.status = recent ? AE_END_ERROR : AE_END_BUSY;
        ae_msg_encode(&end, &bytes);
        outbox_push(ae, out, peer, &bytes);
        return recent ? AE_ESTALE : AE_EBUSY;
    }
    ae->recent[ae->recent_next].peer = peer;
    ae->recent[ae->recent_next].sid = m->sid;
    ae->recent_next = (ae->recent_next + 1) % AE_RECENT_MAX;
    memset(s, 0, sizeof *s);
    s->used = true;
    s->peer = peer;
    s->sid = m->sid;
    s->expect = 1;
    merkle_slots_fill(&s->mask);
    if (ae->ops.local_slots != NULL)
        ae->ops.local_slots(ae->ops.arg, &s->mask);
    merkle_slots_intersect(&s->mask, &m->slots);
    ae->stats.sessions_served++;
    return on_tree(ae, s, m, now_ms, out);
}

/* ====================================================================== */
/* key digests and version sets                                            */
/* ====================================================================== */

/* The end of slot's data range for store_scan (NULL past the last slot). */
static const uint8_t *slot_end(uint16_t slot, uint8_t buf[SLOT_KEY_PREFIX_LEN], size_t *len)
{
    if (slot + 1 >= SLOT_COUNT) {
        *len = 0;
        return NULL;
    }
    slot_prefix(buf, (uint16_t)(slot + 1));
    *len = SLOT_KEY_PREFIX_LEN;
    return buf;
}

/* Collects up to limit (key, hash) pairs of a slot range, of the keys in
 * the given buckets only; the next such key after the limit, if any, becomes
 * next. */
typedef struct key_scan {
    ae_pool_t *pool;
    ae_digest_t *items; /* cap limit */
    uint32_t n;
    uint32_t limit;
    uint64_t buckets;
    ae_bytes_t next;
    int rc;
} key_scan_t;

static int key_scan_fn(void *arg, const void *key, size_t key_len, const void *val,
                       size_t val_len)
{
    key_scan_t *ks = arg;
    if (!bucket_in(ks->buckets, &(ae_bytes_t){key, key_len}))
        return 0;
    if (ks->n == ks->limit) {
        ks->next = pool_copy(ks->pool, key, key_len);
        return 1;
    }
    uint64_t h;
    if (merkle_key_hash_encoded(key, key_len, val, val_len, &h) != 0) {
        ks->rc = STORE_ECORRUPT;
        return 1;
    }
    ks->items[ks->n++] = (ae_digest_t){pool_copy(ks->pool, key, key_len), h};
    return 0;
}

/* Scans [start, end of start's slot) into ks. */
static int key_scan_run(ae_t *ae, key_scan_t *ks, ae_bytes_t start, ae_bytes_t end)
{
    uint8_t buf[SLOT_KEY_PREFIX_LEN];
    size_t end_len = end.len;
    const uint8_t *end_p = end.len ? end.p : slot_end(key_slot(start.p), buf, &end_len);
    int rc = store_scan(ae->store, STORE_CF_DATA, start.p, start.len, end_p, end_len,
                        key_scan_fn, ks);
    return rc < 0 ? rc : ks->rc;
}

/* The index of the first differing slot >= slot (n_diff when none). */
static uint32_t diff_lower_bound(const ae_session_t *s, uint16_t slot)
{
    uint32_t lo = 0, hi = s->n_diff;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (s->diff[mid] < slot)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void pos_set(ae_session_t *s, const void *key, size_t len)
{
    buf_clear(&s->pos);
    buf_append(&s->pos, key, len);
    s->pos_done = false;
}

/* Fills m's segments and digests from s->pos and advances s->pos past them. */
static int build_digests(ae_t *ae, ae_session_t *s, ae_msg_t *m, ae_pool_t *pool)
{
    uint32_t limit = ae->cfg.keys_per_msg_max;
    m->segments = xcalloc(AE_SEGMENTS_MAX, sizeof *m->segments);
    m->digests = xcalloc(limit, sizeof *m->digests);
    buf_clear(&s->batch_start);
    buf_append(&s->batch_start, s->pos.data, s->pos.len);
    uint32_t idx = diff_lower_bound(s, key_slot((const uint8_t *)s->pos.data));
    while (!s->pos_done && m->n_segments < AE_SEGMENTS_MAX && m->n_digests < limit) {
        uint16_t slot = s->diff[idx];
        uint8_t prefix[SLOT_KEY_PREFIX_LEN];
        if (key_slot((const uint8_t *)s->pos.data) != slot) {
            slot_prefix(prefix, slot);
            pos_set(s, prefix, sizeof prefix);
        }
        ae_segment_t *seg = &m->segments[m->n_segments++];
        key_scan_t ks = {pool, m->digests + m->n_digests, 0, limit - m->n_digests,
                         s->buckets[idx], {NULL, 0}, 0};
        seg->slot = slot;
        seg->buckets = s->buckets[idx];
        seg->start = pool_copy(pool, s->pos.data, s->pos.len);
        int rc = key_scan_run(ae, &ks, seg->start, (ae_bytes_t){NULL, 0});
        if (rc < 0)
            return rc;
        seg->first = m->n_digests;
        seg->count = ks.n;
        m->n_digests += ks.n;
        seg->end = ks.next;
        if (ks.next.len > 0) {
            pos_set(s, ks.next.p, ks.next.len);
        } else if (++idx < s->n_diff) {
            slot_prefix(prefix, s->diff[idx]);
            pos_set(s, prefix, sizeof prefix);
        } else {
            s->pos_done = true;
        }
    }
    return 0;
}

/* Decodes and merges version sets received for keys of s's slots. */
static int merge_kvs(ae_t *ae, ae_session_t *s, const ae_msg_t *m)
{
    for (uint32_t i = 0; i < m->n_kvs; i++) {
        const ae_kv_t *kv = &m->kvs[i];
        versions_t vs = VERSIONS_INIT;
        if (!merkle_slots_has(&s->mask, key_slot(kv->key.p)))
            return AE_EMSG;
        if (versions_decode(&vs, kv->val.p, kv->val.len) != VERSIONS_OK)
            return AE_EMSG;
        int rc = ae->ops.merge(ae->ops.arg, kv->key.p, kv->key.len, &vs);
        versions_free(&vs);
        if (rc < 0)
            return AE_ESTORE;
        ae->stats.keys_exchanged++;
    }
    return AE_OK;
}

/* Appends key's stored version set to m's kvs; returns its size (0: gone). */
static int64_t add_value(ae_t *ae, ae_msg_t *m, ae_pool_t *pool, ae_bytes_t key)
{
    buf_t val = BUF_INIT;
    int rc = store_get(ae->store, STORE_CF_DATA, key.p, key.len, &val);
    if (rc == 1 && val.len > 0) {
        m->kvs[m->n_kvs++] = (ae_kv_t){key, pool_copy(pool, val.data, val.len)};
        ae->stats.keys_exchanged++;
    }
    int64_t size = rc == 1 ? (int64_t)val.len : rc;
    buf_free(&val);
    return size;
}

static int start_digests(ae_t *ae, ae_session_t *s, const uint32_t *diff, uint32_t n,
                         uint64_t now_ms, ae_outbox_t *out)
{
    s->diff = xcalloc(n, sizeof *s->diff);
    s->buckets = xcalloc(n, sizeof *s->buckets);
    for (uint32_t i = 0; i < n; i++) { /* leaves ascending: slots ascending */
        uint16_t slot = merkle_leaf_slot(diff[i]);
        if (s->n_diff == 0 || s->diff[s->n_diff - 1] != slot)
            s->diff[s->n_diff++] = slot;
        s->buckets[s->n_diff - 1] |= 1ULL << merkle_leaf_bucket(diff[i]);
    }
    ae->stats.slots_differing += s->n_diff;
    uint8_t prefix[SLOT_KEY_PREFIX_LEN];
    slot_prefix(prefix, s->diff[0]);
    pos_set(s, prefix, sizeof prefix);
    ae_msg_t m;
    ae_pool_t pool = {NULL, 0, 0};
    ae_msg_init(&m);
    m.type = AE_MSG_DIGESTS;
    int rc = build_digests(ae, s, &m, &pool);
    if (rc < 0)
        session_end(ae, s, AE_END_ERROR, true, now_ms, out);
    else
        session_send(ae, s, &m, now_ms, out);
    ae_msg_free(&m);
    pool_free(&pool);
    return rc < 0 ? AE_ESTORE : AE_OK;
}

/* Responder: moves the stream position to I's cut, if it gave one. */
static int sync_position(ae_session_t *s, ae_bytes_t cut)
{
    if (cut.len == 0)
        return AE_OK;
    bool after_start = bytes_cmp(cut.p, cut.len, (const uint8_t *)s->batch_start.data,
                                 s->batch_start.len) > 0;
    bool before_end = s->pos_done ||
                      bytes_cmp(cut.p, cut.len, (const uint8_t *)s->pos.data, s->pos.len) <= 0;
    uint32_t idx = diff_lower_bound(s, key_slot(cut.p));
    if (!after_start || !before_end || idx == s->n_diff || s->diff[idx] != key_slot(cut.p))
        return AE_EMSG;
    pos_set(s, cut.p, cut.len);
    return AE_OK;
}

/* Responder: answers I's wants up to the byte bound; the first one left out
 * moves the stream position back so that it comes again. */
static int serve_wants(ae_t *ae, ae_session_t *s, const ae_msg_t *m, ae_msg_t *r,
                       ae_pool_t *pool)
{
    uint64_t bytes = 0;
    r->kvs = xcalloc(m->n_wants ? m->n_wants : 1, sizeof *r->kvs);
    for (uint32_t i = 0; i < m->n_wants; i++) {
        ae_bytes_t w = m->wants[i];
        uint32_t idx = diff_lower_bound(s, key_slot(w.p));
        if (idx == s->n_diff || s->diff[idx] != key_slot(w.p) || !bucket_in(s->buckets[idx], &w) ||
            bytes_cmp(w.p, w.len, (const uint8_t *)s->batch_start.data, s->batch_start.len) < 0)
            return AE_EMSG; /* only keys of the batch just sent */
        if (i > 0 && bytes >= ae->cfg.msg_bytes_max) {
            if (s->pos_done || bytes_cmp(w.p, w.len, (const uint8_t *)s->pos.data, s->pos.len) < 0)
                pos_set(s, w.p, w.len);
            break;
        }
        int64_t size = add_value(ae, r, pool, w);
        if (size < 0)
            return AE_ESTORE;
        bytes += (uint64_t)size;
    }
    return AE_OK;
}

static int on_sync(ae_t *ae, ae_session_t *s, const ae_msg_t *m, uint64_t now_ms,
                   ae_outbox_t *out)
{
    ae_msg_t r;
    ae_pool_t pool = {NULL, 0, 0};
    ae_msg_init(&r);
    r.type = AE_MSG_DIGESTS;
    int rc = merge_kvs(ae, s, m);
    if (rc == AE_OK)
        rc = sync_position(s, m->cut);
    if (rc == AE_OK)
        rc = serve_wants(ae, s, m, &r, &pool);
    if (rc == AE_OK && !s->pos_done && build_digests(ae, s, &r, &pool) < 0)
        rc = AE_ESTORE;
    if (rc != AE_OK) {
        session_end(ae, s, AE_END_ERROR, true, now_ms, out);
    } else {
        r.end = r.n_segments == 0;
        session_send(ae, s, &r, now_ms, out);
        if (r.end) {
            ae->stats.completed++;
            session_close(s);
        }
    }
    ae_msg_free(&r);
    pool_free(&pool);
    return rc;
}

/* Initiator: the reply under construction while comparing digests. */
typedef struct sync_ctx {
    ae_t *ae;
    ae_msg_t *reply;
    ae_pool_t *pool;
    uint32_t handled;
    uint64_t bytes;
    bool stopped;
} sync_ctx_t;

/* Handles one key: own (may be NULL) against the peer's digest d (may be NULL). */
static int sync_key(sync_ctx_t *x, const ae_digest_t *own, const ae_digest_t *d)
{
    x->handled++;
    x->ae->stats.keys_compared++;
    if (own != NULL && d != NULL && own->hash == d->hash)
        return 0;
    if (d != NULL)
        x->reply->wants[x->reply->n_wants++] = d->key;
    if (own == NULL)
        return 0;
    int64_t size = add_value(x->ae, x->reply, x->pool, own->key);
    if (size < 0)
        return AE_ESTORE;
    x->bytes += (uint64_t)size;
    return 0;
}

/* Compares one segment of the peer's digests with our keys in its range. */
static int sync_segment(sync_ctx_t *x, const ae_msg_t *m, const ae_segment_t *seg)
{
    uint32_t limit = x->ae->cfg.keys_per_msg_max - x->handled + 1;
    key_scan_t ks = {x->pool, xcalloc(limit, sizeof(ae_digest_t)), 0, limit, seg->buckets,
                     {NULL, 0}, 0};
    int rc = key_scan_run(x->ae, &ks, seg->start, seg->end);
    for (uint32_t i = 0, j = 0; rc == 0 && (i < ks.n || j < seg->count);) {
        const ae_digest_t *own = i < ks.n ? &ks.items[i] : NULL;
        const ae_digest_t *d = j < seg->count ? &m->digests[seg->first + j] : NULL;
        int c = own == NULL ? 1 : d == NULL ? -1
                : bytes_cmp(own->key.p, own->key.len, d->key.p, d->key.len);
        ae_bytes_t key = c <= 0 ? own->key : d->key;
        if (x->handled >= x->ae->cfg.keys_per_msg_max || x->bytes >= x->ae->cfg.msg_bytes_max) {
            x->reply->cut = key; /* in the pool or in the message being handled */
            x->stopped = true;
            break;
        }
        rc = sync_key(x, c <= 0 ? own : NULL, c >= 0 ? d : NULL);
        i += c <= 0;
        j += c >= 0;
    }
    free(ks.items);
    return rc;
}

static int on_digests(ae_t *ae, ae_session_t *s, const ae_msg_t *m, uint64_t now_ms,
                      ae_outbox_t *out)
{
    int rc = merge_kvs(ae, s, m);
    if (rc == AE_OK && m->end) {
        ae->stats.completed++;
        session_close(s);
        return AE_OK;
    }
    ae_msg_t r;
    ae_pool_t pool = {NULL, 0, 0};
    ae_msg_init(&r);
    r.type = AE_MSG_SYNC;
    r.kvs = xcalloc(ae->cfg.keys_per_msg_max, sizeof *r.kvs);
    r.wants = xcalloc(ae->cfg.keys_per_msg_max, sizeof *r.wants);
    sync_ctx_t x = {ae, &r, &pool, 0, 0, false};
    for (uint32_t i = 0; rc == AE_OK && !x.stopped && i < m->n_segments; i++)
        rc = sync_segment(&x, m, &m->segments[i]);
    if (rc == AE_OK)
        session_send(ae, s, &r, now_ms, out);
    else
        session_end(ae, s, AE_END_ERROR, true, now_ms, out);
    ae_msg_free(&r);
    pool_free(&pool);
    return rc;
}

/* ====================================================================== */
/* dispatch                                                                */
/* ====================================================================== */

static int on_message(ae_t *ae, ae_session_t *s, const ae_msg_t *m, uint64_t now_ms,
                      ae_outbox_t *out)
{
    switch (m->type) {
    case AE_MSG_END:
        session_end(ae, s, m->status, false, now_ms, out);
        return AE_OK;
    case AE_MSG_TREE:
        return on_tree(ae, s, m, now_ms, out);
    case AE_MSG_DIGESTS:
        if (s->initiator)
            return on_digests(ae, s, m, now_ms, out);
        break;
    case AE_MSG_SYNC:
        if (!s->initiator)
            return on_sync(ae, s, m, now_ms, out);
        break;
    default:
        break;
    }
    session_end(ae, s, AE_END_ERROR, true, now_ms, out);
    return AE_EMSG;
}

int ae_handle_message(ae_t *ae, uint64_t now_ms, uint64_t from_peer, const void *bytes,
                      size_t len, ae_outbox_t *out)
{
    ae_msg_t m;
    if (!ae_msg_decode(&m, bytes, len))
        return AE_EMSG;
    int rc;
    if (m.type == AE_MSG_START) {
        rc = m.from_initiator ? on_start(ae, now_ms, from_peer, &m, out) : AE_EMSG;
    } else {
        ae_session_t *s = session_find(ae, from_peer, m.sid, !m.from_initiator);
        if (s == NULL || m.seq != s->expect) {
            rc = AE_ESTALE;
        } else {
            s->expect++;
            s->deadline_ms = now_ms + ae->cfg.timeout_ms;
            rc = on_message(ae, s, &m, now_ms, out);
        }
    }
    ae_msg_free(&m);
    return rc;
}
