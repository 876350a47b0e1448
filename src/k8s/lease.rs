//! One deploy of a cat at a time: a `coordination.k8s.io` Lease per cat
//! (`catctl-deploy-<cat>`), taken before the first write and released at the end. The holder
//! renews it while it works; a lease left by a killed process expires. Waiting for another
//! holder watches the Lease (no polling) until it is released, expires or the deadline passes.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use futures::StreamExt as _;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::Api;
use kube::api::{ListParams, ObjectMeta, PostParams};
use kube::runtime::{WatchStreamExt as _, watcher};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::k8s::{self, Cluster};

/// How long a lease lasts without renewal.
const LEASE_SECONDS: i32 = 30;

/// A held deploy lock; renewed in the background until released.
pub struct DeployLock {
    api: Api<Lease>,
    name: String,
    holder: String,
    /// The Lease's resourceVersion as last written by this holder (the renewal updates it).
    version: Arc<Mutex<Option<String>>>,
    renewal: JoinHandle<()>,
    /// Whether the lock was taken at the first try, as the gate saw it: then nobody held it
    /// since the gate read the cats' histories, and no other deploy wrote one meanwhile.
    pub uncontended: bool,
}

pub fn lease_name(cat: &str) -> String {
    format!("catctl-deploy-{cat}")
}

/// Every deploy Lease of the namespace (catctl's label selector), by name, in one request.
/// Released leases stay (with no holder), so that a deploy's whole passage shows as a new
/// resourceVersion to any deploy that read the Lease before it.
pub async fn list(cluster: &Cluster) -> Result<BTreeMap<String, Lease>> {
    let api: Api<Lease> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let params = ListParams::default().labels(&k8s::managed_selector());
    let list = api
        .list(&params)
        .await
        .map_err(k8s::readable)
        .with_context(|| {
            format!(
                "listing the deploy locks in namespace {}",
                cluster.namespace
            )
        })?;
    Ok(list
        .items
        .into_iter()
        .filter_map(|l| Some((l.metadata.name.clone()?, l)))
        .collect())
}

/// Takes `cat`'s deploy lock as `holder`, waiting (and telling `on_wait` whom for) while
/// another deploy holds it, until `deadline`. `seen` is the Lease as the gate read it (`None`:
/// there was none): the first try is a write conditional on it — one request when nobody
/// took the lock since.
pub async fn acquire(
    cluster: &Cluster,
    cat: &str,
    holder: &str,
    deadline: Instant,
    seen: Option<&Lease>,
    on_wait: &(dyn Fn(&str) + Sync),
) -> Result<DeployLock> {
    let api: Api<Lease> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let name = lease_name(cat);
    let mut current = Some(seen.cloned());
    let mut first = true;
    loop {
        let now = jiff::Timestamp::now();
        let current = match current.take() {
            Some(seen) => seen,
            None => api.get_opt(&name).await.map_err(k8s::readable)?,
        };
        let taken = match &current {
            None => {
                api.create(&PostParams::default(), &lease(&name, holder, None))
                    .await
            }
            Some(existing) if free(existing, holder, now) => {
                let version = existing.metadata.resource_version.clone();
                api.replace(
                    &name,
                    &PostParams::default(),
                    &lease(&name, holder, version),
                )
                .await
            }
            Some(existing) => {
                first = false;
                let other = spec(existing).holder_identity.clone().unwrap_or_default();
                let expires = expiry(existing);
                on_wait(&format!(
                    "waiting for the deploy of {cat} by {other} to finish"
                ));
                let until = deadline.min(instant_of(expires, now));
                if Instant::now() >= deadline {
                    bail!(
                        "another deploy of {cat} holds its lock (Lease {name}, held by {other}) — \
                         wait for it to finish, or raise --timeout"
                    );
                }
                wait_for_change(&api, &name, existing, until).await;
                continue;
            }
        };
        match taken {
            Ok(taken) => {
                let version = Arc::new(Mutex::new(taken.metadata.resource_version));
                let renewal = tokio::spawn(renew(
                    api.clone(),
                    name.clone(),
                    holder.to_string(),
                    version.clone(),
                ));
                return Ok(DeployLock {
                    api,
                    name,
                    holder: holder.to_string(),
                    version,
                    renewal,
                    uncontended: first,
                });
            }
            // Someone else took it (or a deploy passed) since it was read: look again.
            Err(kube::Error::Api(status)) if status.code == 409 => {
                first = false;
                continue;
            }
            Err(err) => {
                return Err(k8s::readable(err).context(format!("taking the deploy lock {name}")));
            }
        }
    }
}

impl DeployLock {
    /// Gives the lock back (only if it is still ours): the Lease stays, without a holder. One
    /// write conditional on the version this holder last wrote; read again only if that fails.
    pub async fn release(self) {
        self.renewal.abort();
        let known = self.version.lock().map(|v| v.clone()).unwrap_or(None);
        let released = lease(&self.name, "", known);
        match self
            .api
            .replace(&self.name, &PostParams::default(), &released)
            .await
        {
            Err(kube::Error::Api(status)) if status.code == 409 => {}
            _ => return,
        }
        if let Ok(Some(current)) = self.api.get_opt(&self.name).await
            && spec(&current).holder_identity.as_deref() == Some(self.holder.as_str())
        {
            let released = lease(&self.name, "", current.metadata.resource_version);
            let _ = self
                .api
                .replace(&self.name, &PostParams::default(), &released)
                .await;
        }
    }
}

fn lease(name: &str, holder: &str, resource_version: Option<String>) -> Lease {
    let now = MicroTime(jiff::Timestamp::now());
    Lease {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            resource_version,
            labels: Some(
                [(
                    crate::labels::MANAGED_BY.to_string(),
                    crate::labels::MANAGED_BY_CATCTL.to_string(),
                )]
                .into(),
            ),
            ..ObjectMeta::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(holder.to_string()).filter(|h| !h.is_empty()),
            lease_duration_seconds: Some(LEASE_SECONDS),
            acquire_time: Some(now.clone()),
            renew_time: Some(now),
            ..LeaseSpec::default()
        }),
    }
}

fn spec(lease: &Lease) -> LeaseSpec {
    lease.spec.clone().unwrap_or_default()
}

/// When `lease` expires: its last renewal plus its duration.
fn expiry(lease: &Lease) -> jiff::Timestamp {
    let spec = spec(lease);
    let renewed = spec
        .renew_time
        .or(spec.acquire_time)
        .map_or(jiff::Timestamp::UNIX_EPOCH, |t| t.0);
    let seconds = i64::from(spec.lease_duration_seconds.unwrap_or(LEASE_SECONDS));
    renewed
        .checked_add(jiff::SignedDuration::from_secs(seconds))
        .unwrap_or(renewed)
}

/// Whether `holder` may take `lease`: it has no holder, is ours, or has expired.
fn free(lease: &Lease, holder: &str, now: jiff::Timestamp) -> bool {
    match spec(lease).holder_identity.as_deref() {
        None | Some("") => true,
        Some(current) if current == holder => true,
        Some(_) => expiry(lease) <= now,
    }
}

fn instant_of(at: jiff::Timestamp, now: jiff::Timestamp) -> Instant {
    let wait = at.duration_since(now);
    Instant::now() + Duration::try_from(wait).unwrap_or(Duration::ZERO)
}

/// Returns when the Lease changes (renewed, released, taken) or at `until`.
async fn wait_for_change(api: &Api<Lease>, name: &str, seen: &Lease, until: Instant) {
    let seen_version = seen.metadata.resource_version.clone();
    // The server ends the watch before the client's read timeout; the watcher resumes it.
    let config = watcher::Config::default()
        .fields(&format!("metadata.name={name}"))
        .timeout(crate::k8s::WATCH_TIMEOUT_SECS);
    let mut events = watcher::watcher(api.clone(), config)
        .default_backoff()
        .boxed();
    let changed = async {
        while let Some(event) = events.next().await {
            match event {
                Ok(watcher::Event::Apply(lease) | watcher::Event::InitApply(lease))
                    if lease.metadata.resource_version == seen_version => {}
                Ok(watcher::Event::Apply(_) | watcher::Event::InitApply(_)) => return,
                Ok(watcher::Event::Delete(_)) => return,
                Ok(_) | Err(_) => {}
            }
        }
    };
    let _ = tokio::time::timeout_at(until, changed).await;
}

/// Renews the lease every third of its duration while the deploy runs.
async fn renew(api: Api<Lease>, name: String, holder: String, version: Arc<Mutex<Option<String>>>) {
    let period = Duration::from_secs(u64::try_from(LEASE_SECONDS / 3).unwrap_or(10));
    loop {
        tokio::time::sleep(period).await;
        let Ok(Some(current)) = api.get_opt(&name).await else {
            return;
        };
        if spec(&current).holder_identity.as_deref() != Some(holder.as_str()) {
            return;
        }
        let mut renewed = lease(&name, &holder, current.metadata.resource_version.clone());
        if let (Some(spec), Some(old)) = (renewed.spec.as_mut(), current.spec) {
            spec.acquire_time = old.acquire_time;
        }
        match api.replace(&name, &PostParams::default(), &renewed).await {
            Ok(written) => {
                if let Ok(mut known) = version.lock() {
                    *known = written.metadata.resource_version;
                }
            }
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(by: &str, seconds_ago: i64) -> Lease {
        let at = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(seconds_ago);
        let mut lease = lease("catctl-deploy-dd", by, None);
        if let Some(spec) = lease.spec.as_mut() {
            spec.renew_time = Some(MicroTime(at));
            spec.acquire_time = Some(MicroTime(at));
        }
        lease
    }

    #[test]
    fn a_lease_is_free_when_ours_unheld_or_expired() {
        let now = jiff::Timestamp::now();
        assert!(free(&held("me", 1), "me", now));
        assert!(!free(&held("you", 1), "me", now));
        assert!(free(&held("you", 31), "me", now));
        assert!(free(&held("", 1), "me", now));
    }
}
