//! Every object catctl makes for a cat, by kind and name — its workload, its Secret, its
//! schedule (two CronJobs, a ServiceAccount, a Role and its RoleBinding), its deploy history
//! and deploy lock (a ConfigMap), and the deploy Lease earlier versions of catctl left — for
//! `delete` and the orphan search.

use anyhow::{Context as _, Result};
use k8s_openapi::Resource;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::Api;
use kube::api::{ApiResource, DeleteParams, DynamicObject, ListParams};

use crate::k8s::{Cluster, managed_selector};

/// The deploy Lease of catctl versions that kept the deploy lock in a Lease (it is now in the
/// history ConfigMap): still deleted with its cat.
fn legacy_lease_name(cat: &str) -> String {
    format!("catctl-deploy-{cat}")
}

/// One object of a cat, which may or may not exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    pub kind: &'static str,
    pub name: String,
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.kind, self.name)
    }
}

/// The names of a cat's schedule objects.
pub fn sleep_cronjob(cat: &str) -> String {
    format!("{cat}-sleep")
}
pub fn wake_cronjob(cat: &str) -> String {
    format!("{cat}-wake")
}
/// The ServiceAccount, Role and RoleBinding the schedule's CronJobs run as.
pub fn schedule_account(cat: &str) -> String {
    format!("{cat}-schedule")
}

fn resource_of(kind: &str) -> ApiResource {
    match kind {
        "StatefulSet" => ApiResource::erase::<StatefulSet>(&()),
        "Deployment" => ApiResource::erase::<Deployment>(&()),
        "Secret" => ApiResource::erase::<Secret>(&()),
        "CronJob" => ApiResource::erase::<CronJob>(&()),
        "ServiceAccount" => ApiResource::erase::<ServiceAccount>(&()),
        "Role" => ApiResource::erase::<Role>(&()),
        "ConfigMap" => ApiResource::erase::<ConfigMap>(&()),
        "Lease" => ApiResource::erase::<Lease>(&()),
        _ => ApiResource::erase::<RoleBinding>(&()),
    }
}

/// Everything catctl may have made for `cat`, the workload first, the deploy history and a
/// leftover deploy lock last.
pub fn of_cat(cat: &str) -> Vec<ObjectRef> {
    let object = |kind: &'static str, name: String| ObjectRef { kind, name };
    vec![
        object(StatefulSet::KIND, cat.to_string()),
        object(Deployment::KIND, cat.to_string()),
        object(CronJob::KIND, sleep_cronjob(cat)),
        object(CronJob::KIND, wake_cronjob(cat)),
        object(RoleBinding::KIND, schedule_account(cat)),
        object(Role::KIND, schedule_account(cat)),
        object(ServiceAccount::KIND, schedule_account(cat)),
        object(Secret::KIND, crate::cat_runtime::secret_name(cat)),
        object(ConfigMap::KIND, crate::k8s::history::configmap_name(cat)),
        object(Lease::KIND, legacy_lease_name(cat)),
    ]
}

fn api(cluster: &Cluster, kind: &str) -> Api<DynamicObject> {
    Api::namespaced_with(
        cluster.client.clone(),
        &cluster.namespace,
        &resource_of(kind),
    )
}

/// Whether `object` exists and carries catctl's managed-by label (others are not catctl's to
/// delete). A kind the cluster does not serve counts as absent.
pub async fn exists_managed(cluster: &Cluster, object: &ObjectRef) -> Result<bool> {
    let found = match api(cluster, object.kind).get_opt(&object.name).await {
        Ok(found) => found,
        Err(kube::Error::Api(status)) if status.code == 404 => None,
        Err(err) => {
            return Err(crate::k8s::readable(err))
                .with_context(|| format!("reading {object} in namespace {}", cluster.namespace));
        }
    };
    Ok(found.is_some_and(|o| {
        o.metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(crate::labels::MANAGED_BY))
            .map(String::as_str)
            == Some(crate::labels::MANAGED_BY_CATCTL)
    }))
}

/// Deletes `object` (its pods with it, in the background); one already gone is fine.
pub async fn delete(cluster: &Cluster, object: &ObjectRef) -> Result<()> {
    match api(cluster, object.kind)
        .delete(&object.name, &DeleteParams::background())
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(err) => Err(crate::k8s::readable(err))
            .with_context(|| format!("deleting {object} in namespace {}", cluster.namespace)),
    }
}

/// The names of every catctl-managed workload (StatefulSet or Deployment) in the namespace.
pub async fn managed_workloads(cluster: &Cluster) -> Result<Vec<String>> {
    let params = ListParams::default().labels(&managed_selector());
    let mut names = Vec::new();
    for kind in [StatefulSet::KIND, Deployment::KIND] {
        let list = api(cluster, kind)
            .list(&params)
            .await
            .map_err(crate::k8s::readable)
            .with_context(|| format!("listing {kind}s in namespace {}", cluster.namespace))?;
        names.extend(list.items.into_iter().filter_map(|o| o.metadata.name));
    }
    names.sort();
    names.dedup();
    Ok(names)
}

/// Server-side applies `object` (one of the kinds above) with catctl's field manager.
pub async fn apply(cluster: &Cluster, object: &serde_json::Value) -> Result<()> {
    let kind = object["kind"].as_str().unwrap_or_default();
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    let params = kube::api::PatchParams::apply(crate::k8s::FIELD_MANAGER).force();
    api(cluster, kind)
        .patch(name, &params, &kube::api::Patch::Apply(object))
        .await
        .map_err(crate::k8s::readable)
        .with_context(|| format!("applying {kind}/{name} in namespace {}", cluster.namespace))?;
    Ok(())
}

/// The schedule objects of `cat` (CronJobs, ServiceAccount, Role, RoleBinding).
pub fn schedule_of(cat: &str) -> Vec<ObjectRef> {
    of_cat(cat)
        .into_iter()
        .filter(|o| {
            !matches!(
                o.kind,
                "StatefulSet" | "Deployment" | "Secret" | "ConfigMap" | "Lease"
            )
        })
        .collect()
}

/// A CronJob of the cat's schedule as the cluster has it, if any.
pub async fn get_cronjob(cluster: &Cluster, name: &str) -> Result<Option<DynamicObject>> {
    api(cluster, CronJob::KIND)
        .get_opt(name)
        .await
        .map_err(crate::k8s::readable)
        .with_context(|| format!("reading CronJob/{name} in namespace {}", cluster.namespace))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cat_s_objects_include_its_history_and_deploy_lock() {
        let names: Vec<String> = of_cat("dd").iter().map(ToString::to_string).collect();
        assert_eq!(names.first().map(String::as_str), Some("StatefulSet/dd"));
        assert!(
            names.contains(&"ConfigMap/catctl-history-dd".to_string()),
            "{names:?}"
        );
        assert!(
            names.contains(&"Lease/catctl-deploy-dd".to_string()),
            "{names:?}"
        );
        let schedule: Vec<String> = schedule_of("dd").iter().map(ToString::to_string).collect();
        assert_eq!(
            schedule,
            [
                "CronJob/dd-sleep",
                "CronJob/dd-wake",
                "RoleBinding/dd-schedule",
                "Role/dd-schedule",
                "ServiceAccount/dd-schedule"
            ]
        );
    }
}
