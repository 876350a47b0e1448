//! What git says about the farm an image is built from — its commit, whether the cat's sources
//! have uncommitted changes, and where it lives — by running `git` (bounded in time). A farm
//! outside git, or a machine without git, simply has no answer.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

/// How long one git command may take.
const GIT_TIMEOUT: Duration = Duration::from_secs(10);

/// The farm's git state for one build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    /// `git rev-parse HEAD`.
    pub commit: String,
    /// Whether `paths` (the cat's sources) have changes or untracked files git has not committed.
    pub dirty: bool,
    /// The `origin` remote's URL without credentials, when there is one.
    pub source: Option<String>,
}

/// The git state of the repository holding `root`, with `paths` checked for uncommitted
/// changes; `None` when `root` is not in a git repository with a commit (or git is missing).
pub async fn revision(root: &Path, paths: &[PathBuf]) -> Option<Revision> {
    let commit = git(root, &["rev-parse", "--verify", "HEAD"]).await?;
    let mut status = vec!["status", "--porcelain", "--untracked-files=normal", "--"];
    let paths: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    status.extend(paths.iter().map(String::as_str));
    let dirty = !git(root, &status).await?.is_empty();
    let source = git(root, &["remote", "get-url", "origin"])
        .await
        .filter(|url| !url.is_empty())
        .map(|url| without_credentials(&url));
    Some(Revision {
        commit,
        dirty,
        source,
    })
}

/// `git -C root args…`'s trimmed output, or `None` when it fails or takes too long.
async fn git(root: &Path, args: &[&str]) -> Option<String> {
    let child = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_OPTIONAL_LOCKS", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(GIT_TIMEOUT, child).await.ok()?.ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// `https://user:token@host/x.git` → `https://host/x.git`: a remote's URL may hold a token,
/// which must never reach an image label.
fn without_credentials(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = authority
                .rsplit_once('@')
                .map_or(authority, |(_, host)| host);
            format!("{scheme}://{host}{path}")
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_leave_the_url() {
        assert_eq!(
            without_credentials("https://cat:ghp_s3cret@github.com/cream/farm.git"),
            "https://github.com/cream/farm.git"
        );
        assert_eq!(
            without_credentials("https://github.com/cream/farm"),
            "https://github.com/cream/farm"
        );
        assert_eq!(
            without_credentials("ssh://git@host:22/farm"),
            "ssh://host:22/farm"
        );
        assert_eq!(
            without_credentials("git@github.com:cream/farm.git"),
            "git@github.com:cream/farm.git"
        );
    }

    fn run_git(dir: &Path, args: &[&str]) {
        let status = std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["-c", "user.name=cat", "-c", "user.email=cat@example.com"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    }

    #[tokio::test]
    async fn commit_and_dirty_sources() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        assert_eq!(revision(root, &[]).await, None, "not a repository");
        run_git(root, &["init", "-q"]);
        std::fs::create_dir_all(root.join("cats/dd")).unwrap();
        std::fs::write(root.join("cats/dd/cat.toml"), "version = \"v1\"\n").unwrap();
        std::fs::write(root.join("notes.txt"), "x").unwrap();
        run_git(root, &["add", "."]);
        run_git(root, &["commit", "-q", "-m", "first"]);
        run_git(
            root,
            &[
                "remote",
                "add",
                "origin",
                "https://cat:s3cret@example.com/farm.git",
            ],
        );
        let sources = [root.join("cats/dd")];
        let clean = revision(root, &sources).await.unwrap();
        assert_eq!(clean.commit.len(), 40, "{clean:?}");
        assert!(!clean.dirty);
        assert_eq!(
            clean.source.as_deref(),
            Some("https://example.com/farm.git")
        );

        std::fs::write(root.join("notes.txt"), "changed elsewhere").unwrap();
        assert!(
            !revision(root, &sources).await.unwrap().dirty,
            "not the cat's sources"
        );
        std::fs::write(root.join("cats/dd/reply.txt"), "meow").unwrap();
        assert!(
            revision(root, &sources).await.unwrap().dirty,
            "an untracked file"
        );
    }
}
