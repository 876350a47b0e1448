#!/usr/bin/env bash
# Benchmark of catctl's image commands against the docker CLI, on the test daemon and registry.
#
#   benches/images.sh            (builds target/release/catctl when missing; CATCTL=path overrides)
#
# A farm of 7 cats whose template is a FROM scratch image with a static busybox and a RUN step;
# a per-run nonce keeps earlier runs' layers out of the cache. It times:
#   1. a sequential `docker build` loop over the 7 merged contexts (`catctl context --out`),
#   2. `catctl build --all` of the same cats, cache disabled for both (--no-cache),
#   3. `catctl build --all` again, everything cached,
#   4. `catctl push --all` (first push), then again when the registry has everything,
#   5. `catctl verify --all`.
# Targets (issue 17): (2) at most 0.8x (1); (3) under 0.5 s; the re-push under 0.5 s.
# The loop uses the docker CLI's builder (DOCKER_BUILDKIT as set, else the classic builder);
# catctl uses whatever builder it has: the benchmark measures the binary, not an assumption.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

scripts/test-services.sh start >/dev/null 2>&1 || scripts/test-services.sh start
eval "$(scripts/test-services.sh env)"
CATCTL=${CATCTL:-${CARGO_TARGET_DIR:-$ROOT/target}/release/catctl}
if [ ! -x "$CATCTL" ]; then cargo build --release --locked >&2; fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
NONCE=$(date +%s%N)
CATS=(dd tt coco momo chuchu lulu lala)

FARM=$WORK/farm
mkdir -p "$FARM/templates/cat" "$FARM/cats"
REPO="bench$NONCE"
printf 'registry = "%s/%s"\nconcurrency = 4\n' "$CATCTL_TEST_REGISTRY" "$REPO" >"$FARM/catctl.toml"
cp "$CATCTL_TEST_BUSYBOX" "$FARM/templates/cat/busybox"
cat >"$FARM/templates/cat/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY busybox /bin/busybox
COPY . /cat
RUN ["/bin/busybox", "sh", "-c", "/bin/busybox sha256sum /cat/* > /cat.sums"]
CMD ["/bin/busybox", "sleep", "3600"]
DOCKERFILE
echo "nonce $NONCE" >"$FARM/templates/cat/nonce.txt"
for cat in "${CATS[@]}"; do
  mkdir -p "$FARM/cats/$cat"
  printf 'version = "v1"\n[character]\nname = "%s"\n' "$cat" >"$FARM/cats/$cat/cat.toml"
done

now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc; }
run() { (cd "$FARM" && "$CATCTL" -q "$@" >/dev/null); }

for cat in "${CATS[@]}"; do (cd "$FARM" && "$CATCTL" -q context "$cat" --out "$WORK/ctx/$cat"); done

t0=$(now)
for cat in "${CATS[@]}"; do
  DOCKER_BUILDKIT=${DOCKER_BUILDKIT:-0} docker build --no-cache -q -t "$CATCTL_TEST_REGISTRY/$REPO-docker/$cat:v1" \
    "$WORK/ctx/$cat" >/dev/null 2>&1
done
t1=$(now)
run build --all --no-cache
t2=$(now)
run build --all
t3=$(now)
run push --all
t4=$(now)
run push --all
t5=$(now)
run verify --all
t6=$(now)

docker_loop=$(elapsed "$t0" "$t1")
catctl_build=$(elapsed "$t1" "$t2")
cached=$(elapsed "$t2" "$t3")
push=$(elapsed "$t3" "$t4")
repush=$(elapsed "$t4" "$t5")
verify=$(elapsed "$t5" "$t6")
ratio=$(echo "scale=2; $catctl_build / $docker_loop" | bc)

printf '%-46s %8s\n' "what (7 cats, $(nproc) cores)" "seconds"
printf '%-46s %8.2f\n' "docker build loop (sequential, --no-cache)" "$docker_loop"
printf '%-46s %8.2f   (%sx the loop, target <= 0.8x)\n' "catctl build --all --no-cache" "$catctl_build" "$ratio"
printf '%-46s %8.2f   (target < 0.5 s)\n' "catctl build --all, all cached" "$cached"
printf '%-46s %8.2f\n' "catctl push --all (first push)" "$push"
printf '%-46s %8.2f   (target < 0.5 s)\n' "catctl push --all, registry has all" "$repush"
printf '%-46s %8.2f\n' "catctl verify --all" "$verify"

fail=0
[ "$(echo "$catctl_build <= 0.8 * $docker_loop" | bc)" = 1 ] || { echo "MISSED: catctl build above 0.8x the docker loop"; fail=1; }
[ "$(echo "$cached < 0.5" | bc)" = 1 ] || { echo "MISSED: cached rebuild not under 0.5 s"; fail=1; }
[ "$(echo "$repush < 0.5" | bc)" = 1 ] || { echo "MISSED: re-push not under 0.5 s"; fail=1; }
exit $fail
