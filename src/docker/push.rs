//! Pushing one image through the daemon, and reading the pushed digest from its status lines
//! (`v1: digest: sha256:… size: 528`; bollard drops the aux record that also carries it).

use anyhow::{Result, anyhow, bail};
use bollard::query_parameters::PushImageOptionsBuilder;
use futures::StreamExt as _;

use super::{Daemon, daemon_message};
use crate::image::{Digest, ImageRef};
use crate::registry::Credentials;

/// Pushes `image` (which must exist locally); `on_status` hears the daemon's status lines.
/// Returns the digest the registry now serves for the tag.
pub async fn push(
    daemon: &Daemon,
    image: &ImageRef,
    credentials: Option<&Credentials>,
    on_status: impl Fn(&str),
) -> Result<Digest> {
    if daemon.local_image(image).await?.is_none() {
        bail!("there is no local image {image} to push");
    }
    let options = PushImageOptionsBuilder::new().tag(&image.tag).build();
    let creds = credentials.map(|c| c.to_bollard(&image.server()));
    let mut stream = daemon
        .docker
        .push_image(&image.name(), Some(options), creds);
    let mut digest = None;
    while let Some(item) = stream.next().await {
        match item {
            Ok(info) => {
                if let Some(status) = info.status {
                    if let Some(found) = digest_in(&status) {
                        digest = Some(found);
                    }
                    on_status(&status);
                }
            }
            Err(err) => return Err(explain(image, &daemon_message(&err))),
        }
    }
    digest.ok_or_else(|| anyhow!("the daemon pushed {image} but did not say its digest"))
}

/// The digest in a status line such as `v1: digest: sha256:ab… size: 528`.
fn digest_in(status: &str) -> Option<Digest> {
    let (_, rest) = status.split_once("digest: ")?;
    Digest::parse(rest.split_whitespace().next()?).ok()
}

/// The daemon's push error, with what to do about it.
fn explain(image: &ImageRef, message: &str) -> anyhow::Error {
    let host = &image.registry;
    let lower = message.to_ascii_lowercase();
    if [
        "connection refused",
        "dial tcp",
        "no such host",
        "i/o timeout",
    ]
    .iter()
    .any(|s| lower.contains(s))
    {
        anyhow!(
            "cannot reach the registry {host} to push {image}: is it running? is `registry` in \
             catctl.toml (or --registry) right? ({message})"
        )
    } else if [
        "denied",
        "unauthorized",
        "authentication required",
        "forbidden",
    ]
    .iter()
    .any(|s| lower.contains(s))
    {
        anyhow!(
            "the registry {host} refused the push of {image}: {message} — log in with \
             `docker login {host}` or configure a credential helper in ~/.docker/config.json"
        )
    } else {
        anyhow!("pushing {image} failed: {message}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_digest_in_the_status_line() {
        assert_eq!(
            digest_in(&format!("v1: digest: sha256:{} size: 528", "0a".repeat(32)))
                .map(|d| d.to_string())
                .as_deref(),
            Some(format!("sha256:{}", "0a".repeat(32)).as_str())
        );
        assert_eq!(digest_in("Pushed"), None);
    }

    #[test]
    fn explains_unreachable_and_denied() {
        let image = ImageRef::parse("127.0.0.1:5999/dd:v1").unwrap();
        let err = explain(
            &image,
            "Get \"http://127.0.0.1:5999/v2/\": dial tcp 127.0.0.1:5999: connect: connection refused",
        );
        assert!(
            err.to_string()
                .starts_with("cannot reach the registry 127.0.0.1:5999")
        );
        let err = explain(&image, "denied: requested access to the resource is denied");
        assert!(err.to_string().contains("docker login 127.0.0.1:5999"));
    }
}
