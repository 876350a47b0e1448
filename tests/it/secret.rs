//! `catctl secret`: checks that refuse before any write, and `verify` against a fake Slack.

use std::os::unix::fs::PermissionsExt;

use crate::common::Farm;
use crate::slack;

pub(crate) const DD_BOT: &str = "xoxb-dd-0000-secret-bytes";
pub(crate) const TT_BOT: &str = "xoxb-tt-1111-secret-bytes";

/// A farm with cats dd and tt and their token directories, private as they should be.
pub(crate) fn farm_with_tokens(dd: &str, tt: &str) -> Farm {
    with_tokens(Farm::new(), dd, tt)
}

/// `farm` with cats dd and tt (made by copycat) and their token directories.
pub(crate) fn with_tokens(farm: Farm, dd: &str, tt: &str) -> Farm {
    farm.run(["copycat", "dd", "tt"]).ok();
    farm.token("dd", dd, "xapp-dd-app-token")
        .token("tt", tt, "xapp-tt-app-token")
}

// A farm without a cluster has no kubeconfig at all: a command that contacted the cluster
// would fail differently.

#[test]
fn underscore_names_are_refused_before_any_write() {
    let farm = farm_with_tokens(DD_BOT, TT_BOT);
    farm.secret("lala_token", "xoxb-lala");
    farm.run(["secret", "sync"])
        .fails()
        .stderr_has(
            "secret/lala_token: Kubernetes names cannot contain '_' — rename it to secret/lala-token",
        )
        .stderr_has("nothing was written")
        .stderr_lacks("kubeconfig");
}

#[test]
fn the_same_token_twice_is_refused() {
    let farm = farm_with_tokens(DD_BOT, DD_BOT);
    let output = farm.run(["secret", "sync"]).fails();
    let stderr = output.stderr();
    assert!(
        stderr.contains("dd-token and tt-token hold the same token"),
        "{stderr}"
    );
    assert!(!stderr.contains(DD_BOT), "the token leaked: {stderr}");
}

#[test]
fn empty_files_and_nested_directories_are_refused_together() {
    let farm = farm_with_tokens(DD_BOT, TT_BOT);
    farm.secret("tt-token/bot-token", "");
    farm.secret("dd-token/old/bot-token", "x");
    farm.run(["secret", "sync"])
        .fails()
        .stderr_has("2 problems in secret/")
        .stderr_has("secret/tt-token/bot-token is empty")
        .stderr_has("secret/dd-token/old is a directory");
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
    let output = farm.run(["secret", "sync", "--dry-run"]);
    let stderr = output.stderr();
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
        .command(["secret", "verify"])
        .env("CATCTL_SLACK_API_URL", &slack.url)
        .run()
        .ok();
    let stdout = output.stdout();
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
        .command(["secret", "verify"])
        .env("CATCTL_SLACK_API_URL", &slack.url)
        .run()
        .fails();
    let stderr = output.stderr();
    assert!(stderr.contains("dd and tt have swapped tokens"), "{stderr}");
    assert!(stderr.contains("tt and dd have swapped tokens"), "{stderr}");
    let all = output.text();
    assert!(
        !all.contains(DD_BOT) && !all.contains(TT_BOT),
        "a token leaked: {all}"
    );
}

#[test]
fn verify_reports_invalid_auth_and_honours_rate_limits() {
    let slack = slack::start(&[(DD_BOT, "dd")], true);
    let farm = farm_with_tokens(DD_BOT, "xoxb-revoked");
    let verdicts = farm
        .command(["secret", "verify", "-o", "json"])
        .env("CATCTL_SLACK_API_URL", &slack.url)
        .run()
        .fails()
        .items();
    let by_cat = |cat: &str| {
        verdicts
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["cat"] == cat)
            .unwrap()
            .clone()
    };
    assert_eq!(by_cat("dd")["result"], "ok");
    assert_eq!(by_cat("tt")["result"], "failed");
    assert!(
        by_cat("tt")["error"]
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
    farm.command(["secret", "verify", "dd"])
        .env("CATCTL_SLACK_API_URL", "http://127.0.0.1:9/api")
        .run()
        .fails()
        .stderr_has("dd: cannot reach 127.0.0.1:9");
}
