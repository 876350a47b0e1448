//! `catctl push CAT…|--all`: each cat's image to the registry; prints the digest it serves.

use anyhow::Result;
use serde::Serialize;

use crate::cli::PushArgs;
use crate::commands::ExitStatus;
use crate::commands::shared::{error_text, progress, report_failures, seconds};
use crate::context::Context;
use crate::image::{Digest, ImageRef};
use crate::ops::push::push_cats;

#[derive(Debug, Serialize)]
struct Row {
    cat: String,
    image: ImageRef,
    result: &'static str,
    digest: Option<Digest>,
    seconds: f64,
    error: Option<String>,
}

pub async fn run(ctx: &Context, args: &PushArgs) -> Result<ExitStatus> {
    let farm = ctx.farm()?;
    let cats = farm.select(&args.select.cats, args.select.all)?;
    let (daemon, registry) = (ctx.daemon().await?, ctx.registry()?);
    let progress = progress(&ctx.printer, &cats);
    let outcomes = push_cats(farm, daemon, registry, &cats, &progress).await;
    drop(progress);
    let status = report_failures(&ctx.printer, &outcomes);
    let rows: Vec<Row> = outcomes
        .iter()
        .map(|o| Row {
            cat: o.cat.name.clone(),
            image: o.cat.image(&farm.settings),
            result: if o.result.is_ok() { "pushed" } else { "failed" },
            digest: o.result.as_ref().ok().and_then(|i| i.digest.clone()),
            seconds: o.elapsed.as_secs_f64(),
            error: error_text(&o.result),
        })
        .collect();
    let header = ["CAT", "IMAGE", "RESULT", "DIGEST", "TIME"];
    ctx.printer.rows(&rows, &header, |r| {
        vec![
            r.cat.clone(),
            r.image.to_string(),
            r.result.to_string(),
            r.digest.as_ref().map_or("-".to_string(), Digest::to_string),
            seconds(std::time::Duration::from_secs_f64(r.seconds)),
        ]
    })?;
    Ok(status)
}
