#!/usr/bin/env bash
# Stop the local Kubernetes (make k8s-cluster-down) and leave nothing behind:
# the kubelet and kube-proxy first, then every container and sandbox
# containerd still runs, containerd, the control plane and etcd (each by the
# pid up.sh recorded); then the mounts under the cluster's folders, the pods'
# network namespaces, the cni0 bridge, the kubelet's cgroups, the iptables
# chains Kubernetes made and the safety rules up.sh made, and the kernel
# settings as they were before the first start. The cluster's state (etcd,
# volumes, containers) is deleted; the binaries, images and certificates
# stay for the next start. Needs root.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/env.sh"
need_root
T0=$(date +%s)

stop() { # NAME: SIGTERM, then SIGKILL after 10 s
  local f=$K8S_PIDS/$1.pid p
  [ -f "$f" ] || return 0
  p=$(cat "$f")
  if kill -0 "$p" 2>/dev/null; then
    kill -TERM "$p" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$p" 2>/dev/null || break; sleep 0.25; done
    kill -KILL "$p" 2>/dev/null || true
  fi
  rm -f "$f"
}
stop kube-proxy
stop kubelet
if [ -S "$CTRD_SOCK" ]; then
  for t in $(ctrk tasks ls -q 2>/dev/null); do ctrk tasks kill -s SIGKILL "$t" >/dev/null 2>&1 || true; done
  sleep 1
  for t in $(ctrk tasks ls -q 2>/dev/null); do ctrk tasks delete -f "$t" >/dev/null 2>&1 || true; done
  for c in $(ctrk containers ls -q 2>/dev/null); do ctrk containers delete "$c" >/dev/null 2>&1 || true; done
fi
stop containerd
# containerd's shims outlive it: end those of this containerd (their command
# line names its socket's folder).
for p in $(pgrep -f "containerd-shim-runc-v2 .*-address $CTRD_SOCK" || true); do kill -KILL "$p" 2>/dev/null || true; done
stop kube-scheduler
stop kube-controller-manager
stop kube-apiserver
stop etcd

# Mounts under the cluster's folders (deepest first), the pods' network namespaces.
for m in $(awk '{print $5}' /proc/self/mountinfo | grep -E "^($K8S_RUN|/run/runnel-k8s)" | sort -r); do
  umount -l "$m" 2>/dev/null || true
done
for ns in $(ls /run/netns 2>/dev/null | grep '^cni-' || true); do
  umount -l "/run/netns/$ns" 2>/dev/null || true
  rm -f "/run/netns/$ns"
done
ip link del cni0 2>/dev/null || true
# The kubelet's cgroups (one tree per v1 controller).
for d in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/unified/kubepods; do
  [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true
done

# iptables: rules that jump to Kubernetes chains, then those chains; the
# safety rules last, once nothing can run.
for ipt in iptables ip6tables; do
  for t in filter nat mangle; do
    rules=$("$ipt" -t "$t" -S 2>/dev/null | grep -E '^-A ' | grep -vE '^-A KUBE-' | grep -E -- '-j KUBE-' || true)
    while read -r rule; do
      [ -z "$rule" ] || eval "$ipt -t $t -D ${rule#-A }" 2>/dev/null || true
    done <<< "$rules"
    chains=$("$ipt" -t "$t" -S 2>/dev/null | awk '$1 == "-N" && $2 ~ /^KUBE-/ {print $2}')
    for c in $chains; do "$ipt" -t "$t" -F "$c" 2>/dev/null || true; done
    for c in $chains; do "$ipt" -t "$t" -X "$c" 2>/dev/null || true; done
  done
done
rules=$(iptables -S | grep -- "--comment $FW_TAG" || true)
while read -r rule; do
  [ -z "$rule" ] || eval "iptables -D ${rule#-A }" || true
done <<< "$rules"

if [ -f "$K8S_STATE/sysctl.before" ]; then
  while IFS== read -r k v; do sysctl -qw "$k=$v" 2>/dev/null || true; done < "$K8S_STATE/sysctl.before"
fi
rm -f "$CNI_CONF"
find /var/log/containers -maxdepth 1 -type l -lname "$K8S_LOGS/*" -delete 2>/dev/null || true
rmdir /var/log/containers 2>/dev/null || true # the kubelet made it; only when empty
rm -rf "$K8S_STATE" "$K8S_PV" "$CTRD_ROOT" "$KUBELET_ROOT" /run/runnel-k8s
# containerd 1.6 keeps its shims' sockets under /run/containerd/s whatever its
# state folder, and runc its state under /run/containerd/runc: remove the
# folders if they are empty (another containerd's stay).
rmdir /run/containerd/runc/k8s.io /run/containerd/runc /run/containerd/s /run/containerd 2>/dev/null || true
echo "k8s-cluster-down: stopped and cleaned in $(( $(date +%s) - T0 )) s"
