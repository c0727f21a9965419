#!/usr/bin/env bash
# Package the cluster's own images from the binaries build.sh made: the pod
# sandbox (pause) and CoreDNS, each from scratch with buildah, written as
# archives up.sh imports into containerd (nothing is ever pulled). Once per
# version; a second run is a no-op.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/env.sh"
[ -f "$K8S_IMAGES/pause.tar" ] && [ -f "$K8S_IMAGES/coredns.tar" ] && { echo "images: present in $K8S_IMAGES"; exit 0; }
mkdir -p "$K8S_IMAGES.tmp"
# image NAME TAG BINARY ENTRYPOINT
image() {
  local c
  c=$(buildah from scratch)
  buildah copy --quiet "$c" "$3" "$4" >/dev/null
  buildah config --entrypoint "[\"$4\"]" --cmd '' "$c"
  buildah commit --quiet "$c" "$2" >/dev/null
  buildah rm "$c" >/dev/null
  rm -f "$K8S_IMAGES.tmp/$1.tar"
  buildah push --quiet "$2" "docker-archive:$K8S_IMAGES.tmp/$1.tar:$2"
  buildah rmi "$2" >/dev/null 2>&1 || true
}
image pause "$PAUSE_TAG" "$K8S_BIN/pause" /pause
image coredns "$COREDNS_TAG" "$K8S_BIN/coredns" /coredns
rm -rf "$K8S_IMAGES"
mv "$K8S_IMAGES.tmp" "$K8S_IMAGES"
ls -la "$K8S_IMAGES"
