//! `catctl redeploy CAT…`: build, push and deploy in one go, restarting the pods even when
//! nothing in the manifest changed — what `kubectl.sh` was for, without its delete, its
//! `sleep 5`, or a second copy (the restart rolls through the StatefulSet: old pod gone first).

use anyhow::{Result, bail};

use crate::cli::{BuildArgs, PushArgs, RedeployArgs, SelectCats};
use crate::commands::deploy::{Mode, deploy_cats};
use crate::commands::{ExitStatus, build, push};
use crate::context::Context;
use crate::deploy::{ImageChoice, Options};

pub async fn run(ctx: &Context, args: &RedeployArgs) -> Result<ExitStatus> {
    let farm = ctx.farm()?;
    let cats = farm.select(&args.select.cats, args.select.all)?;
    let select = || SelectCats {
        cats: cats.iter().map(|c| c.name.clone()).collect(),
        all: false,
    };
    let built = build::run(
        ctx,
        &BuildArgs {
            select: select(),
            no_cache: false,
        },
    )
    .await?;
    if built != ExitStatus::Success {
        bail!("not deploying: a build failed (see above); nothing was pushed or deployed");
    }
    let pushed = push::run(ctx, &PushArgs { select: select() }).await?;
    if pushed != ExitStatus::Success {
        bail!("not deploying: a push failed (see above); nothing was deployed");
    }
    let options = Options {
        allow_stale: false,
        force: args.force,
        timeout: args.timeout,
        restart: true,
        atomic: args.atomic,
    };
    let choices = cats
        .into_iter()
        .map(|c| (c, ImageChoice::Declared))
        .collect();
    deploy_cats(ctx, choices, &options, Mode::Apply).await
}
