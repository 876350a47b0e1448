//! `catctl context CAT --out DIR`: the cat's merged build context, for a plain `docker build`.

use anyhow::{Context as _, Result};

use crate::build_context::overlay;
use crate::cli::ContextArgs;
use crate::commands::ExitStatus;
use crate::context::Context;

pub fn run(ctx: &Context, args: &ContextArgs) -> Result<ExitStatus> {
    let farm = ctx.farm()?;
    let cat = farm.cat(&args.cat)?;
    let entries = overlay::build_context(&farm.template_dir(), &cat.dir)?;
    overlay::write_out(&entries, &args.out)
        .with_context(|| format!("writing the build context of {}", cat.name))?;
    let files = entries
        .iter()
        .filter(|e| !matches!(e.kind, overlay::EntryKind::Dir))
        .count();
    ctx.printer.status(
        "Wrote",
        &format!(
            "the build context of {} ({files} files) to {} — `docker build {}` builds it",
            cat.name,
            args.out.display(),
            args.out.display()
        ),
    );
    Ok(ExitStatus::Success)
}
