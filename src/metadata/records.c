/*
 * records.c: encoding and decoding of metadata records and batches.
 *
 * The layout is drawn in records.h. Decoding goes through proto/wire.h's
 * reader, whose errors are sticky, so each decoder reads every field and
 * checks once at the end.
 */
#include "metadata/records.h"

#include "base/assert.h"
#include "base/endian.h"

#include <string.h>

#define RECORD_VERSION 0
/* RegisterBrokerRecord's: version 1 adds the directory id. */
#define REGISTER_VERSION 1
/* PartitionRecord's and PartitionChangeRecord's: version 1 adds a
   reassignment's lists. Written only when they carry them, so a log with no
   reassignment reads the same to a release before them. */
#define MOVING_VERSION 1

void rn_md_batch_init(rn_md_batch_t *batch) {
    rn_buf_init(&batch->buf, RN_MD_BATCH_BYTES_MAX);
    batch->count = 0;
}

void rn_md_batch_free(rn_md_batch_t *batch) {
    rn_buf_free(&batch->buf);
    batch->count = 0;
}

void rn_md_batch_reset(rn_md_batch_t *batch) {
    batch->buf.len = 0;
    batch->count = 0;
}

static void write_replicas(rn_writer_t *w, const int32_t *ids, int16_t count) {
    rn_write_int16(w, count);
    for (int16_t n = 0; n < count; n++) rn_write_int32(w, ids[n]);
}

static bool str_ok(rn_str_t s, int32_t len_max, bool nullable) {
    if (s.len < 0) return nullable;
    return s.len <= len_max;
}

static bool protocol_ok(int16_t protocol) {
    return protocol >= RN_MD_PROTOCOL_PLAINTEXT && protocol <= RN_MD_PROTOCOL_SASL_SSL;
}

static bool flag_ok(int8_t flag) { return flag >= RN_MD_FLAG_NO_CHANGE && flag <= 1; }

static bool list_count_ok(int16_t count) {
    return count >= RN_MD_LIST_NO_CHANGE && count <= RN_REPLICAS_MAX;
}

static bool endpoint_ok(const rn_md_endpoint_t *ep) {
    return str_ok(ep->name, RN_CONFIG_LISTENER_NAME_BYTES_MAX, false) &&
           str_ok(ep->host, RN_CONFIG_HOST_BYTES_MAX, false) && protocol_ok(ep->security_protocol);
}

static bool register_ok(const rn_md_register_broker_record_t *reg) {
    if (reg->broker_id < 0) return false;
    if (reg->endpoint_count < 0 || reg->endpoint_count > RN_BROKER_ENDPOINTS_MAX) return false;
    for (int16_t n = 0; n < reg->endpoint_count; n++) {
        if (!endpoint_ok(&reg->endpoints[n])) return false;
    }
    return str_ok(reg->rack, RN_BROKER_RACK_BYTES_MAX, true);
}

static bool write_register(rn_writer_t *w, const rn_md_register_broker_record_t *reg) {
    if (!register_ok(reg)) return false;
    rn_write_int32(w, reg->broker_id);
    rn_write_uuid(w, &reg->incarnation_id);
    rn_write_int64(w, reg->broker_epoch);
    rn_write_int16(w, reg->endpoint_count);
    for (int16_t n = 0; n < reg->endpoint_count; n++) {
        const rn_md_endpoint_t *ep = &reg->endpoints[n];
        rn_write_string(w, ep->name, false);
        rn_write_string(w, ep->host, false);
        rn_write_uint16(w, ep->port);
        rn_write_int16(w, ep->security_protocol);
    }
    rn_write_string(w, reg->rack, false);
    rn_write_bool(w, reg->fenced);
    rn_write_bool(w, reg->in_controlled_shutdown);
    rn_write_uuid(w, &reg->directory_id);
    return true;
}

static bool moving_ok(const rn_md_moving_t *m) {
    return m->removing_count >= 0 && m->removing_count <= RN_REPLICAS_MAX && m->adding_count >= 0 &&
           m->adding_count <= RN_REPLICAS_MAX;
}

static bool moving_any(const rn_md_moving_t *m) {
    return m->removing_count > 0 || m->adding_count > 0;
}

static void write_moving(rn_writer_t *w, const rn_md_moving_t *m) {
    write_replicas(w, m->removing, m->removing_count);
    write_replicas(w, m->adding, m->adding_count);
}

static bool write_partition_change(rn_writer_t *w, const rn_md_partition_change_record_t *pc) {
    if (pc->partition < 0 || pc->leader < RN_MD_LEADER_NO_CHANGE) return false;
    if (!list_count_ok(pc->isr_count) || !list_count_ok(pc->replica_count)) return false;
    if (pc->sets_moving && !moving_ok(&pc->moving)) return false;
    rn_write_uuid(w, &pc->topic_id);
    rn_write_int32(w, pc->partition);
    rn_write_int32(w, pc->leader);
    write_replicas(w, pc->isr, pc->isr_count);
    write_replicas(w, pc->replicas, pc->replica_count);
    if (pc->sets_moving) write_moving(w, &pc->moving);
    return true;
}

static bool write_broker_record(rn_writer_t *w, const rn_md_record_t *rec) {
    if (rec->type == RN_MD_BROKER_CHANGE) {
        const rn_md_broker_change_record_t *c = &rec->u.broker_change;
        if (c->broker_id < 0 || !flag_ok(c->fenced) || !flag_ok(c->in_controlled_shutdown))
            return false;
        rn_write_int32(w, c->broker_id);
        rn_write_int64(w, c->broker_epoch);
        rn_write_int8(w, c->fenced);
        rn_write_int8(w, c->in_controlled_shutdown);
        return true;
    }
    if (rec->u.broker_epoch.broker_id < 0) return false;
    rn_write_int32(w, rec->u.broker_epoch.broker_id);
    rn_write_int64(w, rec->u.broker_epoch.broker_epoch);
    return true;
}

/* Writes the record body; returns false if a field is out of range. */
static bool write_body(rn_writer_t *w, const rn_md_record_t *rec) {
    switch (rec->type) {
    case RN_MD_REGISTER_BROKER:
        return write_register(w, &rec->u.register_broker);
    case RN_MD_UNREGISTER_BROKER:
    case RN_MD_FENCE_BROKER:
    case RN_MD_UNFENCE_BROKER:
    case RN_MD_BROKER_CHANGE:
        return write_broker_record(w, rec);
    case RN_MD_PARTITION_CHANGE:
        return write_partition_change(w, &rec->u.partition_change);
    case RN_MD_TOPIC:
        if (!str_ok(rec->u.topic.name, RN_TOPIC_NAME_BYTES_MAX, false)) return false;
        rn_write_uuid(w, &rec->u.topic.topic_id);
        rn_write_string(w, rec->u.topic.name, false);
        return true;
    case RN_MD_PARTITION: {
        const rn_md_partition_record_t *p = &rec->u.partition;
        if (p->replica_count < 0 || p->replica_count > RN_REPLICAS_MAX) return false;
        if (p->isr_count < 0 || p->isr_count > RN_REPLICAS_MAX) return false;
        if (!moving_ok(&p->moving)) return false;
        rn_write_uuid(w, &p->topic_id);
        rn_write_int32(w, p->partition);
        rn_write_int32(w, p->leader);
        rn_write_int32(w, p->leader_epoch);
        rn_write_int32(w, p->partition_epoch);
        write_replicas(w, p->replicas, p->replica_count);
        write_replicas(w, p->isr, p->isr_count);
        if (moving_any(&p->moving)) write_moving(w, &p->moving);
        return true;
    }
    case RN_MD_CONFIG: {
        const rn_md_config_record_t *c = &rec->u.config;
        if (!str_ok(c->resource_name, RN_TOPIC_NAME_BYTES_MAX, false) ||
            !str_ok(c->key, RN_CONFIG_KEY_BYTES_MAX, false) ||
            !str_ok(c->value, RN_CONFIG_VALUE_BYTES_MAX, true))
            return false;
        rn_write_int8(w, c->resource_type);
        rn_write_string(w, c->resource_name, false);
        rn_write_string(w, c->key, false);
        rn_write_string(w, c->value, false);
        return true;
    }
    case RN_MD_REMOVE_TOPIC:
        rn_write_uuid(w, &rec->u.remove_topic.topic_id);
        return true;
    case RN_MD_PRODUCER_IDS:
        rn_write_int32(w, rec->u.producer_ids.broker_id);
        rn_write_int64(w, rec->u.producer_ids.broker_epoch);
        rn_write_int64(w, rec->u.producer_ids.next_producer_id);
        return true;
    case RN_MD_VOTER_DIR:
        if (rec->u.voter_dir.voter_id < 0 ||
            !str_ok(rec->u.voter_dir.directory_id, RN_MD_DIRECTORY_ID_BYTES_MAX, false))
            return false;
        rn_write_int32(w, rec->u.voter_dir.voter_id);
        rn_write_string(w, rec->u.voter_dir.directory_id, false);
        return true;
    case RN_MD_CLUSTER_ID:
        if (!str_ok(rec->u.cluster_id.cluster_id, RN_MD_DIRECTORY_ID_BYTES_MAX, false))
            return false;
        rn_write_string(w, rec->u.cluster_id.cluster_id, false);
        return true;
    }
    RN_UNREACHABLE("unknown metadata record type");
    return false;
}

static int8_t record_version(const rn_md_record_t *rec) {
    switch (rec->type) {
    case RN_MD_REGISTER_BROKER:
        return REGISTER_VERSION;
    case RN_MD_PARTITION:
        return moving_any(&rec->u.partition.moving) ? MOVING_VERSION : RECORD_VERSION;
    case RN_MD_PARTITION_CHANGE:
        return rec->u.partition_change.sets_moving ? MOVING_VERSION : RECORD_VERSION;
    default:
        return RECORD_VERSION;
    }
}

rn_err_t rn_md_batch_add(rn_md_batch_t *batch, const rn_md_record_t *rec) {
    RN_ASSERT(rec != NULL);
    if (batch->count >= RN_MD_BATCH_RECORDS_MAX) return RN_ERR_LIMIT;
    size_t start = batch->buf.len;
    rn_writer_t w;
    rn_writer_init(&w, &batch->buf);
    rn_write_uint32(&w, 0); /* size, patched below */
    rn_write_int8(&w, (int8_t)rec->type);
    rn_write_int8(&w, record_version(rec));
    bool ok = write_body(&w, rec);
    size_t size = batch->buf.len - start - 4;
    if (w.err == RN_OK && ok && size > RN_MD_RECORD_BYTES_MAX) w.err = RN_ERR_TOO_LARGE;
    if (w.err != RN_OK || !ok) {
        batch->buf.len = start;
        return w.err != RN_OK ? w.err : RN_ERR_INVALID;
    }
    uint8_t *at = batch->buf.ptr + start;
    at[0] = (uint8_t)(size >> 24);
    at[1] = (uint8_t)(size >> 16);
    at[2] = (uint8_t)(size >> 8);
    at[3] = (uint8_t)size;
    batch->count++;
    return RN_OK;
}

static void read_replicas(rn_reader_t *r, int32_t *ids, int16_t *count) {
    int16_t n = rn_read_int16(r);
    if (n < 0 || n > RN_REPLICAS_MAX) {
        rn_reader_fail(r, RN_ERR_CORRUPT);
        n = 0;
    }
    *count = n;
    for (int16_t i = 0; i < n; i++) ids[i] = rn_read_int32(r);
}

/* A list of a PartitionChangeRecord: count -1 means unchanged. */
static void read_change_list(rn_reader_t *r, int32_t *ids, int16_t *count) {
    int16_t n = rn_read_int16(r);
    if (!list_count_ok(n)) {
        rn_reader_fail(r, RN_ERR_CORRUPT);
        n = 0;
    }
    *count = n;
    for (int16_t i = 0; i < n; i++) ids[i] = rn_read_int32(r);
}

/* A strict bool: 0 or 1. */
static bool read_strict_bool(rn_reader_t *r) {
    int8_t v = rn_read_int8(r);
    if (v != 0 && v != 1) rn_reader_fail(r, RN_ERR_CORRUPT);
    return v == 1;
}

static void read_register(rn_reader_t *r, int8_t version, rn_md_register_broker_record_t *reg) {
    reg->broker_id = rn_read_int32(r);
    reg->incarnation_id = rn_read_uuid(r);
    reg->broker_epoch = rn_read_int64(r);
    int16_t count = rn_read_int16(r);
    if (count < 0 || count > RN_BROKER_ENDPOINTS_MAX) {
        rn_reader_fail(r, RN_ERR_CORRUPT);
        count = 0;
    }
    reg->endpoint_count = count;
    for (int16_t n = 0; n < count; n++) {
        rn_md_endpoint_t *ep = &reg->endpoints[n];
        ep->name = rn_read_string(r, false);
        ep->host = rn_read_string(r, false);
        ep->port = rn_read_uint16(r);
        ep->security_protocol = rn_read_int16(r);
    }
    reg->rack = rn_read_string(r, false);
    reg->fenced = read_strict_bool(r);
    reg->in_controlled_shutdown = read_strict_bool(r);
    if (version >= 1) reg->directory_id = rn_read_uuid(r);
    if (r->err == RN_OK && !register_ok(reg)) rn_reader_fail(r, RN_ERR_CORRUPT);
}

static void read_moving(rn_reader_t *r, rn_md_moving_t *m) {
    read_replicas(r, m->removing, &m->removing_count);
    read_replicas(r, m->adding, &m->adding_count);
}

static void read_partition_change(rn_reader_t *r, int8_t version,
                                  rn_md_partition_change_record_t *pc) {
    pc->topic_id = rn_read_uuid(r);
    pc->partition = rn_read_int32(r);
    pc->leader = rn_read_int32(r);
    read_change_list(r, pc->isr, &pc->isr_count);
    read_change_list(r, pc->replicas, &pc->replica_count);
    pc->sets_moving = version >= MOVING_VERSION;
    if (pc->sets_moving) read_moving(r, &pc->moving);
    if (pc->partition < 0 || pc->leader < RN_MD_LEADER_NO_CHANGE) rn_reader_fail(r, RN_ERR_CORRUPT);
}

static void read_broker_record(rn_reader_t *r, rn_md_record_t *rec) {
    if (rec->type == RN_MD_BROKER_CHANGE) {
        rn_md_broker_change_record_t *c = &rec->u.broker_change;
        c->broker_id = rn_read_int32(r);
        c->broker_epoch = rn_read_int64(r);
        c->fenced = rn_read_int8(r);
        c->in_controlled_shutdown = rn_read_int8(r);
        if (c->broker_id < 0 || !flag_ok(c->fenced) || !flag_ok(c->in_controlled_shutdown))
            rn_reader_fail(r, RN_ERR_CORRUPT);
        return;
    }
    rec->u.broker_epoch.broker_id = rn_read_int32(r);
    rec->u.broker_epoch.broker_epoch = rn_read_int64(r);
    if (rec->u.broker_epoch.broker_id < 0) rn_reader_fail(r, RN_ERR_CORRUPT);
}

static void read_body(rn_reader_t *r, int8_t version, rn_md_record_t *rec) {
    switch (rec->type) {
    case RN_MD_REGISTER_BROKER:
        read_register(r, version, &rec->u.register_broker);
        return;
    case RN_MD_UNREGISTER_BROKER:
    case RN_MD_FENCE_BROKER:
    case RN_MD_UNFENCE_BROKER:
    case RN_MD_BROKER_CHANGE:
        read_broker_record(r, rec);
        return;
    case RN_MD_PARTITION_CHANGE:
        read_partition_change(r, version, &rec->u.partition_change);
        return;
    case RN_MD_TOPIC:
        rec->u.topic.topic_id = rn_read_uuid(r);
        rec->u.topic.name = rn_read_string(r, false);
        if (!str_ok(rec->u.topic.name, RN_TOPIC_NAME_BYTES_MAX, false))
            rn_reader_fail(r, RN_ERR_CORRUPT);
        return;
    case RN_MD_PARTITION: {
        rn_md_partition_record_t *p = &rec->u.partition;
        p->topic_id = rn_read_uuid(r);
        p->partition = rn_read_int32(r);
        p->leader = rn_read_int32(r);
        p->leader_epoch = rn_read_int32(r);
        p->partition_epoch = rn_read_int32(r);
        read_replicas(r, p->replicas, &p->replica_count);
        read_replicas(r, p->isr, &p->isr_count);
        if (version >= MOVING_VERSION) {
            read_moving(r, &p->moving);
            /* Version 1 is written only with a reassignment to carry. */
            if (r->err == RN_OK && !moving_any(&p->moving)) rn_reader_fail(r, RN_ERR_CORRUPT);
        }
        return;
    }
    case RN_MD_CONFIG: {
        rn_md_config_record_t *c = &rec->u.config;
        c->resource_type = rn_read_int8(r);
        c->resource_name = rn_read_string(r, false);
        c->key = rn_read_string(r, false);
        c->value = rn_read_string(r, false);
        if (!str_ok(c->resource_name, RN_TOPIC_NAME_BYTES_MAX, false) ||
            !str_ok(c->key, RN_CONFIG_KEY_BYTES_MAX, false))
            rn_reader_fail(r, RN_ERR_CORRUPT);
        return;
    }
    case RN_MD_REMOVE_TOPIC:
        rec->u.remove_topic.topic_id = rn_read_uuid(r);
        return;
    case RN_MD_PRODUCER_IDS:
        rec->u.producer_ids.broker_id = rn_read_int32(r);
        rec->u.producer_ids.broker_epoch = rn_read_int64(r);
        rec->u.producer_ids.next_producer_id = rn_read_int64(r);
        return;
    case RN_MD_VOTER_DIR:
        rec->u.voter_dir.voter_id = rn_read_int32(r);
        rec->u.voter_dir.directory_id = rn_read_string(r, false);
        if (rec->u.voter_dir.voter_id < 0 ||
            !str_ok(rec->u.voter_dir.directory_id, RN_MD_DIRECTORY_ID_BYTES_MAX, false))
            rn_reader_fail(r, RN_ERR_CORRUPT);
        return;
    case RN_MD_CLUSTER_ID:
        rec->u.cluster_id.cluster_id = rn_read_string(r, false);
        if (!str_ok(rec->u.cluster_id.cluster_id, RN_MD_DIRECTORY_ID_BYTES_MAX, false))
            rn_reader_fail(r, RN_ERR_CORRUPT);
        return;
    }
}

static bool type_known(int8_t type) {
    switch (type) {
    case RN_MD_REGISTER_BROKER:
    case RN_MD_UNREGISTER_BROKER:
    case RN_MD_TOPIC:
    case RN_MD_PARTITION:
    case RN_MD_CONFIG:
    case RN_MD_PARTITION_CHANGE:
    case RN_MD_FENCE_BROKER:
    case RN_MD_UNFENCE_BROKER:
    case RN_MD_REMOVE_TOPIC:
    case RN_MD_PRODUCER_IDS:
    case RN_MD_BROKER_CHANGE:
    case RN_MD_VOTER_DIR:
    case RN_MD_CLUSTER_ID:
        return true;
    default:
        return false;
    }
}

rn_err_t rn_md_record_decode(const uint8_t *bytes, size_t len, rn_md_record_t *rec) {
    RN_ASSERT(rec != NULL);
    memset(rec, 0, sizeof(*rec));
    rn_reader_t r;
    rn_reader_init(&r, bytes, len);
    int8_t type = rn_read_int8(&r);
    int8_t version = rn_read_int8(&r);
    if (r.err != RN_OK) return RN_ERR_CORRUPT;
    bool moves = type == RN_MD_PARTITION || type == RN_MD_PARTITION_CHANGE;
    bool version_known = version == RECORD_VERSION ||
                         (type == RN_MD_REGISTER_BROKER && version == REGISTER_VERSION) ||
                         (moves && version == MOVING_VERSION);
    if (!type_known(type) || !version_known) return RN_ERR_INVALID;
    rec->type = (rn_md_type_t)type;
    read_body(&r, version, rec);
    if (r.err != RN_OK || rn_reader_left(&r) != 0) return RN_ERR_CORRUPT;
    return RN_OK;
}

rn_err_t rn_md_batch_each(const uint8_t *body, size_t len, uint32_t count, rn_md_record_fn fn,
                          void *ctx) {
    RN_ASSERT(fn != NULL);
    size_t pos = 0;
    for (uint32_t index = 0; index < count; index++) {
        if (len - pos < 4) return RN_ERR_CORRUPT;
        const uint8_t *at = body + pos;
        uint32_t size = rn_be32_get(at);
        pos += 4;
        if (size > RN_MD_RECORD_BYTES_MAX || size > len - pos) return RN_ERR_CORRUPT;
        rn_md_record_t rec;
        rn_err_t err = rn_md_record_decode(body + pos, size, &rec);
        if (err == RN_OK) err = fn(ctx, index, &rec);
        if (err != RN_OK) return err;
        pos += size;
    }
    return pos == len ? RN_OK : RN_ERR_CORRUPT;
}

void rn_md_str_copy(rn_str_t s, char *out, size_t out_len) {
    RN_ASSERT(out_len > 0);
    size_t len = s.len < 0 ? 0 : (size_t)s.len;
    if (len >= out_len) len = out_len - 1;
    if (len) memcpy(out, s.ptr, len);
    out[len] = '\0';
}
