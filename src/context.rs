//! What every command is given: the printer, the command-line overrides, and the farm, loaded
//! on first use so that commands which need no farm (e.g. `completions`) work anywhere.

use std::path::PathBuf;
use std::sync::OnceLock;

use anyhow::{Context as _, Result};

use crate::farm::{Farm, Overrides};
use crate::printer::Printer;

pub struct Context {
    pub printer: Printer,
    overrides: Overrides,
    farm: OnceLock<Farm>,
    kube: tokio::sync::OnceCell<kube::Client>,
}

impl Context {
    pub fn new(printer: Printer, overrides: Overrides) -> Context {
        Context {
            printer,
            overrides,
            farm: OnceLock::new(),
            kube: tokio::sync::OnceCell::new(),
        }
    }

    /// The farm around the current directory (or `--config`), loaded once.
    pub fn farm(&self) -> Result<&Farm> {
        if let Some(farm) = self.farm.get() {
            return Ok(farm);
        }
        let cwd = current_dir()?;
        let farm = Farm::discover(&self.overrides, &cwd)?;
        Ok(self.farm.get_or_init(|| farm))
    }
}

impl Context {
    /// The cluster client for the farm's context, created on first use.
    pub async fn kube(&self) -> Result<&kube::Client> {
        let settings = &self.farm()?.settings;
        self.kube
            .get_or_try_init(|| crate::k8s::client(settings))
            .await
    }
}

pub fn current_dir() -> Result<PathBuf> {
    std::env::current_dir().context("cannot read the current directory")
}
