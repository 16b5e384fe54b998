/* glob.h - Redis's glob-style pattern matching (stringmatchlen).
 *
 * Used by SCAN MATCH and KEYS (and usable by CONFIG GET). Patterns and
 * strings are binary-safe byte ranges:
 *   *      any run of bytes          ?      any one byte
 *   [abc]  one of the bytes          [^a]   any byte but a
 *   [a-z]  a range (either order)    \x     the byte x itself
 * A '[' without its ']' matches to the end of the pattern, and "*" does not
 * match the empty string, both as in Redis (whose SCAN and KEYS, like ours,
 * skip matching altogether for the pattern "*"). Match
 * recursion is bounded by GLOB_NESTING_MAX (a deeper pattern does not match),
 * so hostile patterns cannot blow the stack. */
#ifndef DYNIS_UTIL_GLOB_H
#define DYNIS_UTIL_GLOB_H

#include <stdbool.h>
#include <stddef.h>

#define GLOB_NESTING_MAX 1000

/* True when str matches pattern; nocase folds ASCII case. */
bool glob_match(const char *pattern, size_t pattern_len, const char *str, size_t str_len,
                bool nocase);

#endif
