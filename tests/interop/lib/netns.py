"""Several hosts on one machine for a cluster test: one network namespace
per node, each with a veth into a bridge of the test's own, so a node can
be cut off from the others (iptables in its namespace) while the test,
on the bridge's address, still reaches every node.

    with Hosts(3) as hosts:          # needs root, ip(8) and iptables(8)
        hosts.addr(1)                # "10.77.x.1": node 1's address
        hosts.wrap(1, cmd)           # cmd run inside node 1's namespace
        hosts.isolate(1)             # node 1 reaches only the test
        hosts.heal(1)

Names carry this process's id, so parallel runs do not collide; everything
is removed on exit (also after a failure). `available()` says whether this
machine can do it (root, the tools, namespaces), for a test to skip
otherwise. Nothing here sends traffic anywhere but the bridge.
"""

import os
import shutil
import subprocess


def _run(*cmd, check=True):
    return subprocess.run(list(cmd), check=check, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=20)


def available():
    """(True, "") or (False, why this machine cannot run namespaced hosts)."""
    if os.geteuid() != 0:
        return False, "needs root for network namespaces"
    for tool in ("ip", "iptables"):
        if not shutil.which(tool):
            return False, f"needs {tool}(8)"
    probe = f"rnprobe{os.getpid() % 100000}"
    try:
        _run("ip", "netns", "add", probe)
        _run("ip", "netns", "exec", probe, "iptables", "-S")
    except (OSError, subprocess.SubprocessError) as e:
        return False, f"network namespaces unusable here: {e}"
    finally:
        _run("ip", "netns", "del", probe, check=False)
    return True, ""


class Hosts:
    def __init__(self, n):
        tag = os.getpid() % 100000
        self.n = n
        self.bridge = f"rnbr{tag}"
        self.net = f"10.77.{tag % 250}"
        self.names = {i: f"rnh{tag}-{i}" for i in range(1, n + 1)}

    def addr(self, node_id):
        return f"{self.net}.{node_id}"

    def wrap(self, node_id, cmd):
        return ["ip", "netns", "exec", self.names[node_id]] + list(cmd)

    def __enter__(self):
        try:
            self._up()
        except Exception:
            self.down()
            raise
        return self

    def __exit__(self, *exc):
        self.down()
        return False

    def _up(self):
        _run("ip", "link", "add", self.bridge, "type", "bridge")
        _run("ip", "addr", "add", f"{self.net}.254/24", "dev", self.bridge)
        _run("ip", "link", "set", self.bridge, "up")
        for i, ns in self.names.items():
            veth = f"{self.bridge}v{i}"
            _run("ip", "netns", "add", ns)
            _run("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
            _run("ip", "link", "set", veth, "master", self.bridge, "up")
            _run("ip", "netns", "exec", ns, "ip", "addr", "add", f"{self.addr(i)}/24",
                 "dev", "eth0")
            _run("ip", "netns", "exec", ns, "ip", "link", "set", "eth0", "up")
            _run("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")

    def isolate(self, node_id):
        """Node node_id can talk to the test (the bridge's address) only."""
        ns = self.names[node_id]
        test = f"{self.net}.254"
        for chain, way in (("INPUT", "-s"), ("OUTPUT", "-d")):
            _run("ip", "netns", "exec", ns, "iptables", "-A", chain, way, test, "-j", "ACCEPT")
            _run("ip", "netns", "exec", ns, "iptables", "-A", chain, way, f"{self.net}.0/24",
                 "-j", "DROP")

    def heal(self, node_id):
        ns = self.names[node_id]
        for chain in ("INPUT", "OUTPUT"):
            _run("ip", "netns", "exec", ns, "iptables", "-F", chain)

    def down(self):
        for ns in self.names.values():
            _run("ip", "netns", "del", ns, check=False)
        _run("ip", "link", "del", self.bridge, check=False)
