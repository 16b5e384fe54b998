/* info.c - the text of INFO (see info.h). One function per section. */
#include <config.h>

#include "shell/info.h"

#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "core/keyspace.h"
#include "core/slot.h"
#include "proto/command.h"
#include "shell/meminfo.h"

#define LL(x) ((unsigned long long)(x))

static void info_server(server_t *srv, buf_t *out)
{
    struct utsname un;
    uname(&un);
    uint64_t now = server_now_ms(srv);
    uint64_t up = now > srv->start_ms ? (now - srv->start_ms) / 1000 : 0;
    buf_printf(out,
               "# Server\r\nredis_version:%s\r\ndynis_version:%s\r\nredis_git_sha1:00000000\r\n"
               "redis_git_dirty:0\r\nredis_mode:" COMMAND_SERVER_MODE "\r\n"
               "os:%s %s %s\r\narch_bits:%d\r\n"
               "multiplexing_api:epoll\r\ngcc_version:%d.%d.%d\r\nprocess_id:%d\r\n"
               "run_id:%s\r\ntcp_port:%d\r\nserver_time_usec:%llu\r\n"
               "uptime_in_seconds:%llu\r\nuptime_in_days:%llu\r\nhz:%d\r\nconfigured_hz:%d\r\n"
               "executable:\r\nconfig_file:%s\r\n",
               INFO_REDIS_VERSION, PACKAGE_VERSION, un.sysname, un.release, un.machine,
               (int)sizeof(void *) * 8, __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__,
               (int)getpid(), srv->node_id, srv->port, LL(now * 1000), LL(up), LL(up / 86400),
               srv->cfg->hz, srv->cfg->hz, srv->cfg->config_file);
}

static void info_clients(server_t *srv, buf_t *out)
{
    buf_printf(out,
               "# Clients\r\nconnected_clients:%u\r\ncluster_connections:0\r\nmaxclients:%d\r\n"
               "blocked_clients:%zu\r\ntracking_clients:0\r\nclients_in_timeout_table:0\r\n",
               srv->nclients, srv->cfg->maxclients, srv->nparked);
}

static void human_line(buf_t *out, const char *name, uint64_t n)
{
    buf_printf(out, "%s:%llu\r\n%s_human:", name, LL(n), name);
    meminfo_human(out, n);
    buf_append_str(out, "\r\n");
}

static void info_memory(server_t *srv, buf_t *out)
{
    meminfo_t mi;
    meminfo_read(&mi);
    if (mi.allocated > srv->used_memory_peak)
        srv->used_memory_peak = mi.allocated;
    buf_append_str(out, "# Memory\r\n");
    human_line(out, "used_memory", mi.allocated);
    human_line(out, "used_memory_rss", mi.rss);
    human_line(out, "used_memory_peak", srv->used_memory_peak);
    buf_printf(out, "allocator_allocated:%llu\r\nallocator_active:%llu\r\n"
                    "allocator_resident:%llu\r\n", LL(mi.allocated), LL(mi.active),
               LL(mi.resident));
    human_line(out, "total_system_memory", mi.total_system);
    buf_printf(out, "rocksdb_memtables:%llu\r\nrocksdb_cache_usage:%llu\r\n",
               LL(rocks_store_property(srv->rs, STORE_CF_DATA, "rocksdb.cur-size-all-mem-tables")),
               LL(rocks_store_cache_bytes(srv->rs)));
    buf_printf(out, "maxmemory:0\r\nmaxmemory_human:0B\r\nmaxmemory_policy:noeviction\r\n"
                    "mem_fragmentation_ratio:%.2f\r\nmem_allocator:%s\r\n",
               mi.allocated ? (double)mi.rss / (double)mi.allocated : 0.0, mi.allocator);
}

static void info_persistence(server_t *srv, buf_t *out)
{
    rocks_store_t *rs = srv->rs;
    buf_printf(out,
               "# Persistence\r\nloading:0\r\nasync_loading:0\r\nrdb_changes_since_last_save:0\r\n"
               "rdb_bgsave_in_progress:0\r\nrdb_last_save_time:%llu\r\n"
               "rdb_last_bgsave_status:ok\r\naof_enabled:0\r\naof_rewrite_in_progress:0\r\n"
               "aof_last_write_status:ok\r\nappendfsync:%s\r\n",
               LL(srv->start_ms / 1000), config_fsync_name(srv->cfg->appendfsync));
    buf_printf(out,
               "rocksdb_estimate_live_data_size:%llu\r\nrocksdb_total_sst_files_size:%llu\r\n"
               "rocksdb_estimate_num_keys:%llu\r\nrocksdb_commits:%llu\r\n"
               "rocksdb_expiry_filter_dropped_keys:%llu\r\n",
               LL(rocks_store_property(rs, STORE_CF_DATA, "rocksdb.estimate-live-data-size")),
               LL(rocks_store_property(rs, STORE_CF_DATA, "rocksdb.total-sst-files-size")),
               LL(rocks_store_property(rs, STORE_CF_DATA, "rocksdb.estimate-num-keys")),
               LL(rocks_store_commits(rs)), LL(rocks_store_filtered_keys(rs)));
}

static uint64_t ops_per_sec(const server_t *srv)
{
    uint64_t sum = 0;
    for (int i = 0; i < SERVER_OPS_SAMPLES; i++)
        sum += srv->ops_samples[i];
    return sum / SERVER_OPS_SAMPLES;
}

static void info_stats(server_t *srv, buf_t *out)
{
    const server_stats_t *st = &srv->stats;
    const keyspace_stats_t *ks = keyspace_stats(node_keyspace(srv->node));
    buf_printf(out,
               "# Stats\r\ntotal_connections_received:%llu\r\ntotal_commands_processed:%llu\r\n"
               "instantaneous_ops_per_sec:%llu\r\ntotal_net_input_bytes:%llu\r\n"
               "total_net_output_bytes:%llu\r\nrejected_connections:%llu\r\n"
               "expired_keys:%llu\r\nevicted_keys:0\r\nkeyspace_hits:%llu\r\n"
               "keyspace_misses:%llu\r\npubsub_channels:0\r\npubsub_patterns:0\r\n"
               "total_reads_processed:%llu\r\ntotal_writes_processed:%llu\r\n"
               "client_query_buffer_limit_disconnections:%llu\r\n",
               LL(st->total_connections_received), LL(st->total_commands_processed),
               LL(ops_per_sec(srv)), LL(st->total_net_input_bytes),
               LL(st->total_net_output_bytes), LL(st->rejected_connections),
               LL(ks->expired_keys), LL(ks->keyspace_hits), LL(ks->keyspace_misses),
               LL(st->total_reads_processed), LL(st->total_writes_processed),
               LL(st->client_qbuf_limit_disconnections));
}

static void info_replication(server_t *srv, buf_t *out)
{
    buf_printf(out, "# Replication\r\nrole:master\r\nconnected_slaves:0\r\n"
                    "master_failover_state:no-failover\r\nmaster_replid:%s\r\n"
                    "master_repl_offset:0\r\n", srv->node_id);
}

static void info_cpu(server_t *srv, buf_t *out)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    buf_printf(out, "# CPU\r\nused_cpu_sys:%ld.%06ld\r\nused_cpu_user:%ld.%06ld\r\n",
               (long)ru.ru_stime.tv_sec, (long)ru.ru_stime.tv_usec, (long)ru.ru_utime.tv_sec,
               (long)ru.ru_utime.tv_usec);
}

static void info_cluster(server_t *srv, buf_t *out)
{
    buf_append_str(out, "# Cluster\r\ncluster_enabled:1\r\n");
}

static void info_keyspace(server_t *srv, buf_t *out)
{
    buf_append_str(out, "# Keyspace\r\n");
    const keyspace_t *ks = node_keyspace(srv->node);
    uint64_t keys = keyspace_key_count(ks);
    if (keys > 0)
        buf_printf(out, "db0:keys=%llu,expires=%llu,avg_ttl=0\r\n", LL(keys),
                   LL(keyspace_expire_count(ks)));
}

/* Every member of the view: "member<i>:id=...,addr=host:port@bus,state=...". */
static void info_members(server_t *srv, buf_t *out)
{
    const member_view_t *view = node_view(srv->node);
    for (size_t i = 0; i < member_count(view); i++) {
        const member_t *m = member_at(view, i);
        buf_printf(out, "member%zu:id=%s,addr=%s:%u@%u,state=%s,weight=%u,zone=%s\r\n", i, m->id,
                   m->host, m->port, m->bus_port, member_state_name(m->state), m->weight,
                   m->zone);
    }
}

/* Handoff after ring changes: keys handed off (acknowledged by every new
 * owner, then deleted here), sent, still held for others (and their slots,
 * as of the last handoff round), and taken from previous owners. */
static void info_dynamo_handoff(const node_t *node, buf_t *out)
{
    const node_stats_t *ns = node_stats(node);
    uint32_t slots;
    uint64_t keys = node_handoff_left(node, &slots);
    buf_printf(out,
               "handoff_pending:%d\r\nhandoff_keys:%llu\r\nhandoff_keys_sent:%llu\r\n"
               "handoff_keys_pending:%llu\r\nhandoff_slots_pending:%u\r\n"
               "handoff_keys_received:%llu\r\nleave_done:%d\r\n",
               node_handoff_pending(node), LL(ns->handoff_keys), LL(ns->handoff_sent), LL(keys),
               slots, LL(ns->handoff_received), node_leave_done(node));
}

static void info_dynamo_hints(const node_t *node, buf_t *out)
{
    const hint_stats_t *hs = hint_stats(node_hints(node));
    buf_printf(out,
               "hints_stored:%llu\r\nhints_pending:%llu\r\nhints_pending_bytes:%llu\r\n"
               "hints_delivered:%llu\r\nhints_dropped:%llu\r\nhints_dropped_ttl:%llu\r\n"
               "hints_dropped_full:%llu\r\nhints_dropped_corrupt:%llu\r\n",
               LL(node_stats(node)->hints_stored), LL(hs->pending), LL(hs->pending_bytes),
               LL(hs->delivered), LL(hs->dropped_ttl + hs->dropped_full + hs->dropped_corrupt),
               LL(hs->dropped_ttl), LL(hs->dropped_full), LL(hs->dropped_corrupt));
}

static void info_dynamo_ae(const node_t *node, buf_t *out)
{
    const ae_stats_t *as = node_ae_stats(node);
    buf_printf(out,
               "ae_rounds:%llu\r\nae_sessions_served:%llu\r\nae_sessions_completed:%llu\r\n"
               "ae_sessions_in_sync:%llu\r\nae_sessions_failed:%llu\r\nae_trees_compared:%llu\r\n"
               "ae_slots_differing:%llu\r\nae_keys_compared:%llu\r\nae_keys_exchanged:%llu\r\n"
               "ae_bytes_sent:%llu\r\n",
               LL(as->rounds), LL(as->sessions_served), LL(as->completed), LL(as->in_sync),
               LL(as->failed), LL(as->trees_compared), LL(as->slots_differing),
               LL(as->keys_compared), LL(as->keys_exchanged), LL(as->bytes_sent));
}

/* The background budget: its rate (0: unlimited), what was charged (in all
 * and by kind), what is available now (negative: a debt), and how often
 * work waited for it. */
static void info_dynamo_background(const node_t *node, buf_t *out)
{
    const budget_t *b = node_budget(node);
    const budget_stats_t *bs = budget_stats(b);
    const uint64_t *by = node_stats(node)->background_bytes;
    buf_printf(out,
               "background_bytes_per_sec:%llu\r\nbackground_bytes_used:%llu\r\n"
               "background_bytes_available:%lld\r\nbackground_deferred:%llu\r\n"
               "background_bytes_hints:%llu\r\nbackground_bytes_handoff:%llu\r\n"
               "background_bytes_anti_entropy:%llu\r\nbackground_bytes_read_repair:%llu\r\n"
               "read_repairs_skipped:%llu\r\n",
               LL(node_config(node)->background_bytes_per_sec), LL(bs->used_bytes),
               (long long)budget_available(b), LL(bs->deferred), LL(by[NODE_BG_HINTS]),
               LL(by[NODE_BG_HANDOFF]), LL(by[NODE_BG_AE]), LL(by[NODE_BG_REPAIR]),
               LL(node_stats(node)->read_repairs_skipped));
}

static void info_dynamo(server_t *srv, buf_t *out)
{
    const node_t *node = srv->node;
    const node_config_t *nc = node_config(node);
    const node_stats_t *ns = node_stats(node);
    const bus_stats_t *bs = bus_stats(srv->bus);
    const ring_t *ring = node_ring(node);
    uint32_t replicated = 0;
    for (uint32_t slot = 0; slot < SLOT_COUNT; slot++)
        replicated += node_replicates(node, (uint16_t)slot);
    int self = ring_node_index(ring, srv->node_id);
    uint32_t owned = self < 0 ? 0 : (uint32_t)ring_owned_count(ring, (size_t)self);
    buf_printf(out,
               "# Dynamo\r\nnode_id:%s\r\nactor:%010llx\r\nbus_port:%u\r\nreplicas:%u\r\n"
               "read_quorum:%u\r\nwrite_quorum:%u\r\nmembers:%zu\r\n",
               srv->node_id, LL(nc->actor), nc->bus_port, nc->n, nc->r, nc->w,
               member_count(node_view(node)));
    info_members(srv, out);
    buf_printf(out,
               "ring_epoch:%llu\r\nring_nodes:%zu\r\nowned_slots:%u\r\nreplicated_slots:%u\r\n"
               "ring_changes:%llu\r\n",
               LL(ring_epoch(ring)), ring_node_count(ring), owned, replicated,
               LL(ns->ring_changes));
    info_dynamo_handoff(node, out);
    buf_printf(out,
               "requests_received:%llu\r\nrequests_coordinated:%llu\r\nreads_coordinated:%llu\r\n"
               "writes_coordinated:%llu\r\nrequests_forwarded:%llu\r\nforward_fallbacks:%llu\r\n"
               "quorum_failures:%llu\r\nread_repairs:%llu\r\nsiblings_created:%llu\r\n"
               "bad_messages:%llu\r\nstore_errors:%llu\r\n",
               LL(ns->client_ops), LL(ns->gets + ns->puts), LL(ns->gets), LL(ns->puts),
               LL(ns->forwarded), LL(ns->forward_fallbacks), LL(ns->quorum_failures),
               LL(ns->read_repairs),
               LL(keyspace_stats(node_keyspace(srv->node))->siblings_created), LL(ns->bad_messages),
               LL(ns->store_errors));
    buf_printf(out, "tombstones_reaped:%llu\r\ntombstone_reaps_deferred:%llu\r\n",
               LL(ns->tombstones_reaped), LL(ns->tombstone_reaps_deferred));
    info_dynamo_hints(node, out);
    info_dynamo_ae(node, out);
    info_dynamo_background(node, out);
    buf_printf(out,
               "bus_bytes_in:%llu\r\nbus_bytes_out:%llu\r\nbus_messages_in:%llu\r\n"
               "bus_messages_out:%llu\r\nbus_dropped:%llu\r\nbus_auth_failures:%llu\r\n"
               "bus_links_connected:%llu\r\nbus_link_failures:%llu\r\n",
               LL(bs->bytes_in), LL(bs->bytes_out), LL(bs->messages_in), LL(bs->messages_out),
               LL(bs->dropped), LL(bs->auth_failures), LL(bs->links_connected),
               LL(bs->link_failures));
}

typedef struct info_section {
    const char *name;
    void (*write)(server_t *srv, buf_t *out);
} info_section_t;

static const info_section_t info_sections[] = {
    {"server", info_server},   {"clients", info_clients},   {"memory", info_memory},
    {"persistence", info_persistence}, {"stats", info_stats},
    {"replication", info_replication}, {"cpu", info_cpu},   {"cluster", info_cluster},
    {"keyspace", info_keyspace}, {"dynamo", info_dynamo},
};

void info_write(server_t *srv, const char *section, buf_t *out)
{
    bool all = section[0] == '\0' || strcasecmp(section, "default") == 0 ||
               strcasecmp(section, "all") == 0 || strcasecmp(section, "everything") == 0;
    bool first = out->len == 0; /* INFO a b: the sections of b follow those of a */
    for (size_t i = 0; i < sizeof info_sections / sizeof info_sections[0]; i++) {
        if (!all && strcasecmp(section, info_sections[i].name) != 0)
            continue;
        if (!first)
            buf_append_str(out, "\r\n");
        info_sections[i].write(srv, out);
        first = false;
    }
}
