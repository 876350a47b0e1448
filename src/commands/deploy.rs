//! `catctl deploy CAT…|--all`: verify each cat, then apply it pinned by digest and watch its
//! rollout; a summary table closes. `--dry-run` prints the manifests instead.

use anyhow::Result;

use crate::cli::DeployArgs;
use crate::commands::ExitStatus;
use crate::commands::shared::{deploy_handles, print_reports, progress};
use crate::context::Context;
use crate::ops::deploy::{self, ImageChoice};
use crate::settings::deploy_options;

pub async fn run(ctx: &Context, args: &DeployArgs) -> Result<ExitStatus> {
    let farm = ctx.farm()?;
    let cats = farm.select(&args.select.cats, args.select.all)?;
    let handles = deploy_handles(ctx).await?;
    let options = deploy_options(args);
    let choices: Vec<_> = cats
        .iter()
        .map(|c| (c.clone(), ImageChoice::Declared))
        .collect();
    if args.dry_run {
        let gated = deploy::prepare(&handles, choices, &options).await;
        for p in &gated.prepared {
            ctx.printer
                .data(&format!("---\n{}", p.rendered.yaml.trim_start()));
        }
        return print_reports(ctx, &gated.refused);
    }
    let progress = progress(&ctx.printer, &cats);
    let reports = deploy::deploy(&handles, choices, &options, &progress).await?;
    drop(progress);
    print_reports(ctx, &reports)
}
