/* sim_world.c - the simulated world: nodes with in-memory stores, a virtual
 * clock, a faulty network, the fault scheduler, the event loop and the phases
 * of a run (see sim.h). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/msg.h"
#include "sim_int.h"
#include "util/alloc.h"

#define SIM_TICK_GUARD_MS 1     /* at most one tick of a node per virtual ms */
#define SIM_RESTART_RETRY_MS 50 /* a restart that failed on a storage fault is retried */
#define SIM_RESTART_TRIES 8     /* restarts tried at once after the faults stop */

/* ---- nodes ---------------------------------------------------------------- */

uint64_t sim_node_now(const sim_t *s, uint32_t i)
{
    return (uint64_t)((int64_t)s->now + s->nodes[i].skew_ms);
}

bool sim_node_usable(const sim_t *s, uint32_t i)
{
    return s->nodes[i].node && s->nodes[i].member && !s->nodes[i].leaving;
}

uint32_t sim_write_quorum(const sim_t *s)
{
    uint32_t members = 0;
    for (uint32_t i = 0; i < s->nnodes; i++)
        members += s->nodes[i].member;
    uint32_t w = s->opts.w < s->opts.n ? s->opts.w : s->opts.n;
    return w < members ? w : members;
}

static void sim_node_config(const sim_t *s, uint32_t i, node_config_t *cfg)
{
    node_config_default(cfg);
    coord_id_copy(cfg->id, s->nodes[i].id);
    cfg->actor = i + 1;
    cfg->port = (uint16_t)(7001 + i);
    cfg->bus_port = (uint16_t)(17001 + i);
    cfg->n = s->opts.n;
    cfg->r = s->opts.r;
    cfg->w = s->opts.w;
    cfg->request_timeout_ms = 600;
    cfg->read_repair_ms = 50;
    cfg->gossip_interval_ms = 100;
    cfg->gossip_fanout = 2;
    cfg->ae_interval_ms = 500;
    cfg->handoff_interval_ms = 200;
    cfg->fd.interval_ms_initial = 100;
    cfg->fd.interval_ms_min = 50;
    cfg->fd.phi_threshold = 8;
    cfg->fd.node_timeout_ms = 1500;
    cfg->hint.backoff_base_ms = 100;
    cfg->hint.backoff_max_ms = 1000;
    cfg->hint.ack_timeout_ms = 1000;
    cfg->ae.timeout_ms = 2000;
    cfg->tombstone_grace_ms = SIM_TOMBSTONE_GRACE_MS;
    cfg->background_bytes_per_sec = s->opts.budget;
    cfg->test_break = s->opts.brk;
}

static void sim_node_member(const sim_t *s, uint32_t i, member_t *m)
{
    memset(m, 0, sizeof *m);
    coord_id_copy(m->id, s->nodes[i].id);
    snprintf(m->host, sizeof m->host, "127.0.0.1");
    m->port = (uint16_t)(7001 + i);
    m->bus_port = (uint16_t)(17001 + i);
    m->weight = 1;
}

/* Starts node i on its store. A start can fail on an injected storage
 * fault (node_new refuses to start from defaults): returns false, and the
 * caller retries later, as a supervisor would. */
static bool sim_node_start(sim_t *s, uint32_t i)
{
    sim_node_t *n = &s->nodes[i];
    node_config_t cfg;
    sim_node_config(s, i, &cfg);
    n->node = node_new(&cfg, s->opts.seed * 31 + i * 7 + n->life, &n->store, sim_node_now(s, i));
    if (!n->node) {
        mem_store_crash(n->ms);
        return false;
    }
    mem_store_commit(n->ms);
    return true;
}

static void sim_node_create(sim_t *s, uint32_t i)
{
    sim_node_t *n = &s->nodes[i];
    memset(n, 0, sizeof *n);
    /* Ids differ in their first 16 hex characters (node_peer_key). */
    snprintf(n->id, sizeof n->id, "%016" PRIx64 "%024x",
             (uint64_t)(i + 1) * UINT64_C(0x1111111111111111), i + 1);
    n->ms = mem_store_new();
    n->store = mem_store_as_store(n->ms);
    if (s->opts.faults == SIM_FAULTS_ALL)
        n->skew_ms = (int64_t)pcg32_bounded(&s->fault_rng, 601) - 300;
    if (!sim_node_start(s, i))
        abort(); /* a fresh store has no faults */
}

static void sim_collect_node(sim_t *s, uint32_t i);

/* Crashes node i: between events (its store committed), or in the middle of
 * one (mid_event: what it staged is lost and nothing it decided leaves). */
static void sim_node_crash(sim_t *s, uint32_t i, bool mid_event)
{
    sim_node_t *n = &s->nodes[i];
    if (!mid_event)
        mem_store_commit(n->ms);
    sim_collect_node(s, i);
    node_free(n->node);
    n->node = NULL;
    mem_store_crash(n->ms);
    s->sum->crashes++;
    sim_trace(s, -1, SIM_TR_CRASH, i, 0, mid_event, 0, 0);
}

static void sim_node_restart(sim_t *s, uint32_t i)
{
    s->nodes[i].life++;
    s->nodes[i].down_until = 0;
    if (!sim_node_start(s, i))
        s->nodes[i].down_until = s->now + SIM_RESTART_RETRY_MS;
    else
        sim_trace(s, -1, SIM_TR_RESTART, i, 0, 0, 0, 0);
}

/* ---- the network ---------------------------------------------------------- */

static int sim_node_index(const sim_t *s, const char *id)
{
    for (uint32_t i = 0; i < s->nnodes; i++) {
        if (strcmp(s->nodes[i].id, id) == 0)
            return (int)i;
    }
    return -1;
}

static uint64_t sim_delay(sim_t *s)
{
    uint64_t d = 1 + pcg32_bounded(&s->net_rng, 4);
    if (s->faulty && (s->opts.faults == SIM_FAULTS_NET || s->opts.faults == SIM_FAULTS_ALL)) {
        uint32_t r = pcg32_bounded(&s->net_rng, 100);
        if (r < 10)
            d += pcg32_bounded(&s->net_rng, 60);
        if (r < 2)
            d += pcg32_bounded(&s->net_rng, 400);
    }
    return d;
}

static void sim_push_msg(sim_t *s, uint32_t from, uint32_t to, const buf_t *bytes)
{
    sim_event_t ev = {.at_ms = s->now + sim_delay(s), .kind = SIM_EV_DELIVER, .from = from,
                      .to = to, .bytes = xmemdup(bytes->data, bytes->len), .len = bytes->len};
    sim_queue_push(&s->q, &ev);
}

static void sim_send(sim_t *s, uint32_t from, const node_effect_t *e)
{
    s->sum->msgs_sent++;
    int to = sim_node_index(s, e->to);
    bool drop = to < 0 || s->blocked[from][to] ||
                (s->drop_permille && pcg32_bounded(&s->net_rng, 1000) < s->drop_permille);
    if (drop) {
        s->sum->msgs_dropped++;
        sim_trace_msg(s, SIM_TR_DROP, from, to < 0 ? 255 : (uint32_t)to, e->bytes.data,
                      e->bytes.len);
        return;
    }
    sim_push_msg(s, from, (uint32_t)to, &e->bytes);
    if (s->dup_permille && pcg32_bounded(&s->net_rng, 1000) < s->dup_permille) {
        s->sum->msgs_duplicated++;
        sim_push_msg(s, from, (uint32_t)to, &e->bytes);
    }
}

void sim_after_event(sim_t *s, uint32_t i)
{
    sim_node_t *n = &s->nodes[i];
    if (!n->node)
        return;
    mem_store_commit(n->ms);
    size_t count;
    const node_effect_t *effects = node_outbox(n->node, &count);
    for (size_t k = 0; k < count; k++) {
        if (effects[k].kind == NODE_EFFECT_SEND)
            sim_send(s, i, &effects[k]);
        else
            sim_client_reply(s, i, &effects[k]);
    }
    node_outbox_clear(n->node);
}

/* Crash faults may strike in the middle of an event: the node dies before
 * its store commits and before anything it decided leaves it. */
static bool sim_crash_mid_event(sim_t *s, uint32_t i)
{
    if (!s->faulty || s->opts.faults < SIM_FAULTS_CRASH || !s->nodes[i].member)
        return false;
    if (pcg32_bounded(&s->fault_rng, 20000) != 0)
        return false;
    sim_node_crash(s, i, true);
    s->nodes[i].down_until = s->now + 100 + pcg32_bounded(&s->fault_rng, 2000);
    return true;
}

static void sim_deliver(sim_t *s, sim_event_t *ev)
{
    sim_node_t *n = &s->nodes[ev->to];
    if (!n->node || s->blocked[ev->from][ev->to]) {
        s->sum->msgs_dropped++;
        sim_trace_msg(s, SIM_TR_DROP, ev->from, ev->to, ev->bytes, ev->len);
        return;
    }
    sim_trace_msg(s, SIM_TR_MSG, ev->from, ev->to, ev->bytes, ev->len);
    node_bus_message(n->node, sim_node_now(s, ev->to), s->nodes[ev->from].id, ev->bytes,
                     ev->len);
    if (!sim_crash_mid_event(s, ev->to))
        sim_after_event(s, ev->to);
}

/* ---- faults --------------------------------------------------------------- */

static void sim_heal(sim_t *s)
{
    memset(s->blocked, 0, sizeof s->blocked);
    s->drop_permille = s->dup_permille = 0;
    for (uint32_t i = 0; i < s->nnodes; i++)
        mem_store_fail_next(s->nodes[i].ms, 0);
}

static void sim_partition(sim_t *s)
{
    s->sum->partitions++;
    uint32_t a = pcg32_bounded(&s->fault_rng, s->nnodes);
    uint32_t b = pcg32_bounded(&s->fault_rng, s->nnodes);
    if (pcg32_bounded(&s->fault_rng, 2) == 0) {
        if (a != b) {
            s->blocked[a][b] = true; /* one way */
            sim_trace(s, -1, SIM_TR_PARTITION, a, b, 1, 0, 0);
        }
        return;
    }
    sim_trace(s, -1, SIM_TR_PARTITION, 0, 0, 0, 0, 0);
    uint32_t side = pcg32_next(&s->fault_rng);
    for (uint32_t i = 0; i < s->nnodes; i++) {
        for (uint32_t j = 0; j < s->nnodes; j++) {
            if (((side >> i) & 1) != ((side >> j) & 1))
                s->blocked[i][j] = true;
        }
    }
}

static int sim_pick_member(sim_t *s)
{
    uint32_t start = pcg32_bounded(&s->fault_rng, s->nnodes);
    for (uint32_t k = 0; k < s->nnodes; k++) {
        uint32_t i = (start + k) % s->nnodes;
        if (sim_node_usable(s, i))
            return (int)i;
    }
    return -1;
}

static uint32_t sim_usable_count(const sim_t *s)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < s->nnodes; i++)
        n += sim_node_usable(s, i);
    return n;
}

static void sim_net_fault(sim_t *s)
{
    uint32_t r = pcg32_bounded(&s->fault_rng, 100);
    if (r < 30) {
        memset(s->blocked, 0, sizeof s->blocked);
        sim_trace(s, -1, SIM_TR_HEAL, 0, 0, 0, 0, 0);
    } else if (r < 60) {
        sim_partition(s);
    } else {
        s->drop_permille = pcg32_bounded(&s->fault_rng, 60);
        s->dup_permille = pcg32_bounded(&s->fault_rng, 30);
    }
}

static void sim_crash_fault(sim_t *s)
{
    uint32_t r = pcg32_bounded(&s->fault_rng, 100);
    int i = sim_pick_member(s);
    if (i < 0)
        return;
    if (r < 50 && sim_usable_count(s) > 1) {
        sim_node_crash(s, (uint32_t)i, false);
        s->nodes[i].down_until = s->now + 200 + pcg32_bounded(&s->fault_rng, 3000);
    } else if (r < 70) {
        mem_store_fail_next(s->nodes[i].ms, 1 + pcg32_bounded(&s->fault_rng, 3));
        s->sum->storage_faults++;
    }
}

/* Adds a node to the cluster: it meets one member, gossip does the rest. */
static void sim_join(sim_t *s)
{
    int seed = sim_pick_member(s);
    if (seed < 0 || s->nnodes >= SIM_NODES_MAX)
        return;
    uint32_t i = s->nnodes++;
    sim_node_create(s, i);
    s->nodes[i].member = true;
    member_t m;
    sim_node_member(s, (uint32_t)seed, &m);
    node_meet(s->nodes[i].node, sim_node_now(s, i), &m);
    sim_node_member(s, i, &m);
    node_meet(s->nodes[seed].node, sim_node_now(s, (uint32_t)seed), &m);
    sim_after_event(s, i);
    sim_after_event(s, (uint32_t)seed);
    s->sum->joins++;
    sim_trace(s, -1, SIM_TR_JOIN, i, (uint32_t)seed, 0, 0, 0);
}

/* Starts removing a node: it announces it leaves and hands its data off. */
static void sim_leave(sim_t *s)
{
    int i = sim_pick_member(s);
    if (i < 0 || sim_usable_count(s) <= s->opts.n)
        return;
    s->nodes[i].leaving = true;
    node_leave(s->nodes[i].node, sim_node_now(s, (uint32_t)i));
    sim_after_event(s, (uint32_t)i);
    s->sum->leaves++;
    sim_trace(s, -1, SIM_TR_LEAVE, (uint32_t)i, 0, 0, 0, 0);
}

/* A leaving node is stopped once the ring has dropped it and it holds no
 * data and no hints. */
static void sim_reap_leavers(sim_t *s)
{
    for (uint32_t i = 0; i < s->nnodes; i++) {
        sim_node_t *n = &s->nodes[i];
        if (!n->leaving || !n->node || !n->member)
            continue;
        const hint_stats_t *hs = hint_stats(node_hints(n->node));
        if (ring_node_index(node_ring(n->node), n->id) < 0 &&
            mem_store_count(n->ms, STORE_CF_DATA) == 0 && hs->pending == 0) {
            sim_collect_node(s, i);
            node_free(n->node);
            n->node = NULL;
            n->member = false;
        }
    }
}

static void sim_fault(sim_t *s)
{
    enum sim_faults f = s->opts.faults;
    if (f == SIM_FAULTS_NET || f == SIM_FAULTS_ALL)
        sim_net_fault(s);
    if (f == SIM_FAULTS_CRASH || f == SIM_FAULTS_ALL)
        sim_crash_fault(s);
    if (f == SIM_FAULTS_ALL) {
        if (s->sum->joins == 0 && s->ops_issued > s->opts.ops / 3)
            sim_join(s);
        if (s->sum->leaves == 0 && s->ops_issued > 2 * s->opts.ops / 3)
            sim_leave(s);
    }
    s->next_fault_ms = s->now + 300 + pcg32_bounded(&s->fault_rng, 500);
}

/* ---- the event loop ------------------------------------------------------- */

typedef struct sim_next {
    uint64_t at;
    int what; /* 0 queue, 1 node tick, 2 fault, 3 restart */
    uint32_t node;
} sim_next_t;

/* When node i wants its next tick, in virtual time: now when its deadline
 * passed, but never twice at the same time (a deadline a tick did not move
 * would otherwise spin the loop). An early version pushed every passed
 * deadline to now + 1, behind any message due then: under load a node was
 * never ticked, stopped gossiping, and was suspected in fault-free runs. */
static uint64_t sim_node_deadline(const sim_t *s, uint32_t i)
{
    uint64_t d = node_next_deadline(s->nodes[i].node);
    if (d == UINT64_MAX)
        return d;
    int64_t at = (int64_t)d - s->nodes[i].skew_ms;
    uint64_t when = at <= (int64_t)s->now ? s->now : (uint64_t)at;
    return when < s->nodes[i].tick_floor ? s->nodes[i].tick_floor : when;
}

static sim_next_t sim_next(const sim_t *s)
{
    sim_next_t n = {sim_queue_next_at(&s->q), 0, 0};
    for (uint32_t i = 0; i < s->nnodes; i++) {
        if (s->nodes[i].node) {
            uint64_t d = sim_node_deadline(s, i);
            if (d < n.at)
                n = (sim_next_t){d, 1, i};
        } else if (s->nodes[i].down_until && s->nodes[i].down_until < n.at) {
            n = (sim_next_t){s->nodes[i].down_until, 3, i};
        }
    }
    if (s->faulty && s->next_fault_ms < n.at)
        n = (sim_next_t){s->next_fault_ms, 2, 0};
    return n;
}

/* Runs events up to time until (or until done(s) holds, checked per event). */
static void sim_run_until(sim_t *s, uint64_t until, bool (*done)(const sim_t *))
{
    while (!(done && done(s))) {
        sim_next_t n = sim_next(s);
        if (n.at > until) {
            s->now = until;
            return;
        }
        s->now = n.at > s->now ? n.at : s->now;
        if (s->now >= s->next_sample_ms) {
            sim_oracle_sample(s);
            s->next_sample_ms = s->now + SIM_SAMPLE_MS;
        }
        if (n.what == 1) {
            s->nodes[n.node].tick_floor = s->now + SIM_TICK_GUARD_MS;
            node_tick(s->nodes[n.node].node, sim_node_now(s, n.node));
            if (!sim_crash_mid_event(s, n.node))
                sim_after_event(s, n.node);
        } else if (n.what == 2) {
            sim_fault(s);
        } else if (n.what == 3) {
            sim_node_restart(s, n.node);
        } else {
            sim_event_t ev;
            sim_queue_pop(&s->q, &ev);
            if (ev.kind == SIM_EV_DELIVER)
                sim_deliver(s, &ev);
            else
                sim_client_wake(s, ev.to, ev.from);
            free(ev.bytes);
        }
    }
}

/* ---- phases --------------------------------------------------------------- */

static bool sim_rings_agree(const sim_t *s)
{
    const ring_t *ref = NULL;
    size_t members = 0;
    for (uint32_t i = 0; i < s->nnodes; i++)
        members += s->nodes[i].member && !s->nodes[i].leaving;
    for (uint32_t i = 0; i < s->nnodes; i++) {
        if (!s->nodes[i].node || !s->nodes[i].member)
            continue;
        const ring_t *r = node_ring(s->nodes[i].node);
        if (ring_node_count(r) != members || (ref && ring_compare(r, ref) != 0))
            return false;
        ref = r;
    }
    return true;
}

static void sim_bootstrap(sim_t *s)
{
    for (uint32_t i = 0; i < s->nnodes; i++) {
        sim_node_create(s, i);
        s->nodes[i].member = true;
    }
    for (uint32_t i = 0; i < s->nnodes; i++) {
        for (uint32_t j = 0; j < s->nnodes; j++) {
            member_t m;
            sim_node_member(s, j, &m);
            if (i != j)
                node_meet(s->nodes[i].node, sim_node_now(s, i), &m);
        }
        sim_after_event(s, i);
    }
    sim_run_until(s, s->now + 10000, sim_rings_agree);
    if (!sim_rings_agree(s))
        sim_violation(s, -1, "the rings did not converge after bootstrap");
}

static bool sim_workload_done(const sim_t *s)
{
    return s->ops_issued >= s->opts.ops && sim_clients_idle(s);
}

static void sim_restart_all(sim_t *s)
{
    for (uint32_t i = 0; i < s->nnodes; i++) {
        for (int t = 0; t < SIM_RESTART_TRIES && s->nodes[i].member && !s->nodes[i].node; t++)
            sim_node_restart(s, i);
    }
}

static void sim_probe_all(sim_t *s)
{
    for (uint32_t p = 0; p < SIM_PROBES; p++) {
        int via = sim_pick_member(s);
        if (via < 0)
            return;
        sim_probe(s, (uint32_t)via, p);
        sim_run_until(s, s->now + 2 * SIM_CLIENT_TIMEOUT_MS, sim_clients_idle);
    }
}

/* Availability: with only W members up (and known down), writes succeed. */
static void sim_availability(sim_t *s)
{
    uint32_t w = sim_write_quorum(s);
    if (s->opts.faults != SIM_FAULTS_NONE) {
        while (sim_usable_count(s) > w) {
            int i = sim_pick_member(s);
            sim_node_crash(s, (uint32_t)i, false);
        }
        sim_run_until(s, s->now + 4000, NULL);
    }
    s->probing = true;
    sim_probe_all(s);
    s->probing = false;
    sim_restart_all(s);
}

static bool sim_settled(const sim_t *s)
{
    for (uint32_t i = 0; i < s->nnodes; i++) {
        if (s->nodes[i].node && s->nodes[i].leaving && s->nodes[i].member)
            return false;
    }
    return sim_rings_agree(s);
}

static void sim_quiet(sim_t *s)
{
    uint64_t end = s->now + SIM_QUIET_MS_MAX;
    while (s->now < end) {
        sim_run_until(s, s->now + 2000, NULL);
        sim_reap_leavers(s);
        if (sim_settled(s) && sim_oracle_converged(s))
            return;
    }
}

/* Adds node i's counters to the summary (before it crashes or at the end:
 * a node's counters live in memory only). */
static void sim_collect_node(sim_t *s, uint32_t i)
{
    sim_summary_t *sum = s->sum;
    const node_stats_t *st = node_stats(s->nodes[i].node);
    const hint_stats_t *hs = hint_stats(node_hints(s->nodes[i].node));
    sum->hints_stored += st->hints_stored;
    sum->hints_delivered += hs->delivered;
    sum->read_repairs += st->read_repairs;
    sum->ae_keys += node_ae_stats(s->nodes[i].node)->keys_exchanged;
    sum->handoff_keys += st->handoff_keys;
    sum->forwards += st->forwarded;
    sum->tombstones_reaped += st->tombstones_reaped;
    sum->reaps_deferred += st->tombstone_reaps_deferred;
    const budget_stats_t *bs = budget_stats(node_budget(s->nodes[i].node));
    sum->background_bytes += bs->used_bytes;
    sum->background_deferred += bs->deferred;
    sum->read_repairs_skipped += st->read_repairs_skipped;
}

static void sim_collect(sim_t *s)
{
    for (uint32_t i = 0; i < s->nnodes; i++) {
        if (s->nodes[i].node)
            sim_collect_node(s, i);
    }
    s->sum->sim_ms = s->now - SIM_T0_MS;
}

static void sim_print(const sim_t *s)
{
    const sim_summary_t *m = s->sum;
    fprintf(s->out,
            "seed %" PRIu64 " nodes %u faults %s ops %" PRIu64 " N/R/W %u/%u/%u budget %" PRIu64
            " B/s\n"
            "  acked %" PRIu64 " failed %" PRIu64 " timed_out %" PRIu64
            " (writes %" PRIu64 ", reads %" PRIu64 ", cart adds %" PRIu64 ")\n"
            "  siblings seen %" PRIu64 ", keys with siblings at the end %" PRIu64 "\n"
            "  hints stored %" PRIu64 " delivered %" PRIu64 ", read repairs %" PRIu64
            ", anti-entropy keys %" PRIu64 ", handoff keys %" PRIu64 ", forwards %" PRIu64 "\n"
            "  tombstones reaped %" PRIu64 ", reaps deferred %" PRIu64 "\n"
            "  background bytes %" PRIu64 ", deferred %" PRIu64 ", read repairs skipped %" PRIu64
            "\n"
            "  messages %" PRIu64 " dropped %" PRIu64 " duplicated %" PRIu64 ", crashes %" PRIu64
            ", partitions %" PRIu64 ", storage faults %" PRIu64 ", joins %" PRIu64
            ", leaves %" PRIu64 "\n"
            "  probes %" PRIu64 " failed %" PRIu64 ", simulated %" PRIu64 " ms\n"
            "  violations %" PRIu64 "\n",
            s->opts.seed, s->opts.nodes, sim_faults_name(s->opts.faults), m->ops, s->opts.n,
            s->opts.r, s->opts.w, s->opts.budget, m->acked, m->failed, m->timed_out, m->writes_acked, m->reads_ok,
            m->carts_acked, m->siblings_seen, m->final_siblings, m->hints_stored,
            m->hints_delivered, m->read_repairs, m->ae_keys, m->handoff_keys, m->forwards,
            m->tombstones_reaped, m->reaps_deferred,
            m->background_bytes, m->background_deferred, m->read_repairs_skipped,
            m->msgs_sent, m->msgs_dropped, m->msgs_duplicated, m->crashes, m->partitions,
            m->storage_faults, m->joins, m->leaves, m->probes, m->probes_failed, m->sim_ms,
            m->violations);
}

/* --verbose: each node's state at the end. */
static void sim_print_nodes(const sim_t *s)
{
    for (uint32_t i = 0; i < s->nnodes; i++) {
        const sim_node_t *n = &s->nodes[i];
        fprintf(s->out, "  node %u: %s%s%s", i, n->node ? "up" : "down",
                n->member ? " member" : "", n->leaving ? " leaving" : "");
        if (n->node) {
            const ring_t *r = node_ring(n->node);
            fprintf(s->out,
                    ", ring epoch %" PRIu64 " of %zu nodes%s, handoff %s, hints %" PRIu64
                    ", bad messages %" PRIu64,
                    ring_epoch(r), ring_node_count(r),
                    ring_node_index(r, n->id) >= 0 ? " (in it)" : "",
                    node_handoff_pending(n->node) ? "pending" : "done",
                    hint_stats(node_hints(n->node))->pending,
                    node_stats(n->node)->bad_messages);
        }
        fprintf(s->out, ", keys %zu\n", mem_store_count(n->ms, STORE_CF_DATA));
    }
}

static void sim_free(sim_t *s)
{
    for (uint32_t i = 0; i < s->nnodes; i++) {
        node_free(s->nodes[i].node);
        mem_store_free(s->nodes[i].ms);
    }
    for (uint32_t c = 0; c < SIM_CLIENTS; c++)
        buf_free(&s->clients[c].value);
    sim_queue_free(&s->q);
    sim_oracle_free(s);
}

uint64_t sim_run(const sim_options_t *opts, sim_summary_t *sum, FILE *out)
{
    sim_t *s = xcalloc(1, sizeof *s);
    memset(sum, 0, sizeof *sum);
    s->opts = *opts;
    s->sum = sum;
    s->out = out;
    s->now = SIM_T0_MS;
    s->nnodes = opts->nodes;
    pcg32_seed(&s->net_rng, opts->seed, 1);
    pcg32_seed(&s->fault_rng, opts->seed, 2);
    pcg32_seed(&s->work_rng, opts->seed, 3);
    sim_queue_init(&s->q);
    sim_bootstrap(s);
    s->faulty = opts->faults != SIM_FAULTS_NONE;
    s->next_fault_ms = s->now + 200;
    sim_clients_start(s);
    sim_run_until(s, UINT64_MAX, sim_workload_done);
    s->faulty = false;
    sim_heal(s);
    sim_restart_all(s);
    sim_run_until(s, s->now + 4000, NULL);
    sim_availability(s);
    sim_quiet(s);
    sim_oracle_final(s);
    sim_collect(s);
    sim_print(s);
    if (opts->verbose)
        sim_print_nodes(s);
    uint64_t v = sum->violations;
    sim_free(s);
    free(s);
    return v;
}

const char *sim_faults_name(enum sim_faults f)
{
    static const char *names[] = {"none", "net", "crash", "all"};
    return names[f];
}

bool sim_break_parse(const char *name, enum node_test_break *out)
{
    static const struct {
        const char *name;
        enum node_test_break brk;
    } breaks[] = {
        {"none", NODE_BREAK_NONE},
        {"ack-before-w", NODE_BREAK_ACK_BEFORE_W},
        {"merge-drops-sibling", NODE_BREAK_MERGE_DROPS_SIBLING},
        {"no-forward", NODE_BREAK_NO_FORWARD},
        {"hint-drop", NODE_BREAK_HINT_DROP},
        {"early-reap", NODE_BREAK_EARLY_REAP},
    };
    for (size_t i = 0; i < sizeof breaks / sizeof breaks[0]; i++) {
        if (strcmp(name, breaks[i].name) == 0) {
            *out = breaks[i].brk;
            return true;
        }
    }
    return false;
}
