#!/usr/bin/env bash
# The real cats, run by catctl the way a user runs them, answering in the fake Slack workspace
# (tests/fake-slack). A throwaway copy of this farm (cats/ and templates/, fake tokens in
# secret/) builds the real images on the Node.js 22 base made here ([build.args] NODE_IMAGE) and
# points the cats at the fake workspace (catctl.toml's [env] CAT_SLACK_API_URL).
#
#   scripts/cats-farm-e2e.sh up        `catctl up dd tt` on the local daemon: healthy, each
#                                      answers "hi" exactly once; `catctl down` stops them.
#   scripts/cats-farm-e2e.sh cluster   all seven cats on the real cluster (scripts/real-cluster.sh):
#                                      `secret sync`, `build/push/deploy --all`; each answers its
#                                      greeting exactly once, DD's food reply comes late, MoMo
#                                      repeats, CoCo says 입! to her name only, LaLa names a
#                                      command; a "hi" sent while dd-0 is replaced (`kubectl delete
#                                      pod`, `catctl redeploy`) is answered at most once; LaLa with
#                                      the old $LALA_TOKEN bug is refused at v1 and, deployed on
#                                      purpose as v2, fails fast showing the container's log.
#   scripts/cats-farm-e2e.sh copycat   an eighth cat made by `catctl copycat` leaves the engine's
#                                      tests green (they test every cat at hand).
#
# Needs the test services (started here, never stopped); `cluster` needs the real cluster
# running (`eval "$(scripts/real-cluster.sh env)"`). Everything it makes (images under
# 127.0.0.1:5000/catctl-e2e-<pid>/, its namespace, the fake workspace) is removed at the end.
# CATCTL=path/to/catctl uses that binary instead of building one with cargo.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
MODE=${1:-}
case "$MODE" in up | cluster | copycat) ;; *) echo "usage: scripts/cats-farm-e2e.sh up|cluster|copycat" >&2; exit 2 ;; esac

say() { echo "cats-farm-e2e $MODE: $*" >&2; }
fail() { say "FAIL: $*"; exit 1; }
# shellcheck source=scripts/lib/fake-slack.sh
. scripts/lib/fake-slack.sh

PATH="$(scripts/node22.sh)/bin:$PATH"
export PATH
if [ -z "${CATCTL:-}" ]; then
  cargo build --quiet --locked --bin catctl
  CATCTL="${CARGO_TARGET_DIR:-$REPO/target}/debug/catctl"
fi
if [ "$MODE" = copycat ]; then
  [ -d templates/cat/node_modules ] || (cd templates/cat && npm ci --no-audit --no-fund >/dev/null)
  COPY=$(mktemp -d)
  trap 'rm -rf "$COPY"' EXIT
  tar -cf - catctl.toml cats templates | tar -C "$COPY" -xf -
  (cd "$COPY" && "$CATCTL" copycat nana >/dev/null)
  out=$(cd "$COPY/templates/cat" && node --test 2>&1) || { echo "$out" | grep -B2 -A20 'not ok' >&2; fail "the engine's tests fail with an eighth cat"; }
  echo "$out" | grep '^ok .* - nana: ' >/dev/null || fail "the engine's tests did not test the eighth cat nana"
  say "ok: the engine's tests pass with an eighth cat made by catctl copycat ($(echo "$out" | sed -n 's/^# pass //p') passed)"
  exit 0
fi
scripts/test-services.sh start >/dev/null
eval "$(scripts/test-services.sh env)"
BASE=${CATCTL_NODE_IMAGE:-catctl-node:22-local}
scripts/base-image.sh "$BASE" >/dev/null
[ -d templates/cat/deps/node_modules ] || (cd templates/cat && npm ci --no-audit --no-fund >/dev/null)

RUN="catctl-e2e-$$"
WORK=$(mktemp -d)
FARM="$WORK/farm"
NS="$RUN"
REGISTRY="${CATCTL_TEST_REGISTRY:-127.0.0.1:5000}/$RUN"
SLACK_PID=
cleanup() {
  set +e
  if [ "$MODE" = up ]; then (cd "$FARM" && "$CATCTL" down dd tt >/dev/null 2>&1); fi
  if [ "$MODE" = cluster ]; then kubectl delete namespace "$NS" --wait=false >/dev/null 2>&1; fi
  [ -n "$SLACK_PID" ] && kill "$SLACK_PID" 2>/dev/null
  docker images --format '{{.Repository}}:{{.Tag}}' | grep "/$RUN/" | xargs -r docker rmi -f >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT
catctl() { (cd "$FARM" && "$CATCTL" "$@"); }
timed() { local start=$SECONDS; "$@"; say "$* took $((SECONDS - start)) s"; }

# The fake workspace: on loopback for `up` (host network); for the cluster on the CNI bridge's
# address on the host (10.244.0.1), which pods reach while nothing leaves the machine.
if [ "$MODE" = up ]; then
  LISTEN=127.0.0.1:0
else
  [ -n "${KUBECONFIG:-}" ] || fail "the real cluster is not set up: run scripts/real-cluster.sh start and eval \"\$(scripts/real-cluster.sh env)\""
  BRIDGE=$(pod_host_address) || fail "cannot make the CNI bridge catctl0 for the pods to reach this machine (needs root)"
  LISTEN="$BRIDGE:0"
fi
slack_start "$LISTEN" "$WORK/slack"

# The farm: this repository's cats and template, fake tokens, the local base image.
mkdir -p "$FARM/secret"
tar -C "$REPO" --exclude=./templates/cat/node_modules -cf - ./cats ./templates | tar -C "$FARM" -xf -
cat >"$FARM/catctl.toml" <<TOML
registry = "$REGISTRY"
namespace = "$NS"
concurrency = 4
[build.args]
NODE_IMAGE = "$BASE"
[env]
CAT_SLACK_API_URL = "$SLACK/api/"
TOML
CATS=(chuchu coco dd lala lulu momo tt)
[ "$MODE" = up ] && CATS=(dd tt)
for cat in "${CATS[@]}"; do
  bot="xoxb-$cat-$RANDOM$RANDOM-e2e" app="xapp-$cat-$RANDOM$RANDOM-e2e"
  mkdir -m 700 "$FARM/secret/$cat-token"
  (umask 077 && printf '%s' "$bot" >"$FARM/secret/$cat-token/bot-token" && printf '%s' "$app" >"$FARM/secret/$cat-token/app-token")
  slack_bot "$cat" "$bot" "$app"
done

greeting() { sed -n 's/^greeting = "\(.*\)"$/\1/p' "$FARM/cats/$1/cat.toml"; }
log_of() {
  if [ "$MODE" = up ]; then docker logs "catctl-$1" 2>&1 | tail -5; else kubectl -n "$NS" logs "$1-0" --tail 5 2>&1; fi
}
# Sends TEXT to CAT in a channel of its own; after the first reply (within WAIT s) waits 3 s more
# for a wrong second one; prints the replies.
# A conversation (a question and its answer) stays in one channel: set CHANNEL.
ask() { # CAT TEXT [WAIT]
  local channel=${CHANNEL:-"C$(echo "$1" | tr a-z A-Z)$RANDOM"} ts got _
  ts=$(slack_post "$channel" "$2" "$1")
  for _ in $(seq 1 $((${3:-20} * 5))); do
    got=$(slack_replies "$channel" "$ts")
    [ -n "$got" ] && break
    sleep 0.2
  done
  sleep 3
  slack_replies "$channel" "$ts"
}
# CAT answers TEXT exactly once, with EXPECTED (a shell pattern).
answers_once() { # CAT TEXT EXPECTED [WAIT]
  local got count
  got=$(ask "$1" "$2" "${4:-20}")
  count=$(printf '%s' "$got" | grep -c . || true)
  [ "$count" = 1 ] || fail "$1 answered \"$2\" $count times: ${got:-nothing}; its log: $(log_of "$1")"
  # shellcheck disable=SC2254
  case "$got" in "$1: "$3) ;; *) fail "$1's answer to \"$2\" is not the expected one: $got" ;; esac
  say "ok: \"$2\" → $got"
}

if [ "$MODE" = up ]; then
  timed catctl build dd tt >/dev/null
  # The tokens are private to root here; the image runs as uid 1000: refused before starting.
  if catctl up dd --network host >"$WORK/unreadable.out" 2>&1; then fail "catctl up ran dd with a token its user cannot read"; fi
  grep -q "cannot be read by uid 1000" "$WORK/unreadable.out" || fail "the refusal does not say why: $(cat "$WORK/unreadable.out")"
  [ -z "$(docker ps -aq --filter name='^/catctl-dd$')" ] || fail "the refused up left a container"
  say "ok: a token the image's user cannot read is refused: $(grep -m1 'cannot be read' "$WORK/unreadable.out" | sed 's/^ *//')"
  chown -R 1000:1000 "$FARM/secret"
  timed catctl up dd tt --network host >/dev/null
  for cat in dd tt; do
    slack_wait_connected "$cat" 120 || fail "$cat did not connect to the fake workspace; its log: $(log_of "$cat")"
  done
  for cat in dd tt; do
    port=$(docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "catctl-$cat" | sed -n 's/^CAT_HEALTH_PORT=//p')
    health=
    for _ in $(seq 1 60); do
      health=$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{end}}' "catctl-$cat")
      [ "$health" = healthy ] && break
      sleep 0.5
    done
    [ "$health" = healthy ] || fail "catctl-$cat has no passing health check (status: ${health:-none})"
    say "ok: catctl-$cat is healthy (its health port on the host network: $port)"
  done
  [ "$(docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' catctl-dd | sed -n 's/^CAT_HEALTH_PORT=//p')" != \
    "$(docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' catctl-tt | sed -n 's/^CAT_HEALTH_PORT=//p')" ] ||
    fail "dd and tt share a health port on the host network"
  for cat in dd tt; do answers_once "$cat" hi "$(greeting "$cat")"; done
  timed catctl down dd tt >/dev/null
  [ -z "$(docker ps -aq --filter name='^/catctl-(dd|tt)$')" ] || fail "catctl down left a container of dd or tt"
  for cat in dd tt; do [ "$(slack_connections "$cat")" = 0 ] || fail "$cat is still connected after catctl down"; done
  say "ok: catctl down stopped dd and tt"
  say "ok: catctl up dd tt: each answered \"hi\" exactly once"
  exit 0
fi

# ---- the real cluster ----
kubectl create namespace "$NS" >/dev/null
timed catctl secret sync >/dev/null
timed catctl build --all >/dev/null
timed catctl push --all >/dev/null
timed catctl deploy --all >/dev/null || fail "catctl deploy --all failed: $(catctl status 2>&1)"
for cat in "${CATS[@]}"; do
  slack_wait_connected "$cat" 120 || fail "$cat did not connect; its log: $(log_of "$cat")"
done
for cat in "${CATS[@]}"; do answers_once "$cat" hi "$(greeting "$cat")"; done

# The characters as the story tells them.
start=$SECONDS
answers_once dd "밥 먹자" "…*:smirk_cat:" 30
late=$((SECONDS - start - 3))
[ "$late" -ge 7 ] || fail "DD's food reply came after ${late} s; DD comes late (delay_seconds = 8)"
say "ok: DD's food reply came after about ${late} s"
CHANNEL=CMOMOTALK answers_once momo "talk to me" "*아무 말이나*"
CHANNEL=CMOMOTALK answers_once momo "흥칫뿡 냥냥" "*흥칫뿡 냥냥*"
answers_once coco "코코" "입!*"
got=$(ask coco "hi")
case "$got" in *입*) fail "CoCo said 입! to a plain hi: $got" ;; esac
CHANNEL=CLALATALK answers_once lala "catctl 까먹었어" "*뭘 까먹었냥*"
CHANNEL=CLALATALK answers_once lala "deploy" "*catctl deploy lala*"

# Never two DDs: a "hi" sent while dd-0 is replaced is answered at most once.
replaced_once() { # WHAT; runs while the pod is being replaced
  local sent=() channel ts i got count
  for i in $(seq 1 "${1:-8}"); do
    channel="CREPLACE$i$RANDOM"
    ts=$(slack_post "$channel" hi dd)
    sent+=("$channel:$ts")
    sleep 1
  done
  printf '%s\n' "${sent[@]}"
}
count_replies() { # channel:ts lines on stdin
  local line worst=0 got count
  while IFS=: read -r channel ts; do
    got=$(slack_replies "$channel" "$ts")
    count=$(printf '%s' "$got" | grep -c . || true)
    [ "$count" -le 1 ] || fail "a \"hi\" sent while dd-0 was replaced was answered $count times: $got"
  done
}
old=$(kubectl -n "$NS" get pod dd-0 -o jsonpath='{.metadata.uid}')
kubectl -n "$NS" delete pod dd-0 --wait=false >/dev/null
replaced_once 8 >"$WORK/sent-delete"
for _ in $(seq 1 120); do
  uid=$(kubectl -n "$NS" get pod dd-0 -o jsonpath='{.metadata.uid}' 2>/dev/null || true)
  [ -n "$uid" ] && [ "$uid" != "$old" ] && slack_wait_connected dd 1 && break
  sleep 1
done
[ "$uid" != "$old" ] || fail "dd-0 was not replaced after kubectl delete pod"
sleep 3
count_replies <"$WORK/sent-delete"
answers_once dd hi "$(greeting dd)" 60
say "ok: across kubectl delete pod dd-0, no \"hi\" was answered twice"

catctl redeploy dd >"$WORK/redeploy.out" 2>&1 &
redeploy=$!
replaced_once 15 >"$WORK/sent-redeploy"
wait "$redeploy" || fail "catctl redeploy dd failed: $(tail -20 "$WORK/redeploy.out")"
slack_wait_connected dd 60 || fail "dd did not reconnect after catctl redeploy; its log: $(log_of dd)"
sleep 3
count_replies <"$WORK/sent-redeploy"
[ "$(kubectl -n "$NS" get pod dd-0 -o jsonpath='{.metadata.uid}')" != "$uid" ] || fail "catctl redeploy dd did not replace dd-0"
answers_once dd hi "$(greeting dd)"
say "ok: across catctl redeploy dd, no \"hi\" was answered twice"

# LaLa and the old $LALA_TOKEN bug (the seed story): new code with cat.toml left at v1 is refused
# before anything is written; deployed on purpose as v2, deploy fails fast with the log line.
lala_uid=$(kubectl -n "$NS" get pod lala-0 -o jsonpath='{.metadata.uid}')
mkdir -p "$FARM/cats/lala/src"
{
  echo "if (!process.env.LALA_TOKEN) { console.log('Initializing…'); console.error('Error: Specify \$LALA_TOKEN in environment'); process.exit(1); }"
  cat "$FARM/templates/cat/src/main.js"
} >"$FARM/cats/lala/src/main.js"
if catctl deploy lala >"$WORK/refused.out" 2>&1; then fail "catctl deploy lala ran v1 although cats/lala changed since lala:v1 was built"; fi
grep -q "changed since" "$WORK/refused.out" || fail "the refusal does not say the sources changed: $(cat "$WORK/refused.out")"
[ "$(kubectl -n "$NS" get pod lala-0 -o jsonpath='{.metadata.uid}')" = "$lala_uid" ] || fail "the refused deploy touched lala-0"
say "ok: LaLa's new code with cat.toml at v1: refused ($(grep -m1 'changed since' "$WORK/refused.out" | sed 's/^ *//'))"
sed -i 's/^version = "v1"/version = "v2"/' "$FARM/cats/lala/cat.toml"
catctl build lala >/dev/null
catctl push lala >/dev/null
start=$SECONDS
if catctl deploy lala --timeout 3m >"$WORK/lala.out" 2>&1; then fail "the broken LaLa v2 was reported deployed"; fi
took=$((SECONDS - start))
grep -q 'Specify \$LALA_TOKEN' "$WORK/lala.out" || fail "catctl deploy lala does not show the container's log: $(cat "$WORK/lala.out")"
[ "$took" -lt 120 ] || fail "catctl deploy lala took $took s to fail; it should fail fast"
say "ok: LaLa v2 with the bug deployed on purpose: failed in $took s showing: $(grep -m1 'Specify \$LALA_TOKEN' "$WORK/lala.out" | sed 's/^ *//')"
say "ok: the seven cats on the real cluster"
