//! The promise, at its edges: history records what ran (and what failed), rollback returns to
//! the last revision that ran, a stale checkout cannot downgrade, two deploys of one cat never
//! both claim success, `status` never says ok when it is not, and the kube context's namespace
//! is used. Real binary, real daemon and registry, a fake cluster per test.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use fake_kube::PodScript;

use crate::common::Farm;
use crate::deploy::{DeployFarm, setup};

/// A copy of the farm as it is now: another checkout, on another machine.
fn checkout(farm: &Farm) -> tempfile::TempDir {
    let copy = tempfile::tempdir().unwrap();
    let status = Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", farm.path().display()))
        .arg(copy.path())
        .status()
        .unwrap();
    assert!(status.success());
    copy
}

/// Releases `version` of `cat` from the checkout at `dir`.
fn release_in(farm: &Farm, dir: &Path, cat: &str, version: &str) {
    std::fs::write(
        dir.join(format!("cats/{cat}/cat.toml")),
        format!("version = \"{version}\"\n"),
    )
    .unwrap();
    std::fs::write(dir.join(format!("cats/{cat}/release.txt")), version).unwrap();
    for step in ["build", "push"] {
        farm.command([step, cat]).current_dir(dir).run().ok();
    }
}

fn kubectl(farm: &Farm, args: &[&str]) {
    let output = Command::new("kubectl")
        .args(args)
        .arg("--request-timeout=10s")
        .env("KUBECONFIG", farm.cluster().kubeconfig())
        .output()
        .unwrap();
    assert!(output.status.success(), "kubectl {args:?}: {output:?}");
}

fn history_results(farm: &Farm, cat: &str) -> Vec<(String, String)> {
    farm.run(["history", cat, "-o", "json"])
        .ok()
        .items()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["tag"].as_str().unwrap().to_string(),
                r["result"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn rollback_after_a_failed_deploy_returns_to_the_revision_that_ran() {
    let farm = setup();
    let cat = farm.ready_cat("back3");
    farm.run(["deploy", &cat]).ok();
    farm.release(&cat, "v2");
    farm.run(["deploy", &cat]).ok();
    let v2 = farm.digest(&cat, "v2");
    farm.release(&cat, "v3");
    farm.cluster().script(
        &farm.image(&cat, "v3"),
        PodScript::crash_loop(["Error: Specify $LALA_TOKEN in environment"]),
    );
    farm.run(["deploy", &cat, "--timeout", "1m"])
        .fails()
        .stderr_has("CrashLoopBackOff");
    assert_eq!(
        history_results(&farm, &cat),
        [
            ("v1".to_string(), "ran".to_string()),
            ("v2".to_string(), "ran".to_string()),
            ("v3".to_string(), "failed".to_string())
        ]
    );
    // v3 crash-loops: the revision to return to is v2, the last one that ran — not v1.
    farm.run(["rollback", &cat, "--timeout", "1m"]).ok();
    assert_eq!(farm.running(&cat), std::slice::from_ref(&v2));
    // The whole workload came back, labels included.
    let sts = farm.sts(&cat);
    assert_eq!(
        sts["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/version"],
        "v2"
    );
    farm.run(["rollback", &cat, "--to-revision", "3"])
        .fails()
        .stderr_has("failed when it was deployed");
}

#[test]
fn a_stale_checkout_cannot_downgrade_without_asking() {
    let farm = setup();
    let cat = farm.ready_cat("stale");
    farm.run(["deploy", &cat]).ok();
    let behind = checkout(&farm);
    farm.release(&cat, "v2");
    farm.run(["deploy", &cat]).ok();
    let v2 = farm.digest(&cat, "v2");

    farm.cluster().reset_requests();
    let refused = farm
        .command(["deploy", &cat])
        .current_dir(behind.path())
        .run()
        .fails()
        .text();
    assert!(refused.contains("an older revision"), "{refused}");
    assert!(
        refused.contains("v2") && refused.contains("v1"),
        "{refused}"
    );
    assert!(refused.contains("--allow-downgrade"), "{refused}");
    assert_eq!(farm.cluster().write_counts().len(), 0, "a refusal wrote");
    assert_eq!(farm.running(&cat), std::slice::from_ref(&v2));

    farm.command(["deploy", &cat, "--allow-downgrade"])
        .current_dir(behind.path())
        .run()
        .ok();
    assert_eq!(farm.running(&cat), [farm.digest(&cat, "v1")]);
}

#[test]
fn two_deploys_of_one_cat_at_once_never_both_claim_success() {
    let farm = setup();
    let cat = farm.ready_cat("race");
    farm.run(["deploy", &cat]).ok();
    let other = checkout(&farm);
    farm.release(&cat, "v2");
    release_in(&farm, other.path(), &cat, "v3");
    // Each rollout lasts 4 s, so that the two overlap even when one process starts late on a
    // busy machine (one that starts after the other has finished deploys on top of it, rightly).
    for version in ["v2", "v3"] {
        farm.cluster().script(
            &farm.image(&cat, version),
            PodScript::healthy().ready_after(Duration::from_secs(4)),
        );
    }
    let (a, b) = std::thread::scope(|scope| {
        let a = scope.spawn(|| farm.run(["deploy", &cat, "--timeout", "1m"]));
        let b = scope.spawn(|| {
            farm.command(["deploy", &cat, "--timeout", "1m"])
                .current_dir(other.path())
                .run()
        });
        (a.join().unwrap(), b.join().unwrap())
    });
    assert!(
        a.success() != b.success(),
        "exactly one of two concurrent deploys may succeed:\n{a}\n{b}"
    );
    let (winner, loser, version) = if a.success() {
        (a, b, "v2")
    } else {
        (b, a, "v3")
    };
    assert!(
        loser.text().contains("while this deploy waited"),
        "{loser}\n{winner}"
    );
    assert_eq!(farm.running(&cat), [farm.digest(&cat, version)]);
    // The history lists what ran, and nothing of the refused deploy.
    assert_eq!(
        history_results(&farm, &cat),
        [
            ("v1".to_string(), "ran".to_string()),
            (version.to_string(), "ran".to_string())
        ]
    );
}

#[test]
fn status_names_two_copies_a_missing_secret_and_an_image_set_by_hand() {
    let farm = setup();
    let cat = farm.ready_cat("truth");
    farm.run(["deploy", &cat]).ok();
    farm.run(["status", &cat, "--check"]).ok();

    kubectl(&farm, &["scale", "statefulset", &cat, "--replicas=2"]);
    let out = farm.run(["status", &cat, "--check"]).fails().stdout();
    assert!(
        out.contains(&format!("2 copies of {cat} are running")),
        "{out}"
    );

    kubectl(
        &farm,
        &[
            "set",
            "image",
            &format!("statefulset/{cat}"),
            &format!("{cat}={}", farm.image(&cat, "v1")),
        ],
    );
    let out = farm.run(["status", &cat]).ok().stdout();
    assert!(out.contains("image set by kubectl"), "{out}");
    assert!(!out.contains("older image"), "{out}");

    kubectl(&farm, &["delete", "secret", &format!("{cat}-token")]);
    let out = farm.run(["status", &cat, "--check"]).fails().stdout();
    assert!(
        out.contains(&format!("Secret {cat}-token missing")),
        "{out}"
    );
}

#[test]
fn status_says_when_a_token_changed_and_is_not_synced_or_not_applied() {
    let farm = setup();
    let cat = farm.ready_cat("token");
    farm.run(["deploy", &cat]).ok();
    farm.write(&format!("secret/{cat}-token/bot-token"), "xoxb-new");
    let out = farm.run(["status", &cat, "--check"]).fails().stdout();
    assert!(out.contains("not synced"), "{out}");
    farm.run(["secret", "sync"]).ok();
    let out = farm.run(["status", &cat, "--check"]).fails().stdout();
    assert!(out.contains("token changed but not applied"), "{out}");
    farm.run(["deploy", &cat]).ok();
    farm.run(["status", &cat, "--check"]).ok();
}

#[test]
fn the_kube_contexts_namespace_is_used_when_none_is_given() {
    let farm = setup();
    let cat = farm.ready_cat("nsctx");
    kubectl(&farm, &["create", "namespace", "cats"]);
    farm.write("catctl.toml", "registry = \"127.0.0.1:5000\"\n");
    kubectl(
        &farm,
        &["config", "set-context", "--current", "--namespace=cats"],
    );
    farm.run(["secret", "sync"]).ok();
    let out = farm.run(["deploy", &cat, "-v"]).ok().text();
    assert!(out.contains("namespace cats"), "{out}");
    assert!(farm.cluster().get("statefulsets", "cats", &cat).is_some());
    assert!(
        farm.cluster()
            .get("statefulsets", "default", &cat)
            .is_none()
    );
    // -n still wins.
    kubectl(&farm, &["create", "namespace", "other"]);
    farm.run(["secret", "sync", "-n", "other"]).ok();
    farm.run(["deploy", &cat, "-n", "other"]).ok();
    assert!(farm.cluster().get("statefulsets", "other", &cat).is_some());
}

/// Puts a deploy lock held by `holder`, last renewed `seconds_ago`, into `cat`'s history
/// ConfigMap, as a deploy that is running (or was killed) leaves it.
fn lock_held_by(farm: &Farm, cat: &str, holder: &str, seconds_ago: i64) {
    let at = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(seconds_ago);
    let lock = serde_json::json!({
        "holder": holder, "deploying": "v9 sha256:0000", "acquired": at.to_string(),
        "renewed": at.to_string(), "seconds": 30,
    });
    let patch = serde_json::json!({"data": {"lock": lock.to_string()}});
    kubectl(
        farm,
        &[
            "patch",
            "configmap",
            &format!("catctl-history-{cat}"),
            "--type=merge",
            "-p",
            &patch.to_string(),
        ],
    );
}

#[test]
fn a_held_deploy_lock_is_waited_for_and_one_left_by_a_killed_deploy_expires() {
    let farm = setup();
    let cat = farm.ready_cat("lock");
    farm.run(["deploy", &cat]).ok();
    let v1 = farm.digest(&cat, "v1");
    farm.release(&cat, "v2");

    // Held by a deploy still renewing it: this one waits for it, then gives up naming it.
    lock_held_by(&farm, &cat, "other@host (pid 1)", 0);
    farm.cluster().reset_requests();
    let refused = farm.run(["deploy", &cat, "--timeout", "2s"]).fails().text();
    assert!(refused.contains("holds its lock"), "{refused}");
    assert!(refused.contains("other@host"), "{refused}");
    assert_eq!(
        farm.cluster().count("patch", "statefulsets"),
        0,
        "it applied"
    );
    assert_eq!(farm.running(&cat), [v1]);

    // Last renewed 40 s ago (its holder was killed): expired, taken over, and released after.
    lock_held_by(&farm, &cat, "killed@host (pid 1)", 40);
    farm.run(["deploy", &cat]).ok();
    assert_eq!(farm.running(&cat), [farm.digest(&cat, "v2")]);
    let history = farm
        .cluster()
        .get("configmaps", "default", &format!("catctl-history-{cat}"))
        .unwrap();
    assert!(history["data"].get("lock").is_none(), "{history}");
    assert_eq!(
        history_results(&farm, &cat),
        [
            ("v1".to_string(), "ran".to_string()),
            ("v2".to_string(), "ran".to_string())
        ]
    );
}
