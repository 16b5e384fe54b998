/* mem_store.c - the in-memory store_t of the tests and the simulator (see
 * mem_store.h).
 *
 * One skiplist per column family keeps keys in bytewise order with O(log n)
 * lookups, inserts and deletes. Crash semantics come from an undo log: every
 * staged change records the key's previous value (moved, not copied), commit
 * forgets the log, and crash replays it backwards. Scans copy each key and
 * value out before calling back, and re-seek after a callback that changed
 * the store, so callbacks may write to the store they scan. */
#include "core/mem_store.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/pcg.h"

/* Skiplist height bound: with a 1/4 promotion chance, enough for 4^16 keys. */
#define MEM_STORE_LEVEL_MAX 16
#define MEM_STORE_PCG_SEED 0x6d656d73746f7265ULL
#define MEM_STORE_UNDO_CAP_MIN 16

typedef struct ms_node {
    char *val; /* owned; NULL when val_len is 0 */
    size_t val_len;
    size_t key_len;
    uint32_t level;
    char *key; /* points into this allocation, after next[] */
    struct ms_node *next[];
} ms_node_t;

typedef struct ms_map {
    ms_node_t *head; /* sentinel with MEM_STORE_LEVEL_MAX links */
    uint32_t level;
    size_t count;
    size_t bytes;
} ms_map_t;

/* One staged change: the key's value before it (had_old false: absent). */
typedef struct ms_undo {
    enum store_cf cf;
    bool had_old;
    char *key; /* owned */
    size_t key_len;
    char *old; /* owned */
    size_t old_len;
} ms_undo_t;

struct mem_store {
    ms_map_t maps[STORE_CF_COUNT];
    ms_undo_t *undo;
    size_t undo_len;
    size_t undo_cap;
    pcg32_t rng;
    uint64_t writes; /* bumped by every change, so scans know to re-seek */
    uint32_t fail_left;
    uint64_t failed;
};

/* ---- skiplist ---- */

static int key_cmp(const void *a, size_t al, const void *b, size_t bl)
{
    size_t n = al < bl ? al : bl;
    int r = n ? memcmp(a, b, n) : 0;
    if (r != 0)
        return r;
    return al < bl ? -1 : al > bl;
}

static ms_node_t *node_new(uint32_t level, const void *key, size_t key_len)
{
    size_t links = (size_t)level * sizeof(ms_node_t *);
    ms_node_t *n = xcalloc(1, sizeof *n + links + key_len);
    n->level = level;
    n->key = (char *)n + sizeof *n + links;
    if (key_len)
        memcpy(n->key, key, key_len);
    n->key_len = key_len;
    return n;
}

/* The first node with key >= key (NULL: none); update[i] gets the last node
 * before it on level i when update is not NULL. */
static ms_node_t *map_seek(const ms_map_t *m, const void *key, size_t key_len,
                           ms_node_t **update)
{
    ms_node_t *x = m->head;
    for (int i = (int)m->level - 1; i >= 0; i--) {
        while (x->next[i] && key_cmp(x->next[i]->key, x->next[i]->key_len, key, key_len) < 0)
            x = x->next[i];
        if (update)
            update[i] = x;
    }
    return x->next[0];
}

static ms_node_t *map_find(const ms_map_t *m, const void *key, size_t key_len, ms_node_t **update)
{
    ms_node_t *n = map_seek(m, key, key_len, update);
    return n && key_cmp(n->key, n->key_len, key, key_len) == 0 ? n : NULL;
}

static uint32_t random_level(pcg32_t *rng)
{
    uint32_t level = 1;
    while (level < MEM_STORE_LEVEL_MAX && (pcg32_next(rng) & 3) == 0)
        level++;
    return level;
}

/* Sets key to val, taking ownership of val. Returns the replaced value
 * (owned by the caller) through old, or NULL with *had_old false. */
static void map_set(ms_map_t *m, pcg32_t *rng, const void *key, size_t key_len, char *val,
                    size_t val_len, char **old, size_t *old_len, bool *had_old)
{
    ms_node_t *update[MEM_STORE_LEVEL_MAX];
    ms_node_t *n = map_find(m, key, key_len, update);
    *had_old = n != NULL;
    if (n) {
        *old = n->val;
        *old_len = n->val_len;
        m->bytes -= n->val_len;
    } else {
        *old = NULL;
        *old_len = 0;
        uint32_t level = random_level(rng);
        for (uint32_t i = m->level; i < level; i++)
            update[i] = m->head;
        if (level > m->level)
            m->level = level;
        n = node_new(level, key, key_len);
        for (uint32_t i = 0; i < level; i++) {
            n->next[i] = update[i]->next[i];
            update[i]->next[i] = n;
        }
        m->count++;
        m->bytes += key_len;
    }
    n->val = val;
    n->val_len = val_len;
    m->bytes += val_len;
}

/* Removes key; its value goes to the caller through old. False: absent. */
static bool map_remove(ms_map_t *m, const void *key, size_t key_len, char **old, size_t *old_len)
{
    ms_node_t *update[MEM_STORE_LEVEL_MAX];
    ms_node_t *n = map_find(m, key, key_len, update);
    if (!n)
        return false;
    for (uint32_t i = 0; i < n->level; i++)
        update[i]->next[i] = n->next[i];
    while (m->level > 1 && !m->head->next[m->level - 1])
        m->level--;
    *old = n->val;
    *old_len = n->val_len;
    m->count--;
    m->bytes -= n->key_len + n->val_len;
    free(n);
    return true;
}

static void map_init(ms_map_t *m)
{
    m->head = node_new(MEM_STORE_LEVEL_MAX, NULL, 0);
    m->level = 1;
    m->count = 0;
    m->bytes = 0;
}

static void map_free(ms_map_t *m)
{
    ms_node_t *n = m->head;
    while (n) {
        ms_node_t *next = n->next[0];
        free(n->val);
        free(n);
        n = next;
    }
    m->head = NULL;
}

/* ---- staged writes ---- */

/* Records a change to key; takes ownership of old. */
static void undo_push(mem_store_t *ms, enum store_cf cf, const void *key, size_t key_len,
                      bool had_old, char *old, size_t old_len)
{
    if (ms->undo_len == ms->undo_cap) {
        ms->undo_cap = ms->undo_cap ? ms->undo_cap * 2 : MEM_STORE_UNDO_CAP_MIN;
        ms->undo = xrealloc(ms->undo, ms->undo_cap * sizeof ms->undo[0]);
    }
    ms->undo[ms->undo_len++] = (ms_undo_t){cf, had_old, xmemdup(key, key_len), key_len, old, old_len};
    ms->writes++;
}

static void staged_put(mem_store_t *ms, enum store_cf cf, const void *key, size_t key_len,
                       const void *val, size_t val_len)
{
    char *old;
    size_t old_len;
    bool had_old;
    map_set(&ms->maps[cf], &ms->rng, key, key_len, xmemdup(val, val_len), val_len, &old,
            &old_len, &had_old);
    undo_push(ms, cf, key, key_len, had_old, old, old_len);
}

static void staged_del(mem_store_t *ms, enum store_cf cf, const void *key, size_t key_len)
{
    char *old;
    size_t old_len;
    if (map_remove(&ms->maps[cf], key, key_len, &old, &old_len))
        undo_push(ms, cf, key, key_len, true, old, old_len);
}

void mem_store_commit(mem_store_t *ms)
{
    for (size_t i = 0; i < ms->undo_len; i++) {
        free(ms->undo[i].key);
        free(ms->undo[i].old);
    }
    ms->undo_len = 0;
}

void mem_store_crash(mem_store_t *ms)
{
    while (ms->undo_len > 0) {
        ms_undo_t *u = &ms->undo[--ms->undo_len];
        ms_map_t *m = &ms->maps[u->cf];
        char *cur;
        size_t cur_len;
        bool had;
        if (u->had_old)
            map_set(m, &ms->rng, u->key, u->key_len, u->old, u->old_len, &cur, &cur_len, &had);
        else
            had = map_remove(m, u->key, u->key_len, &cur, &cur_len);
        if (had)
            free(cur);
        free(u->key);
    }
    ms->writes++;
}

size_t mem_store_pending(const mem_store_t *ms)
{
    return ms->undo_len;
}

/* ---- fault injection ---- */

void mem_store_fail_next(mem_store_t *ms, uint32_t count)
{
    ms->fail_left = count;
}

uint64_t mem_store_failed_ops(const mem_store_t *ms)
{
    return ms->failed;
}

/* True when this operation is to fail (and counts it). */
static bool fault_take(mem_store_t *ms)
{
    if (ms->fail_left == 0)
        return false;
    ms->fail_left--;
    ms->failed++;
    return true;
}

/* ---- store_ops ---- */

static bool cf_valid(enum store_cf cf)
{
    return (unsigned)cf < STORE_CF_COUNT;
}

static int ms_get(void *impl, enum store_cf cf, const void *key, size_t key_len, buf_t *val_out)
{
    mem_store_t *ms = impl;
    if (!cf_valid(cf) || fault_take(ms))
        return STORE_EIO;
    const ms_node_t *n = map_find(&ms->maps[cf], key, key_len, NULL);
    buf_clear(val_out);
    if (!n)
        return 0;
    buf_append(val_out, n->val, n->val_len);
    return 1;
}

static int ms_put(void *impl, enum store_cf cf, const void *key, size_t key_len, const void *val,
                  size_t val_len)
{
    mem_store_t *ms = impl;
    if (!cf_valid(cf) || fault_take(ms))
        return STORE_EIO;
    staged_put(ms, cf, key, key_len, val, val_len);
    return STORE_OK;
}

static int ms_del(void *impl, enum store_cf cf, const void *key, size_t key_len)
{
    mem_store_t *ms = impl;
    if (!cf_valid(cf) || fault_take(ms))
        return STORE_EIO;
    staged_del(ms, cf, key, key_len);
    return STORE_OK;
}

/* True when node n lies before the end bound (end NULL: no bound). */
static bool before_end(const ms_node_t *n, const void *end, size_t end_len)
{
    return n && (!end || key_cmp(n->key, n->key_len, end, end_len) < 0);
}

static int ms_scan(void *impl, enum store_cf cf, const void *start, size_t start_len,
                   const void *end, size_t end_len, store_scan_fn fn, void *arg)
{
    mem_store_t *ms = impl;
    if (!cf_valid(cf) || fault_take(ms))
        return STORE_EIO;
    const ms_map_t *m = &ms->maps[cf];
    buf_t key = BUF_INIT, val = BUF_INIT;
    ms_node_t *n = map_seek(m, start, start_len, NULL);
    while (before_end(n, end, end_len)) {
        buf_clear(&key);
        buf_clear(&val);
        buf_append(&key, n->key, n->key_len);
        buf_append(&val, n->val, n->val_len);
        uint64_t writes = ms->writes;
        if (fn(arg, key.data, key.len, val.data, val.len) != 0)
            break;
        if (ms->writes == writes) {
            n = n->next[0];
            continue;
        }
        n = map_seek(m, key.data, key.len, NULL);
        if (n && key_cmp(n->key, n->key_len, key.data, key.len) == 0)
            n = n->next[0];
    }
    buf_free(&key);
    buf_free(&val);
    return STORE_OK;
}

static int ms_del_range(void *impl, enum store_cf cf, const void *start, size_t start_len,
                        const void *end, size_t end_len)
{
    mem_store_t *ms = impl;
    if (!cf_valid(cf) || fault_take(ms))
        return STORE_EIO;
    ms_map_t *m = &ms->maps[cf];
    ms_node_t *n;
    while (before_end(n = map_seek(m, start, start_len, NULL), end, end_len)) {
        char *old;
        size_t old_len, key_len = n->key_len;
        char *key = xmemdup(n->key, key_len);
        map_remove(m, key, key_len, &old, &old_len);
        undo_push(ms, cf, key, key_len, true, old, old_len);
        free(key);
    }
    return STORE_OK;
}

static const store_ops_t mem_store_ops = {
    .get = ms_get,
    .put = ms_put,
    .del = ms_del,
    .scan = ms_scan,
    .del_range = ms_del_range,
};

/* ---- lifetime and figures ---- */

mem_store_t *mem_store_new(void)
{
    mem_store_t *ms = xcalloc(1, sizeof *ms);
    for (int cf = 0; cf < STORE_CF_COUNT; cf++)
        map_init(&ms->maps[cf]);
    pcg32_seed(&ms->rng, MEM_STORE_PCG_SEED, 0);
    return ms;
}

void mem_store_free(mem_store_t *ms)
{
    if (!ms)
        return;
    mem_store_commit(ms);
    free(ms->undo);
    for (int cf = 0; cf < STORE_CF_COUNT; cf++)
        map_free(&ms->maps[cf]);
    free(ms);
}

store_t mem_store_as_store(mem_store_t *ms)
{
    return (store_t){&mem_store_ops, ms};
}

size_t mem_store_count(const mem_store_t *ms, enum store_cf cf)
{
    return cf_valid(cf) ? ms->maps[cf].count : 0;
}

size_t mem_store_bytes(const mem_store_t *ms, enum store_cf cf)
{
    return cf_valid(cf) ? ms->maps[cf].bytes : 0;
}
