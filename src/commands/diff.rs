//! `catctl diff CAT…`: what a deploy would change, by server-side dry run — exit 0 when
//! nothing would change, 1 when something would, 2 on trouble (like `kubectl diff`).

use anyhow::Result;

use crate::cli::DiffArgs;
use crate::commands::ExitStatus;
use crate::commands::shared::deploy_handles;
use crate::context::Context;
use crate::ops::diff::{Differences, diff};
use crate::output::{DiffItem, Kind};
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
    if ctx.printer.format.is_structured() {
        ctx.printer.items(Kind::DiffResult, &items(&differences))?;
    } else {
        for report in &differences.refused {
            ctx.printer.warn(&format!(
                "{}: {}",
                report.cat,
                report.message.as_deref().unwrap_or("")
            ));
        }
        for compared in &differences.compared {
            ctx.printer.data(&compared.diff);
        }
    }
    let changed = differences.compared.iter().any(|c| !c.diff.is_empty());
    Ok(match (differences.refused.is_empty(), changed) {
        (false, _) => ExitStatus::Trouble,
        (true, true) => ExitStatus::Failure,
        (true, false) => ExitStatus::Success,
    })
}

/// One item per cat: compared (changed or unchanged, with the diff) or refused (with why).
fn items(differences: &Differences) -> Vec<DiffItem> {
    let compared = differences.compared.iter().map(|c| DiffItem {
        cat: c.cat.clone(),
        object: Some(c.object.clone()),
        result: if c.diff.is_empty() {
            "unchanged"
        } else {
            "changed"
        },
        diff: (!c.diff.is_empty()).then(|| c.diff.clone()),
        error: None,
    });
    let refused = differences.refused.iter().map(|r| DiffItem {
        cat: r.cat.clone(),
        object: None,
        result: "refused",
        diff: None,
        error: r.message.clone(),
    });
    let mut items: Vec<DiffItem> = compared.chain(refused).collect();
    items.sort_by(|a, b| a.cat.cmp(&b.cat));
    items
}
