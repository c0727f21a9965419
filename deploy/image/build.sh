#!/usr/bin/env bash
# Builds Runnel's OCI image from scratch with buildah: no distribution base
# and no shell, only the broker binary (stripped), the shared libraries it
# loads (as ldd lists them), a hosts line for name resolution and the data
# folder, owned by the non-root user the broker runs as (numeric; the
# broker needs no passwd entry). Tags it and writes an OCI archive, then
# prints the sizes.
#
#   deploy/image/build.sh [BINARY]        (make image)
#   RUNNEL_IMAGE_TAG      the tag (default localhost/runnel:dev)
#   RUNNEL_IMAGE_ARCHIVE  the OCI archive (default build/runnel-image.tar)
set -euo pipefail
cd "$(dirname "$0")/../.."

BIN=${1:-build/release/runnel}
TAG=${RUNNEL_IMAGE_TAG:-localhost/runnel:dev}
ARCHIVE=${RUNNEL_IMAGE_ARCHIVE:-build/runnel-image.tar}
RUN_AS=65532 # uid and gid: no name needed, outside any distribution's ranges
DATA=/var/lib/runnel

command -v buildah >/dev/null || {
  echo "image: buildah not found (apt-get install buildah)" >&2
  exit 1
}
[ -x "$BIN" ] || {
  echo "image: $BIN not built (make)" >&2
  exit 1
}

STAGE=$(mktemp -d)
CTR=
cleanup() {
  rm -rf "$STAGE"
  [ -z "$CTR" ] || buildah rm "$CTR" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# The root file system: binary, its libraries at the paths ldd resolves
# them to, the loader.
ROOTFS=$STAGE/rootfs
install -D -m 0755 "$BIN" "$ROOTFS/usr/bin/runnel"
strip --strip-unneeded "$ROOTFS/usr/bin/runnel"
libs=$(ldd "$BIN" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}')
# glibc's name service modules are loaded at run time, not linked: host
# names (advertised listeners, voters) resolve through files and dns.
libdir=$(dirname "$(ldd "$BIN" | awk '$1 ~ /^libc\.so/ {print $3}')")
libs="$libs $libdir/libnss_files.so.2 $libdir/libnss_dns.so.2"
for lib in $libs; do
  install -D -m 0644 "$(readlink -f "$lib")" "$ROOTFS$lib"
done
chmod 0755 "$ROOTFS"/lib*/ld-linux*.so* 2>/dev/null || true
mkdir -p "$ROOTFS/etc"
printf 'hosts: files dns\n' >"$ROOTFS/etc/nsswitch.conf"
mkdir -p "$STAGE/data"

CTR=$(buildah from scratch)
buildah copy --quiet "$CTR" "$ROOTFS" / >/dev/null
buildah copy --quiet --chown "$RUN_AS:$RUN_AS" "$CTR" "$STAGE/data" "$DATA" >/dev/null
buildah config \
  --entrypoint '["/usr/bin/runnel"]' --cmd '["server"]' \
  --user "$RUN_AS:$RUN_AS" --workingdir / \
  --env RUNNEL_LOG_DIRS="$DATA/data" \
  --volume "$DATA" \
  --port 9092/tcp --port 9093/tcp --port 9644/tcp \
  --stop-signal SIGTERM \
  --label org.opencontainers.image.title=runnel \
  --label org.opencontainers.image.description="Kafka-compatible event-streaming broker" \
  "$CTR"
buildah commit --quiet --format oci "$CTR" "$TAG" >/dev/null
buildah rm "$CTR" >/dev/null
CTR=

mkdir -p "$(dirname "$ARCHIVE")"
rm -f "$ARCHIVE"
buildah push --quiet "$TAG" "oci-archive:$ARCHIVE:$TAG"

rootfs_bytes=$(du -sb "$ROOTFS" | cut -f1)
archive_bytes=$(stat -c %s "$ARCHIVE")
mib() { awk -v b="$1" 'BEGIN {printf "%.1f MiB", b / 1048576}'; }
echo "image: $TAG"
echo "image: root file system $(mib "$rootfs_bytes") ($(echo $libs | wc -w) libraries)"
echo "image: OCI archive $ARCHIVE $(mib "$archive_bytes")"
buildah images --format '{{.Name}}:{{.Tag}} {{.Size}}' "$TAG"
