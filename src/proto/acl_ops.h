/*
 * acl_ops.h: Kafka's ACL operations as the bits of an "authorized
 * operations" answer (Metadata, DescribeCluster, DescribeGroups), and what
 * a broker with no authorizer answers: every operation the resource type
 * has. A field the client did not ask for keeps the schema's default,
 * INT32_MIN.
 */
#ifndef RN_PROTO_ACL_OPS_H
#define RN_PROTO_ACL_OPS_H

#include <stdint.h>

/* Kafka's AclOperation codes, each the index of its bit. */
enum {
    RN_ACL_READ = 3,
    RN_ACL_WRITE = 4,
    RN_ACL_CREATE = 5,
    RN_ACL_DELETE = 6,
    RN_ACL_ALTER = 7,
    RN_ACL_DESCRIBE = 8,
    RN_ACL_CLUSTER_ACTION = 9,
    RN_ACL_DESCRIBE_CONFIGS = 10,
    RN_ACL_ALTER_CONFIGS = 11,
    RN_ACL_IDEMPOTENT_WRITE = 12,
};

#define RN_ACL_BIT(op) ((int32_t)1 << (op))

/* A topic's operations (Kafka 3.9 answers 3576). */
#define RN_ACL_OPS_TOPIC_ALL                                                                       \
    (RN_ACL_BIT(RN_ACL_READ) | RN_ACL_BIT(RN_ACL_WRITE) | RN_ACL_BIT(RN_ACL_CREATE) |              \
     RN_ACL_BIT(RN_ACL_DELETE) | RN_ACL_BIT(RN_ACL_ALTER) | RN_ACL_BIT(RN_ACL_DESCRIBE) |          \
     RN_ACL_BIT(RN_ACL_DESCRIBE_CONFIGS) | RN_ACL_BIT(RN_ACL_ALTER_CONFIGS))

/* The cluster's operations (Kafka 3.9 answers 8096). */
#define RN_ACL_OPS_CLUSTER_ALL                                                                     \
    (RN_ACL_BIT(RN_ACL_CREATE) | RN_ACL_BIT(RN_ACL_ALTER) | RN_ACL_BIT(RN_ACL_DESCRIBE) |          \
     RN_ACL_BIT(RN_ACL_CLUSTER_ACTION) | RN_ACL_BIT(RN_ACL_DESCRIBE_CONFIGS) |                     \
     RN_ACL_BIT(RN_ACL_ALTER_CONFIGS) | RN_ACL_BIT(RN_ACL_IDEMPOTENT_WRITE))

#endif
