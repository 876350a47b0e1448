//! catctl: run a farm of small containerised services ("cats") on Docker and Kubernetes.
//!
//! `main` parses the command line, sets up printing, runs one command from `commands/` and turns
//! its outcome into the process exit code. Errors are printed once, here, with their causes.

pub mod build_context;
pub mod cat_runtime;
pub mod character;
pub mod cli;
pub mod commands;
pub mod complete;
pub mod config;
pub mod context;
pub mod copycat;

pub mod docker;
pub mod errors;
pub mod farm;
pub mod git;
pub mod http;
pub mod image;
pub mod k8s;
pub mod labels;
pub mod logs;
pub mod manifest;
pub mod names;
pub mod ops;
pub mod output;

pub mod printer;
pub mod progress;
pub mod registry;
pub mod schedule;
pub mod secrets;
pub mod settings;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use clap_complete::CompleteEnv;

use crate::cli::{Cli, ColorChoice, OutputFormat};
use crate::commands::ExitStatus;
use crate::context::Context;
use crate::printer::{ColorMode, Format, Printer, Verbosity};
use crate::settings::Overrides;

/// The whole program: completion requests, then parsing, then one command.
pub fn main() -> ExitCode {
    // Answers shell completion requests (COMPLETE=bash catctl …) and exits; must run first.
    CompleteEnv::with_factory(Cli::command).complete();
    let cli = Cli::parse();
    let printer = printer_for(&cli);
    let overrides = Overrides {
        config: cli.global.config.clone(),
        context: cli.global.context.clone(),
        namespace: cli.global.namespace.clone(),
        registry: cli.global.registry.clone(),
        kubeconfig: cli.global.kubeconfig.clone(),
    };
    let ctx = Context::new(printer, overrides);
    let outcome = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime.block_on(commands::run(&ctx, &cli.command)),
        Err(err) => Err(anyhow::Error::new(err).context("cannot start the async runtime")),
    };
    match outcome {
        Ok(status) => status.into(),
        Err(err) => {
            ctx.printer.error(&err);
            ExitStatus::Error.into()
        }
    }
}

fn printer_for(cli: &Cli) -> Printer {
    let format = match cli.global.output {
        OutputFormat::Table => Format::Table,
        OutputFormat::Json => Format::Json,
        OutputFormat::Yaml => Format::Yaml,
    };
    let verbosity = match (cli.global.quiet, cli.global.verbose) {
        (true, _) => Verbosity::Quiet,
        (false, 0) => Verbosity::Normal,
        (false, _) => Verbosity::Verbose,
    };
    let color = match cli.global.color {
        ColorChoice::Auto => ColorMode::Auto,
        ColorChoice::Always => ColorMode::Always,
        ColorChoice::Never => ColorMode::Never,
    };
    Printer::new(format, verbosity, color)
}
