//! OpenTelemetry export of the agent, checked end to end against a local
//! OTLP/HTTP receiver that decodes protobuf: a no-LLM A2A task and an LLM
//! task (fake model) run through the in-process backend against the demo
//! emulator. Asserted on what was exported: the `agent.task` span with its
//! tool call and the Hub request as descendants, the `llm.call` span with
//! the model and token usage, the `agent.tasks` metric, and that no secret
//! (the agent API key, the Docker Hub password, a JWT) is in any byte.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use dockerhub_api::telemetry::{self, OtlpTarget, TelemetryConfig};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::{Body, EndpointExt, Request, Response, Route, handler, post};
use prost::Message;
use serde_json::{Value, json};

const API_KEY_CANARY: &str = "agent-key-canary-7f3c9e";

// ------------------------------------------------ the OTLP/HTTP receiver
// (the pattern of servers/mcp/tests/telemetry.rs)

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Received {
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

type Log = Arc<Mutex<Vec<Received>>>;

#[handler]
async fn collect(req: &Request, body: Body, log: poem::web::Data<&Log>) -> Response {
    let bytes = body.into_vec().await.unwrap_or_default();
    log.lock().unwrap().push(Received {
        path: req.uri().path().to_string(),
        headers: req
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect(),
        body: bytes,
    });
    // An empty protobuf message is a valid Export*ServiceResponse.
    Response::builder()
        .content_type("application/x-protobuf")
        .body(Vec::<u8>::new())
}

/// A local OTLP/HTTP receiver on 127.0.0.1; returns its base URL and log.
async fn receiver() -> (String, Log) {
    let log: Log = Arc::default();
    let app = Route::new()
        .at("/v1/traces", post(collect))
        .at("/v1/metrics", post(collect))
        .data(log.clone());
    let acceptor = TcpListener::bind("127.0.0.1:0")
        .into_acceptor()
        .await
        .unwrap();
    let addr = acceptor.local_addr()[0].as_socket_addr().copied().unwrap();
    tokio::spawn(async move {
        let _ = poem::Server::new_with_acceptor(acceptor).run(app).await;
    });
    (format!("http://{addr}"), log)
}

fn attr_str(kv: &KeyValue) -> String {
    match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(AnyValue::StringValue(s)) => s.clone(),
        Some(AnyValue::IntValue(i)) => i.to_string(),
        Some(AnyValue::BoolValue(b)) => b.to_string(),
        Some(AnyValue::DoubleValue(d)) => d.to_string(),
        other => format!("{other:?}"),
    }
}

fn attrs(kvs: &[KeyValue]) -> BTreeMap<String, String> {
    kvs.iter()
        .map(|kv| (kv.key.clone(), attr_str(kv)))
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[derive(Debug, Clone)]
struct SpanView {
    name: String,
    trace_id: String,
    span_id: String,
    parent: String,
    attrs: BTreeMap<String, String>,
}

fn spans(log: &[Received]) -> Vec<SpanView> {
    let mut out = Vec::new();
    for r in log.iter().filter(|r| r.path == "/v1/traces") {
        let req = ExportTraceServiceRequest::decode(r.body.as_slice()).expect("OTLP protobuf");
        for rs in req.resource_spans {
            for ss in rs.scope_spans {
                for s in ss.spans {
                    out.push(SpanView {
                        name: s.name.clone(),
                        trace_id: hex(&s.trace_id),
                        span_id: hex(&s.span_id),
                        parent: hex(&s.parent_span_id),
                        attrs: attrs(&s.attributes),
                    });
                }
            }
        }
    }
    out
}

/// Every data point of metric `name`, as (attributes, sum value).
fn metric_points(log: &[Received], name: &str) -> Vec<(BTreeMap<String, String>, f64)> {
    let mut out = Vec::new();
    for r in log.iter().filter(|r| r.path == "/v1/metrics") {
        let req = ExportMetricsServiceRequest::decode(r.body.as_slice()).expect("OTLP protobuf");
        for rm in req.resource_metrics {
            for sm in rm.scope_metrics {
                for m in sm.metrics.into_iter().filter(|m| m.name == name) {
                    if let Some(Data::Sum(sum)) = m.data {
                        for p in sum.data_points {
                            #[allow(clippy::cast_precision_loss)]
                            let v = match p.value {
                                Some(
                                    opentelemetry_proto::tonic::metrics::v1::number_data_point::Value::AsInt(i),
                                ) => i as f64,
                                Some(
                                    opentelemetry_proto::tonic::metrics::v1::number_data_point::Value::AsDouble(d),
                                ) => d,
                                None => 0.0,
                            };
                            out.push((attrs(&p.attributes), v));
                        }
                    }
                }
            }
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Whether `span` descends from `ancestor` (following parent ids).
fn descends_from(all: &[SpanView], span: &SpanView, ancestor: &SpanView) -> bool {
    let by_id: HashMap<&str, &SpanView> = all.iter().map(|s| (s.span_id.as_str(), s)).collect();
    let mut cur = span;
    for _ in 0..32 {
        if cur.parent == ancestor.span_id {
            return true;
        }
        match by_id.get(cur.parent.as_str()) {
            Some(p) => cur = p,
            None => return false,
        }
    }
    false
}

#[tokio::test]
async fn task_spans_llm_usage_metrics_and_no_secrets_reach_the_collector() {
    let (url, log) = receiver().await;
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
    let hub = spans
        .iter()
        .find(|s| s.name == "hub.request" && s.trace_id == task.trace_id)
        .unwrap_or_else(|| panic!("no hub.request span in the task's trace: {names:?}"));
    assert!(
        descends_from(&spans, hub, task),
        "the Hub request descends from the task span"
    );
    assert_eq!(hub.parent, tool.span_id, "the Hub span is the tool call's child");
    assert_eq!(
        hub.attrs["route"],
        "/v2/namespaces/{namespace}/repositories"
    );

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
            assert!(!contains(&r.body, secret.as_bytes()), "secret in {}", r.path);
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
