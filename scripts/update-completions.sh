#!/usr/bin/env bash
# Regenerates completions/ from the binary; a test fails when they differ.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet
bin="${CARGO_TARGET_DIR:-target}/debug/catctl"
"$bin" completions bash >completions/catctl.bash
"$bin" completions zsh >completions/_catctl
"$bin" completions fish >completions/catctl.fish
