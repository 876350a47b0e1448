//! A stateful fake Kubernetes API server for catctl's tests, judged by the real `kubectl`.
//!
//! ```no_run
//! # async fn demo() {
//! use fake_kube::{Config, FakeKube, PodScript};
//! let fake = FakeKube::start(Config::default()).await.unwrap();
//! fake.script("lala", PodScript::crash_loop(["Error: Specify $LALA_TOKEN in environment"]));
//! // KUBECONFIG=fake.kubeconfig() kubectl get pods …
//! assert_eq!(fake.writes(), 0);
//! # }
//! ```
//!
//! Everything runs in-process: an HTTP/1.1 server on 127.0.0.1 (plain http) and one task that
//! plays control plane and kubelet. Pods are scripted by image or `app` label (see [`PodScript`]).

mod controllers;
mod defaults;
mod kubelet;
mod logs;
mod patch;
mod proto;
mod resources;
mod script;
mod selectors;
mod server;
mod ssa;
mod status;
mod table;
mod validate;
mod world;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::Notify;

pub use script::{Behaviour, PodScript};

use server::Shared;
use world::World;

/// Timings of the fake cluster; short by default so tests are fast.
#[derive(Debug, Clone)]
pub struct Config {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// How long a healthy container runs before it is Ready.
    pub ready_after: Duration,
    /// How long a deleted pod stays Terminating (its containers still running).
    pub pod_termination: Duration,
    /// How long a crash-looping container runs before it exits.
    pub crash_after: Duration,
    /// The first CrashLoopBackOff delay; it doubles per restart up to 16×.
    pub crash_backoff: Duration,
    /// How long ErrImagePull lasts before ImagePullBackOff, and the back-off between pulls.
    pub pull_backoff: Duration,
    /// How often the controllers and the kubelet run when nothing wakes them.
    pub tick: Duration,
    /// Time limit of one registry lookup.
    pub registry_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            port: 0,
            ready_after: Duration::from_millis(100),
            pod_termination: Duration::from_millis(300),
            crash_after: Duration::from_millis(50),
            crash_backoff: Duration::from_millis(200),
            pull_backoff: Duration::from_millis(200),
            tick: Duration::from_millis(20),
            registry_timeout: Duration::from_secs(3),
        }
    }
}

/// A running fake API server. Dropping it stops the server and the controllers.
pub struct FakeKube {
    shared: Arc<Shared>,
    addr: SocketAddr,
    kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl FakeKube {
    /// Starts the server and the controllers on the current tokio runtime.
    pub async fn start(config: Config) -> std::io::Result<FakeKube> {
        let listener = TcpListener::bind(("127.0.0.1", config.port)).await?;
        let addr = listener.local_addr()?;
        let tick = config.tick;
        let shared = Arc::new(Shared {
            world: Mutex::new(World::new(config)),
            counters: Mutex::new(BTreeMap::new()),
            wake: Notify::new(),
        });
        let dir = tempfile::tempdir()?;
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(&kubeconfig, kubeconfig_text(&format!("http://{addr}")))?;
        let accept = tokio::spawn(serve(listener, shared.clone()));
        let control = tokio::spawn(control_loop(shared.clone(), tick));
        Ok(FakeKube {
            shared,
            addr,
            kubeconfig,
            _dir: dir,
            tasks: vec![accept, control],
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A kubeconfig file whose current context (`fake`, namespace `default`) points here.
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// Scripts every container whose image (full reference, reference without digest, or
    /// repository name such as `lala`) or whose pod's `app` label equals `target`.
    /// Applies to containers started from now on (and to the current state of running ones).
    pub fn script(&self, target: &str, script: PodScript) {
        self.shared
            .world()
            .scripts
            .insert(target.to_string(), script);
        self.shared.wake.notify_one();
    }

    /// Requests served, by `"<verb> <resource>"`, e.g. `"patch statefulsets"`, `"get pods/log"`.
    /// Verbs: get, list, watch, create, update, patch, delete, deletecollection.
    pub fn requests(&self) -> BTreeMap<String, u64> {
        self.shared
            .counters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Requests of one verb on one resource.
    pub fn count(&self, verb: &str, resource: &str) -> u64 {
        self.requests()
            .get(&format!("{verb} {resource}"))
            .copied()
            .unwrap_or(0)
    }

    /// All requests that can change state: create, update, patch, delete, deletecollection.
    pub fn writes(&self) -> u64 {
        self.requests()
            .iter()
            .filter(|(k, _)| {
                let verb = k.split(' ').next().unwrap_or_default();
                matches!(
                    verb,
                    "create" | "update" | "patch" | "delete" | "deletecollection"
                )
            })
            .map(|(_, n)| n)
            .sum()
    }

    pub fn reset_requests(&self) {
        self.shared
            .counters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// One stored object, e.g. `get("pods", "default", "dd-0")`; cluster-scoped with ns "".
    pub fn get(&self, plural: &str, namespace: &str, name: &str) -> Option<Value> {
        let res = resources::RESOURCES
            .iter()
            .position(|r| r.plural == plural)?;
        self.shared
            .world()
            .get(&world::Key::new(res, namespace, name))
            .cloned()
    }

    /// All stored objects of a resource, in one namespace or (None) all.
    pub fn list(&self, plural: &str, namespace: Option<&str>) -> Vec<Value> {
        match resources::RESOURCES.iter().position(|r| r.plural == plural) {
            Some(res) => self.shared.world().list_cloned(res, namespace),
            None => vec![],
        }
    }

    /// Stores an object directly (as a controller would, no request counted).
    pub fn insert(&self, object: Value) -> Result<Value, String> {
        let api_version = object["apiVersion"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let kind = object["kind"].as_str().unwrap_or_default().to_string();
        let res = resources::find_kind(&api_version, &kind)
            .ok_or(format!("unknown kind {api_version} {kind}"))?;
        let mut world = self.shared.world();
        let created = world
            .create(res, object, &world::WriteOpts::controller())
            .map_err(|e| e.message)?;
        self.shared.wake.notify_one();
        Ok(created)
    }

    /// Every change from now on, in order, as a watch of all resources would see it:
    /// `(type, resource plural, object)`, type being ADDED, MODIFIED or DELETED.
    pub fn changes(&self) -> tokio::sync::mpsc::UnboundedReceiver<(String, String, Value)> {
        let mut rx = self.shared.world().changes.subscribe();
        let (tx, out) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok(change) = rx.recv().await {
                let item = (
                    change.kind.as_str().to_string(),
                    change.key.def().plural.to_string(),
                    change.object.clone(),
                );
                if tx.send(item).is_err() {
                    return;
                }
            }
        });
        out
    }

    /// Waits until `check` holds for the stored pods of a namespace, or the timeout passes.
    pub async fn wait_for_pods(
        &self,
        namespace: &str,
        timeout: Duration,
        check: impl Fn(&[Value]) -> bool,
    ) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if check(&self.list("pods", Some(namespace))) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for FakeKube {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

pub fn kubeconfig_text(server: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: {server}\n\
         contexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\n    namespace: default\n\
         current-context: fake\nusers:\n- name: fake\n  user: {{}}\npreferences: {{}}\n"
    )
}

async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let connections = Arc::new(Mutex::new(Vec::<tokio::task::AbortHandle>::new()));
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let shared = shared.clone();
        let service = service_fn(move |req| server::handle(shared.clone(), req));
        let task = tokio::spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
        let mut list = connections.lock().unwrap_or_else(|e| e.into_inner());
        list.retain(|t| !t.is_finished());
        list.push(task.abort_handle());
    }
}

/// How often the controllers look at every workload, changed or not (for what only time
/// changes: a Deployment's progress deadline).
const FULL_PASS: Duration = Duration::from_millis(100);

async fn control_loop(shared: Arc<Shared>, tick: Duration) {
    // Between full passes, the controllers look only at the workloads that changed since their
    // last pass (their own writes included): passing over 100 idle StatefulSets after every
    // write kept a core busy and the world locked.
    let mut seen = 0;
    let mut last_full = Instant::now();
    loop {
        let lookups = {
            let mut world = shared.world();
            let now = Instant::now();
            let scope = if now.duration_since(last_full) >= FULL_PASS {
                last_full = now;
                Some(controllers::Scope::All)
            } else {
                controllers::Scope::since(&world, seen)
            };
            seen = world.rv();
            if let Some(scope) = scope {
                controllers::tick(&mut world, now, &scope);
            }
            let lookups = kubelet::tick(&mut world, now);
            if let Some(scope) = controllers::Scope::since(&world, seen) {
                seen = world.rv();
                controllers::tick(&mut world, now, &scope);
            }
            lookups
        };
        for image in lookups {
            let shared = shared.clone();
            let timeout = shared.world().config.registry_timeout;
            tokio::spawn(async move {
                let state = kubelet::look_up(&image, timeout).await;
                shared.world().images.insert(image, state);
                shared.wake.notify_one();
            });
        }
        tokio::select! {
            _ = shared.wake.notified() => tokio::time::sleep(Duration::from_millis(2)).await,
            _ = tokio::time::sleep(tick) => {}
        }
    }
}
