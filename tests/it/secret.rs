//! `catctl secret`: checks that refuse before any write, and `verify` against a fake Slack.

use std::os::unix::fs::PermissionsExt;

use predicates::prelude::*;

use crate::common::{TestFarm, stderr_of, stdout_of};
use crate::slack;

pub(crate) const DD_BOT: &str = "xoxb-dd-0000-secret-bytes";
pub(crate) const TT_BOT: &str = "xoxb-tt-1111-secret-bytes";

/// A farm with cats dd and tt and their token directories, private as they should be.
pub(crate) fn farm_with_tokens(dd: &str, tt: &str) -> TestFarm {
    let farm = TestFarm::new();
    farm.catctl()
        .args(["copycat", "dd", "tt"])
        .assert()
        .success();
    for (cat, bot) in [("dd", dd), ("tt", tt)] {
        farm.write(&format!("secret/{cat}-token/bot-token"), bot);
        farm.write(
            &format!("secret/{cat}-token/app-token"),
            &format!("xapp-{cat}-app-token"),
        );
    }
    chmod_private(farm.path());
    farm
}

pub(crate) fn chmod_private(root: &std::path::Path) {
    let secret = root.join("secret");
    for entry in walk(&secret) {
        let mode = if entry.is_dir() { 0o700 } else { 0o600 };
        std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(mode)).unwrap();
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// No kubeconfig at all: a command that contacted the cluster would fail differently.
fn offline(cmd: &mut assert_cmd::Command, farm: &TestFarm) {
    cmd.env("KUBECONFIG", farm.path().join("no-such-kubeconfig"));
}

#[test]
fn underscore_names_are_refused_before_any_write() {
    let farm = farm_with_tokens(DD_BOT, TT_BOT);
    farm.write("secret/lala_token", "xoxb-lala");
    chmod_private(farm.path());
    let mut cmd = farm.catctl();
    offline(&mut cmd, &farm);
    cmd.args(["secret", "sync"])
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "secret/lala_token: Kubernetes names cannot contain '_' — rename it to secret/lala-token",
        ))
        .stderr(predicate::str::contains("nothing was written"))
        .stderr(predicate::str::contains("kubeconfig").not());
}

#[test]
fn the_same_token_twice_is_refused() {
    let farm = farm_with_tokens(DD_BOT, DD_BOT);
    let mut cmd = farm.catctl();
    offline(&mut cmd, &farm);
    let output = cmd.args(["secret", "sync"]).output().unwrap();
    assert!(!output.status.success());
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains("dd-token and tt-token hold the same token"),
        "{stderr}"
    );
    assert!(!stderr.contains(DD_BOT), "the token leaked: {stderr}");
}

#[test]
fn empty_files_and_nested_directories_are_refused_together() {
    let farm = farm_with_tokens(DD_BOT, TT_BOT);
    farm.write("secret/tt-token/bot-token", "");
    farm.write("secret/dd-token/old/bot-token", "x");
    chmod_private(farm.path());
    let mut cmd = farm.catctl();
    offline(&mut cmd, &farm);
    cmd.args(["secret", "sync"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("2 problems in secret/"))
        .stderr(predicate::str::contains(
            "secret/tt-token/bot-token is empty",
        ))
        .stderr(predicate::str::contains(
            "secret/dd-token/old is a directory",
        ));
}

#[test]
fn loose_permissions_and_git_exposure_are_warned_about() {
    let farm = farm_with_tokens(DD_BOT, TT_BOT);
    std::fs::set_permissions(
        farm.path().join("secret/dd-token/bot-token"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(farm.path())
            .output()
            .unwrap()
    };
    git(&["init", "-q"]);
    git(&["add", "-f", "secret/tt-token/bot-token"]);
    let mut cmd = farm.catctl();
    offline(&mut cmd, &farm);
    let output = cmd.args(["secret", "sync", "--dry-run"]).output().unwrap();
    let stderr = stderr_of(&output);
    assert!(stderr.contains("secret/ is not git-ignored"), "{stderr}");
    assert!(
        stderr.contains("git tracks secret/tt-token/bot-token"),
        "{stderr}"
    );
    assert!(stderr.contains("chmod -R go-rwx secret"), "{stderr}");
    assert!(stderr.contains("secret/dd-token/bot-token"), "{stderr}");
}

#[test]
fn verify_passes_with_the_right_tokens() {
    let slack = slack::start(&[(DD_BOT, "dd"), (TT_BOT, "tt")], false);
    let farm = farm_with_tokens(DD_BOT, TT_BOT);
    let output = farm
        .catctl()
        .args(["secret", "verify"])
        .env("CATCTL_SLACK_API_URL", &slack.url)
        .output()
        .unwrap();
    let stdout = stdout_of(&output);
    assert!(output.status.success(), "{stdout}{}", stderr_of(&output));
    assert!(stdout.contains("dd    secret/dd-token"), "{stdout}");
    assert_eq!(slack.requests.load(std::sync::atomic::Ordering::SeqCst), 2);
    let mut seen = slack.seen_tokens.lock().unwrap().clone();
    seen.sort();
    assert_eq!(
        seen,
        [DD_BOT, TT_BOT],
        "each bot token is sent as the bearer"
    );
}

#[test]
fn verify_catches_swapped_tokens_naming_both_cats() {
    let slack = slack::start(&[(DD_BOT, "dd"), (TT_BOT, "tt")], false);
    let farm = farm_with_tokens(TT_BOT, DD_BOT);
    let output = farm
        .catctl()
        .args(["secret", "verify"])
        .env("CATCTL_SLACK_API_URL", &slack.url)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = stderr_of(&output);
    assert!(stderr.contains("dd and tt have swapped tokens"), "{stderr}");
    assert!(stderr.contains("tt and dd have swapped tokens"), "{stderr}");
    let all = format!("{}{stderr}", stdout_of(&output));
    assert!(
        !all.contains(DD_BOT) && !all.contains(TT_BOT),
        "a token leaked: {all}"
    );
}

#[test]
fn verify_reports_invalid_auth_and_honours_rate_limits() {
    let slack = slack::start(&[(DD_BOT, "dd")], true);
    let farm = farm_with_tokens(DD_BOT, "xoxb-revoked");
    let output = farm
        .catctl()
        .args(["secret", "verify", "-o", "json"])
        .env("CATCTL_SLACK_API_URL", &slack.url)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let verdicts: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let by_cat = |cat: &str| {
        verdicts
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["cat"] == cat)
            .unwrap()
            .clone()
    };
    assert_eq!(by_cat("dd")["ok"], true);
    assert_eq!(by_cat("tt")["ok"], false);
    assert!(
        by_cat("tt")["problem"]
            .as_str()
            .unwrap()
            .contains("invalid_auth")
    );
    // Two cats, one 429 retried.
    assert_eq!(slack.requests.load(std::sync::atomic::Ordering::SeqCst), 3);
}

#[test]
fn verify_reports_an_unreachable_api_per_cat() {
    let farm = farm_with_tokens(DD_BOT, TT_BOT);
    farm.catctl()
        .args(["secret", "verify", "dd"])
        .env("CATCTL_SLACK_API_URL", "http://127.0.0.1:9/api")
        .assert()
        .failure()
        .stderr(predicate::str::contains("dd: cannot reach 127.0.0.1:9"));
}
