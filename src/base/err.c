/* err.c: names of rn_err_t values, for logs. */
#include "err.h"
#include "assert.h"

const char *rn_err_name(rn_err_t err) {
    static const char *const names[RN_ERR__COUNT] = {
        [RN_OK] = "ok",
        [RN_ERR_IO] = "io",
        [RN_ERR_NO_SPACE] = "no_space",
        [RN_ERR_NOT_FOUND] = "not_found",
        [RN_ERR_EXISTS] = "exists",
        [RN_ERR_CORRUPT] = "corrupt",
        [RN_ERR_INVALID] = "invalid",
        [RN_ERR_TOO_LARGE] = "too_large",
        [RN_ERR_LIMIT] = "limit",
        [RN_ERR_AGAIN] = "again",
        [RN_ERR_CLOSED] = "closed",
        [RN_ERR_OUT_OF_RANGE] = "out_of_range",
        [RN_ERR_NO_MEMORY] = "no_memory",
        [RN_ERR_STALE] = "stale",
        [RN_ERR_DUPLICATE] = "duplicate",
        [RN_ERR_SEQUENCE] = "sequence",
        [RN_ERR_UNKNOWN_PRODUCER] = "unknown_producer",
        [RN_ERR_TIMEOUT] = "timeout",
        [RN_ERR_NOT_LEADER] = "not_leader",
        [RN_ERR_FEW_REPLICAS] = "few_replicas",
        [RN_ERR_FEW_REPLICAS_AFTER] = "few_replicas_after_append",
    };
    RN_ASSERT((unsigned)err < RN_ERR__COUNT);
    return names[err];
}
