//! `catctl logs`: the logs of every pod (or local container) of the named cats in one stream.

use anyhow::{Result, bail};
use tokio::sync::mpsc;

use crate::cli::LogsArgs;
use crate::commands::ExitStatus;
use crate::context::Context;
use crate::logs::kube::CatTarget;
use crate::logs::{self, Ended, LogOptions};
use crate::manifest::Kind;
use crate::output;

/// Lines waiting for the writer; a slow terminal slows the sources instead of growing memory.
const BACKLOG: usize = 1024;

pub async fn run(ctx: &Context, args: &LogsArgs) -> Result<ExitStatus> {
    let structured = ctx.printer.format.is_structured();
    if structured && args.follow {
        bail!(
            "`catctl logs -f` cannot print {}: a followed stream never ends, so there is no \
             document to print — drop -f for the lines so far as one document, or drop {} to \
             follow as text",
            ctx.printer.format.flag(),
            ctx.printer.format.flag()
        );
    }
    let farm = ctx.farm()?;
    let cats = farm.select(&args.cats, args.all)?;
    let options = LogOptions {
        follow: args.follow,
        previous: args.previous,
        timestamps: args.timestamps,
        since: args.since,
        tail: args.tail,
    };
    let (sender, receiver) = mpsc::channel(BACKLOG);
    let (width, sources) = if args.local {
        let names: Vec<String> = cats.iter().map(|cat| cat.name.clone()).collect();
        let width = names.iter().map(String::len).max().unwrap_or(0);
        let docker = ctx.daemon().await?.docker.clone();
        let work = async move { logs::docker::stream(&docker, &names, &options, sender).await };
        (width, futures::future::Either::Left(work))
    } else {
        let width = logs::tag_width(
            cats.iter()
                .map(|cat| (cat.name.as_str(), cat.config.several_copies)),
        );
        let targets: Vec<CatTarget> = cats
            .iter()
            .map(|cat| CatTarget {
                name: cat.name.clone(),
                kind: Kind::for_cat(cat),
            })
            .collect();
        let cluster = ctx.cluster().await?;
        let work = async move {
            crate::logs::kube::stream(cluster, &targets, &options, sender)
                .await
                .map(|summary| summary.cats_with_pods)
        };
        (width, futures::future::Either::Right(work))
    };
    let printing = async {
        if structured {
            let items = logs::collect(&ctx.printer, receiver).await;
            match ctx.printer.items(output::Kind::LogsResult, &items) {
                Ok(()) => Ended::Done,
                Err(_) => Ended::Closed,
            }
        } else {
            logs::print(&ctx.printer, receiver, width).await
        }
    };
    let both = async { tokio::join!(sources, printing) };
    tokio::select! {
        (found, ended) = both => match (found?, ended) {
            (_, Ended::Closed) => Ok(ExitStatus::Success),
            (0, Ended::Done) if !cats.is_empty() => Ok(ExitStatus::Failure),
            _ => Ok(ExitStatus::Success),
        },
        _ = tokio::signal::ctrl_c() => Ok(ExitStatus::Interrupted),
    }
}
