/* strconv.h - strict decimal integer parsing, as Redis 7.0's string2ll.
 *
 * The one integer syntax of the protocol: multibulk counts and bulk lengths
 * (proto/request.c), the commands' integer arguments (core/strop.c,
 * proto/cmd_keys.c, proto/cmd_conn.c). Pure: libc only. */
#ifndef DYNIS_UTIL_STRCONV_H
#define DYNIS_UTIL_STRCONV_H

#include <stdbool.h>
#include <stddef.h>

/* Redis's LONG_STR_SIZE: strings this long or longer are refused. */
#define STRCONV_LL_LEN_MAX 21

/* Parses the len bytes at s (not NUL-terminated) as a long long: an optional
 * '-', then digits without a leading zero (but "0" itself), no '+', no
 * spaces, fewer than STRCONV_LL_LEN_MAX bytes, no overflow. Returns false,
 * *value untouched, when s is not such a number. */
bool strconv_string2ll(const char *s, size_t len, long long *value);

#endif
