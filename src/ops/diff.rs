//! What a deploy would change: each cat through the gate, then a server-side dry run compared
//! with the live object.

use anyhow::{Context as _, Result};

use crate::farm::Cat;
use crate::k8s::workload;
use crate::ops::deploy::{self, DeployOptions, Handles, ImageChoice, Report};

/// The differences found: every cat that passed the gate, compared, and the refused cats.
pub struct Differences {
    pub compared: Vec<Compared>,
    pub refused: Vec<Report>,
}

/// One cat's workload, live against what a deploy would apply.
pub struct Compared {
    pub cat: String,
    /// `statefulset/dd`.
    pub object: String,
    /// The unified diff live → catctl; empty when nothing would change.
    pub diff: String,
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
    let mut compared = Vec::new();
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
        let text = unified(
            &before,
            &after,
            &format!("live/{label}"),
            &format!("catctl/{label}"),
        );
        compared.push(Compared {
            cat: p.cat.name.clone(),
            object: label,
            diff: text,
        });
    }
    Ok(Differences {
        compared,
        refused: gated.refused,
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
