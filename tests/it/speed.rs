//! What a deploy and `status` cost in API requests (issue 17): a deploy reads each kind once
//! for all cats (its watches stand in for the lists of pods and workloads), writes three times
//! per cat (lock, apply, record-and-release), at most four requests per cat from seven cats on,
//! and a deploy that changes nothing writes nothing.

use std::collections::BTreeMap;

use crate::common::Farm;
use crate::deploy::{DeployFarm, setup};

/// Requests that only read (get, list, watch), by "verb resource".
fn reads(requests: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    requests
        .iter()
        .filter(|(k, _)| matches!(k.split(' ').next(), Some("get" | "list" | "watch")))
        .map(|(k, n)| (k.clone(), *n))
        .collect()
}

fn total(requests: &BTreeMap<String, u64>) -> u64 {
    requests.values().sum()
}

fn ready_cats(farm: &Farm, n: usize, hint: &str) -> Vec<String> {
    (0..n).map(|_| farm.ready_cat(hint)).collect()
}

#[test]
fn a_second_identical_deploy_of_three_cats_writes_nothing() {
    let farm = setup();
    let cluster = farm.cluster();
    let cats = ready_cats(&farm, 3, "noop");
    let mut deploy = vec!["deploy"];
    deploy.extend(cats.iter().map(String::as_str));
    farm.run(deploy.clone()).ok();

    cluster.reset_requests();
    let mut as_json = deploy.clone();
    as_json.extend(["-o", "json"]);
    let reports = farm.run(as_json).ok().items();
    assert_eq!(
        cluster.write_counts(),
        BTreeMap::new(),
        "a deploy of what already runs wrote"
    );
    // Nothing to wait for: no watch of events (the rollout wait's), and no request per cat.
    assert!(
        !cluster.requests().contains_key("watch events"),
        "nothing to wait for, yet it waited: {:?}",
        cluster.requests()
    );
    assert!(
        total(&cluster.requests()) <= 7,
        "a no-op deploy of 3 cats made requests per cat: {:?}",
        cluster.requests()
    );
    for cat in &cats {
        let report = reports
            .as_array()
            .and_then(|a| a.iter().find(|r| r["cat"] == cat.as_str()))
            .unwrap_or_else(|| panic!("no report of {cat}: {reports}"));
        assert_eq!(report["result"], "unchanged", "{report}");
        assert!(
            report["note"]
                .as_str()
                .is_some_and(|m| m.contains("already running, nothing written")),
            "{report}"
        );
    }

    // A changed token is a change: exactly that cat is applied and recorded again.
    let changed = &cats[1];
    farm.write(
        &format!("secret/{changed}-token/bot-token"),
        &format!("xoxb-{changed}-rotated"),
    );
    farm.run(["secret", "sync"]).ok();
    cluster.reset_requests();
    farm.run(deploy).ok();
    assert_eq!(cluster.count("patch", "statefulsets"), 1);
    // The lock taken, then the new revision recorded with the lock released.
    assert_eq!(cluster.count("update", "configmaps"), 2);
    let history = farm.run(["history", changed, "-o", "json"]).ok().items();
    assert_eq!(history.as_array().map(Vec::len), Some(2), "{history}");
}

#[test]
fn a_deploys_reads_do_not_grow_with_its_cats_its_writes_stay_three_per_cat_and_seven_cost_at_most_four_each()
 {
    let farm = setup();
    let cluster = farm.cluster();
    let cats = ready_cats(&farm, 8, "flat");

    cluster.reset_requests();
    farm.run(["deploy", &cats[0]]).ok();
    let one = cluster.requests();
    cluster.reset_requests();
    let mut seven = vec!["deploy"];
    seven.extend(cats[1..].iter().map(String::as_str));
    farm.run(seven).ok();
    let seven = cluster.requests();

    assert_eq!(
        reads(&seven),
        reads(&one),
        "reads grew with the number of cats"
    );
    let writes = |r: &BTreeMap<String, u64>| total(r) - total(&reads(r));
    // Per cat: the lock taken (the history ConfigMap created or updated on the version the gate
    // read), the workload applied, the result recorded with the lock released.
    assert_eq!(writes(&one), 3, "{one:?}");
    assert_eq!(writes(&seven), 7 * 3, "{seven:?}");
    // The one LIST of nodes checks the images' platform against the nodes (made only when an
    // image not yet running is deployed); a rollout whose containers start at once watches no
    // events (they are watched only for a rollout stuck before its containers run).
    assert_eq!(one.get("list nodes"), Some(&1), "{one:?}");
    assert_eq!(seven.get("watch events"), None, "{seven:?}");
    assert!(
        total(&seven) <= 7 * 4,
        "more than 4 requests per cat: {} for 7 cats: {seven:?}",
        total(&seven)
    );
}

#[test]
fn status_of_the_farm_makes_at_most_three_requests() {
    let farm = setup();
    let cluster = farm.cluster();
    let cats = ready_cats(&farm, 3, "look");
    let mut deploy = vec!["deploy"];
    deploy.extend(cats.iter().map(String::as_str));
    farm.run(deploy).ok();

    cluster.reset_requests();
    let output = farm.run(["status", "-o", "json"]).ok();
    let requests = cluster.requests();
    assert!(total(&requests) <= 3, "{requests:?}");
    assert_eq!(cluster.write_counts(), BTreeMap::new());
    let statuses = output.items();
    for cat in &cats {
        let status = statuses
            .as_array()
            .and_then(|a| a.iter().find(|s| s["cat"] == cat.as_str()))
            .unwrap_or_else(|| panic!("no status of {cat}: {statuses}"));
        assert_eq!(status["ready"], 1, "{status}");
    }
}

#[test]
fn a_rollout_that_waits_longer_to_be_ready_makes_the_same_requests() {
    let farm = setup();
    let cluster = farm.cluster();
    let quick = farm.ready_cat("quick");
    let slow = farm.ready_cat("slow");
    // Running at once, Ready only after 3 s: waiting longer is no reason to ask more (nor to
    // watch events, which are for a rollout stuck before its containers run).
    cluster.script(
        &slow,
        fake_kube::PodScript::healthy().ready_after(std::time::Duration::from_secs(3)),
    );
    cluster.reset_requests();
    farm.run(["deploy", &quick]).ok();
    let after_quick = cluster.requests();
    cluster.reset_requests();
    let started = std::time::Instant::now();
    farm.run(["deploy", &slow]).ok();
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(3),
        "it did not wait"
    );
    let after_slow = cluster.requests();
    assert_eq!(after_slow, after_quick, "requests grew with the wait");
    assert_eq!(after_slow.get("watch events"), None, "{after_slow:?}");
}
