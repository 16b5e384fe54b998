/* hex.h - hexadecimal digits: one digit's value, lowercase encoding and exact
 * decoding of byte strings, and the lowercase-hex check of node ids.
 *
 * Used by the inline-request and config-line splitter (splitargs.h's \xHH
 * escapes), the node bus (nonces and proofs travel as lowercase hex) and the
 * ring's node-id check. Pure: libc only. */
#ifndef DYNIS_UTIL_HEX_H
#define DYNIS_UTIL_HEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The value (0-15) of the hex digit c, either case, or -1. */
int hex_digit_value(int c);

/* Writes the lowercase hex of the len bytes at p into out, which the caller
 * provides with 2*len+1 bytes; out is NUL-terminated. */
void hex_encode(const uint8_t *p, size_t len, char *out);

/* Decodes exactly 2*len hex digits (either case) of s into out (len bytes,
 * caller's). Returns false, out partly written, when hex_len != 2*len or a
 * character is not a hex digit. */
bool hex_decode(const char *s, size_t hex_len, uint8_t *out, size_t len);

/* True when every one of the len bytes of s is a lowercase hex digit. */
bool hex_is_lower(const char *s, size_t len);

#endif
