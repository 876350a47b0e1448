//! A cat's build context: the template directory with the cat's own directory laid over it.
//! A file in the cat's directory replaces the template's file of the same path.
//!
//! [`build_context`] is what `build` sends and `context --out` writes: the merge with the
//! merged `.dockerignore` (the cat's if it has one, else the template's) applied, exactly as
//! `docker build` would apply it to the written-out directory.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};

use crate::build_context::dockerignore::DockerIgnore;

/// Files the daemon always receives, even when `.dockerignore` names them (as the Docker CLI
/// does): it needs them to build.
const ALWAYS_SENT: [&str; 2] = ["Dockerfile", ".dockerignore"];

/// What one path of the merged context is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    Dir,
    /// A regular file with its Unix permission bits.
    File {
        mode: u32,
    },
    Symlink {
        target: PathBuf,
    },
}

/// One path of the merged context and where its content comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Relative path inside the context, '/'-separated.
    pub path: String,
    /// The file or directory on disk that provides it.
    pub source: PathBuf,
    pub kind: EntryKind,
}

/// Files of a cat's directory that are catctl's, not the image's: its own Kubernetes manifest
/// template. Leaving them out keeps a manifest change from looking like a source change.
pub const CAT_ONLY_FILES: [&str; 1] = [crate::manifest::TEMPLATE_FILE];

/// The merged context of `template` overlaid by `cat`, sorted by path.
pub fn merge(template: &Path, cat: &Path) -> Result<Vec<Entry>> {
    if !template.is_dir() {
        bail!(
            "template directory {} is missing — every cat is built from it",
            template.display()
        );
    }
    let mut entries = BTreeMap::new();
    collect(template, template, &mut entries)?;
    let mut overlay = BTreeMap::new();
    collect(cat, cat, &mut overlay)?;
    for (path, entry) in overlay {
        if CAT_ONLY_FILES.contains(&path.as_str()) {
            continue;
        }
        if let Some(existing) = entries.get(&path) {
            let dir_vs_file =
                matches!(existing.kind, EntryKind::Dir) != matches!(entry.kind, EntryKind::Dir);
            if dir_vs_file {
                bail!(
                    "{} cannot override {}: one is a directory and the other is not",
                    entry.source.display(),
                    existing.source.display()
                );
            }
        }
        entries.insert(path, entry);
    }
    Ok(entries.into_values().collect())
}

/// The build context of a cat: [`merge`] with `.dockerignore` applied.
pub fn build_context(template: &Path, cat: &Path) -> Result<Vec<Entry>> {
    let entries = merge(template, cat)?;
    let ignore = match entries.iter().find(|e| e.path == ".dockerignore") {
        Some(entry) => {
            let text = fs::read_to_string(&entry.source)
                .with_context(|| format!("cannot read {}", entry.source.display()))?;
            DockerIgnore::parse(&text).with_context(|| format!("in {}", entry.source.display()))?
        }
        None => return Ok(entries),
    };
    Ok(apply_ignore(entries, &ignore))
}

/// Drops what `ignore` excludes; a directory stays when something under it stays.
fn apply_ignore(entries: Vec<Entry>, ignore: &DockerIgnore) -> Vec<Entry> {
    let kept: Vec<bool> = entries
        .iter()
        .map(|e| ALWAYS_SENT.contains(&e.path.as_str()) || !ignore.excludes(&e.path))
        .collect();
    let kept_files: Vec<&str> = entries
        .iter()
        .zip(&kept)
        .filter(|(e, keep)| **keep && e.kind != EntryKind::Dir)
        .map(|(e, _)| e.path.as_str())
        .collect();
    let keep_dir = |dir: &str| {
        let prefix = format!("{dir}/");
        kept_files.iter().any(|f| f.starts_with(&prefix))
    };
    let decisions: Vec<bool> = entries
        .iter()
        .zip(&kept)
        .map(|(e, keep)| *keep || (e.kind == EntryKind::Dir && keep_dir(&e.path)))
        .collect();
    entries
        .into_iter()
        .zip(decisions)
        .filter_map(|(e, keep)| keep.then_some(e))
        .collect()
}

fn collect(root: &Path, dir: &Path, out: &mut BTreeMap<String, Entry>) -> Result<()> {
    let listing = fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    for item in listing {
        let item = item.with_context(|| format!("cannot read {}", dir.display()))?;
        let source = item.path();
        let meta = fs::symlink_metadata(&source)
            .with_context(|| format!("cannot read {}", source.display()))?;
        let path = relative_path(root, &source)?;
        let kind = if meta.file_type().is_symlink() {
            let target = fs::read_link(&source)
                .with_context(|| format!("cannot read link {}", source.display()))?;
            EntryKind::Symlink { target }
        } else if meta.is_dir() {
            EntryKind::Dir
        } else if meta.is_file() {
            EntryKind::File {
                mode: file_mode(&meta),
            }
        } else {
            bail!(
                "{} is neither a file, a directory nor a symlink; a build context cannot hold it",
                source.display()
            );
        };
        let is_dir = kind == EntryKind::Dir;
        out.insert(
            path.clone(),
            Entry {
                path,
                source: source.clone(),
                kind,
            },
        );
        if is_dir {
            collect(root, &source, out)?;
        }
    }
    Ok(())
}

fn relative_path(root: &Path, path: &Path) -> Result<String> {
    let relative = path.strip_prefix(root).unwrap_or(path);
    let parts: Option<Vec<&str>> = relative
        .components()
        .map(|c| c.as_os_str().to_str())
        .collect();
    match parts {
        Some(parts) => Ok(parts.join("/")),
        None => bail!("{} is not valid UTF-8; rename it", path.display()),
    }
}

#[cfg(unix)]
fn file_mode(meta: &fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o7777
}

#[cfg(not(unix))]
fn file_mode(meta: &fs::Metadata) -> u32 {
    if meta.permissions().readonly() {
        0o444
    } else {
        0o644
    }
}

/// Writes the merged context into `out`, which must be new or empty: nothing that is there
/// already is ever overwritten.
pub fn write_out(entries: &[Entry], out: &Path) -> Result<()> {
    match fs::read_dir(out) {
        Ok(mut listing) => {
            if listing.next().is_some() {
                bail!(
                    "{} is not empty — choose a new or empty directory (nothing was written)",
                    out.display()
                );
            }
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
        }
        Err(err) => {
            return Err(err).with_context(|| format!("cannot use {} as output", out.display()));
        }
    }
    for entry in entries {
        let dest = out.join(&entry.path);
        match &entry.kind {
            EntryKind::Dir => fs::create_dir_all(&dest)
                .with_context(|| format!("cannot create {}", dest.display()))?,
            EntryKind::File { mode } => {
                fs::copy(&entry.source, &dest).with_context(|| {
                    format!(
                        "cannot copy {} to {}",
                        entry.source.display(),
                        dest.display()
                    )
                })?;
                set_mode(&dest, *mode)?;
            }
            EntryKind::Symlink { target } => make_symlink(target, &dest)?,
        }
    }
    Ok(())
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot set permissions of {}", path.display()))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> Result<()> {
    Ok(())
}

#[cfg(unix)]
fn make_symlink(target: &Path, dest: &Path) -> Result<()> {
    std::os::unix::fs::symlink(target, dest)
        .with_context(|| format!("cannot create symlink {}", dest.display()))
}

#[cfg(not(unix))]
fn make_symlink(_target: &Path, dest: &Path) -> Result<()> {
    bail!("cannot create symlink {} on this platform", dest.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    #[test]
    fn cat_files_override_template_files() {
        let tmp = tempfile::tempdir().unwrap();
        let (template, cat) = (tmp.path().join("t"), tmp.path().join("c"));
        write(&template.join("Dockerfile"), "FROM scratch\n");
        write(&template.join("cat.toml"), "template\n");
        write(&template.join("src/engine.js"), "engine\n");
        write(&cat.join("cat.toml"), "dd\n");
        write(&cat.join("src/extra.js"), "extra\n");
        let entries = merge(&template, &cat).unwrap();
        let paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "Dockerfile",
                "cat.toml",
                "src",
                "src/engine.js",
                "src/extra.js"
            ]
        );
        let cat_toml = entries.iter().find(|e| e.path == "cat.toml").unwrap();
        assert_eq!(cat_toml.source, cat.join("cat.toml"));

        let out = tmp.path().join("out");
        write_out(&entries, &out).unwrap();
        assert_eq!(fs::read_to_string(out.join("cat.toml")).unwrap(), "dd\n");
        assert_eq!(
            fs::read_to_string(out.join("src/engine.js")).unwrap(),
            "engine\n"
        );
        let err = write_out(&entries, &out).unwrap_err();
        assert!(err.to_string().contains("not empty"), "{err}");
    }

    #[test]
    fn dockerignore_of_the_cat_applies_to_template_and_cat_files() {
        let tmp = tempfile::tempdir().unwrap();
        let (template, cat) = (tmp.path().join("t"), tmp.path().join("c"));
        write(&template.join("Dockerfile"), "FROM scratch\n");
        write(&template.join(".dockerignore"), "*.log\n");
        write(&template.join("engine.log"), "x");
        write(&template.join("notes/a.md"), "x");
        write(
            &cat.join(".dockerignore"),
            "*.log\nnotes\n!notes/keep.md\nDockerfile\n",
        );
        write(&cat.join("cat.log"), "x");
        write(&cat.join("notes/keep.md"), "x");
        write(&cat.join("cat.toml"), "x");
        let entries = build_context(&template, &cat).unwrap();
        let paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                ".dockerignore",
                "Dockerfile",
                "cat.toml",
                "notes",
                "notes/keep.md"
            ]
        );
    }

    #[test]
    fn a_cats_manifest_template_is_not_image_content() {
        let tmp = tempfile::tempdir().unwrap();
        let (template, cat) = (tmp.path().join("t"), tmp.path().join("c"));
        write(&template.join("Dockerfile"), "FROM scratch\n");
        write(&cat.join("deployment.yaml"), "kind: StatefulSet\n");
        write(&cat.join("sub/deployment.yaml"), "data\n");
        let paths: Vec<String> = merge(&template, &cat)
            .unwrap()
            .into_iter()
            .map(|e| e.path)
            .collect();
        assert_eq!(paths, ["Dockerfile", "sub", "sub/deployment.yaml"]);
    }

    #[test]
    fn file_over_directory_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let (template, cat) = (tmp.path().join("t"), tmp.path().join("c"));
        write(&template.join("src/a"), "a");
        write(&cat.join("src"), "not a dir");
        assert!(merge(&template, &cat).is_err());
    }
}
