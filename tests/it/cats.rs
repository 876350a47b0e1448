//! The repository's own farm: the seven cats of `cats/` and the engine in `templates/cat/`.
//! Every cat's build context must be a complete Node project (the engine's tests run in it).

use std::fs;
use std::path::Path;

use catctl::cat_runtime;

use crate::common::{Catctl, repo};

const SEVEN: [&str; 7] = ["chuchu", "coco", "dd", "lala", "lulu", "momo", "tt"];

/// Files of `dir` (relative to `root`), recursively, sorted; `node_modules` left out.
fn files_under(root: &Path, dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().is_some_and(|name| name == "node_modules") {
            continue;
        }
        if path.is_dir() {
            out.extend(files_under(root, &path));
        } else {
            let relative = path.strip_prefix(root).unwrap();
            out.push(relative.to_string_lossy().replace('\\', "/"));
        }
    }
    out.sort();
    out
}

#[test]
fn list_shows_the_seven_cats() {
    let cats = Catctl::new(["list", "-o", "json"])
        .current_dir(repo())
        .run()
        .ok()
        .items();
    let names: Vec<&str> = cats
        .as_array()
        .unwrap()
        .iter()
        .map(|cat| cat["cat"].as_str().unwrap())
        .collect();
    assert_eq!(names, SEVEN);
    for cat in cats.as_array().unwrap() {
        assert_eq!(
            cat["replicas"], 1,
            "a Slack socket bot runs as one copy: {cat}"
        );
    }
    let table = Catctl::new(["list"]).current_dir(repo()).run();
    for name in SEVEN {
        assert!(table.stdout().contains(&format!("\n{name} ")), "{name}");
    }
}

#[test]
fn every_cat_has_a_complete_context() {
    let template = repo().join("templates/cat");
    let engine = files_under(&template, &template);
    for required in [
        "Dockerfile",
        ".dockerignore",
        "package.json",
        "package-lock.json",
        "cat.toml",
        "src/main.js",
        "src/character.js",
        "test/cats.test.js",
    ] {
        assert!(
            engine.contains(&required.to_string()),
            "template lacks {required}"
        );
    }
    let out = tempfile::tempdir().unwrap();
    for name in SEVEN {
        let dir = out.path().join(name);
        Catctl::new(["context", name, "--out", dir.to_str().unwrap()])
            .current_dir(repo())
            .run()
            .ok();
        assert_eq!(
            files_under(&dir, &dir),
            engine,
            "{name}: the context holds the whole engine and nothing else"
        );
        assert_eq!(
            fs::read(dir.join("cat.toml")).unwrap(),
            fs::read(repo().join("cats").join(name).join("cat.toml")).unwrap(),
            "{name}: the context's cat.toml is the cat's own"
        );
        for file in [
            "Dockerfile",
            "package.json",
            "package-lock.json",
            "src/main.js",
        ] {
            assert_eq!(
                fs::read(dir.join(file)).unwrap(),
                fs::read(template.join(file)).unwrap(),
                "{name}: {file} comes from the template"
            );
        }
        if dir.join("node_modules").exists() {
            // Until the context honours .dockerignore, installed modules of the template are
            // copied along; they must at least come from the template, never from a cat.
            assert!(template.join("node_modules").is_dir(), "{name}");
            assert!(!repo().join("cats").join(name).join("node_modules").exists());
        }
    }
}

#[test]
fn the_engine_uses_catctls_runtime_contract() {
    let runtime = fs::read_to_string(repo().join("templates/cat/src/runtime.js")).unwrap();
    for line in [
        format!(
            "export const SECRET_MOUNT_PATH = '{}';",
            cat_runtime::SECRET_MOUNT_PATH
        ),
        format!(
            "export const SECRET_DIR_ENV = '{}';",
            cat_runtime::SECRET_DIR_ENV
        ),
        format!(
            "export const HEALTH_PORT_ENV = '{}';",
            cat_runtime::HEALTH_PORT_ENV
        ),
        format!(
            "export const DEFAULT_HEALTH_PORT = {};",
            cat_runtime::DEFAULT_HEALTH_PORT
        ),
    ] {
        assert!(
            runtime.contains(&line),
            "templates/cat/src/runtime.js must say `{line}`"
        );
    }
    let dockerfile = fs::read_to_string(repo().join("templates/cat/Dockerfile")).unwrap();
    assert!(dockerfile.contains(&format!(
        "{}={}",
        cat_runtime::SECRET_DIR_ENV,
        cat_runtime::SECRET_MOUNT_PATH
    )));
    let ignored = fs::read_to_string(repo().join("templates/cat/.dockerignore")).unwrap();
    assert!(ignored.lines().any(|line| line.trim() == "node_modules"));
}

#[test]
fn each_cat_has_a_slack_app_manifest_with_socket_mode_and_only_what_the_engine_needs() {
    let out = Catctl::new(["slack-manifest", "--all"])
        .current_dir(repo())
        .run()
        .ok()
        .stdout();
    let documents: Vec<&str> = out
        .split("---\n")
        .filter(|d| !d.trim().is_empty())
        .collect();
    assert_eq!(documents.len(), SEVEN.len(), "{out}");
    for (name, document) in SEVEN.iter().zip(documents) {
        let manifest: serde_json::Value = serde_saphyr::from_str(document)
            .unwrap_or_else(|e| panic!("{name}: not YAML ({e}):\n{document}"));
        assert_eq!(manifest["settings"]["socket_mode_enabled"], true, "{name}");
        assert_eq!(manifest["features"]["bot_user"]["display_name"], *name);
        let scopes = &manifest["oauth_config"]["scopes"]["bot"];
        assert_eq!(
            scopes,
            &serde_json::json!(["app_mentions:read", "chat:write", "im:history"]),
            "{name}"
        );
    }
}

#[test]
fn a_typo_in_a_character_is_refused_with_file_line_and_suggestion_before_anything_is_built() {
    let farm = crate::common::Farm::new();
    farm.run(["copycat", "dd"]).ok();
    let toml = farm.read("cats/dd/cat.toml");
    farm.write(
        "cats/dd/cat.toml",
        &format!("{toml}\n[[character.rules]]\n  trigers = [\"밥\"]\n  replies = [\"Meow!\"]\n"),
    );
    let line = farm
        .read("cats/dd/cat.toml")
        .lines()
        .position(|l| l.contains("trigers"))
        .unwrap()
        + 1;
    for command in [
        &["build", "dd"][..],
        &["deploy", "dd"],
        &["up", "dd"],
        &["list"],
    ] {
        let out = farm.run(command).fails().text();
        assert!(
            out.contains(&format!(
                "cats/dd/cat.toml:{line}:3: character.rules[0].trigers: unknown key (did you mean triggers?)"
            )),
            "{command:?}: {out}"
        );
    }
}
