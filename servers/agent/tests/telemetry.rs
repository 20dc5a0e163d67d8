//! OpenTelemetry export of the agent, checked end to end against a local
//! OTLP/HTTP receiver that decodes protobuf: a no-LLM A2A task and an LLM
//! task (fake model) run through the in-process backend against the demo
//! emulator. Asserted on what was exported: the `agent.task` span with its
//! tool call and the Hub request as descendants, the `llm.call` span with
//! the model and token usage, the `agent.tasks` metric, and that no secret
//! (the agent API key, the Docker Hub password, a JWT) is in any byte.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use dockerhub_agent::mcp::McpBackend;
use dockerhub_api::telemetry::{self, OtlpTarget, TelemetryConfig};
use dockerhub_testkit::otlp::*;
use serde_json::{Value, json};

const API_KEY_CANARY: &str = "agent-key-canary-7f3c9e";

fn mcp_binary() -> Option<std::path::PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?.parent()?;
    let bin = dir.join("dockerhub-mcp");
    bin.exists().then_some(bin)
}

/// `dockerhub-mcp --demo` over streamable HTTP, exporting to `otlp`; returns
/// the child and its `/mcp` URL, or `None` when the binary is not built.
async fn spawn_mcp(otlp: &str) -> Option<(tokio::process::Child, String)> {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let bin = mcp_binary()?;
    let mut child = tokio::process::Command::new(bin)
        .args(["--demo", "--transport", "streamable-http", "--port", "0"])
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", otlp)
        .env("OTEL_SERVICE_NAME", "dockerhub-mcp-test")
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .env_remove("OTEL_EXPORTER_OTLP_HEADERS")
        .env_remove("ENABLE_OTEL")
        .env_remove("LOG_FORMAT")
        .env_remove("LANGFUSE_PUBLIC_KEY")
        .env_remove("LANGFUSE_SECRET_KEY")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = loop {
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("dockerhub-mcp announces its URL")
            .unwrap()
            .expect("dockerhub-mcp exited early");
        if let Some(i) = line.find("http://")
            && line.contains("/mcp")
        {
            break line[i..]
                .split(|c: char| c.is_whitespace() || c == '"')
                .next()
                .unwrap()
                .to_string();
        }
    };
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Some((child, url))
}

#[tokio::test]
async fn task_spans_llm_usage_metrics_and_no_secrets_reach_the_collector() {
    let (url, log) = receiver().await.unwrap();
    let mut cfg = TelemetryConfig::new("dockerhub-agent-test");
    cfg.log.filter = "warn".into();
    cfg.log.color = false;
    cfg.otlp = Some(OtlpTarget {
        endpoint: url.clone(),
        headers: Vec::new(),
    });
    cfg.batch_delay = Duration::from_millis(100);
    cfg.metric_interval = Duration::from_secs(3600);
    let (tel, subscriber) = telemetry::build(&cfg).unwrap();
    // Thread-local; the current-thread test runtime runs every task on this thread.
    let guard = tracing::subscriber::set_default(subscriber);

    // A fake model: one tool call, then an answer (non-streaming, with usage).
    let script: Script = Arc::new(|messages: &[Value]| {
        if after_tool(messages) {
            Turn::Text("acme has repositories.".into())
        } else {
            Turn::Tools(vec![(
                "hub_repos".into(),
                json!({"action": "list", "params": {"namespace": "acme", "page_size": 2}}),
            )])
        }
    });
    let llm = fake_llm(script).await;
    let a = start(Opts {
        args: vec!["--agent-api-key".into(), API_KEY_CANARY.into()],
        llm: Some((llm.url.clone(), false)),
        ..Opts::default()
    })
    .await;
    let auth = [("x-api-key", API_KEY_CANARY)];

    // 1. A no-LLM task: a direct tool call (data part).
    let r = rpc_with(
        &a.url,
        "SendMessage",
        data_msg("hub_repos", "list", json!({"namespace": "acme"})),
        &auth,
    )
    .await;
    let direct = r["result"]["task"].clone();
    assert_eq!(direct["status"]["state"], "TASK_STATE_COMPLETED", "{r}");
    let direct_id = direct["id"].as_str().unwrap().to_string();

    // 2. An LLM task: the model calls a tool, then answers.
    let r = rpc_with(&a.url, "SendMessage", text_msg("list acme's repos"), &auth).await;
    let chat = r["result"]["task"].clone();
    assert_eq!(chat["status"]["state"], "TASK_STATE_COMPLETED", "{r}");
    let chat_id = chat["id"].as_str().unwrap().to_string();

    // The task span closes when the task's future ends, just after the final
    // status is published: wait for both task spans to be exported.
    let mut got = Vec::new();
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        got = log.lock().unwrap().clone();
        let n = spans(&got)
            .iter()
            .filter(|s| s.name == "agent.task")
            .count();
        if n >= 2 {
            break;
        }
    }
    assert!(!got.is_empty());

    // 3. The same through the MCP backend, to a spawned dockerhub-mcp exporting
    // to the same receiver: its tool span continues the agent's trace from
    // `_meta.traceparent`, under the agent's tool-call span.
    let mcp_task = match spawn_mcp(&url).await {
        Some((child, mcp_url)) => {
            let backend = Arc::new(McpBackend::connect(&mcp_url, None).await.unwrap());
            let b = start(Opts {
                backend: Some(backend),
                ..Opts::default()
            })
            .await;
            let r = rpc(
                &b.url,
                "SendMessage",
                data_msg("hub_repos", "list", json!({"namespace": "acme"})),
            )
            .await;
            let t = r["result"]["task"].clone();
            assert_eq!(t["status"]["state"], "TASK_STATE_COMPLETED", "{r}");
            let id = t["id"].as_str().unwrap().to_string();
            // Wait for the child's tool span (its own exporter, 100 ms batches).
            for _ in 0..100 {
                tokio::time::sleep(Duration::from_millis(100)).await;
                let now = log.lock().unwrap().clone();
                if spans(&now).iter().any(|s| s.name == "tools/call hub_repos") {
                    break;
                }
            }
            b.running.shutdown().await.unwrap();
            b.emu.shutdown().await;
            Some((child, id))
        }
        None => {
            println!(
                "SKIP (MCP backend part): target/*/dockerhub-mcp is not built (cargo build -p dockerhub-mcp)"
            );
            None
        }
    };

    a.running.shutdown().await.unwrap();
    drop(guard);
    // Flush on a blocking thread: the exporters post to the receiver, which
    // runs on this runtime.
    let tel = tokio::task::spawn_blocking(move || {
        tel.flush();
        tel
    })
    .await
    .unwrap();
    let got_all = log.lock().unwrap().clone();
    assert!(got_all.len() >= got.len());
    let got = got_all;
    let spans = spans(&got);
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();

    // The no-LLM task: agent.task → agent.tool_call → hub.request.
    let task = spans
        .iter()
        .find(|s| {
            s.name == "agent.task" && s.attrs.get("task_id").map(String::as_str) == Some(&direct_id)
        })
        .unwrap_or_else(|| panic!("no agent.task span for {direct_id} in {names:?}"));
    assert_eq!(task.attrs["state"], "completed", "{:?}", task.attrs);
    assert_eq!(task.attrs["protocol"], "a2a");
    let tool = spans
        .iter()
        .find(|s| s.name == "agent.tool_call" && s.parent == task.span_id)
        .unwrap_or_else(|| panic!("no tool span under the task in {names:?}"));
    assert_eq!(tool.attrs["tool"], "hub_repos");
    assert_eq!(tool.attrs["action"], "list");
    assert_eq!(tool.attrs["is_error"], "false");
    // (The first Hub request of the run may be the token mint, `/v2/auth`.)
    let hub = spans
        .iter()
        .find(|s| {
            s.name == "hub.request"
                && s.trace_id == task.trace_id
                && s.attrs.get("route").map(String::as_str)
                    == Some("/v2/namespaces/{namespace}/repositories")
        })
        .unwrap_or_else(|| panic!("no repositories hub.request in the task's trace: {names:?}"));
    assert!(
        descends_from(&spans, hub, task),
        "the Hub request descends from the task span"
    );
    assert_eq!(
        hub.parent, tool.span_id,
        "the Hub span is the tool call's child"
    );
    assert_eq!(hub.attrs["status"], "200");

    // The LLM task: agent.task → llm.call (model, usage) and → tool → Hub.
    let chat_task = spans
        .iter()
        .find(|s| {
            s.name == "agent.task" && s.attrs.get("task_id").map(String::as_str) == Some(&chat_id)
        })
        .unwrap_or_else(|| panic!("no agent.task span for {chat_id} in {names:?}"));
    assert_eq!(chat_task.attrs["state"], "completed");
    let calls: Vec<&SpanView> = spans
        .iter()
        .filter(|s| s.name == "llm.call" && s.parent == chat_task.span_id)
        .collect();
    assert_eq!(calls.len(), 2, "two model turns: {names:?}");
    for c in &calls {
        assert_eq!(c.attrs["gen_ai.request.model"], "fake-model");
        assert_eq!(c.attrs["gen_ai.usage.input_tokens"], "1", "{:?}", c.attrs);
        assert_eq!(c.attrs["gen_ai.usage.output_tokens"], "1");
    }
    assert!(
        spans.iter().any(|s| s.name == "hub.request"
            && s.trace_id == chat_task.trace_id
            && descends_from(&spans, s, chat_task)),
        "the LLM task's tool call reaches the Hub under the task span"
    );

    // The MCP backend: agent.task → agent.tool_call → (dockerhub-mcp) tools/call → hub.request.
    if let Some((mut child, id)) = mcp_task {
        let _ = child.kill().await;
        let task = spans
            .iter()
            .find(|s| {
                s.name == "agent.task" && s.attrs.get("task_id").map(String::as_str) == Some(&id)
            })
            .unwrap_or_else(|| panic!("no agent.task span for {id} in {names:?}"));
        let tool = spans
            .iter()
            .find(|s| s.name == "agent.tool_call" && s.parent == task.span_id)
            .unwrap_or_else(|| panic!("no tool span under the MCP task in {names:?}"));
        let remote = spans
            .iter()
            .find(|s| s.name == "tools/call hub_repos" && s.trace_id == task.trace_id)
            .unwrap_or_else(|| {
                panic!("dockerhub-mcp's tool span did not join the agent's trace: {names:?}")
            });
        assert_eq!(
            remote.parent, tool.span_id,
            "the MCP server's span is a child of the agent's tool-call span"
        );
        assert!(
            spans.iter().any(|s| s.name == "hub.request"
                && s.trace_id == task.trace_id
                && descends_from(&spans, s, remote)),
            "the MCP server's Hub request is in the agent's trace"
        );
    }

    // The agent.tasks metric, by final state.
    let tasks = metric_points(&got, "agent.tasks");
    assert!(
        tasks
            .iter()
            .any(|(a, v)| a.get("state").map(String::as_str) == Some("completed") && *v >= 2.0),
        "agent.tasks{{state=completed}} >= 2: {tasks:?}"
    );
    assert!(!metric_points(&got, "hub.requests").is_empty());

    // The canaries: the agent API key, the Hub password, any JWT or bearer
    // appear in no exported byte.
    let password = dockerhub_emulator::demo::PASSWORD;
    for r in &got {
        for secret in [API_KEY_CANARY, password] {
            assert!(
                !contains(&r.body, secret.as_bytes()),
                "secret in {}",
                r.path
            );
            for (k, v) in &r.headers {
                assert!(!v.contains(secret), "secret in header {k}");
            }
        }
        assert!(!contains(&r.body, b"eyJ"), "a JWT in {}", r.path);
        assert!(!contains(&r.body, b"Bearer"), "a bearer in {}", r.path);
    }
    tokio::task::spawn_blocking(move || tel.shutdown())
        .await
        .unwrap();
    a.emu.shutdown().await;
}
