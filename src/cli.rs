//! Every command-line definition, and nothing else: the work lives in `commands/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use clap_complete::engine::ArgValueCompleter;

use crate::complete::complete_cat_names;

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

    /// Kubeconfig context to use [default: catctl.toml's, else the current context]
    #[arg(long, global = true, value_name = "NAME", help_heading = "Farm")]
    pub context: Option<String>,

    /// Kubernetes namespace [default: catctl.toml's, else "default"]
    #[arg(
        short = 'n',
        long,
        global = true,
        value_name = "NAME",
        help_heading = "Farm"
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

    /// Output format for commands that report state
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
    /// Write a cat's merged build context (template + the cat's files) to a directory
    Context(ContextArgs),
    /// List the farm's cats and their versions
    List(ListArgs),
    /// Every pod of the named cats in one stream, each line tagged with its cat and pod
    Logs(LogsArgs),
    /// Sync, list and verify the cats' tokens (secret/ → Kubernetes Secrets)
    #[command(subcommand)]
    Secret(SecretCommand),
    /// Print the shell completion script (cat names complete at TAB time)
    Completions(CompletionsArgs),
}

#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Create or update one Secret per entry of secret/ (values are never printed)
    Sync(SecretSyncArgs),
    /// Compare secret/ with the cluster's Secrets by fingerprint
    List(SecretListArgs),
    /// Ask Slack (auth.test) whose bot each cat's token belongs to
    Verify(SecretVerifyArgs),
}

#[derive(Debug, Args)]
pub struct SecretSyncArgs {
    /// Also delete catctl-managed Secrets whose entry in secret/ is gone
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
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse)]
    pub since: Option<std::time::Duration>,

    /// Only the last N lines of each container (before following)
    #[arg(long, value_name = "N")]
    pub tail: Option<u64>,

    /// The containers `catctl up` runs on the local Docker daemon, not the cluster's pods
    #[arg(long, conflicts_with = "previous")]
    pub local: bool,
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
