/* log.c - Redis-style log lines (see log.h). */
#include "shell/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static FILE *log_file;   /* NULL: standard error */
static enum log_level log_min = LOG_LEVEL_NOTICE;

bool log_open(const char *path, enum log_level level)
{
    log_min = level;
    if (path == NULL || path[0] == '\0')
        return true;
    FILE *f = fopen(path, "a");
    if (f == NULL)
        return false;
    log_close();
    log_file = f;
    return true;
}

void log_set_level(enum log_level level)
{
    log_min = level;
}

void log_close(void)
{
    if (log_file != NULL)
        fclose(log_file);
    log_file = NULL;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    if (level < log_min)
        return;
    char msg[LOG_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    char stamp[64];
    size_t off = strftime(stamp, sizeof stamp, "%d %b %Y %H:%M:%S.", &tm);
    snprintf(stamp + off, sizeof stamp - off, "%03d", (int)(tv.tv_usec / 1000));

    static const char marks[] = ".-*#";
    FILE *out = log_file ? log_file : stderr;
    fprintf(out, "%d:M %s %c %s\n", (int)getpid(), stamp, marks[level], msg);
    fflush(out);
}
