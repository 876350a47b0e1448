//! `catctl completions SHELL`: the script that makes the shell ask catctl for completions,
//! so that cat names come from `cats/` at TAB time.

use anyhow::Result;

use crate::cli::CompletionsArgs;
use crate::commands::ExitStatus;
use crate::context::Context;

pub fn run(ctx: &Context, args: &CompletionsArgs) -> Result<ExitStatus> {
    ctx.printer
        .data(&crate::complete::script(args.shell.name())?);
    Ok(ExitStatus::Success)
}
