//! Watching the cluster while cats roll out: one set of watches for all the cats of a command
//! (pods, StatefulSets, Deployments, and Warning events), kept in reflector stores. Each
//! cat's wait re-evaluates its rollout whenever any of them changes — no polling, no sleeps —
//! so API requests do not grow with the number of cats or the time spent waiting.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Result, bail};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::DeleteParams;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Api, Client, Resource};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::image::ImageRef;
use crate::k8s::rollout::{self, PodFailure, Progress};
use crate::k8s::{Cluster, managed_selector};
use crate::manifest::{Kind, RESTARTED_AT_ANNOTATION};

/// How long each container of a rollout's pods must have been seen running (the same
/// container, not restarted) before the rollout counts as done: a container without a
/// readiness probe that exits at once is briefly Running and Ready, and its crash shows within
/// the kubelet's next status update. A container Ready by its probe needs no window.
const SETTLE: Duration = Duration::from_secs(2);

/// How long a rollout may wait before its containers run (pods not made, not scheduled,
/// volumes not mounted, images being pulled) before the Warning events that say why are
/// watched: a rollout that goes well needs no events, and costs no request for them.
const STUCK_BEFORE_EVENTS: Duration = Duration::from_secs(2);

/// Live views of the namespace, updated by watches.
pub struct Observer {
    client: Client,
    namespace: String,
    pods: Store<Pod>,
    statefulsets: Store<StatefulSet>,
    /// Not watched when no cat of the command is a Deployment.
    deployments: Option<Store<Deployment>>,
    events: Store<Event>,
    /// Until [`Observer::watch_events`] starts the events' watch.
    events_writer: Mutex<Option<reflector::store::Writer<Event>>>,
    notify: Arc<watch::Sender<u64>>,
    changed: watch::Receiver<u64>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    /// When the watches started: older warnings are about earlier rollouts.
    started: jiff::Timestamp,
    health: Arc<Mutex<Health>>,
}

/// Whether the watches get answers: since when they have been failing, and why.
#[derive(Default)]
struct Health {
    failing_since: Option<std::time::Instant>,
    last_error: String,
}

/// How long every watch may fail before the rollout wait gives up on the API server.
const UNANSWERED_LIMIT: Duration = Duration::from_secs(10);

impl Drop for Observer {
    fn drop(&mut self) {
        for task in self.tasks.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            task.abort();
        }
    }
}

/// How a watch starts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Start {
    /// With a watch that first sends what exists (a streaming list, `sendInitialEvents`): one
    /// request for the list and the watch. Falls back to a list, then a watch from it, on a
    /// server that refuses it.
    Stream,
    /// With a watch from resourceVersion 0: the server sends what it has as ADDED events, then
    /// the changes — one request, for what needs no "listed" moment (events).
    Any,
}

/// Keeps `writer`'s store up to date with one watch request at a time: resumed from the last
/// resourceVersion seen when the server ends it, listed again only when the server has
/// forgotten that version (410 Gone). Every event and every error wakes the waits; `health`
/// notes whether the watch gets answers.
async fn follow<K>(
    api: Api<K>,
    selectors: (Option<String>, Option<String>),
    start: Start,
    mut writer: reflector::store::Writer<K>,
    notify: Arc<watch::Sender<u64>>,
    health: Arc<Mutex<Health>>,
) where
    K: Resource + Clone + std::fmt::Debug + Send + Sync + serde::de::DeserializeOwned + 'static,
    K::DynamicType: Default + Eq + std::hash::Hash + Clone + Send + Sync,
{
    use kube::api::WatchEvent;
    let note = |result: Result<(), String>| {
        let mut health = health.lock().unwrap_or_else(|e| e.into_inner());
        match result {
            Ok(()) => health.failing_since = None,
            Err(err) => {
                health
                    .failing_since
                    .get_or_insert_with(std::time::Instant::now);
                health.last_error = err;
            }
        }
        notify.send_modify(|n| *n += 1);
    };
    let reset = |writer: &mut reflector::store::Writer<K>, items: Vec<K>| {
        writer.apply_watcher_event(&watcher::Event::Init);
        for item in items {
            writer.apply_watcher_event(&watcher::Event::InitApply(item));
        }
        writer.apply_watcher_event(&watcher::Event::InitDone);
    };
    let (labels, fields) = selectors;
    let mut streaming = matches!(start, Start::Stream);
    // The version to watch from; `None`: to be listed (or streamed) first.
    let mut version = match start {
        Start::Any => {
            reset(&mut writer, Vec::new());
            Some("0".to_string())
        }
        Start::Stream => None,
    };
    // Retries after an error wait a little (the API server answered badly or not at all).
    let retry = Duration::from_millis(500);
    loop {
        let initial = version.is_none() && streaming;
        let from = match version.take() {
            Some(version) => version,
            None if streaming => String::new(),
            None => {
                let params = kube::api::ListParams {
                    label_selector: labels.clone(),
                    field_selector: fields.clone(),
                    ..kube::api::ListParams::default()
                };
                match api.list(&params).await {
                    Ok(list) => {
                        reset(&mut writer, list.items);
                        note(Ok(()));
                        list.metadata.resource_version.unwrap_or_default()
                    }
                    Err(err) => {
                        note(Err(err.to_string()));
                        tokio::time::sleep(retry).await;
                        continue;
                    }
                }
            }
        };
        let params = kube::api::WatchParams {
            label_selector: labels.clone(),
            field_selector: fields.clone(),
            timeout: Some(crate::k8s::WATCH_TIMEOUT_SECS),
            bookmarks: true,
            send_initial_events: initial,
        };
        let events = match api.watch(&params, &from).await {
            Ok(events) => events,
            Err(kube::Error::Api(status)) if initial && (400..500).contains(&status.code) => {
                // No streaming lists on this server: list, then watch.
                streaming = false;
                continue;
            }
            Err(err) => {
                note(Err(err.to_string()));
                tokio::time::sleep(retry).await;
                version = (!initial).then_some(from);
                continue;
            }
        };
        let mut events = std::pin::pin!(events);
        let mut last = from;
        let mut listing = initial;
        if listing {
            writer.apply_watcher_event(&watcher::Event::Init);
        }
        let mut gone = false;
        while let Some(event) = events.next().await {
            let seen = |o: &K| o.meta().resource_version.clone();
            match event {
                Ok(WatchEvent::Added(o) | WatchEvent::Modified(o)) => {
                    last = seen(&o).unwrap_or(last);
                    if listing {
                        writer.apply_watcher_event(&watcher::Event::InitApply(o));
                        continue;
                    }
                    writer.apply_watcher_event(&watcher::Event::Apply(o));
                    note(Ok(()));
                }
                Ok(WatchEvent::Deleted(o)) => {
                    last = seen(&o).unwrap_or(last);
                    writer.apply_watcher_event(&watcher::Event::Delete(o));
                    note(Ok(()));
                }
                Ok(WatchEvent::Bookmark(b)) => {
                    last = b.metadata.resource_version;
                    if listing && b.metadata.annotations.contains_key(INITIAL_EVENTS_END) {
                        listing = false;
                        writer.apply_watcher_event(&watcher::Event::InitDone);
                        note(Ok(()));
                    }
                }
                Ok(WatchEvent::Error(status)) if status.code == 410 => {
                    gone = true;
                    break;
                }
                Ok(WatchEvent::Error(status)) if listing && (400..500).contains(&status.code) => {
                    streaming = false;
                    gone = true;
                    break;
                }
                Ok(WatchEvent::Error(status)) => {
                    note(Err(format!("{} ({})", status.message, status.code)));
                }
                Err(err) => {
                    note(Err(err.to_string()));
                    break;
                }
            }
        }
        // A streaming list cut short starts again; so does a version the server forgot.
        version = (!gone && !listing).then_some(last);
    }
}

/// The annotation of the bookmark that ends a streaming list's initial events.
const INITIAL_EVENTS_END: &str = "k8s.io/initial-events-end";

/// Whether `store` has had its first state.
fn is_ready<K>(store: &Store<K>) -> bool
where
    K: Resource + Clone + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    use futures::FutureExt as _;
    store
        .wait_until_ready()
        .now_or_never()
        .is_some_and(|r| r.is_ok())
}

/// A store kept by [`follow`] in a task of its own.
fn spawn_follow<K>(
    api: Api<K>,
    selectors: (Option<String>, Option<String>),
    start: Start,
    notify: &Arc<watch::Sender<u64>>,
    health: &Arc<Mutex<Health>>,
) -> (Store<K>, JoinHandle<()>)
where
    K: Resource + Clone + std::fmt::Debug + Send + Sync + serde::de::DeserializeOwned + 'static,
    K::DynamicType: Default + Eq + std::hash::Hash + Clone + Send + Sync,
{
    let (store, writer) = reflector::store();
    let task = tokio::spawn(follow(
        api,
        selectors,
        start,
        writer,
        notify.clone(),
        health.clone(),
    ));
    (store, task)
}

impl Observer {
    /// Starts the watches in the cluster's namespace — pods, and StatefulSets and Deployments
    /// when `deployments` — and waits until each has its first state; fails at the first error
    /// of any watch. Pods and workloads start with a streaming list (one request for the list
    /// and the watch, where the server offers it), so what they hold can stand in for the
    /// gate's lists. Warning events are watched only once [`Observer::wait`] finds a rollout
    /// stuck before its containers run.
    pub async fn start(cluster: &Cluster, deployments: bool) -> Result<Observer> {
        let observer = Observer::spawn(cluster, deployments)?;
        observer.ready().await?;
        Ok(observer)
    }

    fn spawn(cluster: &Cluster, deployments: bool) -> Result<Observer> {
        let (client, namespace) = (&cluster.client, cluster.namespace.as_str());
        let (notify, changed) = watch::channel(0u64);
        let notify = Arc::new(notify);
        let health = Arc::new(Mutex::new(Health::default()));
        let (pods, pods_task) = spawn_follow(
            Api::<Pod>::namespaced(client.clone(), namespace),
            (Some(managed_selector()), None),
            Start::Stream,
            &notify,
            &health,
        );
        // Workloads of the whole namespace, as the gate needs them: one named like a cat but
        // made by hand is seen too.
        let (statefulsets, sts_task) = spawn_follow(
            Api::<StatefulSet>::namespaced(client.clone(), namespace),
            (None, None),
            Start::Stream,
            &notify,
            &health,
        );
        let mut tasks = vec![pods_task, sts_task];
        let deployments = if deployments {
            let (store, task) = spawn_follow(
                Api::<Deployment>::namespaced(client.clone(), namespace),
                (None, None),
                Start::Stream,
                &notify,
                &health,
            );
            tasks.push(task);
            Some(store)
        } else {
            None
        };
        let (events, events_writer) = reflector::store();
        Ok(Observer {
            client: client.clone(),
            namespace: namespace.to_string(),
            pods,
            statefulsets,
            deployments,
            events,
            events_writer: Mutex::new(Some(events_writer)),
            notify,
            changed,
            tasks: Mutex::new(tasks),
            // A second of slack for the API server's timestamps, which have whole seconds.
            started: jiff::Timestamp::now() - jiff::SignedDuration::from_secs(1),
            health,
        })
    }

    /// Whether the watch of Warning events has started.
    fn events_watched(&self) -> bool {
        self.events_writer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_none()
    }

    /// Whether `target`'s rollout waits before its containers run: the workload has no pod of
    /// this rollout yet, or one of them has a container not started (not scheduled, its volumes
    /// not mounted, its image being pulled). The warnings that say why are events; a rollout
    /// whose containers run and only wait to be ready needs none.
    fn is_stuck(&self, target: &Target) -> bool {
        let pods = self.pods_of(&target.cat);
        let new: Vec<&Arc<Pod>> = pods.iter().filter(|p| target.is_new(p)).collect();
        new.is_empty()
            || new.iter().any(|pod| {
                let statuses = pod
                    .status
                    .as_ref()
                    .and_then(|s| s.container_statuses.as_ref());
                statuses.is_none_or(|statuses| {
                    statuses.is_empty()
                        || statuses.iter().any(|c| {
                            c.state.as_ref().is_some_and(|s| s.waiting.is_some())
                                && c.restart_count == 0
                        })
                })
            })
    }

    /// Starts the watch of Warning events (once): one request, from resourceVersion 0.
    fn watch_events(&self) {
        let writer = self
            .events_writer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(writer) = writer {
            let task = tokio::spawn(follow(
                Api::<Event>::namespaced(self.client.clone(), &self.namespace),
                (None, Some("type=Warning".to_string())),
                Start::Any,
                writer,
                self.notify.clone(),
                self.health.clone(),
            ));
            self.tasks
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(task);
        }
    }

    /// Waits until the pods and workloads have their first state; an error as soon as a watch
    /// fails, or after 30 s.
    async fn ready(&self) -> Result<()> {
        let namespace = &self.namespace;
        let mut changed = self.changed.clone();
        let all_ready = async {
            loop {
                if let Some(error) = self.failing() {
                    return Err(anyhow::anyhow!(
                        "the watches on namespace {namespace} failed: {error}"
                    ));
                }
                if is_ready(&self.pods)
                    && is_ready(&self.statefulsets)
                    && self.deployments.as_ref().is_none_or(is_ready)
                {
                    return Ok(());
                }
                if changed.changed().await.is_err() {
                    bail!("the watches on namespace {namespace} stopped");
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(30), all_ready)
            .await
            .map_err(|_| {
                anyhow::anyhow!(
                    "the cluster did not answer the watches on namespace {namespace} within 30 s"
                )
            })?
    }

    /// The error of a watch that has failed since its last answer, if any.
    fn failing(&self) -> Option<String> {
        let health = self.health.lock().unwrap_or_else(|e| e.into_inner());
        health.failing_since.map(|_| health.last_error.clone())
    }

    /// Every pod of the cats (catctl's label selector), as the watch holds them.
    pub fn all_pods(&self) -> Vec<Pod> {
        self.pods.state().iter().map(|p| (**p).clone()).collect()
    }

    /// Every StatefulSet of the namespace, as the watch holds them.
    pub fn all_statefulsets(&self) -> Vec<StatefulSet> {
        self.statefulsets
            .state()
            .iter()
            .map(|s| (**s).clone())
            .collect()
    }

    /// Every Deployment of the namespace, when they are watched.
    pub fn all_deployments(&self) -> Option<Vec<Deployment>> {
        self.deployments
            .as_ref()
            .map(|d| d.state().iter().map(|d| (**d).clone()).collect())
    }

    /// The cat's pods that are not being deleted.
    pub fn pods_of(&self, cat: &str) -> Vec<Arc<Pod>> {
        self.pods.state_filter(|pod| {
            pod.metadata.deletion_timestamp.is_none()
                && pod
                    .metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get(crate::labels::APP))
                    .map(String::as_str)
                    == Some(cat)
        })
    }

    /// Waits until the cat has no pod at all, Terminating ones included (a sleeping cat).
    pub async fn wait_gone(
        &self,
        cat: &str,
        timeout: Duration,
        progress: &(dyn Fn(&str) + Sync),
    ) -> Result<(), Failure> {
        let mut changed = self.changed.clone();
        let deadline = tokio::time::Instant::now() + timeout;
        let mut last_message = String::new();
        loop {
            let names: Vec<String> = self
                .pods
                .state()
                .iter()
                .filter(|pod| {
                    pod.metadata
                        .labels
                        .as_ref()
                        .and_then(|l| l.get(crate::labels::APP))
                        .map(String::as_str)
                        == Some(cat)
                })
                .filter_map(|pod| pod.metadata.name.clone())
                .collect();
            if names.is_empty() {
                return Ok(());
            }
            let message = format!("waiting for {} to stop", names.join(", "));
            if message != last_message {
                progress(&message);
                last_message = message;
            }
            match tokio::time::timeout_at(deadline, changed.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => {
                    return Err(Failure::new(
                        "WatchEnded",
                        "the watches on the cluster ended".into(),
                    ));
                }
                Err(_) => {
                    let mut failure = Failure::new(
                        "Timeout",
                        format!("still there after {} s: {last_message}", timeout.as_secs()),
                    );
                    failure.pod = names.first().cloned();
                    return Err(failure);
                }
            }
        }
    }

    /// Why the watches have got no answer for [`UNANSWERED_LIMIT`], if they have not.
    fn unanswered(&self) -> Option<Failure> {
        let health = self.health.lock().unwrap_or_else(|e| e.into_inner());
        let since = health.failing_since?;
        (since.elapsed() >= UNANSWERED_LIMIT).then(|| {
            Failure::new(
                "Unreachable",
                format!(
                    "the watches got no answer for {} s: {}",
                    since.elapsed().as_secs(),
                    health.last_error
                ),
            )
        })
    }

    /// The most repeated warning of `reason` about `pod`, if any.
    fn pod_warning(&self, pod: &Pod, reason: &str) -> Option<String> {
        let uid = pod.metadata.uid.as_deref()?;
        self.events
            .state()
            .iter()
            .filter(|e| e.involved_object.uid.as_deref() == Some(uid))
            // A real kubelet reports "failed to sync secret cache: timed out waiting for the
            // condition" while its watch of a new pod's Secret starts, then mounts it: transient.
            .filter(|e| {
                !e.message
                    .as_deref()
                    .is_some_and(|m| m.contains("failed to sync secret cache"))
            })
            .filter(|e| e.reason.as_deref() == Some(reason))
            .max_by_key(|e| e.count.unwrap_or(0))
            .map(|e| e.message.clone().unwrap_or_default())
    }

    fn failed_mount(&self, pod: &Pod) -> Option<String> {
        self.pod_warning(pod, "FailedMount")
    }

    /// A `FailedCreate` warning, since the watches started, about the cat's workload (or a
    /// ReplicaSet of its Deployment): its controller cannot make its pods.
    fn failed_create(&self, target: &Target) -> Option<String> {
        let replica_sets = format!("{}-", target.cat);
        self.events
            .state()
            .iter()
            .filter(|e| e.reason.as_deref() == Some("FailedCreate"))
            .filter(|e| {
                let object = &e.involved_object;
                let name = object.name.as_deref().unwrap_or_default();
                match object.kind.as_deref() {
                    Some("StatefulSet" | "Deployment") => name == target.cat,
                    Some("ReplicaSet") => name.starts_with(&replica_sets),
                    _ => false,
                }
            })
            .filter(|e| self.is_recent(e))
            .max_by_key(|e| e.last_timestamp.as_ref().map(|t| t.0))
            .map(|e| e.message.clone().unwrap_or_default())
    }

    fn is_recent(&self, event: &Event) -> bool {
        let last = event
            .last_timestamp
            .as_ref()
            .map(|t| t.0)
            .or_else(|| event.event_time.as_ref().map(|t| t.0));
        last.is_none_or(|at| at >= self.started)
    }

    /// Waits until `target` has rolled out (Ok) or cannot (Err with the reason), reporting each
    /// new waiting state through `progress`. Deletes a broken pod of an older StatefulSet
    /// revision, which Kubernetes documents as the manual step of a forced rollback.
    pub async fn wait(
        &self,
        target: &Target,
        timeout: Duration,
        progress: &(dyn Fn(&str) + Sync),
    ) -> Result<Vec<String>, Failure> {
        let mut changed = self.changed.clone();
        let deadline = tokio::time::Instant::now() + timeout;
        // Each pod name is force-deleted at most once: its replacement is the new revision's.
        let mut deleted: BTreeSet<String> = BTreeSet::new();
        let mut last_message = String::new();
        // A container that dies at once can look Ready for a moment: the rollout counts as done
        // only once every container of its pods has been seen running for SETTLE, or is Ready
        // by its readiness probe (answered, so it did not die at once). The window
        // starts when the container is first seen running, not when the rollout is first seen
        // done: the wait for readiness counts towards it, and cats rolling out together settle
        // together.
        let mut running_since: BTreeMap<String, tokio::time::Instant> = BTreeMap::new();
        let mut done_since: Option<tokio::time::Instant> = None;
        // Since when the rollout has been stuck before its containers run (see `is_stuck`).
        let mut stuck_since: Option<tokio::time::Instant> = None;
        loop {
            self.note_running(&target.cat, &mut running_since);
            let step = self.evaluate(target);
            if !matches!(step, Step::Done(_)) {
                done_since = None;
            }
            stuck_since = match (
                matches!(step, Step::Wait(_)) && self.is_stuck(target),
                stuck_since,
            ) {
                (false, _) => None,
                (true, None) => Some(tokio::time::Instant::now()),
                (true, since) => since,
            };
            let mut events_at = stuck_since
                .filter(|_| !self.events_watched())
                .map(|since| since + STUCK_BEFORE_EVENTS);
            if events_at.is_some_and(|at| tokio::time::Instant::now() >= at) {
                // The warnings that say why (FailedScheduling, FailedMount, FailedCreate): the
                // watch starts from resourceVersion 0, so none said so far is missed.
                self.watch_events();
                events_at = None;
            }
            match step {
                Step::Done(pods) => {
                    let settled = self.settled_at(&target.cat, &pods, &running_since);
                    done_since = Some(settled);
                    if tokio::time::Instant::now() >= settled {
                        return Ok(pods);
                    }
                    let message = "running; making sure it stays up".to_string();
                    if message != last_message {
                        progress(&message);
                        last_message = message;
                    }
                }
                Step::Fail(failure) => return Err(failure),
                Step::DeleteBroken(pod, uid) => {
                    if deleted.insert(pod.clone()) {
                        progress(&format!(
                            "deleting broken pod {pod} of the old revision (forced rollback)"
                        ));
                        let api: Api<Pod> = Api::namespaced(self.client.clone(), &self.namespace);
                        let params = DeleteParams {
                            preconditions: Some(kube::api::Preconditions {
                                uid: Some(uid),
                                resource_version: None,
                            }),
                            ..DeleteParams::default()
                        };
                        if let Err(err) = api.delete(&pod, &params).await
                            && !matches!(&err, kube::Error::Api(s) if s.code == 404 || s.code == 409)
                        {
                            return Err(Failure::new(
                                "DeleteFailed",
                                format!("cannot delete the broken pod {pod}: {err}"),
                            ));
                        }
                    }
                }
                Step::Wait(message) => {
                    if message != last_message {
                        progress(&message);
                        last_message = message;
                    }
                }
            }
            if let Some(failure) = self.unanswered() {
                return Err(failure);
            }
            // While settling, wake up when it has settled even if nothing changes.
            let wake = match done_since {
                Some(settled) => deadline.min(settled),
                None => deadline,
            };
            let wake = events_at.map_or(wake, |at| wake.min(at));
            match tokio::time::timeout_at(wake, changed.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => {
                    return Err(Failure::new(
                        "WatchEnded",
                        "the watches on the cluster ended".into(),
                    ));
                }
                Err(_) if tokio::time::Instant::now() < deadline => {}
                Err(_) if done_since.is_some() => {
                    // Done when the time ran out: it stayed up for what was left of it.
                    if let Step::Done(pods) = self.evaluate(target) {
                        return Ok(pods);
                    }
                }
                Err(_) => {
                    if let Some(failure) = self.unanswered() {
                        return Err(failure);
                    }
                    let mut failure = Failure::new(
                        "Timeout",
                        format!("not ready after {} s: {last_message}", timeout.as_secs()),
                    );
                    failure.pod = self
                        .pods_of(&target.cat)
                        .iter()
                        .find(|p| target.is_new(p))
                        .and_then(|p| p.metadata.name.clone());
                    return Err(failure);
                }
            }
        }
    }

    /// Notes when each running container of `cat`'s pods was first seen running (by container
    /// ID: a restarted container is a new one).
    fn note_running(&self, cat: &str, since: &mut BTreeMap<String, tokio::time::Instant>) {
        let now = tokio::time::Instant::now();
        for pod in self.pods_of(cat) {
            for (key, _) in running_containers(&pod) {
                since.entry(key).or_insert(now);
            }
        }
    }

    /// When the pods named `names` will have had every container running for SETTLE.
    fn settled_at(
        &self,
        cat: &str,
        names: &[String],
        since: &BTreeMap<String, tokio::time::Instant>,
    ) -> tokio::time::Instant {
        let now = tokio::time::Instant::now();
        let pods = self.pods_of(cat);
        let mut settled = now;
        for pod in pods
            .iter()
            .filter(|p| p.metadata.name.as_ref().is_some_and(|n| names.contains(n)))
        {
            let statuses = pod
                .status
                .as_ref()
                .and_then(|s| s.container_statuses.as_ref());
            let count = statuses.map_or(0, Vec::len);
            let running = running_containers(pod);
            if running.len() < count.max(1) {
                // A container not running (yet) is not settled.
                settled = settled.max(now + SETTLE);
            }
            let proven = ready_by_probe(pod);
            for (key, container) in running {
                if proven.contains(&container) {
                    continue;
                }
                let first = since.get(&key).copied().unwrap_or(now);
                settled = settled.max(first + SETTLE);
            }
        }
        settled
    }

    fn evaluate(&self, target: &Target) -> Step {
        let pods = self.pods_of(&target.cat);
        let (new, old): (Vec<&Arc<Pod>>, Vec<&Arc<Pod>>) =
            pods.iter().partition(|p| target.is_new(p));
        for pod in &new {
            if let Some(failure) = rollout::pod_failure(pod) {
                return Step::Fail(Failure::from_pod(failure));
            }
            if rollout::is_ready(pod) {
                continue;
            }
            for reason in ["FailedMount", "FailedScheduling"] {
                if let Some(message) = self.pod_warning(pod, reason) {
                    let mut failure = Failure::new(reason, message);
                    failure.pod = pod.metadata.name.clone();
                    return Step::Fail(failure);
                }
            }
        }
        let progress = self.progress(target);
        if progress != Progress::Done
            && let Some(message) = self.failed_create(target)
        {
            return Step::Fail(Failure::new("FailedCreate", message));
        }
        if let Some(update_revision) = self.update_revision(target)
            && progress != Progress::Done
        {
            // Kubernetes' forced rollback: a broken pod of an older revision blocks the
            // StatefulSet until someone deletes it.
            let outdated = old.iter().filter(|pod| {
                pod.metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get("controller-revision-hash"))
                    .is_some_and(|hash| *hash != update_revision)
            });
            for pod in outdated {
                if rollout::pod_failure(pod).is_some() || self.failed_mount(pod).is_some() {
                    let name = pod.metadata.name.clone().unwrap_or_default();
                    let uid = pod.metadata.uid.clone().unwrap_or_default();
                    return Step::DeleteBroken(name, uid);
                }
            }
        }
        match progress {
            Progress::Failed(message) => {
                Step::Fail(Failure::new("ProgressDeadlineExceeded", message))
            }
            Progress::Waiting(message) => Step::Wait(message),
            Progress::Done => {
                let strangers: Vec<&Arc<Pod>> = pods
                    .iter()
                    .filter(|p| {
                        !target
                            .image
                            .digest
                            .as_ref()
                            .is_some_and(|d| rollout::runs_digest(p, d))
                    })
                    .collect();
                // The pods watch may lag behind the workload's: a pod the StatefulSet counts
                // as ready can still be ContainerCreating here, its imageID not yet known.
                let settled = strangers.iter().all(|p| rollout::reports_image(p));
                let strangers: Vec<String> = strangers
                    .iter()
                    .filter_map(|p| p.metadata.name.clone())
                    .collect();
                if !strangers.is_empty() && new.len() == pods.len() && !settled {
                    return Step::Wait(format!(
                        "waiting for {} to report its image",
                        strangers.join(", ")
                    ));
                }
                if !strangers.is_empty() && new.len() == pods.len() {
                    // Pods were created from our template but report another image: the
                    // registry served something else for the pinned reference.
                    return Step::Fail(Failure::new(
                        "DigestMismatch",
                        format!(
                            "{} run an image other than {}",
                            strangers.join(", "),
                            target.image.manifest_reference()
                        ),
                    ));
                }
                if !strangers.is_empty() {
                    return Step::Wait(format!(
                        "{} still running the old image",
                        strangers.join(", ")
                    ));
                }
                Step::Done(
                    pods.iter()
                        .filter_map(|p| p.metadata.name.clone())
                        .collect(),
                )
            }
        }
    }

    /// The StatefulSet's update revision, once it has seen this rollout's generation.
    fn update_revision(&self, target: &Target) -> Option<String> {
        if target.kind != Kind::StatefulSet {
            return None;
        }
        let sts = self
            .statefulsets
            .get(&ObjectRef::new(&target.cat).within(&self.namespace))?;
        let status = sts.status.as_ref()?;
        (status.observed_generation.unwrap_or(0) >= target.generation)
            .then(|| status.update_revision.clone())
            .flatten()
    }

    fn progress(&self, target: &Target) -> Progress {
        let stale = |generation: Option<i64>| generation.unwrap_or(0) < target.generation;
        let observed = "waiting for the update to be observed";
        match target.kind {
            Kind::StatefulSet => match self
                .statefulsets
                .get(&ObjectRef::new(&target.cat).within(&self.namespace))
            {
                Some(sts) if !stale(sts.metadata.generation) => rollout::statefulset_progress(&sts),
                Some(_) => Progress::Waiting(observed.into()),
                None => Progress::Waiting("waiting for the StatefulSet to appear".into()),
            },
            Kind::Deployment => match self
                .deployments
                .as_ref()
                .and_then(|d| d.get(&ObjectRef::new(&target.cat).within(&self.namespace)))
            {
                Some(d) if !stale(d.metadata.generation) => rollout::deployment_progress(&d),
                Some(_) => Progress::Waiting(observed.into()),
                None => Progress::Waiting("waiting for the Deployment to appear".into()),
            },
        }
    }
}

/// A key for each running container of `pod` — its container ID (a restart makes a new one), or
/// the pod, container and restart count when the ID is not reported — with the container's name.
fn running_containers(pod: &Pod) -> Vec<(String, String)> {
    let pod_name = pod.metadata.name.as_deref().unwrap_or_default();
    pod.status
        .iter()
        .flat_map(|s| s.container_statuses.iter().flatten())
        .filter(|c| c.state.as_ref().is_some_and(|s| s.running.is_some()))
        .map(|c| {
            let key = match c.container_id.as_deref() {
                Some(id) if !id.is_empty() => id.to_string(),
                _ => format!("{pod_name}/{}/{}", c.name, c.restart_count),
            };
            (key, c.name.clone())
        })
        .collect()
}

/// The containers of `pod` that are Ready by their readiness probe: the kubelet calls such a
/// container ready only once the probe has been answered, so it did not exit at once and needs
/// no settling window (a container without one is Ready as soon as it runs).
fn ready_by_probe(pod: &Pod) -> BTreeSet<String> {
    let probed: BTreeSet<&str> = pod
        .spec
        .iter()
        .flat_map(|s| s.containers.iter())
        .filter(|c| c.readiness_probe.is_some())
        .map(|c| c.name.as_str())
        .collect();
    pod.status
        .iter()
        .flat_map(|s| s.container_statuses.iter().flatten())
        .filter(|c| c.ready && probed.contains(c.name.as_str()))
        .map(|c| c.name.clone())
        .collect()
}

enum Step {
    Done(Vec<String>),
    Fail(Failure),
    DeleteBroken(String, String),
    Wait(String),
}

/// What a cat's rollout is waiting for.
#[derive(Debug, Clone)]
pub struct Target {
    pub cat: String,
    pub kind: Kind,
    /// The workload's generation returned by the apply.
    pub generation: i64,
    /// The image, pinned by digest, the pod template runs.
    pub image: ImageRef,
    pub restarted_at: Option<String>,
}

impl Target {
    /// Whether `pod` was made from the template this rollout applied.
    pub fn is_new(&self, pod: &Pod) -> bool {
        let image_matches = pod.spec.as_ref().is_some_and(|s| {
            s.containers
                .iter()
                .any(|c| c.image.as_deref() == Some(self.image.to_string().as_str()))
        });
        let restarted_at = pod
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(RESTARTED_AT_ANNOTATION));
        image_matches && restarted_at == self.restarted_at.as_ref()
    }
}

/// Why a rollout failed, with the pod and container to read logs from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub reason: String,
    pub message: String,
    pub pod: Option<String>,
    pub container: Option<String>,
    pub has_previous: bool,
}

impl std::fmt::Display for Failure {
    /// `Reason (pod P, container C): message`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.reason)?;
        match (&self.pod, &self.container) {
            (Some(pod), Some(container)) => write!(f, " (pod {pod}, container {container})")?,
            (Some(pod), None) => write!(f, " (pod {pod})")?,
            _ => {}
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}

impl Failure {
    pub fn new(reason: &str, message: String) -> Failure {
        Failure {
            reason: reason.to_string(),
            message,
            pod: None,
            container: None,
            has_previous: false,
        }
    }

    fn from_pod(failure: PodFailure) -> Failure {
        Failure {
            reason: failure.reason,
            message: failure.message,
            pod: Some(failure.pod),
            container: Some(failure.container),
            has_previous: failure.has_previous,
        }
    }
}

/// The last `lines` lines of a container's log: the previous container's when it restarted,
/// falling back to the current one.
pub async fn last_log_lines(cluster: &Cluster, failure: &Failure, lines: i64) -> Option<String> {
    let (client, namespace) = (&cluster.client, cluster.namespace.as_str());
    let pod = failure.pod.as_deref()?;
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let params = |previous: bool| kube::api::LogParams {
        container: failure.container.clone(),
        previous,
        tail_lines: Some(lines),
        ..kube::api::LogParams::default()
    };
    if failure.has_previous
        && let Ok(text) = api.logs(pod, &params(true)).await
        && !text.trim().is_empty()
    {
        return Some(text);
    }
    api.logs(pod, &params(false))
        .await
        .ok()
        .filter(|t| !t.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(container_id: &str, restarts: i32, running: bool) -> Pod {
        let state = if running {
            "{running: {startedAt: '2026-11-30T00:00:00Z'}}"
        } else {
            "{waiting: {reason: CrashLoopBackOff}}"
        };
        serde_saphyr::from_str(&format!(
            "metadata: {{name: dd-0}}
status:
  containerStatuses:
  - {{name: dd, image: x, imageID: '', ready: {running}, restartCount: {restarts},
     containerID: '{container_id}', state: {state}}}"
        ))
        .unwrap()
    }

    #[test]
    fn the_settle_window_belongs_to_one_run_of_a_container() {
        let first = running_containers(&pod("containerd://a", 0, true));
        let restarted = running_containers(&pod("containerd://b", 1, true));
        assert_eq!(first, [("containerd://a".to_string(), "dd".to_string())]);
        assert_ne!(
            first, restarted,
            "a restarted container starts a new window"
        );
        assert!(running_containers(&pod("containerd://a", 1, false)).is_empty());
        // Without a container ID, the restart count tells runs apart.
        assert_ne!(
            running_containers(&pod("", 0, true)),
            running_containers(&pod("", 1, true))
        );
    }

    #[test]
    fn only_a_container_ready_by_its_readiness_probe_needs_no_settling() {
        let mut ready = pod("containerd://a", 0, true);
        assert!(
            ready_by_probe(&ready).is_empty(),
            "no probe: ready means running"
        );
        ready.spec = Some(serde_saphyr::from_str(
            "containers: [{name: dd, readinessProbe: {httpGet: {path: /healthz, port: health}}}]",
        )
        .unwrap());
        assert_eq!(ready_by_probe(&ready), BTreeSet::from(["dd".to_string()]));
        let mut starting = pod("containerd://a", 0, true);
        starting.spec = ready.spec.clone();
        starting
            .status
            .as_mut()
            .unwrap()
            .container_statuses
            .as_mut()
            .unwrap()[0]
            .ready = false;
        assert!(
            ready_by_probe(&starting).is_empty(),
            "probed, not yet answered"
        );
    }
}
