/* slot.c - key to slot mapping with hash tags, and data-key layout (see slot.h). */
#include "core/slot.h"

#include <string.h>

#include "util/crc16.h"

uint16_t slot_of_key(const void *key, size_t len)
{
    const char *k = key;
    const char *open = memchr(k, '{', len);
    if (open) {
        size_t after = (size_t)(open - k) + 1;
        const char *close = memchr(open + 1, '}', len - after);
        if (close && close > open + 1)
            return crc16(open + 1, (size_t)(close - open - 1)) & (SLOT_COUNT - 1);
    }
    return crc16(k, len) & (SLOT_COUNT - 1);
}

void slot_prefix(uint8_t prefix[SLOT_KEY_PREFIX_LEN], uint16_t slot)
{
    prefix[0] = (uint8_t)(slot >> 8);
    prefix[1] = (uint8_t)slot;
}

void slot_data_key(buf_t *out, uint16_t slot, const void *key, size_t len)
{
    buf_clear(out);
    buf_reserve(out, SLOT_KEY_PREFIX_LEN + len);
    buf_put_u16be(out, slot);
    buf_append(out, key, len);
}
