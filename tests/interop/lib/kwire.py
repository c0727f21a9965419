"""A small Kafka request encoder and response reader for hand-built frames.

Only what the raw-socket tests need: request headers v1/v2, ApiVersions,
Metadata v1, Produce v3/v7 carrying a record batch v2 built here (with a
CRC-32C of our own), ListOffsets v1, Fetch v4..v11, OffsetForLeaderEpoch v3,
ElectLeaders v0..v2, Metadata v4 (no auto-creation), FindCoordinator v1, a
connection that reads whole frames with a deadline, and a log end offset
asked on one. A raw request about a partition or a group goes to the broker
that serves it, which leader() and coordinator() find (on one broker, that
broker). Every builder takes knobs to make the bytes lie (a wrong CRC,
magic, length or count) because lying is what the tests are for.

Standard library only.
"""

import socket
import struct
import time

API_PRODUCE = 0
API_FETCH = 1
API_LIST_OFFSETS = 2
API_METADATA = 3
API_FIND_COORDINATOR = 10
API_API_VERSIONS = 18
API_OFFSET_FOR_LEADER_EPOCH = 23
API_ELECT_LEADERS = 43

ERR_NONE = 0
ERR_CORRUPT_MESSAGE = 2
ERR_INVALID_REQUEST = 42
ERR_UNSUPPORTED_VERSION = 35
ERR_INVALID_RECORD = 87
ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT = 43


# ---------------------------------------------------------------- CRC-32C

def _crc32c_table():
    poly = 0x82F63B78  # Castagnoli, reflected
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c)
    return table


_CRC32C_TABLE = _crc32c_table()


def crc32c(data, crc=0):
    """CRC-32C (Castagnoli) of data, as record batch v2 uses."""
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = _CRC32C_TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283


# ---------------------------------------------------------------- primitives

def i8(v):
    return struct.pack(">b", v)


def i16(v):
    return struct.pack(">h", v)


def i32(v):
    return struct.pack(">i", v)


def u32(v):
    return struct.pack(">I", v)


def i64(v):
    return struct.pack(">q", v)


def uvarint(v):
    assert v >= 0
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def varint(v):
    """Zig-zag signed varint (32 or 64 bit, same encoding)."""
    return uvarint((v << 1) ^ (v >> 63) if v < 0 else v << 1)


def string(s):
    """Classic nullable string: int16 length (-1 for None), bytes."""
    if s is None:
        return i16(-1)
    b = s.encode() if isinstance(s, str) else s
    return i16(len(b)) + b


def compact_string(s):
    if s is None:
        return uvarint(0)
    b = s.encode() if isinstance(s, str) else s
    return uvarint(len(b) + 1) + b


def nbytes(b):
    """Classic nullable bytes: int32 length (-1 for None), bytes."""
    if b is None:
        return i32(-1)
    return i32(len(b)) + b


def array(items, count=None):
    """Classic array of already-encoded items; count overrides the count."""
    n = len(items) if count is None else count
    return i32(n) + b"".join(items)


TAGS_NONE = uvarint(0)


# ---------------------------------------------------------------- reader

class Truncated(Exception):
    pass


class Reader:
    """Bounds-checked reader over a response body."""

    def __init__(self, data):
        self.data = bytes(data)
        self.pos = 0

    def remaining(self):
        return len(self.data) - self.pos

    def take(self, n):
        if n < 0 or self.pos + n > len(self.data):
            raise Truncated("need %d bytes at %d of %d" % (n, self.pos, len(self.data)))
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def _unpack(self, fmt, n):
        return struct.unpack(fmt, self.take(n))[0]

    def i8(self):
        return self._unpack(">b", 1)

    def i16(self):
        return self._unpack(">h", 2)

    def i32(self):
        return self._unpack(">i", 4)

    def i64(self):
        return self._unpack(">q", 8)

    def uvarint(self):
        v, shift = 0, 0
        while True:
            b = self.take(1)[0]
            v |= (b & 0x7F) << shift
            if not b & 0x80:
                return v
            shift += 7
            if shift > 63:
                raise Truncated("varint too long")

    def varint(self):
        v = self.uvarint()
        return (v >> 1) ^ -(v & 1)

    def string(self):
        n = self.i16()
        return None if n < 0 else self.take(n).decode()

    def compact_string(self):
        n = self.uvarint()
        return None if n == 0 else self.take(n - 1).decode()

    def nbytes(self):
        n = self.i32()
        return None if n < 0 else self.take(n)

    def array(self, item):
        n = self.i32()
        if n < 0:
            return None
        return [item(self) for _ in range(n)]

    def compact_array(self, item):
        n = self.uvarint()
        if n == 0:
            return None
        return [item(self) for _ in range(n - 1)]

    def skip_tags(self):
        for _ in range(self.uvarint()):
            self.uvarint()
            self.take(self.uvarint())

    def tags(self):
        """The tagged fields: {tag: Reader over its bytes}."""
        out = {}
        for _ in range(self.uvarint()):
            tag = self.uvarint()
            out[tag] = Reader(self.take(self.uvarint()))
        return out


# ---------------------------------------------------------------- requests

def request_header(api_key, api_version, corr_id, client_id="kwire", header_version=1):
    """Request header v1 (classic) or v2 (flexible: adds tagged fields)."""
    h = i16(api_key) + i16(api_version) + i32(corr_id) + string(client_id)
    if header_version >= 2:
        h += TAGS_NONE
    return h


def frame(payload, length=None):
    """Prefix payload with its int32 size (or a lying one)."""
    return i32(len(payload) if length is None else length) + payload


def api_versions_request(corr_id, version=0, client_id="kwire"):
    if version >= 3:
        hdr = request_header(API_API_VERSIONS, version, corr_id, client_id, 2)
        body = compact_string("kwire") + compact_string("1.0") + TAGS_NONE
    else:
        hdr = request_header(API_API_VERSIONS, version, corr_id, client_id, 1)
        body = b""
    return frame(hdr + body)


def metadata_request(corr_id, topics=None, version=1, topic_count=None):
    """Metadata v1..v3 (classic); topics None asks for all topics."""
    assert 1 <= version <= 3
    hdr = request_header(API_METADATA, version, corr_id)
    if topics is None and topic_count is None:
        body = i32(-1)
    else:
        body = array([string(t) for t in (topics or [])], topic_count)
    return frame(hdr + body)


def compact_items(items):
    """A compact array of already encoded items."""
    return uvarint(len(items) + 1) + b"".join(items)


def produce_request_flexible(corr_id, topic, partition, records, version=11, acks=-1,
                             timeout_ms=10000):
    """Produce v9+ (flexible) with one partition's records bytes."""
    assert version >= 9
    hdr = request_header(API_PRODUCE, version, corr_id, "kwire", 2)
    part = i32(partition) + uvarint(len(records) + 1) + records + TAGS_NONE
    body = (compact_string(None) + i16(acks) + i32(timeout_ms)
            + compact_items([compact_string(topic) + compact_items([part]) + TAGS_NONE])
            + TAGS_NONE)
    return frame(hdr + body)


def _leader_tag(tags, tag):
    """(leader id, leader epoch) of a LeaderIdAndEpoch tagged field, or None."""
    if tag not in tags:
        return None
    r = tags[tag]
    return r.i32(), r.i32()


def _node_endpoints(tags):
    """{node id: (host, port)} of a response's NodeEndpoints (tag 0)."""
    if 0 not in tags:
        return {}

    def ep(rr):
        node, host, port, _rack = rr.i32(), rr.compact_string(), rr.i32(), rr.compact_string()
        rr.skip_tags()
        return node, (host, port)
    return dict(tags[0].compact_array(ep) or [])


def parse_produce_flexible(body):
    """Produce v9+: ([(topic, partition, error, base offset, current leader
    or None)], node endpoints {id: (host, port)})."""
    r = Reader(body)
    out = []

    def record_error(rr):
        rr.i32(), rr.compact_string()
        rr.skip_tags()

    def part(rr, name):
        idx, err, base = rr.i32(), rr.i16(), rr.i64()
        rr.i64(), rr.i64()  # log append time, log start
        rr.compact_array(record_error)
        rr.compact_string()  # error message
        out.append((name, idx, err, base, _leader_tag(rr.tags(), 0)))

    def topic(rr):
        name = rr.compact_string()
        rr.compact_array(lambda x: part(x, name))
        rr.skip_tags()
    r.compact_array(topic)
    r.i32()  # throttle
    return out, _node_endpoints(r.tags())


def fetch_request_flexible(corr_id, version, topics, session_id=0, epoch=-1, forgotten=(),
                           max_wait_ms=100):
    """Fetch v12+ (flexible): topics [(name, or topic id bytes from v13,
    [(partition, offset)])], forgotten [(name or id, [partitions])]. From
    v15 the consumer names itself in the replica state."""
    def key(topic):
        return topic if version >= 13 else compact_string(topic)

    def part(p, offset):
        return (i32(p) + i32(-1) + i64(offset) + i32(-1) + i64(-1) + i32(1 << 20)
                + TAGS_NONE)
    body = i32(-1) if version < 15 else b""
    body += i32(max_wait_ms) + i32(0) + i32(1 << 20) + i8(0) + i32(session_id) + i32(epoch)
    body += compact_items([key(t) + compact_items([part(p, o) for p, o in parts]) + TAGS_NONE
                           for t, parts in topics])
    body += compact_items([key(t) + uvarint(len(ps) + 1) + b"".join(i32(p) for p in ps)
                           + TAGS_NONE for t, ps in forgotten])
    body += compact_string("")
    if version >= 15:  # the replica state, tagged field 1: replica id -1, epoch -1
        state = i32(-1) + i64(-1) + TAGS_NONE
        body += uvarint(1) + uvarint(1) + uvarint(len(state)) + state
    else:
        body += TAGS_NONE
    return frame(request_header(API_FETCH, version, corr_id, "kwire", 2) + body)


def parse_fetch_flexible(body, version):
    """Fetch v12+: (top error, session id, [(topic name or id, partition,
    error, high watermark, records or None, current leader or None)], node
    endpoints {id: (host, port)})."""
    r = Reader(body)
    r.i32()  # throttle
    top, sid = r.i16(), r.i32()
    out = []

    def aborted(rr):
        rr.i64(), rr.i64()
        rr.skip_tags()

    def part(rr, key):
        idx, err, hw = rr.i32(), rr.i16(), rr.i64()
        rr.i64(), rr.i64()  # last stable offset, log start
        rr.compact_array(aborted)
        rr.i32()  # preferred read replica
        n = rr.uvarint()
        records = rr.take(n - 1) if n else None
        out.append((key, idx, err, hw, records, _leader_tag(rr.tags(), 1)))

    def topic(rr):
        key = rr.take(16) if version >= 13 else rr.compact_string()
        rr.compact_array(lambda x: part(x, key))
        rr.skip_tags()
    r.compact_array(topic)
    return top, sid, out, _node_endpoints(r.tags())


def topic_id(bootstrap, name):
    """The topic's id as Metadata v10 names it (16 bytes; zero if unknown)."""
    topic = bytes(16) + compact_string(name) + TAGS_NONE
    body = compact_items([topic]) + i8(0) * 3 + TAGS_NONE  # no auto-create, no operations
    hdr = request_header(API_METADATA, 10, 2, "kwire", 2)
    with Conn(bootstrap) as c:
        _, resp = c.roundtrip(frame(hdr + body), flexible_header=True)
    r = Reader(resp)
    r.i32()  # throttle

    def broker(rr):
        rr.i32(), rr.compact_string(), rr.i32(), rr.compact_string()
        rr.skip_tags()
    r.compact_array(broker)
    r.compact_string(), r.i32()  # cluster id, controller
    r.uvarint()  # the topics' count
    r.i16(), r.compact_string()  # the first topic's error and name
    return r.take(16)


def list_offsets_request(corr_id, topic, partition, timestamp):
    """ListOffsets v1: timestamp -2 earliest, -1 latest."""
    hdr = request_header(API_LIST_OFFSETS, 1, corr_id)
    part = i32(partition) + i64(timestamp)
    body = i32(-1) + array([string(topic) + array([part])])
    return frame(hdr + body)


def offset_for_leader_epoch_request(corr_id, topics, replica_id=-1):
    """OffsetForLeaderEpoch v3: topics is [(name, [(partition,
    current_leader_epoch, leader_epoch)])]."""
    body = i32(replica_id) + array([
        string(name) + array([i32(p) + i32(cur) + i32(epoch) for p, cur, epoch in parts])
        for name, parts in topics])
    return frame(request_header(API_OFFSET_FOR_LEADER_EPOCH, 3, corr_id) + body)


def elect_leaders_request(corr_id, topics, version=2, election_type=0, timeout_ms=10000):
    """ElectLeaders (v0-2): topics is {topic: [partition, ...]} or None (every
    partition); election_type 0 preferred, 1 unclean (v1+; v0 is preferred)."""
    flexible = version >= 2
    hdr = request_header(API_ELECT_LEADERS, version, corr_id, header_version=2 if flexible else 1)
    body = i8(election_type) if version >= 1 else b""
    if flexible:
        if topics is None:
            body += uvarint(0)
        else:
            body += uvarint(len(topics) + 1)
            for name, parts in topics.items():
                body += compact_string(name) + uvarint(len(parts) + 1)
                body += b"".join(i32(p) for p in parts) + TAGS_NONE
        body += i32(timeout_ms) + TAGS_NONE
    else:
        if topics is None:
            body += i32(-1)
        else:
            body += array([string(name) + array([i32(p) for p in parts])
                           for name, parts in topics.items()])
        body += i32(timeout_ms)
    return frame(hdr + body)


def parse_elect_leaders(body, version):
    """(top-level error code (None below v1), {topic: [(partition, error,
    message)]}) of an ElectLeaders response body (header already read)."""
    r = Reader(body)
    flexible = version >= 2
    r.i32()  # throttle
    top = r.i16() if version >= 1 else None
    text = r.compact_string if flexible else r.string
    arr = r.compact_array if flexible else r.array

    def part(rr):
        res = (rr.i32(), rr.i16(), text())
        if flexible:
            rr.skip_tags()
        return res

    def topic(rr):
        name = text()
        parts = arr(part) or []
        if flexible:
            rr.skip_tags()
        return name, parts

    topics = arr(topic) or []
    return top, dict(topics)


def record(value, key=None, offset_delta=0, ts_delta=0, headers=()):
    """One record v2 (length-prefixed)."""
    body = i8(0) + varint(ts_delta) + varint(offset_delta)
    body += varint(-1) if key is None else varint(len(key)) + key
    body += varint(-1) if value is None else varint(len(value)) + value
    body += varint(len(headers))
    for hk, hv in headers:
        hkb = hk.encode()
        body += varint(len(hkb)) + hkb
        body += varint(-1) if hv is None else varint(len(hv)) + hv
    return varint(len(body)) + body


def record_batch(values, base_ts=None, producer_id=-1, producer_epoch=-1,
                 base_sequence=-1, magic=2, crc=None, batch_length=None,
                 record_count=None, attributes=0, keys=None, ts_deltas=None):
    """A record batch v2 with the given values (bytes), uncompressed; each
    record's timestamp base_ts + its ts_deltas entry (0 by default), the
    batch's max timestamp the largest.

    crc, batch_length, record_count and magic override the honest values.
    """
    keys = keys or [None] * len(values)
    ts_deltas = ts_deltas or [0] * len(values)
    recs = b"".join(record(v, k, i, d)
                    for i, (k, v, d) in enumerate(zip(keys, values, ts_deltas)))
    n = len(values)
    if base_ts is None:
        base_ts = int(time.time() * 1000)
    return batch_around(recs, n if record_count is None else record_count, attributes,
                        last_offset_delta=n - 1, base_ts=base_ts, producer_id=producer_id,
                        producer_epoch=producer_epoch, base_sequence=base_sequence,
                        magic=magic, crc=crc, batch_length=batch_length,
                        max_ts=base_ts + max(ts_deltas))


def batch_around(region, record_count, attributes=0, last_offset_delta=None, base_ts=None,
                 producer_id=-1, producer_epoch=-1, base_sequence=-1, magic=2, crc=None,
                 batch_length=None, max_ts=None):
    """A record batch v2 header around a records region as given (records,
    or records already compressed with the codec named in attributes).

    last_offset_delta defaults to record_count - 1, max_ts to base_ts;
    crc, batch_length and magic override the honest values.
    """
    if base_ts is None:
        base_ts = int(time.time() * 1000)
    if last_offset_delta is None:
        last_offset_delta = record_count - 1
    max_ts = base_ts if max_ts is None else max_ts
    after_crc = (i16(attributes) + i32(last_offset_delta) + i64(base_ts) + i64(max_ts)
                 + i64(producer_id) + i16(producer_epoch) + i32(base_sequence)
                 + i32(record_count) + region)
    the_crc = crc32c(after_crc) if crc is None else crc
    after_len = i32(0) + i8(magic) + u32(the_crc) + after_crc  # leader epoch 0
    length = len(after_len) if batch_length is None else batch_length
    return i64(0) + i32(length) + after_len


def produce_request(corr_id, topic, partition, records, version=7, acks=-1,
                    timeout_ms=10000, transactional_id=None):
    """Produce v3..v8 (classic) with one partition's records bytes."""
    assert 3 <= version <= 8
    hdr = request_header(API_PRODUCE, version, corr_id)
    part = i32(partition) + nbytes(records)
    body = string(transactional_id) + i16(acks) + i32(timeout_ms) + array([string(topic) + array([part])])
    return frame(hdr + body)


def fetch_request(corr_id, topics, version=11, max_bytes=0x7FFFFFFF, min_bytes=1,
                  max_wait_ms=0, session_id=0, session_epoch=-1, forgotten=(),
                  replica_id=-1):
    """Fetch v4..v11 (classic); topics is
    [(topic, [(partition, fetch_offset, partition_max_bytes)])]. v7+ carry
    the fetch session (KIP-227: id 0 and epoch -1, the default, is a full
    fetch without one; epoch 0 asks for one) and forgotten is
    [(topic, [partition])] for an incremental fetch."""
    assert 4 <= version <= 11
    hdr = request_header(API_FETCH, version, corr_id)

    def part(p, offset, pmax):
        b = i32(p)
        if version >= 9:
            b += i32(-1)  # current_leader_epoch
        b += i64(offset)
        if version >= 5:
            b += i64(-1)  # log_start_offset (followers only)
        return b + i32(pmax)

    body = i32(replica_id) + i32(max_wait_ms) + i32(min_bytes) + i32(max_bytes) + i8(0)
    if version >= 7:
        body += i32(session_id) + i32(session_epoch)
    body += array([string(t) + array([part(*p) for p in parts]) for t, parts in topics])
    if version >= 7:
        body += array([string(t) + array([i32(p) for p in parts]) for t, parts in forgotten])
    if version >= 11:
        body += string("")  # rack
    return frame(hdr + body)


# ---------------------------------------------------------------- responses

def parse_api_versions(body, version):
    """Body after the response header (always v0 for ApiVersions).

    Returns (error_code, {api_key: (min, max)}). A broker answering a
    version it does not know uses the v0 form; parse with version=0.
    """
    r = Reader(body)
    err = r.i16()
    ranges = {}
    if version >= 3:
        def item(rr):
            k, lo, hi = rr.i16(), rr.i16(), rr.i16()
            rr.skip_tags()
            return k, lo, hi
        items = r.compact_array(item) or []
    else:
        items = r.array(lambda rr: (rr.i16(), rr.i16(), rr.i16())) or []
    for k, lo, hi in items:
        ranges[k] = (lo, hi)
    if version >= 1:
        r.i32()  # throttle_time_ms
    return err, ranges


def parse_metadata_v1(body):
    """Returns (brokers [(id, host, port)], controller_id, topics {name: (err, [partitions])})."""
    r = Reader(body)
    brokers = r.array(lambda rr: (rr.i32(), rr.string(), rr.i32(), rr.string())) or []
    controller = r.i32()

    def part(rr):
        err, idx, leader = rr.i16(), rr.i32(), rr.i32()
        rr.array(Reader.i32)
        rr.array(Reader.i32)
        return idx, err, leader

    def topic(rr):
        err, name, _internal = rr.i16(), rr.string(), rr.i8()
        return name, err, rr.array(part) or []

    topics = {name: (err, parts) for name, err, parts in (r.array(topic) or [])}
    return [(b[0], b[1], b[2]) for b in brokers], controller, topics


def parse_produce(body, version):
    """Returns [(topic, partition, error_code, base_offset)] for v3..v8."""
    return [row[:4] for row in parse_produce_errors(body, version)]


def parse_produce_errors(body, version):
    """Produce v3..v8 with the error details v8 adds: [(topic, partition,
    error_code, base_offset, record_errors [(batch_index, message)],
    error_message)] (before v8: [] and None)."""
    r = Reader(body)
    out = []
    for _ in range(r.i32()):
        name = r.string()
        for _ in range(r.i32()):
            idx, err, base = r.i32(), r.i16(), r.i64()
            r.i64()  # log_append_time_ms
            if version >= 5:
                r.i64()  # log_start_offset
            rec_errors, msg = [], None
            if version >= 8:
                rec_errors = r.array(lambda rr: (rr.i32(), rr.string())) or []
                msg = r.string()
            out.append((name, idx, err, base, rec_errors, msg))
    return out


def parse_list_offsets_v1(body):
    """Returns [(topic, partition, error_code, timestamp, offset)]."""
    r = Reader(body)
    out = []
    for _ in range(r.i32()):
        name = r.string()
        for _ in range(r.i32()):
            out.append((name, r.i32(), r.i16(), r.i64(), r.i64()))
    return out


def parse_fetch(body, version):
    """Fetch v4..v11: (top error_code, [(topic, partition, error_code,
    high_watermark, records)]) where records is the record set's bytes, or
    None when its length is -1 (a null record set). v4..v6 have no top
    error code (0)."""
    top, _, out = parse_fetch_session(body, version)
    return top, out


def parse_fetch_session(body, version):
    """As parse_fetch, with the session id between: (top error_code,
    session_id, partitions); v4..v6 have neither (0, 0)."""
    r = Reader(body)
    r.i32()  # throttle_time_ms
    top = session_id = 0
    if version >= 7:
        top = r.i16()
        session_id = r.i32()
    out = []
    for _ in range(r.i32()):
        name = r.string()
        for _ in range(r.i32()):
            idx, err, hw = r.i32(), r.i16(), r.i64()
            r.i64()  # last_stable_offset
            if version >= 5:
                r.i64()  # log_start_offset
            r.array(lambda rr: (rr.i64(), rr.i64()))  # aborted transactions
            if version >= 11:
                r.i32()  # preferred_read_replica
            out.append((name, idx, err, hw, r.nbytes()))
    return top, session_id, out


def parse_offset_for_leader_epoch_v3(body):
    """Returns [(topic, partition, error_code, leader_epoch, end_offset)]."""
    r = Reader(body)
    r.i32()  # throttle_time_ms
    out = []
    for _ in range(r.i32()):
        name = r.string()
        for _ in range(r.i32()):
            err, idx, epoch, end = r.i16(), r.i32(), r.i32(), r.i64()
            out.append((name, idx, err, epoch, end))
    return out


def split_batches(records):
    """(sizes of the whole batches, bytes of a partial batch at the end):
    a broker may cut the last batch of a record set short."""
    sizes, pos = [], 0
    while len(records) - pos >= 12:
        (n,) = struct.unpack(">i", records[pos + 8:pos + 12])
        if len(records) - pos < 12 + n:
            break
        sizes.append(12 + n)
        pos += 12 + n
    return sizes, len(records) - pos


# ---------------------------------------------------------------- connection

def connect(bootstrap, timeout_s=10.0):
    """A blocking TCP socket to host:port (the first of a comma-separated
    list: requests any broker answers) with Nagle off, as a client's."""
    host, port = bootstrap.split(",")[0].rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=timeout_s)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


class Closed(Exception):
    """The peer closed the connection (or reset it)."""


class Conn:
    """A blocking client connection that reads whole frames with a deadline."""

    def __init__(self, bootstrap, timeout_s=10.0):
        self.sock = connect(bootstrap, timeout_s)
        self.timeout_s = timeout_s
        self.buf = b""

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        """Send bytes; a reset by the peer is reported as Closed."""
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError) as e:
            raise Closed(str(e))

    def _fill(self, n, deadline):
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("no frame within %.1fs" % self.timeout_s)
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError as e:
                raise Closed(str(e))
            if not chunk:
                raise Closed("eof")
            self.buf += chunk

    def recv_frame(self, timeout_s=None):
        """One response frame's payload (header included)."""
        deadline = time.monotonic() + (timeout_s or self.timeout_s)
        self._fill(4, deadline)
        (n,) = struct.unpack(">i", self.buf[:4])
        if n < 4:
            raise Truncated("bad response size %d" % n)
        self._fill(4 + n, deadline)
        payload, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
        return payload

    def recv_response(self, flexible_header=False, timeout_s=None):
        """(correlation_id, body) of the next response."""
        r = Reader(self.recv_frame(timeout_s))
        corr = r.i32()
        if flexible_header:
            r.skip_tags()
        return corr, r.data[r.pos:]

    def wait_closed(self, timeout_s=5.0):
        """True if the peer closes within timeout_s (bytes received are dropped)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return False
            except (ConnectionResetError, BrokenPipeError):
                return True
            if not chunk:
                return True
        return False

    def roundtrip(self, data, flexible_header=False, timeout_s=None):
        self.send(data)
        return self.recv_response(flexible_header, timeout_s)


def latest_offset(conn, corr, topic, partition):
    """The partition's log end offset, asked with ListOffsets v1 (timestamp -1)
    on conn; the answer must carry corr and no error."""
    got, body = conn.roundtrip(list_offsets_request(corr, topic, partition, -1))
    assert got == corr, f"ListOffsets correlation id {got}, expected {corr}"
    (_, _, err, _, offset), = parse_list_offsets_v1(body)
    assert err == 0, f"ListOffsets error {err}"
    return offset


# ---------------------------------------------------------------- who serves what

FIND_WAIT_S = 30.0  # a new topic's leaders, a group's coordinator, settle


def _poll(ask, what, timeout_s):
    """ask() every 0.1 s until it returns an address; raises after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            addr = ask()
        except (OSError, Closed, Truncated):
            addr = None
        if addr or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    if not addr:
        raise RuntimeError(f"no {what} named within {timeout_s:.0f}s")
    return addr


def metadata_v4(addr, topics):
    """Metadata v4 of `topics` from the broker at addr, never auto-creating
    them: ({broker id: "host:port"}, {topic: (error, [(partition, error,
    leader)])})."""
    body = array([string(x) for x in topics]) + i8(0)  # allow_auto_topic_creation
    with Conn(addr, 10) as c:
        _, resp = c.roundtrip(frame(request_header(API_METADATA, 4, 1) + body))
    r = Reader(resp)
    r.i32()  # throttle_time_ms
    brokers = r.array(lambda rr: (rr.i32(), rr.string(), rr.i32(), rr.string())) or []
    r.string()  # cluster_id
    r.i32()  # controller_id

    def part(rr):
        err, idx, leader = rr.i16(), rr.i32(), rr.i32()
        rr.array(Reader.i32)  # replicas
        rr.array(Reader.i32)  # isr
        return idx, err, leader

    def topic(rr):
        err, name, _internal = rr.i16(), rr.string(), rr.i8()
        return name, err, sorted(rr.array(part) or [])
    return ({bid: f"{host}:{port}" for bid, host, port, _rack in brokers},
            {name: (err, parts) for name, err, parts in (r.array(topic) or [])})


def leader(bootstrap, topic, partition, timeout_s=FIND_WAIT_S):
    """host:port of the partition's leader, as Metadata from the first
    broker of `bootstrap` names it (waits until it names one)."""
    def ask():
        brokers, topics = metadata_v4(bootstrap, [topic])
        err, parts = topics.get(topic, (-1, []))
        node = next((ld for idx, perr, ld in parts if idx == partition and perr == 0), -1)
        return brokers.get(node)
    return _poll(ask, f"leader of {topic}-{partition}", timeout_s)


def coordinator(bootstrap, group, timeout_s=FIND_WAIT_S):
    """host:port of the group's coordinator, as FindCoordinator v1 from the
    first broker of `bootstrap` names it (waits until it names one)."""
    req = frame(request_header(API_FIND_COORDINATOR, 1, 1) + string(group) + i8(0))

    def ask():
        with Conn(bootstrap, 10) as c:
            _, body = c.roundtrip(req)
        r = Reader(body)
        r.i32()  # throttle_time_ms
        err = r.i16()
        r.string()  # error_message
        r.i32()  # node_id
        host, port = r.string(), r.i32()
        return f"{host}:{port}" if err == 0 else None
    return _poll(ask, f"coordinator of group {group}", timeout_s)
