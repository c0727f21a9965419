#!/usr/bin/env python3
"""Identity and settings from a StatefulSet pod's environment.

Three `runnel server` processes get the very same settings, as the pods of
one StatefulSet do, with pod templates in them (docs/KUBERNETES.md):
node.id=${ORDINAL}, listeners and advertised listeners on ${HOST_IP}, the
voter list in the ${EACH} repeat form over REPLICAS=3, broker.rack from
RUNNEL_BROKER_RACK; only their environment differs (POD_NAME, HOST_IP and
the rack; one takes its ordinal from POD_INDEX instead of its name), and it
holds the variables Kubernetes adds for a Service named runnel. Each pod's
address is its own loopback address 127.0.0.1N, so the voter list can be
written once for all. Checked: the three form one quorum; Metadata lists
brokers 0, 1, 2 each at its own address and rack; a topic is created and
written through the cluster. A fourth pod with the same settings (the
StatefulSet scaled to four, REPLICAS still 3) is past the voters: it
starts as a broker only, registers as broker 3 and stops cleanly. Then
start-up errors: a missing variable, an
unknown template and a pod name without an ordinal each stop the start at
once (exit 2) with a message naming the setting, the template and what to
set; a data folder owned by another user stops it with the owner and the
fix.

Runnel only (the templates are Runnel's). Bounded: about 20 s."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import tap  # noqa: E402
from broker import BrokerError, OWN_NODES, runnel_bin, skip_under_cluster, target  # noqa: E402
from cluster import ClusterNode  # noqa: E402
from confluent_kafka import KafkaError, KafkaException, Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402
from cluster_checks import metadata, settle  # noqa: E402

REPLICAS = 3
CLUSTER_ID = "UG9kSWRlbnRpdHlUZXN0MA"
RACKS = ["zone-a", "zone-b", "zone-c", "zone-a"]
START_S = 60.0


def pod_ip(ordinal):
    return f"127.0.0.1{ordinal}"


def pod_settings(port, controller_port, admin_port):
    """The StatefulSet's settings: one text for every pod."""
    return {
        "node.id": "${ORDINAL}",
        "process.roles": "broker,controller",
        "listeners": f"PLAINTEXT://${{HOST_IP}}:{port},CONTROLLER://${{HOST_IP}}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://${{HOST_IP}}:{port}",
        "controller.listener.names": "CONTROLLER",
        "controller.quorum.voters": f"${{EACH}}@127.0.0.1${{EACH}}:{controller_port}",
        "admin.listener": f"${{HOST_IP}}:{admin_port}",
        "cluster.id": CLUSTER_ID,
        "cores": "1",
        "broker.session.timeout.ms": "3000",
        "broker.heartbeat.interval.ms": "500",
    }


def pod_env(ordinal, by_index=False):
    env = {
        "HOSTNAME": f"runnel-{ordinal}",
        "POD_NAME": f"runnel-{ordinal}",
        "POD_NAMESPACE": "streams",
        "SERVICE_NAME": "runnel-headless",
        "HOST_IP": pod_ip(ordinal),
        "REPLICAS": str(REPLICAS),
        "RUNNEL_BROKER_RACK": RACKS[ordinal],
        # What Kubernetes adds for a Service named runnel in the namespace.
        "RUNNEL_PORT": "tcp://10.96.0.20:9092",
        "RUNNEL_SERVICE_HOST": "10.96.0.20",
        "RUNNEL_SERVICE_PORT": "9092",
        "RUNNEL_PORT_9092_TCP_ADDR": "10.96.0.20",
    }
    if by_index:  # the pod-index label through the downward API
        env["POD_NAME"] = env["HOSTNAME"] = "runnel-custom"
        env["POD_INDEX"] = str(ordinal)
    return env


class Pod(ClusterNode):
    """A node whose identity comes from its environment only."""

    def __init__(self, ordinal, taken, ports, by_index=False):
        super().__init__(ordinal, taken)
        self.name = f"pod runnel-{ordinal}"
        self.port, self.controller_port, self.admin_port = ports
        self.bootstrap = f"{pod_ip(ordinal)}:{self.port}"
        self.settings = pod_settings(*ports)
        self.extra_env = pod_env(ordinal, by_index)
        self.ip = pod_ip(ordinal)

    def ready(self):
        try:
            url = f"http://{self.ip}:{self.admin_port}/health/live"
            with urllib.request.urlopen(url, timeout=2.0) as resp:
                if resp.status != 200:
                    return False
            with socket.create_connection((self.ip, self.port), timeout=1.0):
                return True
        except OSError:
            return False


def brokers_with_racks(pod):
    """Metadata v1 brokers: {id: (host, port, rack)}."""
    import struct
    from broker import kafka_request
    from kwire import Reader
    r = Reader(kafka_request(pod.bootstrap, 3, 1, struct.pack(">i", 0)))
    brokers = r.array(lambda rr: (rr.i32(), rr.string(), rr.i32(), rr.string())) or []
    return {b[0]: (b[1], b[2], b[3]) for b in brokers}


def create_topic(t, admin, topic, timeout=30.0):
    """Creates topic with 3 partitions of 3 replicas, retrying while the
    brokers still register (a broker listed may not be unfenced yet)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fut = admin.create_topics([NewTopic(topic, 3, 3)], operation_timeout=10)[topic]
        try:
            fut.result(15)
            return True
        except KafkaException as e:
            err = e.args[0]
            if err.code() == KafkaError.TOPIC_ALREADY_EXISTS:
                return True
            t.diag(f"create_topics: {err}; again")
        time.sleep(0.5)
    return False


def cluster_scenario(t):
    taken = set()
    ports = tuple(ClusterNode._pick(taken) for _ in range(3))
    pods = [Pod(n, taken, ports, by_index=(n == 1)) for n in range(REPLICAS)]
    for pod in pods:
        pod.start(wait=False)
    deadline = time.monotonic() + START_S
    for pod in pods:
        pod._wait_ready(max(1.0, deadline - time.monotonic()))
    t.ok(all(p.running() for p in pods), "three pods with the same settings start as one cluster")

    want = {n: (pod_ip(n), ports[0], RACKS[n]) for n in range(REPLICAS)}
    got = settle(lambda: (lambda b: b if len(b) == REPLICAS else None)(
        brokers_with_racks(pods[0])), "three brokers")
    t.eq(got, want, "node ids are the ordinals; each advertises its ${HOST_IP} and its rack")

    bootstrap = ",".join(p.bootstrap for p in pods)
    admin = AdminClient({"bootstrap.servers": bootstrap})
    t.ok(create_topic(t, admin, "pods"), "a topic with three replicas is created")
    parts = settle(lambda: metadata(pods[2], ["pods"])[1].get("pods"), "topic in metadata")
    t.ok(parts and all(len(p[3]) == 3 for p in parts),
         "every partition has replicas on the three ordinals")
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    errors = []
    for n in range(10):
        p.produce("pods", value=f"v{n}".encode(),
                  on_delivery=lambda err, msg: errors.append(err) if err else None)
    left = p.flush(30)
    t.ok(left == 0 and not errors, f"records are acknowledged (errors {errors[:3]})")
    del p, admin  # no client left to log the pods going away

    scaled = Pod(REPLICAS, taken, ports)
    scaled.start(wait=False)
    scaled._wait_ready(START_S)
    got = settle(lambda: (lambda b: b if len(b) == REPLICAS + 1 else None)(
        brokers_with_racks(pods[0])), "four brokers")
    t.eq(got and got.get(REPLICAS), (pod_ip(REPLICAS), ports[0], RACKS[REPLICAS]),
         "a pod past REPLICAS (a scale-up) registers as one more broker")
    t.ok("runs as a broker only" in scaled.log_tail(500),
         "its log says it runs as a broker only, not as a voter")
    scaled.signal_term()
    t.eq(scaled.wait_stopped(), 0, "and it stops cleanly")
    for pod in pods:
        pod.signal_term()
    codes = [pod.wait_stopped() for pod in pods]
    t.eq(codes, [0, 0, 0], "every pod stops cleanly on SIGTERM")


def start_error(settings, env):
    """Runs `runnel server` expecting it to refuse at once: (code, stderr)."""
    with tempfile.TemporaryDirectory() as data:
        cmd = [runnel_bin(), "server", "--set", f"log.dirs={data}", "--set", "admin.listener=none",
               "--set", "listeners=PLAINTEXT://127.0.0.1:0"]
        for k, v in settings.items():
            cmd += ["--set", f"{k}={v}"]
        res = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                             timeout=10, text=True)
    return res.returncode, res.stderr.strip()


def foreign_folder_scenario(t):
    """A data folder owned by root, the broker running as the image's user
    (65532): the start stops at once and says whose it is and what to set.
    Needs root to start the broker as another user."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        t.skip("a data folder owned by another user", "needs root and setpriv")
        return
    with tempfile.TemporaryDirectory() as parent:
        os.chmod(parent, 0o755)
        cmd = ["setpriv", "--reuid", "65532", "--regid", "65532", "--clear-groups",
               runnel_bin(), "server", "--set", f"log.dirs={parent}/data",
               "--set", "admin.listener=none", "--set", "listeners=PLAINTEXT://127.0.0.1:0"]
        res = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=10,
                             text=True, env={"PATH": os.environ.get("PATH", "/usr/bin")})
    err = res.stderr.strip()
    t.ok(res.returncode != 0 and "not writable by this process (uid 65532, gid 65532)" in err
         and "owned by uid 0 gid 0" in err and "securityContext.fsGroup: 65532" in err,
         f"a data folder owned by another user stops the start with the fix: {err}")


def errors_scenario(t):
    env = {"PATH": os.environ.get("PATH", "/usr/bin"), "POD_NAME": "runnel-1", "REPLICAS": "3"}
    code, err = start_error({"advertised.listeners": "PLAINTEXT://${POD_NAME}.${SERVICE}:9092"},
                            env)
    t.eq(code, 2, "a missing variable stops the start")
    t.ok("--set advertised.listeners" in err and "${SERVICE}" in err and "SERVICE_NAME" in err,
         f"the message names the setting, the template and the variable: {err}")
    code, err = start_error({"broker.rack": "${ZONE}"}, env)
    t.ok(code == 2 and "unknown template ${ZONE}" in err,
         f"an unknown template stops the start: {err}")
    env_no_pod = {"PATH": env["PATH"], "HOSTNAME": "laptop"}
    code, err = start_error({"node.id": "${ORDINAL}"}, env_no_pod)
    t.ok(code == 2 and "POD_INDEX" in err and "'laptop'" in err,
         f"node.id=${{ORDINAL}} outside a StatefulSet pod stops the start: {err}")


def main():
    t = tap.Tap("pod templates: identity and settings from a StatefulSet pod's environment")
    skip_under_cluster(t, "pod templates", OWN_NODES)
    if target() != "runnel":
        t.skip("pod templates", "Runnel's own settings")
        t.done()
        return
    try:
        t.run(cluster_scenario)
    except BrokerError as e:
        t.ok(False, f"pods start: {e}")
    t.run(errors_scenario)
    t.run(foreign_folder_scenario)
    t.done()


if __name__ == "__main__":
    main()
