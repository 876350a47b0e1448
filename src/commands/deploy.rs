//! `catctl deploy CAT…|--all`: verify each cat, then apply it pinned by digest and watch its
//! rollout; a summary table closes. `redeploy` and `rollback` share this code.

use std::time::Duration;

use anyhow::{Context as _, Result};
use futures::StreamExt;

use crate::cli::DeployArgs;
use crate::commands::ExitStatus;
use crate::commands::each::seconds;
use crate::context::Context;
use crate::deploy::{self, Gate, ImageChoice, Options, Outcome, Prepared, Report};
use crate::docker::Daemon;
use crate::farm::Cat;
use crate::printer::{Color, Format};
use crate::progress::Progress;
use crate::registry::Registry;
use crate::source_digest::short_digest;

pub async fn run(ctx: &Context, args: &DeployArgs) -> Result<ExitStatus> {
    let farm = ctx.farm()?;
    let cats = farm.select(&args.select.cats, args.select.all)?;
    let options = Options {
        allow_stale: args.allow_stale,
        force: args.force,
        timeout: args.timeout,
        restart: false,
        atomic: args.atomic,
    };
    let choices = cats
        .into_iter()
        .map(|cat| (cat, ImageChoice::Declared))
        .collect();
    let what = if args.dry_run {
        Mode::DryRun
    } else {
        Mode::Apply
    };
    deploy_cats(ctx, choices, &options, what).await
}

/// What to do with the cats that pass the gate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Apply,
    /// Print the manifests to stdout.
    DryRun,
    /// Write each cat's manifest to `<dir>/<cat>.yaml`.
    WriteTo(std::path::PathBuf),
}

/// The gate for every cat (read-only, concurrently), then the rollout of those that passed.
pub async fn deploy_cats(
    ctx: &Context,
    cats: Vec<(Cat, ImageChoice)>,
    options: &Options,
    mode: Mode,
) -> Result<ExitStatus> {
    let (prepared, refused) = gate(ctx, cats, options).await?;
    match &mode {
        Mode::Apply => {}
        Mode::DryRun => {
            for p in &prepared {
                ctx.printer
                    .data(&format!("---\n{}", p.rendered.yaml.trim_start()));
            }
            return finish(ctx, refused, false);
        }
        Mode::WriteTo(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            for p in &prepared {
                let file = dir.join(format!("{}.yaml", p.cat.name));
                std::fs::write(&file, p.rendered.yaml.trim_start())
                    .with_context(|| format!("cannot write {}", file.display()))?;
                ctx.printer.status(
                    "Wrote",
                    &format!(
                        "{} ({} {})",
                        file.display(),
                        p.rendered.kind.as_str(),
                        p.cat.name
                    ),
                );
            }
            return finish(ctx, refused, false);
        }
    }
    let farm = ctx.farm()?;
    let names: Vec<String> = prepared.iter().map(|p| p.cat.name.clone()).collect();
    let progress = Progress::new(&ctx.printer, &names);
    let lines: Vec<_> = names
        .iter()
        .map(|n| (n.clone(), progress.line(n, "waiting")))
        .collect();
    let on_progress = |cat: &str, message: &str| {
        if let Some((_, line)) = lines.iter().find(|(n, _)| n == cat) {
            line.set(message);
        }
    };
    let reports = deploy::roll_out(
        ctx.kube().await?,
        &farm.settings.namespace,
        prepared,
        options,
        farm.settings.concurrency,
        &on_progress,
    )
    .await?;
    for report in &reports {
        if let Some((_, line)) = lines.iter().find(|(n, _)| n == &report.cat) {
            match report.result {
                Outcome::Deployed => line.done("Deployed", &short_image(report)),
                _ => line.failed(&format!(
                    "{}: {}",
                    outcome_word(report.result),
                    first_line(report)
                )),
            }
        }
    }
    drop(lines);
    drop(progress);
    let mut all = refused;
    all.extend(reports);
    finish(ctx, all, false)
}

/// Every cat through the gate: read-only, concurrently. Rendering needs the registry digest
/// and the Secret's checksum, so even a dry run asks the registry and the cluster.
pub async fn gate(
    ctx: &Context,
    cats: Vec<(Cat, ImageChoice)>,
    options: &Options,
) -> Result<(Vec<Prepared>, Vec<Report>)> {
    let farm = ctx.farm()?;
    let client = ctx.kube().await?;
    let registry = Registry::new()?;
    let daemon = Daemon::connect().await.ok();
    let gate = Gate {
        farm,
        client,
        registry: &registry,
        daemon: daemon.as_ref(),
        options,
    };
    let gate = &gate;
    let checked: Vec<(Cat, Result<Prepared, String>)> = futures::stream::iter(cats)
        .map(|(cat, choice)| async move {
            let result = gate.check(&cat, &choice).await;
            (cat, result)
        })
        .buffered(farm.settings.concurrency)
        .collect()
        .await;
    let mut prepared = Vec::new();
    let mut refused = Vec::new();
    for (cat, result) in checked {
        match result {
            Ok(p) => prepared.push(p),
            Err(message) => refused.push(Report {
                cat: cat.name.clone(),
                tag: cat.config.version.clone(),
                digest: None,
                result: Outcome::Refused,
                message: Some(message),
                log: None,
                seconds: 0.0,
                pods: Vec::new(),
            }),
        }
    }
    Ok((prepared, refused))
}

fn outcome_word(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Deployed => "deployed",
        Outcome::Refused => "refused",
        Outcome::Failed => "failed",
        Outcome::RolledBack => "rolled back",
    }
}

fn first_line(report: &Report) -> String {
    report
        .message
        .as_deref()
        .unwrap_or("")
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

fn short_image(report: &Report) -> String {
    let digest = report.digest.as_deref().unwrap_or("");
    format!("{} ({})", report.tag, short_digest(digest))
}

/// Prints each problem (with the failing container's last log lines), the summary table or
/// JSON, and turns the reports into the exit status.
fn finish(ctx: &Context, mut reports: Vec<Report>, nothing_passed: bool) -> Result<ExitStatus> {
    reports.sort_by(|a, b| a.cat.cmp(&b.cat));
    let failed = reports.iter().any(|r| !r.succeeded()) || nothing_passed;
    if ctx.printer.format == Format::Json {
        ctx.printer.json(&reports)?;
        return Ok(if failed {
            ExitStatus::Failure
        } else {
            ExitStatus::Success
        });
    }
    for report in reports.iter().filter(|r| !r.succeeded()) {
        let word = ctx
            .printer
            .paint_stderr(outcome_word(report.result), Color::Red);
        ctx.printer.warn(&format!(
            "{} {word}: {}",
            report.cat,
            report.message.as_deref().unwrap_or("")
        ));
        if let Some(log) = &report.log {
            ctx.printer
                .note(&format!("last lines of its log:\n{}", indent(log)));
        }
    }
    if reports.iter().any(|r| r.result != Outcome::Refused) {
        let rows: Vec<Vec<String>> = reports
            .iter()
            .map(|r| {
                vec![
                    r.cat.clone(),
                    r.tag.clone(),
                    r.digest
                        .as_deref()
                        .map(short_digest)
                        .unwrap_or_else(|| "-".into()),
                    outcome_word(r.result).to_string(),
                    seconds(Duration::from_secs_f64(r.seconds)),
                ]
            })
            .collect();
        ctx.printer
            .table(&["CAT", "TAG", "DIGEST", "RESULT", "TIME"], &rows);
    }
    Ok(if failed {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
