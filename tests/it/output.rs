//! `-o json` and `-o yaml`: every command that reports state prints one envelope
//! (`apiVersion`, `kind`, `items`) with the same key names; commands that report none refuse
//! the flag instead of ignoring it.

use serde_json::Value;

use crate::common::Farm;
use crate::deploy::{DeployFarm, setup};

/// Keys the schema replaced: none may appear in any item of any command.
const OLD_KEYS: [&str; 7] = [
    "name",
    "version",
    "message",
    "state",
    "action",
    "registry_digest",
    "problem",
];

/// Checks the envelope of `run`'s stdout and the key names of its items; returns the items.
#[track_caller]
fn checked(stdout: &[u8], what: &str, kind: &str, keys: &[&str]) -> Vec<Value> {
    let value: Value = serde_json::from_slice(stdout)
        .unwrap_or_else(|e| panic!("{what}: stdout is not JSON ({e})"));
    assert_eq!(value["apiVersion"], "catctl/v1", "{what}: {value}");
    assert_eq!(value["kind"], kind, "{what}: {value}");
    let items = value["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{what}: no items array: {value}"))
        .clone();
    for item in &items {
        let object = item.as_object().unwrap_or_else(|| panic!("{what}: {item}"));
        for key in keys {
            assert!(object.contains_key(*key), "{what}: no `{key}` in {item}");
        }
        for old in OLD_KEYS {
            assert!(!object.contains_key(old), "{what}: `{old}` in {item}");
        }
        for (key, value) in object {
            if key == "digest" || key.ends_with("_digest") {
                assert!(
                    value.is_null()
                        || value.as_str().is_some_and(
                            |d| d.starts_with("sha256:") && d.len() == "sha256:".len() + 64
                        ),
                    "{what}: `{key}` is not a full digest in {item}"
                );
            }
            if key == "result" {
                let word = value.as_str().unwrap_or_default();
                assert!(
                    !word.is_empty() && word.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                    "{what}: `result` is not one snake_case word in {item}"
                );
            }
        }
    }
    items
}

#[test]
fn every_reporting_command_prints_one_envelope_with_the_same_key_names() {
    let farm = setup();
    let cat = farm.new_cat("js");
    let image_keys: &[&str] = &["cat", "image", "tag", "result", "error"];
    // (arguments, kind, keys every item has, whether it must succeed)
    let commands: Vec<(Vec<&str>, &str, &[&str])> = vec![
        (vec!["list"], "ListResult", &["cat", "tag", "image"]),
        (vec!["build", &cat], "BuildResult", image_keys),
        (
            vec!["push", &cat],
            "PushResult",
            &["cat", "image", "tag", "digest", "result", "error"],
        ),
        (
            vec!["verify", &cat],
            "VerifyResult",
            &["cat", "image", "tag", "digest", "result", "error"],
        ),
        (
            vec!["up", &cat, "--network", "none"],
            "UpResult",
            &["cat", "image", "tag", "digest", "result", "error"],
        ),
        (
            vec!["down", &cat],
            "DownResult",
            &["cat", "result", "error"],
        ),
        (
            vec!["secret", "sync"],
            "SecretSyncResult",
            &["secret", "result", "error"],
        ),
        (
            vec!["secret", "list"],
            "SecretListResult",
            &["secret", "result"],
        ),
        (
            vec!["deploy", &cat],
            "DeployResult",
            &["cat", "tag", "digest", "result", "error"],
        ),
        (
            vec!["diff", &cat],
            "DiffResult",
            &["cat", "result", "diff", "error"],
        ),
        (
            vec!["status", &cat],
            "StatusResult",
            &["cat", "tag", "digest", "result"],
        ),
        (
            vec!["history", &cat],
            "HistoryResult",
            &["cat", "tag", "digest", "image", "result"],
        ),
        (vec!["logs", &cat], "LogsResult", &["cat", "source", "line"]),
        (
            vec!["schedule", &cat],
            "ScheduleResult",
            &["cat", "command", "cron"],
        ),
        (
            vec!["sleep", &cat, "--timeout", "30s"],
            "SleepResult",
            &["cat", "result", "error"],
        ),
        (
            vec!["wake", &cat, "--timeout", "30s"],
            "SleepResult",
            &["cat", "result", "error"],
        ),
        (
            vec!["redeploy", &cat],
            "DeployResult",
            &["cat", "tag", "digest", "result", "error"],
        ),
        (
            vec!["delete", &cat, "--yes"],
            "DeleteResult",
            &["cat", "result"],
        ),
    ];
    farm.write(
        &format!("secret/{cat}-token/bot-token"),
        &format!("xoxb-{cat}"),
    );
    farm.write(
        &format!("secret/{cat}-token/app-token"),
        &format!("xapp-{cat}"),
    );
    for (args, kind, keys) in commands {
        let mut with_json = args.clone();
        with_json.extend(["-o", "json"]);
        let run = farm.run(&with_json).ok();
        let what = format!("catctl {}", with_json.join(" "));
        let items = checked(run.stdout_bytes(), &what, kind, keys);
        let expect_items = !matches!(args[0], "logs" | "schedule" | "list");
        assert!(
            !items.is_empty() || !expect_items,
            "{what}: no items\n{run}"
        );
        if args[0] == "push" {
            assert_eq!(items[0]["digest"], farm.digest(&cat, "v1"), "{what}");
        }
        if args[0] == "deploy" {
            assert_eq!(items[0]["result"], "deployed", "{what}");
            assert_eq!(items[0]["digest"], farm.digest(&cat, "v1"), "{what}");
        }
    }
    // doctor reports (and may fail on this machine's checks): the envelope all the same.
    let doctor = farm.run(["doctor", "-o", "json"]);
    let checks = checked(
        doctor.stdout_bytes(),
        "catctl doctor -o json",
        "DoctorResult",
        &["check", "result", "detail", "fix"],
    );
    assert!(!checks.is_empty(), "{doctor}");

    // A cat that cannot be checked at all is an item too, with its error.
    let unreachable = farm
        .run(["verify", &cat, "--registry", "127.0.0.1:9", "-o", "json"])
        .fails();
    let items = checked(
        unreachable.stdout_bytes(),
        "catctl verify --registry 127.0.0.1:9 -o json",
        "VerifyResult",
        &["cat", "result", "error"],
    );
    assert_eq!(items[0]["result"], "failed", "{unreachable}");
    assert!(
        items[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("cannot reach the registry 127.0.0.1:9")),
        "{unreachable}"
    );

    // copycat needs the real template (with its cat.toml): a farm of its own.
    let plain = Farm::new();
    let run = plain.run(["copycat", "kit", "-o", "json"]).ok();
    let items = checked(
        run.stdout_bytes(),
        "catctl copycat kit -o json",
        "CopycatResult",
        &["cat", "path", "result"],
    );
    assert_eq!(items[0]["cat"], "kit");
    assert_eq!(items[0]["path"], "cats/kit");
    assert_eq!(items[0]["result"], "created");
}

#[test]
fn yaml_is_the_same_document_as_json() {
    let farm = setup();
    let cat = farm.ready_cat("yml");
    farm.run(["deploy", &cat]).ok();
    for args in [
        vec!["list"],
        vec!["verify", &cat],
        vec!["history", &cat],
        vec!["secret", "list"],
        vec!["diff", &cat],
    ] {
        let json = farm.run(args.iter().chain(&["-o", "json"])).ok().json();
        let yaml = farm.run(args.iter().chain(&["-o", "yaml"])).ok();
        let parsed: Value = serde_saphyr::from_str(&yaml.stdout())
            .unwrap_or_else(|e| panic!("{args:?}: -o yaml is not YAML ({e}):\n{yaml}"));
        assert_eq!(parsed, json, "{args:?}");
        assert_eq!(parsed["apiVersion"], "catctl/v1");
    }
}

#[test]
fn diff_reports_changed_and_unchanged_cats_as_json() {
    let farm = setup();
    let cat = farm.ready_cat("dj");
    let never = farm.ready_cat("dn");
    farm.run(["deploy", &cat]).ok();
    let same = farm.run(["diff", &cat, "-o", "json"]).code(0).items();
    assert_eq!(same[0]["result"], "unchanged", "{same}");
    assert_eq!(same[0]["diff"], Value::Null, "{same}");
    assert_eq!(same[0]["object"], format!("StatefulSet/{cat}"), "{same}");

    farm.release(&cat, "v2");
    let changed = farm
        .run(["diff", &cat, &never, "-o", "json"])
        .code(1)
        .items();
    let of = |name: &str| {
        changed
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["cat"] == name)
            .unwrap_or_else(|| panic!("{name} missing: {changed}"))
            .clone()
    };
    assert_eq!(of(&cat)["result"], "changed");
    let text = of(&cat)["diff"].as_str().unwrap().to_string();
    assert!(text.contains(":v2@sha256:"), "{text}");
    // A cat not deployed yet: all of it would be new.
    assert_eq!(of(&never)["result"], "changed");
    assert!(
        of(&never)["diff"]
            .as_str()
            .unwrap()
            .contains(&format!("+++ catctl/StatefulSet/{never}"))
    );

    // A refused cat is an item with its error, and exit 2 as before.
    farm.write(
        &format!("cats/{cat}/release.txt"),
        "changed since the build",
    );
    let refused = farm.run(["diff", &cat, "-o", "json"]).code(2).items();
    assert_eq!(refused[0]["result"], "refused", "{refused}");
    assert!(
        refused[0]["error"]
            .as_str()
            .unwrap()
            .contains("changed since"),
        "{refused}"
    );
}

#[test]
fn commands_that_report_no_state_refuse_json_and_yaml() {
    let farm = Farm::new().cats(["dd"]);
    let out = farm.path().join("ctx");
    let out = out.to_str().unwrap();
    for (args, said) in [
        (vec!["completions", "bash"], "prints a shell script"),
        (
            vec!["context", "dd", "--out", out],
            "writes a build context",
        ),
        (vec!["render", "dd"], "manifests"),
        (vec!["deploy", "dd", "--dry-run"], "manifests"),
        (vec!["slack-manifest", "dd"], "Slack app manifests"),
        (vec!["logs", "dd", "-f"], "never ends"),
    ] {
        for format in ["json", "yaml"] {
            let run = farm.run(args.iter().chain(&["-o", format])).fails();
            assert!(run.stdout().is_empty(), "{run}");
            run.stderr_has(said).stderr_has(&format!("-o {format}"));
        }
    }
    assert!(!farm.path().join("ctx").exists(), "nothing was written");
}
