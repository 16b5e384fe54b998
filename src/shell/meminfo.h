/* meminfo.h - the process's memory figures for INFO memory.
 *
 * With jemalloc (HAVE_JEMALLOC) the allocator's own statistics, refreshed
 * through mallctl("epoch"); under the sanitizers (libc malloc) only what the
 * kernel reports, and used_memory is then the resident size. */
#ifndef DYNIS_SHELL_MEMINFO_H
#define DYNIS_SHELL_MEMINFO_H

#include <stdint.h>

#include "util/buf.h"

/* Room for the allocator's name, e.g. "jemalloc-5.3.0". */
#define MEMINFO_ALLOCATOR_MAX 32

typedef struct meminfo {
    uint64_t allocated;  /* bytes the program holds (used_memory) */
    uint64_t active;     /* bytes in pages the allocator uses */
    uint64_t resident;   /* bytes the allocator keeps resident */
    uint64_t rss;        /* the process's resident set size */
    uint64_t total_system;
    char allocator[MEMINFO_ALLOCATOR_MAX];
} meminfo_t;

void meminfo_read(meminfo_t *mi);
/* Appends n as Redis's bytesToHuman does ("989.55K", "1.20G"). */
void meminfo_human(buf_t *out, uint64_t n);

#endif
