/* slot.h - keys to slots, and the layout of keys in the data column family.
 *
 * slot = CRC16(key) mod 16384 with Redis Cluster's hash-tag rule: when the key
 * contains "{...}" with at least one byte between the first '{' and the next
 * '}', only those bytes are hashed, so "{user1}.cart" and "{user1}.name" share
 * a slot. A stored data key is the slot as 2 big-endian bytes followed by the
 * user key, so one slot's keys form one contiguous range. */
#ifndef DYNIS_CORE_SLOT_H
#define DYNIS_CORE_SLOT_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

#define SLOT_COUNT 16384
#define SLOT_KEY_PREFIX_LEN 2

uint16_t slot_of_key(const void *key, size_t len);
/* Replaces out's contents with the data-family key for (slot, key). */
void slot_data_key(buf_t *out, uint16_t slot, const void *key, size_t len);
/* The 2-byte prefix that starts slot's range (end of a range: slot + 1, or
 * NULL past the last slot). */
void slot_prefix(uint8_t prefix[SLOT_KEY_PREFIX_LEN], uint16_t slot);

#endif
