//! One page per command: arguments into options, one or two calls into `ops`, rows to the
//! printer. No page imports another; what they share is in `shared`.

mod build;
mod completions;
mod context;
mod copycat;
mod delete;
mod deploy;
mod diff;
mod doctor;
mod down;
mod init;
mod list;
mod logs;
mod push;
mod redeploy;
mod render;
mod rollback;
mod scale;
mod schedule;
mod secret;
mod shared;
mod slack_manifest;
mod sleep;
mod status;
mod up;
mod verify;

use std::process::ExitCode;

use anyhow::{Result, bail};

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
    /// Something went wrong where the answer "no" means exit 1 (`diff`): exit 2.
    Trouble,
    /// Stopped by Ctrl-C.
    Interrupted,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> ExitCode {
        match status {
            ExitStatus::Success => ExitCode::SUCCESS,
            ExitStatus::Failure => ExitCode::from(1),
            ExitStatus::Error => ExitCode::from(1),
            ExitStatus::Trouble => ExitCode::from(2),
            ExitStatus::Interrupted => ExitCode::from(130),
        }
    }
}

pub async fn run(ctx: &Context, command: &Command) -> Result<ExitStatus> {
    refuse_unreported_format(ctx, command)?;
    match command {
        Command::Copycat(args) => copycat::run(ctx, args),
        Command::Context(args) => context::run(ctx, args),
        Command::List(args) => list::run(ctx, args),
        Command::Logs(args) => logs::run(ctx, args).await,
        Command::Secret(command) => secret::run(ctx, command).await,
        Command::SlackManifest(args) => slack_manifest::run(ctx, args),
        Command::Completions(args) => completions::run(ctx, args),
        Command::Build(args) => build::run(ctx, args).await,
        Command::Push(args) => push::run(ctx, args).await,
        Command::Verify(args) => verify::run(ctx, args).await,
        Command::Up(args) => up::run(ctx, args).await,
        Command::Down(args) => down::run(ctx, args).await,
        Command::Deploy(args) => deploy::run(ctx, args).await,
        Command::Redeploy(args) => redeploy::run(ctx, args).await,
        Command::Render(args) => render::run(ctx, args).await,
        Command::Diff(args) => diff::run(ctx, args).await,
        Command::Sleep(args) => sleep::sleep_page(ctx, args).await,
        Command::Wake(args) => sleep::wake_page(ctx, args).await,
        Command::Delete(args) => delete::run(ctx, args).await,
        Command::Init(args) => init::run(ctx, args),
        Command::Doctor(args) => doctor::run(ctx, args).await,
        Command::Schedule(args) => schedule::run(ctx, args).await,
        Command::Scale(args) => scale::run(ctx, args).await,
        Command::Status(args) => status::run(ctx, args).await,
        Command::History(args) => rollback::history_page(ctx, args).await,
        Command::Rollback(args) => rollback::rollback_page(ctx, args).await,
    }
}

/// `-o json`/`-o yaml` on a command that reports no state (it writes files, or prints a
/// script or manifests) is refused, never ignored: a program reading its output would get
/// something else than it asked for.
fn refuse_unreported_format(ctx: &Context, command: &Command) -> Result<()> {
    let format = ctx.printer.format;
    if !format.is_structured() {
        return Ok(());
    }
    let what = match command {
        Command::Completions(_) => "`catctl completions` prints a shell script",
        Command::Context(_) => "`catctl context` writes a build context to a directory",
        Command::Init(_) => "`catctl init` writes a new farm",
        Command::Render(_) => "`catctl render` prints or writes manifests, which are YAML already",
        Command::Deploy(args) if args.dry_run => {
            "`catctl deploy --dry-run` prints manifests, which are YAML already"
        }
        Command::SlackManifest(_) => "`catctl slack-manifest` prints Slack app manifests",
        Command::Scale(_) => "`catctl scale` (the schedule's CronJobs) reports nothing",
        _ => return Ok(()),
    };
    bail!(
        "{what}, not state: it has no {} output — drop {}",
        format.flag(),
        format.flag()
    )
}
