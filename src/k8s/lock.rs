//! One deploy of a cat at a time, kept in the cat's history ConfigMap (`catctl-history-<cat>`,
//! key `lock`): taking the lock is one write conditional on the resourceVersion the gate read,
//! which also proves the history read then is still the newest; the deploy ends with one write
//! that records its result and gives the lock back. The holder renews the lock while it works;
//! a lock left by a killed process expires. Waiting for another holder watches the ConfigMap
//! (no polling) until it changes, the lock expires or the deadline passes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use futures::StreamExt as _;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::PostParams;
use kube::runtime::{WatchStreamExt as _, watcher};
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::k8s::history::{self, Revision};
use crate::k8s::{self, Cluster};

/// How long a lock lasts without renewal.
const LOCK_SECONDS: i64 = 30;
/// The ConfigMap key of the lock.
pub const KEY: &str = "lock";

/// Who holds a cat's deploy lock, since when, and what they are deploying.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lock {
    pub holder: String,
    /// What the holder is deploying (`tag (digest)`).
    #[serde(default)]
    pub deploying: String,
    pub acquired: jiff::Timestamp,
    pub renewed: jiff::Timestamp,
    pub seconds: i64,
}

impl Lock {
    fn new(holder: &str, deploying: &str) -> Lock {
        let now = jiff::Timestamp::now();
        Lock {
            holder: holder.to_string(),
            deploying: deploying.to_string(),
            acquired: now,
            renewed: now,
            seconds: LOCK_SECONDS,
        }
    }

    /// When the lock expires: its last renewal plus its duration.
    fn expiry(&self) -> jiff::Timestamp {
        self.renewed
            .checked_add(jiff::SignedDuration::from_secs(self.seconds))
            .unwrap_or(self.renewed)
    }

    /// Whether `holder` may take it: it is ours or has expired.
    fn free_for(&self, holder: &str, now: jiff::Timestamp) -> bool {
        self.holder == holder || self.expiry() <= now
    }
}

/// The lock `configmap` holds, if any (an unreadable one counts as none: it cannot be honoured).
pub fn lock_of(configmap: &ConfigMap) -> Option<Lock> {
    let text = configmap.data.as_ref()?.get(KEY)?;
    serde_json::from_str(text).ok()
}

/// A held deploy lock; renewed in the background until [`Held::finish`].
pub struct Held {
    api: Api<ConfigMap>,
    cat: String,
    holder: String,
    /// The ConfigMap as this holder last wrote it (the renewal updates it).
    written: Arc<Mutex<ConfigMap>>,
    renewal: JoinHandle<()>,
    /// The cat's history when the lock was taken.
    pub history: Vec<Revision>,
    /// Whether the lock was taken at the first try on the ConfigMap the gate read: then the
    /// history the gate read is still the newest.
    pub uncontended: bool,
}

/// Takes `cat`'s deploy lock as `holder` (deploying `deploying`), waiting (and telling
/// `on_wait` whom for) while another deploy holds it, until `deadline`. `seen` is the history
/// ConfigMap as the gate read it (`None`: there was none; `Some(None)` and `None` differ: with
/// `None` the ConfigMap is read first): the first try is a write conditional on it — one request
/// when nobody wrote it since.
pub async fn acquire(
    cluster: &Cluster,
    cat: &str,
    holder: &str,
    deploying: &str,
    deadline: Instant,
    seen: Option<Option<ConfigMap>>,
    on_wait: &(dyn Fn(&str) + Sync),
) -> Result<Held> {
    let api: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let name = history::configmap_name(cat);
    let params = PostParams {
        field_manager: Some(history::HISTORY_MANAGER.to_string()),
        ..PostParams::default()
    };
    let mut current = seen;
    let mut first = true;
    loop {
        let configmap = match current.take() {
            Some(seen) => seen,
            None => api
                .get_opt(&name)
                .await
                .map_err(k8s::readable)
                .with_context(|| format!("reading the deploy lock of {cat} (ConfigMap {name})"))?,
        };
        let now = jiff::Timestamp::now();
        let lock = Lock::new(holder, deploying);
        let taken = match &configmap {
            None => {
                let fresh = history::configmap(cat, &[], Some(&lock))?;
                api.create(&params, &fresh).await
            }
            Some(existing) => match lock_of(existing) {
                Some(other) if !other.free_for(holder, now) => {
                    first = false;
                    let what = if other.deploying.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", other.deploying)
                    };
                    on_wait(&format!(
                        "waiting for the deploy of {cat}{what} by {} to finish",
                        other.holder
                    ));
                    if Instant::now() >= deadline {
                        bail!(
                            "another deploy of {cat}{what} holds its lock (ConfigMap {name}, held \
                             by {} since {}) — wait for it to finish, or raise --timeout",
                            other.holder,
                            other
                                .acquired
                                .round(jiff::Unit::Second)
                                .unwrap_or(other.acquired)
                        );
                    }
                    let until = deadline.min(instant_of(other.expiry(), now));
                    wait_for_change(&api, &name, existing, until).await;
                    continue;
                }
                _ => {
                    api.replace(&name, &params, &with_lock(existing, Some(&lock))?)
                        .await
                }
            },
        };
        match taken {
            Ok(written) => {
                let history = history::parse(cluster, cat, Some(written.clone()))?;
                let written = Arc::new(Mutex::new(written));
                let renewal = tokio::spawn(renew(
                    api.clone(),
                    name.clone(),
                    holder.to_string(),
                    written.clone(),
                ));
                return Ok(Held {
                    api,
                    cat: cat.to_string(),
                    holder: holder.to_string(),
                    written,
                    renewal,
                    history,
                    uncontended: first,
                });
            }
            // Someone else wrote it (took the lock, or a deploy passed) since it was read.
            Err(kube::Error::Api(status)) if status.code == 409 => {
                first = false;
            }
            Err(err) => {
                return Err(k8s::readable(err).context(format!(
                    "taking the deploy lock of {cat} (ConfigMap {name})"
                )));
            }
        }
    }
}

impl Held {
    /// Records `entry` in the history (when given and new) and gives the lock back, in one write
    /// conditional on what this holder last wrote; read again only if that fails (the lock
    /// expired and another deploy wrote meanwhile: the entry is added to the history as it is
    /// then, and the other deploy's lock is left alone).
    pub async fn finish(self, entry: Option<Revision>) -> Result<()> {
        self.renewal.abort();
        let name = history::configmap_name(&self.cat);
        let params = PostParams {
            field_manager: Some(history::HISTORY_MANAGER.to_string()),
            ..PostParams::default()
        };
        let mut base = self
            .written
            .lock()
            .map(|c| c.clone())
            .unwrap_or_else(|e| e.into_inner().clone());
        for _ in 0..5 {
            let recorded = history::parse_configmap(&base)?;
            let after = match &entry {
                Some(entry) => history::with_entry(recorded.clone(), entry.clone()),
                None => recorded.clone(),
            };
            let lock = lock_of(&base);
            let ours = lock.as_ref().is_some_and(|l| l.holder == self.holder);
            if !ours && after == recorded {
                return Ok(());
            }
            let kept = lock.filter(|_| !ours);
            let next = history::with_revisions(&with_lock(&base, kept.as_ref())?, &after)?;
            match self.api.replace(&name, &params, &next).await {
                Ok(_) => return Ok(()),
                Err(kube::Error::Api(status)) if status.code == 409 => {
                    base = match self.api.get_opt(&name).await.map_err(k8s::readable)? {
                        Some(current) => current,
                        None => history::configmap(&self.cat, &[], None)?,
                    };
                }
                Err(err) => {
                    return Err(k8s::readable(err).context(format!(
                        "recording the deploy of {} in ConfigMap {name}",
                        self.cat
                    )));
                }
            }
        }
        bail!(
            "ConfigMap {name} kept changing while this deploy recorded its result — check `catctl history {}`",
            self.cat
        )
    }
}

/// `configmap` with `lock` in place of its lock (none: removed), ready for a conditional
/// replace: its resourceVersion kept, its managed fields left to the server.
fn with_lock(configmap: &ConfigMap, lock: Option<&Lock>) -> Result<ConfigMap> {
    let mut next = configmap.clone();
    next.metadata.managed_fields = None;
    let data = next.data.get_or_insert_with(Default::default);
    match lock {
        Some(lock) => {
            data.insert(KEY.to_string(), serde_json::to_string(lock)?);
        }
        None => {
            data.remove(KEY);
        }
    }
    Ok(next)
}

fn instant_of(at: jiff::Timestamp, now: jiff::Timestamp) -> Instant {
    let wait = at.duration_since(now);
    Instant::now() + Duration::try_from(wait).unwrap_or(Duration::ZERO)
}

/// Returns when the ConfigMap changes (renewed, released, taken) or at `until`.
async fn wait_for_change(api: &Api<ConfigMap>, name: &str, seen: &ConfigMap, until: Instant) {
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
                Ok(watcher::Event::Apply(c) | watcher::Event::InitApply(c))
                    if c.metadata.resource_version == seen_version => {}
                Ok(watcher::Event::Apply(_) | watcher::Event::InitApply(_)) => return,
                Ok(watcher::Event::Delete(_)) => return,
                Ok(watcher::Event::InitDone) => {}
                Ok(_) | Err(_) => {}
            }
        }
    };
    let _ = tokio::time::timeout_at(until, changed).await;
}

/// Renews the lock every third of its duration while the deploy runs: one write conditional
/// on what this holder last wrote; stops when the lock is no longer ours.
async fn renew(api: Api<ConfigMap>, name: String, holder: String, written: Arc<Mutex<ConfigMap>>) {
    let period = Duration::from_secs(u64::try_from(LOCK_SECONDS / 3).unwrap_or(10));
    let params = PostParams {
        field_manager: Some(history::HISTORY_MANAGER.to_string()),
        ..PostParams::default()
    };
    loop {
        tokio::time::sleep(period).await;
        let Ok(last) = written.lock().map(|c| c.clone()) else {
            return;
        };
        let Some(mut lock) = lock_of(&last).filter(|l| l.holder == holder) else {
            return;
        };
        lock.renewed = jiff::Timestamp::now();
        let Ok(next) = with_lock(&last, Some(&lock)) else {
            return;
        };
        match api.replace(&name, &params, &next).await {
            Ok(renewed) => {
                if let Ok(mut known) = written.lock() {
                    *known = renewed;
                }
            }
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(by: &str, seconds_ago: i64) -> Lock {
        let at = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(seconds_ago);
        Lock {
            holder: by.to_string(),
            deploying: "v1".into(),
            acquired: at,
            renewed: at,
            seconds: LOCK_SECONDS,
        }
    }

    #[test]
    fn a_lock_is_free_when_ours_or_expired() {
        let now = jiff::Timestamp::now();
        assert!(held("me", 1).free_for("me", now));
        assert!(!held("you", 1).free_for("me", now));
        assert!(held("you", 31).free_for("me", now));
    }

    #[test]
    fn the_lock_sits_beside_the_history_and_goes_on_release() {
        let configmap = history::configmap("dd", &[], Some(&held("me", 0))).unwrap();
        assert_eq!(lock_of(&configmap).map(|l| l.holder), Some("me".into()));
        let released = with_lock(&configmap, None).unwrap();
        assert_eq!(lock_of(&released), None);
        assert_eq!(history::parse_configmap(&released).unwrap(), Vec::new());
    }
}
