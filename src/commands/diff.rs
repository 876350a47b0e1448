//! `catctl diff CAT…`: what a deploy would change, by server-side dry run — exit 0 when
//! nothing would change, 1 when something would, 2 on trouble (like `kubectl diff`).

use anyhow::Result;

use crate::cli::DiffArgs;
use crate::commands::ExitStatus;
use crate::commands::deploy::gate;
use crate::context::Context;
use crate::deploy::{ImageChoice, Options};
use crate::k8s::workload;
use crate::textdiff;

pub async fn run(ctx: &Context, args: &DiffArgs) -> Result<ExitStatus> {
    match diff(ctx, args).await {
        Ok(status) => Ok(status),
        Err(err) => {
            ctx.printer.error(&err);
            Ok(ExitStatus::Trouble)
        }
    }
}

async fn diff(ctx: &Context, args: &DiffArgs) -> Result<ExitStatus> {
    let farm = ctx.farm()?;
    let cats = farm.select(&args.select.cats, args.select.all)?;
    let options = Options::looking(args.allow_stale, args.force);
    let choices = cats
        .into_iter()
        .map(|c| (c, ImageChoice::Declared))
        .collect();
    let (prepared, refused) = gate(ctx, choices, &options).await?;
    for report in &refused {
        ctx.printer.warn(&format!(
            "{}: {}",
            report.cat,
            report.message.as_deref().unwrap_or("")
        ));
    }
    let client = ctx.kube().await?;
    let namespace = &farm.settings.namespace;
    let mut changed = false;
    for p in &prepared {
        let kind = p.rendered.kind;
        let live = workload::get(client, namespace, kind, &p.cat.name).await?;
        let dry = workload::apply(client, namespace, &p.rendered, options.force, true).await?;
        let before = live
            .map(|o| comparable(serde_json::to_value(o).unwrap_or_default()))
            .unwrap_or_default();
        let after = comparable(serde_json::to_value(dry.object)?);
        let label = format!("{}/{}", kind.as_str(), p.cat.name);
        let text = textdiff::unified(
            &before,
            &after,
            &format!("live/{label}"),
            &format!("catctl/{label}"),
            3,
        );
        if !text.is_empty() {
            changed = true;
            ctx.printer.data(&text);
        }
    }
    if !refused.is_empty() {
        return Ok(ExitStatus::Trouble);
    }
    Ok(if changed {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

/// The object as YAML without what the server alone decides (status, bookkeeping) and without
/// catctl's deploy history.
fn comparable(mut object: serde_json::Value) -> String {
    if let Some(map) = object.as_object_mut() {
        map.remove("status");
    }
    if let Some(meta) = object.get_mut("metadata").and_then(|m| m.as_object_mut()) {
        for key in [
            "managedFields",
            "resourceVersion",
            "generation",
            "uid",
            "creationTimestamp",
        ] {
            meta.remove(key);
        }
        if let Some(annotations) = meta.get_mut("annotations").and_then(|a| a.as_object_mut()) {
            annotations.remove(workload::HISTORY_ANNOTATION);
        }
    }
    serde_saphyr::to_string(&object).unwrap_or_default()
}
