//! Checking JSON parameters against an operation's spec schemas, and turning
//! them into a URL and a body.
//!
//! Parameters are one flat object, as in the seed's `params_json`: path and
//! query parameters by name, and the body's fields beside them (or the whole
//! body under `body`).

use std::collections::HashMap;
use std::sync::OnceLock;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value};

use crate::catalog::{OPERATIONS, Operation, Param, ParamLocation};
use crate::error::{Error, Result};

/// Everything but RFC 3986 unreserved characters is encoded in a path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// A checked request: the path with query, and the body.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    /// Path and query, to append to the base URL.
    pub path_and_query: String,
    /// JSON body, if the operation takes one.
    pub body: Option<Value>,
}

/// Percent-encode one path segment (`/`, `#`, `?`, `%` and all but RFC 3986
/// unreserved characters). Dot-only values are refused by [`prepare`].
pub fn encode_segment(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// The parsed form of a catalog schema text. Every schema of the catalog is
/// parsed once, on first use, and looked up by address afterwards.
fn schema_of(text: &'static str) -> &'static Value {
    static ANY: Value = Value::Bool(true);
    static CACHE: OnceLock<HashMap<usize, Value>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| {
        OPERATIONS
            .iter()
            .flat_map(|op| op.params.iter().map(|p| p.schema).chain(op.body))
            .map(|t| {
                (
                    t.as_ptr() as usize,
                    serde_json::from_str(t).unwrap_or(Value::Bool(true)),
                )
            })
            .collect()
    });
    cache.get(&(text.as_ptr() as usize)).unwrap_or(&ANY)
}

/// Names of the body's top-level properties, if the body is an object.
pub fn body_properties(op: &Operation) -> Vec<String> {
    let Some(body) = op.body else {
        return Vec::new();
    };
    match schema_of(body).get("properties") {
        Some(Value::Object(m)) => m.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// Where a described parameter goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Place {
    /// Path segment.
    Path,
    /// Query string.
    Query,
    /// Top-level field of the JSON body.
    Body,
}

/// One parameter of an operation, flattened for front ends (CLI flags, MCP
/// tool schemas): path, query and top-level body fields alike.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ParamInfo {
    /// Name, as the spec spells it.
    pub name: String,
    /// Where it goes.
    pub place: Place,
    /// Whether it must be given.
    pub required: bool,
    /// JSON type (`string`, `integer`, `boolean`, `array`, `object`, `number`).
    pub kind: String,
    /// Allowed values, when the spec lists them.
    pub choices: Vec<String>,
    /// Description, on one line.
    pub description: String,
    /// Full JSON Schema of the value.
    pub schema: Value,
}

fn kind_of(schema: &Value) -> String {
    match schema.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("string")
            .to_string(),
        _ if schema.get("properties").is_some() => "object".into(),
        _ if schema.get("items").is_some() => "array".into(),
        _ => "string".into(),
    }
}

fn choices_of(schema: &Value) -> Vec<String> {
    match schema.get("enum") {
        Some(Value::Array(a)) => a
            .iter()
            .filter(|v| !v.is_null())
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// A description on one line: the spec wraps long sentences over several.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Every parameter of an operation, path and query first, then body fields.
/// A body field that shares a path parameter's name (`namespace` on
/// repository creation) is listed once, as the path parameter.
pub fn describe(op: &Operation) -> Vec<ParamInfo> {
    let mut out: Vec<ParamInfo> = op
        .params
        .iter()
        .map(|p| {
            let schema = schema_of(p.schema).clone();
            ParamInfo {
                name: p.name.to_string(),
                place: match p.location {
                    ParamLocation::Path => Place::Path,
                    ParamLocation::Query => Place::Query,
                },
                required: p.required,
                kind: kind_of(&schema),
                choices: choices_of(&schema),
                description: one_line(p.description),
                schema,
            }
        })
        .collect();
    if let Some(body) = op.body {
        let body = schema_of(body);
        let required: Vec<&str> = body
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if let Some(Value::Object(props)) = body.get("properties") {
            for (name, schema) in props {
                if out.iter().any(|p| &p.name == name) {
                    continue;
                }
                out.push(ParamInfo {
                    name: name.clone(),
                    place: Place::Body,
                    required: op.body_required && required.contains(&name.as_str()),
                    kind: kind_of(schema),
                    choices: choices_of(schema),
                    description: one_line(
                        schema
                            .get("description")
                            .and_then(Value::as_str)
                            .unwrap_or(""),
                    ),
                    schema: schema.clone(),
                });
            }
        }
    }
    out
}

/// Every parameter name an operation accepts, for error messages and tool schemas.
pub fn valid_names(op: &Operation) -> Vec<String> {
    let mut v: Vec<String> = op.params.iter().map(|p| p.name.to_string()).collect();
    v.extend(body_properties(op));
    if op.body.is_some() {
        v.push("body".into());
    }
    v
}

fn invalid(op: &Operation, message: String) -> Error {
    Error::InvalidParams {
        operation: op.qualified_name(),
        message,
    }
}

/// Text of a scalar for a URL, coercing the forgiving way models write
/// numbers and booleans ("10", "true").
fn scalar_text(op: &Operation, p: &Param, v: &Value) -> Result<String> {
    let schema = schema_of(p.schema);
    let ty = schema
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("string");
    let bad = |what: &str| {
        invalid(
            op,
            format!("parameter '{}' must be {what}, got {v}", p.name),
        )
    };
    let text = match (ty, v) {
        ("integer", Value::Number(n)) if n.is_i64() || n.is_u64() => n.to_string(),
        ("integer", Value::String(s)) if s.trim().parse::<i64>().is_ok() => s.trim().to_string(),
        ("integer", _) => return Err(bad("an integer")),
        ("number", Value::Number(n)) => n.to_string(),
        ("number", Value::String(s)) if s.trim().parse::<f64>().is_ok() => s.trim().to_string(),
        ("number", _) => return Err(bad("a number")),
        ("boolean", Value::Bool(b)) => b.to_string(),
        ("boolean", Value::String(s)) if matches!(s.as_str(), "true" | "false") => s.clone(),
        ("boolean", _) => return Err(bad("true or false")),
        (_, Value::String(s)) => s.clone(),
        (_, Value::Number(n)) => n.to_string(),
        (_, Value::Bool(b)) => b.to_string(),
        _ => return Err(bad("a string")),
    };
    if let Some(Value::Array(allowed)) = schema.get("enum")
        && !allowed
            .iter()
            .any(|a| a.as_str() == Some(&text) || text.parse::<Value>().is_ok_and(|t| &t == a))
    {
        let list: Vec<String> = allowed
            .iter()
            .map(|a| a.as_str().map_or_else(|| a.to_string(), str::to_string))
            .collect();
        return Err(invalid(
            op,
            format!(
                "parameter '{}' must be one of {}, got {text:?}",
                p.name,
                list.join(", ")
            ),
        ));
    }
    if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
        && text.parse::<f64>().is_ok_and(|n| n > max)
    {
        return Err(invalid(
            op,
            format!("parameter '{}' must be at most {max}, got {text}", p.name),
        ));
    }
    Ok(text)
}

fn validators() -> &'static HashMap<&'static str, jsonschema::Validator> {
    static V: OnceLock<HashMap<&'static str, jsonschema::Validator>> = OnceLock::new();
    V.get_or_init(|| {
        OPERATIONS
            .iter()
            .filter_map(|op| {
                let schema = schema_of(op.body?);
                jsonschema::validator_for(schema).ok().map(|v| (op.id, v))
            })
            .collect()
    })
}

/// Check `params` against `op` and build the request parts.
pub fn prepare(op: &Operation, params: &Value) -> Result<Prepared> {
    let empty = Map::new();
    let map = match params {
        Value::Null => &empty,
        Value::Object(m) => m,
        other => {
            return Err(invalid(
                op,
                format!("params must be a JSON object, got {}", json_type(other)),
            ));
        }
    };
    let body_props = body_properties(op);
    let open_body = op.body.is_some_and(|b| {
        let s = schema_of(b);
        s.get("properties").is_none() || s.get("additionalProperties") == Some(&Value::Bool(true))
    });
    for key in map.keys() {
        let known = op.params.iter().any(|p| p.name == key)
            || body_props.iter().any(|b| b == key)
            || (key == "body" && op.body.is_some())
            || (open_body && op.body.is_some());
        if !known {
            return Err(invalid(
                op,
                format!(
                    "unknown parameter '{key}'; valid parameters: {}",
                    list_or_none(&valid_names(op))
                ),
            ));
        }
    }

    let mut path = String::new();
    let mut rest = op.path;
    while let Some(start) = rest.find('{') {
        path.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('}') else {
            break;
        };
        let name = &rest[start + 1..start + end];
        let p = op
            .params
            .iter()
            .find(|p| p.name == name && p.location == ParamLocation::Path);
        let value = map.get(name).filter(|v| !v.is_null());
        let (Some(p), Some(value)) = (p, value) else {
            return Err(invalid(
                op,
                format!(
                    "missing required parameter '{name}'; required: {}",
                    list_or_none(&required_names(op))
                ),
            ));
        };
        let text = scalar_text(op, p, value)?;
        if text.is_empty() || text.chars().all(|c| c == '.') {
            // URL parsers resolve `.`, `..` and their encoded forms as dot
            // segments, which would send the call to another route.
            return Err(invalid(
                op,
                format!("parameter '{name}' must not be empty, '.' or '..', got {text:?}"),
            ));
        }
        path.push_str(&encode_segment(&text));
        rest = &rest[start + end + 1..];
    }
    path.push_str(rest);

    let mut query = form_urlencoded::Serializer::new(String::new());
    let mut any_query = false;
    for p in op
        .params
        .iter()
        .filter(|p| p.location == ParamLocation::Query)
    {
        match map.get(p.name).filter(|v| !v.is_null()) {
            Some(Value::Array(items)) => {
                for item in items {
                    query.append_pair(p.name, &scalar_text(op, p, item)?);
                    any_query = true;
                }
            }
            Some(v) => {
                query.append_pair(p.name, &scalar_text(op, p, v)?);
                any_query = true;
            }
            None if p.required => {
                return Err(invalid(
                    op,
                    format!(
                        "missing required parameter '{}'; required: {}",
                        p.name,
                        list_or_none(&required_names(op))
                    ),
                ));
            }
            None => {}
        }
    }
    if any_query {
        path.push('?');
        path.push_str(&query.finish());
    }

    let body = build_body(op, map, &body_props)?;
    Ok(Prepared {
        path_and_query: path,
        body,
    })
}

fn build_body(op: &Operation, map: &Map<String, Value>, props: &[String]) -> Result<Option<Value>> {
    let Some(_) = op.body else {
        return Ok(None);
    };
    let body = if let Some(b) = map.get("body") {
        b.clone()
    } else {
        let fields: Map<String, Value> = map
            .iter()
            .filter(|(k, _)| {
                // A body field may share its name with a path parameter
                // (`namespace` on repository creation): it then goes to both.
                props.iter().any(|p| p == *k)
                    || (props.is_empty() && !op.params.iter().any(|p| p.name == k.as_str()))
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if fields.is_empty() && !op.body_required {
            return Ok(None);
        }
        Value::Object(fields)
    };
    if let Some(v) = validators().get(op.id) {
        let errors: Vec<String> = v
            .iter_errors(&body)
            .take(5)
            .map(|e| {
                let at = e.instance_path().to_string();
                if at.is_empty() {
                    e.to_string()
                } else {
                    format!("{at}: {e}")
                }
            })
            .collect();
        if !errors.is_empty() {
            return Err(invalid(
                op,
                format!(
                    "{}; body fields: {}",
                    errors.join("; "),
                    list_or_none(props)
                ),
            ));
        }
    }
    Ok(Some(body))
}

fn required_names(op: &Operation) -> Vec<String> {
    let mut v: Vec<String> = op
        .params
        .iter()
        .filter(|p| p.required)
        .map(|p| p.name.to_string())
        .collect();
    if let Some(b) = op.body
        && let Some(Value::Array(req)) = schema_of(b).get("required")
    {
        v.extend(req.iter().filter_map(Value::as_str).map(str::to_string));
    }
    v
}

fn list_or_none(v: &[String]) -> String {
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn describe_lists_path_query_and_body() {
        let op = crate::catalog::find(crate::catalog::Module::Repos, "create").unwrap();
        let d = describe(op);
        let names: Vec<&str> = d.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names.iter().filter(|n| **n == "namespace").count(), 1);
        assert!(names.contains(&"name") && names.contains(&"is_private"));
        let name = d.iter().find(|p| p.name == "name").unwrap();
        assert!(name.required && name.place == Place::Body);
        let priv_ = d.iter().find(|p| p.name == "is_private").unwrap();
        assert_eq!(priv_.kind, "boolean");
    }

    #[test]
    fn segments_never_escape() {
        assert_eq!(
            encode_segment("../../v2/users/login#"),
            "..%2F..%2Fv2%2Fusers%2Flogin%23"
        );
        assert_eq!(encode_segment("my-repo_1.0"), "my-repo_1.0");
    }
}
