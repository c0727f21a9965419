#!/usr/bin/env bash
# Start a single-node Kubernetes on this machine (make k8s-cluster): installs
# what is missing (deps.sh), builds the binaries once (build.sh), writes the
# certificates and configs (pki.sh) and images (images.sh), then starts
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler, containerd,
# the kubelet and kube-proxy as background processes (pids in $K8S_PIDS),
# CoreDNS and a default StorageClass, and prints the time from nothing to a
# Ready node. A cluster already up is left as it is. Stop with down.sh.
# Needs root.
#
# Safety: before anything starts, iptables rules drop every packet routed
# from pods out of the uplink and every packet for the service and pod ranges
# leaving by it, so nothing leaves the machine; the CNI does no masquerading
# and CoreDNS has no upstream.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/env.sh"
need_root
[ -x "$KUBECTL_BIN" ] || { echo "up: no kubectl (set KUBECTL)" >&2; exit 1; }

node_ready() { kc get node "$NODE_NAME" --no-headers 2>/dev/null | awk '{print $2}' | grep -qx Ready; }
if [ -f "$K8S_PIDS/kube-apiserver.pid" ] && kill -0 "$(cat "$K8S_PIDS/kube-apiserver.pid")" 2>/dev/null && node_ready; then
  echo "up: cluster already running (node $NODE_NAME Ready); kubeconfig $KUBECONFIG_ADMIN"
  exit 0
fi

START=$(date +%s.%N)
for f in "$K8S_PIDS"/*.pid; do
  if [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null; then
    echo "up: a previous start is still partly running ($(basename "$f" .pid)); run make k8s-cluster-down first" >&2
    exit 1
  fi
done
"$HERE/deps.sh"
"$HERE/build.sh"
"$HERE/pki.sh"
"$HERE/images.sh"

mkdir -p "$K8S_LOGS" "$K8S_STATE" "$K8S_PIDS" "$K8S_PV" "$(dirname "$CNI_CONF")" "$(dirname "$CTRD_SOCK")"
T0=$(date +%s.%N)
ts() { printf '[%5.1f s] %s\n' "$(echo "$(date +%s.%N) - $T0" | bc)" "$*"; }
bg() {
  local n=$1
  shift
  setsid "$@" > "$K8S_LOGS/$n.log" 2>&1 < /dev/null &
  echo $! > "$K8S_PIDS/$n.pid"
}
wait_for() { # WHAT SECONDS COMMAND...
  local what=$1 n=$(( $2 * 2 ))
  shift 2
  until "$@" >/dev/null 2>&1; do
    n=$((n - 1))
    if [ $n -le 0 ]; then echo "up: $what not ready; logs in $K8S_LOGS" >&2; exit 1; fi
    sleep 0.5
  done
}

# The kernel settings as they are before any start (kept across restarts).
if [ ! -f "$K8S_STATE/sysctl.before" ]; then
  for k in $SYSCTLS; do v=$(sysctl -n "$k" 2>/dev/null) && echo "$k=$v"; done > "$K8S_STATE/sysctl.before"
fi

# Safety first: pods never reach beyond the machine.
fw() { iptables -C "$@" -m comment --comment "$FW_TAG" -j DROP 2>/dev/null || iptables -I "$@" -m comment --comment "$FW_TAG" -j DROP; }
fw FORWARD -o "$UPLINK"
for r in 10.96.0.0/12 10.244.0.0/16; do fw OUTPUT -o "$UPLINK" -d "$r"; done
sysctl -qw net.bridge.bridge-nf-call-iptables=1 net.ipv4.ip_forward=1
cp "$K8S_CONF/10-runnel-k8s.conflist" "$CNI_CONF"

D=$K8S_PKI C=$K8S_CONF B=$K8S_BIN
bg etcd "$B/etcd" --name runnel-k8s --data-dir "$K8S_STATE/etcd" \
  --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
  --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
  --initial-cluster runnel-k8s=http://127.0.0.1:2380 --unsafe-no-fsync
bg containerd containerd --config "$C/containerd.toml"
bg kube-apiserver "$B/kube-apiserver" --advertise-address="$NODE_IP" --bind-address="$NODE_IP" --secure-port=6443 \
  --etcd-servers=http://127.0.0.1:2379 \
  --client-ca-file="$D/ca.crt" --tls-cert-file="$D/apiserver.crt" --tls-private-key-file="$D/apiserver.key" \
  --kubelet-client-certificate="$D/apiserver-kubelet-client.crt" --kubelet-client-key="$D/apiserver-kubelet-client.key" \
  --service-account-key-file="$D/sa.pub" --service-account-signing-key-file="$D/sa.key" \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-cluster-ip-range="$SERVICE_CIDR" --authorization-mode=Node,RBAC \
  --enable-admission-plugins=NodeRestriction --allow-privileged=true --profiling=false
ts "etcd, containerd, kube-apiserver started"
wait_for kube-apiserver 90 sh -c "curl -sf --cacert '$D/ca.crt' --cert '$D/admin.crt' --key '$D/admin.key' https://$NODE_IP:6443/readyz | grep -qx ok"
ts "kube-apiserver ready"
bg kube-controller-manager "$B/kube-controller-manager" --kubeconfig="$C/controller-manager.kubeconfig" \
  --authentication-kubeconfig="$C/controller-manager.kubeconfig" --authorization-kubeconfig="$C/controller-manager.kubeconfig" \
  --service-account-private-key-file="$D/sa.key" --root-ca-file="$D/ca.crt" \
  --cluster-signing-cert-file="$D/ca.crt" --cluster-signing-key-file="$D/ca.key" \
  --use-service-account-credentials=true --service-cluster-ip-range="$SERVICE_CIDR" \
  --bind-address=127.0.0.1 --leader-elect=false --profiling=false
bg kube-scheduler "$B/kube-scheduler" --kubeconfig="$C/scheduler.kubeconfig" \
  --authentication-kubeconfig="$C/scheduler.kubeconfig" --authorization-kubeconfig="$C/scheduler.kubeconfig" \
  --bind-address=127.0.0.1 --leader-elect=false --profiling=false
wait_for containerd 30 ctr --address "$CTRD_SOCK" version
ts "containerd ready"
for t in "$K8S_IMAGES"/*.tar; do ctrk images import "$t" >/dev/null; done
ts "images imported"
bg kubelet "$B/kubelet" --kubeconfig="$C/kubelet.kubeconfig" --config="$C/kubelet.yaml" --root-dir="$KUBELET_ROOT" \
  --hostname-override="$NODE_NAME" --node-ip="$NODE_IP" --v=1
bg kube-proxy "$B/kube-proxy" --config="$C/kube-proxy.yaml"
wait_for "node $NODE_NAME" 120 node_ready
READY=$(echo "$(date +%s.%N) - $T0" | bc)
ts "node $NODE_NAME Ready"
# The kubelet raised kernel.panic and friends at start: put the machine's values back.
while IFS== read -r k v; do sysctl -qw "$k=$v" 2>/dev/null || true; done < "$K8S_STATE/sysctl.before"
# Again: the restore above sets ip_forward and bridge-nf as they were before.
sysctl -qw net.bridge.bridge-nf-call-iptables=1 net.ipv4.ip_forward=1

kc apply -f "$C/coredns.yaml" >/dev/null
# Persistent volumes are hostPath folders under $K8S_PV, made for each claim
# by whoever uses the cluster (tests/k8s makes them as claims appear).
kc apply -f - >/dev/null <<Y
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: local-hostpath
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: Immediate
Y
wait_for CoreDNS 120 sh -c "'$KUBECTL_BIN' --kubeconfig '$KUBECONFIG_ADMIN' -n kube-system get deploy coredns -o jsonpath='{.status.readyReplicas}' | grep -qx 1"
ts "CoreDNS ready"
printf 'k8s-cluster: nothing to node Ready in %.1f s; kubeconfig %s\n' "$READY" "$KUBECONFIG_ADMIN"
printf 'k8s-cluster: up in %.1f s, with the checks (and any build) before the start\n' "$(echo "$(date +%s.%N) - $START" | bc)"
printf 'k8s-cluster: kubectl: %s --kubeconfig %s\n' "$KUBECTL_BIN" "$KUBECONFIG_ADMIN"
