#!/usr/bin/env bash
# Build Helm from its Go module (no prebuilt download) and install it as
# /usr/local/bin/helm, for the Helm chart's offline test
# (tests/interop/test_kubernetes_manifests.py skips the chart without it).
#
# Cached outside the checkout: the binary is built once into
# $RUNNEL_CACHE/helm-<version>/ (default ~/.cache/runnel) and only copied
# after that. The build is long for CI: 5 to 6 minutes of wall time on one
# core (GOMAXPROCS=1; 318 and 361 s measured), about 250 s of CPU, 0.5 GB
# of modules and 1.2 GB of build cache (removed afterwards), so
# scripts/install-deps.sh runs this only with RUNNEL_DEPS_HELM=1. Needs Go
# 1.25 or later on PATH.
#
#   tools/helm.sh                          build (or reuse) and install
#   HELM_BIN_DIR=DIR tools/helm.sh         install into DIR instead
#   GOMAXPROCS=2 tools/helm.sh             build on two cores
set -euo pipefail

HELM_MODULE=helm.sh/helm/v4
HELM_VERSION=v4.3.2
CACHE=${RUNNEL_CACHE:-$HOME/.cache/runnel}/helm-$HELM_VERSION
BIN_DIR=${HELM_BIN_DIR:-/usr/local/bin}

as_root() {
  if [ "$(id -u)" -eq 0 ] || [ -w "$BIN_DIR" ]; then "$@"; else sudo "$@"; fi
}

if [ ! -x "$CACHE/helm" ]; then
  command -v go >/dev/null || { echo "helm: go not found (Go 1.25 or later)" >&2; exit 1; }
  echo "helm: building $HELM_MODULE $HELM_VERSION (minutes)" >&2
  mkdir -p "$CACHE"
  work=$(mktemp -d)
  trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
  start=$(date +%s)
  GOMAXPROCS=${GOMAXPROCS:-1} CGO_ENABLED=0 GOFLAGS=-buildvcs=false \
    GOCACHE="$work/cache" GOMODCACHE="$work/mod" GOBIN="$work/bin" \
    go install -trimpath -ldflags='-s -w' "$HELM_MODULE/cmd/helm@$HELM_VERSION"
  mv "$work/bin/helm" "$CACHE/helm"
  echo "helm: built in $(($(date +%s) - start)) s" >&2
fi

if ! cmp -s "$CACHE/helm" "$BIN_DIR/helm" 2>/dev/null; then
  as_root install -m 0755 "$CACHE/helm" "$BIN_DIR/helm"
fi
"$BIN_DIR/helm" version --short >&2
