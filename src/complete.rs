//! Cat names for shell completion, read from the farm's `cats/` at TAB time (no network).

use std::ffi::OsStr;

use clap_complete::engine::CompletionCandidate;

use crate::farm;

/// Candidates for an argument naming an existing cat.
pub fn complete_cat_names(current: &OsStr) -> Vec<CompletionCandidate> {
    let Some(prefix) = current.to_str() else {
        return Vec::new();
    };
    let explicit = std::env::var_os("CATCTL_CONFIG").map(std::path::PathBuf::from);
    let Ok(cwd) = std::env::current_dir() else {
        return Vec::new();
    };
    let Ok(config) = farm::find_config(explicit.as_deref(), &cwd) else {
        return Vec::new();
    };
    let Some(root) = config.parent() else {
        return Vec::new();
    };
    farm::cat_dir_names(&root.join(farm::CATS_DIR))
        .unwrap_or_default()
        .into_iter()
        .filter(|name| name.starts_with(prefix))
        .map(CompletionCandidate::new)
        .collect()
}

/// The registration script for `shell` (bash, zsh, fish), calling `catctl` from PATH.
pub fn script(shell: &str) -> anyhow::Result<String> {
    use anyhow::Context as _;
    let shells = clap_complete::env::Shells::builtins();
    let completer = shells
        .completer(shell)
        .with_context(|| format!("no completion support for {shell}"))?;
    let mut buf = Vec::new();
    completer.write_registration("COMPLETE", "catctl", "catctl", "catctl", &mut buf)?;
    Ok(String::from_utf8(buf)?)
}
