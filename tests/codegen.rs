//! Tests of the build-time generator (`codegen/`, shared with `build.rs`).
//!
//! * the checked-in `openapi/surface.txt` equals the generated surface
//!   (`UPDATE_SURFACE=1 cargo test --test codegen` rewrites it);
//! * an operation missing from `openapi/catalog.yaml` fails and is named;
//! * every rule is a no-op on already-normalized input;
//! * problems no rule handles fail with a message naming them;
//! * the catalog keeps the seed's module/action names and safety rules;
//! * path parameters are percent-encoded by the generated client.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)]
#[path = "../codegen/mod.rs"]
mod codegen;

use serde_json::{Value, json};
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn inputs() -> codegen::Inputs {
    codegen::Inputs::load(&root().join("openapi")).unwrap()
}

fn run_ok(inputs: &codegen::Inputs) -> codegen::Output {
    match codegen::run(inputs) {
        Ok(o) => o,
        Err(e) => panic!("pipeline failed:\n{e}"),
    }
}

fn add_path(inputs: &mut codegen::Inputs, path: &str, item: Value) {
    inputs.upstream["paths"]
        .as_object_mut()
        .unwrap()
        .insert(path.to_string(), item);
}

fn map_op(inputs: &mut codegen::Inputs, key: &str, entry: Value) {
    inputs.catalog["operations"]
        .as_object_mut()
        .unwrap()
        .insert(key.to_string(), entry);
}

fn line_diff(expected: &str, actual: &str) -> String {
    let e: std::collections::BTreeSet<&str> = expected.lines().collect();
    let a: std::collections::BTreeSet<&str> = actual.lines().collect();
    let mut out = String::new();
    for l in e.difference(&a) {
        out.push_str(&format!("- {l}\n"));
    }
    for l in a.difference(&e) {
        out.push_str(&format!("+ {l}\n"));
    }
    out
}

#[test]
fn surface_snapshot_matches() {
    let generated = run_ok(&inputs()).surface;
    // The build script's copy must be the same text.
    let from_build = include_str!(concat!(env!("OUT_DIR"), "/surface.txt"));
    assert_eq!(
        generated, from_build,
        "codegen output differs from the build's $OUT_DIR/surface.txt"
    );
    let path = root().join("openapi/surface.txt");
    if std::env::var_os("UPDATE_SURFACE").is_some_and(|v| v != "0") {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    if checked_in != generated {
        panic!(
            "openapi/surface.txt is out of date (- checked in, + generated):\n{}\n\
             Review the API change, then run `UPDATE_SURFACE=1 cargo test -p dockerhub-api --test codegen` \
             to rewrite openapi/surface.txt.",
            line_diff(&checked_in, &generated)
        );
    }
}

fn widget_op() -> Value {
    json!({
        "get": {
            "summary": "Get a widget",
            "parameters": [{"in": "path", "name": "id", "required": true, "schema": {"type": "string"}}],
            "responses": {
                "200": {
                    "description": "OK",
                    "content": {"application/json": {"schema": {
                        "type": "object",
                        "properties": {"id": {"type": "string"}}
                    }}}
                }
            }
        }
    })
}

#[test]
fn unmapped_operation_fails_and_is_named_until_mapped() {
    let mut inp = inputs();
    add_path(&mut inp, "/v2/widgets/{id}", widget_op());
    let err = codegen::run(&inp).expect_err("an unmapped operation must fail");
    assert!(
        err.contains("GET /v2/widgets/{id}"),
        "error does not name the operation: {err}"
    );
    assert!(
        err.contains("openapi/catalog.yaml"),
        "error does not say what to edit: {err}"
    );
    assert!(
        err.contains("get_v2_widgets_id"),
        "error does not suggest the fallback id: {err}"
    );

    map_op(
        &mut inp,
        "GET /v2/widgets/{id}",
        json!({"id": "get_widget", "module": "admin", "action": "get_widget"}),
    );
    let out = run_ok(&inp);
    assert_eq!(out.rows.len(), 64);
    let row = out.rows.iter().find(|r| r.id == "get_widget").unwrap();
    assert_eq!(row.safety, "read");
    assert!(
        out.surface
            .contains("admin.get_widget GET /v2/widgets/{id} read none\n")
    );
    let touched = &out.report.rule("missing-operation-id").unwrap().touched;
    assert!(touched.iter().any(|t| t.contains("GET /v2/widgets/{id}")));
}

#[test]
fn stale_catalog_entry_fails() {
    let mut inp = inputs();
    map_op(
        &mut inp,
        "GET /v2/gone",
        json!({"id": "gone", "module": "admin", "action": "gone"}),
    );
    let err = codegen::run(&inp).expect_err("a stale entry must fail");
    assert!(err.contains("GET /v2/gone"), "{err}");
}

#[test]
fn excluded_operation_is_not_generated() {
    let mut inp = inputs();
    add_path(&mut inp, "/v2/widgets/{id}", widget_op());
    inp.catalog["excluded"] = json!([{"operation": "GET /v2/widgets/{id}", "reason": "test"}]);
    let out = run_ok(&inp);
    assert_eq!(out.rows.len(), 63);
    assert_eq!(
        out.report.excluded,
        vec!["GET /v2/widgets/{id}".to_string()]
    );
    assert!(out.spec["paths"].get("/v2/widgets/{id}").is_none());
}

#[test]
fn every_rule_fires_on_the_vendored_spec() {
    let out = run_ok(&inputs());
    assert_eq!(out.report.rules.len(), 18);
    for r in &out.report.rules {
        assert!(
            !r.touched.is_empty(),
            "rule `{}` (problem {}) matched nothing on the vendored spec",
            r.rule,
            r.problem
        );
    }
    assert_eq!(
        out.report
            .rule("missing-operation-id")
            .unwrap()
            .touched
            .len(),
        40
    );
}

#[test]
fn rules_are_noops_on_normalized_input() {
    let first = run_ok(&inputs());
    let again = codegen::Inputs {
        upstream: first.spec.clone(),
        extension: json!({"paths": {}}),
        catalog: inputs().catalog,
    };
    let second = run_ok(&again);
    for r in &second.report.rules {
        assert!(
            r.touched.is_empty(),
            "rule `{}` is not idempotent; second pass touched: {:#?}",
            r.rule,
            r.touched
        );
    }
    assert!(second.spec == first.spec, "second pass changed the spec");
    assert_eq!(second.surface, first.surface);
    assert_eq!(second.rows.len(), first.rows.len());
    for (a, b) in first.rows.iter().zip(&second.rows) {
        assert!(
            a == b,
            "row `{}` differs on the second pass:\n{a:?}\n{b:?}",
            a.id
        );
    }
}

#[test]
fn normalized_spec_parses_as_openapi() {
    let out = run_ok(&inputs());
    let parsed: Result<openapiv3::OpenAPI, _> = serde_json::from_value(out.spec);
    assert!(parsed.is_ok(), "{:?}", parsed.err());
}

#[test]
fn normalized_spec_carries_the_fixes() {
    let spec = run_ok(&inputs()).spec;
    let tag = &spec["components"]["schemas"]["tag"]["properties"];
    assert_eq!(tag["images"]["type"], "array");
    assert_eq!(tag["v2"]["type"], "boolean");
    let members = spec
        .pointer("/paths/~1v2~1orgs~1{org_name}~1members/get/responses/200/content/application~1json/schema")
        .unwrap();
    assert_eq!(members["$ref"], "#/components/schemas/org_member_paginated");
    assert_eq!(
        spec["components"]["parameters"]["search"]["schema"]["type"],
        "string"
    );
    assert!(spec["components"]["schemas"].get("error").is_none());
    assert!(
        spec["components"]["schemas"]["Error"]["properties"]
            .get("errinfo")
            .is_some()
    );
    assert!(spec["components"]["schemas"].get("HubError").is_some());
    let text = spec.to_string();
    assert!(!text.contains("\"application/scim+json\":"));
    assert!(text.contains("\"x-wire-content-type\":\"application/scim+json\""));
    // Every operation has an id, and the HEAD routes declare no bodies.
    for (path, method) in codegen::operations(&spec) {
        let op = &spec["paths"][&path][&method];
        assert!(op["operationId"].is_string(), "{method} {path}");
        if method == "head" {
            for (_, r) in op["responses"].as_object().unwrap() {
                assert!(r.get("content").is_none(), "{method} {path}");
            }
        }
    }
}

#[test]
fn unknown_problem_two_success_types_fails_and_is_named() {
    let mut inp = inputs();
    add_path(
        &mut inp,
        "/v2/widgets",
        json!({"get": {
            "operationId": "ListWidgets",
            "responses": {
                "200": {"description": "a", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/tag"}}}},
                "201": {"description": "b", "content": {"application/json": {"schema": {"type": "object", "properties": {"x": {"type": "string"}}}}}}
            }
        }}),
    );
    map_op(
        &mut inp,
        "GET /v2/widgets",
        json!({"id": "list_widgets", "module": "admin", "action": "widgets"}),
    );
    let err = codegen::run(&inp).expect_err("two success types must fail");
    assert!(err.contains("GET /v2/widgets"), "{err}");
    assert!(err.contains("different success types"), "{err}");
    assert!(err.contains("codegen/rules.rs"), "{err}");
}

#[test]
fn unknown_problem_content_type_fails_and_is_named() {
    let mut inp = inputs();
    add_path(
        &mut inp,
        "/v2/widgets",
        json!({"post": {
            "operationId": "CreateWidget",
            "requestBody": {"content": {"application/xml": {"schema": {"type": "string"}}}},
            "responses": {"201": {"description": "created"}}
        }}),
    );
    map_op(
        &mut inp,
        "POST /v2/widgets",
        json!({"id": "create_widget", "module": "admin", "action": "create_widget"}),
    );
    let err = codegen::run(&inp).expect_err("an XML body must fail");
    assert!(err.contains("POST /v2/widgets"), "{err}");
    assert!(err.contains("application/xml"), "{err}");
}

#[test]
fn wrong_catalog_id_for_upstream_operation_id_fails() {
    let mut inp = inputs();
    map_op(
        &mut inp,
        "GET /v2/namespaces/{namespace}/repositories",
        json!({"id": "list_repos", "module": "repos", "action": "list", "pagination": "django"}),
    );
    let err = codegen::run(&inp).expect_err("id must match the operationId");
    assert!(err.contains("list_namespace_repositories"), "{err}");
}

const SEED_ACTIONS: &[(&str, &[&str])] = &[
    (
        "auth",
        &[
            "create_token",
            "login",
            "two_factor_login",
            "list_pats",
            "create_pat",
            "get_pat",
            "update_pat",
            "delete_pat",
            "list_oats",
            "create_oat",
            "get_oat",
            "update_oat",
            "delete_oat",
        ],
    ),
    (
        "repos",
        &[
            "list",
            "create",
            "get",
            "check",
            "list_tags",
            "check_tags",
            "get_tag",
            "check_tag",
            "set_immutable_tags",
            "verify_immutable_tags",
            "assign_group",
        ],
    ),
    (
        "org",
        &[
            "get_settings",
            "update_settings",
            "list_members",
            "export_members",
            "update_member",
            "remove_member",
            "list_invites",
            "delete_invite",
            "resend_invite",
            "bulk_invite",
        ],
    ),
    (
        "teams",
        &[
            "list",
            "create",
            "get",
            "update",
            "patch",
            "delete",
            "list_members",
            "add_member",
            "remove_member",
        ],
    ),
    ("audit", &["logs", "actions"]),
    (
        "scim",
        &[
            "service_provider_config",
            "resource_types",
            "resource_type",
            "schemas",
            "schema",
            "list_users",
            "get_user",
            "create_user",
            "update_user",
        ],
    ),
];

#[test]
fn catalog_has_the_seed_names_and_safety_rules() {
    let out = run_ok(&inputs());
    assert_eq!(out.rows.len(), 63);
    assert_eq!(out.rows.iter().filter(|r| r.extension).count(), 9);
    let seed_count: usize = SEED_ACTIONS.iter().map(|(_, a)| a.len()).sum();
    assert_eq!(seed_count, 54);
    for (module, actions) in SEED_ACTIONS {
        for action in *actions {
            let row = out
                .rows
                .iter()
                .find(|r| r.module == *module && r.action == *action)
                .unwrap_or_else(|| panic!("missing seed action {module}.{action}"));
            assert!(
                !row.extension,
                "{module}.{action} should be an upstream route"
            );
        }
    }
    for r in &out.rows {
        let should_be_destructive = r.method == "DELETE" || r.id == "update_org_settings";
        assert_eq!(
            r.safety == "destructive",
            should_be_destructive,
            "{}.{} ({} {}) has safety {}",
            r.module,
            r.action,
            r.method,
            r.path,
            r.safety
        );
        if r.method == "GET" || r.method == "HEAD" {
            assert_eq!(r.safety, "read", "{}.{}", r.module, r.action);
        }
        if r.path.starts_with("/v2/scim/") {
            assert_eq!(r.auth, "scim");
            assert_eq!(r.content_type, "application/scim+json");
        } else {
            assert_eq!(r.content_type, "application/json");
        }
        if r.method == "HEAD" {
            assert_eq!(r.response, "exists");
        }
        assert!(!r.summary.is_empty(), "{} has no summary", r.id);
        assert!(!r.summary.contains('\n'));
    }
    for id in [
        "auth_create_access_token",
        "post_users_login",
        "post_users2_fa_login",
    ] {
        let r = out.rows.iter().find(|r| r.id == id).unwrap();
        assert_eq!(r.auth, "none", "{id}");
        assert_eq!(r.safety, "read", "{id}");
    }
    let verify = out
        .rows
        .iter()
        .find(|r| r.action == "verify_immutable_tags")
        .unwrap();
    assert_eq!(verify.safety, "read");
    let export = out
        .rows
        .iter()
        .find(|r| r.action == "export_members")
        .unwrap();
    assert_eq!(export.response, "text");
    let pag = |m: &str, a: &str| {
        out.rows
            .iter()
            .find(|r| r.module == m && r.action == a)
            .unwrap()
            .pagination
            .clone()
    };
    assert_eq!(pag("repos", "list_tags"), "django");
    assert_eq!(pag("auth", "list_pats"), "django_pat");
    assert_eq!(pag("auth", "list_oats"), "django_oat");
    assert_eq!(pag("audit", "logs"), "audit_pages");
    assert_eq!(pag("org", "list_invites"), "unpaged");
    assert_eq!(pag("scim", "list_users"), "scim");
    // Param and body schemas are self-contained JSON.
    for r in &out.rows {
        for p in &r.params {
            let v: Value = serde_json::from_str(&p.schema).unwrap();
            assert!(!p.schema.contains("$ref"), "{}: {}", r.id, p.schema);
            assert!(!p.schema.contains("int32"), "{}: {}", r.id, p.schema);
            assert!(v.is_object());
        }
        if let Some(b) = &r.body {
            let _: Value = serde_json::from_str(b).unwrap();
            assert!(!b.contains("$ref"), "{}: {b}", r.id);
            assert!(!b.contains("nullable"), "{}: {b}", r.id);
        }
    }
}

#[test]
fn compiled_catalog_matches_the_generator() {
    use dockerhub_api::catalog::{OPERATIONS, Safety};
    let out = run_ok(&inputs());
    assert_eq!(OPERATIONS.len(), out.rows.len());
    for (op, row) in OPERATIONS.iter().zip(&out.rows) {
        assert_eq!(op.id, row.id);
        assert_eq!(op.action, row.action);
        assert_eq!(op.module.name(), row.module);
        assert_eq!(op.path, row.path);
        assert_eq!(op.extension, row.extension);
        let destructive = op.safety == Safety::Destructive;
        assert_eq!(destructive, row.safety == "destructive");
    }
}

#[test]
fn path_parameters_are_percent_encoded() {
    assert_eq!(
        progenitor_client::encode_path("../../v2/users/login#"),
        "..%2F..%2Fv2%2Fusers%2Flogin%23"
    );
    // Every path parameter in the generated client goes through encode_path.
    let code = include_str!(concat!(env!("OUT_DIR"), "/codegen.rs"));
    let mut urls = 0;
    let mut rest = code;
    while let Some(i) = rest.find("let url = format!(") {
        let tail = &rest[i..];
        let end = tail.find(");").unwrap();
        let call = &tail[..end];
        let q1 = call.find('"').unwrap();
        let q2 = q1 + 1 + call[q1 + 1..].find('"').unwrap();
        let template = &call[q1 + 1..q2];
        let holes = template.matches("{}").count();
        assert!(holes >= 1, "{call}");
        assert_eq!(
            call.matches("encode_path(").count(),
            holes - 1,
            "a path parameter is not percent-encoded in: {call}"
        );
        urls += 1;
        rest = &tail[end..];
    }
    assert_eq!(urls, 63, "expected one URL per operation");
}
