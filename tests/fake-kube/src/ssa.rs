//! Server-side apply: field sets in the FieldsV1 format, managedFields bookkeeping for applies
//! and updates, and 409 conflicts naming the manager that owns a field.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use crate::patch::list_keys;
use crate::status::ApiError;

/// A field path in FieldsV1 notation: `f:spec`, `k:{"name":"dd"}`, `.` (the list item itself).
type Path = Vec<String>;
type FieldSet = BTreeSet<Path>;

#[derive(Debug, Clone)]
struct Entry {
    manager: String,
    operation: String,
    subresource: String,
    api_version: String,
    time: String,
    set: FieldSet,
}

impl Entry {
    fn same_owner(&self, manager: &str, operation: &str, subresource: &str) -> bool {
        self.manager == manager && self.operation == operation && self.subresource == subresource
    }

    /// How the API server names a manager in conflict messages.
    fn describe(&self) -> String {
        let mut text = format!("{:?}", self.manager);
        if !self.subresource.is_empty() {
            text = format!("{text} with subresource {:?}", self.subresource);
        }
        if self.operation == "Update" {
            text = format!("{text} using {}", self.api_version);
        }
        text
    }

    fn to_json(&self) -> Value {
        let mut entry = json!({
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
            "time": self.time,
            "fieldsType": "FieldsV1",
            "fieldsV1": to_fields_v1(&self.set),
        });
        if !self.subresource.is_empty() {
            entry["subresource"] = json!(self.subresource);
        }
        entry
    }
}

fn entries(obj: Option<&Value>) -> Vec<Entry> {
    let Some(list) = obj.and_then(|o| o["metadata"]["managedFields"].as_array()) else {
        return vec![];
    };
    list.iter()
        .map(|e| Entry {
            manager: e["manager"].as_str().unwrap_or_default().into(),
            operation: e["operation"].as_str().unwrap_or_default().into(),
            subresource: e["subresource"].as_str().unwrap_or_default().into(),
            api_version: e["apiVersion"].as_str().unwrap_or_default().into(),
            time: e["time"].as_str().unwrap_or_default().into(),
            set: from_fields_v1(&e["fieldsV1"]),
        })
        .collect()
}

fn store_entries(obj: &mut Value, list: Vec<Entry>) {
    let list: Vec<Value> = list
        .iter()
        .filter(|e| !e.set.is_empty())
        .map(Entry::to_json)
        .collect();
    if list.is_empty() {
        if let Some(m) = obj["metadata"].as_object_mut() {
            m.remove("managedFields");
        }
    } else {
        obj["metadata"]["managedFields"] = Value::Array(list);
    }
}

/// The fields an object sets, leaving out what the server owns (status, identity metadata).
pub fn field_set(obj: &Value) -> BTreeSet<Vec<String>> {
    let mut out = FieldSet::new();
    let Some(map) = obj.as_object() else {
        return out;
    };
    for (key, value) in map {
        match key.as_str() {
            "apiVersion" | "kind" | "status" => {}
            "metadata" => {
                for field in ["labels", "annotations", "finalizers", "ownerReferences"] {
                    if let Some(v) = value.get(field) {
                        walk(
                            v,
                            vec!["f:metadata".into(), format!("f:{field}")],
                            field,
                            &mut out,
                        );
                    }
                }
            }
            _ => walk(value, vec![format!("f:{key}")], key, &mut out),
        }
    }
    out
}

fn item_key(item: &Value, keys: &[&str]) -> Option<String> {
    let mut key = Map::new();
    for k in keys {
        key.insert((*k).to_string(), item.get(*k)?.clone());
    }
    Some(format!("k:{}", Value::Object(key)))
}

fn walk(value: &Value, path: Path, field: &str, out: &mut FieldSet) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                let mut p = path.clone();
                p.push(format!("f:{k}"));
                walk(v, p, k, out);
            }
        }
        Value::Array(items) if list_keys(field).is_some() && !items.is_empty() => {
            let keys = list_keys(field).unwrap_or_default();
            for item in items {
                let Some(key) = item_key(item, keys) else {
                    out.insert(path.clone());
                    return;
                };
                let mut p = path.clone();
                p.push(key);
                let mut marker = p.clone();
                marker.push(".".into());
                out.insert(marker);
                if let Some(map) = item.as_object() {
                    for (k, v) in map {
                        let mut child = p.clone();
                        child.push(format!("f:{k}"));
                        walk(v, child, k, out);
                    }
                }
            }
        }
        _ => {
            out.insert(path);
        }
    }
}

fn to_fields_v1(set: &FieldSet) -> Value {
    let mut root = json!({});
    for path in set {
        let mut node = &mut root;
        for part in path {
            node = node
                .as_object_mut()
                .map(|m| m.entry(part.clone()).or_insert(json!({})))
                .expect("fieldsV1 nodes are objects");
        }
    }
    root
}

fn from_fields_v1(fields: &Value) -> FieldSet {
    fn go(node: &Value, path: &mut Path, out: &mut FieldSet) {
        match node.as_object() {
            Some(map) if !map.is_empty() => {
                for (k, v) in map {
                    path.push(k.clone());
                    go(v, path, out);
                    path.pop();
                }
            }
            _ if !path.is_empty() => {
                out.insert(path.clone());
            }
            _ => {}
        }
    }
    let mut out = FieldSet::new();
    go(fields, &mut vec![], &mut out);
    out
}

fn get_at<'a>(obj: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut node = obj;
    for part in path {
        node = if let Some(field) = part.strip_prefix("f:") {
            node.get(field)?
        } else if let Some(key) = part.strip_prefix("k:") {
            let key: Map<String, Value> = serde_json::from_str(key).ok()?;
            node.as_array()?
                .iter()
                .find(|item| key.iter().all(|(k, v)| item.get(k) == Some(v)))?
        } else {
            node
        };
    }
    Some(node)
}

fn remove_at(obj: &mut Value, path: &[String]) {
    let (last, parent) = match path {
        [parent @ .., last] if last == "." => match parent {
            [grand @ .., item] => (item, grand),
            [] => return,
        },
        [parent @ .., last] => (last, parent),
        [] => return,
    };
    let mut node = obj;
    for part in parent {
        let next = if let Some(field) = part.strip_prefix("f:") {
            node.get_mut(field)
        } else if let Some(key) = part.strip_prefix("k:") {
            let key: Map<String, Value> = serde_json::from_str(key).unwrap_or_default();
            node.as_array_mut().and_then(|items| {
                items
                    .iter_mut()
                    .find(|item| key.iter().all(|(k, v)| item.get(k) == Some(v)))
            })
        } else {
            Some(node)
        };
        match next {
            Some(n) => node = n,
            None => return,
        }
    }
    if let Some(field) = last.strip_prefix("f:") {
        if let Some(map) = node.as_object_mut() {
            map.remove(field);
        }
    } else if let Some(key) = last.strip_prefix("k:") {
        let key: Map<String, Value> = serde_json::from_str(key).unwrap_or_default();
        if let Some(items) = node.as_array_mut() {
            items.retain(|item| !key.iter().all(|(k, v)| item.get(k) == Some(v)));
        }
    }
}

/// Removes the containers that a removal left empty, up to the first list item.
fn prune_empty(obj: &mut Value, removed: &[String]) {
    let mut path = removed.to_vec();
    path.pop();
    while path.len() > 1 && path.last().is_some_and(|p| p.starts_with("f:")) {
        let empty = match get_at(obj, &path) {
            Some(Value::Array(a)) => a.is_empty(),
            Some(Value::Object(m)) => m.is_empty(),
            _ => false,
        };
        if !empty {
            break;
        }
        remove_at(obj, &path);
        path.pop();
    }
}

/// `.spec.template.spec.containers[name="dd"].image`, as conflict messages print paths.
pub fn path_text(path: &[String]) -> String {
    let mut text = String::new();
    for part in path {
        if let Some(field) = part.strip_prefix("f:") {
            text.push('.');
            text.push_str(field);
        } else if let Some(key) = part.strip_prefix("k:") {
            let key: Map<String, Value> = serde_json::from_str(key).unwrap_or_default();
            let inner: Vec<String> = key.iter().map(|(k, v)| format!("{k}={v}")).collect();
            text.push_str(&format!("[{}]", inner.join(",")));
        }
    }
    text
}

/// Merges an applied configuration into the live object: maps recursively, keyed lists by key,
/// everything else replaced.
fn apply_merge(target: &mut Value, config: &Value, field: &str) {
    match (target, config) {
        (Value::Object(t), Value::Object(c)) => {
            for (k, v) in c {
                if v.is_null() {
                    continue;
                }
                match t.get_mut(k) {
                    Some(existing) => apply_merge(existing, v, k),
                    None => {
                        t.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (Value::Array(t), Value::Array(c)) if list_keys(field).is_some() => {
            let keys = list_keys(field).unwrap_or_default();
            for item in c {
                match t
                    .iter_mut()
                    .find(|l| keys.iter().all(|k| l.get(*k) == item.get(*k)))
                {
                    Some(existing) => apply_merge(existing, item, ""),
                    None => t.push(item.clone()),
                }
            }
        }
        (t, c) => *t = c.clone(),
    }
}

pub fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Server-side apply of `config` over `live` (None when absent) by `manager`.
pub fn apply(
    live: Option<&Value>,
    config: &Value,
    manager: &str,
    force: bool,
    api_version: &str,
) -> Result<Value, ApiError> {
    let mut list = entries(live);
    let applied = field_set(config);
    let mut merged = live.cloned().unwrap_or_else(|| json!({"metadata": {}}));
    apply_merge(&mut merged, config, "");

    let mut conflicts: Vec<(usize, Path)> = Vec::new();
    if let Some(live) = live {
        for path in applied
            .iter()
            .filter(|p| p.last().is_some_and(|l| l != "."))
        {
            if get_at(live, path) == get_at(config, path) {
                continue;
            }
            for (i, e) in list.iter().enumerate() {
                if !e.same_owner(manager, "Apply", "") && e.set.contains(path) {
                    conflicts.push((i, path.clone()));
                }
            }
        }
    }
    if !conflicts.is_empty() && !force {
        return Err(conflict_error(&list, &conflicts));
    }
    for (i, path) in &conflicts {
        list[*i].set.remove(path);
    }

    let previous = list
        .iter()
        .find(|e| e.same_owner(manager, "Apply", ""))
        .map(|e| e.set.clone())
        .unwrap_or_default();
    let mut dropped: Vec<&Path> = previous.difference(&applied).collect();
    // Whole list items first (their key fields identify them), then single fields.
    dropped.sort_by_key(|p| {
        (
            p.last().is_none_or(|l| l != "."),
            std::cmp::Reverse(p.len()),
        )
    });
    for path in dropped {
        let prefix: &[String] = if path.last().is_some_and(|l| l == ".") {
            &path[..path.len() - 1]
        } else {
            path
        };
        let owned_elsewhere = list.iter().any(|e| {
            !e.same_owner(manager, "Apply", "") && e.set.iter().any(|p| p.starts_with(prefix))
        }) || applied.iter().any(|p| p.starts_with(prefix));
        if !owned_elsewhere {
            remove_at(&mut merged, path);
            prune_empty(&mut merged, prefix);
        }
    }

    let present = field_set(&merged);
    for e in &mut list {
        e.set.retain(|p| present.contains(p));
    }
    let entry = Entry {
        manager: manager.into(),
        operation: "Apply".into(),
        subresource: String::new(),
        api_version: api_version.into(),
        time: now(),
        set: applied,
    };
    match list.iter().position(|e| e.same_owner(manager, "Apply", "")) {
        Some(i) => list[i] = entry,
        None => list.push(entry),
    }
    store_entries(&mut merged, list);
    Ok(merged)
}

fn conflict_error(list: &[Entry], conflicts: &[(usize, Path)]) -> ApiError {
    let causes: Vec<Value> = conflicts
        .iter()
        .map(|(i, p)| {
            json!({"type": "FieldManagerConflict",
                "reason": "FieldManagerConflict",
                "message": format!("conflict with {}", list[*i].describe()),
                "field": path_text(p)})
        })
        .collect();
    let message = if let [(i, path)] = conflicts {
        format!(
            "Apply failed with 1 conflict: conflict with {}: {}",
            list[*i].describe(),
            path_text(path)
        )
    } else {
        let mut lines = Vec::new();
        let mut managers: Vec<usize> = conflicts.iter().map(|(i, _)| *i).collect();
        managers.dedup();
        for m in managers {
            lines.push(format!("conflicts with {}", list[m].describe()));
            for (_, p) in conflicts.iter().filter(|(i, _)| *i == m) {
                lines.push(format!("- {}", path_text(p)));
            }
        }
        format!(
            "Apply failed with {} conflicts: {}",
            conflicts.len(),
            lines.join("\n")
        )
    };
    ApiError::apply_conflict(message, causes)
}

/// Records an Update (create, put, patch) by `manager`: it owns what it changed, others lose it.
pub fn record_update(
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    subresource: &str,
    api_version: &str,
) {
    let mut list = entries(old);
    let present = field_set(new);
    let changed: FieldSet = present
        .iter()
        .filter(|p| old.is_none_or(|o| get_at(o, p) != get_at(new, p)))
        .cloned()
        .collect();
    for e in &mut list {
        e.set.retain(|p| present.contains(p));
        if !e.same_owner(manager, "Update", subresource) {
            e.set.retain(|p| !changed.contains(p));
        }
    }
    if !changed.is_empty() {
        match list
            .iter_mut()
            .find(|e| e.same_owner(manager, "Update", subresource))
        {
            Some(e) => {
                e.set.extend(changed);
                e.time = now();
            }
            None => list.push(Entry {
                manager: manager.into(),
                operation: "Update".into(),
                subresource: subresource.into(),
                api_version: api_version.into(),
                time: now(),
                set: changed,
            }),
        }
    }
    store_entries(new, list);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deploy(replicas: i64, image: &str) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "dd", "labels": {"app": "dd"}},
            "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": "dd", "image": image}]}}}})
    }

    #[test]
    fn apply_creates_and_records_fields_v1() {
        let obj = apply(None, &deploy(1, "dd:v1"), "catctl", false, "apps/v1").unwrap();
        let mf = &obj["metadata"]["managedFields"][0];
        assert_eq!(mf["manager"], "catctl");
        assert_eq!(mf["operation"], "Apply");
        assert_eq!(
            mf["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"dd\"}"],
            json!({".": {}, "f:name": {}, "f:image": {}})
        );
    }

    #[test]
    fn conflict_names_the_other_manager_and_force_takes_ownership() {
        let live = apply(None, &deploy(1, "dd:v1"), "catctl", false, "apps/v1").unwrap();
        let mut scaled = live.clone();
        scaled["spec"]["replicas"] = json!(2);
        record_update(
            Some(&live),
            &mut scaled,
            "kubectl-scale",
            "scale",
            "apps/v1",
        );

        let same = apply(
            Some(&scaled),
            &deploy(2, "dd:v2"),
            "catctl",
            false,
            "apps/v1",
        );
        assert!(same.is_ok(), "the same value is no conflict");

        let err = apply(
            Some(&scaled),
            &deploy(1, "dd:v2"),
            "catctl",
            false,
            "apps/v1",
        )
        .unwrap_err();
        assert_eq!(err.code, 409);
        assert_eq!(
            err.message,
            "Apply failed with 1 conflict: conflict with \"kubectl-scale\" with subresource \"scale\" using apps/v1: .spec.replicas"
        );
        let forced = apply(
            Some(&scaled),
            &deploy(1, "dd:v2"),
            "catctl",
            true,
            "apps/v1",
        )
        .unwrap();
        assert_eq!(forced["spec"]["replicas"], 1);
        let managers: Vec<&str> = forced["metadata"]["managedFields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["manager"].as_str().unwrap())
            .collect();
        assert_eq!(managers, ["catctl"], "kubectl-scale lost its only field");
        assert!(
            apply(
                Some(&forced),
                &deploy(1, "dd:v3"),
                "catctl",
                false,
                "apps/v1"
            )
            .is_ok()
        );
    }

    #[test]
    fn two_appliers_conflict_on_a_container_image() {
        let live = apply(None, &deploy(1, "dd:v1"), "catctl", false, "apps/v1").unwrap();
        let err = apply(
            Some(&live),
            &deploy(1, "dd:v9"),
            "kubectl",
            false,
            "apps/v1",
        )
        .unwrap_err();
        assert!(
            err.message.contains(
                "conflict with \"catctl\": .spec.template.spec.containers[name=\"dd\"].image"
            ),
            "{}",
            err.message
        );
        assert!(
            err.message
                .contains(".spec.template.spec.containers[name=\"dd\"].image")
        );
    }

    #[test]
    fn fields_dropped_from_the_config_are_removed() {
        let mut with_env = deploy(1, "dd:v1");
        with_env["spec"]["template"]["spec"]["containers"][0]["env"] =
            json!([{"name": "A", "value": "1"}]);
        with_env["metadata"]["labels"]["extra"] = json!("x");
        let live = apply(None, &with_env, "catctl", false, "apps/v1").unwrap();
        let next = apply(Some(&live), &deploy(1, "dd:v1"), "catctl", false, "apps/v1").unwrap();
        assert!(
            next["spec"]["template"]["spec"]["containers"][0]
                .get("env")
                .is_none(),
            "{next}"
        );
        assert!(next["metadata"]["labels"].get("extra").is_none());
        assert_eq!(next["metadata"]["labels"]["app"], "dd");
    }
}
