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
}

impl Context {
    pub fn new(printer: Printer, overrides: Overrides) -> Context {
        Context {
            printer,
            overrides,
            farm: OnceLock::new(),
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

pub fn current_dir() -> Result<PathBuf> {
    std::env::current_dir().context("cannot read the current directory")
}
