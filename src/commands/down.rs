//! `catctl down CAT…|--all`: stops and removes each cat's container on the local daemon.

use crate::cli::DownArgs;
use crate::commands::ExitStatus;
use crate::commands::shared::{error_text, report_failures};
use crate::context::Context;
use crate::docker::containers::container_name;
use crate::ops::up::down_cats;
use crate::output::{DownItem, Kind};
use anyhow::Result;

pub async fn run(ctx: &Context, args: &DownArgs) -> Result<ExitStatus> {
    let farm = ctx.farm()?;
    let cats = farm.select(&args.select.cats, args.select.all)?;
    let outcomes = down_cats(farm, ctx.daemon().await?, &cats).await;
    let mut rows = Vec::new();
    for outcome in &outcomes {
        let container = container_name(&outcome.cat.name);
        if let Ok(true) = outcome.result {
            ctx.printer.status("Removed", &container);
        }
        rows.push(DownItem {
            cat: outcome.cat.name.clone(),
            container,
            result: match &outcome.result {
                Ok(true) => "removed",
                Ok(false) => "not_running",
                Err(_) => "failed",
            },
            error: error_text(&outcome.result),
        });
    }
    let status = report_failures(&ctx.printer, &outcomes);
    ctx.printer.rows(
        Kind::DownResult,
        &rows,
        &["CAT", "CONTAINER", "RESULT"],
        |r| {
            vec![
                r.cat.clone(),
                r.container.clone(),
                r.result.replace('_', " "),
            ]
        },
    )?;
    Ok(status)
}
