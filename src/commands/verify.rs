//! `catctl verify CAT…|--all`: the image checks `up` and `deploy` make, on their own.

use anyhow::Result;

use crate::cli::VerifyArgs;
use crate::commands::ExitStatus;
use crate::context::Context;
use crate::farm::Cat;
use crate::ops::verify::{Finding, Verification, verify_cats};
use crate::output::{Kind, VerifyItem};
use crate::settings::Settings;

pub async fn run(ctx: &Context, args: &VerifyArgs) -> Result<ExitStatus> {
    let farm = ctx.farm()?;
    let cats = farm.select(&args.select.cats, args.select.all)?;
    let (daemon, registry) = (ctx.daemon().await?, ctx.registry().await?);
    let mut status = ExitStatus::Success;
    let mut verified: Vec<Verification> = Vec::new();
    let mut items: Vec<VerifyItem> = Vec::new();
    for outcome in verify_cats(farm, registry, daemon, &cats).await {
        match outcome.result {
            Ok(verification) => {
                if !verification.passed() {
                    status = ExitStatus::Failure;
                }
                items.push(item(&verification));
                verified.push(verification);
            }
            Err(err) => {
                ctx.printer.error(&err);
                status = ExitStatus::Failure;
                items.push(unverified(outcome.cat, &farm.settings, &err));
            }
        }
    }
    for verification in &verified {
        for finding in &verification.findings {
            ctx.printer
                .error(&anyhow::anyhow!("{}: {finding}", verification.cat));
        }
    }
    if ctx.printer.format.is_structured() {
        ctx.printer.items(Kind::VerifyResult, &items)?;
    } else if !verified.is_empty() {
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
    Ok(status)
}

fn item(v: &Verification) -> VerifyItem {
    let error = (!v.findings.is_empty()).then(|| {
        let words: Vec<String> = v.findings.iter().map(ToString::to_string).collect();
        words.join("; ")
    });
    VerifyItem {
        cat: v.cat.clone(),
        tag: v.image.tag.clone(),
        image: v.image.clone(),
        result: if v.findings.is_empty() {
            "ok"
        } else {
            "failed"
        },
        digest: v.registry_digest.clone(),
        local_image_id: v.local_image_id.clone(),
        local_pushed: v.local_pushed,
        source_digest: Some(v.source_digest.clone()),
        built_source_digest: v.built_source_digest.clone(),
        git_dirty: v.dirty,
        git_commit: v.git_commit.clone(),
        findings: v.findings.clone(),
        error,
    }
}

/// A cat that could not be checked at all (e.g. the registry did not answer).
fn unverified(cat: &Cat, settings: &Settings, err: &anyhow::Error) -> VerifyItem {
    let image = cat.image(settings);
    VerifyItem {
        cat: cat.name.clone(),
        tag: image.tag.clone(),
        image,
        result: "failed",
        digest: None,
        local_image_id: None,
        local_pushed: false,
        source_digest: None,
        built_source_digest: None,
        git_dirty: false,
        git_commit: None,
        findings: Vec::new(),
        error: Some(format!("{err:#}")),
    }
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
