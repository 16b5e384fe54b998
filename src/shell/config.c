/* config.c - the server's configuration (see config.h).
 *
 * Every parameter is one row of config_params[]: the parser, CONFIG GET and
 * CONFIG SET all walk that table, so a new option is one new row. Error texts
 * are Redis 7.0's, so people and tools that know redis-server recognise them. */
#include <config.h>

#include "shell/config.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/alloc.h"
#include "util/glob.h"
#include "util/splitargs.h"
#include "util/strconv.h"

#define CONFIG_BANNER "\n*** FATAL CONFIG FILE ERROR (dynis " PACKAGE_VERSION ") ***\n"
/* The largest replication factor and quorums accepted. */
#define CONFIG_REPLICAS_MAX 16
#define CONFIG_HZ_MAX 500
#define CONFIG_WEIGHT_MAX 1000 /* ring.h's RING_WEIGHT_MAX */

enum param_type { P_INT, P_MEMORY, P_STRING, P_ENUM, P_BOOL };

enum param_flags {
    P_MUTABLE = 1 << 0, /* CONFIG SET may change it */
    P_MULTI = 1 << 1,   /* takes any number of arguments, joined by spaces */
    P_NOARGS = 1 << 2,  /* may have no argument at all ("--save" alone) */
};

typedef struct param {
    const char *name;
    enum param_type type;
    size_t offset;
    long long min, max;
    const char *const *names; /* P_ENUM: the accepted words, by value */
    const char *default_value;
    unsigned flags;
} param_t;

/* Indexed by enum config_fsync, whose order Redis's error text shows. */
static const char *const fsync_names[] = {"everysec", "always", "no", NULL};
static const char *const loglevel_names[] = {"debug", "verbose", "notice", "warning", NULL};

#define OFF(field) offsetof(config_t, field)
#define MB (1024LL * 1024)

static const param_t config_params[] = {
    {"port", P_INT, OFF(port), 0, 65535, NULL, "6379", 0},
    {"bind", P_STRING, OFF(bind), 0, 0, NULL, "127.0.0.1", P_MULTI},
    {"bus-port", P_INT, OFF(bus_port), 0, 65535, NULL, "0", 0},
    {"dir", P_STRING, OFF(dir), 0, 0, NULL, "./data", 0},
    {"requirepass", P_STRING, OFF(requirepass), 0, 0, NULL, "", P_MUTABLE},
    {"maxclients", P_INT, OFF(maxclients), 1, INT_MAX, NULL, "10000", P_MUTABLE},
    {"proto-max-bulk-len", P_MEMORY, OFF(proto_max_bulk_len), MB, LLONG_MAX, NULL, "512mb",
     P_MUTABLE},
    {"client-query-buffer-limit", P_MEMORY, OFF(client_query_buffer_limit), MB, LLONG_MAX, NULL,
     "1gb", P_MUTABLE},
    {"appendfsync", P_ENUM, OFF(appendfsync), 0, 0, fsync_names, "everysec", P_MUTABLE},
    {"loglevel", P_ENUM, OFF(loglevel), 0, 0, loglevel_names, "notice", P_MUTABLE},
    {"logfile", P_STRING, OFF(logfile), 0, 0, NULL, "", 0},
    {"daemonize", P_BOOL, OFF(daemonize), 0, 0, NULL, "no", 0},
    {"pidfile", P_STRING, OFF(pidfile), 0, 0, NULL, "", 0},
    {"replicas", P_INT, OFF(replicas), 1, CONFIG_REPLICAS_MAX, NULL, "3", 0},
    {"read-quorum", P_INT, OFF(read_quorum), 1, CONFIG_REPLICAS_MAX, NULL, "2", 0},
    {"write-quorum", P_INT, OFF(write_quorum), 1, CONFIG_REPLICAS_MAX, NULL, "2", 0},
    {"node-timeout", P_INT, OFF(node_timeout), 1, INT_MAX, NULL, "5000", 0},
    {"cluster-secret", P_STRING, OFF(cluster_secret), 0, 0, NULL, "", 0},
    {"weight", P_INT, OFF(weight), 1, CONFIG_WEIGHT_MAX, NULL, "1", 0},
    {"zone", P_STRING, OFF(zone), 0, 0, NULL, "", 0},
    {"node-id", P_STRING, OFF(node_id), 0, 0, NULL, "", 0},
    {"gossip-interval", P_INT, OFF(gossip_interval), 1, INT_MAX, NULL, "1000", 0},
    {"anti-entropy-interval", P_INT, OFF(anti_entropy_interval), 0, INT_MAX, NULL, "10000", 0},
    {"background-bytes-per-sec", P_MEMORY, OFF(background_bytes_per_sec), 0, LLONG_MAX, NULL,
     "10mb", P_MUTABLE},
    {"hint-max-bytes", P_MEMORY, OFF(hint_max_bytes), 0, LLONG_MAX, NULL, "64mb", 0},
    {"hint-ttl", P_INT, OFF(hint_ttl), 0, INT_MAX, NULL, "10800", 0},
    {"hz", P_INT, OFF(hz), 1, CONFIG_HZ_MAX, NULL, "10", P_MUTABLE},
    {"timeout", P_INT, OFF(timeout), 0, INT_MAX, NULL, "0", P_MUTABLE},
    {"tcp-keepalive", P_INT, OFF(tcp_keepalive), 0, INT_MAX, NULL, "300", 0},
    {"databases", P_INT, OFF(databases), 1, INT_MAX, NULL, "16", 0},
    {"save", P_STRING, OFF(save), 0, 0, NULL, "", P_MUTABLE | P_MULTI | P_NOARGS},
    {"appendonly", P_BOOL, OFF(appendonly), 0, 0, NULL, "no", P_MUTABLE},
};

#define CONFIG_PARAMS_COUNT (sizeof config_params / sizeof config_params[0])

static const param_t *param_find(const char *name)
{
    for (size_t i = 0; i < CONFIG_PARAMS_COUNT; i++)
        if (strcasecmp(config_params[i].name, name) == 0)
            return &config_params[i];
    return NULL;
}

/* ---------------------------------------------------------------- values */

bool config_parse_memory(const char *s, long long *out)
{
    const char *u = s;
    while (*u == '-' || (*u >= '0' && *u <= '9'))
        u++;
    long long mul = 1;
    if (*u == '\0')
        mul = 1;
    else if (strcasecmp(u, "b") == 0)
        mul = 1;
    else if (strcasecmp(u, "k") == 0)
        mul = 1000;
    else if (strcasecmp(u, "kb") == 0)
        mul = 1024;
    else if (strcasecmp(u, "m") == 0)
        mul = 1000 * 1000;
    else if (strcasecmp(u, "mb") == 0)
        mul = 1024 * 1024;
    else if (strcasecmp(u, "g") == 0)
        mul = 1000LL * 1000 * 1000;
    else if (strcasecmp(u, "gb") == 0)
        mul = 1024LL * 1024 * 1024;
    else
        return false;
    size_t digits = (size_t)(u - s);
    char num[32];
    if (digits == 0 || digits >= sizeof num)
        return false;
    memcpy(num, s, digits);
    num[digits] = '\0';
    char *end;
    errno = 0;
    long long v = strtoll(num, &end, 10);
    if (errno != 0 || *end != '\0' || (v > 0 && v > LLONG_MAX / mul) ||
        (v < 0 && v < LLONG_MIN / mul))
        return false;
    *out = v * mul;
    return true;
}

static int parse_enum(const param_t *p, const char *value, buf_t *err)
{
    for (int i = 0; p->names[i] != NULL; i++)
        if (strcasecmp(p->names[i], value) == 0)
            return i;
    buf_append_str(err, "argument(s) must be one of the following: ");
    for (int i = 0; p->names[i] != NULL; i++)
        buf_printf(err, "%s%s", i ? ", " : "", p->names[i]);
    return -1;
}

static int check_range(const param_t *p, long long v, buf_t *err)
{
    if (v >= p->min && v <= p->max)
        return 0;
    buf_printf(err, "argument must be between %lld and %lld inclusive", p->min, p->max);
    return -1;
}

/* Stores value into p's field of cfg. On error appends Redis's reason. */
static int param_set(config_t *cfg, const param_t *p, const char *value, buf_t *err)
{
    char *field = (char *)cfg + p->offset;
    long long v = 0;
    switch (p->type) {
    case P_INT:
        if (!strconv_string2ll(value, strlen(value), &v)) {
            buf_append_str(err, "argument couldn't be parsed into an integer");
            return -1;
        }
        if (check_range(p, v, err) < 0)
            return -1;
        *(int *)field = (int)v;
        return 0;
    case P_MEMORY:
        if (!config_parse_memory(value, &v)) {
            buf_append_str(err, "argument must be a memory value");
            return -1;
        }
        if (check_range(p, v, err) < 0)
            return -1;
        *(long long *)field = v;
        return 0;
    case P_ENUM: {
        int e = parse_enum(p, value, err);
        if (e < 0)
            return -1;
        *(int *)field = e;
        return 0;
    }
    case P_BOOL:
        if (strcasecmp(value, "yes") != 0 && strcasecmp(value, "no") != 0) {
            buf_append_str(err, "argument must be 'yes' or 'no'");
            return -1;
        }
        *(bool *)field = strcasecmp(value, "yes") == 0;
        return 0;
    case P_STRING:
        free(*(char **)field);
        *(char **)field = xstrdup(value);
        return 0;
    }
    return -1;
}

static void param_format(const config_t *cfg, const param_t *p, buf_t *out)
{
    const char *field = (const char *)cfg + p->offset;
    switch (p->type) {
    case P_INT:
        buf_printf(out, "%d", *(const int *)field);
        break;
    case P_MEMORY:
        buf_printf(out, "%lld", *(const long long *)field);
        break;
    case P_ENUM:
        buf_append_str(out, p->names[*(const int *)field]);
        break;
    case P_BOOL:
        buf_append_str(out, *(const bool *)field ? "yes" : "no");
        break;
    case P_STRING:
        buf_append_str(out, *(char *const *)field);
        break;
    }
}

/* ------------------------------------------------------- init and free */

void config_init(config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->config_file = xstrdup("");
    buf_t err = BUF_INIT;
    for (size_t i = 0; i < CONFIG_PARAMS_COUNT; i++)
        if (param_set(cfg, &config_params[i], config_params[i].default_value, &err) < 0)
            abort(); /* a default outside its own bounds is a bug in the table */
    buf_free(&err);
}

void config_free(config_t *cfg)
{
    free(cfg->config_file);
    for (size_t i = 0; i < CONFIG_PARAMS_COUNT; i++)
        if (config_params[i].type == P_STRING)
            free(*(char **)((char *)cfg + config_params[i].offset));
    memset(cfg, 0, sizeof *cfg);
}

int config_bus_port(const config_t *cfg)
{
    return cfg->bus_port ? cfg->bus_port : cfg->port + 10000;
}

const char *config_fsync_name(int fsync)
{
    return fsync_names[fsync];
}

/* ------------------------------------------------------ line splitting */

static void split_free(char **args, int n)
{
    for (int i = 0; i < n; i++)
        free(args[i]);
}

int config_split_line(const char *line, size_t len, char **args, int args_max)
{
    char *copy = xstrndup(line, len), *pos = copy, *word;
    size_t word_len;
    int n = 0;
    splitargs_status_t st;
    while ((st = splitargs_next(&pos, &word, &word_len)) == SPLITARGS_WORD && n < args_max)
        args[n++] = xstrndup(word, word_len);
    free(copy);
    if (st == SPLITARGS_END)
        return n;
    split_free(args, n);
    return -1;
}

/* ------------------------------------------------------------- loading */

static void fatal_at(buf_t *err, int line_no, const char *line, size_t len, const char *why)
{
    buf_append_str(err, CONFIG_BANNER);
    buf_printf(err, "Reading the configuration file, at line %d\n", line_no);
    buf_printf(err, ">>> '%.*s'\n%s\n", (int)len, line, why);
}

/* Applies one split line. Returns 0, or -1 with the reason in why. */
static int apply_line(config_t *cfg, int argc, char **args, buf_t *why)
{
    const param_t *p = param_find(args[0]);
    if (p == NULL || (!(p->flags & P_MULTI) && argc != 2) ||
        (argc < 2 && !(p->flags & P_NOARGS))) {
        buf_append_str(why, "Bad directive or wrong number of arguments");
        return -1;
    }
    if (!(p->flags & P_MULTI))
        return param_set(cfg, p, args[1], why);
    buf_t joined = BUF_INIT;
    for (int i = 1; i < argc; i++)
        buf_printf(&joined, "%s%s", i > 1 ? " " : "", args[i]);
    buf_append_byte(&joined, 0);
    int rc = param_set(cfg, p, joined.data, why);
    buf_free(&joined);
    return rc;
}

/* True when id is empty or CONFIG_NODE_ID_LEN lowercase hex digits. */
static bool node_id_valid(const char *id)
{
    size_t len = strlen(id);
    if (len != 0 && len != CONFIG_NODE_ID_LEN)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
            return false;
    return true;
}

/* The checks that involve several parameters, or a parameter's format. */
static int check_config(const config_t *cfg, buf_t *err)
{
    if (!node_id_valid(cfg->node_id)) {
        buf_append_str(err, CONFIG_BANNER);
        buf_printf(err, "node-id must be %d lowercase hex digits\n", CONFIG_NODE_ID_LEN);
        return -1;
    }
    if (cfg->read_quorum <= cfg->replicas && cfg->write_quorum <= cfg->replicas)
        return 0;
    buf_append_str(err, CONFIG_BANNER);
    buf_printf(err, "read-quorum (%d) and write-quorum (%d) must not exceed replicas (%d)\n",
               cfg->read_quorum, cfg->write_quorum, cfg->replicas);
    return -1;
}

int config_load_text(config_t *cfg, const char *text, size_t len, buf_t *err)
{
    const char *p = text, *end = text + len;
    char *args[CONFIG_LINE_ARGS_MAX];
    buf_t why = BUF_INIT;
    int rc = 0;
    for (int line_no = 1; p < end && rc == 0; line_no++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = nl ? nl : end;
        const char *s = p, *e = line_end;
        p = nl ? nl + 1 : end;
        while (s < e && (*s == ' ' || *s == '\t' || *s == '\r'))
            s++;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
            e--;
        if (s == e || *s == '#')
            continue;
        int argc = config_split_line(s, (size_t)(e - s), args, CONFIG_LINE_ARGS_MAX);
        if (argc < 0) {
            fatal_at(err, line_no, s, (size_t)(e - s), "Unbalanced quotes in configuration line");
            rc = -1;
            break;
        }
        buf_clear(&why);
        if (apply_line(cfg, argc, args, &why) < 0) {
            buf_append_byte(&why, 0);
            fatal_at(err, line_no, s, (size_t)(e - s), why.data);
            rc = -1;
        }
        split_free(args, argc);
    }
    buf_free(&why);
    return rc == 0 ? check_config(cfg, err) : rc;
}

/* Appends s to out as redis-server's sdscatrepr does: quoted, escaped. */
static void append_repr(buf_t *out, const char *s)
{
    buf_append_byte(out, '"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\\' || c == '"')
            buf_printf(out, "\\%c", c);
        else if (c == '\n')
            buf_append_str(out, "\\n");
        else if (c == '\r')
            buf_append_str(out, "\\r");
        else if (c == '\t')
            buf_append_str(out, "\\t");
        else if (c < 32 || c >= 127)
            buf_printf(out, "\\x%02x", c);
        else
            buf_append_byte(out, c);
    }
    buf_append_byte(out, '"');
}

static int read_file(const char *path, buf_t *out, buf_t *err)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        buf_printf(err, "Fatal error, can't open config file '%s': %s\n", path, strerror(errno));
        return -1;
    }
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && out->len <= CONFIG_FILE_BYTES_MAX)
        buf_append(out, chunk, n);
    bool failed = ferror(f) || out->len > CONFIG_FILE_BYTES_MAX;
    fclose(f);
    if (failed)
        buf_printf(err, "Fatal error, can't read config file '%s'\n", path);
    return failed ? -1 : 0;
}

int config_load_args(config_t *cfg, int argc, char *const *argv, buf_t *err)
{
    buf_t text = BUF_INIT;
    int j = 1;
    if (argc > 1 && argv[1][0] != '-') {
        if (read_file(argv[1], &text, err) < 0) {
            buf_free(&text);
            return -1;
        }
        char *abs = realpath(argv[1], NULL);
        free(cfg->config_file);
        cfg->config_file = xstrdup(abs ? abs : argv[1]);
        free(abs);
        j = 2;
    }
    buf_append_byte(&text, '\n');
    bool first = true;
    for (; j < argc; j++) {
        if (argv[j][0] == '-' && argv[j][1] == '-' && argv[j][2] != '\0') {
            if (!first)
                buf_append_byte(&text, '\n');
            buf_append_str(&text, argv[j] + 2);
            first = false;
        } else {
            buf_append_byte(&text, ' ');
            append_repr(&text, argv[j]);
        }
    }
    int rc = config_load_text(cfg, text.data, text.len, err);
    buf_free(&text);
    return rc;
}

/* ------------------------------------------------- CONFIG GET and SET */

int config_set(config_t *cfg, const char *name, const char *value, buf_t *err)
{
    const param_t *p = param_find(name);
    if (p == NULL) {
        buf_printf(err, "ERR Unknown option or number of arguments for CONFIG SET - '%s'", name);
        return -1;
    }
    buf_t why = BUF_INIT;
    int rc = -1;
    if (!(p->flags & P_MUTABLE))
        buf_append_str(&why, "can't set immutable config");
    else
        rc = param_set(cfg, p, value, &why);
    if (rc < 0) {
        buf_append_byte(&why, 0);
        buf_printf(err, "ERR CONFIG SET failed (possibly related to argument '%s') - %s", name,
                   why.data);
    }
    buf_free(&why);
    return rc;
}

void config_get(const config_t *cfg, int npatterns, const char *const *patterns,
                config_get_fn fn, void *arg)
{
    buf_t value = BUF_INIT;
    for (size_t i = 0; i < CONFIG_PARAMS_COUNT; i++) {
        const param_t *p = &config_params[i];
        bool match = false;
        for (int k = 0; k < npatterns && !match; k++)
            match = glob_match(patterns[k], strlen(patterns[k]), p->name, strlen(p->name),
                               true);
        if (!match)
            continue;
        buf_clear(&value);
        param_format(cfg, p, &value);
        buf_append_byte(&value, 0);
        fn(arg, p->name, value.data);
    }
    buf_free(&value);
}
