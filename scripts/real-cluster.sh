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
NODE=${CATCTL_REAL_CLUSTER_NODE:-catctl-node}
# The kubelet refuses a loopback node IP, so the node gets its own address on the lo interface:
# reachable from this machine only.
NODE_IP=${CATCTL_REAL_CLUSTER_NODE_IP:-10.245.0.1}
ETCD_PEER_PORT=$((ETCD_PORT + 1))
SOCK="$DIR/containerd/containerd.sock"

# kubectl: the one on PATH, else one built here with the rest (`build` makes it when missing).
if command -v kubectl >/dev/null; then KUBECTL=$(command -v kubectl); else KUBECTL="$BIN/kubectl"; fi
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kubelet pause)

say() { echo "real-cluster: $*" >&2; }
# shellcheck source=scripts/lib/processes.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/processes.sh"

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    say "need root to run: $*"; return 1
  fi
}

built() {
  local c
  for c in "${COMPONENTS[@]}"; do [ -x "$BIN/$c" ] || return 1; done
  [ -x "$KUBECTL" ]
}

build() {
  if built; then say "binaries of $KUBE_VERSION cached in $BIN"; return 0; fi
  local c
  for c in "${COMPONENTS[@]}"; do [ -x "$BIN/$c" ] || break; done
  if [ -x "$BIN/$c" ] && [ "$KUBECTL" = "$BIN/kubectl" ]; then
    # Only kubectl is missing.
    local tmp2="$BIN/kubectl.partial"
    say "no kubectl on PATH: building kubectl $KUBE_VERSION"
    (cd "$SRC/kube" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$tmp2" k8s.io/kubernetes/cmd/kubectl) &&
      mv "$tmp2" "$BIN/kubectl"
    return
  fi
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
  if [ "$KUBECTL" = "$BIN/kubectl" ]; then
    say "no kubectl on PATH: building kubectl $KUBE_VERSION"
    (cd "$SRC/kube" && go build -trimpath -ldflags "$ld" -o "$tmp/" k8s.io/kubernetes/cmd/kubectl)
  fi
  rm -rf "$BIN" && mv "$tmp" "$BIN"
  say "built in $((SECONDS - start)) s: $BIN"
}


# True when the pid in file $1 is alive and its command line contains $2.
install_missing() {
  local missing=()
  command -v containerd >/dev/null || missing+=(containerd)
  command -v runc >/dev/null || missing+=(runc)
  [ -x /usr/lib/cni/bridge ] || missing+=(containernetworking-plugins)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v curl >/dev/null || missing+=(curl)
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get install -y -q "${missing[@]}" >&2 ||
    { as_root apt-get update -q >&2 && as_root apt-get install -y -q "${missing[@]}" >&2; }
}

# --- certificates -------------------------------------------------------------------------------

cert() { # name, subject, extensions (for -addext)
  local name=$1 subj=$2
  shift 2
  [ -f "$DIR/pki/$name.crt" ] && return 0
  openssl req -new -newkey rsa:2048 -nodes -keyout "$DIR/pki/$name.key" -subj "$subj" \
    -out "$DIR/pki/$name.csr" 2>/dev/null
  printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
    "$@" >"$DIR/pki/$name.ext"
  openssl x509 -req -in "$DIR/pki/$name.csr" -CA "$DIR/pki/ca.crt" -CAkey "$DIR/pki/ca.key" \
    -CAcreateserial -days 3650 -sha256 -extfile "$DIR/pki/$name.ext" -out "$DIR/pki/$name.crt" 2>/dev/null
}

pki() {
  mkdir -p "$DIR/pki"
  if [ ! -f "$DIR/pki/ca.crt" ]; then
    openssl req -x509 -new -newkey rsa:2048 -nodes -keyout "$DIR/pki/ca.key" -days 3650 \
      -subj "/CN=catctl-real-cluster-ca" -out "$DIR/pki/ca.crt" 2>/dev/null
  fi
  cert apiserver "/CN=kube-apiserver" "extendedKeyUsage=serverAuth" \
    "subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  cert kubelet-serving "/CN=$NODE" "extendedKeyUsage=serverAuth" "subjectAltName=IP:$NODE_IP,IP:127.0.0.1,DNS:$NODE,DNS:localhost"
  cert admin "/O=system:masters/CN=catctl-admin" "extendedKeyUsage=clientAuth"
  cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "extendedKeyUsage=clientAuth"
  cert controller-manager "/CN=system:kube-controller-manager" "extendedKeyUsage=clientAuth"
  cert scheduler "/CN=system:kube-scheduler" "extendedKeyUsage=clientAuth"
  cert kubelet "/O=system:nodes/CN=system:node:$NODE" "extendedKeyUsage=clientAuth"
  if [ ! -f "$DIR/pki/sa.key" ]; then
    openssl genrsa -out "$DIR/pki/sa.key" 2048 2>/dev/null
    openssl rsa -in "$DIR/pki/sa.key" -pubout -out "$DIR/pki/sa.pub" 2>/dev/null
  fi
  local who
  for who in admin controller-manager scheduler kubelet; do
    cat >"$DIR/$who.kubeconfig" <<YAML
apiVersion: v1
kind: Config
clusters:
  - name: catctl-real
    cluster:
      server: https://127.0.0.1:$APISERVER_PORT
      certificate-authority: $DIR/pki/ca.crt
users:
  - name: $who
    user:
      client-certificate: $DIR/pki/$who.crt
      client-key: $DIR/pki/$who.key
contexts:
  - name: catctl-real
    context:
      cluster: catctl-real
      user: $who
      namespace: default
current-context: catctl-real
YAML
  done
}

# --- etcd and the control plane -----------------------------------------------------------------

launch() { # name, log, command...: runs in its own session, outliving this script
  local name=$1
  shift
  say "starting $name"
  setsid "$@" >"$DIR/$name.log" 2>&1 </dev/null &
  echo $! >"$DIR/$name.pid"
}

etcd_answers() { curl -fsS "http://127.0.0.1:$ETCD_PORT/health" 2>/dev/null | grep '"health":"true"' >/dev/null; }
apiserver_answers() {
  curl -fsS --cacert "$DIR/pki/ca.crt" --cert "$DIR/pki/admin.crt" --key "$DIR/pki/admin.key" \
    "https://127.0.0.1:$APISERVER_PORT/readyz" >/dev/null 2>&1
}
healthz() { curl -fsSk "https://127.0.0.1:$1/healthz" >/dev/null 2>&1; }
kcm_answers() { healthz 10257; }
scheduler_answers() { healthz 10259; }
# containerd answers `ctr version` before its CRI server is initialized ("server is not initialized
# yet" to a kubelet started then, which exits); "Start streaming server" is its last step.
containerd_answers() {
  ctrd version >/dev/null 2>&1 && grep -q "Start streaming server" "$DIR/containerd.log" 2>/dev/null
}
kubelet_answers() { curl -fsS "http://127.0.0.1:10248/healthz" >/dev/null 2>&1; }

start_etcd() {
  if etcd_answers; then return 0; fi
  if ! running "$DIR/etcd.pid" etcd; then
    mkdir -p -m 700 "$DIR/etcd"
    launch etcd "$BIN/etcd" --name catctl --data-dir "$DIR/etcd" \
      --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
      --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
      --initial-cluster "catctl=http://127.0.0.1:$ETCD_PEER_PORT" --listen-metrics-urls "" \
      --unsafe-no-fsync --quota-backend-bytes 2147483648 --log-level warn
  fi
  wait_for etcd 30 etcd_answers "$DIR/etcd.log"
}

start_apiserver() {
  if apiserver_answers; then return 0; fi
  if ! running "$DIR/kube-apiserver.pid" kube-apiserver; then
    # Every write request, with its namespace, user and verb: the tests count catctl's writes here.
    cat >"$DIR/audit-policy.yaml" <<YAML
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    verbs: [create, update, patch, delete, deletecollection]
  - level: None
YAML
    launch kube-apiserver "$BIN/kube-apiserver" \
      --bind-address 127.0.0.1 --secure-port "$APISERVER_PORT" --advertise-address 127.0.0.1 \
      --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
      --tls-cert-file "$DIR/pki/apiserver.crt" --tls-private-key-file "$DIR/pki/apiserver.key" \
      --client-ca-file "$DIR/pki/ca.crt" \
      --kubelet-client-certificate "$DIR/pki/apiserver-kubelet-client.crt" \
      --kubelet-client-key "$DIR/pki/apiserver-kubelet-client.key" \
      --kubelet-certificate-authority "$DIR/pki/ca.crt" \
      --kubelet-preferred-address-types InternalIP \
      --service-account-issuer https://kubernetes.default.svc.cluster.local \
      --service-account-key-file "$DIR/pki/sa.pub" --service-account-signing-key-file "$DIR/pki/sa.key" \
      --service-cluster-ip-range 10.96.0.0/16 --endpoint-reconciler-type none \
      --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
      --allow-privileged=true --profiling=false \
      --audit-policy-file "$DIR/audit-policy.yaml" --audit-log-path "$DIR/audit.log" \
      --audit-log-format json --audit-log-mode blocking --audit-log-maxsize 200
  fi
  wait_for kube-apiserver 60 apiserver_answers "$DIR/kube-apiserver.log"
}

start_controllers() {
  if ! kcm_answers && ! running "$DIR/kube-controller-manager.pid" kube-controller-manager; then
    launch kube-controller-manager "$BIN/kube-controller-manager" \
      --kubeconfig "$DIR/controller-manager.kubeconfig" \
      --authentication-kubeconfig "$DIR/controller-manager.kubeconfig" \
      --authorization-kubeconfig "$DIR/controller-manager.kubeconfig" \
      --bind-address 127.0.0.1 --leader-elect=false --use-service-account-credentials \
      --service-account-private-key-file "$DIR/pki/sa.key" --root-ca-file "$DIR/pki/ca.crt" \
      --cluster-signing-cert-file "$DIR/pki/ca.crt" --cluster-signing-key-file "$DIR/pki/ca.key" \
      --profiling=false
  fi
  if ! scheduler_answers && ! running "$DIR/kube-scheduler.pid" kube-scheduler; then
    launch kube-scheduler "$BIN/kube-scheduler" --kubeconfig "$DIR/scheduler.kubeconfig" \
      --authentication-kubeconfig "$DIR/scheduler.kubeconfig" \
      --authorization-kubeconfig "$DIR/scheduler.kubeconfig" \
      --bind-address 127.0.0.1 --leader-elect=false --profiling=false
  fi
  wait_for kube-controller-manager 60 kcm_answers "$DIR/kube-controller-manager.log"
  wait_for kube-scheduler 60 scheduler_answers "$DIR/kube-scheduler.log"
}

# --- the node: containerd, runc, CNI bridge, kubelet --------------------------------------------

# cgroup v1 hierarchies the kubelet wants but this machine may leave unmounted (hugetlb).
cgroups() {
  local c
  for c in hugetlb; do
    if grep -qE "^$c\s.*\s1$" /proc/cgroups && ! grep -q " /sys/fs/cgroup/$c " /proc/mounts &&
      [ -d /sys/fs/cgroup/cpu ]; then
      as_root mkdir -p "/sys/fs/cgroup/$c" && as_root mount -t cgroup -o "$c" cgroup "/sys/fs/cgroup/$c" || true
    fi
  done
}

start_containerd() {
  if containerd_answers; then return 0; fi
  if ! running "$DIR/containerd.pid" containerd; then
    mkdir -p "$DIR/containerd/certs.d/127.0.0.1:$REGISTRY_PORT" "$DIR/cni/net.d"
    # Plain HTTP to the test registry; no other registry is configured (nothing can be pulled).
    cat >"$DIR/containerd/certs.d/127.0.0.1:$REGISTRY_PORT/hosts.toml" <<TOML
server = "http://127.0.0.1:$REGISTRY_PORT"

[host."http://127.0.0.1:$REGISTRY_PORT"]
  capabilities = ["pull", "resolve"]
TOML
    # A bridge inside the machine: pods reach each other and the node, and have no default
    # route, so nothing they send can leave the machine.
    cat >"$DIR/cni/net.d/10-catctl.conflist" <<JSON
{
  "cniVersion": "0.4.0",
  "name": "catctl",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "catctl0",
      "isGateway": true,
      "isDefaultGateway": false,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{ "subnet": "10.244.0.0/24" }]],
        "dataDir": "$DIR/cni/ipam"
      }
    }
  ]
}
JSON
    cat >"$DIR/containerd/config.toml" <<TOML
version = 2
root = "$DIR/containerd/root"
state = "$DIR/containerd/state"
disabled_plugins = ["io.containerd.grpc.v1.cri.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]

[grpc]
  address = "$SOCK"

[plugins."io.containerd.internal.v1.opt"]
  path = "$DIR/containerd/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  enable_selinux = false
  # This machine's root lacks CAP_SYS_RESOURCE: a negative oom_score_adj (the sandbox's -998)
  # makes runc fail ("failed to update /proc/self/oom_score_adj: Permission denied"), so
  # containerd keeps every container at or above its own score.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$DIR/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$DIR/containerd/certs.d"
TOML
    launch containerd containerd --config "$DIR/containerd/config.toml"
  fi
  wait_for containerd 30 containerd_answers "$DIR/containerd.log"
}

# The pod sandbox image: no registry can give one, so it is made here from the pause binary (an
# OCI image layout of one layer, imported into containerd's k8s.io namespace).
import_pause() {
  ctrd -n k8s.io images ls -q | grep -x "$PAUSE_IMAGE" >/dev/null && return 0
  local t="$DIR/pause-image"
  rm -rf "$t" && mkdir -p "$t/rootfs" "$t/oci/blobs/sha256"
  cp "$BIN/pause" "$t/rootfs/pause"
  tar --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$t/rootfs" -cf "$t/layer.tar" pause
  local layer size config csize manifest msize
  layer=$(sha256sum "$t/layer.tar" | cut -d' ' -f1)
  size=$(stat -c %s "$t/layer.tar")
  mv "$t/layer.tar" "$t/oci/blobs/sha256/$layer"
  printf '{"architecture":"amd64","os":"linux","config":{"Entrypoint":["/pause"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$layer" >"$t/config.json"
  config=$(sha256sum "$t/config.json" | cut -d' ' -f1)
  csize=$(stat -c %s "$t/config.json")
  mv "$t/config.json" "$t/oci/blobs/sha256/$config"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
    "$config" "$csize" "$layer" "$size" >"$t/manifest.json"
  manifest=$(sha256sum "$t/manifest.json" | cut -d' ' -f1)
  msize=$(stat -c %s "$t/manifest.json")
  mv "$t/manifest.json" "$t/oci/blobs/sha256/$manifest"
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"1"},"platform":{"architecture":"amd64","os":"linux"}}]}' \
    "$manifest" "$msize" "$PAUSE_IMAGE" >"$t/oci/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$t/oci/oci-layout"
  tar -C "$t/oci" -cf "$t/pause.tar" .
  ctrd -n k8s.io images import --no-unpack=false "$t/pause.tar" >&2
  ctrd -n k8s.io images ls -q | grep -x "$PAUSE_IMAGE" >/dev/null || { say "importing $PAUSE_IMAGE failed"; return 1; }
}

node_ip() {
  ip -o addr show dev lo | grep " $NODE_IP/" >/dev/null || as_root ip addr add "$NODE_IP/32" dev lo
}

start_kubelet() {
  if kubelet_answers; then return 0; fi
  if ! running "$DIR/kubelet.pid" kubelet; then
    mkdir -p "$DIR/kubelet"
    cat >"$DIR/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: 10250
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: true }
  x509: { clientCAFile: $DIR/pki/ca.crt }
authorization: { mode: Webhook }
tlsCertFile: $DIR/pki/kubelet-serving.crt
tlsPrivateKeyFile: $DIR/pki/kubelet-serving.key
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$SOCK
failSwapOn: false
failCgroupV1: false
oomScoreAdj: 0
resolvConf: /etc/resolv.conf
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: { memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1% }
syncFrequency: 10s
fileCheckFrequency: 10s
nodeStatusUpdateFrequency: 5s
registerNode: true
YAML
  fi
  # A kubelet that exits at start (a runtime not yet ready, a port still held) is started again,
  # as systemd would, up to three times.
  local attempt
  for attempt in 1 2 3; do
    running "$DIR/kubelet.pid" kubelet ||
      launch kubelet "$BIN/kubelet" --config "$DIR/kubelet.yaml" --kubeconfig "$DIR/kubelet.kubeconfig" \
        --root-dir "$DIR/kubelet" --hostname-override "$NODE" --node-ip "$NODE_IP" --v 1
    local deadline=$((SECONDS + 60))
    until kubelet_answers; do
      running "$DIR/kubelet.pid" kubelet || break
      [ $SECONDS -ge $deadline ] && break
      sleep 0.2
    done
    kubelet_answers && return 0
    running "$DIR/kubelet.pid" kubelet && break
    say "kubelet exited at start (attempt $attempt): $(grep -m1 'command failed' "$DIR/kubelet.log" | cut -c1-300)"
  done
  say "kubelet did not answer; last lines of $DIR/kubelet.log:"
  tail -n 30 "$DIR/kubelet.log" >&2 || true
  return 1
}

ctrd() { ctr --address "$SOCK" "$@"; }
kc() { "$KUBECTL" --kubeconfig "$KUBECONFIG_FILE" "$@"; }

wait_ready() {
  local deadline=$((SECONDS + 90))
  until kc get node "$NODE" >/dev/null 2>&1; do
    [ $SECONDS -ge $deadline ] && { say "the node never registered; see $DIR/kubelet.log"; tail -n 30 "$DIR/kubelet.log" >&2; return 1; }
    sleep 0.5
  done
  kc wait --for=condition=Ready "node/$NODE" --timeout=90s >/dev/null ||
    { say "node $NODE not Ready; see $DIR/kubelet.log"; tail -n 30 "$DIR/kubelet.log" >&2; return 1; }
  until kc -n default get serviceaccount default >/dev/null 2>&1; do
    [ $SECONDS -ge $deadline ] && { say "no default ServiceAccount; see $DIR/kube-controller-manager.log"; return 1; }
    sleep 0.5
  done
}

start() {
  local t0=$SECONDS
  built || { say "binaries of $KUBE_VERSION are not built: run \`$0 build\` first"; return 1; }
  install_missing
  mkdir -p "$DIR"
  pki
  cgroups
  start_etcd
  start_apiserver
  start_controllers
  node_ip
  start_containerd
  import_pause
  start_kubelet
  wait_ready
  say "ready in $((SECONDS - t0)) s: node $NODE, API server https://127.0.0.1:$APISERVER_PORT ($KUBE_VERSION)"
  print_env
}

print_env() {
  [ "$KUBECTL" = "$BIN/kubectl" ] && echo "export PATH=$BIN:\$PATH"
  echo "export KUBECONFIG=$KUBECONFIG_FILE"
  echo "export CATCTL_REAL_CLUSTER=$KUBECONFIG_FILE"
  echo "export CATCTL_REAL_CLUSTER_DIR=$DIR"
}

stop_one() { stop_pidfile "$DIR/$1.pid" "$1" 15; } # name

stop() {
  stop_one kubelet
  # The pods' containers run under containerd's shims: stop them through containerd first.
  if containerd_answers; then
    local id
    # Kill and remove every pod's task, so their shims exit too.
    for id in $(ctrd -n k8s.io tasks ls -q 2>/dev/null); do ctrd -n k8s.io tasks rm -f "$id" >/dev/null 2>&1 || true; done
  fi
  stop_one containerd
  stop_one kube-scheduler
  stop_one kube-controller-manager
  stop_one kube-apiserver
  stop_one etcd
  # The kubelet's volume mounts, containerd's rootfs mounts and pod network namespaces under $DIR.
  local m
  for m in $(awk -v d="$DIR/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r); do
    as_root umount "$m" 2>/dev/null || as_root umount -l "$m" 2>/dev/null || true
  done
  if ip -o addr show dev lo | grep " $NODE_IP/" >/dev/null; then as_root ip addr del "$NODE_IP/32" dev lo || true; fi
}

status() {
  local c
  for c in etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet; do
    if running "$DIR/$c.pid" "$c"; then echo "$c: running (pid $(cat "$DIR/$c.pid"))"; else echo "$c: not running"; fi
  done
  if apiserver_answers; then
    kc get node "$NODE" --no-headers 2>/dev/null | sed 's/^/node: /' || echo "node: not registered"
  fi
  memory
}

# Resident memory of the cluster's processes (and the containerd shims under them): now and peak.
memory() {
  local pids=() c pid rss=0 hwm=0 r h
  for c in etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet; do
    running "$DIR/$c.pid" "$c" && pids+=("$(cat "$DIR/$c.pid")")
  done
  for pid in $(pgrep -f "containerd-shim-runc-v2 -namespace k8s.io -id [0-9a-f]* -address $SOCK" || true); do pids+=("$pid"); done
  [ ${#pids[@]} -eq 0 ] && return 0
  for pid in "${pids[@]}"; do
    r=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
    h=$(awk '/^VmHWM/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
    rss=$((rss + ${r:-0})); hwm=$((hwm + ${h:-0}))
  done
  echo "memory: $((rss / 1024)) MiB resident now, $((hwm / 1024)) MiB sum of peaks (${#pids[@]} processes)"
}

# Sourcing the script (for debugging one step) defines the functions and runs nothing.
[ "${BASH_SOURCE[0]}" = "$0" ] || return 0

case "${1:-}" in
  build) build ;;
  start) start ;;
  env) print_env ;;
  status) status ;;
  stop) stop ;;
  *)
    echo "usage: $0 build|start|env|status|stop" >&2
    exit 2
    ;;
esac
