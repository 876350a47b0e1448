//! Every command-line definition, and nothing else: the work lives in `commands/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use clap_complete::engine::ArgValueCompleter;

use crate::complete::{complete_cat_names, complete_contexts, complete_namespaces};

/// Run a farm of small containerised services ("cats") on Docker and Kubernetes — safely.
#[derive(Debug, Parser)]
#[command(
    name = "catctl",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Options every command understands.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The farm's catctl.toml [default: found by walking up from the current directory]
    #[arg(
        long,
        global = true,
        env = "CATCTL_CONFIG",
        value_name = "FILE",
        help_heading = "Farm"
    )]
    pub config: Option<PathBuf>,

    /// The kubeconfig file, as kubectl's --kubeconfig [default: KUBECONFIG (several files
    /// joined by ':'), else ~/.kube/config]
    #[arg(long, global = true, value_name = "FILE", help_heading = "Farm")]
    pub kubeconfig: Option<PathBuf>,

    /// Kubeconfig context to use [default: catctl.toml's, else the current context]
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        help_heading = "Farm",
        add = ArgValueCompleter::new(complete_contexts)
    )]
    pub context: Option<String>,

    /// Kubernetes namespace [default: catctl.toml's, else the kube context's, else "default"]
    #[arg(
        short = 'n',
        long,
        global = true,
        value_name = "NAME",
        help_heading = "Farm",
        add = ArgValueCompleter::new(complete_namespaces)
    )]
    pub namespace: Option<String>,

    /// Image registry, e.g. gcr.io/cream-heros or 127.0.0.1:5000 [default: catctl.toml's]
    #[arg(
        long,
        global = true,
        env = "CATCTL_REGISTRY",
        value_name = "HOST[/PATH]",
        help_heading = "Farm"
    )]
    pub registry: Option<String>,

    /// Output format for commands that report state: a table, or JSON or YAML in one
    /// envelope ({"apiVersion": "catctl/v1", "kind", "items"}); refused by commands that
    /// report none
    #[arg(short = 'o', long, global = true, value_enum, default_value_t = OutputFormat::Table, help_heading = "Output")]
    pub output: OutputFormat,

    /// Print only data and errors
    #[arg(
        short,
        long,
        global = true,
        conflicts_with = "verbose",
        help_heading = "Output"
    )]
    pub quiet: bool,

    /// Say more about what is happening (repeat for more)
    #[arg(short, long, global = true, action = clap::ArgAction::Count, help_heading = "Output")]
    pub verbose: u8,

    /// When to use colours (NO_COLOR turns them off for `auto`)
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN", help_heading = "Output")]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
    Yaml,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create cats/NAME/ from the template — never touching a cat that exists
    Copycat(CopycatArgs),
    /// List the farm's cats and their versions
    List(ListArgs),
    /// Write a cat's merged build context (template + the cat's files) to a directory
    Context(ContextArgs),
    /// Build cats' images through the Docker daemon, labelled with their source digest
    Build(BuildArgs),
    /// Push cats' images to the registry and print their digests; a tag is never replaced by other sources without --force
    Push(PushArgs),
    /// Check cats' images: in the registry, local image pushed, sources unchanged since the build
    Verify(VerifyArgs),
    /// Run verified cats on the local Docker daemon, replacing each cat's previous container
    Up(UpArgs),
    /// Stop and remove cats' containers on the local Docker daemon
    Down(DownArgs),
    /// Sync, list and verify the cats' tokens (secret/ → Kubernetes Secrets)
    #[command(subcommand)]
    Secret(SecretCommand),
    /// Verify cats, apply them pinned by digest, and watch their rollout
    Deploy(DeployArgs),
    /// Build, push and deploy, restarting the pods even when nothing else changed
    Redeploy(RedeployArgs),
    /// Write the manifests a deploy would apply (after the same checks)
    Render(RenderArgs),
    /// Show what a deploy would change (server-side dry run); exit 1 when something would
    Diff(DiffArgs),
    /// Per cat: declared tag, registry and running digests, readiness, restarts and drift
    Status(StatusArgs),
    /// What ran at each deploy of a cat (and which deploys failed), newest last
    History(HistoryArgs),
    /// Go back to the last revision that ran before the current one (or a chosen one)
    Rollback(RollbackArgs),
    /// Every pod of the named cats in one stream, each line tagged with its cat and pod
    Logs(LogsArgs),
    /// Print the Slack app manifest of each cat, to paste into "Create an app → From a manifest"
    SlackManifest(SlackManifestArgs),
    /// Scale cats to zero (a later deploy keeps them asleep) and wait until their pods are gone
    ///
    /// Applies spec.replicas = 0 under catctl's own field manager (catctl-sleep) and records
    /// when and by whom ($USER@host) in the catctl.io/asleep annotation, which `status` and
    /// `logs` show. Sleeping a sleeping cat writes nothing.
    Sleep(SleepArgs),
    /// Scale sleeping cats back to their declared replicas and wait until they are Ready
    ///
    /// Waking an awake cat writes nothing; it still waits until the cat's pods are Ready.
    Wake(WakeArgs),
    /// Check everything catctl depends on, each with a fix; exit 0 only when nothing fails
    ///
    /// The Docker daemon (API version, storage), the registry (reachable, credentials accepted;
    /// nothing is pushed), the kube context (API and version, namespace, the verbs catctl uses
    /// via SelfSubjectAccessReview, node architecture), every cat's files, and the tokens in
    /// secret/ (present, in sync with the cluster, not readable by others, git-ignored). No
    /// cluster configured is a warning: build, push and up need none.
    Doctor(DoctorArgs),
    /// Start a new farm in DIR (default: the current directory) from the template in catctl
    ///
    /// Writes catctl.toml (--registry, asked for on a terminal; -n/--namespace, else left to the
    /// kube context), templates/ (the cat engine and the manifest template carried by this
    /// binary), an empty cats/, secret/ git-ignored but for its README, a .gitignore and the
    /// completion scripts.
    /// Refuses a directory that already holds a farm, and never overwrites a file.
    Init(InitArgs),
    /// Remove cats from the cluster: workload, history, Secret and schedule — never cats/CAT/
    ///
    /// The history (and deploy lock) is the ConfigMap catctl-history-CAT; a deploy Lease left
    /// by an earlier catctl (catctl-deploy-CAT) goes too. Only objects labelled app.kubernetes.io/managed-by=catctl
    /// are deleted. Asks for
    /// confirmation on a terminal; elsewhere --yes is required. A cat with nothing in the
    /// cluster is not an error. `--orphans` removes catctl's workloads whose cats/CAT/ is gone
    /// (`catctl status` lists them).
    Delete(DeleteArgs),
    /// Show the cats' [schedule]s with their next runs; `--remove CAT` deletes a schedule
    ///
    /// `[schedule]` in cat.toml (`sleep`, `wake`: five-field cron expressions; `time_zone`: an
    /// IANA zone, default UTC) becomes, on `catctl deploy`, the CronJobs CAT-sleep and CAT-wake
    /// (concurrencyPolicy Forbid, limited history) running catctl's own FROM-scratch image,
    /// pinned by digest, as a ServiceAccount whose Role may only get and patch the scale of
    /// that cat's workload. Removing [schedule] and deploying removes them.
    Schedule(ScheduleArgs),
    /// Scale a workload through its scale subresource (what the schedule's CronJobs run)
    #[command(hide = true)]
    Scale(ScaleArgs),
    /// Print the shell completion script (cat names complete at TAB time)
    Completions(CompletionsArgs),
}

/// A duration as kubectl writes it (`90s`, `5m30s`, `1.5h`, `500ms`), parsed by jiff. A bare
/// number is refused: kubectl refuses it too, and `2` could mean seconds or minutes.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(format!(
            "'{text}' has no unit: write {text}s for seconds, {text}m for minutes or {text}h for hours"
        ));
    }
    let duration: jiff::SignedDuration = text.parse().map_err(|err| {
        format!("invalid duration '{text}' ({err}): write e.g. 90s, 5m30s or 1.5h")
    })?;
    std::time::Duration::try_from(duration)
        .map_err(|_| format!("invalid duration '{text}': it must not be negative"))
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    #[command(flatten)]
    pub select: SelectCats,

    /// Deploy even when a cat's sources changed since its image was built
    #[arg(long)]
    pub allow_stale: bool,

    /// Deploy even when the cluster runs a newer revision than this one (or one not in the
    /// farm's history); `catctl rollback` is the usual way back
    #[arg(long)]
    pub allow_downgrade: bool,

    /// Take over fields that another field manager (e.g. `kubectl scale`) owns
    #[arg(long)]
    pub force: bool,

    /// How long to wait for each rollout (and for another deploy of the cat to finish)
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pub timeout: std::time::Duration,

    /// Print the manifests that would be applied, and apply nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Re-apply the previous revision of each cat whose rollout failed
    #[arg(long)]
    pub atomic: bool,

    /// Wake cats that `catctl sleep` put to sleep (a deploy keeps them asleep otherwise)
    #[arg(long)]
    pub wake: bool,
}

#[derive(Debug, Args)]
pub struct SleepArgs {
    #[command(flatten)]
    pub select: SelectCats,

    /// How long to wait for each cat's pods to be gone
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pub timeout: std::time::Duration,
}

#[derive(Debug, Args)]
pub struct WakeArgs {
    #[command(flatten)]
    pub select: SelectCats,

    /// How long to wait for each cat to be Ready
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pub timeout: std::time::Duration,
}

#[derive(Debug, Args)]
pub struct RedeployArgs {
    #[command(flatten)]
    pub select: SelectCats,

    /// The platform to build for, as `os/arch[/variant]` (e.g. linux/amd64) [default: the
    /// cluster's nodes', else the Docker daemon's]
    #[arg(long, value_name = "OS/ARCH")]
    pub platform: Option<crate::image::Platform>,

    /// Take over fields that another field manager owns
    #[arg(long)]
    pub force: bool,

    /// How long to wait for each rollout
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pub timeout: std::time::Duration,

    /// Re-apply the previous revision of each cat whose rollout failed
    #[arg(long)]
    pub atomic: bool,
}

#[derive(Debug, Args)]
pub struct SlackManifestArgs {
    #[command(flatten)]
    pub select: SelectCats,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    #[command(flatten)]
    pub select: SelectCats,

    /// Write <DIR>/<cat>.yaml instead of printing
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Render even when a cat's sources changed since its image was built
    #[arg(long)]
    pub allow_stale: bool,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    #[command(flatten)]
    pub select: SelectCats,

    /// Compare even when a cat's sources changed since its image was built
    #[arg(long)]
    pub allow_stale: bool,

    /// Compare as `deploy --force` would apply
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The cats [default: all]
    #[arg(value_name = "CAT", add = ArgValueCompleter::new(complete_cat_names))]
    pub cats: Vec<String>,

    /// Exit non-zero when any cat is not ok (for cron and CI)
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The cat
    #[arg(value_name = "CAT", add = ArgValueCompleter::new(complete_cat_names))]
    pub cat: String,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The cat
    #[arg(value_name = "CAT", add = ArgValueCompleter::new(complete_cat_names))]
    pub cat: String,

    /// The revision to go back to (see `catctl history CAT`) [default: the previous one]
    #[arg(long, value_name = "N")]
    pub to_revision: Option<u32>,

    /// Take over fields that another field manager owns
    #[arg(long)]
    pub force: bool,

    /// How long to wait for the rollout
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pub timeout: std::time::Duration,
}

/// The cats a command works on.
#[derive(Debug, Args)]
pub struct SelectCats {
    /// The cats
    #[arg(
        value_name = "CAT",
        required_unless_present = "all",
        add = ArgValueCompleter::new(complete_cat_names)
    )]
    pub cats: Vec<String>,

    /// Every cat of the farm
    #[arg(long, conflicts_with = "cats")]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    #[command(flatten)]
    pub select: SelectCats,

    /// Build every step again, even for a cat whose image already has its current sources
    #[arg(long)]
    pub no_cache: bool,

    /// The platform to build for, as `os/arch[/variant]` (e.g. linux/amd64) [default: the
    /// cluster's nodes', else the Docker daemon's]
    #[arg(long, value_name = "OS/ARCH")]
    pub platform: Option<crate::image::Platform>,
}

#[derive(Debug, Args)]
pub struct PushArgs {
    #[command(flatten)]
    pub select: SelectCats,

    /// Replace a tag the registry already serves from other sources (tags are immutable:
    /// bump `version` in the cat's cat.toml instead)
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub select: SelectCats,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub select: SelectCats,

    /// Run images of this platform, as `os/arch[/variant]`, emulated by the daemon (as `docker
    /// run --platform`) [default: the daemon's own; an image of another is refused]
    #[arg(long, value_name = "OS/ARCH")]
    pub platform: Option<crate::image::Platform>,

    /// Docker network for the containers: default, bridge, host, none or a network's name
    #[arg(long, value_name = "NETWORK", default_value = "default")]
    pub network: String,

    /// Run even when a cat's sources changed since its image was built
    #[arg(long)]
    pub allow_stale: bool,
}

#[derive(Debug, Args)]
pub struct DownArgs {
    #[command(flatten)]
    pub select: SelectCats,
}

#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Create or update one Secret per entry of secret/ (values are never printed)
    ///
    /// secret/NAME becomes the Secret NAME, as `kubectl create secret generic NAME
    /// --from-file=secret/NAME` would make it: a file is one key named after the file, a directory
    /// one key per file in it (hidden files skipped), values the files' exact bytes. Applied
    /// server-side (field manager catctl, taking over Secrets made by `kubectl create`), labelled
    /// app.kubernetes.io/managed-by=catctl, and app.kubernetes.io/name=CAT for CAT-token.
    ///
    /// Everything is checked before anything is written: names and keys Kubernetes would refuse
    /// (with the valid name), empty files, two entries holding the same token. Warnings: stray
    /// whitespace, secret/ not git-ignored or tracked by git, files readable by others.
    ///
    /// Prints created / updated / unchanged / pruned per Secret, with keys and a fingerprint.
    Sync(SecretSyncArgs),
    /// Compare secret/ with the cluster's Secrets by fingerprint
    ///
    /// One row per Secret: its keys, the fingerprint (first 12 hex digits of a sha256 of keys
    /// and values) in secret/ and in the cluster, and the state: in sync, differs, only local,
    /// or only in cluster (catctl-managed Secrets only; others are not listed).
    List(SecretListArgs),
    /// Ask Slack (auth.test) whose bot each cat's token belongs to
    ///
    /// Sends each cat's bot-token to Slack's auth.test and fails when the bot is not the cat
    /// (or the slack_user its cat.toml names) — e.g. dd and tt holding each other's tokens.
    /// CATCTL_SLACK_API_URL overrides the API base URL (default https://slack.com/api).
    Verify(SecretVerifyArgs),
}

#[derive(Debug, Args)]
pub struct SecretSyncArgs {
    /// Also delete catctl-managed Secrets whose entry in secret/ is gone (refused when secret/ is
    /// empty, as on a fresh clone)
    #[arg(long)]
    pub prune: bool,

    /// Say what would change, and change nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct SecretListArgs {}

#[derive(Debug, Args)]
pub struct SecretVerifyArgs {
    /// Cats whose tokens to check [default: every cat with an entry in secret/]
    #[arg(value_name = "CAT", add = ArgValueCompleter::new(complete_cat_names))]
    pub cats: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CopycatArgs {
    /// Names of the new cats: lower-case letters, digits and '-'
    #[arg(required = true, value_name = "NAME")]
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ContextArgs {
    /// The cat
    #[arg(value_name = "CAT", add = ArgValueCompleter::new(complete_cat_names))]
    pub cat: String,

    /// Directory to write into; must be new or empty
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct ListArgs {}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The cats whose logs to show
    #[arg(value_name = "CAT", required_unless_present = "all", add = ArgValueCompleter::new(complete_cat_names))]
    pub cats: Vec<String>,

    /// Every cat of the farm
    #[arg(long, conflicts_with = "cats")]
    pub all: bool,

    /// Keep following, also pods that appear later (restarts, redeploys); Ctrl-C ends
    #[arg(short, long)]
    pub follow: bool,

    /// The log of the previous container of each pod (the run before the last restart)
    #[arg(short, long, conflicts_with = "follow")]
    pub previous: bool,

    /// Start each line with the time the container wrote it
    #[arg(long)]
    pub timestamps: bool,

    /// Only lines newer than this, e.g. 30s, 5m, 1h
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub since: Option<std::time::Duration>,

    /// Only the last N lines of each container (before following)
    #[arg(long, value_name = "N")]
    pub tail: Option<u64>,

    /// The containers `catctl up` runs on the local Docker daemon, not the cluster's pods
    #[arg(long, conflicts_with = "previous")]
    pub local: bool,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {}

#[derive(Debug, Args)]
pub struct ScheduleArgs {
    /// The cats [default: all]
    #[arg(value_name = "CAT", add = ArgValueCompleter::new(complete_cat_names))]
    pub cats: Vec<String>,

    /// Delete the cats' CronJobs, ServiceAccount, Role and RoleBinding from the cluster (a
    /// later deploy puts them back while cat.toml has a [schedule])
    #[arg(long)]
    pub remove: bool,
}

#[derive(Debug, Args)]
pub struct ScaleArgs {
    /// statefulset/NAME or deployment/NAME
    #[arg(long, value_name = "KIND/NAME")]
    pub workload: String,

    /// The replicas to set
    #[arg(long, value_name = "N")]
    pub replicas: u32,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where the farm goes: a new or empty directory [default: the current directory]
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// The cats to remove from the cluster (their directories stay)
    #[arg(
        value_name = "CAT",
        required_unless_present = "orphans",
        add = ArgValueCompleter::new(complete_cat_names)
    )]
    pub cats: Vec<String>,

    /// Every catctl workload whose cats/CAT/ directory is gone, with its Secret, schedule and history
    #[arg(long, conflicts_with = "cats")]
    pub orphans: bool,

    /// Delete without asking (required when stdin is not a terminal)
    #[arg(short, long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to print the script for
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

impl Shell {
    pub fn name(self) -> &'static str {
        match self {
            Shell::Bash => "bash",
            Shell::Zsh => "zsh",
            Shell::Fish => "fish",
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::parse_duration;

    #[test]
    fn kubectl_style_durations() {
        let cases = [
            ("90s", Duration::from_secs(90)),
            ("5m", Duration::from_secs(300)),
            ("5m30s", Duration::from_secs(330)),
            ("1h30m", Duration::from_secs(5400)),
            ("1.5h", Duration::from_secs(5400)),
            ("500ms", Duration::from_millis(500)),
            ("0s", Duration::ZERO),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_duration(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn bad_durations_are_refused_with_a_hint() {
        let bare = parse_duration("2").unwrap_err();
        assert!(bare.contains("no unit") && bare.contains("2s"), "{bare}");
        for bad in ["", "m", "5x", "1.5", "1s2"] {
            let err = parse_duration(bad).unwrap_err();
            assert!(
                err.contains("90s") || err.contains("no unit"),
                "{bad}: {err}"
            );
        }
        let negative = parse_duration("-1s").unwrap_err();
        assert!(negative.contains("negative"), "{negative}");
    }
}
