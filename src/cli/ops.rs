//! Catalog operations as commands: `dockerhub <module> <action>`, built at
//! run time from [`crate::catalog::OPERATIONS`] and [`crate::params::describe`].
//!
//! Path parameters are positional (`namespace` + `repository` [+ `tag`]
//! collapse into one `NAMESPACE/REPO[:TAG]`), query and body parameters are
//! flags, and `--body` takes a whole JSON body.

use clap::builder::PossibleValuesParser;
use clap::{Arg, ArgAction, ArgMatches, Command};
use serde_json::{Map, Value};

use super::error::{CliError, CliResult};
use crate::catalog::{Module, Operation, Pagination, ParamLocation, Safety};
use crate::params::{self, ParamInfo, Place};

/// Names of global flags; an operation parameter with one of these names gets
/// a `param-` prefix (pagination parameters are the globals themselves).
pub const GLOBAL_FLAGS: &[&str] = &[
    "format",
    "all",
    "limit",
    "page",
    "page-size",
    "quiet",
    "dry-run",
    "yes",
    "url",
    "verbose",
    "no-color",
    "demo",
    "allow-destructive",
    "password-stdin",
    "username",
    "body",
    "help",
    "version",
    "now",
];

/// Id prefix of the flags generated for parameters.
const P: &str = "p:";

/// Command name of an action (`list_tags` → `list-tags`).
pub fn command_name(action: &str) -> String {
    action.replace('_', "-")
}

fn kebab(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else if c == '_' {
            out.push('-');
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether `op` addresses a repository (`namespace` and `repository` path parameters).
pub fn is_repo_scoped(op: &Operation) -> bool {
    let has = |n: &str| {
        op.params
            .iter()
            .any(|p| p.name == n && p.location == ParamLocation::Path)
    };
    has("namespace") && has("repository")
}

fn has_tag(op: &Operation) -> bool {
    op.params
        .iter()
        .any(|p| p.name == "tag" && p.location == ParamLocation::Path)
}

/// Whether `--page`/`--page-size` map onto this operation's parameters.
pub fn uses_pages(op: &Operation) -> bool {
    !matches!(
        op.pagination,
        Pagination::None | Pagination::Unpaged | Pagination::Scim
    )
}

fn positional_name(p: &str) -> String {
    match p {
        "org_name" => "ORG".into(),
        "access_token_id" => "TOKEN_ID".into(),
        other => other.to_uppercase(),
    }
}

/// The help line of an operation.
pub fn about(op: &Operation) -> String {
    let mut s = if op.summary.is_empty() {
        op.action.replace('_', " ")
    } else {
        op.summary.to_string()
    };
    if op.safety == Safety::Destructive {
        s.push_str(" [destructive]");
    }
    s
}

/// Build the command for one operation under `name`.
pub fn op_command(op: &'static Operation, name: String) -> Command {
    let safety = match op.safety {
        Safety::Read => "read",
        Safety::Write => "write (--dry-run shows the request)",
        Safety::Destructive => {
            "destructive: needs --allow-destructive or DOCKERHUB_ALLOW_DESTRUCTIVE=true, and confirmation (--yes)"
        }
    };
    let mut cmd = Command::new(name).about(about(op)).after_help(format!(
        "{} {}  ({}.{}, {safety})",
        op.method,
        op.path,
        op.module.name(),
        op.action
    ));
    let described = params::describe(op);
    let mut idx = 1;
    if is_repo_scoped(op) {
        let (value, help) = if has_tag(op) {
            ("NAMESPACE/REPO:TAG", "Repository and tag")
        } else {
            ("NAMESPACE/REPO", "Repository")
        };
        cmd = cmd.arg(
            Arg::new("target")
                .value_name(value)
                .help(help)
                .required(true)
                .index(idx),
        );
        idx += 1;
    }
    for p in described.iter().filter(|p| p.place == Place::Path) {
        if is_repo_scoped(op) && matches!(p.name.as_str(), "namespace" | "repository" | "tag") {
            continue;
        }
        let help = if p.description.is_empty() {
            p.name.replace('_', " ")
        } else {
            p.description.clone()
        };
        cmd = cmd.arg(
            Arg::new(format!("{P}{}", p.name))
                .value_name(positional_name(&p.name))
                .help(help)
                .required(true)
                .index(idx),
        );
        idx += 1;
    }
    for p in described.iter().filter(|p| p.place != Place::Path) {
        if uses_pages(op) && matches!(p.name.as_str(), "page" | "page_size") {
            continue;
        }
        cmd = cmd.arg(flag(p));
    }
    if op.body.is_some() {
        cmd = cmd.arg(
            Arg::new("body")
                .long("body")
                .value_name("JSON|@FILE")
                .help("Whole request body as JSON (or @file); flags override its fields"),
        );
    }
    cmd
}

fn flag(p: &ParamInfo) -> Arg {
    let mut long = kebab(&p.name);
    if GLOBAL_FLAGS.contains(&long.as_str()) {
        long = format!("param-{long}");
    }
    let mut help = if p.description.is_empty() {
        p.name.replace('_', " ")
    } else {
        p.description.clone()
    };
    if p.required {
        help.push_str(" [required]");
    }
    let mut arg = Arg::new(format!("{P}{}", p.name))
        .long(long)
        .help(help.clone());
    match p.kind.as_str() {
        "boolean" => {
            arg = arg
                .value_name("BOOL")
                .num_args(0..=1)
                .require_equals(true)
                .default_missing_value("true")
                .value_parser(clap::builder::BoolishValueParser::new());
        }
        "integer" => {
            arg = arg.value_name("N").value_parser(clap::value_parser!(i64));
        }
        "number" => {
            arg = arg.value_name("NUM").value_parser(clap::value_parser!(f64));
        }
        "array" => {
            arg = arg
                .value_name("VALUE")
                .action(ArgAction::Append)
                .help(format!("{help} (repeat, or one JSON array)"));
        }
        "object" => arg = arg.value_name("JSON"),
        _ => arg = arg.value_name("TEXT"),
    }
    if !p.choices.is_empty() && p.kind == "string" {
        arg = arg.value_parser(PossibleValuesParser::new(p.choices.clone()));
    }
    arg
}

/// The `NAMESPACE/REPO` positional of a repository-level command (`prune`,
/// `describe`); a `:TAG` is a usage error.
pub fn repo_target(m: &clap::ArgMatches, command: &str) -> CliResult<(String, String)> {
    let target = m
        .get_one::<String>("target")
        .ok_or_else(|| CliError::usage("give NAMESPACE/REPO", None))?;
    match split_target(target)? {
        (ns, repo, None) => Ok((ns, repo)),
        _ => Err(CliError::usage(
            format!("{command} takes NAMESPACE/REPO without a tag"),
            None,
        )),
    }
}

/// Split `NAMESPACE/REPO[:TAG]`.
pub fn split_target(s: &str) -> CliResult<(String, String, Option<String>)> {
    let bad = || {
        CliError::usage(
            format!("{s:?} is not NAMESPACE/REPO[:TAG]"),
            Some("for example acme/app or acme/app:1.0.0 (official images: library/nginx)"),
        )
    };
    let (ns, rest) = s.split_once('/').ok_or_else(bad)?;
    let (repo, tag) = match rest.split_once(':') {
        Some((r, t)) => (r, Some(t.to_string())),
        None => (rest, None),
    };
    if ns.is_empty() || repo.is_empty() || repo.contains('/') || tag.as_deref() == Some("") {
        return Err(bad());
    }
    Ok((ns.to_string(), repo.to_string(), tag))
}

fn parse_json(flag: &str, text: &str) -> CliResult<Value> {
    let text = match text.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).map_err(|e| CliError::io(path, e))?,
        None => text.to_string(),
    };
    serde_json::from_str(&text).map_err(|e| {
        CliError::usage(
            format!("--{flag}: not valid JSON: {e}"),
            Some("quote the JSON for your shell, or pass @file"),
        )
    })
}

fn array_item(p: &ParamInfo, s: &str) -> Value {
    let t = s.trim();
    if (t.starts_with('{') || t.starts_with('['))
        && let Ok(v) = serde_json::from_str(t)
    {
        return v;
    }
    let item_kind = p
        .schema
        .get("items")
        .and_then(|i| i.get("type"))
        .and_then(Value::as_str);
    match item_kind {
        Some("integer") => t
            .parse::<i64>()
            .map_or_else(|_| Value::String(s.into()), Value::from),
        Some("number") => t
            .parse::<f64>()
            .map_or_else(|_| Value::String(s.into()), Value::from),
        _ => Value::String(s.to_string()),
    }
}

/// Turn the matches of an operation's command into the SDK's flat JSON params.
pub fn collect_params(
    op: &Operation,
    m: &ArgMatches,
    page: Option<u64>,
    page_size: Option<u64>,
) -> CliResult<Map<String, Value>> {
    let mut out = Map::new();
    if let Some(b) = m.try_get_one::<String>("body").ok().flatten() {
        match parse_json("body", b)? {
            Value::Object(fields) => out.extend(fields),
            other => {
                out.insert("body".into(), other);
            }
        }
    }
    if is_repo_scoped(op)
        && let Some(t) = m.get_one::<String>("target")
    {
        let (ns, repo, tag) = split_target(t)?;
        match (tag, has_tag(op)) {
            (Some(tag), true) => {
                out.insert("tag".into(), tag.into());
            }
            (None, true) => {
                return Err(CliError::usage(
                    format!("{t:?} names no tag"),
                    Some("give NAMESPACE/REPO:TAG"),
                ));
            }
            (Some(_), false) => {
                return Err(CliError::usage(
                    format!("{} takes NAMESPACE/REPO without a tag", op.action),
                    None,
                ));
            }
            (None, false) => {}
        }
        out.insert("namespace".into(), ns.into());
        out.insert("repository".into(), repo.into());
    }
    for p in params::describe(op) {
        let id = format!("{P}{}", p.name);
        let present = m.try_contains_id(&id).unwrap_or(false)
            && m.value_source(&id) != Some(clap::parser::ValueSource::DefaultValue);
        if !present {
            continue;
        }
        let v = match p.kind.as_str() {
            "boolean" => m.get_one::<bool>(&id).map(|b| Value::Bool(*b)),
            "integer" => m.get_one::<i64>(&id).map(|n| Value::from(*n)),
            "number" => m.get_one::<f64>(&id).map(|n| Value::from(*n)),
            "array" => {
                let vals: Vec<&String> = m
                    .get_many::<String>(&id)
                    .map(|v| v.collect())
                    .unwrap_or_default();
                match vals.as_slice() {
                    [one] if one.trim_start().starts_with('[') => Some(parse_json(&p.name, one)?),
                    many => Some(Value::Array(
                        many.iter().map(|s| array_item(&p, s)).collect(),
                    )),
                }
            }
            "object" => match m.get_one::<String>(&id) {
                Some(s) => Some(parse_json(&p.name, s)?),
                None => None,
            },
            _ => m.get_one::<String>(&id).map(|s| Value::String(s.clone())),
        };
        if let Some(v) = v {
            out.insert(p.name.clone(), v);
        }
    }
    if uses_pages(op) {
        if let Some(n) = page {
            out.insert("page".into(), n.into());
        }
        if let Some(n) = page_size {
            out.insert("page_size".into(), n.into());
        }
    }
    Ok(out)
}

/// Natural aliases of an action name (`list` → `ls`, `delete` → `rm`).
pub fn aliases(action: &str) -> Vec<String> {
    let mut v = Vec::new();
    let dashed = command_name(action);
    match action {
        "list" => v.push("ls".to_string()),
        "delete" => v.push("rm".to_string()),
        "get" => v.push("show".to_string()),
        _ => {}
    }
    if dashed != action {
        v.push(action.to_string());
    }
    v
}

/// The operation a `tags` alias stands for.
pub fn tags_alias(sub: &str) -> Option<&'static Operation> {
    let action = match sub {
        "list" => "list_tags",
        "get" => "get_tag",
        "delete" => "delete_tag",
        "check" => "check_tag",
        _ => return None,
    };
    crate::catalog::find(Module::Repos, action)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_and_names() {
        assert_eq!(
            split_target("acme/app:1.0").unwrap(),
            ("acme".into(), "app".into(), Some("1.0".into()))
        );
        assert!(split_target("acme").is_err());
        assert!(split_target("a/b/c").is_err());
        assert_eq!(kebab("startIndex"), "start-index");
        assert_eq!(kebab("page_size"), "page-size");
    }

    #[test]
    fn every_operation_builds_a_valid_command() {
        for op in crate::catalog::OPERATIONS {
            op_command(op, command_name(op.action)).debug_assert();
        }
    }
}
