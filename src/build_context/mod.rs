//! A cat's build context: the template with the cat's directory laid over it (`overlay`),
//! filtered by `.dockerignore` (`dockerignore`), and the digest of those sources
//! (`source_digest`) that images carry and deploys check.

pub mod base_images;
pub mod dockerignore;
pub mod overlay;
pub mod source_digest;

use anyhow::{Context as _, Result, anyhow, bail};

use crate::farm::{Cat, Farm};
use crate::image::Digest;

pub use base_images::Resolver;
pub use overlay::{Entry, EntryKind};

/// The cat's build context as it is on disk now, and its source digest (files and base
/// images, resolved through `resolver`). A context without a Dockerfile is an error that says
/// where one belongs.
pub async fn read(farm: &Farm, cat: &Cat, resolver: Resolver<'_>) -> Result<(Vec<Entry>, Digest)> {
    let (template, dir) = (farm.template_dir(), cat.dir.clone());
    let (name, template_shown) = (
        cat.name.clone(),
        farm.display_path(&farm.template_dir()).to_string(),
    );
    let root = farm.root.clone();
    let build_args = cat.build_args(&farm.settings);
    let args = build_args.clone();
    let (entries, files, dockerfile, bases) = tokio::task::spawn_blocking(move || {
        let entries = overlay::build_context(&template, &dir)?;
        let Some(dockerfile) = entries.iter().find(|e| e.path == "Dockerfile") else {
            bail!(
                "{name} has no Dockerfile: neither {template_shown}/Dockerfile nor \
                 cats/{name}/Dockerfile exists — add one"
            );
        };
        let shown = dockerfile
            .source
            .strip_prefix(&root)
            .unwrap_or(&dockerfile.source)
            .display()
            .to_string();
        let text = std::fs::read_to_string(&dockerfile.source)
            .with_context(|| format!("cannot read {shown}"))?;
        let bases =
            base_images::base_images(&text, &args).with_context(|| format!("reading {shown}"))?;
        let files = source_digest::source_digest(&entries)?;
        Ok((entries, files, shown, bases))
    })
    .await
    .map_err(|err| anyhow!("the build context task stopped: {err}"))??;
    let resolved = base_images::resolve_all(resolver, &dockerfile, &bases).await?;
    Ok((
        entries,
        source_digest::with_bases(&files, &resolved, &build_args),
    ))
}

/// The source digest of `cat`'s build context as it is on disk now.
pub async fn current_source_digest(
    farm: &Farm,
    cat: &Cat,
    resolver: Resolver<'_>,
) -> Result<Digest> {
    Ok(read(farm, cat, resolver).await?.1)
}
