//! `catctl completions SHELL`: the script that makes the shell ask catctl for completions,
//! so that cat names come from `cats/` at TAB time.

use anyhow::{Context as _, Result};
use clap_complete::env::Shells;

use crate::cli::CompletionsArgs;
use crate::commands::ExitStatus;
use crate::context::Context;

pub fn run(ctx: &Context, args: &CompletionsArgs) -> Result<ExitStatus> {
    ctx.printer.data(&script(args.shell.name())?);
    Ok(ExitStatus::Success)
}

/// The registration script for `shell`, calling `catctl` from PATH.
pub fn script(shell: &str) -> Result<String> {
    let shells = Shells::builtins();
    let completer = shells
        .completer(shell)
        .with_context(|| format!("no completion support for {shell}"))?;
    let mut buf = Vec::new();
    completer.write_registration("COMPLETE", "catctl", "catctl", "catctl", &mut buf)?;
    Ok(String::from_utf8(buf)?)
}
