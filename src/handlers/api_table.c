/*
 * api_table.c: the APIs this broker serves, the version range it advertises
 * for each, and the handler. Ranges are what real clients need: librdkafka
 * turns features off unless some old versions sit inside a range (Produce
 * must start at 0 or it stops compressing), so minimums matter as much as
 * maximums. Produce 0-2 are advertised but answered with an error, since
 * they carry message formats older than record batch v2.
 */
#include "handlers/handler.h"

static const rn_handler_api_t handler_apis[] = {
    {RN_API_PRODUCE, 0, 11, rn_handle_produce},
    {RN_API_FETCH, 4, 18, rn_handle_fetch},
    {RN_API_LIST_OFFSETS, 1, 11, rn_handle_list_offsets},
    {RN_API_METADATA, 0, 13, rn_handle_metadata},
    {RN_API_OFFSET_COMMIT, 0, 10, rn_handle_offset_commit},
    {RN_API_OFFSET_FETCH, 0, 10, rn_handle_offset_fetch},
    {RN_API_FIND_COORDINATOR, 0, 6, rn_handle_find_coordinator},
    {RN_API_JOIN_GROUP, 0, 9, rn_handle_join_group},
    {RN_API_HEARTBEAT, 0, 4, rn_handle_heartbeat},
    {RN_API_LEAVE_GROUP, 0, 5, rn_handle_leave_group},
    {RN_API_SYNC_GROUP, 0, 5, rn_handle_sync_group},
    {RN_API_DESCRIBE_GROUPS, 0, 6, rn_handle_describe_groups},
    {RN_API_LIST_GROUPS, 0, 5, rn_handle_list_groups},
    {RN_API_API_VERSIONS, 0, 4, rn_handle_api_versions},
    {RN_API_CREATE_TOPICS, 0, 7, rn_handle_create_topics},
    {RN_API_DELETE_TOPICS, 0, 6, rn_handle_delete_topics},
    {RN_API_DELETE_RECORDS, 0, 2, rn_handle_delete_records},
    {RN_API_INIT_PRODUCER_ID, 0, 5, rn_handle_init_producer_id},
    {RN_API_OFFSET_FOR_LEADER_EPOCH, 2, 4, rn_handle_offset_for_leader_epoch},
    {RN_API_ADD_PARTITIONS_TO_TXN, 0, 5, rn_handle_add_partitions_to_txn},
    {RN_API_ADD_OFFSETS_TO_TXN, 0, 4, rn_handle_add_offsets_to_txn},
    {RN_API_END_TXN, 0, 4, rn_handle_end_txn},
    {RN_API_WRITE_TXN_MARKERS, 0, 1, rn_handle_write_txn_markers},
    {RN_API_TXN_OFFSET_COMMIT, 0, 4, rn_handle_txn_offset_commit},
    {RN_API_DESCRIBE_CONFIGS, 0, 4, rn_handle_describe_configs},
    {RN_API_ALTER_CONFIGS, 0, 2, rn_handle_alter_configs},
    {RN_API_DESCRIBE_LOG_DIRS, 1, 5, rn_handle_describe_log_dirs},
    {RN_API_CREATE_PARTITIONS, 0, 3, rn_handle_create_partitions},
    {RN_API_DELETE_GROUPS, 0, 2, rn_handle_delete_groups},
    {RN_API_ELECT_LEADERS, 0, 2, rn_handle_elect_leaders},
    {RN_API_INCREMENTAL_ALTER_CONFIGS, 0, 1, rn_handle_incremental_alter_configs},
    {RN_API_ALTER_PARTITION_REASSIGNMENTS, 0, 0, rn_handle_alter_partition_reassignments},
    {RN_API_LIST_PARTITION_REASSIGNMENTS, 0, 0, rn_handle_list_partition_reassignments},
    {RN_API_OFFSET_DELETE, 0, 0, rn_handle_offset_delete},
    {RN_API_DESCRIBE_CLUSTER, 0, 2, rn_handle_describe_cluster},
    {RN_API_DESCRIBE_TOPIC_PARTITIONS, 0, 0, rn_handle_describe_topic_partitions},
    {RN_API_DESCRIBE_QUORUM, 0, 2, rn_handle_describe_quorum},
    {RN_API_DESCRIBE_PRODUCERS, 0, 0, rn_handle_describe_producers},
    {RN_API_DESCRIBE_TRANSACTIONS, 0, 0, rn_handle_describe_transactions},
    {RN_API_LIST_TRANSACTIONS, 0, 1, rn_handle_list_transactions},
    {RN_API_ADD_RAFT_VOTER, 0, 0, rn_handle_add_raft_voter},
    {RN_API_REMOVE_RAFT_VOTER, 0, 0, rn_handle_remove_raft_voter},
};

#define HANDLER_API_COUNT ((int)(sizeof handler_apis / sizeof handler_apis[0]))

const rn_handler_api_t *rn_handler_api(int16_t key) {
    for (int i = 0; i < HANDLER_API_COUNT; i++)
        if (handler_apis[i].key == key) return &handler_apis[i];
    return NULL;
}

/* Brokers register, heartbeat, take producer id blocks and change their
   partitions' ISR with the active controller on its controller listener
   (Kafka 3.9's ranges; AlterPartition from v2, the first with topic ids). */
static const rn_handler_api_t controller_apis[] = {
    {RN_API_BROKER_REGISTRATION, 0, 4, rn_handle_broker_registration},
    {RN_API_BROKER_HEARTBEAT, 0, 1, rn_handle_broker_heartbeat},
    {RN_API_ALLOCATE_PRODUCER_IDS, 0, 0, rn_handle_allocate_producer_ids},
    {RN_API_ALTER_PARTITION, 2, 3, rn_handle_alter_partition},
};

const rn_handler_api_t *rn_handler_controller_api(int16_t key) {
    for (size_t i = 0; i < sizeof controller_apis / sizeof controller_apis[0]; i++)
        if (controller_apis[i].key == key) return &controller_apis[i];
    return NULL;
}

const rn_handler_api_t *rn_handler_apis(int *count) {
    *count = HANDLER_API_COUNT;
    return handler_apis;
}
