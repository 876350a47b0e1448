//! The two configuration files: the farm's `catctl.toml` and each cat's `cat.toml`.
//!
//! Both are typed with serde and refuse unknown keys; every error names the file, the line and
//! the key, e.g. `cats/dd/cat.toml:3:12: replicas: invalid type: string "2", expected u32`.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// `catctl.toml`: settings shared by every cat of the farm.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FarmConfig {
    /// Where images go, e.g. `gcr.io/cream-heros` or `127.0.0.1:5000`.
    pub registry: String,
    /// The Kubernetes namespace the cats live in [default: the kube context's, else `default`].
    #[serde(default)]
    pub namespace: Option<String>,
    /// The kubeconfig context to use instead of the current one.
    #[serde(default)]
    pub context: Option<String>,
    /// How many cats are built or pushed at once (CPU- and disk-bound work).
    #[serde(default = "default_concurrency")]
    pub concurrency: u16,
    /// How many cats are deployed at once: their gates and rollouts mostly wait on the
    /// cluster, so far more than builds.
    #[serde(default = "default_deploy_concurrency")]
    pub deploy_concurrency: u16,
    /// `[build]`: what every cat's image build is given.
    #[serde(default)]
    pub build: BuildConfig,
    /// `[env]`: environment variables of every cat's container, in the cluster and under
    /// `up` (e.g. `CAT_SLACK_API_URL` for a Slack proxy). Not part of the image.
    #[serde(default)]
    pub env: std::collections::BTreeMap<String, String>,
    /// Registries reached over plain HTTP (`host[:port]`, e.g. minikube's `192.168.49.2:5000`);
    /// every other registry is reached over HTTPS (loopback ones too: over HTTP only as the
    /// Docker daemon itself does).
    #[serde(default)]
    pub insecure_registries: Vec<String>,
}

/// `[build]` of catctl.toml or cat.toml.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BuildConfig {
    /// `--build-arg`s of the image build, e.g. `NODE_IMAGE = "catctl-node:22-local"`; a cat's
    /// own win over the farm's. They are part of the cat's sources.
    #[serde(default)]
    pub args: std::collections::BTreeMap<String, String>,
    /// The platform to build for, e.g. `linux/amd64` [default: the cluster's nodes', else
    /// the Docker daemon's]; `--platform` wins, a cat's own wins over the farm's.
    #[serde(default)]
    pub platform: Option<crate::image::Platform>,
}

fn default_concurrency() -> u16 {
    4
}

fn default_deploy_concurrency() -> u16 {
    100
}

/// `cats/<name>/cat.toml`: one cat's version, how it runs, and its character.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CatConfig {
    /// The image tag: the single source of truth for what runs.
    pub version: String,
    /// How many copies run (1 unless `several_copies` is true).
    #[serde(default = "default_replicas")]
    pub replicas: u32,
    /// True only for a cat that is safe to run as several copies at once. A Slack Socket Mode
    /// bot is not: two copies answer every message twice.
    #[serde(default)]
    pub several_copies: bool,
    /// The Slack bot user name when it differs from the cat's name.
    #[serde(default)]
    pub slack_user: Option<String>,
    /// The port of the cat's HTTP health endpoint (`/healthz`) [default: 8080].
    #[serde(default)]
    pub health_port: Option<u16>,
    /// Whether the cat serves that endpoint: Kubernetes probes it and `up` gives the container
    /// a health check. `probes = false` declares a cat without one.
    #[serde(default = "default_probes")]
    pub probes: bool,
    /// CPU and memory for the cat's container.
    #[serde(default)]
    pub resources: Resources,
    /// `[build]`: build arguments of this cat's image, over the farm's.
    #[serde(default)]
    pub build: BuildConfig,
    /// When the cat sleeps and wakes, run in the cluster by CronJobs that `deploy` applies.
    #[serde(default)]
    pub schedule: Option<ScheduleConfig>,
    /// The character, read by the cat's engine; catctl does not interpret it.
    #[serde(default)]
    pub character: toml::Table,
}

/// `[schedule]` of cat.toml: cron expressions (minute hour day-of-month month day-of-week, as
/// Kubernetes CronJobs take them) and the IANA time zone they are meant in.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    /// When the cat is put to sleep, e.g. "0 23 * * *".
    #[serde(default)]
    pub sleep: Option<String>,
    /// When it is woken, e.g. "0 7 * * *".
    #[serde(default)]
    pub wake: Option<String>,
    /// e.g. "Asia/Seoul" [default: "UTC"].
    #[serde(default)]
    pub time_zone: Option<String>,
}

fn default_probes() -> bool {
    true
}

fn default_replicas() -> u32 {
    1
}

/// `[resources]` of cat.toml, as Kubernetes quantities.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Resources {
    /// CPU requested, e.g. "10m".
    pub cpu: String,
    /// Memory requested, e.g. "64Mi".
    pub memory: String,
    /// The memory limit, above which the cat is OOMKilled.
    pub memory_limit: String,
}

impl Default for Resources {
    fn default() -> Self {
        Resources {
            cpu: "10m".to_string(),
            memory: "64Mi".to_string(),
            memory_limit: "128Mi".to_string(),
        }
    }
}

/// A configuration file that could not be read or understood, located to the line.
#[derive(Debug)]
pub struct ConfigError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        write!(f, ": ")?;
        if let Some(key) = &self.key {
            write!(f, "key `{key}`: ")?;
        }
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Reads and parses a TOML file into `T`.
pub fn load<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(parse(path, &text)?)
}

/// Parses TOML `text` (from `file`) into `T`, locating any error.
pub fn parse<T: DeserializeOwned>(file: &Path, text: &str) -> Result<T, ConfigError> {
    let locate = |err: toml::de::Error, key: Option<String>| {
        let (line, column) = match err.span() {
            Some(span) => {
                let (line, column) = line_and_column(text, span.start);
                (Some(line), Some(column))
            }
            None => (None, None),
        };
        ConfigError {
            file: file.to_path_buf(),
            line,
            column,
            key,
            message: err.message().trim().to_string(),
        }
    };
    let deserializer = toml::Deserializer::parse(text).map_err(|err| locate(err, None))?;
    serde_path_to_error::deserialize(deserializer).map_err(|err| {
        let path = err.path().to_string();
        let key = (path != ".").then_some(path);
        locate(err.into_inner(), key)
    })
}

fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Checks a `version` the way registries judge tags, and refuses `latest`, whose meaning changes
/// under a running cat whenever someone pushes.
pub fn validate_version(version: &str) -> Result<(), String> {
    let valid_tag = !version.is_empty()
        && version.len() <= 128
        && !version.starts_with(['.', '-'])
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !valid_tag {
        return Err(format!(
            "'{version}' is not a valid image tag: use letters, digits, '_', '.' and '-' \
             (at most 128, not starting with '.' or '-'), e.g. \"v1\""
        ));
    }
    if version == "latest" {
        return Err(
            "'latest' moves whenever someone pushes, so it never says what runs — \
                    use an explicit version such as \"v1\""
                .to_string(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cat(text: &str) -> Result<CatConfig, ConfigError> {
        parse(Path::new("cats/dd/cat.toml"), text)
    }

    #[test]
    fn minimal_cat_gets_defaults() {
        let cat = cat("version = \"v1\"\n").unwrap();
        assert_eq!(cat.replicas, 1);
        assert!(!cat.several_copies);
        assert!(cat.character.is_empty());
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let err = cat("version = \"v1\"\nreplica = 2\n").unwrap_err();
        let text = err.to_string();
        assert_eq!(err.line, Some(2));
        assert!(text.starts_with("cats/dd/cat.toml:2:"), "{text}");
        assert!(text.contains("unknown field `replica`"), "{text}");
    }

    #[test]
    fn wrong_type_names_the_key() {
        let err = cat("version = \"v1\"\n\nreplicas = \"two\"\n").unwrap_err();
        assert_eq!(err.line, Some(3));
        assert_eq!(err.key.as_deref(), Some("replicas"));
        assert!(err.to_string().contains("invalid type"), "{err}");
    }

    #[test]
    fn syntax_error_is_located() {
        let err = cat("version = \"v1\"\nreplicas = = 2\n").unwrap_err();
        assert_eq!(err.line, Some(2));
    }

    #[test]
    fn farm_defaults() {
        let farm: FarmConfig = parse(Path::new("catctl.toml"), "registry = \"r\"").unwrap();
        assert_eq!(farm.namespace, None);
        assert_eq!(farm.concurrency, 4);
        assert_eq!(farm.deploy_concurrency, 100);
        assert_eq!(farm.context, None);
    }

    #[test]
    fn versions() {
        assert!(validate_version("v1").is_ok());
        assert!(validate_version("1.2.3-rc_1").is_ok());
        assert!(validate_version("latest").unwrap_err().contains("latest"));
        assert!(validate_version("v 1").is_err());
        assert!(validate_version("").is_err());
        assert!(validate_version("-v1").is_err());
    }
}
