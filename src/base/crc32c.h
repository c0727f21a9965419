/*
 * crc32c.h: CRC-32C (Castagnoli), the checksum of Kafka record batches.
 * Uses the SSE4.2 instruction when the CPU has it, a slicing table otherwise.
 */
#ifndef RN_BASE_CRC32C_H
#define RN_BASE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continues a CRC: pass 0 to start. */
uint32_t rn_crc32c(uint32_t crc, const void *data, size_t len);
/* The same CRC from the table alone, whatever the CPU: the reference the
   hardware path is checked against. */
uint32_t rn_crc32c_portable(uint32_t crc, const void *data, size_t len);

#endif
