//! The machine-readable output of `-o json` and `-o yaml`: one envelope and one set of key
//! names for every command that reports state. Every item a command prints is a struct here.
//!
//! ```json
//! {"apiVersion": "catctl/v1", "kind": "BuildResult", "items": [{"cat": "dd", ...}]}
//! ```
//!
//! The same things have the same names everywhere: `cat` (a cat's name), `image`
//! (`registry/repository:tag`, never pinned), `tag`, `digest` (in full, `sha256:…`), `result`
//! (one snake_case word: what happened or what is), `error` (why a cat failed, with its causes;
//! `null` when it did not), `seconds`.

use serde::Serialize;

use crate::image::{Digest, ImageRef};

/// The version of this schema, in the envelope's `apiVersion`; bumped when a key changes.
pub const API_VERSION: &str = "catctl/v1";

/// What every `-o json` / `-o yaml` output is.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope<'a, T: Serialize> {
    pub api_version: &'static str,
    pub kind: Kind,
    pub items: &'a [T],
}

impl<'a, T: Serialize> Envelope<'a, T> {
    pub fn new(kind: Kind, items: &'a [T]) -> Envelope<'a, T> {
        Envelope {
            api_version: API_VERSION,
            kind,
            items,
        }
    }
}

/// The envelope's `kind`: what the items are, one per reporting command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Kind {
    ListResult,
    CopycatResult,
    BuildResult,
    PushResult,
    VerifyResult,
    UpResult,
    DownResult,
    DeployResult,
    DiffResult,
    StatusResult,
    HistoryResult,
    LogsResult,
    SecretSyncResult,
    SecretListResult,
    SecretVerifyResult,
    SleepResult,
    DoctorResult,
    DeleteResult,
    ScheduleResult,
}

/// `catctl list`: one cat of the farm.
#[derive(Debug, Serialize)]
pub struct ListItem {
    pub cat: String,
    pub tag: String,
    pub image: ImageRef,
    pub replicas: u32,
    pub several_copies: bool,
}

/// `catctl copycat`: one new cat.
#[derive(Debug, Serialize)]
pub struct CopycatItem {
    pub cat: String,
    /// Its directory, relative to the farm.
    pub path: String,
    /// `created`.
    pub result: &'static str,
}

/// `catctl build`: one cat's image.
#[derive(Debug, Serialize)]
pub struct BuildItem {
    pub cat: String,
    pub image: ImageRef,
    pub tag: String,
    /// `built`, `up_to_date` or `failed`.
    pub result: &'static str,
    pub image_id: Option<Digest>,
    pub source_digest: Option<Digest>,
    /// Whether git had uncommitted changes of the cat's sources (`null` outside git).
    pub git_dirty: Option<bool>,
    pub seconds: f64,
    pub error: Option<String>,
}

/// `catctl push`: one cat's image in the registry.
#[derive(Debug, Serialize)]
pub struct PushItem {
    pub cat: String,
    pub image: ImageRef,
    pub tag: String,
    /// `pushed`, `up_to_date`, `replaced` (with `--force`) or `failed`.
    pub result: &'static str,
    /// What the registry serves for the tag now.
    pub digest: Option<Digest>,
    /// The digest `--force` replaced.
    pub replaced: Option<Digest>,
    pub seconds: f64,
    pub error: Option<String>,
}

/// `catctl verify`: what was found about one cat's image.
#[derive(Debug, Serialize)]
pub struct VerifyItem {
    pub cat: String,
    pub image: ImageRef,
    pub tag: String,
    /// `ok` or `failed` (see `findings`).
    pub result: &'static str,
    /// What the registry serves for the tag.
    pub digest: Option<Digest>,
    pub local_image_id: Option<Digest>,
    /// The local image is the very image the registry serves.
    pub local_pushed: bool,
    /// The digest of the cat's sources now (`null` when the cat could not be checked), and
    /// the one recorded in the image.
    pub source_digest: Option<Digest>,
    pub built_source_digest: Option<Digest>,
    /// Built from sources with changes git had not committed.
    pub git_dirty: bool,
    pub git_commit: Option<String>,
    /// Each problem, `{"finding": "source_changed", ...}`.
    pub findings: Vec<crate::ops::verify::Finding>,
    /// The findings in words, `null` when there are none.
    pub error: Option<String>,
}

/// `catctl up`: one cat's container on the local daemon.
#[derive(Debug, Serialize)]
pub struct UpItem {
    pub cat: String,
    pub container: String,
    pub image: ImageRef,
    pub tag: String,
    /// The registry digest the container runs; `null` for a local build not yet pushed.
    pub digest: Option<Digest>,
    pub unpushed: bool,
    /// `running` or `failed`.
    pub result: &'static str,
    pub seconds: f64,
    pub error: Option<String>,
}

/// `catctl down`: one cat's container.
#[derive(Debug, Serialize)]
pub struct DownItem {
    pub cat: String,
    pub container: String,
    /// `removed`, `not_running` or `failed`.
    pub result: &'static str,
    pub error: Option<String>,
}

/// `catctl deploy`, `redeploy`, `rollback` (and the refusals of `render`, `deploy --dry-run`):
/// one cat's deploy.
#[derive(Debug, Serialize)]
pub struct DeployItem {
    pub cat: String,
    pub tag: String,
    /// The digest the workload is pinned to (and, when deployed, runs).
    pub digest: Option<Digest>,
    /// `deployed`, `refused`, `failed`, `rolled_back` or `asleep`.
    pub result: crate::ops::deploy::Outcome,
    /// Why it was refused or failed, with its causes.
    pub error: Option<String>,
    /// What was done, when that needs saying (e.g. why a cat stayed asleep).
    pub note: Option<String>,
    /// The last lines of the failing container's log.
    pub log: Option<String>,
    pub pods: Vec<String>,
    pub warnings: Vec<String>,
    pub seconds: f64,
}

/// `catctl diff`: what a deploy would change of one cat.
#[derive(Debug, Serialize)]
pub struct DiffItem {
    pub cat: String,
    /// `StatefulSet/dd` or `Deployment/dd`; `null` when refused.
    pub object: Option<String>,
    /// `changed`, `unchanged` or `refused`.
    pub result: &'static str,
    /// The unified diff live → catctl (Secret values masked), `null` when unchanged.
    pub diff: Option<String>,
    pub error: Option<String>,
}

/// `catctl status`: one cat's state.
#[derive(Debug, Serialize)]
pub struct StatusItem {
    pub cat: String,
    /// The declared tag (cat.toml's `version`).
    pub tag: String,
    /// What the registry serves for the tag.
    pub digest: Option<Digest>,
    pub running_digests: Vec<Digest>,
    pub ready: i32,
    pub desired: Option<i32>,
    pub restarts: i32,
    pub age_seconds: Option<i64>,
    /// `ok`, or `drift` (see `drift`).
    pub result: &'static str,
    pub drift: Vec<String>,
}

/// `catctl history`: one recorded deploy.
#[derive(Debug, Serialize)]
pub struct HistoryItem<'a> {
    pub cat: &'a str,
    #[serde(flatten)]
    pub revision: &'a crate::k8s::history::Revision,
}

/// `catctl logs` (without `-f`): one line of a pod's or container's log.
#[derive(Debug, Serialize)]
pub struct LogItem {
    pub cat: String,
    /// The pod (or local container) and container, as the table tags it: `dd-0`, `dd/x7k2q`.
    pub source: String,
    pub line: String,
}

/// `catctl secret sync`: one Secret.
#[derive(Debug, Serialize)]
pub struct SecretSyncItem {
    pub secret: String,
    pub keys: Vec<String>,
    /// `created`, `updated`, `unchanged`, `pruned` or `failed`; in a dry run, what would be.
    pub result: &'static str,
    pub dry_run: bool,
    /// First 12 hex digits of a sha256 of keys and values; never a value.
    pub fingerprint: String,
    pub error: Option<String>,
}

/// `catctl secret list`: one Secret, local and in the cluster.
#[derive(Debug, Serialize)]
pub struct SecretListItem {
    pub secret: String,
    pub keys: Vec<String>,
    /// Fingerprints.
    pub local: Option<String>,
    pub cluster: Option<String>,
    /// `in_sync`, `differs`, `only_local` or `only_in_cluster`.
    pub result: String,
}

/// `catctl secret verify`: whose bot one cat's token belongs to.
#[derive(Debug, Serialize)]
pub struct SecretVerifyItem {
    pub cat: String,
    pub secret: String,
    pub expected_user: String,
    pub slack_user: Option<String>,
    pub team: Option<String>,
    /// `ok` or `failed`.
    pub result: &'static str,
    pub error: Option<String>,
}

/// `catctl sleep` and `wake`: one cat.
#[derive(Debug, Serialize)]
pub struct SleepItem {
    pub cat: String,
    /// `asleep`, `already_asleep`, `awake`, `already_awake` or `failed`.
    pub result: &'static str,
    /// When and by whom it was put to sleep.
    pub since: Option<String>,
    pub by: Option<String>,
    /// Its Ready pods (after `wake`).
    pub pods: Vec<String>,
    pub error: Option<String>,
}

/// `catctl doctor`: one check.
#[derive(Debug, Serialize)]
pub struct DoctorItem {
    pub check: String,
    /// `ok`, `warn` or `fail`.
    pub result: crate::ops::doctor::State,
    pub detail: String,
    pub fix: Option<String>,
}

/// `catctl delete` and `schedule --remove`: one cat's objects.
#[derive(Debug, Serialize)]
pub struct DeleteItem {
    pub cat: String,
    /// `kind/name` of each object deleted.
    pub objects: Vec<String>,
    /// `deleted` or `nothing_there`.
    pub result: &'static str,
}

/// `catctl schedule`: one CronJob of a cat's `[schedule]`.
#[derive(Debug, Serialize)]
pub struct ScheduleItem {
    pub cat: String,
    /// The catctl command the CronJob runs: `sleep` or `wake`.
    pub command: String,
    pub cron: String,
    pub time_zone: String,
    pub next_run: Option<String>,
    /// Whether the CronJob exists in the cluster (`null`: not asked).
    pub in_cluster: Option<bool>,
}

/// A snake_case word from a table's words: `up to date` → `up_to_date`.
pub fn word(text: &str) -> String {
    text.trim().replace([' ', '-'], "_").to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Item {
        cat: &'static str,
    }

    #[test]
    fn the_envelope_names_version_kind_and_items() {
        let items = [Item { cat: "dd" }];
        let value = serde_json::to_value(Envelope::new(Kind::BuildResult, &items)).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"apiVersion": "catctl/v1", "kind": "BuildResult", "items": [{"cat": "dd"}]})
        );
    }

    #[test]
    fn words_are_snake_case() {
        assert_eq!(word("up to date"), "up_to_date");
        assert_eq!(word("only in cluster"), "only_in_cluster");
        assert_eq!(word("FAIL"), "fail");
    }
}
