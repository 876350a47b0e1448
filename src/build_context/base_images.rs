//! The base images a cat's Dockerfile builds on, as part of its sources: every `FROM` reference
//! (with the `ARG` defaults declared before the first `FROM` filled in; `scratch` and earlier
//! stages skipped) resolved to a digest — the image the daemon would build on, else the
//! registry's — so that an updated base image changes the source digest.

use anyhow::{Context as _, Result, anyhow, bail};

use crate::docker::{Daemon, LocalImage};
use crate::image::{Digest, ImageRef};
use crate::registry::{Registry, credentials};

/// One `FROM` of a Dockerfile that names an image (not `scratch`, not an earlier stage).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseImage {
    /// The line the instruction starts on, from 1.
    pub line: usize,
    /// The instruction as written, e.g. `FROM ${NODE_IMAGE} AS deps`.
    pub instruction: String,
    /// The image it names once the `ARG` defaults are filled in, e.g. `node:20-alpine`.
    pub reference: String,
}

/// A base image and the digest it resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedBase {
    pub reference: String,
    pub digest: Digest,
}

/// Where base images are looked up: the daemon's own images first (what a build would use),
/// then the registry.
#[derive(Clone, Copy)]
pub struct Resolver<'a> {
    pub daemon: Option<&'a Daemon>,
    pub registry: &'a Registry,
}

/// The images `dockerfile`'s `FROM` lines build on, in order, each once.
pub fn base_images(
    dockerfile: &str,
    build_args: &std::collections::BTreeMap<String, String>,
) -> Result<Vec<BaseImage>> {
    let mut args: Vec<(String, String)> = Vec::new();
    let mut stages: Vec<String> = Vec::new();
    let mut bases: Vec<BaseImage> = Vec::new();
    let mut seen_from = false;
    for (line, instruction) in instructions(dockerfile) {
        let (keyword, rest) = instruction
            .split_once(char::is_whitespace)
            .unwrap_or((&instruction, ""));
        if keyword.eq_ignore_ascii_case("arg") && !seen_from {
            // A build argument given to the build wins over the ARG's default.
            args.extend(arg_defaults(rest).into_iter().map(|(name, default)| {
                let value = build_args.get(&name).cloned().unwrap_or(default);
                (name, value)
            }));
        } else if keyword.eq_ignore_ascii_case("from") {
            seen_from = true;
            let words: Vec<&str> = rest
                .split_whitespace()
                .filter(|w| !w.starts_with("--"))
                .collect();
            let written = words
                .first()
                .ok_or_else(|| anyhow!("line {line}: `{instruction}` names no image"))?;
            let reference = substitute(written, &args);
            if reference.is_empty() {
                bail!("line {line}: `{instruction}` names no image once its ARGs are filled in");
            }
            let earlier_stage = stages.contains(&reference.to_ascii_lowercase());
            if let [_, keyword, name] = words.as_slice()
                && keyword.eq_ignore_ascii_case("as")
            {
                stages.push(name.to_ascii_lowercase());
            }
            if reference.eq_ignore_ascii_case("scratch")
                || earlier_stage
                || bases.iter().any(|b| b.reference == reference)
            {
                continue;
            }
            bases.push(BaseImage {
                line,
                instruction: instruction.clone(),
                reference,
            });
        }
    }
    Ok(bases)
}

/// The Dockerfile's instructions with their first line: continuation lines (`\`) joined,
/// comments and blank lines dropped.
fn instructions(dockerfile: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (index, raw) in dockerfile.lines().enumerate() {
        let text = raw.trim();
        if text.starts_with('#') || text.is_empty() {
            continue;
        }
        let (body, continues) = match text.strip_suffix('\\') {
            Some(body) => (body.trim_end(), true),
            None => (text, false),
        };
        let (line, joined) = current.get_or_insert_with(|| (index + 1, String::new()));
        if !joined.is_empty() && !body.is_empty() {
            joined.push(' ');
        }
        joined.push_str(body);
        if !continues {
            let (line, joined) = (*line, std::mem::take(joined));
            current = None;
            if !joined.is_empty() {
                out.push((line, joined));
            }
        }
    }
    if let Some((line, joined)) = current.filter(|(_, j)| !j.is_empty()) {
        out.push((line, joined));
    }
    out
}

/// `NAME=default` pairs of an `ARG` instruction (a bare `NAME` has an empty default).
fn arg_defaults(rest: &str) -> Vec<(String, String)> {
    rest.split_whitespace()
        .map(|word| match word.split_once('=') {
            Some((name, value)) => (name.to_string(), unquote(value).to_string()),
            None => (word.to_string(), String::new()),
        })
        .collect()
}

fn unquote(value: &str) -> &str {
    for quote in ['"', '\''] {
        if let Some(inner) = value
            .strip_prefix(quote)
            .and_then(|v| v.strip_suffix(quote))
        {
            return inner;
        }
    }
    value
}

/// `text` with `$NAME`, `${NAME}`, `${NAME:-default}` and `${NAME:+alternative}` filled in from
/// `args` (the last declaration wins; an undeclared name is empty, as docker does).
fn substitute(text: &str, args: &[(String, String)]) -> String {
    let value = |name: &str| -> Option<String> {
        args.iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        rest = &rest[at + 1..];
        if let Some(braced) = rest.strip_prefix('{')
            && let Some(end) = braced.find('}')
        {
            let expression = &braced[..end];
            rest = &braced[end + 1..];
            let filled = if let Some((name, default)) = expression.split_once(":-") {
                value(name)
                    .filter(|v| !v.is_empty())
                    .unwrap_or_else(|| default.to_string())
            } else if let Some((name, alternative)) = expression.split_once(":+") {
                value(name)
                    .filter(|v| !v.is_empty())
                    .map(|_| alternative.to_string())
                    .unwrap_or_default()
            } else {
                value(expression).unwrap_or_default()
            };
            out.push_str(&filled);
        } else {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            if end == 0 {
                out.push('$');
            } else {
                out.push_str(&value(&rest[..end]).unwrap_or_default());
            }
            rest = &rest[end..];
        }
    }
    out.push_str(rest);
    out
}

/// Resolves every base of the Dockerfile shown as `dockerfile` (e.g. `templates/cat/Dockerfile`);
/// a base that cannot be resolved is an error naming its `FROM` line.
pub async fn resolve_all(
    resolver: Resolver<'_>,
    dockerfile: &str,
    bases: &[BaseImage],
) -> Result<Vec<ResolvedBase>> {
    let resolved = bases.iter().map(|base| async move {
        let digest = resolve(resolver, &base.reference).await.with_context(|| {
            format!(
                "cannot resolve the base image of {dockerfile} line {} (`{}`), which is part of \
                 the cat's sources",
                base.line, base.instruction
            )
        })?;
        Ok::<_, anyhow::Error>(ResolvedBase {
            reference: base.reference.clone(),
            digest,
        })
    });
    futures::future::try_join_all(resolved).await
}

/// The digest of the image `reference` names: its pinned digest, else the daemon's image
/// (by the registry digest it was pulled or pushed as, so that a machine without the image —
/// or without a daemon — resolves it the same through the registry; else its local id), else
/// the digest the registry serves.
async fn resolve(resolver: Resolver<'_>, reference: &str) -> Result<Digest> {
    let image = ImageRef::parse_docker(reference)?;
    if let Some(digest) = &image.digest {
        return Ok(digest.clone());
    }
    let daemon_says = match resolver.daemon {
        Some(daemon) => match daemon.local_image(&image).await? {
            Some(local) => return Ok(local_digest(&image, &local)),
            None => format!("it is not on the Docker daemon at {}", daemon.host),
        },
        None => "there is no Docker daemon to ask".to_string(),
    };
    let (host, server) = (image.registry.clone(), image.server());
    let creds = tokio::task::spawn_blocking(move || credentials::lookup(&host, &server))
        .await
        .context("the credentials task stopped")??;
    match resolver
        .registry
        .manifest_digest(&image, creds.as_ref())
        .await
    {
        Ok(Some(digest)) => Ok(digest),
        Ok(None) => bail!(
            "{daemon_says}, and the registry {} has no {} — build or pull it, or fix the FROM line",
            image.registry,
            image.tagged()
        ),
        Err(err) => Err(err.context(format!("{daemon_says}, and asking the registry failed"))),
    }
}

/// The daemon's image as the registry knows it (`RepoDigests` of the same repository), else
/// its local id (an image built here and never pushed).
fn local_digest(image: &ImageRef, local: &LocalImage) -> Digest {
    local
        .repo_digests
        .iter()
        .filter_map(|entry| ImageRef::parse_docker(entry).ok())
        .find(|entry| entry.name() == image.name())
        .and_then(|entry| entry.digest)
        .unwrap_or_else(|| local.id.clone())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use std::collections::BTreeMap;

    use super::*;

    fn references(dockerfile: &str) -> Vec<String> {
        base_images(dockerfile, &BTreeMap::new())
            .unwrap()
            .into_iter()
            .map(|b| b.reference)
            .collect()
    }

    #[test]
    fn a_build_argument_wins_over_the_arg_default() {
        let dockerfile = "ARG NODE_IMAGE=node:22-slim\nFROM ${NODE_IMAGE}\n";
        let args = BTreeMap::from([("NODE_IMAGE".to_string(), "catctl-node:22-local".to_string())]);
        let bases = base_images(dockerfile, &args).unwrap();
        assert_eq!(bases[0].reference, "catctl-node:22-local");
    }

    #[test]
    fn arg_defaults_before_from_are_filled_in_and_stages_skipped() {
        let dockerfile = "# a comment\nARG NODE_IMAGE=node:20-alpine\n\n\
                          FROM ${NODE_IMAGE} AS deps\nRUN true\n\
                          FROM --platform=$BUILDPLATFORM golang:1.22 as Build\n\
                          FROM ${NODE_IMAGE}\nCOPY --from=deps /a /a\n\
                          FROM deps\nFROM build AS again\nFROM scratch\n";
        assert_eq!(references(dockerfile), ["node:20-alpine", "golang:1.22"]);
        let bases = base_images(dockerfile, &BTreeMap::new()).unwrap();
        assert_eq!(bases[0].line, 4);
        assert_eq!(bases[0].instruction, "FROM ${NODE_IMAGE} AS deps");
        assert_eq!(bases[1].line, 6);
    }

    #[test]
    fn substitution_forms_quotes_and_continuations() {
        let dockerfile = "ARG REG=\"127.0.0.1:5000\" NAME\nARG TAG\n\
                          FROM \\\n  $REG/base:${TAG:-v1}\n\
                          FROM ${NAME:-busybox}${TAG:+:x}\n\
                          ARG LATE=ignored\nFROM ${LATE:-alpine}:3\n";
        assert_eq!(
            references(dockerfile),
            ["127.0.0.1:5000/base:v1", "busybox", "alpine:3"]
        );
        assert_eq!(
            base_images(dockerfile, &BTreeMap::new()).unwrap()[0].line,
            3
        );
    }

    #[test]
    fn a_stage_does_not_name_itself_and_empty_froms_are_errors() {
        assert_eq!(references("FROM node AS node\n"), ["node"]);
        assert_eq!(
            references("FROM scratch\nCOPY a /a\n"),
            Vec::<String>::new()
        );
        let err = base_images("ARG X\nFROM $X\n", &BTreeMap::new())
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("line 2: `FROM $X` names no image"), "{err}");
        assert!(base_images("FROM\n", &BTreeMap::new()).is_err());
    }

    #[test]
    fn a_local_image_resolves_to_its_registry_digest_else_its_id() {
        let id = Digest::parse(&format!("sha256:{}", "1".repeat(64))).unwrap();
        let pulled = Digest::parse(&format!("sha256:{}", "2".repeat(64))).unwrap();
        let image = ImageRef::parse_docker("node:22").unwrap();
        let mut local = LocalImage {
            id: id.clone(),
            repo_digests: vec![format!("other@{pulled}")],
            labels: HashMap::new(),
            platform: None,
        };
        assert_eq!(local_digest(&image, &local), id);
        local.repo_digests.push(format!("node@{pulled}"));
        assert_eq!(local_digest(&image, &local), pulled);
    }
}
