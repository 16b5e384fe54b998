/* splitargs.c - Redis's sdssplitargs, in place (see splitargs.h).
 *
 * Follows sdssplitargs in sds.c character for character: blanks between
 * words are isspace() in the C locale, but a word ends only at ' ', '\n',
 * '\r', '\t' or the end, and a quote may open in the middle of a word. */
#include "util/splitargs.h"

#include <stdbool.h>

#include "util/hex.h"

/* isspace() in the C locale, as sdssplitargs uses it. */
static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static char unescape(char c)
{
    switch (c) {
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    case 'b': return '\b';
    case 'a': return '\a';
    default: return c;
    }
}

/* What the escapes leave of a quoted part: c[0] is the closing quote (a
 * blank or the end must follow), the end of the input (unbalanced), or a
 * byte copied to *w. */
static bool quoted_plain(const char *c, char quote, char **w, bool *done)
{
    if (c[0] == quote) {
        if (c[1] != '\0' && !is_blank(c[1]))
            return false;
        *done = true;
    } else if (c[0] == '\0') {
        return false;
    } else {
        *(*w)++ = c[0];
    }
    return true;
}

/* One character inside "...": copies it (or its escape) to *w and advances
 * *s to its last byte; false on unbalanced quotes. *done is set at the
 * closing quote. */
static bool double_quoted_char(char **s, char **w, bool *done)
{
    char *c = *s;
    if (c[0] == '\\' && c[1] == 'x' && hex_digit_value(c[2]) >= 0 &&
        hex_digit_value(c[3]) >= 0) {
        *(*w)++ = (char)(hex_digit_value(c[2]) * 16 + hex_digit_value(c[3]));
        *s = c + 3;
    } else if (c[0] == '\\' && c[1] != '\0') {
        *(*w)++ = unescape(c[1]);
        *s = c + 1;
    } else {
        return quoted_plain(c, '"', w, done);
    }
    return true;
}

/* One character inside '...' (only \' is an escape), as double_quoted_char. */
static bool single_quoted_char(char **s, char **w, bool *done)
{
    char *c = *s;
    if (c[0] == '\\' && c[1] == '\'') {
        *(*w)++ = '\'';
        *s = c + 1;
        return true;
    }
    return quoted_plain(c, '\'', w, done);
}

/* Reads the word starting at *s, writing its bytes from *s onwards; *end is
 * where they stop and *s moves past the word. */
static bool read_word(char **s, char **end)
{
    char *r = *s, *w = *s;
    bool in_dq = false, in_sq = false, done = false;
    while (!done) {
        if (in_dq) {
            if (!double_quoted_char(&r, &w, &done))
                return false;
        } else if (in_sq) {
            if (!single_quoted_char(&r, &w, &done))
                return false;
        } else if (*r == ' ' || *r == '\n' || *r == '\r' || *r == '\t' || *r == '\0') {
            done = true;
        } else if (*r == '"') {
            in_dq = true;
        } else if (*r == '\'') {
            in_sq = true;
        } else {
            *w++ = *r;
        }
        if (*r != '\0')
            r++;
    }
    *s = r;
    *end = w;
    return true;
}

splitargs_status_t splitargs_next(char **pos, char **word, size_t *len)
{
    char *s = *pos;
    while (*s != '\0' && is_blank(*s))
        s++;
    *pos = s;
    if (*s == '\0')
        return SPLITARGS_END;
    char *start = s, *end;
    if (!read_word(pos, &end))
        return SPLITARGS_UNBALANCED;
    *end = '\0';
    *word = start;
    *len = (size_t)(end - start);
    return SPLITARGS_WORD;
}
