//! The objects of a cat's schedule: a CronJob per entry (`<cat>-sleep`, `<cat>-wake`) running
//! catctl's own image, and the ServiceAccount, Role and RoleBinding they run as — the Role may
//! only `get` and `patch` the scale of that one cat's workload. Pure: no I/O.

use serde_json::{Value, json};

use crate::farm::Cat;
use crate::image::ImageRef;
use crate::k8s::objects::{schedule_account, sleep_cronjob, wake_cronjob};
use crate::labels;
use crate::manifest::Kind;
use crate::schedule::Entry;

/// How many finished Jobs of each CronJob are kept.
pub const HISTORY_LIMIT: u32 = 3;

fn metadata(cat: &Cat, name: &str, namespace: &str) -> Value {
    json!({
        "name": name,
        "namespace": namespace,
        "labels": {
            labels::NAME: cat.name,
            labels::PART_OF: labels::MANAGED_BY_CATCTL,
            labels::MANAGED_BY: labels::MANAGED_BY_CATCTL,
        },
    })
}

/// Every object of `cat`'s schedule, in apply order (the account before the CronJobs).
pub fn objects(cat: &Cat, namespace: &str, image: &ImageRef, entries: &[Entry]) -> Vec<Value> {
    let kind = Kind::for_cat(cat);
    let (workload_resource, workload_arg) = match kind {
        Kind::StatefulSet => ("statefulsets/scale", "statefulset"),
        Kind::Deployment => ("deployments/scale", "deployment"),
    };
    let account = schedule_account(&cat.name);
    let mut objects = vec![
        json!({
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": metadata(cat, &account, namespace),
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": metadata(cat, &account, namespace),
            "rules": [{
                "apiGroups": ["apps"],
                "resources": [workload_resource],
                "resourceNames": [cat.name],
                "verbs": ["get", "patch"],
            }],
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": metadata(cat, &account, namespace),
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": account,
            },
            "subjects": [{ "kind": "ServiceAccount", "name": account, "namespace": namespace }],
        }),
    ];
    for entry in entries {
        let (name, replicas) = match entry.action {
            "sleep" => (sleep_cronjob(&cat.name), 0),
            _ => (wake_cronjob(&cat.name), cat.config.replicas),
        };
        objects.push(json!({
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": metadata(cat, &name, namespace),
            "spec": {
                "schedule": entry.cron,
                "timeZone": entry.time_zone,
                "concurrencyPolicy": "Forbid",
                "startingDeadlineSeconds": 600,
                "successfulJobsHistoryLimit": HISTORY_LIMIT,
                "failedJobsHistoryLimit": HISTORY_LIMIT,
                "jobTemplate": {
                    "metadata": { "labels": { labels::NAME: cat.name } },
                    "spec": {
                        "backoffLimit": 2,
                        "activeDeadlineSeconds": 300,
                        "template": {
                            "metadata": { "labels": { labels::NAME: cat.name } },
                            "spec": {
                                "serviceAccountName": account,
                                "restartPolicy": "Never",
                                "securityContext": {
                                    "runAsNonRoot": true,
                                    "runAsUser": 65534,
                                    "runAsGroup": 65534,
                                    "seccompProfile": { "type": "RuntimeDefault" },
                                },
                                "containers": [{
                                    "name": "catctl",
                                    "image": image.to_string(),
                                    "args": [
                                        "scale",
                                        "--workload", format!("{workload_arg}/{}", cat.name),
                                        "--replicas", replicas.to_string(),
                                    ],
                                    "securityContext": {
                                        "allowPrivilegeEscalation": false,
                                        "readOnlyRootFilesystem": true,
                                        "capabilities": { "drop": ["ALL"] },
                                    },
                                    "resources": {
                                        "requests": { "cpu": "10m", "memory": "16Mi" },
                                        "limits": { "memory": "64Mi" },
                                    },
                                }],
                            },
                        },
                    },
                },
            },
        }));
    }
    objects
}
