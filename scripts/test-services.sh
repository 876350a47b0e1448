#!/usr/bin/env bash
# The Docker daemon and image registry that catctl's tests run against, on loopback only.
#
#   scripts/test-services.sh start   install what is missing, start both, wait until they answer
#   scripts/test-services.sh env     print the environment the tests need (eval "$(… env)")
#   scripts/test-services.sh status  say what runs
#   scripts/test-services.sh stop    stop what this script started, by pid
#
# Idempotent: `start` reuses services that already answer. State lives in
# $CATCTL_TEST_SERVICES_DIR (default /tmp/catctl-test-services); the registry listens on
# 127.0.0.1:$CATCTL_TEST_REGISTRY_PORT (default 5000).
set -euo pipefail

DIR=${CATCTL_TEST_SERVICES_DIR:-/tmp/catctl-test-services}
PORT=${CATCTL_TEST_REGISTRY_PORT:-5000}
SOCK="$DIR/docker.sock"
DOCKER_PID="$DIR/dockerd.pid"
REGISTRY_PID="$DIR/registry.pid"
PACKAGES=(docker.io docker-registry busybox-static)

say() { echo "test-services: $*" >&2; }
# shellcheck source=scripts/lib/processes.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/processes.sh"

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    say "need root to run: $*"; return 1
  fi
}

install_missing() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v docker-registry >/dev/null || missing+=(docker-registry)
  command -v curl >/dev/null || missing+=(curl)
  # The static build: it runs alone in a FROM scratch image.
  dpkg-query -W -f '${Status}' busybox-static 2>/dev/null | grep "ok installed" >/dev/null ||
    missing+=(busybox-static)
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get install -y -q "${missing[@]}" >&2 ||
    { as_root apt-get update -q >&2 && as_root apt-get install -y -q "${missing[@]}" >&2; }
}

# True when the pid in file $1 is alive and its command line contains $2.
docker_answers() { DOCKER_HOST="unix://$SOCK" timeout 5 docker version >/dev/null 2>&1; }
registry_answers() { timeout 5 curl -fsS "http://127.0.0.1:$PORT/v2/" >/dev/null 2>&1; }

start_docker() {
  if docker_answers; then return 0; fi
  if running "$DOCKER_PID" dockerd; then
    wait_for dockerd 60 docker_answers "$DIR/dockerd.log"; return
  fi
  say "starting dockerd on unix://$SOCK"
  mkdir -p "$DIR/data" "$DIR/exec"
  rm -f "$SOCK" "$DOCKER_PID"
  # setsid: the daemon outlives this script and the test run that started it.
  setsid dockerd --host "unix://$SOCK" --data-root "$DIR/data" --exec-root "$DIR/exec" \
    --pidfile "$DOCKER_PID" --iptables=false --ip-masq=false --bridge=none \
    --userland-proxy=false >"$DIR/dockerd.log" 2>&1 </dev/null &
  wait_for dockerd 60 docker_answers "$DIR/dockerd.log"
}

start_registry() {
  if registry_answers; then return 0; fi
  if running "$REGISTRY_PID" docker-registry; then
    wait_for registry 30 registry_answers "$DIR/registry.log"; return
  fi
  say "starting docker-registry on 127.0.0.1:$PORT"
  mkdir -p "$DIR/registry"
  cat >"$DIR/registry.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $DIR/registry
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$PORT
YAML
  setsid docker-registry serve "$DIR/registry.yml" >"$DIR/registry.log" 2>&1 </dev/null &
  echo $! >"$REGISTRY_PID"
  wait_for registry 30 registry_answers "$DIR/registry.log"
}

print_env() {
  echo "export DOCKER_HOST=unix://$SOCK"
  echo "export CATCTL_TEST_REGISTRY=127.0.0.1:$PORT"
  echo "export CATCTL_TEST_BUSYBOX=/usr/bin/busybox"
}

case "${1:-}" in
  start)
    mkdir -p "$DIR"
    install_missing
    start_docker
    start_registry
    say "ready: dockerd at unix://$SOCK, registry at 127.0.0.1:$PORT"
    ;;
  env) print_env ;;
  status)
    docker_answers && echo "dockerd: answering at unix://$SOCK" || echo "dockerd: not answering"
    registry_answers && echo "registry: answering at 127.0.0.1:$PORT" || echo "registry: not answering"
    ;;
  stop)
    stop_pidfile "$REGISTRY_PID" docker-registry
    stop_pidfile "$DOCKER_PID" dockerd
    ;;
  *)
    echo "usage: $0 start|env|status|stop" >&2
    exit 2
    ;;
esac
