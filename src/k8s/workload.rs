//! A cat's workload in the cluster (its StatefulSet or Deployment): server-side apply, reading
//! it back, and the deploy history catctl records on it.

use crate::k8s::Cluster;
use anyhow::{Context as _, Result};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use kube::Api;
use kube::api::{ApiResource, DynamicObject, Patch, PatchParams};
use serde::{Deserialize, Serialize};

use crate::image::{Digest, ImageRef};
use crate::k8s::FIELD_MANAGER;
use crate::manifest::{Kind, Rendered};

/// The annotation holding the last deploys of a cat, newest last, as JSON.
pub use crate::labels::HISTORY as HISTORY_ANNOTATION;
/// How many deploys the history keeps.
pub const HISTORY_LIMIT: usize = 10;
/// The field manager that owns the history annotation, so catctl's own applies never drop it.
const HISTORY_MANAGER: &str = "catctl-history";

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

/// One successful deploy, as recorded in the history annotation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revision {
    pub revision: u32,
    pub tag: String,
    pub digest: Digest,
    /// `registry/repository:tag`, without the digest.
    pub image: ImageRef,
    pub deployed_at: String,
    pub cause: String,
}

/// The history recorded on `object` (empty when there is none or it is unreadable).
pub fn history(object: &DynamicObject) -> Vec<Revision> {
    object
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(HISTORY_ANNOTATION))
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or_default()
}

/// `history` with `entry` appended (numbered after the last), trimmed to the limit. A deploy
/// of the image already at the top is not a new revision.
pub fn with_entry(mut history: Vec<Revision>, mut entry: Revision) -> Vec<Revision> {
    if let Some(last) = history.last() {
        if last.image == entry.image {
            return history;
        }
        entry.revision = last.revision + 1;
    } else {
        entry.revision = 1;
    }
    history.push(entry);
    let excess = history.len().saturating_sub(HISTORY_LIMIT);
    history.drain(..excess);
    history
}

/// Writes `history` onto the workload, under its own field manager.
pub async fn record_history(
    cluster: &Cluster,
    kind: Kind,
    name: &str,
    history: &[Revision],
) -> Result<()> {
    let resource = resource(kind);
    let patch = serde_json::json!({
        "apiVersion": resource.api_version,
        "kind": resource.kind,
        "metadata": {
            "name": name,
            "annotations": { HISTORY_ANNOTATION: serde_json::to_string(history)? },
        },
    });
    api(cluster, kind)
        .patch(
            name,
            &PatchParams::apply(HISTORY_MANAGER).force(),
            &Patch::Apply(&patch),
        )
        .await
        .map_err(crate::k8s::readable)
        .with_context(|| format!("recording the deploy history of {} {name}", kind.as_str()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(image: &str) -> Revision {
        Revision {
            revision: 0,
            tag: "v1".into(),
            digest: Digest::sha256(&[1; 32]),
            image: ImageRef::parse(&format!("r/{image}:v1")).unwrap(),
            deployed_at: "2026-11-21T00:00:00Z".into(),
            cause: "test".into(),
        }
    }

    #[test]
    fn conflict_messages_name_their_managers() {
        let message = "Apply failed with 2 conflicts: conflict with \"kubectl\" using apps/v1: .spec.replicas\nconflict with \"kubectl\" using apps/v1: .spec.x";
        assert_eq!(conflicting_managers(message), ["kubectl"]);
    }

    #[test]
    fn history_numbers_entries_skips_repeats_and_keeps_ten() {
        let mut history = Vec::new();
        for i in 0..12 {
            history = with_entry(history, entry(&format!("img{i}")));
        }
        assert_eq!(history.len(), HISTORY_LIMIT);
        assert_eq!(history.first().unwrap().revision, 3);
        assert_eq!(history.last().unwrap().revision, 12);
        let again = with_entry(history.clone(), entry("img11"));
        assert_eq!(again, history);
    }
}
