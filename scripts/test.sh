#!/usr/bin/env bash
# The whole test suite, as CI runs it: the cat engine's Node tests, then it starts the Docker
# daemon and registry the Rust tests use (installing them from Debian's packages when missing),
# builds (once; cached in ~/.cache/catctl) and starts a real single-node Kubernetes
# (scripts/real-cluster.sh), and runs every Rust test — the real-cluster suite included.
#   scripts/test.sh [extra cargo test arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

# The cat engine's tests (templates/cat, Node.js 20.18 or newer), run with Node's own runner.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "test.sh: Node.js is missing; installing Debian's nodejs and npm" >&2
  apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
fi
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 18) ? 0 : 1)'; then
  echo "test.sh: the cat engine in templates/cat needs Node.js 20.18 or newer (Slack's Bolt requires it);" \
    "found $(node --version). Install Node.js 20.18 or newer and run again." >&2
  exit 1
fi
(cd templates/cat && npm ci --no-audit --no-fund && npm test)

scripts/test-services.sh start
eval "$(scripts/test-services.sh env)"

# A real Kubernetes built from upstream sources (cold build: ~15 min of CPU on 2 cores, then
# cached); tests/real_cluster runs catctl against it. It keeps running afterwards:
# `scripts/real-cluster.sh stop` stops it.
scripts/real-cluster.sh build
scripts/real-cluster.sh start >/dev/null
eval "$(scripts/real-cluster.sh env)"

# Benchmarks are not tests: they are type-checked by clippy and run with `cargo bench`.
cargo test --locked --workspace --lib --bins --tests "$@"
