//! Pushing cats' images to the registry with docker's credentials. Tags are immutable: a tag
//! the registry already serves is replaced only with `force`, and only when its image was built
//! from other sources — the same sources already there means nothing to push (a build's image
//! id is new each time, its source digest is not).

use anyhow::{Context as _, Result, bail};

use crate::build_context::source_digest;
use crate::docker::push::push;
use crate::docker::{Daemon, LocalImage};
use crate::farm::{Cat, Farm};
use crate::image::{Digest, ImageRef};
use crate::ops::verify::registry_credentials;
use crate::ops::{CatResult, each_cat};
use crate::progress::Reporter;
use crate::registry::{Credentials, Registry};

/// What a push asks for beyond the cats.
#[derive(Debug, Clone, Copy, Default)]
pub struct PushOptions {
    /// Replace a tag the registry serves from other sources.
    pub force: bool,
}

/// What a push did for one cat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushAction {
    /// The tag was new to the registry.
    Pushed,
    /// The registry already served these sources under the tag; nothing was pushed.
    UpToDate,
    /// `force` replaced the registry's image of the tag, built from other sources.
    Replaced { previous: Digest },
}

/// One cat's push: the image pinned to the digest the registry now serves, and what was done.
#[derive(Debug, Clone)]
pub struct Pushed {
    pub image: ImageRef,
    pub action: PushAction,
}

/// Pushes every cat's image, `farm.settings.concurrency` at once.
pub async fn push_cats<'a>(
    farm: &Farm,
    daemon: &Daemon,
    registry: &Registry,
    cats: &'a [Cat],
    options: PushOptions,
    reporter: &dyn Reporter,
) -> Vec<CatResult<'a, Pushed>> {
    each_cat(cats, farm.settings.concurrency, reporter, |cat| {
        push_cat(farm, daemon, registry, cat, options, reporter)
    })
    .await
}

async fn push_cat(
    farm: &Farm,
    daemon: &Daemon,
    registry: &Registry,
    cat: &Cat,
    options: PushOptions,
    reporter: &dyn Reporter,
) -> Result<Pushed> {
    let image = cat.image(&farm.settings);
    let context = || format!("pushing {image} (cat {})", cat.name);
    let creds = registry_credentials(&image).await.with_context(context)?;
    // Asking the registry first gives a clear error when it is unreachable, before the daemon
    // spends its retries on it.
    reporter.step(&cat.name, "asking the registry");
    let served = registry
        .manifest_digest(&image, creds.as_ref())
        .await
        .with_context(context)?;
    let Some(local) = daemon.local_image(&image).await? else {
        bail!(
            "there is no local image {image} to push — run `catctl build {}` first",
            cat.name
        );
    };
    let mut previous = None;
    if let Some(served) = served {
        let theirs = served_sources(registry, &image, &served, &local, creds.as_ref())
            .await
            .with_context(context)?;
        let ours = local.labels.get(source_digest::LABEL);
        if ours.is_some() && theirs.as_ref() == ours {
            reporter.done(
                &cat.name,
                "Up to date",
                &format!("{image} {served} (the registry has these sources; nothing pushed)"),
            );
            return Ok(Pushed {
                image: image.pinned(served),
                action: PushAction::UpToDate,
            });
        }
        if !options.force {
            bail!(
                "{image} is already in the registry, built from other sources (the registry's: \
                 {}; the local image's: {}) — tags are immutable: bump `version` in {}/cat.toml \
                 and build again, or push --force to replace it",
                theirs.as_deref().unwrap_or("no source digest"),
                ours.map_or("no source digest", String::as_str),
                farm.display_path(&cat.dir)
            );
        }
        previous = Some(served);
    }
    reporter.step(&cat.name, "pushing");
    let digest = push(daemon, &image, creds.as_ref(), |status| {
        reporter.step(&cat.name, status)
    })
    .await
    .with_context(context)?;
    let action = match previous {
        Some(previous) => {
            reporter.done(
                &cat.name,
                "Replaced",
                &format!("{image} {digest} (--force: it was {previous}, from other sources)"),
            );
            PushAction::Replaced { previous }
        }
        None => {
            reporter.done(&cat.name, "Pushed", &format!("{image} {digest}"));
            PushAction::Pushed
        }
    };
    Ok(Pushed {
        image: image.pinned(digest),
        action,
    })
}

/// The source digest recorded in the image the registry serves as `served`: the local image's
/// when it is that very image, else read from the registry's image config (nothing is pulled).
async fn served_sources(
    registry: &Registry,
    image: &ImageRef,
    served: &Digest,
    local: &LocalImage,
    creds: Option<&Credentials>,
) -> Result<Option<String>> {
    if local.repo_digests.contains(&image.by_digest(served)) {
        return Ok(local.labels.get(source_digest::LABEL).cloned());
    }
    Ok(registry
        .image_labels(image, served, creds)
        .await?
        .and_then(|labels| labels.get(source_digest::LABEL).cloned()))
}
