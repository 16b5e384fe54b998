/* procs.c - the server-process helpers of procs.h: fork/exec of
 * $DYNIS_SERVER on a free port with its data and log in a temporary
 * directory, readiness by PING, stop by signal with a bounded wait, and
 * recursive removal of the directories. */
#define _GNU_SOURCE
#include "procs.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define POLL_MS 20
#define START_ATTEMPTS_MAX 3
#define LOG_TAIL_BYTES 4096
#define NFTW_FDS_MAX 16
#define FREE_PORT_ATTEMPTS_MAX 100
#define PORT_MAX 65535

static char procs_base[PROC_PATH_MAX];
static unsigned procs_dir_seq;

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

void procs_init(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(procs_base, sizeof procs_base, "%s/dynis-it.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(procs_base) == NULL) {
        perror("procs_init: mkdtemp");
        exit(EXIT_FAILURE);
    }
    /* A server that closes a connection mid-write must fail the write, not
     * kill the test. */
    signal(SIGPIPE, SIG_IGN);
}

void procs_cleanup(void)
{
    if (procs_base[0] != '\0')
        procs_rm_rf(procs_base);
    procs_base[0] = '\0';
}

int procs_temp_dir(char *out, size_t cap)
{
    if (procs_base[0] == '\0')
        procs_init();
    int n = snprintf(out, cap, "%s/n%ld-%u", procs_base, (long)getpid(), procs_dir_seq++);
    if (n < 0 || (size_t)n >= cap)
        return -1;
    return mkdir(out, 0700) == 0 ? 0 : -1;
}

/* Binds 127.0.0.1:port (0: any) and returns the fd, the port in *bound. */
static int bind_port(int port, int *bound)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        close(fd);
        return -1;
    }
    *bound = ntohs(sa.sin_port);
    return fd;
}

int procs_free_port(void)
{
    for (int i = 0; i < FREE_PORT_ATTEMPTS_MAX; i++) {
        int port = -1, bus = -1;
        int fd = bind_port(0, &port);
        if (fd < 0)
            return -1;
        int bus_fd = port + PROC_BUS_OFFSET <= PORT_MAX ? bind_port(port + PROC_BUS_OFFSET, &bus) : -1;
        close(fd);
        if (bus_fd >= 0) {
            close(bus_fd);
            return port;
        }
    }
    return -1;
}

static int unlink_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

int procs_rm_rf(const char *path)
{
    return nftw(path, unlink_cb, NFTW_FDS_MAX, FTW_DEPTH | FTW_PHYS);
}

/* A client port and a bus port, distinct and both free now: 0, or -1. */
static int free_port_pair(int *port, int *bus)
{
    int fd = bind_port(0, port);
    if (fd < 0)
        return -1;
    int bus_fd = bind_port(0, bus);
    close(fd);
    if (bus_fd < 0)
        return -1;
    close(bus_fd);
    return 0;
}

/* In the child: stdout/stderr to the log, die with the parent, exec. */
static void exec_server(const proc_t *p, const char *bin)
{
    char port[16], bus[16];
    snprintf(port, sizeof port, "%d", p->port);
    snprintf(bus, sizeof bus, "%d", p->bus_port);
    const char *argv[PROC_ARGS_MAX + 11] = {bin};
    int argc = 1;
    if (p->conf != NULL)
        argv[argc++] = p->conf;
    const char *fixed[] = {"--port", port, "--bind", "127.0.0.1", "--dir", p->dir};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        argv[argc++] = fixed[i];
    if (p->bus_port != 0) {
        argv[argc++] = "--bus-port";
        argv[argc++] = bus;
    }
    for (int i = 0; i < PROC_ARGS_MAX && p->extra[i] != NULL; i++)
        argv[argc++] = p->extra[i];
    argv[argc] = NULL;
    int fd = open(p->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        close(fd);
    }
    signal(SIGPIPE, SIG_DFL);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    execv(bin, (char *const *)argv);
    perror("exec dynis-server");
    _exit(127);
}

static bool answers_ping(int port)
{
    struct timeval tv = {1, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    bool ok = false;
    if (c != NULL && !c->err) {
        redisReply *r = redisCommand(c, "PING");
        /* -NOAUTH means up too (requirepass is set). */
        ok = r != NULL && ((r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0) ||
                           (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOAUTH", 6) == 0));
        if (r != NULL)
            freeReplyObject(r);
    }
    if (c != NULL)
        redisFree(c);
    return ok;
}

/* Chooses the ports of the next start: new free ones, unless a cluster
 * node that has run keeps its own. Returns 0 or -1. */
static int choose_ports(proc_t *p)
{
    if (p->keep_ports && p->has_run)
        return 0;
    if (p->keep_ports)
        return free_port_pair(&p->port, &p->bus_port);
    p->port = procs_free_port();
    return p->port < 0 ? -1 : 0;
}

/* Forks the server on its ports and waits for PING: 0, or -1 when it
 * exited or did not answer in time (then it is stopped). */
static int spawn_once(proc_t *p, const char *bin)
{
    if (choose_ports(p) != 0)
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0)
        exec_server(p, bin);
    p->pid = pid;
    for (int waited = 0; waited < PROC_START_TIMEOUT_MS; waited += POLL_MS) {
        if (!proc_alive(p))
            return -1;
        if (answers_ping(p->port))
            return 0;
        sleep_ms(POLL_MS);
    }
    proc_stop(p, SIGKILL, PROC_STOP_TIMEOUT_MS);
    return -1;
}

static int spawn(proc_t *p)
{
    const char *bin = getenv("DYNIS_SERVER");
    if (bin == NULL || access(bin, X_OK) != 0) {
        fprintf(stderr, "procs: DYNIS_SERVER (%s) is not an executable\n", bin ? bin : "unset");
        return -1;
    }
    for (int i = 0; i < START_ATTEMPTS_MAX; i++) {
        if (spawn_once(p, bin) == 0) {
            p->has_run = true;
            return 0;
        }
    }
    proc_print_log(p);
    return -1;
}

/* A new proc with its directory, started: the owned proc, or NULL. */
static proc_t *proc_launch(const char *conf, const char *const *extra, bool node)
{
    proc_t *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    p->conf = conf;
    p->keep_ports = node;
    for (int i = 0; extra != NULL && i < PROC_ARGS_MAX - 1 && extra[i] != NULL; i++)
        p->extra[i] = extra[i];
    char base[PROC_PATH_MAX];
    if (procs_temp_dir(base, sizeof base) != 0) {
        free(p);
        return NULL;
    }
    snprintf(p->dir, sizeof p->dir, "%.*s/data", PROC_PATH_MAX - 8, base);
    snprintf(p->log, sizeof p->log, "%.*s/server.log", PROC_PATH_MAX - 16, base);
    if (spawn(p) != 0) {
        proc_free(p);
        return NULL;
    }
    return p;
}

proc_t *proc_start(const char *const *extra)
{
    return proc_start_conf(NULL, extra);
}

proc_t *proc_start_conf(const char *conf, const char *const *extra)
{
    return proc_launch(conf, extra, false);
}

proc_t *proc_start_node(const char *conf, const char *const *extra)
{
    return proc_launch(conf, extra, true);
}

int proc_restart(proc_t *p)
{
    if (proc_alive(p))
        return -1;
    return spawn(p);
}

bool proc_alive(proc_t *p)
{
    if (p == NULL || p->pid == 0)
        return false;
    pid_t r = waitpid(p->pid, &p->status, WNOHANG);
    if (r == 0)
        return true;
    p->pid = 0;
    return false;
}

static int exit_code(int status)
{
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int proc_wait_exit(proc_t *p, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += POLL_MS) {
        if (!proc_alive(p))
            return exit_code(p->status);
        sleep_ms(POLL_MS);
    }
    return -2;
}

int proc_stop(proc_t *p, int sig, int timeout_ms)
{
    if (!proc_alive(p))
        return p != NULL ? exit_code(p->status) : -1;
    kill(p->pid, sig);
    int code = proc_wait_exit(p, timeout_ms);
    if (code != -2)
        return code;
    kill(p->pid, SIGKILL);
    waitpid(p->pid, &p->status, 0);
    p->pid = 0;
    return -1;
}

void proc_free(proc_t *p)
{
    if (p == NULL)
        return;
    proc_stop(p, SIGKILL, PROC_STOP_TIMEOUT_MS);
    char *slash = strrchr(p->dir, '/');
    if (slash != NULL) {
        *slash = '\0';
        procs_rm_rf(p->dir);
    }
    free(p);
}

void proc_print_log(const proc_t *p)
{
    FILE *f = fopen(p->log, "r");
    if (f == NULL)
        return;
    char buf[LOG_TAIL_BYTES + 1];
    if (fseek(f, -LOG_TAIL_BYTES, SEEK_END) != 0)
        rewind(f);
    size_t n = fread(buf, 1, LOG_TAIL_BYTES, f);
    buf[n] = '\0';
    fclose(f);
    fprintf(stderr, "--- %s (last %zu bytes)\n%s\n---\n", p->log, n, buf);
}

redisContext *proc_connect(const proc_t *p)
{
    struct timeval tv = {10, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", p->port, tv);
    if (c == NULL)
        return NULL;
    if (c->err) {
        redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
    return c;
}

void procs_add_case(Suite *s, const char *name, const TTest *test, int timeout_s)
{
    TCase *tc = tcase_create(name);
    tcase_set_timeout(tc, timeout_s);
    tcase_add_unchecked_fixture(tc, procs_init, procs_cleanup);
    tcase_add_test(tc, test);
    suite_add_tcase(s, tc);
}
