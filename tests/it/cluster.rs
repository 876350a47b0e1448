//! A fake Kubernetes cluster per test: the project's fake API server (tests/fake-kube) running
//! on its own tokio runtime, so plain `#[test]`s can run the catctl binary against it.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ops::Deref;
use std::time::Duration;

use fake_kube::{Config, FakeKube};
use serde_json::Value;

use crate::common::wait_until;

pub struct Cluster {
    fake: FakeKube,
    runtime: tokio::runtime::Runtime,
}

impl Deref for Cluster {
    type Target = FakeKube;
    fn deref(&self) -> &FakeKube {
        &self.fake
    }
}

impl Cluster {
    pub fn start() -> Cluster {
        Cluster::with(Config::default())
    }

    pub fn with(config: Config) -> Cluster {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let fake = runtime
            .block_on(FakeKube::start(config))
            .expect("the fake API server starts");
        Cluster { fake, runtime }
    }

    /// The pods of a cat (label `app=<cat>`), Terminating ones included.
    pub fn pods_of(&self, cat: &str) -> Vec<Value> {
        self.list("pods", Some("default"))
            .into_iter()
            .filter(|p| p["metadata"]["labels"]["app"] == cat)
            .collect()
    }

    /// Runs `future` on the fake's runtime.
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// Every change the API server makes from now on (see `FakeKube::changes`).
    pub fn watch_changes(&self) -> tokio::sync::mpsc::UnboundedReceiver<(String, String, Value)> {
        let _entered = self.runtime.enter();
        self.fake.changes()
    }

    /// Whether the cat has no StatefulSet.
    pub fn sts_absent(&self, cat: &str) -> bool {
        self.get("statefulsets", "default", cat).is_none()
    }

    /// Writes by "verb resource", for asserting that a refusal wrote nothing.
    pub fn write_counts(&self) -> BTreeMap<String, u64> {
        self.requests()
            .into_iter()
            .filter(|(k, _)| {
                let verb = k.split(' ').next().unwrap_or_default();
                matches!(
                    verb,
                    "create" | "update" | "patch" | "delete" | "deletecollection"
                )
            })
            .collect()
    }

    /// Waits (bounded) until `check` holds; for test set-up only.
    #[track_caller]
    pub fn wait_for(&self, what: &str, timeout: Duration, check: impl Fn(&Cluster) -> bool) {
        wait_until(what, timeout, || check(self));
    }
}
