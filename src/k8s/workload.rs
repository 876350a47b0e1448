//! A cat's workload in the cluster (its StatefulSet or Deployment): server-side apply, reading
//! it back.

use std::collections::BTreeMap;

use crate::k8s::Cluster;
use anyhow::{Context as _, Result};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::{ApiResource, DynamicObject, ListParams, Patch, PatchParams};

use crate::image::{Digest, running_digest};
use crate::k8s::FIELD_MANAGER;
use crate::labels;
use crate::manifest::{Kind, Rendered};

pub fn resource(kind: Kind) -> ApiResource {
    match kind {
        Kind::StatefulSet => ApiResource::erase::<StatefulSet>(&()),
        Kind::Deployment => ApiResource::erase::<Deployment>(&()),
    }
}

pub fn api(cluster: &Cluster, kind: Kind) -> Api<DynamicObject> {
    let (client, namespace) = (&cluster.client, cluster.namespace.as_str());
    Api::namespaced_with(client.clone(), namespace, &resource(kind))
}

/// What the API server answered to an apply.
#[derive(Debug, Clone)]
pub struct Applied {
    pub generation: i64,
    pub object: DynamicObject,
}

/// Server-side applies `rendered` with field manager `catctl`. A field owned by another
/// manager is an error naming that manager unless `force`; `dry_run` asks the server what
/// would change without changing it.
pub async fn apply(
    cluster: &Cluster,
    rendered: &Rendered,
    force: bool,
    dry_run: bool,
) -> Result<Applied> {
    let mut params = PatchParams::apply(FIELD_MANAGER);
    params.force = force;
    params.dry_run = dry_run;
    let what = format!("{} {}", rendered.kind.as_str(), rendered.name);
    let api = api(cluster, rendered.kind);
    let patch = Patch::Apply(&rendered.object);
    let object = match api.patch(&rendered.name, &params, &patch).await {
        // `catctl sleep`/`wake` own spec.replicas under their own manager: not a stranger.
        Err(kube::Error::Api(status))
            if status.code == 409 && only_sleep_conflicts(&status.message) =>
        {
            params.force = true;
            api.patch(&rendered.name, &params, &patch).await
        }
        other => other,
    }
    .map_err(|err| explain_apply_error(err, &rendered.name, &what))?;
    Ok(Applied {
        generation: object.metadata.generation.unwrap_or(0),
        object,
    })
}

fn explain_apply_error(err: kube::Error, cat: &str, what: &str) -> anyhow::Error {
    if let kube::Error::Api(status) = &err
        && status.code == 409
    {
        let managers = conflicting_managers(&status.message);
        let fields = status
            .message
            .split_once(':')
            .map(|(_, rest)| rest.trim())
            .unwrap_or("");
        let owner = if managers.is_empty() {
            "another field manager".to_string()
        } else {
            managers.join(", ")
        };
        return anyhow::anyhow!(
            "{what} has fields owned by {owner} ({fields}) — someone changed it outside catctl \
             (e.g. `kubectl scale`); run `catctl deploy {cat} --force` to take them over"
        );
    }
    crate::k8s::readable(err).context(format!("applying {what}"))
}

/// Whether every field in conflict belongs to catctl's own sleep manager.
fn only_sleep_conflicts(message: &str) -> bool {
    let managers = conflicting_managers(message);
    !managers.is_empty()
        && managers
            .iter()
            .all(|m| m == crate::k8s::sleep::SLEEP_MANAGER)
}

/// The managers named in a server-side apply conflict message: `conflict with "kubectl" …`.
pub fn conflicting_managers(message: &str) -> Vec<String> {
    let mut managers = Vec::new();
    for part in message.split("conflict with \"").skip(1) {
        if let Some((manager, _)) = part.split_once('"')
            && !managers.iter().any(|m| m == manager)
        {
            managers.push(manager.to_string());
        }
    }
    managers
}

/// The cat's workload of `kind`, if it exists.
pub async fn get(cluster: &Cluster, kind: Kind, name: &str) -> Result<Option<DynamicObject>> {
    let namespace = cluster.namespace.as_str();
    api(cluster, kind)
        .get_opt(name)
        .await
        .map_err(crate::k8s::readable)
        .with_context(|| format!("reading {} {name} in namespace {namespace}", kind.as_str()))
}

/// Every workload of `kind` in the namespace, by name, in one request. Not only catctl's: a
/// hand-made workload named like a cat must still be seen.
pub async fn list(cluster: &Cluster, kind: Kind) -> Result<BTreeMap<String, DynamicObject>> {
    let namespace = cluster.namespace.as_str();
    let list = api(cluster, kind)
        .list(&ListParams::default())
        .await
        .map_err(crate::k8s::readable)
        .with_context(|| format!("listing {}s in namespace {namespace}", kind.as_str()))?;
    Ok(list
        .items
        .into_iter()
        .filter_map(|o| Some((o.metadata.name.clone()?, o)))
        .collect())
}

/// The pods of every cat (catctl's label selector), in one request.
pub async fn pods(cluster: &Cluster) -> Result<Vec<Pod>> {
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let selector = crate::k8s::managed_selector();
    let list = pods
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(crate::k8s::readable)
        .with_context(|| format!("listing the cats' pods in namespace {}", cluster.namespace))?;
    Ok(list.items)
}

/// `pods` by cat (their `app` label).
pub fn by_cat(pods: &[Pod]) -> BTreeMap<String, Vec<Pod>> {
    let mut by_cat: BTreeMap<String, Vec<Pod>> = BTreeMap::new();
    for pod in pods.iter().cloned() {
        if let Some(cat) = pod
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(labels::APP))
        {
            by_cat.entry(cat.clone()).or_default().push(pod);
        }
    }
    by_cat
}

/// The digests `pods` run (from their `imageID`s), each once.
pub fn digests_of(pods: &[Pod]) -> Vec<Digest> {
    let mut digests: Vec<Digest> = pods
        .iter()
        .flat_map(|p| {
            p.status
                .iter()
                .flat_map(|s| s.container_statuses.iter().flatten())
        })
        .filter_map(|c| running_digest(&c.image_id))
        .collect();
    digests.sort();
    digests.dedup();
    digests
}

/// The digests the cat's pods run now (from their `imageID`s), each once.
pub async fn running_digests(cluster: &Cluster, cat: &str) -> Result<Vec<Digest>> {
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let selector = format!("{}={cat},{}", labels::APP, crate::k8s::managed_selector());
    let list = pods
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(crate::k8s::readable)
        .with_context(|| {
            format!(
                "reading the pods of {cat} in namespace {}",
                cluster.namespace
            )
        })?;
    Ok(digests_of(&list.items))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflict_messages_name_their_managers() {
        let message = "Apply failed with 2 conflicts: conflict with \"kubectl\" using apps/v1: .spec.replicas\nconflict with \"kubectl\" using apps/v1: .spec.x";
        assert_eq!(conflicting_managers(message), ["kubectl"]);
    }
}
