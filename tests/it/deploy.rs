//! `deploy`, `redeploy`, `rollback`, `history`, `diff`, `render` and `status` end to end: the real
//! binary, the real Docker daemon and registry, and a fake cluster per test.

use std::time::{Duration, Instant};

use fake_kube::PodScript;
use serde_json::Value;

use crate::cluster::Cluster;
use crate::common::{stderr_of, stdout_of};
use crate::images::{ImageFarm, registry_digest};

struct Setup {
    farm: ImageFarm,
    cluster: Cluster,
}

impl Setup {
    fn new() -> Setup {
        let cluster = Cluster::start();
        let mut farm = ImageFarm::new();
        farm.kubeconfig = Some(cluster.kubeconfig().to_path_buf());
        Setup { farm, cluster }
    }

    /// A cat built, pushed, and with its token synced to the cluster.
    fn cat(&self, hint: &str) -> String {
        let cat = self.farm.new_cat(hint);
        self.farm.ok(&["build", &cat]);
        self.farm.ok(&["push", &cat]);
        self.token(&cat);
        cat
    }

    fn token(&self, cat: &str) {
        self.farm.write(
            &format!("secret/{cat}-token/bot-token"),
            &format!("xoxb-{cat}"),
        );
        self.farm.write(
            &format!("secret/{cat}-token/app-token"),
            &format!("xapp-{cat}"),
        );
        self.farm.ok(&["secret", "sync"]);
    }

    fn digest(&self, cat: &str, tag: &str) -> String {
        registry_digest(&self.farm.registry, cat, tag).expect("the registry has the tag")
    }

    fn sts(&self, cat: &str) -> Value {
        self.cluster
            .get("statefulsets", "default", cat)
            .expect("the StatefulSet exists")
    }

    /// The digests the cat's pods report running.
    fn running(&self, cat: &str) -> Vec<String> {
        self.cluster
            .pods_of(cat)
            .iter()
            .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
            .filter_map(|p| {
                p["status"]["containerStatuses"][0]["imageID"]
                    .as_str()
                    .map(str::to_string)
            })
            .filter_map(|id| id.rsplit_once('@').map(|(_, d)| d.to_string()))
            .collect()
    }

    /// Changes the cat's sources and version, then builds and pushes.
    fn release(&self, cat: &str, version: &str) {
        self.farm.write(
            &format!("cats/{cat}/cat.toml"),
            &format!("version = \"{version}\"\n"),
        );
        self.farm.write(&format!("cats/{cat}/release.txt"), version);
        self.farm.ok(&["build", cat]);
        self.farm.ok(&["push", cat]);
    }
}

fn text(output: &std::process::Output) -> String {
    format!("{}{}", stdout_of(output), stderr_of(output))
}

#[test]
fn several_cats_deploy_concurrently_pinned_and_running_the_pinned_digest() {
    let s = Setup::new();
    let (a, b) = (s.cat("pin"), s.cat("pin"));
    let output = s.farm.ok(&["deploy", &a, &b]);
    let table = stdout_of(&output);
    for cat in [&a, &b] {
        let digest = s.digest(cat, "v1");
        let sts = s.sts(cat);
        assert_eq!(
            sts["spec"]["template"]["spec"]["containers"][0]["image"],
            format!("{}@{digest}", s.farm.image(cat, "v1")),
            "the image is pinned by digest"
        );
        assert_eq!(sts["spec"]["replicas"], 1);
        assert!(
            sts["metadata"]["annotations"]["kubernetes.io/change-cause"]
                .as_str()
                .unwrap()
                .contains(&digest)
        );
        assert_eq!(
            s.running(cat),
            std::slice::from_ref(&digest),
            "the running pod runs the pinned digest"
        );
        let line = table.lines().find(|l| l.starts_with(cat.as_str())).unwrap();
        assert!(line.contains("deployed"), "{table}");
    }
    let managers: Vec<String> = s.sts(&a)["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["manager"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(managers.contains(&"catctl".to_string()), "{managers:?}");
}

#[test]
fn the_v1_v2_mistake_is_refused_with_zero_writes() {
    let s = Setup::new();
    let cat = s.cat("vtwo");
    s.farm.ok(&["deploy", &cat]);
    // Bump the version and build, but forget to push: the seed story's mistake.
    s.farm
        .write(&format!("cats/{cat}/cat.toml"), "version = \"v2\"\n");
    s.farm.ok(&["build", &cat]);
    s.cluster.reset_requests();
    let out = s.farm.fails(&["deploy", &cat]);
    assert!(
        out.contains(&format!(
            "{} is not in the registry",
            s.farm.image(&cat, "v2")
        )),
        "{out}"
    );
    assert!(out.contains(&format!("catctl push {cat}")), "{out}");
    assert!(
        s.cluster.write_counts().is_empty(),
        "{:?}",
        s.cluster.write_counts()
    );
    assert_eq!(s.running(&cat), [s.digest(&cat, "v1")], "v1 still runs");
}

#[test]
fn source_drift_is_refused_and_allow_stale_proceeds() {
    let s = Setup::new();
    let cat = s.cat("stale");
    s.farm.write(
        &format!("cats/{cat}/new-trick.txt"),
        "changed after the build",
    );
    s.cluster.reset_requests();
    let out = s.farm.fails(&["deploy", &cat]);
    assert!(
        out.contains(&format!("cats/{cat}")) && out.contains("changed since"),
        "{out}"
    );
    assert!(s.cluster.write_counts().is_empty());
    s.farm.ok(&["deploy", &cat, "--allow-stale"]);
    assert_eq!(s.running(&cat), [s.digest(&cat, "v1")]);
}

#[test]
fn a_missing_secret_and_two_copies_of_a_singleton_are_refused_before_any_write() {
    let s = Setup::new();
    let secretless = s.farm.new_cat("nosecret");
    s.farm.ok(&["build", &secretless]);
    s.farm.ok(&["push", &secretless]);
    let twins = s.cat("twins");
    s.farm.write(
        &format!("cats/{twins}/cat.toml"),
        "version = \"v1\"\nreplicas = 2\n",
    );
    s.cluster.reset_requests();
    let out = s.farm.fails(&["deploy", &secretless, &twins]);
    assert!(
        out.contains(&format!(
            "secret {secretless}-token not found in namespace default — run `catctl secret sync`"
        )),
        "{out}"
    );
    assert!(out.contains("answer twice"), "{out}");
    assert!(
        s.cluster.write_counts().is_empty(),
        "{:?}",
        s.cluster.write_counts()
    );
}

#[test]
fn a_crash_loop_fails_fast_with_the_containers_last_words() {
    let s = Setup::new();
    let cat = s.cat("lala");
    s.cluster.script(
        &cat,
        PodScript::crash_loop(["Initializing", "Error: Specify $LALA_TOKEN in environment"]),
    );
    let started = Instant::now();
    let output = s.farm.catctl(&["deploy", &cat, "--timeout", "2m"]);
    let elapsed = started.elapsed();
    let out = text(&output);
    assert!(!output.status.success(), "{out}");
    assert!(
        elapsed < Duration::from_secs(20),
        "took {elapsed:?}, not fail-fast"
    );
    assert!(out.contains("CrashLoopBackOff"), "{out}");
    assert!(
        out.contains("Error: Specify $LALA_TOKEN in environment"),
        "{out}"
    );
}

#[test]
fn an_image_the_cluster_cannot_pull_is_reported() {
    let s = Setup::new();
    let cat = s.cat("pull");
    // The cat's own manifest template adds a sidecar whose image no registry has.
    let template =
        std::fs::read_to_string(crate::common::repo().join("templates/deployment.yaml")).unwrap();
    let sidecar = format!(
        "      containers:\n        - name: sidecar\n          image: {}/no-such-image-{cat}:v1\n",
        s.farm.registry
    );
    s.farm.write(
        &format!("cats/{cat}/deployment.yaml"),
        &template.replacen("      containers:\n", &sidecar, 1),
    );
    let output = s.farm.catctl(&["deploy", &cat, "--timeout", "20s"]);
    let out = text(&output);
    assert!(!output.status.success(), "{out}");
    assert!(
        out.contains("ImagePullBackOff") || out.contains("ErrImagePull"),
        "{out}\n{:?}",
        s.cluster.requests()
    );
}

#[test]
fn a_field_owned_by_kubectl_scale_is_named_and_force_wins() {
    let s = Setup::new();
    let cat = s.cat("scaled");
    s.farm.ok(&["deploy", &cat]);
    let scaled = std::process::Command::new("kubectl")
        .args([
            "scale",
            "statefulset",
            &cat,
            "--replicas=2",
            "--request-timeout=10s",
        ])
        .env("KUBECONFIG", s.cluster.kubeconfig())
        .output()
        .unwrap();
    assert!(scaled.status.success(), "{scaled:?}");
    let out = s.farm.fails(&["deploy", &cat]);
    assert!(out.contains("owned by kubectl"), "{out}");
    assert!(out.contains("--force"), "{out}");
    s.farm.ok(&["deploy", &cat, "--force"]);
    assert_eq!(s.sts(&cat)["spec"]["replicas"], 1);
    s.cluster.wait_for("one pod", Duration::from_secs(10), |c| {
        c.pods_of(&cat).len() == 1
    });
}

#[test]
fn a_second_identical_deploy_creates_no_new_revision() {
    let s = Setup::new();
    let cat = s.cat("same");
    s.farm.ok(&["deploy", &cat]);
    let revisions = |s: &Setup| s.cluster.list("controllerrevisions", Some("default")).len();
    let (before, generation) = (revisions(&s), s.sts(&cat)["metadata"]["generation"].clone());
    s.farm.ok(&["deploy", &cat]);
    assert_eq!(revisions(&s), before);
    assert_eq!(s.sts(&cat)["metadata"]["generation"], generation);
    let history = s.farm.json(&["history", &cat]);
    assert_eq!(history.as_array().unwrap().len(), 1, "{history}");
}

#[test]
fn redeploy_restarts_the_pod_without_ever_two_copies() {
    let s = Setup::new();
    let cat = s.cat("restart");
    s.farm.ok(&["deploy", &cat]);
    let uid = s.cluster.pods_of(&cat)[0]["metadata"]["uid"].clone();
    let mut changes = s.cluster.watch_changes();
    s.cluster.reset_requests();
    s.farm.ok(&["redeploy", &cat]);
    // What kubectl.sh did — delete, sleep 5, create — never happens.
    for resource in ["statefulsets", "pods"] {
        assert_eq!(
            s.cluster.count("delete", resource),
            0,
            "redeploy deleted {resource}"
        );
    }
    assert_eq!(s.cluster.count("create", "statefulsets"), 0);
    // Replay every pod change the API server made: at no moment may two pods of the cat exist
    // (a Terminating pod still runs its bot, so it counts).
    let mut alive = std::collections::BTreeSet::from([uid.to_string()]);
    let (mut most, mut seen) = (1, 0);
    while let Ok((kind, plural, pod)) = changes.try_recv() {
        if plural != "pods" || pod["metadata"]["labels"]["app"] != cat.as_str() {
            continue;
        }
        seen += 1;
        let uid = pod["metadata"]["uid"].to_string();
        if kind == "DELETED" {
            alive.remove(&uid);
        } else {
            alive.insert(uid);
        }
        most = most.max(alive.len());
    }
    assert!(seen > 0, "the watch saw no pod changes");
    assert_eq!(most, 1, "two copies of the cat ran at once");
    let pods = s.cluster.pods_of(&cat);
    assert_eq!(pods.len(), 1);
    assert_ne!(pods[0]["metadata"]["uid"], uid, "the pod was restarted");
}

#[test]
fn rollback_restores_the_previous_digest() {
    let s = Setup::new();
    let cat = s.cat("back");
    s.farm.ok(&["deploy", &cat]);
    let v1 = s.digest(&cat, "v1");
    s.release(&cat, "v2");
    s.farm.ok(&["deploy", &cat]);
    let v2 = s.digest(&cat, "v2");
    assert_ne!(v1, v2);
    assert_eq!(s.running(&cat), std::slice::from_ref(&v2));
    s.farm.ok(&["rollback", &cat]);
    assert_eq!(s.running(&cat), std::slice::from_ref(&v1));
    let history = s.farm.json(&["history", &cat]);
    let digests: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["digest"].as_str().unwrap())
        .collect();
    assert_eq!(digests, [v1.as_str(), v2.as_str(), v1.as_str()]);
    s.farm.ok(&["rollback", &cat, "--to-revision", "2"]);
    assert_eq!(s.running(&cat), [v2]);
    let out = s.farm.fails(&["rollback", &cat, "--to-revision", "9"]);
    assert!(out.contains("has no revision 9"), "{out}");
}

#[test]
fn a_broken_statefulset_pod_is_replaced_by_the_fixed_revision() {
    let s = Setup::new();
    let cat = s.cat("fixme");
    s.cluster.script(
        &s.farm.image(&cat, "v1"),
        PodScript::crash_loop(["Error: Specify $LALA_TOKEN in environment"]),
    );
    let out = s.farm.fails(&["deploy", &cat, "--timeout", "1m"]);
    assert!(out.contains("CrashLoopBackOff"), "{out}");
    // Kubernetes alone would wait forever for the broken pod; deploy does the forced rollback.
    s.release(&cat, "v2");
    let output = s.farm.ok(&["deploy", &cat, "-v", "--timeout", "1m"]);
    assert!(
        text(&output).contains("forced rollback"),
        "{}",
        text(&output)
    );
    assert_eq!(s.running(&cat), [s.digest(&cat, "v2")]);
}

#[test]
fn dry_run_render_and_diff_change_nothing() {
    let s = Setup::new();
    let cat = s.cat("look");
    s.cluster.reset_requests();
    let dry = s.farm.ok(&["deploy", &cat, "--dry-run"]);
    assert!(
        stdout_of(&dry).contains("kind: StatefulSet"),
        "{}",
        stdout_of(&dry)
    );
    let out_dir = s.farm.path().join("rendered");
    s.farm
        .ok(&["render", &cat, "--out", out_dir.to_str().unwrap()]);
    let rendered = std::fs::read_to_string(out_dir.join(format!("{cat}.yaml"))).unwrap();
    assert!(rendered.contains(&s.digest(&cat, "v1")));
    let diff = s.farm.catctl(&["diff", &cat]);
    assert_eq!(diff.status.code(), Some(1), "{}", text(&diff));
    assert!(
        stdout_of(&diff).contains("+kind: StatefulSet"),
        "{}",
        stdout_of(&diff)
    );
    assert!(s.cluster.count("create", "statefulsets") == 0 && s.cluster.sts_absent(&cat));
    s.farm.ok(&["deploy", &cat]);
    let same = s.farm.catctl(&["diff", &cat]);
    assert_eq!(same.status.code(), Some(0), "{}", text(&same));
    assert!(stdout_of(&same).is_empty());
}

#[test]
fn status_shows_digests_readiness_and_drift() {
    let s = Setup::new();
    let (up, down) = (s.cat("status"), s.cat("status"));
    s.farm.ok(&["deploy", &up]);
    s.farm
        .write(&format!("cats/{up}/later.txt"), "edited after the deploy");
    let rows = s.farm.json(&["status", &up, &down]);
    let row = |cat: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["cat"] == cat)
            .unwrap()
            .clone()
    };
    let digest = s.digest(&up, "v1");
    assert_eq!(row(&up)["registry_digest"], digest.as_str());
    assert_eq!(row(&up)["running_digests"][0], digest.as_str());
    assert_eq!(row(&up)["ready"], 1);
    assert_eq!(row(&up)["desired"], 1);
    assert_eq!(row(&up)["drift"][0], "source changed since build");
    assert_eq!(row(&down)["drift"][0], "not deployed");
}

#[test]
fn a_changed_token_restarts_exactly_its_cat() {
    let s = Setup::new();
    let (changed, untouched) = (s.cat("token"), s.cat("token"));
    s.farm.ok(&["deploy", &changed, &untouched]);
    let uid = |cat: &str| s.cluster.pods_of(cat)[0]["metadata"]["uid"].clone();
    let (before_changed, before_untouched) = (uid(&changed), uid(&untouched));
    s.farm.write(
        &format!("secret/{changed}-token/bot-token"),
        "xoxb-a-new-token",
    );
    s.farm.ok(&["secret", "sync"]);
    s.farm.ok(&["deploy", &changed, &untouched]);
    s.cluster.wait_for("one pod", Duration::from_secs(10), |c| {
        c.pods_of(&changed).len() == 1
    });
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
}

#[test]
fn atomic_puts_the_previous_revision_back_after_a_failed_rollout() {
    let s = Setup::new();
    let cat = s.cat("atomic");
    s.farm.ok(&["deploy", &cat]);
    let v1 = s.digest(&cat, "v1");
    s.release(&cat, "v2");
    s.cluster.script(
        &s.farm.image(&cat, "v2"),
        PodScript::crash_loop(["Error: Specify $LALA_TOKEN in environment"]),
    );
    let output = s
        .farm
        .catctl(&["deploy", &cat, "--atomic", "-o", "json", "--timeout", "1m"]);
    assert!(!output.status.success(), "{}", text(&output));
    let reports: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(reports[0]["result"], "rolled_back", "{reports}");
    assert!(
        reports[0]["message"].as_str().unwrap().contains("ready"),
        "{reports}"
    );
    assert_eq!(s.running(&cat), std::slice::from_ref(&v1));
}

#[test]
fn deploy_reports_json_with_one_entry_per_cat() {
    let s = Setup::new();
    let (good, refused) = (s.cat("json"), s.farm.new_cat("json"));
    let output = s.farm.catctl(&["deploy", &good, &refused, "-o", "json"]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "one cat refused: {}",
        text(&output)
    );
    let reports: Value = serde_json::from_slice(&output.stdout).unwrap();
    let result = |cat: &str| {
        reports
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["cat"] == cat)
            .unwrap()["result"]
            .clone()
    };
    assert_eq!(result(&good), "deployed");
    assert_eq!(result(&refused), "refused");
}

#[test]
fn a_missing_secret_volume_fails_fast_with_the_mount_error() {
    let s = Setup::new();
    let cat = s.cat("mount");
    // The cat's own template mounts a second Secret that does not exist.
    let template =
        std::fs::read_to_string(crate::common::repo().join("templates/deployment.yaml")).unwrap();
    let template = template
        .replacen(
            "      volumes:\n",
            &format!("      volumes:\n        - name: extra\n          secret:\n            secretName: missing-{cat}\n"),
            1,
        )
        .replacen(
            "          volumeMounts:\n",
            "          volumeMounts:\n            - name: extra\n              mountPath: /extra\n",
            1,
        );
    s.farm
        .write(&format!("cats/{cat}/deployment.yaml"), &template);
    let started = Instant::now();
    let output = s.farm.catctl(&["deploy", &cat, "--timeout", "2m"]);
    let out = text(&output);
    assert!(!output.status.success(), "{out}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "not fail-fast: {:?}",
        started.elapsed()
    );
    assert!(out.contains("FailedMount"), "{out}");
    assert!(
        out.contains(&format!("secret \"missing-{cat}\" not found")),
        "{out}"
    );
}

#[test]
fn a_pod_that_never_gets_ready_fails_at_the_timeout() {
    let s = Setup::new();
    let cat = s.cat("slow");
    s.cluster.script(&cat, PodScript::never_ready());
    let started = Instant::now();
    let out = s.farm.fails(&["deploy", &cat, "--timeout", "3s"]);
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(
        out.contains("Timeout") && out.contains("not ready after 3 s"),
        "{out}"
    );
}
