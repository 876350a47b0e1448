//! Applying prepared cats and waiting for their rollouts, concurrently, with one set of watches
//! for all of them; `--atomic` re-applies the previous revision of a cat that failed.

use std::time::Instant;

use futures::StreamExt as _;

use crate::image::ImageRef;
use crate::k8s::Cluster;
use crate::k8s::observe::{self, Failure, Observer, Target};
use crate::k8s::sleep::{self, Asleep};
use crate::k8s::workload::{self, Revision};
use crate::manifest::{self, Rendered};
use crate::ops::deploy::{DeployOptions, Outcome, Prepared, Report};
use crate::progress::Reporter;

/// How many log lines of a failing container are shown.
pub const LOG_LINES: i64 = 20;

/// Applies each prepared cat and waits for its rollout, at most `concurrency` at once.
pub async fn roll_out(
    cluster: &Cluster,
    prepared: Vec<Prepared>,
    options: &DeployOptions,
    concurrency: usize,
    reporter: &dyn Reporter,
) -> anyhow::Result<Vec<Report>> {
    if prepared.is_empty() {
        return Ok(Vec::new());
    }
    let observer = Observer::start(cluster).await?;
    let rollout = Rollout {
        cluster,
        observer: &observer,
        options,
        reporter,
    };
    let rollout = &rollout;
    let reports = futures::stream::iter(prepared.into_iter().map(|p| async move {
        let started = Instant::now();
        let mut report = rollout.one(&p).await;
        if report.result == Outcome::Failed
            && options.atomic
            && let Some(previous) = p.history.last()
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
    Ok(reports)
}

/// What every cat's rollout of one command shares.
struct Rollout<'a> {
    cluster: &'a Cluster,
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
        let back = rerender(p, previous);
        let undone = self.one(&back).await;
        report.result = Outcome::RolledBack;
        let state = if undone.succeeded() {
            "ready".to_string()
        } else {
            undone.message.unwrap_or_default()
        };
        report.message = Some(format!(
            "{failure} — rolled back to revision {} ({}): {state}",
            previous.revision, previous.image
        ));
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
        };
        self.reporter.step(cat, "applying");
        let applied =
            match workload::apply(self.cluster, &p.rendered, self.options.force, false).await {
                Ok(applied) => applied,
                Err(err) => {
                    report.message = Some(format!("{err:#}"));
                    return report;
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
            return report;
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
                return report;
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
        match self
            .observer
            .wait(&target, self.options.timeout, &on_progress)
            .await
        {
            Ok(pods) => {
                report.pods = pods;
                if let Err(err) = self.record(p).await {
                    report.message = Some(format!("deployed, but {err:#}"));
                }
                report.result = Outcome::Deployed;
            }
            Err(failure) => {
                report.log = observe::last_log_lines(self.cluster, &failure, LOG_LINES).await;
                report.message = Some(describe(&failure));
            }
        }
        report
    }

    /// Adds the deploy of `p` to the cat's history on its workload.
    async fn record(&self, p: &Prepared) -> anyhow::Result<()> {
        let Some(digest) = p.image.digest.clone() else {
            return Ok(());
        };
        let entry = Revision {
            revision: 0,
            tag: p.image.tag.clone(),
            digest,
            image: ImageRef {
                digest: None,
                ..p.image.clone()
            },
            deployed_at: now_to_the_second(),
            cause: p.cause.clone(),
        };
        let history = workload::with_entry(p.history.clone(), entry);
        if history == p.history {
            return Ok(());
        }
        workload::record_history(self.cluster, p.rendered.kind, &p.cat.name, &history).await
    }
}

/// `prepared` with its image replaced by `previous`'s, for `--atomic`.
fn rerender(prepared: &Prepared, previous: &Revision) -> Prepared {
    let image = previous.image.pinned(previous.digest.clone());
    let mut object = prepared.rendered.object.clone();
    let reference = image.to_string();
    if let Some(containers) = object
        .pointer_mut("/spec/template/spec/containers")
        .and_then(|c| c.as_array_mut())
    {
        for container in containers {
            container["image"] = serde_json::Value::String(reference.clone());
        }
    }
    let cause = format!(
        "catctl deploy --atomic: back to revision {} {reference}",
        previous.revision
    );
    object["metadata"]["annotations"][manifest::CHANGE_CAUSE_ANNOTATION] =
        serde_json::Value::String(cause.clone());
    Prepared {
        image,
        rendered: Rendered {
            object,
            ..prepared.rendered.clone()
        },
        cause,
        ..prepared.clone()
    }
}

/// The current time in RFC 3339, to the second.
fn now_to_the_second() -> String {
    let now = jiff::Timestamp::now();
    now.round(jiff::Unit::Second).unwrap_or(now).to_string()
}

fn describe(failure: &Failure) -> String {
    failure.to_string()
}
