//! Schedules: catctl's own minimal image (`FROM scratch` + this static binary, pushed and
//! pinned by digest) that the CronJobs run; applying a cat's schedule objects, or removing
//! them when its `[schedule]` is gone; and listing schedules with their next runs.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};

use crate::build_context::{Entry as ContextEntry, EntryKind};
use crate::docker::Daemon;
use crate::docker::build::{BuildSpec, build};
use crate::farm::{Cat, Farm};
use crate::image::{Digest, ImageRef};
use crate::k8s::Cluster;
use crate::k8s::objects;
use crate::manifest;
use crate::ops::verify::registry_credentials;
use crate::registry::Registry;
use crate::schedule::{self, Entry};

/// The environment variable naming a static catctl binary for the schedule image, when the
/// running one is not static.
pub const STATIC_BINARY_ENV: &str = "CATCTL_STATIC_BINARY";
/// The repository of catctl's image in the farm's registry.
pub const IMAGE_REPOSITORY: &str = "catctl";

const DOCKERFILE: &str = "FROM scratch\nCOPY catctl /catctl\n\
                          COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt\n\
                          USER 65534:65534\nENTRYPOINT [\"/catctl\"]\n";
/// The CA bundle copied into the image: kube's TLS client loads the system roots (besides the
/// cluster's own CA) and refuses to start without any.
const CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// The entries of a cat's `[schedule]` (already checked when cat.toml was read).
pub fn entries_of(cat: &Cat) -> Vec<Entry> {
    cat.config
        .schedule
        .as_ref()
        .and_then(|s| schedule::entries(s).ok())
        .unwrap_or_default()
}

/// The static catctl binary to put in the image: `$CATCTL_STATIC_BINARY`, else this one.
fn static_binary() -> Result<PathBuf> {
    let path = match std::env::var_os(STATIC_BINARY_ENV) {
        Some(path) => PathBuf::from(path),
        None => std::env::current_exe().context("cannot find the running catctl binary")?,
    };
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    if !is_static_elf(&bytes) {
        bail!(
            "{} is dynamically linked, so it cannot run in catctl's FROM-scratch schedule image — \
             build a static one (`rustup target add x86_64-unknown-linux-musl && cargo build \
             --release --target x86_64-unknown-linux-musl`) and set {STATIC_BINARY_ENV} to it",
            path.display()
        );
    }
    Ok(path)
}

/// An ELF executable without an interpreter (PT_INTERP): it needs no dynamic loader.
pub fn is_static_elf(bytes: &[u8]) -> bool {
    let read = |at: usize, len: usize| -> Option<u64> {
        let slice = bytes.get(at..at + len)?;
        Some(
            slice
                .iter()
                .rev()
                .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)),
        )
    };
    if bytes.get(..5) != Some(b"\x7fELF\x02") || bytes.get(5) != Some(&1) {
        return false;
    }
    let (Some(phoff), Some(phentsize), Some(phnum)) = (read(0x20, 8), read(0x36, 2), read(0x38, 2))
    else {
        return false;
    };
    (0..phnum).all(|i| {
        let at = usize::try_from(phoff + i * phentsize).unwrap_or(usize::MAX);
        read(at, 4).is_some_and(|kind| kind != 3)
    })
}

/// catctl's image in the farm's registry, pinned by digest: built from the static binary and
/// pushed unless the registry already has this binary's tag.
pub async fn catctl_image(farm: &Farm, daemon: &Daemon, registry: &Registry) -> Result<ImageRef> {
    let binary = static_binary()?;
    let mut bytes = std::fs::read(&binary)?;
    let ca_bundle = Path::new(CA_BUNDLE);
    bytes.extend(std::fs::read(ca_bundle).with_context(|| {
        format!("cannot read {CA_BUNDLE} for catctl's image — install the ca-certificates package")
    })?);
    let hash = Digest::sha256(&sha256(&bytes));
    let tag = format!("{}-{}", env!("CARGO_PKG_VERSION"), &hash.hex()[..12]);
    let image = ImageRef::for_cat(&farm.settings.registry, IMAGE_REPOSITORY, &tag);
    let creds = registry_credentials(&image).await?;
    if let Some(digest) = registry.manifest_digest(&image, creds.as_ref()).await? {
        return Ok(image.pinned(digest));
    }
    let dir = std::env::temp_dir().join(format!("catctl-image-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let dockerfile = dir.join("Dockerfile");
    std::fs::write(&dockerfile, DOCKERFILE)?;
    let entries = vec![
        file_entry("Dockerfile", &dockerfile, 0o644),
        file_entry("catctl", &binary, 0o755),
        file_entry("ca-certificates.crt", ca_bundle, 0o644),
    ];
    let spec = BuildSpec {
        tag: image.clone(),
        labels: Default::default(),
        args: Default::default(),
        no_cache: false,
        platform: None,
        network: None,
    };
    let built = build(daemon, entries, &spec, |_| {}).await;
    let _ = std::fs::remove_dir_all(&dir);
    built.with_context(|| format!("building catctl's schedule image {image}"))?;
    let digest = crate::docker::push::push(daemon, &image, creds.as_ref(), |_| {})
        .await
        .with_context(|| format!("pushing catctl's schedule image {image}"))?;
    Ok(image.pinned(digest))
}

fn file_entry(path: &str, source: &Path, mode: u32) -> ContextEntry {
    ContextEntry {
        path: path.to_string(),
        source: source.to_path_buf(),
        kind: EntryKind::File { mode },
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).into()
}

/// Applies the cat's schedule objects, or removes them when it has no `[schedule]`. Returns
/// what it did, for the deploy report.
pub async fn sync(cluster: &Cluster, cat: &Cat, image: Option<&ImageRef>) -> Result<String> {
    let entries = entries_of(cat);
    match image {
        Some(image) if !entries.is_empty() => {
            for object in manifest::schedule::objects(cat, &cluster.namespace, image, &entries) {
                objects::apply(cluster, &object).await?;
            }
            let names: Vec<String> = entries
                .iter()
                .map(|e| format!("{} at \"{}\" ({})", e.action, e.cron, e.time_zone))
                .collect();
            Ok(format!("schedule: {}", names.join(", ")))
        }
        _ => {
            let removed = remove(cluster, &cat.name).await?;
            Ok(if removed.is_empty() {
                String::new()
            } else {
                "schedule removed".to_string()
            })
        }
    }
}

/// The names of catctl's CronJobs in the namespace, in one request: which cats without a
/// `[schedule]` still have one to remove.
pub async fn cronjob_names(cluster: &Cluster) -> Result<std::collections::BTreeSet<String>> {
    use k8s_openapi::api::batch::v1::CronJob;
    let api: kube::Api<CronJob> = kube::Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let list = api
        .list(&kube::api::ListParams::default().labels(&crate::k8s::managed_selector()))
        .await
        .map_err(crate::k8s::readable)
        .with_context(|| format!("listing CronJobs in namespace {}", cluster.namespace))?;
    Ok(list
        .items
        .into_iter()
        .filter_map(|c| c.metadata.name)
        .collect())
}

/// Whether `cat` has anything to apply or remove, given the CronJobs that exist.
pub fn needs_sync(cat: &Cat, cronjobs: &std::collections::BTreeSet<String>) -> bool {
    !entries_of(cat).is_empty()
        || ["sleep", "wake"]
            .iter()
            .any(|action| cronjobs.contains(&format!("{}-{action}", cat.name)))
}

/// Deletes the cat's schedule objects that exist; returns them.
pub async fn remove(cluster: &Cluster, cat: &str) -> Result<Vec<String>> {
    let mut removed = Vec::new();
    for object in objects::schedule_of(cat) {
        if objects::exists_managed(cluster, &object).await? {
            objects::delete(cluster, &object).await?;
            removed.push(object.to_string());
        }
    }
    Ok(removed)
}

/// One row of `catctl schedule`.
#[derive(Debug, Clone)]
pub struct ScheduleRow {
    pub cat: String,
    pub action: String,
    pub cron: String,
    pub time_zone: String,
    pub next_run: Option<String>,
    /// Whether the CronJob exists in the cluster (None: not asked).
    pub in_cluster: Option<bool>,
}

/// The schedules of `cats` with their next runs, and whether each CronJob is in the cluster.
pub async fn list(cats: &[Cat], cluster: Option<&Cluster>) -> Result<Vec<ScheduleRow>> {
    let now = jiff::Timestamp::now();
    let mut rows = Vec::new();
    for cat in cats {
        for entry in entries_of(cat) {
            let name = format!("{}-{}", cat.name, entry.action);
            let in_cluster = match cluster {
                Some(cluster) => Some(objects::get_cronjob(cluster, &name).await?.is_some()),
                None => None,
            };
            rows.push(ScheduleRow {
                cat: cat.name.clone(),
                action: entry.action.to_string(),
                next_run: schedule::next_run(&entry, &now)
                    .ok()
                    .map(|z| z.strftime("%Y-%m-%d %H:%M %Z").to_string()),
                cron: entry.cron,
                time_zone: entry.time_zone,
                in_cluster,
            });
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dynamic_binary_is_not_static() {
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        // Test binaries here link glibc dynamically.
        assert!(!is_static_elf(&me));
        assert!(!is_static_elf(b"#!/bin/sh\n"));
    }
}
