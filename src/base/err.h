/*
 * err.h: operating errors as values.
 *
 * Storage, partition, raft and I/O code return rn_err_t. Only the request
 * handlers turn one into a Kafka error code, in one mapping function
 * (src/handlers/errmap.c). Programmer errors are assertions, never values here.
 */
#ifndef RN_BASE_ERR_H
#define RN_BASE_ERR_H

typedef enum rn_err {
    RN_OK = 0,
    RN_ERR_IO,                 /* the OS refused a read, write or sync */
    RN_ERR_NO_SPACE,           /* disk full */
    RN_ERR_NOT_FOUND,          /* file, topic, partition or key absent */
    RN_ERR_EXISTS,             /* create of something already there */
    RN_ERR_CORRUPT,            /* bytes fail a checksum or a structural check */
    RN_ERR_INVALID,            /* a well-formed request asks for something invalid */
    RN_ERR_TOO_LARGE,          /* a size exceeds a named limit */
    RN_ERR_LIMIT,              /* a count or queue reached its named limit */
    RN_ERR_AGAIN,              /* would block; retry when ready */
    RN_ERR_CLOSED,             /* peer or file closed */
    RN_ERR_OUT_OF_RANGE,       /* offset outside the log */
    RN_ERR_NO_MEMORY,          /* an allocation or arena budget failed */
    RN_ERR_STALE,              /* stale epoch, term or generation */
    RN_ERR_DUPLICATE,          /* a retried write already applied */
    RN_ERR_SEQUENCE,           /* an out-of-order producer sequence */
    RN_ERR_UNKNOWN_PRODUCER,   /* a producer id whose state is gone */
    RN_ERR_TIMEOUT,            /* a deadline passed before the peer answered */
    RN_ERR_NOT_LEADER,         /* this replica does not lead the partition (now) */
    RN_ERR_FEW_REPLICAS,       /* fewer in-sync replicas than min.insync.replicas */
    RN_ERR_FEW_REPLICAS_AFTER, /* the same, found once the records were written */
    RN_ERR__COUNT
} rn_err_t;

/* A short, stable name for logs and tests ("io", "corrupt", ...). */
const char *rn_err_name(rn_err_t err);

#endif
