//! The life of a farm end to end — `sleep`/`wake` (and how `deploy`, `status` and `logs` treat
//! a sleeping cat), `delete`, `init`, `doctor` and `schedule` — with the real binary, the real
//! Docker daemon and registry, and a fake cluster per test.

use serde_json::Value;

use crate::cluster::Cluster;
use crate::common::{stderr_of, stdout_of};
use crate::images::ImageFarm;

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

    /// A cat built, pushed, with its token synced, and deployed.
    fn deployed_cat(&self, hint: &str) -> String {
        let cat = self.ready_cat(hint, None);
        self.farm.ok(&["deploy", &cat]);
        cat
    }

    /// A cat (with `cat_toml` when given) built, pushed and with its token synced.
    fn ready_cat(&self, hint: &str, cat_toml: Option<&str>) -> String {
        let cat = self.farm.new_cat(hint);
        if let Some(text) = cat_toml {
            self.farm.write(&format!("cats/{cat}/cat.toml"), text);
        }
        self.farm.ok(&["build", &cat]);
        self.farm.ok(&["push", &cat]);
        self.farm.write(
            &format!("secret/{cat}-token/bot-token"),
            &format!("xoxb-{cat}"),
        );
        self.farm.write(
            &format!("secret/{cat}-token/app-token"),
            &format!("xapp-{cat}"),
        );
        self.farm.ok(&["secret", "sync"]);
        cat
    }

    fn sts(&self, cat: &str) -> Value {
        self.cluster
            .get("statefulsets", "default", cat)
            .expect("the StatefulSet exists")
    }

    fn replicas(&self, cat: &str) -> i64 {
        self.sts(cat)["spec"]["replicas"].as_i64().unwrap()
    }

    /// The cat's pods, Terminating ones included.
    fn pods(&self, cat: &str) -> Vec<Value> {
        self.cluster.pods_of(cat)
    }

    fn ready_pods(&self, cat: &str) -> usize {
        self.pods(cat)
            .iter()
            .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
            .filter(|p| {
                p["status"]["conditions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            })
            .count()
    }
}

fn text(output: &std::process::Output) -> String {
    format!("{}{}", stdout_of(output), stderr_of(output))
}

#[test]
fn sleep_scales_to_zero_deploy_keeps_it_asleep_and_wake_brings_a_ready_pod_back() {
    let s = Setup::new();
    let cat = s.deployed_cat("nap");
    assert_eq!(s.ready_pods(&cat), 1);

    let out = text(&s.farm.ok(&["sleep", &cat]));
    assert_eq!(s.replicas(&cat), 0, "{out}");
    assert!(s.pods(&cat).is_empty(), "sleep waits until the pod is gone");
    let mark: Value = serde_json::from_str(
        s.sts(&cat)["metadata"]["annotations"]["catctl.io/asleep"]
            .as_str()
            .expect("the asleep annotation"),
    )
    .unwrap();
    let by = mark["by"].as_str().unwrap().to_string();
    assert!(by.contains('@'), "{mark}");
    assert!(out.contains(&by), "{out}");

    // status says since when and by whom
    let status = text(&s.farm.ok(&["status", &cat]));
    let since = mark["since"].as_str().unwrap();
    assert!(
        status.contains(&format!("asleep since {since} (by {by})")),
        "{status}"
    );

    // logs says so
    let logs = text(&s.farm.catctl(&["logs", &cat]));
    assert!(
        logs.contains(&format!("{cat} is asleep since {since}")),
        "{logs}"
    );
    assert!(logs.contains(&format!("catctl wake {cat}")), "{logs}");

    // a second sleep writes nothing
    s.cluster.reset_requests();
    let again = text(&s.farm.ok(&["sleep", &cat]));
    assert!(again.contains("already asleep"), "{again}");
    assert!(
        s.cluster.write_counts().is_empty(),
        "{:?}",
        s.cluster.write_counts()
    );

    // deploy keeps it asleep, says so, and needs no --force
    let deployed = text(&s.farm.ok(&["deploy", &cat]));
    assert!(deployed.contains("kept asleep"), "{deployed}");
    assert!(
        deployed.contains(&format!("catctl wake {cat}")),
        "{deployed}"
    );
    assert_eq!(s.replicas(&cat), 0);
    assert!(s.pods(&cat).is_empty());

    // wake brings one Ready pod back and removes the mark
    let woke = text(&s.farm.ok(&["wake", &cat]));
    assert_eq!(s.replicas(&cat), 1, "{woke}");
    assert_eq!(s.ready_pods(&cat), 1, "wake waits for Ready: {woke}");
    assert!(
        s.sts(&cat)["metadata"]["annotations"]["catctl.io/asleep"].is_null(),
        "{}",
        s.sts(&cat)
    );
    // a second wake writes nothing; a deploy afterwards meets no conflict
    s.cluster.reset_requests();
    let again = text(&s.farm.ok(&["wake", &cat]));
    assert!(again.contains("already awake"), "{again}");
    assert!(s.cluster.write_counts().is_empty());
    s.farm.ok(&["deploy", &cat]);
    assert_eq!(s.replicas(&cat), 1);
    let status = text(&s.farm.ok(&["status", &cat]));
    assert!(!status.contains("asleep"), "{status}");
}

#[test]
fn deploy_wake_wakes_a_sleeping_cat() {
    let s = Setup::new();
    let cat = s.deployed_cat("wakeup");
    s.farm.ok(&["sleep", &cat]);
    let out = text(&s.farm.ok(&["deploy", &cat, "--wake"]));
    assert_eq!(s.replicas(&cat), 1, "{out}");
    assert_eq!(s.ready_pods(&cat), 1, "{out}");
    assert!(s.sts(&cat)["metadata"]["annotations"]["catctl.io/asleep"].is_null());
}

#[test]
fn sleeping_a_cat_that_is_not_deployed_says_so_and_writes_nothing() {
    let s = Setup::new();
    let cat = s.farm.new_cat("never");
    let out = s.farm.fails(&["sleep", &cat]);
    assert!(out.contains(&format!("{cat} is not deployed")), "{out}");
    assert!(s.cluster.write_counts().is_empty());
}

#[test]
fn delete_asks_removes_workload_and_secret_keeps_the_directory_and_is_idempotent() {
    let s = Setup::new();
    let cat = s.deployed_cat("bye");
    let secret = format!("{cat}-token");
    assert!(s.cluster.get("secrets", "default", &secret).is_some());

    // Not a terminal and no --yes: refused before any write.
    s.cluster.reset_requests();
    let out = s.farm.fails(&["delete", &cat]);
    assert!(out.contains("pass --yes"), "{out}");
    assert!(s.cluster.write_counts().is_empty());
    assert!(s.cluster.get("statefulsets", "default", &cat).is_some());

    let out = text(&s.farm.ok(&["delete", &cat, "--yes"]));
    assert!(out.contains(&format!("StatefulSet/{cat}")), "{out}");
    assert!(out.contains(&format!("Secret/{secret}")), "{out}");
    assert!(s.cluster.sts_absent(&cat));
    assert!(s.cluster.get("secrets", "default", &secret).is_none());
    assert!(
        s.farm
            .path()
            .join("cats")
            .join(&cat)
            .join("cat.toml")
            .is_file(),
        "the directory stays"
    );

    // Not there: not an error, and no write.
    s.cluster.reset_requests();
    let out = text(&s.farm.ok(&["delete", &cat, "--yes"]));
    assert!(out.contains("nothing there"), "{out}");
    assert!(s.cluster.write_counts().is_empty());
}

#[test]
fn status_lists_orphans_and_delete_orphans_removes_only_them() {
    let s = Setup::new();
    let (kept, gone) = (s.deployed_cat("kept"), s.deployed_cat("gone"));
    std::fs::remove_dir_all(s.farm.path().join("cats").join(&gone)).unwrap();

    let status = text(&s.farm.ok(&["status"]));
    let line = status
        .lines()
        .find(|l| l.starts_with(&gone))
        .unwrap_or_else(|| panic!("no orphan row: {status}"));
    assert!(line.contains("orphan"), "{status}");
    assert!(line.contains("delete --orphans"), "{status}");
    let kept_line = status.lines().find(|l| l.starts_with(&kept)).unwrap();
    assert!(!kept_line.contains("orphan"), "{status}");

    let out = text(&s.farm.ok(&["delete", "--orphans", "--yes"]));
    assert!(out.contains(&format!("StatefulSet/{gone}")), "{out}");
    assert!(!out.contains(&format!("StatefulSet/{kept}")), "{out}");
    assert!(s.cluster.sts_absent(&gone));
    assert!(!s.cluster.sts_absent(&kept));
    let status = text(&s.farm.ok(&["status"]));
    assert!(!status.contains("orphan"), "{status}");
}

/// A stand-in for the engine's Node.js base image (none can be pulled here): a shell, and an
/// `npm` whose `ci` makes an empty node_modules.
fn fake_node_image(farm: &ImageFarm) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(&farm.services.busybox, dir.path().join("busybox")).unwrap();
    let npm = dir.path().join("npm");
    std::fs::write(&npm, "#!/bin/sh\n/bin/busybox mkdir -p node_modules\n").unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&npm, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        dir.path().join("Dockerfile"),
        "FROM scratch\nCOPY busybox /bin/busybox\nCOPY busybox /bin/sh\n\
         COPY npm /usr/local/bin/npm\n",
    )
    .unwrap();
    let tag = format!("catctl-fake-node:{}", std::process::id());
    farm.docker(&["build", "-q", "-t", &tag, &dir.path().to_string_lossy()]);
    tag
}

fn catctl_in(dir: &std::path::Path, farm: &ImageFarm, args: &[&str]) -> std::process::Output {
    let mut cmd = crate::common::catctl();
    cmd.current_dir(dir)
        .env("DOCKER_HOST", &farm.services.docker_host)
        .env("DOCKER_CONFIG", dir.join(".docker"))
        .env("KUBECONFIG", dir.join("no-kubeconfig"))
        .args(args);
    cmd.output().unwrap()
}

#[test]
fn init_makes_a_farm_where_copycat_and_build_work_and_refuses_a_second_time() {
    let services = ImageFarm::new();
    let parent = tempfile::tempdir().unwrap();
    let farm = parent.path().join("f");
    let registry = services.registry.clone();
    let out = catctl_in(
        parent.path(),
        &services,
        &["init", "f", "--registry", &registry, "-n", "cats"],
    );
    assert!(out.status.success(), "{}", text(&out));
    for file in [
        "catctl.toml",
        "templates/deployment.yaml",
        "templates/cat/Dockerfile",
        "templates/cat/src/main.js",
        "secret/.gitignore",
        "secret/README.md",
        ".gitignore",
        "completions/catctl.bash",
        "completions/_catctl",
        "completions/catctl.fish",
    ] {
        assert!(farm.join(file).is_file(), "{file} missing: {}", text(&out));
    }
    assert!(farm.join("cats").is_dir());
    let config = std::fs::read_to_string(farm.join("catctl.toml")).unwrap();
    assert!(
        config.contains(&format!("registry = \"{registry}\"")),
        "{config}"
    );
    assert!(config.contains("namespace = \"cats\""), "{config}");
    // The embedded template is the repository's, byte for byte.
    for file in ["templates/deployment.yaml", "templates/cat/src/main.js"] {
        assert_eq!(
            std::fs::read(farm.join(file)).unwrap(),
            std::fs::read(crate::common::repo().join(file)).unwrap(),
            "{file}"
        );
    }

    // A second init is refused and changes nothing.
    let before = crate::common::snapshot(&farm);
    let again = catctl_in(parent.path(), &services, &["init", "f"]);
    assert!(!again.status.success());
    assert!(
        text(&again).contains("already holds a farm"),
        "{}",
        text(&again)
    );
    assert_eq!(crate::common::snapshot(&farm), before);

    // copycat + build in the new farm; the only change is the base image, as none can be
    // pulled here.
    let node = fake_node_image(&services);
    let dockerfile = std::fs::read_to_string(farm.join("templates/cat/Dockerfile")).unwrap();
    let base = "ARG NODE_IMAGE=node:20-alpine";
    assert!(dockerfile.contains(base), "{dockerfile}");
    std::fs::write(
        farm.join("templates/cat/Dockerfile"),
        dockerfile.replace(base, &format!("ARG NODE_IMAGE={node}")),
    )
    .unwrap();
    let cat = format!("dd{}", std::process::id());
    let out = catctl_in(&farm, &services, &["copycat", &cat]);
    assert!(out.status.success(), "{}", text(&out));
    let out = catctl_in(&farm, &services, &["build", &cat]);
    assert!(out.status.success(), "{}", text(&out));
    services.docker(&["image", "inspect", &format!("{registry}/{cat}:v1")]);
}

/// Tokens only their owner may read, as `doctor` (and `secret sync`) want them.
fn private_tokens(farm: &ImageFarm, cat: &str) {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = farm.path().join("secret").join(format!("{cat}-token"));
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
}

fn doctor_rows(value: &Value) -> Vec<(String, String, String)> {
    value
        .as_array()
        .expect("a list of checks")
        .iter()
        .map(|c| {
            (
                c["check"].as_str().unwrap().to_string(),
                c["state"].as_str().unwrap().to_string(),
                c["detail"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn doctor_passes_quickly_when_everything_is_reachable() {
    let s = Setup::new();
    let cat = s.deployed_cat("doc");
    private_tokens(&s.farm, &cat);
    let started = std::time::Instant::now();
    let output = s.farm.catctl(&["doctor", "-o", "json"]);
    let elapsed = started.elapsed();
    let checks: Value = serde_json::from_slice(&output.stdout).unwrap();
    let rows = doctor_rows(&checks);
    assert!(output.status.success(), "{rows:#?}\n{}", stderr_of(&output));
    for name in [
        "docker",
        "registry",
        "kube API",
        "namespace",
        "RBAC",
        "nodes",
        &format!("cat {cat}"),
        &format!("token {cat}"),
    ] {
        let row = rows.iter().find(|r| r.0 == name);
        assert!(
            row.is_some_and(|r| r.1 == "ok"),
            "{name}: {row:?} in {rows:#?}"
        );
    }
    assert!(
        rows.iter()
            .any(|r| r.0 == format!("token {cat}") && r.2.contains("in sync")),
        "{rows:#?}"
    );
    assert!(elapsed.as_secs_f64() < 3.0, "doctor took {elapsed:?}");

    // A token changed locally and not synced fails, naming the fix.
    s.farm
        .write(&format!("secret/{cat}-token/bot-token"), "xoxb-changed");
    private_tokens(&s.farm, &cat);
    let out = s.farm.fails(&["doctor"]);
    let line = out
        .lines()
        .find(|l| l.starts_with(&format!("token {cat}")))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        line.contains("FAIL") && line.contains("catctl secret sync"),
        "{out}"
    );
}

#[test]
fn doctor_with_a_dead_docker_daemon_fails_naming_it_and_without_a_cluster_only_warns() {
    let farm = ImageFarm::new();
    let cat = farm.new_cat("dead");
    let _ = cat;
    let mut cmd = crate::common::catctl();
    let dead = format!("unix://{}/no-docker.sock", farm.path().display());
    cmd.current_dir(farm.path())
        .env("DOCKER_HOST", &dead)
        .env("KUBECONFIG", farm.path().join("no-kubeconfig"))
        .args(["doctor"]);
    let output = cmd.output().unwrap();
    let out = text(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    let docker = out
        .lines()
        .find(|l| l.starts_with("docker"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(docker.contains("FAIL") && docker.contains(&dead), "{out}");
    let kube = out
        .lines()
        .find(|l| l.starts_with("kube context"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        kube.contains("warn") && kube.contains("no cluster configured"),
        "{out}"
    );
    assert!(!out.contains("panicked"), "{out}");
}

/// A stripped copy of catctl built for the musl target: static, as the schedule image needs.
fn static_catctl(into: &std::path::Path) -> std::path::PathBuf {
    let exe = std::path::PathBuf::from(env!("CARGO_BIN_EXE_catctl"));
    let target_dir = exe.parent().and_then(|p| p.parent()).unwrap().to_path_buf();
    let built = std::process::Command::new(env!("CARGO"))
        .args([
            "build",
            "--quiet",
            "--target",
            "x86_64-unknown-linux-musl",
            "--bin",
            "catctl",
        ])
        .env("CARGO_TARGET_DIR", &target_dir)
        .current_dir(crate::common::repo())
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "a static catctl is needed (rustup target add x86_64-unknown-linux-musl; musl-tools): {}",
        stderr_of(&built)
    );
    let path = into.join("catctl");
    std::fs::copy(
        target_dir.join("x86_64-unknown-linux-musl/debug/catctl"),
        &path,
    )
    .unwrap();
    let stripped = std::process::Command::new("strip")
        .arg(&path)
        .status()
        .unwrap();
    assert!(stripped.success());
    path
}

fn catctl_with(s: &Setup, env: &[(&str, &std::path::Path)], args: &[&str]) -> std::process::Output {
    let mut cmd = crate::common::catctl();
    cmd.current_dir(s.farm.path())
        .env("DOCKER_HOST", &s.farm.services.docker_host)
        .env("DOCKER_CONFIG", s.farm.path().join(".docker"))
        .env("KUBECONFIG", s.cluster.kubeconfig())
        .args(args);
    for (key, value) in env {
        cmd.env(key, value);
    }
    cmd.output().unwrap()
}

const SCHEDULE: &str = "version = \"v1\"\n\n[schedule]\nsleep = \"0 23 * * *\"\n\
                        wake = \"0 7 * * *\"\ntime_zone = \"Asia/Seoul\"\n";

#[test]
fn a_schedule_becomes_two_cronjobs_running_catctls_pinned_image_with_a_role_for_that_scale_only() {
    let s = Setup::new();
    let cat = s.ready_cat("sched", Some(SCHEDULE));
    let bin_dir = tempfile::tempdir().unwrap();
    let binary = static_catctl(bin_dir.path());
    let out = catctl_with(
        &s,
        &[("CATCTL_STATIC_BINARY", &binary)],
        &["deploy", &cat, "-o", "json"],
    );
    assert!(out.status.success(), "{}", text(&out));

    let mut image = String::new();
    for (action, cron) in [("sleep", "0 23 * * *"), ("wake", "0 7 * * *")] {
        let job = s
            .cluster
            .get("cronjobs", "default", &format!("{cat}-{action}"))
            .unwrap_or_else(|| panic!("no CronJob {cat}-{action}: {}", text(&out)));
        let spec = &job["spec"];
        assert_eq!(spec["schedule"], cron);
        assert_eq!(spec["timeZone"], "Asia/Seoul");
        assert_eq!(spec["concurrencyPolicy"], "Forbid");
        assert!(spec["successfulJobsHistoryLimit"].as_i64().unwrap() <= 3);
        assert!(spec["failedJobsHistoryLimit"].as_i64().unwrap() <= 3);
        let pod = &spec["jobTemplate"]["spec"]["template"]["spec"];
        assert_eq!(pod["serviceAccountName"], format!("{cat}-schedule"));
        image = pod["containers"][0]["image"].as_str().unwrap().to_string();
        let replicas = if action == "sleep" { "0" } else { "1" };
        assert_eq!(
            pod["containers"][0]["args"],
            serde_json::json!([
                "scale",
                "--workload",
                format!("statefulset/{cat}"),
                "--replicas",
                replicas
            ])
        );
    }
    // catctl's own image, in the farm's registry, pinned by the digest the registry serves.
    let (reference, digest) = image.split_once('@').expect("pinned by digest");
    let (repository, tag) = reference.rsplit_once(':').unwrap();
    assert_eq!(repository, format!("{}/catctl", s.farm.registry));
    assert_eq!(
        crate::images::registry_digest(&s.farm.registry, "catctl", tag).as_deref(),
        Some(digest)
    );

    let role = s
        .cluster
        .get("roles", "default", &format!("{cat}-schedule"))
        .expect("the Role");
    assert_eq!(
        role["rules"],
        serde_json::json!([{
            "apiGroups": ["apps"],
            "resources": ["statefulsets/scale"],
            "resourceNames": [cat],
            "verbs": ["get", "patch"],
        }])
    );
    let binding = s
        .cluster
        .get("rolebindings", "default", &format!("{cat}-schedule"))
        .expect("the RoleBinding");
    assert_eq!(binding["roleRef"]["name"], format!("{cat}-schedule"));
    assert!(
        s.cluster
            .get("serviceaccounts", "default", &format!("{cat}-schedule"))
            .is_some()
    );

    // The image runs (FROM scratch + the static binary) and does what the sleep CronJob does.
    let kubeconfig = s.cluster.kubeconfig().to_string_lossy().to_string();
    s.farm.docker(&[
        "run",
        "--rm",
        "--network",
        "host",
        "-v",
        &format!("{kubeconfig}:/kubeconfig:ro"),
        "-e",
        "KUBECONFIG=/kubeconfig",
        &image,
        "scale",
        "--workload",
        &format!("statefulset/{cat}"),
        "--replicas",
        "0",
    ]);
    assert_eq!(s.replicas(&cat), 0);
    let status = text(&s.farm.ok(&["status", &cat]));
    assert!(status.contains("by its schedule"), "{status}");
    // ... and a deploy keeps the scheduled sleep.
    let out = catctl_with(&s, &[("CATCTL_STATIC_BINARY", &binary)], &["deploy", &cat]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("kept asleep"), "{}", text(&out));
    assert_eq!(s.replicas(&cat), 0);

    // `schedule` lists both with their next run in Seoul time.
    let listed = s.farm.json(&["schedule", &cat]);
    let rows = listed.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{listed}");
    assert!(rows.iter().all(|r| r["in_cluster"] == true), "{listed}");
    assert!(
        rows.iter()
            .all(|r| r["next_run"].as_str().unwrap().ends_with("KST")),
        "{listed}"
    );

    // Removing [schedule] and deploying removes the CronJobs and the account.
    s.farm
        .write(&format!("cats/{cat}/cat.toml"), "version = \"v2\"\n");
    s.farm.ok(&["build", &cat]);
    s.farm.ok(&["push", &cat]);
    s.farm.ok(&["deploy", &cat]);
    for name in [format!("{cat}-sleep"), format!("{cat}-wake")] {
        assert!(s.cluster.get("cronjobs", "default", &name).is_none());
    }
    assert!(
        s.cluster
            .get("roles", "default", &format!("{cat}-schedule"))
            .is_none()
    );
}

#[test]
fn a_bad_cron_expression_or_time_zone_is_refused_naming_the_file_and_key_before_any_write() {
    let s = Setup::new();
    let cat = s.deployed_cat("badcron");
    s.cluster.reset_requests();
    s.farm.write(
        &format!("cats/{cat}/cat.toml"),
        "version = \"v1\"\n\n[schedule]\nsleep = \"0 25 * * *\"\n",
    );
    let out = s.farm.fails(&["deploy", &cat]);
    assert!(
        out.contains(&format!("cats/{cat}/cat.toml:4")) && out.contains("schedule.sleep"),
        "{out}"
    );
    assert!(out.contains("0 25 * * *"), "{out}");
    s.farm.write(
        &format!("cats/{cat}/cat.toml"),
        "version = \"v1\"\n\n[schedule]\nwake = \"0 7 * * *\"\ntime_zone = \"Mars/Olympus\"\n",
    );
    let out = s.farm.fails(&["deploy", &cat]);
    assert!(
        out.contains(&format!("cats/{cat}/cat.toml:5")) && out.contains("schedule.time_zone"),
        "{out}"
    );
    assert!(
        s.cluster.write_counts().is_empty(),
        "{:?}",
        s.cluster.write_counts()
    );
}

#[test]
fn schedule_remove_deletes_the_cronjobs_and_delete_takes_the_whole_schedule() {
    let s = Setup::new();
    let cat = s.ready_cat("unsched", Some(SCHEDULE));
    let bin_dir = tempfile::tempdir().unwrap();
    let binary = static_catctl(bin_dir.path());
    let out = catctl_with(&s, &[("CATCTL_STATIC_BINARY", &binary)], &["deploy", &cat]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        s.cluster
            .get("cronjobs", "default", &format!("{cat}-sleep"))
            .is_some()
    );

    let out = text(&s.farm.ok(&["schedule", "--remove", &cat]));
    assert!(out.contains(&format!("CronJob/{cat}-sleep")), "{out}");
    assert!(out.contains("next deploy puts it back"), "{out}");
    assert!(
        s.cluster
            .get("cronjobs", "default", &format!("{cat}-sleep"))
            .is_none()
    );
    assert!(
        s.cluster
            .get("cronjobs", "default", &format!("{cat}-wake"))
            .is_none()
    );

    // Put back, then `delete` takes workload, Secret and schedule together.
    let out = catctl_with(&s, &[("CATCTL_STATIC_BINARY", &binary)], &["deploy", &cat]);
    assert!(out.status.success(), "{}", text(&out));
    let out = text(&s.farm.ok(&["delete", &cat, "--yes"]));
    for object in [
        format!("CronJob/{cat}-wake"),
        format!("Role/{cat}-schedule"),
        format!("ServiceAccount/{cat}-schedule"),
    ] {
        assert!(out.contains(&object), "{object}: {out}");
    }
    assert!(
        s.cluster
            .get("cronjobs", "default", &format!("{cat}-wake"))
            .is_none()
    );
    assert!(
        s.cluster
            .get("rolebindings", "default", &format!("{cat}-schedule"))
            .is_none()
    );
}
