//! Per cat: what is declared, what the registry has, what runs, and where they drift apart.

use std::collections::BTreeMap;

use anyhow::{Context as _, Result};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::ListParams;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::cat_runtime::secret_name;
use crate::docker::Daemon;
use crate::farm::{Cat, Farm, SECRET_DIR};
use crate::image::{Digest, running_digest};
use crate::k8s::secrets as cluster_secrets;
use crate::k8s::sleep::{Asleep, asleep_of};
use crate::k8s::{Cluster, FIELD_MANAGER, managed_selector, rollout};
use crate::labels;
use crate::manifest::Kind;
use crate::ops::verify::{self, Finding, Verification};
use crate::registry::Registry;
use crate::secrets::local::{self, Findings};

/// One cat's state.
#[derive(Debug)]
pub struct CatStatus {
    pub cat: String,
    pub tag: String,
    pub registry_digest: Option<Digest>,
    pub running_digests: Vec<Digest>,
    pub ready: i32,
    pub desired: Option<i32>,
    pub restarts: i32,
    pub age_seconds: Option<i64>,
    pub drift: Vec<String>,
}

/// Where a cat runs, as the cluster says.
#[derive(Default)]
struct Running {
    desired: Option<i32>,
    ready: i32,
    pods: Vec<Pod>,
    /// The field managers other than catctl that set a container's image.
    image_managers: Vec<String>,
    /// The Secret checksum in the pod template: the token the pods were started with.
    applied_secret: Option<String>,
    asleep: Option<Asleep>,
    /// The workload's kind, when there is one.
    kind: Option<&'static str>,
    /// Its version label.
    version: Option<String>,
}

/// The cluster's Secrets and the local ones, by Secret name: checksums.
struct Tokens {
    cluster: BTreeMap<String, String>,
    local: BTreeMap<String, String>,
}

/// The state of `cats`: the cluster read once for all (pods and both workload kinds), the
/// registry and the daemon (`None`: the local-image check is skipped) once per cat. With
/// `orphans`, a row follows for each catctl workload whose cat directory is gone.
pub async fn status(
    farm: &Farm,
    cluster: &Cluster,
    registry: &Registry,
    daemon: Option<&Daemon>,
    cats: &[Cat],
    orphans: bool,
) -> Result<Vec<CatStatus>> {
    let kinds: Vec<Kind> = cats.iter().map(Kind::for_cat).collect();
    let (running, cluster_tokens) =
        tokio::try_join!(read_running(cluster, &kinds), read_tokens(cluster))?;
    let tokens = Tokens {
        cluster: cluster_tokens,
        local: local_tokens(farm),
    };
    let (running, tokens) = (&running, &tokens);
    let mut rows: Vec<CatStatus> = futures::stream::iter(cats.iter())
        .map(|cat| async move {
            let verification = verify::verify_cat(farm, cat, registry, daemon).await;
            let mut status = cat_status(cat, verification, running.get(&cat.name));
            token_drift(cat, tokens, running.get(&cat.name), &mut status.drift);
            status
        })
        .buffered(farm.settings.concurrency)
        .collect()
        .await;
    if orphans {
        let known = farm.cat_names()?;
        for (name, r) in running {
            if r.kind.is_some() && !known.contains(name) {
                rows.push(orphan_status(name, r));
            }
        }
    }
    Ok(rows)
}

/// A catctl workload without a cat directory.
fn orphan_status(name: &str, running: &Running) -> CatStatus {
    CatStatus {
        cat: name.to_string(),
        tag: running.version.clone().unwrap_or_else(|| "-".into()),
        registry_digest: None,
        running_digests: Vec::new(),
        ready: running.ready,
        desired: running.desired,
        restarts: 0,
        age_seconds: None,
        drift: vec![format!(
            "orphan: {} {name} runs but cats/{name}/ is gone — `catctl delete --orphans` removes it",
            running.kind.unwrap_or("workload")
        )],
    }
}

fn version_label(labels: Option<&BTreeMap<String, String>>) -> Option<String> {
    labels?.get(labels::VERSION).cloned()
}

/// Pods and workloads in one request per kind; a kind none of the cats runs as (`kinds`) is not
/// read.
async fn read_running(cluster: &Cluster, kinds: &[Kind]) -> Result<BTreeMap<String, Running>> {
    let namespace = &cluster.namespace;
    let params = ListParams::default().labels(&managed_selector());
    let pods_api = Api::<Pod>::namespaced(cluster.client.clone(), namespace);
    let statefulsets_api = Api::<StatefulSet>::namespaced(cluster.client.clone(), namespace);
    let deployments_api = Api::<Deployment>::namespaced(cluster.client.clone(), namespace);
    let wanted = |kind: Kind| kinds.contains(&kind);
    let (pods, statefulsets, deployments) = tokio::try_join!(
        pods_api.list(&params),
        async {
            match wanted(Kind::StatefulSet) {
                true => statefulsets_api.list(&params).await.map(|l| l.items),
                false => Ok(Vec::new()),
            }
        },
        async {
            match wanted(Kind::Deployment) {
                true => deployments_api.list(&params).await.map(|l| l.items),
                false => Ok(Vec::new()),
            }
        },
    )
    .with_context(|| format!("reading the cats' workloads in namespace {namespace}"))?;
    let mut running: BTreeMap<String, Running> = BTreeMap::new();
    let workloads = statefulsets
        .into_iter()
        .map(|sts| {
            let template = sts.spec.as_ref().map(|s| s.template.clone());
            let replicas = sts.spec.as_ref().and_then(|s| s.replicas).map(i64::from);
            (
                "StatefulSet",
                replicas,
                sts.metadata,
                sts.spec.and_then(|s| s.replicas),
                sts.status.and_then(|s| s.ready_replicas),
                template,
            )
        })
        .chain(deployments.into_iter().map(|d| {
            let template = d.spec.as_ref().map(|s| s.template.clone());
            let replicas = d.spec.as_ref().and_then(|s| s.replicas).map(i64::from);
            (
                "Deployment",
                replicas,
                d.metadata,
                d.spec.and_then(|s| s.replicas),
                d.status.and_then(|s| s.ready_replicas),
                template,
            )
        }));
    for (kind, replicas, metadata, desired, ready, template) in workloads {
        let entry = running
            .entry(metadata.name.clone().unwrap_or_default())
            .or_default();
        entry.kind = Some(kind);
        entry.version = version_label(metadata.labels.as_ref());
        entry.asleep = asleep_of(&metadata, replicas);
        entry.desired = desired;
        entry.ready = ready.unwrap_or(0);
        entry.image_managers = image_managers(&metadata);
        entry.applied_secret = template
            .and_then(|t| t.metadata)
            .and_then(|m| m.annotations)
            .and_then(|a| a.get(labels::SECRET_CHECKSUM).cloned());
    }
    for pod in pods.items {
        if pod.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let Some(cat) = pod
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(labels::APP))
            .cloned()
        else {
            continue;
        };
        running.entry(cat).or_default().pods.push(pod);
    }
    Ok(running)
}

/// The managers other than catctl's that own a container image of the workload: who ran
/// `kubectl set image` (or edited it).
fn image_managers(metadata: &ObjectMeta) -> Vec<String> {
    let mut managers: Vec<String> = metadata
        .managed_fields
        .iter()
        .flatten()
        .filter(|entry| entry.manager.as_deref() != Some(FIELD_MANAGER))
        .filter(|entry| {
            entry
                .fields_v1
                .as_ref()
                .and_then(|f| f.0.pointer("/f:spec/f:template/f:spec/f:containers"))
                .and_then(|c| c.as_object())
                .is_some_and(|containers| containers.values().any(|c| c.get("f:image").is_some()))
        })
        .filter_map(|entry| entry.manager.clone())
        .collect();
    managers.sort();
    managers.dedup();
    managers
}

/// Checksums of the catctl-managed Secrets in the cluster, by name.
async fn read_tokens(cluster: &Cluster) -> Result<BTreeMap<String, String>> {
    Ok(cluster_secrets::list_managed(cluster)
        .await?
        .into_iter()
        .map(|(name, s)| (name, s.checksum()))
        .collect())
}

/// Checksums of the Secrets in `secret/`, by name (unreadable entries are left out: `secret
/// sync` reports them).
fn local_tokens(farm: &Farm) -> BTreeMap<String, String> {
    let mut findings = Findings::default();
    local::scan(&farm.root.join(SECRET_DIR), SECRET_DIR, &mut findings)
        .into_iter()
        .map(|s| {
            let checksum = s.checksum();
            (s.name, checksum)
        })
        .collect()
}

/// The cat's token: missing in the cluster, changed in `secret/` and not synced, or synced and
/// not yet applied to the pods.
fn token_drift(cat: &Cat, tokens: &Tokens, running: Option<&Running>, drift: &mut Vec<String>) {
    let name = secret_name(&cat.name);
    let Some(in_cluster) = tokens.cluster.get(&name) else {
        drift.push(format!("Secret {name} missing — run `catctl secret sync`"));
        return;
    };
    if let Some(local) = tokens.local.get(&name)
        && local != in_cluster
    {
        drift.push(format!(
            "token changed in {SECRET_DIR}/ but not synced — run `catctl secret sync`, then \
             `catctl deploy {}`",
            cat.name
        ));
        return;
    }
    if let Some(applied) = running.and_then(|r| r.applied_secret.as_ref())
        && applied != in_cluster
    {
        drift.push(format!(
            "token changed but not applied — run `catctl deploy {}`",
            cat.name
        ));
    }
}

fn cat_status(
    cat: &Cat,
    verification: Result<Verification>,
    running: Option<&Running>,
) -> CatStatus {
    let mut drift = Vec::new();
    let registry_digest = match verification {
        Ok(v) => {
            for finding in &v.findings {
                drift.push(match finding {
                    Finding::SourceChanged { .. } => "source changed since build".to_string(),
                    Finding::NotInRegistry { .. } => "not pushed".to_string(),
                    Finding::LocalDiffers { .. } => "built but not pushed".to_string(),
                    Finding::NoSourceLabel { .. } => "image not built by catctl".to_string(),
                });
            }
            v.registry_digest
        }
        Err(err) => {
            drift.push(format!("registry: {}", crate::ops::first_line(&err)));
            None
        }
    };
    let pods = running.map(|r| r.pods.as_slice()).unwrap_or_default();
    let statuses = || {
        pods.iter().flat_map(|p| {
            p.status
                .iter()
                .flat_map(|s| s.container_statuses.iter().flatten())
        })
    };
    let mut running_digests: Vec<Digest> = statuses()
        .filter_map(|c| running_digest(&c.image_id))
        .collect();
    running_digests.sort();
    running_digests.dedup();
    match running {
        None => drift.push("not deployed".into()),
        Some(r) if r.desired == Some(0) => drift.push(match &r.asleep {
            Some(mark) => format!("asleep since {} (by {})", mark.since, mark.by),
            None => "asleep (scaled to 0 outside catctl)".into(),
        }),
        Some(r) => {
            let copies = r.desired.unwrap_or(0).max(pods.len() as i32);
            if !cat.config.several_copies && copies > 1 {
                drift.push(format!(
                    "{copies} copies of {} are running — Slack will answer twice",
                    cat.name
                ));
            }
            if !r.image_managers.is_empty() {
                drift.push(format!(
                    "image set by {} (not catctl) — `catctl deploy {} --force` puts catctl's back",
                    r.image_managers.join(", "),
                    cat.name
                ));
            } else if let Some(digest) = &registry_digest
                && running_digests.iter().any(|d| d != digest)
            {
                drift.push("running an older image".into());
            }
            if let Some(failure) = pods.iter().find_map(rollout::pod_failure) {
                drift.push(format!("{} {}", failure.pod, failure.reason));
            }
        }
    }
    let now = jiff::Timestamp::now();
    let age_seconds = pods
        .iter()
        .filter_map(|p| p.metadata.creation_timestamp.as_ref())
        .map(|t| now.duration_since(t.0).as_secs())
        .max();
    CatStatus {
        cat: cat.name.clone(),
        tag: cat.config.version.clone(),
        registry_digest,
        running_digests,
        ready: running.map_or(0, |r| r.ready),
        desired: running.and_then(|r| r.desired),
        restarts: statuses().map(|c| c.restart_count).sum(),
        age_seconds,
        drift,
    }
}
