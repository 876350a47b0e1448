//! Pushing cats' images to the registry with docker's credentials; each result is the digest
//! the registry now serves for the tag.

use anyhow::{Context as _, Result, bail};

use crate::docker::Daemon;
use crate::docker::push::push;
use crate::farm::{Cat, Farm};
use crate::image::ImageRef;
use crate::ops::verify::registry_credentials;
use crate::ops::{CatResult, each_cat};
use crate::progress::Reporter;
use crate::registry::Registry;

/// Pushes every cat's image, `farm.settings.concurrency` at once; each result is the image
/// pinned to the digest the registry serves.
pub async fn push_cats<'a>(
    farm: &Farm,
    daemon: &Daemon,
    registry: &Registry,
    cats: &'a [Cat],
    reporter: &dyn Reporter,
) -> Vec<CatResult<'a, ImageRef>> {
    each_cat(cats, farm.settings.concurrency, reporter, |cat| {
        push_cat(farm, daemon, registry, cat, reporter)
    })
    .await
}

async fn push_cat(
    farm: &Farm,
    daemon: &Daemon,
    registry: &Registry,
    cat: &Cat,
    reporter: &dyn Reporter,
) -> Result<ImageRef> {
    let image = cat.image(&farm.settings);
    let context = || format!("pushing {image} (cat {})", cat.name);
    let creds = registry_credentials(&image).await.with_context(context)?;
    // Asking the registry first gives a clear error when it is unreachable, before the daemon
    // spends its retries on it.
    reporter.step(&cat.name, "asking the registry");
    registry
        .manifest_digest(&image, creds.as_ref())
        .await
        .with_context(context)?;
    if daemon.local_image(&image).await?.is_none() {
        bail!(
            "there is no local image {image} to push — run `catctl build {}` first",
            cat.name
        );
    }
    reporter.step(&cat.name, "pushing");
    let digest = push(daemon, &image, creds.as_ref(), |status| {
        reporter.step(&cat.name, status)
    })
    .await
    .with_context(context)?;
    reporter.done(&cat.name, "Pushed", &format!("{image} {digest}"));
    Ok(image.pinned(digest))
}
