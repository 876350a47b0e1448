//! `catctl build CAT…|--all`: each cat's image built through the daemon, one progress line per
//! cat, then a table.

use crate::cli::BuildArgs;
use crate::commands::ExitStatus;
use crate::commands::shared::{build_platform, error_text, progress, report_failures, seconds};
use crate::context::Context;
use crate::ops::build::build_cats;
use crate::output::{BuildItem, Kind};
use crate::settings::build_options;
use anyhow::Result;

pub async fn run(ctx: &Context, args: &BuildArgs) -> Result<ExitStatus> {
    let farm = ctx.farm()?;
    let cats = farm.select(&args.select.cats, args.select.all)?;
    let (daemon, registry) = (ctx.daemon().await?, ctx.registry().await?);
    let mut options = build_options(args);
    build_platform(ctx, daemon, &cats, &mut options).await?;
    let progress = progress(&ctx.printer, &cats);
    let outcomes = build_cats(farm, daemon, registry, &cats, &options, &progress).await;
    drop(progress);
    let status = report_failures(&ctx.printer, &outcomes);
    let rows: Vec<BuildItem> = outcomes
        .iter()
        .map(|o| BuildItem {
            cat: o.cat.name.clone(),
            image: o.cat.image(&farm.settings),
            tag: o.cat.config.version.clone(),
            result: match &o.result {
                Ok(built) if built.fresh => "up_to_date",
                Ok(_) => "built",
                Err(_) => "failed",
            },
            image_id: o.result.as_ref().ok().map(|b| b.image_id.clone()),
            source_digest: o.result.as_ref().ok().map(|b| b.source_digest.clone()),
            git_dirty: o.result.as_ref().ok().and_then(|b| b.git_dirty),
            seconds: o.elapsed.as_secs_f64(),
            error: error_text(&o.result),
        })
        .collect();
    let header = ["CAT", "IMAGE", "RESULT", "SOURCE", "TIME"];
    ctx.printer.rows(Kind::BuildResult, &rows, &header, |r| {
        vec![
            r.cat.clone(),
            r.image.to_string(),
            r.result.replace('_', " "),
            r.source_digest
                .as_ref()
                .map_or("-", |d| d.short())
                .to_string(),
            seconds(std::time::Duration::from_secs_f64(r.seconds)),
        ]
    })?;
    Ok(status)
}
