#!/usr/bin/env bash
# Regenerates completions/ from the binary; a test fails when they differ.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet
./target/debug/catctl completions bash >completions/catctl.bash
./target/debug/catctl completions zsh >completions/_catctl
./target/debug/catctl completions fish >completions/catctl.fish
