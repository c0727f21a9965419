/*
 * kerr.c: names of Kafka error codes.
 *
 * Owns a constant table; never allocates, never fails (unknown codes get a
 * placeholder name).
 */
#include "kerr.h"

#include <stddef.h>

static const char *const kerr_names[RN_KERR_CODE_MAX - RN_KERR_CODE_MIN + 1] = {
#define RN_KERR_NAME_(name, code) [(code)-RN_KERR_CODE_MIN] = #name,
    RN_KERR_LIST(RN_KERR_NAME_)
#undef RN_KERR_NAME_
};

bool rn_kerr_known(int16_t code) {
    if (code < RN_KERR_CODE_MIN || code > RN_KERR_CODE_MAX) return false;
    return kerr_names[code - RN_KERR_CODE_MIN] != NULL;
}

const char *rn_kerr_name(int16_t code) {
    if (!rn_kerr_known(code)) return "UNKNOWN_CODE";
    return kerr_names[code - RN_KERR_CODE_MIN];
}
