//! tools/call in process (duplex pipe) against the emulator: every action
//! class, confirmation, params_json, all:true, and bad input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{TestClient, call, in_process, is_error, structured, text};
use rmcp::model::{CallToolRequestParams, NumberOrString, ProgressToken, RequestMetaObject};
use serde_json::{Value, json};

fn deletes(env: &common::Env) -> usize {
    env.emu
        .requests()
        .iter()
        .filter(|r| r.method == "DELETE")
        .count()
}

#[tokio::test]
async fn read_list_is_trimmed_with_a_short_summary() {
    let env = in_process(&[], TestClient::default()).await;
    let r = call(&env.client, "hub_repos", json!({"action": "list_tags", "params": {"namespace": "acme", "repository": "many-tags", "page_size": 5}})).await;
    assert!(!is_error(&r), "{}", text(&r));
    let s = structured(&r);
    assert_eq!(s["status_code"], 200);
    let data = &s["data"];
    assert_eq!(data["items"].as_array().unwrap().len(), 5);
    assert_eq!(data["count"], 10_000);
    assert_eq!(data["page"], 1);
    assert_eq!(data["next_page"], 2);
    assert!(s["rate_limit"]["remaining"].is_u64());
    let t = text(&r);
    assert!(
        t.contains("5 tags") && t.contains("page 1 of 2000") && t.contains("rate limit"),
        "{t}"
    );
    assert!(t.len() < 400, "summary, not a copy: {t}");
    assert!(t.contains("v0.0.0"), "item names in the summary: {t}");
    // next page
    let r = call(&env.client, "hub_repos", json!({"action": "list_tags", "params": {"namespace": "acme", "repository": "many-tags", "page_size": 5, "page": 2}})).await;
    assert_eq!(structured(&r)["data"]["page"], 2);
    assert_eq!(structured(&r)["data"]["next_page"], 3);
}

#[tokio::test]
async fn read_single_and_head_checks() {
    let env = in_process(&[], TestClient::default()).await;
    let r = call(
        &env.client,
        "hub_repos",
        json!({"action": "get", "params": {"namespace": "acme", "repository": "app"}}),
    )
    .await;
    assert!(!is_error(&r), "{}", text(&r));
    assert_eq!(structured(&r)["data"]["name"], "app");
    let r = call(
        &env.client,
        "hub_repos",
        json!({"action": "check", "params": {"namespace": "acme", "repository": "app"}}),
    )
    .await;
    assert_eq!(structured(&r)["exists"], true);
    let r = call(
        &env.client,
        "hub_repos",
        json!({"action": "check", "params": {"namespace": "acme", "repository": "nope"}}),
    )
    .await;
    assert!(!is_error(&r));
    assert_eq!(structured(&r)["exists"], false);
    assert!(text(&r).contains("exists=false"), "{}", text(&r));
}

#[tokio::test]
async fn hub_errors_are_actionable_tool_errors() {
    let env = in_process(&[], TestClient::default()).await;
    let r = call(
        &env.client,
        "hub_repos",
        json!({"action": "get", "params": {"namespace": "acme", "repository": "does-not-exist"}}),
    )
    .await;
    assert!(is_error(&r));
    let s = structured(&r);
    assert_eq!(s["error"]["status"], 404);
    assert_eq!(s["error"]["type"], "not_found");
    assert!(text(&r).contains("hub_repos.get"), "{}", text(&r));
}

#[tokio::test]
async fn write_creates_a_repository() {
    let env = in_process(&[], TestClient::default()).await;
    let r = call(&env.client, "hub_repos", json!({"action": "create", "params": {"namespace": "acme", "name": "fresh", "description": "made by a test"}})).await;
    assert!(!is_error(&r), "{}", text(&r));
    assert_eq!(structured(&r)["status_code"], 201);
    let r = call(
        &env.client,
        "hub_repos",
        json!({"action": "get", "params": {"namespace": "acme", "repository": "fresh"}}),
    )
    .await;
    assert_eq!(structured(&r)["data"]["description"], "made by a test");
}

#[tokio::test]
async fn destructive_blocked_by_default() {
    let env = in_process(&[], TestClient::elicit(true)).await;
    let r = call(&env.client, "hub_repos", json!({"action": "delete_tag", "params": {"namespace": "acme", "repository": "app", "tag": "latest"}, "confirm": true})).await;
    assert!(is_error(&r));
    let t = text(&r);
    assert!(
        t.contains("DOCKERHUB_ALLOW_DESTRUCTIVE") && t.contains("hub_repos.delete_tag"),
        "{t}"
    );
    assert_eq!(structured(&r)["error"]["type"], "blocked");
    assert_eq!(deletes(&env), 0);
    assert!(env.handler.asked.lock().unwrap().is_empty());
}

#[tokio::test]
async fn destructive_allowed_with_confirm_true() {
    let env = in_process(&["--allow-destructive"], TestClient::default()).await;
    let args = json!({"action": "delete_tag", "params": {"namespace": "acme", "repository": "app", "tag": "latest"}});
    // Without confirm and without elicitation: refused, nothing sent.
    let r = call(&env.client, "hub_repos", args.clone()).await;
    assert!(is_error(&r));
    assert!(text(&r).contains("confirm\": true"), "{}", text(&r));
    assert_eq!(deletes(&env), 0);
    let mut confirmed = args.clone();
    confirmed["confirm"] = json!(true);
    let r = call(&env.client, "hub_repos", confirmed).await;
    assert!(!is_error(&r), "{}", text(&r));
    assert_eq!(deletes(&env), 1);
    let r = call(&env.client, "hub_repos", json!({"action": "get_tag", "params": {"namespace": "acme", "repository": "app", "tag": "latest"}})).await;
    assert!(is_error(&r));
}

#[tokio::test]
async fn destructive_confirmed_through_elicitation() {
    let env = in_process(&["--allow-destructive"], TestClient::elicit(true)).await;
    let r = call(&env.client, "hub_repos", json!({"action": "delete_tag", "params": {"namespace": "acme", "repository": "app", "tag": "latest"}})).await;
    assert!(!is_error(&r), "{}", text(&r));
    assert_eq!(deletes(&env), 1);
    let asked = env.handler.asked.lock().unwrap().clone();
    assert_eq!(
        asked,
        ["Delete tag acme/app:latest? This cannot be undone."]
    );
}

#[tokio::test]
async fn declined_elicitation_cancels() {
    let env = in_process(&["--allow-destructive"], TestClient::elicit(false)).await;
    let r = call(
        &env.client,
        "hub_teams",
        json!({"action": "delete", "params": {"org_name": "acme", "group_name": "qa"}}),
    )
    .await;
    assert!(!is_error(&r), "{}", text(&r));
    assert_eq!(structured(&r), json!({"cancelled": true}));
    assert_eq!(deletes(&env), 0);
    assert_eq!(env.handler.asked.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn the_user_decides_when_the_client_can_ask() {
    // A model cannot skip the question with confirm:true.
    let env = in_process(&["--allow-destructive"], TestClient::elicit(false)).await;
    let r = call(
        &env.client,
        "hub_repos",
        json!({"action": "delete_tag", "params": {"namespace": "acme", "repository": "app", "tag": "latest"}, "confirm": true}),
    )
    .await;
    assert_eq!(structured(&r), json!({"cancelled": true}));
    assert_eq!(deletes(&env), 0);
}

#[tokio::test]
async fn invalid_params_are_refused_before_asking_to_confirm() {
    let env = in_process(&["--allow-destructive"], TestClient::elicit(true)).await;
    let r = call(
        &env.client,
        "hub_repos",
        json!({"action": "delete_tag", "params": {"namespace": "acme", "repository": "app"}}),
    )
    .await;
    assert!(is_error(&r));
    assert!(text(&r).contains("tag"), "{}", text(&r));
    assert!(env.handler.asked.lock().unwrap().is_empty());
}

#[tokio::test]
async fn read_only_mode_refuses_writes() {
    let env = in_process(&["--read-only"], TestClient::default()).await;
    let r = call(
        &env.client,
        "hub_repos",
        json!({"action": "create", "params": {"namespace": "acme", "name": "x"}}),
    )
    .await;
    assert!(is_error(&r));
    assert!(text(&r).contains("DOCKERHUB_READ_ONLY"), "{}", text(&r));
    assert!(
        env.emu
            .requests()
            .iter()
            .all(|r| r.method != "POST" || r.path.contains("auth") || r.path.contains("login"))
    );
    let r = call(
        &env.client,
        "hub_repos",
        json!({"action": "list", "params": {"namespace": "acme"}}),
    )
    .await;
    assert!(!is_error(&r), "{}", text(&r));
}

#[tokio::test]
async fn toolsets_make_other_tools_unroutable() {
    let env = in_process(&["--toolsets", "repos"], TestClient::default()).await;
    let tools = env.client.list_all_tools().await.unwrap();
    assert_eq!(tools.len(), 1);
    let err = env
        .client
        .call_tool(
            CallToolRequestParams::new("hub_org").with_arguments(
                json!({"action": "list_members"})
                    .as_object()
                    .unwrap()
                    .clone(),
            ),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("unknown tool"), "{err}");
}

#[tokio::test]
async fn params_json_is_accepted() {
    let env = in_process(&[], TestClient::default()).await;
    let r = call(&env.client, "hub_repos", json!({"action": "get", "params_json": "{\"namespace\": \"acme\", \"repository\": \"app\"}"})).await;
    assert!(!is_error(&r), "{}", text(&r));
    assert_eq!(structured(&r)["data"]["name"], "app");
    let r = call(
        &env.client,
        "hub_repos",
        json!({"action": "get", "params_json": "{namespace: acme"}),
    )
    .await;
    assert!(is_error(&r));
    assert!(
        text(&r).contains("params_json is not valid JSON"),
        "{}",
        text(&r)
    );
}

#[tokio::test]
async fn bad_input_lists_what_is_valid() {
    let env = in_process(&[], TestClient::default()).await;
    // unknown action
    let r = call(&env.client, "hub_repos", json!({"action": "explode"})).await;
    assert!(is_error(&r));
    let t = text(&r);
    assert!(
        t.contains("Unknown action 'explode'")
            && t.contains("list_tags")
            && !t.contains("delete_tag"),
        "{t}"
    );
    // missing action
    let r = call(&env.client, "hub_repos", json!({"params": {}})).await;
    assert!(
        is_error(&r) && text(&r).contains("'action' is required"),
        "{}",
        text(&r)
    );
    // missing required param
    let r = call(
        &env.client,
        "hub_repos",
        json!({"action": "get", "params": {"namespace": "acme"}}),
    )
    .await;
    assert!(is_error(&r));
    assert!(text(&r).contains("repository"), "{}", text(&r));
    // unknown param
    let r = call(&env.client, "hub_repos", json!({"action": "get", "params": {"namespace": "acme", "repository": "app", "colour": "red"}})).await;
    assert!(is_error(&r));
    let t = text(&r);
    assert!(t.contains("colour") && t.contains("namespace"), "{t}");
    // wrongly typed
    let r = call(
        &env.client,
        "hub_repos",
        json!({"action": "list", "params": {"namespace": "acme", "page_size": "lots"}}),
    )
    .await;
    assert!(is_error(&r));
    assert!(text(&r).contains("page_size"), "{}", text(&r));
    let r = call(
        &env.client,
        "hub_repos",
        json!({"action": "list", "params": "not an object"}),
    )
    .await;
    assert!(
        is_error(&r) && text(&r).contains("'params' must be an object"),
        "{}",
        text(&r)
    );
    let r = call(
        &env.client,
        "hub_repos",
        json!({"action": "list", "params": {"namespace": "acme"}, "limit": -3}),
    )
    .await;
    assert!(is_error(&r) && text(&r).contains("limit"), "{}", text(&r));
    // oversize params
    let big = "x".repeat(100_000);
    let r = call(&env.client, "hub_repos", json!({"action": "create", "params": {"namespace": "acme", "name": "big", "full_description": big}})).await;
    assert!(is_error(&r));
    assert!(text(&r).contains("byte limit"), "{}", text(&r));
    assert!(
        env.emu
            .requests()
            .iter()
            .all(|r| r.method != "POST" || !r.path.contains("repositories"))
    );
}

#[tokio::test]
async fn parameters_next_to_action_are_folded_into_params() {
    let env = in_process(&[], TestClient::default()).await;
    let r = call(
        &env.client,
        "hub_repos",
        json!({"action": "get", "namespace": "acme", "repository": "app"}),
    )
    .await;
    assert!(!is_error(&r), "{}", text(&r));
}

#[tokio::test]
async fn all_walks_pages_with_limit_and_progress() {
    let env = in_process(&["--max-result-tokens", "400000"], TestClient::default()).await;
    let mut params = CallToolRequestParams::new("hub_repos").with_arguments(
        json!({"action": "list_tags", "params": {"namespace": "acme", "repository": "many-tags"}, "all": true, "limit": 250})
            .as_object()
            .unwrap()
            .clone(),
    );
    params.meta = Some(RequestMetaObject::with_progress_token(ProgressToken(
        NumberOrString::String(Arc::from("walk-1")),
    )));
    let r = env.client.call_tool(params).await.unwrap();
    assert!(!is_error(&r), "{}", text(&r));
    let s = structured(&r);
    assert_eq!(s["data"]["count"], 250);
    assert_eq!(s["data"]["items"].as_array().unwrap().len(), 250);
    assert!(
        s["data"]["truncated"]
            .as_str()
            .unwrap()
            .contains("limit=250")
    );
    let pages = env
        .emu
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/many-tags/tags"))
        .count();
    assert_eq!(pages, 3, "100 + 100 + 51 items, then stop");
    // Progress notifications arrive asynchronously; give them a moment.
    for _ in 0..50 {
        if env.handler.progress.lock().unwrap().len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let progress = env.handler.progress.lock().unwrap().clone();
    assert!(progress.len() >= 2, "{progress:?}");
    assert!(progress.windows(2).all(|w| w[0].progress <= w[1].progress));
    assert_eq!(
        progress.iter().map(|p| p.progress).fold(0.0, f64::max),
        250.0
    );
}

#[tokio::test]
async fn all_stops_at_the_result_size_cap() {
    let env = in_process(&[], TestClient::default()).await;
    let r = call(&env.client, "hub_repos", json!({"action": "list_tags", "params": {"namespace": "acme", "repository": "many-tags"}, "all": true})).await;
    assert!(!is_error(&r), "{}", text(&r));
    let s = structured(&r);
    let bytes = serde_json::to_string(&s).unwrap().len();
    assert!(bytes / 4 <= 20_000, "{bytes} bytes");
    assert!(
        s["data"]["truncated"].as_str().unwrap().contains("tokens"),
        "{}",
        s["data"]["truncated"]
    );
    assert!(text(&r).contains("page/page_size"), "{}", text(&r));
}

#[tokio::test]
async fn single_page_is_cut_to_the_size_cap() {
    let env = in_process(&["--max-result-tokens", "3000"], TestClient::default()).await;
    let r = call(&env.client, "hub_repos", json!({"action": "list_tags", "params": {"namespace": "acme", "repository": "many-tags", "page_size": 100}})).await;
    let s = structured(&r);
    let n = s["data"]["items"].as_array().unwrap().len();
    assert!(n > 0 && n < 100, "{n}");
    assert!(serde_json::to_string(&s).unwrap().len() / 4 <= 3000);
    assert!(
        s["data"]["truncated"]
            .as_str()
            .unwrap()
            .contains("page_size")
    );
}

#[tokio::test]
async fn cancellation_stops_upstream_calls() {
    let env = in_process(&[], TestClient::default()).await;
    env.emu.inject_fault(dockerhub_emulator::Fault {
        method: Some("GET".into()),
        path: "/v2/namespaces/acme/repositories/many-tags/tags".into(),
        count: 100,
        kind: dockerhub_emulator::FaultKind::Latency { ms: 400 },
    });
    let args = json!({"action": "list_tags", "params": {"namespace": "acme", "repository": "many-tags", "page_size": 10}, "all": true, "limit": 1000});
    let fut = env.client.call_tool(
        CallToolRequestParams::new("hub_repos").with_arguments(args.as_object().unwrap().clone()),
    );
    // Dropping the request sends notifications/cancelled.
    assert!(
        tokio::time::timeout(Duration::from_millis(1000), fut)
            .await
            .is_err()
    );
    let count = || {
        env.emu
            .requests()
            .iter()
            .filter(|r| r.path.ends_with("/many-tags/tags"))
            .count()
    };
    tokio::time::sleep(Duration::from_millis(600)).await;
    let after_cancel = count();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(count(), after_cancel, "no Hub calls after cancellation");
    assert!(after_cancel < 10, "{after_cancel} pages fetched");
}

#[tokio::test]
async fn admin_whoami_and_rate_limit() {
    let env = in_process(&[], TestClient::default()).await;
    let r = call(&env.client, "hub_admin", json!({"action": "rate_limit"})).await;
    assert!(!is_error(&r));
    assert!(structured(&r)["data"]["note"].is_string());
    let r = call(&env.client, "hub_admin", json!({"action": "whoami"})).await;
    assert!(!is_error(&r), "{}", text(&r));
    let s = structured(&r);
    assert_eq!(s["data"]["username"], "demo");
    assert_eq!(s["data"]["authenticated"], true);
    let r = call(&env.client, "hub_admin", json!({"action": "rate_limit"})).await;
    let s = structured(&r);
    assert!(s["data"]["remaining"].is_u64(), "{s}");
    assert!(text(&r).contains("left"));
    let r = call(
        &env.client,
        "hub_admin",
        json!({"action": "rate_limit", "params": {"x": 1}}),
    )
    .await;
    assert!(is_error(&r));
}

#[tokio::test]
async fn secrets_never_reach_results() {
    let env = in_process(&[], TestClient::default()).await;
    let r = call(&env.client, "hub_auth", json!({"action": "create_token", "params": {"identifier": "demo", "secret": dockerhub_emulator::demo::PASSWORD}})).await;
    assert!(!is_error(&r), "{}", text(&r));
    let all = serde_json::to_string(&r).unwrap();
    assert!(!all.contains(dockerhub_emulator::demo::PASSWORD));
    assert!(!all.contains("eyJ"), "a JWT leaked: {all}");
}

#[tokio::test]
async fn policy_guard_denies_with_its_message() {
    let (emu, server) = common::server(&[]).await;
    let server = server.with_guard(Arc::new(|req: &dockerhub_mcp::server::GuardRequest<'_>| {
        if req.action == "list" {
            Err(format!(
                "{}.{} denied by rule no-list",
                req.tool, req.action
            ))
        } else {
            Ok(())
        }
    }));
    let (a, b) = tokio::io::duplex(1 << 16);
    tokio::spawn(async move {
        use rmcp::ServiceExt;
        if let Ok(r) = server.serve(a).await {
            let _ = r.waiting().await;
        }
    });
    use rmcp::ServiceExt;
    let client = TestClient::default().serve(b).await.unwrap();
    let r = call(
        &client,
        "hub_repos",
        json!({"action": "list", "params": {"namespace": "acme"}}),
    )
    .await;
    assert!(is_error(&r));
    assert!(text(&r).contains("rule no-list"));
    assert_eq!(structured(&r)["error"]["type"], "policy_denied");
    drop(emu);
    let _: Value = Value::Null;
}

/// A client for a custom SDK configuration (anonymous, no retries…).
async fn custom(
    emu: &dockerhub_emulator::EmulatorHandle,
    edit: impl FnOnce(&mut dockerhub_api::Config),
) -> common::Client {
    use rmcp::ServiceExt;
    let cfg = common::config(&[]);
    let mut hub_cfg = dockerhub_api::Config {
        base_url: emu.base_url(),
        ..Default::default()
    };
    edit(&mut hub_cfg);
    let server =
        dockerhub_mcp::build_server(&cfg, dockerhub_api::Hub::new(hub_cfg).unwrap()).unwrap();
    let (a, b) = tokio::io::duplex(1 << 20);
    tokio::spawn(async move {
        if let Ok(r) = server.serve(a).await {
            let _ = r.waiting().await;
        }
    });
    TestClient::default().serve(b).await.unwrap()
}

#[tokio::test]
async fn anonymous_whoami_answers_locally() {
    let (emu, _) = common::server(&[]).await;
    let client = custom(&emu, |_| {}).await;
    emu.clear_requests();
    let r = call(&client, "hub_admin", json!({"action": "whoami"})).await;
    assert!(!is_error(&r), "{}", text(&r));
    assert_eq!(structured(&r)["data"], json!({"authenticated": false}));
    assert!(emu.requests().is_empty(), "no Hub call when anonymous");
}

#[tokio::test]
async fn rate_limited_errors_say_when_to_retry() {
    let (emu, _) = common::server(&[]).await;
    let client = custom(&emu, |c| {
        c.credentials = dockerhub_api::Credentials::Password {
            username: dockerhub_emulator::demo::USERNAME.into(),
            password: dockerhub_emulator::demo::PASSWORD.to_string().into(),
        };
        c.retry.max_attempts = 1;
    })
    .await;
    emu.inject_fault(dockerhub_emulator::Fault {
        method: Some("GET".into()),
        path: "/v2/namespaces/acme/repositories".into(),
        count: 5,
        kind: dockerhub_emulator::FaultKind::Status {
            status: 429,
            retry_after: None,
            retry_after_secs: 42,
        },
    });
    let r = call(
        &client,
        "hub_repos",
        json!({"action": "list", "params": {"namespace": "acme"}}),
    )
    .await;
    assert!(is_error(&r));
    let s = structured(&r);
    assert_eq!(s["error"]["type"], "rate_limited");
    assert_eq!(s["error"]["status"], 429);
    let secs = s["error"]["retry_after_secs"].as_u64().unwrap();
    assert!(secs >= 1, "{s}");
    assert!(
        text(&r).contains(&format!("retry after {secs}s")),
        "{}",
        text(&r)
    );
}

#[tokio::test]
async fn all_covers_every_pagination_style() {
    let env = in_process(&[], TestClient::default()).await;
    let cases = [
        (
            "hub_scim",
            json!({"action": "list_users", "params": {"count": 1}, "all": true}),
            4,
        ),
        (
            "hub_org",
            json!({"action": "list_invites", "params": {"org_name": "acme"}, "all": true}),
            3,
        ),
        (
            "hub_org",
            json!({"action": "list_members", "params": {"org_name": "acme", "page_size": 2}, "all": true}),
            7,
        ),
        (
            "hub_teams",
            json!({"action": "list", "params": {"org_name": "acme", "page_size": 1}, "all": true}),
            4,
        ),
    ];
    for (tool, args, n) in cases {
        let r = call(&env.client, tool, args.clone()).await;
        assert!(!is_error(&r), "{args}: {}", text(&r));
        assert_eq!(structured(&r)["data"]["count"], n, "{args}");
        assert!(structured(&r)["data"].get("truncated").is_none(), "{args}");
    }
    let r = call(
        &env.client,
        "hub_audit",
        json!({"action": "logs", "params": {"account": "acme", "page_size": 5}, "all": true, "limit": 12}),
    )
    .await;
    assert!(!is_error(&r), "{}", text(&r));
    assert_eq!(structured(&r)["data"]["count"], 12);
}
