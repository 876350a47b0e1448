//! Settings: catctl.toml, the environment and the command line merged in one place — the
//! farm-wide [`Settings`], and each command's options resolved from its arguments.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};

use crate::cli::{
    BuildArgs, DeployArgs, DiffArgs, PushArgs, RedeployArgs, RenderArgs, RollbackArgs, UpArgs,
};
use crate::config::FarmConfig;
use crate::image::Platform;
use crate::ops::build::BuildOptions;
use crate::ops::deploy::DeployOptions;
use crate::ops::init::InitOptions;
use crate::ops::push::PushOptions;
use crate::ops::up::UpOptions;

/// Settings given on the command line (or their environment variables); each wins over
/// `catctl.toml`.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub config: Option<PathBuf>,
    pub context: Option<String>,
    pub namespace: Option<String>,
    pub registry: Option<String>,
    /// `--kubeconfig`: this file instead of `KUBECONFIG` or `~/.kube/config`.
    pub kubeconfig: Option<PathBuf>,
}

/// Where a setting came from, for `-v` and for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The command line (or the flag's environment variable).
    Flag,
    /// catctl.toml.
    File,
}

/// What a command works with: flags (and their environment variables) merged over
/// `catctl.toml`.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub registry: String,
    /// `-n`, else catctl.toml's; `None`: the kube context's namespace, else `default`.
    pub namespace: Option<String>,
    pub context: Option<String>,
    /// Where `namespace` and `context` came from (`None` when they are unset).
    pub namespace_origin: Option<Origin>,
    pub context_origin: Option<Origin>,
    /// `--kubeconfig`.
    pub kubeconfig: Option<PathBuf>,
    /// Builds and pushes at once.
    pub concurrency: usize,
    /// catctl.toml's `[build.args]`.
    pub build_args: std::collections::BTreeMap<String, String>,
    /// catctl.toml's `[build] platform`.
    pub build_platform: Option<Platform>,
    /// catctl.toml's `insecure_registries`: registry hosts reached over plain HTTP.
    pub insecure_registries: Vec<String>,
    /// Deploys (gates and rollouts) at once; not bounded by `concurrency`.
    pub deploy_concurrency: usize,
    /// catctl.toml's `[env]`: environment of every cat's container.
    pub env: std::collections::BTreeMap<String, String>,
}

impl Settings {
    /// `overrides` over `config` (read from `config_path`), validated.
    pub fn resolve(
        overrides: &Overrides,
        config: FarmConfig,
        config_path: &Path,
    ) -> Result<Settings> {
        let origin = |flag: bool, file: bool| match (flag, file) {
            (true, _) => Some(Origin::Flag),
            (false, true) => Some(Origin::File),
            (false, false) => None,
        };
        let settings = Settings {
            namespace_origin: origin(overrides.namespace.is_some(), config.namespace.is_some()),
            context_origin: origin(overrides.context.is_some(), config.context.is_some()),
            kubeconfig: overrides.kubeconfig.clone(),
            registry: overrides.registry.clone().unwrap_or(config.registry),
            namespace: overrides.namespace.clone().or(config.namespace),
            context: overrides.context.clone().or(config.context),
            concurrency: usize::from(config.concurrency.max(1)),
            deploy_concurrency: usize::from(config.deploy_concurrency.max(1)),
            build_args: config.build.args,
            env: config.env,
            build_platform: config.build.platform,
            insecure_registries: config.insecure_registries,
        };
        let file = config_path.display();
        let from = |flag: bool, key: &str, option: &str| match flag {
            true => format!("checking {option}"),
            false => format!("checking `{key}` in {file}"),
        };
        validate_registry(&settings.registry)
            .with_context(|| from(overrides.registry.is_some(), "registry", "--registry"))?;
        if let Some(namespace) = &settings.namespace {
            validate_namespace(namespace).with_context(|| {
                from(overrides.namespace.is_some(), "namespace", "-n/--namespace")
            })?;
        }
        for entry in &settings.insecure_registries {
            crate::registry::insecure::validate(entry)
                .with_context(|| format!("checking `insecure_registries` in {file}"))?;
        }
        if let Some(context) = &settings.context {
            validate_context(context)
                .with_context(|| from(overrides.context.is_some(), "context", "--context"))?;
        }
        validate_env(&settings.env).with_context(|| format!("checking `[env]` in {file}"))?;
        Ok(settings)
    }
}

/// `[env]` names: what a shell and Kubernetes accept, and none of the names catctl sets itself.
fn validate_env(env: &std::collections::BTreeMap<String, String>) -> Result<()> {
    use crate::cat_runtime::{HEALTH_PORT_ENV, SECRET_DIR_ENV};
    for name in env.keys() {
        let valid = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            bail!(
                "{name:?} is not an environment variable name: use letters, digits and '_', \
                 not starting with a digit"
            );
        }
        if [SECRET_DIR_ENV, HEALTH_PORT_ENV].contains(&name.as_str()) {
            bail!(
                "{name} is set by catctl itself (the token directory and `health_port` of \
                 cat.toml): remove it from [env]"
            );
        }
    }
    Ok(())
}

/// `deploy`'s options.
pub fn deploy_options(args: &DeployArgs) -> DeployOptions {
    DeployOptions {
        allow_stale: args.allow_stale,
        allow_downgrade: args.allow_downgrade,
        force: args.force,
        timeout: args.timeout,
        restart: false,
        atomic: args.atomic,
        wake: args.wake,
    }
}

/// `redeploy`'s: the pods restart even when nothing else changed; the sources were just built.
pub fn redeploy_options(args: &RedeployArgs) -> DeployOptions {
    DeployOptions {
        allow_stale: false,
        allow_downgrade: false,
        force: args.force,
        timeout: args.timeout,
        restart: true,
        atomic: args.atomic,
        wake: false,
    }
}

/// `rollback`'s: a recorded revision is not checked against today's sources.
pub fn rollback_options(args: &RollbackArgs) -> DeployOptions {
    DeployOptions {
        allow_stale: true,
        allow_downgrade: true,
        force: args.force,
        timeout: args.timeout,
        restart: false,
        atomic: false,
        wake: false,
    }
}

/// `render`'s and `diff`'s: they only look.
pub fn render_options(args: &RenderArgs) -> DeployOptions {
    DeployOptions::looking(args.allow_stale, false)
}

pub fn diff_options(args: &DiffArgs) -> DeployOptions {
    DeployOptions::looking(args.allow_stale, args.force)
}

pub fn build_options(args: &BuildArgs) -> BuildOptions {
    BuildOptions {
        no_cache: args.no_cache,
        platform: args.platform.clone(),
        default_platform: None,
        network: None,
    }
}

/// `redeploy`'s build: only the platform is chosen.
pub fn redeploy_build_options(args: &RedeployArgs) -> BuildOptions {
    BuildOptions {
        no_cache: false,
        platform: args.platform.clone(),
        default_platform: None,
        network: None,
    }
}

pub fn push_options(args: &PushArgs) -> PushOptions {
    PushOptions { force: args.force }
}

pub fn up_options(args: &UpArgs) -> UpOptions {
    UpOptions {
        allow_stale: args.allow_stale,
        network: args.network.clone(),
        platform: args.platform.clone(),
    }
}

/// The registry a new farm gets when none is given: the local one of `docker-registry`.
pub const DEFAULT_REGISTRY: &str = "127.0.0.1:5000";

/// `init`'s: the registry (from --registry, else `asked`) and namespace, validated.
pub fn init_options(overrides: &Overrides, asked: Option<String>) -> Result<InitOptions> {
    let registry = overrides
        .registry
        .clone()
        .or(asked)
        .unwrap_or_else(|| DEFAULT_REGISTRY.to_string());
    validate_registry(&registry)?;
    let namespace = overrides.namespace.clone();
    if let Some(namespace) = &namespace {
        validate_namespace(namespace).context("checking -n/--namespace")?;
    }
    Ok(InitOptions {
        registry,
        namespace,
    })
}

/// A namespace is a DNS-1123 label: 1–63 lower-case letters, digits and '-', starting and
/// ending with a letter or digit.
fn validate_namespace(namespace: &str) -> Result<()> {
    let valid = !namespace.is_empty()
        && namespace.len() <= 63
        && namespace
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && namespace.starts_with(|c: char| c.is_ascii_alphanumeric())
        && namespace.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !valid {
        bail!(
            "namespace '{namespace}' is not a valid Kubernetes namespace: at most 63 lower-case \
             letters, digits and '-', starting and ending with a letter or digit (e.g. cats)"
        );
    }
    Ok(())
}

/// A kube context name: anything kubectl accepts, which is not empty and has no control
/// characters.
fn validate_context(context: &str) -> Result<()> {
    if context.trim().is_empty() || context.chars().any(char::is_control) {
        bail!("context '{context}' is not a kube context name — see `kubectl config get-contexts`");
    }
    Ok(())
}

/// A registry is `host[:port][/path…]`, lower case, no scheme and no tag.
fn validate_registry(registry: &str) -> Result<()> {
    if registry.contains("://") {
        bail!(
            "registry '{registry}' must not include a scheme: write e.g. 127.0.0.1:5000 or gcr.io/project"
        );
    }
    let (host, path) = registry.split_once('/').unwrap_or((registry, ""));
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    let path_ok = path.split('/').all(|part| {
        path.is_empty()
            || (!part.is_empty()
                && part.chars().all(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
                })
                // Docker's path components begin and end with a letter or digit: no `..`.
                && part.starts_with(|c: char| c.is_ascii_alphanumeric())
                && part.ends_with(|c: char| c.is_ascii_alphanumeric()))
    });
    if !host_ok || !path_ok || registry.ends_with('/') {
        bail!(
            "registry '{registry}' is not a valid image repository prefix: write host[:port][/path] \
             in lower case, e.g. 127.0.0.1:5000 or gcr.io/cream-heros"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registries() {
        for ok in [
            "127.0.0.1:5000",
            "gcr.io/cream-heros",
            "localhost:5000/a/b",
            "[::1]:5000",
        ] {
            assert!(validate_registry(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "https://gcr.io",
            "gcr.io/Cream",
            "gcr.io/",
            "gcr.io//x",
            "a b",
            "127.0.0.1:5055/../x",
            "gcr.io/.x",
        ] {
            assert!(validate_registry(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn namespaces() {
        for ok in ["default", "cats", "a", "team-1"] {
            assert!(validate_namespace(ok).is_ok(), "{ok}");
        }
        let long = "a".repeat(64);
        for bad in ["", "Bad_NS", "-a", "a-", "a.b", long.as_str()] {
            assert!(validate_namespace(bad).is_err(), "{bad}");
        }
    }
}
