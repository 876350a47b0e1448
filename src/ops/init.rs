//! `init`: a new farm written from what the binary carries — catctl.toml, the cat template and
//! manifest template (`templates/`, embedded at build time), an empty `cats/`, a git-ignored
//! `secret/`, a top-level `.gitignore` and the completion scripts. Never overwrites anything.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use include_dir::{Dir, DirEntry, include_dir};

use crate::farm::CONFIG_FILE;

/// The repository's `templates/`, as it was when this binary was built.
static TEMPLATES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates");

const SECRET_README: &str = include_str!("../../secret/README.md");
const SECRET_GITIGNORE: &str = "# Tokens never reach git. secret/<cat>-token is a file or a \
                                directory of key files.\n*\n!.gitignore\n!README.md\n";
const GITIGNORE: &str = "# Tokens never reach git: everything under secret/ except its README.\n\
                         /secret/*\n!/secret/README.md\n!/secret/.gitignore\n\
                         # Installed Node modules of the cat engine.\nnode_modules/\n";

/// The farm-wide settings `init` writes.
#[derive(Debug, Clone)]
pub struct InitOptions {
    pub registry: String,
    /// `None`: catctl.toml leaves it out, so the kube context's namespace applies (else `default`).
    pub namespace: Option<String>,
}

/// Writes a new farm into `dir` (made if missing); returns the files written, relative to it.
/// Refuses a directory that holds a farm, or any file it would write, before writing anything.
pub fn init(dir: &Path, options: &InitOptions) -> Result<Vec<PathBuf>> {
    if dir.join(CONFIG_FILE).exists() {
        bail!(
            "{} already holds a farm ({CONFIG_FILE} exists) — nothing written",
            dir.display()
        );
    }
    let files = files(options)?;
    let existing: Vec<String> = files
        .iter()
        .map(|(path, _)| path)
        .filter(|path| dir.join(path).exists())
        .map(|path| path.display().to_string())
        .collect();
    if !existing.is_empty() {
        bail!(
            "{} already has {} — init writes only into an empty or new directory; nothing written",
            dir.display(),
            existing.join(", ")
        );
    }
    for (path, bytes) in &files {
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&target, bytes)
            .with_context(|| format!("cannot write {}", target.display()))?;
    }
    let cats = dir.join("cats");
    std::fs::create_dir_all(&cats).with_context(|| format!("cannot create {}", cats.display()))?;
    Ok(files.into_iter().map(|(path, _)| path).collect())
}

/// Every file of a new farm with its contents.
fn files(options: &InitOptions) -> Result<Vec<(PathBuf, Vec<u8>)>> {
    let namespace = match &options.namespace {
        Some(namespace) => format!("namespace = {}\n", toml_string(namespace)),
        None => "# namespace = \"cats\"        # unset: the kube context's namespace, else \"default\"\n"
            .to_string(),
    };
    let config = format!(
        "# The farm: where images go and where the cats run.\nregistry = {}\n{namespace}\
         # context = \"my-cluster\"   # a kubeconfig context other than the current one\n\
         # concurrency = 4           # cats built, pushed or deployed at once\n",
        toml_string(&options.registry),
    );
    let mut files = vec![
        (PathBuf::from(CONFIG_FILE), config.into_bytes()),
        (PathBuf::from(".gitignore"), GITIGNORE.as_bytes().to_vec()),
        (
            PathBuf::from("secret/.gitignore"),
            SECRET_GITIGNORE.as_bytes().to_vec(),
        ),
        (
            PathBuf::from("secret/README.md"),
            SECRET_README.as_bytes().to_vec(),
        ),
    ];
    for (shell, file) in [
        ("bash", "catctl.bash"),
        ("zsh", "_catctl"),
        ("fish", "catctl.fish"),
    ] {
        let script = crate::complete::script(shell)?;
        files.push((Path::new("completions").join(file), script.into_bytes()));
    }
    collect(&TEMPLATES, Path::new("templates"), &mut files);
    Ok(files)
}

fn collect(dir: &Dir<'_>, under: &Path, files: &mut Vec<(PathBuf, Vec<u8>)>) {
    for entry in dir.entries() {
        match entry {
            DirEntry::Dir(sub) if sub.path().ends_with("node_modules") => {}
            DirEntry::Dir(sub) => collect(sub, under, files),
            DirEntry::File(file) => {
                files.push((under.join(file.path()), file.contents().to_vec()));
            }
        }
    }
}

fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_template_has_the_engine_and_the_manifest() {
        let options = InitOptions {
            registry: "127.0.0.1:5000".into(),
            namespace: Some("cats".into()),
        };
        let files = files(&options).unwrap();
        let paths: Vec<String> = files.iter().map(|(p, _)| p.display().to_string()).collect();
        for expected in [
            "catctl.toml",
            "templates/deployment.yaml",
            "templates/cat/Dockerfile",
            "templates/cat/cat.toml",
            "secret/.gitignore",
            "completions/catctl.bash",
        ] {
            assert!(paths.iter().any(|p| p == expected), "{expected}: {paths:?}");
        }
        let config: crate::config::FarmConfig = crate::config::parse(
            Path::new("catctl.toml"),
            &String::from_utf8_lossy(&files[0].1),
        )
        .unwrap();
        assert_eq!(config.namespace.as_deref(), Some("cats"));
    }

    #[test]
    fn without_a_namespace_the_kube_context_decides() {
        let options = InitOptions {
            registry: "127.0.0.1:5000".into(),
            namespace: None,
        };
        let files = files(&options).unwrap();
        let config: crate::config::FarmConfig = crate::config::parse(
            Path::new("catctl.toml"),
            &String::from_utf8_lossy(&files[0].1),
        )
        .unwrap();
        assert_eq!(config.namespace, None);
    }

    #[test]
    fn a_directory_holding_a_farm_is_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CONFIG_FILE), "registry = \"x\"\n").unwrap();
        let options = InitOptions {
            registry: "r".into(),
            namespace: None,
        };
        let err = init(dir.path(), &options).unwrap_err();
        assert!(format!("{err}").contains("already holds a farm"), "{err}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
