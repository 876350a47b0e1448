//! Shell completion: the committed scripts are current, and bash really completes cat names.

use std::path::Path;
use std::process::Command;

use crate::common::{TestFarm, catctl, repo, stdout_of};

#[test]
fn committed_scripts_are_current() {
    for (shell, file) in [
        ("bash", "catctl.bash"),
        ("zsh", "_catctl"),
        ("fish", "catctl.fish"),
    ] {
        let output = catctl().args(["completions", shell]).output().unwrap();
        assert!(output.status.success());
        let committed =
            std::fs::read_to_string(repo().join("completions").join(file)).unwrap_or_default();
        assert!(
            stdout_of(&output) == committed,
            "completions/{file} is out of date: run scripts/update-completions.sh"
        );
    }
}

#[test]
fn bash_completes_cat_names_at_tab_time() {
    let farm = TestFarm::new();
    farm.catctl()
        .args(["copycat", "dd", "tt", "coco"])
        .assert()
        .success();
    assert_eq!(
        complete_in_bash(farm.path(), "catctl context "),
        ["coco", "dd", "tt"]
    );
    assert_eq!(complete_in_bash(farm.path(), "catctl context c"), ["coco"]);
    // A cat created later shows up at once: nothing is cached.
    farm.catctl().args(["copycat", "chuchu"]).assert().success();
    assert_eq!(
        complete_in_bash(farm.path(), "catctl context c"),
        ["chuchu", "coco"]
    );
}

/// Sources completions/catctl.bash and calls its function as bash would on TAB after `line`.
fn complete_in_bash(cwd: &Path, line: &str) -> Vec<String> {
    let bin_dir = assert_cmd::cargo::cargo_bin("catctl")
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let script = r#"
        source "$COMPLETIONS"
        read -r -a COMP_WORDS <<< "$LINE"
        [[ "$LINE" == *" " ]] && COMP_WORDS+=("")
        COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
        COMP_LINE="$LINE"; COMP_POINT=${#LINE}; COMP_TYPE=9
        _clap_complete_catctl catctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
        printf '%s\n' "${COMPREPLY[@]}"
    "#;
    let output = Command::new("bash")
        .arg("-c")
        .arg(script)
        .current_dir(cwd)
        .env("PATH", path)
        .env("LINE", line)
        .env("COMPLETIONS", repo().join("completions/catctl.bash"))
        .env_remove("CATCTL_CONFIG")
        .output()
        .expect("bash runs");
    assert!(output.status.success(), "bash failed: {output:?}");
    let mut names: Vec<String> = stdout_of(&output)
        .lines()
        .map(|l| l.trim().to_string())
        // clap also offers the flags on an empty word; what matters here are the values.
        .filter(|l| !l.is_empty() && !l.starts_with('-'))
        .collect();
    names.sort();
    names
}
