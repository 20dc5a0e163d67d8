//! Validation after normalization: anything progenitor 0.15.1 cannot take
//! that no rule handled fails the build with a message naming the operation
//! or schema and the rule to add.

use super::rules::{declared_params, response_type_key, walk_objects};
use super::{
    fallback_id, is_error, is_success, method_name, op_key, operations, resolve, responses,
    template_params, type_name,
};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Response content types generated as something other than JSON, with the
/// catalog response kind they map to (a raw byte stream turned into text).
pub const RAW_SUCCESS_TYPES: &[&str] = &["text/csv", "text/plain"];

/// Check the normalized spec; `Err` lists every problem found.
pub fn validate(spec: &Value) -> Result<(), String> {
    let mut problems: Vec<String> = Vec::new();
    let hint = "add a named rule to codegen/rules.rs (and a line to the RULES table) or fix openapi/hub-extensions.yaml";

    // Unresolved $refs anywhere.
    walk_objects(spec, "", &mut |obj, path| {
        if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
            let ok = r.starts_with('#') && spec.pointer(&r[1..]).is_some();
            if !ok {
                problems.push(format!(
                    "{path}: unresolved `$ref: {r}` (extend rule `dangling-allof-ref` or add one)"
                ));
            }
        }
    });

    // Property-level `required: <bool>`.
    walk_objects(spec, "", &mut |obj, path| {
        if let Some(props) = obj.get("properties").and_then(Value::as_object) {
            for (pname, p) in props {
                if p.get("required").is_some_and(Value::is_boolean) {
                    problems.push(format!(
                        "{path}/properties/{pname}: `required: <bool>` on a property (extend rule `property-level-required`)"
                    ));
                }
            }
        }
    });

    // Duplicate type names.
    if let Some(schemas) = spec
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    {
        let mut by_type: BTreeMap<String, Vec<&String>> = BTreeMap::new();
        for name in schemas.keys() {
            by_type.entry(type_name(name)).or_default().push(name);
        }
        for (t, names) in by_type.into_iter().filter(|(_, n)| n.len() > 1) {
            problems.push(format!(
                "schemas {names:?} would all become `types::{t}` (duplicate type name; extend rule `duplicate-error-schema` or add a renaming rule)"
            ));
        }
    }

    // Names typify derives for inline parts (`{Schema}{Property}` for inline
    // enums/objects, `{OperationId}Body` / `{OperationId}Response`) must not
    // collide with a component schema's type name.
    if let Some(schemas) = spec
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    {
        let component_types: BTreeMap<String, &String> =
            schemas.keys().map(|n| (type_name(n), n)).collect();
        let mut derived: Vec<(String, String)> = Vec::new();
        for (name, s) in schemas {
            for (pname, p) in s
                .get("properties")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                let inline_named = p.get("$ref").is_none()
                    && (p.get("enum").is_some() || p.get("properties").is_some());
                if inline_named {
                    derived.push((
                        format!("{}{}", type_name(name), type_name(pname)),
                        format!("components.schemas.{name}.properties.{pname}"),
                    ));
                }
            }
        }
        for (path, method) in operations(spec) {
            let Some(op) = spec.pointer(&format!(
                "/paths/{}/{method}",
                path.replace('~', "~0").replace('/', "~1")
            )) else {
                continue;
            };
            let Some(id) = op.get("operationId").and_then(Value::as_str) else {
                continue;
            };
            let key = op_key(&method, &path);
            let body_inline = op
                .get("requestBody")
                .and_then(|b| resolve(spec, b))
                .and_then(|b| b.pointer("/content/application~1json/schema"))
                .is_some_and(|s| s.get("$ref").is_none());
            if body_inline {
                derived.push((
                    format!("{}Body", type_name(id)),
                    format!("{key} request body"),
                ));
            }
            let resp_inline = responses(op).iter().any(|(_, r)| {
                resolve(spec, r)
                    .and_then(|r| r.pointer("/content/application~1json/schema"))
                    .is_some_and(|s| s.get("$ref").is_none())
            });
            if resp_inline {
                derived.push((
                    format!("{}Response", type_name(id)),
                    format!("{key} response"),
                ));
            }
        }
        for (t, origin) in derived {
            if let Some(schema) = component_types.get(&t) {
                problems.push(format!(
                    "{origin} becomes `types::{t}`, the same name as components.schemas.{schema} (duplicate type name; rename the schema or add a renaming rule)"
                ));
            }
        }
    }

    // Component responses need a description.
    if let Some(resps) = spec
        .pointer("/components/responses")
        .and_then(Value::as_object)
    {
        for (name, r) in resps {
            if r.get("$ref").is_none() && !r.get("description").is_some_and(Value::is_string) {
                problems.push(format!(
                    "components.responses.{name}: response without `description`"
                ));
            }
        }
    }

    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    for (path, method) in operations(spec) {
        let key = op_key(&method, &path);
        let Some(op) = spec.pointer(&format!(
            "/paths/{}/{method}",
            path.replace('~', "~0").replace('/', "~1")
        )) else {
            continue;
        };

        match op.get("operationId").and_then(Value::as_str) {
            None => problems.push(format!(
                "{key}: no operationId and no curated name; add `\"{key}\": {{id: {}, module: …, action: …}}` to openapi/catalog.yaml",
                fallback_id(&method, &path)
            )),
            Some(id) => {
                let m = method_name(id);
                if let Some(prev) = ids.insert(m.clone(), key.clone()) {
                    problems.push(format!(
                        "{key}: operationId `{id}` gives method `{m}`, already used by {prev}"
                    ));
                }
            }
        }

        // Path parameters.
        let declared = declared_params(spec, &path, &method, "path");
        for name in template_params(&path) {
            if !declared.contains(&name) {
                problems.push(format!("{key}: path parameter `{name}` is not declared (extend rule `undeclared-path-param`)"));
            }
        }
        for p in all_params(spec, &path, &method) {
            let loc = p.get("in").and_then(Value::as_str).unwrap_or("");
            let name = p.get("name").and_then(Value::as_str).unwrap_or("");
            if !matches!(loc, "path" | "query" | "header") {
                problems.push(format!(
                    "{key}: parameter `{name}` in `{loc}` is not handled"
                ));
            }
            if loc == "path" && p.get("required").and_then(Value::as_bool) != Some(true) {
                problems.push(format!(
                    "{key}: path parameter `{name}` is not `required: true`"
                ));
            }
            if p.get("schema").is_none() {
                problems.push(format!("{key}: parameter `{name}` has no `schema`"));
            }
        }

        // Request body: exactly one content type, JSON.
        if let Some(body) = op.get("requestBody") {
            match resolve(spec, body)
                .and_then(|b| b.get("content"))
                .and_then(Value::as_object)
            {
                Some(c) => {
                    let types: Vec<&String> = c.keys().collect();
                    if types.len() != 1 || types[0] != "application/json" {
                        problems.push(format!(
                            "{key}: request body content types {types:?} (only one `application/json` is handled; add a rule like `scim-json-content-type`)"
                        ));
                    }
                }
                None => problems.push(format!("{key}: request body without content")),
            }
        }

        // Responses.
        let rs = responses(op);
        let mut success_kinds = BTreeSet::new();
        let mut error_kinds = BTreeSet::new();
        for (status, r) in &rs {
            let Some(resolved) = resolve(spec, r) else {
                continue; // reported as an unresolved $ref
            };
            if !resolved.get("description").is_some_and(Value::is_string) {
                problems.push(format!("{key} response {status}: no `description`"));
            }
            if status == "default" {
                problems.push(format!("{key}: a `default` response is not handled (extend rule `default-beside-typed-response`)"));
                continue;
            }
            if method == "head" && resolved.get("content").is_some() {
                problems.push(format!(
                    "{key} response {status}: a HEAD response declares a body (extend rule `head-json-body`)"
                ));
            }
            if let Some(c) = resolved.get("content").and_then(Value::as_object) {
                for ct in c.keys() {
                    let json = ct == "application/json" || ct.starts_with("application/json;");
                    let raw_ok = is_success(status) && RAW_SUCCESS_TYPES.contains(&ct.as_str());
                    if !json && !raw_ok {
                        problems.push(format!(
                            "{key} response {status}: content type `{ct}` is not handled (add a rule like `scim-json-content-type`)"
                        ));
                    }
                }
                if c.len() > 1 {
                    problems.push(format!("{key} response {status}: several content types"));
                }
            }
            let k = response_type_key(spec, r);
            if is_success(status) {
                success_kinds.insert(k);
            } else if is_error(status) {
                error_kinds.insert(k);
            } else {
                problems.push(format!("{key}: response status `{status}` is not handled"));
            }
        }
        if success_kinds.len() > 1 {
            problems.push(format!(
                "{key}: {} different success types ({}); progenitor allows one (add a rule that picks one success body)",
                success_kinds.len(),
                short_kinds(&success_kinds)
            ));
        }
        if error_kinds.len() > 1 {
            problems.push(format!(
                "{key}: {} different error types ({}); progenitor allows one (extend rule `multiple-error-bodies`)",
                error_kinds.len(),
                short_kinds(&error_kinds)
            ));
        }
    }

    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "codegen: the normalized spec still has {} problem(s) no rule handles ({hint}):\n  - {}",
            problems.len(),
            problems.join("\n  - ")
        ))
    }
}

fn short_kinds(kinds: &BTreeSet<String>) -> String {
    kinds
        .iter()
        .map(|k| {
            if k.len() > 60 {
                format!(
                    "{}…",
                    &k[..k.char_indices().nth(60).map_or(k.len(), |(i, _)| i)]
                )
            } else {
                k.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Path-level and operation-level parameters (resolved), operation level
/// overriding by (name, in).
pub fn all_params(spec: &Value, path: &str, method: &str) -> Vec<Value> {
    let item = spec.get("paths").and_then(|p| p.get(path));
    let mut out: Vec<Value> = Vec::new();
    let lists = [
        item.and_then(|i| i.get("parameters")),
        item.and_then(|i| i.get(method))
            .and_then(|o| o.get("parameters")),
    ];
    for list in lists.into_iter().flatten() {
        for p in list.as_array().into_iter().flatten() {
            let Some(p) = resolve(spec, p) else { continue };
            let name = p.get("name");
            let loc = p.get("in");
            out.retain(|q| !(q.get("name") == name && q.get("in") == loc));
            out.push(p.clone());
        }
    }
    out
}
