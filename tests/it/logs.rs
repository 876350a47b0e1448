//! `catctl logs` end to end: the real binary against the fake API server (pods scripted to print
//! lines, crash, be replaced), and `--local` against the real Docker daemon.

use std::time::Duration;

use fake_kube::PodScript;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{DeleteParams, LogParams};
use serde_json::{Value, json};

use crate::common::{Farm, wait_until};

/// A farm with these cats (`cat.toml` text after `version`) and a fake cluster, nothing
/// deployed yet.
fn farm_with(cats: &[(&str, &str)]) -> Farm {
    cats.iter()
        .fold(Farm::new().with_cluster(), |farm, (cat, extra)| {
            farm.cat(cat, extra)
        })
}

/// Applies the cat's workload as catctl renders it (and its Secret), as `deploy` would.
fn deploy(farm: &Farm, cat: &str) {
    let catalog =
        catctl::farm::Farm::discover(&catctl::settings::Overrides::default(), farm.path()).unwrap();
    let cat = catalog.cat(cat).unwrap();
    let input = catctl::manifest::RenderInput {
        namespace: "default".into(),
        image: catctl::image::ImageRef::parse(&format!(
            "gcr.io/cream-heros/{}:v1@sha256:{}",
            cat.name,
            "ab".repeat(32)
        ))
        .unwrap(),
        secret_checksum: "0".into(),
        restarted_at: None,
        change_cause: "test".into(),
    };
    let rendered = catctl::manifest::render(&catalog, &cat, &input).unwrap();
    let secret = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": format!("{}-token", cat.name), "namespace": "default"},
        "data": {"token": "eA=="}});
    farm.cluster().insert(secret).unwrap();
    farm.cluster().insert(rendered.object).unwrap();
}

/// Waits until `check` holds for the running pods of `cat`.
fn wait_for(farm: &Farm, cat: &str, what: &str, check: impl Fn(&[&Value]) -> bool) {
    let fake = farm.cluster();
    let ok = fake.block_on(
        fake.wait_for_pods("default", Duration::from_secs(20), |pods| {
            let of_cat: Vec<&Value> = pods
                .iter()
                .filter(|p| p["metadata"]["labels"]["app"] == cat)
                .collect();
            check(&of_cat)
        }),
    );
    assert!(
        ok,
        "{cat}: {what} within 20 s: {:#?}",
        fake.list("pods", Some("default"))
    );
}

/// Waits until `cat` has `n` pods whose container runs.
fn wait_running(farm: &Farm, cat: &str, n: usize) {
    wait_for(farm, cat, &format!("{n} running pods"), |pods| {
        pods.len() == n && pods.iter().all(|p| running(p))
    });
}

/// The pods API of the fake cluster, through a kube client of the test's own.
fn pods_api(farm: &Farm) -> kube::Api<Pod> {
    let fake = farm.cluster();
    fake.block_on(async {
        let config = kube::Config::from_custom_kubeconfig(
            kube::config::Kubeconfig::read_from(fake.kubeconfig()).unwrap(),
            &kube::config::KubeConfigOptions::default(),
        )
        .await
        .unwrap();
        let client = kube::Client::try_from(config).unwrap();
        kube::Api::namespaced(client, "default")
    })
}

fn delete_pod(farm: &Farm, name: &str) {
    let pods = pods_api(farm);
    farm.cluster().block_on(async {
        pods.delete(name, &DeleteParams::default()).await.unwrap();
    });
}

/// Waits until the pod's log, as the fake API server serves it, has a line `line`.
fn wait_for_log_line(farm: &Farm, pod: &str, line: &str) {
    let pods = pods_api(farm);
    wait_until(
        &format!("{pod} to log {line:?}"),
        Duration::from_secs(20),
        || {
            farm.cluster()
                .block_on(pods.logs(pod, &LogParams::default()))
                .is_ok_and(|log| log.lines().any(|l| l == line))
        },
    );
}

fn running(pod: &Value) -> bool {
    pod["status"]["containerStatuses"]
        .as_array()
        .is_some_and(|l| l.iter().all(|s| s["state"]["running"].is_object()))
}

fn restarts(pod: &Value) -> i64 {
    pod["status"]["containerStatuses"][0]["restartCount"]
        .as_i64()
        .unwrap_or(0)
}

#[test]
fn two_cats_lines_are_merged_with_their_tags() {
    let farm = farm_with(&[
        ("dd", ""),
        ("coco", "several_copies = true\nreplicas = 2\n"),
    ]);
    farm.cluster().script(
        "dd",
        PodScript::healthy().log(["dd says hello", "dd says bye"]),
    );
    farm.cluster()
        .script("coco", PodScript::healthy().log(["coco purrs"]));
    deploy(&farm, "dd");
    deploy(&farm, "coco");
    wait_running(&farm, "dd", 1);
    wait_running(&farm, "coco", 2);

    let stdout = farm.run(["logs", "dd", "coco"]).ok().stdout();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    // Tags padded to the widest (`coco/xxxxx`), the cats in the order named.
    assert_eq!(lines[0], "dd-0       dd says hello");
    assert_eq!(lines[1], "dd-0       dd says bye");
    for line in &lines[2..] {
        let (tag, text) = line.split_once(' ').unwrap();
        assert!(
            tag.starts_with("coco/") && tag.len() == "coco/7f9c2".len(),
            "{line}"
        );
        assert_eq!(text.trim_start(), "coco purrs", "{line}");
    }
    assert_ne!(lines[2], lines[3], "two different coco pods: {stdout}");

    // --all is every cat; colours only when asked, a cat's colour the same every time.
    let all_out = farm.run(["logs", "--all", "--color", "always"]).stdout();
    assert_eq!(all_out.lines().count(), 4, "{all_out}");
    let dd_tag = all_out
        .lines()
        .find(|l| l.contains("dd says hello"))
        .unwrap();
    assert!(
        dd_tag.starts_with("\x1b[") && dd_tag.contains("dd-0"),
        "{dd_tag:?}"
    );
    let again = farm.run(["logs", "dd", "--color", "always"]);
    assert!(
        again
            .stdout()
            .starts_with(&dd_tag[..dd_tag.find('m').unwrap() + 1])
    );
}

#[test]
fn lines_as_json_items_with_their_cat_and_source() {
    let farm = farm_with(&[("dd", "")]);
    farm.cluster().script(
        "dd",
        PodScript::healthy().log(["dd says hello", "dd says bye"]),
    );
    deploy(&farm, "dd");
    wait_running(&farm, "dd", 1);
    let items = farm.run(["logs", "dd", "-o", "json"]).ok().items();
    assert_eq!(
        items,
        json!([
            {"cat": "dd", "source": "dd-0", "line": "dd says hello"},
            {"cat": "dd", "source": "dd-0", "line": "dd says bye"},
        ])
    );
    let refused = farm.run(["logs", "dd", "-f", "-o", "json"]).fails();
    refused.stderr_has("`catctl logs -f` cannot print -o json");
}

#[test]
fn tail_and_since_are_honoured() {
    let farm = farm_with(&[("dd", "")]);
    farm.cluster().script(
        "dd",
        PodScript::healthy()
            .log(["boot 1", "boot 2", "boot 3", "boot 4", "boot 5"])
            .every(Duration::from_millis(400), "tick {n}"),
    );
    deploy(&farm, "dd");
    wait_running(&farm, "dd", 1);
    // Six ticks mean 2.4 s since the boot lines: they are then older than `--since 1s`.
    wait_for_log_line(&farm, "dd-0", "tick 6");

    let tail_out = farm.run(["logs", "dd", "--tail", "2"]).ok().stdout();
    assert_eq!(tail_out.lines().count(), 2, "{tail_out}");
    assert!(
        tail_out.lines().all(|l| l.starts_with("dd-0 tick ")),
        "{tail_out}"
    );

    let since_out = farm.run(["logs", "dd", "--since", "1s"]).stdout();
    assert!(
        !since_out.contains("boot"),
        "lines older than 1 s: {since_out}"
    );
    let ticks = since_out
        .lines()
        .filter(|l| l.starts_with("dd-0 tick "))
        .count();
    let all_ticks = since_out.lines().last().unwrap_or_default();
    let newest: usize = all_ticks.rsplit(' ').next().unwrap().parse().unwrap();
    // Six ticks or more were written; those of the last second only.
    assert!(ticks >= 1 && ticks < newest, "{since_out}");

    let everything = farm.run(["logs", "dd", "--timestamps"]).stdout();
    assert!(everything.lines().count() >= 5 + 5, "{everything}");
    let first = everything.lines().next().unwrap();
    let stamp = first
        .strip_prefix("dd-0 ")
        .unwrap()
        .split(' ')
        .next()
        .unwrap();
    assert!(stamp.parse::<jiff::Timestamp>().is_ok(), "{first}");
}

#[test]
fn follow_survives_a_pod_replacement() {
    let farm = farm_with(&[("dd", "")]);
    farm.cluster().script(
        "dd",
        PodScript::healthy()
            .log(["first life"])
            .every(Duration::from_millis(100), "old {n}"),
    );
    deploy(&farm, "dd");
    wait_running(&farm, "dd", 1);
    let old_uid = farm.cluster().get("pods", "default", "dd-0").unwrap()["metadata"]["uid"].clone();

    let mut logs = farm.spawn(["logs", "dd", "-f"]);
    let first = logs.until(Duration::from_secs(20), |l| l == "dd-0 first life");
    logs.until(Duration::from_secs(5), |l| l == "dd-0 old 3");

    farm.cluster().script(
        "dd",
        PodScript::healthy()
            .log(["second life"])
            .every(Duration::from_millis(100), "new {n}"),
    );
    delete_pod(&farm, "dd-0");
    wait_for(&farm, "dd", "a new pod dd-0", |pods| {
        pods.iter()
            .any(|p| p["metadata"]["uid"] != old_uid && running(p))
    });
    let marker = logs.until(Duration::from_secs(20), |l| l.starts_with("--- dd:"));
    let second = logs.until(Duration::from_secs(10), |l| l == "dd-0 second life");
    logs.until(Duration::from_secs(5), |l| l == "dd-0 new 2");
    assert!(first < marker && marker < second, "{:#?}", logs.seen);
    assert_eq!(logs.seen[marker], "--- dd: dd-0 replaced by new pod dd-0");
    // Every line of the old pod came before the marker, none after.
    assert!(
        logs.seen[marker..].iter().all(|l| !l.contains("old")),
        "{:#?}",
        logs.seen
    );
    assert!(logs.running(), "-f must not end with its first pod");
}

#[test]
fn follow_waits_for_a_cat_deployed_later_and_ends_on_ctrl_c_with_130() {
    let farm = farm_with(&[("dd", ""), ("tt", "")]);
    deploy(&farm, "dd");
    wait_running(&farm, "dd", 1);
    let mut logs = farm.spawn(["logs", "dd", "tt", "-f"]);
    logs.until(Duration::from_secs(20), |l| l.starts_with("dd-0 "));
    farm.cluster()
        .script("tt", PodScript::healthy().log(["tt is here"]));
    deploy(&farm, "tt");
    let marker = logs.until(Duration::from_secs(20), |l| l == "--- tt: new pod tt-0");
    let line = logs.until(Duration::from_secs(20), |l| l == "tt-0 tt is here");
    assert!(marker < line);
    logs.interrupt();
    let status = logs.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(130));
    let stderr = logs.take_stderr();
    assert!(
        stderr.contains("tt is not deployed (namespace default) — waiting for its pods"),
        "{stderr}"
    );
}

#[test]
fn follow_reads_each_run_of_a_crash_looping_container() {
    let farm = farm_with(&[("lala", "")]);
    farm.cluster().script(
        "lala",
        PodScript::crash_loop(["Error: Specify $LALA_TOKEN in environment"]),
    );
    deploy(&farm, "lala");
    let mut logs = farm.spawn(["logs", "lala", "-f"]);
    logs.until(Duration::from_secs(20), |l| {
        l == "lala-0 Error: Specify $LALA_TOKEN in environment"
    });
    let restart = logs.until(Duration::from_secs(20), |l| {
        l.starts_with("--- lala: lala-0 restarted")
    });
    let again = logs.until(Duration::from_secs(20), |l| {
        l == "lala-0 Error: Specify $LALA_TOKEN in environment"
    });
    assert_eq!(again, restart + 1, "{:#?}", logs.seen);
}

#[test]
fn previous_shows_why_a_cat_crashed_and_notes_pods_that_never_restarted() {
    let farm = farm_with(&[("lala", ""), ("dd", "")]);
    farm.cluster().script(
        "lala",
        PodScript::crash_loop(["Error: Specify $LALA_TOKEN in environment"]),
    );
    deploy(&farm, "lala");
    deploy(&farm, "dd");
    wait_running(&farm, "dd", 1);
    wait_for(&farm, "lala", "two restarts", |pods| {
        pods.len() == 1 && restarts(pods[0]) >= 2
    });

    let output = farm.run(["logs", "lala", "dd", "--previous"]).ok();
    let stderr = output.stderr();
    assert_eq!(
        output.stdout(),
        "lala-0 Error: Specify $LALA_TOKEN in environment\n",
        "{stderr}"
    );
    assert_eq!(
        stderr.trim(),
        "dd-0: no previous container — it has not restarted"
    );
}

#[test]
fn a_cat_without_pods_says_why() {
    let farm = farm_with(&[("tt", ""), ("mimi", "replicas = 0\n"), ("dd", "")]);
    deploy(&farm, "mimi");
    deploy(&farm, "dd");
    wait_running(&farm, "dd", 1);

    let output = farm.run(["logs", "tt"]).code(1);
    assert_eq!(output.stdout(), "");
    assert_eq!(
        output.stderr().trim(),
        "tt is not deployed (namespace default)"
    );

    let output = farm.run(["logs", "mimi", "dd"]).ok();
    assert_eq!(
        output.stderr().trim(),
        "mimi is asleep (its StatefulSet has 0 replicas)"
    );
    assert!(output.stdout().starts_with("dd-0 "), "{output}");

    farm.run(["logs", "nosuchcat"])
        .code(1)
        .stderr_has("no cat named 'nosuchcat'");
}

#[test]
fn piping_into_head_ends_quietly() {
    let farm = farm_with(&[
        ("dd", ""),
        ("coco", "several_copies = true\nreplicas = 2\n"),
    ]);
    for cat in ["dd", "coco"] {
        farm.cluster().script(
            cat,
            PodScript::healthy().every(Duration::from_millis(20), "line {n}"),
        );
        deploy(&farm, cat);
    }
    wait_running(&farm, "dd", 1);
    wait_running(&farm, "coco", 2);
    let dir = tempfile::tempdir().unwrap();
    let status_file = dir.path().join("status");
    let script = "{ \"$CATCTL\" logs --all -f 2>\"$ERR\"; echo $? >\"$STATUS\"; } | head -5";
    let mut pipeline = farm
        .shell(script)
        .env("STATUS", &status_file)
        .env("ERR", dir.path().join("stderr"))
        .spawn();
    pipeline.wait_exit(Duration::from_secs(30));
    let stdout = pipeline.rest();
    assert_eq!(stdout.len(), 5, "{stdout:#?}");
    let stderr = std::fs::read_to_string(dir.path().join("stderr")).unwrap();
    assert_eq!(stderr, "", "catctl said something on a closed pipe");
    let status = std::fs::read_to_string(&status_file).unwrap();
    assert_eq!(status.trim(), "0", "catctl's exit status");
}

#[test]
fn local_reads_the_container_up_started() {
    let cat = format!("loglocal{}", std::process::id());
    let farm = Farm::new().with_services().cat(&cat, "");
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(&farm.services().busybox, dir.path().join("busybox")).unwrap();
    std::fs::write(
        dir.path().join("Dockerfile"),
        "FROM scratch\nCOPY busybox /bin/busybox\nCMD [\"/bin/busybox\", \"sh\", \"-c\", \
         \"echo local one; echo local two >&2; echo local three; exec /bin/busybox sleep 600\"]\n",
    )
    .unwrap();
    let image = format!("catctl-logs-test:{}", std::process::id());
    let container = format!("catctl-{cat}");
    farm.docker(&["build", "-q", "-t", &image, dir.path().to_str().unwrap()]);
    farm.docker_output(&["rm", "-f", &container]);
    struct Cleanup<'a>(&'a Farm, String);
    impl Drop for Cleanup<'_> {
        fn drop(&mut self) {
            self.0.docker_output(&["rm", "-f", &self.1]);
        }
    }
    let _cleanup = Cleanup(&farm, container.clone());
    farm.docker(&[
        "run",
        "-d",
        "--name",
        &container,
        "--network",
        "none",
        &image,
    ]);

    // The container prints its three lines as it starts: wait until catctl shows them.
    let mut last = None;
    wait_until(
        "three lines from logs --local",
        Duration::from_secs(10),
        || {
            let run = farm.run(["logs", &cat, "--local"]);
            let done = run.stdout().lines().count() >= 3;
            last = Some(run);
            done
        },
    );
    let stdout = last.unwrap().ok().stdout();
    let mut lines: Vec<&str> = stdout.lines().collect();
    lines.sort();
    let expected: Vec<String> = ["local one", "local three", "local two"]
        .iter()
        .map(|l| format!("{cat} {l}"))
        .collect();
    assert_eq!(lines, expected, "{stdout}");

    let tail = farm
        .run(["logs", &cat, "--local", "--tail", "1", "--timestamps"])
        .stdout();
    assert_eq!(tail.lines().count(), 1, "{tail}");
    let stamp = tail.split(' ').nth(1).unwrap();
    assert!(stamp.parse::<jiff::Timestamp>().is_ok(), "{tail}");

    // Followed, a restarted container is picked up again, without repeating its old lines.
    let mut follow = farm.spawn(["logs", &cat, "--local", "-f"]);
    let three = format!("{cat} local three");
    follow.until(Duration::from_secs(20), |l| l == three);
    farm.docker(&["restart", "-t", "0", &container]);
    let restarted = format!("--- {cat}: container {container} restarted");
    let marker = follow.until(Duration::from_secs(20), |l| l == restarted);
    assert_eq!(marker, 3, "{:#?}", follow.seen);
    for _ in 0..3 {
        follow.until(Duration::from_secs(20), |_| true);
    }
    let mut after: Vec<&str> = follow.seen[4..].iter().map(String::as_str).collect();
    after.sort();
    assert_eq!(after, expected, "{:#?}", follow.seen);
    // Nothing more may come: a quiet half second is the only way to see an absence.
    assert!(
        follow.next_within(Duration::from_millis(500)).is_none(),
        "lines repeated: {:#?}",
        follow.seen
    );

    let other = format!("{cat}x");
    farm.write(&format!("cats/{other}/cat.toml"), "version = \"v1\"\n");
    farm.run(["logs", &other, "--local"])
        .code(1)
        .stderr_has(&format!(
            "{other} is not running locally (no container catctl-{other})"
        ));
}
