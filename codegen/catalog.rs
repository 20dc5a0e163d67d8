//! The operation catalog: `openapi/catalog.yaml` + the normalized spec →
//! rows → `$OUT_DIR/catalog.rs` (types in `src/catalog.rs`) and the sorted
//! surface snapshot `openapi/surface.txt`.

use super::schema::to_json_schema;
use super::validate::all_params;
use super::{
    EXTENSION_MARKER, fallback_id, is_success, method_name, one_line, op_key, operations, resolve,
    responses,
};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// Modules in the seed's order: (short name, Rust variant).
pub const MODULES: [(&str, &str); 7] = [
    ("auth", "Auth"),
    ("repos", "Repos"),
    ("org", "Org"),
    ("teams", "Teams"),
    ("audit", "Audit"),
    ("scim", "Scim"),
    ("admin", "Admin"),
];

const SAFETIES: [(&str, &str); 3] = [
    ("read", "Read"),
    ("write", "Write"),
    ("destructive", "Destructive"),
];

const PAGINATIONS: [(&str, &str); 7] = [
    ("none", "None"),
    ("django", "Django"),
    ("django_pat", "DjangoPat"),
    ("django_oat", "DjangoOat"),
    ("audit_pages", "AuditPages"),
    ("unpaged", "Unpaged"),
    ("scim", "Scim"),
];

/// One mapping entry of `catalog.yaml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Operation id (snake case; the generated method name).
    pub id: String,
    /// Module short name (`repos`).
    pub module: String,
    /// Action name (`list_tags`).
    pub action: String,
    /// Safety override (`read`/`write`/`destructive`).
    pub safety: Option<String>,
    /// Pagination style (`django`, …); default `none`.
    pub pagination: Option<String>,
}

/// Parsed `catalog.yaml`.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// `"METHOD /path"` → entry.
    pub entries: BTreeMap<String, Entry>,
    /// Operations deliberately not generated.
    pub excluded: Vec<String>,
}

impl Config {
    /// Parse and check the document.
    pub fn parse(doc: &Value) -> Result<Config, String> {
        let mut config = Config::default();
        let ops = doc
            .get("operations")
            .and_then(Value::as_object)
            .ok_or("codegen: openapi/catalog.yaml has no `operations:` mapping")?;
        let mut errors = Vec::new();
        for (key, v) in ops {
            let err = |msg: &str| format!("openapi/catalog.yaml `{key}`: {msg}");
            if !is_op_key(key) {
                errors.push(err("key must be `METHOD /path`"));
                continue;
            }
            let s = |f: &str| v.get(f).and_then(Value::as_str).map(str::to_string);
            let (Some(id), Some(module), Some(action)) = (s("id"), s("module"), s("action")) else {
                errors.push(err("needs `id`, `module` and `action`"));
                continue;
            };
            if !is_snake(&id) || !is_snake(&action) {
                errors.push(err("`id` and `action` must be snake_case"));
            }
            if !MODULES.iter().any(|(m, _)| *m == module) {
                errors.push(err(&format!("unknown module `{module}`")));
            }
            let safety = s("safety");
            if let Some(sf) = &safety
                && !SAFETIES.iter().any(|(n, _)| n == sf)
            {
                errors.push(err(&format!("unknown safety `{sf}`")));
            }
            let pagination = s("pagination");
            if let Some(p) = &pagination
                && !PAGINATIONS.iter().any(|(n, _)| n == p)
            {
                errors.push(err(&format!("unknown pagination `{p}`")));
            }
            if let Some(obj) = v.as_object() {
                for f in obj.keys() {
                    if !matches!(
                        f.as_str(),
                        "id" | "module" | "action" | "safety" | "pagination"
                    ) {
                        errors.push(err(&format!("unknown field `{f}`")));
                    }
                }
            }
            config.entries.insert(
                key.clone(),
                Entry {
                    id,
                    module,
                    action,
                    safety,
                    pagination,
                },
            );
        }
        for e in doc
            .get("excluded")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let key = e
                .as_str()
                .or_else(|| e.get("operation").and_then(Value::as_str));
            match key {
                Some(k) if is_op_key(k) => config.excluded.push(k.to_string()),
                _ => errors.push(format!(
                    "openapi/catalog.yaml `excluded`: entries are `METHOD /path` or {{operation, reason}}, got {e}"
                )),
            }
        }
        if errors.is_empty() {
            Ok(config)
        } else {
            Err(format!("codegen: {}", errors.join("\n  ")))
        }
    }

    /// Curated ids by operation key (input of rule `missing-operation-id`).
    pub fn op_ids(&self) -> BTreeMap<String, String> {
        self.entries
            .iter()
            .map(|(k, e)| (k.clone(), e.id.clone()))
            .collect()
    }
}

fn is_op_key(k: &str) -> bool {
    k.split_once(' ').is_some_and(|(m, p)| {
        super::METHODS.contains(&m.to_ascii_lowercase().as_str())
            && m == m.to_ascii_uppercase()
            && p.starts_with('/')
    })
}

fn is_snake(s: &str) -> bool {
    !s.is_empty()
        && s.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Every operation of the merged spec must be mapped or excluded, and every
/// mapping must name an operation that exists.
pub fn check_coverage(spec: &Value, config: &Config) -> Result<(), String> {
    let present: BTreeSet<String> = operations(spec).iter().map(|(p, m)| op_key(m, p)).collect();
    let excluded: BTreeSet<&String> = config.excluded.iter().collect();
    let mut errors = Vec::new();
    for (path, method) in operations(spec) {
        let key = op_key(&method, &path);
        let mapped = config.entries.contains_key(&key);
        let is_excluded = excluded.contains(&key);
        if !mapped && !is_excluded {
            let id = spec
                .pointer(&format!(
                    "/paths/{}/{method}/operationId",
                    path.replace('~', "~0").replace('/', "~1")
                ))
                .and_then(Value::as_str)
                .map(method_name)
                .unwrap_or_else(|| fallback_id(&method, &path));
            errors.push(format!(
                "operation `{key}` is not in the catalog: add `\"{key}\": {{id: {id}, module: <module>, action: <action>}}` to openapi/catalog.yaml `operations:` (or list it under `excluded:`)"
            ));
        }
        if mapped && is_excluded {
            errors.push(format!(
                "operation `{key}` is both mapped and excluded in openapi/catalog.yaml"
            ));
        }
    }
    for key in config.entries.keys().chain(config.excluded.iter()) {
        if !present.contains(key) {
            errors.push(format!(
                "openapi/catalog.yaml names `{key}`, which is not in the spec: remove it"
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!("codegen: {}", errors.join("\n  ")))
    }
}

/// One path or query parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamRow {
    /// Name as in the spec.
    pub name: String,
    /// `path` or `query`.
    pub location: String,
    /// Required.
    pub required: bool,
    /// Compact JSON Schema text.
    pub schema: String,
    /// One-line description.
    pub description: String,
}

/// One catalog row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Operation id (generated method name).
    pub id: String,
    /// Module short name.
    pub module: String,
    /// Action.
    pub action: String,
    /// HTTP method, upper case.
    pub method: String,
    /// Path template.
    pub path: String,
    /// `read` / `write` / `destructive`.
    pub safety: String,
    /// Pagination style name.
    pub pagination: String,
    /// One-line summary.
    pub summary: String,
    /// Path + query parameters.
    pub params: Vec<ParamRow>,
    /// Body JSON Schema text.
    pub body: Option<String>,
    /// Body required.
    pub body_required: bool,
    /// Wire content type.
    pub content_type: String,
    /// `none` / `hub` / `scim`.
    pub auth: String,
    /// `json` / `exists` / `text`.
    pub response: String,
    /// From the extension spec.
    pub extension: bool,
}

/// Default safety class of a method.
pub fn default_safety(method: &str) -> &'static str {
    match method.to_ascii_uppercase().as_str() {
        "GET" | "HEAD" | "OPTIONS" => "read",
        "DELETE" => "destructive",
        _ => "write",
    }
}

/// Build the rows. `original` is the merged spec before normalization (for
/// the wire content type), `spec` the normalized one.
pub fn build_rows(original: &Value, spec: &Value, config: &Config) -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for (path, method) in operations(spec) {
        let key = op_key(&method, &path);
        let ptr = format!(
            "/paths/{}/{method}",
            path.replace('~', "~0").replace('/', "~1")
        );
        let (Some(op), Some(entry)) = (spec.pointer(&ptr), config.entries.get(&key)) else {
            errors.push(format!("`{key}` is not mapped in openapi/catalog.yaml"));
            continue;
        };
        let spec_id = op
            .get("operationId")
            .and_then(Value::as_str)
            .map(method_name)
            .unwrap_or_default();
        if spec_id != entry.id {
            errors.push(format!(
                "`{key}`: catalog id `{}` differs from the generated method name `{spec_id}` (from the spec's operationId); set `id: {spec_id}` in openapi/catalog.yaml",
                entry.id
            ));
        }

        let summary = op
            .get("summary")
            .and_then(Value::as_str)
            .map(one_line)
            .filter(|s| !s.is_empty())
            .or_else(|| {
                op.get("description")
                    .and_then(Value::as_str)
                    .map(first_sentence)
            })
            .unwrap_or_default();

        let mut params = Vec::new();
        let all = all_params(spec, &path, &method);
        let order = super::template_params(&path);
        let mut path_params: Vec<&Value> = all
            .iter()
            .filter(|p| p.get("in").and_then(Value::as_str) == Some("path"))
            .collect();
        path_params.sort_by_key(|p| {
            let n = p.get("name").and_then(Value::as_str).unwrap_or("");
            order.iter().position(|o| o == n).unwrap_or(usize::MAX)
        });
        let query_params = all
            .iter()
            .filter(|p| p.get("in").and_then(Value::as_str) == Some("query"));
        for p in path_params.into_iter().chain(query_params) {
            let schema = p
                .get("schema")
                .map(|s| to_json_schema(spec, s))
                .unwrap_or_else(|| Value::Object(Default::default()));
            params.push(ParamRow {
                name: p
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                location: p
                    .get("in")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                required: p.get("required").and_then(Value::as_bool).unwrap_or(false),
                schema: schema.to_string(),
                description: p
                    .get("description")
                    .and_then(Value::as_str)
                    .map(one_line)
                    .unwrap_or_default(),
            });
        }

        let body_obj = op.get("requestBody").and_then(|b| resolve(spec, b));
        let body = body_obj
            .and_then(|b| b.pointer("/content/application~1json/schema"))
            .map(|s| to_json_schema(spec, s).to_string());
        let body_required = body_obj
            .and_then(|b| b.get("required"))
            .and_then(Value::as_bool)
            .unwrap_or(false);

        let original_op = original.pointer(&ptr).unwrap_or(op);
        let content_type = if uses_scim_json(original, original_op) {
            "application/scim+json"
        } else {
            "application/json"
        };

        let security = op.get("security").or_else(|| spec.get("security"));
        let auth = match security.and_then(Value::as_array) {
            Some(reqs) if reqs.is_empty() => "none",
            Some(reqs) if reqs.iter().any(|r| r.get("bearerSCIMAuth").is_some()) => "scim",
            _ => "hub",
        };

        let response = if method == "head" {
            "exists"
        } else if responses(op).iter().any(|(s, r)| {
            is_success(s)
                && resolve(spec, r)
                    .and_then(|r| r.get("content"))
                    .and_then(Value::as_object)
                    .is_some_and(|c| c.keys().any(|k| k.starts_with("text/")))
        }) {
            "text"
        } else {
            "json"
        };

        rows.push(Row {
            id: entry.id.clone(),
            module: entry.module.clone(),
            action: entry.action.clone(),
            method: method.to_ascii_uppercase(),
            path: path.clone(),
            safety: entry
                .safety
                .clone()
                .unwrap_or_else(|| default_safety(&method).to_string()),
            pagination: entry
                .pagination
                .clone()
                .unwrap_or_else(|| "none".to_string()),
            summary,
            params,
            body,
            body_required,
            content_type: content_type.to_string(),
            auth: auth.to_string(),
            response: response.to_string(),
            extension: op.get(EXTENSION_MARKER).and_then(Value::as_bool) == Some(true),
        });
    }

    let mut seen_actions = BTreeMap::new();
    let mut seen_ids = BTreeMap::new();
    for r in &rows {
        let key = format!("{} {}", r.method, r.path);
        if let Some(prev) = seen_actions.insert((r.module.clone(), r.action.clone()), key.clone()) {
            errors.push(format!(
                "action `{}.{}` is used by both `{prev}` and `{key}` in openapi/catalog.yaml",
                r.module, r.action
            ));
        }
        if let Some(prev) = seen_ids.insert(r.id.clone(), key.clone()) {
            errors.push(format!(
                "id `{}` is used by both `{prev}` and `{key}`",
                r.id
            ));
        }
    }
    if !errors.is_empty() {
        return Err(format!("codegen: {}", errors.join("\n  ")));
    }
    rows.sort_by(|a, b| {
        (module_index(&a.module), &a.action).cmp(&(module_index(&b.module), &b.action))
    });
    Ok(rows)
}

fn module_index(m: &str) -> usize {
    MODULES
        .iter()
        .position(|(n, _)| *n == m)
        .unwrap_or(usize::MAX)
}

fn first_sentence(text: &str) -> String {
    let line = one_line(text);
    match line.find(". ") {
        Some(i) => line[..=i].to_string(),
        None => line,
    }
}

fn uses_scim_json(spec: &Value, op: &Value) -> bool {
    let scim = |v: Option<&Value>| {
        v.and_then(|v| resolve(spec, v))
            .and_then(|v| v.get("content"))
            .and_then(Value::as_object)
            .is_some_and(|c| {
                c.contains_key("application/scim+json")
                    || c.values().any(|mt| {
                        mt.get(super::rules::WIRE_CONTENT_TYPE)
                            .and_then(Value::as_str)
                            == Some("application/scim+json")
                    })
            })
    };
    scim(op.get("requestBody"))
        || responses(op)
            .iter()
            .any(|(s, r)| is_success(s) && scim(Some(r)))
}

fn variant(table: &[(&str, &'static str)], name: &str) -> &'static str {
    table
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| *v)
        .unwrap_or("None")
}

/// Rust source of `$OUT_DIR/catalog.rs`.
pub fn render_rust(rows: &[Row]) -> String {
    let mut s = String::from(
        "// @generated by build.rs (codegen/catalog.rs) from openapi/catalog.yaml and the normalized spec.\n\
         /// Every Hub operation, sorted by module then action.\n\
         pub static OPERATIONS: &[Operation] = &[\n",
    );
    for r in rows {
        let _ = writeln!(s, "    Operation {{");
        let _ = writeln!(s, "        id: {:?},", r.id);
        let _ = writeln!(
            s,
            "        module: Module::{},",
            variant(&MODULES, &r.module)
        );
        let _ = writeln!(s, "        action: {:?},", r.action);
        let _ = writeln!(s, "        method: {:?},", r.method);
        let _ = writeln!(s, "        path: {:?},", r.path);
        let _ = writeln!(
            s,
            "        safety: Safety::{},",
            variant(&SAFETIES, &r.safety)
        );
        let _ = writeln!(
            s,
            "        pagination: Pagination::{},",
            variant(&PAGINATIONS, &r.pagination)
        );
        let _ = writeln!(s, "        summary: {:?},", r.summary);
        let _ = writeln!(s, "        params: &[");
        for p in &r.params {
            let loc = if p.location == "path" {
                "Path"
            } else {
                "Query"
            };
            let _ = writeln!(
                s,
                "            Param {{ name: {:?}, location: ParamLocation::{loc}, required: {}, schema: {:?}, description: {:?} }},",
                p.name, p.required, p.schema, p.description
            );
        }
        let _ = writeln!(s, "        ],");
        match &r.body {
            Some(b) => {
                let _ = writeln!(s, "        body: Some({b:?}),");
            }
            None => {
                let _ = writeln!(s, "        body: None,");
            }
        }
        let _ = writeln!(s, "        body_required: {},", r.body_required);
        let _ = writeln!(s, "        content_type: {:?},", r.content_type);
        let auth = match r.auth.as_str() {
            "none" => "None",
            "scim" => "Scim",
            _ => "Hub",
        };
        let _ = writeln!(s, "        auth: AuthScheme::{auth},");
        let resp = match r.response.as_str() {
            "exists" => "Exists",
            "text" => "Text",
            _ => "Json",
        };
        let _ = writeln!(s, "        response: ResponseKind::{resp},");
        let _ = writeln!(s, "        extension: {},", r.extension);
        let _ = writeln!(s, "    }},");
    }
    s.push_str("];\n");
    s
}

/// One line of the surface snapshot.
pub fn surface_line(r: &Row) -> String {
    format!(
        "{}.{} {} {} {} {}{}",
        r.module,
        r.action,
        r.method,
        r.path,
        r.safety,
        r.pagination,
        if r.extension { " ext" } else { "" }
    )
}

/// The sorted surface snapshot.
pub fn render_surface(rows: &[Row]) -> String {
    let mut lines: Vec<String> = rows.iter().map(surface_line).collect();
    lines.sort();
    let mut s = lines.join("\n");
    s.push('\n');
    s
}
