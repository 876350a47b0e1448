//! Label selectors (`app=dd,tier in (a,b),!legacy`) and field selectors (`metadata.name=dd-0`).

use serde_json::Value;

use crate::status::ApiError;

#[derive(Debug, Clone, PartialEq)]
enum Requirement {
    Eq(String, String),
    NotEq(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// A parsed label selector; empty matches everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelSelector(Vec<Requirement>);

impl LabelSelector {
    pub fn parse(text: &str) -> Result<Self, ApiError> {
        let mut reqs = Vec::new();
        for part in split_top_level(text) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            reqs.push(parse_requirement(part).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "unable to parse requirement: found '{part}', expected: in, notin, =, ==, !=, gt, lt"
                ))
            })?);
        }
        Ok(LabelSelector(reqs))
    }

    /// A metav1.LabelSelector object (`matchLabels`, `matchExpressions`).
    pub fn from_object(selector: &Value) -> Self {
        let mut reqs = Vec::new();
        if let Some(labels) = selector["matchLabels"].as_object() {
            for (k, v) in labels {
                reqs.push(Requirement::Eq(
                    k.clone(),
                    v.as_str().unwrap_or_default().into(),
                ));
            }
        }
        for expr in selector["matchExpressions"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let key = expr["key"].as_str().unwrap_or_default().to_string();
            let values: Vec<String> = expr["values"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(String::from))
                .collect();
            reqs.push(match expr["operator"].as_str().unwrap_or_default() {
                "In" => Requirement::In(key, values),
                "NotIn" => Requirement::NotIn(key, values),
                "Exists" => Requirement::Exists(key),
                _ => Requirement::NotExists(key),
            });
        }
        LabelSelector(reqs)
    }

    pub fn matches(&self, labels: &Value) -> bool {
        let get = |k: &str| labels.get(k).and_then(Value::as_str);
        self.0.iter().all(|req| match req {
            Requirement::Eq(k, v) => get(k) == Some(v.as_str()),
            Requirement::NotEq(k, v) => get(k) != Some(v.as_str()),
            Requirement::In(k, vs) => get(k).is_some_and(|l| vs.iter().any(|v| v == l)),
            Requirement::NotIn(k, vs) => get(k).is_none_or(|l| vs.iter().all(|v| v != l)),
            Requirement::Exists(k) => get(k).is_some(),
            Requirement::NotExists(k) => get(k).is_none(),
        })
    }

    /// `app=dd,tier=web` for Scale's status.selector.
    pub fn to_text(&self) -> String {
        self.0
            .iter()
            .map(|req| match req {
                Requirement::Eq(k, v) => format!("{k}={v}"),
                Requirement::NotEq(k, v) => format!("{k}!={v}"),
                Requirement::In(k, vs) => format!("{k} in ({})", vs.join(",")),
                Requirement::NotIn(k, vs) => format!("{k} notin ({})", vs.join(",")),
                Requirement::Exists(k) => k.clone(),
                Requirement::NotExists(k) => format!("!{k}"),
            })
            .collect::<Vec<_>>()
            .join(",")
    }
}

fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

fn parse_requirement(part: &str) -> Option<Requirement> {
    if let Some(key) = part.strip_prefix('!') {
        return Some(Requirement::NotExists(key.trim().to_string()));
    }
    if let Some((k, v)) = part.split_once("!=") {
        return Some(Requirement::NotEq(k.trim().into(), v.trim().into()));
    }
    if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
        return Some(Requirement::Eq(k.trim().into(), v.trim().into()));
    }
    for (word, notin) in [(" notin ", true), (" in ", false)] {
        if let Some((k, rest)) = part.split_once(word) {
            let values = rest
                .trim()
                .strip_prefix('(')?
                .strip_suffix(')')?
                .split(',')
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .collect();
            let key = k.trim().to_string();
            return Some(if notin {
                Requirement::NotIn(key, values)
            } else {
                Requirement::In(key, values)
            });
        }
    }
    let key = part.trim();
    (!key.contains(' ')).then(|| Requirement::Exists(key.to_string()))
}

/// A parsed field selector: `path=value` and `path!=value` terms.
#[derive(Debug, Clone, Default)]
pub struct FieldSelector(Vec<(String, bool, String)>);

/// The fields each kind may be selected by, beyond metadata.name and metadata.namespace.
fn supported_fields(kind: &str) -> &'static [&'static str] {
    match kind {
        "Pod" => &[
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ],
        "Event" => &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
        "Secret" => &["type"],
        "Namespace" => &["status.phase"],
        "ReplicaSet" | "StatefulSet" | "Job" => &["status.replicas", "status.successful"],
        _ => &[],
    }
}

impl FieldSelector {
    pub fn parse(text: &str, kind: &str) -> Result<Self, ApiError> {
        let mut terms = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (path, negate, value) = if let Some((k, v)) = part.split_once("!=") {
                (k, true, v)
            } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                (k, false, v)
            } else {
                return Err(ApiError::bad_request(format!(
                    "invalid selector: '{text}'; can't understand '{part}'"
                )));
            };
            let path = path.trim();
            let known = matches!(path, "metadata.name" | "metadata.namespace")
                || supported_fields(kind).contains(&path);
            if !known {
                return Err(ApiError::bad_request(format!(
                    "field label not supported: {path}"
                )));
            }
            terms.push((path.to_string(), negate, value.trim().to_string()));
        }
        Ok(FieldSelector(terms))
    }

    pub fn matches(&self, obj: &Value) -> bool {
        self.0.iter().all(|(path, negate, value)| {
            let mut node = obj;
            for part in path.split('.') {
                node = &node[part];
            }
            let actual = match node {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                Value::Object(o) if path == "source" => o
                    .get("component")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                other => other.to_string(),
            };
            (actual == *value) != *negate
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn label_selectors() {
        let labels = json!({"app": "dd", "tier": "web"});
        let yes = [
            "app=dd",
            "app==dd",
            "app!=tt",
            "tier in (web, db)",
            "tier notin (db)",
            "app",
            "!legacy",
            "app=dd,tier=web",
            "",
        ];
        for s in yes {
            assert!(LabelSelector::parse(s).unwrap().matches(&labels), "{s}");
        }
        let no = [
            "app=tt",
            "app!=dd",
            "tier in (db)",
            "tier notin (web,db)",
            "legacy",
            "!app",
            "app=dd,tier=db",
        ];
        for s in no {
            assert!(!LabelSelector::parse(s).unwrap().matches(&labels), "{s}");
        }
        assert!(LabelSelector::parse("app in dd").is_err());
    }

    #[test]
    fn label_selector_objects() {
        let sel = json!({"matchLabels": {"app": "dd"},
            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["web"]}]});
        let sel = LabelSelector::from_object(&sel);
        assert!(sel.matches(&json!({"app": "dd", "tier": "web"})));
        assert!(!sel.matches(&json!({"app": "dd"})));
        assert_eq!(sel.to_text(), "app=dd,tier in (web)");
    }

    #[test]
    fn field_selectors() {
        let pod = json!({"metadata": {"name": "dd-0", "namespace": "default"},
            "status": {"phase": "Running"}});
        let ok = FieldSelector::parse("metadata.name=dd-0,status.phase!=Failed", "Pod").unwrap();
        assert!(ok.matches(&pod));
        let no = FieldSelector::parse("metadata.name==tt-0", "Pod").unwrap();
        assert!(!no.matches(&pod));
        let err = FieldSelector::parse("spec.image=x", "Pod").unwrap_err();
        assert_eq!(err.message, "field label not supported: spec.image");
    }
}
