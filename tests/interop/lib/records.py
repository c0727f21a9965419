"""Producing records while noting each one's fate, and reading them back, for
the interop tests that check that exactly the acknowledged records are kept
(through confluent-kafka)."""

import time


def produce_tracked(p, topic, records, acked, failed, flush_s):
    """Produces each (partition, value) of records with producer p, then
    flushes for up to flush_s seconds. Each value's fate lands in
    acked[value] = (partition, offset) or failed[value] = its KafkaError."""
    def on_delivery(err, msg):
        (failed if err else acked)[msg.value()] = err or (msg.partition(), msg.offset())
    for partition, value in records:
        p.produce(topic, value=value, partition=partition, on_delivery=on_delivery)
        p.poll(0)
    p.flush(flush_s)


def not_retriable(errors):
    """The delivery errors a producer would not retry (a record that timed out
    waiting for its retries counts as retriable)."""
    from confluent_kafka import KafkaError
    return [e for e in errors if not (e.retriable() or e.code() == KafkaError._MSG_TIMED_OUT)]


def consume_from_start(bootstrap, topic, partitions, group, timeout_s=30):
    """Every record of partitions 0..partitions-1 of topic from offset 0 up to
    the high watermarks read first, as (value, (partition, offset)) in the
    order read, and the sum of those watermarks. Stops after timeout_s."""
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    try:
        high = {k: c.get_watermark_offsets(TopicPartition(topic, k), timeout=20)[1]
                for k in range(partitions)}
        c.assign([TopicPartition(topic, k, 0) for k in range(partitions)])
        seen, next_offset = [], {k: 0 for k in range(partitions)}
        deadline = time.monotonic() + timeout_s
        while any(next_offset[k] < high[k] for k in high) and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is None or m.error():
                continue
            seen.append((m.value(), (m.partition(), m.offset())))
            next_offset[m.partition()] = m.offset() + 1
        return seen, sum(high.values())
    finally:
        c.close()
