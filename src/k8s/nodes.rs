//! The cluster's nodes as far as images care: which platform each runs
//! (`status.nodeInfo.operatingSystem`/`architecture`).

use anyhow::{Context as _, Result};
use k8s_openapi::api::core::v1::Node;
use kube::Api;
use kube::api::ListParams;

use super::Cluster;
use crate::image::Platform;

/// One node and the platform it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodePlatform {
    pub node: String,
    pub platform: Platform,
}

/// Every node's platform (one LIST; nodes that do not report one yet are left out).
pub async fn platforms(cluster: &Cluster) -> Result<Vec<NodePlatform>> {
    let nodes: Api<Node> = Api::all(cluster.client.clone());
    let list = nodes
        .list(&ListParams::default())
        .await
        .map_err(super::readable)
        .with_context(|| format!("listing the nodes of {}", cluster.url))?;
    Ok(of(&list.items))
}

/// The platform of each node that reports one (a node not yet reporting is left out).
pub fn of(nodes: &[Node]) -> Vec<NodePlatform> {
    nodes
        .iter()
        .filter_map(|node| {
            let info = node.status.as_ref()?.node_info.as_ref()?;
            Some(NodePlatform {
                node: node.metadata.name.clone().unwrap_or_default(),
                platform: Platform {
                    os: info.operating_system.clone(),
                    ..Platform::linux(&info.architecture)
                },
            })
        })
        .collect()
}
