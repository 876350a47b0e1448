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
use crate::registry::Registry;
use crate::settings::Overrides;

/// The run's context (not the kube context, not a build context).
pub struct Context {
    pub printer: Printer,
    overrides: Overrides,
    farm: OnceLock<Farm>,
    cluster: OnceCell<Cluster>,
    daemon: OnceCell<Result<Daemon, String>>,
    registry: OnceLock<Registry>,
}

impl Context {
    pub fn new(printer: Printer, overrides: Overrides) -> Context {
        Context {
            printer,
            overrides,
            farm: OnceLock::new(),
            cluster: OnceCell::new(),
            daemon: OnceCell::new(),
            registry: OnceLock::new(),
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

    /// The Docker daemon (`DOCKER_HOST` or the default socket), connected on first use.
    pub async fn daemon(&self) -> Result<&Daemon> {
        self.daemon
            .get_or_init(|| async { Daemon::connect().await.map_err(|err| format!("{err:#}")) })
            .await
            .as_ref()
            .map_err(|message| anyhow::anyhow!("{message}"))
    }

    /// The daemon when one answers; otherwise why not, for commands whose daemon checks are
    /// optional (deploy and status skip the local-image check and say so).
    pub async fn daemon_if_running(&self) -> std::result::Result<&Daemon, String> {
        self.daemon().await.map_err(|err| format!("{err:#}"))
    }

    /// The registry client.
    pub fn registry(&self) -> Result<&Registry> {
        if let Some(registry) = self.registry.get() {
            return Ok(registry);
        }
        let registry = Registry::new()?;
        if let Some(farm) = self.farm.get() {
            let from = match self.overrides.registry {
                Some(_) => "--registry/CATCTL_REGISTRY",
                None => "catctl.toml",
            };
            self.printer.detail(&format!(
                "registry {} (from {from})",
                farm.settings.registry
            ));
        }
        Ok(self.registry.get_or_init(|| registry))
    }
}

pub fn current_dir() -> Result<PathBuf> {
    std::env::current_dir().context("cannot read the current directory")
}
