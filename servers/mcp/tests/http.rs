//! Streamable HTTP at /mcp on 127.0.0.1:0 against the emulator, with rmcp
//! clients of both spec eras (2025-11-25 sessions, 2026-07-28 stateless).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

mod common;

use std::sync::Arc;

use common::{TestClient, call, is_error, structured, text};
use dockerhub_mcp::http::{HttpHandle, start_http};
use rmcp::ServiceExt;
use rmcp::model::{
    CallToolRequestParams, NumberOrString, ProgressToken, ProtocolVersion, RequestMetaObject,
};
use rmcp::service::{ClientLifecycleMode, ClientServiceExt};
use rmcp::transport::StreamableHttpClientTransport;
use serde_json::json;

async fn serve(args: &[&str]) -> (dockerhub_emulator::EmulatorHandle, HttpHandle) {
    let mut all = vec!["--transport", "streamable-http", "--port", "0"];
    all.extend_from_slice(args);
    let cfg = common::config(&all);
    let (emu, server) = common::server(&all).await;
    let handle = start_http(&cfg, server, None)
        .await
        .expect("HTTP server starts");
    (emu, handle)
}

async fn legacy(url: &str, handler: TestClient) -> common::Client {
    handler
        .serve(StreamableHttpClientTransport::from_uri(url.to_string()))
        .await
        .expect("initialize")
}

async fn modern(url: &str, handler: TestClient) -> common::Client {
    handler
        .serve_with_lifecycle(
            StreamableHttpClientTransport::from_uri(url.to_string()),
            ClientLifecycleMode::Discover {
                preferred_versions: vec![ProtocolVersion::V_2026_07_28],
            },
        )
        .await
        .expect("server/discover")
}

#[tokio::test]
async fn health_answers_ok_with_version() {
    let (_emu, h) = serve(&[]).await;
    let body: serde_json::Value = reqwest::get(format!("http://{}/health", h.addr))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    h.shutdown().await.unwrap();
}

#[tokio::test]
async fn legacy_era_session_lists_and_calls() {
    let (emu, h) = serve(&["--allow-destructive"]).await;
    let client = legacy(&h.mcp_url(), TestClient::elicit(true)).await;
    let info = client.peer_info().unwrap();
    assert_eq!(info.protocol_version, ProtocolVersion::V_2025_11_25);
    let tools = client.list_all_tools().await.unwrap();
    assert_eq!(tools.len(), 7);
    let r = call(
        &client,
        "hub_repos",
        json!({"action": "list", "params": {"namespace": "acme"}}),
    )
    .await;
    assert!(!is_error(&r), "{}", text(&r));
    assert!(structured(&r)["data"]["items"].as_array().unwrap().len() > 1);
    // Elicitation travels as a server-to-client request on the session.
    let r = call(&client, "hub_repos", json!({"action": "delete_tag", "params": {"namespace": "acme", "repository": "app", "tag": "latest"}})).await;
    assert!(!is_error(&r), "{}", text(&r));
    assert_eq!(
        emu.requests()
            .iter()
            .filter(|r| r.method == "DELETE")
            .count(),
        1
    );
    client.cancel().await.unwrap();
    h.shutdown().await.unwrap();
}

#[tokio::test]
async fn modern_era_is_stateless_and_confirms_with_input_required() {
    let (emu, h) = serve(&["--allow-destructive"]).await;
    let handler = TestClient::elicit(true);
    let client = modern(&h.mcp_url(), handler.clone()).await;
    let tools = client.list_all_tools().await.unwrap();
    assert_eq!(tools.len(), 7);
    let r = call(
        &client,
        "hub_repos",
        json!({"action": "get", "params": {"namespace": "acme", "repository": "app"}}),
    )
    .await;
    assert!(!is_error(&r), "{}", text(&r));
    assert_eq!(structured(&r)["data"]["name"], "app");
    // MRTR: InputRequiredResult → client answers → retry with inputResponses.
    let r = call(&client, "hub_repos", json!({"action": "delete_tag", "params": {"namespace": "acme", "repository": "app", "tag": "latest"}})).await;
    assert!(!is_error(&r), "{}", text(&r));
    assert_eq!(
        emu.requests()
            .iter()
            .filter(|r| r.method == "DELETE")
            .count(),
        1
    );
    assert_eq!(handler.asked.lock().unwrap().len(), 1);
    // Declined in this era too.
    let no = modern(&h.mcp_url(), TestClient::elicit(false)).await;
    let r = call(
        &no,
        "hub_teams",
        json!({"action": "delete", "params": {"org_name": "acme", "group_name": "qa"}}),
    )
    .await;
    assert_eq!(structured(&r), json!({"cancelled": true}));
    h.shutdown().await.unwrap();
}

#[tokio::test]
async fn modern_era_all_with_progress() {
    let (_emu, h) = serve(&["--max-result-tokens", "400000"]).await;
    let handler = TestClient::default();
    let client = modern(&h.mcp_url(), handler.clone()).await;
    let mut params = CallToolRequestParams::new("hub_repos").with_arguments(
        json!({"action": "list_tags", "params": {"namespace": "acme", "repository": "many-tags"}, "all": true, "limit": 300})
            .as_object()
            .unwrap()
            .clone(),
    );
    params.meta = Some(RequestMetaObject::with_progress_token(ProgressToken(
        NumberOrString::Number(7),
    )));
    let r = client.call_tool(params).await.unwrap();
    assert!(!is_error(&r), "{}", text(&r));
    assert_eq!(structured(&r)["data"]["count"], 300);
    for _ in 0..50 {
        if handler.progress.lock().unwrap().len() >= 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(handler.progress.lock().unwrap().len() >= 3);
    h.shutdown().await.unwrap();
}

#[tokio::test]
async fn unknown_tool_is_a_json_rpc_error_and_tool_errors_are_results() {
    let (_emu, h) = serve(&["--read-only"]).await;
    let client = legacy(&h.mcp_url(), TestClient::default()).await;
    let r = call(
        &client,
        "hub_repos",
        json!({"action": "create", "params": {"namespace": "acme", "name": "x"}}),
    )
    .await;
    assert!(is_error(&r));
    assert!(text(&r).contains("read-only"), "{}", text(&r));
    let err = client
        .call_tool(CallToolRequestParams::new("hub_nothing").with_arguments(serde_json::Map::new()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("unknown tool"), "{err}");
    let _ = Arc::new(());
    h.shutdown().await.unwrap();
}

#[tokio::test]
async fn sse_transport_is_mounted_beside_mcp() {
    let all = ["--transport", "sse", "--port", "0"];
    let cfg = common::config(&all);
    let (_emu, server) = common::server(&all).await;
    let h = start_http(&cfg, server, None).await.unwrap();
    let mut resp = reqwest::get(format!("http://{}/sse", h.addr))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let first = tokio::time::timeout(std::time::Duration::from_secs(5), resp.chunk())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let first = String::from_utf8_lossy(&first);
    assert!(
        first.contains("endpoint") && first.contains("/messages"),
        "{first}"
    );
    drop(resp);
    // streamable HTTP stays available on the same server
    let health = reqwest::get(format!("http://{}/health", h.addr))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    h.shutdown().await.unwrap();
}
