//! A cat's deploy history: what ran, recorded in one ConfigMap per cat
//! (`catctl-history-<cat>`, key `revisions`, JSON, newest last). Each entry holds the whole
//! workload catctl applied, so a rollback re-applies exactly what ran, not only its image.
//! The same ConfigMap holds the cat's deploy lock ([`crate::k8s::lock`]).
//! A ConfigMap, not an annotation on the workload: the history outlives a deleted workload,
//! stays out of `diff` and `kubectl get -o yaml`, and has the whole 1 MiB object to itself.

use std::collections::BTreeMap;

use anyhow::{Context as _, Result};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::{ListParams, ObjectMeta};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::image::{Digest, ImageRef};
use crate::k8s::{self, Cluster};
use crate::labels;

/// How many entries the history keeps.
pub const HISTORY_LIMIT: usize = 10;
/// The most the history's JSON may take (a ConfigMap holds at most 1 MiB); the oldest entries
/// go first.
const MAX_BYTES: usize = 900 * 1024;
const KEY: &str = "revisions";
/// The field manager that writes the history.
pub const HISTORY_MANAGER: &str = "catctl-history";

/// Whether a recorded deploy ran (the cluster confirmed the pinned digest running) or failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ran {
    Ran,
    Failed,
}

/// One deploy, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Revision {
    pub revision: u32,
    pub result: Ran,
    pub tag: String,
    pub digest: Digest,
    /// `registry/repository:tag`, without the digest.
    pub image: ImageRef,
    /// The digest of the sources the image was built from.
    pub source_digest: Option<Digest>,
    /// The git commit the image was built from, and whether the tree was dirty.
    pub git_commit: Option<String>,
    #[serde(default)]
    pub git_dirty: bool,
    /// sha256 of the applied workload.
    pub manifest_checksum: String,
    /// The whole workload as applied.
    pub workload: serde_json::Value,
    pub deployed_at: String,
    /// `user@host` of whoever deployed.
    pub by: String,
    pub cause: String,
}

impl Revision {
    pub fn ran(&self) -> bool {
        self.result == Ran::Ran
    }
}

/// The ConfigMap holding `cat`'s history.
pub fn configmap_name(cat: &str) -> String {
    format!("catctl-history-{cat}")
}

/// sha256 of a workload object, as recorded.
pub fn manifest_checksum(object: &serde_json::Value) -> String {
    Digest::sha256(&Sha256::digest(object.to_string().as_bytes()))
        .hex()
        .to_string()
}

/// The history of `cat`, oldest first; empty when none was recorded.
pub async fn read(cluster: &Cluster, cat: &str) -> Result<Vec<Revision>> {
    let name = configmap_name(cat);
    let api: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let found = api
        .get_opt(&name)
        .await
        .map_err(k8s::readable)
        .with_context(|| {
            format!(
                "reading ConfigMap {name} in namespace {}",
                cluster.namespace
            )
        })?;
    parse(cluster, cat, found)
}

/// Every cat's history ConfigMap (catctl's label selector), by ConfigMap name, in one request;
/// [`parse`] reads one.
pub async fn list(cluster: &Cluster) -> Result<BTreeMap<String, ConfigMap>> {
    let api: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let params = ListParams::default().labels(&k8s::managed_selector());
    let list = api
        .list(&params)
        .await
        .map_err(k8s::readable)
        .with_context(|| {
            format!(
                "listing the deploy histories in namespace {}",
                cluster.namespace
            )
        })?;
    Ok(list
        .items
        .into_iter()
        .filter_map(|c| Some((c.metadata.name.clone()?, c)))
        .collect())
}

/// The history `configmap` holds for `cat`, oldest first; empty when there is none.
pub fn parse(cluster: &Cluster, cat: &str, configmap: Option<ConfigMap>) -> Result<Vec<Revision>> {
    let name = configmap_name(cat);
    let Some(text) = configmap
        .and_then(|c| c.data)
        .and_then(|mut d| d.remove(KEY))
    else {
        return Ok(Vec::new());
    };
    serde_json::from_str(&text).with_context(|| {
        format!(
            "ConfigMap {name} does not hold a history catctl can read — delete it with \
             `kubectl delete configmap {name} -n {}`",
            cluster.namespace
        )
    })
}

/// `history` with `entry` appended (numbered after the last), trimmed to the limits. The same
/// workload with the same outcome as the newest entry is not a new revision.
pub fn with_entry(mut history: Vec<Revision>, mut entry: Revision) -> Vec<Revision> {
    if let Some(last) = history.last() {
        if last.digest == entry.digest
            && last.manifest_checksum == entry.manifest_checksum
            && last.result == entry.result
        {
            return history;
        }
        entry.revision = last.revision + 1;
    } else {
        entry.revision = 1;
    }
    history.push(entry);
    let excess = history.len().saturating_sub(HISTORY_LIMIT);
    history.drain(..excess);
    while history.len() > 1 && serde_json::to_string(&history).map_or(0, |t| t.len()) > MAX_BYTES {
        history.remove(0);
    }
    history
}

/// A new history ConfigMap for `cat` holding `history`, and `lock` when given.
pub fn configmap(
    cat: &str,
    history: &[Revision],
    lock: Option<&crate::k8s::lock::Lock>,
) -> Result<ConfigMap> {
    let mut data = BTreeMap::from([(KEY.to_string(), serde_json::to_string(history)?)]);
    if let Some(lock) = lock {
        data.insert(
            crate::k8s::lock::KEY.to_string(),
            serde_json::to_string(lock)?,
        );
    }
    Ok(ConfigMap {
        metadata: ObjectMeta {
            name: Some(configmap_name(cat)),
            labels: Some(BTreeMap::from([
                (
                    labels::MANAGED_BY.to_string(),
                    labels::MANAGED_BY_CATCTL.to_string(),
                ),
                (labels::NAME.to_string(), cat.to_string()),
            ])),
            ..ObjectMeta::default()
        },
        data: Some(data),
        ..ConfigMap::default()
    })
}

/// The history `configmap` holds, oldest first.
pub fn parse_configmap(configmap: &ConfigMap) -> Result<Vec<Revision>> {
    let name = configmap.metadata.name.clone().unwrap_or_default();
    let Some(text) = configmap.data.as_ref().and_then(|d| d.get(KEY)) else {
        return Ok(Vec::new());
    };
    serde_json::from_str(text).with_context(|| {
        format!("ConfigMap {name} does not hold a history catctl can read — delete it with `kubectl delete configmap {name}`")
    })
}

/// `configmap` holding `history` instead of its own.
pub fn with_revisions(configmap: &ConfigMap, history: &[Revision]) -> Result<ConfigMap> {
    let mut next = configmap.clone();
    next.data
        .get_or_insert_with(Default::default)
        .insert(KEY.to_string(), serde_json::to_string(history)?);
    Ok(next)
}

/// Who deploys: `$USER@host`.
pub fn who() -> String {
    crate::k8s::sleep::whoami()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(byte: u8, result: Ran) -> Revision {
        let object = serde_json::json!({"image": byte});
        Revision {
            revision: 0,
            result,
            tag: "v1".into(),
            digest: Digest::sha256(&[byte; 32]),
            image: ImageRef::parse("r/dd:v1").unwrap(),
            source_digest: None,
            git_commit: None,
            git_dirty: false,
            manifest_checksum: manifest_checksum(&object),
            workload: object,
            deployed_at: "2026-11-21T00:00:00Z".into(),
            by: "me@here".into(),
            cause: "test".into(),
        }
    }

    #[test]
    fn history_numbers_entries_skips_repeats_and_keeps_ten() {
        let mut history = Vec::new();
        for i in 0..12 {
            history = with_entry(history, entry(i, Ran::Ran));
        }
        assert_eq!(history.len(), HISTORY_LIMIT);
        assert_eq!(history.first().unwrap().revision, 3);
        assert_eq!(history.last().unwrap().revision, 12);
        let again = with_entry(history.clone(), entry(11, Ran::Ran));
        assert_eq!(again, history);
        let failed = with_entry(history.clone(), entry(11, Ran::Failed));
        assert_eq!(failed.last().unwrap().revision, 13);
        assert!(!failed.last().unwrap().ran());
    }

    #[test]
    fn history_stays_under_the_configmap_limit() {
        let mut history = Vec::new();
        for i in 0..5 {
            let mut big = entry(i, Ran::Ran);
            big.workload = serde_json::json!({"blob": "x".repeat(300 * 1024)});
            history = with_entry(history, big);
        }
        assert!(serde_json::to_string(&history).unwrap().len() <= MAX_BYTES);
        assert_eq!(history.last().unwrap().revision, 5);
    }
}
