"""Producing records while noting each one's fate, and reading them back, for
the interop tests that check that exactly the acknowledged records are kept
(through confluent-kafka)."""

import threading
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


class TrackedWriter(threading.Thread):
    """An idempotent acks=all producer writing round-robin to the partitions
    of topic, about `rate` records of 1 KB a second, until stopping is set,
    then flushing; each record's fate lands in acked[value] = (partition,
    offset) or failed[value]."""

    def __init__(self, bootstrap, topic, partitions, rate=5000):
        super().__init__(daemon=True)
        from confluent_kafka import Producer
        self.p = Producer({"bootstrap.servers": bootstrap, "acks": "all",
                           "enable.idempotence": True, "linger.ms": 5,
                           "message.timeout.ms": 60000})
        self.topic, self.partitions, self.rate = topic, partitions, rate
        self.acked, self.failed = {}, {}
        self.stopping = threading.Event()

    def run(self):
        n = 0
        while not self.stopping.is_set():
            value = f"r{n:07d}".encode() + b"x" * 900
            self.p.produce(self.topic, value=value, partition=n % self.partitions,
                           on_delivery=self._done)
            self.p.poll(0)
            n += 1
            if n % 50 == 0:
                time.sleep(50 / self.rate)
        self.p.flush(60)

    def _done(self, err, msg):
        (self.failed if err else self.acked)[msg.value()] = err or (msg.partition(), msg.offset())

    def lost(self, bootstrap, group):
        """Stops, then reads the topic back: (the acknowledged values not read
        at their offset, how many were read)."""
        self.stopping.set()
        self.join(90)
        seen, _ = consume_from_start(bootstrap, self.topic, self.partitions, group, 60)
        at = dict(seen)
        return [v[:8] for v, place in self.acked.items() if at.get(v) != place], len(seen)
