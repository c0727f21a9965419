# Shared settings of the local Kubernetes scripts (sourced, not run): the
# versions, where the build and the running cluster live, and small helpers.
# Everything lives outside the checkout, under RUNNEL_K8S_HOME, so a build is
# made once per machine and reused by every checkout.

K8S_VERSION=${K8S_VERSION:-v1.34.4}
# The etcd Kubernetes 1.34 pins in its go.mod.
ETCD_VERSION=${ETCD_VERSION:-v3.6.4}
COREDNS_VERSION=${COREDNS_VERSION:-v1.12.1}
PAUSE_TAG=localhost/pause:3.10
COREDNS_TAG=localhost/coredns:${COREDNS_VERSION}

RUNNEL_K8S_HOME=${RUNNEL_K8S_HOME:-$HOME/.cache/runnel-k8s}
# Binaries are keyed on the versions: a version change builds a new folder.
K8S_BIN=$RUNNEL_K8S_HOME/bin-k8s-${K8S_VERSION}-etcd-${ETCD_VERSION}-coredns-${COREDNS_VERSION}
K8S_GO=$RUNNEL_K8S_HOME/go            # module cache, wrapper modules, build cache
K8S_RUN=$RUNNEL_K8S_HOME/cluster      # PKI, configs, state, logs, pids of the running cluster
K8S_PKI=$K8S_RUN/pki
K8S_CONF=$K8S_RUN/conf
K8S_LOGS=$K8S_RUN/logs
K8S_PIDS=$K8S_RUN/pids
K8S_STATE=$K8S_RUN/state
K8S_PV=$K8S_RUN/pv                    # hostPath persistent volumes
K8S_IMAGES=$RUNNEL_K8S_HOME/images-${COREDNS_VERSION}

GO=${GO:-/usr/local/go/bin/go}
KUBECTL_BIN=${KUBECTL:-}
if [ -z "$KUBECTL_BIN" ]; then
  for k in /usr/lib/google-cloud-sdk/bin/kubectl.1.33 /usr/lib/google-cloud-sdk/bin/kubectl.1.34 \
           /usr/lib/google-cloud-sdk/bin/kubectl.1.35; do
    if [ -x "$k" ]; then KUBECTL_BIN=$k; break; fi
  done
fi
KUBECONFIG_ADMIN=$K8S_CONF/admin.kubeconfig
kc() { "$KUBECTL_BIN" --kubeconfig "$KUBECONFIG_ADMIN" "$@"; }

NODE_NAME=$(hostname)
# The interface pods must never leave by (see up.sh's iptables rules).
UPLINK=${UPLINK:-$(ip -4 route show default | sed -n 's/.* dev \([^ ]*\).*/\1/p' | head -1)}
UPLINK=${UPLINK:-eth0}
NODE_IP=${NODE_IP:-$(ip -4 -o addr show dev "$UPLINK" | sed -n 's/.* inet \([0-9.]*\).*/\1/p' | head -1)}
SERVICE_CIDR=10.96.0.0/16
POD_CIDR=10.244.0.0/24
DNS_IP=10.96.0.10

need_root() {
  if [ "$(id -u)" -ne 0 ]; then echo "$0: needs root (containerd, kubelet, iptables, mounts)" >&2; exit 1; fi
}

# Outside /var/lib and /run/containerd, so nothing of the machine's own is
# touched and down.sh can remove everything.
CTRD_ROOT=$K8S_RUN/containerd
CTRD_STATE=/run/runnel-k8s/containerd
CTRD_SOCK=/run/runnel-k8s/containerd.sock
KUBELET_ROOT=$K8S_RUN/kubelet
CNI_CONF=/etc/cni/net.d/10-runnel-k8s.conflist
ctrk() { ctr --address "$CTRD_SOCK" -n k8s.io "$@"; }
# The kernel settings the kubelet and kube-proxy change at start: saved
# before the first start, put back once the node is up and at stop.
SYSCTLS="kernel.panic kernel.panic_on_oops vm.overcommit_memory vm.panic_on_oom kernel.keys.root_maxkeys
kernel.keys.root_maxbytes net.ipv4.conf.all.route_localnet net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables"
# Tag of the safety rules up.sh inserts, so down.sh removes exactly those.
FW_TAG=runnel-k8s-safety
