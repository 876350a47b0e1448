//! `catctl status [CAT…]`: per cat what is declared, what the registry has, what runs, and
//! where they drift apart.

use std::collections::BTreeMap;

use anyhow::{Context as _, Result};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::ListParams;
use serde::Serialize;

use crate::cli::StatusArgs;
use crate::commands::ExitStatus;
use crate::context::Context;
use crate::docker::Daemon;
use crate::farm::Cat;
use crate::k8s::{managed_selector, rollout};
use crate::registry::Registry;
use crate::source_digest::short_digest;
use crate::verify::{self, Finding};

#[derive(Debug, Serialize)]
struct Row {
    cat: String,
    tag: String,
    registry_digest: Option<String>,
    running_digests: Vec<String>,
    ready: i32,
    desired: Option<i32>,
    restarts: i32,
    age_seconds: Option<i64>,
    drift: Vec<String>,
}

/// Where a cat runs, as the cluster says.
#[derive(Default)]
struct Running {
    desired: Option<i32>,
    ready: i32,
    pods: Vec<Pod>,
}

pub async fn run(ctx: &Context, args: &StatusArgs) -> Result<ExitStatus> {
    let farm = ctx.farm()?;
    let cats = farm.select(&args.cats, args.cats.is_empty())?;
    let client = ctx.kube().await?;
    let namespace = &farm.settings.namespace;
    let params = ListParams::default().labels(&managed_selector());
    let pods_api = Api::<Pod>::namespaced(client.clone(), namespace);
    let statefulsets_api = Api::<StatefulSet>::namespaced(client.clone(), namespace);
    let deployments_api = Api::<Deployment>::namespaced(client.clone(), namespace);
    let (pods, statefulsets, deployments) = tokio::try_join!(
        pods_api.list(&params),
        statefulsets_api.list(&params),
        deployments_api.list(&params),
    )
    .with_context(|| format!("reading the cats' workloads in namespace {namespace}"))?;
    let mut running: BTreeMap<String, Running> = BTreeMap::new();
    let workloads = statefulsets
        .items
        .into_iter()
        .map(|sts| {
            let name = sts.metadata.name;
            (
                name,
                sts.spec.and_then(|s| s.replicas),
                sts.status.and_then(|s| s.ready_replicas),
            )
        })
        .chain(deployments.items.into_iter().map(|d| {
            let name = d.metadata.name;
            (
                name,
                d.spec.and_then(|s| s.replicas),
                d.status.and_then(|s| s.ready_replicas),
            )
        }));
    for (name, desired, ready) in workloads {
        let entry = running.entry(name.unwrap_or_default()).or_default();
        entry.desired = desired;
        entry.ready = ready.unwrap_or(0);
    }
    for pod in pods.items {
        if pod.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let Some(cat) = pod
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("app"))
            .cloned()
        else {
            continue;
        };
        running.entry(cat).or_default().pods.push(pod);
    }

    let registry = Registry::new()?;
    let daemon = Daemon::connect().await.ok();
    let (registry, daemon) = (&registry, daemon.as_ref());
    let running = &running;
    let rows: Vec<Row> = futures::stream::iter(cats.iter())
        .map(|cat| async move {
            let verification = verify::verify_cat(farm, cat, registry, daemon).await;
            row(cat, verification, running.get(&cat.name))
        })
        .buffered(farm.settings.concurrency)
        .collect()
        .await;

    ctx.printer.rows(
        &rows,
        &[
            "CAT", "TAG", "REGISTRY", "RUNNING", "READY", "RESTARTS", "AGE", "DRIFT",
        ],
        |r| {
            vec![
                r.cat.clone(),
                r.tag.clone(),
                r.registry_digest
                    .as_deref()
                    .map(short_digest)
                    .unwrap_or_else(|| "-".into()),
                if r.running_digests.is_empty() {
                    "-".into()
                } else {
                    r.running_digests
                        .iter()
                        .map(|d| short_digest(d))
                        .collect::<Vec<_>>()
                        .join(",")
                },
                match r.desired {
                    Some(d) => format!("{}/{d}", r.ready),
                    None => "-".into(),
                },
                r.restarts.to_string(),
                r.age_seconds.map(age).unwrap_or_else(|| "-".into()),
                if r.drift.is_empty() {
                    "ok".into()
                } else {
                    r.drift.join("; ")
                },
            ]
        },
    )?;
    Ok(ExitStatus::Success)
}

fn row(cat: &Cat, verification: Result<verify::Verification>, running: Option<&Running>) -> Row {
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
            drift.push(format!(
                "registry: {}",
                format!("{err:#}").lines().next().unwrap_or("")
            ));
            None
        }
    };
    let pods = running.map(|r| r.pods.as_slice()).unwrap_or_default();
    let mut running_digests: Vec<String> = pods
        .iter()
        .flat_map(|p| {
            p.status
                .iter()
                .flat_map(|s| s.container_statuses.iter().flatten())
        })
        .filter_map(|c| c.image_id.rsplit_once('@').map(|(_, d)| d.to_string()))
        .collect();
    running_digests.sort();
    running_digests.dedup();
    match running {
        None => drift.push("not deployed".into()),
        Some(r) if r.desired == Some(0) => drift.push("asleep".into()),
        Some(_) => {
            if let Some(digest) = &registry_digest
                && !running_digests.is_empty()
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
    Row {
        cat: cat.name.clone(),
        tag: cat.config.version.clone(),
        registry_digest,
        running_digests,
        ready: running.map_or(0, |r| r.ready),
        desired: running.and_then(|r| r.desired),
        restarts: pods
            .iter()
            .flat_map(|p| {
                p.status
                    .iter()
                    .flat_map(|s| s.container_statuses.iter().flatten())
            })
            .map(|c| c.restart_count)
            .sum(),
        age_seconds,
        drift,
    }
}

/// An age as kubectl prints it: 45s, 12m, 5h, 3d.
fn age(seconds: i64) -> String {
    match seconds {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}
