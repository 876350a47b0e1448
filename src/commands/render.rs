//! `catctl render CAT… [--out DIR]`: the manifests a deploy would apply, after the same gate
//! (the registry digest and the Secret's checksum are part of them).

use anyhow::Result;

use crate::cli::RenderArgs;
use crate::commands::ExitStatus;
use crate::commands::deploy::{Mode, deploy_cats};
use crate::context::Context;
use crate::deploy::{ImageChoice, Options};

/// `catctl render CAT… [--out DIR]`: the manifests a deploy would apply, after the same gate.
pub async fn run(ctx: &Context, args: &RenderArgs) -> Result<ExitStatus> {
    let cats = ctx.farm()?.select(&args.select.cats, args.select.all)?;
    let options = Options::looking(args.allow_stale, false);
    let mode = match &args.out {
        Some(dir) => Mode::WriteTo(dir.clone()),
        None => Mode::DryRun,
    };
    let choices = cats
        .into_iter()
        .map(|c| (c, ImageChoice::Declared))
        .collect();
    deploy_cats(ctx, choices, &options, mode).await
}
