/* coord.c - client operations, replies and quorum bookkeeping (see coord.h). */
#include "core/coord.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/slot.h"
#include "util/alloc.h"
#include "util/hash.h"

/* ---- operations ---------------------------------------------------------- */

typedef struct coord_cmd {
    const char *name;
    enum strop_kind kind;
    bool is_read;
    bool dyn_get;
} coord_cmd_t;

static const coord_cmd_t coord_cmds[] = {
    {"get", STROP_GET, true, false},         {"strlen", STROP_STRLEN, true, false},
    {"ttl", STROP_TTL, true, false},         {"pttl", STROP_TTL, true, false},
    {"exists", STROP_EXISTS, true, false},   {"type", STROP_TYPE, true, false},
    {"dyn.get", STROP_GET, true, true},      {"set", STROP_SET, false, false},
    {"getdel", STROP_GETDEL, false, false},  {"getex", STROP_GETEX, false, false},
    {"append", STROP_APPEND, false, false},  {"expire", STROP_EXPIRE, false, false},
    {"pexpire", STROP_EXPIRE, false, false}, {"expireat", STROP_EXPIRE, false, false},
    {"pexpireat", STROP_EXPIRE, false, false}, {"persist", STROP_PERSIST, false, false},
    {"del", STROP_DEL, false, false},        {"dyn.put", STROP_DYN_PUT, false, false},
    {"dyn.del", STROP_DYN_DEL, false, false},
};

static const coord_cmd_t *coord_cmd_lookup(const char *name, size_t len)
{
    if (len == 0)
        return NULL;
    char first = name[0] >= 'A' && name[0] <= 'Z' ? (char)(name[0] - 'A' + 'a') : name[0];
    for (size_t i = 0; i < sizeof coord_cmds / sizeof coord_cmds[0]; i++) {
        const char *cand = coord_cmds[i].name;
        if (cand[0] == first && strlen(cand) == len && strncasecmp(cand, name, len) == 0)
            return &coord_cmds[i];
    }
    return NULL;
}

static void coord_op_zero(coord_op_t *op)
{
    memset(op, 0, sizeof *op);
    vclock_init(&op->floor);
}

/* Classifies argv and points op at it (borrowed); see coord_op_init. */
int coord_op_borrow(coord_op_t *op, int argc, const char *const *argv, const size_t *argvlen,
                    buf_t *err)
{
    coord_op_zero(op);
    if (argc < 2 || argc > COORD_ARGS_MAX) {
        buf_append_str(err, "ERR wrong number of arguments");
        return -1;
    }
    const coord_cmd_t *cmd = coord_cmd_lookup(argv[0], argvlen[0]);
    if (!cmd) {
        buf_append_str(err, "ERR unknown command");
        return -1;
    }
    op->kind = cmd->kind;
    op->is_read = cmd->is_read;
    op->dyn_get = cmd->dyn_get;
    op->argc = argc;
    op->argv = (char **)argv;
    op->argvlen = (size_t *)argvlen;
    op->slot = slot_of_key(argv[1], argvlen[1]);
    return 0;
}

/* One block: argv[argc], argvlen[argc], then each argument and its NUL. */
void coord_op_own(coord_op_t *op)
{
    if (op->owned || op->argc == 0)
        return;
    size_t n = (size_t)op->argc, bytes = n * (sizeof *op->argv + sizeof *op->argvlen);
    for (size_t i = 0; i < n; i++)
        bytes += op->argvlen[i] + 1;
    char **argv = xmalloc(bytes);
    size_t *argvlen = (size_t *)(argv + n);
    char *p = (char *)(argvlen + n);
    for (size_t i = 0; i < n; i++) {
        if (op->argvlen[i] > 0)
            memcpy(p, op->argv[i], op->argvlen[i]);
        p[op->argvlen[i]] = 0;
        argv[i] = p;
        argvlen[i] = op->argvlen[i];
        p += op->argvlen[i] + 1;
    }
    op->argv = argv;
    op->argvlen = argvlen;
    op->owned = true;
}

int coord_op_init(coord_op_t *op, int argc, const char *const *argv, const size_t *argvlen,
                  buf_t *err)
{
    if (coord_op_borrow(op, argc, argv, argvlen, err) != 0)
        return -1;
    coord_op_own(op);
    return 0;
}

void coord_op_free(coord_op_t *op)
{
    if (op->owned)
        free(op->argv);
    vclock_free(&op->floor);
    coord_op_zero(op);
}

void coord_op_encode(const coord_op_t *op, buf_t *out)
{
    buf_put_varint(out, (uint64_t)op->argc);
    for (int i = 0; i < op->argc; i++)
        buf_put_bytes(out, op->argv[i], op->argvlen[i]);
    vclock_encode(&op->floor, out);
}

bool coord_op_decode(coord_op_t *op, const void *bytes, size_t len)
{
    coord_op_free(op);
    cursor_t c;
    cursor_init(&c, bytes, len);
    uint64_t argc;
    if (!cursor_varint(&c, &argc) || argc < 2 || argc > COORD_ARGS_MAX)
        return false;
    const char *argv[COORD_ARGS_MAX];
    size_t argvlen[COORD_ARGS_MAX];
    for (uint64_t i = 0; i < argc; i++) {
        const uint8_t *p;
        if (!cursor_bytes(&c, COORD_ARG_MAX, &p, &argvlen[i]))
            return false;
        argv[i] = (const char *)p;
    }
    buf_t err = BUF_INIT;
    int rc = coord_op_init(op, (int)argc, argv, argvlen, &err);
    buf_free(&err);
    if (rc != 0)
        return false;
    if (!vclock_decode(&op->floor, &c) || cursor_left(&c) != 0) {
        coord_op_free(op);
        return false;
    }
    return true;
}

/* ---- replies ------------------------------------------------------------- */

void coord_reply_init(coord_reply_t *r)
{
    memset(r, 0, sizeof *r);
    versions_init(&r->values);
}

/* Leaves r as coord_reply_init does: the frees reset the owned fields, the
 * scalars are cleared here (cheaper than a memset on this hot path). */
void coord_reply_free(coord_reply_t *r)
{
    buf_free(&r->text);
    buf_free(&r->value);
    buf_free(&r->context);
    versions_free(&r->values);
    r->kind = COORD_REPLY_STROP;
    r->strop = 0;
    r->integer = 0;
    r->wrote = false;
    r->dot.actor = 0;
    r->dot.counter = 0;
}

void coord_reply_copy(coord_reply_t *dst, const coord_reply_t *src)
{
    coord_reply_free(dst);
    dst->kind = src->kind;
    dst->strop = src->strop;
    dst->integer = src->integer;
    buf_append(&dst->text, src->text.data, src->text.len);
    buf_append(&dst->value, src->value.data, src->value.len);
    buf_append(&dst->context, src->context.data, src->context.len);
    versions_copy(&dst->values, &src->values);
    dst->wrote = src->wrote;
    dst->dot = src->dot;
}

void coord_reply_error(coord_reply_t *r, const char *text)
{
    coord_reply_free(r);
    r->kind = COORD_REPLY_STROP;
    r->strop = STROP_REPLY_ERROR;
    buf_append(&r->text, text, strnlen(text, COORD_TEXT_MAX));
}

void coord_reply_move(coord_reply_t *dst, coord_reply_t *src)
{
    coord_reply_free(dst);
    *dst = *src;
    coord_reply_init(src);
}

void coord_reply_from_strop(coord_reply_t *r, strop_result_t *res)
{
    coord_reply_free(r);
    r->kind = COORD_REPLY_STROP;
    r->strop = res->reply;
    r->integer = res->integer;
    if (res->text)
        buf_append(&r->text, res->text, strnlen(res->text, COORD_TEXT_MAX));
    if (res->reply == STROP_REPLY_VALUE) {
        buf_t taken = res->value;
        res->value = r->value;
        r->value = taken;
    }
    if (res->reply == STROP_REPLY_VALUES && res->values)
        versions_copy(&r->values, res->values);
}

void coord_reply_context(coord_reply_t *r, const versions_t *read)
{
    coord_reply_free(r);
    r->kind = COORD_REPLY_CONTEXT;
    versions_copy(&r->values, read);
    if (read->len > 0) {
        vclock_t ctx = VCLOCK_INIT;
        versions_context(read, &ctx);
        vclock_context_encode(&ctx, &r->context);
        vclock_free(&ctx);
    }
}

void coord_reply_encode(const coord_reply_t *r, buf_t *out)
{
    buf_append_byte(out, (uint8_t)r->kind);
    buf_append_byte(out, (uint8_t)r->strop);
    buf_put_u64be(out, (uint64_t)r->integer);
    buf_put_bytes(out, r->text.data, r->text.len);
    buf_put_bytes(out, r->value.data, r->value.len);
    buf_put_bytes(out, r->context.data, r->context.len);
    buf_t vs = BUF_INIT;
    versions_encode(&r->values, &vs);
    buf_put_bytes(out, vs.data, vs.len);
    buf_free(&vs);
    buf_append_byte(out, r->wrote ? 1 : 0);
    buf_put_varint(out, r->dot.actor);
    buf_put_varint(out, r->dot.counter);
}

static bool coord_reply_decode_body(coord_reply_t *r, cursor_t *c)
{
    uint8_t kind, strop, wrote;
    uint64_t integer;
    const uint8_t *p;
    size_t len;
    if (!cursor_u8(c, &kind) || kind > COORD_REPLY_CONTEXT || !cursor_u8(c, &strop) ||
        strop > STROP_REPLY_CONFLICT || !cursor_u64be(c, &integer))
        return false;
    r->kind = kind;
    r->strop = strop;
    r->integer = (int64_t)integer;
    if (!cursor_bytes(c, COORD_TEXT_MAX, &p, &len))
        return false;
    buf_append(&r->text, p, len);
    if (!cursor_bytes(c, VERSIONS_VALUE_MAX, &p, &len))
        return false;
    buf_append(&r->value, p, len);
    if (!cursor_bytes(c, COORD_TEXT_MAX * 64, &p, &len))
        return false;
    buf_append(&r->context, p, len);
    if (!cursor_bytes(c, (size_t)-1, &p, &len) || versions_decode(&r->values, p, len) != 0)
        return false;
    if (!cursor_u8(c, &wrote) || wrote > 1 || !cursor_varint(c, &r->dot.actor) ||
        !cursor_varint(c, &r->dot.counter))
        return false;
    r->wrote = wrote;
    return cursor_left(c) == 0;
}

bool coord_reply_decode(coord_reply_t *r, const void *bytes, size_t len)
{
    coord_reply_free(r);
    cursor_t c;
    cursor_init(&c, bytes, len);
    if (!coord_reply_decode_body(r, &c)) {
        coord_reply_free(r);
        return false;
    }
    return true;
}

/* ---- requests in flight -------------------------------------------------- */

int coord_req_add_target(coord_req_t *req, const char *id, const char *hint_for)
{
    if (req->ntargets >= COORD_TARGETS_MAX)
        return -1;
    coord_target_t *t = &req->targets[req->ntargets];
    memset(t, 0, sizeof *t);
    coord_id_copy(t->id, id);
    coord_id_copy(t->hint_for, hint_for ? hint_for : "");
    t->state = COORD_TARGET_WAITING;
    versions_init(&t->read);
    return (int)req->ntargets++;
}

int coord_req_target(const coord_req_t *req, const char *id)
{
    for (uint32_t i = 0; i < req->ntargets; i++) {
        if (strcmp(req->targets[i].id, id) == 0)
            return (int)i;
    }
    return -1;
}

uint32_t coord_req_count(const coord_req_t *req, enum coord_target_state state)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < req->ntargets; i++)
        n += req->targets[i].state == state;
    return n;
}

bool coord_put_quorum(const coord_req_t *req)
{
    return coord_req_count(req, COORD_TARGET_OK) >= req->needed;
}

bool coord_get_take(coord_req_t *req, int idx, enum coord_target_state state,
                    versions_t *read)
{
    if (idx < 0 || (uint32_t)idx >= req->ntargets)
        return false;
    coord_target_t *t = &req->targets[idx];
    if (t->state != COORD_TARGET_WAITING)
        return false;
    t->state = state;
    if (state == COORD_TARGET_OK && read) {
        versions_t taken = t->read;
        t->read = *read;
        *read = taken;
        versions_merge(&req->merged, &t->read);
    }
    return true;
}

bool coord_get_record(coord_req_t *req, int idx, enum coord_target_state state,
                      const versions_t *read)
{
    versions_t copy = VERSIONS_INIT;
    if (state == COORD_TARGET_OK && read)
        versions_copy(&copy, read);
    bool fresh = coord_get_take(req, idx, state, read ? &copy : NULL);
    versions_free(&copy);
    return fresh;
}

bool coord_get_quorum(const coord_req_t *req)
{
    uint32_t answered =
        coord_req_count(req, COORD_TARGET_OK) + coord_req_count(req, COORD_TARGET_MISSING);
    return answered >= req->needed;
}

static bool coord_version_same(const version_t *a, const version_t *b)
{
    return a->dot.actor == b->dot.actor && a->dot.counter == b->dot.counter &&
           a->expire_at_ms == b->expire_at_ms && a->tombstone == b->tombstone &&
           a->value_len == b->value_len && a->past.len == b->past.len &&
           (a->value_len == 0 || memcmp(a->value, b->value, a->value_len) == 0) &&
           (a->past.len == 0 ||
            memcmp(a->past.entries, b->past.entries, a->past.len * sizeof *a->past.entries) == 0);
}

/* True when a and b hold the same versions, field for field. */
static bool coord_versions_same(const versions_t *a, const versions_t *b)
{
    if (a->len != b->len)
        return false;
    for (uint32_t i = 0; i < a->len; i++) {
        if (!coord_version_same(&a->items[i], &b->items[i]))
            return false;
    }
    return true;
}

bool coord_get_stale(const coord_req_t *req, int idx)
{
    const coord_target_t *t = &req->targets[idx];
    if (req->merged.len == 0)
        return false;
    if (t->state == COORD_TARGET_MISSING)
        return true;
    if (t->state != COORD_TARGET_OK)
        return false;
    /* The merge is a merge's output (no version covers another), so merging
     * it into an identical set changes nothing: skip the probe's copy. */
    if (coord_versions_same(&t->read, &req->merged))
        return false;
    versions_t probe = VERSIONS_INIT;
    versions_copy(&probe, &t->read);
    bool changed = versions_merge(&probe, &req->merged);
    versions_free(&probe);
    return changed;
}

bool coord_req_all_answered(const coord_req_t *req)
{
    return coord_req_count(req, COORD_TARGET_WAITING) == 0;
}

/* ---- the table ----------------------------------------------------------- */

void coord_table_init(coord_table_t *t)
{
    memset(t, 0, sizeof *t);
    t->next_id = 1;
}

/* Frees what req owns, then keeps req as a spare or frees it. */
static void coord_req_free(coord_table_t *t, coord_req_t *req)
{
    coord_op_free(&req->op);
    for (uint32_t i = 0; i < req->ntargets; i++)
        versions_free(&req->targets[i].read);
    versions_free(&req->merged);
    coord_reply_free(&req->reply);
    buf_free(&req->data_key);
    if (t->nspare < COORD_SPARE_MAX)
        t->spare[t->nspare++] = req;
    else
        free(req);
}

void coord_table_free(coord_table_t *t)
{
    for (uint32_t i = 0; i < t->len; i++)
        coord_req_free(t, t->reqs[i]);
    for (uint32_t i = 0; i < t->nspare; i++)
        free(t->spare[i]);
    free(t->reqs);
    free(t->index);
    coord_table_init(t);
}

static uint32_t coord_index_home(const coord_table_t *t, uint64_t id)
{
    return (uint32_t)hash64_mix(id) & (t->index_cap - 1);
}

/* The index slot holding id, or UINT32_MAX. */
static uint32_t coord_index_find(const coord_table_t *t, uint64_t id)
{
    if (t->index_cap == 0)
        return UINT32_MAX;
    for (uint32_t i = coord_index_home(t, id), n = 0; n < t->index_cap; n++) {
        uint32_t v = t->index[i];
        if (v == 0)
            return UINT32_MAX;
        if (t->reqs[v - 1]->req_id == id)
            return i;
        i = (i + 1) & (t->index_cap - 1);
    }
    return UINT32_MAX;
}

static void coord_index_put(coord_table_t *t, uint32_t pos)
{
    uint32_t i = coord_index_home(t, t->reqs[pos]->req_id);
    while (t->index[i] != 0)
        i = (i + 1) & (t->index_cap - 1);
    t->index[i] = pos + 1;
}

/* Empties slot i, shifting later entries of its cluster back (linear
 * probing's deletion without tombstones). */
static void coord_index_delete(coord_table_t *t, uint32_t i)
{
    uint32_t mask = t->index_cap - 1;
    t->index[i] = 0;
    for (uint32_t j = (i + 1) & mask; t->index[j] != 0; j = (j + 1) & mask) {
        uint32_t home = coord_index_home(t, t->reqs[t->index[j] - 1]->req_id);
        /* Move j back to i unless its home lies cyclically in (i, j]. */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            t->index[i] = t->index[j];
            t->index[j] = 0;
            i = j;
        }
    }
}

static void coord_table_grow(coord_table_t *t)
{
    t->cap = t->cap ? t->cap * 2 : 16;
    t->reqs = xrealloc(t->reqs, t->cap * sizeof *t->reqs);
    free(t->index);
    t->index_cap = 2 * t->cap;
    t->index = xcalloc(t->index_cap, sizeof *t->index);
    for (uint32_t pos = 0; pos < t->len; pos++)
        coord_index_put(t, pos);
}

coord_req_t *coord_table_add(coord_table_t *t, enum coord_req_kind kind)
{
    if (t->len >= COORD_PENDING_MAX)
        return NULL;
    if (t->len == t->cap)
        coord_table_grow(t);
    coord_req_t *req = t->nspare > 0 ? t->spare[--t->nspare] : xmalloc(sizeof *req);
    memset(req, 0, offsetof(coord_req_t, targets));
    req->req_id = t->next_id++;
    if (t->next_id == 0)
        t->next_id = 1; /* 0 means "no reply expected" on the bus */
    req->kind = kind;
    coord_op_zero(&req->op);
    versions_init(&req->merged);
    coord_reply_init(&req->reply);
    req->pos = t->len;
    t->reqs[t->len++] = req;
    coord_index_put(t, req->pos);
    return req;
}

coord_req_t *coord_table_find(const coord_table_t *t, uint64_t req_id)
{
    uint32_t i = coord_index_find(t, req_id);
    return i == UINT32_MAX ? NULL : t->reqs[t->index[i] - 1];
}

void coord_table_remove(coord_table_t *t, coord_req_t *req)
{
    uint32_t i = coord_index_find(t, req->req_id);
    if (i == UINT32_MAX || t->reqs[req->pos] != req)
        return;
    coord_index_delete(t, i);
    uint32_t last = --t->len;
    if (req->pos != last) {
        /* The last request moves into the hole: repoint its index slot. */
        coord_req_t *moved = t->reqs[last];
        t->index[coord_index_find(t, moved->req_id)] = req->pos + 1;
        moved->pos = req->pos;
        t->reqs[req->pos] = moved;
    }
    coord_req_free(t, req);
}

uint64_t coord_table_next_deadline(const coord_table_t *t)
{
    uint64_t next = UINT64_MAX;
    for (uint32_t i = 0; i < t->len; i++) {
        const coord_req_t *r = t->reqs[i];
        uint64_t at = r->replied ? r->linger_ms : r->deadline_ms;
        if (at < next)
            next = at;
    }
    return next;
}
