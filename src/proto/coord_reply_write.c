/* coord_reply_write.c - RESP for the node's answers, and the gathering of
 * multi-key commands (see coord_reply_write.h). GATHER_ONE writes its answer
 * as it comes and copies nothing; the other kinds keep only what the final
 * reply needs (MGET's answers, the first error). */
#include "proto/coord_reply_write.h"

#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"

/* The live siblings of vs: nil, one bulk, or an array of bulks. */
static void write_values(reply_t *r, const versions_t *vs, uint64_t now_ms)
{
    uint32_t n = versions_live_count(vs, now_ms);
    if (n == 0) {
        reply_null(r);
        return;
    }
    if (n > 1)
        reply_array(r, n);
    for (uint32_t k = 0; k < vs->len; k++) {
        const version_t *v = &vs->items[k];
        if (!version_is_dead(v, now_ms))
            reply_bulk(r, v->value, v->value_len);
    }
}

/* DYN.GET: [context, live values...]; "" is the context of a key never
 * written. */
static void write_context(reply_t *r, const coord_reply_t *cr, uint64_t now_ms)
{
    uint32_t n = versions_live_count(&cr->values, now_ms);
    reply_array(r, (size_t)n + 1);
    reply_bulk(r, cr->context.data, cr->context.len);
    for (uint32_t i = 0; i < n; i++) {
        const version_t *v = versions_live_at(&cr->values, now_ms, i);
        reply_bulk(r, v->value, v->value_len);
    }
}

/* An error text (no leading '-') held in a buf_t without its NUL. */
static void write_error(reply_t *r, const buf_t *text)
{
    if (text->len == 0) {
        reply_error(r, "ERR the cluster gave no answer");
        return;
    }
    reply_errorf(r, "%.*s", (int)text->len, text->data);
}

/* A status text (TYPE's "string"), at most COORD_TEXT_MAX bytes. */
static void write_status(reply_t *r, const buf_t *text)
{
    char s[COORD_TEXT_MAX + 1];
    size_t len = text->len < COORD_TEXT_MAX ? text->len : COORD_TEXT_MAX;
    memcpy(s, text->data, len);
    s[len] = 0;
    reply_simple(r, s);
}

void coord_reply_write(reply_t *r, const coord_reply_t *cr, uint64_t now_ms)
{
    if (cr->kind == COORD_REPLY_CONTEXT) {
        write_context(r, cr, now_ms);
        return;
    }
    switch (cr->strop) {
    case STROP_REPLY_OK:
        reply_ok(r);
        break;
    case STROP_REPLY_NIL:
        reply_null(r);
        break;
    case STROP_REPLY_INT:
        reply_int(r, cr->integer);
        break;
    case STROP_REPLY_VALUE:
        reply_bulk(r, cr->value.data, cr->value.len);
        break;
    case STROP_REPLY_VALUES:
        write_values(r, &cr->values, now_ms);
        break;
    case STROP_REPLY_STATUS:
        write_status(r, &cr->text);
        break;
    case STROP_REPLY_ERROR:
        write_error(r, &cr->text);
        break;
    case STROP_REPLY_CONFLICT:
        reply_errorf(r, "CONFLICT key has %lld siblings; resolve with DYN.GET and DYN.PUT",
                     (long long)cr->integer);
        break;
    }
}

/* ---- gathering ------------------------------------------------------------ */

static bool is_error(const coord_reply_t *cr)
{
    return cr->kind == COORD_REPLY_STROP &&
           (cr->strop == STROP_REPLY_ERROR || cr->strop == STROP_REPLY_CONFLICT);
}

void gather_init(gather_t *g)
{
    memset(g, 0, sizeof *g);
    coord_reply_init(&g->error);
}

/* Frees what the last command kept and goes idle. */
static void gather_reset(gather_t *g)
{
    if (g->each != NULL) {
        for (uint32_t i = 0; i < g->total; i++)
            coord_reply_free(&g->each[i]);
        free(g->each);
        g->each = NULL;
    }
    coord_reply_free(&g->error);
    g->total = g->done = 0;
    g->sum = 0;
}

void gather_free(gather_t *g)
{
    gather_reset(g);
}

void gather_begin(gather_t *g, enum gather_kind kind, uint32_t total)
{
    gather_reset(g);
    g->kind = kind;
    g->total = kind == GATHER_ONE ? 1 : total;
    g->error_at = g->total;
    if (kind == GATHER_MGET) {
        g->each = xmalloc((size_t)total * sizeof *g->each);
        for (uint32_t i = 0; i < total; i++)
            coord_reply_init(&g->each[i]);
    }
}

/* The reply once every answer is in. */
static void gather_finish(gather_t *g, reply_t *r, uint64_t now_ms)
{
    if (g->error_at < g->total) {
        coord_reply_write(r, &g->error, now_ms);
        return;
    }
    switch (g->kind) {
    case GATHER_ONE:
        break; /* written as it came */
    case GATHER_MGET:
        reply_array(r, g->total);
        for (uint32_t i = 0; i < g->total; i++)
            coord_reply_write(r, &g->each[i], now_ms);
        break;
    case GATHER_MSET:
        reply_ok(r);
        break;
    case GATHER_SUM:
        reply_int(r, g->sum);
        break;
    }
}

bool gather_add(gather_t *g, uint32_t idx, const coord_reply_t *cr, reply_t *r,
                uint64_t now_ms)
{
    if (idx >= g->total || !gather_busy(g))
        return false;
    g->done++;
    if (g->kind == GATHER_ONE) {
        coord_reply_write(r, cr, now_ms);
    } else if (is_error(cr)) {
        if (idx < g->error_at) {
            g->error_at = idx;
            coord_reply_copy(&g->error, cr);
        }
    } else if (g->kind == GATHER_MGET) {
        coord_reply_copy(&g->each[idx], cr);
    } else if (g->kind == GATHER_SUM) {
        g->sum += cr->integer;
    }
    if (gather_busy(g))
        return false;
    gather_finish(g, r, now_ms);
    gather_reset(g);
    return true;
}
