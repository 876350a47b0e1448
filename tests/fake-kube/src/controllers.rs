//! The control plane: StatefulSet, Deployment and ReplicaSet controllers, the garbage collector
//! and namespace deletion. Level-based: each pass looks at every workload in its scope and does
//! its next step; the scope is what changed since the last pass (as a real controller's work
//! queue holds the objects its informers saw change), or everything.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::selectors::LabelSelector;
use crate::world::{ChangeKind, Key, World, WriteOpts, res_of, timestamp};

/// The workloads a pass looks at.
pub enum Scope {
    All,
    /// The workloads whose uid a change named (the object itself, or an owner of it), and
    /// whether anything was deleted or is being deleted (the garbage collector's work).
    Touched {
        uids: HashSet<String>,
        deletions: bool,
    },
}

impl Scope {
    /// What the changes after resourceVersion `rv` touched; `None` when nothing changed, `All`
    /// when the changes are no longer kept.
    pub fn since(world: &World, rv: u64) -> Option<Scope> {
        if world.rv() == rv {
            return None;
        }
        let Some(changes) = world.since(rv) else {
            return Some(Scope::All);
        };
        let mut uids = HashSet::new();
        let mut deletions = false;
        for change in changes {
            for object in std::iter::once(&change.object).chain(change.old.as_ref()) {
                uids.insert(uid(object).to_string());
                uids.extend(
                    object["metadata"]["ownerReferences"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|r| r["uid"].as_str().map(String::from)),
                );
                deletions |= terminating(object);
            }
            deletions |= change.kind == ChangeKind::Deleted;
        }
        Some(Scope::Touched { uids, deletions })
    }

    fn covers(&self, obj: &Value) -> bool {
        match self {
            Scope::All => true,
            Scope::Touched { uids, .. } => uids.contains(uid(obj)),
        }
    }
}

pub fn tick(world: &mut World, now: Instant, scope: &Scope) {
    let in_scope = |world: &World, plural: &str| -> Vec<Value> {
        world
            .list(res_of(plural), None)
            .into_iter()
            .filter(|o| scope.covers(o))
            .cloned()
            .collect()
    };
    for sts in in_scope(world, "statefulsets") {
        statefulset(world, &sts);
    }
    for deploy in in_scope(world, "deployments") {
        deployment(world, &deploy, now);
    }
    for rs in in_scope(world, "replicasets") {
        replicaset(world, &rs);
    }
    if matches!(
        scope,
        Scope::All
            | Scope::Touched {
                deletions: true,
                ..
            }
    ) {
        garbage_collect(world);
    }
}

pub fn is_ready(pod: &Value) -> bool {
    pod["status"]["conditions"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}

fn terminating(obj: &Value) -> bool {
    obj["metadata"]["deletionTimestamp"].is_string()
}

fn uid(obj: &Value) -> &str {
    obj["metadata"]["uid"].as_str().unwrap_or_default()
}

fn name(obj: &Value) -> &str {
    obj["metadata"]["name"].as_str().unwrap_or_default()
}

fn ns(obj: &Value) -> &str {
    obj["metadata"]["namespace"].as_str().unwrap_or_default()
}

fn owner_ref(owner: &Value) -> Value {
    json!([{
        "apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true
    }])
}

fn owned(world: &World, plural: &str, owner: &Value) -> Vec<Value> {
    world
        .dependents_of(res_of(plural), ns(owner), uid(owner))
        .into_iter()
        .cloned()
        .collect()
}

/// The API server's SafeEncodeString of a 32-bit FNV hash, as in pod-template-hash labels.
pub fn template_hash(template: &Value, collisions: i64) -> String {
    const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let text = format!("{template}{collisions}");
    let mut hash: u32 = 0x811c9dc5;
    for b in text.bytes() {
        hash ^= u32::from(b);
        hash = hash.wrapping_mul(0x01000193);
    }
    hash.to_string()
        .bytes()
        .map(|b| ALPHANUMS[b as usize % ALPHANUMS.len()] as char)
        .collect()
}

fn controller_update(world: &mut World, plural: &str, obj: Value) {
    let _ = world.update(res_of(plural), obj, &WriteOpts::controller(), true);
}

fn create_pod(
    world: &mut World,
    owner: &Value,
    template: &Value,
    pod_name: Option<String>,
    extra: &[(&str, String)],
) {
    let mut meta = template["metadata"].clone();
    if !meta.is_object() {
        meta = json!({});
    }
    for (k, v) in extra {
        meta["labels"][*k] = json!(v);
    }
    meta["namespace"] = json!(ns(owner));
    meta["ownerReferences"] = owner_ref(owner);
    match &pod_name {
        Some(n) => meta["name"] = json!(n),
        None => meta["generateName"] = json!(format!("{}-", name(owner))),
    }
    let mut spec = template["spec"].clone();
    if owner["kind"] == "StatefulSet"
        && let Some(n) = &pod_name
    {
        spec["hostname"] = json!(n);
        if let Some(service) = owner["spec"]["serviceName"].as_str() {
            spec["subdomain"] = json!(service);
        }
    }
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec});
    let created = world.create(res_of("pods"), pod, &WriteOpts::controller());
    let (kind, reason, message) = match (&created, owner["kind"].as_str()) {
        (Ok(p), Some("StatefulSet")) => (
            "Normal",
            "SuccessfulCreate",
            format!(
                "create Pod {} in StatefulSet {} successful",
                name(p),
                name(owner)
            ),
        ),
        (Ok(p), _) => (
            "Normal",
            "SuccessfulCreate",
            format!("Created pod: {}", name(p)),
        ),
        (Err(e), _) => (
            "Warning",
            "FailedCreate",
            format!("Error creating: {}", e.message),
        ),
    };
    world.event(owner, kind, reason, &message, controller_component(owner));
}

fn controller_component(owner: &Value) -> &'static str {
    match owner["kind"].as_str() {
        Some("StatefulSet") => "statefulset-controller",
        Some("Deployment") => "deployment-controller",
        _ => "replicaset-controller",
    }
}

fn delete_pod(world: &mut World, owner: &Value, pod: &Value) {
    let key = Key::of(res_of("pods"), pod);
    if world.delete(&key, None, None, false).is_ok() {
        let message = if owner["kind"] == "StatefulSet" {
            format!(
                "delete Pod {} in StatefulSet {} successful",
                name(pod),
                name(owner)
            )
        } else {
            format!("Deleted pod: {}", name(pod))
        };
        world.event(
            owner,
            "Normal",
            "SuccessfulDelete",
            &message,
            controller_component(owner),
        );
    }
}

fn statefulset(world: &mut World, sts: &Value) {
    if terminating(sts) {
        return;
    }
    let sts_name = name(sts).to_string();
    let replicas = sts["spec"]["replicas"].as_i64().unwrap_or(1);
    let partition = sts["spec"]["updateStrategy"]["rollingUpdate"]["partition"]
        .as_i64()
        .unwrap_or(0);
    let parallel = sts["spec"]["podManagementPolicy"] == "Parallel";
    let template = sts["spec"]["template"].clone();
    let update_rev = format!("{sts_name}-{}", template_hash(&template, 0));

    let revisions = owned(world, "controllerrevisions", sts);
    let max_rev = revisions
        .iter()
        .filter_map(|r| r["revision"].as_i64())
        .max()
        .unwrap_or(0);
    match revisions.iter().find(|r| name(r) == update_rev) {
        None => {
            let mut data_template = template.clone();
            data_template["$patch"] = json!("replace");
            let rev = json!({"apiVersion": "apps/v1", "kind": "ControllerRevision",
                "metadata": {"name": update_rev, "namespace": ns(sts),
                    "labels": template["metadata"]["labels"].clone(),
                    "ownerReferences": owner_ref(sts)},
                "data": {"spec": {"template": data_template}}, "revision": max_rev + 1});
            let _ = world.create(res_of("controllerrevisions"), rev, &WriteOpts::controller());
        }
        Some(r)
            if r["revision"].as_i64() != Some(max_rev)
                && sts["status"]["updateRevision"] != update_rev =>
        {
            let mut r = r.clone();
            r["revision"] = json!(max_rev + 1);
            controller_update(world, "controllerrevisions", r);
        }
        _ => {}
    }
    let current_rev = sts["status"]["currentRevision"]
        .as_str()
        .filter(|s| !s.is_empty())
        .unwrap_or(&update_rev)
        .to_string();

    let mut pods: BTreeMap<i64, Value> = BTreeMap::new();
    for pod in owned(world, "pods", sts) {
        if let Some(ord) = name(&pod)
            .strip_prefix(&format!("{sts_name}-"))
            .and_then(|o| o.parse::<i64>().ok())
        {
            pods.insert(ord, pod);
        }
    }
    let rev_of = |p: &Value| {
        p["metadata"]["labels"]["controller-revision-hash"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };

    let mut all_ready = true;
    for ord in 0..replicas {
        match pods.get(&ord) {
            None => {
                let rev = if ord < partition {
                    current_rev.clone()
                } else {
                    update_rev.clone()
                };
                let tmpl = if rev == update_rev {
                    template.clone()
                } else {
                    revision_template(world, sts, &rev).unwrap_or_else(|| template.clone())
                };
                let pod_name = format!("{sts_name}-{ord}");
                create_pod(
                    world,
                    sts,
                    &tmpl,
                    Some(pod_name.clone()),
                    &[
                        ("controller-revision-hash", rev),
                        ("statefulset.kubernetes.io/pod-name", pod_name),
                        ("apps.kubernetes.io/pod-index", ord.to_string()),
                    ],
                );
                all_ready = false;
            }
            Some(p) if terminating(p) => all_ready = false,
            Some(p) if p["status"]["phase"] == "Failed" => {
                delete_pod(world, sts, p);
                all_ready = false;
            }
            Some(p) if !is_ready(p) => all_ready = false,
            Some(_) => continue,
        }
        if !parallel {
            break;
        }
    }
    if all_ready {
        let excess = pods.iter().rev().find(|(ord, _)| **ord >= replicas);
        if let Some((_, p)) = excess {
            if !terminating(p) {
                delete_pod(world, sts, p);
            }
        } else if sts["spec"]["updateStrategy"]["type"] != "OnDelete" {
            for ord in (partition..replicas).rev() {
                if let Some(p) = pods.get(&ord)
                    && rev_of(p) != update_rev
                {
                    if !terminating(p) {
                        delete_pod(world, sts, p);
                    }
                    break;
                }
            }
        }
    }

    let live: Vec<&Value> = pods.values().filter(|p| !terminating(p)).collect();
    let ready = live.iter().filter(|p| is_ready(p)).count() as i64;
    let updated = live.iter().filter(|p| rev_of(p) == update_rev).count() as i64;
    let current = live.iter().filter(|p| rev_of(p) == current_rev).count() as i64;
    let mut status_current = current_rev.clone();
    if updated == replicas && ready == replicas && live.len() as i64 == replicas {
        status_current = update_rev.clone();
    }
    let current_count = if status_current == update_rev {
        updated
    } else {
        current
    };
    let status = json!({
        "observedGeneration": sts["metadata"]["generation"],
        "replicas": live.len(),
        "readyReplicas": ready,
        "availableReplicas": ready,
        "currentReplicas": current_count,
        "updatedReplicas": updated,
        "currentRevision": status_current,
        "updateRevision": update_rev,
        "collisionCount": 0,
    });
    world.set_status(&Key::of(res_of("statefulsets"), sts), status);
}

fn revision_template(world: &World, sts: &Value, rev: &str) -> Option<Value> {
    let r = world.get(&Key::new(res_of("controllerrevisions"), ns(sts), rev))?;
    let mut t = r["data"]["spec"]["template"].clone();
    t.as_object_mut()?.remove("$patch");
    Some(t)
}

fn template_without_hash(template: &Value) -> Value {
    let mut t = template.clone();
    if let Some(labels) = t
        .pointer_mut("/metadata/labels")
        .and_then(Value::as_object_mut)
    {
        labels.remove("pod-template-hash");
    }
    t
}

fn revision(obj: &Value) -> i64 {
    obj["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
        .as_str()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

fn resolve(value: &Value, replicas: i64, round_up: bool) -> i64 {
    match value {
        Value::String(s) if s.ends_with('%') => {
            let pct: i64 = s.trim_end_matches('%').parse().unwrap_or(25);
            if round_up {
                (replicas * pct + 99) / 100
            } else {
                replicas * pct / 100
            }
        }
        Value::Number(n) => n.as_i64().unwrap_or(0),
        Value::String(s) => s.parse().unwrap_or(0),
        _ => 0,
    }
}

fn deployment(world: &mut World, deploy: &Value, now: Instant) {
    if terminating(deploy) {
        return;
    }
    let replicas = deploy["spec"]["replicas"].as_i64().unwrap_or(1);
    let template = template_without_hash(&deploy["spec"]["template"]);
    let hash = template_hash(&template, 0);
    let rss = owned(world, "replicasets", deploy);
    let max_rev = rss.iter().map(revision).max().unwrap_or(0);
    let existing = rss
        .iter()
        .find(|rs| template_without_hash(&rs["spec"]["template"]) == template)
        .cloned();
    let mut created_new = false;
    let new_rs = match existing {
        Some(mut rs) => {
            if revision(&rs) < max_rev {
                rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] =
                    json!((max_rev + 1).to_string());
                controller_update(world, "replicasets", rs.clone());
                rs = world
                    .get(&Key::of(res_of("replicasets"), &rs))
                    .cloned()
                    .unwrap_or(rs);
            }
            rs
        }
        None => {
            let rs_name = format!("{}-{hash}", name(deploy));
            let mut rs_template = template.clone();
            rs_template["metadata"]["labels"]["pod-template-hash"] = json!(hash);
            let mut selector = deploy["spec"]["selector"].clone();
            selector["matchLabels"]["pod-template-hash"] = json!(hash);
            let mut annotations = deploy["metadata"]["annotations"].clone();
            if let Some(a) = annotations.as_object_mut() {
                a.remove("kubectl.kubernetes.io/last-applied-configuration");
            } else {
                annotations = json!({});
            }
            annotations["deployment.kubernetes.io/revision"] = json!((max_rev + 1).to_string());
            annotations["deployment.kubernetes.io/desired-replicas"] = json!(replicas.to_string());
            let mut labels = template["metadata"]["labels"].clone();
            labels["pod-template-hash"] = json!(hash);
            let initial = if deploy["spec"]["strategy"]["type"] == "Recreate" || max_rev > 0 {
                0
            } else {
                replicas
            };
            let rs = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {"name": rs_name, "namespace": ns(deploy), "labels": labels,
                    "annotations": annotations, "ownerReferences": owner_ref(deploy)},
                "spec": {"replicas": initial, "minReadySeconds": deploy["spec"]["minReadySeconds"].as_i64().unwrap_or(0),
                    "selector": selector, "template": rs_template}});
            match world.create(res_of("replicasets"), rs, &WriteOpts::controller()) {
                Ok(rs) => {
                    created_new = true;
                    if initial > 0 {
                        let message =
                            format!("Scaled up replica set {rs_name} from 0 to {initial}");
                        world.event(
                            deploy,
                            "Normal",
                            "ScalingReplicaSet",
                            &message,
                            "deployment-controller",
                        );
                    }
                    rs
                }
                Err(_) => return,
            }
        }
    };
    let new_rev = revision(&new_rs).to_string();
    if deploy["metadata"]["annotations"]["deployment.kubernetes.io/revision"] != new_rev.as_str() {
        let mut d = deploy.clone();
        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = json!(new_rev);
        world.put(&Key::of(res_of("deployments"), deploy), d);
    }
    let new_name = name(&new_rs).to_string();
    let olds: Vec<Value> = rss
        .iter()
        .filter(|rs| name(rs) != new_name)
        .cloned()
        .collect();
    let pods_of = |world: &World, rs: &Value| owned(world, "pods", rs);
    let counts = |world: &World, rs: &Value| {
        let pods = pods_of(world, rs);
        let live: Vec<&Value> = pods.iter().filter(|p| !terminating(p)).collect();
        let ready = live.iter().filter(|p| is_ready(p)).count() as i64;
        (live.len() as i64, ready, pods.len() as i64)
    };
    let spec_replicas = |rs: &Value| rs["spec"]["replicas"].as_i64().unwrap_or(0);
    let scale = |world: &mut World, rs: &Value, to: i64| {
        let from = spec_replicas(rs);
        if from == to {
            return;
        }
        let mut r = world
            .get(&Key::of(res_of("replicasets"), rs))
            .cloned()
            .unwrap_or(rs.clone());
        r["spec"]["replicas"] = json!(to);
        r["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] =
            json!(replicas.to_string());
        controller_update(world, "replicasets", r);
        let verb = if to > from { "up" } else { "down" };
        let message = format!("Scaled {verb} replica set {} from {from} to {to}", name(rs));
        world.event(
            deploy,
            "Normal",
            "ScalingReplicaSet",
            &message,
            "deployment-controller",
        );
    };

    if deploy["spec"]["strategy"]["type"] == "Recreate" {
        for old in &olds {
            scale(world, old, 0);
        }
        let old_pods: i64 = olds.iter().map(|o| counts(world, o).2).sum();
        if old_pods == 0 {
            scale(world, &new_rs, replicas);
        }
    } else {
        let ru = &deploy["spec"]["strategy"]["rollingUpdate"];
        let surge = resolve(&ru["maxSurge"], replicas, true);
        let mut unavailable = resolve(&ru["maxUnavailable"], replicas, false);
        if surge == 0 && unavailable == 0 {
            unavailable = 1;
        }
        let all: i64 = spec_replicas(&new_rs) + olds.iter().map(spec_replicas).sum::<i64>();
        let mut new_target = spec_replicas(&new_rs);
        if new_target > replicas {
            new_target = replicas;
        } else if new_target < replicas && all < replicas + surge {
            new_target += (replicas + surge - all).min(replicas - new_target);
        }
        scale(world, &new_rs, new_target);
        let all = new_target + olds.iter().map(spec_replicas).sum::<i64>();
        let min_available = replicas - unavailable;
        let (_, new_ready, _) = counts(world, &new_rs);
        let new_unavailable = (new_target - new_ready).max(0);
        let mut budget = all - min_available - new_unavailable;
        let mut old_specs: Vec<(Value, i64)> =
            olds.iter().map(|o| (o.clone(), spec_replicas(o))).collect();
        for (old, spec) in &mut old_specs {
            if budget <= 0 {
                break;
            }
            let (_, ready, _) = counts(world, old);
            let down = (*spec - ready).max(0).min(budget);
            *spec -= down;
            budget -= down;
        }
        let available: i64 = new_ready + olds.iter().map(|o| counts(world, o).1).sum::<i64>();
        let mut budget = (available - min_available).max(0);
        for (old, spec) in &mut old_specs {
            if budget <= 0 {
                break;
            }
            let (_, ready, _) = counts(world, old);
            let down = (*spec).min(budget).min(ready.max(0));
            *spec -= down;
            budget -= down;
        }
        for (old, spec) in &old_specs {
            scale(world, old, *spec);
        }
    }

    let limit = deploy["spec"]["revisionHistoryLimit"]
        .as_i64()
        .unwrap_or(10) as usize;
    let mut idle: Vec<Value> = olds
        .iter()
        .filter(|o| spec_replicas(o) == 0 && counts(world, o).2 == 0)
        .cloned()
        .collect();
    if idle.len() > limit {
        idle.sort_by_key(revision);
        for rs in &idle[..idle.len() - limit] {
            let _ = world.delete(&Key::of(res_of("replicasets"), rs), None, None, false);
        }
    }

    let (new_live, new_ready, _) = counts(world, &new_rs);
    let mut total_live = new_live;
    let mut total_ready = new_ready;
    let mut total_spec = spec_replicas(
        world
            .get(&Key::of(res_of("replicasets"), &new_rs))
            .unwrap_or(&new_rs),
    );
    for old in &olds {
        let (live, ready, _) = counts(world, old);
        total_live += live;
        total_ready += ready;
        if let Some(o) = world.get(&Key::of(res_of("replicasets"), old)) {
            total_spec += spec_replicas(o);
        }
    }
    let ru = &deploy["spec"]["strategy"]["rollingUpdate"];
    let max_unavailable = if deploy["spec"]["strategy"]["type"] == "Recreate" {
        0
    } else {
        resolve(&ru["maxUnavailable"], replicas, false)
    };
    let old_status = &deploy["status"];
    let counts_now = json!([total_live, new_live, total_ready]);
    let counts_before = json!([
        old_status["replicas"],
        old_status["updatedReplicas"],
        old_status["readyReplicas"].as_i64().unwrap_or(0)
    ]);
    let uid = uid(deploy).to_string();
    if counts_now != counts_before
        || created_new
        || old_status["observedGeneration"] != deploy["metadata"]["generation"]
    {
        world.progress.insert(uid.clone(), now);
    }
    let last_progress = *world.progress.entry(uid).or_insert(now);
    let deadline = Duration::from_secs(
        deploy["spec"]["progressDeadlineSeconds"]
            .as_u64()
            .unwrap_or(600),
    );
    let complete = new_live == replicas && new_ready == replicas && total_live == replicas;
    let old_progressing = old_status["conditions"]
        .as_array()
        .and_then(|l| l.iter().find(|c| c["type"] == "Progressing"))
        .cloned();
    let (p_status, p_reason, p_message) = if complete {
        (
            "True",
            "NewReplicaSetAvailable",
            format!("ReplicaSet \"{new_name}\" has successfully progressed."),
        )
    } else if now.duration_since(last_progress) > deadline
        || old_progressing
            .as_ref()
            .is_some_and(|c| c["reason"] == "ProgressDeadlineExceeded")
    {
        (
            "False",
            "ProgressDeadlineExceeded",
            format!("ReplicaSet \"{new_name}\" has timed out progressing."),
        )
    } else if created_new {
        (
            "True",
            "NewReplicaSetCreated",
            format!("Created new replica set \"{new_name}\""),
        )
    } else {
        (
            "True",
            "ReplicaSetUpdated",
            format!("ReplicaSet \"{new_name}\" is progressing."),
        )
    };
    let available_ok = total_ready >= replicas - max_unavailable;
    let condition = |kind: &str, status: &str, reason: &str, message: &str, bump: bool| {
        let old = old_status["conditions"]
            .as_array()
            .and_then(|l| l.iter().find(|c| c["type"] == kind))
            .cloned();
        let same = old.as_ref().is_some_and(|o| {
            o["status"] == status && o["reason"] == reason && o["message"] == message
        });
        let transition = old
            .as_ref()
            .filter(|o| o["status"] == status)
            .map(|o| o["lastTransitionTime"].clone())
            .unwrap_or(json!(timestamp()));
        let update = if same && !bump {
            old.as_ref()
                .map(|o| o["lastUpdateTime"].clone())
                .unwrap_or(json!(timestamp()))
        } else {
            json!(timestamp())
        };
        json!({"type": kind, "status": status, "lastUpdateTime": update, "lastTransitionTime": transition, "reason": reason, "message": message})
    };
    let available_cond = if available_ok {
        condition(
            "Available",
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
            false,
        )
    } else {
        condition(
            "Available",
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
            false,
        )
    };
    let progressing = condition("Progressing", p_status, p_reason, &p_message, false);
    let mut status = json!({
        "observedGeneration": deploy["metadata"]["generation"],
        "replicas": total_live,
        "updatedReplicas": new_live,
        "readyReplicas": total_ready,
        "availableReplicas": total_ready,
        "conditions": [available_cond, progressing],
    });
    let unavailable = (total_spec - total_ready).max(0);
    if unavailable > 0 {
        status["unavailableReplicas"] = json!(unavailable);
    }
    if let Some(m) = status.as_object_mut() {
        for field in [
            "readyReplicas",
            "availableReplicas",
            "replicas",
            "updatedReplicas",
        ] {
            if m.get(field) == Some(&json!(0)) {
                m.remove(field);
            }
        }
    }
    world.set_status(&Key::of(res_of("deployments"), deploy), status);
}

fn replicaset(world: &mut World, rs: &Value) {
    if terminating(rs) {
        return;
    }
    let want = rs["spec"]["replicas"].as_i64().unwrap_or(1);
    let pods = owned(world, "pods", rs);
    let mut active: Vec<&Value> = pods
        .iter()
        .filter(|p| {
            !terminating(p)
                && !matches!(p["status"]["phase"].as_str(), Some("Failed" | "Succeeded"))
        })
        .collect();
    let have = active.len() as i64;
    if have < want {
        for _ in have..want {
            create_pod(world, rs, &rs["spec"]["template"], None, &[]);
        }
    } else if have > want {
        active.sort_by_key(|p| {
            (
                is_ready(p),
                std::cmp::Reverse(
                    p["metadata"]["creationTimestamp"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                ),
            )
        });
        for pod in active.iter().take((have - want) as usize) {
            delete_pod(world, rs, pod);
        }
    }
    let pods = owned(world, "pods", rs);
    let live: Vec<&Value> = pods.iter().filter(|p| !terminating(p)).collect();
    let ready = live.iter().filter(|p| is_ready(p)).count();
    let selector = LabelSelector::from_object(&rs["spec"]["selector"]);
    let labeled = live
        .iter()
        .filter(|p| selector.matches(&p["metadata"]["labels"]))
        .count();
    let mut status = json!({
        "replicas": live.len(),
        "fullyLabeledReplicas": labeled,
        "readyReplicas": ready,
        "availableReplicas": ready,
        "observedGeneration": rs["metadata"]["generation"],
    });
    if let Some(m) = status.as_object_mut() {
        for field in ["readyReplicas", "availableReplicas", "fullyLabeledReplicas"] {
            if m.get(field) == Some(&json!(0)) {
                m.remove(field);
            }
        }
    }
    world.set_status(&Key::of(res_of("replicasets"), rs), status);
}

fn garbage_collect(world: &mut World) {
    let uids = world.all_uids();
    let keys = world.keys();
    let mut foreground_owners = std::collections::HashSet::new();
    for key in &keys {
        let Some(obj) = world.get(key) else { continue };
        let foreground = obj["metadata"]["finalizers"]
            .as_array()
            .is_some_and(|f| f.iter().any(|f| f == "foregroundDeletion"));
        if terminating(obj) && foreground {
            foreground_owners.insert(uid(obj).to_string());
        }
    }
    // Decided on borrowed objects, then deleted: cloning every object of the world on every
    // pass made the fake CPU-bound at 100 cats.
    let doomed: Vec<&Key> = keys
        .iter()
        .filter(|key| {
            let Some(obj) = world.get(key) else {
                return false;
            };
            let Some(refs) = obj["metadata"]["ownerReferences"]
                .as_array()
                .filter(|r| !r.is_empty())
            else {
                return false;
            };
            let mut owner_uids = refs.iter().filter_map(|r| r["uid"].as_str());
            let orphaned = owner_uids.clone().all(|u| !uids.contains(u));
            let foreground = owner_uids.any(|u| foreground_owners.contains(u));
            (orphaned || foreground) && !terminating(obj)
        })
        .collect();
    for key in doomed {
        let _ = world.delete(key, None, None, false);
    }
    for owner_uid in foreground_owners {
        if world.has_dependents(&owner_uid) {
            continue;
        }
        let key = keys
            .iter()
            .find(|k| world.get(k).is_some_and(|o| uid(o) == owner_uid))
            .cloned();
        if let Some(key) = key
            && let Some(mut obj) = world.get(&key).cloned()
        {
            if let Some(f) = obj
                .pointer_mut("/metadata/finalizers")
                .and_then(Value::as_array_mut)
            {
                f.retain(|f| f != "foregroundDeletion");
            }
            let _ = world.update(key.res, obj, &WriteOpts::controller(), true);
        }
    }
    for ns_obj in world.list_cloned(res_of("namespaces"), None) {
        if !terminating(&ns_obj) {
            continue;
        }
        let ns_name = name(&ns_obj).to_string();
        let inside: Vec<Key> = keys
            .iter()
            .filter(|k| k.def().namespaced && k.ns == ns_name)
            .cloned()
            .collect();
        if inside.is_empty() {
            world.remove(&Key::of(res_of("namespaces"), &ns_obj));
        }
        for key in inside {
            if world.get(&key).is_some_and(|o| !terminating(o)) {
                let _ = world.delete(&key, None, None, false);
            }
        }
    }
}
