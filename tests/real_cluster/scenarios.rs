//! catctl's story against the real cluster, one namespace per test.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::cluster::{describe, real_cluster};
use crate::farm::{Farm, text};

/// A cat that prints a line at every start (with a number unique to that start) and idles,
/// serving `/healthz` as the farm's busybox cat does.
const CHATTY: &str = "FROM scratch\nCOPY busybox /bin/busybox\nCOPY . /cat\n\
    CMD [\"/bin/busybox\", \"sh\", \"-c\", \"echo started $(/bin/busybox cat /proc/sys/kernel/random/uuid); exec /bin/busybox httpd -f -p ${CAT_HEALTH_PORT:-8080} -h /cat/www\"]\n";

/// A cat that dies at once, saying why — the seed story's `lala`.
const CRASHING: &str = "FROM scratch\nCOPY busybox /bin/busybox\nCOPY . /cat\n\
    CMD [\"/bin/busybox\", \"sh\", \"-c\", \"echo Initializing; echo 'Error: Specify $LALA_TOKEN in environment'; exit 1\"]\n";

/// A cat that runs for half a second, then dies.
const SHORT_LIVED: &str = "FROM scratch\nCOPY busybox /bin/busybox\nCOPY . /cat\n\
    CMD [\"/bin/busybox\", \"sh\", \"-c\", \"echo up; /bin/busybox sleep 0.5; echo gone; exit 3\"]\n";

#[test]
fn the_cluster_is_a_real_release_with_a_ready_node() {
    let real = real_cluster!();
    let version: Value =
        serde_json::from_str(&real.kubectl_ok(None, &["version", "-o", "json"])).unwrap();
    let server = version["serverVersion"]["gitVersion"]
        .as_str()
        .expect("the server reports its version");
    assert!(
        server.starts_with("v1.") && !server.contains("0.0.0") && !server.contains("master"),
        "not a release: {version}"
    );
    let nodes = real.get_json(None, &["nodes"]);
    let nodes = nodes["items"].as_array().unwrap();
    assert_eq!(nodes.len(), 1, "one node");
    let node = &nodes[0];
    let ready = node["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Ready")
        .unwrap();
    assert_eq!(ready["status"], "True", "{ready}");
    let info = &node["status"]["nodeInfo"];
    assert_eq!(info["kubeletVersion"], server, "{info}");
    assert!(
        info["containerRuntimeVersion"]
            .as_str()
            .unwrap()
            .starts_with("containerd://"),
        "{info}"
    );
}

#[test]
fn three_cats_from_copycat_to_pods_running_the_pinned_digest() {
    let real = real_cluster!();
    let farm = Farm::new(real, "three");
    let cats: Vec<String> = ["dd", "tt", "coco"]
        .iter()
        .map(|hint| format!("{hint}-{}", farm.ns.rsplit('-').next().unwrap()))
        .collect();
    let names: Vec<&str> = cats.iter().map(String::as_str).collect();
    let with = |first: &'static str| {
        let mut args: Vec<&str> = vec![first];
        args.extend(names.iter().copied());
        args
    };
    farm.ok(&with("copycat"));
    for cat in &names {
        farm.write(
            &format!("secret/{cat}-token/bot-token"),
            &format!("xoxb-{cat}"),
        );
        farm.write(
            &format!("secret/{cat}-token/app-token"),
            &format!("xapp-{cat}"),
        );
    }
    farm.ok(&["secret", "sync"]);
    farm.ok(&with("build"));
    farm.ok(&with("push"));
    let deployed = farm.ok(&with("deploy"));
    let table = String::from_utf8_lossy(&deployed.stdout).into_owned();
    let status = farm.json(&with("status"));
    for cat in &names {
        let digest = farm.digest(cat, "v1");
        let sts = farm.get(&["statefulset", cat]);
        assert_eq!(
            sts["spec"]["template"]["spec"]["containers"][0]["image"],
            format!("{}@{digest}", farm.image(cat, "v1")),
            "pinned by digest"
        );
        let pod = farm.pod(cat);
        assert_eq!(pod["status"]["phase"], "Running", "{}", pod["status"]);
        // Probes are on by default: the pod is Ready because its /healthz answered.
        let container = &pod["spec"]["containers"][0];
        for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
            assert_eq!(container[probe]["httpGet"]["path"], "/healthz", "{probe}");
        }
        assert_eq!(pod["status"]["containerStatuses"][0]["ready"], true);
        assert_eq!(
            farm.running_digest(cat),
            digest,
            "the node runs the pinned digest"
        );
        let line = table.lines().find(|l| l.starts_with(cat)).unwrap();
        assert!(line.contains("deployed"), "{table}");
        let row = status
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["cat"] == *cat)
            .unwrap();
        assert_eq!(row["digest"], digest.as_str(), "{row}");
        assert_eq!(row["running_digests"], serde_json::json!([digest]), "{row}");
        assert_eq!(row["ready"], 1, "{row}");
        assert_eq!(row["desired"], 1, "{row}");
    }
}

#[test]
fn the_v1_v2_mistake_and_stale_sources_are_refused_with_zero_writes() {
    let real = real_cluster!();
    let farm = Farm::new(real, "vtwo");
    let cat = farm.cat("vtwo");
    farm.ok(&["deploy", &cat]);
    let v1 = farm.digest(&cat, "v1");
    // Bump the version and build, but forget to push.
    farm.write(&format!("cats/{cat}/cat.toml"), "version = \"v2\"\n");
    farm.ok(&["build", &cat]);
    let mark = real.audit_mark();
    let out = farm.fails(&["deploy", &cat]);
    assert!(
        out.contains(&format!(
            "{} is not in the registry",
            farm.image(&cat, "v2")
        )),
        "{out}"
    );
    assert!(out.contains(&format!("catctl push {cat}")), "{out}");
    // Sources changed since the build.
    farm.write(
        &format!("cats/{cat}/new-trick.txt"),
        "changed after the build",
    );
    let out = farm.fails(&["deploy", &cat]);
    assert!(out.contains("changed since"), "{out}");
    let writes: Vec<String> = real
        .writes_since(mark, &farm.ns)
        .iter()
        .filter(|e| e["user"]["username"] == "catctl-admin")
        .map(describe)
        .collect();
    assert!(writes.is_empty(), "refusals wrote: {writes:?}");
    assert_eq!(farm.running_digest(&cat), v1, "v1 still runs");
}

#[test]
fn a_crash_loop_fails_fast_with_the_containers_last_words() {
    let real = real_cluster!();
    let farm = Farm::new(real, "lala");
    let cat = farm.new_cat("lala");
    farm.write(&format!("cats/{cat}/Dockerfile"), CRASHING);
    farm.ok(&["build", &cat]);
    farm.ok(&["push", &cat]);
    farm.token(&cat, "xoxb-lala");
    let started = Instant::now();
    let output = farm.catctl(&["deploy", &cat, "--timeout", "2m"]);
    let elapsed = started.elapsed();
    let out = text(&output);
    assert!(!output.status.success(), "{out}");
    assert!(out.contains("CrashLoopBackOff"), "{out}");
    assert!(
        out.contains("Error: Specify $LALA_TOKEN in environment"),
        "the container's last line is missing: {out}"
    );
    // Within 20 s of the first crash, which comes after the deploy started (≈ 4 s in all here).
    assert!(
        elapsed < Duration::from_secs(20),
        "took {elapsed:?}: not fail-fast\n{out}"
    );
    eprintln!("crash loop reported after {elapsed:?}");
}

/// A cat without probes is Ready as soon as it runs: one that dies at once (here after half a
/// second) looks deployed for a moment, and only the settling window catches it (a probed cat is Ready only once its probe is
/// answered, so it needs none — the other scenarios).
#[test]
fn an_unprobed_cat_that_dies_at_once_is_not_reported_deployed() {
    let real = real_cluster!();
    let farm = Farm::new(real, "noprobe");
    let cat = farm.new_cat("noprobe");
    farm.write(
        &format!("cats/{cat}/cat.toml"),
        "version = \"v1\"\nprobes = false\n",
    );
    // Up for half a second: the kubelet reports it Running (and, without a probe, Ready),
    // then its exit within its next relist, a second later at most.
    farm.write(&format!("cats/{cat}/Dockerfile"), SHORT_LIVED);
    farm.ok(&["build", &cat]);
    farm.ok(&["push", &cat]);
    farm.token(&cat, "xoxb-noprobe");
    let started = Instant::now();
    let output = farm.catctl(&["deploy", &cat, "--timeout", "2m", "-o", "json"]);
    let elapsed = started.elapsed();
    let out = text(&output);
    assert!(!output.status.success(), "{out}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_default();
    assert_eq!(report["items"][0]["result"], "failed", "{out}");
    assert!(
        elapsed < Duration::from_secs(20),
        "took {elapsed:?}: not fail-fast\n{out}"
    );
}

/// Pod watch events (`kubectl get pods -w --output-watch-events -o json`) of one cat, collected
/// in the background until [`PodWatch::stop`].
struct PodWatch {
    child: std::process::Child,
    events: mpsc::Receiver<Value>,
}

impl PodWatch {
    fn start(farm: &Farm, cat: &str) -> PodWatch {
        let mut child = farm
            .real
            .kubectl_command(
                Some(&farm.ns),
                &[
                    "get",
                    "pods",
                    "-l",
                    &format!("app={cat}"),
                    "-w",
                    "--output-watch-events",
                    "-o",
                    "json",
                ],
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, events) = mpsc::channel();
        std::thread::spawn(move || {
            let stream = serde_json::Deserializer::from_reader(stdout).into_iter::<Value>();
            for event in stream.map_while(Result::ok) {
                if tx.send(event).is_err() {
                    break;
                }
            }
        });
        PodWatch { child, events }
    }

    /// Waits for the first event (the watch is established), then returns the watch.
    fn established(self) -> PodWatch {
        let first = self
            .events
            .recv_timeout(Duration::from_secs(30))
            .expect("the pod watch starts");
        let (tx, rx) = mpsc::channel();
        tx.send(first).unwrap();
        std::thread::spawn({
            let events = self.events;
            move || {
                while let Ok(e) = events.recv() {
                    if tx.send(e).is_err() {
                        break;
                    }
                }
            }
        });
        PodWatch {
            child: self.child,
            events: rx,
        }
    }

    fn stop(mut self) -> Vec<Value> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.events.try_iter().collect()
    }
}

#[test]
fn deleting_the_pod_and_redeploying_never_runs_two_copies() {
    let real = real_cluster!();
    let farm = Farm::new(real, "restart");
    let cat = farm.cat("restart");
    farm.ok(&["deploy", &cat]);
    let uid = farm.pod(&cat)["metadata"]["uid"]
        .as_str()
        .unwrap()
        .to_string();
    let watch = PodWatch::start(&farm, &cat).established();
    let mark = real.audit_mark();
    farm.kubectl_ok(&["delete", "pod", &format!("{cat}-0"), "--wait=false"]);
    farm.ok(&["redeploy", &cat]);
    farm.kubectl_ok(&[
        "wait",
        "--for=condition=Ready",
        &format!("pod/{cat}-0"),
        "--timeout=60s",
    ]);
    let now = farm.pod(&cat);
    assert_ne!(now["metadata"]["uid"], uid.as_str(), "the pod was replaced");
    let writes = real.writes_since(mark, &farm.ns);
    let sts_recreated: Vec<String> = writes
        .iter()
        .filter(|e| e["objectRef"]["resource"] == "statefulsets")
        .filter(|e| e["verb"] == "create" || e["verb"] == "delete")
        .map(describe)
        .collect();
    assert!(sts_recreated.is_empty(), "{sts_recreated:?}");
    // Replay the pods' watch history: at no moment may two pods of the cat exist (a pod being
    // deleted still runs its bot until it is gone, so it counts).
    let events = watch.stop();
    let (mut alive, mut most) = (BTreeSet::new(), 0);
    for event in &events {
        let pod_uid = event["object"]["metadata"]["uid"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if event["type"] == "DELETED" {
            alive.remove(&pod_uid);
        } else {
            alive.insert(pod_uid);
        }
        most = most.max(alive.len());
    }
    let uids: BTreeSet<&str> = events
        .iter()
        .filter_map(|e| e["object"]["metadata"]["uid"].as_str())
        .collect();
    assert!(uids.len() >= 2, "the watch saw no replacement: {uids:?}");
    assert_eq!(most, 1, "two pods of the cat existed at once: {events:#?}");
}

#[test]
fn a_field_owned_by_kubectl_scale_is_named_and_force_wins() {
    let real = real_cluster!();
    let farm = Farm::new(real, "scaled");
    let cat = farm.cat("scaled");
    farm.ok(&["deploy", &cat]);
    farm.kubectl_ok(&["scale", "statefulset", &cat, "--replicas=2"]);
    let sts = farm.get(&["statefulset", &cat, "--show-managed-fields"]);
    let managers: Vec<String> = sts["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["manager"].as_str().unwrap_or_default().to_string())
        .collect();
    let scaler = managers
        .iter()
        .find(|m| m.starts_with("kubectl"))
        .unwrap_or_else(|| panic!("kubectl scale left no field manager: {managers:?}"))
        .clone();
    let out = farm.fails(&["deploy", &cat]);
    assert!(
        out.contains(&format!("owned by {scaler}")) || out.contains(&scaler),
        "the refusal does not name {scaler}: {out}"
    );
    assert!(out.contains("--force"), "{out}");
    farm.ok(&["deploy", &cat, "--force"]);
    eprintln!("refusal after kubectl scale: {out}");
    assert_eq!(farm.get(&["statefulset", &cat])["spec"]["replicas"], 1);
    farm.kubectl_ok(&[
        "wait",
        "--for=delete",
        &format!("pod/{cat}-1"),
        "--timeout=60s",
    ]);
    let pods = farm.get(&["pods", "-l", &format!("app={cat}")]);
    assert_eq!(pods["items"].as_array().unwrap().len(), 1, "{pods}");
}

#[test]
fn a_changed_token_restarts_exactly_its_cat() {
    let real = real_cluster!();
    let farm = Farm::new(real, "token");
    let (changed, untouched) = (farm.cat("token"), farm.cat("token"));
    farm.ok(&["deploy", &changed, &untouched]);
    let uid = |cat: &str| {
        farm.pod(cat)["metadata"]["uid"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (before_changed, before_untouched) = (uid(&changed), uid(&untouched));
    farm.token(&changed, "xoxb-a-new-token");
    farm.ok(&["deploy", &changed, &untouched]);
    assert_ne!(
        uid(&changed),
        before_changed,
        "the cat whose token changed restarted"
    );
    assert_eq!(
        uid(&untouched),
        before_untouched,
        "the other cat kept running"
    );
    farm.kubectl_ok(&[
        "wait",
        "--for=condition=Ready",
        &format!("pod/{changed}-0"),
        "--timeout=60s",
    ]);
}

#[test]
fn rollback_returns_the_previous_digest_and_the_node_runs_it() {
    let real = real_cluster!();
    let farm = Farm::new(real, "back");
    let cat = farm.cat("back");
    farm.ok(&["deploy", &cat]);
    let v1 = farm.digest(&cat, "v1");
    assert_eq!(farm.running_digest(&cat), v1);
    farm.release(&cat, "v2");
    farm.ok(&["deploy", &cat]);
    let v2 = farm.digest(&cat, "v2");
    assert_ne!(v1, v2);
    assert_eq!(farm.running_digest(&cat), v2);
    farm.ok(&["rollback", &cat]);
    assert_eq!(farm.running_digest(&cat), v1, "the node runs v1 again");
    let history = farm.json(&["history", &cat]);
    let digests: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["digest"].as_str().unwrap())
        .collect();
    assert_eq!(
        digests,
        [v1.as_str(), v2.as_str(), v1.as_str()],
        "{history}"
    );
}

#[test]
fn logs_follow_a_pod_across_a_restart() {
    let real = real_cluster!();
    let farm = Farm::new(real, "follow");
    let cat = farm.new_cat("follow");
    farm.write(&format!("cats/{cat}/Dockerfile"), CHATTY);
    farm.ok(&["build", &cat]);
    farm.ok(&["push", &cat]);
    farm.token(&cat, "xoxb-follow");
    farm.ok(&["deploy", &cat]);
    let mut follow = farm
        .command(&["logs", "-f", &cat])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, lines) = mpsc::channel();
    let stdout = follow.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let next_start = |what: &str| loop {
        let line = lines
            .recv_timeout(Duration::from_secs(90))
            .unwrap_or_else(|_| panic!("catctl logs -f printed no {what}"));
        if let Some(at) = line.find("started ") {
            return line[at..].to_string();
        }
    };
    let first = next_start("first start");
    farm.ok(&["redeploy", &cat]);
    let second = next_start("line from the restarted pod");
    let _ = follow.kill();
    let _ = follow.wait();
    assert_ne!(first, second, "the same start twice");
}

/// The repository's manifest template, for a cat that brings its own.
fn manifest_template() -> String {
    std::fs::read_to_string(crate::farm::repo().join("templates/deployment.yaml")).unwrap()
}

/// A StatefulSet whose controller cannot make its pod (a ServiceAccount that does not exist):
/// no pod ever appears, so only the controller's FailedCreate event says why — watched once
/// the rollout has been stuck for 2 s.
#[test]
fn a_pod_the_controller_cannot_create_fails_fast_with_its_failedcreate_event() {
    let real = real_cluster!();
    let farm = Farm::new(real, "nosa");
    let cat = farm.cat("nosa");
    let template = manifest_template().replacen(
        "      automountServiceAccountToken: false\n",
        "      automountServiceAccountToken: false\n      serviceAccountName: missing-sa\n",
        1,
    );
    assert!(template.contains("missing-sa"), "the template changed");
    farm.write(&format!("cats/{cat}/deployment.yaml"), &template);
    let started = Instant::now();
    let out = farm.fails(&["deploy", &cat, "--timeout", "2m"]);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "not fail-fast: {:?}\n{out}",
        started.elapsed()
    );
    assert!(out.contains("FailedCreate"), "{out}");
    assert!(out.contains("missing-sa"), "{out}");
}

#[test]
fn a_missing_secret_volume_fails_fast_with_the_kubelets_mount_error() {
    let real = real_cluster!();
    let farm = Farm::new(real, "mount");
    let cat = farm.cat("mount");
    let template = manifest_template()
        .replacen(
            "      volumes:\n",
            &format!(
                "      volumes:\n        - name: extra\n          secret:\n            secretName: missing-{cat}\n"
            ),
            1,
        )
        .replacen(
            "          volumeMounts:\n",
            "          volumeMounts:\n            - name: extra\n              mountPath: /extra\n",
            1,
        );
    farm.write(&format!("cats/{cat}/deployment.yaml"), &template);
    let started = Instant::now();
    let out = farm.fails(&["deploy", &cat, "--timeout", "2m"]);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "not fail-fast: {:?}\n{out}",
        started.elapsed()
    );
    assert!(out.contains("FailedMount"), "{out}");
    assert!(
        out.contains(&format!("secret \"missing-{cat}\" not found")),
        "{out}"
    );
}

#[test]
fn an_image_the_node_cannot_pull_is_reported() {
    let real = real_cluster!();
    let farm = Farm::new(real, "pull");
    let cat = farm.cat("pull");
    // The cat's own manifest adds a sidecar whose image the registry does not have.
    let sidecar = format!(
        "      containers:\n        - name: sidecar\n          image: {}/no-such-image-{cat}:v1\n",
        farm.services.registry
    );
    farm.write(
        &format!("cats/{cat}/deployment.yaml"),
        &manifest_template().replacen("      containers:\n", &sidecar, 1),
    );
    let out = farm.fails(&["deploy", &cat, "--timeout", "60s"]);
    assert!(
        out.contains("ImagePullBackOff") || out.contains("ErrImagePull"),
        "{out}"
    );
}

#[test]
fn a_broken_pod_is_replaced_by_the_fixed_revision() {
    let real = real_cluster!();
    let farm = Farm::new(real, "fixme");
    let cat = farm.new_cat("fixme");
    farm.write(&format!("cats/{cat}/Dockerfile"), CRASHING);
    farm.ok(&["build", &cat]);
    farm.ok(&["push", &cat]);
    farm.token(&cat, "xoxb-fixme");
    let out = farm.fails(&["deploy", &cat, "--timeout", "1m"]);
    assert!(out.contains("CrashLoopBackOff"), "{out}");
    // The fix: the template's idling Dockerfile again. The real StatefulSet controller waits
    // forever for the broken pod of the old revision; deploy deletes it (forced rollback).
    std::fs::remove_file(farm.path().join(format!("cats/{cat}/Dockerfile"))).unwrap();
    farm.release(&cat, "v2");
    let output = farm.ok(&["deploy", &cat, "-v", "--timeout", "2m"]);
    assert!(
        text(&output).contains("forced rollback"),
        "{}",
        text(&output)
    );
    assert_eq!(farm.running_digest(&cat), farm.digest(&cat, "v2"));
}

/// The history's (tag, result) pairs.
fn results(farm: &Farm, cat: &str) -> Vec<(String, String)> {
    farm.json(&["history", cat])
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let field = |k: &str| r[k].as_str().unwrap().to_string();
            (field("tag"), field("result"))
        })
        .collect()
}

#[test]
fn a_crash_looping_deploy_is_recorded_failed_and_rollback_returns_to_what_ran() {
    let real = real_cluster!();
    let farm = Farm::new(real, "back2");
    let cat = farm.cat("back2");
    farm.ok(&["deploy", &cat]);
    let v1 = farm.digest(&cat, "v1");
    // v2 is the seed story's lala: it dies at once.
    farm.write(&format!("cats/{cat}/Dockerfile"), CRASHING);
    farm.release(&cat, "v2");
    let out = farm.fails(&["deploy", &cat, "--timeout", "2m"]);
    assert!(out.contains("CrashLoopBackOff"), "{out}");
    let expected = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(t, r)| (t.to_string(), r.to_string()))
            .collect()
    };
    assert_eq!(
        results(&farm, &cat),
        expected(&[("v1", "ran"), ("v2", "failed")])
    );
    // The revision that ran before the broken one, its whole workload: the node runs v1 again
    // and the pod's labels say v1.
    farm.ok(&["rollback", &cat, "--timeout", "2m"]);
    assert_eq!(farm.running_digest(&cat), v1, "the node runs v1 again");
    assert_eq!(
        farm.pod(&cat)["metadata"]["labels"]["app.kubernetes.io/version"],
        "v1"
    );
    // cat.toml still says v2: status says what runs is older, and --check fails.
    let output = farm.catctl(&["status", &cat, "--check"]);
    assert!(!output.status.success(), "{}", text(&output));
    assert!(text(&output).contains("running an older image"));
}

#[test]
fn a_stale_checkout_is_refused_with_zero_writes_and_two_copies_are_named() {
    let real = real_cluster!();
    let farm = Farm::new(real, "stale");
    let cat = farm.cat("stale");
    farm.ok(&["deploy", &cat]);
    let behind = farm.checkout();
    farm.release(&cat, "v2");
    farm.ok(&["deploy", &cat]);
    let v2 = farm.digest(&cat, "v2");

    let mark = real.audit_mark();
    let output = farm
        .command(&["deploy", &cat])
        .current_dir(behind.path())
        .output()
        .unwrap();
    let out = text(&output);
    assert!(!output.status.success(), "{out}");
    assert!(out.contains("an older revision"), "{out}");
    let writes: Vec<String> = real
        .writes_since(mark, &farm.ns)
        .iter()
        .filter(|e| e["user"]["username"] == "catctl-admin")
        .map(describe)
        .collect();
    assert!(writes.is_empty(), "the refusal wrote: {writes:?}");
    assert_eq!(farm.running_digest(&cat), v2, "v2 still runs");

    // Mistake 5 for good: `kubectl scale --replicas=2`. status names it and --check fails.
    farm.kubectl_ok(&["scale", "statefulset", &cat, "--replicas=2"]);
    let output = farm.catctl(&["status", &cat, "--check"]);
    let out = text(&output);
    assert!(!output.status.success(), "{out}");
    assert!(
        out.contains(&format!("2 copies of {cat} are running")),
        "{out}"
    );
}

#[test]
fn the_kubeconfig_flag_alone_reaches_the_cluster_and_json_and_yaml_agree() {
    let real = real_cluster!();
    let farm = Farm::new(real, "kcfg");
    let cat = farm.new_cat("kc");
    let home = tempfile::tempdir().unwrap();
    let kubeconfig = real.kubeconfig.to_str().unwrap();
    let run = |format: &str| {
        let output = farm
            .command(&["status", "-v", "--kubeconfig", kubeconfig, "-o", format])
            .env_remove("KUBECONFIG")
            .env("HOME", home.path())
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", text(&output));
        output
    };
    let json = run("json");
    let stderr = String::from_utf8_lossy(&json.stderr).into_owned();
    assert!(
        stderr.contains(&format!("kubeconfig --kubeconfig {kubeconfig}"))
            && stderr.contains(&format!("namespace {} (from catctl.toml)", farm.ns)),
        "{stderr}"
    );
    let json: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json["apiVersion"], "catctl/v1", "{json}");
    assert_eq!(json["kind"], "StatusResult", "{json}");
    assert_eq!(json["items"][0]["cat"], cat.as_str(), "{json}");
    assert_eq!(json["items"][0]["result"], "drift", "{json}");
    let yaml: Value = serde_saphyr::from_slice(&run("yaml").stdout).unwrap();
    assert_eq!(yaml, json);
}

#[test]
fn an_arm64_image_is_refused_on_the_amd64_node_with_zero_writes_and_the_default_is_the_nodes() {
    let real = real_cluster!();
    let farm = Farm::new(real, "arm");
    let cat = farm.new_cat("arm");
    let built = text(&farm.ok(&["-v", "build", &cat]));
    assert!(
        built.contains("building for linux/amd64: the cluster's nodes' (linux/amd64 on"),
        "{built}"
    );
    farm.write(&format!("cats/{cat}/cat.toml"), "version = \"v2\"\n");
    farm.ok(&["build", "--platform", "linux/arm64", &cat]);
    farm.ok(&["push", &cat]);
    farm.token(&cat, &format!("xoxb-{cat}"));
    let mark = real.audit_mark();
    let out = farm.fails(&["deploy", &cat]);
    assert!(
        out.contains(&format!("{} is linux/arm64", farm.image(&cat, "v2")))
            && out.contains("the nodes run linux/amd64 on"),
        "{out}"
    );
    let writes: Vec<String> = real
        .writes_since(mark, &farm.ns)
        .iter()
        .filter(|e| e["user"]["username"] == "catctl-admin")
        .map(describe)
        .collect();
    assert!(writes.is_empty(), "the refusal wrote: {writes:?}");
}

/// Two deploys of one cat at once, from two checkouts (v2 here, v3 there), on a real API
/// server: the deploy lock in the cat's history ConfigMap (a write conditional on the version
/// each deploy read) lets one through; the other says another deploy won while it waited, and
/// the cluster runs the winner's digest.
#[test]
fn two_deploys_of_one_cat_at_once_never_both_claim_success() {
    let real = real_cluster!();
    let farm = Farm::new(real, "race");
    let cat = farm.cat("race");
    farm.ok(&["deploy", &cat]);
    let other = farm.checkout();
    farm.release(&cat, "v2");
    std::fs::write(
        other.path().join(format!("cats/{cat}/cat.toml")),
        "version = \"v3\"\n",
    )
    .unwrap();
    std::fs::write(other.path().join(format!("cats/{cat}/release.txt")), "v3").unwrap();
    for step in ["build", "push"] {
        let output = farm
            .command(&[step, &cat])
            .current_dir(other.path())
            .output()
            .unwrap();
        assert!(output.status.success(), "{step}: {}", text(&output));
    }

    let (here, there) = std::thread::scope(|scope| {
        let here = scope.spawn(|| farm.catctl(&["deploy", &cat, "--timeout", "2m"]));
        let there = scope.spawn(|| {
            farm.command(&["deploy", &cat, "--timeout", "2m"])
                .current_dir(other.path())
                .output()
                .unwrap()
        });
        (here.join().unwrap(), there.join().unwrap())
    });
    let (here_text, there_text) = (text(&here), text(&there));
    assert!(
        here.status.success() != there.status.success(),
        "exactly one of two concurrent deploys may succeed:\n{here_text}\n---\n{there_text}"
    );
    let (loser, version) = if here.status.success() {
        (there_text, "v2")
    } else {
        (here_text, "v3")
    };
    assert!(loser.contains("while this deploy waited"), "{loser}");
    assert_eq!(farm.running_digest(&cat), farm.digest(&cat, version));
}

/// The cat's pods as the API server has them (by catctl's `app` label), Terminating ones too.
fn pods_of(farm: &Farm, cat: &str) -> Vec<Value> {
    farm.get(&["pods", "-l", &format!("app={cat}")])["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Sleep and wake on a real kubelet: sleep returns once the pod is gone (not merely
/// Terminating), a deploy keeps the cat asleep, wake returns once a Ready pod runs the pinned
/// digest again; a second sleep or wake writes nothing.
#[test]
fn sleep_waits_for_the_pod_to_be_gone_and_wake_for_a_ready_pod_of_the_pinned_digest() {
    let real = real_cluster!();
    let farm = Farm::new(real, "nap");
    let cat = farm.cat("nap");
    farm.ok(&["deploy", &cat]);
    let digest = farm.digest(&cat, "v1");

    let slept = farm.json(&["sleep", &cat]);
    assert_eq!(slept[0]["result"], "asleep", "{slept}");
    assert_eq!(
        pods_of(&farm, &cat),
        Vec::<Value>::new(),
        "sleep returned with a pod left"
    );
    assert_eq!(farm.get(&["statefulset", &cat])["spec"]["replicas"], 0);
    let again = farm.json(&["sleep", &cat]);
    assert_eq!(again[0]["result"], "already_asleep", "{again}");

    let deployed = text(&farm.ok(&["deploy", &cat]));
    assert!(deployed.contains("kept asleep"), "{deployed}");
    assert_eq!(pods_of(&farm, &cat), Vec::<Value>::new(), "deploy woke it");

    let woke = farm.json(&["wake", &cat]);
    assert_eq!(woke[0]["result"], "awake", "{woke}");
    assert_eq!(
        woke[0]["pods"],
        serde_json::json!([format!("{cat}-0")]),
        "{woke}"
    );
    assert_eq!(farm.running_digest(&cat), digest);
    let again = farm.json(&["wake", &cat]);
    assert_eq!(again[0]["result"], "already_awake", "{again}");
}

/// A cat that may run several copies is a Deployment: both replicas run the pinned digest when
/// deploy returns, and a new version replaces both.
#[test]
fn a_cat_with_several_copies_is_a_deployment_whose_replicas_all_run_the_pinned_digest() {
    let real = real_cluster!();
    let farm = Farm::new(real, "copies");
    let cat = farm.new_cat("copies");
    farm.write(
        &format!("cats/{cat}/cat.toml"),
        "version = \"v1\"\nseveral_copies = true\nreplicas = 2\n",
    );
    farm.ok(&["build", &cat]);
    farm.ok(&["push", &cat]);
    farm.token(&cat, "xoxb-copies");
    for version in ["v1", "v2"] {
        if version == "v2" {
            farm.write(
                &format!("cats/{cat}/cat.toml"),
                "version = \"v2\"\nseveral_copies = true\nreplicas = 2\n",
            );
            farm.write(&format!("cats/{cat}/release.txt"), version);
            farm.ok(&["build", &cat]);
            farm.ok(&["push", &cat]);
        }
        let report = farm.json(&["deploy", &cat]);
        assert_eq!(report[0]["result"], "deployed", "{report}");
        let digest = farm.digest(&cat, version);
        let deployment = farm.get(&["deployment", &cat]);
        assert_eq!(deployment["status"]["readyReplicas"], 2, "{deployment}");
        let running: Vec<Value> = pods_of(&farm, &cat)
            .into_iter()
            .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
            .collect();
        assert_eq!(running.len(), 2, "{running:#?}");
        for pod in &running {
            let id = pod["status"]["containerStatuses"][0]["imageID"]
                .as_str()
                .unwrap_or_default();
            assert!(id.ends_with(&digest), "{version}: {id} is not {digest}");
        }
    }
}
