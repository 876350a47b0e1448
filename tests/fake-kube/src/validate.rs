//! Validation with the API server's own messages: object names, Secret keys, label values.

use serde_json::Value;

use crate::resources::ResourceDef;
use crate::status::{ApiError, FieldError};

const DNS1123_SUBDOMAIN: &str = "a lowercase RFC 1123 subdomain must consist of lower case \
alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character \
(e.g. 'example.com', regex used for validation is \
'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

const DNS1123_LABEL: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric \
characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or \
'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

const CONFIG_KEY: &str = "a valid config key must consist of alphanumeric characters, '-', '_' or \
'.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is \
'[-._a-zA-Z0-9]+')";

pub fn is_dns1123_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

pub fn is_dns1123_subdomain(s: &str) -> bool {
    s.len() <= 253
        && s.split('.')
            .all(|part| !part.is_empty() && is_label_chars(part))
}

fn is_label_chars(part: &str) -> bool {
    let b = part.as_bytes();
    b.iter()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// The problems with an object's name, as the API server words them.
pub fn name_errors(def: &ResourceDef, name: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if name.is_empty() {
        errors.push(FieldError::required(
            "metadata.name",
            "name or generateName is required",
        ));
        return errors;
    }
    if def.plural == "namespaces" {
        if name.len() > 63 {
            errors.push(FieldError::invalid(
                "metadata.name",
                name,
                "must be no more than 63 characters",
            ));
        }
        if !is_dns1123_label(name) && name.len() <= 63 {
            errors.push(FieldError::invalid("metadata.name", name, DNS1123_LABEL));
        }
        return errors;
    }
    if name.len() > 253 {
        errors.push(FieldError::invalid(
            "metadata.name",
            name,
            "must be no more than 253 characters",
        ));
    }
    if !is_dns1123_subdomain(name) {
        errors.push(FieldError::invalid(
            "metadata.name",
            name,
            DNS1123_SUBDOMAIN,
        ));
    }
    errors
}

/// Everything the fake checks on an object before it is stored.
pub fn validate(def: &ResourceDef, obj: &Value) -> Result<(), ApiError> {
    let name = obj["metadata"]["name"].as_str().unwrap_or_default();
    let mut errors = name_errors(def, name);
    if let Some(labels) = obj["metadata"]["labels"].as_object() {
        for (key, value) in labels {
            let value = value.as_str().unwrap_or_default();
            if value.len() > 63 {
                errors.push(FieldError::invalid(
                    "metadata.labels",
                    value,
                    "must be no more than 63 characters",
                ));
            }
            if key.is_empty() {
                errors.push(FieldError::invalid(
                    "metadata.labels",
                    key,
                    "name part must be non-empty",
                ));
            }
        }
    }
    if def.kind == "Secret" || def.kind == "ConfigMap" {
        for field in ["data", "stringData", "binaryData"] {
            if let Some(data) = obj[field].as_object() {
                for key in data.keys() {
                    let valid = !key.is_empty()
                        && key.len() <= 253
                        && key
                            .bytes()
                            .all(|c| c.is_ascii_alphanumeric() || b"-._".contains(&c));
                    if !valid {
                        errors.push(FieldError::invalid(
                            format!("{field}[{key}]"),
                            key,
                            CONFIG_KEY,
                        ));
                    }
                }
            }
        }
    }
    if matches!(def.kind, "Pod") {
        containers_errors(&obj["spec"], "spec", &mut errors);
    }
    if matches!(def.kind, "Deployment" | "StatefulSet" | "ReplicaSet") {
        template_errors(obj, &mut errors);
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(def, name, errors))
    }
}

fn template_errors(obj: &Value, errors: &mut Vec<FieldError>) {
    let spec = &obj["spec"];
    if let Some(replicas) = spec["replicas"].as_i64()
        && replicas < 0
    {
        errors.push(FieldError::invalid(
            "spec.replicas",
            &replicas.to_string(),
            "must be greater than or equal to 0",
        ));
    }
    let selector = &spec["selector"];
    if selector.is_null() {
        errors.push(FieldError::required("spec.selector", ""));
        return;
    }
    let labels = &spec["template"]["metadata"]["labels"];
    if let Some(wanted) = selector["matchLabels"].as_object() {
        let matches = wanted.iter().all(|(k, v)| labels.get(k) == Some(v));
        if !matches {
            errors.push(FieldError::invalid(
                "spec.template.metadata.labels",
                &serde_json::to_string(labels).unwrap_or_default(),
                "`selector` does not match template `labels`",
            ));
        }
    }
    containers_errors(&spec["template"]["spec"], "spec.template.spec", errors);
}

fn containers_errors(pod_spec: &Value, at: &str, errors: &mut Vec<FieldError>) {
    match pod_spec["containers"].as_array() {
        Some(containers) if !containers.is_empty() => {
            for (i, container) in containers.iter().enumerate() {
                let name = container["name"].as_str().unwrap_or_default();
                if name.is_empty() {
                    errors.push(FieldError::required(
                        format!("{at}.containers[{i}].name"),
                        "",
                    ));
                } else if !is_dns1123_label(name) {
                    errors.push(FieldError::invalid(
                        format!("{at}.containers[{i}].name"),
                        name,
                        DNS1123_LABEL,
                    ));
                }
                if container["image"].as_str().unwrap_or_default().is_empty() {
                    errors.push(FieldError::required(
                        format!("{at}.containers[{i}].image"),
                        "",
                    ));
                }
            }
        }
        _ => errors.push(FieldError::required(format!("{at}.containers"), "")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::{RESOURCES, find};

    #[test]
    fn underscore_secret_name_gets_the_real_message() {
        let def = &RESOURCES[find("", "secrets").unwrap()];
        let obj = serde_json::json!({"metadata": {"name": "dd_token"}});
        let err = validate(def, &obj).unwrap_err();
        assert_eq!(err.code, 422);
        assert_eq!(
            err.message,
            "Secret \"dd_token\" is invalid: metadata.name: Invalid value: \"dd_token\": a lowercase \
             RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and \
             must start and end with an alphanumeric character (e.g. 'example.com', regex used for \
             validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
        );
    }

    #[test]
    fn names() {
        assert!(is_dns1123_subdomain("dd-token.v1"));
        assert!(!is_dns1123_subdomain("dd_token"));
        assert!(!is_dns1123_subdomain("-dd"));
        assert!(!is_dns1123_subdomain("DD"));
        assert!(is_dns1123_label("lala-0"));
        assert!(!is_dns1123_label("a.b"));
    }
}
