//! `catctl history CAT` and `catctl rollback CAT [--to-revision N]`: what ran (and what
//! failed) at each deploy, and going back to a revision that ran — its whole workload — through
//! the same gate and wait.

use anyhow::Result;

use crate::cli::{HistoryArgs, RollbackArgs};
use crate::commands::ExitStatus;
use crate::commands::shared::{deploy_handles, print_reports, progress};
use crate::context::Context;
use crate::k8s::history::Ran;
use crate::ops::deploy::{self, ImageChoice};
use crate::ops::history::{choose, history};
use crate::output::{HistoryItem, Kind};
use crate::settings::rollback_options;

pub async fn history_page(ctx: &Context, args: &HistoryArgs) -> Result<ExitStatus> {
    let cat = ctx.farm()?.cat(&args.cat)?;
    let (revisions, _) = history(ctx.cluster().await?, &cat).await?;
    let header = [
        "REVISION", "TAG", "DIGEST", "RESULT", "DEPLOYED", "BY", "CAUSE",
    ];
    let items: Vec<HistoryItem> = revisions
        .iter()
        .map(|revision| HistoryItem {
            cat: &cat.name,
            revision,
        })
        .collect();
    ctx.printer
        .rows(Kind::HistoryResult, &items, &header, |item| {
            let r = item.revision;
            vec![
                r.revision.to_string(),
                r.tag.clone(),
                r.digest.short().to_string(),
                match r.result {
                    Ran::Ran => "ran".to_string(),
                    Ran::Failed => "failed".to_string(),
                },
                r.deployed_at.clone(),
                r.by.clone(),
                r.cause.clone(),
            ]
        })?;
    Ok(ExitStatus::Success)
}

pub async fn rollback_page(ctx: &Context, args: &RollbackArgs) -> Result<ExitStatus> {
    let cat = ctx.farm()?.cat(&args.cat)?;
    let (revisions, running) = history(ctx.cluster().await?, &cat).await?;
    let revision = choose(&revisions, args.to_revision, &cat.name, &running)?;
    let what = format!(
        "{} to revision {} ({}@{})",
        cat.name, revision.revision, revision.image, revision.digest
    );
    ctx.printer.status("Rolling back", &what);
    let handles = deploy_handles(ctx).await?;
    let lines = progress(&ctx.printer, std::slice::from_ref(&cat));
    let choices = vec![(cat.clone(), ImageChoice::Revision(Box::new(revision)))];
    let reports = deploy::deploy(&handles, choices, &rollback_options(args), &lines).await?;
    drop(lines);
    print_reports(ctx, &reports)
}
