//! Talking to the cluster through kube-rs. `client` is the one seam: it honours `KUBECONFIG`,
//! `--context` and catctl.toml's `context` the way kubectl does, so tests point it at the fake
//! API server with a kubeconfig file.

pub mod history;
pub mod lease;
pub mod objects;
pub mod observe;
pub mod rollout;
pub mod secrets;
pub mod sleep;
pub mod workload;

use anyhow::{Context as _, Result};
use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::settings::Settings;

/// The label naming the cat an object belongs to.
pub use crate::labels::NAME as CAT_LABEL;
/// The label every object catctl manages carries.
pub use crate::labels::{MANAGED_BY as MANAGED_BY_LABEL, MANAGED_BY_CATCTL as MANAGED_BY};
/// The field manager of catctl's server-side applies.
pub const FIELD_MANAGER: &str = "catctl";

/// The cluster catctl works on: a client for the chosen kube context and the namespace every
/// request goes to. Created once per run (by [`crate::context::Context::cluster`]).
#[derive(Clone)]
pub struct Cluster {
    pub client: kube::Client,
    pub namespace: String,
    /// The kube context's name and the API server's URL, for messages.
    pub context: String,
    pub url: String,
}

impl Cluster {
    /// Connects to the cluster of `settings`' kube context, in its namespace.
    /// The namespace is `-n`, else catctl.toml's, else the kube context's, else `default`
    /// (kubectl's order).
    pub async fn connect(settings: &Settings) -> Result<Cluster> {
        let (config, context) = config(settings).await?;
        let namespace = settings
            .namespace
            .clone()
            .unwrap_or_else(|| config.default_namespace.clone());
        let cluster = config.cluster_url.to_string();
        let client = kube::Client::try_from(config)
            .with_context(|| format!("cannot create a client for the cluster at {cluster}"))?;
        Ok(Cluster {
            client,
            namespace,
            context,
            url: cluster,
        })
    }
}

impl Cluster {
    /// The cluster as kube-rs infers it — KUBECONFIG, else the pod's in-cluster service
    /// account — in its default namespace: how catctl runs inside a CronJob.
    pub async fn infer() -> Result<Cluster> {
        let config = kube::Config::infer()
            .await
            .context("no kubeconfig and not running in a cluster")?;
        let namespace = config.default_namespace.clone();
        let url = config.cluster_url.to_string();
        let client = kube::Client::try_from(config).context("cannot create a kube client")?;
        Ok(Cluster {
            client,
            namespace,
            context: "(in-cluster)".to_string(),
            url,
        })
    }
}

/// The client configuration of the chosen kubeconfig context.
async fn config(settings: &Settings) -> Result<(kube::Config, String)> {
    let source = match std::env::var_os("KUBECONFIG") {
        Some(paths) => format!("KUBECONFIG={}", paths.to_string_lossy()),
        None => "~/.kube/config".to_string(),
    };
    let kubeconfig = Kubeconfig::read().with_context(|| {
        format!("cannot read the kubeconfig ({source}) — set KUBECONFIG to your cluster's config")
    })?;
    let options = KubeConfigOptions {
        context: settings.context.clone(),
        cluster: None,
        user: None,
    };
    let context_name = settings
        .context
        .clone()
        .or_else(|| kubeconfig.current_context.clone())
        .unwrap_or_else(|| "(none)".to_string());
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .with_context(|| {
            format!(
                "cannot use kube context '{context_name}' from {source} — check `kubectl config \
                 get-contexts`, or pass --context"
            )
        })?;
    Ok((config, context_name))
}

/// A kube-rs error as one readable line: an API server refusal is its status message, code and
/// reason (kube-rs's own text repeats the whole `Status` in Debug form); others are kept as is.
pub fn readable(err: kube::Error) -> anyhow::Error {
    match err {
        kube::Error::Api(status) => anyhow::anyhow!(
            "the API server refused: {} ({} {})",
            status.message,
            status.code,
            status.reason
        ),
        other => anyhow::Error::new(other),
    }
}

/// Label selector for everything catctl manages.
pub fn managed_selector() -> String {
    format!("{MANAGED_BY_LABEL}={MANAGED_BY}")
}
