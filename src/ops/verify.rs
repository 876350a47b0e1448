//! The image checks every command that runs a cat makes first (`verify`, `up`, `deploy`):
//! the tag is in the registry (read without pulling), the local image of that tag — if there is
//! one — is the registry's (or at least built from the same sources), and the cat's sources
//! (files and base images) still have the digest recorded in the image. Each problem is a
//! [`Finding`] whose message says what to do.

use std::fmt;

use anyhow::{Context as _, Result};
use serde::Serialize;

use crate::build_context::{self, Resolver, source_digest};
use crate::docker::Daemon;
use crate::farm::{Cat, Farm};
use crate::image::{Digest, ImageRef};
use crate::labels;
use crate::ops::{CatResult, each_cat};
use crate::progress::Silent;
use crate::registry::{Credentials, Registry, credentials};

/// One problem with a cat's image, with the fix in its message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "finding", rename_all = "snake_case")]
pub enum Finding {
    /// The tag is not in the registry.
    NotInRegistry {
        cat: String,
        image: ImageRef,
        built_locally: bool,
    },
    /// The local image of the tag is not the registry's and was built from other sources:
    /// built but not pushed.
    LocalDiffers { cat: String, image: ImageRef },
    /// The cat's sources are not what the image was built from.
    SourceChanged {
        cat: String,
        image: ImageRef,
        /// e.g. `cats/lala`.
        cat_dir: String,
        /// e.g. `templates/cat`.
        template_dir: String,
    },
    /// The image carries no source digest: it was not built by catctl.
    NoSourceLabel { cat: String, image: ImageRef },
}

impl Finding {
    /// Whether this is the "sources changed" finding that `--allow-stale` lets through.
    pub fn is_stale_source(&self) -> bool {
        matches!(self, Finding::SourceChanged { .. })
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::NotInRegistry {
                cat,
                image,
                built_locally: true,
            } => write!(
                f,
                "{image} is not in the registry — run `catctl push {cat}`"
            ),
            Finding::NotInRegistry { cat, image, .. } => write!(
                f,
                "{image} is not in the registry and not built — run `catctl build {cat}` and \
                 `catctl push {cat}`"
            ),
            Finding::LocalDiffers { cat, image } => write!(
                f,
                "local {image} differs from the registry's (built but not pushed) — tags are \
                 immutable: bump `version` in cats/{cat}/cat.toml and build again, or replace \
                 the tag with `catctl push --force {cat}`"
            ),
            Finding::SourceChanged {
                cat,
                image,
                cat_dir,
                template_dir,
            } => write!(
                f,
                "{cat_dir} (or {template_dir}) changed since {image} was built — rebuild with \
                 `catctl build {cat}`, or bump `version` in {cat_dir}/cat.toml"
            ),
            Finding::NoSourceLabel { cat, image } => write!(
                f,
                "{image} has no {} label, so catctl cannot tell what it was built from — \
                 rebuild it with `catctl build {cat}`",
                source_digest::LABEL
            ),
        }
    }
}

/// What was found about one cat's image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub cat: String,
    /// `<registry>/<cat>:<version>`.
    pub image: ImageRef,
    /// The digest the registry serves for the tag.
    pub registry_digest: Option<Digest>,
    /// The id of the local image of the tag, when the daemon was asked and has one.
    pub local_image_id: Option<Digest>,
    /// The local image is the very image the registry serves for the tag (pushed or pulled).
    pub local_pushed: bool,
    /// The digest of the cat's sources now.
    pub source_digest: Digest,
    /// The digest recorded in the image (the local one, else the registry's); `None` when it
    /// carries none, or there is no image.
    pub built_source_digest: Option<Digest>,
    /// The image (the local one, else the registry's) was built from sources with changes git
    /// had not committed (label `io.catctl.git-dirty`): what runs may exist in no commit.
    pub dirty: bool,
    /// The git commit the image was built from (label `org.opencontainers.image.revision`).
    pub git_commit: Option<String>,
    pub findings: Vec<Finding>,
}

impl Verification {
    pub fn passed(&self) -> bool {
        self.findings.is_empty()
    }

    /// The findings that stop a cat from running; `allow_stale` lets changed sources through.
    pub fn blocking(&self, allow_stale: bool) -> Vec<&Finding> {
        self.findings
            .iter()
            .filter(|f| !(allow_stale && f.is_stale_source()))
            .collect()
    }

    /// Whether running the cat here means running a local build that is not in the registry
    /// (built and not pushed yet, or rebuilt since the push).
    pub fn runs_unpushed(&self) -> bool {
        self.local_image_id.is_some() && !self.local_pushed
    }

    /// The findings that stop a cat from running on the local daemon: those of [`blocking`],
    /// except that a local build may run before it is pushed ("test it before you push").
    ///
    /// [`blocking`]: Verification::blocking
    pub fn blocking_locally(&self, allow_stale: bool) -> Vec<&Finding> {
        let unpushed = self.runs_unpushed();
        self.blocking(allow_stale)
            .into_iter()
            .filter(|f| {
                !(unpushed
                    && matches!(
                        f,
                        Finding::NotInRegistry { .. } | Finding::LocalDiffers { .. }
                    ))
            })
            .collect()
    }

    /// The image pinned by digest, `repo:tag@sha256:…`, when the registry has the tag.
    pub fn pinned_image(&self) -> Option<ImageRef> {
        self.registry_digest
            .clone()
            .map(|digest| self.image.pinned(digest))
    }
}

/// Checks `cat`'s image. `daemon` is the local Docker daemon when there is one to ask (deploy
/// may run without); without it the local-image check is skipped and base images are resolved
/// through their registry. An unreachable registry, or a base image that cannot be resolved, is
/// an error, not a finding.
pub async fn verify_cat(
    farm: &Farm,
    cat: &Cat,
    registry: &Registry,
    daemon: Option<&Daemon>,
) -> Result<Verification> {
    let image = cat.image(&farm.settings);
    let resolver = Resolver { daemon, registry };
    let sources = build_context::current_source_digest(farm, cat, resolver);
    let creds = registry_credentials(&image);
    let (sources, creds) = tokio::join!(sources, creds);
    let (sources, creds) = (sources?, creds?);
    let local = async {
        match daemon {
            Some(daemon) => daemon.local_image(&image).await,
            None => Ok(None),
        }
    };
    let (registry_digest, local) =
        tokio::join!(registry.manifest_digest(&image, creds.as_ref()), local);
    let (registry_digest, local) = (registry_digest?, local?);
    let local_pushed = match (&registry_digest, &local) {
        (Some(digest), Some(local)) => local.repo_digests.contains(&image.by_digest(digest)),
        _ => false,
    };
    // The registry's labels, read from its image config without pulling, when the local image
    // cannot stand for it.
    let registry_labels = match &registry_digest {
        Some(digest) if !local_pushed => registry
            .image_labels(&image, digest, creds.as_ref())
            .await?
            .map(|labels| labels.into_iter().collect()),
        _ => None,
    };
    // A label that is not a digest is no record of the sources at all.
    let recorded = |labels: &std::collections::HashMap<String, String>| {
        labels
            .get(source_digest::LABEL)
            .and_then(|text| Digest::parse(text).ok())
    };

    let mut findings = Vec::new();
    match (&registry_digest, &local) {
        (None, _) => findings.push(Finding::NotInRegistry {
            cat: cat.name.clone(),
            image: image.clone(),
            built_locally: local.is_some(),
        }),
        // A rebuild of the sources the registry has (a build's image id is new each time) is
        // as good as the pushed image: `push` has nothing to push for it.
        (Some(_), Some(local)) if !local_pushed => {
            let pushed_sources = registry_labels.as_ref().and_then(recorded);
            if recorded(&local.labels).is_none() || recorded(&local.labels) != pushed_sources {
                findings.push(Finding::LocalDiffers {
                    cat: cat.name.clone(),
                    image: image.clone(),
                });
            }
        }
        _ => {}
    }
    // The sources are compared with the image last built here when there is one (the
    // registry's is then either the same or already reported as older), else with the
    // registry's image.
    let labels = match &local {
        Some(local) => Some(local.labels.clone()),
        None => registry_labels,
    };
    let built_source_digest = labels.as_ref().and_then(recorded);
    match &labels {
        Some(_) if built_source_digest.is_none() => findings.push(Finding::NoSourceLabel {
            cat: cat.name.clone(),
            image: image.clone(),
        }),
        Some(_) if built_source_digest.as_ref() != Some(&sources) => {
            findings.push(Finding::SourceChanged {
                cat: cat.name.clone(),
                image: image.clone(),
                cat_dir: farm.display_path(&cat.dir).to_string(),
                template_dir: farm.display_path(&farm.template_dir()).to_string(),
            })
        }
        _ => {}
    }
    let dirty = labels
        .as_ref()
        .and_then(|l| l.get(labels::GIT_DIRTY))
        .is_some_and(|v| v == "true");
    let git_commit = labels
        .as_ref()
        .and_then(|l| l.get(labels::OCI_REVISION))
        .cloned();
    Ok(Verification {
        cat: cat.name.clone(),
        image,
        registry_digest,
        local_image_id: local.map(|l| l.id),
        local_pushed,
        source_digest: sources,
        built_source_digest,
        dirty,
        git_commit,
        findings,
    })
}

/// Checks every cat's image, `farm.settings.concurrency` at once.
pub async fn verify_cats<'a>(
    farm: &Farm,
    registry: &Registry,
    daemon: &Daemon,
    cats: &'a [Cat],
) -> Vec<CatResult<'a, Verification>> {
    each_cat(cats, farm.settings.concurrency, &Silent, |cat| async move {
        verify_cat(farm, cat, registry, Some(daemon))
            .await
            .with_context(|| format!("verifying {}", cat.name))
    })
    .await
}

/// The credentials for `image`'s registry from docker's config (helpers run off the runtime).
pub async fn registry_credentials(image: &ImageRef) -> Result<Option<Credentials>> {
    let (host, server) = (image.registry.clone(), image.server());
    tokio::task::spawn_blocking(move || credentials::lookup(&host, &server))
        .await
        .context("the credentials task stopped")?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lala() -> ImageRef {
        ImageRef::parse("127.0.0.1:5000/lala:v2").unwrap()
    }

    fn digest(byte: &str) -> Digest {
        Digest::parse(&format!("sha256:{}", byte.repeat(32))).unwrap()
    }

    #[test]
    fn a_local_build_may_run_unpushed_but_not_stale() {
        let image = lala();
        let local = |findings: Vec<Finding>, pushed: bool| Verification {
            cat: "lala".into(),
            image: image.clone(),
            registry_digest: None,
            local_image_id: Some(digest("01")),
            local_pushed: pushed,
            source_digest: digest("cd"),
            built_source_digest: Some(digest("cd")),
            dirty: false,
            git_commit: None,
            findings,
        };
        let not_pushed = Finding::NotInRegistry {
            cat: "lala".into(),
            image: image.clone(),
            built_locally: true,
        };
        let stale = Finding::SourceChanged {
            cat: "lala".into(),
            image: image.clone(),
            cat_dir: "cats/lala".into(),
            template_dir: "templates/cat".into(),
        };
        let unpushed = local(vec![not_pushed.clone()], false);
        assert!(unpushed.runs_unpushed());
        assert!(unpushed.blocking_locally(false).is_empty());
        assert_eq!(unpushed.blocking(false).len(), 1, "deploy still refuses it");
        let stale_build = local(vec![not_pushed, stale], false);
        assert_eq!(stale_build.blocking_locally(false).len(), 1);
        assert!(stale_build.blocking_locally(true).is_empty());
        assert!(!local(vec![], true).runs_unpushed(), "the pushed image");
    }

    #[test]
    fn messages_say_what_to_do() {
        let missing = Finding::NotInRegistry {
            cat: "lala".into(),
            image: lala(),
            built_locally: true,
        };
        assert_eq!(
            missing.to_string(),
            "127.0.0.1:5000/lala:v2 is not in the registry — run `catctl push lala`"
        );
        let differs = Finding::LocalDiffers {
            cat: "lala".into(),
            image: lala(),
        };
        assert!(differs.to_string().starts_with(
            "local 127.0.0.1:5000/lala:v2 differs from the registry's (built but not pushed)"
        ));
        let changed = Finding::SourceChanged {
            cat: "lala".into(),
            image: lala(),
            cat_dir: "cats/lala".into(),
            template_dir: "templates/cat".into(),
        };
        assert!(changed.is_stale_source());
        assert!(changed.to_string().starts_with(
            "cats/lala (or templates/cat) changed since 127.0.0.1:5000/lala:v2 was built"
        ));
        let v = Verification {
            cat: "lala".into(),
            image: lala(),
            registry_digest: Some(digest("ab")),
            local_image_id: None,
            local_pushed: false,
            source_digest: digest("cd"),
            built_source_digest: Some(digest("ef")),
            dirty: false,
            git_commit: None,
            findings: vec![changed, differs],
        };
        assert_eq!(v.blocking(true).len(), 1);
        assert_eq!(v.blocking(false).len(), 2);
        assert!(!v.runs_unpushed(), "no local image");
        assert_eq!(v.blocking_locally(false).len(), 2);
        assert_eq!(
            v.pinned_image().map(|i| i.to_string()),
            Some(format!("127.0.0.1:5000/lala:v2@sha256:{}", "ab".repeat(32)))
        );
    }
}
