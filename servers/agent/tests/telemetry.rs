//! OpenTelemetry export of the agent, checked end to end against a local
//! OTLP/HTTP receiver that decodes protobuf: a no-LLM A2A task and LLM
//! tasks (fake model: non-streaming, streaming with a usage chunk, streaming
//! without one) run through the in-process backend against the demo
//! emulator, and a no-LLM task through the MCP backend to `dockerhub-mcp`
//! served in process over streamable HTTP. Asserted on what was exported:
//! the `agent.task` span with its tool call and the Hub request as
//! descendants, the `llm.call` spans with the model and token usage, the MCP
//! server's tool span joining the agent's trace (and the `traceparent` header
//! on the agent's tools/call POST, seen by a recording proxy), the `agent.tasks` metric,
//! and that no secret (the agent API key, the Docker Hub password, a JWT) is
//! in any byte.
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

/// One text task on a fresh agent whose model streams (`stream_options`
/// behaviour of the fake as given); returns the task id.
async fn streamed_llm_task(script: Script, mode: StreamOptions) -> String {
    let llm = fake_llm_with(script, mode).await;
    let s = start(Opts {
        llm: Some((llm.url.clone(), true)),
        ..Opts::default()
    })
    .await;
    let r = rpc(&s.url, "SendMessage", text_msg("list acme's repos")).await;
    let t = r["result"]["task"].clone();
    assert_eq!(t["status"]["state"], "TASK_STATE_COMPLETED", "{r}");
    assert_eq!(llm.requests.lock().unwrap().len(), 2, "two model turns");
    s.running.shutdown().await.unwrap();
    s.emu.shutdown().await;
    t["id"].as_str().unwrap().to_string()
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

    // A fake model: one tool call, then an answer (here non-streaming, with usage).
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
    let llm = fake_llm(script.clone()).await;
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

    // 3. Streamed LLM tasks: the model sends a usage chunk when asked for one,
    // and an endpoint that ignores `stream_options` sends none.
    let streamed_id = streamed_llm_task(script.clone(), StreamOptions::Honour).await;
    let no_usage_id = streamed_llm_task(script, StreamOptions::Ignore).await;

    // The task span closes when the task's future ends, just after the final
    // status is published: wait for the four task spans to be exported.
    let mut got = Vec::new();
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        got = log.lock().unwrap().clone();
        let n = spans(&got)
            .iter()
            .filter(|s| s.name == "agent.task")
            .count();
        if n >= 4 {
            break;
        }
    }
    assert!(!got.is_empty());

    // 4. The same through the MCP backend, to dockerhub-mcp served in process:
    // its tool span continues the agent's trace only from the trace context
    // of the MCP HTTP request (its server tasks run outside the agent's spans).
    // A recording proxy in between keeps each HTTP request the agent sends.
    let (mcp, mcp_emu) = serve_mcp(&[]).await;
    let (proxy, mcp_requests) = recording_proxy(mcp.addr).await;
    let backend = Arc::new(
        McpBackend::connect(&format!("http://{proxy}/mcp"), None)
            .await
            .unwrap(),
    );
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
    let mcp_id = t["id"].as_str().unwrap().to_string();
    b.running.shutdown().await.unwrap();
    b.emu.shutdown().await;
    // Let the session DELETE of the dropped MCP client through the proxy
    // before the server stops.
    for _ in 0..100 {
        let deleted = mcp_requests
            .lock()
            .unwrap()
            .iter()
            .any(|(head, _)| head.starts_with("DELETE "));
        if deleted {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    mcp.shutdown().await.unwrap();
    mcp_emu.shutdown().await;

    a.running.shutdown().await.unwrap();
    drop(guard);
    let tel = flush(tel).await;
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
        assert_eq!(c.attrs["stream"], "false");
        assert_eq!(c.attrs["gen_ai.usage.input_tokens"], "1", "{:?}", c.attrs);
        assert_eq!(c.attrs["gen_ai.usage.output_tokens"], "1");
    }
    assert!(
        spans.iter().any(|s| s.name == "hub.request"
            && s.trace_id == chat_task.trace_id
            && descends_from(&spans, s, chat_task)),
        "the LLM task's tool call reaches the Hub under the task span"
    );

    // The streamed LLM tasks: usage from the last chunk, or none at all.
    let (input, output) = STREAM_USAGE;
    for (id, usage) in [(&streamed_id, true), (&no_usage_id, false)] {
        let task = spans
            .iter()
            .find(|s| s.name == "agent.task" && s.attrs.get("task_id") == Some(id))
            .unwrap_or_else(|| panic!("no agent.task span for {id} in {names:?}"));
        assert_eq!(task.attrs["state"], "completed");
        let calls: Vec<&SpanView> = spans
            .iter()
            .filter(|s| s.name == "llm.call" && s.parent == task.span_id)
            .collect();
        assert_eq!(calls.len(), 2, "two streamed model turns: {names:?}");
        for c in &calls {
            assert_eq!(c.attrs["gen_ai.request.model"], "fake-model");
            assert_eq!(c.attrs["stream"], "true", "{:?}", c.attrs);
            assert!(!c.attrs.contains_key("error"), "{:?}", c.attrs);
            if usage {
                assert_eq!(
                    c.attrs.get("gen_ai.usage.input_tokens"),
                    Some(&input.to_string()),
                    "streamed usage: {:?}",
                    c.attrs
                );
                assert_eq!(
                    c.attrs.get("gen_ai.usage.output_tokens"),
                    Some(&output.to_string())
                );
            } else {
                assert!(
                    !c.attrs.contains_key("gen_ai.usage.input_tokens")
                        && !c.attrs.contains_key("gen_ai.usage.output_tokens"),
                    "no usage without a usage chunk: {:?}",
                    c.attrs
                );
            }
        }
    }

    // The MCP backend: agent.task → agent.tool_call → (dockerhub-mcp) tools/call → hub.request.
    {
        let id = &mcp_id;
        let task = spans
            .iter()
            .find(|s| s.name == "agent.task" && s.attrs.get("task_id") == Some(id))
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
        // The POST carrying the tools/call has the W3C `traceparent` header
        // of the agent's tool-call span (besides its `_meta.traceparent`).
        let requests = mcp_requests.lock().unwrap().clone();
        let (head, body) = requests
            .iter()
            .find(|(_, body)| {
                serde_json::from_slice::<Value>(body).is_ok_and(|v| v["method"] == "tools/call")
            })
            .unwrap_or_else(|| panic!("no tools/call request through the proxy: {requests:?}"));
        assert!(head.starts_with("POST "), "{head}");
        let header = head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("traceparent"))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_else(|| panic!("no traceparent header on the tools/call POST:\n{head}"));
        let parts: Vec<&str> = header.split('-').collect();
        assert_eq!(parts.len(), 4, "traceparent {header:?}");
        assert_eq!(
            parts[1], task.trace_id,
            "the traceparent header carries the agent task's trace id"
        );
        assert_eq!(
            parts[2], tool.span_id,
            "the traceparent header's parent is the agent's tool-call span"
        );
        let meta: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(meta["params"]["_meta"]["traceparent"], header.as_str());
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
    shutdown(tel).await;
    a.emu.shutdown().await;
}
