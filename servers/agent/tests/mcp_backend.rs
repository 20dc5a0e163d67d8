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
