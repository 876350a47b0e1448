//! The real `kubectl` judges the fake: every call is bounded in time and runs with KUBECONFIG
//! pointing at a fake of its own.

use std::process::Stdio;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use fake_kube::{Config, FakeKube, PodScript};
use serde_json::Value;

struct Out {
    ok: bool,
    stdout: String,
    stderr: String,
}

async fn kubectl(fake: &FakeKube, args: &[&str]) -> Out {
    kubectl_for(fake, args, Duration::from_secs(20)).await
}

async fn kubectl_for(fake: &FakeKube, args: &[&str], limit: Duration) -> Out {
    let child = tokio::process::Command::new("kubectl")
        .args(args)
        .env("KUBECONFIG", fake.kubeconfig())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("kubectl runs (it is installed on these machines and in CI)");
    let output = tokio::time::timeout(limit, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("kubectl {args:?} did not finish within {limit:?}"))
        .expect("kubectl output");
    Out {
        ok: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// kubectl, expected to succeed.
async fn ok(fake: &FakeKube, args: &[&str]) -> String {
    let out = kubectl(fake, args).await;
    assert!(
        out.ok,
        "kubectl {args:?} failed:\n{}\n{}",
        out.stdout, out.stderr
    );
    out.stdout
}

async fn apply(fake: &FakeKube, yaml: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("manifest.yaml");
    std::fs::write(&file, yaml).unwrap();
    ok(
        fake,
        &["apply", "--server-side", "-f", file.to_str().unwrap()],
    )
    .await
}

async fn start() -> FakeKube {
    let began = Instant::now();
    let fake = FakeKube::start(Config::default()).await.unwrap();
    assert!(
        began.elapsed() < Duration::from_millis(500),
        "the fake started in {:?}",
        began.elapsed()
    );
    fake
}

/// A `FROM scratch` busybox image pushed to the test registry, by its tag; started by
/// scripts/test-services.sh (never skipped).
fn pushed_image() -> &'static str {
    static IMAGE: OnceLock<String> = OnceLock::new();
    IMAGE.get_or_init(|| {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let script = root.join("scripts/test-services.sh");
        let start = std::process::Command::new(&script).arg("start").output().expect("test-services.sh runs");
        assert!(start.status.success(), "test services did not start: {}", String::from_utf8_lossy(&start.stderr));
        let env = std::process::Command::new(&script).arg("env").output().unwrap();
        let env = String::from_utf8_lossy(&env.stdout).into_owned();
        let get = |name: &str| {
            env.lines()
                .find_map(|l| l.strip_prefix(&format!("export {name}=")))
                .unwrap_or_else(|| panic!("test-services.sh env gives no {name}"))
                .to_string()
        };
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(get("CATCTL_TEST_BUSYBOX"), dir.path().join("busybox")).unwrap();
        std::fs::write(dir.path().join("Dockerfile"),
            "FROM scratch\nCOPY busybox /bin/busybox\nCMD [\"/bin/busybox\", \"sleep\", \"3600\"]\n").unwrap();
        let image = format!("{}/fake-kube-selftest:v1", get("CATCTL_TEST_REGISTRY"));
        for args in [vec!["build", "-q", "-t", &image, dir.path().to_str().unwrap()], vec!["push", &image]] {
            let out = std::process::Command::new("docker")
                .args(&args)
                .env("DOCKER_HOST", get("DOCKER_HOST"))
                .env("DOCKER_BUILDKIT", "0")
                .output()
                .expect("the docker CLI runs");
            assert!(out.status.success(), "docker {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        }
        image
    })
}

fn missing_image() -> String {
    let good = pushed_image();
    let registry = good.split('/').next().unwrap();
    format!("{registry}/fake-kube-missing:v404")
}

fn statefulset(name: &str, image: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: {name}\n  labels: {{app: {name}}}\nspec:\n  replicas: 1\n  serviceName: {name}\n  selector:\n    matchLabels: {{app: {name}}}\n  template:\n    metadata:\n      labels: {{app: {name}}}\n    spec:\n      terminationGracePeriodSeconds: 5\n      containers:\n      - name: {name}\n        image: {image}\n"
    )
}

fn deployment(name: &str, image: &str, extra_spec: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  replicas: 1\n{extra_spec}  selector:\n    matchLabels: {{app: {name}}}\n  template:\n    metadata:\n      labels: {{app: {name}}}\n    spec:\n      containers:\n      - name: {name}\n        image: {image}\n"
    )
}

const SECRET: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: dd-token\nstringData:\n  bot-token: xoxb-dd\n";

fn pods_of(fake: &FakeKube, app: &str) -> Vec<Value> {
    fake.list("pods", Some("default"))
        .into_iter()
        .filter(|p| p["metadata"]["labels"]["app"] == app)
        .collect()
}

async fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_get_and_rollout_status_of_a_good_image() {
    let fake = start().await;
    let image = pushed_image();
    let manifests = format!(
        "{}---\n{}---\n{SECRET}",
        statefulset("dd", image),
        deployment("coco", image, "")
    );
    let applied = apply(&fake, &manifests).await;
    assert!(
        applied.contains("statefulset.apps/dd serverside-applied"),
        "{applied}"
    );
    assert!(
        applied.contains("deployment.apps/coco serverside-applied"),
        "{applied}"
    );
    assert!(
        applied.contains("secret/dd-token serverside-applied"),
        "{applied}"
    );

    let sts = ok(
        &fake,
        &["rollout", "status", "statefulset/dd", "--timeout=20s"],
    )
    .await;
    assert!(
        sts.contains("roll out complete: 1 new pods have been updated"),
        "{sts}"
    );
    let deploy = ok(
        &fake,
        &["rollout", "status", "deployment/coco", "--timeout=20s"],
    )
    .await;
    assert!(
        deploy.contains("deployment \"coco\" successfully rolled out"),
        "{deploy}"
    );

    let table = ok(&fake, &["get", "statefulsets,deployments,secrets,pods"]).await;
    for expected in [
        "statefulset.apps/dd",
        "1/1",
        "deployment.apps/coco",
        "secret/dd-token",
        "Opaque",
        "pod/dd-0",
        "Running",
    ] {
        assert!(
            table.contains(expected),
            "{expected} missing from:\n{table}"
        );
    }
    let pod: Value =
        serde_json::from_str(&ok(&fake, &["get", "pod", "dd-0", "-o", "json"]).await).unwrap();
    let image_id = pod["status"]["containerStatuses"][0]["imageID"]
        .as_str()
        .unwrap();
    assert!(
        image_id.contains("/fake-kube-selftest@sha256:"),
        "{image_id}"
    );
    assert_eq!(
        pod["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"],
        "dd-0"
    );
    let secret: Value = serde_json::from_str(
        &ok(
            &fake,
            &[
                "get",
                "secret",
                "dd-token",
                "-o",
                "json",
                "--show-managed-fields",
            ],
        )
        .await,
    )
    .unwrap();
    assert_eq!(secret["data"]["bot-token"], "eG94Yi1kZA==");
    assert_eq!(secret["metadata"]["managedFields"][0]["manager"], "kubectl");
    let revisions = ok(&fake, &["get", "controllerrevisions"]).await;
    assert!(revisions.contains("statefulset.apps/dd"), "{revisions}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollout_status_fails_for_an_image_missing_from_the_registry() {
    let fake = start().await;
    let missing = missing_image();
    apply(
        &fake,
        &deployment("tt", &missing, "  progressDeadlineSeconds: 1\n"),
    )
    .await;
    let out = kubectl(
        &fake,
        &["rollout", "status", "deployment/tt", "--timeout=15s"],
    )
    .await;
    assert!(!out.ok);
    assert!(
        out.stderr
            .contains("error: deployment \"tt\" exceeded its progress deadline"),
        "{}",
        out.stderr
    );

    apply(&fake, &statefulset("mo", &missing)).await;
    let out = kubectl(
        &fake,
        &["rollout", "status", "statefulset/mo", "--timeout=2s"],
    )
    .await;
    assert!(!out.ok, "{}", out.stdout);
    assert!(
        out.stdout.contains("Waiting for 1 pods to be ready"),
        "{}",
        out.stdout
    );
    let pods = ok(&fake, &["get", "pod", "mo-0"]).await;
    assert!(
        pods.contains("ImagePullBackOff") || pods.contains("ErrImagePull"),
        "{pods}"
    );
    let events = ok(
        &fake,
        &[
            "get",
            "events",
            "--field-selector",
            "involvedObject.name=mo-0",
        ],
    )
    .await;
    assert!(
        events.contains(&format!("Failed to pull image \"{missing}\"")),
        "{events}"
    );
    assert!(events.contains("Back-off pulling image"), "{events}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_follow_timestamps_and_previous_of_a_crash_loop() {
    let fake = start().await;
    let image = pushed_image();
    fake.script(
        "dd",
        PodScript::healthy()
            .log(["dd: hello"])
            .every(Duration::from_millis(50), "dd: tick {n}"),
    );
    fake.script(
        "lala",
        PodScript::crash_loop(["lala starting", "Error: Specify $LALA_TOKEN in environment"]),
    );
    apply(
        &fake,
        &format!(
            "{}---\n{}",
            statefulset("dd", image),
            statefulset("lala", image)
        ),
    )
    .await;
    ok(
        &fake,
        &["rollout", "status", "statefulset/dd", "--timeout=20s"],
    )
    .await;

    let logs = ok(&fake, &["logs", "dd-0"]).await;
    assert!(logs.starts_with("dd: hello\n"), "{logs}");
    let tail = ok(&fake, &["logs", "dd-0", "--tail=1"]).await;
    assert_eq!(tail.lines().count(), 1, "{tail}");

    let followed = kubectl_for(
        &fake,
        &["logs", "-f", "--timestamps", "dd-0", "--request-timeout=1s"],
        Duration::from_secs(10),
    )
    .await;
    let lines: Vec<&str> = followed.stdout.lines().collect();
    assert!(lines.len() >= 3, "{}", followed.stdout);
    for line in &lines {
        let (time, text) = line.split_once(' ').unwrap();
        assert!(time.parse::<jiff::Timestamp>().is_ok(), "{line}");
        assert!(text.starts_with("dd: "), "{line}");
    }

    let previous = kubectl(&fake, &["logs", "dd-0", "--previous"]).await;
    assert!(!previous.ok);
    assert!(
        previous
            .stderr
            .contains("previous terminated container \"dd\" in pod \"dd-0\" not found"),
        "{}",
        previous.stderr
    );

    wait_until("lala restarted", || {
        fake.get("pods", "default", "lala-0").is_some_and(|p| {
            p["status"]["containerStatuses"][0]["restartCount"].as_i64() >= Some(1)
        })
    })
    .await;
    let previous = ok(&fake, &["logs", "lala-0", "--previous"]).await;
    assert!(
        previous.contains("Error: Specify $LALA_TOKEN in environment"),
        "{previous}"
    );
    let pod: Value =
        serde_json::from_str(&ok(&fake, &["get", "pod", "lala-0", "-o", "json"]).await).unwrap();
    let status = &pod["status"]["containerStatuses"][0];
    assert_eq!(status["lastState"]["terminated"]["exitCode"], 1, "{status}");
    let waiting = kubectl(&fake, &["get", "pod", "lala-0"]).await.stdout;
    assert!(
        waiting.contains("CrashLoopBackOff") || waiting.contains("Running"),
        "{waiting}"
    );

    // A follow ends by itself when its pod goes away.
    let follow = {
        let args = ["logs", "-f", "dd-0"];
        let fake = &fake;
        async move { kubectl_for(fake, &args, Duration::from_secs(10)).await }
    };
    let delete = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        ok(&fake, &["delete", "pod", "dd-0", "--wait=false"]).await
    };
    let (followed, _) = tokio::join!(follow, delete);
    assert!(followed.ok, "{}", followed.stderr);
    assert!(followed.stdout.contains("dd: tick"), "{}", followed.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollout_restart_scale_and_field_manager_conflicts() {
    let fake = start().await;
    let image = pushed_image();
    apply(
        &fake,
        &format!(
            "{}---\n{}",
            statefulset("dd", image),
            deployment("coco", image, "")
        ),
    )
    .await;
    ok(
        &fake,
        &["rollout", "status", "deployment/coco", "--timeout=20s"],
    )
    .await;
    ok(
        &fake,
        &["rollout", "status", "statefulset/dd", "--timeout=20s"],
    )
    .await;
    let before: Vec<String> = fake
        .list("pods", Some("default"))
        .iter()
        .map(|p| p["metadata"]["uid"].as_str().unwrap().to_string())
        .collect();

    let restarted = ok(
        &fake,
        &["rollout", "restart", "deployment/coco", "statefulset/dd"],
    )
    .await;
    assert!(
        restarted.contains("deployment.apps/coco restarted"),
        "{restarted}"
    );
    ok(
        &fake,
        &["rollout", "status", "deployment/coco", "--timeout=20s"],
    )
    .await;
    ok(
        &fake,
        &["rollout", "status", "statefulset/dd", "--timeout=20s"],
    )
    .await;
    wait_until("old pods gone", || {
        fake.list("pods", Some("default")).len() == 2
    })
    .await;
    for pod in fake.list("pods", Some("default")) {
        assert!(
            !before.contains(&pod["metadata"]["uid"].as_str().unwrap().to_string()),
            "{} was not replaced",
            pod["metadata"]["name"]
        );
        assert!(pod["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"].is_string());
    }
    let deploy: Value =
        serde_json::from_str(&ok(&fake, &["get", "deployment", "coco", "-o", "json"]).await)
            .unwrap();
    assert_eq!(
        deploy["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "2"
    );

    let scaled = ok(&fake, &["scale", "deployment/coco", "--replicas=3"]).await;
    assert!(scaled.contains("deployment.apps/coco scaled"), "{scaled}");
    ok(
        &fake,
        &["rollout", "status", "deployment/coco", "--timeout=20s"],
    )
    .await;
    assert_eq!(pods_of(&fake, "coco").len(), 3);

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("coco.yaml");
    std::fs::write(&file, deployment("coco", image, "")).unwrap();
    let conflict = kubectl(
        &fake,
        &["apply", "--server-side", "-f", file.to_str().unwrap()],
    )
    .await;
    assert!(!conflict.ok);
    assert!(
        conflict.stderr.contains(
            "conflict with \"kubectl\" with subresource \"scale\" using apps/v1: .spec.replicas"
        ),
        "{}",
        conflict.stderr
    );
    ok(
        &fake,
        &[
            "apply",
            "--server-side",
            "--force-conflicts",
            "-f",
            file.to_str().unwrap(),
        ],
    )
    .await;
    wait_until("scaled back to one pod", || {
        pods_of(&fake, "coco").len() == 1
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_statefulset_pod_never_yields_two_pods_but_a_deployment_pod_does() {
    let fake = start().await;
    let image = pushed_image();
    apply(
        &fake,
        &format!(
            "{}---\n{}",
            statefulset("dd", image),
            deployment("tt", image, "  strategy: {type: Recreate}\n")
        ),
    )
    .await;
    ok(
        &fake,
        &["rollout", "status", "statefulset/dd", "--timeout=20s"],
    )
    .await;
    ok(
        &fake,
        &["rollout", "status", "deployment/tt", "--timeout=20s"],
    )
    .await;
    let old_uid = fake.get("pods", "default", "dd-0").unwrap()["metadata"]["uid"].clone();

    let mut changes = fake.changes();
    let deleted = ok(&fake, &["delete", "pod", "dd-0"]).await;
    assert!(deleted.contains("pod \"dd-0\" deleted"), "{deleted}");
    let mut live = std::collections::BTreeMap::new();
    let mut most = 0;
    let mut saw_terminating = false;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (kind, resource, pod) = tokio::time::timeout_at(deadline.into(), changes.recv())
            .await
            .expect("the replacement came")
            .unwrap();
        if resource != "pods" || pod["metadata"]["labels"]["app"] != "dd" {
            continue;
        }
        let uid = pod["metadata"]["uid"].as_str().unwrap().to_string();
        saw_terminating |= pod["metadata"]["deletionTimestamp"].is_string();
        if kind == "DELETED" {
            live.remove(&uid);
        } else {
            live.insert(uid, pod.clone());
        }
        most = most.max(live.len());
        if pod["metadata"]["uid"] != old_uid && kind != "DELETED" && fake_ready(&pod) {
            break;
        }
    }
    assert!(saw_terminating, "the old pod went through Terminating");
    assert_eq!(most, 1, "a StatefulSet never runs two pods of one ordinal");

    // The story's bug: a Deployment replaces a deleted pod at once, even with Recreate.
    let mut changes = fake.changes();
    let name = pods_of(&fake, "tt")[0]["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    ok(&fake, &["delete", "pod", &name, "--wait=false"]).await;
    let mut overlap = false;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !overlap && Instant::now() < deadline {
        let _ = tokio::time::timeout(Duration::from_millis(100), changes.recv()).await;
        overlap = pods_of(&fake, "tt").len() == 2;
    }
    assert!(overlap, "two tt pods existed at once");
}

fn fake_ready(pod: &Value) -> bool {
    pod["status"]["conditions"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_cascades_to_replicasets_pods_and_revisions() {
    let fake = start().await;
    let image = pushed_image();
    apply(
        &fake,
        &format!(
            "{}---\n{}",
            statefulset("dd", image),
            deployment("coco", image, "")
        ),
    )
    .await;
    ok(
        &fake,
        &["rollout", "status", "deployment/coco", "--timeout=20s"],
    )
    .await;
    ok(
        &fake,
        &["rollout", "status", "statefulset/dd", "--timeout=20s"],
    )
    .await;
    assert_eq!(fake.list("replicasets", Some("default")).len(), 1);
    let out = ok(&fake, &["delete", "deployment/coco", "statefulset/dd"]).await;
    assert!(out.contains("deployment.apps \"coco\" deleted"), "{out}");
    wait_until("dependents collected", || {
        fake.list("pods", Some("default")).is_empty()
            && fake.list("replicasets", Some("default")).is_empty()
            && fake.list("controllerrevisions", Some("default")).is_empty()
    })
    .await;
    let none = kubectl(&fake, &["get", "deployment", "coco"]).await;
    assert!(
        none.stderr
            .contains("Error from server (NotFound): deployments.apps \"coco\" not found"),
        "{}",
        none.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_secret_names_are_refused_with_the_real_message() {
    let fake = start().await;
    let out = kubectl(
        &fake,
        &[
            "create",
            "secret",
            "generic",
            "dd_token",
            "--from-literal=bot-token=x",
        ],
    )
    .await;
    assert!(!out.ok);
    assert!(out.stderr.contains(
        "Secret \"dd_token\" is invalid: metadata.name: Invalid value: \"dd_token\": a lowercase RFC 1123 \
         subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end \
         with an alphanumeric character (e.g. 'example.com', regex used for validation is \
         '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"), "{}", out.stderr);
    assert!(fake.list("secrets", Some("default")).is_empty());
    let created = ok(
        &fake,
        &[
            "create",
            "secret",
            "generic",
            "dd-token",
            "--from-literal=bot-token=x",
        ],
    )
    .await;
    assert!(created.contains("secret/dd-token created"), "{created}");
    let again = kubectl(
        &fake,
        &[
            "create",
            "secret",
            "generic",
            "dd-token",
            "--from-literal=bot-token=x",
        ],
    )
    .await;
    assert!(
        again.stderr.contains("secrets \"dd-token\" already exists"),
        "{}",
        again.stderr
    );
    assert_eq!(fake.count("create", "secrets"), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_secrets_keep_pods_from_starting_with_the_real_messages() {
    let fake = start().await;
    let image = pushed_image();
    let with_volume = statefulset("dd", image).replace(
        "      containers:\n",
        "      volumes:\n      - name: token\n        secret: {secretName: dd-token}\n      containers:\n",
    );
    let with_env = statefulset("tt", image).replace(
        &format!("        image: {image}\n"),
        &format!("        image: {image}\n        env:\n        - name: TOKEN\n          valueFrom:\n            secretKeyRef: {{name: tt-token, key: bot-token}}\n"),
    );
    apply(&fake, &format!("{with_volume}---\n{with_env}")).await;
    wait_until("the mount failure is reported", || {
        fake.list("events", Some("default"))
            .iter()
            .any(|e| e["reason"] == "FailedMount")
    })
    .await;
    let events = ok(&fake, &["get", "events"]).await;
    assert!(
        events.contains(
            "MountVolume.SetUp failed for volume \"token\" : secret \"dd-token\" not found"
        ),
        "{events}"
    );
    wait_until("tt reports its config error", || {
        fake.get("pods", "default", "tt-0").is_some_and(|p| {
            p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"]
                == "CreateContainerConfigError"
        })
    })
    .await;
    let pods = ok(&fake, &["get", "pods"]).await;
    assert!(pods.contains("ContainerCreating"), "{pods}");
    assert!(pods.contains("CreateContainerConfigError"), "{pods}");
    let tt: Value =
        serde_json::from_str(&ok(&fake, &["get", "pod", "tt-0", "-o", "json"]).await).unwrap();
    assert_eq!(
        tt["status"]["containerStatuses"][0]["state"]["waiting"]["message"],
        "secret \"tt-token\" not found"
    );

    apply(&fake, SECRET).await;
    ok(
        &fake,
        &["rollout", "status", "statefulset/dd", "--timeout=20s"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_statefulset_pod_blocks_the_rollback_until_it_is_deleted() {
    let fake = start().await;
    let image = pushed_image();
    apply(&fake, &statefulset("dd", image)).await;
    ok(
        &fake,
        &["rollout", "status", "statefulset/dd", "--timeout=20s"],
    )
    .await;
    apply(&fake, &statefulset("dd", &missing_image())).await;
    wait_until("dd-0 runs the broken revision", || {
        fake.get("pods", "default", "dd-0").is_some_and(|p| {
            p["spec"]["containers"][0]["image"] == missing_image().as_str()
                && p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"]
                    .as_str()
                    .is_some_and(|r| r.contains("Image"))
        })
    })
    .await;
    // Reverting the template is not enough: the controller waits for the broken pod.
    apply(&fake, &statefulset("dd", image)).await;
    let stuck = kubectl(
        &fake,
        &["rollout", "status", "statefulset/dd", "--timeout=2s"],
    )
    .await;
    assert!(!stuck.ok, "{}", stuck.stdout);
    let pod = fake.get("pods", "default", "dd-0").unwrap();
    assert_eq!(
        pod["spec"]["containers"][0]["image"],
        missing_image().as_str(),
        "still the broken pod"
    );
    // The documented forced rollback: delete the broken pod.
    ok(&fake, &["delete", "pod", "dd-0"]).await;
    ok(
        &fake,
        &["rollout", "status", "statefulset/dd", "--timeout=20s"],
    )
    .await;
    let pod = fake.get("pods", "default", "dd-0").unwrap();
    assert_eq!(pod["spec"]["containers"][0]["image"], image);
}

/// The largest number of pods of `app` that existed at once while `action` ran and until the
/// rollout settled, and whether a Terminating pod overlapped a Ready one.
async fn watch_rollout(
    fake: &FakeKube,
    app: &str,
    action: impl std::future::Future<Output = ()>,
) -> (usize, bool) {
    let mut changes = fake.changes();
    action.await;
    let mut live = std::collections::BTreeMap::new();
    let (mut most, mut overlap) = (0, false);
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let Ok(Some((kind, resource, pod))) =
            tokio::time::timeout(Duration::from_millis(800), changes.recv()).await
        else {
            break;
        };
        if resource != "pods" || pod["metadata"]["labels"]["app"] != app {
            continue;
        }
        let uid = pod["metadata"]["uid"].as_str().unwrap().to_string();
        if kind == "DELETED" {
            live.remove(&uid);
        } else {
            live.insert(uid, pod);
        }
        most = most.max(live.len());
        let terminating = live
            .values()
            .any(|p| p["metadata"]["deletionTimestamp"].is_string());
        let ready = live
            .values()
            .any(|p| p["metadata"]["deletionTimestamp"].is_null() && fake_ready(p));
        overlap |= terminating && ready;
    }
    (most, overlap)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_update_overlaps_old_and_new_pods_recreate_does_not() {
    let fake = start().await;
    let image = pushed_image();
    apply(
        &fake,
        &format!(
            "{}---\n{}",
            deployment("coco", image, ""),
            deployment("tt", image, "  strategy: {type: Recreate}\n")
        ),
    )
    .await;
    ok(
        &fake,
        &["rollout", "status", "deployment/coco", "--timeout=20s"],
    )
    .await;
    ok(
        &fake,
        &["rollout", "status", "deployment/tt", "--timeout=20s"],
    )
    .await;

    let (most, overlap) = watch_rollout(&fake, "coco", async {
        ok(&fake, &["rollout", "restart", "deployment/coco"]).await;
    })
    .await;
    assert_eq!(most, 2);
    assert!(
        overlap,
        "the old coco pod was Terminating while the new one was Ready: two bots answered"
    );

    let (most, overlap) = watch_rollout(&fake, "tt", async {
        ok(&fake, &["rollout", "restart", "deployment/tt"]).await;
    })
    .await;
    assert_eq!(most, 1, "Recreate waits until the old pod is gone");
    assert!(!overlap);
    ok(
        &fake,
        &["rollout", "status", "deployment/tt", "--timeout=20s"],
    )
    .await;
}
