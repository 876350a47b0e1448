//! `catctl redeploy CAT…`: build, push and deploy in one go, restarting the pods even when
//! nothing in the manifest changed — what `kubectl.sh` was for, without its delete, its
//! `sleep 5`, or a second copy (the restart rolls through the StatefulSet: old pod gone first).

use anyhow::{Result, bail};

use crate::cli::RedeployArgs;
use crate::commands::ExitStatus;
use crate::commands::shared::{
    build_platform, deploy_handles, print_reports, progress, report_failures,
};
use crate::context::Context;
use crate::ops::build::build_cats;
use crate::ops::deploy::{self, ImageChoice};
use crate::ops::push::{PushOptions, push_cats};
use crate::settings::{redeploy_build_options, redeploy_options};

pub async fn run(ctx: &Context, args: &RedeployArgs) -> Result<ExitStatus> {
    let farm = ctx.farm()?;
    let cats = farm.select(&args.select.cats, args.select.all)?;
    let (daemon, registry) = (ctx.daemon().await?, ctx.registry().await?);
    let mut options = redeploy_build_options(args);
    build_platform(ctx, daemon, &cats, &mut options).await?;
    let lines = progress(&ctx.printer, &cats);
    let built = build_cats(farm, daemon, registry, &cats, &options, &lines).await;
    drop(lines);
    if report_failures(&ctx.printer, &built) != ExitStatus::Success {
        bail!("not deploying: a build failed (see above); nothing was pushed or deployed");
    }
    let lines = progress(&ctx.printer, &cats);
    let pushed = push_cats(
        farm,
        daemon,
        registry,
        &cats,
        PushOptions::default(),
        &lines,
    )
    .await;
    drop(lines);
    if report_failures(&ctx.printer, &pushed) != ExitStatus::Success {
        bail!("not deploying: a push failed (see above); nothing was deployed");
    }
    let handles = deploy_handles(ctx).await?;
    let choices = cats
        .iter()
        .map(|c| (c.clone(), ImageChoice::Declared))
        .collect();
    let lines = progress(&ctx.printer, &cats);
    let reports = deploy::deploy(&handles, choices, &redeploy_options(args), &lines).await?;
    drop(lines);
    print_reports(ctx, &reports)
}
