//! How tests script pods: by image or by `app` label, a pod is healthy (the default), crash-loops
//! or never becomes ready, and prints the log lines it is given.

use std::time::Duration;

use serde_json::Value;

use crate::kubelet::{repo_name, split_image};
use crate::world::World;

/// How a pod's containers behave once they run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Behaviour {
    /// Runs and becomes Ready after the ready delay.
    Healthy,
    /// Exits with this code shortly after each start: CrashLoopBackOff, restartCount rising.
    CrashLoop { exit_code: i32 },
    /// Runs but never becomes Ready.
    NeverReady,
}

/// A script for the containers of matching pods.
#[derive(Debug, Clone)]
pub struct PodScript {
    pub behaviour: Behaviour,
    /// Overrides `Config::ready_after` for these pods.
    pub ready_after: Option<Duration>,
    /// Lines printed at every container start (a default pair when empty).
    pub log: Vec<String>,
    /// A line printed every period while running; `{n}` becomes a counter from 1.
    pub every: Option<(Duration, String)>,
}

impl Default for PodScript {
    fn default() -> Self {
        PodScript::healthy()
    }
}

impl PodScript {
    pub fn healthy() -> Self {
        PodScript {
            behaviour: Behaviour::Healthy,
            ready_after: None,
            log: vec![],
            every: None,
        }
    }

    /// Crash loop with exit code 1, printing `log` at each start.
    pub fn crash_loop<S: Into<String>>(log: impl IntoIterator<Item = S>) -> Self {
        PodScript {
            behaviour: Behaviour::CrashLoop { exit_code: 1 },
            log: log.into_iter().map(Into::into).collect(),
            ..PodScript::healthy()
        }
    }

    pub fn never_ready() -> Self {
        PodScript {
            behaviour: Behaviour::NeverReady,
            ..PodScript::healthy()
        }
    }

    pub fn log<S: Into<String>>(mut self, lines: impl IntoIterator<Item = S>) -> Self {
        self.log = lines.into_iter().map(Into::into).collect();
        self
    }

    pub fn ready_after(mut self, delay: Duration) -> Self {
        self.ready_after = Some(delay);
        self
    }

    pub fn every(mut self, period: Duration, line: impl Into<String>) -> Self {
        self.every = Some((period, line.into()));
        self
    }
}

impl World {
    /// The script for a container: by full image reference, then the reference without its
    /// digest, then the image's repository name (`lala`), then the pod's `app` label.
    pub fn script_for(&self, pod: &Value, image: &str) -> PodScript {
        let without_digest = image.split('@').next().unwrap_or(image);
        let (_, _, _) = split_image(image);
        let candidates = [
            image.to_string(),
            without_digest.to_string(),
            repo_name(image),
            pod["metadata"]["labels"]["app"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        ];
        candidates
            .iter()
            .filter(|c| !c.is_empty())
            .find_map(|c| self.scripts.get(c).cloned())
            .unwrap_or_default()
    }
}
