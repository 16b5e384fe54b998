/* hex.c - hexadecimal digits (see hex.h). */
#include "util/hex.h"

int hex_digit_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

void hex_encode(const uint8_t *p, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * len] = '\0';
}

bool hex_decode(const char *s, size_t hex_len, uint8_t *out, size_t len)
{
    if (hex_len != 2 * len)
        return false;
    for (size_t i = 0; i < len; i++) {
        int hi = hex_digit_value(s[2 * i]), lo = hex_digit_value(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

bool hex_is_lower(const char *s, size_t len)
{
    /* Branch-free per character: node ids are checked on every bus message. */
    unsigned bad = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned ch = (unsigned char)s[i];
        bad |= (ch - '0' > 9u) & (ch - 'a' > 5u);
    }
    return bad == 0;
}
