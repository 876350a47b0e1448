//! `catctl copycat NAME…`: new cats from the template.

use anyhow::Result;

use crate::cli::CopycatArgs;
use crate::commands::ExitStatus;
use crate::context::Context;
use crate::copycat;

pub fn run(ctx: &Context, args: &CopycatArgs) -> Result<ExitStatus> {
    let farm = ctx.farm()?;
    for dir in copycat::create(farm, &args.names)? {
        ctx.printer
            .status("Created", &format!("{}", farm.display_path(&dir)));
    }
    Ok(ExitStatus::Success)
}
