#!/usr/bin/env bash
# The whole test suite, as CI runs it: starts the Docker daemon and registry the tests use
# (installing them from Debian's packages when missing), then runs every test.
#   scripts/test.sh [extra cargo test arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/test-services.sh start
eval "$(scripts/test-services.sh env)"

cargo test --locked --workspace --all-targets "$@"
