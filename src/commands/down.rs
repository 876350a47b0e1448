//! `catctl down CAT…|--all`: stops and removes each cat's container on the local daemon.

use anyhow::{Context as _, Result};
use serde::Serialize;

use crate::cli::DownArgs;
use crate::commands::ExitStatus;
use crate::commands::each::{each, report};
use crate::context::Context;
use crate::docker::Daemon;
use crate::docker::containers::{container_name, find, remove};

#[derive(Debug, Serialize)]
struct Row {
    cat: String,
    container: String,
    result: &'static str,
}

pub async fn run(ctx: &Context, args: &DownArgs) -> Result<ExitStatus> {
    let farm = ctx.farm()?;
    let cats = farm.select(&args.select.cats, args.select.all)?;
    let daemon = Daemon::connect().await?;
    let outcomes = each(&cats, farm.settings.concurrency, |cat| {
        let daemon = &daemon;
        async move {
            let result = async {
                let found = find(daemon, &cat.name).await?;
                for id in &found {
                    remove(daemon, id).await?;
                }
                Ok::<_, anyhow::Error>(!found.is_empty())
            }
            .await
            .with_context(|| format!("taking {} down", cat.name));
            (cat, result)
        }
    })
    .await;
    let mut rows = Vec::new();
    let mut results = Vec::new();
    for (cat, result) in outcomes {
        let (name, shown) = (container_name(&cat.name), cat.name.clone());
        let outcome = match &result {
            Ok(true) => "removed",
            Ok(false) => "not running",
            Err(_) => "failed",
        };
        if let Ok(true) = result {
            ctx.printer.status("Removed", &name);
        }
        rows.push(Row {
            cat: shown.clone(),
            container: name,
            result: outcome,
        });
        results.push((shown, result));
    }
    let status = report(&ctx.printer, &results);
    ctx.printer
        .rows(&rows, &["CAT", "CONTAINER", "RESULT"], |r| {
            vec![r.cat.clone(), r.container.clone(), r.result.to_string()]
        })?;
    Ok(status)
}
