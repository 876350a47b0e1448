//! `catctl delete CAT…` / `catctl delete --orphans`: find what catctl made for the cats in the
//! cluster, confirm, remove it.

use std::io::IsTerminal as _;

use anyhow::{Result, bail};

use crate::cli::DeleteArgs;
use crate::commands::ExitStatus;
use crate::context::Context;
use crate::names::validate_cat_name;
use crate::ops::delete;
use crate::output::{DeleteItem, Kind};

pub async fn run(ctx: &Context, args: &DeleteArgs) -> Result<ExitStatus> {
    for name in &args.cats {
        validate_cat_name(name)?;
    }
    let cluster = ctx.cluster().await?;
    let namespace = &cluster.namespace;
    let names = if args.orphans {
        delete::orphans(cluster, ctx.farm()?).await?
    } else {
        args.cats.clone()
    };
    let found = delete::find(cluster, &names).await?;
    let doomed: Vec<String> = found
        .iter()
        .flat_map(|f| f.objects.iter().map(ToString::to_string))
        .collect();
    if doomed.is_empty() {
        let what = if args.orphans {
            "orphans"
        } else {
            "objects of these cats"
        };
        ctx.printer.status(
            "Nothing",
            &format!("to delete: no {what} in namespace {namespace}"),
        );
    } else {
        ctx.printer
            .note(&format!("in namespace {namespace}: {}", doomed.join(", ")));
        if !confirmed(ctx, args.yes, namespace, doomed.len())? {
            ctx.printer.note("nothing deleted");
            return Ok(ExitStatus::Failure);
        }
        delete::delete(cluster, &found).await?;
    }
    let items: Vec<DeleteItem> = found
        .iter()
        .map(|f| DeleteItem {
            cat: f.cat.clone(),
            objects: f.objects.iter().map(ToString::to_string).collect(),
            result: if f.objects.is_empty() {
                "nothing_there"
            } else {
                "deleted"
            },
        })
        .collect();
    ctx.printer
        .rows(Kind::DeleteResult, &items, &["CAT", "DELETED"], |item| {
            vec![
                item.cat.clone(),
                if item.objects.is_empty() {
                    "nothing there".into()
                } else {
                    item.objects.join(", ")
                },
            ]
        })?;
    Ok(ExitStatus::Success)
}

fn confirmed(ctx: &Context, yes: bool, namespace: &str, count: usize) -> Result<bool> {
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        bail!(
            "not deleting {count} object(s) from namespace {namespace} without a confirmation: \
             stdin is not a terminal — pass --yes"
        );
    }
    Ok(ctx.printer.ask(&format!(
        "Delete {count} object(s) from namespace {namespace}?"
    ))?)
}
