/* cluster.c - the cluster helpers of cluster.h: starting K nodes, CLUSTER
 * MEET from node 0, the bounded wait for agreement, and field readers for
 * INFO and CLUSTER INFO replies. */
#define _GNU_SOURCE /* open_memstream */
#include "cluster.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SLOTS_DEPTH_MAX 8

static void cluster_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

cluster_t *cluster_new(int count, const char *const *extra)
{
    const char *const *extra_of[CLUSTER_NODES_MAX];
    for (int i = 0; i < CLUSTER_NODES_MAX; i++)
        extra_of[i] = extra;
    return cluster_new_each(count, extra_of);
}

cluster_t *cluster_new_each(int count, const char *const *const *extra_of)
{
    if (count < 1 || count > CLUSTER_NODES_MAX)
        return NULL;
    cluster_t *cl = calloc(1, sizeof *cl);
    if (cl == NULL)
        return NULL;
    for (int i = 0; i < count; i++) {
        cl->node[i] = proc_start_node(NULL, extra_of[i]);
        if (cl->node[i] == NULL) {
            fprintf(stderr, "cluster: node %d of %d did not start\n", i, count);
            cluster_free(cl);
            return NULL;
        }
        cl->count = i + 1;
    }
    return cl;
}

void cluster_free(cluster_t *cl)
{
    if (cl == NULL)
        return;
    for (int i = 0; i < cl->count; i++)
        proc_free(cl->node[i]);
    free(cl);
}

redisContext *cluster_connect(const cluster_t *cl, int i)
{
    if (i < 0 || i >= cl->count || cl->node[i] == NULL)
        return NULL;
    return proc_connect(cl->node[i]);
}

void cluster_print_logs(const cluster_t *cl)
{
    for (int i = 0; i < cl->count; i++)
        if (cl->node[i] != NULL)
            proc_print_log(cl->node[i]);
}

int cluster_meet(cluster_t *cl)
{
    redisContext *c = cluster_connect(cl, 0);
    if (c == NULL)
        return -1;
    int rc = 0;
    for (int i = 1; i < cl->count && rc == 0; i++) {
        redisReply *r = redisCommand(c, "CLUSTER MEET 127.0.0.1 %d %d", cl->node[i]->port,
                                     cl->node[i]->bus_port);
        if (r == NULL || r->type != REDIS_REPLY_STATUS || strcmp(r->str, "OK") != 0) {
            fprintf(stderr, "cluster: CLUSTER MEET of node %d: %s\n", i,
                    r == NULL ? c->errstr : r->str != NULL ? r->str : "(not a status)");
            rc = -1;
        }
        if (r != NULL)
            freeReplyObject(r);
    }
    redisFree(c);
    return rc;
}

/* Copies the value of "field:value" from an INFO-style text to out. */
static int text_field(const char *text, const char *field, char *out, size_t cap)
{
    size_t flen = strlen(field);
    for (const char *line = text; line != NULL && *line != '\0';) {
        const char *end = strpbrk(line, "\r\n");
        size_t len = end != NULL ? (size_t)(end - line) : strlen(line);
        if (len > flen && strncmp(line, field, flen) == 0 && line[flen] == ':') {
            snprintf(out, cap, "%.*s", (int)(len - flen - 1), line + flen + 1);
            return 0;
        }
        line = end != NULL ? end + strspn(end, "\r\n") : NULL;
    }
    return -1;
}

/* The field from the bulk reply of an INFO-like command. */
static int reply_field(redisReply *r, const char *field, char *out, size_t cap)
{
    int rc = -1;
    if (r != NULL && r->type == REDIS_REPLY_STRING)
        rc = text_field(r->str, field, out, cap);
    if (r != NULL)
        freeReplyObject(r);
    return rc;
}

int info_field(redisContext *c, const char *section, const char *field, char *out, size_t cap)
{
    redisReply *r = section != NULL ? redisCommand(c, "INFO %s", section) : redisCommand(c, "INFO");
    return reply_field(r, field, out, cap);
}

int cluster_info_field(redisContext *c, const char *field, char *out, size_t cap)
{
    return reply_field(redisCommand(c, "CLUSTER INFO"), field, out, cap);
}

long long cluster_info_ll(redisContext *c, const char *field)
{
    char v[CLUSTER_FIELD_MAX];
    return cluster_info_field(c, field, v, sizeof v) == 0 ? strtoll(v, NULL, 10) : -1;
}

long long node_dbsize(redisContext *c)
{
    redisReply *r = redisCommand(c, "DBSIZE");
    long long n = r != NULL && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    if (r != NULL)
        freeReplyObject(r);
    return n;
}

static void slots_print(FILE *f, const redisReply *r, int depth)
{
    if (r->type == REDIS_REPLY_ARRAY && depth < SLOTS_DEPTH_MAX) {
        fputc('[', f);
        for (size_t i = 0; i < r->elements; i++)
            slots_print(f, r->element[i], depth + 1);
        fputc(']', f);
    } else if (r->type == REDIS_REPLY_INTEGER) {
        fprintf(f, "%lld,", r->integer);
    } else if (r->str != NULL) {
        fprintf(f, "\"%.*s\",", (int)r->len, r->str);
    } else {
        fprintf(f, "type%d,", r->type);
    }
}

char *cluster_slots_text(redisContext *c)
{
    redisReply *r = redisCommand(c, "CLUSTER SLOTS");
    char *text = NULL;
    size_t len = 0;
    if (r != NULL && r->type == REDIS_REPLY_ARRAY) {
        FILE *f = open_memstream(&text, &len);
        if (f != NULL) {
            slots_print(f, r, 0);
            fclose(f);
        }
    }
    if (r != NULL)
        freeReplyObject(r);
    return text;
}

/* What one node reports: state, known nodes, epoch and SLOTS text. */
typedef struct node_view {
    bool up;
    char state[CLUSTER_FIELD_MAX];
    long long known, epoch;
    char *slots; /* owned */
} node_view_t;

static void view_read(const cluster_t *cl, int i, node_view_t *v)
{
    memset(v, 0, sizeof *v);
    v->known = v->epoch = -1;
    if (!proc_alive(cl->node[i]))
        return;
    redisContext *c = cluster_connect(cl, i);
    if (c == NULL)
        return;
    v->up = true;
    if (cluster_info_field(c, "cluster_state", v->state, sizeof v->state) != 0)
        snprintf(v->state, sizeof v->state, "?");
    v->known = cluster_info_ll(c, "cluster_known_nodes");
    v->epoch = cluster_info_ll(c, "cluster_current_epoch");
    v->slots = cluster_slots_text(c);
    redisFree(c);
}

/* True when every running node reports the same, healthy ring. */
static bool views_agree(const node_view_t *v, int count, int known)
{
    const node_view_t *first = NULL;
    for (int i = 0; i < count; i++) {
        if (!v[i].up)
            continue;
        if (strcmp(v[i].state, "ok") != 0 || v[i].known != known || v[i].slots == NULL ||
            (known > 1 && v[i].epoch < 1))
            return false;
        if (first == NULL)
            first = &v[i];
        else if (v[i].epoch != first->epoch || strcmp(v[i].slots, first->slots) != 0)
            return false;
    }
    return first != NULL;
}

static void views_free(node_view_t *v, int count)
{
    for (int i = 0; i < count; i++) {
        free(v[i].slots);
        v[i].slots = NULL;
    }
}

static void views_print(const node_view_t *v, int count)
{
    for (int i = 0; i < count; i++)
        fprintf(stderr, "cluster: node %d: %s state=%s known=%lld epoch=%lld slots=%.200s\n", i,
                v[i].up ? "up" : "down", v[i].state, v[i].known, v[i].epoch,
                v[i].slots != NULL ? v[i].slots : "(none)");
}

bool cluster_wait_agree(cluster_t *cl, int known, int timeout_ms)
{
    node_view_t v[CLUSTER_NODES_MAX];
    for (int waited = 0;; waited += CLUSTER_POLL_MS) {
        for (int i = 0; i < cl->count; i++)
            view_read(cl, i, &v[i]);
        bool agree = views_agree(v, cl->count, known);
        if (agree || waited >= timeout_ms) {
            if (!agree)
                views_print(v, cl->count);
            views_free(v, cl->count);
            return agree;
        }
        views_free(v, cl->count);
        cluster_sleep_ms(CLUSTER_POLL_MS);
    }
}

cluster_t *cluster_form(int count, const char *const *extra)
{
    const char *const *extra_of[CLUSTER_NODES_MAX];
    for (int i = 0; i < CLUSTER_NODES_MAX; i++)
        extra_of[i] = extra;
    return cluster_form_each(count, extra_of);
}

cluster_t *cluster_form_each(int count, const char *const *const *extra_of)
{
    cluster_t *cl = cluster_new_each(count, extra_of);
    if (cl == NULL)
        return NULL;
    if (cluster_meet(cl) != 0 || !cluster_wait_agree(cl, count, CLUSTER_FORM_TIMEOUT_MS)) {
        fprintf(stderr, "cluster: %d nodes did not form a cluster\n", count);
        cluster_print_logs(cl);
        cluster_free(cl);
        return NULL;
    }
    return cl;
}
