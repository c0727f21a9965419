#!/usr/bin/env bash
# Builds a reference image of Apache Kafka 3.9 for the k8s scenarios'
# figures (tests/k8s/test_k8s.py with RUNNEL_K8S_KAFKA=1): from scratch with
# buildah, the host's Java 17 runtime (its libraries as ldd lists them), the
# Kafka jars, dash as /bin/sh and entrypoint.sh, which writes the settings
# from the pod's name (Kafka reads no pod templates) and formats an empty
# data folder. Writes build/kafka-image.tar (tag localhost/kafka:3.9).
#
#   tests/k8s/kafka/build-image.sh [JARS]   (default $KAFKA_JARS, else build/kafka-jars)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
JARS=${1:-${KAFKA_JARS:-$ROOT/build/kafka-jars}}
JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}
TAG=localhost/kafka:3.9
ARCHIVE=$ROOT/build/kafka-image.tar
[ -d "$JARS" ] || { echo "kafka image: no jars in $JARS (tools/kafka-jars.sh)" >&2; exit 1; }

STAGE=$(mktemp -d)
CTR=
cleanup() { rm -rf "$STAGE"; [ -z "$CTR" ] || buildah rm "$CTR" >/dev/null 2>&1 || true; }
trap cleanup EXIT
R=$STAGE/rootfs
mkdir -p "$R/opt/java" "$R/opt/kafka/libs" "$R/bin" "$R/etc" "$R/tmp" "$R/var/lib/kafka"
chmod 1777 "$R/tmp"
# The runtime only: no jmods, headers or sources.
for d in bin conf lib release; do cp -rL "$JAVA_HOME/$d" "$R/opt/java/" 2>/dev/null || true; done
cp -L "$JARS"/*.jar "$R/opt/kafka/libs/"
install -m 0755 "$HERE/entrypoint.sh" "$R/opt/kafka/entrypoint.sh"
install -m 0755 /usr/bin/dash "$R/bin/sh"
printf 'hosts: files dns\n' > "$R/etc/nsswitch.conf"
libs=$( { ldd "$R/opt/java/bin/java"; ldd /usr/bin/dash; find "$R/opt/java/lib" -name '*.so' -exec ldd {} \; ; } 2>/dev/null |
  awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | sort -u)
libdir=$(dirname "$(ldd /usr/bin/dash | awk '$1 ~ /^libc\.so/ {print $3}')")
for lib in $libs $libdir/libnss_files.so.2 $libdir/libnss_dns.so.2; do
  case "$lib" in "$R"*) continue ;; esac
  install -D -m 0644 "$(readlink -f "$lib")" "$R$lib"
done
chmod 0755 "$R"/lib*/ld-linux*.so* 2>/dev/null || true

CTR=$(buildah from scratch)
buildah copy --quiet "$CTR" "$R" / >/dev/null
buildah copy --quiet --chown 65532:65532 "$CTR" "$STAGE/rootfs/var/lib/kafka" /var/lib/kafka >/dev/null
buildah config --entrypoint '["/opt/kafka/entrypoint.sh"]' --cmd '' --user 65532:65532 \
  --env JAVA_HOME=/opt/java --port 9092/tcp --port 9093/tcp --stop-signal SIGTERM "$CTR"
buildah commit --quiet --format oci "$CTR" "$TAG" >/dev/null
buildah rm "$CTR" >/dev/null
CTR=
rm -f "$ARCHIVE"
buildah push --quiet "$TAG" "oci-archive:$ARCHIVE:$TAG"
echo "kafka image: $TAG, root file system $(du -sh "$R" | cut -f1), archive $(du -sh "$ARCHIVE" | cut -f1)"
