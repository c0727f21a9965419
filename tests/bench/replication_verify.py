#!/usr/bin/env python3
"""The replication verifier: three nodes, a topic of replication factor 3
and min.insync.replicas 2, an idempotent acks=all producer and a consumer
group that commits as it reads, through a sequence of faults; then every
acknowledgement is checked against what the cluster holds.

    tests/bench/replication_verify.py [--target runnel|kafka] [--kills 50]
                                      [--rolls 1] [--crashes 1] [--seed S]

Faults, in this order, each followed by a wait until every partition has
three in-sync replicas again (--settle seconds at most):

1. --kills rounds: SIGKILL the leader of a partition drawn at random (the
   seed), start it again at once;
2. --rolls rolling restarts: SIGTERM each node in turn, start it again,
   wait for the ISRs before the next;
3. --crashes times: SIGKILL all three nodes at once, start them all again;
4. --freezes rounds: freeze (SIGSTOP) the two nodes that do not lead a
   partition drawn at random for --freeze-s seconds while the producer goes
   on, SIGKILL that leader, resume the two and start it again: whatever the
   leader acknowledged while no follower could fetch would be lost (with
   acks=all it acknowledged nothing then).

What must hold, else the run prints each problem and exits 1:

- every acknowledged record is read back once, at the offset its
  acknowledgement gave, with its bytes; no record of the producer appears
  twice in a partition and each partition holds them in the order sent;
- every record the group read is still there at the offset it was read at,
  with the same bytes (a consumer never reads what later disappears);
- the group's committed offsets never go back: each fetch of them (after
  every fault and every second) is at least every commit acknowledged
  before it was sent, and at least the last fetch's.

Records the producer gave up on (none expected) are printed; they carry no
promise. Timings are printed, never judged. Every wait is bounded.
"""

import argparse
import os
import random
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import figlib  # noqa: E402
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

TOPIC = "verified"
GROUP = "verifier"
PARTITIONS = 3
NODES = 3
say = figlib.say


class Produced:
    """An idempotent acks=all producer on its own thread, sending --rate
    records a second round-robin over the partitions; each value names its
    partition and its sequence there. Acknowledgements are kept by
    (partition, offset)."""

    def __init__(self, bootstrap, rate):
        self.conf = {"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True,
                     "linger.ms": 2, "message.timeout.ms": 300000,
                     "reconnect.backoff.max.ms": 1000, "log_level": 0}
        self.producer = Producer(self.conf)
        self.fatal = []  # fatal errors, each of which replaced the producer
        self.interval = 1.0 / rate
        self.lock = threading.Lock()
        self.acked = {}   # (partition, offset) -> value
        self.failed = {}  # error name -> count
        self.sent = 0
        self.next_seq = [0] * PARTITIONS
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _done(self, err, msg):
        with self.lock:
            if err is None:
                self.acked[(msg.partition(), msg.offset())] = msg.value()
            else:
                self.failed[err.name()] = self.failed.get(err.name(), 0) + 1

    def _run(self):
        next_at = time.monotonic()
        while not self.stopping.is_set():
            now = time.monotonic()
            while next_at <= now:
                p = self.sent % PARTITIONS
                value = b"%d:%012d" % (p, self.next_seq[p])
                try:
                    self.producer.produce(TOPIC, value=value, partition=p, on_delivery=self._done)
                    self.next_seq[p] += 1
                    self.sent += 1
                except BufferError:
                    break
                except KafkaException as e:  # fatal: its records fail, a new one goes on
                    self.fatal.append(str(e))
                    self.producer.purge()
                    self.producer.flush(5)
                    self.producer = Producer(self.conf)
                    break
                next_at += self.interval
            self.producer.poll(0.001)

    def finish(self, timeout):
        self.stopping.set()
        self.thread.join()
        left = self.producer.flush(timeout)
        return left


class Group:
    """A consumer of GROUP on its own thread: reads, and commits its
    positions synchronously every `every` seconds; keeps what it read by
    (partition, offset) and, per partition, the highest commit acknowledged."""

    def __init__(self, bootstrap, every):
        self.consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": GROUP,
                                  "auto.offset.reset": "earliest", "enable.auto.commit": False,
                                  "session.timeout.ms": 10000, "log_level": 0})
        self.every = every
        self.lock = threading.Lock()
        self.read = {}        # (partition, offset) -> value
        self.committed = {}   # partition -> highest commit acknowledged
        self.commit_errors = {}  # error name -> count
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _commit(self):
        try:
            done = self.consumer.commit(asynchronous=False)
        except KafkaException as e:
            err = e.args[0]
            if err.code() != KafkaError._NO_OFFSET:  # not "nothing new to commit"
                self.commit_errors[err.name()] = self.commit_errors.get(err.name(), 0) + 1
            return
        with self.lock:
            for tp in done or []:
                if tp.error is None and tp.offset >= 0:
                    self.committed[tp.partition] = max(self.committed.get(tp.partition, -1),
                                                       tp.offset)

    def _run(self):
        self.consumer.subscribe([TOPIC])
        last = time.monotonic()
        while not self.stopping.is_set():
            msg = self.consumer.poll(0.1)
            if msg is not None and msg.error() is None:
                with self.lock:
                    self.read[(msg.partition(), msg.offset())] = msg.value()
            if time.monotonic() - last >= self.every:
                self._commit()
                last = time.monotonic()
        self._commit()
        self.consumer.close()

    def finish(self):
        self.stopping.set()
        self.thread.join(60)


class CommitWatch:
    """Fetches GROUP's committed offsets with a consumer of its own that
    never joins; records every time they went back."""

    def __init__(self, bootstrap):
        self.consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": GROUP,
                                  "enable.auto.commit": False, "log_level": 0})
        self.last = {}
        self.problems = []
        self.checks = 0

    def check(self, group, when):
        with group.lock:
            floor = dict(group.committed)
        try:
            got = self.consumer.committed([TopicPartition(TOPIC, p) for p in range(PARTITIONS)],
                                          timeout=10)
        except KafkaException:
            return  # the coordinator is moving: no answer is no evidence
        self.checks += 1
        for tp in got:
            if tp.error is not None or tp.offset < 0:
                continue
            low = max(floor.get(tp.partition, -1), self.last.get(tp.partition, -1))
            if tp.offset < low:
                self.problems.append(f"{when}: partition {tp.partition}'s committed offset "
                                     f"{tp.offset} went back below {low}")
            self.last[tp.partition] = max(self.last.get(tp.partition, -1), tp.offset)

    def close(self):
        self.consumer.close()


def full_isrs(admin):
    try:
        md = admin.list_topics(TOPIC, timeout=5).topics[TOPIC]
    except KafkaException:
        return False
    return len(md.partitions) == PARTITIONS and all(
        p.leader >= 0 and len(p.isrs) == NODES for p in md.partitions.values())


def wait_for(what, fn, timeout, watch, group):
    """Waits for fn() (checking committed offsets meanwhile); False after
    timeout."""
    deadline = time.monotonic() + timeout
    next_check = time.monotonic()
    while time.monotonic() < deadline:
        if fn():
            return True
        if time.monotonic() >= next_check:
            watch.check(group, what)
            next_check = time.monotonic() + 1.0
        time.sleep(0.1)
    return False


def leader_of(admin, partition):
    try:
        return admin.list_topics(TOPIC, timeout=5).topics[TOPIC].partitions[partition].leader
    except (KafkaException, KeyError):
        return -1


def start_all(nodes, timeout):
    for n in nodes:
        n.start(wait=False)
    for n in nodes:
        n._wait_ready(timeout)


def faults(args, cluster, admin, watch, group, problems):
    """The kills, rolls and crashes in order; stops at the first wait for
    full ISRs that times out (a problem)."""
    rng = random.Random(args.seed)

    def settled(what, t0):
        ok = wait_for(what, lambda: full_isrs(admin), args.settle, watch, group)
        say(f"{what}; ISRs full again {time.monotonic() - t0:5.1f} s later" if ok
            else f"{what}; the ISRs were not full within {args.settle:.0f} s")
        if not ok:
            problems.append(f"{what}: the ISRs were not full within {args.settle:.0f} s")
        return ok

    for k in range(1, args.kills + 1):
        p = rng.randrange(PARTITIONS)
        lead, t0 = leader_of(admin, p), time.monotonic()
        if lead < 0:
            problems.append(f"kill {k}: partition {p} has no leader")
            return
        victim = cluster.node(lead)
        victim.kill()
        cluster.start_node(victim, timeout=args.settle)
        if not settled(f"kill {k:3d}: SIGKILLed node {lead} (leader of partition {p})", t0):
            return
    for r in range(1, args.rolls + 1):
        for node in cluster.nodes:
            t0 = time.monotonic()
            code = node.stop()
            t1 = time.monotonic()
            cluster.start_node(node, timeout=args.settle)
            if not settled(f"roll {r}: SIGTERMed node {node.node_id} (stopped in {t1 - t0:.1f} s, "
                           f"exit code {code}; ready {time.monotonic() - t1:.1f} s after its "
                           "start)", t0):
                return
    for k in range(1, args.crashes + 1):
        t0 = time.monotonic()
        for n in cluster.nodes:
            n.kill()
        start_all(cluster.nodes, args.settle)
        if not settled(f"crash {k}: SIGKILLed all three, started again", t0):
            return
    for k in range(1, args.freezes + 1):
        p = rng.randrange(PARTITIONS)
        lead, t0 = leader_of(admin, p), time.monotonic()
        if lead < 0:
            problems.append(f"freeze {k}: partition {p} has no leader")
            return
        others = [n for n in cluster.nodes if n.node_id != lead]
        for n in others:
            os.kill(n.pid, signal.SIGSTOP)
        try:
            time.sleep(args.freeze_s)
            cluster.node(lead).kill()
        finally:
            for n in others:
                os.kill(n.pid, signal.SIGCONT)
        cluster.start_node(cluster.node(lead), timeout=args.settle)
        if not settled(f"freeze {k}: froze nodes {[n.node_id for n in others]} "
                       f"{args.freeze_s:g} s, SIGKILLed node {lead} (leader of partition {p})",
                       t0):
            return


def read_all(bootstrap, ends, timeout):
    """{(partition, offset): value} of every record of TOPIC up to ends."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "verifier-read-back",
                  "enable.auto.commit": False, "log_level": 0})
    c.assign([TopicPartition(TOPIC, p, 0) for p in range(PARTITIONS)])
    seen, deadline = {}, time.monotonic() + timeout
    pos = {p: 0 for p in range(PARTITIONS)}
    while any(pos[p] < ends[p] for p in ends) and time.monotonic() < deadline:
        msg = c.poll(0.5)
        if msg is None or msg.error() is not None:
            continue
        seen[(msg.partition(), msg.offset())] = msg.value()
        pos[msg.partition()] = msg.offset() + 1
    c.close()
    return seen


def check(produced, group, seen, problems):
    acked = produced.acked
    lost = [k for k in acked if k not in seen]
    changed = [k for k in acked if k in seen and seen[k] != acked[k]]
    vanished = [k for k, v in group.read.items() if seen.get(k) != v]
    dup, disorder = 0, 0
    for p in range(PARTITIONS):
        seqs = [seen[k] for k in sorted(k for k in seen if k[0] == p)]
        dup += len(seqs) - len(set(seqs))
        disorder += sum(1 for a, b in zip(seqs, seqs[1:]) if a >= b)
    say(f"checked: {len(acked):,} acknowledged, {len(seen):,} read back, {len(group.read):,} "
        f"read by the group; lost {len(lost)}, changed {len(changed)}, duplicated {dup}, out of "
        f"order {disorder}; read by the group then gone or changed {len(vanished)}")
    for what, items in (("acknowledged, not read back", lost), ("acknowledged, changed", changed),
                        ("read by the group, then gone or changed", vanished)):
        if items:
            problems.append(f"{len(items)} {what}, e.g. {sorted(items)[:5]}")
    if dup or disorder:
        problems.append(f"{dup} duplicated, {disorder} out of order")


def run(args):
    problems = []
    cluster = figlib.make_cluster(args.target, NODES)
    produced = group = watch = None
    try:
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap, "log_level": 0})
        admin.create_topics([NewTopic(TOPIC, PARTITIONS, NODES,
                                      config={"min.insync.replicas": "2"})])[TOPIC].result(30)
        produced = Produced(cluster.bootstrap, args.rate)
        group = Group(cluster.bootstrap, args.commit_every)
        watch = CommitWatch(cluster.bootstrap)
        if not wait_for("start", lambda: full_isrs(admin), args.settle, watch, group):
            problems.append("the topic's ISRs never were full")
        t0 = time.monotonic()
        faults(args, cluster, admin, watch, group, problems)
        time.sleep(2)
        left = produced.finish(args.settle)
        wait_for("the end", lambda: False, 3, watch, group)
        group.finish()
        watch.check(group, "the end")
        for err in produced.fatal:
            say(f"the producer failed for good and was replaced: {err}")
        say(f"{args.target}: {produced.sent:,} records sent in {time.monotonic() - t0:.0f} s, "
            f"{len(produced.acked):,} acknowledged; failed: {produced.failed or 'none'}; "
            f"{left} unanswered; commits refused (retried): {group.commit_errors or 'none'}; committed "
            f"offsets fetched {watch.checks} times")
        ends = {p: 1 + max([o for (q, o) in produced.acked if q == p] +
                           [o for (q, o) in group.read if q == p] + [-1])
                for p in range(PARTITIONS)}
        seen = read_all(cluster.bootstrap, ends, args.settle)
        check(produced, group, seen, problems)
        problems.extend(watch.problems)
    finally:
        if watch is not None:
            watch.close()
        cluster.stop()
    for p in problems:
        say(f"PROBLEM: {p}")
    say(f"{args.target}: {'FAILED, ' + str(len(problems)) + ' problem(s)' if problems else 'every check held'}")
    return 1 if problems else 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--target", choices=("runnel", "kafka"), default="runnel")
    p.add_argument("--kills", type=int, default=50)
    p.add_argument("--rolls", type=int, default=1)
    p.add_argument("--crashes", type=int, default=1)
    p.add_argument("--freezes", type=int, default=5)
    p.add_argument("--freeze-s", type=float, default=1.0,
                   help="seconds the two followers stay frozen in a freeze round")
    p.add_argument("--rate", type=int, default=2000, help="records a second")
    p.add_argument("--commit-every", type=float, default=0.2, help="seconds between commits")
    p.add_argument("--settle", type=float, default=60.0,
                   help="seconds each wait may take (starts, full ISRs, read back)")
    p.add_argument("--seed", type=int, default=None)
    args = p.parse_args()
    if args.seed is None:
        args.seed = random.randrange(1 << 30)
    say(f"# replication verifier: {args.target}, 3 nodes, RF 3, min.insync.replicas 2, "
        f"{args.kills} leader kills, {args.rolls} rolling restart(s), {args.crashes} crash(es) "
        f"of all three, {args.freezes} frozen followers and a killed leader; {args.rate} "
        f"records/s; seed {args.seed}")
    sys.exit(run(args))


if __name__ == "__main__":
    main()
