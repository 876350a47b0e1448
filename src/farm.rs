//! The farm: the directory holding `catctl.toml`, `templates/`, `cats/` and `secret/`, its
//! settings merged with the command line, and its cats.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};

use crate::config::{self, CatConfig, ConfigError, FarmConfig};
use crate::errors;
use crate::image::ImageRef;
use crate::names;
use crate::settings::{Overrides, Settings};

pub const CONFIG_FILE: &str = "catctl.toml";
pub const CATS_DIR: &str = "cats";
pub const CAT_FILE: &str = "cat.toml";
pub const CAT_TEMPLATE_DIR: &str = "templates/cat";
pub const SECRET_DIR: &str = "secret";

/// A farm found on disk.
#[derive(Debug, Clone)]
pub struct Farm {
    pub root: PathBuf,
    pub config_path: PathBuf,
    pub settings: Settings,
}

/// One cat: its directory and its parsed `cat.toml`.
#[derive(Debug, Clone)]
pub struct Cat {
    pub name: String,
    pub dir: PathBuf,
    pub config: CatConfig,
}

impl Cat {
    /// The build arguments of the cat's image: the farm's `[build.args]`, then its own.
    /// The platform this cat's image is built for when `--platform` does not say: its own
    /// `[build] platform`, else the farm's (`None`: the default).
    pub fn build_platform(&self, settings: &Settings) -> Option<crate::image::Platform> {
        self.config
            .build
            .platform
            .clone()
            .or_else(|| settings.build_platform.clone())
    }

    pub fn build_args(&self, settings: &Settings) -> std::collections::BTreeMap<String, String> {
        let mut args = settings.build_args.clone();
        args.extend(self.config.build.args.clone());
        args
    }

    /// `<registry>/<cat>:<version>`.
    pub fn image(&self, settings: &Settings) -> ImageRef {
        ImageRef::for_cat(&settings.registry, &self.name, &self.config.version)
    }
}

/// Finds `catctl.toml`: the explicit path when given, else the nearest one at or above `cwd`,
/// the way cargo finds `Cargo.toml`.
pub fn find_config(explicit: Option<&Path>, cwd: &Path) -> Result<PathBuf> {
    if let Some(path) = explicit {
        let path = cwd.join(path);
        if !path.is_file() {
            bail!("config file {} does not exist", path.display());
        }
        return Ok(path);
    }
    for dir in cwd.ancestors() {
        let candidate = dir.join(CONFIG_FILE);
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    bail!(
        "could not find {CONFIG_FILE} in {} or any parent directory — run catctl inside a farm, \
         or pass --config FILE",
        cwd.display()
    )
}

impl Farm {
    /// Locates and loads the farm, applying `overrides`.
    pub fn discover(overrides: &Overrides, cwd: &Path) -> Result<Farm> {
        let config_path = find_config(overrides.config.as_deref(), cwd)?;
        let config: FarmConfig = config::load(&config_path)?;
        let root = config_path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| cwd.to_path_buf());
        let settings = Settings::resolve(overrides, config, &config_path)?;
        Ok(Farm {
            root,
            config_path,
            settings,
        })
    }

    pub fn cats_dir(&self) -> PathBuf {
        self.root.join(CATS_DIR)
    }

    pub fn cat_dir(&self, name: &str) -> PathBuf {
        self.cats_dir().join(name)
    }

    pub fn template_dir(&self) -> PathBuf {
        self.root.join(CAT_TEMPLATE_DIR)
    }

    /// A path relative to the farm root, for messages.
    pub fn display_path<'a>(&self, path: &'a Path) -> std::path::Display<'a> {
        path.strip_prefix(&self.root).unwrap_or(path).display()
    }

    /// Names of every cat directory, sorted.
    pub fn cat_names(&self) -> Result<Vec<String>> {
        cat_dir_names(&self.cats_dir())
            .with_context(|| format!("cannot list {}", self.cats_dir().display()))
    }

    /// Loads one cat, with an error that says what to do when it does not exist.
    pub fn cat(&self, name: &str) -> Result<Cat> {
        let dir = self.cat_dir(name);
        if !dir.is_dir() {
            let known = self.cat_names().unwrap_or_default();
            let known = if known.is_empty() {
                "the farm has no cats yet".to_string()
            } else {
                format!("known cats: {}", known.join(", "))
            };
            bail!(
                "no cat named '{name}' in {} ({known}) — create it with `catctl copycat {name}`",
                self.cats_dir().display()
            );
        }
        names::validate_cat_name(name)
            .with_context(|| format!("{} is not a valid cat directory", dir.display()))?;
        let file = dir.join(CAT_FILE);
        if !file.is_file() {
            bail!(
                "{} has no {CAT_FILE} — every cat needs one with at least `version = \"v1\"`",
                dir.display()
            );
        }
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        let config: CatConfig = config::parse(&file, &text)?;
        if let Err(message) = config::validate_version(&config.version) {
            return Err(ConfigError {
                file,
                line: line_of_key(&text, "version"),
                column: None,
                key: Some("version".to_string()),
                message,
            }
            .into());
        }
        let shown = self.display_path(&file).to_string();
        let template = self.template_dir();
        crate::character::check(
            &config.character,
            &text,
            &shown,
            &[dir.as_path(), template.as_path()],
        )?;
        if let Some(schedule) = &config.schedule
            && let Err((key, message)) = crate::schedule::entries(schedule)
        {
            return Err(ConfigError {
                file,
                line: line_of_schedule_key(&text, key),
                column: None,
                key: Some(format!("schedule.{key}")),
                message,
            }
            .into());
        }
        Ok(Cat {
            name: name.to_string(),
            dir,
            config,
        })
    }

    /// The cats named on the command line (each once, in the order given), or every cat with
    /// `all`. Every unknown name is reported at once.
    pub fn select(&self, names: &[String], all: bool) -> Result<Vec<Cat>> {
        let names = if all {
            self.cat_names()?
        } else {
            let mut unique: Vec<String> = Vec::new();
            for name in names {
                if !unique.contains(name) {
                    unique.push(name.clone());
                }
            }
            unique
        };
        let mut cats = Vec::new();
        let mut errors = Vec::new();
        for name in &names {
            match self.cat(name) {
                Ok(cat) => cats.push(cat),
                Err(err) => errors.push(format!("{err:#}")),
            }
        }
        if errors.is_empty() {
            return Ok(cats);
        }
        let summary = format!("{} of the cats named cannot be used", errors.len());
        Err(errors::combine(&summary, &errors))
    }
}

/// Directory names under `cats_dir` (hidden ones skipped), sorted; empty when it is missing.
pub fn cat_dir_names(cats_dir: &Path) -> std::io::Result<Vec<String>> {
    let entries = match std::fs::read_dir(cats_dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(err),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry?;
        if !entry.file_type()?.is_dir() {
            continue;
        }
        if let Some(name) = entry.file_name().to_str()
            && !name.starts_with('.')
        {
            names.push(name.to_string());
        }
    }
    names.sort();
    Ok(names)
}

/// The line of `key` inside the `[schedule]` table.
fn line_of_schedule_key(text: &str, key: &str) -> Option<usize> {
    let start = text.lines().position(|l| l.trim() == "[schedule]")?;
    let rest: String = text.lines().skip(start).collect::<Vec<_>>().join("\n");
    let end = rest
        .lines()
        .skip(1)
        .position(|l| l.trim_start().starts_with('['))
        .map_or(usize::MAX, |i| i + 1);
    let table: String = rest.lines().take(end).collect::<Vec<_>>().join("\n");
    line_of_key(&table, key).map(|line| line + start)
}

fn line_of_key(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|line| {
            line.trim_start()
                .strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map(|index| index + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_key_lines() {
        let text = "# c\n\nversion = \"x\"\n";
        assert_eq!(line_of_key(text, "version"), Some(3));
        assert_eq!(line_of_key("versions = 1", "version"), None);
    }
}
