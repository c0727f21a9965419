#!/usr/bin/env python3
"""The Kubernetes manifests, checked offline.

Each overlay under deploy/kubernetes/overlays/ is rendered with `kubectl
kustomize`, then linted for what no schema can express: the headless
Service is the StatefulSet's serviceName and publishes not-ready
addresses; pods start in Parallel; volumes claimed from templates; the
PodDisruptionBudget allows one pod down and selects exactly the broker
pods; Services and probes name ports that exist, probes ask the admin
port's health endpoints (startup /health/started, liveness /health/live,
readiness /health/ready); the grace period is above the broker's shutdown
budget (read from the source); REPLICAS and SERVICE_NAME match the spec and
the voter list expands to one voter per replica at the controller port;
non-root with a read-only root file system; Prometheus annotations name the
admin port. The lint is shown to catch each of those broken on purpose.
Last, the broker takes the settings: `runnel server` runs with the
environment a pod of the overlay gets (the single node becomes ready; a
pod of the three-node set starts and waits for its peers).

Needs kubectl (kustomize is built in) and python3-yaml; skipped without.
Bounded: about 15 s."""

import copy
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import tap  # noqa: E402
from broker import OWN_NODES, ROOT, free_port, runnel_bin, skip_under_cluster, target  # noqa: E402

OVERLAYS = os.path.join(ROOT, "deploy", "kubernetes", "overlays")
HEALTH_PATHS = {"/health/started", "/health/live", "/health/ready"}
# Closing partitions (a checkpoint and a clean-shutdown mark each, several
# at a time) on top of the bounded waits: docs/KUBERNETES.md.
CLOSE_ALLOWANCE_S = 30
READY_S = 30.0


def kubectl():
    """kubectl (kustomize is built in): $KUBECTL, else the one on PATH."""
    return shutil.which(os.environ.get("KUBECTL") or "kubectl")


def shutdown_budget_s():
    """The broker's bounded shutdown waits, from the source, plus the
    allowance for closing partitions."""
    def define(path, name):
        with open(os.path.join(ROOT, path)) as f:
            m = re.search(rf"#define {name} \(?(\d+)", f.read())
        if not m:
            raise AssertionError(f"{name} not found in {path}")
        return int(m.group(1))
    drain = define("src/server/broker.c", "BROKER_DRAIN_MS_MAX")
    fence = define("src/base/limits.h", "RN_LIFECYCLE_STOP_WAIT_MS")
    return (drain + fence) / 1000 + CLOSE_ALLOWANCE_S


def render(kc, overlay):
    import yaml
    res = subprocess.run([kc, "kustomize", os.path.join(OVERLAYS, overlay)],
                         capture_output=True, text=True, timeout=60)
    if res.returncode != 0:
        raise AssertionError(f"kubectl kustomize {overlay}: {res.stderr.strip()}")
    return [d for d in yaml.safe_load_all(res.stdout) if d]


# -- the lint ------------------------------------------------------------------------

def env_of(container):
    return {e["name"]: e for e in container.get("env", [])}


def env_value(container, name):
    e = env_of(container).get(name)
    return None if e is None else e.get("value")


def expand(text, env, each=None):
    """The broker's pod templates (docs/CONFIGURATION.md), for the lint."""
    def one(m):
        name = m.group(1)
        if name == "EACH":
            return str(each)
        return env[name]
    return re.sub(r"\$\{([A-Z_]+)\}", one, text)


def expand_list(text, env):
    items = []
    for item in text.split(","):
        if "${EACH}" in item:
            items += [expand(item, env, n) for n in range(int(env["REPLICAS"]))]
        else:
            items.append(expand(item, env))
    return items


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def port_number(container, ref):
    """A probe's or Service's port reference to the container port, or None."""
    for p in container.get("ports", []):
        if ref == p.get("name") or ref == p.get("containerPort"):
            return p["containerPort"]
    return None


def listener_port(listeners, name):
    for item in listeners.split(","):
        lname, _, rest = item.partition("://")
        if lname.strip().upper() == name:
            return int(rest.rsplit(":", 1)[1])
    return None


def lint(docs, budget_s):
    """Problems found in one rendered overlay (empty: none)."""
    problems = []
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    sets = by_kind.get("StatefulSet", [])
    if len(sets) != 1:
        return [f"expected one StatefulSet, found {len(sets)}"]
    sts = sets[0]
    spec = sts["spec"]
    pod = spec["template"]["spec"]
    labels = spec["template"]["metadata"].get("labels", {})
    containers = pod.get("containers", [])
    broker = next((c for c in containers if c["name"] == "runnel"), None)
    if broker is None:
        return ["no container named runnel"]
    replicas = spec.get("replicas", 1)

    if spec.get("podManagementPolicy") != "Parallel":
        problems.append("podManagementPolicy is not Parallel: voters must start together")
    if not selects(spec["selector"].get("matchLabels"), labels):
        problems.append("the StatefulSet's selector does not select its own pod template")

    services = {s["metadata"]["name"]: s for s in by_kind.get("Service", [])}
    headless = services.get(spec.get("serviceName"))
    if headless is None:
        problems.append(f"no Service named serviceName {spec.get('serviceName')!r}")
    else:
        if headless["spec"].get("clusterIP") != "None":
            problems.append("the serviceName Service is not headless (clusterIP: None)")
        if headless["spec"].get("publishNotReadyAddresses") is not True:
            problems.append("the headless Service does not publish not-ready addresses")
    for name, svc in services.items():
        if not selects(svc["spec"].get("selector"), labels):
            problems.append(f"Service {name} does not select the broker pods")
        for p in svc["spec"].get("ports", []):
            if port_number(broker, p.get("targetPort", p["port"])) is None:
                problems.append(f"Service {name} port {p.get('name')} targets "
                                f"{p.get('targetPort')!r}, not a container port")

    claims = {v["metadata"]["name"] for v in spec.get("volumeClaimTemplates", [])}
    volumes = {v["name"] for v in pod.get("volumes", [])}
    if not claims:
        problems.append("no volumeClaimTemplates: data would not outlive the pod")
    for m in broker.get("volumeMounts", []):
        if m["name"] not in claims | volumes:
            problems.append(f"volume mount {m['name']} has no volume or claim template")
    log_dirs = env_value(broker, "RUNNEL_LOG_DIRS") or ""
    data_mounts = [m["mountPath"] for m in broker.get("volumeMounts", [])
                   if m["name"] in claims]
    for d in filter(None, (x.strip() for x in log_dirs.split(","))):
        if not any(d == mp or d.startswith(mp.rstrip("/") + "/") for mp in data_mounts):
            problems.append(f"log dir {d} is not on a claimed volume")

    pdbs = by_kind.get("PodDisruptionBudget", [])
    if len(pdbs) != 1:
        problems.append(f"expected one PodDisruptionBudget, found {len(pdbs)}")
    for pdb in pdbs:
        if pdb["spec"].get("maxUnavailable") != 1:
            problems.append("the PodDisruptionBudget does not allow exactly one pod down")
        sel = pdb["spec"].get("selector", {}).get("matchLabels")
        if sel != spec["selector"].get("matchLabels") or not selects(sel, labels):
            problems.append("the PodDisruptionBudget does not select exactly the broker pods")

    admin = env_value(broker, "RUNNEL_ADMIN_LISTENER") or "0.0.0.0:9644"
    admin_port = int(admin.rsplit(":", 1)[1])
    for kind in ("startupProbe", "livenessProbe", "readinessProbe"):
        probe = broker.get(kind)
        if not probe or "httpGet" not in probe:
            problems.append(f"no {kind} over HTTP")
            continue
        get = probe["httpGet"]
        number = port_number(broker, get.get("port"))
        if number is None:
            problems.append(f"{kind} names port {get.get('port')!r}, not a container port")
        elif number != admin_port:
            problems.append(f"{kind} port {number} is not the admin port {admin_port}")
        if get.get("path") not in HEALTH_PATHS:
            problems.append(f"{kind} path {get.get('path')} is not a health endpoint")
    if broker.get("livenessProbe", {}).get("httpGet", {}).get("path") != "/health/live":
        problems.append("livenessProbe must be /health/live: it never depends on peers")
    if broker.get("readinessProbe", {}).get("httpGet", {}).get("path") != "/health/ready":
        problems.append("readinessProbe must be /health/ready")
    if broker.get("startupProbe", {}).get("httpGet", {}).get("path") != "/health/started":
        problems.append("startupProbe must be /health/started: it covers log recovery")

    grace = pod.get("terminationGracePeriodSeconds", 30)
    if grace <= budget_s:
        problems.append(f"terminationGracePeriodSeconds {grace} is not above the shutdown "
                        f"budget of {budget_s:.0f} s")

    if str(replicas) != env_value(broker, "REPLICAS"):
        problems.append(f"REPLICAS={env_value(broker, 'REPLICAS')} but spec.replicas={replicas}")
    if env_value(broker, "SERVICE_NAME") != spec.get("serviceName"):
        problems.append(f"SERVICE_NAME={env_value(broker, 'SERVICE_NAME')} but serviceName="
                        f"{spec.get('serviceName')}")
    problems += lint_voters(broker, sts, replicas)

    sc_pod = pod.get("securityContext", {})
    sc = broker.get("securityContext", {})
    if not (sc_pod.get("runAsNonRoot") or sc.get("runAsNonRoot")):
        problems.append("runAsNonRoot is not set")
    if (sc.get("runAsUser", sc_pod.get("runAsUser")) or 0) == 0:
        problems.append("no non-root runAsUser")
    if sc.get("readOnlyRootFilesystem") is not True:
        problems.append("the root file system is not read-only")
    if sc.get("allowPrivilegeEscalation") is not False:
        problems.append("privilege escalation is not turned off")

    notes = spec["template"]["metadata"].get("annotations", {})
    if notes.get("prometheus.io/scrape") != "true":
        problems.append("no prometheus.io/scrape annotation")
    if notes.get("prometheus.io/port") != str(admin_port):
        problems.append(f"prometheus.io/port {notes.get('prometheus.io/port')} is not the "
                        f"admin port {admin_port}")
    return problems


def lint_voters(broker, sts, replicas):
    """The voter list expands to ids 0..replicas-1, each pod's stable name,
    at the port the controller listener listens on."""
    problems = []
    spec = sts["spec"]
    voters = env_value(broker, "RUNNEL_CONTROLLER_QUORUM_VOTERS")
    if not voters:
        return ["no controller.quorum.voters"]
    ns = "ns"
    env = {"POD_NAME": f"{sts['metadata']['name']}-0", "STATEFULSET": sts["metadata"]["name"],
           "SERVICE": env_value(broker, "SERVICE_NAME") or "", "NAMESPACE": ns,
           "REPLICAS": env_value(broker, "REPLICAS") or "0", "ORDINAL": "0"}
    try:
        items = expand_list(voters, env)
    except (KeyError, ValueError) as e:
        return [f"controller.quorum.voters {voters}: cannot expand {e}"]
    cport = listener_port(env_value(broker, "RUNNEL_LISTENERS") or "",
                          (env_value(broker, "RUNNEL_CONTROLLER_LISTENER_NAMES") or "")
                          .split(",")[0].strip().upper())
    want = [f"{n}@{sts['metadata']['name']}-{n}.{spec.get('serviceName')}.{ns}.svc:{cport}"
            for n in range(replicas)]
    if items != want:
        problems.append(f"the voters {items} are not one per replica at the controller "
                        f"port: {want}")
    if cport is not None and port_number(broker, cport) is None:
        problems.append(f"the controller port {cport} is not a container port")
    adv = env_value(broker, "RUNNEL_ADVERTISED_LISTENERS") or ""
    kport = listener_port(adv, "PLAINTEXT")
    if kport is None or port_number(broker, kport) is None:
        problems.append(f"advertised listener port {kport} is not a container port")
    if "${POD_NAME}" not in adv or "${SERVICE}" not in adv:
        problems.append("advertised.listeners does not name the pod's stable DNS name")
    return problems


# -- broken on purpose: the lint must catch each --------------------------------------

def _sts(docs):
    return next(d for d in docs if d["kind"] == "StatefulSet")


def _broker(docs):
    return _sts(docs)["spec"]["template"]["spec"]["containers"][0]


def _kind(docs, kind, name=None):
    return next(d for d in docs if d["kind"] == kind and
                (name is None or d["metadata"]["name"] == name))


def _set_env(docs, name, value):
    env_of(_broker(docs))[name]["value"] = value


MUTANTS = [
    ("not-ready addresses hidden", "publish not-ready",
     lambda d: _kind(d, "Service", "runnel-headless")["spec"].update(
         publishNotReadyAddresses=False)),
    ("OrderedReady", "Parallel",
     lambda d: _sts(d)["spec"].update(podManagementPolicy="OrderedReady")),
    ("PDB selecting more", "exactly the broker pods",
     lambda d: _kind(d, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"].pop(
         "app.kubernetes.io/component")),
    ("PDB of two", "exactly one pod",
     lambda d: _kind(d, "PodDisruptionBudget")["spec"].update(maxUnavailable=2)),
    ("probe on a missing port", "not a container port",
     lambda d: _broker(d)["readinessProbe"]["httpGet"].update(port="metrics")),
    ("liveness on readiness", "never depends on peers",
     lambda d: _broker(d)["livenessProbe"]["httpGet"].update(path="/health/ready")),
    ("startup on liveness", "covers log recovery",
     lambda d: _broker(d)["startupProbe"]["httpGet"].update(path="/health/live")),
    ("short grace period", "shutdown budget",
     lambda d: _sts(d)["spec"]["template"]["spec"].update(terminationGracePeriodSeconds=10)),
    ("REPLICAS out of step", "spec.replicas",
     lambda d: _sts(d)["spec"].update(replicas=_sts(d)["spec"]["replicas"] + 1)),
    ("voters at the broker port", "controller port",
     lambda d: _set_env(d, "RUNNEL_CONTROLLER_QUORUM_VOTERS",
                        "${EACH}@${STATEFULSET}-${EACH}.${SERVICE}.${NAMESPACE}.svc:9092")),
    ("writable root", "read-only",
     lambda d: _broker(d)["securityContext"].update(readOnlyRootFilesystem=False)),
    ("service to a missing port", "not a container port",
     lambda d: _kind(d, "Service", "runnel")["spec"]["ports"][0].update(targetPort="client")),
]


# -- the broker takes the settings ------------------------------------------------------

def pod_env(broker, sts, ordinal, ports):
    """The environment a pod of this StatefulSet gets, its ports moved to
    free ones on the loopback (the settings are otherwise as rendered)."""
    kport, cport, aport = ports
    fields = {"metadata.name": f"{sts['metadata']['name']}-{ordinal}",
              "metadata.namespace": "default",
              "metadata.labels['apps.kubernetes.io/pod-index']": str(ordinal),
              "status.hostIP": "127.0.0.1"}
    env = {"PATH": os.environ.get("PATH", "/usr/bin")}
    for e in broker.get("env", []):
        if "value" in e:
            env[e["name"]] = e["value"]
        else:
            env[e["name"]] = fields[e["valueFrom"]["fieldRef"]["fieldPath"]]
    swap = {"9092": str(kport), "9093": str(cport), "9644": str(aport)}
    for k in ("RUNNEL_LISTENERS", "RUNNEL_ADVERTISED_LISTENERS",
              "RUNNEL_CONTROLLER_QUORUM_VOTERS", "RUNNEL_ADMIN_LISTENER"):
        env[k] = re.sub(r":(9092|9093|9644)\b", lambda m: ":" + swap[m.group(1)], env[k])
    env["RUNNEL_ADMIN_LISTENER"] = env["RUNNEL_ADMIN_LISTENER"].replace("0.0.0.0", "127.0.0.1")
    env["RUNNEL_CORES"] = "1"
    return env


def http_ok(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


def start_pod(t, overlay, docs, want_ready):
    sts = _sts(docs)
    broker = _broker(docs)
    ports = (free_port(), free_port(), free_port())
    with tempfile.TemporaryDirectory() as data:
        env = pod_env(broker, sts, 0, ports)
        env["RUNNEL_LOG_DIRS"] = data
        log_path = os.path.join(data, "..", f"runnel-{overlay}-{ports[0]}.log")
        with open(log_path, "w") as log:
            proc = subprocess.Popen([runnel_bin(), *broker.get("args", ["server"])], env=env,
                                    stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + (READY_S if want_ready else 2.0)
            ready = False
            while time.monotonic() < deadline and proc.poll() is None:
                if want_ready and http_ok(f"http://127.0.0.1:{ports[2]}/health/ready"):
                    ready = True
                    break
                time.sleep(0.2)
            live = proc.poll() is None and http_ok(f"http://127.0.0.1:{ports[2]}/health/live")
        finally:
            if proc.poll() is None:
                proc.terminate()
            try:
                code = proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
        with open(log_path) as f:
            log_text = f.read()
        os.unlink(log_path)
    if not live:
        t.diag(log_text[-2000:])
    t.ok(live, f"{overlay}: runnel server takes the settings a pod gets and serves "
               f"/health/live")
    if want_ready:
        t.ok(ready, f"{overlay}: the single node becomes ready (/health/ready)")
        t.eq(code, 0, f"{overlay}: and stops cleanly on SIGTERM")


# -- the test ------------------------------------------------------------------------------

def check_overlay(t, kc, overlay, budget_s):
    docs = render(kc, overlay)
    kinds = sorted(d["kind"] for d in docs)
    t.ok("StatefulSet" in kinds, f"{overlay}: kubectl kustomize renders {kinds}")
    problems = lint(docs, budget_s)
    for p in problems:
        t.diag(f"{overlay}: {p}")
    t.ok(not problems, f"{overlay}: the lint finds nothing wrong")
    for what, expect, mutate in MUTANTS:
        broken = copy.deepcopy(docs)
        mutate(broken)
        found = lint(broken, budget_s)
        t.ok(any(expect in p for p in found),
             f"{overlay}: the lint catches {what} (expects '{expect}' in {found})")
    return docs


def main():
    t = tap.Tap("Kubernetes manifests: rendered with kustomize and linted offline")
    skip_under_cluster(t, "Kubernetes manifests", OWN_NODES)
    kc = kubectl()
    try:
        import yaml  # noqa: F401
    except ImportError:
        kc = None
        t.diag("python3-yaml not installed")
    if kc is None:
        t.skip("manifests", "kubectl or python3-yaml not installed")
        t.done()
        return
    budget_s = shutdown_budget_s()
    t.diag(f"{kc}; shutdown budget {budget_s:.0f} s")
    overlays = sorted(os.listdir(OVERLAYS))
    t.ok({"single", "three"} <= set(overlays), f"overlays single and three exist ({overlays})")
    rendered = {}
    for overlay in overlays:
        rendered[overlay] = t.run(check_overlay, kc, overlay, budget_s,
                                  desc=f"overlay {overlay}")
    if target() != "runnel" or not os.access(runnel_bin(), os.X_OK):
        t.skip("broker takes the settings", "Runnel's own settings; needs the binary")
    else:
        for overlay, docs in rendered.items():
            if docs:
                want_ready = _sts(docs)["spec"].get("replicas") == 1
                t.run(start_pod, overlay, docs, want_ready, desc=f"{overlay}: start a pod")
    t.done()


if __name__ == "__main__":
    main()
