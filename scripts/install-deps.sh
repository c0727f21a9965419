#!/usr/bin/env bash
# Install what Runnel's build and tests need on Debian 12 (bookworm):
# compilers and sanitizer/libFuzzer runtimes, the libraries the broker and CLI
# link, the Kafka clients the interop tests drive (kcat, librdkafka,
# confluent-kafka and kafka-python for /usr/bin/python3), Java and Maven for the
# reference Kafka broker and tools, then the Kafka jars (tools/kafka-jars.sh)
# and the npm packages of any package.json under tests/; with
# RUNNEL_DEPS_HELM=1, Helm too, built from its Go module (tools/helm.sh:
# minutes of build the first time, so not by default; the Helm chart's test
# skips without it).
#
# Idempotent and quick when everything is present: apt runs only when a package
# is missing. Uses sudo only when not root.
#
#   scripts/install-deps.sh
#   RUNNEL_DEPS_NO_JARS=1 scripts/install-deps.sh    skip the Kafka jars
#   RUNNEL_DEPS_NO_NPM=1 scripts/install-deps.sh     skip npm packages
#   RUNNEL_DEPS_HELM=1 scripts/install-deps.sh       also build and install helm
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)

PACKAGES=(
  # build
  gcc make clang libclang-rt-14-dev clang-format clang-tidy pkg-config git
  zlib1g-dev liblz4-dev libzstd-dev libsnappy-dev libmicrohttpd-dev librdkafka-dev
  # unit tests
  libcmocka-dev
  # interop tests: clients and tools
  kcat python3 python3-confluent-kafka python3-kafka
  python3-snappy python3-lz4 python3-zstandard
  # the Kubernetes manifests' lint (it also needs a kubectl with kustomize
  # v5, newer than Debian 12's kubernetes-client: the test skips without it)
  python3-yaml
  # reference broker and Kafka's tools and Java client
  openjdk-17-jdk-headless maven
  # test runner
  coreutils procps ca-certificates
)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

# A toolchain already on PATH (from the base image) counts as present.
have_cmd_for() {
  case "$1" in
    openjdk-17-jdk-headless) command -v javac >/dev/null && javac -version 2>&1 | grep -qE ' (1[7-9]|2[0-9])' ;;
    maven) command -v mvn >/dev/null ;;
    *) return 1 ;;
  esac
}
still=()
for p in "${missing[@]+"${missing[@]}"}"; do
  have_cmd_for "$p" || still+=("$p")
done
missing=("${still[@]+"${still[@]}"}")

if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -q
  as_root apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "install-deps: Debian packages present" >&2
fi

if [ "${RUNNEL_DEPS_NO_JARS:-0}" != 1 ]; then
  "$ROOT/tools/kafka-jars.sh"
fi

if [ "${RUNNEL_DEPS_HELM:-0}" = 1 ]; then
  "$ROOT/tools/helm.sh"
fi

if [ "${RUNNEL_DEPS_NO_NPM:-0}" != 1 ]; then
  while IFS= read -r pkg; do
    dir=$(dirname "$pkg")
    if [ -d "$dir/node_modules" ] && [ "$dir/node_modules" -nt "$pkg" ]; then
      continue
    fi
    command -v npm >/dev/null || { echo "install-deps: npm not found (Node 20 expected)" >&2; exit 1; }
    echo "install-deps: npm packages for $dir" >&2
    if [ -f "$dir/package-lock.json" ]; then
      (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    else
      (cd "$dir" && npm install --no-audit --no-fund --loglevel=error)
    fi
    touch "$dir/node_modules"
  done < <(find "$ROOT/tests" -name package.json -not -path '*/node_modules/*' 2>/dev/null | sort)
fi
