//! Creating new cats from the template — the safe `copycat.sh`: names are checked first,
//! existing cats are never touched, and either every cat is created or none is.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use minijinja::{Environment, UndefinedBehavior};

use crate::config::{self, CatConfig};
use crate::errors;
use crate::farm::{CAT_FILE, Farm};
use crate::names;

/// Creates `cats/NAME/cat.toml` for every name, rendered from `templates/cat/cat.toml`.
/// Returns the new directories. On any error nothing is left behind.
pub fn create(farm: &Farm, names: &[String]) -> Result<Vec<PathBuf>> {
    check_names(names)?;
    check_absent(farm, names)?;
    let template_file = farm.template_dir().join(CAT_FILE);
    let template = fs::read_to_string(&template_file).with_context(|| {
        format!(
            "cannot read the cat template {} — it is what new cats are made from",
            template_file.display()
        )
    })?;
    let rendered = names
        .iter()
        .map(|name| render(&template_file, &template, name))
        .collect::<Result<Vec<String>>>()?;
    fs::create_dir_all(farm.cats_dir())
        .with_context(|| format!("cannot create {}", farm.cats_dir().display()))?;

    let mut created = Vec::new();
    for (name, text) in names.iter().zip(&rendered) {
        let dir = farm.cat_dir(name);
        if let Err(err) = write_cat(&dir, text) {
            roll_back(&created);
            return Err(err);
        }
        created.push(dir);
    }
    Ok(created)
}

fn check_names(names: &[String]) -> Result<()> {
    let mut problems: Vec<String> = names
        .iter()
        .filter_map(|name| names::validate_cat_name(name).err())
        .map(|err| err.to_string())
        .collect();
    for (index, name) in names.iter().enumerate() {
        if names[..index].contains(name) && !problems.iter().any(|p| p.contains("named twice")) {
            problems.push(format!("'{name}' is named twice"));
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    if let [one] = problems.as_mut_slice() {
        one.push_str(" (nothing was created)");
    }
    let summary = format!(
        "{} of the names cannot be used (nothing was created)",
        problems.len()
    );
    Err(errors::combine(&summary, &problems))
}

fn check_absent(farm: &Farm, names: &[String]) -> Result<()> {
    let existing: Vec<String> = names
        .iter()
        .filter(|name| fs::symlink_metadata(farm.cat_dir(name)).is_ok())
        .map(|name| format!("{}", farm.display_path(&farm.cat_dir(name))))
        .collect();
    if existing.is_empty() {
        return Ok(());
    }
    let (noun, verb) = if existing.len() == 1 {
        ("cat", "exists")
    } else {
        ("cats", "exist")
    };
    bail!(
        "{noun} already {verb}: {} — copycat never overwrites a cat; edit its files instead, or \
         choose another name (nothing was created)",
        existing.join(", ")
    )
}

/// Renders the template `cat.toml` for `name` and checks that the result is a valid cat.
fn render(file: &Path, template: &str, name: &str) -> Result<String> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    let mut text = env
        .render_str(template, minijinja::context! { name => name })
        .with_context(|| format!("cannot render {} for {name}", file.display()))?;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    let label = PathBuf::from(format!("{} (rendered for {name})", file.display()));
    let cat: CatConfig = config::parse(&label, &text)?;
    config::validate_version(&cat.version)
        .map_err(|message| anyhow::anyhow!("{}: version: {message}", file.display()))?;
    Ok(text)
}

fn write_cat(dir: &Path, text: &str) -> Result<()> {
    // create_dir, not create_dir_all: it fails if the directory appeared meanwhile.
    fs::create_dir(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let file = dir.join(CAT_FILE);
    fs::write(&file, text).with_context(|| format!("cannot write {}", file.display()))
}

/// Removes only what this run created: a directory holding the one file written into it.
fn roll_back(created: &[PathBuf]) {
    for dir in created {
        let _ = fs::remove_file(dir.join(CAT_FILE));
        let _ = fs::remove_dir(dir);
    }
}
