//! The MCP client backend against `dockerhub-mcp`, served in process over
//! streamable HTTP on 127.0.0.1:0 against its own demo emulator, with
//! destructive actions offered (`--allow-destructive`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

mod common;

use std::sync::Arc;

use common::*;
use dockerhub_agent::mcp::McpBackend;
use dockerhub_agent::tools::ToolBackend;
use serde_json::json;

#[tokio::test]
async fn tools_through_the_mcp_server() {
    let (mcp, mcp_emu) = serve_mcp(&["--allow-destructive"]).await;
    let url = mcp.mcp_url();

    let backend = Arc::new(McpBackend::connect(&url, None).await.unwrap());
    let tools = backend.tools().await;
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
    assert!(
        names.contains(&"hub_repos") && names.contains(&"hub_teams"),
        "{names:?}"
    );
    assert!(backend.needs_confirmation("hub_teams", "delete"));
    assert!(!backend.needs_confirmation("hub_repos", "list"));

    let a = start(Opts {
        backend: Some(backend.clone()),
        ..Opts::default()
    })
    .await;
    let r = rpc(
        &a.url,
        "SendMessage",
        data_msg(
            "hub_repos",
            "list",
            json!({"namespace": "acme", "page_size": 2}),
        ),
    )
    .await;
    let task = &r["result"]["task"];
    assert_eq!(task["status"]["state"], "TASK_STATE_COMPLETED", "{r}");
    let data = &task["artifacts"][0]["parts"][0]["data"];
    assert_eq!(data["status_code"], 200, "{data}");
    assert!(backend.rate_limit().is_some());

    let r = rpc(
        &a.url,
        "SendMessage",
        data_msg(
            "hub_repos",
            "get",
            json!({"namespace": "acme", "repository": "ghost"}),
        ),
    )
    .await;
    assert_eq!(
        r["result"]["task"]["status"]["state"], "TASK_STATE_FAILED",
        "{r}"
    );

    let r = rpc(
        &a.url,
        "SendMessage",
        data_msg(
            "hub_teams",
            "delete",
            json!({"org_name": "acme", "group_name": "qa"}),
        ),
    )
    .await;
    assert_eq!(
        r["result"]["task"]["status"]["state"], "TASK_STATE_INPUT_REQUIRED",
        "{r}"
    );

    let id = r["result"]["task"]["id"].as_str().unwrap().to_string();
    let mut msg = text_msg("yes");
    msg["message"]["taskId"] = json!(id);
    let r = rpc(&a.url, "SendMessage", msg).await;
    assert_eq!(
        r["result"]["task"]["status"]["state"], "TASK_STATE_COMPLETED",
        "the confirmed call runs on the MCP server: {r}"
    );

    a.running.shutdown().await.unwrap();
    a.emu.shutdown().await;
    mcp.shutdown().await.unwrap();
    mcp_emu.shutdown().await;
}

/// `MCP_TOKEN` reaches an MCP server that requires bearer tokens
/// (`AUTH_TYPE=static`): with it the agent lists and calls tools; without
/// it, or with a wrong one, connecting fails with a message that says what
/// to check and never shows the token.
#[tokio::test]
async fn the_bearer_token_opens_an_authenticated_mcp_server() {
    let token = "agent-canary-7f3a9c";
    let (mcp, mcp_emu) = serve_mcp(&[
        "--auth-type",
        "static",
        "--auth-tokens",
        &format!("agent:{token}"),
    ])
    .await;
    let url = mcp.mcp_url();

    let backend = McpBackend::connect(&url, Some(token.to_string().into()))
        .await
        .unwrap();
    let out = backend
        .call(
            "hub_repos",
            json!({"action": "list", "params": {"namespace": "acme", "page_size": 1}}),
            tokio_util::sync::CancellationToken::new(),
        )
        .await;
    assert!(!out.is_error, "{}", out.text);
    assert_eq!(out.structured["status_code"], 200, "{}", out.structured);

    for bad in [None, Some("agent-canary-wrong")] {
        let e = McpBackend::connect(&url, bad.map(|t| t.to_string().into()))
            .await
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(e.contains("MCP_TOKEN"), "{e}");
        assert!(!e.contains("canary"), "a token in the error: {e}");
    }
    mcp.shutdown().await.unwrap();
    mcp_emu.shutdown().await;
}
