//! meta.k8s.io/v1 Table responses, so `kubectl get` prints the columns it prints on a real cluster.

use serde_json::{Value, json};

use crate::resources::ResourceDef;

/// `5s`, `3m2s`, `10m`, `2h5m`, `3d`: how kubectl prints an age.
pub fn human_age(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..=119 => format!("{s}s"),
        120..=599 => {
            if s % 60 == 0 {
                format!("{}m", s / 60)
            } else {
                format!("{}m{}s", s / 60, s % 60)
            }
        }
        600..=10799 => {
            let (h, m) = (s / 3600, (s % 3600) / 60);
            if h == 0 {
                format!("{m}m")
            } else if m == 0 {
                format!("{h}h")
            } else {
                format!("{h}h{m}m")
            }
        }
        10800..=172799 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}

fn age(obj: &Value) -> String {
    let created = obj["metadata"]["creationTimestamp"]
        .as_str()
        .and_then(|t| t.parse::<jiff::Timestamp>().ok());
    match created {
        Some(t) => human_age((jiff::Timestamp::now() - t).get_seconds()),
        None => "<unknown>".into(),
    }
}

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

fn pod_row(pod: &Value) -> Vec<Value> {
    let statuses = pod["status"]["containerStatuses"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let total = pod["spec"]["containers"].as_array().map_or(0, Vec::len);
    let ready = statuses.iter().filter(|s| s["ready"] == true).count();
    let restarts: i64 = statuses.iter().map(|s| int(&s["restartCount"])).sum();
    let mut reason = pod["status"]["phase"]
        .as_str()
        .unwrap_or("Pending")
        .to_string();
    for s in &statuses {
        if let Some(r) = s["state"]["waiting"]["reason"].as_str() {
            reason = r.to_string();
        } else if let Some(r) = s["state"]["terminated"]["reason"].as_str() {
            reason = r.to_string();
        }
    }
    if pod["metadata"]["deletionTimestamp"].is_string() {
        reason = "Terminating".into();
    }
    vec![
        pod["metadata"]["name"].clone(),
        json!(format!("{ready}/{total}")),
        json!(reason),
        json!(restarts),
        json!(age(pod)),
        json!(pod["status"]["podIP"].as_str().unwrap_or("<none>")),
        json!(pod["spec"]["nodeName"].as_str().unwrap_or("<none>")),
    ]
}

fn columns(def: &ResourceDef) -> Vec<(&'static str, &'static str, i64)> {
    match def.kind {
        "Pod" => vec![
            ("Name", "string", 0),
            ("Ready", "string", 0),
            ("Status", "string", 0),
            ("Restarts", "string", 0),
            ("Age", "string", 0),
            ("IP", "string", 1),
            ("Node", "string", 1),
        ],
        "Deployment" => vec![
            ("Name", "string", 0),
            ("Ready", "string", 0),
            ("Up-to-date", "string", 0),
            ("Available", "string", 0),
            ("Age", "string", 0),
        ],
        "StatefulSet" => vec![
            ("Name", "string", 0),
            ("Ready", "string", 0),
            ("Age", "string", 0),
        ],
        "ReplicaSet" => vec![
            ("Name", "string", 0),
            ("Desired", "string", 0),
            ("Current", "string", 0),
            ("Ready", "string", 0),
            ("Age", "string", 0),
        ],
        "Secret" => vec![
            ("Name", "string", 0),
            ("Type", "string", 0),
            ("Data", "string", 0),
            ("Age", "string", 0),
        ],
        "Namespace" => vec![
            ("Name", "string", 0),
            ("Status", "string", 0),
            ("Age", "string", 0),
        ],
        "Event" => vec![
            ("Last Seen", "string", 0),
            ("Type", "string", 0),
            ("Reason", "string", 0),
            ("Object", "string", 0),
            ("Message", "string", 0),
        ],
        "ControllerRevision" => vec![
            ("Name", "string", 0),
            ("Controller", "string", 0),
            ("Revision", "string", 0),
            ("Age", "string", 0),
        ],
        _ => vec![("Name", "string", 0), ("Age", "string", 0)],
    }
}

fn row(def: &ResourceDef, obj: &Value) -> Vec<Value> {
    let name = obj["metadata"]["name"].clone();
    let spec = &obj["spec"];
    let status = &obj["status"];
    match def.kind {
        "Pod" => pod_row(obj),
        "Deployment" => vec![
            name,
            json!(format!(
                "{}/{}",
                int(&status["readyReplicas"]),
                int(&spec["replicas"])
            )),
            json!(int(&status["updatedReplicas"])),
            json!(int(&status["availableReplicas"])),
            json!(age(obj)),
        ],
        "StatefulSet" => vec![
            name,
            json!(format!(
                "{}/{}",
                int(&status["readyReplicas"]),
                int(&spec["replicas"])
            )),
            json!(age(obj)),
        ],
        "ReplicaSet" => vec![
            name,
            json!(int(&spec["replicas"])),
            json!(int(&status["replicas"])),
            json!(int(&status["readyReplicas"])),
            json!(age(obj)),
        ],
        "Secret" => vec![
            name,
            obj["type"].clone(),
            json!(obj["data"].as_object().map_or(0, |d| d.len())),
            json!(age(obj)),
        ],
        "Namespace" => vec![
            name,
            json!(status["phase"].as_str().unwrap_or("Active")),
            json!(age(obj)),
        ],
        "Event" => {
            let seen = obj["lastTimestamp"]
                .as_str()
                .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                .map_or("<unknown>".to_string(), |t| {
                    human_age((jiff::Timestamp::now() - t).get_seconds())
                });
            let involved = &obj["involvedObject"];
            let object = format!(
                "{}/{}",
                involved["kind"].as_str().unwrap_or_default().to_lowercase(),
                involved["name"].as_str().unwrap_or_default()
            );
            vec![
                json!(seen),
                obj["type"].clone(),
                obj["reason"].clone(),
                json!(object),
                obj["message"].clone(),
            ]
        }
        "ControllerRevision" => {
            let owner = obj["metadata"]["ownerReferences"][0].clone();
            let controller = match (owner["kind"].as_str(), owner["name"].as_str()) {
                (Some(k), Some(n)) => format!("{}.apps/{n}", k.to_lowercase()),
                _ => "<none>".into(),
            };
            vec![
                name,
                json!(controller),
                obj["revision"].clone(),
                json!(age(obj)),
            ]
        }
        _ => vec![name, json!(age(obj))],
    }
}

pub fn table(def: &ResourceDef, items: &[&Value], rv: u64) -> Value {
    let defs: Vec<Value> = columns(def)
        .iter()
        .map(|(name, kind, priority)| {
            let mut d = json!({"name": name, "type": kind, "format": "", "description": "", "priority": priority});
            if *name == "Name" {
                d["format"] = json!("name");
            }
            d
        })
        .collect();
    let rows: Vec<Value> = items
        .iter()
        .map(|obj| {
            json!({"cells": row(def, obj), "object": {
                "kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}})
        })
        .collect();
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": rv.to_string()},
        "columnDefinitions": defs, "rows": rows})
}

#[cfg(test)]
mod tests {
    #[test]
    fn ages() {
        assert_eq!(super::human_age(5), "5s");
        assert_eq!(super::human_age(185), "3m5s");
        assert_eq!(super::human_age(900), "15m");
        assert_eq!(super::human_age(7500), "2h5m");
        assert_eq!(super::human_age(200_000), "2d");
    }
}
