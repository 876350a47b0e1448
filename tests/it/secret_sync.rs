//! `catctl secret sync|list` against the fake API server: what is stored, what is written (request
//! counters), what is said, and that no token byte is ever shown.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};

use crate::cluster::Cluster;
use crate::common::Farm;
use crate::secret::{DD_BOT, TT_BOT, farm_with_tokens, with_tokens};
use crate::slack;

const DD_APP: &str = "xapp-dd-app-token";
const TT_APP: &str = "xapp-tt-app-token";

/// A fake cluster and a farm with cats dd and tt and their tokens.
fn farm_and_cluster() -> Farm {
    with_tokens(Farm::new().with_cluster(), DD_BOT, TT_BOT)
}

/// The stored Secret's data, decoded.
fn data_of(cluster: &Cluster, name: &str) -> BTreeMap<String, Vec<u8>> {
    let secret = cluster
        .get("secrets", "default", name)
        .unwrap_or_else(|| panic!("Secret {name} is not in the cluster"));
    secret["data"]
        .as_object()
        .map(|data| {
            data.iter()
                .map(|(k, v)| (k.clone(), BASE64.decode(v.as_str().unwrap()).unwrap()))
                .collect()
        })
        .unwrap_or_default()
}

fn bytes(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
        .collect()
}

fn total_requests(cluster: &Cluster) -> u64 {
    cluster.requests().values().sum()
}

fn secret_names(cluster: &Cluster) -> Vec<String> {
    cluster
        .list("secrets", Some("default"))
        .iter()
        .map(|s| s["metadata"]["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn sync_creates_then_leaves_alone_then_updates() {
    let farm = farm_and_cluster();
    let cluster = farm.cluster();

    let out = farm.run(["secret", "sync"]).ok().text();
    assert!(
        out.contains("Created Secret dd-token [app-token, bot-token]"),
        "{out}"
    );
    assert!(
        out.contains("Created Secret tt-token [app-token, bot-token]"),
        "{out}"
    );
    assert_eq!(
        cluster.count("patch", "secrets"),
        2,
        "{:?}",
        cluster.requests()
    );
    assert_eq!(
        data_of(cluster, "dd-token"),
        bytes(&[("bot-token", DD_BOT), ("app-token", DD_APP)])
    );

    cluster.reset_requests();
    let out = farm.run(["secret", "sync"]).ok().text();
    assert!(out.contains("Unchanged Secret dd-token"), "{out}");
    assert!(out.contains("Unchanged Secret tt-token"), "{out}");
    assert!(
        cluster.write_counts().is_empty(),
        "{:?}",
        cluster.requests()
    );
    assert_eq!(cluster.count("list", "secrets"), 1);

    farm.secret("dd-token/bot-token", "xoxb-dd-rotated");
    cluster.reset_requests();
    let out = farm.run(["secret", "sync"]).ok().text();
    assert!(out.contains("Updated Secret dd-token"), "{out}");
    assert!(out.contains("Unchanged Secret tt-token"), "{out}");
    assert_eq!(
        cluster.write_counts(),
        BTreeMap::from([("patch secrets".to_string(), 1)])
    );
    assert_eq!(
        data_of(cluster, "dd-token"),
        bytes(&[("bot-token", "xoxb-dd-rotated"), ("app-token", DD_APP)])
    );
}

#[test]
fn entries_mean_what_kubectl_from_file_means_and_are_labelled() {
    let farm = farm_and_cluster();
    let cluster = farm.cluster();
    // A hidden file in a directory is not a key; a file entry is one key named after the file;
    // values are the exact bytes, trailing newline and non-UTF-8 included.
    farm.secret("dd-token/.bot-token.swp", "editor junk");
    farm.secret("webhook", "https://hooks.example/T1\n");
    farm.secret("blob", [0xff_u8, 0x00, 0x7f, 0x80]);

    let out = farm.run(["secret", "sync"]).ok().text();
    assert!(out.contains("Created Secret webhook [webhook]"), "{out}");
    assert!(out.contains("secret/webhook ends with a newline"), "{out}");

    assert_eq!(
        data_of(cluster, "dd-token"),
        bytes(&[("bot-token", DD_BOT), ("app-token", DD_APP)])
    );
    assert_eq!(
        data_of(cluster, "webhook"),
        bytes(&[("webhook", "https://hooks.example/T1\n")])
    );
    assert_eq!(
        data_of(cluster, "blob"),
        BTreeMap::from([("blob".to_string(), vec![0xff, 0x00, 0x7f, 0x80])])
    );

    let labels =
        |name: &str| cluster.get("secrets", "default", name).unwrap()["metadata"]["labels"].clone();
    assert_eq!(
        labels("dd-token"),
        json!({"app.kubernetes.io/managed-by": "catctl", "app.kubernetes.io/name": "dd"})
    );
    assert_eq!(
        labels("tt-token"),
        json!({"app.kubernetes.io/managed-by": "catctl", "app.kubernetes.io/name": "tt"})
    );
    // Not `<cat>-token` of an existing cat: managed, but no cat's name.
    assert_eq!(
        labels("webhook"),
        json!({"app.kubernetes.io/managed-by": "catctl"})
    );
    let secret = cluster.get("secrets", "default", "dd-token").unwrap();
    assert_eq!(secret["type"], "Opaque");
    let managers: Vec<&str> = secret["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["manager"].as_str().unwrap())
        .collect();
    assert_eq!(managers, ["catctl"]);
}

#[test]
fn an_underscore_name_is_refused_before_any_request() {
    let farm = farm_and_cluster();
    let cluster = farm.cluster();
    farm.secret("dd_token", "xoxb-dd-other");
    for args in [
        &["secret", "sync"][..],
        &["secret", "sync", "--prune"],
        &["secret", "sync", "--dry-run"],
    ] {
        let output = farm.run(args);
        assert_eq!(output.exit_code(), Some(1), "{output:?}");
        let stderr = output.stderr();
        assert!(
            stderr.contains(
                "secret/dd_token: Kubernetes names cannot contain '_' — rename it to secret/dd-token"
            ),
            "{stderr}"
        );
        assert!(stderr.contains("nothing was written"), "{stderr}");
    }
    assert_eq!(total_requests(cluster), 0, "{:?}", cluster.requests());
}

#[test]
fn duplicate_tokens_are_refused_before_any_request() {
    let farm = farm_and_cluster();
    let cluster = farm.cluster();
    // The same bot token in a directory entry and in a file entry.
    farm.secret("spare-token", DD_BOT);
    let output = farm.run(["secret", "sync"]);
    assert!(!output.success());
    let stderr = output.stderr();
    assert!(
        stderr.contains("dd-token and spare-token hold the same token"),
        "{stderr}"
    );
    assert!(!stderr.contains(DD_BOT), "the token leaked: {stderr}");
    assert_eq!(total_requests(cluster), 0, "{:?}", cluster.requests());
    assert!(secret_names(cluster).is_empty());
}

#[test]
fn prune_deletes_only_managed_secrets_whose_entry_is_gone() {
    let farm = farm_and_cluster();
    let cluster = farm.cluster();
    farm.run(["secret", "sync"]).ok().text();
    cluster
        .insert(json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "registry-creds", "namespace": "default"},
            "data": {"password": BASE64.encode("hunter2")},
        }))
        .unwrap();
    cluster
        .insert(json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "helm-token", "namespace": "default",
                         "labels": {"app.kubernetes.io/managed-by": "Helm"}},
            "data": {"token": BASE64.encode("helm")},
        }))
        .unwrap();
    farm.remove("secret/tt-token");

    // Without --prune a Secret whose entry is gone stays.
    cluster.reset_requests();
    let out = farm.run(["secret", "sync"]).ok().text();
    assert!(!out.contains("tt-token"), "{out}");
    assert!(
        cluster.write_counts().is_empty(),
        "{:?}",
        cluster.requests()
    );

    cluster.reset_requests();
    let out = farm.run(["secret", "sync", "--prune"]).ok().text();
    assert!(out.contains("Pruned Secret tt-token"), "{out}");
    assert!(out.contains("Unchanged Secret dd-token"), "{out}");
    assert!(
        !out.contains("registry-creds") && !out.contains("helm-token"),
        "{out}"
    );
    assert_eq!(
        cluster.write_counts(),
        BTreeMap::from([("delete secrets".to_string(), 1)])
    );
    let mut names = secret_names(cluster);
    names.sort();
    assert_eq!(names, ["dd-token", "helm-token", "registry-creds"]);
}

#[test]
fn dry_run_writes_nothing_and_says_what_would_happen() {
    let farm = farm_and_cluster();
    let cluster = farm.cluster();
    let out = farm.run(["secret", "sync", "--dry-run"]).ok().text();
    assert!(out.contains("Would create Secret dd-token"), "{out}");
    assert!(out.contains("Would create Secret tt-token"), "{out}");
    assert!(out.contains("(dry run)"), "{out}");
    assert!(
        cluster.write_counts().is_empty(),
        "{:?}",
        cluster.requests()
    );
    assert!(secret_names(cluster).is_empty());

    farm.run(["secret", "sync"]).ok().text();
    farm.secret("dd-token/bot-token", "xoxb-dd-rotated");
    farm.secret("coco-token", "xoxb-coco");
    farm.remove("secret/tt-token");
    let before = cluster.list("secrets", Some("default"));

    cluster.reset_requests();
    let out = farm
        .run(["secret", "sync", "--prune", "--dry-run"])
        .ok()
        .text();
    assert!(out.contains("Would update Secret dd-token"), "{out}");
    assert!(out.contains("Would create Secret coco-token"), "{out}");
    assert!(out.contains("Would prune Secret tt-token"), "{out}");
    let output = farm.run(["secret", "sync", "--prune", "--dry-run", "-o", "json"]);
    assert!(output.success());
    let outcomes: Value = output.items();
    let action = |name: &str| {
        outcomes
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["secret"] == name)
            .unwrap_or_else(|| panic!("{name} missing from {outcomes}"))["result"]
            .clone()
    };
    assert_eq!(action("dd-token"), "updated");
    assert_eq!(action("coco-token"), "created");
    assert_eq!(action("tt-token"), "pruned");
    assert!(
        cluster.write_counts().is_empty(),
        "{:?}",
        cluster.requests()
    );
    assert_eq!(cluster.list("secrets", Some("default")), before);
}

#[test]
fn a_key_dropped_from_a_directory_leaves_the_cluster_secret() {
    let farm = farm_and_cluster();
    let cluster = farm.cluster();
    farm.secret("dd-token/signing-secret", "old-signing-secret");
    farm.run(["secret", "sync"]).ok().text();
    assert!(data_of(cluster, "dd-token").contains_key("signing-secret"));

    farm.remove("secret/dd-token/signing-secret");
    let out = farm.run(["secret", "sync"]).ok().text();
    assert!(
        out.contains("Updated Secret dd-token [app-token, bot-token]"),
        "{out}"
    );
    assert_eq!(
        data_of(cluster, "dd-token"),
        bytes(&[("bot-token", DD_BOT), ("app-token", DD_APP)])
    );
    cluster.reset_requests();
    let out = farm.run(["secret", "sync"]).ok().text();
    assert!(out.contains("Unchanged Secret dd-token"), "{out}");
    assert!(
        cluster.write_counts().is_empty(),
        "{:?}",
        cluster.requests()
    );
}

/// `kubectl create secret generic` as secret.sh ran it, against the fake.
fn kubectl_create_secret(farm: &Farm, name: &str) {
    let from = format!(
        "--from-file={}",
        farm.path().join("secret").join(name).display()
    );
    let output = std::process::Command::new("kubectl")
        .args(["create", "secret", "generic", name, &from])
        .env("KUBECONFIG", farm.cluster().kubeconfig())
        .output()
        .expect("kubectl runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn secrets_made_by_kubectl_create_are_taken_over() {
    let farm = farm_and_cluster();
    let cluster = farm.cluster();
    // secret.sh's Secrets: one with the same data, one with an old key since removed locally.
    farm.secret("tt-token/signing-secret", "old-signing-secret");
    kubectl_create_secret(&farm, "dd-token");
    kubectl_create_secret(&farm, "tt-token");
    farm.remove("secret/tt-token/signing-secret");
    let manager = |name: &str| {
        cluster.get("secrets", "default", name).unwrap()["metadata"]["managedFields"][0]["manager"]
            .clone()
    };
    assert_eq!(manager("dd-token"), "kubectl-create");

    let out = farm.run(["secret", "sync"]).ok().text();
    assert!(!out.contains("conflict"), "{out}");
    assert!(out.contains("Updated Secret dd-token"), "{out}");
    assert!(out.contains("Updated Secret tt-token"), "{out}");
    for (name, cat, bot, app) in [
        ("dd-token", "dd", DD_BOT, DD_APP),
        ("tt-token", "tt", TT_BOT, TT_APP),
    ] {
        assert_eq!(
            data_of(cluster, name),
            bytes(&[("bot-token", bot), ("app-token", app)]),
            "{name}"
        );
        let labels = &cluster.get("secrets", "default", name).unwrap()["metadata"]["labels"];
        assert_eq!(labels["app.kubernetes.io/managed-by"], "catctl");
        assert_eq!(labels["app.kubernetes.io/name"], cat);
    }

    cluster.reset_requests();
    let out = farm.run(["secret", "sync"]).ok().text();
    assert!(out.contains("Unchanged Secret dd-token"), "{out}");
    assert!(out.contains("Unchanged Secret tt-token"), "{out}");
    assert!(
        cluster.write_counts().is_empty(),
        "{:?}",
        cluster.requests()
    );
}

/// A farm and cluster with one Secret in each state: dd-token in sync, tt-token differs,
/// coco-token only local, lala-token only in cluster (and an unmanaged Secret, not listed).
fn every_state() -> Farm {
    let farm = farm_and_cluster();
    let cluster = farm.cluster();
    farm.secret("lala-token", "xoxb-lala");
    farm.run(["secret", "sync"]).ok().text();
    cluster
        .insert(json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "registry-creds", "namespace": "default"},
            "data": {"password": BASE64.encode("hunter2")},
        }))
        .unwrap();
    farm.remove("secret/lala-token");
    farm.secret("tt-token/bot-token", "xoxb-tt-rotated");
    farm.secret("coco-token", "xoxb-coco");
    farm
}

#[test]
fn list_shows_every_state_as_a_table() {
    let farm = every_state();
    let cluster = farm.cluster();
    cluster.reset_requests();
    let output = farm.run(["secret", "list"]);
    assert!(output.success(), "{}", output.stderr());
    let stdout = output.stdout();
    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .map(|l| {
            l.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect()
        })
        .collect();
    let json: Value = farm.run(["secret", "list", "-o", "json"]).items();
    let fp = |name: &str| {
        json.as_array()
            .unwrap()
            .iter()
            .find(|r| r["secret"] == name)
            .unwrap()
            .clone()
    };
    let (dd, tt, coco, lala) = (
        fp("dd-token"),
        fp("tt-token"),
        fp("coco-token"),
        fp("lala-token"),
    );
    let s = |v: &Value| v.as_str().unwrap().to_string();
    assert_eq!(
        rows[0],
        ["SECRET", "KEYS", "LOCAL", "CLUSTER", "STATE"],
        "{stdout}"
    );
    let expected: Vec<Vec<String>> = vec![
        vec![
            "coco-token".into(),
            "coco-token".into(),
            s(&coco["local"]),
            "-".into(),
            "only local".into(),
        ],
        vec![
            "dd-token".into(),
            "app-token,bot-token".into(),
            s(&dd["local"]),
            s(&dd["local"]),
            "in sync".into(),
        ],
        vec![
            "lala-token".into(),
            "lala-token".into(),
            "-".into(),
            s(&lala["cluster"]),
            "only in cluster".into(),
        ],
        vec![
            "tt-token".into(),
            "app-token,bot-token".into(),
            s(&tt["local"]),
            s(&tt["cluster"]),
            "differs".into(),
        ],
    ];
    assert_eq!(rows[1..], expected, "{stdout}");
    assert_ne!(tt["local"], tt["cluster"]);
    assert!(!stdout.contains("registry-creds"), "{stdout}");
    assert!(
        cluster.write_counts().is_empty(),
        "{:?}",
        cluster.requests()
    );
}

#[test]
fn list_shows_every_state_as_json() {
    let farm = every_state();
    let output = farm.run(["secret", "list", "-o", "json"]);
    assert!(output.success(), "{}", output.stderr());
    let rows: Value = output.items();
    let states: Vec<(String, String)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["secret"].as_str().unwrap().into(),
                r["result"].as_str().unwrap().into(),
            )
        })
        .collect();
    let expected = [
        ("coco-token", "only_local"),
        ("dd-token", "in_sync"),
        ("lala-token", "only_in_cluster"),
        ("tt-token", "differs"),
    ]
    .map(|(a, b)| (a.to_string(), b.to_string()));
    assert_eq!(states, expected);
    for row in rows.as_array().unwrap() {
        for side in ["local", "cluster"] {
            let fingerprint = &row[side];
            assert!(
                fingerprint.is_null()
                    || fingerprint
                        .as_str()
                        .is_some_and(|f| f.len() == 12 && f.chars().all(|c| c.is_ascii_hexdigit())),
                "{row}"
            );
        }
    }
    let dd = &rows[1];
    assert_eq!(dd["keys"], json!(["app-token", "bot-token"]));
    assert_eq!(dd["local"], dd["cluster"]);
}

/// Every form in which a token could leak: its bytes and its base64.
fn assert_no_token_in(text: &str, what: &str) {
    for token in [
        DD_BOT,
        TT_BOT,
        DD_APP,
        TT_APP,
        "xoxb-dd-rotated",
        "xoxb-coco",
        "xoxb-lala",
    ] {
        assert!(!text.contains(token), "{what} leaked {token}: {text}");
        let encoded = BASE64.encode(token);
        assert!(
            !text.contains(&encoded),
            "{what} leaked {token} as base64: {text}"
        );
    }
}

#[test]
fn no_secret_command_shows_a_token_verbose_or_json() {
    let slack = slack::start(&[(DD_BOT, "dd"), ("xoxb-tt-rotated", "tt")], false);
    let commands: [&[&str]; 5] = [
        &["secret", "sync", "--dry-run"],
        &["secret", "list"],
        &["secret", "verify"],
        &["secret", "sync"],
        &["secret", "sync", "--prune"],
    ];
    for extra in [&["-v"][..], &["-o", "json"], &["-v", "-o", "json"]] {
        let farm = every_state();
        for command in commands {
            let args: Vec<&str> = command.iter().chain(extra).copied().collect();
            let output = farm
                .command(&args)
                .env("CATCTL_SLACK_API_URL", &slack.url)
                .run()
                .ok();
            let all = output.text();
            if extra.contains(&"json") {
                output.items();
            }
            assert_no_token_in(&all, &format!("catctl {}", args.join(" ")));
        }
    }
}

#[test]
fn cluster_errors_are_clear_and_leak_nothing() {
    let farm = farm_with_tokens(DD_BOT, TT_BOT);
    let dead = Cluster::start();
    let kubeconfig = farm.path().join("dead-kubeconfig");
    std::fs::copy(dead.kubeconfig(), &kubeconfig).unwrap();
    drop(dead);
    for args in [
        &["secret", "sync"][..],
        &["secret", "list"],
        &["secret", "sync", "-o", "json", "-v"],
    ] {
        let started = std::time::Instant::now();
        let output = farm.command(args).env("KUBECONFIG", &kubeconfig).run();
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "{args:?} hung"
        );
        assert_eq!(output.exit_code(), Some(1), "{output:?}");
        let stderr = output.stderr();
        // -v first says which context, server and namespace it tried.
        let first_error = stderr.lines().position(|l| l.starts_with("error:"));
        assert_eq!(
            first_error,
            Some(usize::from(args.contains(&"-v"))),
            "{stderr}"
        );
        assert!(
            stderr.contains("error: listing Secrets in namespace default\n"),
            "{stderr}"
        );
        assert!(stderr.contains("Connection refused"), "{stderr}");
        assert!(output.stdout().is_empty(), "{args:?}");
        assert_no_token_in(&format!("{}{stderr}", output.stdout()), "a cluster error");
    }
}

#[test]
fn a_refusal_by_the_api_server_is_reported_per_secret_in_one_line() {
    let farm = farm_and_cluster();
    let cluster = farm.cluster();
    let output = farm.run(["secret", "sync", "-n", "nowhere"]);
    assert_eq!(output.exit_code(), Some(1), "{output:?}");
    let stderr = output.stderr();
    for name in ["dd-token", "tt-token"] {
        let line = format!(
            "warning: Failed Secret {name} [app-token, bot-token] {fp}: applying Secret {name} in \
             namespace nowhere: the API server refused: namespaces \"nowhere\" not found (404 \
             NotFound)\n",
            fp = fingerprint_in_list(&farm, name)
        );
        assert!(stderr.contains(&line), "{line}\nnot in\n{stderr}");
    }
    assert!(!stderr.contains("Status {"), "{stderr}");
    assert_no_token_in(&format!("{}{stderr}", output.stdout()), "an API refusal");

    let output = farm.run(["secret", "sync", "-n", "nowhere", "-o", "json"]);
    assert_eq!(output.exit_code(), Some(1));
    let outcomes: Value = output.items();
    assert_eq!(outcomes.as_array().unwrap().len(), 2);
    for outcome in outcomes.as_array().unwrap() {
        assert!(
            outcome["error"].as_str().unwrap().ends_with(
                "the API server refused: namespaces \"nowhere\" not found (404 NotFound)"
            ),
            "{outcome}"
        );
    }
    assert!(secret_names(cluster).is_empty());
}

/// The local fingerprint `secret list -o json` shows for `name`.
fn fingerprint_in_list(farm: &Farm, name: &str) -> String {
    let output = farm.run(["secret", "list", "-o", "json"]);
    let rows: Value = output.items();
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r["secret"] == name)
        .and_then(|r| r["local"].as_str())
        .unwrap()
        .to_string()
}

#[test]
fn prune_with_an_empty_secret_dir_is_refused() {
    let farm = farm_and_cluster();
    let cluster = farm.cluster();
    farm.run(["secret", "sync"]).ok().text();
    // A fresh clone: secret/ is git-ignored, so only its README is there.
    farm.remove("secret");
    farm.secret("README.md", "# secret/\n");

    cluster.reset_requests();
    let out = farm
        .run(["secret", "sync", "--prune", "--dry-run"])
        .fails()
        .text();
    assert!(out.contains("--prune would delete every Secret"), "{out}");
    let output = farm.run(["secret", "sync", "--prune"]);
    assert_eq!(output.exit_code(), Some(1), "{output:?}");
    let stderr = output.stderr();
    assert!(
        stderr.contains(
            "secret/ has no entries, so --prune would delete every Secret catctl manages \
             (dd-token, tt-token)"
        ),
        "{stderr}"
    );
    assert!(
        cluster.write_counts().is_empty(),
        "{:?}",
        cluster.requests()
    );
    let mut names = secret_names(cluster);
    names.sort();
    assert_eq!(names, ["dd-token", "tt-token"]);
}
