//! The defaults the API server fills in, so that `rollout status`, diffs and template hashes see
//! what they would see on a real cluster.

use serde_json::{Value, json};

use crate::resources::ResourceDef;

fn default(obj: &mut Value, field: &str, value: Value) {
    if obj.is_object() && obj.get(field).is_none_or(Value::is_null) {
        obj[field] = value;
    }
}

pub fn apply(def: &ResourceDef, obj: &mut Value) {
    match def.kind {
        "Pod" => pod_spec(&mut obj["spec"]),
        "Secret" => default(obj, "type", json!("Opaque")),
        "StatefulSet" => {
            let spec = &mut obj["spec"];
            default(spec, "replicas", json!(1));
            default(spec, "podManagementPolicy", json!("OrderedReady"));
            default(spec, "revisionHistoryLimit", json!(10));
            default(
                spec,
                "updateStrategy",
                json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}),
            );
            default(
                spec,
                "persistentVolumeClaimRetentionPolicy",
                json!({"whenDeleted": "Retain", "whenScaled": "Retain"}),
            );
            template(spec);
        }
        "Deployment" => {
            let spec = &mut obj["spec"];
            default(spec, "replicas", json!(1));
            default(spec, "revisionHistoryLimit", json!(10));
            default(spec, "progressDeadlineSeconds", json!(600));
            default(
                spec,
                "strategy",
                json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}),
            );
            if spec["strategy"]["type"] == "RollingUpdate" {
                default(&mut spec["strategy"], "rollingUpdate", json!({}));
                let ru = &mut spec["strategy"]["rollingUpdate"];
                default(ru, "maxSurge", json!("25%"));
                default(ru, "maxUnavailable", json!("25%"));
            }
            template(spec);
        }
        "ReplicaSet" => {
            default(&mut obj["spec"], "replicas", json!(1));
            template(&mut obj["spec"]);
        }
        _ => {}
    }
}

fn template(spec: &mut Value) {
    if spec["template"].is_object() {
        pod_spec(&mut spec["template"]["spec"]);
    }
}

fn pod_spec(spec: &mut Value) {
    if !spec.is_object() {
        return;
    }
    default(spec, "restartPolicy", json!("Always"));
    default(spec, "terminationGracePeriodSeconds", json!(30));
    default(spec, "dnsPolicy", json!("ClusterFirst"));
    default(spec, "schedulerName", json!("default-scheduler"));
    default(spec, "securityContext", json!({}));
    for list in ["containers", "initContainers"] {
        if let Some(containers) = spec.get_mut(list).and_then(Value::as_array_mut) {
            for c in containers {
                let image = c["image"].as_str().unwrap_or_default().to_string();
                let tag_latest = !image.contains('@')
                    && image
                        .rsplit('/')
                        .next()
                        .is_none_or(|last| !last.contains(':') || last.ends_with(":latest"));
                default(
                    c,
                    "imagePullPolicy",
                    json!(if tag_latest { "Always" } else { "IfNotPresent" }),
                );
                default(c, "terminationMessagePath", json!("/dev/termination-log"));
                default(c, "terminationMessagePolicy", json!("File"));
                default(c, "resources", json!({}));
                if let Some(ports) = c.get_mut("ports").and_then(Value::as_array_mut) {
                    for p in ports {
                        default(p, "protocol", json!("TCP"));
                    }
                }
            }
        }
    }
    if let Some(volumes) = spec.get_mut("volumes").and_then(Value::as_array_mut) {
        for v in volumes {
            if v["secret"].is_object() {
                default(&mut v["secret"], "defaultMode", json!(420));
            }
        }
    }
}
