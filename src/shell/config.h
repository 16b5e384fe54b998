/* config.h - the server's configuration: redis.conf syntax, command-line
 * overrides, CONFIG GET and CONFIG SET.
 *
 * `dynis-server [file] [--name value ...]` reads the file, then appends each
 * command-line option as one more line, as redis-server does, so later lines
 * win. A line is `name arg...`; `#` starts a comment line; arguments may be
 * "double quoted" (with \n \r \t \b \a \\ \" \xHH escapes) or 'single quoted'.
 * Every parameter is one row of a table in config.c: its type, bounds,
 * default, and whether CONFIG SET may change it at run time.
 *
 * config_t is a plain struct the shell reads directly; it owns its strings. */
#ifndef DYNIS_SHELL_CONFIG_H
#define DYNIS_SHELL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* Bounds of the parser. */
#define CONFIG_LINE_ARGS_MAX 64
#define CONFIG_NODE_ID_LEN 40 /* ring.h's RING_NODE_ID_LEN */
#define CONFIG_FILE_BYTES_MAX (16u * 1024 * 1024)

/* In Redis's order (aof_fsync_enum), which CONFIG SET's error lists. */
enum config_fsync {
    CONFIG_FSYNC_EVERYSEC = 0,
    CONFIG_FSYNC_ALWAYS,
    CONFIG_FSYNC_NO,
};

enum config_loglevel {
    CONFIG_LOG_DEBUG = 0,
    CONFIG_LOG_VERBOSE,
    CONFIG_LOG_NOTICE,
    CONFIG_LOG_WARNING,
};

typedef struct config {
    char *config_file; /* absolute path of the file read, "" if none */
    int port;
    char *bind;        /* space-separated addresses */
    int bus_port;      /* 0: port + 10000 (see config_bus_port) */
    char *dir;
    char *requirepass; /* "" when unset */
    int maxclients;
    long long proto_max_bulk_len;
    long long client_query_buffer_limit;
    int appendfsync;   /* enum config_fsync */
    int loglevel;      /* enum config_loglevel */
    char *logfile;     /* "": standard error */
    bool daemonize;
    char *pidfile;     /* "": none */
    int replicas;
    int read_quorum;
    int write_quorum;
    int node_timeout;  /* ms */
    char *cluster_secret; /* the bus's HMAC secret, "" for none */
    int weight;        /* this node's share of the ring */
    char *zone;        /* "" for none; replicas spread over zones */
    char *node_id;     /* "": the stored one, or a random one at the first start */
    int gossip_interval;       /* ms */
    int anti_entropy_interval; /* ms; 0: off */
    long long background_bytes_per_sec; /* the background budget; 0: unlimited */
    long long hint_max_bytes; /* hints kept for down nodes; 0: none */
    int hint_ttl;             /* seconds a hint is kept; 0: until delivered */
    int hz;
    int timeout;       /* seconds; 0: never close idle clients */
    int tcp_keepalive; /* seconds; 0: off */
    int databases;     /* accepted for compatibility; only db 0 exists */
    char *save;        /* accepted for compatibility; no effect */
    bool appendonly;   /* accepted for compatibility; RocksDB's WAL is always on */
} config_t;

/* Fills cfg with every default. Free with config_free. */
void config_init(config_t *cfg);
void config_free(config_t *cfg);

/* Loads argv (argv[0] is the program name) over cfg's current values: an
 * optional file name first, then --name value... options. Returns 0, or -1
 * with Redis's "*** FATAL CONFIG FILE ERROR ***" text appended to err. */
int config_load_args(config_t *cfg, int argc, char *const *argv, buf_t *err);

/* Applies config text (the contents of a file) over cfg. Returns 0, or -1
 * with the fatal error text appended to err. */
int config_load_text(config_t *cfg, const char *text, size_t len, buf_t *err);

/* CONFIG SET of one parameter. Returns 0, or -1 with Redis's error text
 * (without the leading '-') appended to err. */
int config_set(config_t *cfg, const char *name, const char *value, buf_t *err);

/* Calls fn for every parameter whose name matches one of the glob patterns
 * (case-insensitive, util/glob.h), once each, with its CONFIG GET value. */
typedef void (*config_get_fn)(void *arg, const char *name, const char *value);
void config_get(const config_t *cfg, int npatterns, const char *const *patterns,
                config_get_fn fn, void *arg);

/* The effective bus port. */
int config_bus_port(const config_t *cfg);
const char *config_fsync_name(int fsync);

/* Parses a Redis memory value ("512mb", "1gb", "100"): k/m/g are powers of
 * 1000, kb/mb/gb powers of 1024, any case. Returns false when malformed. */
bool config_parse_memory(const char *s, long long *out);

/* Splits one line into arguments as redis.conf does (util/splitargs.h).
 * Returns the number of arguments (each an owned string in args), or -1 on
 * unbalanced quotes or more than args_max arguments. */
int config_split_line(const char *line, size_t len, char **args, int args_max);

#endif
