#!/usr/bin/env bash
# End to end, the real thing on the local Docker daemon: DD's real image — `catctl context dd`
# written out and built with plain `docker build` on the Node.js 22 base made here
# (scripts/base-image.sh), with no network in the build — runs as uid 1000 with a read-only root
# filesystem on the host network, connects to the fake Slack workspace (tests/fake-slack) with a
# mounted token directory, and answers "hi" exactly once. Prints the image size.
#
#   scripts/cats-e2e.sh [CAT]        default CAT: dd
#
# Needs the test services (started here, never stopped) and Node.js 22 (scripts/node22.sh).
# CATCTL=path/to/catctl uses that binary instead of `cargo run`.
set -euo pipefail
cd "$(dirname "$0")/.."

CAT=${1:-dd}
say() { echo "cats-e2e: $*" >&2; }
fail() { say "FAIL: $*"; exit 1; }

PATH="$(scripts/node22.sh)/bin:$PATH"
export PATH
scripts/test-services.sh start
eval "$(scripts/test-services.sh env)"
BASE=${CATCTL_NODE_IMAGE:-catctl-node:22-local}
scripts/base-image.sh "$BASE"

WORK=$(mktemp -d)
CONTAINER="catctl-e2e-$CAT-$$"
IMAGE="catctl-e2e/$CAT:$$"
SLACK_PID=
cleanup() {
  docker rm -f "$CONTAINER" >/dev/null 2>&1 || true
  docker rmi "$IMAGE" >/dev/null 2>&1 || true
  [ -n "$SLACK_PID" ] && kill "$SLACK_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# The engine's production modules go into the context as deps/node_modules (npm ci fills it).
if [ ! -d templates/cat/deps/node_modules ]; then
  (cd templates/cat && npm ci --no-audit --no-fund >/dev/null)
fi

if [ -n "${CATCTL:-}" ]; then
  "$CATCTL" context "$CAT" --out "$WORK/context"
else
  cargo run --quiet --locked --bin catctl -- context "$CAT" --out "$WORK/context"
fi

say "docker build $CAT with NODE_IMAGE=$BASE, no network"
start=$SECONDS
docker build --network none --build-arg "NODE_IMAGE=$BASE" -t "$IMAGE" "$WORK/context" >"$WORK/build.log" 2>&1 ||
  { tail -n 30 "$WORK/build.log" >&2; fail "docker build of $CAT failed"; }
build_time=$((SECONDS - start))
size=$(docker image inspect -f '{{.Size}}' "$IMAGE")
[ "$(docker image inspect -f '{{.Config.User}}' "$IMAGE")" = "1000:1000" ] || fail "the image does not run as uid 1000"

# The fake workspace on loopback; the cat reaches it over the host network.
node tests/fake-slack/server.mjs --listen 127.0.0.1:0 >"$WORK/slack.out" 2>"$WORK/slack.err" &
SLACK_PID=$!
for _ in $(seq 1 100); do grep -q '^FAKE_SLACK_URL=' "$WORK/slack.out" 2>/dev/null && break; sleep 0.1; done
SLACK=$(sed -n 's/^FAKE_SLACK_URL=//p' "$WORK/slack.out")
[ -n "$SLACK" ] || fail "the fake Slack did not start: $(cat "$WORK/slack.err")"

control() { # METHOD PATH [JSON]
  curl -fsS --max-time 10 -X "$1" -H 'content-type: application/json' ${3:+-d "$3"} "$SLACK/_control/$2"
}
json() { node -e "let s='';process.stdin.on('data',c=>s+=c).on('end',()=>{const v=JSON.parse(s);console.log($1)})"; }

BOT="xoxb-e2e-$RANDOM$RANDOM-secret"
APP="xapp-e2e-$RANDOM$RANDOM-secret"
control POST bots "{\"name\":\"$CAT\",\"bot_token\":\"$BOT\",\"app_token\":\"$APP\"}" >/dev/null
mkdir -p "$WORK/token"
printf '%s\n' "$BOT" >"$WORK/token/bot-token"
printf '%s\n' "$APP" >"$WORK/token/app-token"
chmod 755 "$WORK/token" && chmod 644 "$WORK/token/"*
HEALTH_PORT=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")

docker run -d --name "$CONTAINER" --network host --read-only --user 1000:1000 \
  -e "CAT_SLACK_API_URL=$SLACK/api/" -e "CAT_HEALTH_PORT=$HEALTH_PORT" \
  -v "$WORK/token:/run/secrets/cat:ro" "$IMAGE" >/dev/null

connected=0
for _ in $(seq 1 300); do
  connected=$(control GET state | json "v.bots.find(b => b.name === '$CAT').connections")
  [ "$connected" = 1 ] && break
  [ "$(docker inspect -f '{{.State.Running}}' "$CONTAINER")" = true ] || break
  sleep 0.2
done
[ "$connected" = 1 ] || fail "$CAT did not connect; its log: $(docker logs "$CONTAINER" 2>&1 | tail -5)"

[ "$(docker exec "$CONTAINER" node -p 'process.getuid()')" = 1000 ] || fail "not running as uid 1000"
docker exec "$CONTAINER" node -e "require('fs').writeFileSync('/cat/x', '')" 2>/dev/null &&
  fail "the root filesystem is writable"
docker exec "$CONTAINER" node src/health.js --check >/dev/null || fail "the health check does not pass while connected"

TS=$(control POST messages "{\"channel\":\"C0E2E\",\"text\":\"hi\",\"mention\":[\"$CAT\"]}" | json 'v.ts')
replies() { control GET "messages?channel=C0E2E&since=$TS" | json "v.messages.filter(m => m.bot).map(m => m.bot + ': ' + m.text).join('\\n')"; }
for _ in $(seq 1 100); do [ -n "$(replies)" ] && break; sleep 0.2; done
sleep 3 # time for a wrong second answer
got=$(replies)
count=$(printf '%s' "$got" | grep -c . || true)
[ "$count" = 1 ] || fail "expected exactly one reply to \"hi\", got $count: ${got:-nothing}; log: $(docker logs "$CONTAINER" 2>&1 | tail -5)"
case "$got" in "$CAT: "*[Mm]eow*) ;; *) fail "the reply is not $CAT's greeting: $got" ;; esac
docker logs "$CONTAINER" 2>&1 | grep -- "$BOT\|$APP" >/dev/null && fail "a token appears in the log"

docker stop -t 10 "$CONTAINER" >/dev/null
[ "$(docker inspect -f '{{.State.ExitCode}}' "$CONTAINER")" = 0 ] || fail "$CAT did not stop cleanly"

printf 'cats-e2e: ok: %s answered "hi" exactly once (%s); image %s, %s MB, built in %ss\n' \
  "$CAT" "$got" "$IMAGE" "$(awk -v s="$size" 'BEGIN { printf "%.1f", s / 1000000 }')" "$build_time"
