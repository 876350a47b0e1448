//! `catctl build CAT…|--all`: each cat's merged context, streamed to the daemon and built as
//! `<registry>/<cat>:<version>`, labelled with the cat and the source digest.

use std::collections::HashMap;

use anyhow::{Context as _, Result, bail};
use serde::Serialize;

use crate::cli::BuildArgs;
use crate::commands::ExitStatus;
use crate::commands::each::{each_with_progress, report, seconds};
use crate::context::Context;
use crate::docker::Daemon;
use crate::docker::build::{BuildSpec, build};
use crate::farm::{Cat, Farm};
use crate::overlay;
use crate::progress::CatLine;
use crate::source_digest::{self, short, source_digest};

#[derive(Debug, Serialize)]
struct Row {
    cat: String,
    image: String,
    result: &'static str,
    image_id: Option<String>,
    source_digest: Option<String>,
    seconds: f64,
    error: Option<String>,
}

struct Built {
    image_id: String,
    source_digest: String,
    /// The local image of the tag was already built from these sources; nothing was built.
    fresh: bool,
}

pub async fn run(ctx: &Context, args: &BuildArgs) -> Result<ExitStatus> {
    let farm = ctx.farm()?;
    let cats = farm.select(&args.select.cats, args.select.all)?;
    let daemon = Daemon::connect().await?;
    let daemon = &daemon;
    let outcomes = each_with_progress(
        &ctx.printer,
        &cats,
        farm.settings.concurrency,
        |cat, line| async move { build_cat(farm, daemon, cat, &line, args.no_cache).await },
    )
    .await;

    let mut rows = Vec::new();
    let mut results = Vec::new();
    for (cat, result, elapsed) in outcomes {
        let image = cat.image(&farm.settings);
        rows.push(Row {
            cat: cat.name.clone(),
            image,
            result: match &result {
                Ok(built) if built.fresh => "up to date",
                Ok(_) => "built",
                Err(_) => "failed",
            },
            image_id: result.as_ref().ok().map(|b| b.image_id.clone()),
            source_digest: result.as_ref().ok().map(|b| b.source_digest.clone()),
            seconds: elapsed.as_secs_f64(),
            error: result.as_ref().err().map(|e| format!("{e:#}")),
        });
        results.push((cat.name.clone(), result.map(|_| ())));
    }
    let status = report(&ctx.printer, &results);
    print_rows(ctx, &rows)?;
    Ok(status)
}

async fn build_cat(
    farm: &Farm,
    daemon: &Daemon,
    cat: &Cat,
    line: &CatLine,
    no_cache: bool,
) -> Result<Built> {
    let image = cat.image(&farm.settings);
    let (entries, digest) = read_context(farm, cat).await?;
    // The tag already holds an image of exactly these sources: building again would at best
    // give the same image, and at worst (the daemon's cache picking a sibling layer that a
    // concurrent build made) a new id for unchanged sources — "built but not pushed" for
    // nothing. `--no-cache` builds anyway.
    if !no_cache
        && let Some(local) = daemon.local_image(&image).await?
        && local.labels.get(source_digest::LABEL) == Some(&digest)
    {
        line.done(
            "Fresh",
            &format!("{image} (sources unchanged since it was built)"),
        );
        return Ok(Built {
            image_id: local.id,
            source_digest: digest,
            fresh: true,
        });
    }
    let labels = HashMap::from([
        (source_digest::CAT_LABEL.to_string(), cat.name.clone()),
        (source_digest::LABEL.to_string(), digest.clone()),
    ]);
    let spec = BuildSpec {
        tag: image.clone(),
        labels,
        no_cache,
    };
    line.set("sending the build context");
    let image_id = build(daemon, entries, &spec, |step| line.set(step))
        .await
        .with_context(|| format!("building {image} (cat {})", cat.name))?;
    line.done("Built", &format!("{image} ({})", short(&image_id)));
    Ok(Built {
        image_id,
        source_digest: digest,
        fresh: false,
    })
}

/// The cat's build context and its source digest, read off the async runtime.
async fn read_context(farm: &Farm, cat: &Cat) -> Result<(Vec<overlay::Entry>, String)> {
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
        let digest = source_digest(&entries)?;
        Ok((entries, digest))
    })
    .await
    .context("the build context task stopped")?
}

fn print_rows(ctx: &Context, rows: &[Row]) -> Result<()> {
    let header = ["CAT", "IMAGE", "RESULT", "SOURCE", "TIME"];
    ctx.printer.rows(rows, &header, |r| {
        vec![
            r.cat.clone(),
            r.image.clone(),
            r.result.to_string(),
            r.source_digest
                .as_deref()
                .map(short)
                .unwrap_or("-")
                .to_string(),
            seconds(std::time::Duration::from_secs_f64(r.seconds)),
        ]
    })
}
