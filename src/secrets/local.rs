//! The local side of the cats' Secrets: reading `secret/` with the meaning of
//! `kubectl create secret generic NAME --from-file=secret/NAME`, and every check that runs
//! before anything is written. Token bytes live only in [`SecretValue`], which never shows them.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result};
use sha2::{Digest, Sha256};

/// Files in `secret/` that are documentation, not Secrets.
const NOT_SECRETS: &[&str] = &["README.md", "README"];

/// Token bytes. `Debug` and `Display` show only the length: values are never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(Vec<u8>);

impl SecretValue {
    pub fn new(bytes: Vec<u8>) -> SecretValue {
        SecretValue(bytes)
    }

    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    pub fn sha256(&self) -> [u8; 32] {
        Sha256::digest(&self.0).into()
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretValue(<{} bytes, redacted>)", self.0.len())
    }
}

/// One entry of `secret/`: a Secret and its keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalSecret {
    pub name: String,
    pub path: PathBuf,
    pub data: BTreeMap<String, SecretValue>,
}

impl LocalSecret {
    pub fn fingerprint(&self) -> String {
        fingerprint(self.data.iter().map(|(k, v)| (k.as_str(), v.expose())))
    }

    /// The full checksum of the data, as the cluster's Secret of the same data has.
    pub fn checksum(&self) -> String {
        checksum(self.data.iter().map(|(k, v)| (k.as_str(), v.expose())))
    }
}

/// A short, stable fingerprint of a Secret's data (the first 12 hex digits of [`checksum`]):
/// enough to tell two versions apart, useless for recovering a token.
pub fn fingerprint<'a>(data: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> String {
    let mut full = checksum(data);
    full.truncate(12);
    full
}

/// The sha256 of a Secret's keys and values, in key order, as hex.
pub fn checksum<'a>(data: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> String {
    let mut sorted: Vec<(&str, &[u8])> = data.into_iter().collect();
    sorted.sort();
    let mut hasher = Sha256::new();
    for (key, value) in sorted {
        hasher.update((key.len() as u64).to_be_bytes());
        hasher.update(key.as_bytes());
        hasher.update((value.len() as u64).to_be_bytes());
        hasher.update(value);
    }
    crate::image::Digest::sha256(&hasher.finalize())
        .hex()
        .to_string()
}

/// What the checks found: errors stop everything, warnings are printed and the work goes on.
#[derive(Debug, Default)]
pub struct Findings {
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
}

/// Reads every entry of `dir`, collecting unreadable or malformed entries as errors.
pub fn scan(dir: &Path, display: &str, findings: &mut Findings) -> Vec<LocalSecret> {
    let mut secrets = Vec::new();
    let listing = match fs::read_dir(dir) {
        Ok(listing) => listing,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return secrets,
        Err(err) => {
            findings
                .errors
                .push(format!("cannot read {display}/: {err}"));
            return secrets;
        }
    };
    let mut paths: Vec<PathBuf> = listing.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        let Some(name) = path
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_string)
        else {
            findings
                .errors
                .push(format!("{}: the name is not valid UTF-8", path.display()));
            continue;
        };
        if name.starts_with('.') || NOT_SECRETS.contains(&name.as_str()) {
            continue;
        }
        let shown = format!("{display}/{name}");
        match read_entry(dir, &path, &name, &shown) {
            Ok(data) => secrets.push(LocalSecret { name, path, data }),
            Err(err) => findings.errors.push(format!("{err:#}")),
        }
    }
    secrets
}

/// The largest token file read: tokens are a few dozen bytes.
pub const MAX_TOKEN_BYTES: u64 = 64 * 1024;
/// The largest Secret sent: the API server refuses objects over 1 MiB, metadata included.
pub const MAX_SECRET_BYTES: u64 = 1024 * 1024 - 64 * 1024;

/// What an entry of `secret/` (or a file in one of its directories) is, once its symlink, if
/// any, is followed — only to a place inside `secret/`.
enum Kind {
    File(u64),
    Dir,
}

fn kind_of(root: &Path, path: &Path, shown: &str) -> Result<Kind> {
    let link = fs::symlink_metadata(path).with_context(|| format!("cannot read {shown}"))?;
    let metadata = if link.file_type().is_symlink() {
        let target = fs::canonicalize(path)
            .with_context(|| format!("{shown} is a symlink to nothing readable"))?;
        let root = fs::canonicalize(root).with_context(|| format!("cannot read {shown}"))?;
        if !target.starts_with(&root) || target == root {
            anyhow::bail!(
                "{shown} is a symlink out of the secret directory (to {}); put the file itself                  there",
                target.display()
            );
        }
        fs::metadata(&target).with_context(|| format!("cannot read {shown}"))?
    } else {
        link
    };
    if metadata.is_dir() {
        Ok(Kind::Dir)
    } else if metadata.is_file() {
        Ok(Kind::File(metadata.len()))
    } else {
        anyhow::bail!(
            "{shown} is not a regular file (a FIFO, socket or device); a Secret's keys are              plain files"
        )
    }
}

/// The bytes of a token file of `len` bytes, refused over [`MAX_TOKEN_BYTES`] without
/// reading it (and never reading more, should it grow meanwhile).
fn read_token(path: &Path, len: u64, shown: &str) -> Result<SecretValue> {
    use std::io::Read as _;
    let too_big = || {
        anyhow::anyhow!(
            "{shown} is larger than {} KiB; a token file holds one token",
            MAX_TOKEN_BYTES / 1024
        )
    };
    if len > MAX_TOKEN_BYTES {
        return Err(too_big());
    }
    let file = fs::File::open(path).with_context(|| format!("cannot read {shown}"))?;
    let mut bytes = Vec::new();
    file.take(MAX_TOKEN_BYTES + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {shown}"))?;
    if bytes.len() as u64 > MAX_TOKEN_BYTES {
        return Err(too_big());
    }
    Ok(SecretValue::new(bytes))
}

fn read_entry(
    root: &Path,
    path: &Path,
    name: &str,
    shown: &str,
) -> Result<BTreeMap<String, SecretValue>> {
    let mut data = BTreeMap::new();
    match kind_of(root, path, shown)? {
        Kind::File(len) => {
            data.insert(name.to_string(), read_token(path, len, shown)?);
        }
        Kind::Dir => {
            let mut files: Vec<PathBuf> = fs::read_dir(path)
                .with_context(|| format!("cannot read {shown}"))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            files.sort();
            for file in files {
                let key = file
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default()
                    .to_string();
                if key.starts_with('.') {
                    continue;
                }
                let shown = format!("{shown}/{key}");
                let Kind::File(len) = kind_of(root, &file, &shown)? else {
                    anyhow::bail!(
                        "{shown} is a directory; a Secret directory holds one file per key, \
                         not directories"
                    );
                };
                data.insert(key, read_token(&file, len, &shown)?);
            }
        }
    }
    let total: u64 = data.values().map(|v| v.expose().len() as u64).sum();
    if total > MAX_SECRET_BYTES {
        anyhow::bail!(
            "{shown} holds {total} bytes; a Secret must stay under {} KiB",
            MAX_SECRET_BYTES / 1024
        );
    }
    Ok(data)
}

/// Every check on the scanned Secrets: names and keys as Kubernetes judges them, empty files,
/// stray whitespace, and two entries holding the same token.
pub fn check(secrets: &[LocalSecret], display: &str, findings: &mut Findings) {
    for secret in secrets {
        if let Some(problem) = invalid_name(&secret.name) {
            let hint = match suggest_name(&secret.name) {
                Some(valid) => format!(" — rename it to {display}/{valid}"),
                None => String::new(),
            };
            findings
                .errors
                .push(format!("{display}/{}: {problem}{hint}", secret.name));
        }
        let is_dir = secret.path.is_dir();
        if is_dir && secret.data.is_empty() {
            findings.errors.push(format!(
                "{display}/{}/ is empty; put one file per key in it (e.g. bot-token, app-token)",
                secret.name
            ));
        }
        for (key, value) in &secret.data {
            let shown = if is_dir {
                format!("{display}/{}/{key}", secret.name)
            } else {
                format!("{display}/{key}")
            };
            if let Some(problem) = invalid_key(key) {
                findings.errors.push(format!("{shown}: {problem}"));
            }
            check_value(&shown, value.expose(), findings);
        }
    }
    check_duplicates(secrets, findings);
}

fn check_value(shown: &str, bytes: &[u8], findings: &mut Findings) {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        findings
            .errors
            .push(format!("{shown} is empty; put the token in it"));
        return;
    }
    let trimmed = bytes.trim_ascii();
    if trimmed.len() != bytes.len() {
        let what = if bytes.ends_with(b"\n") && trimmed.len() + 1 == bytes.len() {
            "ends with a newline"
        } else {
            "has whitespace around the token"
        };
        findings.warnings.push(format!(
            "{shown} {what}: the Secret stores the file's exact bytes; the cat engine trims \
             whitespace when it reads a token, other programs may not (`printf %s \"$(cat \
             {shown})\" > {shown}` removes it)"
        ));
    }
}

fn check_duplicates(secrets: &[LocalSecret], findings: &mut Findings) {
    // The trimmed token's digest → the first entry holding it, and its exact bytes' digest.
    let mut seen: BTreeMap<[u8; 32], (&str, [u8; 32])> = BTreeMap::new();
    let mut reported = Vec::new();
    for secret in secrets {
        let mut own = Vec::new();
        for value in secret.data.values() {
            // The engine trims whitespace: `xoxb-1` and `xoxb-1\n` are one bot.
            let digest: [u8; 32] = Sha256::digest(value.expose().trim_ascii()).into();
            if own.contains(&digest) {
                continue;
            }
            own.push(digest);
            match seen.get(&digest) {
                Some((other, exact)) if !reported.contains(&(*other, secret.name.as_str())) => {
                    reported.push((*other, secret.name.as_str()));
                    let spaced = if *exact == value.sha256() {
                        ""
                    } else {
                        " (once with whitespace around it, which the cat engine trims)"
                    };
                    findings.errors.push(format!(
                        "{other} and {} hold the same token{spaced} — each cat needs its own \
                         bot's token",
                        secret.name
                    ));
                }
                Some(_) => {}
                None => {
                    seen.insert(digest, (&secret.name, value.sha256()));
                }
            }
        }
    }
}

/// Why Kubernetes would refuse `name` as a Secret name (an RFC 1123 subdomain), if it would.
pub fn invalid_name(name: &str) -> Option<String> {
    if name.len() > 253 {
        return Some(format!(
            "Kubernetes names may be at most 253 characters, this one has {}",
            name.len()
        ));
    }
    if name.contains('_') {
        return Some("Kubernetes names cannot contain '_'".to_string());
    }
    if name.chars().any(|c| c.is_ascii_uppercase()) {
        return Some("Kubernetes names must be lower case".to_string());
    }
    let label_ok = |label: &str| {
        !label.is_empty()
            && label
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    if !name.split('.').all(label_ok) {
        return Some(
            "Kubernetes names may contain only lower-case letters, digits, '-' and '.', and \
             must start and end with a letter or digit"
                .to_string(),
        );
    }
    None
}

/// The valid Secret name closest to `name`.
pub fn suggest_name(name: &str) -> Option<String> {
    let mut out = String::new();
    for c in name.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches(['-', '.']).to_string();
    (!out.is_empty() && invalid_name(&out).is_none()).then_some(out)
}

/// Why Kubernetes would refuse `key` as a Secret data key, if it would.
pub fn invalid_key(key: &str) -> Option<String> {
    let ok = !key.is_empty()
        && key.len() <= 253
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && key != "."
        && key != "..";
    (!ok).then(|| {
        "Secret keys may contain only letters, digits, '-', '_' and '.' — rename the file"
            .to_string()
    })
}

/// Warnings about where tokens could leak: `secret/` not git-ignored, files tracked by git,
/// files readable by group or others.
pub fn check_exposure(farm_root: &Path, dir: &Path, display: &str, findings: &mut Findings) {
    if !dir.exists() {
        return;
    }
    if in_git_work_tree(farm_root) {
        let probe = format!("{display}/catctl-ignore-probe");
        let ignored = git(farm_root, &["check-ignore", "-q", "--no-index", &probe])
            .map(|o| o.status.success())
            .unwrap_or(true);
        if !ignored {
            findings.warnings.push(format!(
                "{display}/ is not git-ignored — add `/{display}/*` to .gitignore so tokens never \
                 reach git"
            ));
        }
        if let Ok(output) = git(farm_root, &["ls-files", "--", display]) {
            let tracked: Vec<String> = String::from_utf8_lossy(&output.stdout)
                .lines()
                .filter(|path| {
                    let name = path.rsplit('/').next().unwrap_or(path);
                    !name.starts_with('.') && !NOT_SECRETS.contains(&name)
                })
                .map(str::to_string)
                .collect();
            if !tracked.is_empty() {
                findings.warnings.push(format!(
                    "git tracks {} — remove them with `git rm --cached {}` and rotate those tokens",
                    tracked.join(", "),
                    tracked.join(" ")
                ));
            }
        }
    }
    let mut loose = Vec::new();
    collect_loose(dir, display, &mut loose);
    if !loose.is_empty() {
        findings.warnings.push(format!(
            "readable by group or others: {} — run `chmod -R go-rwx {display}`",
            loose.join(", ")
        ));
    }
}

#[cfg(unix)]
fn collect_loose(dir: &Path, display: &str, out: &mut Vec<String>) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(listing) = fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = listing.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        if NOT_SECRETS.contains(&name.as_str()) || name == ".gitignore" {
            continue;
        }
        let shown = format!("{display}/{name}");
        if path.is_dir() {
            collect_loose(&path, &shown, out);
        } else if let Ok(meta) = fs::metadata(&path)
            && meta.permissions().mode() & 0o044 != 0
        {
            out.push(shown);
        }
    }
}

#[cfg(not(unix))]
fn collect_loose(_dir: &Path, _display: &str, _out: &mut Vec<String>) {}

fn in_git_work_tree(root: &Path) -> bool {
    git(root, &["rev-parse", "--is-inside-work-tree"])
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn git(root: &Path, args: &[&str]) -> std::io::Result<std::process::Output> {
    Command::new("git").args(args).current_dir(root).output()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(name: &str, data: &[(&str, &str)]) -> LocalSecret {
        LocalSecret {
            name: name.to_string(),
            path: PathBuf::from(format!("/nonexistent/{name}")),
            data: data
                .iter()
                .map(|(k, v)| (k.to_string(), SecretValue::new(v.as_bytes().to_vec())))
                .collect(),
        }
    }

    #[test]
    fn underscore_is_refused_with_the_valid_name() {
        let mut findings = Findings::default();
        check(
            &[secret("dd_token", &[("dd_token", "xoxb-1")])],
            "secret",
            &mut findings,
        );
        assert_eq!(
            findings.errors,
            ["secret/dd_token: Kubernetes names cannot contain '_' — rename it to secret/dd-token"]
        );
    }

    #[test]
    fn duplicate_tokens_name_both_entries() {
        let mut findings = Findings::default();
        let secrets = [
            secret(
                "dd-token",
                &[("bot-token", "xoxb-same"), ("app-token", "xapp-1")],
            ),
            secret(
                "tt-token",
                &[("bot-token", "xoxb-same"), ("app-token", "xapp-2")],
            ),
        ];
        check(&secrets, "secret", &mut findings);
        assert_eq!(
            findings.errors,
            ["dd-token and tt-token hold the same token — each cat needs its own bot's token"]
        );
    }

    #[test]
    fn duplicates_are_found_on_the_trimmed_token() {
        let mut findings = Findings::default();
        let secrets = [
            secret("dd-token", &[("bot-token", "xoxb-same")]),
            secret("tt-token", &[("bot-token", " xoxb-same\r\n")]),
        ];
        check(&secrets, "secret", &mut findings);
        assert_eq!(
            findings.errors,
            [
                "dd-token and tt-token hold the same token (once with whitespace around it, which \
                 the cat engine trims) — each cat needs its own bot's token"
            ]
        );
        assert_eq!(findings.warnings.len(), 1, "{:?}", findings.warnings);
    }

    #[test]
    fn empty_and_whitespace() {
        let mut findings = Findings::default();
        check(
            &[
                secret("a", &[("a", "\n")]),
                secret("b", &[("b", "xoxb-2\n")]),
            ],
            "secret",
            &mut findings,
        );
        assert_eq!(findings.errors, ["secret/a is empty; put the token in it"]);
        assert_eq!(findings.warnings.len(), 1);
        assert!(findings.warnings[0].starts_with("secret/b ends with a newline"));
    }

    #[test]
    fn values_never_show_in_debug() {
        let s = secret("dd-token", &[("bot-token", "xoxb-very-secret")]);
        let debug = format!("{s:?}");
        assert!(!debug.contains("very-secret"), "{debug}");
        assert!(debug.contains("redacted"));
    }

    #[test]
    fn fingerprints_depend_on_keys_and_values_only() {
        let a = secret("x", &[("k", "v"), ("l", "w")]);
        let b = secret("y", &[("l", "w"), ("k", "v")]);
        let c = secret("x", &[("k", "v2"), ("l", "w")]);
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_ne!(a.fingerprint(), c.fingerprint());
        assert_eq!(a.fingerprint().len(), 12);
    }

    #[test]
    fn names_and_keys() {
        assert!(invalid_name("dd-token").is_none());
        assert!(invalid_name("a.b-c").is_none());
        assert!(invalid_name("DD").is_some());
        assert!(invalid_name("-a").is_some());
        assert_eq!(suggest_name("DD_Token").as_deref(), Some("dd-token"));
        assert!(invalid_key("bot-token").is_none());
        assert!(invalid_key("bot_token.txt").is_none());
        assert!(invalid_key("bot token").is_some());
    }
}
