//! OpenTelemetry export, checked end to end against a local OTLP/HTTP
//! receiver that decodes protobuf: an MCP tool call over streamable HTTP
//! (with a `traceparent`) makes a Hub request against the emulator that is
//! answered 429 once; the spans, their links and attributes, the retry, the
//! metrics and the absence of any secret are asserted on what was exported.
//! Also: the Langfuse settings produce its Basic auth header.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashMap;
use std::time::Duration;

use dockerhub_api::telemetry::{self, LangfuseTarget, OtlpTarget, TelemetryConfig};
use dockerhub_testkit::otlp::*;
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, RequestMetaObject};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::json;

#[tokio::test]
async fn tool_call_spans_metrics_and_no_secrets_reach_the_collector() {
    let (url, log) = receiver().await.unwrap();
    let mut cfg = TelemetryConfig::new("dockerhub-mcp-test");
    cfg.log.filter = "warn".into();
    cfg.log.color = false;
    cfg.otlp = Some(OtlpTarget {
        endpoint: url.clone(),
        headers: vec![("x-tenant".into(), "t1".to_string().into())],
    });
    cfg.batch_delay = Duration::from_millis(100);
    cfg.metric_interval = Duration::from_secs(3600);
    let (tel, subscriber) = telemetry::build(&cfg).unwrap();
    let guard = tracing::subscriber::set_default(subscriber);

    // The MCP server over streamable HTTP, against the demo emulator.
    let args = ["--transport", "streamable-http", "--port", "0"];
    let server_cfg = common::config(&args);
    let (emu, mut hub_cfg) = dockerhub_api::demo::start(server_cfg.hub_config().unwrap())
        .await
        .unwrap();
    // A 429 zeroes the quota snapshot and the pacer then waits for the reset;
    // cap that wait so the test stays short.
    hub_cfg.retry.max_wait = Duration::from_secs(1);
    let server =
        dockerhub_mcp::build_server(&server_cfg, dockerhub_api::Hub::new(hub_cfg).unwrap())
            .unwrap();
    let h_server = server.clone();
    let h = dockerhub_mcp::http::start_http(&server_cfg, server, None)
        .await
        .unwrap();
    emu.inject_fault(dockerhub_emulator::Fault {
        method: Some("GET".into()),
        path: "/v2/namespaces/acme/repositories".into(),
        count: 1,
        kind: dockerhub_emulator::FaultKind::Status {
            status: 429,
            retry_after: None,
            retry_after_secs: 1,
        },
    });
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    let headers = HashMap::from([(
        http::HeaderName::from_static("traceparent"),
        http::HeaderValue::from_str(&format!("00-{trace_id}-{caller_span}-01")).unwrap(),
    )]);
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(h.mcp_url()).custom_headers(headers),
    );
    let client = common::TestClient::default()
        .serve(transport)
        .await
        .expect("initialize");
    let r = common::call(
        &client,
        "hub_repos",
        json!({"action": "list", "params": {"namespace": "acme"}}),
    )
    .await;
    assert!(!common::is_error(&r), "{}", common::text(&r));
    assert_eq!(
        emu.requests().iter().filter(|q| q.status == 429).count(),
        1,
        "one 429 was injected and retried"
    );
    let _ = client.cancel().await;
    // A second call in process (no HTTP), the caller's trace in `_meta` (SEP-414).
    let meta_trace = "0af7651916cd43dd8448eb211c80319c";
    let meta_caller = "b7ad6b7169203331";
    let (a, b) = tokio::io::duplex(1 << 20);
    let s = h_server.clone();
    tokio::spawn(async move {
        if let Ok(running) = s.serve(a).await {
            let _ = running.waiting().await;
        }
    });
    let local = common::TestClient::default().serve(b).await.unwrap();
    let mut params = CallToolRequestParams::new("hub_admin")
        .with_arguments(json!({"action": "rate_limit"}).as_object().unwrap().clone());
    let mut meta = RequestMetaObject::new();
    meta.set_traceparent(format!("00-{meta_trace}-{meta_caller}-01"));
    params.meta = Some(meta);
    let r = local.call_tool(params).await.unwrap();
    assert!(!common::is_error(&r), "{}", common::text(&r));
    let _ = local.cancel().await;
    h.shutdown().await.unwrap();
    drop(guard);
    let tel = flush(tel).await;

    let got = log.lock().unwrap().clone();
    let spans = spans(&got);
    let tool = spans
        .iter()
        .find(|s| s.attrs.get("tool").map(String::as_str) == Some("hub_repos"))
        .unwrap_or_else(|| {
            panic!(
                "no tool span in {:?}",
                spans.iter().map(|s| &s.name).collect::<Vec<_>>()
            )
        });
    assert_eq!(tool.name, "tools/call hub_repos");
    assert_eq!(tool.attrs["action"], "list");
    assert_eq!(tool.attrs["is_error"], "false");
    assert_eq!(
        tool.trace_id, trace_id,
        "incoming traceparent continues the trace"
    );
    assert_eq!(tool.parent, caller_span, "the caller's span is the parent");
    let admin = spans
        .iter()
        .find(|s| s.attrs.get("tool").map(String::as_str) == Some("hub_admin"))
        .expect("the in-process call's span");
    assert_eq!(
        admin.trace_id, meta_trace,
        "_meta.traceparent continues the trace"
    );
    assert_eq!(admin.parent, meta_caller);
    assert_eq!(admin.attrs["action"], "rate_limit");
    let hub = spans
        .iter()
        .find(|s| {
            s.name == "hub.request" && s.attrs.get("method").map(String::as_str) == Some("GET")
        })
        .expect("a hub.request span");
    assert_eq!(
        hub.parent, tool.span_id,
        "the Hub span is a child of the tool span"
    );
    assert_eq!(hub.trace_id, trace_id);
    assert_eq!(
        hub.attrs["route"],
        "/v2/namespaces/{namespace}/repositories"
    );
    assert!(!hub.attrs["operation"].is_empty());
    assert_eq!(hub.attrs["status"], "200");
    assert_eq!(
        hub.attrs["retries"], "1",
        "the retry is visible: {:?}",
        hub.attrs
    );
    assert!(hub.attrs.contains_key("wait_ms"));
    assert!(
        hub.attrs.contains_key("rate_limit_remaining"),
        "{:?}",
        hub.attrs
    );
    assert!(
        hub.events.iter().any(|e| e == "retrying"),
        "retry event: {:?}",
        hub.events
    );

    let metrics = metric_names(&got);
    for m in [
        "hub.requests",
        "hub.request.duration",
        "hub.rate_limited",
        "hub.retries",
        "hub.rate_limit.remaining",
        "hub.token.mints",
        "mcp.tool.calls",
        "mcp.tool.duration",
    ] {
        assert!(
            metrics.iter().any(|n| n == m),
            "metric {m} missing: {metrics:?}"
        );
    }
    assert!(
        got.iter()
            .all(|r| r.headers.iter().any(|(k, v)| k == "x-tenant" && v == "t1")),
        "OTEL_EXPORTER_OTLP_HEADERS are sent"
    );

    // The canary: the Hub password (and any JWT) appears in no exported byte.
    let canary = dockerhub_emulator::demo::PASSWORD.as_bytes();
    for r in &got {
        assert!(!contains(&r.body, canary), "secret in {}", r.path);
        assert!(!contains(&r.body, b"eyJ"), "a JWT in {}", r.path);
        assert!(!contains(&r.body, b"Bearer"), "a bearer in {}", r.path);
        for (k, v) in &r.headers {
            assert!(
                !v.contains(dockerhub_emulator::demo::PASSWORD),
                "secret in header {k}"
            );
        }
    }
    shutdown(tel).await;
    emu.shutdown().await;
}

#[tokio::test]
async fn langfuse_settings_send_basic_auth() {
    let (url, log) = receiver().await.unwrap();
    let vars = HashMap::from([
        ("LANGFUSE_HOST", url.clone()),
        ("LANGFUSE_PUBLIC_KEY", "pk-lf-test".to_string()),
        ("LANGFUSE_SECRET_KEY", "sk-lf-canary".to_string()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100".to_string()),
        ("RUST_LOG", "warn".to_string()),
    ]);
    let cfg = TelemetryConfig::from_lookup("lf-test", |k| vars.get(k).cloned()).unwrap();
    assert!(cfg.otlp.is_none());
    let lf: &LangfuseTarget = cfg.langfuse.as_ref().unwrap();
    assert!(
        !format!("{cfg:?}").contains("sk-lf-canary"),
        "Debug hides the secret"
    );
    assert_eq!(lf.traces_url(), format!("{url}/api/public/otel/v1/traces"));
    let (tel, subscriber) = telemetry::build(&cfg).unwrap();
    tracing::subscriber::with_default(subscriber, || {
        let span = tracing::info_span!(target: "dockerhub_mcp::server", "mcp.tool_call", tool = "hub_admin", action = "whoami");
        let _e = span.enter();
    });
    shutdown(tel).await;
    let got = log.lock().unwrap().clone();
    let req = got
        .iter()
        .find(|r| r.path == "/api/public/otel/v1/traces")
        .expect("Langfuse got the trace");
    let auth = req
        .headers
        .iter()
        .find(|(k, _)| k == "authorization")
        .map(|(_, v)| v.clone())
        .expect("Authorization header");
    // base64("pk-lf-test:sk-lf-canary")
    assert_eq!(auth, "Basic cGstbGYtdGVzdDpzay1sZi1jYW5hcnk=");
    assert!(!contains(&req.body, b"sk-lf-canary"));
    assert_eq!(spans(&got)[0].attrs["tool"], "hub_admin");
}

/// The collector and Langfuse at once: one span reaches both, each with its
/// own headers, and the Langfuse secret reaches neither body.
#[tokio::test]
async fn collector_and_langfuse_together_both_get_the_span() {
    let (url, log) = receiver().await.unwrap();
    let vars = HashMap::from([
        ("OTEL_EXPORTER_OTLP_ENDPOINT", url.clone()),
        ("OTEL_EXPORTER_OTLP_HEADERS", "x-collector=c1".to_string()),
        ("LANGFUSE_HOST", url.clone()),
        ("LANGFUSE_PUBLIC_KEY", "pk-lf-test".to_string()),
        ("LANGFUSE_SECRET_KEY", "sk-lf-canary".to_string()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100".to_string()),
        ("RUST_LOG", "warn".to_string()),
    ]);
    let cfg = TelemetryConfig::from_lookup("both-test", |k| vars.get(k).cloned()).unwrap();
    let (tel, subscriber) = telemetry::build(&cfg).unwrap();
    tracing::subscriber::with_default(subscriber, || {
        let span = tracing::info_span!(target: "dockerhub_mcp::server", "mcp.tool_call", tool = "hub_repos", action = "list");
        let _e = span.enter();
        dockerhub_api::telemetry::record_tool_call(
            "hub_repos",
            "list",
            false,
            Duration::from_millis(3),
        );
    });
    shutdown(tel).await;
    let got = log.lock().unwrap().clone();
    let header = |r: &Received, name: &str| {
        r.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let otlp = got
        .iter()
        .find(|r| r.path == "/v1/traces")
        .expect("the collector got the trace");
    assert_eq!(header(otlp, "x-collector").as_deref(), Some("c1"));
    assert_eq!(header(otlp, "authorization"), None);
    let lf = got
        .iter()
        .find(|r| r.path == "/api/public/otel/v1/traces")
        .expect("Langfuse got the trace");
    assert_eq!(
        header(lf, "authorization").as_deref(),
        Some("Basic cGstbGYtdGVzdDpzay1sZi1jYW5hcnk=")
    );
    assert_eq!(header(lf, "x-collector"), None);
    for r in [otlp, lf] {
        assert!(!contains(&r.body, b"sk-lf-canary"));
        let s = spans(std::slice::from_ref(r));
        assert_eq!(s.len(), 1, "one span per destination");
        assert_eq!(s[0].attrs["tool"], "hub_repos");
    }
    assert!(
        !metric_points(&got, "mcp.tool.calls").is_empty(),
        "metrics go to the collector"
    );
}

/// `OTEL_TRACES_EXPORTER=none` keeps spans from the collector while metrics
/// still go; `OTEL_METRICS_EXPORTER=none` the other way round.
#[tokio::test]
async fn signal_switches_keep_one_signal_from_the_collector() {
    for (traces, metrics) in [("none", "otlp"), ("otlp", "none")] {
        let (url, log) = receiver().await.unwrap();
        let vars = HashMap::from([
            ("OTEL_EXPORTER_OTLP_ENDPOINT", url.clone()),
            ("OTEL_TRACES_EXPORTER", traces.to_string()),
            ("OTEL_METRICS_EXPORTER", metrics.to_string()),
            ("OTEL_BSP_SCHEDULE_DELAY", "100".to_string()),
            ("RUST_LOG", "warn".to_string()),
        ]);
        let cfg = TelemetryConfig::from_lookup("switch-test", |k| vars.get(k).cloned()).unwrap();
        let (tel, subscriber) = telemetry::build(&cfg).unwrap();
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!(target: "dockerhub_mcp::server", "mcp.tool_call", tool = "hub_repos", action = "get");
            let _e = span.enter();
            dockerhub_api::telemetry::record_tool_call(
                "hub_repos",
                "get",
                false,
                Duration::from_millis(2),
            );
        });
        shutdown(tel).await;
        let got = log.lock().unwrap().clone();
        let paths: Vec<&str> = got.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(
            paths.contains(&"/v1/traces"),
            traces == "otlp",
            "traces={traces}: {paths:?}"
        );
        assert_eq!(
            paths.contains(&"/v1/metrics"),
            metrics == "otlp",
            "metrics={metrics}: {paths:?}"
        );
    }
}

/// The binary's logs: JSON lines on stderr with `LOG_FORMAT=json`, `RUST_LOG`
/// winning over `FASTMCP_LOG_LEVEL`, stdout left to the protocol.
#[tokio::test]
async fn binary_logs_json_to_stderr_and_rejects_bad_telemetry_settings() {
    use std::process::Stdio;
    const BIN: &str = env!("CARGO_BIN_EXE_dockerhub-mcp");
    let mut child = tokio::process::Command::new(BIN)
        .arg("--demo")
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .env("FASTMCP_LOG_LEVEL", "error")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("ENABLE_OTEL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let stdin = child.stdin.take().unwrap();
    let client = ().serve((stdout, stdin)).await.unwrap();
    let r = client
        .call_tool(
            CallToolRequestParams::new("hub_admin")
                .with_arguments(json!({"action": "whoami"}).as_object().unwrap().clone()),
        )
        .await
        .unwrap();
    assert_ne!(r.is_error, Some(true));
    client.cancel().await.unwrap();
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status}");
    let mut err = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut child.stderr.take().unwrap(), &mut err)
        .await
        .unwrap();
    let lines: Vec<serde_json::Value> = err
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["level"] == "INFO" && l["fields"]["message"] == "dockerhub-mcp starting"),
        "RUST_LOG=info wins over FASTMCP_LOG_LEVEL=error: {err}"
    );
    assert!(!err.contains(dockerhub_emulator::demo::PASSWORD));

    // ENABLE_OTEL=true with nowhere to export is refused at startup, with the fix.
    let out = tokio::process::Command::new(BIN)
        .arg("--demo")
        .env("ENABLE_OTEL", "true")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("LANGFUSE_PUBLIC_KEY")
        .env_remove("LANGFUSE_SECRET_KEY")
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("OTEL_EXPORTER_OTLP_ENDPOINT"), "{err}");
}

/// A collector that is down: after the first failed export, new traces are
/// shed (not built, counted) and every tool call still succeeds; once the
/// collector is up, a probe's export succeeds and recording resumes. Every
/// exported `hub.request` has its tool-call parent among the exported
/// spans: shedding never cuts a trace in two. Both with the tool span wanted
/// by the logs (`info`) and not (`warn`).
#[tokio::test]
async fn a_down_collector_sheds_traces_until_it_is_back() {
    for log_filter in ["warn", "info"] {
        // A port that refuses connections until the receiver listens on it.
        let socket = closed_port().unwrap();
        let port = socket.local_addr().unwrap().port();
        let mut cfg = TelemetryConfig::new("dockerhub-mcp-test");
        cfg.log.filter = log_filter.into();
        cfg.log.color = false;
        cfg.otlp = Some(OtlpTarget {
            endpoint: format!("http://127.0.0.1:{port}"),
            headers: vec![],
        });
        cfg.batch_delay = Duration::from_millis(100);
        cfg.export_timeout = Duration::from_secs(2);
        cfg.metric_interval = Duration::from_secs(3600);
        let (tel, subscriber) = telemetry::build(&cfg).unwrap();
        let guard = tracing::subscriber::set_default(subscriber);
        let env = common::in_process(&[], common::TestClient::default()).await;
        let get = |repo: &str| json!({"action": "get", "params": {"namespace": "acme", "repository": repo}});
        let ok = |r: &rmcp::model::CallToolResult| {
            assert!(!common::is_error(r), "{}", common::text(r));
        };

        // Recording until the first export fails.
        let mut calls = 0;
        while tel.accepting() {
            ok(&common::call(&env.client, "hub_repos", get("app")).await);
            calls += 1;
            assert!(calls < 500, "an export to a closed port never failed");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let shed_before = tel.shed_traces();
        let started = std::time::Instant::now();
        for _ in 0..50 {
            ok(&common::call(&env.client, "hub_repos", get("app")).await);
        }
        let shed = tel.shed_traces() - shed_before;
        // One probe per batch delay (100 ms) may go through, however slow
        // the machine.
        let probes = started.elapsed().as_millis() as u64 / 100 + 1;
        assert!(
            shed + probes >= 50 && shed > 0,
            "{log_filter}: {shed} of 50 traces shed while the collector is down ({probes} probes allowed)"
        );

        // The collector comes up; a probe gets through and recording resumes.
        let (_, log) = receiver_on(socket).await.unwrap();
        let mut waited = 0;
        while !tel.accepting() {
            ok(&common::call(&env.client, "hub_repos", get("app")).await);
            waited += 1;
            assert!(waited < 300, "{log_filter}: recording never resumed");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        ok(&common::call(&env.client, "hub_repos", get("web")).await);
        let _ = env.client.cancel().await;
        drop(guard);
        let tel_shed = tel.shed_traces();
        shutdown(tel).await;

        let raw = snapshot(&log);
        // The count reaches the collector as a metric (flushed on shutdown).
        let shed_metric = metric_points(&raw, "telemetry.traces.shed");
        assert!(
            shed_metric.iter().any(|(_, v)| *v as u64 == tel_shed),
            "{log_filter}: telemetry.traces.shed {shed_metric:?}, counted {tel_shed}"
        );
        let got = spans(&raw);
        let tools: Vec<&SpanView> = got
            .iter()
            .filter(|s| s.attrs.contains_key("tool"))
            .collect();
        let hub: Vec<&SpanView> = got.iter().filter(|s| s.name == "hub.request").collect();
        // A shed trace is never exported; at most the others are (some were
        // in the failed batches).
        let total = calls + 50 + waited + 1;
        let shed_total = tel_shed;
        assert!(
            tools.len() as u64 + shed_total <= total as u64,
            "{log_filter}: {} tool spans exported and {shed_total} traces shed of {total} calls",
            tools.len()
        );
        for h in &hub {
            assert!(
                tools
                    .iter()
                    .any(|t| t.span_id == h.parent && t.trace_id == h.trace_id),
                "{log_filter}: a hub.request without its tool-call parent: {h:?}"
            );
        }
        // The probe and the call after recovery, each whole.
        assert!(
            tools.len() >= 2 && hub.len() >= 2,
            "{log_filter}: spans after recovery: {got:?}"
        );
        env.emu.shutdown().await;
    }
}
