//! The kubelet of the one fake node: schedules pods, mounts Secrets, pulls images from the real
//! test registry, runs containers as their script says (ready, crash loop, never ready), writes
//! logs, events and pod status.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::script::{Behaviour, PodScript};
use crate::world::{Key, World, res_of, timestamp};

/// What the registry said about an image reference.
#[derive(Debug, Clone)]
pub enum ImageState {
    Checking,
    Present { image_id: String },
    Missing { message: String },
}

#[derive(Debug, Clone, PartialEq)]
enum Phase {
    Creating,
    PullFailed(String),
    PullBackOff,
    ConfigError(String),
    Running,
    CrashBackOff,
}

#[derive(Debug, Clone)]
struct Container {
    name: String,
    image: String,
    phase: Phase,
    next: Instant,
    restarts: i64,
    last_terminated: Option<Value>,
    image_id: String,
    container_id: String,
    started_ts: String,
    running_since: Option<Instant>,
    ready_at: Option<Instant>,
    next_tick: Option<Instant>,
    ticks: u64,
    pulling_announced: bool,
    config_event: Option<Instant>,
}

/// The kubelet's memory of one pod, by uid.
#[derive(Debug, Clone)]
pub struct PodRuntime {
    containers: Vec<Container>,
    scheduled_ts: String,
    terminate_at: Option<Instant>,
    mount_event: Option<Instant>,
    sandbox: bool,
    ip: String,
    transitions: Vec<(String, String, String)>,
}

fn container_id(seed: &str) -> String {
    let a = crate::world::fnv(seed);
    let b = crate::world::fnv(&format!("{a}x"));
    format!("containerd://{a:016x}{b:016x}{a:016x}{b:016x}")
}

/// Runs one kubelet pass over every pod. Returns image references to look up in the registry.
pub fn tick(world: &mut World, now: Instant) -> Vec<String> {
    let mut lookups = Vec::new();
    for pod in world.list_cloned(res_of("pods"), None) {
        sync_pod(world, pod, now, &mut lookups);
    }
    lookups
}

fn sync_pod(world: &mut World, mut pod: Value, now: Instant, lookups: &mut Vec<String>) {
    let key = Key::of(res_of("pods"), &pod);
    let uid = pod["metadata"]["uid"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let config = world.config.clone();
    if !world.pods.contains_key(&uid) {
        let containers = pod["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| Container {
                name: c["name"].as_str().unwrap_or_default().into(),
                image: c["image"].as_str().unwrap_or_default().into(),
                phase: Phase::Creating,
                next: now,
                restarts: 0,
                last_terminated: None,
                image_id: String::new(),
                container_id: String::new(),
                started_ts: String::new(),
                running_since: None,
                ready_at: None,
                next_tick: None,
                ticks: 0,
                pulling_announced: false,
                config_event: None,
            })
            .collect();
        let n = world.pods.len() as u64 % 250 + 2;
        world.pods.insert(
            uid.clone(),
            PodRuntime {
                containers,
                scheduled_ts: timestamp(),
                terminate_at: None,
                mount_event: None,
                sandbox: false,
                ip: format!("10.244.0.{n}"),
                transitions: vec![],
            },
        );
        let logs = world.logs.entry(uid.clone()).or_default();
        logs.gone = false;
    }
    if pod["metadata"]["deletionTimestamp"].is_string() {
        terminate(world, &key, &pod, &uid, now, config.pod_termination);
        return;
    }
    if !pod["spec"]["nodeName"].is_string() {
        pod["spec"]["nodeName"] = json!("fake-node");
        world.put(&key, pod.clone());
        let Some(p) = world.get(&key).cloned() else {
            return;
        };
        pod = p;
        let message = format!("Successfully assigned {}/{} to fake-node", key.ns, key.name);
        world.event(&pod, "Normal", "Scheduled", &message, "default-scheduler");
    }
    let Some(mut rt) = world.pods.get(&uid).cloned() else {
        return;
    };

    if let Some((volume, secret)) = missing_secret_volume(world, &pod) {
        if rt
            .mount_event
            .is_none_or(|t| now >= t + Duration::from_secs(1))
        {
            rt.mount_event = Some(now);
            let message = format!(
                "MountVolume.SetUp failed for volume \"{volume}\" : secret \"{secret}\" not found"
            );
            world.event(&pod, "Warning", "FailedMount", &message, "kubelet");
        }
    } else {
        if !rt.sandbox
            && let Some(volume) = first_secret_volume(&pod)
        {
            // What a real kubelet (v1.34) reports while its watch of a new pod's Secret starts,
            // before it mounts it: a transient warning, not a failure.
            let message = format!(
                "MountVolume.SetUp failed for volume \"{volume}\" : failed to sync secret cache: \
                 timed out waiting for the condition"
            );
            world.event(&pod, "Warning", "FailedMount", &message, "kubelet");
        }
        rt.sandbox = true;
        let scripts: Vec<PodScript> = rt
            .containers
            .iter()
            .map(|c| world.script_for(&pod, &c.image))
            .collect();
        for (i, script) in scripts.iter().enumerate() {
            sync_container(world, &pod, &mut rt.containers[i], script, now, lookups);
        }
    }
    let status = pod_status(&pod, &mut rt, now);
    world.pods.insert(uid, rt);
    world.set_status(&key, status);
}

fn terminate(world: &mut World, key: &Key, pod: &Value, uid: &str, now: Instant, grace: Duration) {
    let Some(rt) = world.pods.get_mut(uid) else {
        return;
    };
    match rt.terminate_at {
        None => {
            rt.terminate_at = Some(now + grace);
            let running: Vec<String> = rt
                .containers
                .iter()
                .filter(|c| c.phase == Phase::Running)
                .map(|c| c.name.clone())
                .collect();
            for name in running {
                world.event(
                    pod,
                    "Normal",
                    "Killing",
                    &format!("Stopping container {name}"),
                    "kubelet",
                );
            }
        }
        Some(at) if now >= at => {
            world.remove(key);
        }
        Some(_) => {}
    }
}

fn first_secret_volume(pod: &Value) -> Option<String> {
    pod["spec"]["volumes"]
        .as_array()?
        .iter()
        .find(|v| v["secret"]["secretName"].is_string())
        .and_then(|v| v["name"].as_str())
        .map(str::to_string)
}

fn missing_secret_volume(world: &World, pod: &Value) -> Option<(String, String)> {
    let ns = pod["metadata"]["namespace"].as_str().unwrap_or_default();
    for volume in pod["spec"]["volumes"].as_array().into_iter().flatten() {
        let secret = &volume["secret"];
        if let Some(name) = secret["secretName"].as_str()
            && secret["optional"] != true
            && world.get(&Key::new(res_of("secrets"), ns, name)).is_none()
        {
            return Some((
                volume["name"].as_str().unwrap_or_default().into(),
                name.into(),
            ));
        }
    }
    None
}

/// The CreateContainerConfigError message for env that names a missing Secret or key.
fn env_problem(world: &World, pod: &Value, container: &str) -> Option<String> {
    let ns = pod["metadata"]["namespace"].as_str().unwrap_or_default();
    let spec = pod["spec"]["containers"]
        .as_array()?
        .iter()
        .find(|c| c["name"] == container)?;
    let secret = |name: &str| world.get(&Key::new(res_of("secrets"), ns, name));
    for env in spec["env"].as_array().into_iter().flatten() {
        let r = &env["valueFrom"]["secretKeyRef"];
        let Some(name) = r["name"].as_str() else {
            continue;
        };
        if r["optional"] == true {
            continue;
        }
        let key = r["key"].as_str().unwrap_or_default();
        match secret(name) {
            None => return Some(format!("secret \"{name}\" not found")),
            Some(s) if s["data"].get(key).is_none() => {
                return Some(format!("couldn't find key {key} in Secret {ns}/{name}"));
            }
            _ => {}
        }
    }
    for from in spec["envFrom"].as_array().into_iter().flatten() {
        if let Some(name) = from["secretRef"]["name"].as_str()
            && from["secretRef"]["optional"] != true
            && secret(name).is_none()
        {
            return Some(format!("secret \"{name}\" not found"));
        }
    }
    None
}

fn sync_container(
    world: &mut World,
    pod: &Value,
    c: &mut Container,
    script: &PodScript,
    now: Instant,
    lookups: &mut Vec<String>,
) {
    let config = world.config.clone();
    let uid = pod["metadata"]["uid"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let pod_name = pod["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let ns = pod["metadata"]["namespace"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    match c.phase.clone() {
        Phase::Creating | Phase::ConfigError(_) => {
            if c.image_id.is_empty() {
                match world.images.get(&c.image).cloned() {
                    None => {
                        world.images.insert(c.image.clone(), ImageState::Checking);
                        lookups.push(c.image.clone());
                        announce_pull(world, pod, c);
                    }
                    Some(ImageState::Checking) => announce_pull(world, pod, c),
                    Some(ImageState::Missing { message }) => {
                        let text = format!("Failed to pull image \"{}\": {message}", c.image);
                        world.event(pod, "Warning", "Failed", &text, "kubelet");
                        world.event(pod, "Warning", "Failed", "Error: ErrImagePull", "kubelet");
                        c.phase = Phase::PullFailed(message);
                        c.next = now + config.pull_backoff;
                        c.pulling_announced = false;
                    }
                    Some(ImageState::Present { image_id }) => {
                        c.image_id = image_id;
                        let text = format!(
                            "Successfully pulled image \"{}\" in 5ms (5ms including waiting). Image size: 0 bytes.",
                            c.image
                        );
                        world.event(pod, "Normal", "Pulled", &text, "kubelet");
                    }
                }
            }
            if c.image_id.is_empty() {
                return;
            }
            if let Some(problem) = env_problem(world, pod, &c.name) {
                if c.config_event
                    .is_none_or(|t| now >= t + Duration::from_secs(1))
                {
                    c.config_event = Some(now);
                    world.event(
                        pod,
                        "Warning",
                        "Failed",
                        &format!("Error: {problem}"),
                        "kubelet",
                    );
                }
                c.phase = Phase::ConfigError(problem);
                return;
            }
            start(world, &uid, c, script, now);
            world.event(
                pod,
                "Normal",
                "Created",
                &format!("Created container: {}", c.name),
                "kubelet",
            );
            world.event(
                pod,
                "Normal",
                "Started",
                &format!("Started container {}", c.name),
                "kubelet",
            );
        }
        Phase::PullFailed(_) if now >= c.next => {
            c.phase = Phase::PullBackOff;
            c.next = now + config.pull_backoff * 2;
            let text = format!("Back-off pulling image \"{}\"", c.image);
            world.event(pod, "Normal", "BackOff", &text, "kubelet");
            world.event(
                pod,
                "Warning",
                "Failed",
                "Error: ImagePullBackOff",
                "kubelet",
            );
        }
        Phase::PullBackOff if now >= c.next => {
            if matches!(world.images.get(&c.image), Some(ImageState::Missing { .. })) {
                world.images.remove(&c.image);
            }
            c.phase = Phase::Creating;
        }
        Phase::Running => {
            let since = c.running_since.unwrap_or(now);
            if let Some(every) = script.every.as_ref().map(|(d, _)| *d) {
                let logs = world.logs.entry(uid.clone()).or_default();
                while c.next_tick.is_some_and(|t| t <= now) {
                    c.ticks += 1;
                    let template = script
                        .every
                        .as_ref()
                        .map(|(_, l)| l.clone())
                        .unwrap_or_default();
                    logs.push(&c.name, template.replace("{n}", &c.ticks.to_string()));
                    c.next_tick = c.next_tick.map(|t| t + every);
                }
            }
            match script.behaviour {
                Behaviour::CrashLoop { exit_code } if now >= since + config.crash_after => {
                    let finished = timestamp();
                    c.last_terminated = Some(json!({"terminated": {
                        "exitCode": exit_code, "reason": "Error",
                        "startedAt": c.started_ts, "finishedAt": finished,
                        "containerID": c.container_id}}));
                    c.restarts += 1;
                    c.phase = Phase::CrashBackOff;
                    c.ready_at = None;
                    let factor = 1u32 << (c.restarts.clamp(1, 5) - 1);
                    c.next = now + config.crash_backoff * factor;
                    world.logs.entry(uid.clone()).or_default().end_run(&c.name);
                    let text = format!(
                        "Back-off restarting failed container {} in pod {pod_name}_{ns}({uid})",
                        c.name
                    );
                    world.event(pod, "Warning", "BackOff", &text, "kubelet");
                }
                Behaviour::Healthy if c.ready_at.is_none() => {
                    let ready_after = script.ready_after.unwrap_or(config.ready_after);
                    if now >= since + ready_after {
                        c.ready_at = Some(now);
                    }
                }
                _ => {}
            }
        }
        Phase::CrashBackOff if now >= c.next => {
            start(world, &uid, c, script, now);
            world.event(
                pod,
                "Normal",
                "Pulled",
                &format!("Container image \"{}\" already present on machine", c.image),
                "kubelet",
            );
            world.event(
                pod,
                "Normal",
                "Started",
                &format!("Started container {}", c.name),
                "kubelet",
            );
        }
        _ => {}
    }
}

fn announce_pull(world: &mut World, pod: &Value, c: &mut Container) {
    if !c.pulling_announced {
        c.pulling_announced = true;
        world.event(
            pod,
            "Normal",
            "Pulling",
            &format!("Pulling image \"{}\"", c.image),
            "kubelet",
        );
    }
}

fn start(world: &mut World, uid: &str, c: &mut Container, script: &PodScript, now: Instant) {
    c.phase = Phase::Running;
    c.running_since = Some(now);
    c.started_ts = timestamp();
    c.container_id = container_id(&format!("{uid}/{}/{}", c.name, c.restarts));
    c.next_tick = script.every.as_ref().map(|(d, _)| now + *d);
    let logs = world.logs.entry(uid.to_string()).or_default();
    logs.start_run(&c.name);
    let lines = if script.log.is_empty() {
        vec![
            format!("{} starting (image {})", c.name, c.image),
            format!("{} ready", c.name),
        ]
    } else {
        script.log.clone()
    };
    for line in lines {
        logs.push(&c.name, line);
    }
}

fn container_status(pod: &Value, c: &Container) -> Value {
    let pod_name = pod["metadata"]["name"].as_str().unwrap_or_default();
    let ns = pod["metadata"]["namespace"].as_str().unwrap_or_default();
    let uid = pod["metadata"]["uid"].as_str().unwrap_or_default();
    let state = match &c.phase {
        Phase::Creating => json!({"waiting": {"reason": "ContainerCreating"}}),
        Phase::PullFailed(m) => json!({"waiting": {"reason": "ErrImagePull", "message": m}}),
        Phase::PullBackOff => json!({"waiting": {"reason": "ImagePullBackOff",
            "message": format!("Back-off pulling image \"{}\"", c.image)}}),
        Phase::ConfigError(m) => {
            json!({"waiting": {"reason": "CreateContainerConfigError", "message": m}})
        }
        Phase::Running => json!({"running": {"startedAt": c.started_ts}}),
        Phase::CrashBackOff => {
            let secs = 10 * (1u64 << (c.restarts.clamp(1, 5) - 1));
            json!({"waiting": {"reason": "CrashLoopBackOff", "message": format!(
                "back-off {secs}s restarting failed container={} pod={pod_name}_{ns}({uid})", c.name)}})
        }
    };
    let mut status = json!({
        "name": c.name,
        "image": c.image,
        "imageID": c.image_id,
        "ready": c.ready_at.is_some(),
        "started": c.phase == Phase::Running,
        "restartCount": c.restarts,
        "state": state,
        "lastState": c.last_terminated.clone().unwrap_or(json!({})),
    });
    if !c.container_id.is_empty() {
        status["containerID"] = json!(c.container_id);
    }
    status
}

fn pod_status(pod: &Value, rt: &mut PodRuntime, _now: Instant) -> Value {
    let statuses: Vec<Value> = rt
        .containers
        .iter()
        .map(|c| container_status(pod, c))
        .collect();
    let all_ready = !rt.containers.is_empty() && rt.containers.iter().all(|c| c.ready_at.is_some());
    let all_started = rt
        .containers
        .iter()
        .all(|c| c.restarts > 0 || c.phase == Phase::Running);
    let unready: Vec<&str> = rt
        .containers
        .iter()
        .filter(|c| c.ready_at.is_none())
        .map(|c| c.name.as_str())
        .collect();
    let old = &pod["status"]["conditions"];
    let mut condition = |kind: &str, ok: bool, reason: Option<String>, message: Option<String>| {
        let status = if ok { "True" } else { "False" };
        let previous = old
            .as_array()
            .and_then(|l| l.iter().find(|c| c["type"] == kind))
            .filter(|c| c["status"] == status)
            .and_then(|c| c["lastTransitionTime"].as_str().map(String::from));
        let time = previous.unwrap_or_else(timestamp);
        rt.transitions
            .push((kind.into(), status.into(), time.clone()));
        let mut cond = json!({"type": kind, "status": status, "lastProbeTime": null, "lastTransitionTime": time});
        if let Some(r) = reason {
            cond["reason"] = json!(r);
        }
        if let Some(m) = message {
            cond["message"] = json!(m);
        }
        cond
    };
    let not_ready_msg = format!("containers with unready status: [{}]", unready.join(" "));
    let conditions = vec![
        condition("PodReadyToStartContainers", rt.sandbox, None, None),
        condition("Initialized", true, None, None),
        condition(
            "Ready",
            all_ready,
            (!all_ready).then(|| "ContainersNotReady".into()),
            (!all_ready).then(|| not_ready_msg.clone()),
        ),
        condition(
            "ContainersReady",
            all_ready,
            (!all_ready).then(|| "ContainersNotReady".into()),
            (!all_ready).then(|| not_ready_msg.clone()),
        ),
        condition("PodScheduled", true, None, None),
    ];
    rt.transitions.clear();
    let mut status = json!({
        "phase": if all_started { "Running" } else { "Pending" },
        "conditions": conditions,
        "hostIP": "10.0.0.1",
        "hostIPs": [{"ip": "10.0.0.1"}],
        "startTime": rt.scheduled_ts,
        "containerStatuses": statuses,
        "qosClass": "BestEffort",
    });
    if rt.sandbox {
        status["podIP"] = json!(rt.ip);
        status["podIPs"] = json!([{"ip": rt.ip}]);
    }
    status
}

/// Asks the registry in an image reference whether it has the tag or digest.
pub async fn look_up(image: &str, timeout: Duration) -> ImageState {
    let (host, name, reference) = split_image(image);
    let loopback =
        host.starts_with("127.") || host.starts_with("localhost") || host.starts_with("[::1]");
    if !loopback {
        let digest = crate::world::fnv(image);
        return ImageState::Present {
            image_id: format!(
                "{host}/{name}@sha256:{digest:016x}{digest:016x}{digest:016x}{digest:016x}"
            ),
        };
    }
    let url = format!("http://{host}/v2/{name}/manifests/{reference}");
    let not_found = || {
        format!(
            "rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": failed to \
             resolve reference \"{image}\": {image}: not found"
        )
    };
    match tokio::time::timeout(timeout, head(&url)).await {
        Ok(Ok((200, Some(digest)))) => ImageState::Present {
            image_id: format!("{host}/{name}@{digest}"),
        },
        Ok(Ok((404, _))) | Ok(Ok((200, None))) => ImageState::Missing {
            message: not_found(),
        },
        Ok(Ok((code, _))) => ImageState::Missing {
            message: format!(
                "rpc error: code = Unknown desc = failed to pull and unpack image \"{image}\": \
                 unexpected status from HEAD request to {url}: {code}"
            ),
        },
        Ok(Err(e)) => ImageState::Missing {
            message: format!(
                "rpc error: code = Unavailable desc = failed to pull and unpack image \"{image}\": \
                 failed to resolve reference \"{image}\": failed to do request: Head \"{url}\": {e}"
            ),
        },
        Err(_) => ImageState::Missing {
            message: format!(
                "rpc error: code = DeadlineExceeded desc = pulling image \"{image}\": timed out"
            ),
        },
    }
}

async fn head(url: &str) -> Result<(u16, Option<String>), String> {
    use http_body_util::Empty;
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    let client: Client<_, Empty<bytes::Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let request = http::Request::head(url)
        .header(
            "Accept",
            "application/vnd.docker.distribution.manifest.v2+json, \
             application/vnd.docker.distribution.manifest.list.v2+json, \
             application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json",
        )
        .body(Empty::new())
        .map_err(|e| e.to_string())?;
    let response = client.request(request).await.map_err(|e| {
        use std::error::Error;
        e.source()
            .map(|s| s.to_string())
            .unwrap_or_else(|| e.to_string())
    })?;
    let digest = response
        .headers()
        .get("Docker-Content-Digest")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    Ok((response.status().as_u16(), digest))
}

/// `127.0.0.1:5000/lala:v1@sha256:…` → (`127.0.0.1:5000`, `lala`, `sha256:…`).
pub fn split_image(image: &str) -> (String, String, String) {
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, Some(d.to_string())),
        None => (image, None),
    };
    let (host, path) = match rest.split_once('/') {
        Some((h, p)) if h.contains('.') || h.contains(':') || h == "localhost" => {
            (h.to_string(), p.to_string())
        }
        _ => ("docker.io".to_string(), rest.to_string()),
    };
    let path = if host == "docker.io" && !path.contains('/') {
        format!("library/{path}")
    } else {
        path
    };
    let (name, tag) = match path.rsplit_once(':') {
        Some((n, t)) if !t.contains('/') => (n.to_string(), t.to_string()),
        _ => (path.clone(), "latest".to_string()),
    };
    (host, name, digest.unwrap_or(tag))
}

/// The short repository name of an image: `127.0.0.1:5000/cats/lala:v1` → `lala`.
pub fn repo_name(image: &str) -> String {
    let (_, name, _) = split_image(image);
    name.rsplit('/').next().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references() {
        assert_eq!(
            split_image("127.0.0.1:5000/lala:v1"),
            ("127.0.0.1:5000".into(), "lala".into(), "v1".into())
        );
        assert_eq!(
            split_image("127.0.0.1:5000/cats/lala:v1@sha256:ab"),
            (
                "127.0.0.1:5000".into(),
                "cats/lala".into(),
                "sha256:ab".into()
            )
        );
        assert_eq!(
            split_image("busybox"),
            (
                "docker.io".into(),
                "library/busybox".into(),
                "latest".into()
            )
        );
        assert_eq!(repo_name("localhost:5000/cats/lala"), "lala");
    }
}
