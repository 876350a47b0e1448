//! Reading rollout state the way `kubectl rollout status` does, and spotting pods that will
//! never become ready. Pure functions over API objects, unit-tested against inline YAML.

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Pod;

use crate::image::{Digest, running_digest};

/// Where a workload's rollout stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    Done,
    Waiting(String),
    Failed(String),
}

/// `kubectl rollout status` for a StatefulSet with the RollingUpdate strategy.
pub fn statefulset_progress(sts: &StatefulSet) -> Progress {
    let generation = sts.metadata.generation.unwrap_or(0);
    let status = sts.status.clone().unwrap_or_default();
    let observed = status.observed_generation.unwrap_or(0);
    if observed == 0 || generation > observed {
        return Progress::Waiting("waiting for the spec update to be observed".into());
    }
    let replicas = sts.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let ready = status.ready_replicas.unwrap_or(0);
    if ready < replicas {
        return Progress::Waiting(format!("{ready}/{replicas} pods ready"));
    }
    if status.update_revision != status.current_revision {
        let updated = status.updated_replicas.unwrap_or(0);
        return Progress::Waiting(format!("{updated}/{replicas} pods at the new revision"));
    }
    Progress::Done
}

/// `kubectl rollout status` for a Deployment.
pub fn deployment_progress(deployment: &Deployment) -> Progress {
    let generation = deployment.metadata.generation.unwrap_or(0);
    let status = deployment.status.clone().unwrap_or_default();
    if generation > status.observed_generation.unwrap_or(0) {
        return Progress::Waiting("waiting for the spec update to be observed".into());
    }
    let deadline_exceeded = status.conditions.iter().flatten().any(|c| {
        c.type_ == "Progressing" && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
    });
    if deadline_exceeded {
        return Progress::Failed("the Deployment exceeded its progress deadline".into());
    }
    let replicas = deployment
        .spec
        .as_ref()
        .and_then(|s| s.replicas)
        .unwrap_or(1);
    let updated = status.updated_replicas.unwrap_or(0);
    let total = status.replicas.unwrap_or(0);
    let available = status.available_replicas.unwrap_or(0);
    if updated < replicas {
        return Progress::Waiting(format!("{updated}/{replicas} pods updated"));
    }
    if total > updated {
        return Progress::Waiting(format!("{} old pods terminating", total - updated));
    }
    if available < updated {
        return Progress::Waiting(format!("{available}/{updated} pods available"));
    }
    Progress::Done
}

/// Why a pod will not become ready without someone changing something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodFailure {
    pub pod: String,
    pub container: String,
    pub reason: String,
    pub message: String,
    pub restarts: i32,
    /// Whether the container has run before, so its previous log tells why it died.
    pub has_previous: bool,
}

/// Container states that mean the pod is stuck until something is fixed.
const STUCK_WAITING: &[&str] = &[
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "CreateContainerConfigError",
    "CreateContainerError",
    "InvalidImageName",
    "RunContainerError",
];

/// The first stuck container of `pod`, if any.
pub fn pod_failure(pod: &Pod) -> Option<PodFailure> {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let status = pod.status.as_ref()?;
    let statuses = status
        .init_container_statuses
        .iter()
        .flatten()
        .chain(status.container_statuses.iter().flatten());
    for container in statuses {
        let waiting = container.state.as_ref().and_then(|s| s.waiting.as_ref());
        let last = container
            .last_state
            .as_ref()
            .and_then(|s| s.terminated.as_ref());
        let terminated = container.state.as_ref().and_then(|s| s.terminated.as_ref());
        let oom = [terminated, last]
            .into_iter()
            .flatten()
            .any(|t| t.reason.as_deref() == Some("OOMKilled"));
        let failure = |reason: String, message: String| PodFailure {
            pod: name.clone(),
            container: container.name.clone(),
            reason,
            message,
            restarts: container.restart_count,
            has_previous: container.restart_count > 0 || last.is_some(),
        };
        if let Some(reason) = waiting.and_then(|w| w.reason.as_deref())
            && STUCK_WAITING.contains(&reason)
        {
            let mut message = waiting.and_then(|w| w.message.clone()).unwrap_or_default();
            if oom {
                message = format!("OOMKilled: the container exceeded its memory limit. {message}");
            } else if let Some(last) = last {
                let code = last.exit_code;
                let detail = last
                    .message
                    .clone()
                    .or(last.reason.clone())
                    .unwrap_or_default();
                message = format!(
                    "{message} (last exit code {code}{})",
                    if detail.is_empty() {
                        String::new()
                    } else {
                        format!(": {detail}")
                    }
                );
            }
            return Some(failure(reason.to_string(), message.trim().to_string()));
        }
        if oom && container.restart_count > 0 {
            return Some(failure(
                "OOMKilled".to_string(),
                "the container exceeded its memory limit — raise `memory_limit` in [resources] of cat.toml".to_string(),
            ));
        }
        // Exited again after a restart: a crash loop, though a real kubelet may take another
        // 10 s or more to say CrashLoopBackOff.
        if let Some(terminated) = terminated
            && container.restart_count > 0
        {
            let detail = terminated
                .message
                .clone()
                .or(terminated.reason.clone())
                .unwrap_or_default();
            // The container that just exited is the current one: its log has the last words
            // (the previous run's may be gone already).
            return Some(PodFailure {
                has_previous: false,
                ..failure(
                    "CrashLoopBackOff".to_string(),
                    format!(
                        "the container exited again after {} restart{} (last exit code {}{})",
                        container.restart_count,
                        if container.restart_count == 1 {
                            ""
                        } else {
                            "s"
                        },
                        terminated.exit_code,
                        if detail.is_empty() {
                            String::new()
                        } else {
                            format!(": {detail}")
                        }
                    ),
                )
            });
        }
    }
    None
}

/// Whether every container of `pod` runs `digest` (from `containerStatuses[].imageID`).
pub fn runs_digest(pod: &Pod, digest: &Digest) -> bool {
    let statuses = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref());
    match statuses {
        Some(statuses) if !statuses.is_empty() => statuses
            .iter()
            .all(|c| running_digest(&c.image_id).as_ref() == Some(digest)),
        _ => false,
    }
}

/// Whether `pod`'s own status says which image it runs: Ready, with every container's imageID
/// set. Until then a digest that differs is no evidence, only a pod status not yet seen.
pub fn reports_image(pod: &Pod) -> bool {
    let statuses = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref());
    is_ready(pod)
        && statuses.is_some_and(|s| !s.is_empty() && s.iter().all(|c| !c.image_id.is_empty()))
}

/// Whether `pod` is Ready.
pub fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|conditions| {
            conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml<T: serde::de::DeserializeOwned>(text: &str) -> T {
        serde_saphyr::from_str(text).unwrap()
    }

    #[test]
    fn statefulset_done_only_when_ready_and_on_the_update_revision() {
        let sts: StatefulSet = yaml(
            "metadata: {name: dd, generation: 2}
spec: {replicas: 1, serviceName: dd, selector: {}, template: {}}
status: {observedGeneration: 2, replicas: 1, readyReplicas: 1, updatedReplicas: 1,
         currentRevision: dd-1, updateRevision: dd-2}",
        );
        assert_eq!(
            statefulset_progress(&sts),
            Progress::Waiting("1/1 pods at the new revision".into())
        );
        let mut done = sts.clone();
        done.status.as_mut().unwrap().current_revision = Some("dd-2".into());
        assert_eq!(statefulset_progress(&done), Progress::Done);
        let mut stale = done.clone();
        stale.metadata.generation = Some(3);
        assert!(matches!(statefulset_progress(&stale), Progress::Waiting(_)));
    }

    #[test]
    fn deployment_waits_for_old_pods_and_fails_on_the_deadline() {
        let d: Deployment = yaml(
            "metadata: {name: coco, generation: 4}
spec: {replicas: 2, selector: {}, template: {}}
status: {observedGeneration: 4, replicas: 3, updatedReplicas: 2, availableReplicas: 2}",
        );
        assert_eq!(
            deployment_progress(&d),
            Progress::Waiting("1 old pods terminating".into())
        );
        let failed: Deployment = yaml(
            "metadata: {name: coco, generation: 1}
spec: {replicas: 1, selector: {}, template: {}}
status: {observedGeneration: 1, conditions: [{type: Progressing, status: 'False', reason: ProgressDeadlineExceeded}]}",
        );
        assert!(matches!(deployment_progress(&failed), Progress::Failed(_)));
    }

    #[test]
    fn crash_loops_and_pull_errors_are_failures() {
        let pod: Pod = yaml(
            "metadata: {name: lala-0}
status:
  containerStatuses:
  - name: lala
    image: x
    imageID: ''
    ready: false
    restartCount: 5
    state: {waiting: {reason: CrashLoopBackOff, message: 'back-off 5m0s restarting failed container'}}
    lastState: {terminated: {exitCode: 1, reason: Error}}",
        );
        let failure = pod_failure(&pod).unwrap();
        assert_eq!(failure.reason, "CrashLoopBackOff");
        assert!(failure.has_previous);
        assert!(
            failure.message.contains("last exit code 1"),
            "{}",
            failure.message
        );

        let pulling: Pod = yaml(
            "metadata: {name: tt-0}
status:
  containerStatuses:
  - {name: tt, image: x, imageID: '', ready: false, restartCount: 0,
     state: {waiting: {reason: ImagePullBackOff, message: 'Back-off pulling image'}}}",
        );
        let failure = pod_failure(&pulling).unwrap();
        assert_eq!(failure.reason, "ImagePullBackOff");
        assert!(!failure.has_previous);

        let creating: Pod = yaml(
            "metadata: {name: dd-0}
status:
  containerStatuses:
  - {name: dd, image: x, imageID: '', ready: false, restartCount: 0,
     state: {waiting: {reason: ContainerCreating}}}",
        );
        assert_eq!(pod_failure(&creating), None);
    }

    #[test]
    fn a_container_that_exits_again_after_a_restart_is_a_crash_loop() {
        // What a real kubelet shows for some seconds before it says CrashLoopBackOff.
        let again: Pod = yaml(
            "metadata: {name: lala-0}
status:
  containerStatuses:
  - {name: lala, image: x, imageID: '', ready: false, restartCount: 1,
     state: {terminated: {exitCode: 1, reason: Error}}}",
        );
        let failure = pod_failure(&again).unwrap();
        assert_eq!(failure.reason, "CrashLoopBackOff");
        assert!(
            !failure.has_previous,
            "its last words are in its current log"
        );
        assert!(
            failure.message.contains("exit code 1"),
            "{}",
            failure.message
        );
        // The first exit may be a one-off: the kubelet restarts it.
        let first: Pod = yaml(
            "metadata: {name: lala-0}
status:
  containerStatuses:
  - {name: lala, image: x, imageID: '', ready: false, restartCount: 0,
     state: {terminated: {exitCode: 1, reason: Error}}}",
        );
        assert_eq!(pod_failure(&first), None);
    }

    #[test]
    fn oom_kills_are_named() {
        let pod: Pod = yaml(
            "metadata: {name: dd-0}
status:
  containerStatuses:
  - {name: dd, image: x, imageID: '', ready: false, restartCount: 2,
     state: {running: {}}, lastState: {terminated: {exitCode: 137, reason: OOMKilled}}}",
        );
        assert_eq!(pod_failure(&pod).unwrap().reason, "OOMKilled");
    }

    fn digest(byte: &str) -> Digest {
        Digest::parse(&format!("sha256:{}", byte.repeat(32))).unwrap()
    }

    #[test]
    fn running_digest_comes_from_image_id() {
        let pod: Pod = yaml(
            &"metadata: {name: dd-0}
status:
  conditions: [{type: Ready, status: 'True'}]
  containerStatuses:
  - {name: dd, image: x, ready: true, restartCount: 0,
     imageID: 'docker-pullable://127.0.0.1:5000/dd@sha256:{ABC}'}"
                .replace("{ABC}", &"ab".repeat(32)),
        );
        assert!(runs_digest(&pod, &digest("ab")));
        assert!(!runs_digest(&pod, &digest("de")));
        assert!(is_ready(&pod));
        assert!(reports_image(&pod));
    }

    #[test]
    fn a_pod_not_yet_ready_has_not_reported_its_image() {
        // What the pods watch can still hold when the StatefulSet watch already says ready.
        let pulling: Pod = yaml(
            "metadata: {name: dd-0}
status:
  containerStatuses:
  - {name: dd, image: x, imageID: '', ready: false, restartCount: 0,
     state: {waiting: {reason: ContainerCreating}}}",
        );
        assert!(!runs_digest(&pulling, &digest("ab")));
        assert!(!reports_image(&pulling));
    }
}
