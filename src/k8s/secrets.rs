//! Secrets in the cluster: list, server-side apply, delete. Values stay in `SecretValue`.

use crate::k8s::Cluster;
use std::collections::BTreeMap;

use anyhow::{Context as _, Result};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::{DeleteParams, ListParams, ObjectMeta, Patch, PatchParams};

use crate::k8s::{self, CAT_LABEL, FIELD_MANAGER, MANAGED_BY, MANAGED_BY_LABEL};
use crate::secrets::{LocalSecret, SecretValue, checksum, fingerprint};

/// A Secret as the cluster has it.
#[derive(Debug, Clone)]
pub struct ClusterSecret {
    pub name: String,
    pub managed: bool,
    pub labels: BTreeMap<String, String>,
    pub data: BTreeMap<String, SecretValue>,
}

impl ClusterSecret {
    pub fn fingerprint(&self) -> String {
        fingerprint(self.data.iter().map(|(k, v)| (k.as_str(), v.expose())))
    }

    /// The full checksum of the data, for the pod-template annotation that restarts a cat
    /// when its Secret changes.
    pub fn checksum(&self) -> String {
        checksum(self.data.iter().map(|(k, v)| (k.as_str(), v.expose())))
    }
}

/// The Secret `name`, if it exists (one GET).
pub async fn get(cluster: &Cluster, name: &str) -> Result<Option<ClusterSecret>> {
    let (client, namespace) = (&cluster.client, cluster.namespace.as_str());
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let found = api
        .get_opt(name)
        .await
        .map_err(k8s::readable)
        .with_context(|| format!("reading Secret {name} in namespace {namespace}"))?;
    Ok(found.map(from_cluster))
}

/// The Secrets catctl manages (its label selector), by name, in one request.
pub async fn list_managed(cluster: &Cluster) -> Result<BTreeMap<String, ClusterSecret>> {
    let (client, namespace) = (&cluster.client, cluster.namespace.as_str());
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let list = api
        .list(&ListParams::default().labels(&k8s::managed_selector()))
        .await
        .map_err(k8s::readable)
        .with_context(|| format!("listing catctl's Secrets in namespace {namespace}"))?;
    Ok(list
        .items
        .into_iter()
        .map(from_cluster)
        .map(|s| (s.name.clone(), s))
        .collect())
}

/// Every Secret of the namespace, in one request.
pub async fn list(cluster: &Cluster) -> Result<Vec<ClusterSecret>> {
    let (client, namespace) = (&cluster.client, cluster.namespace.as_str());
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let list = api
        .list(&ListParams::default())
        .await
        .map_err(k8s::readable)
        .with_context(|| format!("listing Secrets in namespace {namespace}"))?;
    Ok(list.items.into_iter().map(from_cluster).collect())
}

fn from_cluster(secret: Secret) -> ClusterSecret {
    let labels = secret.metadata.labels.unwrap_or_default();
    let mut data: BTreeMap<String, SecretValue> = secret
        .data
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, SecretValue::new(v.0)))
        .collect();
    for (k, v) in secret.string_data.unwrap_or_default() {
        data.insert(k, SecretValue::new(v.into_bytes()));
    }
    ClusterSecret {
        name: secret.metadata.name.unwrap_or_default(),
        managed: labels.get(MANAGED_BY_LABEL).map(String::as_str) == Some(MANAGED_BY),
        labels,
        data,
    }
}

/// The labels catctl puts on the Secret made from `local`.
pub fn labels_for(cat: Option<&str>) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::from([(MANAGED_BY_LABEL.to_string(), MANAGED_BY.to_string())]);
    if let Some(cat) = cat {
        labels.insert(CAT_LABEL.to_string(), cat.to_string());
    }
    labels
}

/// Creates or updates the Secret from `local` by server-side apply. `secret/` is the source of
/// truth, so catctl takes ownership of the fields (force) from e.g. an earlier `kubectl create`.
///
/// Apply removes a key dropped from `local` only when catctl owned it; a key another manager
/// owns (`kubectl-create`, for a Secret secret.sh made) would stay for ever, so such leftovers
/// are removed with a second, merge patch.
pub async fn apply(cluster: &Cluster, local: &LocalSecret, cat: Option<&str>) -> Result<()> {
    let (client, namespace) = (&cluster.client, cluster.namespace.as_str());
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(local.name.clone()),
            namespace: Some(namespace.to_string()),
            labels: Some(labels_for(cat)),
            ..ObjectMeta::default()
        },
        type_: Some("Opaque".to_string()),
        data: Some(
            local
                .data
                .iter()
                .map(|(k, v)| (k.clone(), ByteString(v.expose().to_vec())))
                .collect(),
        ),
        ..Secret::default()
    };
    let applied = api
        .patch(
            &local.name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&secret),
        )
        .await
        .map_err(k8s::readable)
        .with_context(|| format!("applying Secret {} in namespace {namespace}", local.name))?;
    let leftovers: serde_json::Map<String, serde_json::Value> = applied
        .data
        .unwrap_or_default()
        .into_keys()
        .filter(|key| !local.data.contains_key(key))
        .map(|key| (key, serde_json::Value::Null))
        .collect();
    if !leftovers.is_empty() {
        let keys: Vec<&String> = leftovers.keys().collect();
        let params = PatchParams {
            field_manager: Some(FIELD_MANAGER.to_string()),
            ..PatchParams::default()
        };
        let removal = serde_json::json!({ "data": leftovers });
        api.patch(&local.name, &params, &Patch::Merge(&removal))
            .await
            .map_err(k8s::readable)
            .with_context(|| {
                format!(
                    "removing the keys {keys:?} that secret/{} no longer has from Secret {} in \
                     namespace {namespace}",
                    local.name, local.name
                )
            })?;
    }
    Ok(())
}

pub async fn delete(cluster: &Cluster, name: &str) -> Result<()> {
    let (client, namespace) = (&cluster.client, cluster.namespace.as_str());
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    api.delete(name, &DeleteParams::default())
        .await
        .map_err(k8s::readable)
        .with_context(|| format!("deleting Secret {name} in namespace {namespace}"))?;
    Ok(())
}
