#!/usr/bin/python3
"""Compressed record batches that lie, on raw sockets.

A broker must open a compressed batch to know it is what its header says.
Each case sends one hand-built batch in a Produce request (kwire) and checks
the partition error Apache Kafka 3.9 answers (taken from Kafka itself with
RUNNEL_TEST_TARGET=kafka) and that the log end offset did not move:

- zstd, Produce v8, a header claiming 2,147,483,647 records around one
  record: INVALID_RECORD (87);
- zstd, Produce v8, 1 GiB of zeros (RLE blocks, 32 KiB on the wire) and no
  valid record: INVALID_RECORD, answered promptly;
- zstd over Produce v3 (zstd needs v7): UNSUPPORTED_COMPRESSION_TYPE (76);
- gzip with one record more claimed than held, and gzip inflating to zeros:
  INVALID_RECORD.

Over v8 Kafka fills neither record_errors nor error_message for these.
Streams the codec itself refuses (garbage, truncated) Kafka answers with
UNKNOWN_SERVER_ERROR, an internal failure; Runnel answers INVALID_RECORD
there (tests/unit/test_batch.c covers them), so they are not compared here.

Honest zstd and gzip batches are accepted and move the log end by their
record count, so the refusals above are about the lies, not the codecs.
The zstd frames are built here (raw and RLE blocks need no compressor).
"""

import os
import sys
import time
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import kwire  # noqa: E402
from broker import Broker, target  # noqa: E402
from tap import Tap  # noqa: E402
from topics import create_topic  # noqa: E402

TOPIC = "compressed-lies"
ERR_UNSUPPORTED_COMPRESSION_TYPE = 76
CODEC_GZIP = 1
CODEC_ZSTD = 4
ZSTD_BLOCK = 128 * 1024


# ------------------------------------------------------------------ builders

def zstd_frame(blocks):
    """A zstd frame: magic, a header with a 128 KiB window and no content
    size, then blocks given as (type, size, payload): 0 raw, 1 RLE."""
    out = b"\x28\xb5\x2f\xfd" + bytes([0x00, 0x38])  # FHD 0; window 2^17
    for i, (btype, size, payload) in enumerate(blocks):
        last = 1 if i == len(blocks) - 1 else 0
        hdr = last | (btype << 1) | (size << 3)
        out += hdr.to_bytes(3, "little") + payload
    return out


def zstd_raw(data):
    """data as a valid zstd frame of raw (stored) blocks."""
    chunks = [data[i:i + ZSTD_BLOCK] for i in range(0, len(data), ZSTD_BLOCK)] or [b""]
    return zstd_frame([(0, len(c), c) for c in chunks])


def zstd_zeros(total):
    """`total` zero bytes as RLE blocks: 4 bytes on the wire per 128 KiB."""
    assert total % ZSTD_BLOCK == 0
    return zstd_frame([(1, ZSTD_BLOCK, b"\0")] * (total // ZSTD_BLOCK))


def gzip_bytes(data):
    c = zlib.compressobj(6, zlib.DEFLATED, 31)
    return c.compress(data) + c.flush()


def records_region(values):
    return b"".join(kwire.record(v, None, i) for i, v in enumerate(values))


def compressed_batch(payload, codec, record_count):
    """A record batch v2 whose records region is `payload` (already
    compressed) and whose header claims `record_count` records."""
    return kwire.batch_around(payload, record_count, codec)


# ------------------------------------------------------------------ wire

def parse_produce_v8(body):
    """[(partition, error_code, base_offset, record_errors, error_message)]."""
    r = kwire.Reader(body)
    out = []
    for _ in range(r.i32()):
        r.string()
        for _ in range(r.i32()):
            idx, err, base = r.i32(), r.i16(), r.i64()
            r.i64()  # log_append_time_ms
            r.i64()  # log_start_offset
            rec_errs = r.array(lambda rr: (rr.i32(), rr.string())) or []
            out.append((idx, err, base, rec_errs, r.string()))
    return out


def produce(c, corr, records, version):
    # acks=-1: answered once the records are below the high watermark, the
    # end ListOffsets reports (on a cluster, once the followers hold them).
    got, body = c.roundtrip(kwire.produce_request(corr, TOPIC, 0, records, version=version,
                                                  acks=-1))
    assert got == corr, f"Produce correlation id {got}, expected {corr}"
    if version >= 8:
        (_, err, base, rec_errs, msg), = parse_produce_v8(body)
        return err, base, rec_errs, msg
    (_, _, err, base), = kwire.parse_produce(body, version)
    return err, base, [], None


# ------------------------------------------------------------------ cases

CORR = [1000]


def next_corr():
    CORR[0] += 1
    return CORR[0]


def expect(t, b, desc, records, version, want_err, want_moved):
    with kwire.Conn(kwire.leader(b.bootstrap, TOPIC, 0), 60) as c:
        before = kwire.latest_offset(c, next_corr(), TOPIC, 0)
        start = time.monotonic()
        err, _base, rec_errs, msg = produce(c, next_corr(), records, version)
        took = time.monotonic() - start
        after = kwire.latest_offset(c, next_corr(), TOPIC, 0)
    t.eq(err, want_err, f"{desc}: partition error")
    t.eq(after - before, want_moved, f"{desc}: log end moves by {want_moved}")
    if version >= 8:
        # Kafka 3.9 fills neither for a batch it cannot iterate: its
        # InvalidRecordException carries no per-record error.
        t.eq((rec_errs, msg), ([], None), f"{desc}: no record_errors or error_message, as Kafka")
    t.diag(f"{desc}: answered in {took * 1000:.1f} ms; record_errors={rec_errs} "
           f"error_message={msg!r}")
    return rec_errs, msg


def test_lies(t, b):
    one = records_region([b"only-one"])
    expect(t, b, "zstd v8, header claims 2147483647 records, holds one",
           compressed_batch(zstd_raw(one), CODEC_ZSTD, 0x7FFFFFFF), 8,
           kwire.ERR_INVALID_RECORD, 0)
    expect(t, b, "zstd v8, 1 GiB of zeros and no valid record",
           compressed_batch(zstd_zeros(1 << 30), CODEC_ZSTD, 1), 8,
           kwire.ERR_INVALID_RECORD, 0)
    three = records_region([b"a", b"bb", b"ccc"])
    expect(t, b, "zstd over Produce v3", compressed_batch(zstd_raw(three), CODEC_ZSTD, 3), 3,
           ERR_UNSUPPORTED_COMPRESSION_TYPE, 0)
    expect(t, b, "gzip v7, header claims one record more than held",
           compressed_batch(gzip_bytes(three), CODEC_GZIP, 4), 7, kwire.ERR_INVALID_RECORD, 0)
    expect(t, b, "gzip v7, 1 KiB of zeros and no valid record",
           compressed_batch(gzip_bytes(b"\0" * 1024), CODEC_GZIP, 1), 7,
           kwire.ERR_INVALID_RECORD, 0)


def test_honest(t, b):
    three = records_region([b"a", b"bb", b"ccc"])
    expect(t, b, "honest zstd v7 batch of 3 records",
           compressed_batch(zstd_raw(three), CODEC_ZSTD, 3), 7, 0, 3)
    expect(t, b, "honest gzip v3 batch of 3 records",
           compressed_batch(gzip_bytes(three), CODEC_GZIP, 3), 3, 0, 3)
    big = records_region([bytes([i % 251]) * 5000 for i in range(100)])
    expect(t, b, "honest zstd v8 batch of 100 records of 5000 bytes (several blocks)",
           compressed_batch(zstd_raw(big), CODEC_ZSTD, 100), 8, 0, 100)


def main():
    t = Tap("compressed batches that lie")
    with Broker({"num.partitions": 1}) as b:
        create_topic(b.bootstrap, TOPIC, 1)
        t.diag(f"target: {target()}")
        for fn in (test_lies, test_honest):
            t.run(fn, b)
        t.ok(b.running(), "the broker (every node of a cluster) is still running at the end")
    t.done()


if __name__ == "__main__":
    main()
