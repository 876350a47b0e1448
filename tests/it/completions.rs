//! Shell completion: the committed scripts are current, and bash really completes cat names.

use std::path::Path;

use crate::common::{Catctl, Farm, repo};

#[test]
fn committed_scripts_are_current() {
    for (shell, file) in [
        ("bash", "catctl.bash"),
        ("zsh", "_catctl"),
        ("fish", "catctl.fish"),
    ] {
        let output = Catctl::new(["completions", shell]).run().ok();
        let committed =
            std::fs::read_to_string(repo().join("completions").join(file)).unwrap_or_default();
        assert!(
            output.stdout() == committed,
            "completions/{file} is out of date: run scripts/update-completions.sh"
        );
    }
}

#[test]
fn bash_completes_cat_names_at_tab_time() {
    let farm = Farm::new();
    farm.run(["copycat", "dd", "tt", "coco"]).ok();
    assert_eq!(
        complete_in_bash(&farm, "catctl context "),
        ["coco", "dd", "tt"]
    );
    assert_eq!(complete_in_bash(&farm, "catctl context c"), ["coco"]);
    // A cat created later shows up at once: nothing is cached.
    farm.run(["copycat", "chuchu"]).ok();
    assert_eq!(
        complete_in_bash(&farm, "catctl context c"),
        ["chuchu", "coco"]
    );
}

/// Sources completions/catctl.bash and calls its function as bash would on TAB after `line`.
fn complete_in_bash(farm: &Farm, line: &str) -> Vec<String> {
    complete_in_bash_with(farm, line, &[])
}

/// [`complete_in_bash`] with these environment variables set (a `KUBECONFIG`).
pub fn complete_in_bash_with(farm: &Farm, line: &str, env: &[(&str, &Path)]) -> Vec<String> {
    let script = r#"
        source "$COMPLETIONS"
        read -r -a COMP_WORDS <<< "$LINE"
        [[ "$LINE" == *" " ]] && COMP_WORDS+=("")
        COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
        COMP_LINE="$LINE"; COMP_POINT=${#LINE}; COMP_TYPE=9
        _clap_complete_catctl catctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
        printf '%s\n' "${COMPREPLY[@]}"
    "#;
    let shell = farm
        .shell(script)
        .env("LINE", line)
        .env("COMPLETIONS", repo().join("completions/catctl.bash"));
    let output = env
        .iter()
        .fold(shell, |shell, (key, value)| shell.env(key, value))
        .run()
        .ok();
    let mut names: Vec<String> = output
        .stdout()
        .lines()
        .map(|l| l.trim().to_string())
        // clap also offers the flags on an empty word; what matters here are the values.
        .filter(|l| !l.is_empty() && !l.starts_with('-'))
        .collect();
    names.sort();
    names
}
