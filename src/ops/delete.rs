//! `delete`: what catctl made in the cluster for a cat — workload, Secret, schedule, deploy
//! history and lock (ConfigMap `catctl-history-<cat>`) and a deploy Lease left by an earlier
//! catctl (`catctl-deploy-<cat>`) — found first, then removed. Never the cat's directory.

use anyhow::Result;

use crate::farm::Farm;
use crate::k8s::Cluster;
use crate::k8s::objects::{self, ObjectRef};

/// A cat's objects that exist in the cluster.
#[derive(Debug, Clone)]
pub struct Found {
    pub cat: String,
    pub objects: Vec<ObjectRef>,
}

/// Reads which of each cat's objects exist (catctl-managed ones only). Reads only.
pub async fn find(cluster: &Cluster, cats: &[String]) -> Result<Vec<Found>> {
    let mut found = Vec::new();
    for cat in cats {
        let mut objects = Vec::new();
        for object in objects::of_cat(cat) {
            if objects::exists_managed(cluster, &object).await? {
                objects.push(object);
            }
        }
        found.push(Found {
            cat: cat.clone(),
            objects,
        });
    }
    Ok(found)
}

/// Deletes what `find` found.
pub async fn delete(cluster: &Cluster, found: &[Found]) -> Result<()> {
    for cat in found {
        for object in &cat.objects {
            objects::delete(cluster, object).await?;
        }
    }
    Ok(())
}

/// Catctl-managed workloads whose cat directory is gone.
pub async fn orphans(cluster: &Cluster, farm: &Farm) -> Result<Vec<String>> {
    let known = farm.cat_names()?;
    Ok(objects::managed_workloads(cluster)
        .await?
        .into_iter()
        .filter(|name| !known.contains(name))
        .collect())
}
