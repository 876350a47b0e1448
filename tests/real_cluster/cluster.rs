//! The real cluster: found from the environment, driven with kubectl, audited through the API
//! server's audit log.

use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The cluster of scripts/real-cluster.sh.
#[derive(Debug)]
pub struct Real {
    pub kubeconfig: PathBuf,
    /// The script's state directory: holds `audit.log`.
    pub dir: PathBuf,
}

/// The real cluster, or `None` (after printing why) when this run has none. Under `CI=true` a
/// missing cluster is a failure, not a skip.
pub fn real() -> Option<&'static Real> {
    static REAL: OnceLock<Option<Real>> = OnceLock::new();
    let found = REAL.get_or_init(|| {
        let kubeconfig = std::env::var_os("CATCTL_REAL_CLUSTER").map(PathBuf::from)?;
        let dir = std::env::var_os("CATCTL_REAL_CLUSTER_DIR")
            .map(PathBuf::from)
            .or_else(|| kubeconfig.parent().map(PathBuf::from))?;
        Some(Real { kubeconfig, dir })
    });
    if found.is_none() {
        let why = "no real cluster: CATCTL_REAL_CLUSTER is not set — run \
                   `scripts/real-cluster.sh build && scripts/real-cluster.sh start` and \
                   `eval \"$(scripts/real-cluster.sh env)\"` (scripts/test.sh does this)";
        if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
            panic!("{why}");
        }
        eprintln!("note: skipping a real-cluster test: {why}");
    }
    found.as_ref()
}

/// Starts a test body only when the real cluster is there (see [`real`]).
macro_rules! real_cluster {
    () => {
        match $crate::cluster::real() {
            Some(real) => real,
            None => return,
        }
    };
}
pub(crate) use real_cluster;

impl Real {
    pub fn kubectl_command(&self, namespace: Option<&str>, args: &[&str]) -> Command {
        let mut cmd = Command::new("kubectl");
        cmd.env("KUBECONFIG", &self.kubeconfig)
            .arg("--request-timeout=30s");
        if let Some(ns) = namespace {
            cmd.args(["-n", ns]);
        }
        cmd.args(args);
        cmd
    }

    pub fn kubectl(&self, namespace: Option<&str>, args: &[&str]) -> Output {
        self.kubectl_command(namespace, args)
            .output()
            .expect("kubectl runs")
    }

    /// Runs kubectl and insists it succeeds; returns stdout.
    pub fn kubectl_ok(&self, namespace: Option<&str>, args: &[&str]) -> String {
        let output = self.kubectl(namespace, args);
        assert!(
            output.status.success(),
            "kubectl {args:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    pub fn get_json(&self, namespace: Option<&str>, what: &[&str]) -> Value {
        let mut args = vec!["get"];
        args.extend(what);
        args.extend(["-o", "json"]);
        serde_json::from_str(&self.kubectl_ok(namespace, &args)).expect("kubectl prints JSON")
    }

    fn audit_path(&self) -> PathBuf {
        self.dir.join("audit.log")
    }

    /// A position in the audit log: writes after it are [`Real::writes_since`].
    pub fn audit_mark(&self) -> u64 {
        std::fs::metadata(self.audit_path())
            .map(|m| m.len())
            .unwrap_or(0)
    }

    /// Every write request (create, update, patch, delete) the API server audited in `namespace`
    /// since `mark`. A sentinel write is made first and awaited in the log, so nothing the
    /// server already answered can be missing.
    pub fn writes_since(&self, mark: u64, namespace: &str) -> Vec<Value> {
        static SENTINEL: AtomicU32 = AtomicU32::new(0);
        let sentinel = format!(
            "audit-sentinel-{}-{}",
            std::process::id(),
            SENTINEL.fetch_add(1, Ordering::SeqCst)
        );
        self.kubectl_ok(Some(namespace), &["create", "configmap", &sentinel]);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let events = self.audit_events(mark);
            let seen = events.iter().any(|e| {
                e["objectRef"]["resource"] == "configmaps"
                    && e["objectRef"]["name"] == sentinel.as_str()
            });
            if seen {
                return events
                    .into_iter()
                    .filter(|e| e["objectRef"]["namespace"] == namespace)
                    .filter(|e| {
                        !e["objectRef"]["name"]
                            .as_str()
                            .is_some_and(|n| n.starts_with("audit-sentinel-"))
                    })
                    .collect();
            }
            assert!(
                Instant::now() < deadline,
                "the audit log {} never showed the sentinel write",
                self.audit_path().display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn audit_events(&self, mark: u64) -> Vec<Value> {
        let mut file = std::fs::File::open(self.audit_path()).expect("the audit log exists");
        file.seek(SeekFrom::Start(mark)).unwrap();
        let mut text = String::new();
        file.read_to_string(&mut text).unwrap();
        text.lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .collect()
    }
}

/// "verb resource name (user)" of an audit event, for messages.
pub fn describe(event: &Value) -> String {
    format!(
        "{} {}/{} by {}",
        event["verb"].as_str().unwrap_or("?"),
        event["objectRef"]["resource"].as_str().unwrap_or("?"),
        event["objectRef"]["name"].as_str().unwrap_or("?"),
        event["user"]["username"].as_str().unwrap_or("?")
    )
}
