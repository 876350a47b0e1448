//! Fixtures: a throwaway farm made from the repository's templates, the binary, tree snapshots.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The repository root (where Cargo.toml is).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A farm in a temporary directory, with the repository's `templates/` and a `catctl.toml`.
pub struct TestFarm {
    pub dir: tempfile::TempDir,
}

impl TestFarm {
    pub fn new() -> TestFarm {
        let dir = tempfile::tempdir().expect("temp dir");
        copy_tree(&repo().join("templates"), &dir.path().join("templates"));
        fs::write(
            dir.path().join("catctl.toml"),
            "registry = \"127.0.0.1:5000\"\nnamespace = \"default\"\n",
        )
        .unwrap();
        TestFarm { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `catctl` run inside the farm, with no colour and no inherited catctl settings.
    pub fn catctl(&self) -> Command {
        let mut cmd = catctl();
        cmd.current_dir(self.path());
        cmd
    }

    pub fn write(&self, relative: &str, text: &str) {
        let path = self.path().join(relative);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    pub fn read(&self, relative: &str) -> String {
        fs::read_to_string(self.path().join(relative)).unwrap()
    }
}

/// The binary under test with a clean environment.
pub fn catctl() -> Command {
    let mut cmd = Command::cargo_bin("catctl").expect("catctl binary");
    for var in ["CATCTL_CONFIG", "CATCTL_REGISTRY", "COMPLETE"] {
        cmd.env_remove(var);
    }
    cmd.env("NO_COLOR", "1");
    cmd
}

pub fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            if entry.file_name() == "node_modules" {
                continue;
            }
            copy_tree(&entry.path(), &target);
        } else if kind.is_file() {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Every path under `root` with its bytes (None for directories): equal snapshots mean a
/// byte-identical tree.
pub fn snapshot(root: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    let mut out = BTreeMap::new();
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Option<Vec<u8>>>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let relative = path.strip_prefix(root).unwrap().to_path_buf();
            if path.is_dir() {
                out.insert(relative, None);
                walk(root, &path, out);
            } else {
                out.insert(relative, Some(fs::read(&path).unwrap()));
            }
        }
    }
    walk(root, root, &mut out);
    out
}

pub fn stdout_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
