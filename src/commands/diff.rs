//! `catctl diff CAT…`: what a deploy would change, by server-side dry run — exit 0 when
//! nothing would change, 1 when something would, 2 on trouble (like `kubectl diff`).

use anyhow::Result;

use crate::cli::DiffArgs;
use crate::commands::ExitStatus;
use crate::commands::deploy::gate;
use crate::context::Context;
use crate::deploy::{ImageChoice, Options};
use crate::k8s::workload;

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
        let text = unified(
            &before,
            &after,
            &format!("live/{label}"),
            &format!("catctl/{label}"),
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

/// `diff -u`-style lines of `old` → `new` with three lines of context; empty when equal.
fn unified(old: &str, new: &str, old_label: &str, new_label: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(old_label, new_label)
        .to_string()
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

#[cfg(test)]
mod tests {
    use super::unified;

    #[test]
    fn equal_texts_have_no_diff() {
        assert_eq!(unified("a\nb\n", "a\nb\n", "x", "y"), "");
    }

    #[test]
    fn a_changed_line_with_context() {
        let old = "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n";
        let new = "1\n2\n3\n4\nfive\n6\n7\n8\n9\n10\n";
        assert_eq!(
            unified(old, new, "live", "new"),
            "--- live\n+++ new\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n"
        );
    }

    #[test]
    fn a_new_object_is_all_additions() {
        assert_eq!(
            unified(
                "",
                "kind: StatefulSet\nmetadata: {}\n",
                "live/x",
                "catctl/x"
            ),
            "--- live/x\n+++ catctl/x\n@@ -0,0 +1,2 @@\n+kind: StatefulSet\n+metadata: {}\n"
        );
    }
}
