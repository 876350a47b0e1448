//! What a deploy would change: each cat through the gate, then a server-side dry run compared
//! with the live object.

use anyhow::{Context as _, Result};

use crate::farm::Cat;
use crate::k8s::workload;
use crate::ops::deploy::{self, DeployOptions, Handles, ImageChoice, Report};
use crate::textdiff;

/// The differences found: one unified diff per cat that would change, and the refused cats.
pub struct Differences {
    pub diffs: Vec<String>,
    pub refused: Vec<Report>,
}

pub async fn diff(
    handles: &Handles<'_>,
    cats: Vec<Cat>,
    options: &DeployOptions,
) -> Result<Differences> {
    let choices = cats
        .into_iter()
        .map(|c| (c, ImageChoice::Declared))
        .collect();
    let gated = deploy::prepare(handles, choices, options).await;
    let mut diffs = Vec::new();
    for p in &gated.prepared {
        let kind = p.rendered.kind;
        let label = format!("{}/{}", kind.as_str(), p.cat.name);
        let live = workload::get(handles.cluster, kind, &p.cat.name).await?;
        let dry = workload::apply(handles.cluster, &p.rendered, options.force, true).await?;
        let before = match live {
            Some(object) => comparable(serde_json::to_value(object)?)
                .with_context(|| format!("reading the live {label}"))?,
            None => String::new(),
        };
        let after = comparable(serde_json::to_value(dry.object)?)
            .with_context(|| format!("reading the dry-run {label}"))?;
        let text = textdiff::unified(
            &before,
            &after,
            &format!("live/{label}"),
            &format!("catctl/{label}"),
            3,
        );
        if !text.is_empty() {
            diffs.push(text);
        }
    }
    Ok(Differences {
        diffs,
        refused: gated.refused,
    })
}

/// The object as YAML without what the server alone decides (status, bookkeeping).
fn comparable(mut object: serde_json::Value) -> Result<String> {
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
    }
    Ok(serde_saphyr::to_string(&object)?)
}
