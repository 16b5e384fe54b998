/* strconv.c - strict decimal integer parsing (see strconv.h). */
#include "util/strconv.h"

#include <limits.h>

bool strconv_string2ll(const char *s, size_t len, long long *value)
{
    if (len == 0 || len >= STRCONV_LL_LEN_MAX)
        return false;
    if (len == 1 && s[0] == '0') {
        *value = 0;
        return true;
    }
    bool negative = s[0] == '-';
    size_t i = negative ? 1 : 0;
    if (i == len || s[i] < '1' || s[i] > '9')
        return false;
    unsigned long long v = 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned digit = (unsigned)(s[i] - '0');
        if (v > (ULLONG_MAX - digit) / 10)
            return false;
        v = v * 10 + digit;
    }
    if (negative) {
        if (v > (unsigned long long)LLONG_MAX + 1)
            return false;
        *value = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)v;
    } else {
        if (v > (unsigned long long)LLONG_MAX)
            return false;
        *value = (long long)v;
    }
    return true;
}
