//! The binary end to end: `--demo` over stdio and over streamable HTTP (the
//! README's first command), and graceful shutdown on SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

use std::process::Stdio;
use std::time::Duration;

use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::StreamableHttpClientTransport;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};

const BIN: &str = env!("CARGO_BIN_EXE_dockerhub-mcp");

fn whoami() -> CallToolRequestParams {
    CallToolRequestParams::new("hub_admin")
        .with_arguments(json!({"action": "whoami"}).as_object().unwrap().clone())
}

#[tokio::test]
async fn demo_over_stdio() {
    let mut child = tokio::process::Command::new(BIN)
        .arg("--demo")
        .env("FASTMCP_LOG_LEVEL", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let stdin = child.stdin.take().unwrap();
    let client = ().serve((stdout, stdin)).await.unwrap();
    let tools = client.list_all_tools().await.unwrap();
    assert_eq!(tools.len(), 7);
    let r = client.call_tool(whoami()).await.unwrap();
    assert_eq!(r.structured_content.unwrap()["data"]["username"], "demo");
    client.cancel().await.unwrap();
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status}");
    // Logs went to stderr, never stdout (the client parsed every stdout line).
    let mut err = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut child.stderr.take().unwrap(), &mut err)
        .await
        .unwrap();
    assert!(err.contains("demo mode"), "{err}");
}

#[tokio::test]
async fn demo_over_streamable_http_and_sigterm() {
    let mut child = tokio::process::Command::new(BIN)
        .args(["--demo", "--transport", "streamable-http", "--port", "0"])
        .env("FASTMCP_LOG_LEVEL", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = loop {
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("server announces its URL")
            .unwrap()
            .expect("stderr open");
        if let Some(i) = line.find("http://")
            && line.contains("/mcp")
        {
            break line[i..].trim().to_string();
        }
    };
    let health = url.replace("/mcp", "/health");
    let body: serde_json::Value = reqwest::get(&health).await.unwrap().json().await.unwrap();
    assert_eq!(body["status"], "ok");
    let client = ().serve(StreamableHttpClientTransport::from_uri(url.clone())).await.unwrap();
    let r = client.call_tool(whoami()).await.unwrap();
    assert_eq!(r.structured_content.unwrap()["data"]["username"], "demo");
    drop(client);
    let pid = child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(15), child.wait())
        .await
        .expect("exits after SIGTERM")
        .unwrap();
    assert!(status.success(), "graceful exit: {status}");
}
