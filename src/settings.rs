//! Settings: catctl.toml, the environment and the command line merged in one place — the
//! farm-wide [`Settings`], and each command's options resolved from its arguments.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};

use crate::cli::{
    BuildArgs, DeployArgs, DiffArgs, PushArgs, RedeployArgs, RenderArgs, RollbackArgs, UpArgs,
};
use crate::config::FarmConfig;
use crate::ops::build::BuildOptions;
use crate::ops::deploy::DeployOptions;
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
}

/// What a command works with: flags (and their environment variables) merged over
/// `catctl.toml`.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub registry: String,
    /// `-n`, else catctl.toml's; `None`: the kube context's namespace, else `default`.
    pub namespace: Option<String>,
    pub context: Option<String>,
    /// Builds and pushes at once.
    pub concurrency: usize,
    /// Deploys (gates and rollouts) at once; not bounded by `concurrency`.
    pub deploy_concurrency: usize,
}

impl Settings {
    /// `overrides` over `config` (read from `config_path`), validated.
    pub fn resolve(
        overrides: &Overrides,
        config: FarmConfig,
        config_path: &Path,
    ) -> Result<Settings> {
        let settings = Settings {
            registry: overrides.registry.clone().unwrap_or(config.registry),
            namespace: overrides.namespace.clone().or(config.namespace),
            context: overrides.context.clone().or(config.context),
            concurrency: usize::from(config.concurrency.max(1)),
            deploy_concurrency: usize::from(config.deploy_concurrency.max(1)),
        };
        validate_registry(&settings.registry)
            .with_context(|| format!("checking `registry` in {}", config_path.display()))?;
        Ok(settings)
    }
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
    }
}

pub fn push_options(args: &PushArgs) -> PushOptions {
    PushOptions { force: args.force }
}

pub fn up_options(args: &UpArgs) -> UpOptions {
    UpOptions {
        allow_stale: args.allow_stale,
        network: args.network.clone(),
    }
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
                }))
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
        ] {
            assert!(validate_registry(bad).is_err(), "{bad}");
        }
    }
}
