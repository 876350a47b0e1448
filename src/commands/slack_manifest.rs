//! `catctl slack-manifest CAT…|--all`: each cat's Slack app manifest, as YAML documents.

use anyhow::Result;

use crate::cli::SlackManifestArgs;
use crate::commands::ExitStatus;
use crate::context::Context;
use crate::manifest::slack::slack_manifest;

pub fn run(ctx: &Context, args: &SlackManifestArgs) -> Result<ExitStatus> {
    let farm = ctx.farm()?;
    let cats = farm.select(&args.select.cats, args.select.all)?;
    let documents: Vec<String> = cats
        .iter()
        .map(|cat| slack_manifest(farm, cat))
        .collect::<Result<_>>()?;
    for (cat, document) in cats.iter().zip(&documents) {
        ctx.printer
            .data(&format!("---\n# {}\n{}", cat.name, document.trim_end()));
    }
    Ok(ExitStatus::Success)
}
