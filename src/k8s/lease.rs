//! One deploy of a cat at a time: a `coordination.k8s.io` Lease per cat
//! (`catctl-deploy-<cat>`), taken before the first write and released at the end. The holder
//! renews it while it works; a lease left by a killed process expires. Waiting for another
//! holder watches the Lease (no polling) until it is released, expires or the deadline passes.

use std::time::Duration;

use anyhow::{Result, bail};
use futures::StreamExt as _;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::Api;
use kube::api::{DeleteParams, ObjectMeta, PostParams, Preconditions};
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
    renewal: JoinHandle<()>,
}

pub fn lease_name(cat: &str) -> String {
    format!("catctl-deploy-{cat}")
}

/// Takes `cat`'s deploy lock as `holder`, waiting (and telling `on_wait` whom for) while
/// another deploy holds it, until `deadline`.
pub async fn acquire(
    cluster: &Cluster,
    cat: &str,
    holder: &str,
    deadline: Instant,
    on_wait: &(dyn Fn(&str) + Sync),
) -> Result<DeployLock> {
    let api: Api<Lease> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let name = lease_name(cat);
    loop {
        let now = jiff::Timestamp::now();
        let current = api.get_opt(&name).await.map_err(k8s::readable)?;
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
            Ok(_) => {
                let renewal = tokio::spawn(renew(api.clone(), name.clone(), holder.to_string()));
                return Ok(DeployLock {
                    api,
                    name,
                    holder: holder.to_string(),
                    renewal,
                });
            }
            // Someone else took it between our read and our write: look again.
            Err(kube::Error::Api(status)) if status.code == 409 => continue,
            Err(err) => {
                return Err(k8s::readable(err).context(format!("taking the deploy lock {name}")));
            }
        }
    }
}

impl DeployLock {
    /// Gives the lock back (only if it is still ours).
    pub async fn release(self) {
        self.renewal.abort();
        if let Ok(Some(current)) = self.api.get_opt(&self.name).await
            && spec(&current).holder_identity.as_deref() == Some(self.holder.as_str())
        {
            let params = DeleteParams {
                preconditions: Some(Preconditions {
                    resource_version: current.metadata.resource_version,
                    uid: current.metadata.uid,
                }),
                ..DeleteParams::default()
            };
            let _ = self.api.delete(&self.name, &params).await;
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
            holder_identity: Some(holder.to_string()),
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
async fn renew(api: Api<Lease>, name: String, holder: String) {
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
        if api
            .replace(&name, &PostParams::default(), &renewed)
            .await
            .is_err()
        {
            return;
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
