//! The Docker daemon through bollard: connecting (with an error that says what to check),
//! building a cat's image from its streamed context, pushing, inspecting local images, and the
//! containers `up`/`down` manage.

pub mod build;
pub mod containers;
pub mod endpoint;
pub mod push;

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};
use bollard::{API_DEFAULT_VERSION, Docker};

use crate::image::{Digest, ImageRef, Platform};
use endpoint::Endpoint;

/// How long connecting and agreeing on an API version may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long one request may wait for the daemon's answer to begin (bollard bounds the answer's
/// start, not a streamed body: a build, push or pull streams its progress from the start, and
/// an inspect or a container stop answers within seconds).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// The first API version whose `/build` takes BuildKit sessions (Docker 18.09).
const BUILDKIT_API: (u32, u32) = (1, 39);

/// Docker's `config.json` at `path` as `T` (the parts a caller needs), or `None` when the file
/// does not exist; `what` names the file in the error when it is not JSON of that shape.
pub fn read_config_json<T: serde::de::DeserializeOwned>(
    path: &std::path::Path,
    what: &str,
) -> Result<Option<T>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err).with_context(|| format!("cannot read {}", path.display())),
    };
    serde_json::from_str(&text)
        .map(Some)
        .with_context(|| format!("{} is not {what}", path.display()))
}

/// A connection to the daemon, at an API version both sides speak; cheap to clone.
#[derive(Debug, Clone)]
pub struct Daemon {
    pub docker: Docker,
    /// The endpoint and what chose it, for messages.
    pub host: String,
    /// Builds run on BuildKit (else on the legacy builder).
    pub buildkit: bool,
    /// The daemon's own platform (`docker version`'s Os/Arch).
    pub platform: Platform,
}

/// A local image: its id, the registry digests it is known under, and its labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalImage {
    pub id: Digest,
    pub repo_digests: Vec<String>,
    pub labels: HashMap<String, String>,
    /// `linux/arm64`, from the image's config.
    pub platform: Option<Platform>,
}

impl Daemon {
    /// Connects to the daemon the docker CLI would use (see [`endpoint`]) and checks it answers.
    pub async fn connect() -> Result<Daemon> {
        let endpoint = endpoint::resolve(&endpoint::ProcessEnvironment)
            .context("choosing the Docker daemon")?;
        Daemon::connect_to(&endpoint).await
    }

    pub async fn connect_to(endpoint: &Endpoint) -> Result<Daemon> {
        let host = endpoint.to_string();
        let unreachable = |reason: String| {
            anyhow!(
                "cannot reach the Docker daemon at {host}: is it running? are DOCKER_HOST and \
                 the docker context right? ({reason})"
            )
        };
        let docker = client(endpoint)
            .map_err(|err| unreachable(format!("{err:#}")))?
            .with_timeout(REQUEST_TIMEOUT);
        let answer = async {
            let docker = docker.negotiate_version().await?;
            let version = docker.version().await?;
            Ok::<_, bollard::errors::Error>((docker, version))
        };
        let (docker, version) = match tokio::time::timeout(CONNECT_TIMEOUT, answer).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(err)) => return Err(unreachable(crate::errors::error_chain(&err))),
            Err(_) => {
                return Err(unreachable(format!(
                    "no answer within {} s",
                    CONNECT_TIMEOUT.as_secs()
                )));
            }
        };
        let os = version.os.clone().unwrap_or_else(|| "linux".to_string());
        let buildkit = std::env::var("DOCKER_BUILDKIT").ok().as_deref() != Some("0")
            && os == "linux"
            && api_at_least(version.api_version.as_deref(), BUILDKIT_API);
        let platform = Platform {
            os,
            ..Platform::linux(version.arch.as_deref().unwrap_or(std::env::consts::ARCH))
        };
        Ok(Daemon {
            docker,
            host,
            buildkit,
            platform,
        })
    }

    /// The registries the daemon itself treats as insecure (`docker info`'s RegistryConfig:
    /// its CIDRs and the names of its insecure indexes). Asked only when needed: `docker info`
    /// can take a second on a daemon with many images.
    pub async fn insecure_registries(&self) -> Result<Vec<String>> {
        let info = tokio::time::timeout(CONNECT_TIMEOUT, self.docker.info())
            .await
            .map_err(|_| {
                anyhow!(
                    "the Docker daemon at {} gave no `docker info` within {} s",
                    self.host,
                    CONNECT_TIMEOUT.as_secs()
                )
            })?
            .map_err(|err| {
                anyhow!(
                    "asking the Docker daemon at {} for its insecure registries: {}",
                    self.host,
                    daemon_message(&err)
                )
            })?;
        let Some(config) = info.registry_config else {
            return Ok(Vec::new());
        };
        let indexes = config
            .index_configs
            .unwrap_or_default()
            .into_values()
            .filter(|index| index.secure == Some(false))
            .filter_map(|index| index.name);
        Ok(config
            .insecure_registry_cidrs
            .unwrap_or_default()
            .into_iter()
            .chain(indexes)
            .collect())
    }

    /// The local image of `image`'s tag, or `None` when there is none.
    pub async fn local_image(&self, image: &ImageRef) -> Result<Option<LocalImage>> {
        let reference = image.tagged();
        match self.docker.inspect_image(&reference).await {
            Ok(inspect) => Ok(Some(LocalImage {
                id: Digest::parse(inspect.id.as_deref().unwrap_or_default())
                    .with_context(|| format!("the daemon's id of {reference}"))?,
                repo_digests: inspect.repo_digests.unwrap_or_default(),
                labels: inspect.config.and_then(|c| c.labels).unwrap_or_default(),
                platform: inspect.architecture.as_deref().map(|arch| Platform {
                    os: inspect.os.clone().unwrap_or_else(|| "linux".to_string()),
                    variant: inspect.variant.clone(),
                    ..Platform::linux(arch)
                }),
            })),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(None),
            Err(err) => {
                Err(anyhow::Error::new(err)
                    .context(format!("inspecting the local image {reference}")))
            }
        }
    }
}

/// The message of a daemon error without bollard's wrapping.
pub fn daemon_message(err: &bollard::errors::Error) -> String {
    match err {
        bollard::errors::Error::DockerResponseServerError { message, .. } => message.clone(),
        bollard::errors::Error::DockerStreamError { error } => error.clone(),
        other => crate::errors::error_chain(other),
    }
}

/// A bollard client for `endpoint` (not yet connected).
fn client(endpoint: &Endpoint) -> Result<Docker> {
    let timeout = REQUEST_TIMEOUT.as_secs();
    let host = endpoint.host.as_str();
    let docker = match (host.split_once("://"), &endpoint.tls) {
        (Some(("unix", _)), _) => Docker::connect_with_unix(host, timeout, API_DEFAULT_VERSION)?,
        (Some(("tcp" | "http" | "https", _)), Some(tls)) => {
            for file in [tls.ca(), tls.cert(), tls.key()] {
                if !file.is_file() {
                    bail!(
                        "TLS to {host} needs {} (DOCKER_CERT_PATH or the context's TLS \
                         material): it is missing",
                        file.display()
                    );
                }
            }
            let https = host.replacen("tcp://", "https://", 1);
            Docker::connect_with_ssl(
                &https,
                &tls.key(),
                &tls.cert(),
                &tls.ca(),
                timeout,
                API_DEFAULT_VERSION,
            )?
        }
        (Some(("tcp" | "http", _)), None) => {
            Docker::connect_with_http(host, timeout, API_DEFAULT_VERSION)?
        }
        (Some(("ssh", _)), _) => {
            Docker::connect_with_ssh(host, timeout, API_DEFAULT_VERSION, None)?
        }
        _ => bail!("'{host}' is not an address catctl can reach"),
    };
    Ok(docker)
}

/// Whether API version `version` (`1.41`) is at least `minimum`.
fn api_at_least(version: Option<&str>, minimum: (u32, u32)) -> bool {
    let Some((major, minor)) = version.and_then(|v| v.split_once('.')) else {
        return false;
    };
    match (major.parse::<u32>(), minor.parse::<u32>()) {
        (Ok(major), Ok(minor)) => (major, minor) >= minimum,
        _ => false,
    }
}
