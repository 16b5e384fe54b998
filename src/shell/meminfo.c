/* meminfo.c - the process's memory figures (see meminfo.h). */
#include <config.h>

#include "shell/meminfo.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifdef HAVE_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

static uint64_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL)
        return 0;
    unsigned long long size = 0, resident = 0;
    int n = fscanf(f, "%llu %llu", &size, &resident);
    fclose(f);
    return n == 2 ? resident * (uint64_t)sysconf(_SC_PAGESIZE) : 0;
}

#ifdef HAVE_JEMALLOC
static uint64_t je_stat(const char *name)
{
    size_t v = 0, len = sizeof v;
    return mallctl(name, &v, &len, NULL, 0) == 0 ? v : 0;
}

static void allocator_figures(meminfo_t *mi)
{
    uint64_t epoch = 1;
    size_t len = sizeof epoch;
    mallctl("epoch", &epoch, &len, &epoch, len);
    mi->allocated = je_stat("stats.allocated");
    mi->active = je_stat("stats.active");
    mi->resident = je_stat("stats.resident");
    const char *version = NULL;
    len = sizeof version;
    if (mallctl("version", &version, &len, NULL, 0) == 0 && version != NULL)
        snprintf(mi->allocator, sizeof mi->allocator, "jemalloc-%.*s",
                 (int)strcspn(version, "-"), version);
}
#else
static void allocator_figures(meminfo_t *mi)
{
    mi->allocated = mi->active = mi->resident = mi->rss;
    snprintf(mi->allocator, sizeof mi->allocator, "libc");
}
#endif

void meminfo_read(meminfo_t *mi)
{
    memset(mi, 0, sizeof *mi);
    mi->rss = rss_bytes();
    mi->total_system = (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE);
    allocator_figures(mi);
}

void meminfo_human(buf_t *out, uint64_t n)
{
    static const char units[] = "BKMGTP";
    double d = (double)n;
    int u = 0;
    while (d >= 1024 && u < 5) {
        d /= 1024;
        u++;
    }
    if (u == 0)
        buf_printf(out, "%lluB", (unsigned long long)n);
    else
        buf_printf(out, "%.2f%c", d, units[u]);
}
