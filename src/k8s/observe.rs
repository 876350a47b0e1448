//! Watching the cluster while cats roll out: one set of watches for all the cats of a command
//! (pods, StatefulSets, Deployments, and Warning events), kept in reflector stores. Each
//! cat's wait re-evaluates its rollout whenever any of them changes — no polling, no sleeps —
//! so API requests do not grow with the number of cats or the time spent waiting.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use futures::{Stream, StreamExt};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::DeleteParams;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::image::ImageRef;
use crate::k8s::rollout::{self, PodFailure, Progress};
use crate::k8s::{Cluster, managed_selector};
use crate::manifest::{Kind, RESTARTED_AT_ANNOTATION};

/// How long a rollout must stay done before it counts: a container that exits at once is
/// briefly Running and Ready.
const SETTLE: Duration = Duration::from_secs(2);

/// Live views of the namespace, updated by watches.
pub struct Observer {
    client: Client,
    namespace: String,
    pods: Store<Pod>,
    statefulsets: Store<StatefulSet>,
    deployments: Store<Deployment>,
    events: Store<Event>,
    changed: watch::Receiver<u64>,
    tasks: Vec<JoinHandle<()>>,
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
        for task in &self.tasks {
            task.abort();
        }
    }
}

fn spawn_reflector<K>(
    api: Api<K>,
    config: watcher::Config,
    notify: Arc<watch::Sender<u64>>,
    health: Arc<Mutex<Health>>,
) -> (Store<K>, JoinHandle<()>)
where
    K: Resource + Clone + std::fmt::Debug + Send + Sync + serde::de::DeserializeOwned + 'static,
    K::DynamicType: Default + Eq + std::hash::Hash + Clone + Send + Sync,
{
    let (store, writer) = reflector::store();
    let config = config.timeout(crate::k8s::WATCH_TIMEOUT_SECS);
    let stream = reflector::reflector(writer, watcher(api, config).default_backoff());
    let task = tokio::spawn(drive(stream, notify, health));
    (store, task)
}

/// Feeds a watch into its store, noting in `health` whether it gets answers; every event and
/// every error wakes the waits.
async fn drive<S, T, E>(stream: S, notify: Arc<watch::Sender<u64>>, health: Arc<Mutex<Health>>)
where
    S: Stream<Item = Result<T, E>>,
    E: std::fmt::Display,
{
    let mut stream = std::pin::pin!(stream);
    while let Some(event) = stream.next().await {
        {
            let mut health = health.lock().unwrap_or_else(|e| e.into_inner());
            match &event {
                Ok(_) => health.failing_since = None,
                Err(err) => {
                    health
                        .failing_since
                        .get_or_insert_with(std::time::Instant::now);
                    health.last_error = err.to_string();
                }
            }
        }
        notify.send_modify(|n| *n += 1);
    }
}

impl Observer {
    /// Starts the watches in `namespace` and waits until each has listed once.
    pub async fn start(cluster: &Cluster) -> Result<Observer> {
        let (client, namespace) = (&cluster.client, cluster.namespace.as_str());
        let (notify, changed) = watch::channel(0u64);
        let notify = Arc::new(notify);
        let health = Arc::new(Mutex::new(Health::default()));
        let managed = watcher::Config::default().labels(&managed_selector());
        let (pods, pods_task) = spawn_reflector(
            Api::<Pod>::namespaced(client.clone(), namespace),
            managed.clone(),
            notify.clone(),
            health.clone(),
        );
        let (statefulsets, sts_task) = spawn_reflector(
            Api::<StatefulSet>::namespaced(client.clone(), namespace),
            managed.clone(),
            notify.clone(),
            health.clone(),
        );
        let (deployments, deploy_task) = spawn_reflector(
            Api::<Deployment>::namespaced(client.clone(), namespace),
            managed,
            notify.clone(),
            health.clone(),
        );
        let (events, events_task) = spawn_reflector(
            Api::<Event>::namespaced(client.clone(), namespace),
            watcher::Config::default().fields("type=Warning"),
            notify,
            health.clone(),
        );
        let observer = Observer {
            client: client.clone(),
            namespace: namespace.to_string(),
            pods,
            statefulsets,
            deployments,
            events,
            changed,
            tasks: vec![pods_task, sts_task, deploy_task, events_task],
            // A second of slack for the API server's timestamps, which have whole seconds.
            started: jiff::Timestamp::now() - jiff::SignedDuration::from_secs(1),
            health,
        };
        let ready = async {
            observer.pods.wait_until_ready().await?;
            observer.statefulsets.wait_until_ready().await?;
            observer.deployments.wait_until_ready().await?;
            observer.events.wait_until_ready().await
        };
        tokio::time::timeout(Duration::from_secs(30), ready)
            .await
            .map_err(|_| {
                anyhow::anyhow!(
                    "the cluster did not answer the watches on namespace {namespace} within 30 s"
                )
            })?
            .map_err(|_| anyhow::anyhow!("the watches on namespace {namespace} stopped"))?;
        Ok(observer)
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
        // only once it has stayed done for SETTLE (a crash shows within the kubelet's next
        // status update, about a second).
        let mut done_since: Option<tokio::time::Instant> = None;
        loop {
            let step = self.evaluate(target);
            if !matches!(step, Step::Done(_)) {
                done_since = None;
            }
            match step {
                Step::Done(pods) => {
                    let since = *done_since.get_or_insert_with(tokio::time::Instant::now);
                    if since.elapsed() >= SETTLE {
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
            // While settling, wake up when SETTLE has passed even if nothing changes.
            let wake = match done_since {
                Some(since) => deadline.min(since + SETTLE),
                None => deadline,
            };
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
                .get(&ObjectRef::new(&target.cat).within(&self.namespace))
            {
                Some(d) if !stale(d.metadata.generation) => rollout::deployment_progress(&d),
                Some(_) => Progress::Waiting(observed.into()),
                None => Progress::Waiting("waiting for the Deployment to appear".into()),
            },
        }
    }
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
