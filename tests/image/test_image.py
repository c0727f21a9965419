#!/usr/bin/env python3
"""The OCI image under podman with runc, as a pod would run it.

Runs localhost/runnel:dev (make image) as PID 1 with a read-only root file
system, its data on a named volume and its broker and admin ports published
on the host's loopback. Checked: the image is under 25 MB and runs as a
non-root user; the broker is PID 1 of its namespace; records produced from
the host with acks=all are consumed back; SIGTERM (podman stop) is a clean
stop (exit 0, "stopped cleanly" in the log); after SIGKILL, a new container
on the same volume has every acknowledged record.

Needs podman and runc (and the image); not part of the default suite:
`make image-test`. Bounded: about a minute."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "interop", "lib"))
import tap  # noqa: E402
from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402

IMAGE = os.environ.get("RUNNEL_IMAGE_TAG", "localhost/runnel:dev")
SIZE_MAX = 25 * 1000 * 1000
RUN_AS = "65532:65532"
# Root here lacks CAP_SYS_RESOURCE: runc cannot raise a limit above the
# host's, and podman asks for more than that by default.
ULIMITS = ["--ulimit", "nofile=8192:8192", "--ulimit", "nproc=8192:8192"]
PODMAN = ["podman", "--cgroup-manager=cgroupfs", "--events-backend=file"]
READY_S = 30.0
STOP_S = 30


def podman(*args, check=True, timeout=60):
    res = subprocess.run(PODMAN + list(args), capture_output=True, text=True, timeout=timeout)
    if check and res.returncode != 0:
        raise RuntimeError(f"podman {' '.join(args)}: {res.stderr.strip()}")
    return res.stdout.strip()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Container:
    def __init__(self, volume):
        self.volume = volume
        self.name = f"runnel-image-test-{uuid.uuid4().hex[:8]}"
        self.port = free_port()
        self.admin_port = free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"

    def run(self):
        podman("run", "-d", "--runtime", "runc", "--name", self.name, "--read-only",
               *ULIMITS,
               "-p", f"127.0.0.1:{self.port}:9092", "-p", f"127.0.0.1:{self.admin_port}:9644",
               "-v", f"{self.volume}:/var/lib/runnel",
               "-e", f"RUNNEL_ADVERTISED_LISTENERS=PLAINTEXT://127.0.0.1:{self.port}",
               "-e", "RUNNEL_CORES=1",
               IMAGE)

    def ready(self, timeout=READY_S):
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.admin_port}/health/ready"
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    if resp.status == 200:
                        return True
            except OSError:
                pass
            if self.state().get("Status") == "exited":
                return False
            time.sleep(0.2)
        return False

    def state(self):
        out = podman("inspect", "--format", "{{json .State}}", self.name, check=False)
        return json.loads(out) if out.startswith("{") else {}

    def logs(self):
        res = subprocess.run(PODMAN + ["logs", self.name], capture_output=True, text=True,
                             timeout=30)
        return res.stdout + res.stderr

    def remove(self):
        podman("rm", "-f", "-t", "0", self.name, check=False)


def produce(bootstrap, topic, values):
    acked = []
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
    for v in values:
        p.produce(topic, value=v.encode(),
                  on_delivery=lambda err, msg: acked.append(msg.value().decode()) if not err
                  else None)
    p.flush(30)
    return acked


def consume(bootstrap, topic, want, timeout=20):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"g-{uuid.uuid4().hex[:6]}",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.assign([TopicPartition(topic, 0, 0)])
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < want and time.monotonic() < deadline:
        msg = c.poll(0.5)
        if msg is not None and not msg.error():
            got.append(msg.value().decode())
    c.close()
    return got


def image_facts(t):
    info = json.loads(podman("image", "inspect", IMAGE))[0]
    size = int(info["Size"])
    t.diag(f"image {IMAGE}: {size / 1e6:.1f} MB ({size / 1048576:.1f} MiB)")
    t.ok(size < SIZE_MAX, f"the image is under 25 MB ({size / 1e6:.1f} MB)")
    cfg = info.get("Config", {})
    t.eq(cfg.get("User"), RUN_AS, "it runs as a numeric non-root user")
    t.eq(cfg.get("Entrypoint"), ["/usr/bin/runnel"], "the broker is the entry point")


def lifecycle(t, volume):
    topic = "image"
    box = Container(volume)
    box.run()
    try:
        t.ok(box.ready(), "the broker in the container becomes ready")
        pid = box.state().get("Pid", 0)
        with open(f"/proc/{pid}/status") as f:
            nspid = [line.split()[1:] for line in f if line.startswith("NSpid:")]
        t.ok(nspid and nspid[0][-1] == "1", f"the broker is PID 1 in its container ({nspid})")
        first = [f"a{n}" for n in range(100)]
        acked = produce(box.bootstrap, topic, first)
        t.eq(len(acked), len(first), "records produced from the host are acknowledged")
        t.eq(consume(box.bootstrap, topic, len(first)), first,
             "and consumed back over the published port")

        t0 = time.monotonic()
        podman("stop", "-t", str(STOP_S), box.name, timeout=STOP_S + 30)
        took = time.monotonic() - t0
        state = box.state()
        t.diag(f"podman stop took {took:.1f} s")
        t.eq(state.get("ExitCode"), 0, "SIGTERM (podman stop): exit code 0")
        t.ok("stopped cleanly" in box.logs(), "the log says it stopped cleanly")

        podman("start", box.name)
        t.ok(box.ready(), "the same container starts again")
        second = [f"b{n}" for n in range(100)]
        acked2 = produce(box.bootstrap, topic, second)
        t.eq(len(acked2), len(second), "more records acknowledged")
        podman("kill", "-s", "KILL", box.name)
        t.eq(box.state().get("ExitCode"), 137, "SIGKILL ends it at once")
    finally:
        box.remove()

    again = Container(volume)
    again.run()
    try:
        t.ok(again.ready(), "a new container on the same volume becomes ready")
        want = first + acked2
        t.eq(consume(again.bootstrap, topic, len(want)), want,
             "every acknowledged record survived the SIGKILL")
    finally:
        again.remove()


def main():
    t = tap.Tap("the OCI image under podman and runc")
    missing = [c for c in ("podman", "runc") if shutil.which(c) is None]
    if missing:
        t.skip("image", f"{' and '.join(missing)} not installed (apt-get install podman runc)")
        t.done()
        return
    if subprocess.run(PODMAN + ["image", "exists", IMAGE]).returncode != 0:
        t.ok(False, f"image {IMAGE} exists (make image)")
        t.done()
        return
    t.run(image_facts)
    volume = f"runnel-image-test-{uuid.uuid4().hex[:8]}"
    podman("volume", "create", volume)
    try:
        t.run(lifecycle, volume)
    finally:
        podman("volume", "rm", "-f", volume, check=False)
    t.done()


if __name__ == "__main__":
    main()
