//! `catctl verify CAT…|--all`: the image checks `up` and `deploy` make, on their own.

use anyhow::Result;

use crate::cli::VerifyArgs;
use crate::commands::ExitStatus;
use crate::context::Context;
use crate::ops::verify::{Finding, Verification, verify_cats};
use crate::printer::Format;

pub async fn run(ctx: &Context, args: &VerifyArgs) -> Result<ExitStatus> {
    let farm = ctx.farm()?;
    let cats = farm.select(&args.select.cats, args.select.all)?;
    let (daemon, registry) = (ctx.daemon().await?, ctx.registry().await?);
    let mut status = ExitStatus::Success;
    let mut verified: Vec<Verification> = Vec::new();
    for outcome in verify_cats(farm, registry, daemon, &cats).await {
        match outcome.result {
            Ok(verification) if verification.passed() => verified.push(verification),
            Ok(verification) => {
                status = ExitStatus::Failure;
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
            let header = [
                "CAT",
                "IMAGE",
                "REGISTRY DIGEST",
                "LOCAL",
                "SOURCES",
                "RESULT",
            ];
            let cells: Vec<Vec<String>> = verified.iter().map(row).collect();
            ctx.printer.table(&header, &cells);
        }
    }
    Ok(status)
}

fn row(v: &Verification) -> Vec<String> {
    let differs = v
        .findings
        .iter()
        .any(|f| matches!(f, Finding::LocalDiffers { .. }));
    let local = match (&v.local_image_id, &v.registry_digest) {
        (None, _) => "none",
        (Some(_), _) if differs => "differs",
        (Some(_), None) => "unpushed",
        (Some(_), Some(_)) if v.local_pushed => "pushed",
        (Some(_), Some(_)) => "same sources",
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
        v.image.to_string(),
        v.registry_digest
            .as_ref()
            .map_or("-".to_string(), |d| format!("sha256:{}", d.short())),
        local.to_string(),
        sources.to_string(),
        result,
    ]
}
