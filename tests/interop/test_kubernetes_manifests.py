#!/usr/bin/env python3
"""The Kubernetes manifests and the Helm chart, checked offline.

Each overlay under deploy/kubernetes/overlays/ is rendered with `kubectl
kustomize`, and the Helm chart (deploy/helm/runnel) with each documented
values set (its ci/<overlay>-values.yaml) with `helm template`; each
rendering is linted for what no schema can express: every StatefulSet's
headless Service is its serviceName and publishes not-ready addresses;
pods start in Parallel; volumes claimed from templates; each set's pods
are under exactly one PodDisruptionBudget, which allows one pod down and
selects one role's pods; Services and probes name ports that exist, probes
ask the admin port's health endpoints (startup /health/started, liveness
/health/live, readiness /health/ready); the grace period is above the
broker's shutdown budget (read from the source); REPLICAS and SERVICE_NAME
match the spec; every pod is given the same voters, one per controller
pod at its stable name and controller port, and no two pods share a node
id; broker.rack is the zone the pods are pinned to and spread constraints
count the set's own pods; an external listener is offered at its
advertised port by a Service of each pod's own; non-root with a read-only
root file system; Prometheus annotations name the admin port. The lint is
shown to catch each of those broken on purpose.

The chart must render the same objects as the overlay of the same name:
compared object by object after dropping only Helm's own labels and putting
env and ports in order (`normalised`); planted differences show the
comparison finds what it should.

Last, the broker takes the settings: `runnel server` runs with the
environment a pod of each overlay gets, one pod per role (the single node
becomes ready; a pod of a larger cluster starts and waits for its peers).

Needs kubectl (kustomize is built in) and python3-yaml, and helm for the
chart; skipped without. Bounded: about 25 s."""

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
import kwire  # noqa: E402
import tap  # noqa: E402
from broker import OWN_NODES, ROOT, free_port, runnel_bin, skip_under_cluster, target  # noqa: E402

OVERLAYS = os.path.join(ROOT, "deploy", "kubernetes", "overlays")
CHART = os.path.join(ROOT, "deploy", "helm", "runnel")
HELM_CI = os.path.join(CHART, "ci")
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
    """The broker's pod templates (docs/CONFIGURATION.md), for the lint:
    ${NAME}, ${EACH} and ${ORDINAL+N}."""
    def one(m):
        name, offset = m.group(1), m.group(2)
        if name == "EACH":
            return str(each)
        if offset is not None:
            if name != "ORDINAL":
                raise KeyError(f"${{{name}+{offset}}}")
            return str(int(env["ORDINAL"]) + int(offset))
        return env[name]
    return re.sub(r"\$\{([A-Z_]+)(?:\+(\d+))?\}", one, text)


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


POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
ZONE_LABEL = "topology.kubernetes.io/zone"


class Set:
    """One StatefulSet as the lint sees it."""

    def __init__(self, sts):
        self.sts = sts
        self.name = sts["metadata"]["name"]
        self.spec = sts["spec"]
        self.pod = self.spec["template"]["spec"]
        self.labels = self.spec["template"]["metadata"].get("labels", {})
        self.broker = next((c for c in self.pod.get("containers", [])
                            if c["name"] == "runnel"), None)
        self.replicas = self.spec.get("replicas", 1)

    def env(self, name):
        return env_value(self.broker, name)

    def roles(self):
        return {r.strip() for r in (self.env("RUNNEL_PROCESS_ROLES") or "").split(",")}

    def pod_env(self, ordinal, ns="ns", host_ip="10.0.0.1"):
        """The template variables of pod `ordinal`."""
        return {"POD_NAME": f"{self.name}-{ordinal}", "STATEFULSET": self.name,
                "SERVICE": self.env("SERVICE_NAME") or "", "NAMESPACE": ns,
                "REPLICAS": self.env("REPLICAS") or "0", "ORDINAL": str(ordinal),
                "HOST_IP": host_ip}

    def node_id(self, ordinal):
        return int(expand(self.env("RUNNEL_NODE_ID") or "", self.pod_env(ordinal)))

    def selected_by(self, selector):
        """The ordinals a Service or budget selector picks out of this set."""
        if not selector:
            return []
        rest = {k: v for k, v in selector.items() if k != POD_NAME_LABEL}
        if rest and not selects(rest, self.labels):
            return []
        if not rest:
            return []
        if POD_NAME_LABEL not in selector:
            return list(range(self.replicas))
        return [n for n in range(self.replicas) if selector[POD_NAME_LABEL] == f"{self.name}-{n}"]


def lint(docs, budget_s):
    """Problems found in one rendered overlay or chart (empty: none)."""
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    sets = [Set(s) for s in by_kind.get("StatefulSet", [])]
    if not sets:
        return ["no StatefulSet"]
    if any(s.broker is None for s in sets):
        return ["a StatefulSet has no container named runnel"]
    services = {s["metadata"]["name"]: s for s in by_kind.get("Service", [])}
    problems = []
    for s in sets:
        problems += [f"{s.name}: {p}" for p in lint_set(s, services, budget_s)]
    problems += lint_services(services, sets)
    problems += lint_budgets(by_kind.get("PodDisruptionBudget", []), sets)
    problems += lint_quorum(sets)
    problems += lint_external(services, sets)
    return problems


def lint_set(s, services, budget_s):
    """One StatefulSet: what each must hold on its own."""
    problems = []
    spec, pod, broker = s.spec, s.pod, s.broker
    if spec.get("podManagementPolicy") != "Parallel":
        problems.append("podManagementPolicy is not Parallel: voters must start together")
    if not selects(spec["selector"].get("matchLabels"), s.labels):
        problems.append("the StatefulSet's selector does not select its own pod template")
    headless = services.get(spec.get("serviceName"))
    if headless is None:
        problems.append(f"no Service named serviceName {spec.get('serviceName')!r}")
    else:
        if headless["spec"].get("clusterIP") != "None":
            problems.append("the serviceName Service is not headless (clusterIP: None)")
        if headless["spec"].get("publishNotReadyAddresses") is not True:
            problems.append("the headless Service does not publish not-ready addresses")
        if not s.selected_by(headless["spec"].get("selector")):
            problems.append("the headless Service does not select the set's pods")

    claims = {v["metadata"]["name"] for v in spec.get("volumeClaimTemplates", [])}
    volumes = {v["name"] for v in pod.get("volumes", [])}
    if not claims:
        problems.append("no volumeClaimTemplates: data would not outlive the pod")
    for m in broker.get("volumeMounts", []):
        if m["name"] not in claims | volumes:
            problems.append(f"volume mount {m['name']} has no volume or claim template")
    data_mounts = [m["mountPath"] for m in broker.get("volumeMounts", [])
                   if m["name"] in claims]
    for d in filter(None, (x.strip() for x in (s.env("RUNNEL_LOG_DIRS") or "").split(","))):
        if not any(d == mp or d.startswith(mp.rstrip("/") + "/") for mp in data_mounts):
            problems.append(f"log dir {d} is not on a claimed volume")

    admin = s.env("RUNNEL_ADMIN_LISTENER") or "0.0.0.0:9644"
    admin_port = int(admin.rsplit(":", 1)[1])
    problems += lint_probes(broker, admin_port)

    grace = pod.get("terminationGracePeriodSeconds", 30)
    if grace <= budget_s:
        problems.append(f"terminationGracePeriodSeconds {grace} is not above the shutdown "
                        f"budget of {budget_s:.0f} s")
    if str(s.replicas) != s.env("REPLICAS"):
        problems.append(f"REPLICAS={s.env('REPLICAS')} but spec.replicas={s.replicas}")
    if s.env("SERVICE_NAME") != spec.get("serviceName"):
        problems.append(f"SERVICE_NAME={s.env('SERVICE_NAME')} but serviceName="
                        f"{spec.get('serviceName')}")
    problems += lint_security(pod, broker)
    problems += lint_placement(s)

    notes = spec["template"]["metadata"].get("annotations", {})
    if notes.get("prometheus.io/scrape") != "true":
        problems.append("no prometheus.io/scrape annotation")
    if notes.get("prometheus.io/port") != str(admin_port):
        problems.append(f"prometheus.io/port {notes.get('prometheus.io/port')} is not the "
                        f"admin port {admin_port}")
    return problems


def lint_probes(broker, admin_port):
    problems = []
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
    return problems


def lint_security(pod, broker):
    problems = []
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
    return problems


def pinned_zone(s):
    """The one zone a set's pods are pinned to by node affinity, or None."""
    terms = (s.pod.get("affinity", {}).get("nodeAffinity", {})
             .get("requiredDuringSchedulingIgnoredDuringExecution", {})
             .get("nodeSelectorTerms", []))
    zones = {v for t in terms for e in t.get("matchExpressions", [])
             if e.get("key") == ZONE_LABEL and e.get("operator") == "In"
             for v in e.get("values", [])}
    return zones.pop() if len(zones) == 1 and len(terms) == 1 else None


def lint_placement(s):
    """broker.rack is the zone the pods are pinned to; every topology spread
    constraint counts pods of this set."""
    problems = []
    zone, rack = pinned_zone(s), s.env("RUNNEL_BROKER_RACK")
    if zone is not None and "broker" in s.roles() and rack != zone:
        problems.append(f"broker.rack {rack!r} is not the zone {zone!r} the pods are pinned to")
    if rack is not None and zone is None:
        problems.append(f"broker.rack {rack!r} but the pods are not pinned to one zone")
    for c in s.pod.get("topologySpreadConstraints", []):
        if not selects(c.get("labelSelector", {}).get("matchLabels"), s.labels):
            problems.append(f"the topology spread constraint on {c.get('topologyKey')} "
                            f"counts none of the set's pods")
    return problems


def lint_services(services, sets):
    """Every Service selects pods of some set (all of them, or one by its
    pod name) and targets ports their container has."""
    problems = []
    for name, svc in services.items():
        sel = svc["spec"].get("selector")
        picked = [(s, s.selected_by(sel)) for s in sets]
        picked = [(s, ns) for s, ns in picked if ns]
        if not picked:
            problems.append(f"Service {name} does not select the broker pods")
            continue
        for s, _ in picked:
            for p in svc["spec"].get("ports", []):
                if port_number(s.broker, p.get("targetPort", p["port"])) is None:
                    problems.append(f"Service {name} port {p.get('name')} targets "
                                    f"{p.get('targetPort')!r}, not a container port of "
                                    f"{s.name}")
    return problems


def lint_budgets(pdbs, sets):
    """Each set's pods are under exactly one budget that allows one pod
    down and selects exactly the pods of one role (component)."""
    problems = []
    covered = {s.name: 0 for s in sets}
    for pdb in pdbs:
        name = pdb["metadata"]["name"]
        if pdb["spec"].get("maxUnavailable") != 1:
            problems.append(f"the PodDisruptionBudget {name} does not allow exactly one pod down")
        sel = pdb["spec"].get("selector", {}).get("matchLabels") or {}
        under = [s for s in sets if s.selected_by(sel)]
        components = {s.labels.get("app.kubernetes.io/component") for s in under}
        if (not under or len(components) != 1 or
                sel.get("app.kubernetes.io/component") not in components):
            problems.append(f"the PodDisruptionBudget {name} does not select exactly the "
                            f"broker pods (one role's pods, by its component label)")
        for s in under:
            covered[s.name] += 1
    for s, count in covered.items():
        if count != 1:
            problems.append(f"{s}: its pods are under {count} PodDisruptionBudgets, not exactly "
                            f"one")
    return problems


def lint_quorum(sets):
    """The voters: every pod with the controller role, at its stable name
    and its controller listener's port, and every pod is given that same
    list; node ids never collide; brokers advertise their stable names."""
    problems = []
    want = []
    owner = {}
    for s in sets:
        for n in range(s.replicas):
            try:
                node_id = s.node_id(n)
            except (KeyError, ValueError) as e:
                problems.append(f"{s.name}: node.id {s.env('RUNNEL_NODE_ID')}: cannot expand {e}")
                continue
            if node_id in owner:
                problems.append(f"node id {node_id} of {s.name}-{n} collides with {owner[node_id]}")
            owner[node_id] = f"{s.name}-{n}"
            if "controller" in s.roles():
                cport = listener_port(s.env("RUNNEL_LISTENERS") or "",
                                      (s.env("RUNNEL_CONTROLLER_LISTENER_NAMES") or "")
                                      .split(",")[0].strip().upper())
                want.append(f"{node_id}@{s.name}-{n}.{s.spec.get('serviceName')}.ns.svc:{cport}")
                if cport is None or port_number(s.broker, cport) is None:
                    problems.append(f"{s.name}: the controller port {cport} is not a container "
                                    f"port")
    if not want:
        problems.append("no StatefulSet has the controller role: no quorum")
    for s in sets:
        voters = s.env("RUNNEL_CONTROLLER_QUORUM_VOTERS")
        if not voters:
            problems.append(f"{s.name}: no controller.quorum.voters")
            continue
        try:
            items = expand_list(voters, s.pod_env(0))
        except (KeyError, ValueError) as e:
            problems.append(f"{s.name}: controller.quorum.voters {voters}: cannot expand {e}")
            continue
        if sorted(items) != sorted(want):
            problems.append(f"{s.name}: the voters {items} are not one per controller pod at "
                            f"the controller port: {want}")
        if "broker" in s.roles():
            adv = s.env("RUNNEL_ADVERTISED_LISTENERS") or ""
            kport = listener_port(adv, "PLAINTEXT")
            if kport is None or port_number(s.broker, kport) is None:
                problems.append(f"{s.name}: advertised listener port {kport} is not a "
                                f"container port")
            if "${POD_NAME}" not in adv or "${SERVICE}" not in adv:
                problems.append(f"{s.name}: advertised.listeners does not name the pod's "
                                f"stable DNS name")
    return problems


def lint_external(services, sets):
    """A listener advertised beside PLAINTEXT is for clients outside: each
    pod has a Service of its own that offers it at the advertised port (the
    node port for NodePort, the port for LoadBalancer)."""
    problems = []
    for s in sets:
        adv = s.env("RUNNEL_ADVERTISED_LISTENERS") or ""
        for item in adv.split(","):
            lname = item.partition("://")[0].strip().upper()
            if not item or lname == "PLAINTEXT":
                continue
            lport = listener_port(s.env("RUNNEL_LISTENERS") or "", lname)
            if lport is None or port_number(s.broker, lport) is None:
                problems.append(f"{s.name}: the {lname} listener port {lport} is not a "
                                f"container port")
                continue
            for n in range(s.replicas):
                problems += lint_external_pod(s, n, item, lport, services)
    return problems


def lint_external_pod(s, n, item, lport, services):
    try:
        want = int(expand(item, s.pod_env(n)).rsplit(":", 1)[1])
    except (KeyError, ValueError) as e:
        return [f"{s.name}: {item}: cannot expand {e}"]
    pod = f"{s.name}-{n}"
    for name, svc in services.items():
        sel = svc["spec"].get("selector") or {}
        if POD_NAME_LABEL not in sel or s.selected_by(sel) != [n]:
            continue
        for p in svc["spec"].get("ports", []):
            if port_number(s.broker, p.get("targetPort", p["port"])) != lport:
                continue
            kind = svc["spec"].get("type", "ClusterIP")
            offered = p.get("nodePort") if kind == "NodePort" else p["port"]
            if kind not in ("NodePort", "LoadBalancer"):
                return [f"{pod}: Service {name} of type {kind} is not reachable from outside"]
            if offered != want:
                return [f"{pod}: {item} advertises port {want} but Service {name} offers "
                        f"{offered}"]
            return []
    return [f"{pod}: no Service of its own reaches its listener {item}"]


# -- broken on purpose: the lint must catch each --------------------------------------

def _sets(docs):
    return [d for d in docs if d["kind"] == "StatefulSet"]


def _sts(docs):
    return _sets(docs)[0]


def _broker(docs):
    return _sts(docs)["spec"]["template"]["spec"]["containers"][0]


def _kind(docs, kind, name=None):
    return next(d for d in docs if d["kind"] == kind and
                (name is None or d["metadata"]["name"] == name))


def _set_env(docs, name, value):
    env_of(_broker(docs))[name]["value"] = value


def _set_env_of(sts, name, value):
    env = env_of(sts["spec"]["template"]["spec"]["containers"][0])
    if name in env:
        env[name]["value"] = value
    else:
        sts["spec"]["template"]["spec"]["containers"][0]["env"].append(
            {"name": name, "value": value})


def _role_set(docs, role):
    """The first StatefulSet whose pods have exactly this role, or None."""
    return next((s for s in _sets(docs) if Set(s).roles() == {role}), None)


def _broker_ids_from_zero(docs):
    sts = _role_set(docs, "broker")
    if sts is None:
        return False
    _set_env_of(sts, "RUNNEL_NODE_ID", "${ORDINAL}")


def _rack_elsewhere(docs):
    sts = next((s for s in _sets(docs) if Set(s).env("RUNNEL_BROKER_RACK")), None)
    if sts is None:
        return False
    _set_env_of(sts, "RUNNEL_BROKER_RACK", "zone-elsewhere")


def _spread_elsewhere(docs):
    sts = next((s for s in _sets(docs)
                if s["spec"]["template"]["spec"].get("topologySpreadConstraints")), None)
    if sts is None:
        return False
    c = sts["spec"]["template"]["spec"]["topologySpreadConstraints"][0]
    c["labelSelector"]["matchLabels"]["app.kubernetes.io/component"] = "other"


def _external_port_off(docs):
    svc = next((d for d in docs if d["kind"] == "Service" and
                d["spec"].get("type") in ("NodePort", "LoadBalancer")), None)
    if svc is None:
        return False
    p = svc["spec"]["ports"][0]
    p["nodePort" if "nodePort" in p else "port"] += 1


def _external_service_gone(docs):
    svc = next((d for d in docs if d["kind"] == "Service" and
                d["spec"].get("type") in ("NodePort", "LoadBalancer")), None)
    if svc is None:
        return False
    docs.remove(svc)


def _voter_dropped(docs):
    sts = _role_set(docs, "broker")
    if sts is None:
        return False
    voters = Set(sts).env("RUNNEL_CONTROLLER_QUORUM_VOTERS")
    _set_env_of(sts, "RUNNEL_CONTROLLER_QUORUM_VOTERS", voters.rsplit(",", 1)[0])


# (what, a fragment the lint's problem must hold, the mutation: it returns
# False where the shape it breaks is absent from the overlay)
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
    ("broker ids from 0, as the controllers'", "collides", _broker_ids_from_zero),
    ("a broker without one of the voters", "one per controller pod", _voter_dropped),
    ("broker.rack not the zone", "not the zone", _rack_elsewhere),
    ("a spread constraint counting other pods", "counts none", _spread_elsewhere),
    ("an external port not the advertised one", "advertises port", _external_port_off),
    ("a pod without its external Service", "no Service of its own", _external_service_gone),
]


# -- the broker takes the settings ------------------------------------------------------

def pod_env(broker, sts, ordinal, ports):
    """The environment a pod of this StatefulSet gets, its ports moved to
    free ones on the loopback (the settings are otherwise as rendered)."""
    kport, cport, aport, eport = ports
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
    swap = {"9092": str(kport), "9093": str(cport), "9644": str(aport), "9094": str(eport)}
    for k in ("RUNNEL_LISTENERS", "RUNNEL_ADVERTISED_LISTENERS",
              "RUNNEL_CONTROLLER_QUORUM_VOTERS", "RUNNEL_ADMIN_LISTENER"):
        if k in env:
            env[k] = re.sub(r":(9092|9093|9094|9644)\b", lambda m: ":" + swap[m.group(1)],
                            env[k])
    env["RUNNEL_ADMIN_LISTENER"] = env["RUNNEL_ADMIN_LISTENER"].replace("0.0.0.0", "127.0.0.1")
    env["RUNNEL_CORES"] = "1"
    return env


def http_ok(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


def start_pod(t, overlay, sts, want_ready, when_ready=None):
    broker = sts["spec"]["template"]["spec"]["containers"][0]
    roles = env_value(broker, "RUNNEL_PROCESS_ROLES")
    what = f"{overlay}: pod {sts['metadata']['name']}-0 ({roles})"
    ports = (free_port(), free_port(), free_port(), free_port())
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
            if ready and when_ready:
                when_ready(ports)
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
    t.ok(live, f"{what}: runnel server takes the settings a pod gets and serves /health/live")
    if want_ready:
        t.ok(ready, f"{what}: the single node becomes ready (/health/ready)")
        t.eq(code, 0, f"{what}: and stops cleanly on SIGTERM")


def external_one_node(t, overlay, docs):
    """The external overlay's broker as a cluster of one (REPLICAS=1, so it
    becomes ready alone): Metadata asked on the EXTERNAL port names it at its
    node's address and node port, asked on PLAINTEXT at its headless name."""
    sts = copy.deepcopy(_sts(docs))
    sts["spec"]["replicas"] = 1
    _set_env_of(sts, "REPLICAS", "1")
    broker = sts["spec"]["template"]["spec"]["containers"][0]
    adv = env_value(broker, "RUNNEL_ADVERTISED_LISTENERS")
    external = next(i for i in adv.split(",") if i.startswith("EXTERNAL://"))
    want_external = expand(external, Set(sts).pod_env(0, host_ip="127.0.0.1"))[len("EXTERNAL://"):]
    node_id = Set(sts).node_id(0)
    seen = {}

    def ask(ports):
        seen["external"] = kwire.metadata_v4(f"127.0.0.1:{ports[3]}", [])[0].get(node_id)
        seen["internal"] = kwire.metadata_v4(f"127.0.0.1:{ports[0]}", [])[0].get(node_id)
        seen["want_internal"] = f"{sts['metadata']['name']}-0.{env_value(broker, 'SERVICE_NAME')}" \
                                f".default.svc:{ports[0]}"

    start_pod(t, f"{overlay} (one node)", sts, True, ask)
    t.eq(seen.get("external"), want_external,
         f"{overlay}: Metadata on the EXTERNAL port advertises the node address and port")
    t.eq(seen.get("internal"), seen.get("want_internal"),
         f"{overlay}: Metadata on PLAINTEXT advertises the headless name")


def pods_to_start(docs):
    """One pod of each role in the overlay: the first StatefulSet of each
    distinct process.roles."""
    seen = {}
    for sts in _sets(docs):
        roles = env_value(sts["spec"]["template"]["spec"]["containers"][0],
                          "RUNNEL_PROCESS_ROLES")
        seen.setdefault(roles, sts)
    return list(seen.values())


# -- the Helm chart renders the same objects ------------------------------------------------

# Labels Helm's conventions put on every object's own metadata, which the
# overlays do not carry. Nothing else is dropped.
HELM_LABELS = ("helm.sh/chart", "app.kubernetes.io/managed-by")


def helm():
    """helm: $HELM, else the one on PATH."""
    return shutil.which(os.environ.get("HELM") or "helm")


def helm_values_sets():
    """deploy/helm/runnel/ci/<overlay>-values.yaml: the documented sets."""
    return sorted(f[:-len("-values.yaml")] for f in os.listdir(HELM_CI)
                  if f.endswith("-values.yaml"))


def helm_render(hc, name):
    import yaml
    values = os.path.join(HELM_CI, f"{name}-values.yaml")
    res = subprocess.run([hc, "template", "runnel", CHART, "-f", values],
                         capture_output=True, text=True, timeout=60)
    if res.returncode != 0:
        raise AssertionError(f"helm template -f {values}: {res.stderr.strip()}")
    return [d for d in yaml.safe_load_all(res.stdout) if d]


def normalised(docs):
    """The objects by (kind, name), with only what must differ made equal:
    Helm's own labels dropped from each object's metadata.labels, and each
    container's env and ports put in name and number order (Kubernetes
    reads both as sets; env order matters only to $(VAR) references, and
    the manifests have none: checked here)."""
    out = {}
    for d in copy.deepcopy(docs):
        labels = d["metadata"].get("labels") or {}
        for k in HELM_LABELS:
            labels.pop(k, None)
        if d["kind"] == "StatefulSet":
            for c in d["spec"]["template"]["spec"]["containers"]:
                if any("$(" in (e.get("value") or "") for e in c.get("env", [])):
                    raise AssertionError(f"{d['metadata']['name']}: an env value refers to "
                                         f"$(VAR): its order matters, normalise no more")
                c["env"] = sorted(c.get("env", []), key=lambda e: e["name"])
                c["ports"] = sorted(c.get("ports", []), key=lambda p: p["containerPort"])
        key = (d["kind"], d["metadata"]["name"])
        if key in out:
            raise AssertionError(f"two objects {key}")
        out[key] = d
    return out


def differences(a, b, path=""):
    """Where two parsed objects differ, as readable lines."""
    if type(a) is not type(b):
        return [f"{path}: {a!r:.120} (overlay) != {b!r:.120} (chart)"]
    if isinstance(a, dict):
        lines = []
        for k in sorted(set(a) | set(b), key=str):
            if k not in b:
                lines.append(f"{path}.{k}: only in the overlay")
            elif k not in a:
                lines.append(f"{path}.{k}: only in the chart")
            else:
                lines += differences(a[k], b[k], f"{path}.{k}")
        return lines
    if isinstance(a, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} items (overlay) != {len(b)} (chart)"]
        return [line for n, (x, y) in enumerate(zip(a, b))
                for line in differences(x, y, f"{path}[{n}]")]
    return [] if a == b else [f"{path}: {a!r:.120} (overlay) != {b!r:.120} (chart)"]


def compare(overlay_docs, chart_docs):
    """Every difference between an overlay's objects and the chart's."""
    a, b = normalised(overlay_docs), normalised(chart_docs)
    lines = [f"{k[0]}/{k[1]}: only in the overlay" for k in sorted(set(a) - set(b))]
    lines += [f"{k[0]}/{k[1]}: only in the chart" for k in sorted(set(b) - set(a))]
    for k in sorted(set(a) & set(b)):
        lines += differences(a[k], b[k], f"{k[0]}/{k[1]}")
    return lines


# Planted differences: the comparison must find each (it normalises too
# much if not).
PLANTS = [
    ("an env value", lambda d: _set_env(d, "RUNNEL_LOG_DIRS", "/var/lib/runnel/other")),
    ("an env variable more",
     lambda d: _broker(d)["env"].append({"name": "RUNNEL_NUM_PARTITIONS", "value": "3"})),
    ("a pod label", lambda d: _sts(d)["spec"]["template"]["metadata"]["labels"].update(
        {"tier": "x"})),
    ("an object's own label",
     lambda d: _kind(d, "Service", "runnel")["metadata"]["labels"].update({"tier": "x"})),
    ("a port number", lambda d: _broker(d)["ports"][0].update(containerPort=19092)),
    ("an object less", lambda d: d.remove(_kind(d, "PodDisruptionBudget"))),
]


def check_chart(t, hc, name, overlays, budget_s):
    docs = helm_render(hc, name)
    kinds = sorted(d["kind"] for d in docs)
    t.ok("StatefulSet" in kinds, f"chart with ci/{name}-values.yaml: helm template renders "
                                 f"{kinds}")
    problems = lint(docs, budget_s)
    for p in problems:
        t.diag(f"chart {name}: {p}")
    t.ok(not problems, f"chart with ci/{name}-values.yaml: the lint finds nothing wrong")
    lint_res = subprocess.run([hc, "lint", CHART, "-f", os.path.join(HELM_CI,
                                                                     f"{name}-values.yaml")],
                              capture_output=True, text=True, timeout=60)
    if lint_res.returncode != 0:
        t.diag(lint_res.stdout[-1500:] + lint_res.stderr[-500:])
    t.eq(lint_res.returncode, 0, f"chart with ci/{name}-values.yaml: helm lint passes")
    if name not in overlays:
        t.ok(False, f"chart values set {name} has an overlay of the same name")
        return
    diff = compare(overlays[name], docs)
    for line in diff[:20]:
        t.diag(f"{name}: {line}")
    t.ok(not diff, f"chart with ci/{name}-values.yaml renders the objects of overlay "
                   f"{name} (Helm's labels dropped, env and ports in order)")
    for what, plant in PLANTS:
        planted = copy.deepcopy(docs)
        plant(planted)
        found = compare(overlays[name], planted)
        t.ok(found, f"{name}: the comparison finds a planted difference: {what} "
                    f"({found[:1]})")


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
        if mutate(broken) is False:
            continue
        found = lint(broken, budget_s)
        t.ok(any(expect in p for p in found),
             f"{overlay}: the lint catches {what} (expects '{expect}' in {found})")
    return docs


def check_pods(t, rendered):
    if target() != "runnel" or not os.access(runnel_bin(), os.X_OK):
        t.skip("broker takes the settings", "Runnel's own settings; needs the binary")
        return
    for overlay, docs in rendered.items():
        if not docs:
            continue
        for sts in pods_to_start(docs):
            want_ready = sts["spec"].get("replicas") == 1 and len(_sets(docs)) == 1
            t.run(start_pod, overlay, sts, want_ready,
                  desc=f"{overlay}: start pod {sts['metadata']['name']}-0")
    if rendered.get("nodeport"):
        t.run(external_one_node, "nodeport", rendered["nodeport"],
              desc="nodeport: the EXTERNAL listener as one node")


def check_charts(t, rendered, budget_s):
    hc = helm()
    if hc is None:
        t.skip("Helm chart", "helm not installed (RUNNEL_DEPS_HELM=1 scripts/install-deps.sh "
                             "builds it)")
        return
    names = helm_values_sets()
    t.eq(names, sorted(rendered), "one documented Helm values set per overlay")
    for name in names:
        t.run(check_chart, hc, name, rendered, budget_s, desc=f"chart {name}")
    t.run(check_chart_choices, hc, budget_s, desc="chart: other names and choices")


# Values beyond the documented sets: another release name, choices
# combined, counts changed. Each must render something the lint accepts.
CHOICES = [
    ("streams", ["-f", os.path.join(HELM_CI, "zones-values.yaml"), "--set", "replicas=2"]),
    ("streams", ["--set", "controllers.enabled=true", "--set", "controllers.replicas=5",
                 "--set", "external.type=nodeport", "--set", "replicas=4"]),
    ("kafka", ["--set", "external.type=loadbalancer", "--set", "storage.className=fast"]),
]
# Values the chart refuses, with the reason it must give.
REFUSED = [
    (["--set", "zones={a,b}"], "zones need controllers.enabled"),
    (["--set", "external.type=ingress"], "none, nodeport or loadbalancer"),
    (["--set", "controllers.enabled=true", "--set", "zones={a,b}",
      "--set", "external.type=nodeport"], "not with zones"),
]


def check_chart_choices(t, hc, budget_s):
    import yaml
    for release, args in CHOICES:
        res = subprocess.run([hc, "template", release, CHART, *args], capture_output=True,
                             text=True, timeout=60)
        docs = [d for d in yaml.safe_load_all(res.stdout) if d] if res.returncode == 0 else []
        problems = lint(docs, budget_s) if docs else [res.stderr.strip()]
        for p in problems:
            t.diag(f"{release} {args}: {p}")
        t.ok(not problems, f"chart as release {release} with {args}: the lint finds nothing "
                           f"wrong")
    for args, reason in REFUSED:
        res = subprocess.run([hc, "template", "runnel", CHART, *args], capture_output=True,
                             text=True, timeout=60)
        t.ok(res.returncode != 0 and reason in res.stderr,
             f"chart refuses {args}: '{reason}' ({res.stderr.strip()[-160:]})")


def main():
    t = tap.Tap("Kubernetes manifests and the Helm chart: rendered and linted offline")
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
    t.diag(f"{kc}; {helm()}; shutdown budget {budget_s:.0f} s")
    overlays = sorted(os.listdir(OVERLAYS))
    want = {"single", "three", "separate", "nodeport", "loadbalancer", "zones"}
    t.ok(want <= set(overlays), f"overlays {sorted(want)} exist ({overlays})")
    rendered = {}
    for overlay in overlays:
        rendered[overlay] = t.run(check_overlay, kc, overlay, budget_s,
                                  desc=f"overlay {overlay}")
    check_charts(t, rendered, budget_s)
    check_pods(t, rendered)
    t.done()


if __name__ == "__main__":
    main()
