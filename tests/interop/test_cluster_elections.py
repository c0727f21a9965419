#!/usr/bin/env python3
"""Leader elections: ElectLeaders (kafka-leader-election.sh), the automatic
preferred-leader election, and unclean elections.

One node (Runnel, or Kafka 3.9 with RUNNEL_TEST_TARGET=kafka: the answers
are Kafka's): ElectLeaders v0, v1 and v2 answer ELECTION_NOT_NEEDED for a
partition its preferred replica leads (also for UNCLEAN: it has a leader),
UNKNOWN_TOPIC_OR_PARTITION with Kafka's messages, a top-level
INVALID_REQUEST for an unknown election type, every topic with no
partitions for a request of all partitions; kafka-leader-election.sh says
so.

Three combined nodes (Runnel only: the cluster harness runs Runnel),
broker.session.timeout.ms 3000, auto.leader.rebalance.enable=false:

- A topic of 6 partitions, replication factor 3. ElectLeaders through every
  node (two of them forward it) answers ELECTION_NOT_NEEDED.
- Broker 2 stopped (SIGTERM): its partitions are led by others, and while
  it is away a preferred election of them answers
  PREFERRED_LEADER_NOT_AVAILABLE. Started again and back in every ISR, its
  preferred partitions are still led by others, until
  `kafka-leader-election.sh --election-type PREFERRED
  --all-topic-partitions` moves them back: every node's Metadata shows each
  partition led by its first replica.
- Unclean elections: topics of replicas [1, 2] (leader 1). Broker 2 stops
  (the ISRs shrink to [1]), records are written to broker 1 alone, broker 1
  stops (the last ISR member: the partitions wait for it), broker 2 starts
  again. The topic with unclean.leader.election.enable=true is led by
  broker 2 with the ISR [2], a WARN line says records may be lost, and
  acks=all produce works; the topics with the default stay without a
  leader (the active controller checks every second here:
  unclean.leader.election.interval.ms 1000), one until kafka-configs.sh
  (IncrementalAlterConfigs) sets the option, another until
  kafka-leader-election.sh --election-type UNCLEAN elects broker 2; one
  whose only replica is broker 1 answers
  ELIGIBLE_LEADERS_NOT_AVAILABLE. Broker 1 starts again and follows
  broker 2, back in the ISR.

Three more nodes with leader.imbalance.check.interval.seconds=1: a broker
stopped and started again gets its preferred partitions back by itself.

Bounded: every wait has a deadline; about half a minute in all.
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import kwire  # noqa: E402
import tap  # noqa: E402
from broker import Broker, OWN_NODES, skip_under_cluster, target  # noqa: E402
from cluster import Cluster  # noqa: E402
from cluster_checks import metadata, settle  # noqa: E402
from confluent_kafka import Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402
from kafka_tools import leader_election, run_tool  # noqa: E402
from records import produce_tracked  # noqa: E402

NODES = 3
TOPIC = "elect"
PARTITIONS = 6
SESSION = {"broker.session.timeout.ms": "3000", "broker.heartbeat.interval.ms": "500"}
SETTLE_S = 30.0

NONE = 0
UNKNOWN_TOPIC_OR_PARTITION = 3
NOT_CONTROLLER = 41
INVALID_REQUEST = 42
PREFERRED_LEADER_NOT_AVAILABLE = 80
ELIGIBLE_LEADERS_NOT_AVAILABLE = 83
ELECTION_NOT_NEEDED = 84
NOT_NEEDED_TEXT = "Leader election not needed for topic partition."

PREFERRED, UNCLEAN = 0, 1


def elect(bootstrap, topics, version=2, election_type=PREFERRED):
    """One ElectLeaders through bootstrap: (top-level code, {topic: [(partition,
    code, message)]})."""
    with kwire.Conn(bootstrap, timeout_s=30) as conn:
        _, body = conn.roundtrip(kwire.elect_leaders_request(5, topics, version, election_type),
                                 flexible_header=version >= 2, timeout_s=30)
    return kwire.parse_elect_leaders(body, version)


def elect_settled(bootstrap, topics, version=2, election_type=PREFERRED):
    """elect() again while the answer is NOT_CONTROLLER (an election of the
    active controller under way, as after a stop), as a client retries."""
    def ask():
        answer = elect(bootstrap, topics, version, election_type)
        codes = {answer[0]} | {x[1] for parts in answer[1].values() for x in parts}
        return None if NOT_CONTROLLER in codes else answer
    return settle(ask, "an answer from the active controller", SETTLE_S)


def partitions(node, topic):
    """[(partition, error, leader, replicas, isr)] of topic on node."""
    return metadata(node, [topic])[1].get(topic, [])


def preferred_lead(node, topic, count):
    """Whether every partition of topic is led by its first replica on node."""
    parts = partitions(node, topic)
    return len(parts) == count and all(p[2] == p[3][0] for p in parts)


def full_isrs(node, topic, count, rf):
    parts = partitions(node, topic)
    return len(parts) == count and all(len(p[4]) == rf for p in parts)


def leader_of(node, topic, partition=0):
    parts = partitions(node, topic)
    return parts[partition][2] if len(parts) > partition else None


def isr_of(node, topic, partition=0):
    parts = partitions(node, topic)
    return parts[partition][4] if len(parts) > partition else None


# ---- one node: the answers, checked against Kafka ----

def scenario_answers(t):
    with Broker({"num.partitions": "1"}) as b:
        admin = AdminClient({"bootstrap.servers": b.bootstrap})
        admin.create_topics([NewTopic("t1", 2, 1)])["t1"].result(30)
        settle(lambda: len(partitions(b, "t1")) == 2 or None, "t1 shown")
        for version in (0, 1, 2):
            top, res = elect(b.bootstrap, {"t1": [0, 1]}, version)
            want = [(0, ELECTION_NOT_NEEDED, NOT_NEEDED_TEXT), (1, ELECTION_NOT_NEEDED,
                                                                NOT_NEEDED_TEXT)]
            t.ok(top == (None if version == 0 else NONE) and res == {"t1": want},
                 f"v{version}: ELECTION_NOT_NEEDED for partitions their preferred replica leads",
                 f"{top} {res}")
        top, res = elect(b.bootstrap, None)
        t.ok(top == NONE and res.get("t1") == [] and not any(res.values()),
             "all partitions: every topic listed, without the ones needing no election",
             f"{top} {res}")
        t.eq(elect(b.bootstrap, {"t1": [0]}, election_type=UNCLEAN),
             (NONE, {"t1": [(0, ELECTION_NOT_NEEDED, NOT_NEEDED_TEXT)]}),
             "UNCLEAN: ELECTION_NOT_NEEDED for a partition with a leader")
        t.eq(elect(b.bootstrap, {"nope": [0], "t1": [5]}),
             (NONE, {"nope": [(0, UNKNOWN_TOPIC_OR_PARTITION, "No such topic as nope")],
                     "t1": [(5, UNKNOWN_TOPIC_OR_PARTITION, "No such partition as t1-5")]}),
             "UNKNOWN_TOPIC_OR_PARTITION with Kafka's messages")
        t.eq(elect(b.bootstrap, {"t1": [0]}, election_type=2),
             (INVALID_REQUEST, {"t1": [(0, INVALID_REQUEST, "Unknown election type 2")]}),
             "an unknown election type: top-level INVALID_REQUEST, given to each partition")
        t.eq(elect(b.bootstrap, None, election_type=2), (INVALID_REQUEST, {}),
             "an unknown election type for all partitions: INVALID_REQUEST, no topics")
        t.eq(elect(b.bootstrap, {}), (NONE, {}), "no topics: an empty answer")
        r = leader_election(b.bootstrap, "--election-type", "PREFERRED", "--topic", "t1",
                            "--partition", "0")
        t.ok(r.returncode == 0 and "Valid replica already elected for partitions t1-0" in r.stdout,
             "kafka-leader-election.sh: valid replica already elected", r.stdout + r.stderr[-500:])
        r = leader_election(b.bootstrap, "--election-type", "PREFERRED", "--topic", "nope",
                            "--partition", "0")
        t.ok(r.returncode == 1 and "No such topic as nope" in r.stdout,
             "kafka-leader-election.sh: an unknown topic fails", r.stdout + r.stderr[-500:])


# ---- three nodes: preferred elections by hand ----

def check_not_needed_everywhere(t, c):
    answers = {n.node_id: elect_settled(n.bootstrap, {TOPIC: [0]}) for n in c.nodes}
    want = (NONE, {TOPIC: [(0, ELECTION_NOT_NEEDED, NOT_NEEDED_TEXT)]})
    t.ok(all(a == want for a in answers.values()),
         "ElectLeaders through every node (forwarded to the active controller): "
         "ELECTION_NOT_NEEDED", f"{answers}")


def stop_and_return(t, c, victim, admin_nodes):
    """SIGTERM victim, check it leads nothing and that a preferred election
    of its partitions answers PREFERRED_LEADER_NOT_AVAILABLE; start it again
    and wait for full ISRs. Returns victim's preferred partitions."""
    other = next(n for n in admin_nodes if n.node_id != victim)
    mine = [p[0] for p in partitions(other, TOPIC) if p[3][0] == victim]
    c.node(victim).term()
    moved = settle(lambda: all(p[2] not in (victim, -1) for p in partitions(other, TOPIC)) or None,
                   "leaders moved", SETTLE_S)
    t.ok(moved and mine, f"broker {victim} stopped: its {len(mine)} preferred partitions are "
         "led by others", f"{partitions(other, TOPIC)}")
    top, res = elect_settled(other.bootstrap, {TOPIC: mine})
    t.ok(top == NONE and res.get(TOPIC) and
         all(code == PREFERRED_LEADER_NOT_AVAILABLE for _, code, _ in res[TOPIC]),
         "meanwhile a preferred election of them: PREFERRED_LEADER_NOT_AVAILABLE", f"{res}")
    c.node(victim).start()
    t.ok(settle(lambda: full_isrs(other, TOPIC, PARTITIONS, NODES), "full ISRs", SETTLE_S),
         f"broker {victim} started again is back in every ISR", f"{partitions(other, TOPIC)}")
    return mine


def scenario_preferred(t, c):
    admin = AdminClient({"bootstrap.servers": c.bootstrap})
    admin.create_topics([NewTopic(TOPIC, PARTITIONS, NODES)])[TOPIC].result(30)
    settle(lambda: full_isrs(c.node(1), TOPIC, PARTITIONS, NODES), "topic shown", SETTLE_S)
    t.ok(preferred_lead(c.node(1), TOPIC, PARTITIONS), "a new topic is led by first replicas",
         f"{partitions(c.node(1), TOPIC)}")
    check_not_needed_everywhere(t, c)
    mine = stop_and_return(t, c, 2, c.nodes)
    lead = {p[0]: p[2] for p in partitions(c.node(2), TOPIC)}
    t.ok(all(lead[p] != 2 for p in mine),
         "with automatic elections off they stay led by others", f"{lead}")
    r = leader_election(c.bootstrap, "--election-type", "PREFERRED", "--all-topic-partitions")
    t.ok(r.returncode == 0 and "Successfully completed leader election (PREFERRED)" in r.stdout,
         "kafka-leader-election.sh --election-type PREFERRED --all-topic-partitions",
         r.stdout + r.stderr[-800:])
    back = settle(lambda: all(preferred_lead(n, TOPIC, PARTITIONS) for n in c.nodes) or None,
                  "preferred leaders", SETTLE_S)
    t.ok(back, "every node's Metadata: each partition led by its first replica again",
         f"{[partitions(n, TOPIC) for n in c.nodes]}")
    r = leader_election(c.node(3).bootstrap, "--election-type", "PREFERRED", "--topic", TOPIC,
                        "--partition", "1")
    t.ok(r.returncode == 0 and f"Valid replica already elected for partitions {TOPIC}-1"
         in r.stdout, "and for one partition the tool says none is needed", r.stdout)


# ---- three nodes: unclean elections ----

ON, OFF, BY_TOOL, SOLO = "unclean-on", "unclean-off", "unclean-tool", "solo"


def produce(bootstrap, topic, count, acks):
    p = Producer({"bootstrap.servers": bootstrap, "acks": acks, "linger.ms": 5,
                  "message.timeout.ms": 20000})
    acked, failed = {}, {}
    produce_tracked(p, topic, [(0, b"%s-%d" % (topic.encode(), i)) for i in range(count)],
                    acked, failed, 30)
    return len(acked), failed


def logged(nodes, *words):
    """Whether some node's log has a line with every one of words."""
    for n in nodes:
        with open(n.log_path, errors="replace") as f:
            if any(all(w in line for w in words) for line in f):
                return True
    return False


def scenario_unclean(t, c):
    admin = AdminClient({"bootstrap.servers": c.bootstrap})
    topics = [NewTopic(ON, 1, replica_assignment=[[1, 2]],
                       config={"unclean.leader.election.enable": "true"}),
              NewTopic(OFF, 1, replica_assignment=[[1, 2]]),
              NewTopic(BY_TOOL, 1, replica_assignment=[[1, 2]]),
              NewTopic(SOLO, 1, replica_assignment=[[1]])]
    for f in admin.create_topics(topics).values():
        f.result(30)
    n3 = c.node(3)
    settle(lambda: all(len(isr_of(n3, x) or []) == 2 for x in (ON, OFF, BY_TOOL)) or None,
           "topics shown", SETTLE_S)
    for x in (ON, OFF, BY_TOOL):
        produce(c.bootstrap, x, 10, "all")
    c.node(2).term()
    t.ok(settle(lambda: all(isr_of(n3, x) == [1] for x in (ON, OFF, BY_TOOL)) or None,
                "ISRs [1]", SETTLE_S), "broker 2 stopped: the ISRs shrink to [1]",
         f"{isr_of(n3, ON)}")
    acked, failed = produce(c.node(1).bootstrap, ON, 10, "1")
    t.ok(acked == 10, "10 records written to broker 1 alone", f"failed {failed}")
    c.node(1).term()
    c.node(2).start()
    n2 = c.node(2)
    t.ok(settle(lambda: leader_of(n2, ON) == 2 and isr_of(n2, ON) == [2] or None,
                f"{ON} led by 2", SETTLE_S),
         "broker 1 (the last ISR member) stopped, broker 2 back: with "
         "unclean.leader.election.enable broker 2 leads, ISR [2]", f"{partitions(n2, ON)}")
    t.ok(logged(c.nodes, "WARN", f"unclean leader election for {ON}-0"),
         "a WARN line names the unclean election")
    acked, failed = produce(n2.bootstrap, ON, 5, "all")
    t.ok(acked == 5, "and acks=all produce works", f"failed {failed}")
    time.sleep(3)  # three of the controller's one-second checks
    t.ok(leader_of(n2, OFF) == -1 and leader_of(n2, BY_TOOL) == -1,
         "with the default the partitions stay without a leader",
         f"{partitions(n2, OFF)} {partitions(n2, BY_TOOL)}")
    t.eq(elect_settled(n3.bootstrap, {SOLO: [0]}, election_type=UNCLEAN),
         (NONE, {SOLO: [(0, ELIGIBLE_LEADERS_NOT_AVAILABLE,
                         "Eligible topic partition leaders are not available.")]}),
         "UNCLEAN for a partition whose only replica is away: ELIGIBLE_LEADERS_NOT_AVAILABLE")
    r = leader_election(n3.bootstrap, "--election-type", "UNCLEAN", "--topic", BY_TOOL,
                        "--partition", "0")
    t.ok(r.returncode == 0 and settle(lambda: leader_of(n2, BY_TOOL) == 2 or None, "tool"),
         "kafka-leader-election.sh --election-type UNCLEAN elects broker 2",
         r.stdout + r.stderr[-500:])
    r = run_tool("configs", "--bootstrap-server", n3.bootstrap, "--alter", "--entity-type",
                 "topics", "--entity-name", OFF, "--add-config",
                 "unclean.leader.election.enable=true")
    t.ok(r.returncode == 0, "kafka-configs.sh (IncrementalAlterConfigs) sets "
         f"unclean.leader.election.enable on {OFF}", r.stdout + r.stderr[-500:])
    t.ok(settle(lambda: leader_of(n2, OFF) == 2 or None, f"{OFF} led by 2", SETTLE_S),
         "and the controller's next check elects broker 2", f"{partitions(n2, OFF)}")
    c.node(1).start()
    t.ok(settle(lambda: sorted(isr_of(n2, ON) or []) == [1, 2] or None, "ISR [1, 2]", SETTLE_S),
         "broker 1 started again follows broker 2 and is back in the ISR",
         f"{partitions(n2, ON)}")


def scenario_manual(t):
    settings = dict(SESSION, **{"auto.leader.rebalance.enable": "false",
                                "unclean.leader.election.interval.ms": "1000"})
    with Cluster(NODES, settings) as c:
        scenario_preferred(t, c)
        scenario_unclean(t, c)


# ---- three nodes: the automatic preferred-leader election ----

def scenario_automatic(t):
    with Cluster(NODES, dict(SESSION, **{"leader.imbalance.check.interval.seconds": "1"})) as c:
        admin = AdminClient({"bootstrap.servers": c.bootstrap})
        admin.create_topics([NewTopic(TOPIC, PARTITIONS, NODES)])[TOPIC].result(30)
        settle(lambda: full_isrs(c.node(1), TOPIC, PARTITIONS, NODES), "topic shown", SETTLE_S)
        c.node(3).term()
        n1 = c.node(1)
        moved = settle(lambda: all(p[2] not in (3, -1) for p in partitions(n1, TOPIC)) or None,
                       "leaders moved", SETTLE_S)
        t.ok(moved, "broker 3 stopped: its partitions are led by others")
        c.node(3).start()
        back = settle(lambda: all(preferred_lead(n, TOPIC, PARTITIONS) for n in c.nodes) or None,
                      "preferred leaders", SETTLE_S)
        t.ok(back, "started again, broker 3 leads its preferred partitions again by itself "
             "(leader.imbalance.check.interval.seconds=1)",
             f"{[partitions(n, TOPIC) for n in c.nodes]}")
        t.ok(logged(c.nodes, "moved to their preferred replica"),
             "the active controller's log says so")


def main():
    t = tap.Tap()
    skip_under_cluster(t, "leader elections", OWN_NODES)
    t.run(scenario_answers)
    if target() != "runnel":
        t.skip("three-node elections", "the cluster harness runs Runnel only")
    else:
        t.run(scenario_manual)
        t.run(scenario_automatic)
    t.done()


if __name__ == "__main__":
    main()
