//! The logs of cats' pods through the API server, as [`LogEvent`]s.
//!
//! Once: every pod of every cat, pod after pod. Followed: one watch on the pods of all the cats
//! (`app in (…)`) — never polling — starts a follower per container of every pod that runs, now
//! or later (a restart, a redeploy, a rollback), and each follower survives its container's
//! restarts. Lines are always requested with timestamps so that a dropped stream resumes where
//! it stopped; the timestamps are removed again unless asked for.

use crate::k8s::Cluster;
use std::collections::{HashMap, HashSet, VecDeque};
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use futures::{AsyncBufRead, AsyncBufReadExt, StreamExt};
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use kube::Api;
use kube::api::{ListParams, LogParams};
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::k8s::workload;
use crate::k8s::{MANAGED_BY, MANAGED_BY_LABEL};
use crate::logs::{LogEvent, LogOptions, Source, Stamped, pod_tag, take_line};
use crate::manifest::Kind;

/// The label every pod of a cat carries with the cat's name.
pub use crate::labels::APP as APP_LABEL;

/// How long a follower whose stream ended waits for news of its pod before it reconnects to a
/// container that still runs.
const RECONNECT_AFTER: Duration = Duration::from_secs(5);

/// A cat whose logs are wanted, and the kind of workload it runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatTarget {
    pub name: String,
    pub kind: Kind,
}

/// What a run found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Cats that had at least one pod.
    pub cats_with_pods: usize,
}

/// The label selector of the cats' pods.
pub fn selector(cats: &[CatTarget]) -> String {
    let names: Vec<&str> = cats.iter().map(|c| c.name.as_str()).collect();
    format!(
        "{APP_LABEL} in ({}),{MANAGED_BY_LABEL}={MANAGED_BY}",
        names.join(",")
    )
}

/// Sends the logs of `cats` to `events`: once, or followed until `events` is closed.
pub async fn stream(
    cluster: &Cluster,
    cats: &[CatTarget],
    options: &LogOptions,
    events: mpsc::Sender<LogEvent>,
) -> Result<Summary> {
    let (client, namespace) = (&cluster.client, cluster.namespace.as_str());
    if cats.is_empty() {
        return Ok(Summary::default());
    }
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    if options.follow {
        Following::new(cluster, api, cats, options, events)?
            .run()
            .await
    } else {
        once(cluster, api, cats, options, events).await
    }
}

fn cat_of(pod: &Pod) -> Option<&str> {
    pod.metadata
        .labels
        .as_ref()?
        .get(APP_LABEL)
        .map(String::as_str)
}

fn of_replica_set(pod: &Pod) -> bool {
    pod.metadata
        .owner_references
        .iter()
        .flatten()
        .any(|owner| owner.kind == "ReplicaSet")
}

/// Each container of `pod` with the tag its lines carry.
fn sources(cat: &str, pod: &Pod) -> Vec<(String, Source)> {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let containers: Vec<String> = pod
        .spec
        .iter()
        .flat_map(|spec| spec.containers.iter().map(|c| c.name.clone()))
        .collect();
    let several = containers.len() > 1;
    containers
        .into_iter()
        .map(|container| {
            let tag = pod_tag(
                cat,
                &name,
                of_replica_set(pod),
                several.then_some(container.as_str()),
            );
            (container, Source::new(cat, &tag))
        })
        .collect()
}

/// Why a cat has no pods, in plain words: asleep (scaled to 0), not deployed, or starting.
pub async fn absence(cluster: &Cluster, cat: &CatTarget) -> String {
    let namespace = cluster.namespace.as_str();
    let name = &cat.name;
    match workload::api(cluster, cat.kind).get_opt(name).await {
        Ok(Some(object)) if object.data["spec"]["replicas"].as_i64() == Some(0) => {
            let kind = cat.kind.as_str();
            match crate::k8s::sleep::asleep(&object) {
                Some(mark) => format!(
                    "{name} is asleep since {} (by {}): its {kind} has 0 replicas — \
                     `catctl wake {name}` wakes it",
                    mark.since, mark.by
                ),
                None => format!("{name} is asleep (its {kind} has 0 replicas)"),
            }
        }
        Ok(Some(_)) => format!("{name} has no pods yet"),
        Ok(None) => format!("{name} is not deployed (namespace {namespace})"),
        Err(err) => format!("{name} has no pods ({err})"),
    }
}

/// What the API server said when a log cannot be read, as a one-line note about `tag`.
fn log_error_note(tag: &str, previous: bool, err: &kube::Error) -> String {
    match err {
        kube::Error::Api(status) if status.code == 400 && previous => {
            format!("{tag}: no previous container — it has not restarted")
        }
        kube::Error::Api(status) if !status.message.is_empty() => {
            format!("{tag}: {}", status.message)
        }
        err => format!("{tag}: cannot read the log: {err}"),
    }
}

/// Every pod's log once, cat after cat and pod after pod; a few requests are opened ahead.
async fn once(
    cluster: &Cluster,
    api: Api<Pod>,
    cats: &[CatTarget],
    options: &LogOptions,
    events: mpsc::Sender<LogEvent>,
) -> Result<Summary> {
    let namespace = cluster.namespace.as_str();
    let pods = api
        .list(&ListParams::default().labels(&selector(cats)))
        .await
        .with_context(|| format!("cannot list the cats' pods in namespace {namespace}"))?;
    let mut summary = Summary::default();
    // In the order printed: each cat's pods' containers, or why the cat has none.
    let mut jobs: Vec<Result<(String, String, Source), &CatTarget>> = Vec::new();
    for cat in cats {
        let mut of_cat: Vec<&Pod> = pods
            .items
            .iter()
            .filter(|pod| cat_of(pod) == Some(cat.name.as_str()))
            .collect();
        if of_cat.is_empty() {
            jobs.push(Err(cat));
            continue;
        }
        summary.cats_with_pods += 1;
        of_cat.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        for pod in of_cat {
            let pod_name = pod.metadata.name.clone().unwrap_or_default();
            for (container, source) in sources(&cat.name, pod) {
                jobs.push(Ok((pod_name.clone(), container, source)));
            }
        }
    }
    let params = |container: String| LogParams {
        container: Some(container),
        previous: options.previous,
        timestamps: options.timestamps,
        since_seconds: options.since.map(since_seconds),
        tail_lines: options.tail.map(|n| i64::try_from(n).unwrap_or(i64::MAX)),
        ..LogParams::default()
    };
    let opened = futures::stream::iter(jobs.into_iter().map(|job| {
        let api = api.clone();
        let job = job.map(|(pod, container, source)| (pod, params(container), source));
        async move {
            match job {
                Ok((pod, params, source)) => Ok((source, api.log_stream(&pod, &params).await)),
                Err(cat) => Err(absence(cluster, cat).await),
            }
        }
    }))
    .buffered(4);
    let mut opened = pin!(opened);
    while let Some(job) = opened.next().await {
        let sent = match job {
            Ok((source, Ok(reader))) => copy_plain(reader, &source, &events).await.is_ok(),
            Ok((source, Err(err))) => {
                let text = log_error_note(&source.tag, options.previous, &err);
                events.send(LogEvent::Note { text }).await.is_ok()
            }
            Err(text) => events.send(LogEvent::Note { text }).await.is_ok(),
        };
        if !sent {
            break;
        }
    }
    Ok(summary)
}

fn since_seconds(since: Duration) -> i64 {
    i64::try_from(since.as_secs().max(1)).unwrap_or(i64::MAX)
}

/// The receiver is gone: stop.
struct Closed;

/// Sends each line of `reader`, which the server stamped, as a [`LogEvent::Line`] (see
/// [`Stamped`]). Returns the stamp of the last line sent.
async fn copy_stamped(
    reader: impl AsyncBufRead,
    source: &Source,
    mut stamped: Stamped,
    events: &mpsc::Sender<LogEvent>,
) -> Result<Option<jiff::Timestamp>, Closed> {
    let mut reader = pin!(reader);
    let mut bytes = Vec::new();
    loop {
        bytes.clear();
        match reader.read_until(b'\n', &mut bytes).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if bytes.last() == Some(&b'\n') {
            bytes.pop();
        }
        if let Some(text) = stamped.line(take_line(&mut bytes)) {
            let event = LogEvent::Line {
                source: source.clone(),
                text,
            };
            events.send(event).await.map_err(|_| Closed)?;
        }
    }
    Ok(stamped.last())
}

/// Sends each line of `reader` as it is.
async fn copy_plain(
    reader: impl AsyncBufRead,
    source: &Source,
    events: &mpsc::Sender<LogEvent>,
) -> Result<(), Closed> {
    let mut reader = pin!(reader);
    let mut bytes = Vec::new();
    loop {
        bytes.clear();
        match reader.read_until(b'\n', &mut bytes).await {
            Ok(0) | Err(_) => return Ok(()),
            Ok(_) => {}
        }
        if bytes.last() == Some(&b'\n') {
            bytes.pop();
        }
        let event = LogEvent::Line {
            source: source.clone(),
            text: take_line(&mut bytes),
        };
        events.send(event).await.map_err(|_| Closed)?;
    }
}

/// A pod being watched: its cat and tag, and its latest state for its followers (`None` once
/// it is gone).
struct Watched {
    cat: String,
    tag: String,
    state: watch::Sender<Option<Arc<Pod>>>,
    followed: bool,
}

/// The state of `catctl logs -f`: the watched pods and the followers of their containers.
struct Following<'a> {
    cluster: &'a Cluster,
    /// The unbounded stream client: a followed log may be silent for hours.
    streams: kube::Client,
    api: Api<Pod>,
    cats: &'a [CatTarget],
    options: &'a LogOptions,
    events: mpsc::Sender<LogEvent>,
    pods: HashMap<String, Watched>,
    /// Tags of each cat's pods that went away, oldest first, for the next "replaced" marker.
    departed: HashMap<String, VecDeque<String>>,
    /// Whether the first list of pods is complete: pods seen later are new.
    listed: bool,
    followers: JoinSet<()>,
}

impl<'a> Following<'a> {
    fn new(
        cluster: &'a Cluster,
        api: Api<Pod>,
        cats: &'a [CatTarget],
        options: &'a LogOptions,
        events: mpsc::Sender<LogEvent>,
    ) -> Result<Self> {
        Ok(Following {
            streams: cluster.streams()?,
            cluster,
            api,
            cats,
            options,
            events,
            pods: HashMap::new(),
            departed: HashMap::new(),
            listed: false,
            followers: JoinSet::new(),
        })
    }

    /// Follows until the receiver of the events is gone. Dropping this stops every follower.
    async fn run(mut self) -> Result<Summary> {
        let config = watcher::Config::default()
            .labels(&selector(self.cats))
            .timeout(crate::k8s::WATCH_TIMEOUT_SECS);
        let mut pods = pin!(watcher(self.api.clone(), config).default_backoff());
        let mut round: HashSet<String> = HashSet::new();
        let mut last_error = String::new();
        loop {
            let events = self.events.clone();
            let event = tokio::select! {
                event = pods.next() => event,
                () = events.closed() => return Ok(self.summary()),
                Some(_) = self.followers.join_next(), if !self.followers.is_empty() => continue,
            };
            match event {
                None => bail!("the watch on the cats' pods ended"),
                Some(Err(err)) if !self.listed => {
                    return Err(err).with_context(|| {
                        format!(
                            "cannot watch the cats' pods in namespace {}",
                            self.cluster.namespace
                        )
                    });
                }
                Some(Err(err)) => {
                    let text = format!("the watch on the pods failed, retrying: {err}");
                    if text != last_error {
                        last_error.clone_from(&text);
                        self.note(text).await;
                    }
                }
                Some(Ok(watcher::Event::Init)) => round.clear(),
                Some(Ok(watcher::Event::InitApply(pod))) => {
                    if let Some(uid) = pod.metadata.uid.clone() {
                        round.insert(uid);
                    }
                    self.apply(pod).await;
                }
                Some(Ok(watcher::Event::InitDone)) => {
                    last_error.clear();
                    self.end_of_list(&round).await;
                }
                Some(Ok(watcher::Event::Apply(pod))) => self.apply(pod).await,
                Some(Ok(watcher::Event::Delete(pod))) => {
                    if let Some(uid) = pod.metadata.uid.as_deref() {
                        self.gone(uid);
                    }
                }
            }
        }
    }

    fn summary(&self) -> Summary {
        let cats: HashSet<&str> = self.pods.values().map(|w| w.cat.as_str()).collect();
        Summary {
            cats_with_pods: cats.len(),
        }
    }

    async fn note(&self, text: String) {
        let _ = self.events.send(LogEvent::Note { text }).await;
    }

    /// After a (re)list: pods missing from it are gone; the first time, cats without pods are
    /// named.
    async fn end_of_list(&mut self, round: &HashSet<String>) {
        let missing: Vec<String> = self
            .pods
            .keys()
            .filter(|uid| !round.contains(*uid))
            .cloned()
            .collect();
        for uid in missing {
            self.gone(&uid);
        }
        if self.listed {
            return;
        }
        self.listed = true;
        for cat in self.cats {
            if !self.pods.values().any(|w| w.cat == cat.name) {
                let why = absence(self.cluster, cat).await;
                self.note(format!("{why} — waiting for its pods")).await;
            }
        }
    }

    /// A pod was added or changed: pass its state on, and follow it once a container has run.
    async fn apply(&mut self, pod: Pod) {
        let (Some(uid), Some(cat)) = (pod.metadata.uid.clone(), cat_of(&pod).map(String::from))
        else {
            return;
        };
        if !self.cats.iter().any(|c| c.name == cat) {
            return;
        }
        let started = has_started(&pod);
        let pod = Arc::new(pod);
        let watched = self.pods.entry(uid).or_insert_with(|| Watched {
            tag: pod_tag(
                &cat,
                pod.metadata.name.as_deref().unwrap_or_default(),
                of_replica_set(&pod),
                None,
            ),
            cat: cat.clone(),
            state: watch::Sender::new(Some(pod.clone())),
            followed: false,
        });
        watched.state.send_replace(Some(pod.clone()));
        if watched.followed || !started {
            return;
        }
        watched.followed = true;
        let receiver = watched.state.subscribe();
        let tag = watched.tag.clone();
        if self.listed {
            let text = match self.departed.get_mut(&cat).and_then(VecDeque::pop_front) {
                Some(old) => format!("{old} replaced by new pod {tag}"),
                None => format!("new pod {tag}"),
            };
            let marker = LogEvent::Marker {
                cat: cat.as_str().into(),
                text,
            };
            if self.events.send(marker).await.is_err() {
                return;
            }
        }
        // Pods there before the command started get --since/--tail; later ones are new.
        let window = (!self.listed).then_some((self.options.since, self.options.tail));
        for (container, source) in sources(&cat, &pod) {
            let follower = Follower {
                api: Api::namespaced(self.streams.clone(), &self.cluster.namespace),
                pod: pod.metadata.name.clone().unwrap_or_default(),
                container,
                source,
                keep_stamps: self.options.timestamps,
                state: receiver.clone(),
                events: self.events.clone(),
            };
            self.followers.spawn(follower.run(window));
        }
    }

    /// A pod is gone: its followers finish what the server still sends, then stop.
    fn gone(&mut self, uid: &str) {
        if let Some(watched) = self.pods.remove(uid) {
            watched.state.send_replace(None);
            let departed = self.departed.entry(watched.cat).or_default();
            departed.push_back(watched.tag);
            if departed.len() > 16 {
                departed.pop_front();
            }
        }
    }
}

/// Whether any container of the pod has run, so that it has a log.
fn has_started(pod: &Pod) -> bool {
    container_statuses(pod).any(|status| {
        status.restart_count > 0
            || status
                .state
                .as_ref()
                .is_some_and(|s| s.running.is_some() || s.terminated.is_some())
    })
}

fn container_statuses(pod: &Pod) -> impl Iterator<Item = &ContainerStatus> {
    pod.status
        .iter()
        .flat_map(|s| s.container_statuses.iter().flatten())
}

/// What a follower does after its stream ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    /// The pod is gone.
    Gone,
    /// The container runs on (the connection dropped): reconnect where the stream stopped.
    SameRun,
    /// The container has restarted this many times: read the new run from its start.
    NewRun(i32),
}

/// What the pod's state says a follower that has seen `restarts` restarts should do, or `None`
/// to wait for news.
fn next_step(pod: Option<&Pod>, container: &str, restarts: i32, reconnect: bool) -> Option<Next> {
    let Some(pod) = pod else {
        return Some(Next::Gone);
    };
    let status = container_statuses(pod).find(|s| s.name == container)?;
    let state = status.state.as_ref();
    let running = state.is_some_and(|s| s.running.is_some());
    let terminated = state.is_some_and(|s| s.terminated.is_some());
    if status.restart_count > restarts && (running || terminated) {
        return Some(Next::NewRun(status.restart_count));
    }
    (reconnect && running && status.restart_count == restarts).then_some(Next::SameRun)
}

fn restart_count(pod: Option<&Pod>, container: &str) -> i32 {
    pod.and_then(|pod| container_statuses(pod).find(|s| s.name == container))
        .map_or(0, |s| s.restart_count)
}

/// Follows one container of one pod across the container's restarts, until the pod is gone
/// or the receiver of the events is.
struct Follower {
    api: Api<Pod>,
    pod: String,
    container: String,
    source: Source,
    keep_stamps: bool,
    state: watch::Receiver<Option<Arc<Pod>>>,
    events: mpsc::Sender<LogEvent>,
}

impl Follower {
    async fn run(mut self, mut window: Option<(Option<Duration>, Option<u64>)>) {
        let mut restarts = restart_count(self.state.borrow().as_deref(), &self.container);
        let mut resume: Option<jiff::Timestamp> = None;
        let mut last_note = String::new();
        loop {
            let mut params = LogParams {
                container: Some(self.container.clone()),
                follow: true,
                timestamps: true,
                since_time: resume,
                ..LogParams::default()
            };
            if let (None, Some((since, tail))) = (resume, window) {
                params.since_seconds = since.map(since_seconds);
                params.tail_lines = tail.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
            }
            match self.api.log_stream(&self.pod, &params).await {
                Ok(reader) => {
                    window = None;
                    let stamped = Stamped::new(self.keep_stamps, resume);
                    match copy_stamped(reader, &self.source, stamped, &self.events).await {
                        Ok(Some(last)) => resume = Some(last),
                        Ok(None) => {}
                        Err(Closed) => return,
                    }
                }
                Err(err) => {
                    let waiting = matches!(&err, kube::Error::Api(s) if s.code == 400);
                    let text = log_error_note(&self.source.tag, false, &err);
                    if !waiting && text != last_note {
                        last_note.clone_from(&text);
                        let _ = self.events.send(LogEvent::Note { text }).await;
                    }
                }
            }
            match self.wait(restarts).await {
                Next::Gone => return,
                Next::SameRun => {}
                Next::NewRun(count) => {
                    restarts = count;
                    resume = None;
                    let marker = LogEvent::Marker {
                        cat: self.source.cat.clone(),
                        text: format!("{} restarted (restart {count})", self.source.tag),
                    };
                    if self.events.send(marker).await.is_err() {
                        return;
                    }
                }
            }
        }
    }

    /// Waits for the pod's state to say what comes after a stream that ended; a container that
    /// still runs is reconnected to after news of its pod, or after [`RECONNECT_AFTER`].
    async fn wait(&mut self, restarts: i32) -> Next {
        let mut reconnect = false;
        loop {
            let step = next_step(
                self.state.borrow_and_update().as_deref(),
                &self.container,
                restarts,
                reconnect,
            );
            if let Some(step) = step {
                return step;
            }
            match tokio::time::timeout(RECONNECT_AFTER, self.state.changed()).await {
                Ok(Err(_)) => return Next::Gone,
                Ok(Ok(())) | Err(_) => reconnect = true,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(yaml: &str) -> Pod {
        serde_saphyr::from_str(yaml).expect("a pod")
    }

    fn with_status(restarts: i32, state: &str) -> Pod {
        pod(&format!(
            "metadata: {{name: dd-0, uid: u1, labels: {{app: dd}}}}\n\
             status:\n  containerStatuses:\n  - name: dd\n    image: dd\n    imageID: ''\n    \
             ready: false\n    restartCount: {restarts}\n    state: {state}\n"
        ))
    }

    #[test]
    fn the_selector_names_every_cat() {
        let cats = [
            CatTarget {
                name: "dd".into(),
                kind: Kind::StatefulSet,
            },
            CatTarget {
                name: "coco".into(),
                kind: Kind::Deployment,
            },
        ];
        assert_eq!(
            selector(&cats),
            "app in (dd,coco),app.kubernetes.io/managed-by=catctl"
        );
    }

    #[test]
    fn a_follower_reads_a_new_run_only_once_it_has_started() {
        let crashed = with_status(1, "{waiting: {reason: CrashLoopBackOff}}");
        assert_eq!(next_step(Some(&crashed), "dd", 0, false), None);
        assert_eq!(next_step(Some(&crashed), "dd", 0, true), None);
        let running = with_status(1, "{running: {startedAt: '2025-01-01T00:00:00Z'}}");
        assert_eq!(
            next_step(Some(&running), "dd", 0, false),
            Some(Next::NewRun(1))
        );
        assert_eq!(next_step(Some(&running), "dd", 1, false), None);
        assert_eq!(
            next_step(Some(&running), "dd", 1, true),
            Some(Next::SameRun)
        );
        assert_eq!(next_step(None, "dd", 1, false), Some(Next::Gone));
        assert!(has_started(&running));
        let creating = with_status(0, "{waiting: {reason: ContainerCreating}}");
        assert!(!has_started(&creating));
    }

    #[test]
    fn deployment_pods_are_tagged_by_their_suffix() {
        let pod = pod(
            "metadata:\n  name: coco-5d8f7c9b4-7f9c2\n  ownerReferences:\n  - {apiVersion: apps/v1, \
             kind: ReplicaSet, name: coco-5d8f7c9b4, uid: r}\nspec:\n  containers:\n  - name: coco\n",
        );
        let sources = sources("coco", &pod);
        assert_eq!(sources.len(), 1);
        assert_eq!(&*sources[0].1.tag, "coco/7f9c2");
    }
}
