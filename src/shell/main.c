/* main.c - dynis-server: reads the configuration (a redis.conf-style file and
 * --name value overrides), sets up logging, daemonizes when asked, then runs
 * the server until SIGTERM, SIGINT or SHUTDOWN. */
#include <config.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shell/config.h"
#include "shell/info.h"
#include "shell/log.h"
#include "shell/server.h"

static void usage(void)
{
    fprintf(stderr,
            "Usage: ./dynis-server [/path/to/dynis.conf] [options] [-]\n"
            "       ./dynis-server - (read config from stdin is not supported)\n"
            "       ./dynis-server -v or --version\n"
            "       ./dynis-server -h or --help\n\n"
            "Examples:\n"
            "       ./dynis-server (run the server with default config)\n"
            "       ./dynis-server /etc/dynis/dynis.conf\n"
            "       ./dynis-server --port 7777\n"
            "       ./dynis-server /etc/dynis.conf --port 7005 --dir /tmp/d --loglevel verbose\n");
}

static void daemonize(void)
{
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(1);
    }
    if (pid > 0)
        exit(0);
    setsid();
    int fd = open("/dev/null", O_RDWR);
    if (fd >= 0) {
        dup2(fd, STDIN_FILENO);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        if (fd > STDERR_FILENO)
            close(fd);
    }
}

static void write_pidfile(const char *path)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        log_warning("Failed to write PID file '%s'", path);
        return;
    }
    fprintf(f, "%d\n", (int)getpid());
    fclose(f);
}

/* Loads the configuration or exits with Redis's fatal error text. */
static void load_config(config_t *cfg, int argc, char **argv)
{
    config_init(cfg);
    buf_t err = BUF_INIT;
    if (config_load_args(cfg, argc, argv, &err) < 0) {
        fprintf(stderr, "%.*s", (int)err.len, err.data);
        exit(1);
    }
    buf_free(&err);
    if (!log_open(cfg->logfile, (enum log_level)cfg->loglevel)) {
        fprintf(stderr, "Can't open the log file: %s\n", cfg->logfile);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "-v") == 0 || strcmp(argv[1], "--version") == 0)) {
        printf("Dynis server v=%s (Redis %s compatible) bits=%d\n", PACKAGE_VERSION,
               INFO_REDIS_VERSION, (int)sizeof(void *) * 8);
        return 0;
    }
    if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        usage();
        return 0;
    }
    signal(SIGPIPE, SIG_IGN);
    config_t cfg;
    load_config(&cfg, argc, argv);
    if (cfg.daemonize)
        daemonize();
    log_notice("oO0OoO0OoO0Oo Dynis is starting oO0OoO0OoO0Oo");
    log_notice("Dynis version=%s, bits=%d, pid=%d, just started", PACKAGE_VERSION,
               (int)sizeof(void *) * 8, (int)getpid());
    if (cfg.config_file[0] == '\0')
        log_warning("Warning: no config file specified, using the default config. In order "
                    "to specify a config file use %s /path/to/dynis.conf", argv[0]);
    else
        log_notice("Configuration loaded");
    if (cfg.pidfile[0] != '\0')
        write_pidfile(cfg.pidfile);
    server_t *srv = server_new(&cfg);
    int status = 1;
    if (srv != NULL) {
        status = server_run(srv);
        server_free(srv);
    }
    if (cfg.pidfile[0] != '\0')
        unlink(cfg.pidfile);
    config_free(&cfg);
    log_close();
    return status;
}
