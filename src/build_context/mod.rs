//! A cat's build context: the template with the cat's directory laid over it (`overlay`),
//! filtered by `.dockerignore` (`dockerignore`), and the digest of those sources
//! (`source_digest`) that images carry and deploys check.

pub mod dockerignore;
pub mod overlay;
pub mod source_digest;

use anyhow::{Context as _, Result, bail};

use crate::farm::{Cat, Farm};
use crate::image::Digest;

pub use overlay::{Entry, EntryKind};

/// The cat's build context as it is on disk now, and its source digest; read off the async
/// runtime. A context without a Dockerfile is an error that says where one belongs.
pub async fn read(farm: &Farm, cat: &Cat) -> Result<(Vec<Entry>, Digest)> {
    let (template, dir) = (farm.template_dir(), cat.dir.clone());
    let (name, template_shown) = (
        cat.name.clone(),
        farm.display_path(&farm.template_dir()).to_string(),
    );
    tokio::task::spawn_blocking(move || {
        let entries = overlay::build_context(&template, &dir)?;
        if !entries.iter().any(|e| e.path == "Dockerfile") {
            bail!(
                "{name} has no Dockerfile: neither {template_shown}/Dockerfile nor \
                 cats/{name}/Dockerfile exists — add one"
            );
        }
        let digest = source_digest::source_digest(&entries)?;
        Ok((entries, digest))
    })
    .await
    .context("the build context task stopped")?
}

/// The source digest of `cat`'s build context as it is on disk now.
pub async fn current_source_digest(farm: &Farm, cat: &Cat) -> Result<Digest> {
    let (template, dir) = (farm.template_dir(), cat.dir.clone());
    tokio::task::spawn_blocking(move || {
        source_digest::source_digest(&overlay::build_context(&template, &dir)?)
    })
    .await
    .context("the build context task stopped")?
}
