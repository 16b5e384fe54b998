/* server_api.c - the server_api_t (src/proto/command.h) of the shell: what
 * INFO, CLIENT LIST, CONFIG GET/SET/RESETSTAT, SHUTDOWN, AUTH and DYN.LOCAL
 * reach.
 * Each entry point translates between the command layer and the server's
 * own state, and applies the side effects of a changed parameter. */
#include "shell/server.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "shell/info.h"
#include "shell/log.h"

static void api_info(void *impl, const char *section, buf_t *out)
{
    info_write(impl, section, out);
}

/* CLIENT LIST (only_id 0) or CLIENT INFO; the client asking is running
 * one of those two, as Redis's own line for it shows. */
static void api_client_list(void *impl, uint64_t only_id, buf_t *out)
{
    server_t *srv = impl;
    uint64_t now_ms = server_now_ms(srv);
    const char *running = only_id ? "client|info" : "client|list";
    for (const client_t *c = srv->clients; c != NULL; c = c->next)
        if (only_id == 0 || c->st.id == only_id)
            client_list_line(c, c == srv->current ? running : NULL, now_ms, out);
}

/* CONFIG GET gathers name/value pairs first: the map's size comes first. */
typedef struct config_pairs {
    buf_t text; /* name\0value\0... */
    size_t n;
} config_pairs_t;

static void collect_pair(void *arg, const char *name, const char *value)
{
    config_pairs_t *pairs = arg;
    buf_append(&pairs->text, name, strlen(name) + 1);
    buf_append(&pairs->text, value, strlen(value) + 1);
    pairs->n++;
}

static void api_config_get(void *impl, int npatterns, const char *const *patterns, reply_t *r)
{
    server_t *srv = impl;
    config_pairs_t pairs = {BUF_INIT, 0};
    config_get(srv->cfg, npatterns, patterns, collect_pair, &pairs);
    reply_map(r, pairs.n);
    const char *p = pairs.text.data;
    for (size_t i = 0; i < 2 * pairs.n; i++) {
        size_t len = strlen(p);
        reply_bulk(r, p, len);
        p += len + 1;
    }
    buf_free(&pairs.text);
}

/* Applies what a changed parameter means to the running server. */
static void apply_param(server_t *srv, const char *name)
{
    const config_t *cfg = srv->cfg;
    if (strcasecmp(name, "loglevel") == 0)
        log_set_level((enum log_level)cfg->loglevel);
    else if (strcasecmp(name, "appendfsync") == 0)
        rocks_store_set_sync_commits(srv->rs, cfg->appendfsync == CONFIG_FSYNC_ALWAYS);
    else if (strcasecmp(name, "hz") == 0)
        server_apply_hz(srv);
    else if (strcasecmp(name, "proto-max-bulk-len") == 0)
        node_set_value_len_max(srv->node, (uint64_t)cfg->proto_max_bulk_len);
    else if (strcasecmp(name, "background-bytes-per-sec") == 0)
        node_set_background_rate(srv->node, server_now_ms(srv),
                                 (uint64_t)cfg->background_bytes_per_sec);
}

static int api_config_set(void *impl, const char *name, const char *value, buf_t *err)
{
    server_t *srv = impl;
    if (config_set(srv->cfg, name, value, err) < 0)
        return -1;
    apply_param(srv, name);
    return 0;
}

static void api_reset_stats(void *impl)
{
    server_t *srv = impl;
    memset(&srv->stats, 0, sizeof srv->stats);
    memset(srv->ops_samples, 0, sizeof srv->ops_samples);
    srv->ops_sample_count = 0;
    srv->used_memory_peak = 0;
    keyspace_reset_stats(node_keyspace(srv->node));
}

static void api_shutdown(void *impl)
{
    server_t *srv = impl;
    srv->shutdown_asked = true;
}

static const char *api_requirepass(void *impl)
{
    server_t *srv = impl;
    return srv->cfg->requirepass[0] != '\0' ? srv->cfg->requirepass : NULL;
}

static int api_node_local(void *impl, const char *key, size_t key_len, coord_reply_t *reply)
{
    server_t *srv = impl;
    return node_local_get(srv->node, key, key_len, reply);
}

void server_api_init(server_t *srv)
{
    srv->api = (server_api_t){
        .impl = srv,
        .info = api_info,
        .client_list = api_client_list,
        .config_get = api_config_get,
        .config_set = api_config_set,
        .reset_stats = api_reset_stats,
        .shutdown = api_shutdown,
        .requirepass = api_requirepass,
        .node_local = api_node_local,
    };
    server_node_api(&srv->api);
}
