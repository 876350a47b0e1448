//! `catctl verify CAT…|--all`: the image checks `up` and `deploy` make, on their own.

use anyhow::{Context as _, Result};

use crate::cli::VerifyArgs;
use crate::commands::ExitStatus;
use crate::commands::each::each;
use crate::context::Context;
use crate::docker::Daemon;
use crate::printer::Format;
use crate::registry::Registry;
use crate::source_digest::short;
use crate::verify::{Verification, verify_cat};

pub async fn run(ctx: &Context, args: &VerifyArgs) -> Result<ExitStatus> {
    let farm = ctx.farm()?;
    let cats = farm.select(&args.select.cats, args.select.all)?;
    let daemon = Daemon::connect().await?;
    let registry = Registry::new()?;
    let results = each(&cats, farm.settings.concurrency, |cat| {
        let (daemon, registry) = (&daemon, &registry);
        async move {
            verify_cat(farm, cat, registry, Some(daemon))
                .await
                .with_context(|| format!("verifying {}", cat.name))
        }
    })
    .await;

    let mut status = ExitStatus::Success;
    let mut verified: Vec<Verification> = Vec::new();
    for result in results {
        match result {
            Ok(verification) => {
                if !verification.passed() {
                    status = ExitStatus::Failure;
                }
                verified.push(verification);
            }
            Err(err) => {
                ctx.printer.error(&err);
                status = ExitStatus::Failure;
            }
        }
    }
    for verification in &verified {
        for finding in &verification.findings {
            ctx.printer
                .error(&anyhow::anyhow!("{}: {finding}", verification.cat));
        }
    }
    match ctx.printer.format {
        Format::Json => ctx.printer.json(&verified)?,
        Format::Table if verified.is_empty() => {}
        Format::Table => {
            let cells: Vec<Vec<String>> = verified.iter().map(row).collect();
            ctx.printer.table(
                &[
                    "CAT",
                    "IMAGE",
                    "REGISTRY DIGEST",
                    "LOCAL",
                    "SOURCES",
                    "RESULT",
                ],
                &cells,
            );
        }
    }
    Ok(status)
}

fn row(v: &Verification) -> Vec<String> {
    let local = match (&v.local_image_id, &v.registry_digest) {
        (None, _) => "none",
        (Some(_), _)
            if v.findings
                .iter()
                .any(|f| matches!(f, crate::verify::Finding::LocalDiffers { .. })) =>
        {
            "differs"
        }
        (Some(_), None) => "unpushed",
        (Some(_), Some(_)) => "pushed",
    };
    let sources = match &v.built_source_digest {
        None => "unknown",
        Some(built) if *built == v.source_digest => "unchanged",
        Some(_) => "changed",
    };
    let result = match v.findings.len() {
        0 => "ok".to_string(),
        1 => "1 problem".to_string(),
        n => format!("{n} problems"),
    };
    vec![
        v.cat.clone(),
        v.image.clone(),
        v.registry_digest
            .as_deref()
            .map(|d| format!("sha256:{}", short(d)))
            .unwrap_or_else(|| "-".to_string()),
        local.to_string(),
        sources.to_string(),
        result,
    ]
}
