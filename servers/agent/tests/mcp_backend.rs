//! The MCP client backend against the real `dockerhub-mcp` binary (built by the
//! workspace's tests; the test prints SKIP when it is not there).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

mod common;

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use dockerhub_agent::mcp::McpBackend;
use dockerhub_agent::tools::ToolBackend;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};

fn mcp_binary() -> Option<std::path::PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?.parent()?;
    let bin = dir.join("dockerhub-mcp");
    bin.exists().then_some(bin)
}

#[tokio::test]
async fn tools_through_the_mcp_server() {
    let Some(bin) = mcp_binary() else {
        println!("SKIP: target/*/dockerhub-mcp is not built (cargo build -p dockerhub-mcp)");
        return;
    };
    let mut child = tokio::process::Command::new(bin)
        .args(["--demo", "--transport", "streamable-http", "--port", "0"])
        .env("FASTMCP_LOG_LEVEL", "info")
        .env("DOCKERHUB_ALLOW_DESTRUCTIVE", "true")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = loop {
        let Ok(Ok(Some(line))) =
            tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await
        else {
            println!("SKIP: dockerhub-mcp did not announce its URL");
            return;
        };
        if let Some(i) = line.find("http://")
            && line.contains("/mcp")
        {
            let rest = &line[i..];
            break rest
                .split(|c: char| c.is_whitespace() || c == '"')
                .next()
                .unwrap()
                .to_string();
        }
    };
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

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
    let _ = child.kill().await;
}
