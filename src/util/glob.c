/* glob.c - Redis's stringmatchlen, with explicit bounds on every read.
 *
 * The control flow follows Redis's util.c so that SCAN MATCH and KEYS match
 * exactly the keys Redis would, including its quirks (an unclosed '[' runs to
 * the end of the pattern; ranges compare bytes as signed chars; after one
 * failed '*' expansion no longer expansion is tried). */
#include "util/glob.h"

static int glob_fold(int c, bool nocase)
{
    if (nocase && c >= 'A' && c <= 'Z')
        return c - 'A' + 'a';
    return c;
}

/* One "[...]" class at p (just past the '['); *p_len and *p advance to its
 * closing ']' (or the last pattern byte). True when c is in the class. */
static bool glob_class(const char **pp, size_t *plen_p, char c, bool nocase)
{
    const char *p = *pp;
    size_t plen = *plen_p;
    bool negate = plen > 0 && p[0] == '^';
    bool match = false;
    if (negate) {
        p++;
        plen--;
    }
    for (;;) {
        if (plen == 0) {
            p--;
            plen++;
            break;
        }
        if (p[0] == '\\' && plen >= 2) {
            p++;
            plen--;
            if (p[0] == c)
                match = true;
        } else if (p[0] == ']') {
            break;
        } else if (plen >= 3 && p[1] == '-') {
            int start = glob_fold((signed char)p[0], nocase);
            int end = glob_fold((signed char)p[2], nocase);
            int ch = glob_fold((signed char)c, nocase);
            if (start > end) {
                int t = start;
                start = end;
                end = t;
            }
            p += 2;
            plen -= 2;
            if (ch >= start && ch <= end)
                match = true;
        } else if (glob_fold((unsigned char)p[0], nocase) == glob_fold((unsigned char)c, nocase)) {
            match = true;
        }
        p++;
        plen--;
    }
    *pp = p;
    *plen_p = plen;
    return negate ? !match : match;
}

static bool glob_impl(const char *p, size_t plen, const char *s, size_t slen, bool nocase,
                      bool *skip_longer, int nesting)
{
    if (nesting > GLOB_NESTING_MAX)
        return false;
    while (plen && slen) {
        switch (p[0]) {
        case '*':
            while (plen >= 2 && p[1] == '*') {
                p++;
                plen--;
            }
            if (plen == 1)
                return true;
            while (slen) {
                if (glob_impl(p + 1, plen - 1, s, slen, nocase, skip_longer, nesting + 1))
                    return true;
                if (*skip_longer)
                    return false;
                s++;
                slen--;
            }
            *skip_longer = true;
            return false;
        case '?':
            s++;
            slen--;
            break;
        case '[':
            p++;
            plen--;
            if (!glob_class(&p, &plen, s[0], nocase))
                return false;
            s++;
            slen--;
            break;
        case '\\':
            if (plen >= 2) {
                p++;
                plen--;
            }
            /* fall through */
        default:
            if (glob_fold((unsigned char)p[0], nocase) != glob_fold((unsigned char)s[0], nocase))
                return false;
            s++;
            slen--;
            break;
        }
        p++;
        plen--;
        if (slen == 0) {
            while (plen && *p == '*') {
                p++;
                plen--;
            }
            break;
        }
    }
    return plen == 0 && slen == 0;
}

bool glob_match(const char *pattern, size_t pattern_len, const char *str, size_t str_len,
                bool nocase)
{
    bool skip_longer = false;
    return glob_impl(pattern, pattern_len, str, str_len, nocase, &skip_longer, 0);
}
