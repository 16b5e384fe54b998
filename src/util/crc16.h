/* crc16.h - CRC16-CCITT (XMODEM), the hash Redis Cluster maps keys to slots with. */
#ifndef DYNIS_UTIL_CRC16_H
#define DYNIS_UTIL_CRC16_H

#include <stddef.h>
#include <stdint.h>

uint16_t crc16(const void *buf, size_t len);

#endif
