//! `catctl push CAT…|--all`: each cat's image to the registry; prints the digest it serves.
//! A tag the registry serves from other sources is refused unless `--force`.

use crate::cli::PushArgs;
use crate::commands::ExitStatus;
use crate::commands::shared::{error_text, progress, report_failures, seconds};
use crate::context::Context;
use crate::image::Digest;
use crate::ops::push::{PushAction, push_cats};
use crate::output::{Kind, PushItem};
use crate::settings::push_options;
use anyhow::Result;

pub async fn run(ctx: &Context, args: &PushArgs) -> Result<ExitStatus> {
    let farm = ctx.farm()?;
    let cats = farm.select(&args.select.cats, args.select.all)?;
    let (daemon, registry) = (ctx.daemon().await?, ctx.registry().await?);
    let progress = progress(&ctx.printer, &cats);
    let options = push_options(args);
    let outcomes = push_cats(farm, daemon, registry, &cats, options, &progress).await;
    drop(progress);
    let status = report_failures(&ctx.printer, &outcomes);
    for pushed in outcomes.iter().filter_map(|o| o.result.as_ref().ok()) {
        if let PushAction::Replaced { previous } = &pushed.action {
            ctx.printer.warn(&format!(
                "--force replaced {} in the registry (it was {previous}, built from other \
                 sources); anything that pulls the tag now gets other code",
                pushed.image.tagged()
            ));
        }
    }
    let rows: Vec<PushItem> = outcomes
        .iter()
        .map(|o| {
            let pushed = o.result.as_ref().ok();
            PushItem {
                cat: o.cat.name.clone(),
                image: o.cat.image(&farm.settings),
                tag: o.cat.config.version.clone(),
                result: match pushed.map(|p| &p.action) {
                    Some(PushAction::Pushed) => "pushed",
                    Some(PushAction::UpToDate) => "up_to_date",
                    Some(PushAction::Replaced { .. }) => "replaced",
                    None => "failed",
                },
                digest: pushed.and_then(|p| p.image.digest.clone()),
                replaced: pushed.and_then(|p| match &p.action {
                    PushAction::Replaced { previous } => Some(previous.clone()),
                    _ => None,
                }),
                seconds: o.elapsed.as_secs_f64(),
                error: error_text(&o.result),
            }
        })
        .collect();
    let header = ["CAT", "IMAGE", "RESULT", "DIGEST", "TIME"];
    ctx.printer.rows(Kind::PushResult, &rows, &header, |r| {
        vec![
            r.cat.clone(),
            r.image.to_string(),
            match r.result {
                "replaced" => "replaced (--force)".to_string(),
                other => other.replace('_', " "),
            },
            r.digest.as_ref().map_or("-".to_string(), Digest::to_string),
            seconds(std::time::Duration::from_secs_f64(r.seconds)),
        ]
    })?;
    Ok(status)
}
