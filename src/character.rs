//! A cat's `[character]` checked against the JSON Schema its template ships
//! (`templates/cat/cat.schema.json`, or the cat's own `cat.schema.json`), so a typo is refused
//! with file, line and key before anything is built — while catctl itself knows nothing of the
//! payload's language. A cat without a `[character]`, or a template without a schema, is not
//! checked.

use std::path::Path;

use anyhow::{Context as _, Result};
use jsonschema::error::ValidationErrorKind;

use crate::errors;

/// The schema's file name, in the template and as a cat's override.
pub const SCHEMA_FILE: &str = "cat.schema.json";

/// Checks `character` (from `file`, whose text is `text`) against the schema found for the cat;
/// every problem at once, each as `file:line:column: key: what`.
pub fn check(
    character: &toml::Table,
    text: &str,
    shown: &str,
    schema_dirs: &[&Path],
) -> Result<()> {
    if character.is_empty() {
        return Ok(());
    }
    let Some(schema_file) = schema_dirs
        .iter()
        .map(|dir| dir.join(SCHEMA_FILE))
        .find(|path| path.is_file())
    else {
        return Ok(());
    };
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&schema_file)
            .with_context(|| format!("cannot read {}", schema_file.display()))?,
    )
    .with_context(|| format!("{} is not JSON", schema_file.display()))?;
    let validator = jsonschema::validator_for(&schema)
        .map_err(|err| anyhow::anyhow!("{} is not a JSON Schema: {err}", schema_file.display()))?;
    let instance = serde_json::to_value(character).context("reading [character]")?;
    let known = property_names(&schema);
    let mut problems: Vec<String> = validator
        .iter_errors(&instance)
        .map(|error| {
            let path: Vec<String> = error
                .instance_path()
                .iter()
                .map(|segment| segment.to_string())
                .collect();
            match error.kind() {
                ValidationErrorKind::AdditionalProperties { unexpected } => unexpected
                    .iter()
                    .map(|key| {
                        let mut at = path.clone();
                        at.push(key.clone());
                        let hint = suggestion(key, &known)
                            .map_or(String::new(), |k| format!(" (did you mean {k}?)"));
                        format!(
                            "{}: {}: unknown key{hint}",
                            place(shown, text, &at),
                            key_path(&at)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n"),
                _ => format!(
                    "{}: {}: {error}",
                    place(shown, text, &path),
                    key_path(&path)
                ),
            }
        })
        .collect();
    problems.dedup();
    if problems.is_empty() {
        return Ok(());
    }
    Err(errors::combine(
        &format!("{} problems in [character] of {shown}", problems.len()),
        &problems,
    ))
}

/// `character.rules[1].trigers` from the instance path segments.
fn key_path(path: &[String]) -> String {
    let mut out = "character".to_string();
    for segment in path {
        if segment.chars().all(|c| c.is_ascii_digit()) {
            out.push_str(&format!("[{segment}]"));
        } else {
            out.push_str(&format!(".{segment}"));
        }
    }
    out
}

/// `file:line:column` of the last key of `path` in the file (its first definition), or of the
/// `[character]` table when the key is not written there.
fn place(shown: &str, text: &str, path: &[String]) -> String {
    let key = path
        .iter()
        .rev()
        .find(|s| !s.chars().all(|c| c.is_ascii_digit()));
    let found = key.and_then(|key| {
        text.lines().enumerate().find_map(|(n, line)| {
            let trimmed = line.trim_start();
            let rest = trimmed.strip_prefix(key.as_str())?;
            rest.trim_start()
                .starts_with('=')
                .then(|| (n + 1, line.len() - trimmed.len() + 1))
        })
    });
    let (line, column) = found.unwrap_or_else(|| {
        let line = text
            .lines()
            .position(|l| l.trim_start().starts_with("[character"))
            .map_or(1, |n| n + 1);
        (line, 1)
    });
    format!("{shown}:{line}:{column}")
}

/// Every property name the schema knows, for suggestions.
fn property_names(schema: &serde_json::Value) -> Vec<String> {
    let mut names = Vec::new();
    collect(schema, &mut names);
    names.sort();
    names.dedup();
    names
}

fn collect(value: &serde_json::Value, names: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            if let Some(properties) = map.get("properties").and_then(|p| p.as_object()) {
                names.extend(properties.keys().cloned());
            }
            for child in map.values() {
                collect(child, names);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect(v, names)),
        _ => {}
    }
}

/// The known key closest to `key`, when it is close enough to be a typo.
fn suggestion<'a>(key: &str, known: &'a [String]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (strsim::levenshtein(key, k), k))
        .filter(|(distance, k)| *distance <= 2.max(k.len() / 4))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, k)| k.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_get_a_suggestion_and_a_place() {
        let known = vec!["triggers".to_string(), "replies".to_string()];
        assert_eq!(suggestion("trigers", &known), Some("triggers"));
        assert_eq!(suggestion("zzz", &known), None);
        let text = "version = \"v1\"\n[character]\nname = \"dd\"\n\n[[character.rules]]\n  trigers = [\"a\"]\n";
        let path = vec!["rules".to_string(), "0".to_string(), "trigers".to_string()];
        assert_eq!(
            place("cats/dd/cat.toml", text, &path),
            "cats/dd/cat.toml:6:3"
        );
        assert_eq!(key_path(&path), "character.rules[0].trigers");
    }
}
