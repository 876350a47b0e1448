#!/usr/bin/env bash
# Start-up time of the release binary: median wall time of `catctl --version` and
# `catctl list` over N runs (default 50). Target: well under 20 ms.
#   benches/startup.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-50}
cargo build --release --quiet
bin=target/release/catctl

median_ms() { # command…
  local times=()
  for _ in $(seq 1 "$runs"); do
    local start end
    start=$(date +%s%N)
    "$@" >/dev/null 2>&1
    end=$(date +%s%N)
    times+=($(( (end - start) / 1000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { m = a[int((NR + 1) / 2)]; printf "%.2f ms", m / 1000 }'
}

echo "catctl --version: median $(median_ms "$bin" --version) over $runs runs"
echo "catctl list:      median $(median_ms "$bin" list) over $runs runs"
