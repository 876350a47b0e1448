//! JSON merge patch (RFC 7386), JSON patch (RFC 6902) and an approximation of strategic merge
//! patch: lists of containers, env, volumes, ports… merge by their key, other lists are replaced.

use serde_json::{Map, Value};

/// The merge keys of the associative lists the fake knows, by field name.
pub fn list_keys(field: &str) -> Option<&'static [&'static str]> {
    Some(match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets" => &["name"],
        "volumeMounts" => &["mountPath"],
        "ports" => &["containerPort"],
        "ownerReferences" => &["uid"],
        "conditions" => &["type"],
        _ => return None,
    })
}

pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(target) = target else {
        return;
    };
    for (key, value) in patch {
        if value.is_null() {
            target.remove(key);
        } else {
            merge_patch(target.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

pub fn strategic_merge(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if patch.get("$patch").and_then(Value::as_str) == Some("replace") {
        let mut replaced = patch.clone();
        replaced.remove("$patch");
        *target = Value::Object(replaced);
        return;
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(target) = target else {
        return;
    };
    for (key, value) in patch {
        if let Some(field) = key.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(list)), Value::Array(gone)) = (target.get_mut(field), value) {
                list.retain(|v| !gone.contains(v));
            }
            continue;
        }
        if key.starts_with('$') {
            continue;
        }
        if value.is_null() || value.get("$patch").and_then(Value::as_str) == Some("delete") {
            target.remove(key);
            continue;
        }
        match (list_keys(key), value) {
            (Some(keys), Value::Array(items)) => {
                let slot = target.entry(key.clone()).or_insert(Value::Array(vec![]));
                merge_keyed_list(slot, items, keys);
            }
            (None, Value::Object(_)) => {
                strategic_merge(target.entry(key.clone()).or_insert(Value::Null), value)
            }
            _ => {
                target.insert(key.clone(), value.clone());
            }
        }
    }
}

fn same_key(a: &Value, b: &Value, keys: &[&str]) -> bool {
    keys.iter().all(|k| a.get(k) == b.get(k))
}

fn merge_keyed_list(target: &mut Value, items: &[Value], keys: &[&str]) {
    if !target.is_array() {
        *target = Value::Array(vec![]);
    }
    let Value::Array(list) = target else { return };
    if items
        .iter()
        .any(|i| i.get("$patch").and_then(Value::as_str) == Some("replace"))
    {
        *list = items
            .iter()
            .filter(|i| i.get("$patch").is_none())
            .cloned()
            .collect();
        return;
    }
    for item in items {
        let pos = list.iter().position(|l| same_key(l, item, keys));
        let delete = item.get("$patch").and_then(Value::as_str) == Some("delete");
        match (pos, delete) {
            (Some(i), true) => {
                list.remove(i);
            }
            (None, true) => {}
            (Some(i), false) => strategic_merge(&mut list[i], item),
            (None, false) => list.push(item.clone()),
        }
    }
}

/// Applies an RFC 6902 JSON patch; the error text is the API server's.
pub fn json_patch(target: &mut Value, ops: &Value) -> Result<(), String> {
    let ops = ops
        .as_array()
        .ok_or("json patch must be an array of operations")?;
    for op in ops {
        let path = op["path"].as_str().ok_or("missing path")?;
        match op["op"].as_str().unwrap_or_default() {
            "add" => add(target, path, op["value"].clone())?,
            "remove" => {
                remove(target, path)?;
            }
            "replace" => {
                remove(target, path)?;
                add(target, path, op["value"].clone())?;
            }
            "move" => {
                let from = op["from"].as_str().ok_or("missing from")?;
                let value = remove(target, from)?;
                add(target, path, value)?;
            }
            "copy" => {
                let from = op["from"].as_str().ok_or("missing from")?;
                let value = target
                    .pointer(from)
                    .cloned()
                    .ok_or("copy from missing path")?;
                add(target, path, value)?;
            }
            "test" => {
                if target.pointer(path) != Some(&op["value"]) {
                    return Err(format!("testing value {path} failed"));
                }
            }
            other => return Err(format!("Unexpected kind: {other}")),
        }
    }
    Ok(())
}

fn split_pointer(path: &str) -> Result<(String, String), String> {
    let (parent, last) = path.rsplit_once('/').ok_or("invalid pointer")?;
    Ok((
        parent.to_string(),
        last.replace("~1", "/").replace("~0", "~"),
    ))
}

fn add(target: &mut Value, path: &str, value: Value) -> Result<(), String> {
    if path.is_empty() {
        *target = value;
        return Ok(());
    }
    let (parent, last) = split_pointer(path)?;
    let missing = || format!("add operation does not apply: doc is missing path: \"{path}\"");
    match target.pointer_mut(&parent).ok_or_else(missing)? {
        Value::Object(map) => {
            map.insert(last, value);
        }
        Value::Array(list) => {
            let index = if last == "-" {
                list.len()
            } else {
                last.parse().map_err(|_| missing())?
            };
            if index > list.len() {
                return Err(missing());
            }
            list.insert(index, value);
        }
        _ => return Err(missing()),
    }
    Ok(())
}

fn remove(target: &mut Value, path: &str) -> Result<Value, String> {
    let (parent, last) = split_pointer(path)?;
    let missing = || format!("remove operation does not apply: doc is missing path: \"{path}\"");
    match target.pointer_mut(&parent).ok_or_else(missing)? {
        Value::Object(map) => map.remove(&last).ok_or_else(missing),
        Value::Array(list) => {
            let index: usize = last.parse().map_err(|_| missing())?;
            (index < list.len())
                .then(|| list.remove(index))
                .ok_or_else(missing)
        }
        _ => Err(missing()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strategic_merge_merges_containers_and_env_by_name() {
        let mut pod = json!({"spec": {"containers": [
            {"name": "dd", "image": "dd:v1", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]},
            {"name": "sidecar", "image": "s:v1"}
        ], "tolerations": [{"key": "x"}]}});
        let patch = json!({"spec": {"containers": [
            {"name": "dd", "image": "dd:v2", "env": [{"name": "B", "value": "3"}, {"name": "C", "value": "4"}]},
            {"name": "sidecar", "$patch": "delete"}
        ], "tolerations": [{"key": "y"}]}});
        strategic_merge(&mut pod, &patch);
        assert_eq!(
            pod,
            json!({"spec": {"containers": [
                {"name": "dd", "image": "dd:v2", "env": [
                    {"name": "A", "value": "1"}, {"name": "B", "value": "3"}, {"name": "C", "value": "4"}]}
            ], "tolerations": [{"key": "y"}]}})
        );
    }

    #[test]
    fn strategic_merge_restarted_at_and_directives() {
        let mut d = json!({"spec": {"template": {"metadata": {"labels": {"app": "dd"}}}},
            "metadata": {"finalizers": ["a", "b"]}});
        strategic_merge(
            &mut d,
            &json!({
                "spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "now"}}}},
                "metadata": {"$deleteFromPrimitiveList/finalizers": ["a"], "$setElementOrder/x": []}
            }),
        );
        assert_eq!(d["spec"]["template"]["metadata"]["labels"]["app"], "dd");
        assert_eq!(
            d["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"],
            "now"
        );
        assert_eq!(d["metadata"]["finalizers"], json!(["b"]));
    }

    #[test]
    fn merge_patch_replaces_lists_and_deletes_nulls() {
        let mut obj = json!({"a": {"b": 1, "c": 2}, "l": [1, 2]});
        merge_patch(&mut obj, &json!({"a": {"b": null, "d": 3}, "l": [3]}));
        assert_eq!(obj, json!({"a": {"c": 2, "d": 3}, "l": [3]}));
    }

    #[test]
    fn json_patch_ops() {
        let mut obj = json!({"spec": {"replicas": 1, "list": ["a"]}});
        json_patch(
            &mut obj,
            &json!([
                {"op": "replace", "path": "/spec/replicas", "value": 3},
                {"op": "add", "path": "/spec/list/-", "value": "b"},
                {"op": "add", "path": "/metadata", "value": {}},
                {"op": "test", "path": "/spec/replicas", "value": 3}
            ]),
        )
        .unwrap();
        assert_eq!(
            obj,
            json!({"spec": {"replicas": 3, "list": ["a", "b"]}, "metadata": {}})
        );
        let err = json_patch(&mut obj, &json!([{"op": "remove", "path": "/nope/x"}])).unwrap_err();
        assert!(err.contains("missing path"), "{err}");
    }
}
