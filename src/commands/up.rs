//! `catctl up CAT…|--all`: runs each cat's verified image on the local daemon as
//! `catctl-<cat>`, replacing its previous container so there is never a second copy; a local
//! build not pushed yet runs too, and the table says so.

use crate::cli::UpArgs;
use crate::commands::ExitStatus;
use crate::commands::shared::{error_text, progress, report_failures, seconds};
use crate::context::Context;
use crate::docker::containers::container_name;
use crate::ops::up::up_cats;
use crate::output::{Kind, UpItem};
use crate::settings::up_options;
use anyhow::Result;

pub async fn run(ctx: &Context, args: &UpArgs) -> Result<ExitStatus> {
    let farm = ctx.farm()?;
    let cats = farm.select(&args.select.cats, args.select.all)?;
    let (daemon, registry) = (ctx.daemon().await?, ctx.registry().await?);
    let progress = progress(&ctx.printer, &cats);
    let options = up_options(args);
    // Ctrl-C stops the cats not yet at their container swap; swaps under way finish, so no cat
    // is left down or doubled.
    let (interrupt, interrupted) = tokio::sync::watch::channel(false);
    let mut was_interrupted = false;
    let outcomes = {
        let work = up_cats(
            farm,
            daemon,
            registry,
            &cats,
            &options,
            &progress,
            &interrupted,
        );
        let mut work = std::pin::pin!(work);
        tokio::select! {
            outcomes = &mut work => outcomes,
            _ = tokio::signal::ctrl_c() => {
                was_interrupted = true;
                let _ = interrupt.send(true);
                work.await
            }
        }
    };
    drop(progress);
    let status = report_failures(&ctx.printer, &outcomes);
    let rows: Vec<UpItem> = outcomes
        .iter()
        .map(|o| UpItem {
            cat: o.cat.name.clone(),
            container: container_name(&o.cat.name),
            image: o.cat.image(&farm.settings),
            tag: o.cat.config.version.clone(),
            digest: o.result.as_ref().ok().and_then(|s| s.image.digest.clone()),
            unpushed: o.result.as_ref().is_ok_and(|s| s.unpushed),
            result: match &o.result {
                Ok(_) => "running",
                Err(_) => "failed",
            },
            seconds: o.elapsed.as_secs_f64(),
            error: error_text(&o.result),
        })
        .collect();
    let header = ["CAT", "CONTAINER", "IMAGE", "RESULT", "TIME"];
    ctx.printer.rows(Kind::UpResult, &rows, &header, |r| {
        vec![
            r.cat.clone(),
            r.container.clone(),
            r.image.to_string(),
            match (r.result, r.unpushed) {
                ("running", true) => "running (local, unpushed)".to_string(),
                (result, _) => result.to_string(),
            },
            seconds(std::time::Duration::from_secs_f64(r.seconds)),
        ]
    })?;
    if was_interrupted {
        return Ok(ExitStatus::Interrupted);
    }
    Ok(status)
}
