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
    /// Print the shell completion script (cat names complete at TAB time)
    Completions(CompletionsArgs),
    /// Build cats' images through the Docker daemon, labelled with their source digest
    Build(BuildArgs),
    /// Push cats' images to the registry and print their digests
    Push(PushArgs),
    /// Check cats' images: in the registry, local image pushed, sources unchanged since the build
    Verify(VerifyArgs),
    /// Run verified cats on the local Docker daemon, replacing each cat's previous container
    Up(UpArgs),
    /// Stop and remove cats' containers on the local Docker daemon
    Down(DownArgs),
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
}

#[derive(Debug, Args)]
pub struct PushArgs {
    #[command(flatten)]
    pub select: SelectCats,
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
