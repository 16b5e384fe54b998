/* splitargs.h - splitting a line into words as Redis 7.0's sdssplitargs.
 *
 * The one word splitter of inline requests (proto/request.c) and of
 * configuration lines (shell/config.c). Words are separated by blanks; a
 * word may hold "double quoted" parts, with the escapes \xHH, \n, \r, \t,
 * \b, \a and \<any> (that byte), and 'single quoted' parts, where only \'
 * is an escape. A closing quote must be followed by a blank or the end.
 *
 * The splitter works in place and allocates nothing: a word's unescaped
 * bytes are written over the line itself, never ahead of the reading
 * position, so a caller can keep the words inside its own buffer. Pure:
 * libc only. */
#ifndef DYNIS_UTIL_SPLITARGS_H
#define DYNIS_UTIL_SPLITARGS_H

#include <stddef.h>

typedef enum {
    SPLITARGS_WORD,       /* a word was read */
    SPLITARGS_END,        /* only blanks were left */
    SPLITARGS_UNBALANCED, /* an unterminated quote, or a closing quote not
                             followed by a blank */
} splitargs_status_t;

/* Reads the next word of the NUL-terminated string at *pos (the caller's,
 * modified in place): skips blanks, unescapes the word over itself and
 * NUL-terminates it. On SPLITARGS_WORD, *word and *len give it (pointing
 * into the caller's string; it may hold NUL bytes from \x00) and *pos is
 * past it. On SPLITARGS_END *pos is at the string's end; after
 * SPLITARGS_UNBALANCED the string's content is unspecified. */
splitargs_status_t splitargs_next(char **pos, char **word, size_t *len);

#endif
