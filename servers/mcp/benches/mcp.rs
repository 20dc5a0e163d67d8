//! MCP server benchmark (`cargo bench -p dockerhub-mcp --bench mcp`).
//!
//! 1. stdio cold start: spawn the release binary, send `initialize`,
//!    `notifications/initialized` and `tools/list`, time until the answer.
//! 2. idle RSS of that process after answering.
//! 3. tools/list size in cl100k tokens (default and everything on).
//! 4. tool-call latency (in process and over streamable HTTP) against the
//!    in-process emulator (rate limit off).
//! 5. throughput over streamable HTTP with 32 concurrent clients.
//!
//! Prints a markdown table for docs/benchmarks.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // benchmark binary

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dockerhub_api::Hub;
use dockerhub_mcp::{Config, McpServer};
use rmcp::model::CallToolRequestParams;
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const BIN: &str = env!("CARGO_BIN_EXE_dockerhub-mcp");

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn fmt(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us >= 1000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{us:.0} µs")
    }
}

fn rss_kib(pid: u32, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// One cold start: returns (time to tools/list answer, tools/list result, idle RSS KiB, peak RSS KiB).
async fn cold_start(extra: &[&str]) -> (Duration, Value, u64, u64) {
    let start = Instant::now();
    let mut child = tokio::process::Command::new(BIN)
        .args(extra)
        .env("FASTMCP_LOG_LEVEL", "warn")
        .env("DOCKERHUB_URL", "http://127.0.0.1:9")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the release binary");
    let mut stdin = child.stdin.take().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let msgs = [
        json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}),
        json!({"jsonrpc":"2.0","method":"notifications/initialized"}),
        json!({"jsonrpc":"2.0","id":2,"method":"tools/list"}),
    ];
    for m in msgs {
        stdin.write_all(format!("{m}\n").as_bytes()).await.unwrap();
    }
    stdin.flush().await.unwrap();
    let mut tools = Value::Null;
    while let Some(line) = out.next_line().await.unwrap() {
        let v: Value = serde_json::from_str(&line).unwrap();
        if v["id"] == 2 {
            tools = v["result"].clone();
            break;
        }
    }
    let elapsed = start.elapsed();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pid = child.id().unwrap_or(0);
    let idle = rss_kib(pid, "VmRSS:");
    let peak = rss_kib(pid, "VmHWM:");
    drop(stdin);
    let _ = tokio::time::timeout(Duration::from_secs(2), child.wait()).await;
    (elapsed, tools, idle, peak)
}

fn tokens(v: &Value) -> usize {
    let text = serde_json::to_string(&json!({"tools": v["tools"]})).unwrap();
    tiktoken_rs::cl100k_base_singleton()
        .encode_ordinary(&text)
        .len()
}

async fn demo_server(args: &[&str]) -> (dockerhub_emulator::EmulatorHandle, McpServer, Config) {
    let mut all = vec!["dockerhub-mcp"];
    all.extend_from_slice(args);
    let cfg = Config::from_args(all).unwrap();
    let (emu, hub_cfg) = dockerhub_api::demo::start(cfg.hub_config().unwrap())
        .await
        .unwrap();
    emu.set_rate_limit(0, Duration::from_secs(60));
    let server = dockerhub_mcp::build_server(&cfg, Hub::new(hub_cfg).unwrap()).unwrap();
    (emu, server, cfg)
}

fn get_args() -> CallToolRequestParams {
    CallToolRequestParams::new("hub_repos").with_arguments(
        json!({"action": "get", "params": {"namespace": "acme", "repository": "app"}})
            .as_object()
            .unwrap()
            .clone(),
    )
}

async fn latency(client: &RunningService<RoleClient, ()>, n: usize) -> Vec<Duration> {
    for _ in 0..50 {
        client.call_tool(get_args()).await.unwrap();
    }
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let r = client.call_tool(get_args()).await.unwrap();
        v.push(t.elapsed());
        assert_ne!(r.is_error, Some(true));
    }
    v.sort();
    v
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let mut rows: Vec<(String, String, String)> = Vec::new();

    // 1-3: cold start, RSS, tokens.
    let _ = cold_start(&[]).await; // warm the page cache
    let mut starts = Vec::new();
    let mut idle = Vec::new();
    let mut peak = Vec::new();
    let mut default_tools = Value::Null;
    for _ in 0..20 {
        let (d, t, i, p) = cold_start(&[]).await;
        starts.push(d);
        idle.push(i);
        peak.push(p);
        default_tools = t;
    }
    starts.sort();
    idle.sort();
    peak.sort();
    let (_, everything, _, _) = cold_start(&["--allow-destructive"]).await;
    rows.push((
        "stdio cold start to the tools/list answer (p50 of 20 spawns)".into(),
        format!(
            "{} (min {}, max {})",
            fmt(pct(&starts, 0.5)),
            fmt(starts[0]),
            fmt(starts[starts.len() - 1])
        ),
        "≤ 50 ms".into(),
    ));
    rows.push((
        "idle RSS after tools/list (median; peak RSS)".into(),
        format!(
            "{:.1} MB ({:.1} MB peak)",
            idle[idle.len() / 2] as f64 / 1024.0,
            peak[peak.len() / 2] as f64 / 1024.0
        ),
        "≤ 20 MB".into(),
    ));
    let all_bytes = serde_json::to_string(&json!({"tools": everything["tools"]}))
        .unwrap()
        .len();
    rows.push((
        "tools/list, everything on (7 tools, 64 actions)".into(),
        format!("{} tokens ({all_bytes} bytes)", tokens(&everything)),
        "≤ 3,000".into(),
    ));
    rows.push((
        "tools/list, default (destructive hidden)".into(),
        format!("{} tokens", tokens(&default_tools)),
        "–".into(),
    ));

    // 4: latency in process.
    let (emu, server, _) = demo_server(&[]).await;
    let (a, b) = tokio::io::duplex(1 << 20);
    tokio::spawn(async move {
        if let Ok(r) = server.serve(a).await {
            let _ = r.waiting().await;
        }
    });
    let client = ().serve(b).await.unwrap();
    let lat = latency(&client, 1000).await;
    rows.push((
        "tool-call latency, in process (hub_repos.get, 1,000 calls)".into(),
        format!("p50 {} / p99 {}", fmt(pct(&lat, 0.5)), fmt(pct(&lat, 0.99))),
        "measure".into(),
    ));
    client.cancel().await.unwrap();
    emu.shutdown().await;

    // 4-5: over streamable HTTP.
    let (emu, server, cfg) = demo_server(&["--transport", "streamable-http", "--port", "0"]).await;
    let h = dockerhub_mcp::http::start_http(&cfg, server, None)
        .await
        .unwrap();
    let url = h.mcp_url();
    let client = ().serve(StreamableHttpClientTransport::from_uri(url.clone())).await.unwrap();
    let lat = latency(&client, 1000).await;
    rows.push((
        "tool-call latency, streamable HTTP session (1,000 calls)".into(),
        format!("p50 {} / p99 {}", fmt(pct(&lat, 0.5)), fmt(pct(&lat, 0.99))),
        "measure".into(),
    ));
    client.cancel().await.unwrap();

    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let mut clients = Vec::new();
    for _ in 0..32 {
        clients.push(
            ().serve(StreamableHttpClientTransport::from_uri(url.clone()))
                .await
                .unwrap(),
        );
    }
    let window = Duration::from_secs(5);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in clients {
        let done = done.clone();
        let errors = errors.clone();
        tasks.push(tokio::spawn(async move {
            while start.elapsed() < window {
                match c.call_tool(get_args()).await {
                    Ok(r) if r.is_error != Some(true) => {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            let _ = c.cancel().await;
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    let n = done.load(Ordering::Relaxed);
    rows.push((
        "throughput, streamable HTTP, 32 concurrent sessions (5 s of hub_repos.get)".into(),
        format!(
            "{:.0} calls/s ({n} ok, {} errors)",
            n as f64 / secs,
            errors.load(Ordering::Relaxed)
        ),
        "measure".into(),
    ));
    h.shutdown().await.unwrap();
    emu.shutdown().await;

    println!("| Measure | dockerhub-mcp | Target |");
    println!("|---|---|---|");
    for (m, v, t) in rows {
        println!("| {m} | {v} | {t} |");
    }
}
