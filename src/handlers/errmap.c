/*
 * errmap.c: the one place where an operating error becomes a Kafka error
 * code. Context-specific codes (a batch too large, a stale producer epoch)
 * are chosen here from the rn_err_t the lower layers return.
 *
 * RN_ERR_LIMIT is one of the broker's own named limits (topics, segments
 * per log): POLICY_VIOLATION. The I/O seam also reports EMFILE and ENFILE
 * as RN_ERR_LIMIT, so the partition layer hands every storage failure up as
 * RN_ERR_IO or RN_ERR_NO_SPACE: a producer must see the retriable
 * KAFKA_STORAGE_ERROR, not a policy it would give up on.
 */
#include "handlers/handler.h"

int16_t rn_handler_kerr(rn_err_t err) {
    switch (err) {
    case RN_OK:
        return RN_KERR_NONE;
    case RN_ERR_CORRUPT:
        return RN_KERR_CORRUPT_MESSAGE;
    case RN_ERR_TOO_LARGE:
        return RN_KERR_MESSAGE_TOO_LARGE;
    case RN_ERR_NOT_FOUND:
        return RN_KERR_UNKNOWN_TOPIC_OR_PARTITION;
    case RN_ERR_OUT_OF_RANGE:
        return RN_KERR_OFFSET_OUT_OF_RANGE;
    case RN_ERR_STALE:
        return RN_KERR_INVALID_PRODUCER_EPOCH;
    case RN_ERR_SEQUENCE:
        return RN_KERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
    case RN_ERR_UNKNOWN_PRODUCER:
        return RN_KERR_UNKNOWN_PRODUCER_ID;
    case RN_ERR_INVALID:
        return RN_KERR_INVALID_RECORD;
    case RN_ERR_NO_SPACE:
    case RN_ERR_IO:
        return RN_KERR_KAFKA_STORAGE_ERROR;
    case RN_ERR_LIMIT:
        return RN_KERR_POLICY_VIOLATION;
    case RN_ERR_EXISTS:
        return RN_KERR_TOPIC_ALREADY_EXISTS;
    case RN_ERR_AGAIN:
    case RN_ERR_TIMEOUT:
        return RN_KERR_REQUEST_TIMED_OUT;
    case RN_ERR_DUPLICATE:
        return RN_KERR_DUPLICATE_SEQUENCE_NUMBER;
    case RN_ERR_NOT_LEADER:
        return RN_KERR_NOT_LEADER_OR_FOLLOWER;
    case RN_ERR_FEW_REPLICAS:
        return RN_KERR_NOT_ENOUGH_REPLICAS;
    case RN_ERR_FEW_REPLICAS_AFTER:
        return RN_KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND;
    default:
        return RN_KERR_UNKNOWN_SERVER_ERROR;
    }
}

int16_t rn_handler_group_store_kerr(rn_err_t err) {
    /* Kafka's storeGroup: the append's error becomes a coordinator error. */
    switch (rn_handler_kerr(err)) {
    case RN_KERR_NONE:
        return RN_KERR_NONE;
    case RN_KERR_UNKNOWN_TOPIC_OR_PARTITION:
        return RN_KERR_COORDINATOR_NOT_AVAILABLE;
    case RN_KERR_KAFKA_STORAGE_ERROR:
    case RN_KERR_NOT_LEADER_OR_FOLLOWER: /* its partition's leadership moved */
        return RN_KERR_NOT_COORDINATOR;
    case RN_KERR_NOT_ENOUGH_REPLICAS:
    case RN_KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
        return RN_KERR_COORDINATOR_NOT_AVAILABLE;
    case RN_KERR_REQUEST_TIMED_OUT:
        return RN_KERR_REBALANCE_IN_PROGRESS;
    default: /* a record too large, anything else */
        return RN_KERR_UNKNOWN_SERVER_ERROR;
    }
}

int16_t rn_handler_txn_store_kerr(rn_err_t err) {
    /* Kafka's TransactionStateManager: the append's error becomes a
       coordinator error the client retries on. */
    switch (rn_handler_kerr(err)) {
    case RN_KERR_NONE:
        return RN_KERR_NONE;
    case RN_KERR_UNKNOWN_TOPIC_OR_PARTITION:
    case RN_KERR_NOT_ENOUGH_REPLICAS:
    case RN_KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case RN_KERR_REQUEST_TIMED_OUT:
        return RN_KERR_COORDINATOR_NOT_AVAILABLE;
    case RN_KERR_KAFKA_STORAGE_ERROR:
    case RN_KERR_NOT_LEADER_OR_FOLLOWER: /* its partition's leadership moved */
        return RN_KERR_NOT_COORDINATOR;
    default: /* a record too large, anything else */
        return RN_KERR_UNKNOWN_SERVER_ERROR;
    }
}

int16_t rn_handler_batch_kerr(rn_batch_reason_t reason) {
    switch (reason) {
    case RN_BATCH_OK:
        return RN_KERR_NONE;
    /* Kafka cannot even frame these: CorruptRecordException. */
    case RN_BATCH_FRAGMENT:
    case RN_BATCH_BAD_LENGTH:
    case RN_BATCH_UNKNOWN_MAGIC:
    case RN_BATCH_BAD_CRC:
    case RN_BATCH_EMPTY:
        return RN_KERR_CORRUPT_MESSAGE;
    case RN_BATCH_TOO_LARGE:
        return RN_KERR_MESSAGE_TOO_LARGE;
    case RN_BATCH_LIST_TOO_LARGE:
        return RN_KERR_RECORD_LIST_TOO_LARGE;
    /* The broker, not the batch, failed: no memory to decompress it with. */
    case RN_BATCH_NO_MEMORY:
        return RN_KERR_UNKNOWN_SERVER_ERROR;
    /* Framed but invalid: InvalidRecordException. */
    default:
        return RN_KERR_INVALID_RECORD;
    }
}
