//! What every command is given: the printer, the command-line overrides, and one handle on
//! each outside thing — the farm on disk, the cluster, the Docker daemon, the registry — each
//! made on first use and once per run, so commands that need none of them (e.g. `completions`)
//! work anywhere.

use std::path::PathBuf;
use std::sync::OnceLock;

use anyhow::{Context as _, Result};
use tokio::sync::OnceCell;

use crate::docker::Daemon;
use crate::farm::Farm;
use crate::k8s::Cluster;
use crate::printer::Printer;
use crate::registry::{InsecureRegistries, Registry, Rule};
use crate::settings::Overrides;

/// The run's context (not the kube context, not a build context).
pub struct Context {
    pub printer: Printer,
    overrides: Overrides,
    farm: OnceLock<Farm>,
    cluster: OnceCell<Cluster>,
    daemon: OnceCell<Result<Daemon, String>>,
    registry: OnceCell<Registry>,
}

impl Context {
    pub fn new(printer: Printer, overrides: Overrides) -> Context {
        Context {
            printer,
            overrides,
            farm: OnceLock::new(),
            cluster: OnceCell::new(),
            daemon: OnceCell::new(),
            registry: OnceCell::new(),
        }
    }

    /// What the command line set (for `init`, which makes the farm these would override).
    pub fn overrides(&self) -> &Overrides {
        &self.overrides
    }

    /// The farm around the current directory (or `--config`), loaded once.
    pub fn farm(&self) -> Result<&Farm> {
        if let Some(farm) = self.farm.get() {
            return Ok(farm);
        }
        let cwd = current_dir()?;
        let farm = Farm::discover(&self.overrides, &cwd)?;
        self.printer
            .scrub_secrets_of(farm.root.join(crate::farm::SECRET_DIR));
        Ok(self.farm.get_or_init(|| farm))
    }

    /// The cluster of the farm's kube context and namespace, connected on first use.
    /// Under `-v`, says once which context, API server and namespace are used, and where each
    /// came from.
    pub async fn cluster(&self) -> Result<&Cluster> {
        let settings = &self.farm()?.settings;
        self.cluster
            .get_or_try_init(|| async {
                let cluster = Cluster::connect(settings).await?;
                let origins = &cluster.origins;
                self.printer.detail(&format!(
                    "kube context {} (from {}), API server {}, namespace {} (from {}), \
                     kubeconfig {}",
                    cluster.context,
                    origins.context,
                    cluster.url,
                    cluster.namespace,
                    origins.namespace,
                    origins.kubeconfig
                ));
                Ok(cluster)
            })
            .await
    }

    /// The cluster, when this run has already connected to it.
    pub fn cluster_if_connected(&self) -> Option<&Cluster> {
        self.cluster.get()
    }

    /// The Docker daemon the docker CLI would use (`DOCKER_HOST`, the docker context, else the
    /// default socket), connected on first use; `-v` says which.
    pub async fn daemon(&self) -> Result<&Daemon> {
        self.daemon
            .get_or_init(|| async {
                let daemon = Daemon::connect().await.map_err(|err| format!("{err:#}"))?;
                self.printer.detail(&format!(
                    "Docker daemon: {} ({}, builds on {})",
                    daemon.host,
                    daemon.platform,
                    if daemon.buildkit {
                        "BuildKit"
                    } else {
                        "the legacy builder"
                    }
                ));
                Ok(daemon)
            })
            .await
            .as_ref()
            .map_err(|message| anyhow::anyhow!("{message}"))
    }

    /// The daemon when one answers; otherwise why not, for commands whose daemon checks are
    /// optional (deploy and status skip the local-image check and say so).
    pub async fn daemon_if_running(&self) -> std::result::Result<&Daemon, String> {
        self.daemon().await.map_err(|err| format!("{err:#}"))
    }

    /// The registry client: plain HTTP for catctl.toml's `insecure_registries` and the Docker
    /// daemon's own insecure registries (when a daemon answers), HTTPS for the rest; `-v` says
    /// which the farm's registry gets.
    pub async fn registry(&self) -> Result<&Registry> {
        self.registry
            .get_or_try_init(|| async {
                let farm = self.farm()?;
                let mut insecure = InsecureRegistries {
                    listed: farm.settings.insecure_registries.clone(),
                    daemon: Vec::new(),
                };
                // The daemon's own list only matters for a registry catctl.toml does not
                // decide and that is not on loopback (and `docker info` is slow).
                let host = farm.settings.registry.split('/').next().unwrap_or_default();
                if insecure.rule(host) == Rule::Secure
                    && let Ok(daemon) = self.daemon_if_running().await
                {
                    insecure.daemon = daemon.insecure_registries().await.unwrap_or_default();
                }
                let registry = Registry::new(insecure)?;
                let rule = registry.registry_rule(&farm.settings.registry);
                let from = match self.overrides.registry {
                    Some(_) => "--registry/CATCTL_REGISTRY",
                    None => "catctl.toml",
                };
                self.printer.detail(&format!(
                    "registry: {} (from {from}) over {rule}",
                    farm.settings.registry
                ));
                Ok(registry)
            })
            .await
    }
}

pub fn current_dir() -> Result<PathBuf> {
    std::env::current_dir().context("cannot read the current directory")
}
