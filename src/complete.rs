//! Values for shell completion at TAB time: cat names from the farm's `cats/` (no network),
//! kube contexts from the kubeconfig, namespaces from the cluster (bounded by
//! [`NAMESPACE_TIMEOUT`]) or, when it does not answer, those the kubeconfig and catctl.toml
//! name.

use std::ffi::OsStr;

use clap_complete::engine::CompletionCandidate;

use crate::farm;

/// Candidates for an argument naming an existing cat.
pub fn complete_cat_names(current: &OsStr) -> Vec<CompletionCandidate> {
    let Some(prefix) = current.to_str() else {
        return Vec::new();
    };
    let explicit = std::env::var_os("CATCTL_CONFIG").map(std::path::PathBuf::from);
    let Ok(cwd) = std::env::current_dir() else {
        return Vec::new();
    };
    let Ok(config) = farm::find_config(explicit.as_deref(), &cwd) else {
        return Vec::new();
    };
    let Some(root) = config.parent() else {
        return Vec::new();
    };
    farm::cat_dir_names(&root.join(farm::CATS_DIR))
        .unwrap_or_default()
        .into_iter()
        .filter(|name| name.starts_with(prefix))
        .map(CompletionCandidate::new)
        .collect()
}

/// Candidates for `--context`: the kubeconfig's contexts (`KUBECONFIG`, else ~/.kube/config).
pub fn complete_contexts(current: &OsStr) -> Vec<CompletionCandidate> {
    let Some(prefix) = current.to_str() else {
        return Vec::new();
    };
    let Ok(loaded) = crate::k8s::kubeconfig::load(None) else {
        return Vec::new();
    };
    loaded
        .context_names()
        .into_iter()
        .filter(|name| name.starts_with(prefix))
        .map(CompletionCandidate::new)
        .collect()
}

/// How long a TAB may wait for the cluster's namespaces.
pub const NAMESPACE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Candidates for `-n/--namespace`: the namespaces of the farm's cluster (catctl.toml's
/// context, else the current one), asked with a short timeout; else the namespaces the
/// kubeconfig's contexts and catctl.toml name.
pub fn complete_namespaces(current: &OsStr) -> Vec<CompletionCandidate> {
    let Some(prefix) = current.to_str() else {
        return Vec::new();
    };
    let farm_settings = farm_config().and_then(|path| {
        let config: crate::config::FarmConfig = crate::config::load(&path).ok()?;
        Some((config.context, config.namespace))
    });
    let (context, farm_namespace) = farm_settings.unwrap_or_default();
    let mut names = cluster_namespaces(context.as_deref()).unwrap_or_else(|| {
        let mut known: Vec<String> = crate::k8s::kubeconfig::load(None)
            .map(|loaded| {
                loaded
                    .kubeconfig
                    .contexts
                    .iter()
                    .filter_map(|c| c.context.as_ref()?.namespace.clone())
                    .collect()
            })
            .unwrap_or_default();
        known.push("default".to_string());
        known
    });
    names.extend(farm_namespace);
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|name| name.starts_with(prefix))
        .map(CompletionCandidate::new)
        .collect()
}

/// The namespaces the cluster lists, or `None` when it cannot be asked in time.
fn cluster_namespaces(context: Option<&str>) -> Option<Vec<String>> {
    use k8s_openapi::api::core::v1::Namespace;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    runtime.block_on(async {
        let ask = async {
            let loaded = crate::k8s::kubeconfig::load(None).ok()?;
            let options = kube::config::KubeConfigOptions {
                context: context.map(str::to_string),
                ..Default::default()
            };
            let mut config = kube::Config::from_custom_kubeconfig(loaded.kubeconfig, &options)
                .await
                .ok()?;
            config.connect_timeout = Some(NAMESPACE_TIMEOUT);
            config.read_timeout = Some(NAMESPACE_TIMEOUT);
            let client = kube::Client::try_from(config).ok()?;
            let api: kube::Api<Namespace> = kube::Api::all(client);
            let list = api.list_metadata(&Default::default()).await.ok()?;
            Some(
                list.items
                    .into_iter()
                    .filter_map(|n| n.metadata.name)
                    .collect::<Vec<String>>(),
            )
        };
        tokio::time::timeout(NAMESPACE_TIMEOUT, ask)
            .await
            .ok()
            .flatten()
    })
}

/// The farm's catctl.toml (`CATCTL_CONFIG`, else found from the current directory).
fn farm_config() -> Option<std::path::PathBuf> {
    let explicit = std::env::var_os("CATCTL_CONFIG").map(std::path::PathBuf::from);
    let cwd = std::env::current_dir().ok()?;
    farm::find_config(explicit.as_deref(), &cwd).ok()
}

/// The registration script for `shell` (bash, zsh, fish), calling `catctl` from PATH.
pub fn script(shell: &str) -> anyhow::Result<String> {
    use anyhow::Context as _;
    let shells = clap_complete::env::Shells::builtins();
    let completer = shells
        .completer(shell)
        .with_context(|| format!("no completion support for {shell}"))?;
    let mut buf = Vec::new();
    completer.write_registration("COMPLETE", "catctl", "catctl", "catctl", &mut buf)?;
    Ok(String::from_utf8(buf)?)
}
