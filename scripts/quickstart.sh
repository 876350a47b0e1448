#!/usr/bin/env bash
# The front door: sets up everything on this machine and runs the seven cats the way a user
# does, then says "hi" to each of them in a Slack-compatible fake workspace and shows the answers.
#
#   scripts/quickstart.sh [start]   install what is missing, start it all, run the farm (idempotent:
#                                   a re-run reuses every running service and cached build)
#   scripts/quickstart.sh stop      stop everything it started, by pid
#
# Steps: Debian packages and Node.js 22 (scripts/node22.sh); catctl (cargo build --release); the
# Docker daemon and registry on loopback (scripts/test-services.sh); the Node.js 22 base image made
# offline (scripts/base-image.sh); a real single-node Kubernetes (scripts/real-cluster.sh, built
# once from the Go module proxy and cached); the fake workspace (tests/fake-slack, a background
# process with a pid file); then, in the farm $CATCTL_QUICKSTART_DIR/farm (this repository's
# cats and template, fake tokens): `catctl secret sync`, `build --all`, `push --all`,
# `deploy --all`, `status`. Where the cluster cannot run, it says why and the smallest fix, and
# runs the cats with `catctl up` on the local daemon instead (CATCTL_QUICKSTART_NO_CLUSTER=1
# chooses that from the start).
#
# State: $CATCTL_QUICKSTART_DIR (default /tmp/catctl-quickstart): the farm, the fake workspace's
# pid file and log. Nothing leaves the machine: the registry and the workspace listen on
# loopback and on the cluster's own bridge.
set -eEuo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
STATE=${CATCTL_QUICKSTART_DIR:-/tmp/catctl-quickstart}
FARM="$STATE/farm"
NS=${CATCTL_QUICKSTART_NAMESPACE:-quickstart}
SLACK_PORT=${CATCTL_QUICKSTART_SLACK_PORT:-3111}
CATS=(chuchu coco dd lala lulu momo tt)
ACTION=${1:-start}

say() { echo "quickstart: $*" >&2; }
die() { say "$*"; exit 1; }
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    die "needs root for: $* (run as root, or install sudo)"
  fi
}
STEP=0 STEP_TITLE= STEP_START=0
begin() { # TITLE: a step starts; `end` says how long it took
  STEP=$((STEP + 1)) STEP_TITLE=$1 STEP_START=$SECONDS
  say "[$STEP] $1 …"
}
end() { say "[$STEP] $STEP_TITLE: done in $((SECONDS - STEP_START)) s"; }
failed() { # the ERR trap: once, from the script's own process (not from a pipeline's subshell)
  [ "$BASHPID" = "$$" ] && [ -z "${FAILED_SAID:-}" ] || return 0
  FAILED_SAID=1
  say "[$STEP] $STEP_TITLE: FAILED after $((SECONDS - STEP_START)) s (the full log: $STATE/log)"
}
slack_pid() { [ -f "$STATE/fake-slack.pid" ] && kill -0 "$(cat "$STATE/fake-slack.pid")" 2>/dev/null && cat "$STATE/fake-slack.pid"; }

stop() {
  local pid
  if pid=$(slack_pid); then
    kill "$pid" && say "stopped the fake workspace (pid $pid)"
  fi
  rm -f "$STATE/fake-slack.pid"
  if [ -f "$STATE/mode" ] && [ "$(cat "$STATE/mode")" = up ] && [ -x "$STATE/catctl" ] &&
    scripts/test-services.sh status >/dev/null 2>&1; then
    eval "$(scripts/test-services.sh env)"
    (cd "$FARM" && "$STATE/catctl" down --all >&2) || true
  fi
  scripts/real-cluster.sh stop >&2 || true
  scripts/test-services.sh stop >&2 || true
  rm -f "$STATE/mode"
  say "stopped; the caches (images, cluster binaries, the farm in $FARM) stay for a fast restart"
}

case "$ACTION" in
  start) ;;
  stop) stop; exit 0 ;;
  *) echo "usage: scripts/quickstart.sh [start|stop]" >&2; exit 2 ;;
esac

mkdir -p "$STATE"
: >"$STATE/log"
exec 3>>"$STATE/log"
trap failed ERR
TOTAL=$SECONDS

# ---- 1. tools ----
begin "tools: curl, jq, npm, Node.js 22"
missing=()
for tool in curl jq npm; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  say "    installing Debian packages: ${missing[*]}"
  as_root apt-get install -y -q "${missing[@]}" >&3 2>&1 ||
    { as_root apt-get update -q >&3 2>&1 && as_root apt-get install -y -q "${missing[@]}" >&3 2>&1; }
fi
command -v cargo >/dev/null ||
  die "cargo is missing: install Rust (https://rustup.rs, or Debian's cargo) and run this again"
NODE_DIR=$(scripts/node22.sh 2>&3)
PATH="$NODE_DIR/bin:$PATH"
export PATH
end

# ---- 2. catctl ----
begin "catctl: cargo build --release (→ $STATE/catctl)"
cargo build --release --locked --bin catctl >&3 2>&1
install -m 755 "${CARGO_TARGET_DIR:-$REPO/target}/release/catctl" "$STATE/catctl"
end
catctl() { (cd "$FARM" && "$STATE/catctl" "$@"); }

# ---- 3. Docker daemon and registry ----
begin "Docker daemon and registry on loopback (scripts/test-services.sh)"
scripts/test-services.sh start >&3 2>&1
eval "$(scripts/test-services.sh env)"
end

# ---- 4. the Node.js 22 base image ----
begin "the cats' base image, offline (scripts/base-image.sh)"
[ -d templates/cat/deps/node_modules ] || (cd templates/cat && npm ci --no-audit --no-fund >&3 2>&1)
scripts/base-image.sh catctl-node:22-local 2>&1 | tee -a /dev/fd/3 | sed 's/^/    /' >&2
end

# ---- 5. a real Kubernetes, or the fallback ----
MODE=cluster
why_no_cluster() {
  if [ -n "${CATCTL_QUICKSTART_NO_CLUSTER:-}" ]; then
    echo "CATCTL_QUICKSTART_NO_CLUSTER is set|unset CATCTL_QUICKSTART_NO_CLUSTER"
  elif [ "$(id -u)" -ne 0 ] && ! sudo -n true 2>/dev/null; then
    echo "the cluster's kubelet and containerd need root|run it as root: sudo scripts/quickstart.sh"
  elif [ ! -d /sys/fs/cgroup ] || [ ! -w /sys/fs/cgroup ] && [ "$(id -u)" -eq 0 ]; then
    echo "no writable cgroup filesystem at /sys/fs/cgroup (a container without --privileged?)|run it on a VM or a privileged container"
  fi
}
begin "a real single-node Kubernetes (scripts/real-cluster.sh build + start; cached)"
reason=$(why_no_cluster)
if [ -z "$reason" ]; then
  if scripts/real-cluster.sh build >&3 2>&1 && scripts/real-cluster.sh start >&3 2>&1; then
    end
  else
    reason="scripts/real-cluster.sh could not start it: $(grep 'real-cluster:' "$STATE/log" | tail -1)|see $STATE/log and scripts/real-cluster.sh status"
  fi
fi
if [ -n "$reason" ]; then
  MODE=up
  say "no cluster: ${reason%%|*}"
  say "  the smallest fix: ${reason#*|}"
  say "  falling back to the default that needs no cluster: the cats run with \`catctl up\` on the local daemon"
else
  eval "$(scripts/real-cluster.sh env)"
fi
echo "$MODE" >"$STATE/mode"

# ---- 6. the fake Slack workspace ----
# shellcheck source=scripts/lib/fake-slack.sh
. scripts/lib/fake-slack.sh
begin "the fake Slack workspace (tests/fake-slack/server.mjs)"
host=127.0.0.1
[ "$MODE" = up ] || host=$(pod_host_address) || die "cannot make the bridge catctl0 for the pods to reach the workspace"
if slack_pid >/dev/null && [ "$(cat "$STATE/fake-slack.url" 2>/dev/null)" = "http://$host:$SLACK_PORT" ]; then
  SLACK=$(cat "$STATE/fake-slack.url")
  say "    reusing the running one (pid $(slack_pid)) at $SLACK"
else
  if pid=$(slack_pid); then kill "$pid"; fi
  # Its own session, so that it outlives this script; `quickstart.sh stop` ends it by pid.
  setsid node tests/fake-slack/server.mjs --listen "$host:$SLACK_PORT" \
    >"$STATE/fake-slack.out" 2>"$STATE/fake-slack.err" </dev/null &
  echo $! >"$STATE/fake-slack.pid"
  for _ in $(seq 1 100); do grep -q '^FAKE_SLACK_URL=' "$STATE/fake-slack.out" && break; sleep 0.1; done
  SLACK=$(sed -n 's/^FAKE_SLACK_URL=//p' "$STATE/fake-slack.out")
  [ -n "$SLACK" ] || die "the fake workspace did not start: $(cat "$STATE/fake-slack.err")"
  echo "$SLACK" >"$STATE/fake-slack.url"
  say "    started (pid $(cat "$STATE/fake-slack.pid")) at $SLACK"
fi
end

# ---- 7. the farm ----
begin "the farm in $FARM (seven cats, fake tokens in secret/)"
mkdir -p "$FARM/secret"
# This repository's cats and template (what `catctl init` would give, plus the seven cats).
tar -C "$REPO" --exclude=./templates/cat/node_modules -cf - ./cats ./templates | tar -C "$FARM" -xf -
cat >"$FARM/catctl.toml" <<TOML
# Made by scripts/quickstart.sh: the local registry (a path of its own: tags are immutable, and
# other farms may push dd:v1 there too), the base image made offline, and the cats
# pointed at the fake Slack workspace. For a real Slack, drop [env]; for a real cluster, see README.
registry = "${CATCTL_TEST_REGISTRY:-127.0.0.1:5000}/quickstart"
namespace = "$NS"
[build.args]
NODE_IMAGE = "catctl-node:22-local"
[env]
CAT_SLACK_API_URL = "$SLACK/api/"
TOML
printf '*\n' >"$FARM/secret/.gitignore"
chmod 700 "$FARM/secret"
for cat in "${CATS[@]}"; do
  dir="$FARM/secret/$cat-token"
  if [ ! -s "$dir/bot-token" ] || [ ! -s "$dir/app-token" ]; then
    mkdir -p -m 700 "$dir"
    (umask 077 && printf 'xoxb-%s-%s' "$cat" "$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$dir/bot-token")
    (umask 077 && printf 'xapp-%s-%s' "$cat" "$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$dir/app-token")
  fi
  slack_bot "$cat" "$(cat "$dir/bot-token")" "$(cat "$dir/app-token")"
done
# Under `up` the token is mounted as it is: the cats' image runs as uid 1000.
if [ "$MODE" = up ] && [ "$(id -u)" -eq 0 ]; then chown -R 1000:1000 "$FARM/secret"; fi
end

# ---- 8. run it as a user would ----
shown() { # ARGS…: a step that runs `catctl ARGS…` and shows its output indented
  begin "catctl $*"
  catctl "$@" 2>&1 | tee -a /dev/fd/3 | sed 's/^/      /' >&2
  end
}
if [ "$MODE" = cluster ]; then
  kubectl get namespace "$NS" >/dev/null 2>&1 || kubectl create namespace "$NS" >&3
  shown secret sync
  shown build --all
  shown push --all
  shown deploy --all
  shown status
else
  shown build --all
  shown up --all --network host
fi

# ---- 9. a conversation ----
begin "\"hi\" to each cat, answers read from the fake workspace"
for cat in "${CATS[@]}"; do
  slack_wait_connected "$cat" 120 || die "$cat is not connected to the workspace: catctl logs $cat (in $FARM)"
done
for cat in "${CATS[@]}"; do
  ts=$(slack_post C0QUICKSTART hi "$cat")
  got=
  for _ in $(seq 1 100); do
    got=$(slack_replies C0QUICKSTART "$ts")
    [ -n "$got" ] && break
    sleep 0.2
  done
  printf '      you → @%s: hi\n      %s\n' "$cat" "${got:-($cat did not answer)}" >&2
done
end

say "ready in $((SECONDS - TOTAL)) s: seven cats on $([ "$MODE" = cluster ] && echo "the local Kubernetes (namespace $NS)" || echo "the local Docker daemon")"
say "  look around: eval \"\$(scripts/test-services.sh env)\"; eval \"\$(scripts/real-cluster.sh env)\"; cd $FARM && $STATE/catctl status"
say "  stop it all: scripts/quickstart.sh stop"
