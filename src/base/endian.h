/*
 * endian.h: big-endian (network order) loads and stores of fixed-width
 * integers, for the wire protocol and every on-disk format. One definition
 * so no file hand-rolls its own shifts.
 */
#ifndef RN_BASE_ENDIAN_H
#define RN_BASE_ENDIAN_H

#include <stdint.h>

static inline uint16_t rn_be16_get(const uint8_t *p) {
    return (uint16_t)(((uint16_t)p[0] << 8) | p[1]);
}
static inline uint32_t rn_be32_get(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline uint64_t rn_be64_get(const uint8_t *p) {
    return ((uint64_t)rn_be32_get(p) << 32) | rn_be32_get(p + 4);
}
static inline void rn_be32_put(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline void rn_be64_put(uint8_t *p, uint64_t v) {
    rn_be32_put(p, (uint32_t)(v >> 32));
    rn_be32_put(p + 4, (uint32_t)v);
}

#endif
