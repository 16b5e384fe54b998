/* sim_client.c - the workload: clients that SET, DEL and GET their own keys,
 * SET shared registers, and add items to shared carts with DYN.GET then
 * DYN.PUT (union of the siblings read, plus the new item), each request
 * through a random live node. A client waits for each answer (or gives up
 * after SIM_CLIENT_TIMEOUT_MS) before the next. Every acknowledged write goes
 * to the oracle, even when its client already gave up on it. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "sim_int.h"
#include "util/alloc.h"

#define SIM_CART_ITEMS_MAX 100000

/* Recent requests per client, to attribute late replies. */
static sim_req_rec_t *sim_req_slot(sim_t *s, uint32_t c, uint32_t seq)
{
    return &s->recs[c][seq % SIM_CLIENT_REQS];
}

static void sim_client_schedule(sim_t *s, uint32_t c, uint64_t at)
{
    sim_event_t ev = {.at_ms = at, .kind = SIM_EV_CLIENT, .from = ++s->clients[c].wake, .to = c};
    sim_queue_push(&s->q, &ev);
}

static int sim_pick_via(sim_t *s)
{
    uint32_t start = pcg32_bounded(&s->work_rng, s->nnodes);
    for (uint32_t k = 0; k < s->nnodes; k++) {
        uint32_t i = (start + k) % s->nnodes;
        if (sim_node_usable(s, i))
            return (int)i;
    }
    return -1;
}

/* Sends argv through node via as client c's next request. */
static void sim_client_send(sim_t *s, uint32_t c, uint32_t via, int argc, const char **argv,
                            const size_t *lens)
{
    sim_client_t *cl = &s->clients[c];
    cl->seq++;
    sim_req_rec_t *rec = sim_req_slot(s, c, cl->seq);
    rec->seq = cl->seq;
    rec->key = cl->key;
    rec->op = cl->op;
    memcpy(rec->item, cl->item, sizeof rec->item);
    sim_trace(s, cl->key, SIM_TR_OP, c, via, (uint64_t)cl->op, cl->seq, 0);
    sim_client_schedule(s, c, s->now + SIM_CLIENT_TIMEOUT_MS);
    uint64_t req_id = (uint64_t)c << 32 | cl->seq;
    node_client_op(s->nodes[via].node, sim_node_now(s, via), req_id, argc, argv, lens);
    sim_after_event(s, via);
}

static void sim_client_simple(sim_t *s, uint32_t c, uint32_t via, const char *cmd)
{
    sim_client_t *cl = &s->clients[c];
    const sim_key_t *k = &s->keys[cl->key];
    const char *argv[3] = {cmd, k->name, cl->value.data};
    size_t lens[3] = {strlen(cmd), k->len, cl->value.len};
    cl->phase = SIM_CLIENT_WAIT;
    sim_client_send(s, c, via, cl->op == SIM_OP_SET || cl->op == SIM_OP_PROBE ? 3 : 2, argv,
                    lens);
}

static void sim_client_start_op(sim_t *s, uint32_t c, uint32_t via)
{
    sim_client_t *cl = &s->clients[c];
    uint32_t r = pcg32_bounded(&s->work_rng, 100);
    uint32_t own = c * SIM_OWN_KEYS + pcg32_bounded(&s->work_rng, SIM_OWN_KEYS);
    uint32_t base = SIM_CLIENTS * SIM_OWN_KEYS;
    buf_clear(&cl->value);
    buf_printf(&cl->value, "c%us%u", c, cl->seq + 1);
    buf_append_byte(&cl->value, 0);
    cl->value.len--;
    if (r < 25 || (r >= 55 && r < 62)) {
        cl->op = SIM_OP_SET;
        cl->key = (int)(r < 25 ? own : base + pcg32_bounded(&s->work_rng, SIM_REGS));
        sim_client_simple(s, c, via, "SET");
    } else if (r < 35) {
        cl->op = SIM_OP_DEL;
        cl->key = (int)own;
        sim_client_simple(s, c, via, "DEL");
    } else if (r < 55) {
        cl->op = SIM_OP_GET;
        cl->key = (int)own;
        sim_client_simple(s, c, via, "GET");
    } else {
        cl->op = SIM_OP_CART_GET;
        cl->key = (int)(base + SIM_REGS + pcg32_bounded(&s->work_rng, SIM_CARTS));
        snprintf(cl->item, sizeof cl->item, "i%u.%u", c, cl->seq + 1);
        cl->phase = SIM_CLIENT_CART_READ;
        const sim_key_t *k = &s->keys[cl->key];
        const char *argv[2] = {"DYN.GET", k->name};
        size_t lens[2] = {7, k->len};
        sim_client_send(s, c, via, 2, argv, lens);
    }
}

void sim_client_wake(sim_t *s, uint32_t c, uint32_t wake)
{
    sim_client_t *cl = &s->clients[c];
    if (wake != cl->wake)
        return;
    if (cl->phase != SIM_CLIENT_IDLE) {
        s->sum->timed_out++;
        if (cl->op == SIM_OP_PROBE) {
            s->sum->probes_failed++;
            sim_violation(s, cl->key, "a write timed out while W nodes of its extended "
                                      "preference list were reachable");
        }
        cl->phase = SIM_CLIENT_IDLE;
        if (s->probing)
            return;
    }
    if (s->ops_issued >= s->opts.ops || s->probing) {
        cl->stopped = true;
        return;
    }
    int via = sim_pick_via(s);
    if (via < 0) {
        sim_client_schedule(s, c, s->now + 100);
        return;
    }
    s->ops_issued++;
    s->sum->ops++;
    sim_client_start_op(s, c, (uint32_t)via);
}

static int sim_cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The union of the items of every live sibling, plus item, into out. */
static void sim_cart_union(const versions_t *vs, uint64_t now, const char *item, buf_t *out)
{
    char **items = xcalloc(SIM_CART_ITEMS_MAX, sizeof *items);
    size_t n = 0;
    items[n++] = xstrdup(item);
    for (uint32_t i = 0; i < versions_live_count(vs, now); i++) {
        const version_t *v = versions_live_at(vs, now, i);
        char *copy = xstrndup(v->value ? v->value : "", v->value_len), *save = NULL;
        for (char *t = strtok_r(copy, ",", &save); t && n < SIM_CART_ITEMS_MAX;
             t = strtok_r(NULL, ",", &save))
            items[n++] = xstrdup(t);
        free(copy);
    }
    qsort(items, n, sizeof *items, sim_cmp_str);
    buf_clear(out);
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || strcmp(items[i], items[i - 1]) != 0) {
            if (out->len)
                buf_append_byte(out, ',');
            buf_append_str(out, items[i]);
        }
    }
    for (size_t i = 0; i < n; i++)
        free(items[i]);
    free(items);
    buf_append_byte(out, 0);
    out->len--;
}

static void sim_cart_put(sim_t *s, uint32_t c, uint32_t via_read, const coord_reply_t *r)
{
    sim_client_t *cl = &s->clients[c];
    sim_cart_union(&r->values, sim_node_now(s, via_read), cl->item, &cl->value);
    int via = sim_pick_via(s);
    if (via < 0) {
        cl->phase = SIM_CLIENT_IDLE;
        sim_client_schedule(s, c, s->now + 1);
        return;
    }
    cl->op = SIM_OP_CART_PUT;
    cl->phase = SIM_CLIENT_CART_PUT;
    const sim_key_t *k = &s->keys[cl->key];
    const char *argv[4] = {"DYN.PUT", k->name, r->context.data ? r->context.data : "",
                           cl->value.data};
    size_t lens[4] = {7, k->len, r->context.len, cl->value.len};
    sim_client_send(s, c, (uint32_t)via, 4, argv, lens);
}

/* The oracle's part of a reply: acknowledged writes, even late ones. */
static void sim_client_record(sim_t *s, uint32_t c, const sim_req_rec_t *rec,
                              const node_effect_t *e)
{
    const coord_reply_t *r = &e->reply;
    bool error = r->kind == COORD_REPLY_STROP && r->strop == STROP_REPLY_ERROR;
    sim_trace(s, rec->key, SIM_TR_REPLY, c, 0, error, r->dot.actor, r->dot.counter);
    if (!r->wrote || error)
        return;
    s->sum->writes_acked++;
    sim_oracle_acked(s, rec->key, r->dot);
    if (rec->op == SIM_OP_CART_PUT) {
        s->sum->carts_acked++;
        sim_oracle_cart_item(s, rec->key, rec->item);
    }
}

static void sim_client_check_read(sim_t *s, uint32_t via, const sim_client_t *cl,
                                  const coord_reply_t *r)
{
    if (r->kind != COORD_REPLY_STROP ||
        (r->strop != STROP_REPLY_VALUES && r->strop != STROP_REPLY_VALUE))
        return;
    s->sum->reads_ok++;
    if (r->strop == STROP_REPLY_VALUE || versions_live_count(&r->values, sim_node_now(s, via)) <= 1)
        return;
    s->sum->siblings_seen++;
    if (s->opts.faults == SIM_FAULTS_NONE && s->keys[cl->key].owner >= 0)
        sim_violation(s, cl->key, "a fault-free run with one writer showed siblings");
}

void sim_client_reply(sim_t *s, uint32_t via, const node_effect_t *e)
{
    uint32_t c = (uint32_t)(e->client_req_id >> 32), seq = (uint32_t)e->client_req_id;
    if (c >= SIM_CLIENTS)
        return;
    sim_client_t *cl = &s->clients[c];
    const sim_req_rec_t *rec = sim_req_slot(s, c, seq);
    if (rec->seq == seq)
        sim_client_record(s, c, rec, e);
    if (cl->phase == SIM_CLIENT_IDLE || seq != cl->seq)
        return; /* the client gave up on it */
    const coord_reply_t *r = &e->reply;
    bool error = r->kind == COORD_REPLY_STROP && r->strop == STROP_REPLY_ERROR;
    if (error) {
        s->sum->failed++;
        if (cl->op == SIM_OP_PROBE) {
            s->sum->probes_failed++;
            sim_violation(s, cl->key, "a write failed while W nodes of its extended "
                                      "preference list were reachable: %.*s",
                          (int)r->text.len, r->text.data ? r->text.data : "");
        }
    } else {
        s->sum->acked++;
        s->sum->probes += cl->op == SIM_OP_PROBE;
        if (cl->op == SIM_OP_GET)
            sim_client_check_read(s, via, cl, r);
        if (cl->op == SIM_OP_CART_GET && r->kind == COORD_REPLY_CONTEXT) {
            sim_cart_put(s, c, via, r);
            return;
        }
    }
    cl->phase = SIM_CLIENT_IDLE;
    if (!s->probing)
        sim_client_schedule(s, c, s->now + 1 + pcg32_bounded(&s->work_rng, SIM_THINK_MS_MAX));
    else
        cl->wake++;
}

void sim_clients_start(sim_t *s)
{
    char name[64];
    for (uint32_t c = 0; c < SIM_CLIENTS; c++) {
        for (uint32_t j = 0; j < SIM_OWN_KEYS; j++) {
            snprintf(name, sizeof name, "k%u.%u", c, j);
            sim_key_add(s, name, (int)c, false);
        }
    }
    for (uint32_t j = 0; j < SIM_REGS; j++) {
        snprintf(name, sizeof name, "reg%u", j);
        sim_key_add(s, name, -1, false);
    }
    for (uint32_t j = 0; j < SIM_CARTS; j++) {
        snprintf(name, sizeof name, "{cart%u}", j);
        sim_key_add(s, name, -1, true);
    }
    for (uint32_t c = 0; c < SIM_CLIENTS; c++)
        sim_client_schedule(s, c, s->now + pcg32_bounded(&s->work_rng, SIM_THINK_MS_MAX));
}

bool sim_clients_idle(const sim_t *s)
{
    for (uint32_t c = 0; c < SIM_CLIENTS; c++) {
        if (s->clients[c].phase != SIM_CLIENT_IDLE)
            return false;
    }
    return true;
}

void sim_probe(sim_t *s, uint32_t via, uint32_t n)
{
    char name[32];
    snprintf(name, sizeof name, "probe:%u", n);
    sim_client_t *cl = &s->clients[0];
    cl->key = sim_key_add(s, name, 0, false);
    cl->op = SIM_OP_PROBE;
    buf_clear(&cl->value);
    buf_printf(&cl->value, "p%u", n);
    buf_append_byte(&cl->value, 0);
    cl->value.len--;
    sim_client_simple(s, 0, via, "SET");
}
