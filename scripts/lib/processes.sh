# Background services by pid file, shared by scripts/test-services.sh and scripts/real-cluster.sh
# (sourced; each defines `say`).

# Whether the process in pid file $1 is alive and its command line contains $2.
running() {
  local pid
  [ -f "$1" ] || return 1
  pid=$(cat "$1" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -- "$2" >/dev/null
}

# Waits up to $2 seconds until the command $3 succeeds; else says so with the last lines of the
# log $4. Arguments: name, seconds, check, log.
wait_for() {
  local deadline=$((SECONDS + $2))
  until $3; do
    if [ $SECONDS -ge $deadline ]; then
      say "$1 did not answer within $2 s; last lines of $4:"
      tail -n 30 "$4" >&2 || true
      return 1
    fi
    sleep 0.2
  done
}

# Stops the process of pid file $1 (named $2): SIGTERM, then SIGKILL after $3 seconds (10).
stop_pidfile() {
  if running "$1" "$2"; then
    local pid
    pid=$(cat "$1")
    say "stopping $2 (pid $pid)"
    kill "$pid"
    for _ in $(seq 1 $((${3:-10} * 10))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$1"
}
