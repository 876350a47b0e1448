//! One module per command; each turns its arguments into calls into the library and prints
//! the outcome through the printer.

mod completions;
mod context;
mod copycat;
mod list;
mod logs;
mod secret;

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::Command;
use crate::context::Context;

/// How a command ended, as the process exit code says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Everything asked for was done.
    Success,
    /// The command ran, and the answer is "no": some cats failed, or there are differences.
    Failure,
    /// The command could not do its work.
    Error,
    /// Stopped by Ctrl-C.
    Interrupted,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> ExitCode {
        match status {
            ExitStatus::Success => ExitCode::SUCCESS,
            ExitStatus::Failure => ExitCode::from(1),
            ExitStatus::Error => ExitCode::from(1),
            ExitStatus::Interrupted => ExitCode::from(130),
        }
    }
}

pub async fn run(ctx: &Context, command: &Command) -> Result<ExitStatus> {
    match command {
        Command::Copycat(args) => copycat::run(ctx, args),
        Command::Context(args) => context::run(ctx, args),
        Command::List(args) => list::run(ctx, args),
        Command::Logs(args) => logs::run(ctx, args).await,
        Command::Secret(command) => secret::run(ctx, command).await,
        Command::Completions(args) => completions::run(ctx, args),
    }
}
