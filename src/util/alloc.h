/* alloc.h - allocation wrappers that never return NULL.
 *
 * dynis treats running out of memory as fatal, as Redis does: every module
 * allocates through these so that no caller has to check for NULL. The
 * allocator underneath is whatever malloc the program links (jemalloc in the
 * server, the libc one under the sanitizers). */
#ifndef DYNIS_UTIL_ALLOC_H
#define DYNIS_UTIL_ALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *ptr, size_t size);
/* Returns an owned, NUL-terminated copy of len bytes of s. */
char *xstrndup(const char *s, size_t len);
char *xstrdup(const char *s);
/* Returns an owned copy of len bytes of p (NULL when len is 0). */
void *xmemdup(const void *p, size_t len);

#endif
