//! `catctl secret sync|list|verify`: the cats' tokens, never printed.

use anyhow::Result;

use crate::cli::{SecretCommand, SecretSyncArgs, SecretVerifyArgs};
use crate::commands::ExitStatus;
use crate::context::Context;
use crate::ops::secrets;
use crate::output::{Kind, SecretListItem, SecretSyncItem, SecretVerifyItem, word};
use crate::secrets::sync::{self, Action};

pub async fn run(ctx: &Context, command: &SecretCommand) -> Result<ExitStatus> {
    match command {
        SecretCommand::Sync(args) => sync(ctx, args).await,
        SecretCommand::List(_) => list(ctx).await,
        SecretCommand::Verify(args) => verify(ctx, args).await,
    }
}

fn checked(ctx: &Context) -> Result<sync::Checked> {
    let checked = sync::check(ctx.farm()?)?;
    for warning in &checked.warnings {
        ctx.printer.warn(warning);
    }
    Ok(checked)
}

async fn sync(ctx: &Context, args: &SecretSyncArgs) -> Result<ExitStatus> {
    let checked = checked(ctx)?;
    let outcomes = sync::run(ctx.cluster().await?, &checked, args.prune, args.dry_run).await?;
    let failed = outcomes.iter().any(|o| o.error.is_some());
    if ctx.printer.format.is_structured() {
        let items: Vec<SecretSyncItem> = outcomes
            .iter()
            .map(|o| SecretSyncItem {
                secret: o.name.clone(),
                keys: o.keys.clone(),
                result: match (&o.error, o.action) {
                    (Some(_), _) => "failed",
                    (None, Action::Created) => "created",
                    (None, Action::Updated) => "updated",
                    (None, Action::Unchanged) => "unchanged",
                    (None, Action::Pruned) => "pruned",
                },
                dry_run: args.dry_run,
                fingerprint: o.fingerprint.clone(),
                error: o.error.clone(),
            })
            .collect();
        ctx.printer.items(Kind::SecretSyncResult, &items)?;
    } else {
        let suffix = if args.dry_run { " (dry run)" } else { "" };
        for outcome in &outcomes {
            let verb = match (&outcome.error, outcome.action, args.dry_run) {
                (Some(_), _, _) => "Failed",
                (None, Action::Created, false) => "Created",
                (None, Action::Created, true) => "Would create",
                (None, Action::Updated, false) => "Updated",
                (None, Action::Updated, true) => "Would update",
                (None, Action::Pruned, false) => "Pruned",
                (None, Action::Pruned, true) => "Would prune",
                (None, Action::Unchanged, _) => "Unchanged",
            };
            let detail = format!(
                "Secret {} [{}] {}{suffix}",
                outcome.name,
                outcome.keys.join(", "),
                outcome.fingerprint
            );
            match &outcome.error {
                Some(error) => ctx.printer.warn(&format!("{verb} {detail}: {error}")),
                None => ctx.printer.status(verb, &detail),
            }
        }
        if outcomes.is_empty() {
            ctx.printer
                .status("Nothing", "secret/ is empty — see secret/README.md");
        }
    }
    Ok(if failed {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

async fn list(ctx: &Context) -> Result<ExitStatus> {
    let checked = checked(ctx)?;
    let rows: Vec<SecretListItem> = secrets::compare(&checked, ctx.cluster().await?)
        .await?
        .into_iter()
        .map(|r| SecretListItem {
            secret: r.name,
            keys: r.keys,
            local: r.local,
            cluster: r.cluster,
            result: word(r.state),
        })
        .collect();
    let header = ["SECRET", "KEYS", "LOCAL", "CLUSTER", "STATE"];
    ctx.printer
        .rows(Kind::SecretListResult, &rows, &header, |r| {
            vec![
                r.secret.clone(),
                r.keys.join(","),
                r.local.clone().unwrap_or_else(|| "-".into()),
                r.cluster.clone().unwrap_or_else(|| "-".into()),
                r.result.replace('_', " "),
            ]
        })?;
    Ok(ExitStatus::Success)
}

async fn verify(ctx: &Context, args: &SecretVerifyArgs) -> Result<ExitStatus> {
    let checked = checked(ctx)?;
    let verdicts = secrets::verify(ctx.farm()?, &checked, &args.cats).await?;
    if ctx.printer.format.is_structured() {
        let items: Vec<SecretVerifyItem> = verdicts
            .iter()
            .map(|v| SecretVerifyItem {
                cat: v.cat.clone(),
                secret: v.secret.clone(),
                expected_user: v.expected_user.clone(),
                slack_user: v.slack_user.clone(),
                team: v.team.clone(),
                result: if v.ok { "ok" } else { "failed" },
                error: v.problem.clone(),
            })
            .collect();
        ctx.printer.items(Kind::SecretVerifyResult, &items)?;
    } else {
        let cells: Vec<Vec<String>> = verdicts
            .iter()
            .map(|v| {
                let result = if v.ok { "ok" } else { "WRONG" }.to_string();
                vec![
                    v.cat.clone(),
                    format!("secret/{}", v.secret),
                    v.slack_user.clone().unwrap_or_else(|| "-".into()),
                    v.team.clone().unwrap_or_else(|| "-".into()),
                    result,
                ]
            })
            .collect();
        ctx.printer
            .table(&["CAT", "TOKEN", "SLACK BOT", "TEAM", "RESULT"], &cells);
        for verdict in &verdicts {
            if let Some(problem) = &verdict.problem {
                ctx.printer.warn(&format!("{}: {problem}", verdict.cat));
            }
        }
    }
    let all_ok = !verdicts.is_empty() && verdicts.iter().all(|v| v.ok);
    Ok(if all_ok {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}
