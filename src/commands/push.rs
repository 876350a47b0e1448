//! `catctl push CAT…|--all`: each cat's image to the registry, with docker's credentials;
//! prints the digest the registry serves.

use anyhow::{Context as _, Result};
use serde::Serialize;

use crate::cli::PushArgs;
use crate::commands::ExitStatus;
use crate::commands::each::{each_with_progress, report, seconds};
use crate::context::Context;
use crate::docker::Daemon;
use crate::docker::push::push;
use crate::farm::{Cat, Farm};
use crate::progress::CatLine;
use crate::registry::{ImageRef, Registry};
use crate::verify::registry_credentials;

#[derive(Debug, Serialize)]
struct Row {
    cat: String,
    image: String,
    result: &'static str,
    digest: Option<String>,
    seconds: f64,
    error: Option<String>,
}

pub async fn run(ctx: &Context, args: &PushArgs) -> Result<ExitStatus> {
    let farm = ctx.farm()?;
    let cats = farm.select(&args.select.cats, args.select.all)?;
    let daemon = Daemon::connect().await?;
    let registry = Registry::new()?;
    let (daemon, registry) = (&daemon, &registry);
    let outcomes = each_with_progress(
        &ctx.printer,
        &cats,
        farm.settings.concurrency,
        |cat, line| async move { push_cat(farm, daemon, registry, cat, &line).await },
    )
    .await;

    let mut rows = Vec::new();
    let mut results = Vec::new();
    for (cat, result, elapsed) in outcomes {
        rows.push(Row {
            cat: cat.name.clone(),
            image: cat.image(&farm.settings),
            result: if result.is_ok() { "pushed" } else { "failed" },
            digest: result.as_ref().ok().cloned(),
            seconds: elapsed.as_secs_f64(),
            error: result.as_ref().err().map(|e| format!("{e:#}")),
        });
        results.push((cat.name.clone(), result));
    }
    let status = report(&ctx.printer, &results);
    ctx.printer
        .rows(&rows, &["CAT", "IMAGE", "RESULT", "DIGEST", "TIME"], |r| {
            vec![
                r.cat.clone(),
                r.image.clone(),
                r.result.to_string(),
                r.digest.clone().unwrap_or_else(|| "-".to_string()),
                seconds(std::time::Duration::from_secs_f64(r.seconds)),
            ]
        })?;
    Ok(status)
}

async fn push_cat(
    farm: &Farm,
    daemon: &Daemon,
    registry: &Registry,
    cat: &Cat,
    line: &CatLine,
) -> Result<String> {
    let image = ImageRef::parse(&cat.image(&farm.settings))?;
    let context = || format!("pushing {image} (cat {})", cat.name);
    let creds = registry_credentials(&image).await.with_context(context)?;
    // Asking the registry first gives a clear error when it is unreachable, before the daemon
    // spends its retries on it.
    line.set("asking the registry");
    registry
        .manifest_digest(&image, creds.as_ref())
        .await
        .with_context(context)?;
    if daemon.local_image(&image.to_string()).await?.is_none() {
        anyhow::bail!(
            "there is no local image {image} to push — run `catctl build {}` first",
            cat.name
        );
    }
    line.set("pushing");
    let digest = push(daemon, &image, creds.as_ref(), |status| line.set(status))
        .await
        .with_context(context)?;
    line.done("Pushed", &format!("{image} {digest}"));
    Ok(digest)
}
