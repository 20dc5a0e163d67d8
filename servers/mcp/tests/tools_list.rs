//! tools/list: generated from the catalog, honest annotations, token budget,
//! and snapshots of three configurations.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

mod common;

use common::{config, tokens, tools_json};
use dockerhub_api::catalog::{self, Module, Safety};
use dockerhub_mcp::Toolset;
use dockerhub_mcp::tools::all_actions;
use rmcp::model::Tool;
use serde_json::Value;

fn tools(args: &[&str]) -> Vec<Tool> {
    Toolset::from_config(&config(args)).unwrap().tools()
}

fn tool<'a>(tools: &'a [Tool], name: &str) -> &'a Tool {
    tools
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("{name} listed"))
}

fn actions(t: &Tool) -> Vec<String> {
    t.input_schema["properties"]["action"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

const CONFIGS: &[&[&str]] = &[
    &[],
    &["--read-only"],
    &["--allow-destructive"],
    &["--allow-destructive", "--read-only"],
    &["--toolsets", "repos,audit"],
    &["--toolsets", "admin", "--read-only"],
];

#[test]
fn token_budget_with_everything_on() {
    let all = tools(&["--allow-destructive"]);
    assert_eq!(all.len(), 7);
    let text = tools_json(&all);
    let n = tokens(&text);
    let default = tokens(&tools_json(&tools(&[])));
    println!(
        "tools/list: {n} cl100k tokens with everything on ({} bytes); {default} by default",
        text.len()
    );
    assert!(
        n <= 3_000,
        "tools/list is {n} tokens, over the 3,000 budget"
    );
}

#[test]
fn every_tool_sets_all_four_annotations() {
    for args in CONFIGS {
        for t in tools(args) {
            let a = t
                .annotations
                .as_ref()
                .unwrap_or_else(|| panic!("{} has annotations", t.name));
            assert!(
                a.read_only_hint.is_some(),
                "{} readOnlyHint unset ({args:?})",
                t.name
            );
            assert!(
                a.destructive_hint.is_some(),
                "{} destructiveHint unset ({args:?})",
                t.name
            );
            assert!(
                a.idempotent_hint.is_some(),
                "{} idempotentHint unset ({args:?})",
                t.name
            );
            assert!(
                a.open_world_hint.is_some(),
                "{} openWorldHint unset ({args:?})",
                t.name
            );
            // And on the wire, camelCase.
            let wire = serde_json::to_value(&t).unwrap();
            for k in [
                "readOnlyHint",
                "destructiveHint",
                "idempotentHint",
                "openWorldHint",
            ] {
                assert!(
                    wire["annotations"][k].is_boolean(),
                    "{} {k} on the wire",
                    t.name
                );
            }
        }
    }
}

#[test]
fn annotations_match_the_offered_actions() {
    for args in CONFIGS {
        let cfg = config(args);
        let ts = Toolset::from_config(&cfg).unwrap();
        for t in ts.tools() {
            let m = Module::parse(&t.name).unwrap();
            let offered = ts.offered(m);
            let a = t.annotations.clone().unwrap();
            let ro = offered.iter().all(|x| x.safety() == Safety::Read);
            let de = offered.iter().any(|x| x.safety() == Safety::Destructive);
            assert_eq!(a.read_only_hint, Some(ro), "{} readOnly {args:?}", t.name);
            assert_eq!(
                a.destructive_hint,
                Some(de),
                "{} destructive {args:?}",
                t.name
            );
            assert_eq!(a.open_world_hint, Some(true));
            let names = actions(&t);
            assert_eq!(names.len(), offered.len());
            if cfg.read_only {
                assert_eq!(a.read_only_hint, Some(true), "{} in read-only mode", t.name);
                assert_eq!(a.destructive_hint, Some(false));
            }
        }
    }
    // Concrete expectations a reviewer can read.
    let d = tools(&[]);
    let repos = tool(&d, "hub_repos").annotations.clone().unwrap();
    assert_eq!(
        (repos.read_only_hint, repos.destructive_hint),
        (Some(false), Some(false))
    );
    let audit = tool(&d, "hub_audit").annotations.clone().unwrap();
    assert_eq!(
        (audit.read_only_hint, audit.idempotent_hint),
        (Some(true), Some(true))
    );
    let e = tools(&["--allow-destructive"]);
    let repos = tool(&e, "hub_repos").annotations.clone().unwrap();
    assert_eq!(repos.destructive_hint, Some(true));
}

#[test]
fn destructive_actions_hidden_until_allowed() {
    let d = tools(&[]);
    let repos = actions(tool(&d, "hub_repos"));
    assert!(repos.contains(&"list_tags".to_string()));
    assert!(!repos.contains(&"delete_tag".to_string()));
    assert!(!repos.contains(&"delete".to_string()));
    let desc = tool(&d, "hub_repos").description.clone().unwrap();
    assert!(desc.contains("DOCKERHUB_ALLOW_DESTRUCTIVE"), "{desc}");
    assert!(
        tool(&d, "hub_repos").input_schema["properties"]
            .get("confirm")
            .is_none()
    );

    let e = tools(&["--allow-destructive"]);
    let repos = actions(tool(&e, "hub_repos"));
    assert!(repos.contains(&"delete_tag".to_string()));
    assert!(tool(&e, "hub_repos").input_schema["properties"]["confirm"].is_object());
    assert!(actions(tool(&e, "hub_org")).contains(&"update_settings".to_string()));
}

#[test]
fn read_only_mode_lists_only_reads() {
    let r = tools(&["--read-only", "--allow-destructive"]);
    for t in &r {
        let m = Module::parse(&t.name).unwrap();
        for a in actions(t) {
            let action = all_actions(m).into_iter().find(|x| x.name() == a).unwrap();
            assert_eq!(
                action.safety(),
                Safety::Read,
                "{}.{a} offered in read-only mode",
                t.name
            );
        }
    }
    assert!(!actions(tool(&r, "hub_repos")).contains(&"create".to_string()));
}

#[test]
fn toggles_and_toolsets_choose_modules() {
    let names =
        |args: &[&str]| -> Vec<String> { tools(args).iter().map(|t| t.name.to_string()).collect() };
    assert_eq!(
        names(&["--toolsets", "repos,admin"]),
        ["hub_repos", "hub_admin"]
    );
    assert_eq!(names(&["--toolsets", "hub_org"]), ["hub_org"]);
    assert!(!names(&["--repostool", "false"]).contains(&"hub_repos".to_string()));
    assert!(!names(&["--scimtool", "False"]).contains(&"hub_scim".to_string()));
    assert_eq!(
        names(&["--toolsets", "repos,scim", "--scimtool", "0"]),
        ["hub_repos"]
    );
    assert_eq!(names(&["--toolsets", "all"]).len(), 7);
    let bad = dockerhub_mcp::Config::from_args(["x", "--toolsets", "repos,nope"]).unwrap();
    let err = bad.modules().unwrap_err().to_string();
    assert!(err.contains("nope") && err.contains("repos"), "{err}");
}

#[test]
fn every_catalog_parameter_is_visible_with_type_and_requiredness() {
    let e = tools(&["--allow-destructive"]);
    for op in catalog::OPERATIONS {
        let t = tool(&e, op.module.tool_name());
        let desc = t.description.clone().unwrap();
        let line = desc
            .lines()
            .find(|l| l.starts_with(&format!("{}(", op.action)))
            .unwrap_or_else(|| panic!("{} listed in {}", op.action, t.name));
        for p in dockerhub_api::params::describe(op) {
            let mark = if p.required {
                format!("{}*", p.name)
            } else {
                p.name.clone()
            };
            assert!(
                line.contains(&mark),
                "{}: {mark} missing from `{line}`",
                op.qualified_name()
            );
        }
    }
    // local action
    assert!(
        tool(&e, "hub_admin")
            .description
            .clone()
            .unwrap()
            .contains("rate_limit()")
    );
}

#[test]
fn input_schema_shape() {
    for t in tools(&["--allow-destructive"]) {
        let s = Value::Object((*t.input_schema).clone());
        assert_eq!(s["type"], "object");
        assert_eq!(s["required"], serde_json::json!(["action"]));
        assert_eq!(s["properties"]["params"]["type"], "object");
        assert_eq!(s["properties"]["params_json"]["type"], "string");
        assert_eq!(t.output_schema.as_ref().unwrap()["type"], "object");
    }
}

#[test]
fn snapshot_default() {
    insta::assert_json_snapshot!("tools_default", tools(&[]));
}

#[test]
fn snapshot_read_only() {
    insta::assert_json_snapshot!("tools_read_only", tools(&["--read-only"]));
}

#[test]
fn snapshot_everything() {
    insta::assert_json_snapshot!("tools_everything", tools(&["--allow-destructive"]));
}
