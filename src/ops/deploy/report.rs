//! The outcome of one cat's deploy, as the summary table and `-o json` show it.

use serde::Serialize;

use crate::image::Digest;

/// The outcome of one cat.
#[derive(Debug, Clone)]
pub struct Report {
    pub cat: String,
    pub tag: String,
    pub digest: Option<Digest>,
    pub result: Outcome,
    /// Why it was refused or failed, or what was done.
    pub message: Option<String>,
    /// The last lines of the failing container's log.
    pub log: Option<String>,
    pub seconds: f64,
    pub pods: Vec<String>,
    /// What the user should know though it did not stop the deploy.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Deployed,
    /// The cluster already ran the cat as prepared: nothing was written.
    Unchanged,
    Refused,
    Failed,
    RolledBack,
    /// Applied, and kept asleep as `catctl sleep` left it.
    Asleep,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Deployed => "deployed",
            Outcome::Unchanged => "unchanged",
            Outcome::Refused => "refused",
            Outcome::Failed => "failed",
            Outcome::RolledBack => "rolled back",
            Outcome::Asleep => "asleep",
        }
    }
}

impl Report {
    /// A cat that did not pass the gate: `error` with its causes is the message.
    pub fn refused(cat: &str, tag: &str, error: &anyhow::Error) -> Report {
        Report {
            cat: cat.to_string(),
            tag: tag.to_string(),
            digest: None,
            result: Outcome::Refused,
            message: Some(format!("{error:#}")),
            log: None,
            seconds: 0.0,
            pods: Vec::new(),
            warnings: Vec::new(),
        }
    }

    pub fn succeeded(&self) -> bool {
        matches!(
            self.result,
            Outcome::Deployed | Outcome::Unchanged | Outcome::Asleep
        )
    }

    /// The first line of the message.
    pub fn summary(&self) -> &str {
        self.message
            .as_deref()
            .unwrap_or("")
            .lines()
            .next()
            .unwrap_or("")
    }
}
