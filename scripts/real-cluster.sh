#!/usr/bin/env bash
# A real single-node Kubernetes for catctl's tests, built from upstream Go sources, on loopback only.
#
#   scripts/real-cluster.sh build   compile etcd, kube-apiserver, kube-controller-manager,
#                                   kube-scheduler, kubelet (and a pause binary) from the Go module
#                                   proxy into ~/.cache/catctl/kube-<version>/ (skipped when cached)
#   scripts/real-cluster.sh start   certificates, etcd, control plane, containerd + kubelet; waits
#                                   until the node is Ready and the default ServiceAccount exists
#   scripts/real-cluster.sh env     print the environment the tests need (eval "$(… env)")
#   scripts/real-cluster.sh status  say what runs
#   scripts/real-cluster.sh stop    stop what this script started, by pid
#
# Idempotent: `start` reuses processes that already answer. State lives in
# $CATCTL_REAL_CLUSTER_DIR (default /tmp/catctl-real-cluster). Images come from the test registry
# (scripts/test-services.sh, 127.0.0.1:$CATCTL_TEST_REGISTRY_PORT, default 5000) over plain HTTP.
# Pods share the host network: nothing leaves the machine.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SRC="$ROOT/scripts/real-cluster"
KUBE_VERSION=v1.34.4
ETCD_VERSION=v3.6.4
DIR=${CATCTL_REAL_CLUSTER_DIR:-/tmp/catctl-real-cluster}
BIN=${CATCTL_REAL_CLUSTER_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/catctl/kube-$KUBE_VERSION}
REGISTRY_PORT=${CATCTL_TEST_REGISTRY_PORT:-5000}
APISERVER_PORT=${CATCTL_REAL_CLUSTER_PORT:-6443}
ETCD_PORT=${CATCTL_REAL_CLUSTER_ETCD_PORT:-2379}
PAUSE_IMAGE=catctl.local/pause:1
KUBECONFIG_FILE="$DIR/admin.kubeconfig"
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kubelet pause)

say() { echo "real-cluster: $*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    say "need root to run: $*"; return 1
  fi
}

built() {
  local c
  for c in "${COMPONENTS[@]}"; do [ -x "$BIN/$c" ] || return 1; done
}

build() {
  if built; then say "binaries of $KUBE_VERSION cached in $BIN"; return 0; fi
  command -v go >/dev/null || { say "Go is missing (needs Go 1.24 or newer)"; return 1; }
  local tmp="$BIN.partial" start=$SECONDS
  mkdir -p "$tmp"
  local v=$KUBE_VERSION minor=${KUBE_VERSION#v1.}
  minor=${minor%%.*}
  local ld="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $p.gitVersion=$v -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
    ld+=" -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  export CGO_ENABLED=0 GOFLAGS=-mod=readonly
  say "building etcd $ETCD_VERSION into $tmp"
  (cd "$SRC/etcd" && go build -trimpath -ldflags "-s -w" -o "$tmp/etcd" .)
  say "building pause"
  (cd "$SRC/pause" && go build -trimpath -ldflags "-s -w" -o "$tmp/pause" .)
  say "building kube-apiserver kube-controller-manager kube-scheduler kubelet $KUBE_VERSION (slow: many minutes on 2 cores)"
  (cd "$SRC/kube" && go build -trimpath -ldflags "$ld" -o "$tmp/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubelet)
  rm -rf "$BIN" && mv "$tmp" "$BIN"
  say "built in $((SECONDS - start)) s: $BIN"
}

case "${1:-}" in
  build) build ;;
  *)
    echo "usage: $0 build|start|env|status|stop" >&2
    exit 2
    ;;
esac
