/*
 * limits.h: every size, count, queue and timeout bound, in one place.
 *
 * Each limit says why it has its value. Configurable limits (Kafka settings)
 * have their default here and their hard ceiling next to it; the ceiling is
 * what a hostile input can never exceed whatever the configuration says.
 * Static asserts at the bottom tie related limits together.
 */
#ifndef RN_BASE_LIMITS_H
#define RN_BASE_LIMITS_H

#include "assert.h"

/* ---- network ---- */

/* socket.request.max.bytes default, as Kafka's (100 MiB). */
#define RN_REQUEST_BYTES_MAX_DEFAULT (100 * 1024 * 1024)
/* Hard ceiling for socket.request.max.bytes: a frame length is an int32. */
#define RN_REQUEST_BYTES_MAX_CEILING (1024 * 1024 * 1024)
/* max.connections default: each costs a read buffer and an fd. */
#define RN_CONNECTIONS_MAX_DEFAULT 10000
/* Requests a connection may have decoded but not yet answered; a client
   pipelining more waits (we stop reading) instead of growing a queue. */
#define RN_CONN_INFLIGHT_REQUESTS_MAX 64
/* Response bytes queued on a connection before we stop reading its requests:
   a client that sends faster than it reads gets backpressure. */
#define RN_CONN_OUT_BYTES_MAX (64 * 1024 * 1024)
/* connections.max.idle.ms default, as Kafka's (10 minutes). */
#define RN_CONN_IDLE_MS_DEFAULT (10 * 60 * 1000)
/* Listen backlog handed to listen(2). */
#define RN_LISTEN_BACKLOG 1024
/* Event loop threads; more than this gains nothing on any machine we target. */
#define RN_CORES_MAX 64
/* Events taken from the poller per loop turn. */
#define RN_POLL_EVENTS_MAX 256

/* ---- protocol decoding ---- */

/* Entries in any one array of a request. Kafka itself has no such bound; real
   requests stay far below (a Fetch of 10,000 partitions is extreme). */
#define RN_PROTO_ARRAY_COUNT_MAX 100000
/* Bytes of any one string (topic names are at most 249; client ids small). */
#define RN_PROTO_STRING_BYTES_MAX 32767
/* Tagged fields in one struct. */
#define RN_PROTO_TAGGED_FIELDS_MAX 1000
/* Struct nesting while decoding; schemas nest at most about 5 deep. */
#define RN_PROTO_DEPTH_MAX 16
/* Arena budget for decoding one request beyond its frame size: decoded
   structs cost at most a small multiple of the bytes that describe them. */
#define RN_PROTO_ARENA_FACTOR 8
#define RN_PROTO_ARENA_BYTES_MIN (64 * 1024)

/* ---- topics and storage ---- */

/* Topic name length, as Kafka's. */
#define RN_TOPIC_NAME_BYTES_MAX 249
/* Partitions per topic and in the whole broker. */
#define RN_TOPIC_PARTITIONS_MAX 100000
#define RN_BROKER_PARTITIONS_MAX 200000
/* message.max.bytes default, as Kafka's (1 MiB + overhead). */
#define RN_MESSAGE_BYTES_MAX_DEFAULT 1048588
/* log.segment.bytes default, as Kafka's (1 GiB). */
#define RN_SEGMENT_BYTES_DEFAULT (1024 * 1024 * 1024)
/* Smallest segment Kafka allows (segment.bytes >= 14 bytes is the schema
   floor; 1 MiB is Kafka's validator minimum for the broker setting). */
#define RN_SEGMENT_BYTES_MIN 14
/* log.index.interval.bytes default, as Kafka's. */
#define RN_INDEX_INTERVAL_BYTES_DEFAULT 4096
/* log.index.size.max.bytes default, as Kafka's (10 MiB). */
#define RN_INDEX_BYTES_MAX_DEFAULT (10 * 1024 * 1024)
/* Records one batch may claim; a batch can't hold more records than bytes. */
#define RN_BATCH_RECORDS_MAX (RN_REQUEST_BYTES_MAX_CEILING / 7)
/* Idempotent producer: batches remembered per producer and partition. */
#define RN_PRODUCER_BATCHES_REMEMBERED 5

/* ---- time ---- */

/* Loop wake-up granularity for timers. */
#define RN_TIMER_TICK_MS 10

RN_STATIC_ASSERT(RN_REQUEST_BYTES_MAX_DEFAULT <= RN_REQUEST_BYTES_MAX_CEILING,
                 "default frame limit within the ceiling");
RN_STATIC_ASSERT(RN_MESSAGE_BYTES_MAX_DEFAULT < RN_REQUEST_BYTES_MAX_DEFAULT,
                 "a maximal batch fits in a maximal request");
RN_STATIC_ASSERT(RN_TOPIC_PARTITIONS_MAX <= RN_BROKER_PARTITIONS_MAX,
                 "one topic fits in the broker");

#endif
