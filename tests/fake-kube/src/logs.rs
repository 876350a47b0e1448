//! Container logs: one run per container start, so `previous` is the run before the current one.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::Notify;

/// One start of a container and the lines it printed.
#[derive(Debug, Default, Clone)]
pub struct Run {
    pub lines: Vec<(jiff::Timestamp, String)>,
    pub ended: bool,
}

/// The logs of one pod: runs per container, and a wake-up for followers.
#[derive(Debug, Default)]
pub struct PodLogs {
    pub containers: HashMap<String, Vec<Run>>,
    pub gone: bool,
    pub notify: Arc<Notify>,
}

impl PodLogs {
    pub fn start_run(&mut self, container: &str) {
        let runs = self.containers.entry(container.to_string()).or_default();
        if let Some(last) = runs.last_mut() {
            last.ended = true;
        }
        runs.push(Run::default());
        self.notify.notify_waiters();
    }

    pub fn push(&mut self, container: &str, line: String) {
        if let Some(run) = self
            .containers
            .get_mut(container)
            .and_then(|r| r.last_mut())
        {
            run.lines.push((jiff::Timestamp::now(), line));
            self.notify.notify_waiters();
        }
    }

    pub fn end_run(&mut self, container: &str) {
        if let Some(run) = self
            .containers
            .get_mut(container)
            .and_then(|r| r.last_mut())
        {
            run.ended = true;
            self.notify.notify_waiters();
        }
    }

    pub fn pod_gone(&mut self) {
        self.gone = true;
        for runs in self.containers.values_mut() {
            if let Some(run) = runs.last_mut() {
                run.ended = true;
            }
        }
        self.notify.notify_waiters();
    }

    /// The run `previous` asks for: the current one or the one before it.
    pub fn run_index(&self, container: &str, previous: bool) -> Option<usize> {
        let count = self.containers.get(container)?.len();
        match (previous, count) {
            (false, n) if n >= 1 => Some(n - 1),
            (true, n) if n >= 2 => Some(n - 2),
            _ => None,
        }
    }
}

/// What a log request selects.
#[derive(Debug, Clone, Default)]
pub struct LogQuery {
    pub timestamps: bool,
    pub tail_lines: Option<usize>,
    pub since_seconds: Option<i64>,
    pub since_time: Option<jiff::Timestamp>,
}

impl LogQuery {
    /// The first line index to send from `lines`.
    pub fn start(&self, lines: &[(jiff::Timestamp, String)]) -> usize {
        let cutoff = self.since_time.or_else(|| {
            self.since_seconds
                .map(|s| jiff::Timestamp::now() - jiff::SignedDuration::from_secs(s))
        });
        let mut start = match cutoff {
            Some(cut) => lines
                .iter()
                .position(|(t, _)| *t >= cut)
                .unwrap_or(lines.len()),
            None => 0,
        };
        if let Some(tail) = self.tail_lines {
            start = start.max(lines.len().saturating_sub(tail));
        }
        start
    }

    pub fn format(&self, (time, line): &(jiff::Timestamp, String)) -> String {
        if self.timestamps {
            format!("{} {line}\n", time.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
        } else {
            format!("{line}\n")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_and_previous() {
        let mut logs = PodLogs::default();
        logs.start_run("c");
        logs.push("c", "one".into());
        logs.start_run("c");
        for i in 0..5 {
            logs.push("c", format!("line {i}"));
        }
        assert_eq!(logs.run_index("c", true), Some(0));
        assert_eq!(logs.run_index("c", false), Some(1));
        let q = LogQuery {
            tail_lines: Some(2),
            ..Default::default()
        };
        let lines = &logs.containers["c"][1].lines;
        assert_eq!(q.start(lines), 3);
        let q = LogQuery {
            since_seconds: Some(60),
            timestamps: true,
            ..Default::default()
        };
        assert_eq!(q.start(lines), 0);
        let text = q.format(&lines[0]);
        assert!(text.ends_with("Z line 0\n"), "{text}");
    }
}
