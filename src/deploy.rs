//! Deploying cats: the gate (every check before any write), then server-side apply and a
//! watched rollout per cat, concurrently. `deploy`, `redeploy` and `rollback` all come here.

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use futures::StreamExt;
use kube::Client;
use serde::Serialize;

use crate::cat_runtime::secret_name;
use crate::docker::Daemon;
use crate::farm::{Cat, Farm};
use crate::k8s::observe::{self, Failure, Observer, Target};
use crate::k8s::secrets as cluster_secrets;
use crate::k8s::workload::{self, Revision};
use crate::manifest::{self, Kind, PinnedImage, RESTARTED_AT_ANNOTATION, RenderInput, Rendered};
use crate::registry::{ImageRef, Registry};
use crate::verify;

/// How many log lines of a failing container are shown.
pub const LOG_LINES: i64 = 20;

#[derive(Debug, Clone)]
pub struct Options {
    /// Let through images whose cat sources changed since they were built.
    pub allow_stale: bool,
    /// Take over fields owned by other field managers.
    pub force: bool,
    pub timeout: Duration,
    /// Restart the pods even when nothing else changed (redeploy).
    pub restart: bool,
    /// Re-apply the previous revision of a cat whose rollout failed.
    pub atomic: bool,
}

impl Options {
    /// For commands that only look (render, diff): nothing is waited for or restarted.
    pub fn looking(allow_stale: bool, force: bool) -> Options {
        Options {
            allow_stale,
            force,
            timeout: Duration::ZERO,
            restart: false,
            atomic: false,
        }
    }
}

/// Which image a cat is to run: the one its cat.toml declares, or one from its history.
#[derive(Debug, Clone)]
pub enum ImageChoice {
    Declared,
    Revision(Revision),
}

/// The outcome of one cat.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub cat: String,
    pub tag: String,
    pub digest: Option<String>,
    pub result: Outcome,
    /// Why it was refused or failed, or what was done.
    pub message: Option<String>,
    /// The last lines of the failing container's log.
    pub log: Option<String>,
    pub seconds: f64,
    pub pods: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Deployed,
    Refused,
    Failed,
    RolledBack,
}

impl Report {
    pub fn succeeded(&self) -> bool {
        self.result == Outcome::Deployed
    }
}

/// A cat that passed the gate, ready to apply.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub cat: Cat,
    pub image: PinnedImage,
    pub rendered: Rendered,
    pub restarted_at: Option<String>,
    pub history: Vec<Revision>,
    pub cause: String,
}

/// What the gate needs, shared by all cats of a command.
pub struct Gate<'a> {
    pub farm: &'a Farm,
    pub client: &'a Client,
    pub registry: &'a Registry,
    /// The local daemon, when one answers (its image check is skipped otherwise).
    pub daemon: Option<&'a Daemon>,
    pub options: &'a Options,
}

impl Gate<'_> {
    /// Every check for `cat`, reading only: Err is the refusal to show.
    pub async fn check(&self, cat: &Cat, choice: &ImageChoice) -> Result<Prepared, String> {
        self.check_inner(cat, choice)
            .await
            .map_err(|err| format!("{err:#}"))
    }

    async fn check_inner(&self, cat: &Cat, choice: &ImageChoice) -> Result<Prepared> {
        workload::check_singleton(cat)?;
        let namespace = &self.farm.settings.namespace;
        let (image, cause) = match choice {
            ImageChoice::Declared => {
                let verification =
                    verify::verify_cat(self.farm, cat, self.registry, self.daemon).await?;
                let blocking = verification.blocking(self.options.allow_stale);
                if !blocking.is_empty() {
                    let problems: Vec<String> = blocking.iter().map(|f| f.to_string()).collect();
                    anyhow::bail!("{}", problems.join("; "));
                }
                let digest = verification
                    .registry_digest
                    .context("the registry gave no digest")?;
                let image = pinned(&verification.image, &digest)?;
                let cause = format!("catctl deploy {}", image.reference());
                (image, cause)
            }
            ImageChoice::Revision(revision) => {
                let image = pinned(&revision.image, &revision.digest)?;
                let by_digest = ImageRef {
                    tag: image.digest.clone(),
                    ..ImageRef::parse(&revision.image)?
                };
                let creds = verify::registry_credentials(&by_digest).await?;
                if self
                    .registry
                    .manifest_digest(&by_digest, creds.as_ref())
                    .await?
                    .is_none()
                {
                    anyhow::bail!(
                        "{} is no longer in the registry — it cannot be rolled back to",
                        image.reference()
                    );
                }
                let cause = format!(
                    "catctl rollback to revision {} {}",
                    revision.revision,
                    image.reference()
                );
                (image, cause)
            }
        };
        let secret = secret_name(&cat.name);
        let Some(secret) = cluster_secrets::get(self.client, namespace, &secret).await? else {
            anyhow::bail!(
                "secret {secret} not found in namespace {namespace} — run `catctl secret sync`"
            );
        };
        let kind = Kind::for_cat(cat);
        let other = match kind {
            Kind::StatefulSet => Kind::Deployment,
            Kind::Deployment => Kind::StatefulSet,
        };
        if workload::get(self.client, namespace, other, &cat.name)
            .await?
            .is_some()
        {
            anyhow::bail!(
                "a {} named {} already runs in namespace {namespace}; a {} beside it would run a \
                 second copy — remove it first (`kubectl delete {} {} -n {namespace}`)",
                other.as_str(),
                cat.name,
                kind.as_str(),
                other.as_str().to_lowercase(),
                cat.name
            );
        }
        let live = workload::get(self.client, namespace, kind, &cat.name).await?;
        let history = live.as_ref().map(workload::history).unwrap_or_default();
        let restarted_at = if self.options.restart {
            Some(jiff::Timestamp::now().to_string())
        } else {
            live.as_ref().and_then(live_restarted_at)
        };
        let input = RenderInput {
            image: image.clone(),
            secret_checksum: secret.checksum(),
            restarted_at: restarted_at.clone(),
            change_cause: cause.clone(),
        };
        let rendered = manifest::render(self.farm, cat, &input)?;
        Ok(Prepared {
            cat: cat.clone(),
            image,
            rendered,
            restarted_at,
            history,
            cause,
        })
    }
}

fn live_restarted_at(object: &kube::api::DynamicObject) -> Option<String> {
    object
        .data
        .pointer("/spec/template/metadata/annotations")
        .and_then(|a| a.get(RESTARTED_AT_ANNOTATION))
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

/// `repo:tag` + digest → a pinned image.
fn pinned(image: &str, digest: &str) -> Result<PinnedImage> {
    let reference = ImageRef::parse(image)?;
    Ok(PinnedImage {
        repository: reference.repository(),
        tag: reference.tag,
        digest: digest.to_string(),
    })
}

/// Applies each prepared cat and waits for its rollout, concurrently (at most `concurrency` at
/// once); `progress(cat, message)` hears each state change.
pub async fn roll_out(
    client: &Client,
    namespace: &str,
    prepared: Vec<Prepared>,
    options: &Options,
    concurrency: usize,
    progress: &(dyn Fn(&str, &str) + Sync),
) -> Result<Vec<Report>> {
    if prepared.is_empty() {
        return Ok(Vec::new());
    }
    let observer = Observer::start(client, namespace).await?;
    let rollout = Rollout {
        client,
        namespace,
        observer: &observer,
        options,
        progress,
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
        report
    }))
    .buffer_unordered(concurrency.max(1))
    .collect::<Vec<Report>>()
    .await;
    Ok(reports)
}

/// What every cat's rollout of one command shares.
struct Rollout<'a> {
    client: &'a Client,
    namespace: &'a str,
    observer: &'a Observer,
    options: &'a Options,
    progress: &'a (dyn Fn(&str, &str) + Sync),
}

impl Rollout<'_> {
    /// `--atomic`: re-applies `previous` after a failed rollout and says so in `report`.
    async fn undo(&self, p: &Prepared, previous: &Revision, report: &mut Report) {
        (self.progress)(
            &p.cat.name,
            &format!("rolling back to revision {}", previous.revision),
        );
        let failure = report.message.clone().unwrap_or_default();
        report.message = Some(match rerender(p, previous) {
            Ok(back) => {
                let undone = self.one(&back).await;
                report.result = Outcome::RolledBack;
                let state = if undone.succeeded() {
                    "ready".to_string()
                } else {
                    undone.message.unwrap_or_default()
                };
                format!(
                    "{failure} — rolled back to revision {} ({}): {state}",
                    previous.revision, previous.image
                )
            }
            Err(err) => format!("{failure} — rollback impossible: {err:#}"),
        });
    }

    /// Applies one cat and waits for its rollout.
    async fn one(&self, p: &Prepared) -> Report {
        let (client, namespace, options, progress) =
            (self.client, self.namespace, self.options, self.progress);
        let cat = &p.cat.name;
        let mut report = Report {
            cat: cat.clone(),
            tag: p.image.tag.clone(),
            digest: Some(p.image.digest.clone()),
            result: Outcome::Failed,
            message: None,
            log: None,
            seconds: 0.0,
            pods: Vec::new(),
        };
        progress(cat, "applying");
        let applied =
            match workload::apply(client, namespace, &p.rendered, options.force, false).await {
                Ok(applied) => applied,
                Err(err) => {
                    report.message = Some(format!("{err:#}"));
                    return report;
                }
            };
        let target = Target {
            cat: cat.clone(),
            kind: p.rendered.kind,
            generation: applied.generation,
            image: p.image.reference(),
            digest: p.image.digest.clone(),
            restarted_at: p.restarted_at.clone(),
        };
        let on_progress = |message: &str| progress(cat, message);
        match self
            .observer
            .wait(&target, options.timeout, &on_progress)
            .await
        {
            Ok(pods) => {
                report.pods = pods;
                let entry = Revision {
                    revision: 0,
                    tag: p.image.tag.clone(),
                    digest: p.image.digest.clone(),
                    image: format!("{}:{}", p.image.repository, p.image.tag),
                    deployed_at: now_to_the_second(),
                    cause: p.cause.clone(),
                };
                let history = workload::with_entry(p.history.clone(), entry);
                if history != p.history
                    && let Err(err) =
                        workload::record_history(client, namespace, p.rendered.kind, cat, &history)
                            .await
                {
                    report.message = Some(format!("deployed, but {err:#}"));
                }
                report.result = Outcome::Deployed;
            }
            Err(failure) => {
                report.log = observe::last_log_lines(client, namespace, &failure, LOG_LINES).await;
                report.message = Some(describe(&failure));
            }
        }
        report
    }
}

fn rerender(prepared: &Prepared, previous: &Revision) -> Result<Prepared> {
    let image = pinned(&previous.image, &previous.digest)?;
    let mut object = prepared.rendered.object.clone();
    let reference = image.reference();
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
    Ok(Prepared {
        image,
        rendered: Rendered {
            object,
            ..prepared.rendered.clone()
        },
        cause,
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
