//! `catctl secret sync|list|verify`: the cats' tokens, never printed.

use std::collections::BTreeMap;

use anyhow::Result;
use futures::StreamExt;
use serde::Serialize;

use crate::cat_runtime::secret_name;
use crate::cli::{SecretCommand, SecretSyncArgs, SecretVerifyArgs};
use crate::commands::ExitStatus;
use crate::context::Context;
use crate::http::Client;
use crate::k8s;
use crate::printer::Format;
use crate::secrets::slack;
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
    if ctx.printer.format == Format::Json {
        ctx.printer.json(&outcomes)?;
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

#[derive(Debug, Serialize)]
struct ListRow {
    name: String,
    keys: Vec<String>,
    local: Option<String>,
    cluster: Option<String>,
    state: &'static str,
}

async fn list(ctx: &Context) -> Result<ExitStatus> {
    let checked = checked(ctx)?;
    let in_cluster = k8s::secrets::list(ctx.cluster().await?).await?;
    let mut rows: BTreeMap<String, ListRow> = BTreeMap::new();
    for secret in &checked.secrets {
        rows.insert(
            secret.name.clone(),
            ListRow {
                name: secret.name.clone(),
                keys: secret.data.keys().cloned().collect(),
                local: Some(secret.fingerprint()),
                cluster: None,
                state: "only local",
            },
        );
    }
    for secret in in_cluster {
        let Some(row) = rows.get_mut(&secret.name) else {
            if secret.managed {
                rows.insert(
                    secret.name.clone(),
                    ListRow {
                        keys: secret.data.keys().cloned().collect(),
                        cluster: Some(secret.fingerprint()),
                        name: secret.name,
                        local: None,
                        state: "only in cluster",
                    },
                );
            }
            continue;
        };
        let fingerprint = secret.fingerprint();
        row.state = if row.local.as_deref() == Some(fingerprint.as_str()) {
            "in sync"
        } else {
            "differs"
        };
        row.cluster = Some(fingerprint);
    }
    let rows: Vec<ListRow> = rows.into_values().collect();
    ctx.printer.rows(
        &rows,
        &["SECRET", "KEYS", "LOCAL", "CLUSTER", "STATE"],
        |r| {
            vec![
                r.name.clone(),
                r.keys.join(","),
                r.local.clone().unwrap_or_else(|| "-".into()),
                r.cluster.clone().unwrap_or_else(|| "-".into()),
                r.state.to_string(),
            ]
        },
    )?;
    Ok(ExitStatus::Success)
}

async fn verify(ctx: &Context, args: &SecretVerifyArgs) -> Result<ExitStatus> {
    let farm = ctx.farm()?;
    let checked = checked(ctx)?;
    let cats = if args.cats.is_empty() {
        let with_secret: Vec<String> = checked.owners.values().cloned().collect();
        farm.select(&with_secret, false)?
    } else {
        farm.select(&args.cats, false)?
    };
    if cats.is_empty() {
        anyhow::bail!(
            "no cat has a token in secret/ — put each cat's bot token in secret/<cat>-token/bot-token"
        );
    }
    let expected: BTreeMap<String, String> = farm
        .select(&[], true)?
        .into_iter()
        .map(|cat| {
            let user = cat
                .config
                .slack_user
                .clone()
                .unwrap_or_else(|| cat.name.clone());
            (cat.name, user)
        })
        .collect();
    let client = Client::new()?;
    let base = slack::api_url();
    let calls = cats.iter().map(|cat| {
        let (client, base, checked) = (&client, &base, &checked);
        async move {
            let name = secret_name(&cat.name);
            let answer = match checked.secrets.iter().find(|s| s.name == name) {
                None => Err(anyhow::anyhow!(
                    "secret/{name} does not exist — put {}'s bot token there",
                    cat.name
                )),
                Some(secret) => match slack::bot_token(secret) {
                    Ok(token) => slack::auth_test(client, base, token).await,
                    Err(err) => Err(err),
                },
            };
            (cat.name.clone(), name, answer)
        }
    });
    let answers: Vec<_> = futures::stream::iter(calls)
        .buffered(farm.settings.concurrency)
        .collect()
        .await;
    let verdicts = slack::judge(&expected, answers);
    if ctx.printer.format == Format::Json {
        ctx.printer.json(&verdicts)?;
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
