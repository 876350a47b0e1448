//! `--help` of every command and subcommand, as snapshots in tests/it/snapshots/. The commands
//! are found by walking the "Commands:" lists of the help itself, so a new command without a
//! snapshot fails (insta does not write new snapshots under CI), and so does a snapshot left
//! behind by a removed command.

use std::collections::BTreeSet;
use std::path::Path;

use crate::common::{Catctl, repo};

/// The snapshot files of this module are `it__help__<name>.snap`.
const PREFIX: &str = "it__help__";

#[test]
fn help_of_every_command_is_snapshotted() {
    let mut visited = BTreeSet::new();
    let mut queue = vec![Vec::<String>::new()];
    while let Some(path) = queue.pop() {
        let help = Catctl::new(path.iter().map(String::as_str).chain(["--help"]))
            .run()
            .ok()
            .stdout();
        let name = snapshot_name(&path);
        insta::with_settings!({
            prepend_module_to_snapshot => true,
            description => format!("catctl {} --help", path.join(" ")),
            omit_expression => true,
        }, {
            insta::assert_snapshot!(name.as_str(), help);
        });
        visited.insert(name);
        for command in subcommands(&help) {
            let mut deeper = path.clone();
            deeper.push(command);
            queue.push(deeper);
        }
    }
    assert!(visited.len() > 10, "too few commands found: {visited:?}");
    let stale: Vec<String> = committed(&repo().join("tests/it/snapshots"))
        .into_iter()
        .filter(|name| !visited.contains(name))
        .collect();
    assert!(
        stale.is_empty(),
        "help snapshots of commands that no longer exist: {stale:?}"
    );
}

/// `catctl` for the top level, else the command path joined with `-`: `secret-sync`.
fn snapshot_name(path: &[String]) -> String {
    if path.is_empty() {
        "catctl".to_string()
    } else {
        path.join("-")
    }
}

/// The names under "Commands:" in a help text, `help` left out.
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|line| *line != "Commands:")
        .skip(1)
        .take_while(|line| !line.trim().is_empty())
        .filter(|line| line.starts_with("  ") && !line.starts_with("   "))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

/// The names of the committed help snapshots.
fn committed(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|entry| {
                    let file = entry.ok()?.file_name().into_string().ok()?;
                    let name = file.strip_prefix(PREFIX)?.strip_suffix(".snap")?;
                    Some(name.to_string())
                })
                .collect()
        })
        .unwrap_or_default()
}
