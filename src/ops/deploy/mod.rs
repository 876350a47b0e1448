//! Deploying cats: the gate (every check before any write), then server-side apply and a
//! watched rollout per cat, concurrently, each ending in a report. `deploy`, `redeploy`,
//! `rollback`, `render` and `diff` all come here.

mod gate;
mod report;
mod rollout;

use std::time::Duration;

use anyhow::Result;

use crate::docker::Daemon;
use crate::farm::{Cat, Farm};
use crate::image::ImageRef;
use crate::k8s::Cluster;
use crate::k8s::history::Revision;
use crate::k8s::observe::Observer;
use crate::manifest::Kind;
use crate::ops::schedule;
use crate::progress::Reporter;
use crate::registry::Registry;

pub use gate::{Gate, Gated, Prepared, check_singleton, downgrade};
pub use report::{Outcome, Report};
pub use rollout::{LOG_LINES, roll_out};

/// How a deploy goes.
#[derive(Debug, Clone)]
pub struct DeployOptions {
    /// Let through images whose cat sources changed since they were built.
    pub allow_stale: bool,
    /// Replace a newer revision (or one unknown to the history) with this one.
    pub allow_downgrade: bool,
    /// Take over fields owned by other field managers.
    pub force: bool,
    pub timeout: Duration,
    /// Restart the pods even when nothing else changed (redeploy).
    pub restart: bool,
    /// Re-apply the previous revision of a cat whose rollout failed.
    pub atomic: bool,
    /// Wake a cat that `catctl sleep` put to sleep (it stays asleep otherwise).
    pub wake: bool,
}

impl DeployOptions {
    /// For commands that only look (render, diff): nothing is waited for or restarted.
    pub fn looking(allow_stale: bool, force: bool) -> DeployOptions {
        DeployOptions {
            allow_stale,
            allow_downgrade: true,
            force,
            timeout: Duration::ZERO,
            restart: false,
            atomic: false,
            wake: false,
        }
    }
}

/// Which image a cat is to run: the one its cat.toml declares, or one from its history.
#[derive(Debug, Clone)]
pub enum ImageChoice {
    Declared,
    Revision(Box<Revision>),
}

/// The outside world a deploy reads and writes.
pub struct Handles<'a> {
    pub farm: &'a Farm,
    pub cluster: &'a Cluster,
    pub registry: &'a Registry,
    /// The local daemon, when one answers (its image check is skipped otherwise).
    pub daemon: Option<&'a Daemon>,
}

/// catctl's own image for the CronJobs, when a prepared cat has a `[schedule]`; each such cat
/// is refused (before any write) when the image cannot be had.
async fn schedule_image(handles: &Handles<'_>, gated: &mut Gated) -> Option<ImageRef> {
    let scheduled = |p: &Prepared| !schedule::entries_of(&p.cat).is_empty();
    if !gated.prepared.iter().any(scheduled) {
        return None;
    }
    let image = match handles.daemon {
        Some(daemon) => schedule::catctl_image(handles.farm, daemon, handles.registry).await,
        None => Err(anyhow::anyhow!(
            "building catctl's image for the CronJobs needs the Docker daemon, which does not answer"
        )),
    };
    match image {
        Ok(image) => Some(image),
        Err(err) => {
            let (refused, kept): (Vec<Prepared>, Vec<Prepared>) =
                std::mem::take(&mut gated.prepared)
                    .into_iter()
                    .partition(scheduled);
            gated.prepared = kept;
            let err = err.context("the cat has a [schedule]");
            for p in refused {
                gated
                    .refused
                    .push(Report::refused(&p.cat.name, &p.cat.config.version, &err));
            }
            None
        }
    }
}

/// Every cat through the gate, reading only.
pub async fn prepare(
    handles: &Handles<'_>,
    cats: Vec<(Cat, ImageChoice)>,
    options: &DeployOptions,
) -> Gated {
    gate(handles, options, None).check_all(cats).await
}

fn gate<'a>(
    handles: &Handles<'a>,
    options: &'a DeployOptions,
    observer: Option<Result<&'a Observer, String>>,
) -> Gate<'a> {
    Gate {
        farm: handles.farm,
        cluster: handles.cluster,
        registry: handles.registry,
        daemon: handles.daemon,
        options,
        observer,
    }
}

/// The gate for every cat, then the rollout of those that passed; one report per cat, in
/// the cats' name order. The rollout's watches start first and the gate reads pods and
/// workloads from them (when they cannot start, every cat is refused with the reason).
pub async fn deploy(
    handles: &Handles<'_>,
    cats: Vec<(Cat, ImageChoice)>,
    options: &DeployOptions,
    reporter: &dyn Reporter,
) -> Result<Vec<Report>> {
    let deployments = cats
        .iter()
        .any(|(cat, _)| Kind::for_cat(cat) == Kind::Deployment);
    let started = if cats.is_empty() {
        None
    } else {
        Some(
            Observer::start(handles.cluster, deployments)
                .await
                .map_err(|err| format!("{err:#}")),
        )
    };
    let for_gate = started
        .as_ref()
        .map(|started| started.as_ref().map_err(Clone::clone));
    let mut gated = gate(handles, options, for_gate).check_all(cats).await;
    let observer = started.and_then(Result::ok);
    let schedule_image = schedule_image(handles, &mut gated).await;
    for refused in &gated.refused {
        reporter.failed(&refused.cat, &format!("refused: {}", refused.summary()));
    }
    let cats: Vec<Cat> = gated.prepared.iter().map(|p| p.cat.clone()).collect();
    let mut reports = roll_out(
        handles.cluster,
        gated.prepared,
        observer,
        options,
        handles.farm.settings.deploy_concurrency,
        reporter,
    )
    .await?;
    let cronjobs = if reports.iter().any(|r| r.succeeded()) {
        schedule::cronjob_names(handles.cluster).await?
    } else {
        Default::default()
    };
    for report in reports.iter_mut().filter(|r| r.succeeded()) {
        let Some(cat) = cats.iter().find(|c| c.name == report.cat) else {
            continue;
        };
        if !schedule::needs_sync(cat, &cronjobs) {
            continue;
        }
        match schedule::sync(handles.cluster, cat, schedule_image.as_ref()).await {
            Ok(done) if done.is_empty() => {}
            Ok(done) => {
                report.message = Some(match report.message.take() {
                    Some(message) => format!("{message}; {done}"),
                    None => done,
                })
            }
            Err(err) => {
                report.result = Outcome::Failed;
                report.message = Some(format!("deployed, but its schedule failed: {err:#}"));
            }
        }
    }
    reports.extend(gated.refused);
    reports.sort_by(|a, b| a.cat.cmp(&b.cat));
    Ok(reports)
}
