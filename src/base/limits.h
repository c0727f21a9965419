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
/* Request bytes a connection may hold undecided (read, not yet answered)
   before we stop reading it: with RN_CONN_INFLIGHT_REQUESTS_MAX this bounds
   a connection's memory to this plus one maximal frame. */
#define RN_CONN_INFLIGHT_BYTES_MAX (256 * 1024 * 1024)
/* Response bytes queued on a connection before we stop reading its requests:
   a client that sends faster than it reads gets backpressure. */
#define RN_CONN_OUT_BYTES_MAX (64 * 1024 * 1024)
/* Encoded bytes of one response held in memory (record data of a Fetch is
   sent from the file and does not count). A Metadata answer for the largest
   broker is a few MiB. */
#define RN_RESPONSE_BYTES_MAX (256 * 1024 * 1024)
/* queued.max.request.bytes default (Kafka: -1, unbounded): buffer bytes of
   partly read request frames over every connection. A frame's buffer grows
   only as its bytes arrive, so reaching this takes clients that actually
   send that much; without a bound, 1,000 connections each sending the
   prefix of a 100 MB frame and nothing more reserved 95 GB of address
   space and ran a 2 GiB-limited broker out of memory. 256 MiB holds two
   maximal frames (socket.request.max.bytes) and thousands of ordinary
   produce requests being read at once, and is small beside the memory of
   any host we target. Like Kafka we refuse a positive value below
   socket.request.max.bytes. */
#define RN_QUEUED_REQUEST_BYTES_DEFAULT (256LL * 1024 * 1024)
/* Never more than this share of the address-space limit (RLIMIT_AS), when
   one is set: the rest is the broker's own (indexes, responses, stacks). */
#define RN_QUEUED_REQUEST_BYTES_AS_DIVISOR 4
/* connections.max.idle.ms default, as Kafka's (10 minutes). */
#define RN_CONN_IDLE_MS_DEFAULT (10 * 60 * 1000)
/* Descriptors the listener keeps free for the broker's own files: a new
   connection that would leave fewer is closed at once, so a flood of
   connections cannot make a segment roll, an index or checkpoint write or
   the metadata log fail for want of one (net/net.c). */
#define RN_FD_RESERVED 64
/* Retry delay of accept after it failed (out of memory or descriptors):
   from the first, doubling to the last, back to none after a success. */
#define RN_ACCEPT_RETRY_MS_MIN 10
#define RN_ACCEPT_RETRY_MS_MAX 1000
/* Connections accepted in one go before the listening loop turns to its
   other work (the rest are accepted on its next turn). */
#define RN_ACCEPT_BATCH_MAX 256
/* Listen backlog handed to listen(2). */
#define RN_LISTEN_BACKLOG 1024
/* Event loop threads; more than this gains nothing on any machine we target. */
#define RN_CORES_MAX 64
/* Events taken from the poller per loop turn. */
#define RN_POLL_EVENTS_MAX 256

/* ---- outbound client (net/client.h): one connection per peer ---- */

/* request.timeout.ms default of Kafka's clients (30 s): from send to answer. */
#define RN_CLIENT_REQUEST_TIMEOUT_MS_DEFAULT 30000
/* socket.connection.setup.timeout.ms default, as Kafka's (10 s). */
#define RN_CLIENT_CONNECT_TIMEOUT_MS_DEFAULT 10000
/* reconnect.backoff.ms and reconnect.backoff.max.ms defaults, as Kafka's:
   the delay doubles from the first to the last after each failed attempt. */
#define RN_CLIENT_BACKOFF_MS_MIN_DEFAULT 50
#define RN_CLIENT_BACKOFF_MS_MAX_DEFAULT 1000
/* Spread of each backoff delay, percent either way (Kafka's jitter, 0.2):
   peers that lost the same node do not all come back in step. */
#define RN_CLIENT_BACKOFF_JITTER_PCT 20
/* Calls queued or in flight on one client: a Raft leader pipelines at most
   RN_RAFT_INFLIGHT_MAX appends per follower plus votes and heartbeats; a
   broker forwards admin requests one per client request. Past it a send
   fails at once (RN_ERR_LIMIT) instead of growing a queue to a dead peer. */
#define RN_CLIENT_QUEUE_MAX_DEFAULT 1024
#define RN_CLIENT_QUEUE_MAX_CEILING 65536
/* Largest response frame taken by default: Kafka's socket.request.max.bytes,
   so whatever a peer may send us we may receive back. */
#define RN_CLIENT_RESPONSE_BYTES_MAX_DEFAULT RN_REQUEST_BYTES_MAX_DEFAULT
/* Largest request frame a client encodes: what a peer's default
   socket.request.max.bytes accepts. */
#define RN_CLIENT_REQUEST_BYTES_MAX RN_REQUEST_BYTES_MAX_DEFAULT
/* client.id bytes: a non-compact protocol string, kept short for logs. */
#define RN_CLIENT_ID_BYTES_MAX 255
/* A connection's staging read buffer: many small responses per read. */
#define RN_CLIENT_RBUF_BYTES (64 * 1024)
/* Frames handed to one writev. */
#define RN_CLIENT_IOV_MAX 64
/* A name lookup of one connect attempt gives up after this long and counts
   as a failed attempt (then backs off): about one glibc resolver try (its
   RES_TIMEOUT, 5 s), so a DNS server that stopped answering costs a peer a
   retry, never the loop, and a server that came back is asked again soon. */
#define RN_CLIENT_RESOLVE_TIMEOUT_MS_DEFAULT 5000
/* A lookup in progress is looked at after 1 ms, then twice as long each
   time up to 16 ms: a name in /etc/hosts or a cache is back in about a
   millisecond, a slow one costs a timer every 16 ms while it runs. */
#define RN_CLIENT_RESOLVE_POLL_MS_MIN 1
#define RN_CLIENT_RESOLVE_POLL_MS_MAX 16

/* ---- name lookups (io/resolve_linux.c) ---- */

/* Threads that run blocking getaddrinfo calls for the event loops, started
   on demand, shared by the process: a node looks up a few dozen peers at
   most, each at most once per connect attempt. Lookups that hang (a DNS
   server that does not answer) hold a thread until glibc gives up. */
#define RN_IO_RESOLVE_THREADS_MAX 8
/* Lookups queued or running at once in the process; past it a lookup fails
   at once (RN_ERR_LIMIT) and its connect attempt backs off. */
#define RN_IO_RESOLVE_PENDING_MAX 256
/* Addresses kept from one lookup: successive attempts go round them, so a
   name with an address that refuses (localhost as ::1 before 127.0.0.1)
   still reaches the peer on the other. */
#define RN_IO_RESOLVE_ADDRS_MAX 8

/* ---- fetch sessions (handlers/fetch_session.h) ---- */

/* max.incremental.fetch.session.cache.slots default, as Kafka's: the
   incremental fetch sessions one node keeps, split between its cores. A
   session costs about 60 bytes per partition it fetches, so the default
   holds a thousand consumers of a few thousand partitions each. */
#define RN_FETCH_SESSION_SLOTS_DEFAULT 1000
/* Ceiling of that setting: a full cache is scanned once per session
   opened when it is full, which must stay cheap beside the full fetch
   that opens it. */
#define RN_FETCH_SESSION_SLOTS_MAX 100000
/* min.incremental.fetch.session.eviction.ms default: the value Kafka fixes
   (120 s). A session younger than this is evicted only by a replica's, or
   once it has gone unused this long. */
#define RN_FETCH_SESSION_EVICTION_MS_DEFAULT 120000

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
RN_STATIC_ASSERT(RN_PROTO_STRING_BYTES_MAX <= 32767, "a string limit an int16 length can carry");
RN_STATIC_ASSERT(RN_PROTO_ARRAY_COUNT_MAX < 2147483647 / 64,
                 "count times element size stays far from overflow");
RN_STATIC_ASSERT(RN_PROTO_DEPTH_MAX >= 8, "room for the deepest schema nesting");

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
/* Decompressed bytes one compressed batch may inflate to while it is
   checked: the default request frame limit (socket.request.max.bytes). A
   producer could not have sent more than this uncompressed in one request,
   so no honest batch inflates past it; a bomb is cut off here, costing at
   most this much decompression per batch (of zeros: ~10 ms of one core for
   zstd and lz4, ~0.2 s for gzip and snappy). The record walk refuses garbage
   at its first record long before, and a record longer than what is left of
   the cap as soon as its length is read. */
#define RN_BATCH_INFLATED_BYTES_MAX RN_REQUEST_BYTES_MAX_DEFAULT
/* Scratch buffer a compressed batch is decompressed through, a chunk at a
   time, while its records are walked (and thrown away): large enough that a
   codec call's fixed cost spreads over many small records, small enough to
   stay in the L2 cache. Also holds snappy's sliding history (below). */
#define RN_BATCH_INFLATE_SCRATCH_BYTES (128 * 1024)
/* History kept for a raw snappy block's back-references. Snappy compressors
   (Google's, which the Java client's xerial uses, and librdkafka's) compress
   64 KiB fragments independently, so no copy reaches further back; a stream
   whose copy does is refused. */
#define RN_BATCH_SNAPPY_WINDOW_BYTES (64 * 1024)
/* Largest zstd window a batch may declare (log2): zstd's own default limit,
   which Kafka's decoder (zstd-jni) also applies, so every batch Kafka takes
   is taken. The window is allocated per frame but its pages are touched only
   as output is produced, which RN_BATCH_INFLATED_BYTES_MAX bounds; each core
   keeps one source (scratch plus contexts), and zstd shrinks a buffer that
   stays oversized for long. Per-call contexts would cost more: creating a
   zstd context takes ~7-11 us, as much as a small produce request. */
#define RN_BATCH_ZSTD_WINDOW_LOG_MAX 27
/* Idempotent producer: batches remembered per producer and partition. */
#define RN_PRODUCER_BATCHES_REMEMBERED 5

/* ---- storage ---- */

/* Bytes of any path the storage layer builds (log.dir + "/" + topic-partition
   + "/" + 20-digit name + extension): log.dir is checked against it at open. */
#define RN_STORAGE_PATH_BYTES_MAX 1024
/* Segments one partition log may hold; past it appends fail with RN_ERR_LIMIT
   until retention frees some (1 GiB segments: a petabyte per partition). */
#define RN_LOG_SEGMENTS_MAX 1000000
/* Committed log cleaner swaps one directory can hold at a start: the
   cleaner swaps one group at a time, so a crash leaves at most one. */
#define RN_CLEAN_RECOVER_SWAPS_MAX 64
/* log.cleaner.dedupe.buffer.size: Kafka's default, 128 MiB, bounds the key
   map (24 bytes a key); the least a map takes is 1024 keys. */
#define RN_CLEANER_DEDUPE_BYTES_DEFAULT (128LL * 1024 * 1024)
#define RN_CLEANER_DEDUPE_BYTES_MIN (1024LL * 24 * 2)
/* Record errors one Produce answer lists for a batch refused for keyless
   records on a compacted topic: Kafka lists them all, but a batch holds up
   to RN_BATCH_RECORDS_MAX records; the first ones name the fault (Kafka's
   message itself shows three) and the total is still given. */
#define RN_BATCH_KEYLESS_REPORTED_MAX 16
/* Largest batch recovery accepts on disk whatever max.message.bytes says
   now: nothing larger could ever have been appended (one request frame). */
#define RN_STORAGE_BATCH_BYTES_CEILING RN_REQUEST_BYTES_MAX_CEILING
/* Read window for scanning batch headers in a segment (fetch, lookups): one
   page covers many small batches per pread. */
#define RN_STORAGE_SCAN_WINDOW_BYTES 4096
/* Buffer recovery reads a segment through; a larger batch is checked by a
   streamed CRC instead of being read whole. */
#define RN_RECOVERY_CHUNK_BYTES (1024 * 1024)
/* A data folder with less free space than this refuses the start: a
   broker must at least write its checkpoints, its identity and a new
   segment's first batches before it can serve (and delete by retention).
   Small on purpose: a broker that filled its disk must still start to
   serve reads and let retention free it. */
#define RN_DATA_DIR_FREE_MIN_BYTES (8ull << 20)
/* Below this share of its file system free, the start warns. */
#define RN_DATA_DIR_FREE_WARN_PERCENT 5

/* While appends are being refused for a storage error (disk full), one
   summary line at most this often: an operator sees it goes on, the log
   does not fill with one line per refused append. */
#define RN_STORAGE_ERROR_SUMMARY_MS 5000
/* A refusal episode ends once an append has succeeded and this long has
   passed since the last refusal, so a disk at the edge of full does not log
   start and end lines for every append that happens to fit. */
#define RN_STORAGE_ERROR_CLEAR_MS 1000
/* Leader epochs a partition remembers: one per change of leader within the
   retained log; past it the oldest goes (an OffsetForLeaderEpoch for an
   epoch that old then answers where the oldest kept one began). */
#define RN_EPOCH_CACHE_ENTRIES_MAX 1024
/* Size of the per-partition checkpoint file: a few text lines, then one
   line (two numbers) per leader epoch. */
#define RN_CHECKPOINT_BYTES_MAX (512 + RN_EPOCH_CACHE_ENTRIES_MAX * 32)
/* Offset index entries are Kafka's 8 bytes, time index entries 12. */
#define RN_OFFSET_INDEX_ENTRY_BYTES 8
#define RN_TIME_INDEX_ENTRY_BYTES 12
/* Hard ceiling for segment.index.bytes: entries are kept in memory. */
#define RN_INDEX_BYTES_MAX_CEILING (64 * 1024 * 1024)
/* log.segment.ms default, as Kafka's (7 days). */
#define RN_SEGMENT_MS_DEFAULT (7LL * 24 * 3600 * 1000)
/* log.retention.ms default, as Kafka's (7 days); -1 means forever. */
#define RN_RETENTION_MS_DEFAULT (7LL * 24 * 3600 * 1000)
/* Producer ids tracked per partition; when full the one idle longest is
   forgotten (its next retry answers UNKNOWN_PRODUCER_ID / accepts seq 0). */
#define RN_PRODUCERS_PER_PARTITION_MAX 100000
/* producer.id.expiration.ms default, as Kafka's (1 day). */
#define RN_PRODUCER_ID_EXPIRATION_MS_DEFAULT (24LL * 3600 * 1000)
/* Producer state snapshot: header plus one fixed-size entry per producer. */
#define RN_PRODUCER_SNAPSHOT_BYTES_MAX (64 + RN_PRODUCERS_PER_PARTITION_MAX * 256)

RN_STATIC_ASSERT(RN_INDEX_BYTES_MAX_DEFAULT <= RN_INDEX_BYTES_MAX_CEILING,
                 "default index size within the ceiling");
RN_STATIC_ASSERT(RN_MESSAGE_BYTES_MAX_DEFAULT <= RN_STORAGE_BATCH_BYTES_CEILING,
                 "a maximal batch passes recovery");
RN_STATIC_ASSERT(RN_STORAGE_SCAN_WINDOW_BYTES >= 61, "a window holds a batch header");
RN_STATIC_ASSERT(RN_BATCH_SNAPPY_WINDOW_BYTES * 2 <= RN_BATCH_INFLATE_SCRATCH_BYTES,
                 "the scratch holds snappy's history and as much new output");
RN_STATIC_ASSERT(RN_BATCH_INFLATED_BYTES_MAX <= RN_REQUEST_BYTES_MAX_CEILING,
                 "the inflation cap stays within what any frame could carry");

/* ---- metadata and config ---- */

/* Bytes of a broker properties file; real ones are a few KiB. */
#define RN_CONFIG_FILE_BYTES_MAX (1024 * 1024)
/* Bytes of a setting's name; Kafka's longest names are under 80. */
#define RN_CONFIG_KEY_BYTES_MAX 255
/* Bytes of a setting's value, broker or topic: fits a non-compact protocol
   string (int16 length), which is how DescribeConfigs returns it. */
#define RN_CONFIG_VALUE_BYTES_MAX 32767
/* Entries of `listeners` and `advertised.listeners`. */
#define RN_CONFIG_LISTENERS_MAX 16
/* Bytes of a listener name (PLAINTEXT, CONTROLLER, INTERNAL, ...). */
#define RN_CONFIG_LISTENER_NAME_BYTES_MAX 63
/* Bytes of a host name or address: DNS names are at most 253. */
#define RN_CONFIG_HOST_BYTES_MAX 255
/* Entries of `log.dirs`. */
#define RN_CONFIG_LOG_DIRS_MAX 64
/* Entries of `controller.quorum.bootstrap.servers`: a few controllers are
   enough to find the quorum; voters themselves are bounded by RN_RAFT_NODES_MAX. */
#define RN_CONFIG_QUORUM_BOOTSTRAP_MAX 16
/* Characters of a cluster id: Kafka's Uuid, 16 bytes in base64url without
   padding. */
#define RN_CLUSTER_ID_CHARS 22
/* Replica fetchers (replication/fetcher.h), Kafka's defaults: how long a
   leader holds a follower's fetch with nothing new (replica.fetch.wait.max.ms),
   bytes per partition (replica.fetch.max.bytes) and per response
   (replica.fetch.response.max.bytes), and the pause after an error
   (replica.fetch.backoff.ms). */
#define RN_REPLICA_FETCH_WAIT_MS_DEFAULT 500
#define RN_REPLICA_FETCH_PARTITION_BYTES_DEFAULT (1024 * 1024)
#define RN_REPLICA_FETCH_RESPONSE_BYTES_DEFAULT (10 * 1024 * 1024)
#define RN_REPLICA_FETCH_BACKOFF_MS_DEFAULT 1000
/* The pause after an error that only means the leader has not applied the
   metadata this follower has (NOT_LEADER_OR_FOLLOWER, an unknown topic or
   leader epoch): the leader's image catches up within milliseconds. */
#define RN_REPLICA_FETCH_METADATA_BACKOFF_MS 50
/* How often a core looks at the ISR of the partitions it leads: a caught-up
   replica rejoins within this, a lagging one leaves this long after
   replica.lag.time.max.ms. */
#define RN_ISR_CHECK_MS 250
/* Leaders one core fetches from: one stream each, so at most the brokers. */
#define RN_REPLICA_STREAMS_MAX RN_BROKERS_MAX
/* Bytes of the arena one fetch request or response is built or decoded in,
   beyond the records (which the response borrows): ~64 bytes a partition. */
#define RN_REPLICA_FETCH_ARENA_BYTES (64 * 1024 * 1024)
/* Replicas of one partition, and so the largest replication factor. Kafka
   sets no bound; 16 covers every real deployment and keeps a partition's
   replica and ISR lists inline in the metadata image. */
#define RN_REPLICAS_MAX 16
/* Bytes of one encoded metadata record; a PartitionRecord with full lists is
   under 200 and a ConfigRecord carries at most one key and value. */
#define RN_MD_RECORD_BYTES_MAX (RN_CONFIG_VALUE_BYTES_MAX + 1024)
/* Records in one metadata batch: creating the largest topic is one batch of
   a TopicRecord, its PartitionRecords and its ConfigRecords. */
#define RN_MD_BATCH_RECORDS_MAX (RN_TOPIC_PARTITIONS_MAX + 1024)
/* Bytes of one metadata batch (the unit written, checksummed and replicated). */
#define RN_MD_BATCH_BYTES_MAX (64 * 1024 * 1024)
/* Topics in the broker: each has at least one partition. */
#define RN_TOPICS_MAX RN_BROKER_PARTITIONS_MAX
/* Producer ids handed out per InitProducerId block, as Kafka's controller. */
#define RN_PRODUCER_ID_BLOCK_SIZE 1000
/* Burst of a replication throttle: how far ahead of now the limiter may run
   before it holds throttled partitions back, as one of Kafka's one-second
   quota windows allows. */
#define RN_REPL_THROTTLE_BURST_MS 1000
/* Bytes one record of a replication throttle may carry (one fetch answer
   is at most a few fetch.max.bytes); keeps bytes * 10^6 inside an int64. */
#define RN_REPL_THROTTLE_RECORD_BYTES_MAX (1LL << 40)
/* Broker-level dynamic config entries kept in the metadata image. */
#define RN_MD_BROKER_CONFIGS_MAX 1024
/* Brokers registered in the metadata image, so in one cluster. Kafka sets no
   bound; 64 is past any cluster this node is built for and keeps the image's
   broker list a small sorted array searched in O(log n). */
#define RN_BROKERS_MAX 64
/* Partitions in one AlterPartition: a leader sends its pending ISR changes
   together, as Kafka's brokers do, and the controller records them as one
   batch of PartitionChangeRecords, which must fit one Raft entry. A leader
   with more pending splits them over several requests. */
#define RN_ISR_CHANGES_MAX 1024
/* Bytes of one encoded PartitionChangeRecord with full lists: size, type
   and version, topic id, partition, leader, then the ISR, replicas and a
   reassignment's removing and adding replicas. */
#define RN_MD_PARTITION_CHANGE_BYTES_MAX (4 + 2 + 16 + 4 + 4 + 4 * (2 + 4 * RN_REPLICAS_MAX))
/* Bytes of one encoded PartitionChangeRecord of an election: the new
   leader and, for an unclean one, an ISR of that leader alone. */
#define RN_MD_ELECTION_BYTES_MAX (4 + 2 + 16 + 4 + 4 + (2 + 4) + 2)
/* Leader changes one ElectLeaders records: Kafka's bound on the records of
   one user operation (a request naming more partitions that need a new
   leader is refused whole, as Kafka's). They go in one metadata batch, so
   one Raft entry. */
#define RN_ELECTIONS_MAX 10000
/* Leader changes one automatic pass records (Kafka's bound per balancing
   pass): the active controller runs the next pass at once when more are
   due, so other metadata changes interleave with a long rebalance. */
#define RN_ELECTIONS_PER_PASS_MAX 1000
/* ---- the balancer's planner (metadata/balance_plan.h, docs/BALANCING.md) ---- */

/* Partitions one plan considers: the whole cluster's. Bounds the planner's
   one allocation: about 80 bytes a partition plus 4 bytes per topic and
   broker (at most 16 MiB and 51 MiB with RN_BROKERS_MAX brokers). */
#define RN_BAL_PARTITIONS_MAX 200000
/* No move leaves a receiving broker's disk fuller than this (percent of its
   capacity), counting every copy the plan sends it and none it sends away. */
#define RN_BAL_DISK_CEILING_PCT_DEFAULT 90
/* Replica moves touching one broker at once (in flight or planned): each
   copies a partition over its network and disk; as Cruise Control's
   default partition movements per broker. */
#define RN_BAL_MOVES_PER_BROKER_DEFAULT 5
/* Moves one plan returns: the controller submits them as one batch. */
#define RN_BAL_MOVES_PER_PLAN_DEFAULT 100
/* Hysteresis: a soft goal acts when a broker is further than 10 % of the
   mean from it and stops once every broker is within 2 %; the gap is what
   keeps the next plan from finding new work in the last one's result. */
#define RN_BAL_START_PCT_DEFAULT 10
#define RN_BAL_STOP_PCT_DEFAULT 2
/* The same bands never narrower than these: 2 and 1 replicas or leaders
   (a count cannot be nearer its mean than within 1), 5 and 2 points of disk
   fill, 1 MiB/s and 256 KiB/s of traffic (noise below that). */
#define RN_BAL_COUNT_START_MIN_DEFAULT 2
#define RN_BAL_COUNT_STOP_MIN_DEFAULT 1
#define RN_BAL_DISK_START_MIN_PCT_DEFAULT 5
#define RN_BAL_DISK_STOP_MIN_PCT_DEFAULT 2
#define RN_BAL_NET_START_MIN_BYTES_PER_S_DEFAULT (1024 * 1024)
#define RN_BAL_NET_STOP_MIN_BYTES_PER_S_DEFAULT (256 * 1024)
/* Benefit per byte is a move's cost decrease over its bytes plus this: a
   reorder (0 bytes) is the cheapest move, but not infinitely better than
   copying a tiny partition. */
#define RN_BAL_BYTES_FLOOR (1024 * 1024)

/* Endpoints (listeners) one broker registers: a client, an inter-broker, a
   controller and one spare listener. */
#define RN_BROKER_ENDPOINTS_MAX 4
/* Listening sockets of one loop: a broker's client listeners, each of
   which it may advertise. */
#define RN_NET_LISTENERS_MAX RN_BROKER_ENDPOINTS_MAX
/* Bytes of a broker's rack (broker.rack); racks are short labels. */
#define RN_BROKER_RACK_BYTES_MAX 255

/* Threads of the broker's worker pool (io/workers.h), which runs a group
   commit's fdatasyncs and the partition opens and closes. All wait on
   the disk, not the CPU: concurrent syncs let the filesystem join them into
   fewer journal commits (500 files synced from 16 threads took 11 ms against
   48 ms from one), and beyond 16 nothing more was gained. */
#define RN_SYNC_THREADS 16
/* Allocations below this come from the heap, not their own mapping (glibc
   caps it at half its 64 MiB arena heap): request frames are reused warm. */
#define RN_MALLOC_MMAP_BYTES (32 * 1024 * 1024)
/* Free heap kept before glibc returns it to the kernel, per arena (each
   loop thread has its own): room for the frames of many requests in
   flight, so their pages stay mapped between them. */
#define RN_MALLOC_TRIM_BYTES (64 * 1024 * 1024)
#define RN_WORKER_THREADS_MAX 64

/* ---- logging ---- */

/* Lines of one cause (a bad frame, an unknown API key, a refused
   connection, ...) written per window; the rest are counted and summed up
   in one line when the window turns. A client can provoke a line per
   request: at 5 per 10 s per cause, a flood mixing every cause a client
   can provoke (about six at once) writes under 4 lines a second, while a
   lone misbehaving client is still seen line by line. */
#define RN_LOG_LIMIT_LINES 5
#define RN_LOG_LIMIT_WINDOW_MS 10000

/* ---- time ---- */

/* How long a busy loop polls (yielding) before it sleeps, and the wait for
   work below which it counts as busy (io/loop.c). Waking a sleeping loop
   costs two exits to the host on a VM; with a client sending 1,000
   single-partition requests in flight this halved broker CPU. */
#define RN_LOOP_SPIN_NS (100 * 1000)

/* Loop wake-up granularity for timers. */
#define RN_TIMER_TICK_MS 10
/* How often core 0 frees replaced partition tables and removes deleted
   topics' files: a deleted topic's memory goes within a second, its files
   within a second of file.delete.delay.ms. */
#define RN_NODE_TIDY_MS 1000
/* Election timeout of the metadata quorum (Kafka's
   controller.quorum.election.timeout.ms default). */
#define RN_METADATA_ELECTION_TIMEOUT_MS 1000
/* An admin change not committed by then fails with REQUEST_TIMED_OUT; it
   covers an election or two, and clients retry. */
#define RN_ADMIN_OP_TIMEOUT_MS 30000
/* How long after its start a node waits for the brokers that the internal
   topics' replicas need to register (nodes of a cluster start within
   seconds of one another); past it the topics take the brokers present. */
#define RN_OFFSETS_TOPIC_BROKERS_WAIT_MS 15000
/* Transactional ids one __transaction_state partition holds (as
   RN_GROUP_COUNT_MAX for groups): past it InitProducerId is refused with
   COORDINATOR_NOT_AVAILABLE rather than growing without bound. */
#define RN_TXN_IDS_MAX 100000
/* Partitions in one transaction: its record (every partition named) must
   fit a __transaction_state batch of 1 MiB with topic names of up to 249
   bytes; AddPartitionsToTxn past it fails with UNKNOWN_SERVER_ERROR, the
   code Kafka gives a transaction record too large for its log. */
#define RN_TXN_PARTITIONS_MAX 3000
/* Backoff before the coordinator writes again the markers a partition
   could not take (no leader here yet, too few in-sync replicas, a storage
   error), as Kafka's marker channel retries. */
#define RN_TXN_MARKER_RETRY_MS 100
/* Aborted transactions a partition remembers for read_committed fetches
   (32 bytes each in memory, 34 in its checkpoint): past it the oldest is
   forgotten, with a warning; retention and DeleteRecords drop those below
   the log start first. */
#define RN_TXN_ABORTED_PER_PARTITION_MAX 1000000
/* Offsets of open transactions (TxnOffsetCommit) one __consumer_offsets
   partition holds until their markers: past it TxnOffsetCommit fails with
   UNKNOWN_SERVER_ERROR rather than growing without bound. */
#define RN_GROUP_TXN_PENDING_MAX 100000
/* Aborted transactions one partition of a Fetch answer lists. */
#define RN_TXN_ABORTED_PER_FETCH_MAX 10000
/* broker.session.timeout.ms when the runtime is given none (Kafka's
   default): the active controller fences a broker silent for longer. */
#define RN_BROKER_SESSION_TIMEOUT_MS_DEFAULT 9000
/* How long the active controller waits, after a broker's last connection
   to it closed, before it fences the broker as gone (its process died: the
   kernel closed its sockets), instead of waiting out the session. A live
   broker answers the leader's Raft heartbeat (every RN_RAFT_HEARTBEAT_TICKS
   ticks, 100 ms by default) on a new connection well within it; a broker
   cut off without a close still waits out broker.session.timeout.ms. */
#define RN_MBR_GONE_FENCE_MS 500
/* A fenced broker heartbeats this often (at most) until it is unfenced, so
   a node that just registered serves clients within a few of them instead
   of a whole broker.heartbeat.interval.ms. */
#define RN_LIFECYCLE_FENCED_HEARTBEAT_MS 100
/* How long a start waits to see this node registered and unfenced before
   it creates internal topics and opens its listener, as a Kafka broker
   waits: a single node's own quorum answers at once; a restarted cluster
   node may wait out its old lease (broker.session.timeout.ms, 9 s by
   default) first. Past it the start goes on and says so. */
#define RN_LIFECYCLE_START_WAIT_MS 30000
/* A starting node whose node id another incarnation holds, and whose data
   folder's last run ended while registering (so the live registration may
   be that run's), waits this much past broker.session.timeout.ms before it
   concludes the holder lives and refuses to start: the controller checks
   leases once per tick, a fraction of this. */
#define RN_LIFECYCLE_DUPLICATE_MARGIN_MS 1000
/* How long a stopping node waits for the controller to fence it, so its
   leaderships move (and it leaves every ISR) before it goes and it
   registers again at once: long enough to ride out a controller election
   (a few election timeouts), as Kafka's controlled shutdown retries. */
#define RN_LIFECYCLE_STOP_WAIT_MS 5000
/* A stopping node's fence refused for want of a controller (an election)
   is asked again after this, while the stop waits. */
#define RN_LIFECYCLE_FENCE_RETRY_MS 100
/* Connections the controller listener holds: each other node has a few
   (Raft, registration, forwarded requests) and tools a few more. */
#define RN_CONTROLLER_CONNECTIONS_MAX 256
/* Raft messages queued for one peer; a peer that stops reading loses the
   rest, which Raft resends once it answers again. */
#define RN_QT_PEER_QUEUE_MAX 256
/* The client id a node forwards its clients' admin requests with; a
   request carrying it is never forwarded again (no loops between nodes). */
#define RN_FORWARD_CLIENT_ID "runnel-forward"
/* A dynamic quorum (controller.quorum.bootstrap.servers, cluster/
   quorum_bootstrap.c): how often a node asks each bootstrap server what it
   knows while it looks for the quorum or a member's address, and while
   settled (every member reachable); how long one probe may take (a
   server that does not answer in time counts as unreachable); how long
   an answer stays current; and how long the first server waits for every
   other one to answer before a majority of empty ones is enough to form
   a new cluster. */
#define RN_QB_PROBE_INTERVAL_MS 500
#define RN_QB_PROBE_SETTLED_MS 5000
#define RN_QB_PROBE_TIMEOUT_MS 1000
#define RN_QB_ANSWER_FRESH_MS 3000
#define RN_QB_FORM_WAIT_MS 5000
/* How long a joining controller waits before asking again to be added
   (after a refusal or a failed call), and how long one such call may run:
   the leader answers once the new voter is caught up and promoted. */
#define RN_QB_JOIN_RETRY_MS 1000
#define RN_QB_JOIN_TIMEOUT_MS 35000
/* Members one probe answer lists (voters, learners and known peers). */
#define RN_QB_MEMBERS_MAX (2 * RN_RAFT_NODES_MAX)
/* A data folder's directory id as text (Kafka's Uuid: 22 characters). */
#define RN_MD_DIRECTORY_ID_BYTES_MAX 31
/* Topic auto-creations under way at once (Metadata for unknown topics);
   past it a request is not turned into one more: its client asks again. */
#define RN_AUTO_CREATES_MAX 64

/* ---- raft ---- */

/* Members (voters plus learners) of one Raft quorum. KRaft controller
   quorums are 3 or 5 voters; a few learners catch up at a time. */
#define RN_RAFT_NODES_MAX 9
/* Entries in one AppendEntries message: batches bound message size and the
   time a follower spends on one message. */
#define RN_RAFT_APPEND_ENTRIES_MAX 64
/* Bytes of entry data in one AppendEntries message. */
#define RN_RAFT_APPEND_BYTES_MAX (1024 * 1024)
/* One entry's data: a metadata record batch. */
#define RN_RAFT_ENTRY_BYTES_MAX (512 * 1024)
/* AppendEntries in flight to one follower while pipelining; past it the
   leader waits for acknowledgements (backpressure, not a queue). */
#define RN_RAFT_INFLIGHT_MAX 8
/* Entries held in memory past the snapshot; proposals beyond get
   RN_ERR_LIMIT until a snapshot compacts the log. */
#define RN_RAFT_LOG_ENTRIES_MAX 65536
/* A snapshot travels in one InstallSnapshot message; the metadata image of a
   large cluster stays well below this. */
#define RN_RAFT_SNAPSHOT_BYTES_MAX (16 * 1024 * 1024)
/* Encoded Raft message: the larger of a full append batch and a snapshot. */
#define RN_RAFT_MSG_BYTES_MAX (RN_RAFT_SNAPSHOT_BYTES_MAX + 64 * 1024)
/* Messages produced by one step before the driver drains them. */
#define RN_RAFT_MSGS_OUT_MAX 1024
/* Linearizable reads waiting for a quorum heartbeat round. */
#define RN_RAFT_READS_PENDING_MAX 1024
/* Election timeout in ticks (one tick is RN_TIMER_TICK_MS); the actual
   timeout is drawn from [t, 2t) to break ties. */
#define RN_RAFT_ELECTION_TICKS_DEFAULT 100
/* Heartbeat interval in ticks; well under the election timeout. */
#define RN_RAFT_HEARTBEAT_TICKS_DEFAULT 10
/* A learner is promoted only when it lags the leader by at most this many
   entries, so the new voter does not stall commits while catching up. */
#define RN_RAFT_CATCHUP_LAG_MAX 16
/* Applied entries between snapshots (default). */
#define RN_RAFT_SNAPSHOT_ENTRIES_DEFAULT 4096

RN_STATIC_ASSERT(RN_QB_PROBE_TIMEOUT_MS < RN_QB_ANSWER_FRESH_MS &&
                     RN_QB_PROBE_INTERVAL_MS < RN_QB_ANSWER_FRESH_MS,
                 "a probed server answers again before its last answer goes stale");
RN_STATIC_ASSERT(RN_QB_JOIN_TIMEOUT_MS > RN_ADMIN_OP_TIMEOUT_MS,
                 "a join call outlives the leader's own deadline for the change");
RN_STATIC_ASSERT(RN_REQUEST_BYTES_MAX_DEFAULT <= RN_REQUEST_BYTES_MAX_CEILING,
                 "default frame limit within the ceiling");
RN_STATIC_ASSERT(RN_QUEUED_REQUEST_BYTES_DEFAULT >= RN_REQUEST_BYTES_MAX_DEFAULT,
                 "a maximal frame fits in the default budget of partly read frames");
RN_STATIC_ASSERT(RN_MESSAGE_BYTES_MAX_DEFAULT < RN_REQUEST_BYTES_MAX_DEFAULT,
                 "a maximal batch fits in a maximal request");
RN_STATIC_ASSERT(RN_TOPIC_PARTITIONS_MAX <= RN_BROKER_PARTITIONS_MAX,
                 "one topic fits in the broker");

RN_STATIC_ASSERT(RN_RAFT_ENTRY_BYTES_MAX <= RN_RAFT_APPEND_BYTES_MAX,
                 "a maximal entry fits in one append");
RN_STATIC_ASSERT(RN_RAFT_APPEND_BYTES_MAX < RN_RAFT_MSG_BYTES_MAX,
                 "an append batch fits in one message");
RN_STATIC_ASSERT(RN_RAFT_HEARTBEAT_TICKS_DEFAULT * 2 < RN_RAFT_ELECTION_TICKS_DEFAULT,
                 "heartbeats arrive well within the election timeout");
RN_STATIC_ASSERT((RN_RAFT_INFLIGHT_MAX * RN_RAFT_NODES_MAX) < RN_RAFT_MSGS_OUT_MAX,
                 "a full pipeline to every peer fits in one step's output");

RN_STATIC_ASSERT(RN_RAFT_MSG_BYTES_MAX <= RN_CLIENT_RESPONSE_BYTES_MAX_DEFAULT,
                 "a Raft message fits in a client's default response frame");
RN_STATIC_ASSERT(RN_CLIENT_QUEUE_MAX_DEFAULT <= RN_CLIENT_QUEUE_MAX_CEILING,
                 "the default client queue within its ceiling");
RN_STATIC_ASSERT(RN_CLIENT_RESOLVE_POLL_MS_MIN <= RN_CLIENT_RESOLVE_POLL_MS_MAX &&
                     RN_CLIENT_RESOLVE_POLL_MS_MAX < RN_CLIENT_RESOLVE_TIMEOUT_MS_DEFAULT,
                 "a lookup is looked at several times before it times out");
RN_STATIC_ASSERT(RN_CLIENT_BACKOFF_MS_MIN_DEFAULT <= RN_CLIENT_BACKOFF_MS_MAX_DEFAULT,
                 "client backoff grows from its first delay to its last");
RN_STATIC_ASSERT(RN_CLIENT_ID_BYTES_MAX <= RN_PROTO_STRING_BYTES_MAX,
                 "a client id fits in a protocol string");

RN_STATIC_ASSERT(RN_TXN_PARTITIONS_MAX *(2 + RN_TOPIC_NAME_BYTES_MAX + 4 + 4) < 1024 * 1024,
                 "a transaction's record, every partition named, fits a 1 MiB batch");
RN_STATIC_ASSERT(RN_REPLICAS_MAX <= 32767, "a replication factor is an int16");
RN_STATIC_ASSERT(RN_REPLICAS_MAX <= 32, "a partition's eligible replicas are a 32-bit mask");
RN_STATIC_ASSERT(RN_BROKERS_MAX <= 64, "the planner keeps sets of brokers in a 64-bit mask");
RN_STATIC_ASSERT(RN_BAL_STOP_PCT_DEFAULT <= RN_BAL_START_PCT_DEFAULT,
                 "the stop band lies within the start band");
RN_STATIC_ASSERT(RN_BAL_COUNT_STOP_MIN_DEFAULT <= RN_BAL_COUNT_START_MIN_DEFAULT,
                 "the stop band lies within the start band");
RN_STATIC_ASSERT(RN_MD_RECORD_BYTES_MAX <= RN_MD_BATCH_BYTES_MAX,
                 "a record fits in a metadata batch");
RN_STATIC_ASSERT(RN_ISR_CHANGES_MAX *RN_MD_PARTITION_CHANGE_BYTES_MAX <= RN_RAFT_ENTRY_BYTES_MAX,
                 "the records of a full AlterPartition fit one Raft entry");
RN_STATIC_ASSERT(RN_ISR_CHANGES_MAX <= RN_MD_BATCH_RECORDS_MAX,
                 "the records of a full AlterPartition fit one metadata batch");
RN_STATIC_ASSERT(RN_ELECTIONS_MAX *RN_MD_ELECTION_BYTES_MAX <= RN_RAFT_ENTRY_BYTES_MAX,
                 "the records of a full ElectLeaders fit one Raft entry");
RN_STATIC_ASSERT(RN_ELECTIONS_MAX <= RN_MD_BATCH_RECORDS_MAX,
                 "the records of a full ElectLeaders fit one metadata batch");
RN_STATIC_ASSERT(RN_ELECTIONS_PER_PASS_MAX <= RN_ELECTIONS_MAX,
                 "an automatic pass records no more than a request may");
RN_STATIC_ASSERT(RN_TOPIC_NAME_BYTES_MAX < RN_MD_RECORD_BYTES_MAX,
                 "a topic name fits in a metadata record");
RN_STATIC_ASSERT(RN_BROKER_ENDPOINTS_MAX *(RN_CONFIG_LISTENER_NAME_BYTES_MAX +
                                           RN_CONFIG_HOST_BYTES_MAX + 8) +
                         RN_BROKER_RACK_BYTES_MAX + 64 <
                     RN_MD_RECORD_BYTES_MAX,
                 "a broker registration fits in a metadata record");

#endif
