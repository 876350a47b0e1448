//! Just enough of Kubernetes' protobuf encoding to read the bodies kubectl's typed clients send
//! (`kubectl create secret|configmap|namespace`): the `k8s\0` envelope, ObjectMeta, Secret,
//! ConfigMap and Namespace. Responses are always JSON, which those clients also accept.

use base64::Engine;
use serde_json::{Map, Value, json};

enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

fn varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *buf.get(*pos)?;
        *pos += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

fn fields(buf: &[u8]) -> Option<Vec<(u64, Field<'_>)>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let tag = varint(buf, &mut pos)?;
        let field = match tag & 7 {
            0 => Field::Varint(varint(buf, &mut pos)?),
            2 => {
                let len = varint(buf, &mut pos)? as usize;
                let bytes = buf.get(pos..pos + len)?;
                pos += len;
                Field::Bytes(bytes)
            }
            1 => {
                pos += 8;
                Field::Varint(0)
            }
            5 => {
                pos += 4;
                Field::Varint(0)
            }
            _ => return None,
        };
        out.push((tag >> 3, field));
    }
    Some(out)
}

fn text(bytes: &[u8]) -> Value {
    json!(String::from_utf8_lossy(bytes))
}

/// A map<string, string|bytes> entry: key = 1, value = 2.
fn map_entry(bytes: &[u8], binary: bool) -> Option<(String, Value)> {
    let mut key = String::new();
    let mut value = json!("");
    for (n, f) in fields(bytes)? {
        if let Field::Bytes(b) = f {
            match n {
                1 => key = String::from_utf8_lossy(b).into_owned(),
                2 if binary => value = json!(base64::engine::general_purpose::STANDARD.encode(b)),
                2 => value = text(b),
                _ => {}
            }
        }
    }
    Some((key, value))
}

fn insert_entry(obj: &mut Value, field: &str, bytes: &[u8], binary: bool) -> Option<()> {
    let (k, v) = map_entry(bytes, binary)?;
    if !obj[field].is_object() {
        obj[field] = Value::Object(Map::new());
    }
    obj[field][k] = v;
    Some(())
}

fn object_meta(bytes: &[u8]) -> Option<Value> {
    let mut meta = json!({});
    for (n, f) in fields(bytes)? {
        match (n, f) {
            (1, Field::Bytes(b)) => meta["name"] = text(b),
            (2, Field::Bytes(b)) => meta["generateName"] = text(b),
            (3, Field::Bytes(b)) => meta["namespace"] = text(b),
            (6, Field::Bytes(b)) => meta["resourceVersion"] = text(b),
            (11, Field::Bytes(b)) => insert_entry(&mut meta, "labels", b, false)?,
            (12, Field::Bytes(b)) => insert_entry(&mut meta, "annotations", b, false)?,
            (14, Field::Bytes(b)) => {
                if !meta["finalizers"].is_array() {
                    meta["finalizers"] = json!([]);
                }
                meta["finalizers"].as_array_mut()?.push(text(b));
            }
            _ => {}
        }
    }
    Some(meta)
}

/// Decodes a `k8s\0`-prefixed protobuf body into the JSON object it stands for.
pub fn decode(body: &[u8]) -> Option<Value> {
    let envelope = fields(body.strip_prefix(b"k8s\0")?)?;
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), &[][..]);
    for (n, f) in envelope {
        match (n, f) {
            (1, Field::Bytes(type_meta)) => {
                for (m, g) in fields(type_meta)? {
                    if let Field::Bytes(b) = g {
                        match m {
                            1 => api_version = String::from_utf8_lossy(b).into_owned(),
                            2 => kind = String::from_utf8_lossy(b).into_owned(),
                            _ => {}
                        }
                    }
                }
            }
            (2, Field::Bytes(b)) => raw = b,
            _ => {}
        }
    }
    let mut obj = json!({"apiVersion": api_version, "kind": kind});
    for (n, f) in fields(raw)? {
        let Field::Bytes(b) = f else {
            if let (4 | 5, Field::Varint(v), "ConfigMap" | "Secret") = (n, &f, kind.as_str())
                && ((kind == "Secret" && n == 5) || (kind == "ConfigMap" && n == 4))
            {
                obj["immutable"] = json!(*v != 0);
            }
            continue;
        };
        match (kind.as_str(), n) {
            (_, 1) => obj["metadata"] = object_meta(b)?,
            ("Secret", 2) => insert_entry(&mut obj, "data", b, true)?,
            ("Secret", 3) => obj["type"] = text(b),
            ("Secret", 4) => insert_entry(&mut obj, "stringData", b, false)?,
            ("ConfigMap", 2) => insert_entry(&mut obj, "data", b, false)?,
            ("ConfigMap", 3) => insert_entry(&mut obj, "binaryData", b, true)?,
            ("Namespace", 2) => {}
            ("Secret" | "ConfigMap" | "Namespace", _) => {}
            _ => return None,
        }
    }
    Some(obj)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(n: u8, bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![(n << 3) | 2, bytes.len() as u8];
        out.extend_from_slice(bytes);
        out
    }

    #[test]
    fn decodes_a_secret() {
        let meta = field(1, b"dd_token");
        let entry = [field(1, b"token"), field(2, b"xoxb")].concat();
        let secret = [field(1, &meta), field(2, &entry), field(3, b"Opaque")].concat();
        let type_meta = [field(1, b"v1"), field(2, b"Secret")].concat();
        let body = [b"k8s\0".to_vec(), field(1, &type_meta), field(2, &secret)].concat();
        let obj = decode(&body).unwrap();
        assert_eq!(
            obj,
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "dd_token"},
                "data": {"token": "eG94Yg=="}, "type": "Opaque"})
        );
    }
}
