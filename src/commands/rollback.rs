//! `catctl rollback CAT [--to-revision N]` and `catctl history CAT`: the digests catctl recorded
//! at each successful deploy, and going back to one through the same gate and wait.

use anyhow::{Result, bail};

use crate::cli::{HistoryArgs, RollbackArgs};
use crate::commands::ExitStatus;
use crate::commands::deploy::{Mode, deploy_cats};
use crate::context::Context;
use crate::deploy::{ImageChoice, Options};
use crate::k8s::workload::{self, Revision};
use crate::manifest::Kind;
use crate::source_digest::short_digest;

async fn history_of(ctx: &Context, cat: &str) -> Result<Vec<Revision>> {
    let farm = ctx.farm()?;
    let cat = farm.cat(cat)?;
    let kind = Kind::for_cat(&cat);
    let namespace = &farm.settings.namespace;
    match workload::get(ctx.kube().await?, namespace, kind, &cat.name).await? {
        Some(object) => Ok(workload::history(&object)),
        None => bail!(
            "{} is not deployed in namespace {namespace} (no {} {}) — deploy it with `catctl deploy {}`",
            cat.name,
            kind.as_str(),
            cat.name,
            cat.name
        ),
    }
}

pub async fn history(ctx: &Context, args: &HistoryArgs) -> Result<ExitStatus> {
    let history = history_of(ctx, &args.cat).await?;
    let header = ["REVISION", "TAG", "DIGEST", "DEPLOYED", "CAUSE"];
    ctx.printer.rows(&history, &header, |r| {
        vec![
            r.revision.to_string(),
            r.tag.clone(),
            short_digest(&r.digest),
            r.deployed_at.clone(),
            r.cause.clone(),
        ]
    })?;
    Ok(ExitStatus::Success)
}

pub async fn rollback(ctx: &Context, args: &RollbackArgs) -> Result<ExitStatus> {
    let history = history_of(ctx, &args.cat).await?;
    let revision = choose(&history, args.to_revision, &args.cat)?;
    let cat = ctx.farm()?.cat(&args.cat)?;
    let options = Options {
        allow_stale: true,
        force: args.force,
        timeout: args.timeout,
        restart: false,
        atomic: false,
    };
    ctx.printer.status(
        "Rolling back",
        &format!(
            "{} to revision {} ({}@{})",
            cat.name, revision.revision, revision.image, revision.digest
        ),
    );
    deploy_cats(
        ctx,
        vec![(cat, ImageChoice::Revision(revision))],
        &options,
        Mode::Apply,
    )
    .await
}

/// The revision to go back to: the one asked for, else the one before the newest.
fn choose(history: &[Revision], wanted: Option<u32>, cat: &str) -> Result<Revision> {
    if let Some(number) = wanted {
        return match history.iter().find(|r| r.revision == number) {
            Some(r) => Ok(r.clone()),
            None => {
                let known: Vec<String> = history.iter().map(|r| r.revision.to_string()).collect();
                bail!(
                    "{cat} has no revision {number} (known: {}) — see `catctl history {cat}`",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                )
            }
        };
    }
    match history {
        [.., previous, _current] => Ok(previous.clone()),
        _ => bail!("{cat} has no earlier revision to roll back to — see `catctl history {cat}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn revision(n: u32) -> Revision {
        Revision {
            revision: n,
            tag: format!("v{n}"),
            digest: format!("sha256:{n}"),
            image: format!("r/dd:v{n}"),
            deployed_at: String::new(),
            cause: String::new(),
        }
    }

    #[test]
    fn previous_or_chosen_revision() {
        let history = vec![revision(1), revision(2), revision(3)];
        assert_eq!(choose(&history, None, "dd").unwrap().revision, 2);
        assert_eq!(choose(&history, Some(1), "dd").unwrap().revision, 1);
        assert!(
            choose(&history, Some(9), "dd")
                .unwrap_err()
                .to_string()
                .contains("known: 1, 2, 3")
        );
        assert!(choose(&history[..1], None, "dd").is_err());
    }
}
