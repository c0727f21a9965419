#!/usr/bin/env bash
# Build, once, the binaries of a single-node Kubernetes from the Go module
# proxy: etcd, the five Kubernetes server binaries (one `go build`), a minimal
# CoreDNS, and the pause program (static C). The result goes to $K8S_BIN
# (outside the checkout, keyed on the versions); a second run is a no-op.
# The Go build cache is deleted after a build (about 3.5 GB); the module cache
# stays so a version bump downloads only what changed.
#
# GOMAXPROCS defaults to 1 so the build (15+ minutes of CPU) leaves a core for
# other work on a 2-core machine; K8S_GOMAXPROCS=2 builds faster.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/env.sh"

if [ -x "$K8S_BIN/kube-apiserver" ] && [ -x "$K8S_BIN/etcd" ] && [ -x "$K8S_BIN/coredns" ] && [ -x "$K8S_BIN/pause" ]; then
  echo "build: binaries present in $K8S_BIN"
  exit 0
fi

export PATH=$(dirname "$GO"):$PATH
export GOMAXPROCS=${K8S_GOMAXPROCS:-1}
export GOMODCACHE=$K8S_GO/mod GOCACHE=$K8S_GO/cache GOPATH=$K8S_GO/path
export CGO_ENABLED=0 GOFLAGS="-trimpath -buildvcs=false" GOTOOLCHAIN=local
mkdir -p "$K8S_GO" "$K8S_BIN.tmp"
OUT=$K8S_BIN.tmp
t0=$(date +%s)
el() { echo "[$(( $(date +%s) - t0 )) s] $*"; }

# pause: the sandbox container's only process.
cat > "$K8S_GO/pause.c" <<'C'
/* The pod sandbox's process: waits, reaps children, exits on INT/TERM. */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
static void quit(int s) { (void)s; _exit(0); }
static void reap(int s) { (void)s; while (waitpid(-1, 0, WNOHANG) > 0) {} }
int main(void) {
  signal(SIGINT, quit);
  signal(SIGTERM, quit);
  signal(SIGCHLD, reap);
  for (;;) pause();
}
C
gcc -static -Os -s -o "$OUT/pause" "$K8S_GO/pause.c"
el "pause built"

# etcd: module go.etcd.io/etcd/server/v3 (its root package is main).
mkdir -p "$K8S_GO/ebuild"
cd "$K8S_GO/ebuild"
[ -f go.mod ] || go mod init runnel-k8s/ebuild >/dev/null 2>&1
go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
el "etcd modules"
go build -ldflags='-s -w' -o "$OUT/etcd" go.etcd.io/etcd/server/v3
el "etcd built"

# Kubernetes: k8s.io/kubernetes is not `go install`-able (its go.mod replaces
# the staging modules with local paths), so a wrapper module pins each staging
# module to the matching v0.x release.
KMINOR=$(echo "$K8S_VERSION" | cut -d. -f2)
KPATCH=$(echo "$K8S_VERSION" | cut -d. -f3)
STAGING="api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider
cluster-bootstrap code-generator component-base component-helpers controller-manager cri-api cri-client
csi-translation-lib dynamic-resource-allocation endpointslice externaljwt kms kube-aggregator
kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics mount-utils
pod-security-admission sample-apiserver sample-cli-plugin sample-controller"
mkdir -p "$K8S_GO/kbuild"
cd "$K8S_GO/kbuild"
{
  echo "module runnel-k8s/kbuild"
  echo
  echo "go 1.24.0"
  echo
  echo "require k8s.io/kubernetes $K8S_VERSION"
  echo
  echo "replace ("
  for m in $STAGING; do echo "	k8s.io/$m => k8s.io/$m v0.$KMINOR.$KPATCH"; done
  echo ")"
} > go.mod
CMDS="kube-apiserver kubelet kube-controller-manager kube-scheduler kube-proxy"
go get $(for c in $CMDS; do echo "k8s.io/kubernetes/cmd/$c@$K8S_VERSION"; done)
el "kubernetes modules"
V=k8s.io/component-base/version
CV=k8s.io/client-go/pkg/version
LDF="-s -w -X $V.gitVersion=$K8S_VERSION -X $V.gitMajor=1 -X $V.gitMinor=$KMINOR -X $V.gitTreeState=clean"
LDF="$LDF -X $CV.gitVersion=$K8S_VERSION -X $CV.gitMajor=1 -X $CV.gitMinor=$KMINOR"
go build -ldflags="$LDF" -o "$OUT/" $(for c in $CMDS; do echo "k8s.io/kubernetes/cmd/$c"; done)
el "kubernetes built"

# CoreDNS with only the plugins a cluster-local resolver needs, and a
# `template` catch-all so names outside the cluster get NXDOMAIN at once
# (there is no upstream: nothing may leave the machine).
mkdir -p "$K8S_GO/cbuild"
cd "$K8S_GO/cbuild"
cat > main.go <<'G'
// A minimal CoreDNS: cluster names only, NXDOMAIN for the rest.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/template"
)

func init() {
	dnsserver.Directives = []string{"log", "health", "ready", "errors", "cache", "loadbalance", "kubernetes", "template"}
}

func main() { coremain.Run() }
G
[ -f go.mod ] || go mod init runnel-k8s/cbuild >/dev/null 2>&1
go get "github.com/coredns/coredns@$COREDNS_VERSION"
go mod tidy
el "coredns modules"
go build -ldflags='-s -w' -o "$OUT/coredns" .
el "coredns built"

rm -rf "$K8S_BIN"
mv "$OUT" "$K8S_BIN"
go clean -cache
rm -rf "$GOCACHE"
el "build done: $K8S_BIN"
ls -la "$K8S_BIN"
