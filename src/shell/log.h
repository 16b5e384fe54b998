/* log.h - Redis-style log lines: "pid:M 28 Nov 2026 07:40:01.123 * message".
 *
 * The one process-wide sink of the server: a file (appended to) or standard
 * error, and a minimum level. The level characters are Redis's:
 * '.' debug, '-' verbose, '*' notice, '#' warning. Only the shell logs; the
 * core and proto layers report through return values. */
#ifndef DYNIS_SHELL_LOG_H
#define DYNIS_SHELL_LOG_H

#include <stdbool.h>

enum log_level {
    LOG_LEVEL_DEBUG = 0,
    LOG_LEVEL_VERBOSE,
    LOG_LEVEL_NOTICE,
    LOG_LEVEL_WARNING,
};

/* The longest message written; longer ones are truncated. */
#define LOG_LINE_MAX 1024

/* Logs to path ("" or NULL: standard error) from now on, at level and above.
 * Returns false (and keeps the previous sink) when path cannot be opened. */
bool log_open(const char *path, enum log_level level);
void log_set_level(enum log_level level);
/* Closes a log file (standard error stays the sink). */
void log_close(void);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_verbose(...) log_msg(LOG_LEVEL_VERBOSE, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_LEVEL_NOTICE, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_LEVEL_WARNING, __VA_ARGS__)

#endif
