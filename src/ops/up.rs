//! Running cats on the local Docker daemon (`up`) and taking them down (`down`): the verified
//! image — the registry's, or a local build not pushed yet, checked against the sources alike —
//! with the token mounted read-only where the cluster mounts it, replacing the cat's previous
//! container so there is never a second copy.

use std::collections::HashMap;

use anyhow::{Context as _, Result, anyhow, bail};
use bollard::query_parameters::CreateImageOptionsBuilder;
use futures::StreamExt as _;
use tokio::sync::watch;

use crate::cat_runtime::secret_name;
use crate::docker::containers::{RunSpec, container_name, find, remove, replace};
use crate::docker::{Daemon, daemon_message};
use crate::errors;
use crate::farm::{Cat, Farm, SECRET_DIR};
use crate::image::{ImageRef, Platform};
use crate::labels;
use crate::ops::verify::{registry_credentials, verify_cat};
use crate::ops::{CatResult, each_cat};
use crate::progress::{Reporter, Silent};
use crate::registry::Registry;

/// What `up` asks for beyond the cats.
#[derive(Debug, Clone)]
pub struct UpOptions {
    /// Run an image whose cat sources changed since it was built.
    pub allow_stale: bool,
    /// The docker network the containers join: `default`, `host`, `none`, or a network's name.
    pub network: String,
    /// `--platform`: run an image of this platform (the daemon emulating it); without it the
    /// image must be of the daemon's own platform.
    pub platform: Option<Platform>,
}

/// What one cat's container runs.
#[derive(Debug, Clone)]
pub struct Started {
    /// The image, pinned by the registry's digest when it is the pushed one.
    pub image: ImageRef,
    /// The container runs a local build that is not in the registry (not pushed yet, or
    /// rebuilt since).
    pub unpushed: bool,
}

/// Starts every cat. Once `interrupted` turns true, cats not yet at their container swap stop
/// there (their running container untouched); a swap under way is finished, never cut short.
pub async fn up_cats<'a>(
    farm: &Farm,
    daemon: &Daemon,
    registry: &Registry,
    cats: &'a [Cat],
    options: &UpOptions,
    reporter: &dyn Reporter,
    interrupted: &watch::Receiver<bool>,
) -> Vec<CatResult<'a, Started>> {
    each_cat(
        cats,
        farm.settings.concurrency,
        reporter,
        |cat| async move {
            up_cat(farm, daemon, registry, cat, options, reporter, interrupted)
                .await
                .with_context(|| format!("cannot start {}", cat.name))
        },
    )
    .await
}

async fn up_cat(
    farm: &Farm,
    daemon: &Daemon,
    registry: &Registry,
    cat: &Cat,
    options: &UpOptions,
    reporter: &dyn Reporter,
    interrupted: &watch::Receiver<bool>,
) -> Result<Started> {
    let mut interrupted = interrupted.clone();
    let prepared = tokio::select! {
        prepared = prepare(farm, daemon, registry, cat, options, reporter) => prepared?,
        _ = interrupted.wait_for(|stop| *stop) => bail!(
            "interrupted before its container was replaced; the running one, if any, is untouched"
        ),
    };
    let Prepared {
        spec,
        image,
        unpushed,
        from,
    } = prepared;
    // Not cancellable: the new container runs before the old one goes, or the old one stays.
    replace(daemon, &spec).await?;
    reporter.done(
        &cat.name,
        "Started",
        &format!("{} from {from}", container_name(&cat.name)),
    );
    Ok(Started { image, unpushed })
}

/// What a cat's container swap needs, all checked.
struct Prepared {
    spec: RunSpec,
    image: ImageRef,
    unpushed: bool,
    /// The image as the report says it.
    from: String,
}

/// Verifies the cat's image and pulls it when needed: everything before touching containers.
async fn prepare(
    farm: &Farm,
    daemon: &Daemon,
    registry: &Registry,
    cat: &Cat,
    options: &UpOptions,
    reporter: &dyn Reporter,
) -> Result<Prepared> {
    let secret = farm.root.join(SECRET_DIR).join(secret_name(&cat.name));
    if !secret.exists() {
        bail!(
            "{SECRET_DIR}/{} does not exist — put the cat's token there (a file, or a directory \
             with one file per key) before running it",
            secret_name(&cat.name)
        );
    }
    reporter.step(&cat.name, "verifying the image");
    let verification = verify_cat(farm, cat, registry, Some(daemon)).await?;
    let blocking = verification.blocking_locally(options.allow_stale);
    if !blocking.is_empty() {
        let problems: Vec<String> = blocking.iter().map(|f| f.to_string()).collect();
        return Err(errors::combine(
            &format!("{} problems with its image", problems.len()),
            &problems,
        ));
    }
    let unpushed = verification.runs_unpushed();
    let mut labels = HashMap::from([
        (labels::CAT.to_string(), cat.name.clone()),
        (
            labels::SOURCE_DIGEST.to_string(),
            verification.source_digest.to_string(),
        ),
    ]);
    let image = if unpushed {
        verification.image.clone()
    } else {
        let image = verification
            .pinned_image()
            .ok_or_else(|| anyhow!("the registry has no digest for {}", verification.image))?;
        if verification.local_image_id.is_none() {
            reporter.step(&cat.name, "pulling");
            pull(daemon, &verification.image).await?;
        }
        labels.insert(labels::IMAGE_DIGEST.to_string(), image.manifest_reference());
        image
    };
    let platform = check_platform(daemon, &verification.image, options.platform.as_ref()).await?;
    reporter.step(&cat.name, "starting");
    let spec = RunSpec {
        cat: cat.name.clone(),
        image: verification.image.tagged(),
        secret,
        network: options.network.clone(),
        labels,
        platform,
    };
    let from = if unpushed {
        format!("{} (local build, not pushed)", verification.image)
    } else {
        verification.image.to_string()
    };
    Ok(Prepared {
        spec,
        image,
        unpushed,
        from,
    })
}

/// Refuses, before any container is touched, a local image the daemon would not run: one of
/// another platform than the daemon's, unless `--platform` names it (the daemon then emulates
/// it, as `docker run --platform` does). Returns the platform to ask the daemon for.
async fn check_platform(
    daemon: &Daemon,
    image: &ImageRef,
    wanted: Option<&Platform>,
) -> Result<Option<Platform>> {
    let Some(local) = daemon.local_image(image).await? else {
        return Ok(wanted.cloned());
    };
    let Some(built) = local.platform else {
        return Ok(wanted.cloned());
    };
    match wanted {
        Some(wanted) if !built.runs_on(wanted) => bail!(
            "{} is {built}, not {wanted} as --platform asks — build it for {wanted} with \
             `catctl build --platform {wanted}`",
            image.tagged()
        ),
        Some(wanted) => Ok(Some(wanted.clone())),
        None if !built.runs_on(&daemon.platform) => bail!(
            "{} is {built} but the Docker daemon at {} runs {} — build it for {} (`catctl build \
             --platform {}`), or run it emulated with `catctl up --platform {built}`",
            image.tagged(),
            daemon.host,
            daemon.platform,
            daemon.platform,
            daemon.platform
        ),
        None => Ok(None),
    }
}

/// Pulls `image` (verified to be in the registry) when the daemon does not have it.
async fn pull(daemon: &Daemon, image: &ImageRef) -> Result<()> {
    let creds = registry_credentials(image).await?;
    let options = CreateImageOptionsBuilder::new()
        .from_image(&image.name())
        .tag(&image.tag)
        .build();
    let mut stream = daemon.docker.create_image(
        Some(options),
        None,
        creds.map(|c| c.to_bollard(&image.server())),
    );
    while let Some(item) = stream.next().await {
        item.map_err(|err| anyhow!("pulling {image} failed: {}", daemon_message(&err)))?;
    }
    Ok(())
}

/// Stops and removes every cat's container; each result says whether one was running.
pub async fn down_cats<'a>(
    farm: &Farm,
    daemon: &Daemon,
    cats: &'a [Cat],
) -> Vec<CatResult<'a, bool>> {
    each_cat(cats, farm.settings.concurrency, &Silent, |cat| async move {
        let found = find(daemon, &cat.name).await?;
        for id in &found {
            remove(daemon, id).await?;
        }
        Ok::<_, anyhow::Error>(!found.is_empty())
    })
    .await
    .into_iter()
    .map(|mut outcome| {
        let name = &outcome.cat.name;
        outcome.result = outcome
            .result
            .with_context(|| format!("taking {name} down"));
        outcome
    })
    .collect()
}
