//! A cat's container on the local daemon, `catctl-<cat>`: one per cat. A new one is created
//! and started under a temporary name first, so a failure leaves the running one alone; only
//! then is the old one stopped and removed and the new one renamed.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use bollard::models::{
    ContainerCreateBody, HealthConfig, HostConfig, RestartPolicy, RestartPolicyNameEnum,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, RemoveContainerOptionsBuilder,
    RenameContainerOptionsBuilder, StopContainerOptionsBuilder,
};

use super::{Daemon, daemon_message};
use crate::cat_runtime::{HEALTH_PORT_ENV, SECRET_DIR_ENV, SECRET_MOUNT_PATH};

/// The label marking containers that `up` created, valued with the cat's name.
pub use crate::labels::UP as UP_LABEL;

/// Seconds a cat gets to stop before it is killed.
const STOP_TIMEOUT: i32 = 10;

/// The container name of a cat.
pub fn container_name(cat: &str) -> String {
    format!("catctl-{cat}")
}

/// What `up` runs.
#[derive(Debug, Clone)]
pub struct RunSpec {
    pub cat: String,
    /// The verified image (tag or id).
    pub image: String,
    /// `secret/<cat>-token`, a file or a directory, mounted read-only.
    pub secret: PathBuf,
    /// Docker network mode: `default`, `bridge`, `host`, `none`, or a network's name.
    pub network: String,
    pub labels: HashMap<String, String>,
    /// The port of the cat's health endpoint, given to it as `CAT_HEALTH_PORT`.
    pub health_port: u16,
    /// Whether the container has a health check: the image's own `HEALTHCHECK`, run at the
    /// pace of the cluster's probes; `false` turns any off (a cat with `probes = false`).
    pub health_check: bool,
    /// More environment (catctl.toml's `[env]`).
    pub env: Vec<(String, String)>,
    /// `docker run --platform`: the image's platform when it is not the daemon's.
    pub platform: Option<crate::image::Platform>,
}

/// Seconds, as Docker's health check durations (nanoseconds).
const fn seconds(n: i64) -> i64 {
    n * 1_000_000_000
}

/// The container's health check, as the cluster's probes: up to 3 minutes to start, then
/// unhealthy after 30 s of failed checks. An empty test keeps the image's `HEALTHCHECK`.
fn health_config(enabled: bool) -> HealthConfig {
    if !enabled {
        return HealthConfig {
            test: Some(vec!["NONE".to_string()]),
            ..Default::default()
        };
    }
    HealthConfig {
        test: None,
        interval: Some(seconds(5)),
        timeout: Some(seconds(5)),
        retries: Some(6),
        start_period: Some(seconds(180)),
        start_interval: None,
    }
}

/// Ids of every container of `cat`: the ones labelled by `up`, and any named `catctl-<cat>`.
pub async fn find(daemon: &Daemon, cat: &str) -> Result<Vec<String>> {
    let mut ids: Vec<String> = Vec::new();
    let name = container_name(cat);
    let queries = [
        ("label", format!("{UP_LABEL}={cat}")),
        ("name", format!("^/{name}$")),
    ];
    for (key, value) in queries {
        let filters = HashMap::from([(key.to_string(), vec![value])]);
        let options = ListContainersOptionsBuilder::new()
            .all(true)
            .filters(&filters)
            .build();
        let found = daemon
            .docker
            .list_containers(Some(options))
            .await
            .with_context(|| format!("listing the containers of {cat}"))?;
        for container in found {
            if let Some(id) = container.id
                && !ids.contains(&id)
            {
                ids.push(id);
            }
        }
    }
    Ok(ids)
}

/// Runs `spec` as the only container of the cat; returns the new container's id. The new
/// container is started before the old ones are removed; if it cannot start, or the old ones
/// cannot be removed, the old ones are left (or put back) running — the cat is never down.
pub async fn replace(daemon: &Daemon, spec: &RunSpec) -> Result<String> {
    let name = container_name(&spec.cat);
    let staging = format!("{name}-next");
    // A staging container left by an interrupted `up` is ours to clear.
    remove(daemon, &staging).await?;
    let olds = find(daemon, &spec.cat).await?;
    let id = create(daemon, spec, &staging).await?;
    if let Err(err) = start(daemon, spec, &id, &staging).await {
        let _ = remove(daemon, &id).await;
        return Err(err);
    }
    if let Err(err) = retire(daemon, &olds).await {
        let _ = remove(daemon, &id).await;
        for old in &olds {
            let _ = daemon.docker.start_container(old, None).await;
        }
        return Err(err.context("the previous container is kept running"));
    }
    daemon
        .docker
        .rename_container(
            &id,
            RenameContainerOptionsBuilder::new().name(&name).build(),
        )
        .await
        .map_err(|err| anyhow::anyhow!("naming the container {name}: {}", daemon_message(&err)))?;
    Ok(id)
}

/// Stops and removes the cat's previous containers.
async fn retire(daemon: &Daemon, olds: &[String]) -> Result<()> {
    for old in olds {
        remove(daemon, old).await?;
    }
    Ok(())
}

async fn start(daemon: &Daemon, spec: &RunSpec, id: &str, name: &str) -> Result<()> {
    daemon
        .docker
        .start_container(id, None)
        .await
        .map_err(|err| {
            anyhow::anyhow!(
                "starting {name} (from {}) failed: {}",
                spec.image,
                daemon_message(&err)
            )
        })
}

async fn create(daemon: &Daemon, spec: &RunSpec, name: &str) -> Result<String> {
    let secret = spec
        .secret
        .canonicalize()
        .with_context(|| format!("cannot resolve {}", spec.secret.display()))?;
    // Mounted as Kubernetes mounts the Secret: a file becomes one key of the directory, a
    // directory gives its files as the keys.
    let target = if secret.is_dir() {
        SECRET_MOUNT_PATH.to_string()
    } else {
        let key = secret
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        format!("{SECRET_MOUNT_PATH}/{key}")
    };
    let mut labels = spec.labels.clone();
    labels.insert(UP_LABEL.to_string(), spec.cat.clone());
    let body = ContainerCreateBody {
        image: Some(spec.image.clone()),
        env: Some(
            [
                format!("{SECRET_DIR_ENV}={SECRET_MOUNT_PATH}"),
                format!("{HEALTH_PORT_ENV}={}", spec.health_port),
            ]
            .into_iter()
            .chain(
                spec.env
                    .iter()
                    .map(|(name, value)| format!("{name}={value}")),
            )
            .collect(),
        ),
        healthcheck: Some(health_config(spec.health_check)),
        labels: Some(labels),
        host_config: Some(HostConfig {
            binds: Some(vec![format!("{}:{target}:ro", secret.display())]),
            network_mode: Some(spec.network.clone()),
            // A tiny init as PID 1 passes SIGTERM on, so an engine that does not handle it
            // (node, a shell) still stops at once instead of after the stop timeout.
            init: Some(true),
            restart_policy: Some(RestartPolicy {
                name: Some(RestartPolicyNameEnum::UNLESS_STOPPED),
                maximum_retry_count: None,
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut options = CreateContainerOptionsBuilder::new().name(name);
    if let Some(platform) = &spec.platform {
        options = options.platform(&platform.to_string());
    }
    let options = options.build();
    let created = daemon
        .docker
        .create_container(Some(options), body)
        .await
        .map_err(|err| {
            anyhow::anyhow!(
                "creating the container of {} from {} failed: {}",
                spec.cat,
                spec.image,
                daemon_message(&err)
            )
        })?;
    Ok(created.id)
}

/// Stops and removes a container by id or name; one that does not exist is already gone.
pub async fn remove(daemon: &Daemon, container: &str) -> Result<()> {
    let stop = StopContainerOptionsBuilder::new().t(STOP_TIMEOUT).build();
    match daemon.docker.stop_container(container, Some(stop)).await {
        Ok(()) => {}
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 304 | 404,
            ..
        }) => {}
        Err(err) => {
            return Err(anyhow::anyhow!(
                "stopping {container}: {}",
                daemon_message(&err)
            ));
        }
    }
    let options = RemoveContainerOptionsBuilder::new().force(true).build();
    match daemon
        .docker
        .remove_container(container, Some(options))
        .await
    {
        Ok(()) => Ok(()),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(()),
        Err(err) => Err(anyhow::anyhow!(
            "removing {container}: {}",
            daemon_message(&err)
        )),
    }
}
