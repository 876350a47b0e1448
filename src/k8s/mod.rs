//! Talking to the cluster through kube-rs. `client` is the one seam: it honours `KUBECONFIG`,
//! `--context` and catctl.toml's `context` the way kubectl does, so tests point it at the fake
//! API server with a kubeconfig file.

pub mod logs;
pub mod observe;
pub mod rollout;
pub mod secrets;
pub mod workload;

use anyhow::{Context as _, Result};
use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::farm::Settings;

/// The label every object catctl manages carries.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
pub const MANAGED_BY: &str = "catctl";
/// The label naming the cat an object belongs to.
pub const CAT_LABEL: &str = "app.kubernetes.io/name";
/// The field manager of catctl's server-side applies.
pub const FIELD_MANAGER: &str = "catctl";

/// A client for the cluster of the chosen kubeconfig context.
pub async fn client(settings: &Settings) -> Result<kube::Client> {
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
    let cluster = config.cluster_url.to_string();
    kube::Client::try_from(config)
        .with_context(|| format!("cannot create a client for the cluster at {cluster}"))
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
