//! OpenAPI 3.0 schema → compact, self-contained JSON Schema (for the catalog:
//! MCP tool schemas and CLI validation).
//!
//! * every `$ref` is inlined (a recursion guard turns a cycle into `{}`);
//! * `nullable: true` becomes `type: [T, "null"]`;
//! * numeric `format`s (`int32`, `int64`, `uint32`, …) are dropped;
//! * `allOf` of object parts is flattened into one object;
//! * examples, vendor extensions and documentation-only keys are dropped.

use super::resolve;
use serde_json::{Map, Value};

const DROP_KEYS: &[&str] = &[
    "example",
    "examples",
    "xml",
    "externalDocs",
    "discriminator",
    "deprecated",
    "readOnly",
    "writeOnly",
    "nullable",
];

const DROP_FORMATS: &[&str] = &[
    "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float", "double",
    "byte", "binary",
];

/// Convert one schema (may be a `$ref`).
pub fn to_json_schema(spec: &Value, schema: &Value) -> Value {
    convert(spec, schema, 0)
}

fn convert(spec: &Value, schema: &Value, depth: u32) -> Value {
    if depth > 24 {
        return Value::Object(Map::new());
    }
    let Some(s) = resolve(spec, schema) else {
        return Value::Object(Map::new());
    };
    let Some(obj) = s.as_object() else {
        return s.clone();
    };
    let mut out = Map::new();
    for (k, v) in obj {
        if DROP_KEYS.contains(&k.as_str()) || k.starts_with("x-") || k == "$ref" {
            continue;
        }
        match k.as_str() {
            "format" => {
                if v.as_str().is_some_and(|f| DROP_FORMATS.contains(&f)) {
                    continue;
                }
                out.insert(k.clone(), v.clone());
            }
            "properties" => {
                let props = v
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .map(|(pk, pv)| (pk.clone(), convert(spec, pv, depth + 1)))
                            .collect::<Map<_, _>>()
                    })
                    .unwrap_or_default();
                out.insert(k.clone(), Value::Object(props));
            }
            "items" | "not" => {
                out.insert(k.clone(), convert(spec, v, depth + 1));
            }
            "additionalProperties" if v.is_object() => {
                out.insert(k.clone(), convert(spec, v, depth + 1));
            }
            "allOf" | "anyOf" | "oneOf" => {
                let parts = v
                    .as_array()
                    .map(|a| a.iter().map(|p| convert(spec, p, depth + 1)).collect())
                    .unwrap_or_default();
                out.insert(k.clone(), Value::Array(parts));
            }
            "description" => {
                if let Some(d) = v.as_str() {
                    let d = d.trim();
                    if !d.is_empty() {
                        out.insert(k.clone(), Value::String(d.to_string()));
                    }
                }
            }
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    flatten_all_of(&mut out);
    if obj.get("nullable").and_then(Value::as_bool) == Some(true) {
        make_nullable(&mut out);
    }
    if out.contains_key("properties") && !out.contains_key("type") && !out.contains_key("allOf") {
        out.insert("type".into(), Value::String("object".into()));
    }
    // `type: object` with `items` (seen in the Hub's error schemas) is an object.
    if out.get("type").and_then(Value::as_str) == Some("object") {
        out.remove("items");
    }
    Value::Object(out)
}

fn make_nullable(out: &mut Map<String, Value>) {
    if let Some(Value::String(t)) = out.get("type").cloned() {
        out.insert(
            "type".into(),
            Value::Array(vec![Value::String(t), Value::String("null".into())]),
        );
    }
    if let Some(Value::Array(e)) = out.get_mut("enum")
        && !e.contains(&Value::Null)
    {
        e.push(Value::Null);
    }
}

/// Merge `allOf` parts that are plain objects into the parent.
fn flatten_all_of(out: &mut Map<String, Value>) {
    let Some(Value::Array(parts)) = out.get("allOf").cloned() else {
        return;
    };
    let mergeable = parts.iter().all(|p| {
        p.as_object().is_some_and(|o| {
            o.keys().all(|k| {
                matches!(
                    k.as_str(),
                    "type"
                        | "properties"
                        | "required"
                        | "description"
                        | "title"
                        | "additionalProperties"
                )
            }) && o.get("type").is_none_or(|t| t == "object")
        })
    });
    if !mergeable {
        return;
    }
    out.remove("allOf");
    for p in parts {
        let Some(p) = p.as_object() else { continue };
        for (k, v) in p {
            match k.as_str() {
                "properties" => {
                    let target = out
                        .entry("properties")
                        .or_insert_with(|| Value::Object(Map::new()));
                    if let (Some(t), Some(src)) = (target.as_object_mut(), v.as_object()) {
                        for (pk, pv) in src {
                            t.insert(pk.clone(), pv.clone());
                        }
                    }
                }
                "required" => {
                    let target = out
                        .entry("required")
                        .or_insert_with(|| Value::Array(Vec::new()));
                    if let (Some(t), Some(src)) = (target.as_array_mut(), v.as_array()) {
                        for r in src {
                            if !t.contains(r) {
                                t.push(r.clone());
                            }
                        }
                    }
                }
                _ => {
                    out.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
        }
    }
    if out.contains_key("properties") {
        out.entry("type")
            .or_insert_with(|| Value::String("object".into()));
    }
}
