//! `catctl init [DIR]`: a new farm from the template this binary carries.

use std::io::IsTerminal as _;

use anyhow::Result;

use crate::cli::InitArgs;
use crate::commands::ExitStatus;
use crate::context::{Context, current_dir};
use crate::ops::init::init;
use crate::settings::{DEFAULT_REGISTRY, init_options};

pub fn run(ctx: &Context, args: &InitArgs) -> Result<ExitStatus> {
    let dir = match &args.dir {
        Some(dir) => dir.clone(),
        None => current_dir()?,
    };
    let asked = if ctx.overrides().registry.is_none() && std::io::stdin().is_terminal() {
        Some(ctx.printer.prompt("Image registry", DEFAULT_REGISTRY)?)
    } else {
        None
    };
    let options = init_options(ctx.overrides(), asked)?;
    let written = init(&dir, &options)?;
    ctx.printer.status(
        "Created",
        &format!(
            "a farm in {} ({} files; registry {}, namespace {})",
            dir.display(),
            written.len(),
            options.registry,
            options
                .namespace
                .as_deref()
                .unwrap_or("of the kube context")
        ),
    );
    ctx.printer.note(&format!(
        "next: cd {} && catctl copycat NAME && catctl build NAME",
        dir.display()
    ));
    Ok(ExitStatus::Success)
}
