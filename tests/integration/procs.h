/* procs.h - starting, stopping and connecting to real dynis-server processes
 * for the integration tests (single node now, clusters later).
 *
 * Every server listens on 127.0.0.1 on a port the OS reported free, keeps
 * its data in a directory under one base temporary directory, and is killed
 * with SIGKILL if the process that started it dies (a failed Check test
 * exits without its teardown). The binary is $DYNIS_SERVER, which
 * `make check` sets.
 *
 * Use: procs_init() once in the parent (an unchecked fixture), proc_start()
 * and proc_free() around each server, procs_cleanup() in the parent's
 * teardown to remove the base directory and everything left under it.
 * Cluster nodes (proc_start_node) get a client port and a separately
 * chosen free bus port (--bus-port), and keep both across restarts so that
 * their peers find them again; cluster.h forms clusters of them. */
#ifndef DYNIS_TESTS_PROCS_H
#define DYNIS_TESTS_PROCS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <check.h>
#include <hiredis/hiredis.h>

#define PROC_PATH_MAX 512
#define PROC_ARGS_MAX 32
#define PROC_START_TIMEOUT_MS 20000
#define PROC_STOP_TIMEOUT_MS 10000
#define PROC_BUS_OFFSET 10000

typedef struct proc {
    pid_t pid;   /* 0 when not running */
    int port;
    int bus_port; /* passed as --bus-port; 0: not passed (the server's default) */
    bool keep_ports; /* a cluster node: restarts on port and bus_port again */
    bool has_run;    /* it answered PING once */
    int status;  /* waitpid status once it has exited */
    char dir[PROC_PATH_MAX];  /* the data directory (--dir) */
    char log[PROC_PATH_MAX];  /* stdout and stderr of the server */
    const char *conf;         /* borrowed configuration file, or NULL */
    const char *extra[PROC_ARGS_MAX]; /* borrowed extra options, NULL-ended */
} proc_t;

/* Adds test to s as a TCase of its own named name (so that
 * CK_RUN_CASE=<name> runs just that one), with timeout_s and the
 * procs_init / procs_cleanup fixture around it. */
void procs_add_case(Suite *s, const char *name, const TTest *test, int timeout_s);
/* procs_add_case with the test's own name. */
#define PROCS_ADD_CASE(s, test, timeout_s) procs_add_case((s), #test, (test), (timeout_s))

/* Creates the base temporary directory; call once, before any fork. */
void procs_init(void);
/* Removes the base directory and everything under it. */
void procs_cleanup(void);
/* A new empty directory under the base directory; the path is written to
 * out (cap bytes). Returns 0, or -1 on failure. */
int procs_temp_dir(char *out, size_t cap);
/* A TCP port on 127.0.0.1 that the OS says is free now, with its bus port
 * (port + PROC_BUS_OFFSET, the server's default) free too; or -1. */
int procs_free_port(void);

/* Starts a server with its own new directory and the given extra options
 * (a NULL-terminated list of borrowed strings, or NULL; they must outlive
 * the proc), waits until it answers PING. Returns the owned proc, or NULL
 * (after printing the server's log) when it did not come up. */
proc_t *proc_start(const char *const *extra);
/* As proc_start, with the configuration file conf (borrowed, outliving the
 * proc) as the first argument, before the command-line options. */
proc_t *proc_start_conf(const char *conf, const char *const *extra);
/* As proc_start_conf (conf may be NULL), for a cluster node: a free client
 * port and a distinct free bus port, passed as --bus-port. */
proc_t *proc_start_node(const char *conf, const char *const *extra);
/* Starts the (stopped) server again on the same directory and options, on
 * a new free port (a cluster node: on its own ports again). Returns 0 when
 * it answers PING, else -1. */
int proc_restart(proc_t *p);
/* Sends sig and waits up to timeout_ms for the exit, then SIGKILLs it.
 * Returns the exit code, or -1 if it died by a signal or had to be killed. */
int proc_stop(proc_t *p, int sig, int timeout_ms);
/* Waits up to timeout_ms for the process to exit on its own (SHUTDOWN);
 * returns like proc_stop, or -2 if it is still running. */
int proc_wait_exit(proc_t *p, int timeout_ms);
/* True while the process has not exited. */
bool proc_alive(proc_t *p);
/* Kills the server if it runs, removes its directory, frees p (NULL ok). */
void proc_free(proc_t *p);
/* Prints the last lines of the server's log to stderr. */
void proc_print_log(const proc_t *p);

/* A new blocking hiredis connection to the server (10 s timeouts), or NULL.
 * The caller owns it (redisFree). */
redisContext *proc_connect(const proc_t *p);
/* Removes path and everything under it; returns 0 or -1. */
int procs_rm_rf(const char *path);

#endif
