//! The fault suite: catctl under a hostile environment — a silent API server, hostile secret
//! files, bad settings — ends in bounded time, says what went wrong, and writes nothing.

use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::{Farm, repo};
use crate::deploy::{DeployFarm, setup};

/// A TCP server that accepts every connection and never answers; lives as long as the value.
struct SilentServer {
    url: String,
    _held: Arc<Mutex<Vec<TcpStream>>>,
}

impl SilentServer {
    fn start() -> SilentServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let held = Arc::new(Mutex::new(Vec::new()));
        let keep = held.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                keep.lock().unwrap().push(stream);
            }
        });
        SilentServer { url, _held: held }
    }

    /// A kubeconfig whose only context, `silent`, points at this server.
    fn kubeconfig(&self, farm: &Farm) -> std::path::PathBuf {
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: silent\n  cluster:\n    server: {}\n\
             contexts:\n- name: silent\n  context:\n    cluster: silent\n    user: silent\n\
             current-context: silent\nusers:\n- name: silent\n  user: {{}}\n",
            self.url
        );
        farm.write("silent.kubeconfig", &text);
        farm.path().join("silent.kubeconfig")
    }
}

/// Each cluster command against a server that accepts and never answers ends within 20 s,
/// naming the server and the context, and not as a rollout timeout.
#[test]
fn a_silent_api_server_is_named_within_bounded_time() {
    let farm = Farm::new().with_services();
    let cat = farm.new_cat("dd");
    farm.run(["build", &cat]).ok();
    farm.run(["push", &cat]).ok();
    farm.write_token(&cat, "xoxb-silent", "xapp-silent");
    let server = SilentServer::start();
    let kubeconfig = server.kubeconfig(&farm);
    let commands: [&[&str]; 5] = [
        &["deploy", "--timeout", "5s", &cat],
        &["status"],
        &["history", &cat],
        &["secret", "list"],
        &["secret", "sync"],
    ];
    for args in commands {
        let started = Instant::now();
        let run = farm.command(args).env("KUBECONFIG", &kubeconfig).run();
        let took = started.elapsed();
        let text = run.text();
        assert!(
            took < Duration::from_secs(20),
            "{args:?} took {took:?}\n{text}"
        );
        assert!(!run.success(), "{args:?} succeeded\n{text}");
        let named = format!("the API server at {}", server.url);
        assert!(
            text.contains(&named) && text.contains("does not answer (context silent)"),
            "{args:?} does not name the silent server\n{text}"
        );
        assert!(!text.contains("not ready after"), "{args:?}\n{text}");
    }
}

/// A pod the StatefulSet cannot create (its ServiceAccount does not exist) fails the deploy
/// at once with the controller's message, not at the timeout.
#[test]
fn a_pod_that_cannot_be_created_fails_the_deploy_fast() {
    let farm = setup();
    let cat = farm.ready_cat("fc");
    let template = std::fs::read_to_string(repo().join("templates/deployment.yaml")).unwrap();
    let template = template.replacen(
        "      automountServiceAccountToken: false\n",
        "      automountServiceAccountToken: false\n      serviceAccountName: missing-sa\n",
        1,
    );
    assert!(template.contains("missing-sa"), "the template changed");
    farm.write(&format!("cats/{cat}/deployment.yaml"), &template);
    let started = Instant::now();
    let run = farm.run(["deploy", &cat, "--timeout", "2m"]);
    let took = started.elapsed();
    let text = run.text();
    assert!(!run.success(), "{text}");
    assert!(
        took < Duration::from_secs(30),
        "not fail-fast: {took:?}\n{text}"
    );
    assert!(text.contains("FailedCreate"), "{text}");
    assert!(
        text.contains("serviceaccount \"missing-sa\" not found"),
        "{text}"
    );
}

/// A farm with cats dd and tt, their tokens, and a fake cluster.
fn tokens_and_cluster() -> Farm {
    crate::secret::with_tokens(
        Farm::new().with_cluster(),
        crate::secret::DD_BOT,
        crate::secret::TT_BOT,
    )
}

/// `catctl secret sync` is refused, ends within 20 s, mentions `needle`, and writes nothing.
#[track_caller]
fn sync_refused_without_writes(farm: &Farm, needle: &str) -> String {
    let started = Instant::now();
    let run = farm.run(["secret", "sync"]);
    let took = started.elapsed();
    let text = run.text();
    assert!(took < Duration::from_secs(20), "took {took:?}\n{text}");
    assert!(!run.success(), "{text}");
    assert!(text.contains(needle), "no {needle:?} in\n{text}");
    let writes = farm.cluster().write_counts();
    assert!(writes.is_empty(), "writes: {writes:?}\n{text}");
    text
}

#[test]
fn a_fifo_in_secret_is_refused_without_hanging() {
    let farm = tokens_and_cluster();
    let fifo = farm.path().join("secret/zz-token");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    sync_refused_without_writes(&farm, "secret/zz-token is not a regular file");
    let started = Instant::now();
    let list = farm.run(["secret", "list"]);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{}",
        list.text()
    );
}

#[test]
fn a_huge_sparse_token_file_is_refused_before_any_write() {
    let farm = tokens_and_cluster();
    let file = std::fs::File::create(farm.path().join("secret/tt-token/bot-token")).unwrap();
    file.set_len(200 * 1024 * 1024).unwrap();
    drop(file);
    farm.make_secrets_private();
    sync_refused_without_writes(&farm, "secret/tt-token/bot-token is larger than 64 KiB");
}

#[test]
fn a_symlink_out_of_secret_is_refused() {
    let farm = tokens_and_cluster();
    let link = farm.path().join("secret/tt-token/bot-token");
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
    sync_refused_without_writes(&farm, "secret/tt-token/bot-token is a symlink out of");
}

#[test]
fn a_token_duplicated_with_a_trailing_newline_is_refused() {
    let farm = tokens_and_cluster();
    farm.secret("tt-token/bot-token", format!("{}\n", crate::secret::DD_BOT));
    let text = sync_refused_without_writes(&farm, "hold the same token");
    assert!(text.contains("once with whitespace around it"), "{text}");
    assert!(!text.contains(crate::secret::DD_BOT), "{text}");
}

/// A bad namespace, in catctl.toml or from -n, is refused naming where it came from, before
/// any request.
#[test]
fn a_bad_namespace_is_refused_before_any_request() {
    let farm = tokens_and_cluster();
    farm.write(
        "catctl.toml",
        "registry = \"127.0.0.1:5000\"\nnamespace = \"Bad_NS\"\n",
    );
    for args in [&["secret", "sync"][..], &["status"], &["deploy", "dd"]] {
        let run = farm.run(args).fails();
        let text = run.text();
        assert!(
            text.contains("checking `namespace` in") && text.contains("catctl.toml"),
            "{args:?}\n{text}"
        );
        assert!(text.contains("namespace 'Bad_NS' is not a valid"), "{text}");
    }
    farm.write("catctl.toml", "registry = \"127.0.0.1:5000\"\n");
    let text = farm.run(["secret", "list", "-n", "a_b"]).fails().text();
    assert!(text.contains("checking -n/--namespace"), "{text}");
    let requests = farm.cluster().requests();
    assert!(requests.is_empty(), "requests: {requests:?}");
}

/// A loopback "Slack" whose every answer is an error echoing every bearer token it was sent
/// so far — the other cats' too, which catctl's Slack client does not know to hide.
fn echoing_slack() -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/api", listener.local_addr().unwrap());
    let mut seen: Vec<String> = Vec::new();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut token = String::new();
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if lower.starts_with("authorization: bearer ") {
                    token = line["authorization: bearer ".len()..].trim().to_string();
                } else if let Some(value) = lower.strip_prefix("content-length: ") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = std::io::Read::read_exact(&mut reader, &mut body);
            seen.push(token);
            let json = format!(
                r#"{{"ok":false,"error":"invalid_auth (tokens seen: {})"}}"#,
                seen.join(" ")
            );
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{json}",
                json.len()
            );
        }
    });
    url
}

/// A Slack answer that echoes the token is printed without it, on stderr and in JSON.
#[test]
fn a_slack_error_echoing_the_token_is_printed_without_it() {
    let farm = crate::secret::farm_with_tokens(crate::secret::DD_BOT, crate::secret::TT_BOT);
    let slack = echoing_slack();
    for args in [
        &["secret", "verify"][..],
        &["secret", "verify", "-o", "json"],
    ] {
        let run = farm
            .command(args)
            .env("CATCTL_SLACK_API_URL", &slack)
            .run()
            .fails();
        let text = run.text();
        assert!(text.contains("[redacted]"), "{args:?}\n{text}");
        for token in [crate::secret::DD_BOT, crate::secret::TT_BOT] {
            assert!(!text.contains(token), "{args:?} shows a token\n{text}");
        }
    }
}

/// `secret sync --prune --dry-run` ends as the real run would: the refusal to prune every
/// Secret (an empty secret/, as in a fresh clone) is said by both, with the same exit code.
#[test]
fn a_prune_dry_run_says_the_real_runs_refusal() {
    let farm = tokens_and_cluster();
    farm.run(["secret", "sync"]).ok();
    farm.remove("secret");
    farm.secret("README.md", "# secret/\n");
    let dry = farm.run(["secret", "sync", "--prune", "--dry-run"]);
    let real = farm.run(["secret", "sync", "--prune"]);
    assert_eq!(dry.exit_code(), Some(1), "{}", dry.text());
    assert_eq!(real.exit_code(), dry.exit_code(), "{}", real.text());
    let refusal = "--prune would delete every Secret catctl manages (dd-token, tt-token)";
    assert!(dry.stderr().contains(refusal), "{}", dry.text());
    assert!(real.stderr().contains(refusal), "{}", real.text());
    assert!(!dry.text().contains("Would prune"), "{}", dry.text());
}

/// Ctrl-C at any moment of `up` replacing a running cat leaves exactly one running container
/// of the cat: the swap under way finishes, a cat not yet at it keeps its old container.
#[test]
fn ctrl_c_during_up_leaves_exactly_one_running_container() {
    let farm = Farm::new().with_services();
    let cat = farm.new_cat("sigint");
    farm.write(&format!("secret/{cat}-token"), "xoxb-sigint-token\n");
    farm.make_secrets_private();
    farm.run(["build", &cat]).ok();
    farm.run(["push", &cat]).ok();
    farm.run(["up", &cat, "--network", "none"]).ok();
    let running = || {
        farm.docker(&["ps", "-q", "--filter", &format!("label=io.catctl.up={cat}")])
            .lines()
            .count()
    };
    assert_eq!(running(), 1);
    for millis in [100, 150, 200, 250, 300, 400, 600] {
        let mut up = farm.spawn(["up", &cat, "--network", "none"]);
        std::thread::sleep(Duration::from_millis(millis));
        up.interrupt();
        let status = up.wait_exit(Duration::from_secs(60));
        let stderr = up.take_stderr();
        assert_eq!(
            running(),
            1,
            "after Ctrl-C at {millis} ms ({status:?}):\n{stderr}"
        );
        let named = farm.docker(&["ps", "-q", "--filter", &format!("name=^/catctl-{cat}$")]);
        assert_eq!(named.lines().count(), 1, "at {millis} ms:\n{stderr}");
    }
    farm.run(["down", &cat]).ok();
}

/// An API server that goes away while a deploy waits on its rollout is named as such within
/// seconds, not reported as a rollout timeout minutes later.
#[test]
fn losing_the_api_server_mid_deploy_is_said_as_such() {
    let farm = Farm::new().with_services();
    let cat = farm.new_cat("lost");
    farm.run(["build", &cat]).ok();
    farm.run(["push", &cat]).ok();
    farm.write_token(&cat, "xoxb-lost-token", "xapp-lost-token");
    let cluster = crate::cluster::Cluster::start();
    let kubeconfig = farm.path().join("lost.kubeconfig");
    std::fs::copy(cluster.kubeconfig(), &kubeconfig).unwrap();
    let with_cluster = |args: &[&str]| farm.command(args).env("KUBECONFIG", &kubeconfig);
    with_cluster(&["secret", "sync"]).run().ok();
    cluster.script(&cat, fake_kube::PodScript::never_ready());
    let mut deploy = with_cluster(&["deploy", &cat, "--timeout", "120s"]).spawn();
    cluster.wait_for("the StatefulSet", Duration::from_secs(60), |c| {
        !c.sts_absent(&cat)
    });
    std::thread::sleep(Duration::from_secs(1));
    let lost_at = Instant::now();
    drop(cluster);
    let status = deploy.wait_exit(Duration::from_secs(60));
    let took = lost_at.elapsed();
    let stderr = deploy.take_stderr();
    let text = format!("{}\n{stderr}", deploy.rest().join("\n"));
    assert!(!status.success(), "{text}");
    assert!(took < Duration::from_secs(40), "took {took:?}\n{text}");
    assert!(text.contains("does not answer (context fake)"), "{text}");
    assert!(!text.contains("not ready after"), "{text}");
}
