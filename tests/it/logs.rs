//! `catctl logs` end to end: the real binary against the fake API server (pods scripted to print
//! lines, crash, be replaced), and `--local` against the real Docker daemon.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command as StdCommand, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use fake_kube::PodScript;
use k8s_openapi::api::core::v1::Pod;
use kube::api::DeleteParams;
use serde_json::{Value, json};

use crate::cluster::Cluster;
use crate::common::{TestFarm, stderr_of, stdout_of};
use crate::services::services;

/// A farm and a fake cluster to deploy its cats into.
struct LogFarm {
    fake: Cluster,
    farm: TestFarm,
}

impl LogFarm {
    /// A farm with these cats (`cat.toml` text after `version`), nothing deployed yet.
    fn new(cats: &[(&str, &str)]) -> LogFarm {
        let fake = Cluster::start();
        let farm = TestFarm::new();
        for (cat, extra) in cats {
            farm.write(
                &format!("cats/{cat}/cat.toml"),
                &format!("version = \"v1\"\n{extra}"),
            );
        }
        LogFarm { fake, farm }
    }

    /// Applies the cat's workload as catctl renders it (and its Secret), as `deploy` would.
    fn deploy(&self, cat: &str) {
        let farm =
            catctl::farm::Farm::discover(&catctl::settings::Overrides::default(), self.farm.path())
                .unwrap();
        let cat = farm.cat(cat).unwrap();
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
        let rendered = catctl::manifest::render(&farm, &cat, &input).unwrap();
        let secret = json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": format!("{}-token", cat.name), "namespace": "default"},
            "data": {"token": "eA=="}});
        self.fake.insert(secret).unwrap();
        self.fake.insert(rendered.object).unwrap();
    }

    /// Waits until `check` holds for the running pods of `cat`.
    fn wait_for(&self, cat: &str, what: &str, check: impl Fn(&[&Value]) -> bool) {
        let ok = self.fake.block_on(self.fake.wait_for_pods(
            "default",
            Duration::from_secs(20),
            |pods| {
                let of_cat: Vec<&Value> = pods
                    .iter()
                    .filter(|p| p["metadata"]["labels"]["app"] == cat)
                    .collect();
                check(&of_cat)
            },
        ));
        assert!(
            ok,
            "{cat}: {what} within 20 s: {:#?}",
            self.fake.list("pods", Some("default"))
        );
    }

    /// Waits until `cat` has `n` pods whose container runs.
    fn wait_running(&self, cat: &str, n: usize) {
        self.wait_for(cat, &format!("{n} running pods"), |pods| {
            pods.len() == n && pods.iter().all(|p| running(p))
        });
    }

    fn catctl(&self) -> assert_cmd::Command {
        let mut cmd = self.farm.catctl();
        cmd.env("KUBECONFIG", self.fake.kubeconfig());
        cmd
    }

    /// `catctl ARGS…` as a child whose stdout is read line by line.
    fn spawn(&self, args: &[&str]) -> Running {
        let mut command = StdCommand::new(assert_cmd::cargo::cargo_bin("catctl"));
        command
            .args(args)
            .current_dir(self.farm.path())
            .env("KUBECONFIG", self.fake.kubeconfig());
        Running::start(command)
    }

    fn delete_pod(&self, name: &str) {
        self.fake.block_on(async {
            let config = kube::Config::from_custom_kubeconfig(
                kube::config::Kubeconfig::read_from(self.fake.kubeconfig()).unwrap(),
                &kube::config::KubeConfigOptions::default(),
            )
            .await
            .unwrap();
            let client = kube::Client::try_from(config).unwrap();
            let pods: kube::Api<Pod> = kube::Api::namespaced(client, "default");
            pods.delete(name, &DeleteParams::default()).await.unwrap();
        });
    }
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

/// A `catctl` child process and the stdout lines read from it so far.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    fn start(mut command: StdCommand) -> Running {
        let mut child = command
            .env("NO_COLOR", "1")
            .env_remove("CATCTL_CONFIG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (sender, lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                if sender.send(line.unwrap()).is_err() {
                    break;
                }
            }
        });
        Running {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Reads lines until one satisfies `want`; fails after `timeout` with what was seen.
    fn until(&mut self, timeout: Duration, want: impl Fn(&str) -> bool) -> usize {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line);
                    if want(self.seen.last().unwrap()) {
                        return self.seen.len() - 1;
                    }
                }
                Err(_) => {
                    let _ = self.child.kill();
                    let output = self.child.wait_with_output_ref();
                    panic!(
                        "the line wanted did not come; stdout:\n{}\n{output}",
                        self.seen.join("\n")
                    );
                }
            }
        }
    }
}

trait WaitOutput {
    fn wait_with_output_ref(&mut self) -> String;
}

impl WaitOutput for Child {
    fn wait_with_output_ref(&mut self) -> String {
        let _ = self.wait();
        let mut stderr = String::new();
        if let Some(mut pipe) = self.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
        }
        format!("stderr:\n{stderr}")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn two_cats_lines_are_merged_with_their_tags() {
    let cluster = LogFarm::new(&[
        ("dd", ""),
        ("coco", "several_copies = true\nreplicas = 2\n"),
    ]);
    cluster.fake.script(
        "dd",
        PodScript::healthy().log(["dd says hello", "dd says bye"]),
    );
    cluster
        .fake
        .script("coco", PodScript::healthy().log(["coco purrs"]));
    cluster.deploy("dd");
    cluster.deploy("coco");
    cluster.wait_running("dd", 1);
    cluster.wait_running("coco", 2);

    let output = cluster
        .catctl()
        .args(["logs", "dd", "coco"])
        .output()
        .unwrap();
    let stdout = stdout_of(&output);
    assert!(output.status.success(), "{stdout}{}", stderr_of(&output));
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
    let all = cluster
        .catctl()
        .args(["logs", "--all", "--color", "always"])
        .output()
        .unwrap();
    let all_out = stdout_of(&all);
    assert_eq!(all_out.lines().count(), 4, "{all_out}");
    let dd_tag = all_out
        .lines()
        .find(|l| l.contains("dd says hello"))
        .unwrap();
    assert!(
        dd_tag.starts_with("\x1b[") && dd_tag.contains("dd-0"),
        "{dd_tag:?}"
    );
    let again = cluster
        .catctl()
        .args(["logs", "dd", "--color", "always"])
        .output()
        .unwrap();
    assert!(stdout_of(&again).starts_with(&dd_tag[..dd_tag.find('m').unwrap() + 1]));
}

#[test]
fn tail_and_since_are_honoured() {
    let cluster = LogFarm::new(&[("dd", "")]);
    cluster.fake.script(
        "dd",
        PodScript::healthy()
            .log(["boot 1", "boot 2", "boot 3", "boot 4", "boot 5"])
            .every(Duration::from_millis(400), "tick {n}"),
    );
    cluster.deploy("dd");
    cluster.wait_running("dd", 1);
    std::thread::sleep(Duration::from_millis(2600));

    let tail = cluster
        .catctl()
        .args(["logs", "dd", "--tail", "2"])
        .output()
        .unwrap();
    let tail_out = stdout_of(&tail);
    assert!(tail.status.success(), "{}", stderr_of(&tail));
    assert_eq!(tail_out.lines().count(), 2, "{tail_out}");
    assert!(
        tail_out.lines().all(|l| l.starts_with("dd-0 tick ")),
        "{tail_out}"
    );

    let since = cluster
        .catctl()
        .args(["logs", "dd", "--since", "1s"])
        .output()
        .unwrap();
    let since_out = stdout_of(&since);
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
    // About 6 ticks were written in 2.6 s; those of the last second only.
    assert!(ticks >= 1 && ticks < newest, "{since_out}");

    let everything = cluster
        .catctl()
        .args(["logs", "dd", "--timestamps"])
        .output()
        .unwrap();
    let everything = stdout_of(&everything);
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
    let cluster = LogFarm::new(&[("dd", "")]);
    cluster.fake.script(
        "dd",
        PodScript::healthy()
            .log(["first life"])
            .every(Duration::from_millis(100), "old {n}"),
    );
    cluster.deploy("dd");
    cluster.wait_running("dd", 1);
    let old_uid = cluster.fake.get("pods", "default", "dd-0").unwrap()["metadata"]["uid"].clone();

    let mut logs = cluster.spawn(&["logs", "dd", "-f"]);
    let first = logs.until(Duration::from_secs(20), |l| l == "dd-0 first life");
    logs.until(Duration::from_secs(5), |l| l == "dd-0 old 3");

    cluster.fake.script(
        "dd",
        PodScript::healthy()
            .log(["second life"])
            .every(Duration::from_millis(100), "new {n}"),
    );
    cluster.delete_pod("dd-0");
    cluster.wait_for("dd", "a new pod dd-0", |pods| {
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
    assert!(
        logs.child.try_wait().unwrap().is_none(),
        "-f must not end with its first pod"
    );
}

#[test]
fn follow_waits_for_a_cat_deployed_later_and_ends_on_ctrl_c_with_130() {
    let cluster = LogFarm::new(&[("dd", ""), ("tt", "")]);
    cluster.deploy("dd");
    cluster.wait_running("dd", 1);
    let mut logs = cluster.spawn(&["logs", "dd", "tt", "-f"]);
    logs.until(Duration::from_secs(20), |l| l.starts_with("dd-0 "));
    cluster
        .fake
        .script("tt", PodScript::healthy().log(["tt is here"]));
    cluster.deploy("tt");
    let marker = logs.until(Duration::from_secs(20), |l| l == "--- tt: new pod tt-0");
    let line = logs.until(Duration::from_secs(20), |l| l == "tt-0 tt is here");
    assert!(marker < line);
    let pid = logs.child.id().to_string();
    assert!(
        StdCommand::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = logs.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "catctl logs -f did not end on SIGINT"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(130));
    let stderr = logs.child.wait_with_output_ref();
    assert!(
        stderr.contains("tt is not deployed (namespace default) — waiting for its pods"),
        "{stderr}"
    );
}

#[test]
fn follow_reads_each_run_of_a_crash_looping_container() {
    let cluster = LogFarm::new(&[("lala", "")]);
    cluster.fake.script(
        "lala",
        PodScript::crash_loop(["Error: Specify $LALA_TOKEN in environment"]),
    );
    cluster.deploy("lala");
    let mut logs = cluster.spawn(&["logs", "lala", "-f"]);
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
    let cluster = LogFarm::new(&[("lala", ""), ("dd", "")]);
    cluster.fake.script(
        "lala",
        PodScript::crash_loop(["Error: Specify $LALA_TOKEN in environment"]),
    );
    cluster.deploy("lala");
    cluster.deploy("dd");
    cluster.wait_running("dd", 1);
    cluster.wait_for("lala", "two restarts", |pods| {
        pods.len() == 1 && restarts(pods[0]) >= 2
    });

    let output = cluster
        .catctl()
        .args(["logs", "lala", "dd", "--previous"])
        .output()
        .unwrap();
    let stdout = stdout_of(&output);
    let stderr = stderr_of(&output);
    assert!(output.status.success(), "{stdout}{stderr}");
    assert_eq!(
        stdout, "lala-0 Error: Specify $LALA_TOKEN in environment\n",
        "{stderr}"
    );
    assert_eq!(
        stderr.trim(),
        "dd-0: no previous container — it has not restarted"
    );
}

#[test]
fn a_cat_without_pods_says_why() {
    let cluster = LogFarm::new(&[("tt", ""), ("mimi", "replicas = 0\n"), ("dd", "")]);
    cluster.deploy("mimi");
    cluster.deploy("dd");
    cluster.wait_running("dd", 1);

    let output = cluster.catctl().args(["logs", "tt"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout_of(&output), "");
    assert_eq!(
        stderr_of(&output).trim(),
        "tt is not deployed (namespace default)"
    );

    let output = cluster
        .catctl()
        .args(["logs", "mimi", "dd"])
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(
        stderr_of(&output).trim(),
        "mimi is asleep (its StatefulSet has 0 replicas)"
    );
    assert!(
        stdout_of(&output).starts_with("dd-0 "),
        "{}",
        stdout_of(&output)
    );

    let output = cluster
        .catctl()
        .args(["logs", "nosuchcat"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr_of(&output).contains("no cat named 'nosuchcat'"));
}

#[test]
fn piping_into_head_ends_quietly() {
    let cluster = LogFarm::new(&[
        ("dd", ""),
        ("coco", "several_copies = true\nreplicas = 2\n"),
    ]);
    for cat in ["dd", "coco"] {
        cluster.fake.script(
            cat,
            PodScript::healthy().every(Duration::from_millis(20), "line {n}"),
        );
        cluster.deploy(cat);
    }
    cluster.wait_running("dd", 1);
    cluster.wait_running("coco", 2);
    let dir = tempfile::tempdir().unwrap();
    let status_file = dir.path().join("status");
    let script = "{ \"$CATCTL\" logs --all -f 2>\"$ERR\"; echo $? >\"$STATUS\"; } | head -5";
    let mut child = StdCommand::new("sh")
        .args(["-c", script])
        .current_dir(cluster.farm.path())
        .env("CATCTL", assert_cmd::cargo::cargo_bin("catctl"))
        .env("STATUS", &status_file)
        .env("ERR", dir.path().join("stderr"))
        .env("KUBECONFIG", cluster.fake.kubeconfig())
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("`catctl logs --all -f | head -5` did not end within 30 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        stdout_of(&output).lines().count(),
        5,
        "{}",
        stdout_of(&output)
    );
    let stderr = std::fs::read_to_string(dir.path().join("stderr")).unwrap();
    assert_eq!(stderr, "", "catctl said something on a closed pipe");
    let status = std::fs::read_to_string(&status_file).unwrap();
    assert_eq!(status.trim(), "0", "catctl's exit status");
}

#[test]
fn local_reads_the_container_up_started() {
    let services = services();
    let cat = format!("loglocal{}", std::process::id());
    let farm = TestFarm::new();
    farm.write(&format!("cats/{cat}/cat.toml"), "version = \"v1\"\n");
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(&services.busybox, dir.path().join("busybox")).unwrap();
    std::fs::write(
        dir.path().join("Dockerfile"),
        "FROM scratch\nCOPY busybox /bin/busybox\nCMD [\"/bin/busybox\", \"sh\", \"-c\", \
         \"echo local one; echo local two >&2; echo local three; exec /bin/busybox sleep 600\"]\n",
    )
    .unwrap();
    let docker = |args: &[&str]| {
        let output = StdCommand::new("docker")
            .args(args)
            .env("DOCKER_HOST", &services.docker_host)
            .env("DOCKER_BUILDKIT", "0")
            .output()
            .expect("the docker CLI runs");
        assert!(output.status.success(), "docker {args:?}: {output:?}");
        stdout_of(&output)
    };
    let image = format!("catctl-logs-test:{}", std::process::id());
    let container = format!("catctl-{cat}");
    docker(&["build", "-q", "-t", &image, dir.path().to_str().unwrap()]);
    let _ = StdCommand::new("docker")
        .args(["rm", "-f", &container])
        .env("DOCKER_HOST", &services.docker_host)
        .output();
    struct Cleanup(String, String);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = StdCommand::new("docker")
                .args(["rm", "-f", &self.0])
                .env("DOCKER_HOST", &self.1)
                .output();
        }
    }
    let _cleanup = Cleanup(container.clone(), services.docker_host.clone());
    docker(&[
        "run",
        "-d",
        "--name",
        &container,
        "--network",
        "none",
        &image,
    ]);

    let read = || {
        let mut deadline = 50;
        loop {
            let output = farm
                .catctl()
                .env("DOCKER_HOST", &services.docker_host)
                .args(["logs", &cat, "--local"])
                .output()
                .unwrap();
            let stdout = stdout_of(&output);
            if stdout.lines().count() >= 3 || deadline == 0 {
                assert!(output.status.success(), "{stdout}{}", stderr_of(&output));
                return stdout;
            }
            deadline -= 1;
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let stdout = read();
    let mut lines: Vec<&str> = stdout.lines().collect();
    lines.sort();
    let expected: Vec<String> = ["local one", "local three", "local two"]
        .iter()
        .map(|l| format!("{cat} {l}"))
        .collect();
    assert_eq!(lines, expected, "{stdout}");

    let tail = farm
        .catctl()
        .env("DOCKER_HOST", &services.docker_host)
        .args(["logs", &cat, "--local", "--tail", "1", "--timestamps"])
        .output()
        .unwrap();
    let tail = stdout_of(&tail);
    assert_eq!(tail.lines().count(), 1, "{tail}");
    let stamp = tail.split(' ').nth(1).unwrap();
    assert!(stamp.parse::<jiff::Timestamp>().is_ok(), "{tail}");

    // Followed, a restarted container is picked up again, without repeating its old lines.
    let mut command = StdCommand::new(assert_cmd::cargo::cargo_bin("catctl"));
    command
        .args(["logs", &cat, "--local", "-f"])
        .current_dir(farm.path())
        .env("DOCKER_HOST", &services.docker_host);
    let mut follow = Running::start(command);
    let three = format!("{cat} local three");
    follow.until(Duration::from_secs(20), |l| l == three);
    docker(&["restart", "-t", "0", &container]);
    let restarted = format!("--- {cat}: container {container} restarted");
    let marker = follow.until(Duration::from_secs(20), |l| l == restarted);
    assert_eq!(marker, 3, "{:#?}", follow.seen);
    for _ in 0..3 {
        follow.until(Duration::from_secs(20), |_| true);
    }
    let mut after: Vec<&str> = follow.seen[4..].iter().map(String::as_str).collect();
    after.sort();
    assert_eq!(after, expected, "{:#?}", follow.seen);
    assert!(
        follow
            .lines
            .recv_timeout(Duration::from_millis(500))
            .is_err(),
        "lines repeated: {:#?}",
        follow.seen
    );

    let other = format!("{cat}x");
    farm.write(&format!("cats/{other}/cat.toml"), "version = \"v1\"\n");
    let missing = farm
        .catctl()
        .env("DOCKER_HOST", &services.docker_host)
        .args(["logs", &other, "--local"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr_of(&missing).contains(&format!(
            "{other} is not running locally (no container catctl-{other})"
        )),
        "{}",
        stderr_of(&missing)
    );
}
