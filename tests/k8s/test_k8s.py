#!/usr/bin/env python3
"""Runnel's image on a real single-node Kubernetes (make k8s-test).

Brings the local cluster up if it is not (tools/k8s/up.sh, root), imports
build/runnel-image.tar (make image) into its containerd, and in a namespace
of its own applies deploy/kubernetes/overlays/three (through a kustomization
that only sets the namespace and enableServiceLinks: true, so the broker
starts with the variables Kubernetes adds for the Service named `runnel`).
Then, each with assertions on what happened:

  a. a server-side dry run of every kustomization under deploy/kubernetes/;
  b. a cold start of three pods in parallel: time to all Ready;
  g. the Service `runnel`: its endpoints are the three pods, the brokers
     started with its service-link variables, clients bootstrap through it;
  c. `kubectl rollout restart` under the verifier (verifier.py: an acks=all
     idempotent producer and a consumer group): nothing acknowledged lost,
     only retriable errors; the roll's time and longest gap between acks;
  d. a pod deleted: same name, same volume, Ready (in the ISR) again;
  e. a pod's volume deleted (claim and pod): a new empty volume, same node
     id, back in the ISR, nothing acknowledged lost;
  f. scale 3 to 4 (the fourth pod, past the voters, starts as a broker
     only and registers; the balancer moves replicas onto it by itself),
     `runnel cluster scale --brokers 3` (it returns once broker 3 is
     empty), and back to 3, under the verifier;
  h. a drain by the eviction API with the node cordoned: one eviction
     allowed, the PodDisruptionBudget refuses a second; uncordoned, all
     three Ready again.

The verifier runs on the host with CoreDNS as its resolver (a private
mount of /etc/resolv.conf): it resolves the advertised pod names as a client
inside the cluster does, and reaches the pods over the node's bridge. It
asks CoreDNS's pod and bootstraps from the pods' own names, not from the
Services' virtual IPs: the host's safety rules (tools/k8s/up.sh) drop those,
as the host routes them to its uplink before kube-proxy rewrites them. The
Service `runnel` is checked from inside a pod instead. Persistent volumes are hostPath folders made here as claims appear
(a small provisioner thread). Figures are printed, never asserted.
With RUNNEL_K8S_KAFKA=1, the cold start and the roll are then measured
the same way for Apache Kafka 3.9 (tests/k8s/kafka/: an image with the
host's Java runtime and the Kafka jars, KAFKA_JARS or build/kafka-jars).
Tears down its namespace at the end, and the cluster if it started it
(RUNNEL_K8S_KEEP=1 keeps both). Needs root; takes about ten minutes."""

import glob
import json
import re
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "interop", "lib"))
import tap  # noqa: E402

K8S_HOME = os.environ.get("RUNNEL_K8S_HOME", os.path.expanduser("~/.cache/runnel-k8s"))
RUN = os.path.join(K8S_HOME, "cluster")
PKI = os.path.join(RUN, "pki")
KUBECONFIG = os.path.join(RUN, "conf", "admin.kubeconfig")
PV_ROOT = os.path.join(RUN, "pv")
CTRD_SOCK = "/run/runnel-k8s/containerd.sock"
IMAGE_TAR = os.environ.get("RUNNEL_IMAGE_ARCHIVE", os.path.join(ROOT, "build", "runnel-image.tar"))
IMAGE = os.environ.get("RUNNEL_IMAGE_TAG", "localhost/runnel:dev")
OVERLAY = os.path.join(ROOT, "deploy", "kubernetes", "overlays", "three")
STS = "runnel"
RUN_AS = 65532
SELECTOR = "app.kubernetes.io/name=runnel,app.kubernetes.io/component=broker"
READY_S = 240
RATE = 100.0


def find_kubectl():
    k = os.environ.get("KUBECTL")
    if k:
        return k
    for v in ("1.33", "1.34", "1.35"):
        p = f"/usr/lib/google-cloud-sdk/bin/kubectl.{v}"
        if os.access(p, os.X_OK):
            return p
    return shutil.which("kubectl")


KUBECTL = find_kubectl()


def sh(*args, check=True, timeout=120, input=None):
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, input=input)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: exit {r.returncode}: {r.stderr.strip()[-2000:]}")
    return r


def kc(*args, **kw):
    return sh(KUBECTL, "--kubeconfig", KUBECONFIG, *args, **kw)


class Api:
    """Direct calls to the API server with the admin certificate (cheaper
    than a kubectl process for the frequent polls)."""

    def __init__(self):
        with open(KUBECONFIG) as f:
            self.server = next(line.split('"')[1] for line in f if "server:" in line)
        ctx = ssl.create_default_context(cafile=os.path.join(PKI, "ca.crt"))
        ctx.load_cert_chain(os.path.join(PKI, "admin.crt"), os.path.join(PKI, "admin.key"))
        self.ctx = ctx

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.server + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=20) as r:
                return r.status, json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def get(self, path):
        code, body = self.call("GET", path)
        if code != 200:
            raise RuntimeError(f"GET {path}: {code} {body.get('message')}")
        return body


class Provisioner(threading.Thread):
    """Binds every Pending claim of the namespace to a new hostPath volume
    (a folder under PV_ROOT owned by the broker's user)."""

    def __init__(self, api, ns):
        super().__init__(daemon=True)
        self.api, self.ns, self.stop = api, ns, threading.Event()
        self.made = {}  # claim uid -> (pv name, folder)

    def run(self):
        while not self.stop.wait(0.5):
            try:
                self.once()
            except Exception as e:  # keep provisioning through API hiccups
                tap.current().diag(f"provisioner: {e}")

    def once(self):
        claims = self.api.get(f"/api/v1/namespaces/{self.ns}/persistentvolumeclaims")["items"]
        for c in claims:
            uid = c["metadata"]["uid"]
            if c["status"].get("phase") != "Pending" or uid in self.made or c["metadata"].get("deletionTimestamp"):
                continue
            name = c["metadata"]["name"]
            pv = f"{self.ns}-{name}-{uid[:8]}"
            folder = os.path.join(PV_ROOT, self.ns, f"{name}-{uid[:8]}")
            os.makedirs(folder, exist_ok=True)
            os.chown(folder, RUN_AS, RUN_AS)
            os.chmod(folder, 0o750)
            body = {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": pv},
                    "spec": {"capacity": {"storage": c["spec"]["resources"]["requests"]["storage"]},
                             "accessModes": c["spec"]["accessModes"],
                             "persistentVolumeReclaimPolicy": "Retain",
                             "storageClassName": c["spec"].get("storageClassName") or "local-hostpath",
                             "claimRef": {"namespace": self.ns, "name": name, "uid": uid},
                             "hostPath": {"path": folder, "type": "Directory"}}}
            code, resp = self.api.call("POST", "/api/v1/persistentvolumes", body)
            if code not in (200, 201, 409):
                raise RuntimeError(f"PV {pv}: {code} {resp.get('message')}")
            self.made[uid] = (pv, folder)

    def cleanup(self):
        self.stop.set()
        for pv, _ in self.made.values():
            self.api.call("DELETE", f"/api/v1/persistentvolumes/{pv}")
        shutil.rmtree(os.path.join(PV_ROOT, self.ns), ignore_errors=True)


class Cluster:
    def __init__(self, t, ns):
        self.t, self.ns = t, ns
        self.api = Api()

    def pods(self, selector=SELECTOR):
        return {p["metadata"]["name"]: p for p in
                self.api.get(f"/api/v1/namespaces/{self.ns}/pods?labelSelector={selector}")["items"]}

    def pod(self, name):
        code, p = self.api.call("GET", f"/api/v1/namespaces/{self.ns}/pods/{name}")
        return p if code == 200 else None

    @staticmethod
    def is_ready(p):
        if not p or p["metadata"].get("deletionTimestamp"):
            return False
        return any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))

    def wait(self, what, cond, timeout=READY_S, every=0.25):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if cond():
                return True
            time.sleep(every)
        self.t.diag(f"timed out after {timeout} s waiting for {what}")
        self.dump()
        return False

    def all_ready(self, n, selector=SELECTOR):
        ps = self.pods(selector)
        return len(ps) == n and all(self.is_ready(p) for p in ps.values())

    def dump(self):
        r = kc("-n", self.ns, "get", "pods,pvc", "-o", "wide", check=False)
        self.t.diag(r.stdout + r.stderr)
        for name in sorted(self.pods()):
            r = kc("-n", self.ns, "logs", name, "--tail=15", check=False)
            self.t.diag(f"--- {name} log tail\n{r.stdout}{r.stderr}")

    def claim(self, name):
        code, c = self.api.call("GET", f"/api/v1/namespaces/{self.ns}/persistentvolumeclaims/{name}")
        return c if code == 200 else None

    def dns_pod_ip(self):
        pods = self.api.get("/api/v1/namespaces/kube-system/pods?labelSelector=k8s-app=kube-dns")["items"]
        return next(p["status"]["podIP"] for p in pods if self.is_ready(p))

    def runnel(self, pod, *args, timeout=60, bootstrap="localhost:9092"):
        """The runnel tools inside a broker pod (the image has no shell)."""
        return kc("-n", self.ns, "exec", pod, "--", "runnel", *args, "-b", bootstrap,
                  timeout=timeout, check=False)

    def runnel_json(self, pod, *args, bootstrap="localhost:9092"):
        r = self.runnel(pod, *args, "--json", bootstrap=bootstrap)
        if r.returncode != 0:
            raise RuntimeError(f"runnel {' '.join(args)} in {pod}: {r.stderr.strip()}")
        return json.loads(r.stdout)


class Verifier:
    """verifier.py on the host, resolving names through the cluster's DNS."""

    def __init__(self, t, c, topic, sts=STS):
        self.t, self.topic = t, topic
        ns = c.ns
        self.dir = tempfile.mkdtemp(prefix=f"k8s-verifier-{topic}-")
        self.stop_file = os.path.join(self.dir, "stop")
        self.out = os.path.join(self.dir, "result.json")
        resolv = os.path.join(self.dir, "resolv.conf")
        with open(resolv, "w") as f:
            f.write(f"nameserver {c.dns_pod_ip()}\nsearch {ns}.svc.cluster.local svc.cluster.local cluster.local\n"
                    "options ndots:5 timeout:1 attempts:3\n")
        bootstrap = ",".join(f"{sts}-{i}.{sts}-headless.{ns}.svc.cluster.local:9092" for i in range(3))
        script = (f"mount --bind {resolv} /etc/resolv.conf && exec /usr/bin/python3 "
                  f"{os.path.join(HERE, 'verifier.py')} {bootstrap} {topic} {self.out} {self.stop_file} {RATE}")
        self.log = open(os.path.join(self.dir, "verifier.log"), "w")
        self.proc = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                                     stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.started = time.time()

    def wait_acks(self, n=200, timeout=120):
        """Waits until n records are acknowledged and the group consumes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                with open(self.out + ".progress") as f:
                    acked, seen = (int(x) for x in f.read().split())
                if acked >= n and seen > 0:
                    return True
            except (OSError, ValueError):
                pass
            time.sleep(0.5)
        self.t.diag(f"verifier {self.topic}: not under way after {timeout} s")
        return False

    def finish(self, timeout=300):
        with open(self.stop_file, "w"):
            pass
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
        if not os.path.exists(self.out):
            with open(os.path.join(self.dir, "verifier.log")) as f:
                self.t.diag(f"verifier {self.topic} gave no result:\n{f.read()[-3000:]}")
            return None
        with open(self.out) as f:
            return json.load(f)

    def check(self, res, what):
        """The assertions every scenario makes on the verifier's result."""
        t = self.t
        failed_before = len(t.failed)
        if not t.ok(res is not None, f"{what}: the verifier finished"):
            return
        t.ok(res["acked"] > 0 and res["acked"] == res["produced"] and res["unflushed"] == 0,
             f"{what}: every record produced was acknowledged "
             f"({res['acked']} of {res['produced']}, {res['unflushed']} unflushed)")
        t.eq(res["lost_count"], 0, f"{what}: nothing acknowledged lost (read back {res['read_back']})")
        if res["lost_count"]:
            t.diag(f"lost: {res['lost']}")
        t.eq(res["group_missing"], 0, f"{what}: the consumer group saw every acknowledged record")
        t.eq(len(res["failed"]), 0, f"{what}: no delivery failed")
        fatal = [e for e in res["errors"] if e["fatal"]]
        t.eq(fatal, [], f"{what}: no fatal client error")
        names = sorted({e["name"] for e in res["errors"]})
        t.diag(f"{what}: client errors seen (all non-fatal): {names or 'none'}")
        if len(t.failed) == failed_before:
            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            t.diag(f"verifier files kept in {self.dir}")


def max_gap(times, start, end):
    """The largest gap between successive acknowledgements within [start, end]."""
    ts = sorted(x for x in times if start - 30 <= x <= end + 30)
    inside = [b - a for a, b in zip(ts, ts[1:]) if b >= start and a <= end]
    return max(inside) if inside else float("nan")


def cluster_up():
    kubelet = os.path.join(RUN, "pids", "kubelet.pid")
    if not os.path.exists(kubelet) or not os.path.exists(KUBECONFIG):
        return False
    r = subprocess.run([KUBECTL, "--kubeconfig", KUBECONFIG, "get", "nodes", "--no-headers"],
                       capture_output=True, text=True, timeout=30)
    return r.returncode == 0 and " Ready " in r.stdout


# ---- scenarios ----------------------------------------------------------------

def dry_runs(t, c):
    dirs = sorted(os.path.dirname(p) for p in
                  glob.glob(os.path.join(ROOT, "deploy", "kubernetes", "**", "kustomization.yaml"), recursive=True))
    t.ok(len(dirs) >= 2, f"kustomizations found: {[os.path.relpath(d, ROOT) for d in dirs]}")
    for d in dirs:
        with open(os.path.join(d, "kustomization.yaml")) as f:
            if re.search(r"^kind: Component$", f.read(), re.M):
                continue  # a component is part of an overlay, never applied alone
        r = kc("-n", c.ns, "apply", "-k", d, "--dry-run=server", check=False)
        t.ok(r.returncode == 0, f"server-side dry run of {os.path.relpath(d, ROOT)}",
             diag=(r.stdout + r.stderr)[-1500:])
    helm = shutil.which("helm")
    charts = glob.glob(os.path.join(ROOT, "deploy", "helm", "*", "Chart.yaml"))
    if charts and helm:
        for ch in charts:
            d = os.path.dirname(ch)
            r = sh(helm, "template", "runnel", d, "-n", c.ns, check=False)
            r2 = kc("-n", c.ns, "apply", "-f", "-", "--dry-run=server", input=r.stdout, check=False)
            t.ok(r.returncode == 0 and r2.returncode == 0, f"server-side dry run of helm chart {os.path.relpath(d, ROOT)}",
                 diag=(r.stderr + r2.stdout + r2.stderr)[-1500:])
    elif charts:
        t.skip("helm charts' dry run", "no helm on PATH")


class Namespace:
    """Another namespace with its own volume provisioner, removed after."""

    def __init__(self, t, what):
        self.ns = f"runnel-{what}-{uuid.uuid4().hex[:6]}"
        kc("create", "namespace", self.ns)
        self.c = Cluster(t, self.ns)
        self.prov = Provisioner(self.c.api, self.ns)
        self.prov.start()

    def __enter__(self):
        return self.c

    def __exit__(self, *exc):
        if os.environ.get("RUNNEL_K8S_KEEP") != "1":
            kc("delete", "namespace", self.ns, "--wait=true", "--timeout=180s", check=False,
               timeout=240)
            self.prov.cleanup()
        return False


def helm_install(t, figures):
    """`helm install` of the chart's defaults (the three overlay's objects)
    brings up three brokers that the verifier writes to and reads from."""
    helm = shutil.which("helm")
    if not helm:
        t.skip("helm install", "no helm on PATH (RUNNEL_DEPS_HELM=1 scripts/install-deps.sh)")
        return
    with Namespace(t, "helm") as c:
        t0 = time.monotonic()
        r = sh(helm, "install", "runnel", os.path.join(ROOT, "deploy", "helm", "runnel"),
               "-n", c.ns, "--kubeconfig", KUBECONFIG, check=False, timeout=180)
        if not t.ok(r.returncode == 0, "helm install runnel deploy/helm/runnel",
                    diag=(r.stdout + r.stderr)[-1500:]):
            return
        ok = c.wait("three pods Ready", lambda: c.all_ready(3))
        took = time.monotonic() - t0
        t.ok(ok, f"helm install: three pods Ready in {took:.1f} s")
        if not ok:
            return
        figures["helm install to all Ready"] = f"{took:.1f} s"
        v = Verifier(t, c, "helm")
        t.ok(v.wait_acks(), f"the verifier produces and consumes ({v.topic})")
        v.check(v.finish(), "helm install")
        r = sh(helm, "uninstall", "runnel", "-n", c.ns, "--kubeconfig", KUBECONFIG, check=False)
        t.ok(r.returncode == 0, "helm uninstall", diag=r.stderr[-500:])


def external_access(t):
    """The nodeport overlay: a client on the host, outside the pod network
    and its DNS, bootstraps at the node's address and node port 31090 and is
    told every broker at the node's address and its own node port."""
    node = node_ip()
    with Namespace(t, "nodeport") as c:
        folder = tempfile.mkdtemp(prefix="k8s-test-kustomize-", dir=ROOT + "/build")
        with open(os.path.join(folder, "kustomization.yaml"), "w") as f:
            f.write(f"apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
                    f"namespace: {c.ns}\nresources:\n  - "
                    f"{os.path.relpath(os.path.join(ROOT, 'deploy', 'kubernetes', 'overlays', 'nodeport'), folder)}\n")
        r = kc("apply", "-k", folder, check=False)
        shutil.rmtree(folder, ignore_errors=True)
        if not t.ok(r.returncode == 0, "apply overlays/nodeport", diag=r.stderr[-1500:]):
            return
        if not t.ok(c.wait("three pods Ready", lambda: c.all_ready(3)), "nodeport: three pods Ready"):
            return
        from confluent_kafka import Consumer, Producer
        from confluent_kafka.admin import AdminClient, NewTopic
        boot = f"{node}:31090"
        admin = AdminClient({"bootstrap.servers": boot})
        md = admin.list_topics(timeout=20)
        seen = sorted(f"{b.host}:{b.port}" for b in md.brokers.values())
        t.eq(seen, [f"{node}:{31090 + i}" for i in range(3)],
             f"Metadata asked at {boot}: every broker at the node's address and its node port")
        admin.create_topics([NewTopic("outside", 3, 3)])["outside"].result(30)
        p = Producer({"bootstrap.servers": boot, "acks": "all", "enable.idempotence": True})
        acked = []
        for i in range(300):
            p.produce("outside", value=b"o-%04d" % i,
                      on_delivery=lambda e, m: acked.append(m.value()) if not e else None)
        p.flush(60)
        t.eq(len(acked), 300, "a producer outside the cluster: every record acknowledged (acks=all)")
        cons = Consumer({"bootstrap.servers": boot, "group.id": "outside",
                         "auto.offset.reset": "earliest"})
        cons.subscribe(["outside"])
        got, deadline = set(), time.monotonic() + 60
        while len(got) < 300 and time.monotonic() < deadline:
            m = cons.poll(0.5)
            if m is not None and not m.error():
                got.add(m.value())
        cons.close()
        t.eq(len(got), 300, "a consumer group outside the cluster reads every record")


def node_ip():
    """The (single) node's InternalIP, which the nodeport overlay advertises."""
    node = Api().get("/api/v1/nodes")["items"][0]
    return next(a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP")


def write_kustomization(ns, folder):
    with open(os.path.join(folder, "kustomization.yaml"), "w") as f:
        f.write(f"""apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: {ns}
resources:
  - {os.path.relpath(OVERLAY, folder)}
patches:
  - target: {{kind: StatefulSet, name: {STS}}}
    patch: |-
      - op: replace
        path: /spec/template/spec/enableServiceLinks
        value: true
""")


def cold_start(t, c, figures):
    folder = tempfile.mkdtemp(prefix="k8s-test-kustomize-", dir=ROOT + "/build")
    write_kustomization(c.ns, folder)
    t0 = time.monotonic()
    r = kc("apply", "-k", folder, check=False)
    shutil.rmtree(folder, ignore_errors=True)
    if not t.ok(r.returncode == 0, "apply overlays/three", diag=r.stderr[-1500:]):
        return False
    ok = c.wait("three pods Ready", lambda: c.all_ready(3))
    took = time.monotonic() - t0
    t.ok(ok, f"cold start: three pods Ready in parallel ({took:.1f} s)")
    if ok:
        figures["cold start to all Ready"] = f"{took:.1f} s"
        ps = c.pods()
        starts = sorted(p["status"]["startTime"] for p in ps.values())
        t.diag(f"pods started at {starts}")
    return ok


def service_runnel(t, c):
    svc = c.api.get(f"/api/v1/namespaces/{c.ns}/services/runnel")
    t.ok(svc["spec"].get("clusterIP") not in (None, "None"), "Service runnel has a cluster IP")
    eps = c.api.get(f"/apis/discovery.k8s.io/v1/namespaces/{c.ns}/endpointslices?labelSelector="
                    "kubernetes.io/service-name=runnel")["items"]
    ips = sorted(a for e in eps for ep in (e.get("endpoints") or [])
                 if ep.get("conditions", {}).get("ready") for a in ep["addresses"])
    pod_ips = sorted(p["status"]["podIP"] for p in c.pods().values())
    t.eq(ips, pod_ips, "Service runnel's ready endpoints are the three pods")
    # The broker's own environment: the container's process, read on the node.
    p = c.pod("runnel-0")
    t.ok(p["spec"].get("enableServiceLinks") is True, "the pods run with enableServiceLinks: true")
    cid = p["status"]["containerStatuses"][0]["containerID"].split("//", 1)[1]
    r = sh("ctr", "--address", CTRD_SOCK, "-n", "k8s.io", "tasks", "ls", check=False)
    pid = next((line.split()[1] for line in r.stdout.splitlines() if line.startswith(cid)), None)
    env = []
    if pid:
        with open(f"/proc/{pid}/environ", "rb") as f:
            env = [e.decode(errors="replace") for e in f.read().split(b"\0") if e]
    links = sorted(e.split("=", 1)[0] for e in env if e.startswith("RUNNEL_SERVICE_") or e.startswith("RUNNEL_PORT"))
    t.ok("RUNNEL_SERVICE_HOST" in links and "RUNNEL_PORT" in links,
         f"the broker (pid {pid}) runs with the Service's link variables: {links}")
    t.ok(c.is_ready(p) and p["status"]["containerStatuses"][0]["restartCount"] == 0,
         "and started and is Ready without a restart")
    # A client inside the cluster bootstraps through the Service's name.
    desc = c.runnel_json("runnel-1", "cluster", "describe", bootstrap=f"runnel.{c.ns}.svc:9092")
    ids = sorted(b["id"] for b in desc["brokers"] if not b.get("fenced"))
    t.eq(ids, [0, 1, 2], "through the Service: three unfenced brokers registered")
    voters = sorted(v["id"] for v in (desc.get("quorum") or {}).get("voters", []))
    t.eq(voters, [0, 1, 2], "three voters")


def rolling_restart(t, c, figures):
    v = Verifier(t, c, "roll")
    t.ok(v.wait_acks(), f"the verifier produces and consumes ({v.topic})")
    before = {n: p["metadata"]["uid"] for n, p in c.pods().items()}
    start = time.time()
    kc("-n", c.ns, "rollout", "restart", f"statefulset/{STS}")
    r = kc("-n", c.ns, "rollout", "status", f"statefulset/{STS}", "--timeout=600s", check=False, timeout=660)
    end = time.time()
    t.ok(r.returncode == 0, f"rollout restart completed ({end - start:.1f} s)", diag=r.stderr[-1500:])
    after = c.pods()
    t.ok(all(after[n]["metadata"]["uid"] != u for n, u in before.items() if n in after) and len(after) == 3,
         "every pod was replaced")
    t.ok(c.wait("all Ready after the roll", lambda: c.all_ready(3), timeout=60), "all three Ready after the roll")
    roll_figures(t, v, start, end, figures, "roll", "")


def roll_figures(t, v, start, end, figures, what, prefix):
    """The verifier's result over a roll from start to end: checked, and the
    roll's total time and longest gap between acks=all acknowledgements."""
    time.sleep(5)
    res = v.finish()
    v.check(res, what)
    if res:
        gap = max_gap(res["ack_times"], start, end)
        figures[f"{prefix}rolling restart, total"] = f"{end - start:.1f} s"
        figures[f"{prefix}rolling restart, longest acks=all gap"] = f"{gap:.2f} s"
        t.diag(f"{what}: {end - start:.1f} s, longest gap between acks {gap:.2f} s, "
               f"{res['acked']} acked")


def isr_has(c, pod, node, topic):
    d = c.runnel_json(pod, "topic", "describe", topic)
    parts = d["topics"][0]["partitions"]
    return all(node in p["isr"] for p in parts if node in p["replicas"])


def pod_deleted(t, c):
    v = Verifier(t, c, "delete")
    t.ok(v.wait_acks(), f"the verifier produces and consumes ({v.topic})")
    old = c.pod("runnel-1")
    old_vol = c.claim("data-runnel-1")["spec"]["volumeName"]
    t0 = time.monotonic()
    kc("-n", c.ns, "delete", "pod", "runnel-1", "--wait=false")
    ok = c.wait("runnel-1 back and Ready", lambda: (lambda p: p and p["metadata"]["uid"] != old["metadata"]["uid"]
                                                     and c.is_ready(p))(c.pod("runnel-1")))
    t.ok(ok, f"runnel-1 deleted: back with the same name and Ready in {time.monotonic() - t0:.1f} s")
    t.eq(c.claim("data-runnel-1")["spec"]["volumeName"], old_vol, "on the same volume")
    t.ok(c.wait("node 1 in the ISR", lambda: isr_has(c, "runnel-0", 1, "delete"), timeout=60),
         "node 1 is in the ISR of each partition it holds")
    res = v.finish()
    v.check(res, "pod deleted")


def volume_lost(t, c, prov):
    v = Verifier(t, c, "volume")
    t.ok(v.wait_acks(), f"the verifier produces and consumes ({v.topic})")
    old_pod = c.pod("runnel-2")
    old_claim = c.claim("data-runnel-2")
    old_folder = old_claim and next((f for pv, f in prov.made.values() if pv == old_claim["spec"]["volumeName"]), None)
    t0 = time.monotonic()
    kc("-n", c.ns, "delete", "pvc", "data-runnel-2", "--wait=false")
    kc("-n", c.ns, "delete", "pod", "runnel-2", "--wait=false")
    retried = [False]

    def back():
        p, cl = c.pod("runnel-2"), c.claim("data-runnel-2")
        if p and p["metadata"]["uid"] != old_pod["metadata"]["uid"] and p["status"].get("phase") == "Pending" \
                and not retried[0] and time.monotonic() - t0 > 30 and (cl is None or cl["metadata"].get("deletionTimestamp")):
            # The pod came back before its old claim was gone: delete it once more.
            kc("-n", c.ns, "delete", "pod", "runnel-2", "--wait=false", check=False)
            retried[0] = True
        return p and cl and cl["metadata"]["uid"] != old_claim["metadata"]["uid"] and c.is_ready(p)
    ok = c.wait("runnel-2 back on a new volume and Ready", back, timeout=300)
    t.ok(ok, f"runnel-2 with its volume deleted: back on a new claim and Ready in {time.monotonic() - t0:.1f} s"
         + (" (pod deleted twice: it came back before the old claim was gone)" if retried[0] else ""))
    new_claim = c.claim("data-runnel-2")
    if new_claim:
        t.ok(new_claim["spec"].get("volumeName") != old_claim["spec"]["volumeName"], "a new, empty volume")
    t.diag(f"the old volume's folder, kept: {old_folder}")
    t.ok(c.wait("node 2 in the ISR", lambda: isr_has(c, "runnel-0", 2, "volume"), timeout=120),
         "node 2 (same id) is back in the ISR of each partition it holds")
    desc = c.runnel_json("runnel-0", "cluster", "describe")
    t.ok(any(b["id"] == 2 and not b.get("fenced") for b in desc["brokers"]), "broker 2 registered and unfenced")
    # The quorum: node 2 must vote again, from its new folder, or the next
    # voter lost (a roll, a drain) leaves no majority.
    new_dir = None
    if new_claim and new_claim["metadata"]["uid"] in prov.made:
        props = os.path.join(prov.made[new_claim["metadata"]["uid"]][1], "data", "meta.properties")
        with open(props) as f:
            new_dir = next((ln.split("=", 1)[1].strip() for ln in f if ln.startswith("directory.id=")), None)

    def voter2_dir():
        q = c.runnel_json("runnel-0", "cluster", "describe").get("quorum") or {}
        return next((x["directory_id"] for x in q.get("voters", []) if x["id"] == 2), None), q

    time.sleep(5)
    got, q = voter2_dir()
    t.diag(f"quorum after the volume loss: voters {[(x['id'], x['directory_id']) for x in q.get('voters', [])]}, "
           f"observers {[(x['id'], x.get('directory_id')) for x in q.get('observers', [])]}; node 2's new folder {new_dir}")
    if not t.ok(new_dir is not None and got == new_dir,
                "node 2 is a voter again by itself, speaking from its new data folder"):
        logs = kc("-n", c.ns, "logs", "runnel-0", "--since=2m", check=False).stdout
        t.diag("runnel-0 says: " + next((ln for ln in logs.splitlines() if "node 2 speaks from" in ln), "(nothing)"))
        # What the broker's message says to do, so the scenarios after this
        # one run on a quorum of three.
        r1 = c.runnel("runnel-0", "cluster", "quorum", "remove-voter", "2")
        r2 = c.runnel("runnel-0", "cluster", "quorum", "add-voter", "2", "--host",
                      f"{STS}-2.{STS}-headless.{c.ns}.svc", "--port", "9093", "--directory-id", str(new_dir),
                      "--timeout-ms", "60000", timeout=90)
        t.ok(r1.returncode == 0 and r2.returncode == 0,
             "by hand: runnel cluster quorum remove-voter 2, add-voter 2 (its new folder)",
             diag=r1.stdout + r1.stderr + r2.stdout + r2.stderr)
        t.ok(c.wait("voter 2 from its new folder", lambda: voter2_dir()[0] == new_dir, timeout=60),
             "then node 2 votes from its new folder")
    res = v.finish()
    v.check(res, "volume lost")


def broker_holds(c, broker):
    """(replicas, leaderships) broker holds over every topic, as
    `runnel cluster balance` shows them."""
    try:
        shown = c.runnel_json("runnel-0", "cluster", "balance")
    except (RuntimeError, ValueError):
        return (-1, -1)  # no answer this time (a pod moving)
    return next(((b["replicas"], b["leaders"]) for b in shown["brokers"] if b["id"] == broker),
                (0, 0))


def scale(t, c):
    v = Verifier(t, c, "scale")
    t.ok(v.wait_acks(), f"the verifier produces and consumes ({v.topic})")
    t0 = time.monotonic()
    kc("-n", c.ns, "scale", f"statefulset/{STS}", "--replicas=4")
    ok = c.wait("four pods Ready", lambda: c.all_ready(4))
    t.ok(ok, f"scaled to 4: runnel-3 Ready in {time.monotonic() - t0:.1f} s")
    if ok:
        desc = c.runnel_json("runnel-0", "cluster", "describe")
        t.ok(any(b["id"] == 3 and not b.get("fenced") for b in desc["brokers"]), "broker 3 registered and unfenced")
        q = desc.get("quorum") or {}
        t.eq(sorted(x["id"] for x in q.get("voters", [])), [0, 1, 2], "the voters are still 0, 1, 2")
        logs = kc("-n", c.ns, "logs", "runnel-3", check=False).stdout
        t.diag("runnel-3's log about its role: " +
               " | ".join(line for line in logs.splitlines() if "broker" in line.lower() and "voter" in line.lower())[:600])
        t1 = time.monotonic()
        t.ok(c.wait("broker 3 takes replicas", lambda: broker_holds(c, 3)[0] > 0, timeout=180,
                    every=2),
             f"the balancer moves replicas onto broker 3 by itself ({broker_holds(c, 3)} replicas "
             f"and leaderships, {time.monotonic() - t1:.1f} s after it was Ready)")
        t1 = time.monotonic()
        r = c.runnel("runnel-0", "cluster", "scale", "--brokers", "3", "--wait-ms", "300000",
                     timeout=330)
        t.ok(r.returncode == 0 and broker_holds(c, 3) == (0, 0),
             f"runnel cluster scale --brokers 3 empties broker 3 before the scale-down "
             f"({time.monotonic() - t1:.1f} s)", diag=r.stdout + r.stderr)
    t0 = time.monotonic()
    kc("-n", c.ns, "scale", f"statefulset/{STS}", "--replicas=3")
    ok = c.wait("back to three Ready pods", lambda: c.all_ready(3))
    t.ok(ok, f"scaled back to 3 in {time.monotonic() - t0:.1f} s")
    res = v.finish()
    v.check(res, "scale")


def drain(t, c):
    v = Verifier(t, c, "drain")
    t.ok(v.wait_acks(), f"the verifier produces and consumes ({v.topic})")
    node = c.pod("runnel-0")["spec"]["nodeName"]
    before = {n: p["metadata"]["uid"] for n, p in c.pods().items()}
    kc("cordon", node)
    try:
        r = kc("drain", node, f"--pod-selector={SELECTOR}", "--ignore-daemonsets", "--delete-emptydir-data",
               "--timeout=20s", check=False, timeout=90)
        out = r.stdout + r.stderr
        t.ok(r.returncode != 0 and "disruption budget" in out,
             "kubectl drain: the PodDisruptionBudget refuses evictions past the first",
             diag=out[-1500:])
        now = c.pods()
        gone = sorted(n for n in before if n not in now or now[n]["metadata"]["uid"] != before[n])
        t.eq(len(gone), 1, f"exactly one broker evicted ({gone})")
        stayed = sorted(n for n in before if n not in gone)
        # Past broker.session.timeout.ms: the two left keep a quorum and stay ready.
        time.sleep(12)
        now = c.pods()
        t.ok(all(c.is_ready(now.get(n)) for n in stayed), f"the other two ({stayed}) stay Ready",
             diag=" | ".join(f"{n}: {c.is_ready(now.get(n))}" for n in stayed))
        pdb = c.api.get(f"/apis/policy/v1/namespaces/{c.ns}/poddisruptionbudgets/runnel")
        t.eq(pdb["status"].get("disruptionsAllowed"), 0, "the budget allows no more disruptions")
        target = stayed[0]
        code, body = c.api.call("POST", f"/api/v1/namespaces/{c.ns}/pods/{target}/eviction",
                                {"apiVersion": "policy/v1", "kind": "Eviction",
                                 "metadata": {"name": target, "namespace": c.ns}})
        t.eq(code, 429, f"eviction API: a second eviction ({target}) is refused: {body.get('message')}")
    finally:
        kc("uncordon", node, check=False)
    ok = c.wait("three pods Ready after uncordon", lambda: c.all_ready(3))
    t.ok(ok, "uncordoned: all three Ready again")
    res = v.finish()
    v.check(res, "drain")


def kafka_figures(t, c, figures):
    """The same cold start and roll with Apache Kafka 3.9 (tests/k8s/kafka/),
    in place of the Runnel pods."""
    tar = os.path.join(ROOT, "build", "kafka-image.tar")
    jars = os.environ.get("KAFKA_JARS", os.path.join(ROOT, "build", "kafka-jars"))
    if not os.path.isdir(jars):
        t.skip("Kafka 3.9 figures", f"no Kafka jars in {jars} (set KAFKA_JARS)")
        return
    r = sh(os.path.join(HERE, "kafka", "build-image.sh"), check=False, timeout=600)
    if not t.ok(r.returncode == 0, "Kafka 3.9 image built", diag=r.stderr[-1500:]):
        return
    t.diag(r.stdout.strip())
    r = sh("ctr", "--address", CTRD_SOCK, "-n", "k8s.io", "images", "import", "--base-name", "localhost/kafka",
           tar, check=False, timeout=600)
    t.ok(r.returncode == 0, "Kafka image imported", diag=r.stderr)
    kc("-n", c.ns, "delete", "statefulset", STS, "--wait=true", "--timeout=120s", check=False, timeout=180)
    sel = "app.kubernetes.io/name=kafka"
    t0 = time.monotonic()
    kc("-n", c.ns, "apply", "-f", os.path.join(HERE, "kafka", "kafka.yaml"))
    ok = c.wait("three Kafka pods Ready", lambda: c.all_ready(3, sel), timeout=300)
    took = time.monotonic() - t0
    t.ok(ok, f"Kafka 3.9 cold start: three pods Ready in parallel ({took:.1f} s)")
    if not ok:
        return
    figures["Kafka 3.9: cold start to all Ready (port open)"] = f"{took:.1f} s"
    v = Verifier(t, c, "kroll", sts="kafka")
    t.ok(v.wait_acks(timeout=180), "the verifier produces and consumes (Kafka)")
    start = time.time()
    kc("-n", c.ns, "rollout", "restart", "statefulset/kafka")
    r = kc("-n", c.ns, "rollout", "status", "statefulset/kafka", "--timeout=900s", check=False, timeout=960)
    end = time.time()
    t.ok(r.returncode == 0, f"Kafka rollout restart completed ({end - start:.1f} s)", diag=r.stderr[-1500:])
    roll_figures(t, v, start, end, figures, "Kafka roll", "Kafka 3.9: ")


def image_size(t, figures):
    r = sh("ctr", "--address", CTRD_SOCK, "-n", "k8s.io", "images", "ls", check=False)
    line = next((ln for ln in r.stdout.splitlines() if IMAGE in ln.split()[0:1]), "")
    size = " ".join(line.split()[3:5]) if line else "?"
    figures["image (containerd, compressed layers)"] = size
    figures["image OCI archive"] = f"{os.path.getsize(IMAGE_TAR) / 1048576:.1f} MiB"
    if shutil.which("buildah"):
        r = sh("buildah", "images", "--format", "{{.Size}}", IMAGE, check=False)
        if r.returncode == 0 and r.stdout.strip():
            figures["image (buildah, unpacked)"] = r.stdout.strip()


def main():
    t = tap.Tap("runnel on a local Kubernetes")
    if os.geteuid() != 0:
        t.skip("k8s scenarios", "needs root")
        t.done()
    if not KUBECTL:
        t.skip("k8s scenarios", "no kubectl (set KUBECTL)")
        t.done()
    started_here = False
    if not cluster_up():
        r = subprocess.run([os.path.join(ROOT, "tools", "k8s", "up.sh")], text=True, capture_output=True)
        t.diag(r.stdout[-2000:])
        if not t.ok(r.returncode == 0, "local cluster started (tools/k8s/up.sh)", diag=r.stderr[-2000:]):
            t.done()
        started_here = True
    r = sh("ctr", "--address", CTRD_SOCK, "-n", "k8s.io", "images", "import",
           "--base-name", IMAGE.rsplit(":", 1)[0], IMAGE_TAR,
           check=False, timeout=300)
    t.ok(r.returncode == 0, f"image imported from {os.path.relpath(IMAGE_TAR, ROOT)}", diag=r.stderr)
    ns = f"runnel-test-{uuid.uuid4().hex[:6]}"
    kc("create", "namespace", ns)
    c = Cluster(t, ns)
    prov = Provisioner(c.api, ns)
    prov.start()
    figures = {}
    t0 = time.monotonic()
    try:
        image_size(t, figures)
        t.run(dry_runs, c)
        if t.run(cold_start, c, figures):
            t.run(service_runnel, c)
            t.run(rolling_restart, c, figures)
            t.run(pod_deleted, c)
            t.run(volume_lost, c, prov)
            t.run(scale, c)
            t.run(drain, c)
            # The one node's CPU requests fit one cluster of three: the
            # scenarios that deploy another free it first.
            kc("-n", c.ns, "scale", f"statefulset/{STS}", "--replicas", "0")
            c.wait("the first cluster's pods gone", lambda: not c.pods(), timeout=120)
            t.run(helm_install, figures)
            t.run(external_access)
            if os.environ.get("RUNNEL_K8S_KAFKA") == "1":
                t.run(kafka_figures, c, figures)
    finally:
        if os.environ.get("RUNNEL_K8S_KEEP") == "1":
            t.diag(f"kept: namespace {ns} (RUNNEL_K8S_KEEP=1)")
        else:
            kc("delete", "namespace", ns, "--wait=true", "--timeout=180s", check=False, timeout=240)
            prov.cleanup()
            if started_here:
                subprocess.run([os.path.join(ROOT, "tools", "k8s", "down.sh")], capture_output=True)
    figures["whole test"] = f"{time.monotonic() - t0:.0f} s"
    t.diag("figures:")
    for k, v in figures.items():
        t.diag(f"  {k}: {v}")
    t.done()


if __name__ == "__main__":
    main()
