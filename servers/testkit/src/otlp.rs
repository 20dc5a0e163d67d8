//! A local OTLP/HTTP receiver that keeps every request, and helpers that
//! decode what it got (protobuf) into spans and metric points.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value as NumberValue;
use poem::listener::{Acceptor, Listener, TcpAcceptor, TcpListener};
use poem::{Body, EndpointExt, Request, Response, Route, handler, post};
use prost::Message;

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    /// Request path (`/v1/traces`, `/v1/metrics`).
    pub path: String,
    /// Every header, as text.
    pub headers: Vec<(String, String)>,
    /// The raw (protobuf) body.
    pub body: Vec<u8>,
}

/// What the receiver got so far.
pub type Log = Arc<Mutex<Vec<Received>>>;

/// A copy of the log.
pub fn snapshot(log: &Log) -> Vec<Received> {
    log.lock().unwrap_or_else(PoisonError::into_inner).clone()
}

#[handler]
async fn collect(req: &Request, body: Body, log: poem::web::Data<&Log>) -> Response {
    let bytes = body.into_vec().await.unwrap_or_default();
    log.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Received {
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

/// Start a receiver on 127.0.0.1 taking `/v1/traces` and `/v1/metrics`, and
/// Langfuse's `/api/public/otel/v1/traces`; returns its base URL and log.
pub async fn receiver() -> std::io::Result<(String, Log)> {
    serve(TcpListener::bind("127.0.0.1:0").into_acceptor().await?).await
}

/// A port on 127.0.0.1 that is reserved but refuses connections (bound, not
/// listening), for a collector that is down; [`receiver_on`] brings it up.
pub fn closed_port() -> std::io::Result<tokio::net::TcpSocket> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))?;
    Ok(socket)
}

/// [`receiver`] listening on a socket from [`closed_port`]: the collector
/// comes up on the port the exporter was set up with.
pub async fn receiver_on(socket: tokio::net::TcpSocket) -> std::io::Result<(String, Log)> {
    serve(TcpAcceptor::from_tokio(socket.listen(1024)?)?).await
}

async fn serve(acceptor: TcpAcceptor) -> std::io::Result<(String, Log)> {
    let log: Log = Arc::default();
    let app = Route::new()
        .at("/v1/traces", post(collect))
        .at("/v1/metrics", post(collect))
        .at("/api/public/otel/v1/traces", post(collect))
        .data(log.clone());
    let addr = acceptor
        .local_addr()
        .first()
        .and_then(|a| a.as_socket_addr().copied())
        .ok_or_else(|| std::io::Error::other("the receiver has no socket address"))?;
    tokio::spawn(async move {
        let _ = poem::Server::new_with_acceptor(acceptor).run(app).await;
    });
    Ok((format!("http://{addr}"), log))
}

/// An attribute's value as text.
pub fn attr_str(kv: &KeyValue) -> String {
    match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(AnyValue::StringValue(s)) => s.clone(),
        Some(AnyValue::IntValue(i)) => i.to_string(),
        Some(AnyValue::BoolValue(b)) => b.to_string(),
        Some(AnyValue::DoubleValue(d)) => d.to_string(),
        other => format!("{other:?}"),
    }
}

/// Attributes as a sorted map of text values.
pub fn attrs(kvs: &[KeyValue]) -> BTreeMap<String, String> {
    kvs.iter()
        .map(|kv| (kv.key.clone(), attr_str(kv)))
        .collect()
}

/// Lower-case hex of an id.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// One exported span, with hex ids.
#[derive(Debug, Clone)]
pub struct SpanView {
    /// Span name.
    pub name: String,
    /// Trace id.
    pub trace_id: String,
    /// Span id.
    pub span_id: String,
    /// Parent span id (empty for a root).
    pub parent: String,
    /// Attributes.
    pub attrs: BTreeMap<String, String>,
    /// Names of the span's events.
    pub events: Vec<String>,
}

/// Every span the receiver got, on the OTLP and the Langfuse trace paths.
/// Bodies that are not OTLP protobuf are skipped.
pub fn spans(log: &[Received]) -> Vec<SpanView> {
    let mut out = Vec::new();
    for r in log.iter().filter(|r| r.path.ends_with("/v1/traces")) {
        let Ok(req) = ExportTraceServiceRequest::decode(r.body.as_slice()) else {
            continue;
        };
        for s in req
            .resource_spans
            .into_iter()
            .flat_map(|rs| rs.scope_spans)
            .flat_map(|ss| ss.spans)
        {
            out.push(SpanView {
                trace_id: hex(&s.trace_id),
                span_id: hex(&s.span_id),
                parent: hex(&s.parent_span_id),
                attrs: attrs(&s.attributes),
                events: s.events.iter().map(|e| e.name.clone()).collect(),
                name: s.name,
            });
        }
    }
    out
}

fn metrics(log: &[Received]) -> Vec<opentelemetry_proto::tonic::metrics::v1::Metric> {
    log.iter()
        .filter(|r| r.path == "/v1/metrics")
        .filter_map(|r| ExportMetricsServiceRequest::decode(r.body.as_slice()).ok())
        .flat_map(|req| req.resource_metrics)
        .flat_map(|rm| rm.scope_metrics)
        .flat_map(|sm| sm.metrics)
        .collect()
}

/// The names of every exported metric.
pub fn metric_names(log: &[Received]) -> Vec<String> {
    metrics(log).into_iter().map(|m| m.name).collect()
}

/// Every data point of sum metric `name`, as (attributes, value).
pub fn metric_points(log: &[Received], name: &str) -> Vec<(BTreeMap<String, String>, f64)> {
    let mut out = Vec::new();
    for m in metrics(log).into_iter().filter(|m| m.name == name) {
        if let Some(Data::Sum(sum)) = m.data {
            for p in sum.data_points {
                #[allow(clippy::cast_precision_loss)]
                let v = match p.value {
                    Some(NumberValue::AsInt(i)) => i as f64,
                    Some(NumberValue::AsDouble(d)) => d,
                    None => 0.0,
                };
                out.push((attrs(&p.attributes), v));
            }
        }
    }
    out
}

/// Whether `needle` occurs in `hay`.
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// Whether `span` descends from `ancestor` (following parent ids).
pub fn descends_from(all: &[SpanView], span: &SpanView, ancestor: &SpanView) -> bool {
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

/// Flush `tel` on a blocking thread (its exporters post to a receiver that
/// runs on the test's runtime) and hand it back.
#[allow(clippy::panic)] // a test helper: failing is its job
pub async fn flush(
    tel: dockerhub_api::telemetry::Telemetry,
) -> dockerhub_api::telemetry::Telemetry {
    tokio::task::spawn_blocking(move || {
        tel.flush();
        tel
    })
    .await
    .unwrap_or_else(|e| panic!("flush: {e}"))
}

/// Shut `tel` down (flushing) on a blocking thread, for the same reason.
#[allow(clippy::panic)] // a test helper: failing is its job
pub async fn shutdown(tel: dockerhub_api::telemetry::Telemetry) {
    tokio::task::spawn_blocking(move || tel.shutdown())
        .await
        .unwrap_or_else(|e| panic!("shutdown: {e}"));
}
