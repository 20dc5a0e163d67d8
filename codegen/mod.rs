//! The spec pipeline shared by `build.rs` and `tests/codegen.rs`:
//!
//! 1. load `openapi/hub-latest.yaml` (upstream, byte-identical) and merge the
//!    project's extension spec `openapi/hub-extensions.yaml`;
//! 2. check every operation against `openapi/catalog.yaml` (mapped or excluded);
//! 3. apply the named normalization rules of [`rules`] (each acts only on the
//!    broken shape it targets and records what it touched);
//! 4. validate the result ([`validate`]): anything progenitor cannot take that
//!    no rule handled fails with a message naming it and the rule to add;
//! 5. build the operation catalog and the surface snapshot ([`catalog`]).
//!
//! Everything here is plain Rust on `serde_json::Value`; no progenitor types,
//! so the generator is testable without running a build script.

pub mod catalog;
pub mod rules;
pub mod schema;
pub mod validate;

use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

/// HTTP methods an OpenAPI path item can carry, in spec order.
pub const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Marker set on every operation merged from the extension spec.
pub const EXTENSION_MARKER: &str = "x-extension";

/// The three input documents, parsed.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// `openapi/hub-latest.yaml`.
    pub upstream: Value,
    /// `openapi/hub-extensions.yaml`.
    pub extension: Value,
    /// `openapi/catalog.yaml`.
    pub catalog: Value,
}

impl Inputs {
    /// Load the three files from an `openapi/` directory.
    pub fn load(dir: &Path) -> Result<Inputs, String> {
        Ok(Inputs {
            upstream: load_yaml(&dir.join("hub-latest.yaml"))?,
            extension: load_yaml(&dir.join("hub-extensions.yaml"))?,
            catalog: load_yaml(&dir.join("catalog.yaml"))?,
        })
    }
}

/// What one rule touched.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleReport {
    /// The rule's name (`response-missing-description`).
    pub rule: &'static str,
    /// Facts-§2 problem number it fixes.
    pub problem: u8,
    /// One line per touched location.
    pub touched: Vec<String>,
}

/// The normalization report (one entry per rule, in the order they ran).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Per-rule results.
    pub rules: Vec<RuleReport>,
    /// Operations removed because `catalog.yaml` excludes them.
    pub excluded: Vec<String>,
}

impl Report {
    /// Total number of touched locations over all rules.
    pub fn total_touched(&self) -> usize {
        self.rules.iter().map(|r| r.touched.len()).sum()
    }

    /// The rule entry named `name`, if that rule ran.
    pub fn rule(&self, name: &str) -> Option<&RuleReport> {
        self.rules.iter().find(|r| r.rule == name)
    }

    /// Human-readable text for `$OUT_DIR/normalize-report.txt`.
    pub fn render(&self) -> String {
        let mut s = String::from(
            "# dockerhub-api spec normalization report\n\
             # One section per named rule (codegen/rules.rs); an empty section means the rule was a no-op.\n\n",
        );
        for r in &self.rules {
            let _ = writeln!(
                s,
                "[{}] (problem {}) touched {}",
                r.rule,
                r.problem,
                r.touched.len()
            );
            for t in &r.touched {
                let _ = writeln!(s, "  - {t}");
            }
            s.push('\n');
        }
        let _ = writeln!(s, "[catalog-excluded] removed {}", self.excluded.len());
        for t in &self.excluded {
            let _ = writeln!(s, "  - {t}");
        }
        s
    }
}

/// Everything the pipeline produces.
#[derive(Debug, Clone)]
pub struct Output {
    /// The normalized, merged spec (input to progenitor).
    pub spec: Value,
    /// What the rules touched.
    pub report: Report,
    /// The catalog rows, sorted by module then action.
    pub rows: Vec<catalog::Row>,
    /// Rust source for `$OUT_DIR/catalog.rs`.
    pub catalog_rs: String,
    /// The surface snapshot (`openapi/surface.txt`).
    pub surface: String,
}

/// Run the whole pipeline.
pub fn run(inputs: &Inputs) -> Result<Output, String> {
    let config = catalog::Config::parse(&inputs.catalog)?;
    let mut spec = merge(&inputs.upstream, &inputs.extension)?;
    catalog::check_coverage(&spec, &config)?;
    let original = spec.clone();

    let mut report = Report::default();
    for key in &config.excluded {
        if remove_operation(&mut spec, key) {
            report.excluded.push(key.clone());
        }
    }

    report.rules = rules::apply_all(&mut spec, &config.op_ids());
    validate::validate(&spec)?;

    let rows = catalog::build_rows(&original, &spec, &config)?;
    let catalog_rs = catalog::render_rust(&rows);
    let surface = catalog::render_surface(&rows);
    Ok(Output {
        spec,
        report,
        rows,
        catalog_rs,
        surface,
    })
}

/// Parse a YAML file into JSON (mapping keys become strings: `200:` → `"200"`).
pub fn load_yaml(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("codegen: cannot read {}: {e}", path.display()))?;
    parse_yaml(&text).map_err(|e| format!("codegen: {}: {e}", path.display()))
}

/// Parse YAML text into JSON.
pub fn parse_yaml(text: &str) -> Result<Value, String> {
    let y: yaml_serde::Value = yaml_serde::from_str(text).map_err(|e| e.to_string())?;
    yaml_to_json(y)
}

fn yaml_to_json(y: yaml_serde::Value) -> Result<Value, String> {
    use yaml_serde::Value as Y;
    Ok(match y {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else if let Some(f) = n.as_f64() {
                serde_json::Number::from_f64(f)
                    .map(Value::Number)
                    .ok_or_else(|| format!("non-finite number {f} in YAML"))?
            } else {
                return Err(format!("unsupported YAML number {n:?}"));
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(seq) => Value::Array(
            seq.into_iter()
                .map(yaml_to_json)
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Y::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match k {
                    Y::String(s) => s,
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    Y::Null => "null".to_string(),
                    other => return Err(format!("unsupported YAML mapping key {other:?}")),
                };
                out.insert(key, yaml_to_json(v)?);
            }
            Value::Object(out)
        }
        Y::Tagged(t) => yaml_to_json(t.value)?,
    })
}

/// `"GET /v2/foo"` for an operation.
pub fn op_key(method: &str, path: &str) -> String {
    format!("{} {}", method.to_ascii_uppercase(), path)
}

/// Every `(path, method)` of a spec (method lower case), in map order.
pub fn operations(spec: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(paths) = spec.get("paths").and_then(Value::as_object) {
        for (path, item) in paths {
            for m in METHODS {
                if item.get(m).is_some_and(Value::is_object) {
                    out.push((path.clone(), m.to_string()));
                }
            }
        }
    }
    out
}

/// Merge the extension spec into the upstream one. Paths and component names
/// must not collide; every merged operation gets `x-extension: true`.
pub fn merge(upstream: &Value, extension: &Value) -> Result<Value, String> {
    let mut spec = upstream.clone();
    let ext_paths = extension
        .get("paths")
        .and_then(Value::as_object)
        .ok_or("codegen: openapi/hub-extensions.yaml has no `paths`")?;
    let paths = spec
        .get_mut("paths")
        .and_then(Value::as_object_mut)
        .ok_or("codegen: openapi/hub-latest.yaml has no `paths`")?;
    for (path, item) in ext_paths {
        if paths.contains_key(path) {
            return Err(format!(
                "codegen: extension path `{path}` is also in the upstream spec; \
                 remove it from openapi/hub-extensions.yaml (upstream now documents it)"
            ));
        }
        let mut item = item.clone();
        if let Some(obj) = item.as_object_mut() {
            for m in METHODS {
                if let Some(op) = obj.get_mut(m).and_then(Value::as_object_mut) {
                    op.insert(EXTENSION_MARKER.to_string(), Value::Bool(true));
                }
            }
        }
        paths.insert(path.clone(), item);
    }
    if let Some(ext_components) = extension.get("components").and_then(Value::as_object) {
        let components = spec
            .as_object_mut()
            .ok_or("codegen: spec is not an object")?
            .entry("components")
            .or_insert_with(|| Value::Object(Map::new()));
        let components = components
            .as_object_mut()
            .ok_or("codegen: `components` is not an object")?;
        for (section, entries) in ext_components {
            let Some(entries) = entries.as_object() else {
                continue;
            };
            let target = components
                .entry(section.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            let target = target
                .as_object_mut()
                .ok_or_else(|| format!("codegen: components.{section} is not an object"))?;
            for (name, v) in entries {
                if target.contains_key(name) {
                    return Err(format!(
                        "codegen: extension component `components.{section}.{name}` collides with \
                         the upstream spec; rename it in openapi/hub-extensions.yaml"
                    ));
                }
                target.insert(name.clone(), v.clone());
            }
        }
    }
    Ok(spec)
}

/// Remove one operation (`"GET /path"`); drops the path item when it is empty.
pub fn remove_operation(spec: &mut Value, key: &str) -> bool {
    let Some((method, path)) = key.split_once(' ') else {
        return false;
    };
    let method = method.to_ascii_lowercase();
    let Some(paths) = spec.get_mut("paths").and_then(Value::as_object_mut) else {
        return false;
    };
    let Some(item) = paths.get_mut(path).and_then(Value::as_object_mut) else {
        return false;
    };
    let removed = item.remove(&method).is_some();
    if !METHODS.iter().any(|m| item.contains_key(*m)) {
        paths.remove(path);
    }
    removed
}

/// progenitor's method name for an operationId (`PostUsersLogin` → `post_users_login`).
pub fn method_name(operation_id: &str) -> String {
    use heck::ToSnakeCase;
    let cleaned: String = operation_id
        .replace('\'', "")
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    cleaned.to_snake_case()
}

/// progenitor's type name for a schema name (`org_member` → `OrgMember`).
pub fn type_name(schema_name: &str) -> String {
    use heck::ToPascalCase;
    schema_name.to_pascal_case()
}

/// Deterministic fallback name for an operation that has no operationId and no
/// curated name: method + path in snake case (`GET /v2/widgets/{id}` →
/// `get_v2_widgets_id`). Only used to name an unmapped operation in errors.
pub fn fallback_id(method: &str, path: &str) -> String {
    let mut s = method.to_ascii_lowercase();
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        let seg: String = seg
            .chars()
            .filter(|c| *c != '{' && *c != '}')
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        s.push('_');
        s.push_str(&seg);
    }
    method_name(&s)
}

/// Names in a path template (`/a/{x}/b/{y}` → `[x, y]`).
pub fn template_params(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('}') else { break };
        out.push(after[..end].to_string());
        rest = &after[end + 1..];
    }
    out
}

/// Follow `$ref` chains (local refs only). Returns `None` for a dangling ref.
pub fn resolve<'a>(spec: &'a Value, v: &'a Value) -> Option<&'a Value> {
    let mut cur = v;
    let mut seen = BTreeSet::new();
    while let Some(r) = cur.get("$ref").and_then(Value::as_str) {
        if !seen.insert(r.to_string()) {
            return None;
        }
        cur = spec.pointer(ref_pointer(r)?.as_str())?;
    }
    Some(cur)
}

/// `#/components/schemas/a~1b` → `/components/schemas/a~1b` (a JSON pointer).
pub fn ref_pointer(r: &str) -> Option<String> {
    r.strip_prefix('#').map(str::to_string)
}

/// The status codes of an operation's `responses`, with their (unresolved) values.
pub fn responses(op: &Value) -> Vec<(String, Value)> {
    op.get("responses")
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

/// Whether a status key is a success (2xx, `2XX`).
pub fn is_success(status: &str) -> bool {
    status.starts_with('2')
}

/// Whether a status key is an error (4xx/5xx and ranges).
pub fn is_error(status: &str) -> bool {
    status.starts_with('4') || status.starts_with('5')
}

/// First line (or first sentence) of a text, trimmed; HTML tags removed.
pub fn one_line(text: &str) -> String {
    let stripped = strip_html(text);
    let line = stripped
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    line.trim().to_string()
}

fn strip_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}
