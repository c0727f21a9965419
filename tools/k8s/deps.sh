#!/usr/bin/env bash
# Install, from Debian, what a local single-node Kubernetes needs besides the
# binaries build.sh makes: containerd and runc (the container runtime), the
# CNI plugins (bridge, host-local, portmap), iptables, conntrack and socat
# (kube-proxy, port-forward), openssl (the cluster's certificates), buildah
# (the images), gcc (the pause program). apt runs only when something is
# missing. Needs root.
set -euo pipefail
PACKAGES=(containerd runc containernetworking-plugins iptables conntrack socat openssl buildah gcc libc6-dev bc)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then echo "deps: needs root to install ${missing[*]}" >&2; exit 1; fi
  echo "deps: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "deps: ok"
