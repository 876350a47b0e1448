//! The gate: every check a deploy makes before its first write, reading only — the image
//! (tag in the registry, local image pushed, sources unchanged), the cat's Secret, no workload
//! of the other kind beside it — and the cat's manifest rendered, pinned by digest.

use anyhow::{Context as _, Result, bail};
use futures::StreamExt as _;
use kube::api::DynamicObject;

use crate::cat_runtime::secret_name;
use crate::docker::Daemon;
use crate::farm::{Cat, Farm};
use crate::image::ImageRef;
use crate::k8s::Cluster;
use crate::k8s::secrets as cluster_secrets;
use crate::k8s::sleep::{self, Asleep};
use crate::k8s::workload::{self, Revision};
use crate::manifest::{self, Kind, RESTARTED_AT_ANNOTATION, RenderInput, Rendered};
use crate::ops::deploy::{DeployOptions, ImageChoice, Report};
use crate::ops::verify;
use crate::registry::Registry;

/// A cat that passed the gate, ready to apply.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub cat: Cat,
    /// The image, pinned by digest.
    pub image: ImageRef,
    pub rendered: Rendered,
    pub restarted_at: Option<String>,
    pub history: Vec<Revision>,
    pub cause: String,
    /// Set when `catctl sleep` put the cat to sleep.
    pub asleep: Option<Asleep>,
    /// Apply with 0 replicas and wait for nothing: the cat sleeps and no `--wake` was given.
    pub keep_asleep: bool,
}

/// What went through the gate: the cats to apply, and a report for each refused one.
pub struct Gated {
    pub prepared: Vec<Prepared>,
    pub refused: Vec<Report>,
}

/// What the gate needs, shared by all cats of a command.
pub struct Gate<'a> {
    pub farm: &'a Farm,
    pub cluster: &'a Cluster,
    pub registry: &'a Registry,
    /// The local daemon, when one answers (its image check is skipped otherwise).
    pub daemon: Option<&'a Daemon>,
    pub options: &'a DeployOptions,
}

impl Gate<'_> {
    /// Every cat through the gate, concurrently. Rendering needs the registry digest and the
    /// Secret's checksum, so even a dry run asks the registry and the cluster.
    pub async fn check_all(&self, cats: Vec<(Cat, ImageChoice)>) -> Gated {
        let checked: Vec<(Cat, Result<Prepared>)> = futures::stream::iter(cats)
            .map(|(cat, choice)| async move {
                let result = self.check(&cat, &choice).await;
                (cat, result)
            })
            .buffered(self.farm.settings.concurrency)
            .collect()
            .await;
        let mut gated = Gated {
            prepared: Vec::new(),
            refused: Vec::new(),
        };
        for (cat, result) in checked {
            match result {
                Ok(p) => gated.prepared.push(p),
                Err(err) => {
                    gated
                        .refused
                        .push(Report::refused(&cat.name, &cat.config.version, &err))
                }
            }
        }
        gated
    }

    /// Every check for `cat`, reading only.
    pub async fn check(&self, cat: &Cat, choice: &ImageChoice) -> Result<Prepared> {
        check_singleton(cat)?;
        let (image, cause) = match choice {
            ImageChoice::Declared => self.declared_image(cat).await?,
            ImageChoice::Revision(revision) => self.revision_image(revision).await?,
        };
        let namespace = &self.cluster.namespace;
        let secret = secret_name(&cat.name);
        let Some(secret) = cluster_secrets::get(self.cluster, &secret).await? else {
            bail!("secret {secret} not found in namespace {namespace} — run `catctl secret sync`");
        };
        let kind = Kind::for_cat(cat);
        let other = match kind {
            Kind::StatefulSet => Kind::Deployment,
            Kind::Deployment => Kind::StatefulSet,
        };
        if workload::get(self.cluster, other, &cat.name)
            .await?
            .is_some()
        {
            bail!(
                "a {} named {} already runs in namespace {namespace}; a {} beside it would run a \
                 second copy — remove it first (`kubectl delete {} {} -n {namespace}`)",
                other.as_str(),
                cat.name,
                kind.as_str(),
                other.as_str().to_lowercase(),
                cat.name
            );
        }
        let live = workload::get(self.cluster, kind, &cat.name).await?;
        let history = live.as_ref().map(workload::history).unwrap_or_default();
        let restarted_at = if self.options.restart {
            Some(jiff::Timestamp::now().to_string())
        } else {
            live.as_ref().and_then(live_restarted_at)
        };
        let input = RenderInput {
            image: image.clone(),
            secret_checksum: secret.checksum(),
            restarted_at: restarted_at.clone(),
            change_cause: cause.clone(),
        };
        let mut rendered = manifest::render(self.farm, cat, &input)?;
        let asleep = live.as_ref().and_then(sleep::asleep);
        let keep_asleep = asleep.is_some() && !self.options.wake;
        if keep_asleep {
            keep_replicas_at_zero(&mut rendered);
        }
        Ok(Prepared {
            cat: cat.clone(),
            image,
            rendered,
            restarted_at,
            history,
            cause,
            asleep,
            keep_asleep,
        })
    }

    /// The image cat.toml declares, verified and pinned to the registry's digest.
    async fn declared_image(&self, cat: &Cat) -> Result<(ImageRef, String)> {
        let verification = verify::verify_cat(self.farm, cat, self.registry, self.daemon).await?;
        let blocking = verification.blocking(self.options.allow_stale);
        if !blocking.is_empty() {
            let problems: Vec<String> = blocking.iter().map(|f| f.to_string()).collect();
            bail!("{}", problems.join("; "));
        }
        let image = verification
            .pinned_image()
            .context("the registry gave no digest")?;
        let cause = format!("catctl deploy {image}");
        Ok((image, cause))
    }

    /// The image of a recorded revision, still in the registry.
    async fn revision_image(&self, revision: &Revision) -> Result<(ImageRef, String)> {
        let image = revision.image.pinned(revision.digest.clone());
        let creds = verify::registry_credentials(&image).await?;
        if self
            .registry
            .manifest_digest(&image, creds.as_ref())
            .await?
            .is_none()
        {
            bail!("{image} is no longer in the registry — it cannot be rolled back to");
        }
        let cause = format!("catctl rollback to revision {} {image}", revision.revision);
        Ok((image, cause))
    }
}

/// Refuses a cat that would run a singleton as several copies (farm policy: a Slack bot
/// answers every message once per copy).
pub fn check_singleton(cat: &Cat) -> Result<()> {
    if !cat.config.several_copies && cat.config.replicas > 1 {
        bail!(
            "cats/{}/cat.toml asks for {} replicas, but {} is a singleton: every copy of a Slack \
             bot answers every message, so two copies answer twice — set `replicas = 1`, or \
             `several_copies = true` if the cat is really safe to run several times",
            cat.name,
            cat.config.replicas,
            cat.name
        );
    }
    Ok(())
}

/// A sleeping cat's workload applies 0 replicas: the value its sleep manager holds, so the
/// apply neither conflicts nor wakes it.
fn keep_replicas_at_zero(rendered: &mut Rendered) {
    rendered.object["spec"]["replicas"] = serde_json::json!(0);
    let lines: Vec<&str> = rendered.yaml.lines().collect();
    let at: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].starts_with("  replicas: "))
        .collect();
    if let [i] = at[..] {
        let mut lines: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        lines[i] = "  replicas: 0  # asleep (catctl sleep); deploy --wake wakes it".into();
        rendered.yaml = lines.join("\n") + "\n";
    }
}

fn live_restarted_at(object: &DynamicObject) -> Option<String> {
    object
        .data
        .pointer("/spec/template/metadata/annotations")
        .and_then(|a| a.get(RESTARTED_AT_ANNOTATION))
        .and_then(|v| v.as_str())
        .map(str::to_string)
}
