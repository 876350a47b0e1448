//! `sleep` and `wake`: a cat's workload scaled to 0 and back to its declared replicas under
//! catctl's own sleep field manager, each waited for through the same watches as a deploy —
//! sleep until the pods are gone, wake until the pods are Ready and run the pinned image.

use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use kube::api::DynamicObject;

use crate::farm::Cat;
use crate::image::ImageRef;
use crate::k8s::Cluster;
use crate::k8s::observe::{self, Failure, Observer, Target};
use crate::k8s::sleep::{self, Asleep};
use crate::k8s::workload;
use crate::manifest::{Kind, RESTARTED_AT_ANNOTATION};
use crate::ops::{CatResult, each_cat};
use crate::progress::Reporter;

/// What `sleep` or `wake` did to one cat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Scaled to 0; its pods are gone.
    FellAsleep,
    /// It was asleep already: nothing written.
    AlreadyAsleep,
    /// Scaled back up; its pods are Ready.
    WokeUp,
    /// It was awake already: nothing written.
    AlreadyAwake,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::FellAsleep => "asleep",
            Change::AlreadyAsleep => "already asleep",
            Change::WokeUp => "awake",
            Change::AlreadyAwake => "already awake",
        }
    }

    /// The machine-readable word: `already_asleep`.
    pub fn word(self) -> &'static str {
        match self {
            Change::FellAsleep => "asleep",
            Change::AlreadyAsleep => "already_asleep",
            Change::WokeUp => "awake",
            Change::AlreadyAwake => "already_awake",
        }
    }
}

/// One cat's outcome.
#[derive(Debug, Clone)]
pub struct Slept {
    pub change: Change,
    /// Who put it to sleep and when (for `sleep`).
    pub asleep: Option<Asleep>,
    /// Its Ready pods (for `wake`).
    pub pods: Vec<String>,
}

impl Slept {
    /// The word of its progress line: `Asleep`, `Sleeping` (it was already), `Woke up`, `Awake`.
    fn verb(&self) -> &'static str {
        match self.change {
            Change::FellAsleep => "Asleep",
            Change::AlreadyAsleep => "Sleeping",
            Change::WokeUp => "Woke up",
            Change::AlreadyAwake => "Awake",
        }
    }

    /// Since when and by whom it sleeps, or its Ready pods.
    fn detail(&self) -> String {
        match &self.asleep {
            Some(a) => format!("since {} (by {})", a.since, a.by),
            None => self.pods.join(", "),
        }
    }
}

/// Which way `sleep` and `wake` go.
#[derive(Debug, Clone, Copy)]
pub enum Direction {
    /// Each cat scaled to 0, waited for until its pods are gone; a sleeping cat is left as it
    /// is: no write.
    Sleep,
    /// Each cat scaled to its declared replicas, waited for until its pods are Ready and run the
    /// image its workload pins; an awake cat is left as it is: no write.
    Wake,
}

/// Each cat one way, waited for through one set of watches, `concurrency` at once.
pub async fn change<'a>(
    direction: Direction,
    cluster: &Cluster,
    cats: &'a [Cat],
    concurrency: usize,
    timeout: Duration,
    reporter: &dyn Reporter,
) -> Result<Vec<CatResult<'a, Slept>>> {
    let observer = Observer::start(cluster, true).await?;
    let observer = &observer;
    Ok(each_cat(cats, concurrency, reporter, |cat| async move {
        let done = match direction {
            Direction::Sleep => put_to_sleep(cluster, observer, cat, timeout, reporter).await?,
            Direction::Wake => wake_up(cluster, observer, cat, timeout, reporter).await?,
        };
        reporter.done(&cat.name, done.verb(), &done.detail());
        Ok(done)
    })
    .await)
}

async fn put_to_sleep(
    cluster: &Cluster,
    observer: &Observer,
    cat: &Cat,
    timeout: Duration,
    reporter: &dyn Reporter,
) -> Result<Slept> {
    let kind = Kind::for_cat(cat);
    let live = deployed(cluster, kind, cat).await?;
    let mark = sleep::asleep(&live);
    let (change, asleep) = match mark {
        Some(mark) if sleep::replicas(&live) == Some(0) => (Change::AlreadyAsleep, mark),
        _ => {
            reporter.step(&cat.name, "scaling to 0");
            let mark = Asleep::now_by_me();
            sleep::set_replicas(cluster, kind, &cat.name, 0, Some(&mark)).await?;
            (Change::FellAsleep, mark)
        }
    };
    let progress = |message: &str| reporter.step(&cat.name, message);
    observer
        .wait_gone(&cat.name, timeout, &progress)
        .await
        .map_err(|failure| failed(cat, "to fall asleep", &failure))?;
    Ok(Slept {
        change,
        asleep: Some(asleep),
        pods: Vec::new(),
    })
}

async fn wake_up(
    cluster: &Cluster,
    observer: &Observer,
    cat: &Cat,
    timeout: Duration,
    reporter: &dyn Reporter,
) -> Result<Slept> {
    crate::ops::deploy::check_singleton(cat)?;
    let kind = Kind::for_cat(cat);
    let live = deployed(cluster, kind, cat).await?;
    let declared = cat.config.replicas;
    let awake =
        sleep::asleep(&live).is_none() && sleep::replicas(&live) == Some(i64::from(declared));
    let (change, object) = if awake {
        (Change::AlreadyAwake, live)
    } else {
        reporter.step(&cat.name, &format!("scaling to {declared}"));
        let object = sleep::set_replicas(cluster, kind, &cat.name, declared, None).await?;
        (Change::WokeUp, object)
    };
    let target = target(cat, kind, &object)?;
    let progress = |message: &str| reporter.step(&cat.name, message);
    let pods = match observer.wait(&target, timeout, &progress).await {
        Ok(pods) => pods,
        Err(failure) => {
            let mut err = failed(cat, "to wake up", &failure);
            if let Some(log) =
                observe::last_log_lines(cluster, &failure, crate::ops::deploy::LOG_LINES).await
            {
                err = err.context(format!("last lines of its log:\n{log}"));
            }
            return Err(err);
        }
    };
    Ok(Slept {
        change,
        asleep: None,
        pods,
    })
}

/// The cat's workload, which must exist.
async fn deployed(cluster: &Cluster, kind: Kind, cat: &Cat) -> Result<DynamicObject> {
    match workload::get(cluster, kind, &cat.name).await? {
        Some(object) => Ok(object),
        None => bail!(
            "{} is not deployed: no {} {} in namespace {} — run `catctl deploy {}`",
            cat.name,
            kind.as_str(),
            cat.name,
            cluster.namespace,
            cat.name
        ),
    }
}

/// What a woken cat's rollout waits for: the workload's own pod template.
fn target(cat: &Cat, kind: Kind, object: &DynamicObject) -> Result<Target> {
    let template = &object.data["spec"]["template"];
    let image = template
        .pointer("/spec/containers/0/image")
        .and_then(|i| i.as_str())
        .with_context(|| format!("{} {} has no container image", kind.as_str(), cat.name))?;
    Ok(Target {
        cat: cat.name.clone(),
        kind,
        generation: object.metadata.generation.unwrap_or(0),
        image: ImageRef::parse(image)?,
        restarted_at: template
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(RESTARTED_AT_ANNOTATION))
            .and_then(|v| v.as_str())
            .map(str::to_string),
    })
}

fn failed(cat: &Cat, what: &str, failure: &Failure) -> anyhow::Error {
    anyhow::anyhow!("{} did not manage {what}: {failure}", cat.name)
}
