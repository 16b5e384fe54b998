/* member.c - the gossip view: entries, merge, forget tombstones, digest.
 *
 * See member.h for the model. Layout: the view object, applying one
 * announced entry (shared by merge and upsert), tombstones, the digest
 * encoding, then target choice and ring members. */
#include "core/member.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

#define MEMBER_ENCODING_VERSION 1
#define MEMBER_FLAG_LEFT 0x01
#define MEMBER_FLAG_LEAVE_DONE 0x02 /* only with MEMBER_FLAG_LEFT */

typedef struct member_tomb {
    char id[RING_NODE_ID_LEN + 1];
    uint64_t until_ms;
} member_tomb_t;

/* A decoded tombstone, before it is applied. */
typedef struct member_tomb_msg {
    char id[RING_NODE_ID_LEN + 1];
    uint64_t remaining_ms;
} member_tomb_msg_t;

struct member_view {
    member_t *entries; /* owned, MEMBER_MAX entries, first len used, sorted by id */
    size_t len;
    member_tomb_t tombs[MEMBER_TOMBSTONES_MAX];
    size_t tomb_len;
    char self_id[RING_NODE_ID_LEN + 1];
    fd_t *fd; /* owned */
};

/* ---------------------------------------------------------------- object */

static bool member_valid(const member_t *m)
{
    return ring_node_id_valid(m->id, strnlen(m->id, RING_NODE_ID_LEN + 1)) &&
           strnlen(m->host, MEMBER_HOST_LEN_MAX + 1) <= MEMBER_HOST_LEN_MAX &&
           m->weight >= 1 && m->weight <= RING_WEIGHT_MAX &&
           strnlen(m->zone, RING_ZONE_LEN_MAX + 1) <= RING_ZONE_LEN_MAX &&
           m->state <= MEMBER_LEFT;
}

/* The position of id, or where it would be inserted (*found false). */
static size_t member_search(const member_view_t *view, const char *id, bool *found)
{
    return ring_id_search(view->entries, view->len, sizeof *view->entries, id, found);
}

_Static_assert(offsetof(member_t, id) == 0, "ring_id_search needs the id first");

member_view_t *member_view_new(const member_t *self, const fd_config_t *fd_cfg, uint64_t now_ms)
{
    if (!member_valid(self))
        return NULL;
    fd_t *fd = fd_new(fd_cfg);
    if (!fd)
        return NULL;
    member_view_t *view = xcalloc(1, sizeof *view);
    view->entries = xcalloc(MEMBER_MAX, sizeof *view->entries);
    view->fd = fd;
    view->entries[0] = *self;
    view->entries[0].state = MEMBER_ALIVE;
    view->entries[0].heard_ms = now_ms;
    view->len = 1;
    memcpy(view->self_id, self->id, RING_NODE_ID_LEN);
    return view;
}

void member_view_free(member_view_t *view)
{
    if (!view)
        return;
    fd_free(view->fd);
    free(view->entries);
    free(view);
}

size_t member_count(const member_view_t *view) { return view->len; }
const fd_t *member_fd(const member_view_t *view) { return view->fd; }

const member_t *member_at(const member_view_t *view, size_t idx)
{
    return idx < view->len ? &view->entries[idx] : NULL;
}

const member_t *member_find(const member_view_t *view, const char *id)
{
    bool found;
    size_t pos = member_search(view, id, &found);
    return found ? &view->entries[pos] : NULL;
}

member_t *member_self(member_view_t *view)
{
    bool found;
    size_t pos = member_search(view, view->self_id, &found);
    return &view->entries[pos];
}

static member_state_t member_state_of(fd_state_t st, member_state_t old)
{
    switch (st) {
    case FD_ALIVE: return MEMBER_ALIVE;
    case FD_SUSPECT: return MEMBER_SUSPECT;
    case FD_FAILED: return MEMBER_FAILED;
    case FD_UNKNOWN: break;
    }
    return old;
}

static void member_prune_tombs(member_view_t *view, uint64_t now_ms)
{
    size_t kept = 0;
    for (size_t i = 0; i < view->tomb_len; i++) {
        if (view->tombs[i].until_ms > now_ms)
            view->tombs[kept++] = view->tombs[i];
    }
    view->tomb_len = kept;
}

size_t member_tick(member_view_t *view, uint64_t now_ms)
{
    member_prune_tombs(view, now_ms);
    member_t *self = member_self(view);
    self->heartbeat++;
    self->heard_ms = now_ms;
    size_t changes = 0;
    for (size_t i = 0; i < view->len; i++) {
        member_t *m = &view->entries[i];
        if (m == self || m->state == MEMBER_LEFT)
            continue;
        member_state_t st = member_state_of(fd_state(view->fd, m->id, now_ms), m->state);
        changes += st != m->state;
        m->state = st;
    }
    return changes;
}

void member_leave(member_view_t *view)
{
    member_t *self = member_self(view);
    self->state = MEMBER_LEFT;
    self->heartbeat++;
}

void member_leave_done(member_view_t *view)
{
    member_t *self = member_self(view);
    self->leave_done = true;
    self->heartbeat++;
}

/* --------------------------------------------------- applying an entry */

static bool member_newer(const member_t *a, const member_t *b)
{
    if (a->incarnation != b->incarnation)
        return a->incarnation > b->incarnation;
    return a->heartbeat > b->heartbeat;
}

/* Copies what a node announces about itself from src into dst. */
static void member_take_announced(member_t *dst, const member_t *src, uint64_t now_ms)
{
    bool left = src->state == MEMBER_LEFT;
    memcpy(dst->id, src->id, sizeof dst->id);
    memcpy(dst->host, src->host, sizeof dst->host);
    dst->port = src->port;
    dst->bus_port = src->bus_port;
    dst->weight = src->weight;
    memcpy(dst->zone, src->zone, sizeof dst->zone);
    dst->incarnation = src->incarnation;
    dst->heartbeat = src->heartbeat;
    dst->state = left ? MEMBER_LEFT : MEMBER_ALIVE;
    dst->leave_done = left && src->leave_done;
    dst->heard_ms = now_ms;
}

/* Someone holds a newer word about this node than itself (it restarted
 * without its incarnation): jump past it so its own word wins again. */
static int member_refute(member_view_t *view, const member_t *m)
{
    member_t *self = member_self(view);
    if (!member_newer(m, self))
        return 0;
    self->incarnation = m->incarnation;
    self->heartbeat = m->heartbeat + 1;
    return 1;
}

/* Applies one announced entry: 1 when the view changed, 0 when not, -1 when
 * the view is full. */
static int member_apply(member_view_t *view, const member_t *m, uint64_t now_ms)
{
    if (strcmp(m->id, view->self_id) == 0)
        return member_refute(view, m);
    if (member_forgotten(view, m->id, now_ms))
        return 0;
    bool found;
    size_t pos = member_search(view, m->id, &found);
    if (found && !member_newer(m, &view->entries[pos]))
        return 0;
    if (!found) {
        if (view->len == MEMBER_MAX)
            return -1;
        memmove(&view->entries[pos + 1], &view->entries[pos],
                (view->len - pos) * sizeof *view->entries);
        view->len++;
        memset(&view->entries[pos], 0, sizeof view->entries[pos]);
    }
    member_take_announced(&view->entries[pos], m, now_ms);
    if (view->entries[pos].state == MEMBER_LEFT)
        fd_forget(view->fd, m->id);
    else
        fd_heard(view->fd, m->id, now_ms);
    return 1;
}

int member_upsert(member_view_t *view, const member_t *m, uint64_t now_ms)
{
    if (!member_valid(m))
        return -1;
    member_prune_tombs(view, now_ms);
    return member_apply(view, m, now_ms);
}

/* ----------------------------------------------------------- tombstones */

bool member_forgotten(const member_view_t *view, const char *id, uint64_t now_ms)
{
    for (size_t i = 0; i < view->tomb_len; i++) {
        if (view->tombs[i].until_ms > now_ms &&
            strncmp(view->tombs[i].id, id, RING_NODE_ID_LEN + 1) == 0)
            return true;
    }
    return false;
}

/* Tombstones id until until_ms. An existing tombstone is only ever extended
 * by a local forget, never by gossip, so tombstones bouncing between nodes
 * cannot live forever. A full table drops the tombstone that expires first. */
static void member_tomb_set(member_view_t *view, const char *id, uint64_t until_ms, bool local)
{
    for (size_t i = 0; i < view->tomb_len; i++) {
        if (strcmp(view->tombs[i].id, id) == 0) {
            if (local && until_ms > view->tombs[i].until_ms)
                view->tombs[i].until_ms = until_ms;
            return;
        }
    }
    size_t slot = view->tomb_len;
    if (slot == MEMBER_TOMBSTONES_MAX) {
        slot = 0;
        for (size_t i = 1; i < view->tomb_len; i++) {
            if (view->tombs[i].until_ms < view->tombs[slot].until_ms)
                slot = i;
        }
    } else {
        view->tomb_len++;
    }
    memset(&view->tombs[slot], 0, sizeof view->tombs[slot]);
    memcpy(view->tombs[slot].id, id, RING_NODE_ID_LEN);
    view->tombs[slot].until_ms = until_ms;
}

/* Drops id's entry (not self); true when there was one. */
static bool member_remove(member_view_t *view, const char *id)
{
    bool found;
    size_t pos = member_search(view, id, &found);
    if (!found || strcmp(id, view->self_id) == 0)
        return false;
    memmove(&view->entries[pos], &view->entries[pos + 1],
            (view->len - pos - 1) * sizeof *view->entries);
    view->len--;
    fd_forget(view->fd, id);
    return true;
}

bool member_forget(member_view_t *view, const char *id, uint64_t now_ms)
{
    member_prune_tombs(view, now_ms);
    if (!member_remove(view, id))
        return false;
    member_tomb_set(view, id, now_ms + MEMBER_FORGET_TTL_MS, true);
    return true;
}

/* --------------------------------------------------------------- digest */

void member_encode(const member_view_t *view, uint64_t now_ms, buf_t *out)
{
    buf_append_byte(out, MEMBER_ENCODING_VERSION);
    buf_put_varint(out, view->len);
    for (size_t i = 0; i < view->len; i++) {
        const member_t *m = &view->entries[i];
        buf_append(out, m->id, RING_NODE_ID_LEN);
        buf_put_bytes(out, m->host, strlen(m->host));
        buf_put_u16be(out, m->port);
        buf_put_u16be(out, m->bus_port);
        buf_put_varint(out, m->weight);
        buf_put_bytes(out, m->zone, strlen(m->zone));
        buf_put_varint(out, m->incarnation);
        buf_put_varint(out, m->heartbeat);
        uint8_t flags = m->state == MEMBER_LEFT ? MEMBER_FLAG_LEFT : 0;
        flags |= flags && m->leave_done ? MEMBER_FLAG_LEAVE_DONE : 0;
        buf_append_byte(out, flags);
    }
    size_t live = 0;
    for (size_t i = 0; i < view->tomb_len; i++)
        live += view->tombs[i].until_ms > now_ms;
    buf_put_varint(out, live);
    for (size_t i = 0; i < view->tomb_len; i++) {
        if (view->tombs[i].until_ms <= now_ms)
            continue;
        buf_append(out, view->tombs[i].id, RING_NODE_ID_LEN);
        buf_put_varint(out, view->tombs[i].until_ms - now_ms);
    }
}

static bool member_decode_fail(cursor_t *c)
{
    c->error = true;
    c->pos = c->end;
    return false;
}

/* Reads a length-prefixed string of at most max bytes, without NULs, into
 * dst (room for max + 1). */
static bool member_decode_str(cursor_t *c, size_t max, char *dst)
{
    const uint8_t *p;
    size_t len;
    if (!cursor_bytes(c, max, &p, &len))
        return false;
    if (memchr(p, '\0', len))
        return member_decode_fail(c);
    memcpy(dst, p, len);
    dst[len] = '\0';
    return true;
}

static bool member_decode_id(cursor_t *c, char *dst)
{
    const uint8_t *p;
    if (!cursor_raw(c, RING_NODE_ID_LEN, &p))
        return false;
    if (!ring_node_id_valid((const char *)p, RING_NODE_ID_LEN))
        return member_decode_fail(c);
    memcpy(dst, p, RING_NODE_ID_LEN);
    dst[RING_NODE_ID_LEN] = '\0';
    return true;
}

static bool member_decode_entry(cursor_t *c, member_t *m)
{
    uint64_t weight;
    uint8_t flags;
    memset(m, 0, sizeof *m);
    if (!member_decode_id(c, m->id) || !member_decode_str(c, MEMBER_HOST_LEN_MAX, m->host) ||
        !cursor_u16be(c, &m->port) || !cursor_u16be(c, &m->bus_port) ||
        !cursor_varint(c, &weight) || !member_decode_str(c, RING_ZONE_LEN_MAX, m->zone) ||
        !cursor_varint(c, &m->incarnation) || !cursor_varint(c, &m->heartbeat) ||
        !cursor_u8(c, &flags))
        return false;
    if (weight < 1 || weight > RING_WEIGHT_MAX ||
        (flags & ~(MEMBER_FLAG_LEFT | MEMBER_FLAG_LEAVE_DONE)) != 0 ||
        flags == MEMBER_FLAG_LEAVE_DONE)
        return member_decode_fail(c);
    m->weight = (uint32_t)weight;
    m->state = (flags & MEMBER_FLAG_LEFT) ? MEMBER_LEFT : MEMBER_ALIVE;
    m->leave_done = (flags & MEMBER_FLAG_LEAVE_DONE) != 0;
    return true;
}

/* Decodes a whole digest into entries (room for MEMBER_MAX) and tombs (room
 * for MEMBER_TOMBSTONES_MAX). */
static bool member_decode(cursor_t *c, member_t *entries, size_t *len, member_tomb_msg_t *tombs,
                          size_t *tomb_len)
{
    uint8_t version;
    uint64_t count;
    if (!cursor_u8(c, &version))
        return false;
    if (version != MEMBER_ENCODING_VERSION || !cursor_varint(c, &count) || count > MEMBER_MAX)
        return member_decode_fail(c);
    for (*len = 0; *len < count; (*len)++) {
        if (!member_decode_entry(c, &entries[*len]))
            return false;
    }
    if (!cursor_varint(c, &count) || count > MEMBER_TOMBSTONES_MAX)
        return member_decode_fail(c);
    for (*tomb_len = 0; *tomb_len < count; (*tomb_len)++) {
        member_tomb_msg_t *t = &tombs[*tomb_len];
        if (!member_decode_id(c, t->id) || !cursor_varint(c, &t->remaining_ms))
            return false;
        if (t->remaining_ms > MEMBER_FORGET_TTL_MS)
            return member_decode_fail(c);
    }
    return true;
}

int member_merge(member_view_t *view, cursor_t *c, uint64_t now_ms)
{
    member_t *entries = xmalloc(MEMBER_MAX * sizeof *entries);
    member_tomb_msg_t *tombs = xmalloc(MEMBER_TOMBSTONES_MAX * sizeof *tombs);
    size_t len = 0, tomb_len = 0;
    int changed = -1;
    if (member_decode(c, entries, &len, tombs, &tomb_len)) {
        changed = 0;
        member_prune_tombs(view, now_ms);
        for (size_t i = 0; i < tomb_len; i++) {
            if (strcmp(tombs[i].id, view->self_id) == 0 || tombs[i].remaining_ms == 0)
                continue;
            changed += member_remove(view, tombs[i].id);
            member_tomb_set(view, tombs[i].id, now_ms + tombs[i].remaining_ms, false);
        }
        for (size_t i = 0; i < len; i++)
            changed += member_apply(view, &entries[i], now_ms) > 0;
    }
    free(tombs);
    free(entries);
    return changed;
}

/* ------------------------------------------------- targets, ring members */

size_t member_pick_targets(const member_view_t *view, pcg32_t *rng, size_t k, size_t *out)
{
    size_t cand[MEMBER_MAX];
    size_t n = 0;
    for (size_t i = 0; i < view->len; i++) {
        const member_t *m = &view->entries[i];
        if (m->state != MEMBER_LEFT && strcmp(m->id, view->self_id) != 0)
            cand[n++] = i;
    }
    if (k > MEMBER_TARGETS_MAX)
        k = MEMBER_TARGETS_MAX;
    size_t picked = 0;
    for (; picked < k && picked < n; picked++) {
        size_t j = picked + pcg32_bounded(rng, (uint32_t)(n - picked));
        size_t tmp = cand[picked];
        cand[picked] = cand[j];
        cand[j] = tmp;
        out[picked] = cand[picked];
    }
    return picked;
}

size_t member_ring_nodes(const member_view_t *view, ring_node_t *out)
{
    size_t n = 0;
    for (size_t i = 0; i < view->len; i++) {
        const member_t *m = &view->entries[i];
        if (m->state == MEMBER_LEFT)
            continue;
        memset(&out[n], 0, sizeof out[n]);
        memcpy(out[n].id, m->id, sizeof out[n].id);
        out[n].weight = m->weight;
        memcpy(out[n].zone, m->zone, sizeof out[n].zone);
        n++;
    }
    return n;
}

const char *member_state_name(member_state_t state)
{
    switch (state) {
    case MEMBER_ALIVE: return "alive";
    case MEMBER_SUSPECT: return "suspect";
    case MEMBER_FAILED: return "failed";
    case MEMBER_LEFT: return "left";
    }
    return "?";
}
