//! Named normalization rules, one per problem of hub-api-facts §2.
//!
//! Each rule matches only the broken shape it targets (so on a fixed upstream
//! spec it is a no-op) and returns one line per location it touched. Anything
//! a rule does not cover is left for [`super::validate`] to reject.

use super::{
    RuleReport, is_error, is_success, op_key, operations, resolve, responses, template_params,
    type_name,
};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// Media-type extension recording the wire content type a rule replaced
/// (`scim-json-content-type`), read back by the catalog.
pub const WIRE_CONTENT_TYPE: &str = "x-wire-content-type";

/// Name of the unified error schema created by `multiple-error-bodies`.
pub const UNIFIED_ERROR: &str = "HubError";

/// A rule: name, facts-§2 problem number, and the function.
pub type RuleFn = fn(&mut Value, &Ctx) -> Vec<String>;

/// Inputs rules may need besides the spec.
#[derive(Debug, Clone, Default)]
pub struct Ctx {
    /// Curated operation ids from `catalog.yaml`, keyed by `"METHOD /path"`.
    pub op_ids: BTreeMap<String, String>,
}

/// All rules, in the order they run. Order matters in two places:
/// `scim-json-content-type` and `duplicate-error-schema` run before
/// `multiple-error-bodies` (so SCIM bodies count as JSON and `Error`/`error`
/// are already one type), and `head-json-body` runs before it too.
pub const RULES: &[(&str, u8, RuleFn)] = &[
    (
        "response-missing-description",
        1,
        response_missing_description,
    ),
    ("duplicate-error-schema", 2, duplicate_error_schema),
    ("property-level-required", 3, property_level_required),
    ("dangling-allof-ref", 4, dangling_allof_ref),
    ("undeclared-path-param", 5, undeclared_path_param),
    ("missing-operation-id", 6, missing_operation_id),
    ("head-json-body", 7, head_json_body),
    ("scim-json-content-type", 8, scim_json_content_type),
    (
        "default-beside-typed-response",
        9,
        default_beside_typed_response,
    ),
    ("multiple-error-bodies", 10, multiple_error_bodies),
    ("tag-images-array", 11, tag_images_array),
    ("tag-v2-boolean", 12, tag_v2_boolean),
    ("org-members-single-page", 13, org_members_single_page),
    ("search-param-free-text", 14, search_param_free_text),
    // SCIM traps of hub-api-facts §7, numbered on from §2.
    (
        "scim-update-enabled-required",
        15,
        scim_update_enabled_required,
    ),
    ("scim-list-resources-key", 16, scim_list_resources_key),
    (
        "scim-authentication-schemes-array",
        17,
        scim_authentication_schemes_array,
    ),
    // Found by the CLI's prune: the verify body's `regex` pattern rejects the
    // spec's own example (`v.*`) and every real rule.
    (
        "pattern-contradicts-example",
        18,
        pattern_contradicts_example,
    ),
];

/// Apply every rule in order; one report entry per rule.
pub fn apply_all(spec: &mut Value, op_ids: &BTreeMap<String, String>) -> Vec<RuleReport> {
    let ctx = Ctx {
        op_ids: op_ids.clone(),
    };
    RULES
        .iter()
        .map(|(name, problem, f)| RuleReport {
            rule: name,
            problem: *problem,
            touched: f(spec, &ctx),
        })
        .collect()
}

// ---------------------------------------------------------------- helpers --

/// Visit every JSON object in `v` (depth first), with its JSON-pointer path.
/// `example`/`examples` payloads are data, not schema, and are skipped.
pub fn walk_objects_mut(
    v: &mut Value,
    path: &str,
    f: &mut dyn FnMut(&mut Map<String, Value>, &str),
) {
    match v {
        Value::Object(map) => {
            f(map, path);
            for (k, child) in map.iter_mut() {
                if k == "example" || k == "examples" {
                    continue;
                }
                walk_objects_mut(child, &format!("{path}/{}", escape(k)), f);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter_mut().enumerate() {
                walk_objects_mut(child, &format!("{path}/{i}"), f);
            }
        }
        _ => {}
    }
}

/// Read-only twin of [`walk_objects_mut`].
pub fn walk_objects(v: &Value, path: &str, f: &mut dyn FnMut(&Map<String, Value>, &str)) {
    match v {
        Value::Object(map) => {
            f(map, path);
            for (k, child) in map {
                if k == "example" || k == "examples" {
                    continue;
                }
                walk_objects(child, &format!("{path}/{}", escape(k)), f);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                walk_objects(child, &format!("{path}/{i}"), f);
            }
        }
        _ => {}
    }
}

fn escape(k: &str) -> String {
    k.replace('~', "~0").replace('/', "~1")
}

fn op_mut<'a>(spec: &'a mut Value, path: &str, method: &str) -> Option<&'a mut Map<String, Value>> {
    spec.get_mut("paths")?
        .get_mut(path)?
        .get_mut(method)?
        .as_object_mut()
}

fn op<'a>(spec: &'a Value, path: &str, method: &str) -> Option<&'a Value> {
    spec.get("paths")?.get(path)?.get(method)
}

/// The JSON media-type schema of a response (after following the response's
/// `$ref`), as a comparable key: `$ref` text, inline JSON, `none` or `raw:<type>`.
pub fn response_type_key(spec: &Value, response: &Value) -> String {
    let Some(resp) = resolve(spec, response) else {
        return format!("dangling:{response}");
    };
    let Some(content) = resp.get("content").and_then(Value::as_object) else {
        return "none".to_string();
    };
    if content.is_empty() {
        return "none".to_string();
    }
    let json = content
        .iter()
        .find(|(k, _)| *k == "application/json" || k.starts_with("application/json;"));
    match json {
        Some((_, mt)) => match mt.get("schema") {
            Some(s) => s.to_string(),
            None => "json-without-schema".to_string(),
        },
        None => format!(
            "raw:{}",
            content.keys().next().map(String::as_str).unwrap_or("")
        ),
    }
}

// ------------------------------------------------------------------ rules --

/// 1. `response-missing-description`: a response object without `description`
///    (openapiv3 refuses it) gets an empty one.
fn response_missing_description(spec: &mut Value, _: &Ctx) -> Vec<String> {
    let mut touched = Vec::new();
    for (path, method) in operations(spec) {
        let key = op_key(&method, &path);
        if let Some(resps) = op_mut(spec, &path, &method)
            .and_then(|o| o.get_mut("responses"))
            .and_then(Value::as_object_mut)
        {
            for (status, r) in resps.iter_mut() {
                if let Some(obj) = r.as_object_mut()
                    && !obj.contains_key("$ref")
                    && !obj.contains_key("description")
                {
                    obj.insert("description".into(), Value::String(String::new()));
                    touched.push(format!("{key} response {status}: added empty description"));
                }
            }
        }
    }
    if let Some(resps) = spec
        .pointer_mut("/components/responses")
        .and_then(Value::as_object_mut)
    {
        for (name, r) in resps.iter_mut() {
            if let Some(obj) = r.as_object_mut()
                && !obj.contains_key("$ref")
                && !obj.contains_key("description")
            {
                obj.insert("description".into(), Value::String(String::new()));
                touched.push(format!(
                    "components.responses.{name}: added empty description"
                ));
            }
        }
    }
    touched
}

/// 2. `duplicate-error-schema`: two schemas whose names differ only in case
///    (`Error`, `error`) would both become `types::Error`. When both are plain
///    objects of optional properties (error shapes), merge them into the first
///    name, union their properties, and repoint every `$ref`.
fn duplicate_error_schema(spec: &mut Value, _: &Ctx) -> Vec<String> {
    let mut touched = Vec::new();
    let Some(schemas) = spec
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    else {
        return touched;
    };
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for name in schemas.keys() {
        groups
            .entry(type_name(name))
            .or_default()
            .push(name.clone());
    }
    let mut renames: Vec<(String, String, Value)> = Vec::new();
    for (_, mut names) in groups.into_iter().filter(|(_, n)| n.len() > 1) {
        names.sort();
        let keep = names[0].clone();
        let mut merged = schemas[&keep].clone();
        if !is_plain_optional_object(&merged) {
            continue;
        }
        let mut ok = true;
        let mut plan = Vec::new();
        for other in &names[1..] {
            let o = &schemas[other];
            if !is_plain_optional_object(o) {
                ok = false;
                break;
            }
            let mut added = Vec::new();
            if let (Some(mp), Some(op)) = (
                merged.get_mut("properties").and_then(Value::as_object_mut),
                o.get("properties").and_then(Value::as_object),
            ) {
                for (pname, pschema) in op {
                    match mp.get(pname) {
                        None => {
                            mp.insert(pname.clone(), pschema.clone());
                            added.push(pname.clone());
                        }
                        Some(existing) if existing.get("type") == pschema.get("type") => {}
                        Some(_) => ok = false,
                    }
                }
            }
            plan.push((other.clone(), added));
        }
        if !ok {
            continue;
        }
        for (other, added) in plan {
            touched.push(format!(
                "components.schemas.{other} merged into `{keep}` (both were types::{}); added properties [{}]",
                type_name(&keep),
                added.join(", ")
            ));
            renames.push((other, keep.clone(), merged.clone()));
        }
    }
    for (from, to, merged) in renames {
        if let Some(s) = spec
            .pointer_mut("/components/schemas")
            .and_then(Value::as_object_mut)
        {
            s.remove(&from);
            s.insert(to.clone(), merged);
        }
        let from_ref = format!("#/components/schemas/{from}");
        let to_ref = format!("#/components/schemas/{to}");
        let mut n = 0;
        walk_objects_mut(spec, "", &mut |obj, _| {
            if obj.get("$ref").and_then(Value::as_str) == Some(from_ref.as_str()) {
                obj.insert("$ref".into(), Value::String(to_ref.clone()));
                n += 1;
            }
        });
        touched.push(format!(
            "repointed {n} `$ref`s from `{from_ref}` to `{to_ref}`"
        ));
    }
    touched
}

fn is_plain_optional_object(s: &Value) -> bool {
    let Some(o) = s.as_object() else { return false };
    o.get("properties").is_some_and(Value::is_object)
        && !o.contains_key("required")
        && !o.contains_key("allOf")
        && !o.contains_key("oneOf")
        && !o.contains_key("anyOf")
        && o.get("type").is_none_or(|t| t == "object")
}

/// 3. `property-level-required`: `required: true` on a property schema (not
///    valid OpenAPI) moves into the parent's `required: [..]` array.
fn property_level_required(spec: &mut Value, _: &Ctx) -> Vec<String> {
    let mut touched = Vec::new();
    walk_objects_mut(spec, "", &mut |obj, path| {
        let Some(props) = obj.get_mut("properties").and_then(Value::as_object_mut) else {
            return;
        };
        let mut now_required = Vec::new();
        for (pname, pschema) in props.iter_mut() {
            if let Some(p) = pschema.as_object_mut()
                && let Some(Value::Bool(b)) = p.get("required")
            {
                let b = *b;
                p.remove("required");
                touched.push(format!(
                    "{path}/properties/{pname}: `required: {b}` moved to the parent's `required` list"
                ));
                if b {
                    now_required.push(pname.clone());
                }
            }
        }
        if !now_required.is_empty() {
            let req = obj
                .entry("required")
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Some(arr) = req.as_array_mut() {
                for n in now_required {
                    if !arr.iter().any(|v| v == &Value::String(n.clone())) {
                        arr.push(Value::String(n));
                    }
                }
            }
        }
    });
    touched
}

/// 4. `dangling-allof-ref`: an `allOf` member whose `$ref` does not resolve to
///    a schema (e.g. `team_repo` → `#/components/responses/team_repo`) is
///    dropped; typify would recurse forever on it.
fn dangling_allof_ref(spec: &mut Value, _: &Ctx) -> Vec<String> {
    let snapshot = spec.clone();
    let mut touched = Vec::new();
    walk_objects_mut(spec, "", &mut |obj, path| {
        let Some(all) = obj.get_mut("allOf").and_then(Value::as_array_mut) else {
            return;
        };
        let before = all.len();
        all.retain(|m| match m.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                r.starts_with("#/components/schemas/") && snapshot.pointer(&r[1..]).is_some()
            }
            None => true,
        });
        if all.len() != before {
            touched.push(format!(
                "{path}: dropped {} `allOf` member(s) with a dangling `$ref`",
                before - all.len()
            ));
        }
        if all.is_empty() {
            obj.remove("allOf");
        }
    });
    touched
}

/// 5. `undeclared-path-param`: a `{name}` in a path template with no matching
///    `in: path` parameter (path or operation level) gets a required string one.
fn undeclared_path_param(spec: &mut Value, _: &Ctx) -> Vec<String> {
    let snapshot = spec.clone();
    let mut touched = Vec::new();
    for (path, method) in operations(&snapshot) {
        let declared = declared_params(&snapshot, &path, &method, "path");
        for name in template_params(&path) {
            if declared.contains(&name) {
                continue;
            }
            if let Some(o) = op_mut(spec, &path, &method) {
                let params = o
                    .entry("parameters")
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Some(arr) = params.as_array_mut() {
                    arr.push(json!({
                        "in": "path",
                        "name": name,
                        "required": true,
                        "schema": {"type": "string"}
                    }));
                    touched.push(format!(
                        "{}: declared path parameter `{name}` (string)",
                        op_key(&method, &path)
                    ));
                }
            }
        }
    }
    touched
}

/// Names of the parameters `in: location` of an operation (path + op level).
pub fn declared_params(spec: &Value, path: &str, method: &str, location: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let item = spec.get("paths").and_then(|p| p.get(path));
    let lists = [
        item.and_then(|i| i.get("parameters")),
        item.and_then(|i| i.get(method))
            .and_then(|o| o.get("parameters")),
    ];
    for list in lists.into_iter().flatten() {
        for p in list.as_array().into_iter().flatten() {
            if let Some(p) = resolve(spec, p)
                && p.get("in").and_then(Value::as_str) == Some(location)
                && let Some(n) = p.get("name").and_then(Value::as_str)
            {
                out.insert(n.to_string());
            }
        }
    }
    out
}

/// 6. `missing-operation-id`: operations without an operationId get the
///    curated name from `openapi/catalog.yaml` (unmapped ones are left for
///    the catalog check to name).
fn missing_operation_id(spec: &mut Value, ctx: &Ctx) -> Vec<String> {
    let mut touched = Vec::new();
    for (path, method) in operations(spec) {
        let key = op_key(&method, &path);
        let Some(o) = op_mut(spec, &path, &method) else {
            continue;
        };
        if o.get("operationId").and_then(Value::as_str).is_some() {
            continue;
        }
        if let Some(id) = ctx.op_ids.get(&key) {
            o.insert("operationId".into(), Value::String(id.clone()));
            touched.push(format!("{key}: operationId `{id}`"));
        }
    }
    touched
}

/// 7. `head-json-body`: a HEAD response never has a body; declared content
///    (CheckRepository 200 and the shared error responses) is removed so the
///    client does not try to decode an empty body.
fn head_json_body(spec: &mut Value, _: &Ctx) -> Vec<String> {
    let snapshot = spec.clone();
    let mut touched = Vec::new();
    for (path, method) in operations(&snapshot) {
        if method != "head" {
            continue;
        }
        let key = op_key(&method, &path);
        let Some(resps) = op_mut(spec, &path, &method)
            .and_then(|o| o.get_mut("responses"))
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        for (status, r) in resps.iter_mut() {
            let Some(resolved) = resolve(&snapshot, r) else {
                continue;
            };
            if resolved.get("content").is_none() {
                continue;
            }
            let description = resolved
                .get("description")
                .cloned()
                .unwrap_or(Value::String(String::new()));
            let mut replacement = Map::new();
            replacement.insert("description".into(), description);
            if let Some(h) = resolved.get("headers") {
                replacement.insert("headers".into(), h.clone());
            }
            *r = Value::Object(replacement);
            touched.push(format!("{key} response {status}: removed declared body"));
        }
    }
    touched
}

/// 8. `scim-json-content-type`: `application/scim+json` bodies are generated
///    as JSON (the hooks restore the SCIM type on the wire from the catalog).
fn scim_json_content_type(spec: &mut Value, _: &Ctx) -> Vec<String> {
    let mut touched = Vec::new();
    walk_objects_mut(spec, "", &mut |obj, path| {
        let Some(content) = obj.get_mut("content").and_then(Value::as_object_mut) else {
            return;
        };
        if let Some(mut mt) = content.remove("application/scim+json") {
            if let Some(m) = mt.as_object_mut() {
                m.insert(
                    WIRE_CONTENT_TYPE.into(),
                    Value::String("application/scim+json".into()),
                );
            }
            if content.contains_key("application/json") {
                touched.push(format!(
                    "{path}: dropped `application/scim+json` beside `application/json`"
                ));
            } else {
                content.insert("application/json".into(), mt);
                touched.push(format!(
                    "{path}: `application/scim+json` → `application/json`"
                ));
            }
        }
    });
    touched
}

/// 9. `default-beside-typed-response`: a `default` response next to a typed
///    2xx makes two success types; the `default` is dropped (such bodies then
///    arrive as `UnexpectedResponse` with status and body intact).
fn default_beside_typed_response(spec: &mut Value, _: &Ctx) -> Vec<String> {
    let snapshot = spec.clone();
    let mut touched = Vec::new();
    for (path, method) in operations(&snapshot) {
        let Some(o) = op(&snapshot, &path, &method) else {
            continue;
        };
        let rs = responses(o);
        let has_default = rs.iter().any(|(s, _)| s == "default");
        let typed_success = rs.iter().any(|(s, r)| {
            is_success(s) && {
                let k = response_type_key(&snapshot, r);
                k != "none" && !k.starts_with("raw:")
            }
        });
        if has_default && typed_success {
            let dflt = rs
                .iter()
                .find(|(s, _)| s == "default")
                .map(|(_, r)| response_type_key(&snapshot, r))
                .unwrap_or_default();
            if let Some(resps) = op_mut(spec, &path, &method)
                .and_then(|o| o.get_mut("responses"))
                .and_then(Value::as_object_mut)
            {
                resps.remove("default");
                touched.push(format!(
                    "{}: dropped `default` response ({dflt}) beside a typed 2xx",
                    op_key(&method, &path)
                ));
            }
        }
    }
    touched
}

/// 10. `multiple-error-bodies`: progenitor allows one error type per
///     operation. Operations whose 4xx/5xx responses carry different bodies
///     get one unified schema, `HubError`: the union of every field of those
///     bodies, all optional.
fn multiple_error_bodies(spec: &mut Value, _: &Ctx) -> Vec<String> {
    let snapshot = spec.clone();
    let mut targets: Vec<(String, String, BTreeSet<String>)> = Vec::new();
    for (path, method) in operations(&snapshot) {
        let Some(o) = op(&snapshot, &path, &method) else {
            continue;
        };
        let kinds: BTreeSet<String> = responses(o)
            .iter()
            .filter(|(s, _)| is_error(s) || s == "default")
            .map(|(_, r)| response_type_key(&snapshot, r))
            .collect();
        if kinds.len() > 1 {
            targets.push((path, method, kinds));
        }
    }
    if targets.is_empty() {
        return Vec::new();
    }
    let mut touched = Vec::new();
    // Union of the properties of every error body involved.
    let mut props: BTreeMap<String, Value> = BTreeMap::new();
    for (path, method, _) in &targets {
        let Some(o) = op(&snapshot, path, method) else {
            continue;
        };
        for (s, r) in responses(o) {
            if !(is_error(&s) || s == "default") {
                continue;
            }
            if let Some(schema) =
                resolve(&snapshot, &r).and_then(|r| r.pointer("/content/application~1json/schema"))
            {
                collect_properties(&snapshot, schema, &mut props, 0);
            }
        }
    }
    let existed = snapshot
        .pointer(&format!("/components/schemas/{UNIFIED_ERROR}"))
        .is_some();
    if !existed {
        let mut properties = Map::new();
        for (k, v) in &props {
            properties.insert(k.clone(), v.clone());
        }
        let unified = json!({
            "type": "object",
            "description": "Error body of the Hub API: the union of the spec's error shapes (Error, ValueError, SCIM errors), every field optional.",
            "properties": properties,
        });
        if let Some(schemas) = spec
            .pointer_mut("/components/schemas")
            .and_then(Value::as_object_mut)
        {
            schemas.insert(UNIFIED_ERROR.to_string(), unified);
        }
        touched.push(format!(
            "components.schemas.{UNIFIED_ERROR}: created with properties [{}]",
            props.keys().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    let unified_ref = format!("#/components/schemas/{UNIFIED_ERROR}");
    for (path, method, kinds) in targets {
        let Some(resps) = op_mut(spec, &path, &method)
            .and_then(|o| o.get_mut("responses"))
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        for (s, r) in resps.iter_mut() {
            if !(is_error(s) || s == "default") {
                continue;
            }
            let description = resolve(&snapshot, r)
                .and_then(|r| r.get("description"))
                .cloned()
                .unwrap_or(Value::String(String::new()));
            *r = json!({
                "description": description,
                "content": {"application/json": {"schema": {"$ref": unified_ref}}}
            });
        }
        touched.push(format!(
            "{}: {} error bodies unified into {UNIFIED_ERROR}",
            op_key(&method, &path),
            kinds.len()
        ));
    }
    touched
}

/// Properties of a schema, following `$ref` and `allOf`.
fn collect_properties(spec: &Value, schema: &Value, out: &mut BTreeMap<String, Value>, depth: u32) {
    if depth > 16 {
        return;
    }
    let Some(s) = resolve(spec, schema) else {
        return;
    };
    if let Some(all) = s.get("allOf").and_then(Value::as_array) {
        for m in all {
            collect_properties(spec, m, out, depth + 1);
        }
    }
    if let Some(props) = s.get("properties").and_then(Value::as_object) {
        for (k, v) in props {
            let v = strip_examples(v);
            match out.get(k) {
                None => {
                    out.insert(k.clone(), v);
                }
                Some(existing) => {
                    let et = existing.get("type");
                    let nt = v.get("type");
                    if et.is_none() && (nt.is_some() || v.get("$ref").is_some()) {
                        out.insert(k.clone(), v);
                    } else if et.is_some() && nt.is_some() && et != nt {
                        // Conflicting shapes: accept anything.
                        out.insert(k.clone(), json!({}));
                    }
                }
            }
        }
    }
}

fn strip_examples(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| *k != "example" && *k != "examples")
                .map(|(k, v)| (k.clone(), strip_examples(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip_examples).collect()),
        other => other.clone(),
    }
}

/// 11. `tag-images-array`: `tag.images` is an array of images on the wire
///     (docker/docs#20552), not one object.
fn tag_images_array(spec: &mut Value, _: &Ctx) -> Vec<String> {
    let Some(images) = spec.pointer_mut("/components/schemas/tag/properties/images") else {
        return Vec::new();
    };
    if images.get("type").and_then(Value::as_str) == Some("array") {
        return Vec::new();
    }
    let item = match images.get("$ref") {
        Some(r) => json!({"$ref": r}),
        None => {
            let mut i = images.clone();
            if let Some(o) = i.as_object_mut() {
                o.remove("description");
            }
            i
        }
    };
    let mut arr = json!({"type": "array", "items": item});
    if let Some(d) = images.get("description") {
        arr["description"] = d.clone();
    }
    *images = arr;
    vec!["components.schemas.tag.properties.images: object → array of images".to_string()]
}

/// 12. `tag-v2-boolean`: `tag.v2` is a boolean on the wire, not a string.
fn tag_v2_boolean(spec: &mut Value, _: &Ctx) -> Vec<String> {
    let Some(v2) = spec
        .pointer_mut("/components/schemas/tag/properties/v2")
        .and_then(Value::as_object_mut)
    else {
        return Vec::new();
    };
    if v2.get("type").and_then(Value::as_str) != Some("string") {
        return Vec::new();
    }
    v2.insert("type".into(), Value::String("boolean".into()));
    v2.remove("enum");
    v2.remove("format");
    vec!["components.schemas.tag.properties.v2: string → boolean".to_string()]
}

/// 13. `org-members-single-page`: a 2xx body declared as an *array of* Django
///     pages (`[{count, next, previous, results}]`) is one page object.
fn org_members_single_page(spec: &mut Value, _: &Ctx) -> Vec<String> {
    let snapshot = spec.clone();
    let mut touched = Vec::new();
    for (path, method) in operations(&snapshot) {
        let Some(resps) = op_mut(spec, &path, &method)
            .and_then(|o| o.get_mut("responses"))
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        for (status, r) in resps.iter_mut() {
            if !is_success(status) {
                continue;
            }
            let Some(schema) = r.pointer_mut("/content/application~1json/schema") else {
                continue;
            };
            if schema.get("type").and_then(Value::as_str) != Some("array") {
                continue;
            }
            let Some(items) = schema.get("items").cloned() else {
                continue;
            };
            let Some(item) = resolve(&snapshot, &items) else {
                continue;
            };
            let props = item.get("properties");
            let is_page =
                props.is_some_and(|p| p.get("results").is_some() && p.get("next").is_some());
            if is_page {
                *schema = items;
                touched.push(format!(
                    "{} response {status}: array of pages → one page object",
                    op_key(&method, &path)
                ));
            }
        }
    }
    touched
}

/// 14. `search-param-free-text`: a `search` query parameter typed integer is
///     free text.
fn search_param_free_text(spec: &mut Value, _: &Ctx) -> Vec<String> {
    let mut touched = Vec::new();
    walk_objects_mut(spec, "", &mut |obj, path| {
        if obj.get("in").and_then(Value::as_str) == Some("query")
            && obj.get("name").and_then(Value::as_str) == Some("search")
            && let Some(schema) = obj.get_mut("schema").and_then(Value::as_object_mut)
            && matches!(
                schema.get("type").and_then(Value::as_str),
                Some("integer") | Some("number")
            )
        {
            schema.insert("type".into(), Value::String("string".into()));
            schema.remove("format");
            schema.remove("minimum");
            schema.remove("maximum");
            touched.push(format!("{path}: `search` integer → string"));
        }
    });
    touched
}

/// 15. `scim-update-enabled-required` (facts §7): the SCIM user update body
///     declares `enabled` optional with `default: false`, and Hub deactivates
///     the user when it is omitted. Make it required, without a default, so
///     neither the typed client nor the dynamic call can drop it silently.
fn scim_update_enabled_required(spec: &mut Value, _: &Ctx) -> Vec<String> {
    let mut touched = Vec::new();
    walk_objects_mut(spec, "", &mut |obj, path| {
        if !path.contains("scim_update_user") {
            return;
        }
        let has_enabled = obj
            .get("properties")
            .and_then(|p| p.get("enabled"))
            .is_some_and(|e| e.get("type").and_then(Value::as_str) == Some("boolean"));
        if !has_enabled {
            return;
        }
        let required = obj
            .entry("required")
            .or_insert_with(|| Value::Array(Vec::new()));
        let Some(list) = required.as_array_mut() else {
            return;
        };
        if list.iter().any(|r| r == "enabled") {
            return;
        }
        list.push(Value::String("enabled".into()));
        if let Some(e) = obj
            .get_mut("properties")
            .and_then(|p| p.get_mut("enabled"))
            .and_then(Value::as_object_mut)
        {
            e.remove("default");
        }
        touched.push(format!(
            "{path}: `enabled` made required (omitting it deactivates the user)"
        ));
    });
    touched
}

/// 16. `scim-list-resources-key` (facts §7): SCIM list responses spell the
///     list key `resources`; RFC 7644 says `Resources`. The typed client
///     follows the RFC (the dynamic path and pagination accept both).
fn scim_list_resources_key(spec: &mut Value, _: &Ctx) -> Vec<String> {
    let mut touched = Vec::new();
    walk_objects_mut(spec, "", &mut |obj, path| {
        let Some(props) = obj.get_mut("properties").and_then(Value::as_object_mut) else {
            return;
        };
        if !props.contains_key("totalResults") || props.contains_key("Resources") {
            return;
        }
        if let Some(list) = props.remove("resources") {
            props.insert("Resources".into(), list);
            touched.push(format!("{path}: list key `resources` → `Resources`"));
        }
    });
    touched
}

/// 17. `scim-authentication-schemes-array` (facts §7): the service provider
///     config declares `authenticationSchemes` an object; RFC 7643 makes it an
///     array of them. Accept both.
fn scim_authentication_schemes_array(spec: &mut Value, _: &Ctx) -> Vec<String> {
    let Some(schemes) = spec.pointer_mut(
        "/components/schemas/scim_service_provider_config/properties/authenticationSchemes",
    ) else {
        return Vec::new();
    };
    if schemes.get("type").and_then(Value::as_str) != Some("object") {
        return Vec::new();
    }
    let one = schemes.clone();
    *schemes = json!({"oneOf": [{"type": "array", "items": one}, one]});
    vec![
        "components.schemas.scim_service_provider_config.properties.authenticationSchemes: object → array or object"
            .to_string(),
    ]
}

/// 18. `pattern-contradicts-example`: a string schema whose `pattern` rejects
///     its own `example` is self-contradictory (the immutable-tags verify
///     body's `regex` demands a repository-name shape, with literal
///     backslashes, yet shows `v.*`). Drop the pattern and let Hub decide.
fn pattern_contradicts_example(spec: &mut Value, _: &Ctx) -> Vec<String> {
    let mut touched = Vec::new();
    walk_objects_mut(spec, "", &mut |obj, path| {
        let (Some(pattern), Some(example)) = (
            obj.get("pattern").and_then(Value::as_str),
            obj.get("example").and_then(Value::as_str),
        ) else {
            return;
        };
        let Ok(re) = regex::Regex::new(pattern) else {
            return;
        };
        if re.is_match(example) {
            return;
        }
        touched.push(format!(
            "{path}: pattern {pattern:?} rejects its own example {example:?}; dropped"
        ));
        obj.remove("pattern");
    });
    touched
}
