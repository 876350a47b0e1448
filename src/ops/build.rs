//! Building cats' images: each cat's build context streamed to the daemon and built as
//! `<registry>/<cat>:<version>`, labelled with the cat, its source digest (files and base
//! images), the OCI labels (git commit, origin, time, version) and whether git had uncommitted
//! changes of its sources. A tag that already holds an image of exactly these sources is not
//! built again.

use std::collections::HashMap;

use anyhow::{Context as _, Result};

use crate::build_context::{self, Resolver, source_digest};
use crate::docker::Daemon;
use crate::docker::build::{BuildSpec, build};
use crate::farm::{Cat, Farm};
use crate::git;
use crate::image::{Digest, ImageRef, Platform};
use crate::labels;
use crate::ops::{CatResult, each_cat};
use crate::progress::Reporter;
use crate::registry::Registry;

/// What a build asks for beyond the cats.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Build even when the local image already holds these sources; use no layer cache.
    pub no_cache: bool,
    /// `--platform`: wins over the cats' and the farm's `[build] platform`.
    pub platform: Option<Platform>,
    /// The platform when nothing names one (see [`crate::ops::platform`]); `None`: the
    /// daemon's.
    pub default_platform: Option<Platform>,
    /// The network of `RUN` steps (`None`: the daemon's default).
    pub network: Option<String>,
}

impl BuildOptions {
    /// The platform `cat`'s image is built for.
    pub fn platform_of(&self, cat: &Cat, farm: &Farm) -> Option<Platform> {
        self.platform
            .clone()
            .or_else(|| cat.build_platform(&farm.settings))
            .or_else(|| self.default_platform.clone())
    }
}

/// One cat's built image.
#[derive(Debug, Clone)]
pub struct Built {
    pub image: ImageRef,
    pub image_id: Digest,
    pub source_digest: Digest,
    /// The local image of the tag was already built from these sources; nothing was built.
    pub fresh: bool,
    /// The platform the image is for.
    pub platform: Platform,
    /// The cat's sources had changes git had not committed (`None`: the farm is not in git).
    pub git_dirty: Option<bool>,
}

/// Builds every cat, `farm.settings.concurrency` at once.
pub async fn build_cats<'a>(
    farm: &Farm,
    daemon: &Daemon,
    registry: &Registry,
    cats: &'a [Cat],
    options: &BuildOptions,
    reporter: &dyn Reporter,
) -> Vec<CatResult<'a, Built>> {
    each_cat(cats, farm.settings.concurrency, reporter, |cat| {
        build_cat(farm, daemon, registry, cat, options, reporter)
    })
    .await
}

async fn build_cat(
    farm: &Farm,
    daemon: &Daemon,
    registry: &Registry,
    cat: &Cat,
    options: &BuildOptions,
    reporter: &dyn Reporter,
) -> Result<Built> {
    let image = cat.image(&farm.settings);
    let platform = options
        .platform_of(cat, farm)
        .unwrap_or_else(|| daemon.platform.clone());
    let resolver = Resolver {
        daemon: Some(daemon),
        registry,
    };
    let (entries, digest) = build_context::read(farm, cat, resolver).await?;
    // The tag already holds an image of exactly these sources: building again would at best
    // give the same image, and at worst (the daemon's cache picking a sibling layer that a
    // concurrent build made) a new id for unchanged sources — "built but not pushed" for
    // nothing. `--no-cache` builds anyway.
    if !options.no_cache
        && let Some(local) = daemon.local_image(&image).await?
        && local.labels.get(source_digest::LABEL) == Some(&digest.to_string())
        && local
            .platform
            .as_ref()
            .is_some_and(|p| p.runs_on(&platform))
    {
        reporter.done(
            &cat.name,
            "Fresh",
            &format!("{image} ({platform}, sources unchanged since it was built)"),
        );
        let git_dirty = local.labels.get(labels::GIT_DIRTY).map(|v| v == "true");
        return Ok(Built {
            image,
            image_id: local.id,
            source_digest: digest,
            fresh: true,
            platform,
            git_dirty,
        });
    }
    let revision = git::revision(&farm.root, &[farm.template_dir(), cat.dir.clone()]).await;
    let labels = image_labels(cat, &image, &digest, revision.as_ref());
    let spec = BuildSpec {
        tag: image.clone(),
        labels,
        args: cat.build_args(&farm.settings).into_iter().collect(),
        no_cache: options.no_cache,
        platform: Some(platform.clone()),
        network: options.network.clone(),
    };
    reporter.step(&cat.name, "sending the build context");
    let image_id = build(daemon, entries, &spec, |step| {
        reporter.step(&cat.name, step)
    })
    .await
    .with_context(|| format!("building {image} (cat {})", cat.name))?;
    reporter.done(
        &cat.name,
        "Built",
        &format!("{image} ({platform}, {})", image_id.short()),
    );
    Ok(Built {
        image,
        image_id,
        source_digest: digest,
        fresh: false,
        platform,
        git_dirty: revision.map(|r| r.dirty),
    })
}

/// The labels a cat's image carries: the cat, its source digest, whether git had uncommitted
/// changes of its sources, and the OCI labels. Only the source digest says what the image is
/// made of; the build time makes each build's image id new.
fn image_labels(
    cat: &Cat,
    image: &ImageRef,
    digest: &Digest,
    revision: Option<&git::Revision>,
) -> HashMap<String, String> {
    let created = jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ");
    let mut labels = HashMap::from([
        (labels::CAT.to_string(), cat.name.clone()),
        (labels::SOURCE_DIGEST.to_string(), digest.to_string()),
        (labels::OCI_VERSION.to_string(), image.tag.clone()),
        (labels::OCI_CREATED.to_string(), created.to_string()),
    ]);
    if let Some(revision) = revision {
        labels.insert(labels::OCI_REVISION.to_string(), revision.commit.clone());
        labels.insert(labels::GIT_DIRTY.to_string(), revision.dirty.to_string());
        if let Some(source) = &revision.source {
            labels.insert(labels::OCI_SOURCE.to_string(), source.clone());
        }
    }
    labels
}
