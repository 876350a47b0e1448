//! Which platform cats' images are for: the one asked for (`--platform`, `[build] platform` of
//! cat.toml, then of catctl.toml), else the one the cluster's nodes run, else the Docker
//! daemon's own; and the check that no image goes to a cluster whose nodes cannot run it.

use std::collections::BTreeMap;

use anyhow::{Result, bail};

use crate::image::{ImageRef, Platform};
use crate::k8s::nodes::NodePlatform;

/// The platform images are built for when nothing names one, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultPlatform {
    pub platform: Platform,
    pub reason: String,
}

/// The nodes' platform when there are nodes (the most common one; the daemon's own among
/// equals), else the daemon's. `nodes` is `Err(why)` when the cluster could not be asked.
pub fn default_platform(
    nodes: std::result::Result<&[NodePlatform], &str>,
    daemon: &Platform,
) -> DefaultPlatform {
    let nodes = match nodes {
        Ok(nodes) if !nodes.is_empty() => nodes,
        Ok(_) => {
            return DefaultPlatform {
                platform: daemon.clone(),
                reason: "the Docker daemon's: the cluster has no nodes".to_string(),
            };
        }
        Err(why) => {
            return DefaultPlatform {
                platform: daemon.clone(),
                reason: format!("the Docker daemon's: no cluster to ask ({why})"),
            };
        }
    };
    let mut counts: BTreeMap<&Platform, usize> = BTreeMap::new();
    for node in nodes {
        *counts.entry(&node.platform).or_default() += 1;
    }
    let most = counts.values().copied().max().unwrap_or(0);
    let platform = if counts.get(daemon) == Some(&most) {
        daemon.clone()
    } else {
        counts
            .iter()
            .find(|(_, count)| **count == most)
            .map(|(platform, _)| (*platform).clone())
            .unwrap_or_else(|| daemon.clone())
    };
    DefaultPlatform {
        reason: format!("the cluster's nodes' ({})", node_summary(nodes)),
        platform,
    }
}

/// Refuses `image` when it holds no platform any node runs, naming both.
pub fn check_runnable(
    image: &ImageRef,
    image_platforms: &[Platform],
    nodes: &[NodePlatform],
) -> Result<()> {
    if nodes.is_empty() || image_platforms.is_empty() {
        return Ok(());
    }
    let runs = image_platforms
        .iter()
        .any(|p| nodes.iter().any(|n| p.runs_on(&n.platform)));
    if !runs {
        let built: Vec<String> = image_platforms.iter().map(Platform::to_string).collect();
        let wanted = nodes[0].platform.clone();
        bail!(
            "{} is {} (its image config in the registry) but no node can run it: the nodes run {} \
             — build for them with `--platform {wanted}` (or `[build] platform = \"{wanted}\"` in \
             catctl.toml), bump `version`, build and push again",
            image.tagged(),
            built.join(", "),
            node_summary(nodes),
        );
    }
    Ok(())
}

/// `linux/amd64 (node-a, node-b)`, one group per platform.
fn node_summary(nodes: &[NodePlatform]) -> String {
    let mut groups: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for node in nodes {
        groups
            .entry(node.platform.to_string())
            .or_default()
            .push(&node.node);
    }
    groups
        .iter()
        .map(|(platform, names)| {
            const SHOWN: usize = 3;
            let mut shown = names
                .iter()
                .take(SHOWN)
                .copied()
                .collect::<Vec<_>>()
                .join(", ");
            if names.len() > SHOWN {
                shown.push_str(&format!(" and {} more", names.len() - SHOWN));
            }
            format!("{platform} on {shown}")
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, arch: &str) -> NodePlatform {
        NodePlatform {
            node: name.to_string(),
            platform: Platform::linux(arch),
        }
    }

    #[test]
    fn the_default_is_the_nodes_platform_else_the_daemons() {
        let arm = Platform::linux("arm64");
        let nodes = [node("gke-1", "amd64"), node("gke-2", "amd64")];
        let chosen = default_platform(Ok(&nodes), &arm);
        assert_eq!(chosen.platform, Platform::linux("amd64"));
        assert!(
            chosen.reason.contains("linux/amd64 on gke-1, gke-2"),
            "{}",
            chosen.reason
        );
        let mixed = [node("a", "amd64"), node("b", "arm64")];
        assert_eq!(default_platform(Ok(&mixed), &arm).platform, arm);
        let alone = default_platform(Err("no kubeconfig"), &arm);
        assert_eq!(alone.platform, arm);
        assert!(alone.reason.contains("no kubeconfig"));
    }

    #[test]
    fn an_image_no_node_runs_is_refused_naming_both() {
        let image = ImageRef::parse("127.0.0.1:5000/dd:v1").unwrap();
        let nodes = [node("node-1", "amd64")];
        let err = check_runnable(&image, &[Platform::linux("arm64")], &nodes).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("127.0.0.1:5000/dd:v1 is linux/arm64"),
            "{text}"
        );
        assert!(text.contains("linux/amd64 on node-1"), "{text}");
        assert!(text.contains("--platform linux/amd64"), "{text}");
        assert!(check_runnable(&image, &[Platform::linux("amd64")], &nodes).is_ok());
        let index = [Platform::linux("arm64"), Platform::linux("amd64")];
        assert!(check_runnable(&image, &index, &nodes).is_ok());
    }
}
