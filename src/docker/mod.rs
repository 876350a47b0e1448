//! The Docker daemon through bollard: connecting (with an error that says what to check),
//! building a cat's image from its streamed context, pushing, inspecting local images, and the
//! containers `up`/`down` manage.

pub mod build;
pub mod containers;
pub mod push;

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};
use bollard::Docker;

use crate::image::{Digest, ImageRef};

/// Where docker looks when `DOCKER_HOST` is not set.
pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// How long connecting and agreeing on an API version may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long one request (a build or a push runs as one) may wait for the daemon's answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3600);

/// A connection to the daemon, at an API version both sides speak; cheap to clone.
#[derive(Debug, Clone)]
pub struct Daemon {
    pub docker: Docker,
    /// `DOCKER_HOST`, or the default socket, for messages.
    pub host: String,
}

/// A local image: its id, the registry digests it is known under, and its labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalImage {
    pub id: Digest,
    pub repo_digests: Vec<String>,
    pub labels: HashMap<String, String>,
}

impl Daemon {
    /// Connects to the daemon at `DOCKER_HOST` (or the default socket) and checks it answers.
    pub async fn connect() -> Result<Daemon> {
        let host = std::env::var("DOCKER_HOST")
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| DEFAULT_HOST.to_string());
        let unreachable = |reason: String| {
            anyhow!(
                "cannot reach the Docker daemon at {host}: is it running? is DOCKER_HOST right? \
                 ({reason})"
            )
        };
        if !host.contains("://") {
            bail!(
                "DOCKER_HOST={host} is not an address docker understands — write \
                 unix:///path/to/docker.sock or tcp://HOST:PORT"
            );
        }
        let docker = Docker::connect_with_host(&host)
            .map_err(|err| unreachable(err.to_string()))?
            .with_timeout(REQUEST_TIMEOUT);
        let docker = match tokio::time::timeout(CONNECT_TIMEOUT, docker.negotiate_version()).await {
            Ok(Ok(docker)) => docker,
            Ok(Err(err)) => return Err(unreachable(crate::errors::error_chain(&err))),
            Err(_) => {
                return Err(unreachable(format!(
                    "no answer within {} s",
                    CONNECT_TIMEOUT.as_secs()
                )));
            }
        };
        Ok(Daemon { docker, host })
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
