//! Building cats' images: each cat's build context streamed to the daemon and built as
//! `<registry>/<cat>:<version>`, labelled with the cat and its source digest. A tag that
//! already holds an image of exactly these sources is not built again.

use std::collections::HashMap;

use anyhow::{Context as _, Result};

use crate::build_context::{self, source_digest};
use crate::docker::Daemon;
use crate::docker::build::{BuildSpec, build};
use crate::farm::{Cat, Farm};
use crate::image::{Digest, ImageRef};
use crate::ops::{CatResult, each_cat};
use crate::progress::Reporter;

/// What a build asks for beyond the cats.
#[derive(Debug, Clone, Copy, Default)]
pub struct BuildOptions {
    /// Build even when the local image already holds these sources; use no layer cache.
    pub no_cache: bool,
}

/// One cat's built image.
#[derive(Debug, Clone)]
pub struct Built {
    pub image: ImageRef,
    pub image_id: Digest,
    pub source_digest: Digest,
    /// The local image of the tag was already built from these sources; nothing was built.
    pub fresh: bool,
}

/// Builds every cat, `farm.settings.concurrency` at once.
pub async fn build_cats<'a>(
    farm: &Farm,
    daemon: &Daemon,
    cats: &'a [Cat],
    options: BuildOptions,
    reporter: &dyn Reporter,
) -> Vec<CatResult<'a, Built>> {
    each_cat(cats, farm.settings.concurrency, reporter, |cat| {
        build_cat(farm, daemon, cat, options, reporter)
    })
    .await
}

async fn build_cat(
    farm: &Farm,
    daemon: &Daemon,
    cat: &Cat,
    options: BuildOptions,
    reporter: &dyn Reporter,
) -> Result<Built> {
    let image = cat.image(&farm.settings);
    let (entries, digest) = build_context::read(farm, cat).await?;
    // The tag already holds an image of exactly these sources: building again would at best
    // give the same image, and at worst (the daemon's cache picking a sibling layer that a
    // concurrent build made) a new id for unchanged sources — "built but not pushed" for
    // nothing. `--no-cache` builds anyway.
    if !options.no_cache
        && let Some(local) = daemon.local_image(&image).await?
        && local.labels.get(source_digest::LABEL) == Some(&digest.to_string())
    {
        reporter.done(
            &cat.name,
            "Fresh",
            &format!("{image} (sources unchanged since it was built)"),
        );
        return Ok(Built {
            image,
            image_id: local.id,
            source_digest: digest,
            fresh: true,
        });
    }
    let labels = HashMap::from([
        (source_digest::CAT_LABEL.to_string(), cat.name.clone()),
        (source_digest::LABEL.to_string(), digest.to_string()),
    ]);
    let spec = BuildSpec {
        tag: image.clone(),
        labels,
        no_cache: options.no_cache,
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
        &format!("{image} ({})", image_id.short()),
    );
    Ok(Built {
        image,
        image_id,
        source_digest: digest,
        fresh: false,
    })
}
