//! What the command pages share (not a command): printing per-cat failures once the progress
//! lines are done, the deploy summary, and times as tables show them.

use std::time::Duration;

use anyhow::Result;

use crate::commands::ExitStatus;
use crate::context::Context;
use crate::docker::Daemon;
use crate::farm::Cat;
use crate::k8s::Cluster;
use crate::ops::CatResult;
use crate::ops::build::BuildOptions;
use crate::ops::deploy::{Handles, Outcome, Report};
use crate::ops::platform::default_platform;
use crate::output::{DeployItem, Kind};
use crate::printer::{Color, Printer};
use crate::progress::Progress;

/// One progress line per cat.
pub fn progress(printer: &Printer, cats: &[Cat]) -> Progress {
    let names: Vec<String> = cats.iter().map(|c| c.name.clone()).collect();
    Progress::new(printer, &names)
}

/// Prints each failure (with its causes); the exit status says whether every cat succeeded.
pub fn report_failures<T>(printer: &Printer, results: &[CatResult<'_, T>]) -> ExitStatus {
    let mut status = ExitStatus::Success;
    for outcome in results {
        if let Err(err) = &outcome.result {
            printer.error(err);
            status = ExitStatus::Failure;
        }
    }
    status
}

/// `1.2s`, as the summary tables show times.
pub fn seconds(elapsed: Duration) -> String {
    format!("{:.1}s", elapsed.as_secs_f64())
}

/// The error of a failed cat, with its causes, for `-o json`.
pub fn error_text<T>(result: &anyhow::Result<T>) -> Option<String> {
    result.as_ref().err().map(|e| format!("{e:#}"))
}

/// Where the cluster commands write: context, namespace and API server.
pub fn where_to(cluster: &Cluster) -> String {
    format!(
        "kube context {}, namespace {} ({})",
        cluster.context, cluster.namespace, cluster.url
    )
}

/// Prints each problem (with the failing container's last log lines), the summary table or
/// JSON, and turns the reports into the exit status.
pub fn print_reports(ctx: &Context, reports: &[Report]) -> Result<ExitStatus> {
    let status = if reports.iter().all(Report::succeeded) {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    };
    if ctx.printer.format.is_structured() {
        let items: Vec<DeployItem> = reports.iter().map(deploy_item).collect();
        ctx.printer.items(Kind::DeployResult, &items)?;
        return Ok(status);
    }
    for report in reports {
        for warning in &report.warnings {
            ctx.printer.warn(&format!("{}: {warning}", report.cat));
        }
    }
    for report in reports.iter().filter(|r| r.result == Outcome::Asleep) {
        ctx.printer.note(&format!(
            "{}: {}",
            report.cat,
            report.message.as_deref().unwrap_or("")
        ));
    }
    for report in reports.iter().filter(|r| !r.succeeded()) {
        let word = ctx.printer.paint_stderr(report.result.as_str(), Color::Red);
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
                    r.digest.as_ref().map_or("-", |d| d.short()).to_string(),
                    r.result.as_str().to_string(),
                    seconds(Duration::from_secs_f64(r.seconds)),
                ]
            })
            .collect();
        ctx.printer
            .table(&["CAT", "TAG", "DIGEST", "RESULT", "TIME"], &rows);
        if let Some(cluster) = ctx.cluster_if_connected() {
            ctx.printer.note(&format!("in {}", where_to(cluster)));
        }
    }
    Ok(status)
}

/// A deploy's report as `-o json` shows it: its message is the `error` when the cat was not
/// deployed, else a `note`.
fn deploy_item(report: &Report) -> DeployItem {
    let (error, note) = match report.succeeded() {
        true => (None, report.message.clone()),
        false => (report.message.clone(), None),
    };
    DeployItem {
        cat: report.cat.clone(),
        tag: report.tag.clone(),
        digest: report.digest.clone(),
        result: report.result,
        error,
        note,
        log: report.log.clone(),
        pods: report.pods.clone(),
        warnings: report.warnings.clone(),
        seconds: report.seconds,
    }
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// What a deploy reads and writes. Without a Docker daemon the local-image check is skipped,
/// and the user is told why.
pub async fn deploy_handles(ctx: &Context) -> Result<Handles<'_>> {
    let daemon = match ctx.daemon_if_running().await {
        Ok(daemon) => Some(daemon),
        Err(why) => {
            ctx.printer
                .note(&format!("skipping the local-image check: {why}"));
            None
        }
    };
    let cluster = ctx.cluster().await?;
    Ok(Handles {
        farm: ctx.farm()?,
        cluster,
        registry: ctx.registry().await?,
        daemon,
    })
}

/// Completes `options` with the network of RUN steps and the default platform when some cat's build needs it (no
/// `--platform`, no `[build] platform`): the cluster's nodes', asked within a few seconds, else
/// the daemon's. Says under `-v` which, and once when the daemon has no BuildKit.
pub async fn build_platform(
    ctx: &Context,
    daemon: &Daemon,
    cats: &[Cat],
    options: &mut BuildOptions,
) -> Result<()> {
    let farm = ctx.farm()?;
    options.network = crate::docker::build::run_network(daemon).await?;
    if let Some(network) = &options.network {
        ctx.printer.detail(&format!(
            "RUN steps get network {network}: the Docker daemon has no bridge network"
        ));
    }
    if !daemon.buildkit {
        ctx.printer.warn(&format!(
            "the Docker daemon at {} has no BuildKit (or DOCKER_BUILDKIT=0): building with the \
             legacy builder",
            daemon.host
        ));
    }
    if options.platform.is_some()
        || cats
            .iter()
            .all(|c| c.build_platform(&farm.settings).is_some())
    {
        return Ok(());
    }
    let nodes = tokio::time::timeout(PLATFORM_PROBE, async {
        let cluster = ctx.cluster().await?;
        crate::k8s::nodes::platforms(cluster).await
    })
    .await
    .unwrap_or_else(|_| {
        Err(anyhow::anyhow!(
            "the cluster gave no answer within {} s",
            PLATFORM_PROBE.as_secs()
        ))
    })
    .map_err(|err| format!("{err:#}"));
    let chosen = default_platform(nodes.as_deref().map_err(String::as_str), &daemon.platform);
    ctx.printer.detail(&format!(
        "building for {}: {}",
        chosen.platform, chosen.reason
    ));
    options.default_platform = Some(chosen.platform);
    Ok(())
}

/// How long a build waits for the cluster to say which platform its nodes run.
const PLATFORM_PROBE: Duration = Duration::from_secs(3);
