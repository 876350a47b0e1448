//! `catctl render CAT… [--out DIR]`: the manifests a deploy would apply, after the same gate
//! (the registry digest and the Secret's checksum are part of them).

use anyhow::{Context as _, Result};

use crate::cli::RenderArgs;
use crate::commands::ExitStatus;
use crate::commands::shared::{deploy_handles, print_reports};
use crate::context::Context;
use crate::ops::deploy::{self, ImageChoice};
use crate::settings::render_options;

pub async fn run(ctx: &Context, args: &RenderArgs) -> Result<ExitStatus> {
    let cats = ctx.farm()?.select(&args.select.cats, args.select.all)?;
    let handles = deploy_handles(ctx).await?;
    let choices = cats
        .into_iter()
        .map(|c| (c, ImageChoice::Declared))
        .collect();
    let gated = deploy::prepare(&handles, choices, &render_options(args)).await;
    for p in &gated.prepared {
        let Some(dir) = &args.out else {
            ctx.printer
                .data(&format!("---\n{}", p.rendered.yaml.trim_start()));
            continue;
        };
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let file = dir.join(format!("{}.yaml", p.cat.name));
        std::fs::write(&file, p.rendered.yaml.trim_start())
            .with_context(|| format!("cannot write {}", file.display()))?;
        let what = format!(
            "{} ({} {})",
            file.display(),
            p.rendered.kind.as_str(),
            p.cat.name
        );
        ctx.printer.status("Wrote", &what);
    }
    print_reports(ctx, &gated.refused)
}
