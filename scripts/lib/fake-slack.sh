# The fake Slack workspace (tests/fake-slack/server.mjs) from a shell script: start it, register
# bots, post as a person and read the replies. Sourced by scripts/cats-farm-e2e.sh and
# scripts/quickstart.sh; needs node (22 or newer), curl and jq.
#
#   slack_start HOST:PORT LOG_DIR [PID_FILE]   sets SLACK (its URL) and SLACK_PID
#   slack_bot NAME BOT_TOKEN APP_TOKEN          registers a bot
#   slack_connections NAME                      live Socket Mode connections of a bot
#   slack_post CHANNEL TEXT [MENTION]           a person posts (mentioning a bot); prints its ts
#   slack_replies CHANNEL SINCE_TS              the bots' messages since then, "bot: text" lines
#   slack_wait_connected NAME SECONDS           waits until the bot has exactly one connection

slack_control() { # METHOD PATH [JSON]
  curl -fsS --max-time 10 --max-filesize 1048576 -X "$1" -H 'content-type: application/json' \
    ${3:+-d "$3"} "$SLACK/_control/$2"
}

slack_start() { # HOST:PORT LOG_DIR [PID_FILE]
  local listen=$1 dir=$2 pidfile=${3:-}
  mkdir -p "$dir"
  : >"$dir/slack.out"
  node "$(dirname "${BASH_SOURCE[0]}")/../../tests/fake-slack/server.mjs" --listen "$listen" \
    >"$dir/slack.out" 2>"$dir/slack.err" &
  SLACK_PID=$!
  [ -z "$pidfile" ] || echo "$SLACK_PID" >"$pidfile"
  local _
  for _ in $(seq 1 100); do
    grep -q '^FAKE_SLACK_URL=' "$dir/slack.out" 2>/dev/null && break
    kill -0 "$SLACK_PID" 2>/dev/null || break
    sleep 0.1
  done
  SLACK=$(sed -n 's/^FAKE_SLACK_URL=//p' "$dir/slack.out")
  if [ -z "$SLACK" ]; then
    echo "the fake Slack workspace did not start on $listen: $(cat "$dir/slack.err")" >&2
    return 1
  fi
}

slack_bot() { # NAME BOT_TOKEN APP_TOKEN
  slack_control POST bots "$(jq -nc --arg n "$1" --arg b "$2" --arg a "$3" \
    '{name: $n, bot_token: $b, app_token: $a}')" >/dev/null
}

slack_connections() { # NAME
  slack_control GET state | jq -r --arg n "$1" '[.bots[] | select(.name == $n)][0].connections // 0'
}

slack_wait_connected() { # NAME SECONDS
  local _
  for _ in $(seq 1 $(($2 * 5))); do
    [ "$(slack_connections "$1")" = 1 ] && return 0
    sleep 0.2
  done
  return 1
}

slack_post() { # CHANNEL TEXT [MENTION]
  slack_control POST messages "$(jq -nc --arg c "$1" --arg t "$2" --arg m "${3:-}" \
    '{channel: $c, text: $t, mention: (if $m == "" then [] else [$m] end)}')" | jq -r .ts
}

slack_replies() { # CHANNEL SINCE_TS
  slack_control GET "messages?channel=$1&since=$2" | jq -r '.messages[] | select(.bot) | "\(.bot): \(.text)"'
}

# The host's address as the real cluster's pods see it (scripts/real-cluster.sh): the CNI
# bridge catctl0's, 10.244.0.1. Pods have no default route, so it is the one host address they
# reach, and nothing sent to it leaves the machine. The bridge appears with the first pod; before
# that it is made here as the CNI bridge plugin would (same name, the subnet's gateway address).
pod_host_address() {
  local addr
  addr=$(ip -o -4 addr show catctl0 2>/dev/null | awk '{ sub("/.*", "", $4); print $4 }')
  if [ -z "$addr" ]; then
    ip link add catctl0 type bridge && ip addr add 10.244.0.1/24 dev catctl0 &&
      ip link set catctl0 up || return 1
    addr=10.244.0.1
  fi
  echo "$addr"
}
