//! `catctl sleep CAT…` and `catctl wake CAT…`: scale cats to zero and back, and wait.

use std::time::Duration;

use anyhow::Result;

use crate::cli::{SelectCats, SleepArgs, WakeArgs};
use crate::commands::ExitStatus;
use crate::commands::shared::{error_text, progress, report_failures};
use crate::context::Context;
use crate::ops::CatResult;
use crate::ops::sleep::{self, Direction, Slept};
use crate::output::{Kind, SleepItem};

pub async fn sleep_page(ctx: &Context, args: &SleepArgs) -> Result<ExitStatus> {
    page(ctx, &args.select, args.timeout, Direction::Sleep).await
}

pub async fn wake_page(ctx: &Context, args: &WakeArgs) -> Result<ExitStatus> {
    page(ctx, &args.select, args.timeout, Direction::Wake).await
}

async fn page(
    ctx: &Context,
    select: &SelectCats,
    timeout: Duration,
    direction: Direction,
) -> Result<ExitStatus> {
    let farm = ctx.farm()?;
    let cats = farm.select(&select.cats, select.all)?;
    let cluster = ctx.cluster().await?;
    let verb = match direction {
        Direction::Sleep => "Sleeping",
        Direction::Wake => "Waking",
    };
    ctx.printer.status(
        verb,
        &format!("{} cat(s) in namespace {}", cats.len(), cluster.namespace),
    );
    let lines = progress(&ctx.printer, &cats);
    let concurrency = farm.settings.concurrency;
    let results = sleep::change(direction, cluster, &cats, concurrency, timeout, &lines).await?;
    drop(lines);
    print(ctx, &results)
}

fn print(ctx: &Context, results: &[CatResult<'_, Slept>]) -> Result<ExitStatus> {
    let rows: Vec<SleepItem> = results
        .iter()
        .map(|r| {
            let slept = r.result.as_ref().ok();
            let asleep = slept.and_then(|s| s.asleep.as_ref());
            SleepItem {
                cat: r.cat.name.clone(),
                result: slept.map_or("failed", |s| s.change.word()),
                since: asleep.map(|a| a.since.clone()),
                by: asleep.map(|a| a.by.clone()),
                pods: slept.map(|s| s.pods.clone()).unwrap_or_default(),
                error: error_text(&r.result),
            }
        })
        .collect();
    let header = ["CAT", "RESULT", "SINCE", "BY", "PODS"];
    ctx.printer.rows(Kind::SleepResult, &rows, &header, |row| {
        vec![
            row.cat.clone(),
            row.result.replace('_', " "),
            row.since.clone().unwrap_or_else(|| "-".into()),
            row.by.clone().unwrap_or_else(|| "-".into()),
            if row.pods.is_empty() {
                "-".into()
            } else {
                row.pods.join(",")
            },
        ]
    })?;
    Ok(report_failures(&ctx.printer, results))
}
