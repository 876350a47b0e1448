//! Applying prepared cats and waiting for their rollouts, concurrently, with one set of watches
//! for all of them; `--atomic` re-applies the previous revision of a cat that failed.

use std::time::{Duration, Instant};

use futures::StreamExt as _;

use anyhow::bail;
use tokio::time::Instant as Deadline;

use crate::image::ImageRef;
use crate::k8s::Cluster;
use crate::k8s::history::{self, Ran, Revision, manifest_checksum};
use crate::k8s::lock;
use crate::k8s::observe::{self, Failure, Observer, Target};
use crate::k8s::sleep::{self, Asleep};
use crate::k8s::workload;
use crate::manifest::{CHANGE_CAUSE_ANNOTATION, Kind, Rendered};
use crate::ops::deploy::{DeployOptions, Outcome, Prepared, Report, downgrade};
use crate::progress::Reporter;

/// How many log lines of a failing container are shown.
pub const LOG_LINES: i64 = 20;

/// Applies each prepared cat and waits for its rollout, at most `concurrency` at once.
pub async fn roll_out(
    cluster: &Cluster,
    prepared: Vec<Prepared>,
    observer: Option<Observer>,
    options: &DeployOptions,
    concurrency: usize,
    reporter: &dyn Reporter,
) -> anyhow::Result<Vec<Report>> {
    let (unchanged, prepared): (Vec<Prepared>, Vec<Prepared>) =
        prepared.into_iter().partition(|p| p.unchanged.is_some());
    let mut reports: Vec<Report> = unchanged
        .into_iter()
        .map(|p| already_running(p, reporter))
        .collect();
    if prepared.is_empty() {
        return Ok(reports);
    }
    // The Warning events are watched only for a rollout stuck before its containers run.
    let observer = match observer {
        Some(observer) => observer,
        None => {
            let deployments = prepared.iter().any(|p| p.rendered.kind == Kind::Deployment);
            Observer::start(cluster, deployments).await?
        }
    };
    let rollout = Rollout {
        cluster,
        holder: format!("{} (pid {})", history::who(), std::process::id()),
        observer: &observer,
        options,
        reporter,
    };
    let rollout = &rollout;
    let rolled = futures::stream::iter(prepared.into_iter().map(|p| async move {
        let started = Instant::now();
        let mut report = rollout.one(&p).await;
        if report.result == Outcome::Failed
            && options.atomic
            && let Some(previous) = p.history.iter().rev().find(|r| r.ran())
        {
            rollout.undo(&p, previous, &mut report).await;
        }
        report.seconds = started.elapsed().as_secs_f64();
        match report.result {
            Outcome::Asleep => reporter.done(&p.cat.name, "Asleep", "applied, kept asleep"),
            Outcome::Deployed => reporter.done(
                &p.cat.name,
                "Deployed",
                &format!(
                    "{} ({})",
                    p.image.tag,
                    p.image.digest.as_ref().map_or("-", |d| d.short())
                ),
            ),
            outcome => reporter.failed(
                &p.cat.name,
                &format!("{}: {}", outcome.as_str(), report.summary()),
            ),
        }
        report
    }))
    .buffer_unordered(concurrency.max(1))
    .collect::<Vec<Report>>()
    .await;
    reports.extend(rolled);
    Ok(reports)
}

/// The report of a cat the cluster already runs as prepared: nothing was written.
fn already_running(p: Prepared, reporter: &dyn Reporter) -> Report {
    let digest = p.image.digest.as_ref().map_or("-", |d| d.short());
    reporter.done(
        &p.cat.name,
        "Unchanged",
        &format!("{} ({digest}) already runs", p.image.tag),
    );
    Report {
        cat: p.cat.name.clone(),
        tag: p.image.tag.clone(),
        digest: p.image.digest.clone(),
        result: Outcome::Unchanged,
        message: Some("already running, nothing written".to_string()),
        log: None,
        seconds: 0.0,
        pods: p.unchanged.unwrap_or_default(),
        warnings: p.warnings,
    }
}

/// What every cat's rollout of one command shares.
struct Rollout<'a> {
    cluster: &'a Cluster,
    /// Who holds the cats' deploy locks: `user@host`, with this process.
    holder: String,
    observer: &'a Observer,
    options: &'a DeployOptions,
    reporter: &'a dyn Reporter,
}

impl Rollout<'_> {
    /// `--atomic`: re-applies `previous` after a failed rollout and says so in `report`.
    async fn undo(&self, p: &Prepared, previous: &Revision, report: &mut Report) {
        self.reporter.step(
            &p.cat.name,
            &format!("rolling back to revision {}", previous.revision),
        );
        let failure = report.message.clone().unwrap_or_default();
        let undone = match rerender(p, previous) {
            Ok(back) => self.one(&back).await,
            Err(err) => {
                report.message = Some(format!("{failure} — rollback impossible: {err:#}"));
                return;
            }
        };
        // "Rolled back" only when the rollback itself became ready.
        report.message = Some(if undone.succeeded() {
            report.result = Outcome::RolledBack;
            format!(
                "{failure} — rolled back to revision {} ({}), which is ready again",
                previous.revision, previous.image
            )
        } else {
            format!(
                "{failure} — and the rollback to revision {} ({}) failed too: {}",
                previous.revision,
                previous.image,
                undone.message.unwrap_or_default()
            )
        });
    }

    /// Applies one cat and waits for its rollout.
    async fn one(&self, p: &Prepared) -> Report {
        let cat = &p.cat.name;
        let mut report = Report {
            cat: cat.clone(),
            tag: p.image.tag.clone(),
            digest: p.image.digest.clone(),
            result: Outcome::Failed,
            message: None,
            log: None,
            seconds: 0.0,
            pods: Vec::new(),
            warnings: p.warnings.clone(),
        };
        let deadline = Deadline::now() + self.options.timeout;
        let on_wait = |message: &str| self.reporter.note(cat, message);
        let deploying = format!(
            "{} {}",
            p.image.tag,
            p.image.digest.as_ref().map_or("-", |d| d.short())
        );
        let acquired = lock::acquire(
            self.cluster,
            cat,
            &self.holder,
            &deploying,
            deadline,
            p.configmap.clone(),
            &on_wait,
        )
        .await;
        let held = match acquired {
            Ok(held) => held,
            Err(err) => {
                report.message = Some(format!("{err:#}"));
                return report;
            }
        };
        let ran = self.apply_and_wait(p, &held, deadline, &mut report).await;
        let entry = ran.and_then(|ran| self.entry(p, ran));
        if let Err(err) = held.finish(entry).await {
            let before = report
                .message
                .take()
                .map_or(String::new(), |m| format!("{m}; "));
            report.message = Some(format!("{before}not recorded in the history: {err:#}"));
        }
        report
    }

    /// With the cat's lock held: the downgrade check again (another deploy may have finished
    /// while this one waited; not when the lock was `uncontended`, untaken since the gate read
    /// the history), the apply and the wait. What happened, when it is for the history.
    async fn apply_and_wait(
        &self,
        p: &Prepared,
        held: &lock::Held,
        deadline: Deadline,
        report: &mut Report,
    ) -> Option<Ran> {
        let cat = &p.cat.name;
        if !held.uncontended
            && let Err(err) = self.still_allowed(p, &held.history).await
        {
            report.result = Outcome::Refused;
            report.message = Some(format!("{err:#}"));
            return None;
        }
        self.reporter.step(cat, "applying");
        let applied =
            match workload::apply(self.cluster, &p.rendered, self.options.force, false).await {
                Ok(applied) => applied,
                Err(err) => {
                    report.message = Some(format!("{err:#}"));
                    return None;
                }
            };
        if p.keep_asleep {
            let mark = p.asleep.clone().unwrap_or_else(Asleep::now_by_me);
            report.result = Outcome::Asleep;
            report.message = Some(format!(
                "applied, kept asleep (asleep since {} by {}) — `catctl wake {cat}` or `catctl \
                 deploy --wake {cat}` wakes it",
                mark.since, mark.by
            ));
            return None;
        }
        if p.asleep.is_some() {
            // Woken by `deploy --wake`: the apply took spec.replicas over; the mark goes.
            if let Err(err) = sleep::set_replicas(
                self.cluster,
                p.rendered.kind,
                cat,
                p.cat.config.replicas,
                None,
            )
            .await
            {
                report.message = Some(format!("{err:#}"));
                return None;
            }
        }
        let target = Target {
            cat: cat.clone(),
            kind: p.rendered.kind,
            generation: applied.generation,
            image: p.image.clone(),
            restarted_at: p.restarted_at.clone(),
        };
        let on_progress = |message: &str| self.reporter.step(cat, message);
        // What is left of --timeout after waiting for the lock, in whole seconds as given.
        let left = deadline.saturating_duration_since(Deadline::now());
        let left = Duration::from_secs(left.as_secs_f64().ceil() as u64);
        match self.observer.wait(&target, left, &on_progress).await {
            Ok(pods) => {
                report.pods = pods;
                report.result = Outcome::Deployed;
                Some(Ran::Ran)
            }
            Err(failure) => {
                report.log = observe::last_log_lines(self.cluster, &failure, LOG_LINES).await;
                report.message = Some(describe(&failure));
                Some(Ran::Failed)
            }
        }
    }

    /// The cat's history now; an error when another deploy of the cat happened since the gate
    /// (while this one waited for the lock), or when this one has become a downgrade.
    async fn still_allowed(&self, p: &Prepared, history: &[Revision]) -> anyhow::Result<()> {
        let cat = &p.cat.name;
        let newest = |h: &[Revision]| h.last().map(|r| r.revision);
        if newest(history) != newest(&p.history)
            && let Some(other) = history.last()
            && Some(&other.digest) != p.image.digest.as_ref()
        {
            bail!(
                "while this deploy waited, {} deployed {cat} {} ({}, revision {}, {}) — nothing \
                 was changed by this one; check `catctl status {cat}` and deploy again if {} is \
                 still what should run",
                other.by,
                other.tag,
                other.digest.short(),
                other.revision,
                if other.ran() { "it runs" } else { "it failed" },
                p.image.tag
            );
        }
        if p.guard_downgrade
            && history != p.history.as_slice()
            && let Some(digest) = &p.image.digest
        {
            let running = workload::running_digests(self.cluster, cat).await?;
            if let Some(refusal) = downgrade(cat, history, &running, &p.image, digest) {
                bail!("{refusal}");
            }
        }
        Ok(())
    }

    /// The history entry of the deploy of `p`: what ran, or that it failed.
    fn entry(&self, p: &Prepared, ran: Ran) -> Option<Revision> {
        let digest = p.image.digest.clone()?;
        Some(Revision {
            revision: 0,
            result: ran,
            tag: p.image.tag.clone(),
            digest,
            image: ImageRef {
                digest: None,
                ..p.image.clone()
            },
            source_digest: p.source_digest.clone(),
            git_commit: p.git_commit.clone(),
            git_dirty: p.git_dirty,
            manifest_checksum: manifest_checksum(&p.rendered.object),
            workload: p.rendered.object.clone(),
            deployed_at: now_to_the_second(),
            by: history::who(),
            cause: p.cause.clone(),
        })
    }
}

/// `previous`'s whole workload in place of `prepared`'s, for `--atomic`.
fn rerender(prepared: &Prepared, previous: &Revision) -> anyhow::Result<Prepared> {
    let kind = prepared.rendered.kind;
    let mut object = previous.workload.clone();
    if object.get("kind").and_then(|k| k.as_str()) != Some(kind.as_str()) {
        bail!(
            "revision {} ran as another kind of workload",
            previous.revision
        );
    }
    let image = previous.image.pinned(previous.digest.clone());
    let cause = format!(
        "catctl deploy --atomic: back to revision {} {image}",
        previous.revision
    );
    object["metadata"]["annotations"][CHANGE_CAUSE_ANNOTATION] = cause.clone().into();
    Ok(Prepared {
        image,
        rendered: Rendered {
            yaml: serde_saphyr::to_string(&object)?,
            object,
            ..prepared.rendered.clone()
        },
        cause,
        source_digest: previous.source_digest.clone(),
        guard_downgrade: false,
        // The failed deploy is in the history now: the lock is taken on the ConfigMap as it is.
        configmap: None,
        ..prepared.clone()
    })
}

/// The current time in RFC 3339, to the second.
fn now_to_the_second() -> String {
    let now = jiff::Timestamp::now();
    now.round(jiff::Unit::Second).unwrap_or(now).to_string()
}

fn describe(failure: &Failure) -> String {
    let place = match (&failure.pod, &failure.container) {
        (Some(pod), Some(container)) => format!(" (pod {pod}, container {container})"),
        (Some(pod), None) => format!(" (pod {pod})"),
        _ => String::new(),
    };
    let message = if failure.message.is_empty() {
        String::new()
    } else {
        format!(": {}", failure.message)
    };
    format!("{}{place}{message}", failure.reason)
}
