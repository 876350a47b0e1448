//! `catctl copycat NAME…`: new cats from the template.

use anyhow::Result;

use crate::cli::CopycatArgs;
use crate::commands::ExitStatus;
use crate::context::Context;
use crate::copycat;
use crate::output::{CopycatItem, Kind};

pub fn run(ctx: &Context, args: &CopycatArgs) -> Result<ExitStatus> {
    let farm = ctx.farm()?;
    let created = copycat::create(farm, &args.names)?;
    let items: Vec<CopycatItem> = args
        .names
        .iter()
        .zip(&created)
        .map(|(name, dir)| CopycatItem {
            cat: name.clone(),
            path: farm.display_path(dir).to_string(),
            result: "created",
        })
        .collect();
    if ctx.printer.format.is_structured() {
        ctx.printer.items(Kind::CopycatResult, &items)?;
    } else {
        for item in &items {
            ctx.printer.status("Created", &item.path);
        }
    }
    Ok(ExitStatus::Success)
}
