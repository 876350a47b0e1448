//! Running cats on the local Docker daemon (`up`) and taking them down (`down`): the verified
//! image — the registry's, or a local build not pushed yet, checked against the sources alike —
//! with the token mounted read-only where the cluster mounts it, replacing the cat's previous
//! container so there is never a second copy.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow, bail};
use bollard::query_parameters::CreateImageOptionsBuilder;
use futures::StreamExt as _;
use tokio::sync::watch;

use crate::cat_runtime::{DEFAULT_HEALTH_PORT, secret_name};
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
    let user = image_user(daemon, &verification.image).await?;
    unreadable_token(&farm.root, &secret, user, &cat.name)?;
    reporter.step(&cat.name, "starting");
    let spec = RunSpec {
        cat: cat.name.clone(),
        image: verification.image.tagged(),
        secret,
        network: options.network.clone(),
        labels,
        platform,
        health_port: health_port(cat, &options.network)?,
        health_check: cat.config.probes,
        env: farm.settings.env.clone().into_iter().collect(),
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

/// The numeric uid and gid the image runs as (`USER 1000:1000`); `None` for a user given by
/// name, which only the image's own /etc/passwd could resolve. No `USER` is root.
async fn image_user(daemon: &Daemon, image: &ImageRef) -> Result<Option<(u32, Option<u32>)>> {
    let inspected = daemon
        .docker
        .inspect_image(&image.tagged())
        .await
        .map_err(|err| anyhow!("inspecting {image}: {}", daemon_message(&err)))?;
    let user = inspected
        .config
        .and_then(|config| config.user)
        .unwrap_or_default();
    Ok(parse_user(&user))
}

fn parse_user(user: &str) -> Option<(u32, Option<u32>)> {
    if user.is_empty() {
        return Some((0, Some(0)));
    }
    let (uid, gid) = match user.split_once(':') {
        Some((uid, gid)) => (uid, Some(gid)),
        None => (user, None),
    };
    let uid = uid.parse().ok()?;
    let gid = match gid {
        Some(gid) => Some(gid.parse().ok()?),
        None => None,
    };
    Some((uid, gid))
}

/// `up` mounts the token as it is on disk: the image's user must be able to read it, or the
/// cat would only fail inside its container. Refused before anything starts, saying the fix.
fn unreadable_token(
    root: &Path,
    secret: &Path,
    user: Option<(u32, Option<u32>)>,
    cat: &str,
) -> Result<()> {
    let shown = |path: &Path| {
        path.strip_prefix(root)
            .unwrap_or(path)
            .display()
            .to_string()
    };
    use std::os::unix::fs::MetadataExt as _;
    let Some((uid, gid)) = user else {
        return Ok(());
    };
    if uid == 0 {
        return Ok(());
    }
    let files: Vec<PathBuf> = if secret.is_dir() {
        std::fs::read_dir(secret)
            .with_context(|| format!("reading {}", secret.display()))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.is_file())
            .collect()
    } else {
        vec![secret.to_path_buf()]
    };
    for path in files
        .iter()
        .map(PathBuf::as_path)
        .chain(secret.is_dir().then_some(secret))
    {
        let meta =
            std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
        let need = if meta.is_dir() { 0o5 } else { 0o4 };
        let mode = meta.mode();
        let readable = mode & need == need
            || (meta.uid() == uid && (mode >> 6) & need == need)
            || (gid == Some(meta.gid()) && (mode >> 3) & need == need);
        if !readable {
            bail!(
                "{} (owner uid {}, mode {:o}) cannot be read by uid {uid}, the user {cat}'s \
                 image runs as, and `up` mounts the token as it is — make the token the \
                 user's: `chown -R {uid} {}` (it stays private)",
                shown(path),
                meta.uid(),
                mode & 0o777,
                shown(secret)
            );
        }
    }
    Ok(())
}

/// The cat's health port: its cat.toml's, else the default — except on the host's network,
/// where every cat shares the ports of the machine: there a cat without its own gets a port
/// that is free here, so that several cats run side by side.
fn health_port(cat: &Cat, network: &str) -> Result<u16> {
    if let Some(port) = cat.config.health_port {
        return Ok(port);
    }
    if network != "host" {
        return Ok(DEFAULT_HEALTH_PORT);
    }
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))
        .context("finding a free port for the cat's health endpoint on the host network")?;
    Ok(listener.local_addr()?.port())
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn an_image_user_is_numeric_or_unknown() {
        assert_eq!(parse_user(""), Some((0, Some(0))));
        assert_eq!(parse_user("1000:1000"), Some((1000, Some(1000))));
        assert_eq!(parse_user("1000"), Some((1000, None)));
        assert_eq!(parse_user("node"), None);
        assert_eq!(parse_user("1000:node"), None);
    }

    #[test]
    fn a_token_the_image_user_cannot_read_is_refused_naming_the_file_and_the_fix() {
        let farm = tempfile::tempdir().unwrap();
        let dir = farm.path().join("secret/dd-token");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("bot-token"), "x").unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::set_permissions(
            dir.join("bot-token"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        let me = std::fs::metadata(&dir).unwrap();
        let owner = std::os::unix::fs::MetadataExt::uid(&me);
        let other = owner + 1;
        let err = unreadable_token(farm.path(), &dir, Some((other, None)), "dd").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(&format!("cannot be read by uid {other}")),
            "{text}"
        );
        assert!(text.contains("chown -R"), "{text}");
        assert!(text.contains("secret/dd-token"), "{text}");
        assert!(!text.contains(&farm.path().display().to_string()), "{text}");
        unreadable_token(farm.path(), &dir, Some((owner, None)), "dd").unwrap();
        unreadable_token(farm.path(), &dir, Some((0, Some(0))), "dd").unwrap();
        unreadable_token(farm.path(), &dir, None, "dd").unwrap();
    }
}
