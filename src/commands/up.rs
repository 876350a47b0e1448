//! `catctl up CAT…|--all`: runs each cat's verified image on the local daemon as
//! `catctl-<cat>`, its token mounted read-only where the cluster mounts it, replacing the cat's
//! previous container so there is never a second copy.

use std::collections::HashMap;

use anyhow::{Context as _, Result, anyhow, bail};
use bollard::query_parameters::CreateImageOptionsBuilder;
use futures::StreamExt as _;
use serde::Serialize;

use crate::cat_runtime::secret_name;
use crate::cli::UpArgs;
use crate::commands::ExitStatus;
use crate::commands::each::{each_with_progress, report, seconds};
use crate::context::Context;
use crate::docker::containers::{RunSpec, container_name, replace};
use crate::docker::{Daemon, daemon_message};
use crate::farm::{Cat, Farm, SECRET_DIR};
use crate::problems;
use crate::progress::CatLine;
use crate::registry::{ImageRef, Registry};
use crate::source_digest;
use crate::verify::{registry_credentials, verify_cat};

#[derive(Debug, Serialize)]
struct Row {
    cat: String,
    container: String,
    image: String,
    digest: Option<String>,
    result: &'static str,
    seconds: f64,
    error: Option<String>,
}

struct Running {
    digest: String,
}

pub async fn run(ctx: &Context, args: &UpArgs) -> Result<ExitStatus> {
    let farm = ctx.farm()?;
    let cats = farm.select(&args.select.cats, args.select.all)?;
    let daemon = Daemon::connect().await?;
    let registry = Registry::new()?;
    let (daemon, registry) = (&daemon, &registry);
    let outcomes = each_with_progress(
        &ctx.printer,
        &cats,
        farm.settings.concurrency,
        |cat, line| async move {
            up_cat(farm, daemon, registry, cat, args, &line)
                .await
                .with_context(|| format!("cannot start {}", cat.name))
        },
    )
    .await;

    let mut rows = Vec::new();
    let mut results = Vec::new();
    for (cat, result, elapsed) in outcomes {
        rows.push(Row {
            cat: cat.name.clone(),
            container: container_name(&cat.name),
            image: cat.image(&farm.settings),
            digest: result.as_ref().ok().map(|r| r.digest.clone()),
            result: if result.is_ok() { "running" } else { "failed" },
            seconds: elapsed.as_secs_f64(),
            error: result.as_ref().err().map(|e| format!("{e:#}")),
        });
        results.push((cat.name.clone(), result));
    }
    let status = report(&ctx.printer, &results);
    ctx.printer.rows(
        &rows,
        &["CAT", "CONTAINER", "IMAGE", "RESULT", "TIME"],
        |r| {
            vec![
                r.cat.clone(),
                r.container.clone(),
                r.image.clone(),
                r.result.to_string(),
                seconds(std::time::Duration::from_secs_f64(r.seconds)),
            ]
        },
    )?;
    Ok(status)
}

async fn up_cat(
    farm: &Farm,
    daemon: &Daemon,
    registry: &Registry,
    cat: &Cat,
    args: &UpArgs,
    line: &CatLine,
) -> Result<Running> {
    let secret = farm.root.join(SECRET_DIR).join(secret_name(&cat.name));
    if !secret.exists() {
        bail!(
            "{SECRET_DIR}/{} does not exist — put the cat's token there (a file, or a directory \
             with one file per key) before running it",
            secret_name(&cat.name)
        );
    }
    line.set("verifying the image");
    let verification = verify_cat(farm, cat, registry, Some(daemon)).await?;
    let blocking = verification.blocking(args.allow_stale);
    if !blocking.is_empty() {
        let problems: Vec<String> = blocking.iter().map(|f| f.to_string()).collect();
        return Err(problems::combine(
            &format!("{} problems with its image", problems.len()),
            &problems,
        ));
    }
    let digest = verification
        .registry_digest
        .clone()
        .ok_or_else(|| anyhow!("the registry has no digest for {}", verification.image))?;
    if verification.local_image_id.is_none() {
        line.set("pulling");
        pull(daemon, &verification.image).await?;
    }
    line.set("starting");
    let mut labels = HashMap::from([
        (source_digest::CAT_LABEL.to_string(), cat.name.clone()),
        ("io.catctl.image-digest".to_string(), digest.clone()),
    ]);
    labels.insert(
        source_digest::LABEL.to_string(),
        verification.source_digest.clone(),
    );
    let spec = RunSpec {
        cat: cat.name.clone(),
        image: verification.image.clone(),
        secret,
        network: args.network.clone(),
        labels,
    };
    replace(daemon, &spec).await?;
    line.done(
        "Started",
        &format!("{} from {}", container_name(&cat.name), verification.image),
    );
    Ok(Running { digest })
}

/// Pulls `image` (verified to be in the registry) when the daemon does not have it.
async fn pull(daemon: &Daemon, image: &str) -> Result<()> {
    let reference = ImageRef::parse(image)?;
    let creds = registry_credentials(&reference).await?;
    let options = CreateImageOptionsBuilder::new()
        .from_image(&reference.repository())
        .tag(&reference.tag)
        .build();
    let mut stream = daemon.docker.create_image(
        Some(options),
        None,
        creds.map(|c| c.to_bollard(&reference.server())),
    );
    while let Some(item) = stream.next().await {
        item.map_err(|err| anyhow!("pulling {image} failed: {}", daemon_message(&err)))?;
    }
    Ok(())
}
