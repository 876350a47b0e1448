//! `deploy`, `redeploy`, `rollback`, `history`, `diff`, `render` and `status` end to end: the real
//! binary, the real Docker daemon and registry, and a fake cluster per test.

use std::time::{Duration, Instant};

use fake_kube::PodScript;
use serde_json::Value;

use crate::common::{Farm, repo};

/// A farm with the real daemon and registry, and a fake cluster of its own.
pub fn setup() -> Farm {
    Farm::new().with_services().with_cluster()
}

/// What the deploy tests ask of their farm.
pub trait DeployFarm {
    /// A cat built, pushed, and with its token synced to the cluster.
    fn ready_cat(&self, hint: &str) -> String;
    fn sync_token(&self, cat: &str);
    /// The digest the registry serves for the cat's tag.
    fn digest(&self, cat: &str, tag: &str) -> String;
    fn sts(&self, cat: &str) -> Value;
    /// The digests the cat's pods report running.
    fn running(&self, cat: &str) -> Vec<String>;
    /// Changes the cat's sources and version, then builds and pushes.
    fn release(&self, cat: &str, version: &str);
}

impl DeployFarm for Farm {
    fn ready_cat(&self, hint: &str) -> String {
        let cat = self.new_cat(hint);
        self.run(["build", &cat]).ok();
        self.run(["push", &cat]).ok();
        self.sync_token(&cat);
        cat
    }

    fn sync_token(&self, cat: &str) {
        self.write(
            &format!("secret/{cat}-token/bot-token"),
            &format!("xoxb-{cat}"),
        );
        self.write(
            &format!("secret/{cat}-token/app-token"),
            &format!("xapp-{cat}"),
        );
        self.run(["secret", "sync"]).ok();
    }

    fn digest(&self, cat: &str, tag: &str) -> String {
        self.registry_digest(cat, tag)
            .expect("the registry has the tag")
    }

    fn sts(&self, cat: &str) -> Value {
        self.cluster()
            .get("statefulsets", "default", cat)
            .expect("the StatefulSet exists")
    }

    fn running(&self, cat: &str) -> Vec<String> {
        self.cluster()
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

    fn release(&self, cat: &str, version: &str) {
        self.write(
            &format!("cats/{cat}/cat.toml"),
            &format!("version = \"{version}\"\n"),
        );
        self.write(&format!("cats/{cat}/release.txt"), version);
        self.run(["build", cat]).ok();
        self.run(["push", cat]).ok();
    }
}

#[test]
fn several_cats_deploy_concurrently_pinned_and_running_the_pinned_digest() {
    let farm = setup();
    let (a, b) = (farm.ready_cat("pin"), farm.ready_cat("pin"));
    let output = farm.run(["deploy", &a, &b]).ok();
    let table = output.stdout();
    for cat in [&a, &b] {
        let digest = farm.digest(cat, "v1");
        let sts = farm.sts(cat);
        assert_eq!(
            sts["spec"]["template"]["spec"]["containers"][0]["image"],
            format!("{}@{digest}", farm.image(cat, "v1")),
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
            farm.running(cat),
            std::slice::from_ref(&digest),
            "the running pod runs the pinned digest"
        );
        let line = table.lines().find(|l| l.starts_with(cat.as_str())).unwrap();
        assert!(line.contains("deployed"), "{table}");
    }
    let managers: Vec<String> = farm.sts(&a)["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["manager"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(managers.contains(&"catctl".to_string()), "{managers:?}");
}

#[test]
fn the_v1_v2_mistake_is_refused_with_zero_writes() {
    let farm = setup();
    let cluster = farm.cluster();
    let cat = farm.ready_cat("vtwo");
    farm.run(["deploy", &cat]).ok();
    // Bump the version and build, but forget to push: the seed story's mistake.
    farm.write(&format!("cats/{cat}/cat.toml"), "version = \"v2\"\n");
    farm.run(["build", &cat]).ok();
    cluster.reset_requests();
    let out = farm.run(["deploy", &cat]).fails().text();
    assert!(
        out.contains(&format!(
            "{} is not in the registry",
            farm.image(&cat, "v2")
        )),
        "{out}"
    );
    assert!(out.contains(&format!("catctl push {cat}")), "{out}");
    assert!(
        cluster.write_counts().is_empty(),
        "{:?}",
        cluster.write_counts()
    );
    assert_eq!(
        farm.running(&cat),
        [farm.digest(&cat, "v1")],
        "v1 still runs"
    );
}

#[test]
fn source_drift_is_refused_and_allow_stale_proceeds() {
    let farm = setup();
    let cluster = farm.cluster();
    let cat = farm.ready_cat("stale");
    farm.write(
        &format!("cats/{cat}/new-trick.txt"),
        "changed after the build",
    );
    cluster.reset_requests();
    let out = farm.run(["deploy", &cat]).fails().text();
    assert!(
        out.contains(&format!("cats/{cat}")) && out.contains("changed since"),
        "{out}"
    );
    assert!(cluster.write_counts().is_empty());
    farm.run(["deploy", &cat, "--allow-stale"]).ok();
    assert_eq!(farm.running(&cat), [farm.digest(&cat, "v1")]);
}

#[test]
fn a_missing_secret_and_two_copies_of_a_singleton_are_refused_before_any_write() {
    let farm = setup();
    let cluster = farm.cluster();
    let secretless = farm.new_cat("nosecret");
    farm.run(["build", &secretless]).ok();
    farm.run(["push", &secretless]).ok();
    let twins = farm.ready_cat("twins");
    farm.write(
        &format!("cats/{twins}/cat.toml"),
        "version = \"v1\"\nreplicas = 2\n",
    );
    cluster.reset_requests();
    let out = farm.run(["deploy", &secretless, &twins]).fails().text();
    assert!(
        out.contains(&format!(
            "secret {secretless}-token not found in namespace default — run `catctl secret sync`"
        )),
        "{out}"
    );
    assert!(out.contains("answer twice"), "{out}");
    assert!(
        cluster.write_counts().is_empty(),
        "{:?}",
        cluster.write_counts()
    );
}

#[test]
fn a_crash_loop_fails_fast_with_the_containers_last_words() {
    let farm = setup();
    let cluster = farm.cluster();
    let cat = farm.ready_cat("lala");
    cluster.script(
        &cat,
        PodScript::crash_loop(["Initializing", "Error: Specify $LALA_TOKEN in environment"]),
    );
    let started = Instant::now();
    let output = farm.run(["deploy", &cat, "--timeout", "2m"]);
    let elapsed = started.elapsed();
    let out = output.text();
    assert!(!output.success(), "{out}");
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
    let farm = setup();
    let cluster = farm.cluster();
    let cat = farm.ready_cat("pull");
    // The cat's own manifest template adds a sidecar whose image no registry has.
    let template = std::fs::read_to_string(repo().join("templates/deployment.yaml")).unwrap();
    let sidecar = format!(
        "      containers:\n        - name: sidecar\n          image: {}/no-such-image-{cat}:v1\n",
        farm.registry()
    );
    farm.write(
        &format!("cats/{cat}/deployment.yaml"),
        &template.replacen("      containers:\n", &sidecar, 1),
    );
    let output = farm.run(["deploy", &cat, "--timeout", "20s"]);
    let out = output.text();
    assert!(!output.success(), "{out}");
    assert!(
        out.contains("ImagePullBackOff") || out.contains("ErrImagePull"),
        "{out}\n{:?}",
        cluster.requests()
    );
}

#[test]
fn a_field_owned_by_kubectl_scale_is_named_and_force_wins() {
    let farm = setup();
    let cluster = farm.cluster();
    let cat = farm.ready_cat("scaled");
    farm.run(["deploy", &cat]).ok();
    let scaled = std::process::Command::new("kubectl")
        .args([
            "scale",
            "statefulset",
            &cat,
            "--replicas=2",
            "--request-timeout=10s",
        ])
        .env("KUBECONFIG", cluster.kubeconfig())
        .output()
        .unwrap();
    assert!(scaled.status.success(), "{scaled:?}");
    let out = farm.run(["deploy", &cat]).fails().text();
    assert!(out.contains("owned by kubectl"), "{out}");
    assert!(out.contains("--force"), "{out}");
    farm.run(["deploy", &cat, "--force"]).ok();
    assert_eq!(farm.sts(&cat)["spec"]["replicas"], 1);
    cluster.wait_for("one pod", Duration::from_secs(10), |c| {
        c.pods_of(&cat).len() == 1
    });
}

#[test]
fn a_second_identical_deploy_creates_no_new_revision() {
    let farm = setup();
    let cluster = farm.cluster();
    let cat = farm.ready_cat("same");
    farm.run(["deploy", &cat]).ok();
    let revisions = || cluster.list("controllerrevisions", Some("default")).len();
    let (before, generation) = (
        revisions(),
        farm.sts(&cat)["metadata"]["generation"].clone(),
    );
    farm.run(["deploy", &cat]).ok();
    assert_eq!(revisions(), before);
    assert_eq!(farm.sts(&cat)["metadata"]["generation"], generation);
    let history = farm.run(["history", &cat, "-o", "json"]).ok().items();
    assert_eq!(history.as_array().unwrap().len(), 1, "{history}");
}

#[test]
fn redeploy_restarts_the_pod_without_ever_two_copies() {
    let farm = setup();
    let cluster = farm.cluster();
    let cat = farm.ready_cat("restart");
    farm.run(["deploy", &cat]).ok();
    let uid = cluster.pods_of(&cat)[0]["metadata"]["uid"].clone();
    let mut changes = cluster.watch_changes();
    cluster.reset_requests();
    farm.run(["redeploy", &cat]).ok();
    // What kubectl.sh did — delete, sleep 5, create — never happens.
    for resource in ["statefulsets", "pods"] {
        assert_eq!(
            cluster.count("delete", resource),
            0,
            "redeploy deleted {resource}"
        );
    }
    assert_eq!(cluster.count("create", "statefulsets"), 0);
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
    let pods = cluster.pods_of(&cat);
    assert_eq!(pods.len(), 1);
    assert_ne!(pods[0]["metadata"]["uid"], uid, "the pod was restarted");
}

#[test]
fn rollback_restores_the_previous_digest() {
    let farm = setup();
    let cat = farm.ready_cat("back");
    farm.run(["deploy", &cat]).ok();
    let v1 = farm.digest(&cat, "v1");
    farm.release(&cat, "v2");
    farm.run(["deploy", &cat]).ok();
    let v2 = farm.digest(&cat, "v2");
    assert_ne!(v1, v2);
    assert_eq!(farm.running(&cat), std::slice::from_ref(&v2));
    farm.run(["rollback", &cat]).ok();
    assert_eq!(farm.running(&cat), std::slice::from_ref(&v1));
    let history = farm.run(["history", &cat, "-o", "json"]).ok().items();
    let digests: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["digest"].as_str().unwrap())
        .collect();
    assert_eq!(digests, [v1.as_str(), v2.as_str(), v1.as_str()]);
    farm.run(["rollback", &cat, "--to-revision", "2"]).ok();
    assert_eq!(farm.running(&cat), [v2]);
    let out = farm
        .run(["rollback", &cat, "--to-revision", "9"])
        .fails()
        .text();
    assert!(out.contains("has no revision 9"), "{out}");
}

#[test]
fn a_broken_statefulset_pod_is_replaced_by_the_fixed_revision() {
    let farm = setup();
    let cluster = farm.cluster();
    let cat = farm.ready_cat("fixme");
    cluster.script(
        &farm.image(&cat, "v1"),
        PodScript::crash_loop(["Error: Specify $LALA_TOKEN in environment"]),
    );
    let out = farm.run(["deploy", &cat, "--timeout", "1m"]).fails().text();
    assert!(out.contains("CrashLoopBackOff"), "{out}");
    // Kubernetes alone would wait forever for the broken pod; deploy does the forced rollback.
    farm.release(&cat, "v2");
    let output = farm.run(["deploy", &cat, "-v", "--timeout", "1m"]).ok();
    assert!(
        output.text().contains("forced rollback"),
        "{}",
        output.text()
    );
    assert_eq!(farm.running(&cat), [farm.digest(&cat, "v2")]);
}

#[test]
fn dry_run_render_and_diff_change_nothing() {
    let farm = setup();
    let cluster = farm.cluster();
    let cat = farm.ready_cat("look");
    cluster.reset_requests();
    let dry = farm.run(["deploy", &cat, "--dry-run"]).ok();
    assert!(
        dry.stdout().contains("kind: StatefulSet"),
        "{}",
        dry.stdout()
    );
    let out_dir = farm.path().join("rendered");
    farm.run(["render", &cat, "--out", out_dir.to_str().unwrap()])
        .ok();
    let rendered = std::fs::read_to_string(out_dir.join(format!("{cat}.yaml"))).unwrap();
    assert!(rendered.contains(&farm.digest(&cat, "v1")));
    let diff = farm.run(["diff", &cat]).code(1);
    assert!(
        diff.stdout().contains("+kind: StatefulSet"),
        "{}",
        diff.stdout()
    );
    assert!(cluster.count("create", "statefulsets") == 0 && cluster.sts_absent(&cat));
    farm.run(["deploy", &cat]).ok();
    let same = farm.run(["diff", &cat]).code(0);
    assert!(same.stdout().is_empty());
}

#[test]
fn status_shows_digests_readiness_and_drift() {
    let farm = setup();
    let (up, down) = (farm.ready_cat("status"), farm.ready_cat("status"));
    farm.run(["deploy", &up]).ok();
    farm.write(&format!("cats/{up}/later.txt"), "edited after the deploy");
    let rows = farm.run(["status", &up, &down, "-o", "json"]).ok().items();
    let row = |cat: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["cat"] == cat)
            .unwrap()
            .clone()
    };
    let digest = farm.digest(&up, "v1");
    assert_eq!(row(&up)["digest"], digest.as_str());
    assert_eq!(row(&up)["running_digests"][0], digest.as_str());
    assert_eq!(row(&up)["ready"], 1);
    assert_eq!(row(&up)["desired"], 1);
    assert_eq!(row(&up)["drift"][0], "source changed since build");
    assert_eq!(row(&down)["drift"][0], "not deployed");
}

#[test]
fn a_changed_token_restarts_exactly_its_cat() {
    let farm = setup();
    let cluster = farm.cluster();
    let (changed, untouched) = (farm.ready_cat("token"), farm.ready_cat("token"));
    farm.run(["deploy", &changed, &untouched]).ok();
    let uid = |cat: &str| cluster.pods_of(cat)[0]["metadata"]["uid"].clone();
    let (before_changed, before_untouched) = (uid(&changed), uid(&untouched));
    farm.write(
        &format!("secret/{changed}-token/bot-token"),
        "xoxb-a-new-token",
    );
    farm.run(["secret", "sync"]).ok();
    farm.run(["deploy", &changed, &untouched]).ok();
    cluster.wait_for("one pod", Duration::from_secs(10), |c| {
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
    let farm = setup();
    let cluster = farm.cluster();
    let cat = farm.ready_cat("atomic");
    farm.run(["deploy", &cat]).ok();
    let v1 = farm.digest(&cat, "v1");
    farm.release(&cat, "v2");
    cluster.script(
        &farm.image(&cat, "v2"),
        PodScript::crash_loop(["Error: Specify $LALA_TOKEN in environment"]),
    );
    let reports = farm
        .run(["deploy", &cat, "--atomic", "-o", "json", "--timeout", "1m"])
        .fails()
        .items();
    assert_eq!(reports[0]["result"], "rolled_back", "{reports}");
    assert!(
        reports[0]["error"].as_str().unwrap().contains("ready"),
        "{reports}"
    );
    assert_eq!(farm.running(&cat), std::slice::from_ref(&v1));
}

#[test]
fn deploy_reports_json_with_one_entry_per_cat() {
    let farm = setup();
    let (good, refused) = (farm.ready_cat("json"), farm.new_cat("json"));
    let output = farm.run(["deploy", &good, &refused, "-o", "json"]);
    assert_eq!(
        output.exit_code(),
        Some(1),
        "one cat refused: {}",
        output.text()
    );
    let reports = output.items();
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
    let farm = setup();
    let cat = farm.ready_cat("mount");
    // The cat's own template mounts a second Secret that does not exist.
    let template = std::fs::read_to_string(repo().join("templates/deployment.yaml")).unwrap();
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
    farm.write(&format!("cats/{cat}/deployment.yaml"), &template);
    let started = Instant::now();
    let output = farm.run(["deploy", &cat, "--timeout", "2m"]);
    let out = output.text();
    assert!(!output.success(), "{out}");
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
    let farm = setup();
    let cluster = farm.cluster();
    let cat = farm.ready_cat("slow");
    cluster.script(&cat, PodScript::never_ready());
    let started = Instant::now();
    let out = farm.run(["deploy", &cat, "--timeout", "3s"]).fails().text();
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(
        out.contains("Timeout") && out.contains("not ready after 3 s"),
        "{out}"
    );
}

#[test]
fn rendered_manifests_match_their_snapshots() {
    let farm = setup();
    let cat = farm.ready_cat("snap");
    farm.run(["render", &cat, "--out", "rendered"]).ok();
    let rendered = farm.read(&format!("rendered/{cat}.yaml"));
    let dry_run = farm.run(["deploy", &cat, "--dry-run"]).ok().stdout();
    farm.snapshot_settings(&[&cat]).bind(|| {
        insta::assert_snapshot!("render_out", rendered);
        insta::assert_snapshot!("deploy_dry_run", dry_run);
    });
}
