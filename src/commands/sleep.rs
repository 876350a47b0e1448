//! `catctl sleep CAT…` and `catctl wake CAT…`: scale cats to zero and back, and wait.

use anyhow::Result;

use crate::cli::{SleepArgs, WakeArgs};
use crate::commands::ExitStatus;
use crate::commands::shared::{error_text, progress, report_failures};
use crate::context::Context;
use crate::ops::CatResult;
use crate::ops::sleep::{self, Slept};

pub async fn sleep_page(ctx: &Context, args: &SleepArgs) -> Result<ExitStatus> {
    let farm = ctx.farm()?;
    let cats = farm.select(&args.select.cats, args.select.all)?;
    let cluster = ctx.cluster().await?;
    ctx.printer.status(
        "Sleeping",
        &format!("{} cat(s) in namespace {}", cats.len(), cluster.namespace),
    );
    let lines = progress(&ctx.printer, &cats);
    let concurrency = farm.settings.concurrency;
    let results = sleep::sleep(cluster, &cats, concurrency, args.timeout, &lines).await?;
    drop(lines);
    print(ctx, &results)
}

pub async fn wake_page(ctx: &Context, args: &WakeArgs) -> Result<ExitStatus> {
    let farm = ctx.farm()?;
    let cats = farm.select(&args.select.cats, args.select.all)?;
    let cluster = ctx.cluster().await?;
    ctx.printer.status(
        "Waking",
        &format!("{} cat(s) in namespace {}", cats.len(), cluster.namespace),
    );
    let lines = progress(&ctx.printer, &cats);
    let concurrency = farm.settings.concurrency;
    let results = sleep::wake(cluster, &cats, concurrency, args.timeout, &lines).await?;
    drop(lines);
    print(ctx, &results)
}

#[derive(serde::Serialize)]
struct Row<'a> {
    cat: &'a str,
    result: Option<&'a Slept>,
    error: Option<String>,
}

fn print(ctx: &Context, results: &[CatResult<'_, Slept>]) -> Result<ExitStatus> {
    let rows: Vec<Row> = results
        .iter()
        .map(|r| Row {
            cat: &r.cat.name,
            result: r.result.as_ref().ok(),
            error: error_text(&r.result),
        })
        .collect();
    let header = ["CAT", "RESULT", "SINCE", "BY", "PODS"];
    ctx.printer.rows(&rows, &header, |row| match row.result {
        Some(slept) => vec![
            row.cat.to_string(),
            slept.change.as_str().to_string(),
            slept
                .asleep
                .as_ref()
                .map_or("-".into(), |a| a.since.clone()),
            slept.asleep.as_ref().map_or("-".into(), |a| a.by.clone()),
            if slept.pods.is_empty() {
                "-".into()
            } else {
                slept.pods.join(",")
            },
        ],
        None => vec![
            row.cat.to_string(),
            "failed".into(),
            "-".into(),
            "-".into(),
            "-".into(),
        ],
    })?;
    Ok(report_failures(&ctx.printer, results))
}
