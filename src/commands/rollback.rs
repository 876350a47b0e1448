//! `catctl history CAT` and `catctl rollback CAT [--to-revision N]`: the digests catctl
//! recorded at each successful deploy, and going back to one through the same gate and wait.

use anyhow::Result;

use crate::cli::{HistoryArgs, RollbackArgs};
use crate::commands::ExitStatus;
use crate::commands::shared::{deploy_handles, print_reports, progress};
use crate::context::Context;
use crate::ops::deploy::{self, ImageChoice};
use crate::ops::history::{choose, history};
use crate::settings::rollback_options;

pub async fn history_page(ctx: &Context, args: &HistoryArgs) -> Result<ExitStatus> {
    let cat = ctx.farm()?.cat(&args.cat)?;
    let history = history(ctx.cluster().await?, &cat).await?;
    let header = ["REVISION", "TAG", "DIGEST", "DEPLOYED", "CAUSE"];
    ctx.printer.rows(&history, &header, |r| {
        vec![
            r.revision.to_string(),
            r.tag.clone(),
            r.digest.short().to_string(),
            r.deployed_at.clone(),
            r.cause.clone(),
        ]
    })?;
    Ok(ExitStatus::Success)
}

pub async fn rollback_page(ctx: &Context, args: &RollbackArgs) -> Result<ExitStatus> {
    let cat = ctx.farm()?.cat(&args.cat)?;
    let revision = choose(
        &history(ctx.cluster().await?, &cat).await?,
        args.to_revision,
        &cat.name,
    )?;
    ctx.printer.status(
        "Rolling back",
        &format!(
            "{} to revision {} ({}@{})",
            cat.name, revision.revision, revision.image, revision.digest
        ),
    );
    let handles = deploy_handles(ctx).await?;
    let lines = progress(&ctx.printer, std::slice::from_ref(&cat));
    let choices = vec![(cat.clone(), ImageChoice::Revision(revision))];
    let reports = deploy::deploy(&handles, choices, &rollback_options(args), &lines).await?;
    drop(lines);
    print_reports(ctx, &reports)
}
