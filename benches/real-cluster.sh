#!/usr/bin/env bash
# Benchmark of `catctl deploy` on the real single-node Kubernetes of scripts/real-cluster.sh
# (issue 17 part 4), with the Docker daemon and registry of scripts/test-services.sh.
#
#   benches/real-cluster.sh        (CATCTL=path overrides the binary; default: the release build)
#
# In namespaces of its own (removed at the end): a farm of 7 FROM-scratch busybox cats serving
# /healthz for their default probes, built and pushed once (not timed), tokens synced. Timed:
#   1. `catctl deploy` of the 7 cats (namespace A);
#   2. a sequential `kubectl apply --server-side -f` + `kubectl rollout status` loop over the same
#      manifests (`catctl render --out`, namespace B: the scripts' way);
#   3. a cat whose container exits at once: the time from its first crash (the container's
#      `finishedAt`, whole seconds) to catctl's CrashLoopBackOff report.
# Targets: (1) at most 0.25x (2); (3) at most 10 s.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

scripts/test-services.sh start >/dev/null 2>&1 || scripts/test-services.sh start
eval "$(scripts/test-services.sh env)"
scripts/real-cluster.sh status >/dev/null 2>&1 || { echo "the real cluster is not running (scripts/real-cluster.sh start)" >&2; exit 2; }
eval "$(scripts/real-cluster.sh env)"
CATCTL=${CATCTL:-${CARGO_TARGET_DIR:-$ROOT/target}/release/catctl}
if [ ! -x "$CATCTL" ]; then cargo build --release --locked >&2; fi

WORK=$(mktemp -d)
NONCE=$(date +%s)
NS_A="bench-catctl-$NONCE"
NS_B="bench-kubectl-$NONCE"
NS_C="bench-crash-$NONCE"
cleanup() {
  kubectl delete namespace "$NS_A" "$NS_B" "$NS_C" --wait=false >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
CATS=(dd tt coco momo chuchu lulu lala)

FARM=$WORK/farm
mkdir -p "$FARM/templates/cat" "$FARM/cats" "$FARM/secret"
chmod 700 "$FARM/secret"
cp "$CATCTL_TEST_BUSYBOX" "$FARM/templates/cat/busybox"
# Each cat idles, as a bot waiting for Slack does, and answers its default probes: busybox
# httpd serves /healthz on the health port.
mkdir -p "$FARM/templates/cat/www"
echo ok >"$FARM/templates/cat/www/healthz"
cat >"$FARM/templates/cat/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY busybox /bin/busybox
COPY . /cat
CMD ["/bin/busybox", "sh", "-c", "exec /bin/busybox httpd -f -p ${CAT_HEALTH_PORT:-8080} -h /cat/www"]
DOCKERFILE
for cat in "${CATS[@]}" crash; do
  mkdir -p "$FARM/cats/$cat"
  printf 'version = "v1"\n' >"$FARM/cats/$cat/cat.toml"
  printf 'xoxb-%s-%s' "$cat" "$NONCE" >"$FARM/secret/$cat-token"
  chmod 600 "$FARM/secret/$cat-token"
done
cat >"$FARM/cats/crash/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY busybox /bin/busybox
CMD ["/bin/busybox", "sh", "-c", "echo 'Error: Specify $CRASH_TOKEN in environment' >&2; exit 1"]
DOCKERFILE

# Tags are immutable: the images of this version of the bench go to a repository named by its
# Dockerfiles, so that a re-run finds them and a changed bench pushes new ones.
REPOSITORY="bench-real-$(cat "$FARM/templates/cat/Dockerfile" "$FARM/cats/crash/Dockerfile" | sha256sum | cut -c1-8)"
printf 'registry = "%s/%s"\n' "$CATCTL_TEST_REGISTRY" "$REPOSITORY" >"$FARM/catctl.toml"

c() { (cd "$FARM" && "$CATCTL" "$@"); }
now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc; }

c -q build --all >/dev/null
c -q push --all >/dev/null
for ns in "$NS_A" "$NS_B" "$NS_C"; do
  kubectl create namespace "$ns" >/dev/null
  c -q -n "$ns" secret sync >/dev/null
done

t0=$(now)
c -q -n "$NS_A" deploy "${CATS[@]}" >/dev/null
t1=$(now)

c -q -n "$NS_B" render --out "$WORK/manifests" "${CATS[@]}"
t2=$(now)
for cat in "${CATS[@]}"; do
  kubectl apply --server-side -f "$WORK/manifests/$cat.yaml" >/dev/null
  kubectl -n "$NS_B" rollout status "statefulset/$cat" --timeout=120s >/dev/null
done
t3=$(now)

c -q -n "$NS_C" deploy crash --timeout 2m >"$WORK/crash.out" 2>&1 && { echo "the crashing cat deployed?" >&2; exit 1; }
reported=$(date +%s.%N)
grep -q CrashLoopBackOff "$WORK/crash.out" || { cat "$WORK/crash.out" >&2; exit 1; }
first_crash=$(kubectl -n "$NS_C" get pod crash-0 -o json | python3 -c '
import json, sys, datetime
pod = json.load(sys.stdin)
s = pod["status"]["containerStatuses"][0]
t = (s.get("lastState", {}).get("terminated") or s["state"].get("terminated"))["finishedAt"]
print(s["restartCount"], datetime.datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp())')
restarts=${first_crash% *}
crashed=${first_crash#* }

catctl_deploy=$(elapsed "$t0" "$t1")
kubectl_loop=$(elapsed "$t2" "$t3")
ratio=$(echo "scale=2; $catctl_deploy / $kubectl_loop" | bc)
to_report=$(elapsed "$crashed" "$reported")

printf '%-58s %8s\n' "real cluster ($(kubectl version -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["serverVersion"]["gitVersion"])'), $(nproc) cores)" "seconds"
printf '%-58s %8.2f\n' "catctl deploy, 7 busybox cats" "$catctl_deploy"
printf '%-58s %8.2f   (catctl %sx, target <= 0.25x)\n' "kubectl apply --server-side + rollout status loop, 7 cats" "$kubectl_loop" "$ratio"
printf '%-58s %8.2f   (target <= 10 s; restarts when reported: %s; finishedAt has whole seconds)\n' "first crash to catctl's CrashLoopBackOff report" "$to_report" "$restarts"

fail=0
[ "$(echo "$catctl_deploy <= 0.25 * $kubectl_loop" | bc)" = 1 ] || { echo "MISSED: catctl above 0.25x the kubectl loop"; fail=1; }
[ "$(echo "$to_report <= 10" | bc)" = 1 ] || { echo "MISSED: crash reported after more than 10 s"; fail=1; }
exit $fail
