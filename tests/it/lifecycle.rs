//! The life of a farm end to end — `sleep`/`wake` (and how `deploy`, `status` and `logs` treat
//! a sleeping cat), `delete`, `init`, `doctor` and `schedule` — with the real binary, the real
//! Docker daemon and registry, and a fake cluster per test.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::{Farm, Run, repo, tree};
use crate::deploy::{DeployFarm, setup};

/// A cat built, pushed, with its token synced, and deployed.
fn deployed_cat(farm: &Farm, hint: &str) -> String {
    let cat = farm.ready_cat(hint);
    farm.run(["deploy", &cat]).ok();
    cat
}

/// A cat with `cat_toml`, built, pushed and with its token synced.
fn scheduled_cat(farm: &Farm, hint: &str, cat_toml: &str) -> String {
    let cat = farm.new_cat(hint);
    farm.write(&format!("cats/{cat}/cat.toml"), cat_toml);
    farm.run(["build", &cat]).ok();
    farm.run(["push", &cat]).ok();
    farm.sync_token(&cat);
    cat
}

fn replicas(farm: &Farm, cat: &str) -> i64 {
    farm.sts(cat)["spec"]["replicas"].as_i64().unwrap()
}

/// The cat's pods, Terminating ones included.
fn pods(farm: &Farm, cat: &str) -> Vec<Value> {
    farm.cluster().pods_of(cat)
}

fn ready_pods(farm: &Farm, cat: &str) -> usize {
    pods(farm, cat)
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

/// stdout and stderr of a run that must succeed.
fn ok<S: AsRef<std::ffi::OsStr>>(farm: &Farm, args: impl IntoIterator<Item = S>) -> String {
    farm.run(args).ok().text()
}

/// stdout and stderr of a run that must fail.
fn fails<S: AsRef<std::ffi::OsStr>>(farm: &Farm, args: impl IntoIterator<Item = S>) -> String {
    farm.run(args).fails().text()
}

#[test]
fn sleep_scales_to_zero_deploy_keeps_it_asleep_and_wake_brings_a_ready_pod_back() {
    let farm = setup();
    let cat = deployed_cat(&farm, "nap");
    assert_eq!(ready_pods(&farm, &cat), 1);

    let out = ok(&farm, ["sleep", &cat]);
    assert_eq!(replicas(&farm, &cat), 0, "{out}");
    assert!(
        pods(&farm, &cat).is_empty(),
        "sleep waits until the pod is gone"
    );
    let mark: Value = serde_json::from_str(
        farm.sts(&cat)["metadata"]["annotations"]["catctl.io/asleep"]
            .as_str()
            .expect("the asleep annotation"),
    )
    .unwrap();
    let by = mark["by"].as_str().unwrap().to_string();
    assert!(by.contains('@'), "{mark}");
    assert!(out.contains(&by), "{out}");

    // status says since when and by whom
    let status = ok(&farm, ["status", &cat]);
    let since = mark["since"].as_str().unwrap();
    assert!(
        status.contains(&format!("asleep since {since} (by {by})")),
        "{status}"
    );

    // logs says so
    let logs = farm.run(["logs", &cat]).text();
    assert!(
        logs.contains(&format!("{cat} is asleep since {since}")),
        "{logs}"
    );
    assert!(logs.contains(&format!("catctl wake {cat}")), "{logs}");

    // a second sleep writes nothing
    farm.cluster().reset_requests();
    let again = ok(&farm, ["sleep", &cat]);
    assert!(again.contains("already asleep"), "{again}");
    assert!(
        farm.cluster().write_counts().is_empty(),
        "{:?}",
        farm.cluster().write_counts()
    );

    // deploy keeps it asleep, says so, and needs no --force
    let deployed = ok(&farm, ["deploy", &cat]);
    assert!(deployed.contains("kept asleep"), "{deployed}");
    assert!(
        deployed.contains(&format!("catctl wake {cat}")),
        "{deployed}"
    );
    assert_eq!(replicas(&farm, &cat), 0);
    assert!(pods(&farm, &cat).is_empty());

    // wake brings one Ready pod back and removes the mark
    let woke = ok(&farm, ["wake", &cat]);
    assert_eq!(replicas(&farm, &cat), 1, "{woke}");
    assert_eq!(ready_pods(&farm, &cat), 1, "wake waits for Ready: {woke}");
    assert!(
        farm.sts(&cat)["metadata"]["annotations"]["catctl.io/asleep"].is_null(),
        "{}",
        farm.sts(&cat)
    );
    // a second wake writes nothing; a deploy afterwards meets no conflict
    farm.cluster().reset_requests();
    let again = ok(&farm, ["wake", &cat]);
    assert!(again.contains("already awake"), "{again}");
    assert!(farm.cluster().write_counts().is_empty());
    farm.run(["deploy", &cat]).ok();
    assert_eq!(replicas(&farm, &cat), 1);
    let status = ok(&farm, ["status", &cat]);
    assert!(!status.contains("asleep"), "{status}");
}

#[test]
fn deploy_wake_wakes_a_sleeping_cat() {
    let farm = setup();
    let cat = deployed_cat(&farm, "wakeup");
    farm.run(["sleep", &cat]).ok();
    let out = ok(&farm, ["deploy", &cat, "--wake"]);
    assert_eq!(replicas(&farm, &cat), 1, "{out}");
    assert_eq!(ready_pods(&farm, &cat), 1, "{out}");
    assert!(farm.sts(&cat)["metadata"]["annotations"]["catctl.io/asleep"].is_null());
}

#[test]
fn sleeping_a_cat_that_is_not_deployed_says_so_and_writes_nothing() {
    let farm = setup();
    let cat = farm.new_cat("never");
    let out = fails(&farm, ["sleep", &cat]);
    assert!(out.contains(&format!("{cat} is not deployed")), "{out}");
    assert!(farm.cluster().write_counts().is_empty());
}

#[test]
fn delete_asks_removes_workload_secret_history_and_lease_keeps_the_directory_and_is_idempotent() {
    let farm = setup();
    let cat = deployed_cat(&farm, "bye");
    let secret = format!("{cat}-token");
    let history = format!("catctl-history-{cat}");
    let lease = format!("catctl-deploy-{cat}");
    assert!(farm.cluster().get("secrets", "default", &secret).is_some());
    assert!(
        farm.cluster()
            .get("configmaps", "default", &history)
            .is_some(),
        "the deploy recorded its history"
    );
    // The deploy's lock stays as an unheld Lease; one left behind by a killed deploy would
    // still be held. Either way delete removes it.
    if farm.cluster().get("leases", "default", &lease).is_none() {
        farm.cluster()
            .insert(serde_json::json!({
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {
                    "name": lease,
                    "namespace": "default",
                    "labels": {"app.kubernetes.io/managed-by": "catctl"},
                },
                "spec": {"holderIdentity": "killed@host", "leaseDurationSeconds": 30},
            }))
            .expect("the Lease is stored");
    }

    // Not a terminal and no --yes: refused before any write.
    farm.cluster().reset_requests();
    let out = fails(&farm, ["delete", &cat]);
    assert!(out.contains("pass --yes"), "{out}");
    assert!(farm.cluster().write_counts().is_empty());
    assert!(
        farm.cluster()
            .get("statefulsets", "default", &cat)
            .is_some()
    );

    let out = ok(&farm, ["delete", &cat, "--yes"]);
    assert!(out.contains(&format!("StatefulSet/{cat}")), "{out}");
    assert!(out.contains(&format!("Secret/{secret}")), "{out}");
    assert!(out.contains(&format!("ConfigMap/{history}")), "{out}");
    assert!(out.contains(&format!("Lease/{lease}")), "{out}");
    assert!(farm.cluster().sts_absent(&cat));
    assert!(farm.cluster().get("secrets", "default", &secret).is_none());
    assert!(
        farm.cluster()
            .get("configmaps", "default", &history)
            .is_none()
    );
    assert!(farm.cluster().get("leases", "default", &lease).is_none());
    assert!(
        farm.path()
            .join("cats")
            .join(&cat)
            .join("cat.toml")
            .is_file(),
        "the directory stays"
    );

    // Not there: not an error, and no write.
    farm.cluster().reset_requests();
    let out = ok(&farm, ["delete", &cat, "--yes"]);
    assert!(out.contains("nothing there"), "{out}");
    assert!(farm.cluster().write_counts().is_empty());
}

#[test]
fn status_lists_orphans_and_delete_orphans_removes_only_them() {
    let farm = setup();
    let (kept, gone) = (deployed_cat(&farm, "kept"), deployed_cat(&farm, "gone"));
    std::fs::remove_dir_all(farm.path().join("cats").join(&gone)).unwrap();

    let status = ok(&farm, ["status"]);
    let line = status
        .lines()
        .find(|l| l.starts_with(&gone))
        .unwrap_or_else(|| panic!("no orphan row: {status}"));
    assert!(line.contains("orphan"), "{status}");
    assert!(line.contains("delete --orphans"), "{status}");
    let kept_line = status.lines().find(|l| l.starts_with(&kept)).unwrap();
    assert!(!kept_line.contains("orphan"), "{status}");

    let out = ok(&farm, ["delete", "--orphans", "--yes"]);
    assert!(out.contains(&format!("StatefulSet/{gone}")), "{out}");
    assert!(!out.contains(&format!("StatefulSet/{kept}")), "{out}");
    assert!(farm.cluster().sts_absent(&gone));
    assert!(!farm.cluster().sts_absent(&kept));
    let status = ok(&farm, ["status"]);
    assert!(!status.contains("orphan"), "{status}");
}

/// A stand-in for the engine's Node.js base image (none can be pulled here): a shell, and a
/// `node` whose only job, the build's `node build/deps.mjs install`, makes an empty
/// node_modules.
fn fake_node_image(farm: &Farm) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(&farm.services().busybox, dir.path().join("busybox")).unwrap();
    let node = dir.path().join("node");
    std::fs::write(&node, "#!/bin/sh\n/bin/busybox mkdir -p node_modules\n").unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&node, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        dir.path().join("Dockerfile"),
        "FROM scratch\nCOPY busybox /bin/busybox\nCOPY busybox /bin/sh\n\
         COPY node /usr/local/bin/node\n",
    )
    .unwrap();
    let tag = format!("catctl-fake-node:{}", std::process::id());
    farm.docker(&["build", "-q", "-t", &tag, &dir.path().to_string_lossy()]);
    tag
}

/// `catctl ARGS` in `dir`, outside the farm, with the farm's daemon and no cluster.
fn catctl_in(dir: &Path, services: &Farm, args: &[&str]) -> Run {
    services
        .command(args)
        .current_dir(dir)
        .env("DOCKER_CONFIG", dir.join(".docker"))
        .env("KUBECONFIG", dir.join("no-kubeconfig"))
        .run()
}

#[test]
fn init_makes_a_farm_where_copycat_and_build_work_and_refuses_a_second_time() {
    let services = Farm::new().with_services();
    let parent = tempfile::tempdir().unwrap();
    let farm = parent.path().join("f");
    let registry = services.registry().to_string();
    let out = catctl_in(
        parent.path(),
        &services,
        &["init", "f", "--registry", &registry, "-n", "cats"],
    )
    .ok();
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
        assert!(farm.join(file).is_file(), "{file} missing: {out}");
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
            std::fs::read(repo().join(file)).unwrap(),
            "{file}"
        );
    }

    // Without -n, catctl.toml leaves the namespace to the kube context.
    let other = parent.path().join("g");
    catctl_in(
        parent.path(),
        &services,
        &["init", "g", "--registry", &registry],
    )
    .ok();
    let config = std::fs::read_to_string(other.join("catctl.toml")).unwrap();
    assert!(
        !config.lines().any(|l| l.starts_with("namespace")),
        "{config}"
    );

    // A second init is refused and changes nothing.
    let before = tree(&farm);
    let again = catctl_in(parent.path(), &services, &["init", "f"]).fails();
    assert!(again.text().contains("already holds a farm"), "{again}");
    assert_eq!(tree(&farm), before);

    // copycat + build in the new farm; the only change is the base image, as none can be
    // pulled here.
    let node = fake_node_image(&services);
    let dockerfile = std::fs::read_to_string(farm.join("templates/cat/Dockerfile")).unwrap();
    let base = dockerfile
        .lines()
        .find(|l| l.starts_with("ARG NODE_IMAGE="))
        .unwrap_or_else(|| panic!("no NODE_IMAGE argument: {dockerfile}"));
    std::fs::write(
        farm.join("templates/cat/Dockerfile"),
        dockerfile.replace(base, &format!("ARG NODE_IMAGE={node}")),
    )
    .unwrap();
    let cat = format!("dd{}", std::process::id());
    catctl_in(&farm, &services, &["copycat", &cat]).ok();
    catctl_in(&farm, &services, &["build", &cat]).ok();
    services.docker(&["image", "inspect", &format!("{registry}/{cat}:v1")]);
}

/// Tokens only their owner may read, as `doctor` (and `secret sync`) want them.
fn private_tokens(farm: &Farm, cat: &str) {
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
                c["result"].as_str().unwrap().to_string(),
                c["detail"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn doctor_passes_quickly_when_everything_is_reachable() {
    let farm = setup();
    let cat = deployed_cat(&farm, "doc");
    private_tokens(&farm, &cat);
    let started = std::time::Instant::now();
    let output = farm.run(["doctor", "-o", "json"]);
    let elapsed = started.elapsed();
    let checks: Value = output.items();
    let rows = doctor_rows(&checks);
    assert!(output.success(), "{rows:#?}\n{}", output.stderr());
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
    farm.write(&format!("secret/{cat}-token/bot-token"), "xoxb-changed");
    private_tokens(&farm, &cat);
    let out = fails(&farm, ["doctor"]);
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
    let farm = Farm::new();
    let cat = farm.new_cat("dead");
    let _ = cat;
    let dead = format!("unix://{}/no-docker.sock", farm.path().display());
    // Outside `with_cluster`, the farm's runs get a kubeconfig that does not exist.
    let output = farm.command(["doctor"]).env("DOCKER_HOST", &dead).run();
    let out = output.text();
    assert_eq!(output.exit_code(), Some(1), "{out}");
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
fn static_catctl(into: &Path) -> PathBuf {
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_catctl"));
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
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "a static catctl is needed (rustup target add x86_64-unknown-linux-musl; musl-tools): {}",
        String::from_utf8_lossy(&built.stderr)
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

/// `catctl ARGS` in the farm with the static binary the schedule image is built from.
fn with_static(farm: &Farm, binary: &Path, args: &[&str]) -> Run {
    farm.command(args).env("CATCTL_STATIC_BINARY", binary).run()
}

const SCHEDULE: &str = "version = \"v1\"\n\n[schedule]\nsleep = \"0 23 * * *\"\n\
                        wake = \"0 7 * * *\"\ntime_zone = \"Asia/Seoul\"\n";

#[test]
fn a_schedule_becomes_two_cronjobs_running_catctls_pinned_image_with_a_role_for_that_scale_only() {
    let farm = setup();
    let cat = scheduled_cat(&farm, "sched", SCHEDULE);
    let bin_dir = tempfile::tempdir().unwrap();
    let binary = static_catctl(bin_dir.path());
    let out = with_static(&farm, &binary, &["deploy", &cat, "-o", "json"]).ok();

    let mut image = String::new();
    for (action, cron) in [("sleep", "0 23 * * *"), ("wake", "0 7 * * *")] {
        let job = farm
            .cluster()
            .get("cronjobs", "default", &format!("{cat}-{action}"))
            .unwrap_or_else(|| panic!("no CronJob {cat}-{action}: {out}"));
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
    assert_eq!(repository, format!("{}/catctl", farm.registry()));
    assert_eq!(farm.registry_digest("catctl", tag).as_deref(), Some(digest));

    let role = farm
        .cluster()
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
    let binding = farm
        .cluster()
        .get("rolebindings", "default", &format!("{cat}-schedule"))
        .expect("the RoleBinding");
    assert_eq!(binding["roleRef"]["name"], format!("{cat}-schedule"));
    assert!(
        farm.cluster()
            .get("serviceaccounts", "default", &format!("{cat}-schedule"))
            .is_some()
    );

    // The image runs (FROM scratch + the static binary) and does what the sleep CronJob does.
    let kubeconfig = farm.cluster().kubeconfig().to_string_lossy().to_string();
    farm.docker(&[
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
    assert_eq!(replicas(&farm, &cat), 0);
    let status = ok(&farm, ["status", &cat]);
    assert!(status.contains("by its schedule"), "{status}");
    // ... and a deploy keeps the scheduled sleep.
    let out = with_static(&farm, &binary, &["deploy", &cat]).ok();
    assert!(out.text().contains("kept asleep"), "{out}");
    assert_eq!(replicas(&farm, &cat), 0);

    // `schedule` lists both with their next run in Seoul time.
    let listed = farm.run(["schedule", &cat, "-o", "json"]).ok().items();
    let rows = listed.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{listed}");
    assert!(rows.iter().all(|r| r["in_cluster"] == true), "{listed}");
    assert!(
        rows.iter()
            .all(|r| r["next_run"].as_str().unwrap().ends_with("KST")),
        "{listed}"
    );

    // Removing [schedule] and deploying removes the CronJobs and the account.
    farm.write(&format!("cats/{cat}/cat.toml"), "version = \"v2\"\n");
    farm.run(["build", &cat]).ok();
    farm.run(["push", &cat]).ok();
    farm.run(["deploy", &cat]).ok();
    for name in [format!("{cat}-sleep"), format!("{cat}-wake")] {
        assert!(farm.cluster().get("cronjobs", "default", &name).is_none());
    }
    assert!(
        farm.cluster()
            .get("roles", "default", &format!("{cat}-schedule"))
            .is_none()
    );
}

#[test]
fn a_bad_cron_expression_or_time_zone_is_refused_naming_the_file_and_key_before_any_write() {
    let farm = setup();
    let cat = deployed_cat(&farm, "badcron");
    farm.cluster().reset_requests();
    farm.write(
        &format!("cats/{cat}/cat.toml"),
        "version = \"v1\"\n\n[schedule]\nsleep = \"0 25 * * *\"\n",
    );
    let out = fails(&farm, ["deploy", &cat]);
    assert!(
        out.contains(&format!("cats/{cat}/cat.toml:4")) && out.contains("schedule.sleep"),
        "{out}"
    );
    assert!(out.contains("0 25 * * *"), "{out}");
    farm.write(
        &format!("cats/{cat}/cat.toml"),
        "version = \"v1\"\n\n[schedule]\nwake = \"0 7 * * *\"\ntime_zone = \"Mars/Olympus\"\n",
    );
    let out = fails(&farm, ["deploy", &cat]);
    assert!(
        out.contains(&format!("cats/{cat}/cat.toml:5")) && out.contains("schedule.time_zone"),
        "{out}"
    );
    assert!(
        farm.cluster().write_counts().is_empty(),
        "{:?}",
        farm.cluster().write_counts()
    );
}

#[test]
fn schedule_remove_deletes_the_cronjobs_and_delete_takes_the_whole_schedule() {
    let farm = setup();
    let cat = scheduled_cat(&farm, "unsched", SCHEDULE);
    let bin_dir = tempfile::tempdir().unwrap();
    let binary = static_catctl(bin_dir.path());
    with_static(&farm, &binary, &["deploy", &cat]).ok();
    assert!(
        farm.cluster()
            .get("cronjobs", "default", &format!("{cat}-sleep"))
            .is_some()
    );

    let out = ok(&farm, ["schedule", "--remove", &cat]);
    assert!(out.contains(&format!("CronJob/{cat}-sleep")), "{out}");
    assert!(out.contains("next deploy puts it back"), "{out}");
    assert!(
        farm.cluster()
            .get("cronjobs", "default", &format!("{cat}-sleep"))
            .is_none()
    );
    assert!(
        farm.cluster()
            .get("cronjobs", "default", &format!("{cat}-wake"))
            .is_none()
    );

    // Put back, then `delete` takes workload, Secret and schedule together.
    with_static(&farm, &binary, &["deploy", &cat]).ok();
    let out = ok(&farm, ["delete", &cat, "--yes"]);
    for object in [
        format!("CronJob/{cat}-wake"),
        format!("Role/{cat}-schedule"),
        format!("ServiceAccount/{cat}-schedule"),
    ] {
        assert!(out.contains(&object), "{object}: {out}");
    }
    assert!(
        farm.cluster()
            .get("cronjobs", "default", &format!("{cat}-wake"))
            .is_none()
    );
    assert!(
        farm.cluster()
            .get("rolebindings", "default", &format!("{cat}-schedule"))
            .is_none()
    );
}
