//! `catctl diff CAT…`: what a deploy would change, by server-side dry run — exit 0 when
//! nothing would change, 1 when something would, 2 on trouble (like `kubectl diff`).

use anyhow::Result;

use crate::cli::DiffArgs;
use crate::commands::ExitStatus;
use crate::commands::shared::deploy_handles;
use crate::context::Context;
use crate::ops::diff::diff;
use crate::settings::diff_options;

pub async fn run(ctx: &Context, args: &DiffArgs) -> Result<ExitStatus> {
    let outcome = async {
        let cats = ctx.farm()?.select(&args.select.cats, args.select.all)?;
        diff(&deploy_handles(ctx).await?, cats, &diff_options(args)).await
    };
    let differences = match outcome.await {
        Ok(differences) => differences,
        Err(err) => {
            ctx.printer.error(&err);
            return Ok(ExitStatus::Trouble);
        }
    };
    for report in &differences.refused {
        ctx.printer.warn(&format!(
            "{}: {}",
            report.cat,
            report.message.as_deref().unwrap_or("")
        ));
    }
    for text in &differences.diffs {
        ctx.printer.data(text);
    }
    Ok(
        match (differences.refused.is_empty(), differences.diffs.is_empty()) {
            (false, _) => ExitStatus::Trouble,
            (true, false) => ExitStatus::Failure,
            (true, true) => ExitStatus::Success,
        },
    )
}
