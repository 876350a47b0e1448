//! Putting a cat's workload to sleep and waking it: `spec.replicas` and the asleep annotation,
//! server-side applied under catctl's own sleep field manager, so `deploy` (manager `catctl`)
//! never meets a stranger's field and a later deploy can keep the cat asleep.

use std::collections::BTreeMap;

use anyhow::{Context as _, Result};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{DynamicObject, Patch, PatchParams};
use serde::{Deserialize, Serialize};

use crate::k8s::Cluster;
use crate::k8s::workload::{api, resource};
use crate::labels::ASLEEP;
use crate::manifest::Kind;

/// The field manager of `sleep` and `wake`: it owns `spec.replicas` while a cat sleeps.
pub const SLEEP_MANAGER: &str = "catctl-sleep";

/// Who put a cat to sleep, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Asleep {
    /// RFC 3339, to the second.
    pub since: String,
    /// `$USER@host`, or the CronJob that did it.
    pub by: String,
}

impl Asleep {
    /// Now, by the user running catctl.
    pub fn now_by_me() -> Asleep {
        let now = jiff::Timestamp::now();
        Asleep {
            since: now.round(jiff::Unit::Second).unwrap_or(now).to_string(),
            by: whoami(),
        }
    }
}

/// `$USER@host` (the host from the kernel, as `hostname` prints it).
pub fn whoami() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok()
        .filter(|u| !u.is_empty())
        .or_else(user_of_uid)
        .unwrap_or_else(|| "unknown".to_string());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".to_string());
    format!("{user}@{host}")
}

/// The name /etc/passwd gives this process's real uid, when $USER is not set (cron, containers).
fn user_of_uid() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .to_string();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        (fields.nth(1)? == uid).then(|| name.to_string())
    })
}

/// The asleep annotation of a workload, if it sleeps.
pub fn asleep(object: &DynamicObject) -> Option<Asleep> {
    asleep_of(&object.metadata, replicas(object))
}

/// Who sent a workload to sleep: its asleep annotation, else — at 0 replicas — the schedule's
/// CronJob, whose scale write shows in the managed fields.
pub fn asleep_of(meta: &ObjectMeta, replicas: Option<i64>) -> Option<Asleep> {
    asleep_in(meta.annotations.as_ref()).or_else(|| {
        if replicas != Some(0) {
            return None;
        }
        let entry = meta.managed_fields.iter().flatten().find(|e| {
            e.manager.as_deref() == Some(SLEEP_MANAGER) && e.subresource.as_deref() == Some("scale")
        })?;
        Some(Asleep {
            since: entry
                .time
                .as_ref()
                .map_or_else(|| "?".to_string(), |t| t.0.to_string()),
            by: "its schedule".to_string(),
        })
    })
}

/// The asleep mark among a workload's annotations.
pub fn asleep_in(annotations: Option<&BTreeMap<String, String>>) -> Option<Asleep> {
    let text = annotations?.get(ASLEEP)?;
    Some(serde_json::from_str(text).unwrap_or_else(|_| Asleep {
        since: "?".into(),
        by: text.clone(),
    }))
}

/// The workload's `spec.replicas`.
pub fn replicas(object: &DynamicObject) -> Option<i64> {
    object
        .data
        .pointer("/spec/replicas")
        .and_then(|r| r.as_i64())
}

/// Applies `replicas` (and the asleep annotation when `asleep` is given, removing it
/// otherwise) under [`SLEEP_MANAGER`], taking `spec.replicas` over from whoever owns it.
pub async fn set_replicas(
    cluster: &Cluster,
    kind: Kind,
    name: &str,
    replicas: u32,
    asleep: Option<&Asleep>,
) -> Result<DynamicObject> {
    let resource = resource(kind);
    let mut patch = serde_json::json!({
        "apiVersion": resource.api_version,
        "kind": resource.kind,
        "metadata": { "name": name },
        "spec": { "replicas": replicas },
    });
    if let Some(asleep) = asleep {
        patch["metadata"]["annotations"] =
            serde_json::json!({ ASLEEP: serde_json::to_string(asleep)? });
    }
    api(cluster, kind)
        .patch(
            name,
            &PatchParams::apply(SLEEP_MANAGER).force(),
            &Patch::Apply(&patch),
        )
        .await
        .map_err(crate::k8s::readable)
        .with_context(|| {
            format!(
                "scaling {} {name} to {replicas} in namespace {}",
                kind.as_str(),
                cluster.namespace
            )
        })
}

/// Sets the workload's replicas through its scale subresource under [`SLEEP_MANAGER`]: all the
/// schedule's Role allows.
pub async fn scale_to(cluster: &Cluster, kind: Kind, name: &str, replicas: u32) -> Result<()> {
    let patch = serde_json::json!({
        "apiVersion": "autoscaling/v1",
        "kind": "Scale",
        "metadata": { "name": name },
        "spec": { "replicas": replicas },
    });
    api(cluster, kind)
        .patch_scale(
            name,
            &PatchParams::apply(SLEEP_MANAGER).force(),
            &Patch::Apply(&patch),
        )
        .await
        .map_err(crate::k8s::readable)
        .with_context(|| {
            format!(
                "scaling {} {name} to {replicas} in namespace {}",
                kind.as_str(),
                cluster.namespace
            )
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asleep_reads_the_annotation_and_survives_a_hand_written_one() {
        let mut object = DynamicObject::new("dd", &resource(Kind::StatefulSet));
        assert_eq!(asleep(&object), None);
        let mark = Asleep {
            since: "2026-01-01T23:00:00Z".into(),
            by: "me@host".into(),
        };
        object.metadata.annotations = Some(
            [(ASLEEP.to_string(), serde_json::to_string(&mark).unwrap())]
                .into_iter()
                .collect(),
        );
        assert_eq!(asleep(&object), Some(mark));
        object.metadata.annotations = Some(
            [(ASLEEP.to_string(), "cron".to_string())]
                .into_iter()
                .collect(),
        );
        assert_eq!(asleep(&object).map(|a| a.by), Some("cron".into()));
    }

    #[test]
    fn whoami_is_user_at_host() {
        let who = whoami();
        assert!(who.contains('@'), "{who}");
    }
}
