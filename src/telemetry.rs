//! Telemetry for every binary of the workspace: logs, OpenTelemetry traces and
//! metrics over OTLP/HTTP (protobuf), and Langfuse (feature `otel`).
//!
//! One call sets it all up, before the tokio runtime starts:
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use dockerhub_api::telemetry::{self, TelemetryConfig};
//! let cfg = TelemetryConfig::from_env("dockerhub-agent")?;
//! let telemetry = telemetry::init(cfg)?;
//! // … build the runtime, serve …
//! telemetry.shutdown(); // flush what is queued (outside the runtime)
//! # Ok(()) }
//! ```
//!
//! - **Logs** go to stderr, human-readable by default, JSON with
//!   `LOG_FORMAT=json`; the filter is `RUST_LOG`, else `FASTMCP_LOG_LEVEL`,
//!   else `info`; `NO_COLOR` turns ANSI colours off.
//! - **Traces**: every `tracing` span of the workspace crates becomes an
//!   OpenTelemetry span (the SDK's `hub.request`, the MCP server's
//!   `mcp.tool_call`, the agent's spans), so parent and child follow the call.
//!   [`set_parent_from_headers`] reads an incoming `traceparent`;
//!   [`inject_headers`] writes one on an outgoing call.
//! - **Metrics**: Hub requests, latency, 429s, retries, token mints
//!   (recorded by the SDK middleware), tool calls ([`record_tool_call`]) and
//!   agent tasks ([`record_agent_task`]).
//! - **Export** is on when `OTEL_EXPORTER_OTLP_ENDPOINT` or the Langfuse keys
//!   are set, and off with `ENABLE_OTEL=false`. Spans are batched on a
//!   background thread behind a bounded queue: when the queue is full a span
//!   is dropped and counted ([`dropped_spans`], and the
//!   `telemetry.spans.dropped` metric), so a down or slow collector never
//!   slows or fails a request.
//! - **Shedding**: while no destination takes spans (its last export failed,
//!   or its queue overflowed), new traces are not recorded at all rather
//!   than built and then dropped: one probe trace per batch delay goes
//!   through, and the first export that succeeds turns recording back on.
//!   Spans already in a recorded trace keep their children. Traces shed are
//!   counted ([`shed_traces`], `telemetry.traces.shed`). Logs are untouched.
//!
//! No secret ever becomes an attribute: spans carry operation ids, methods,
//! route templates (never concrete paths), status codes and counters only.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use opentelemetry::metrics::{Counter, Gauge, Histogram, Meter, MeterProvider as _};
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry::{Context, KeyValue};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider, Span, SpanData, SpanExporter,
    SpanProcessor,
};
use secrecy::{ExposeSecret, SecretString};
use tracing::subscriber::Interest;
use tracing::{Metadata, Subscriber};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::filter::{EnvFilter, LevelFilter, Targets};
use tracing_subscriber::layer::{self, Filter, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{Layer, Registry};

/// What can go wrong setting telemetry up.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// A setting is malformed or inconsistent.
    #[error("telemetry configuration: {0}")]
    Config(String),
    /// The OTLP exporter could not be built.
    #[error("cannot build the OTLP exporter for {endpoint}: {message}")]
    Exporter {
        /// The endpoint (no credentials).
        endpoint: String,
        /// Why.
        message: String,
    },
    /// A global subscriber is already installed.
    #[error("a tracing subscriber is already installed: {0}")]
    AlreadyInstalled(String),
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// One human-readable line per event (the default).
    #[default]
    Human,
    /// One JSON object per line (`LOG_FORMAT=json`).
    Json,
}

/// Log settings.
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// `EnvFilter` directives (`info`, `dockerhub_mcp=debug`).
    pub filter: String,
    /// Human or JSON lines.
    pub format: LogFormat,
    /// ANSI colours (off when `NO_COLOR` is set).
    pub color: bool,
}

/// An OTLP/HTTP destination.
#[derive(Debug, Clone)]
pub struct OtlpTarget {
    /// Base URL; `/v1/traces` and `/v1/metrics` are appended.
    pub endpoint: String,
    /// Extra headers (`OTEL_EXPORTER_OTLP_HEADERS`); values are secrets.
    pub headers: Vec<(String, SecretString)>,
}

impl OtlpTarget {
    /// The headers as the exporter builders take them.
    fn header_map(&self) -> HashMap<String, String> {
        self.headers
            .iter()
            .map(|(k, v)| (k.clone(), v.expose_secret().to_string()))
            .collect()
    }
}

/// Langfuse's OTLP trace endpoint with Basic auth from its key pair.
#[derive(Debug, Clone)]
pub struct LangfuseTarget {
    /// Langfuse base URL (`LANGFUSE_HOST`, default `https://cloud.langfuse.com`).
    pub host: String,
    /// `LANGFUSE_PUBLIC_KEY` (`pk-lf-…`).
    pub public_key: String,
    /// `LANGFUSE_SECRET_KEY` (`sk-lf-…`).
    pub secret_key: SecretString,
}

impl LangfuseTarget {
    /// The OTLP traces URL of this Langfuse instance.
    pub fn traces_url(&self) -> String {
        format!(
            "{}/api/public/otel/v1/traces",
            self.host.trim_end_matches('/')
        )
    }

    /// `Basic base64(public:secret)`, the header Langfuse expects.
    pub fn authorization(&self) -> SecretString {
        let raw = format!("{}:{}", self.public_key, self.secret_key.expose_secret());
        SecretString::from(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        ))
    }
}

/// Everything [`init`] needs. Build it with [`TelemetryConfig::from_env`].
#[derive(Debug, Clone)]
pub struct TelemetryConfig {
    /// `service.name` of every span and metric (`OTEL_SERVICE_NAME`).
    pub service_name: String,
    /// Logs.
    pub log: LogConfig,
    /// The OTLP collector, when export is on.
    pub otlp: Option<OtlpTarget>,
    /// Langfuse, when its keys are set and export is on.
    pub langfuse: Option<LangfuseTarget>,
    /// Spans buffered for export before new ones are dropped
    /// (`OTEL_BSP_MAX_QUEUE_SIZE`, default 2048).
    pub queue_size: usize,
    /// Longest wait for the collector per export (`OTEL_EXPORTER_OTLP_TIMEOUT`
    /// in ms, default 5000). Exports run on a background thread.
    pub export_timeout: Duration,
    /// Delay between span batches (`OTEL_BSP_SCHEDULE_DELAY` in ms, default 1000).
    pub batch_delay: Duration,
    /// Metric export interval (`OTEL_METRIC_EXPORT_INTERVAL` in ms, default 30000).
    pub metric_interval: Duration,
    /// Whether spans go to the OTLP collector (`OTEL_TRACES_EXPORTER`: `otlp`,
    /// the default, or `none`). Langfuse has its own switch: its keys.
    pub traces: bool,
    /// Whether metrics go to the OTLP collector (`OTEL_METRICS_EXPORTER`:
    /// `otlp`, the default, or `none`).
    pub metrics: bool,
}

/// The environment variables [`TelemetryConfig::from_env`] reads.
pub const ENV_VARS: &[&str] = &[
    "OTEL_SERVICE_NAME",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_TIMEOUT",
    "OTEL_BSP_MAX_QUEUE_SIZE",
    "OTEL_BSP_SCHEDULE_DELAY",
    "OTEL_METRIC_EXPORT_INTERVAL",
    "OTEL_TRACES_EXPORTER",
    "OTEL_METRICS_EXPORTER",
    "ENABLE_OTEL",
    "LANGFUSE_HOST",
    "LANGFUSE_PUBLIC_KEY",
    "LANGFUSE_SECRET_KEY",
    "LOG_FORMAT",
    "RUST_LOG",
    "FASTMCP_LOG_LEVEL",
    "NO_COLOR",
];

impl TelemetryConfig {
    /// Telemetry off, human logs at `info`: a base for tests and embedders.
    pub fn new(service_name: impl Into<String>) -> TelemetryConfig {
        TelemetryConfig {
            service_name: service_name.into(),
            log: LogConfig {
                filter: "info".into(),
                format: LogFormat::Human,
                color: true,
            },
            otlp: None,
            langfuse: None,
            queue_size: 2048,
            export_timeout: Duration::from_secs(5),
            batch_delay: Duration::from_secs(1),
            metric_interval: Duration::from_secs(30),
            traces: true,
            metrics: true,
        }
    }

    /// From the process environment; `default_service` names the service
    /// when `OTEL_SERVICE_NAME` is unset.
    pub fn from_env(default_service: &str) -> Result<TelemetryConfig, TelemetryError> {
        TelemetryConfig::from_lookup(default_service, |k| std::env::var(k).ok())
    }

    /// From a variable lookup (every name read is one of [`ENV_VARS`]).
    pub fn from_lookup(
        default_service: &str,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<TelemetryConfig, TelemetryError> {
        let get = |k: &str| lookup(k).map(|v| v.trim().to_string());
        let set = |k: &str| get(k).filter(|v| !v.is_empty());
        let mut cfg = TelemetryConfig::new(
            set("OTEL_SERVICE_NAME").unwrap_or_else(|| default_service.to_string()),
        );
        cfg.log.filter = set("RUST_LOG")
            .or_else(|| set("FASTMCP_LOG_LEVEL"))
            .unwrap_or_else(|| "info".into());
        cfg.log.format = match set("LOG_FORMAT")
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("human" | "text" | "pretty" | "full") => LogFormat::Human,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(TelemetryError::Config(format!(
                    "LOG_FORMAT={other:?} is not a format; use json or human"
                )));
            }
        };
        // NO_COLOR: any value, even empty, turns colours off (no-color.org).
        cfg.log.color = lookup("NO_COLOR").is_none();
        let ms = |k: &str, default: Duration| -> Result<Duration, TelemetryError> {
            match set(k) {
                None => Ok(default),
                Some(v) => v.parse::<u64>().map(Duration::from_millis).map_err(|_| {
                    TelemetryError::Config(format!("{k}={v:?} is not a number of milliseconds"))
                }),
            }
        };
        cfg.export_timeout = ms("OTEL_EXPORTER_OTLP_TIMEOUT", cfg.export_timeout)?;
        cfg.batch_delay = ms("OTEL_BSP_SCHEDULE_DELAY", cfg.batch_delay)?;
        cfg.metric_interval = ms("OTEL_METRIC_EXPORT_INTERVAL", cfg.metric_interval)?;
        if let Some(v) = set("OTEL_BSP_MAX_QUEUE_SIZE") {
            cfg.queue_size = v.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
                TelemetryError::Config(format!(
                    "OTEL_BSP_MAX_QUEUE_SIZE={v:?} is not a positive number"
                ))
            })?;
        }
        let exporter = |k: &str| match set(k).map(|v| v.to_ascii_lowercase()).as_deref() {
            None | Some("otlp") => Ok(true),
            Some("none") => Ok(false),
            Some(other) => Err(TelemetryError::Config(format!(
                "{k}={other:?} is not supported; use otlp or none"
            ))),
        };
        cfg.traces = exporter("OTEL_TRACES_EXPORTER")?;
        cfg.metrics = exporter("OTEL_METRICS_EXPORTER")?;
        // Every variable is read up front, whatever the switch says, so that
        // the set of names read is always the same (see `ENV_VARS`).
        let enable = set("ENABLE_OTEL");
        let endpoint = set("OTEL_EXPORTER_OTLP_ENDPOINT");
        let headers = get("OTEL_EXPORTER_OTLP_HEADERS");
        let lf_host = set("LANGFUSE_HOST");
        let lf_public = set("LANGFUSE_PUBLIC_KEY");
        let lf_secret = lookup("LANGFUSE_SECRET_KEY")
            .map(|v| SecretString::from(v.trim().to_string()))
            .filter(|v| !v.expose_secret().is_empty());
        let enable = match enable {
            None => None,
            Some(v) => Some(
                crate::config::parse_bool("ENABLE_OTEL", &v)
                    .map_err(|e| TelemetryError::Config(e.to_string()))?,
            ),
        };
        if enable == Some(false) {
            return Ok(cfg);
        }
        if let Some(endpoint) = endpoint {
            let headers = match headers {
                Some(h) => parse_headers(&h)?,
                None => Vec::new(),
            };
            check_url("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)?;
            cfg.otlp = Some(OtlpTarget { endpoint, headers });
        }
        match (lf_public, lf_secret) {
            (Some(public_key), Some(secret_key)) => {
                let host = lf_host.unwrap_or_else(|| "https://cloud.langfuse.com".into());
                check_url("LANGFUSE_HOST", &host)?;
                cfg.langfuse = Some(LangfuseTarget {
                    host,
                    public_key,
                    secret_key,
                });
            }
            (None, None) => {}
            _ => {
                return Err(TelemetryError::Config(
                    "set both LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY (or neither)".into(),
                ));
            }
        }
        if enable == Some(true) && !cfg.exports() {
            return Err(TelemetryError::Config(
                "ENABLE_OTEL=true but there is nowhere to export: set OTEL_EXPORTER_OTLP_ENDPOINT (or the LANGFUSE_* keys)".into(),
            ));
        }
        Ok(cfg)
    }

    /// Whether anything is exported.
    pub fn exports(&self) -> bool {
        (self.otlp.is_some() && (self.traces || self.metrics)) || self.langfuse.is_some()
    }
}

fn check_url(var: &str, v: &str) -> Result<(), TelemetryError> {
    match reqwest::Url::parse(v) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(()),
        // The value is not shown: a malformed URL may still hold a credential.
        _ => Err(TelemetryError::Config(format!(
            "{var} is not an http(s) URL (like http://otel-collector:4318)"
        ))),
    }
}

/// A URL as it may be logged: without user info, query or fragment.
fn safe_url(v: &str) -> String {
    match reqwest::Url::parse(v) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.set_fragment(None);
            u.to_string()
        }
        Err(_) => "(invalid URL)".into(),
    }
}

/// `k1=v1,k2=v2` with percent-encoded values (the OTLP exporter spec).
fn parse_headers(s: &str) -> Result<Vec<(String, SecretString)>, TelemetryError> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((k, v)) = part.split_once('=') else {
            return Err(TelemetryError::Config(
                "OTEL_EXPORTER_OTLP_HEADERS: an entry is not key=value (use k1=v1,k2=v2)".into(),
            ));
        };
        let k = k.trim();
        if http::HeaderName::from_bytes(k.as_bytes()).is_err() {
            return Err(TelemetryError::Config(format!(
                "OTEL_EXPORTER_OTLP_HEADERS: {k:?} is not a header name"
            )));
        }
        let v = percent_encoding::percent_decode_str(v.trim()).decode_utf8_lossy();
        out.push((k.to_string(), SecretString::from(v.into_owned())));
    }
    Ok(out)
}

// ------------------------------------------------------------------- init

/// The running telemetry: flushes and stops the exporters on
/// [`Telemetry::shutdown`] (or drop).
pub struct Telemetry {
    tracer: Option<SdkTracerProvider>,
    meters: Option<SdkMeterProvider>,
    dropped: Arc<AtomicU64>,
    health: Arc<Health>,
    stopped: bool,
}

impl fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Telemetry")
            .field("traces", &self.tracer.is_some())
            .field("metrics", &self.meters.is_some())
            .field("dropped_spans", &self.dropped.load(Ordering::Relaxed))
            .field("shed_traces", &self.shed_traces())
            .finish()
    }
}

impl Telemetry {
    /// Export what is queued now (blocking; call it outside async code or in
    /// `spawn_blocking`).
    pub fn flush(&self) {
        if let Some(t) = &self.tracer {
            let _ = t.force_flush();
        }
        if let Some(m) = &self.meters {
            let _ = m.force_flush();
        }
    }

    /// Flush and stop the exporters (blocking, bounded by the export timeout).
    pub fn shutdown(mut self) {
        self.stop();
    }

    /// Spans dropped so far because the export queue was full.
    pub fn dropped_spans(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Traces not recorded so far because no destination was taking spans.
    pub fn shed_traces(&self) -> u64 {
        self.health.shed.load(Ordering::Relaxed)
    }

    /// Whether some span destination is taking spans (`true` when spans are
    /// not exported at all).
    pub fn accepting(&self) -> bool {
        self.health.accepting()
    }

    fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        if let Some(t) = &self.tracer {
            let _ = t.shutdown();
        }
        if let Some(m) = &self.meters {
            let _ = m.shutdown();
        }
    }
}

/// Dropping flushes and stops the exporters like [`Telemetry::shutdown`]:
/// this blocks, so drop it outside async code (or in `spawn_blocking`).
impl Drop for Telemetry {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Set up logs, traces and metrics for the whole process: installs the
/// global `tracing` subscriber, the metric instruments and the W3C trace
/// context propagator. Call it once, before the tokio runtime starts; keep
/// the returned value alive and call [`Telemetry::shutdown`] on exit.
pub fn init(cfg: TelemetryConfig) -> Result<Telemetry, TelemetryError> {
    let (telemetry, subscriber) = build(&cfg)?;
    tracing::subscriber::set_global_default(subscriber)
        .map_err(|e| TelemetryError::AlreadyInstalled(e.to_string()))?;
    if let Some(m) = &telemetry.meters {
        opentelemetry::global::set_meter_provider(m.clone());
    }
    if let Some(t) = &telemetry.tracer {
        opentelemetry::global::set_tracer_provider(t.clone());
    }
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    if cfg.exports() {
        tracing::info!(
            service = %cfg.service_name,
            otlp = cfg.otlp.as_ref().map(|o| safe_url(&o.endpoint)),
            langfuse = cfg.langfuse.as_ref().map(|l| safe_url(&l.host)),
            "OpenTelemetry export on"
        );
    }
    Ok(telemetry)
}

/// Which spans and events are exported: the workspace crates only (never
/// rmcp's payload logs, the HTTP stacks or the exporter itself).
fn export_filter() -> Targets {
    Targets::new()
        .with_target("dockerhub_api", LevelFilter::DEBUG)
        .with_target("dockerhub_mcp", LevelFilter::INFO)
        .with_target("dockerhub_agent", LevelFilter::INFO)
}

/// Build the exporters and a subscriber without installing anything global.
/// The metric instruments ride in the subscriber, so metrics are recorded
/// only where it is the default. For tests and embedders that scope the
/// subscriber with `tracing::subscriber::set_default`.
pub fn build(
    cfg: &TelemetryConfig,
) -> Result<(Telemetry, Box<dyn Subscriber + Send + Sync>), TelemetryError> {
    let dropped = Arc::new(AtomicU64::new(0));
    let mut gates = Vec::new();
    let resource = Resource::builder()
        .with_service_name(cfg.service_name.clone())
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build();
    // One tracer provider, one bounded batch processor per destination.
    let mut processors = Vec::new();
    if let Some(o) = cfg.otlp.as_ref().filter(|_| cfg.traces) {
        let base = o.endpoint.trim_end_matches('/');
        processors.push(span_processor(
            cfg,
            &format!("{base}/v1/traces"),
            o.header_map(),
            &dropped,
            &mut gates,
        )?);
    }
    if let Some(l) = &cfg.langfuse {
        let headers = HashMap::from([(
            "Authorization".to_string(),
            l.authorization().expose_secret().to_string(),
        )]);
        processors.push(span_processor(
            cfg,
            &l.traces_url(),
            headers,
            &dropped,
            &mut gates,
        )?);
    }
    let health = Arc::new(Health::new(gates, cfg.batch_delay));
    let tracer = (!processors.is_empty()).then(|| {
        processors
            .into_iter()
            .fold(
                SdkTracerProvider::builder().with_resource(resource.clone()),
                |b, p| b.with_span_processor(p),
            )
            .build()
    });
    let mut meters = None;
    let mut instruments = None;
    if let Some(o) = cfg.otlp.as_ref().filter(|_| cfg.metrics) {
        let url = format!("{}/v1/metrics", o.endpoint.trim_end_matches('/'));
        let exporter = opentelemetry_otlp::MetricExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(url.clone())
            .with_headers(o.header_map())
            .with_timeout(cfg.export_timeout)
            .build()
            .map_err(|e| TelemetryError::Exporter {
                endpoint: safe_url(&url),
                message: e.to_string(),
            })?;
        let reader = PeriodicReader::builder(exporter)
            .with_interval(cfg.metric_interval)
            .build();
        let provider = SdkMeterProvider::builder()
            .with_resource(resource)
            .with_reader(reader)
            .build();
        instruments = Some(Instruments::new(
            &provider.meter("dockerhub-api"),
            &dropped,
            &health,
        ));
        meters = Some(provider);
    }
    let env_filter = EnvFilter::try_new(&cfg.log.filter).map_err(|e| {
        TelemetryError::Config(format!(
            "log filter {:?} is invalid ({e}); use a level like info or debug, or module=level",
            cfg.log.filter
        ))
    })?;
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(cfg.log.color);
    let fmt_layer: Box<dyn Layer<Registry> + Send + Sync> = match cfg.log.format {
        LogFormat::Human => fmt.with_filter(env_filter).boxed(),
        LogFormat::Json => fmt
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_filter(env_filter)
            .boxed(),
    };
    let mut layers = vec![fmt_layer];
    if let Some(t) = &tracer {
        let tracer = t.tracer("dockerhub-api");
        layers.push(
            tracing_opentelemetry::layer()
                .with_tracer(tracer)
                .with_location(false)
                .with_threads(false)
                .with_tracked_inactivity(false)
                .with_context_activation(false)
                .with_target(false)
                .with_filter(ExportFilter {
                    targets: export_filter(),
                    health: health.clone(),
                })
                .boxed(),
        );
    }
    if tracer.is_some() || instruments.is_some() {
        // Sees no span or event (its filter is off): only found by downcast.
        layers.push(
            Scope {
                instruments,
                dropped: dropped.clone(),
                health: health.clone(),
            }
            .with_filter(LevelFilter::OFF)
            .boxed(),
        );
    }
    let subscriber = Registry::default().with(layers);
    Ok((
        Telemetry {
            tracer,
            meters,
            dropped,
            health,
            stopped: false,
        },
        Box::new(subscriber),
    ))
}

fn span_processor(
    cfg: &TelemetryConfig,
    url: &str,
    headers: HashMap<String, String>,
    dropped: &Arc<AtomicU64>,
    gates: &mut Vec<Arc<Gate>>,
) -> Result<Gated, TelemetryError> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(url.to_string())
        .with_headers(headers)
        .with_timeout(cfg.export_timeout)
        .build()
        .map_err(|e| TelemetryError::Exporter {
            endpoint: safe_url(url),
            message: e.to_string(),
        })?;
    let gate = Arc::new(Gate {
        pending: AtomicUsize::new(0),
        dropped: dropped.clone(),
        capacity: cfg.queue_size.max(1),
        accepting: AtomicBool::new(true),
    });
    gates.push(gate.clone());
    let batch = BatchConfigBuilder::default()
        .with_max_queue_size(cfg.queue_size.max(1))
        .with_scheduled_delay(cfg.batch_delay)
        .build();
    let processor = BatchSpanProcessor::builder(Counted {
        inner: exporter,
        gate: gate.clone(),
    })
    .with_batch_config(batch)
    .build();
    Ok(Gated {
        inner: processor,
        gate,
    })
}

// ------------------------------------------------------- bounded queue

/// Spans handed to the batch processor and not yet exported, and the ones
/// dropped because that number reached the queue size.
#[derive(Debug)]
struct Gate {
    pending: AtomicUsize,
    /// Shared by the gates of all destinations.
    dropped: Arc<AtomicU64>,
    capacity: usize,
    /// Cleared when an export fails or the queue overflows; set again when
    /// an export succeeds.
    accepting: AtomicBool,
}

/// Admits a span to the batch processor only while fewer than `capacity`
/// are pending; otherwise drops it and counts it. Never blocks.
#[derive(Debug)]
struct Gated {
    inner: BatchSpanProcessor,
    gate: Arc<Gate>,
}

impl SpanProcessor for Gated {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        if self.gate.pending.fetch_add(1, Ordering::AcqRel) >= self.gate.capacity {
            self.gate.pending.fetch_sub(1, Ordering::AcqRel);
            self.gate.dropped.fetch_add(1, Ordering::Relaxed);
            self.gate.accepting.store(false, Ordering::Relaxed);
            return;
        }
        self.inner.on_end(span);
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// The OTLP exporter, releasing the gate's places once a batch is done
/// (exported or failed).
#[derive(Debug)]
struct Counted<E> {
    inner: E,
    gate: Arc<Gate>,
}

impl<E: SpanExporter> SpanExporter for Counted<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let n = batch.len();
        let result = self.inner.export(batch).await;
        self.gate.pending.fetch_sub(n, Ordering::AcqRel);
        self.gate.accepting.store(result.is_ok(), Ordering::Relaxed);
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// Spans dropped because an export queue was full, as counted by the
/// default subscriber's telemetry (0 when it exports nothing).
pub fn dropped_spans() -> u64 {
    scope(|s| s.dropped.load(Ordering::Relaxed)).unwrap_or(0)
}

/// Traces not recorded because no destination was taking spans, as counted
/// by the default subscriber's telemetry (0 when it exports nothing).
pub fn shed_traces() -> u64 {
    scope(|s| s.health.shed.load(Ordering::Relaxed)).unwrap_or(0)
}

// ------------------------------------------------------------ shedding

/// Whether any span destination is taking spans, and the probes that find
/// out when one does again.
#[derive(Debug)]
struct Health {
    gates: Vec<Arc<Gate>>,
    /// Time base of `next_probe`.
    epoch: Instant,
    /// Milliseconds since `epoch` before which no probe is let through.
    next_probe: AtomicU64,
    probe_every: u64,
    /// Traces not recorded.
    shed: AtomicU64,
}

impl Health {
    fn new(gates: Vec<Arc<Gate>>, probe_every: Duration) -> Health {
        Health {
            gates,
            epoch: Instant::now(),
            next_probe: AtomicU64::new(0),
            probe_every: u64::try_from(probe_every.as_millis())
                .unwrap_or(u64::MAX)
                .max(1),
            shed: AtomicU64::new(0),
        }
    }

    /// Some destination takes spans (or none is configured).
    fn accepting(&self) -> bool {
        self.gates.is_empty()
            || self
                .gates
                .iter()
                .any(|g| g.accepting.load(Ordering::Relaxed))
    }

    /// Whether a new trace is recorded: always while a destination takes
    /// spans; otherwise only one probe per `probe_every`, the rest counted
    /// as shed.
    fn admit_trace(&self) -> bool {
        if self.accepting() {
            return true;
        }
        let now = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        let next = self.next_probe.load(Ordering::Relaxed);
        if now >= next
            && self
                .next_probe
                .compare_exchange(
                    next,
                    now.saturating_add(self.probe_every),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
        {
            return true;
        }
        self.shed.fetch_add(1, Ordering::Relaxed);
        false
    }
}

/// The export layer's filter: the workspace targets, and shedding. While no
/// destination takes spans, a span is recorded only when its parent is (so
/// a recorded trace stays whole) or, for a new trace, when it is a probe.
/// The decision is made per span (`Interest::sometimes`), so a span that is
/// not recorded costs the export layer nothing.
struct ExportFilter {
    targets: Targets,
    health: Arc<Health>,
}

impl ExportFilter {
    fn ours(&self, meta: &Metadata<'_>) -> bool {
        self.targets.would_enable(meta.target(), meta.level())
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Filter<S> for ExportFilter {
    fn enabled(&self, meta: &Metadata<'_>, cx: &layer::Context<'_, S>) -> bool {
        if !self.ours(meta) {
            return false;
        }
        if !meta.is_span() {
            return true;
        }
        // The parent: a `hub.request`'s explicit one (`hooks::with_parent`),
        // else the current span. A parent of ours is followed, whatever the
        // destinations' state (so a trace shed just before recording turns
        // back on stays shed, rather than leaving orphans); a foreign one
        // (rmcp, poem) or none makes this the root of a new trace. A parent
        // that was not recorded may not exist at all (no layer wanted it):
        // it then has metadata and no id. Limit: a shed parent that no layer
        // wanted is never current, so a contextual child of it looks like a
        // root (and may become a probe).
        let parent = crate::hooks::request_parent_of_new_span()
            .or_else(|| {
                let current = cx.current_span();
                current.metadata().map(|m| (current.id().cloned(), m))
            })
            .filter(|(_, m)| self.ours(m));
        match parent {
            Some((id, _)) => id.is_some_and(|id| cx.span(&id).is_some()),
            None => self.health.admit_trace(),
        }
    }

    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> Interest {
        if !self.ours(meta) {
            Interest::never()
        } else if meta.is_span() {
            // Asked again for each span: the answer depends on its parent
            // and on `health`.
            Interest::sometimes()
        } else {
            Interest::always()
        }
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::DEBUG)
    }
}

// ------------------------------------------------------------- metrics

/// The telemetry state carried by a subscriber built here: its metric
/// instruments and drop counter. A layer that sees nothing; found with
/// `downcast_ref` on the default dispatcher.
struct Scope {
    instruments: Option<Instruments>,
    dropped: Arc<AtomicU64>,
    health: Arc<Health>,
}

impl<S: Subscriber> Layer<S> for Scope {}

fn scope<T>(f: impl FnOnce(&Scope) -> T) -> Option<T> {
    let mut f = Some(f);
    tracing::dispatcher::get_default(|d| {
        d.downcast_ref::<Scope>()
            .and_then(|s| f.take().map(|f| f(s)))
    })
}

/// Run `f` with the instruments of the default subscriber, when it has any.
fn instruments(f: impl FnOnce(&Instruments)) {
    scope(|s| {
        if let Some(i) = &s.instruments {
            f(i);
        }
    });
}

struct Instruments {
    hub_requests: Counter<u64>,
    hub_duration: Histogram<f64>,
    hub_rate_limited: Counter<u64>,
    hub_retries: Counter<u64>,
    hub_remaining: Gauge<u64>,
    token_mints: Counter<u64>,
    tool_calls: Counter<u64>,
    tool_duration: Histogram<f64>,
    agent_tasks: Counter<u64>,
}

impl Instruments {
    fn new(meter: &Meter, dropped: &Arc<AtomicU64>, health: &Arc<Health>) -> Instruments {
        let g = dropped.clone();
        // Registered with the meter; kept alive by it.
        let _dropped = meter
            .u64_observable_counter("telemetry.spans.dropped")
            .with_description("Spans dropped because the export queue was full")
            .with_callback(move |o| o.observe(g.load(Ordering::Relaxed), &[]))
            .build();
        let h = health.clone();
        let _shed = meter
            .u64_observable_counter("telemetry.traces.shed")
            .with_description("Traces not recorded because no destination was taking spans")
            .with_callback(move |o| o.observe(h.shed.load(Ordering::Relaxed), &[]))
            .build();
        Instruments {
            hub_requests: meter
                .u64_counter("hub.requests")
                .with_description("Docker Hub requests by operation and final status")
                .build(),
            hub_duration: meter
                .f64_histogram("hub.request.duration")
                .with_unit("s")
                .with_description("Docker Hub request latency, retries and waits included")
                .build(),
            hub_rate_limited: meter
                .u64_counter("hub.rate_limited")
                .with_description("HTTP 429 answers from Docker Hub")
                .build(),
            hub_retries: meter
                .u64_counter("hub.retries")
                .with_description("Docker Hub request retries")
                .build(),
            hub_remaining: meter
                .u64_gauge("hub.rate_limit.remaining")
                .with_description("X-RateLimit-Remaining of the last answer")
                .build(),
            token_mints: meter
                .u64_counter("hub.token.mints")
                .with_description("Docker Hub JWT mints by credential kind and outcome")
                .build(),
            tool_calls: meter
                .u64_counter("mcp.tool.calls")
                .with_description("MCP tool calls by tool, action and error")
                .build(),
            tool_duration: meter
                .f64_histogram("mcp.tool.duration")
                .with_unit("s")
                .with_description("MCP tool call latency")
                .build(),
            agent_tasks: meter
                .u64_counter("agent.tasks")
                .with_description("Agent tasks by final state")
                .build(),
        }
    }
}

/// One finished Hub request (all attempts), from the middleware.
pub(crate) fn record_hub_request(
    operation: &'static str,
    method: &'static str,
    status: Option<u16>,
    retries: u32,
    elapsed: Duration,
    remaining: Option<u64>,
) {
    instruments(|i| {
        let status_attr = match status {
            Some(s) => KeyValue::new("status", i64::from(s)),
            None => KeyValue::new("status", "transport_error"),
        };
        let attrs = [
            KeyValue::new("operation", operation),
            KeyValue::new("method", method),
            status_attr,
        ];
        i.hub_requests.add(1, &attrs);
        i.hub_duration.record(elapsed.as_secs_f64(), &attrs);
        if retries > 0 {
            i.hub_retries
                .add(u64::from(retries), &[KeyValue::new("operation", operation)]);
        }
        if let Some(r) = remaining {
            i.hub_remaining.record(r, &[]);
        }
    });
}

/// One 429 answer (retried or not).
pub(crate) fn record_rate_limited(operation: &'static str) {
    instruments(|i| {
        i.hub_rate_limited
            .add(1, &[KeyValue::new("operation", operation)]);
    });
}

/// One JWT mint.
pub(crate) fn record_mint(kind: &'static str, ok: bool) {
    instruments(|i| {
        i.token_mints.add(
            1,
            &[
                KeyValue::new("kind", kind),
                KeyValue::new("outcome", if ok { "ok" } else { "error" }),
            ],
        );
    });
}

/// Record one MCP tool call (`hub_repos`, `list`, whether it returned
/// `isError`, how long it took).
pub fn record_tool_call(
    tool: &'static str,
    action: &'static str,
    is_error: bool,
    elapsed: Duration,
) {
    instruments(|i| {
        let attrs = [
            KeyValue::new("tool", tool),
            KeyValue::new("action", action),
            KeyValue::new("error", is_error),
        ];
        i.tool_calls.add(1, &attrs);
        i.tool_duration.record(elapsed.as_secs_f64(), &attrs[..2]);
    });
}

/// Record one finished agent task by its final state (`completed`,
/// `failed`, `canceled`, `input-required`…).
pub fn record_agent_task(state: &str) {
    instruments(|i| {
        i.agent_tasks
            .add(1, &[KeyValue::new("state", state.to_string())]);
    });
}

// ------------------------------------------------------ propagation

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

struct HeaderInjector<'a>(&'a mut http::HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(k), Ok(v)) = (
            http::HeaderName::from_bytes(key.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            self.0.insert(k, v);
        }
    }
}

/// Make `span` a child of the W3C `traceparent` (and `tracestate`) in
/// `headers`, when there is a valid one. Call it right after creating the
/// span, before entering it. Returns whether a parent was set.
pub fn set_parent_from_headers(span: &tracing::Span, headers: &http::HeaderMap) -> bool {
    if !headers.contains_key("traceparent") {
        return false;
    }
    let cx = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
    {
        use opentelemetry::trace::TraceContextExt as _;
        if !cx.span().span_context().is_valid() {
            return false;
        }
    }
    span.set_parent(cx).is_ok()
}

/// Write `span`'s W3C `traceparent` into `headers` of an outgoing call (the
/// agent's MCP requests), so the callee's spans join this trace.
pub fn inject_headers(span: &tracing::Span, headers: &mut http::HeaderMap) {
    let cx = span.context();
    TraceContextPropagator::new().inject_context(&cx, &mut HeaderInjector(headers));
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn cfg(vars: &[(&str, &str)]) -> Result<TelemetryConfig, TelemetryError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        TelemetryConfig::from_lookup("svc", |k| map.get(k).cloned())
    }

    #[test]
    fn export_switch() {
        assert!(!cfg(&[]).unwrap().exports());
        let c = cfg(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318")]).unwrap();
        assert!(c.exports());
        let c = cfg(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
            ("ENABLE_OTEL", "false"),
        ])
        .unwrap();
        assert!(!c.exports());
        assert!(cfg(&[("ENABLE_OTEL", "true")]).is_err());
        let c = cfg(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
            ("OTEL_TRACES_EXPORTER", "none"),
            ("OTEL_METRICS_EXPORTER", "OTLP"),
        ])
        .unwrap();
        assert!(!c.traces && c.metrics && c.exports());
        let c = cfg(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
            ("OTEL_TRACES_EXPORTER", "none"),
            ("OTEL_METRICS_EXPORTER", "none"),
        ])
        .unwrap();
        assert!(!c.exports());
        let e = cfg(&[("OTEL_METRICS_EXPORTER", "prometheus")]).unwrap_err();
        assert!(e.to_string().contains("OTEL_METRICS_EXPORTER"), "{e}");
        assert!(cfg(&[("LANGFUSE_PUBLIC_KEY", "pk")]).is_err());
    }

    #[test]
    fn logs_and_headers() {
        let c = cfg(&[
            ("FASTMCP_LOG_LEVEL", "debug"),
            ("LOG_FORMAT", "JSON"),
            ("NO_COLOR", ""),
            ("OTEL_SERVICE_NAME", "x"),
        ])
        .unwrap();
        assert_eq!(c.log.filter, "debug");
        assert_eq!(c.log.format, LogFormat::Json);
        assert!(!c.log.color);
        assert_eq!(c.service_name, "x");
        let c = cfg(&[("RUST_LOG", "warn"), ("FASTMCP_LOG_LEVEL", "debug")]).unwrap();
        assert_eq!(c.log.filter, "warn");
        let h = parse_headers("api-key=a%20b, x-tenant = t1").unwrap();
        assert_eq!(h[0].0, "api-key");
        assert_eq!(h[0].1.expose_secret(), "a b");
        assert_eq!(h[1].1.expose_secret(), "t1");
        let e = parse_headers("bad header=sekrit").unwrap_err().to_string();
        assert!(!e.contains("sekrit"), "{e}");
    }

    #[test]
    fn urls_are_logged_without_credentials() {
        assert_eq!(
            safe_url("https://u:p@c.example.com:4318/x?k=v"),
            "https://c.example.com:4318/x"
        );
        let e = cfg(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "sekrit")])
            .unwrap_err()
            .to_string();
        assert!(!e.contains("sekrit"), "{e}");
    }

    #[test]
    fn shedding_lets_one_probe_through_per_interval() {
        let gate = |accepting| {
            Arc::new(Gate {
                pending: AtomicUsize::new(0),
                dropped: Arc::default(),
                capacity: 1,
                accepting: AtomicBool::new(accepting),
            })
        };
        let (down, up) = (gate(false), gate(true));
        let h = Health::new(vec![down.clone(), up.clone()], Duration::from_secs(3600));
        assert!(
            h.accepting() && h.admit_trace(),
            "one destination takes spans"
        );
        up.accepting.store(false, Ordering::Relaxed);
        assert!(
            h.admit_trace(),
            "the first trace after the failure is a probe"
        );
        assert!(
            !h.admit_trace() && !h.admit_trace(),
            "then shed until the next probe"
        );
        assert_eq!(h.shed.load(Ordering::Relaxed), 2);
        down.accepting.store(true, Ordering::Relaxed);
        assert!(h.admit_trace(), "an export succeeded: recording again");
        let none = Health::new(Vec::new(), Duration::from_millis(1));
        assert!(none.accepting(), "nothing to export to: nothing to shed");
    }

    #[test]
    fn langfuse_basic_auth() {
        let l = LangfuseTarget {
            host: "https://lf.example.com/".into(),
            public_key: "pk-lf-1".into(),
            secret_key: SecretString::from("sk-lf-2"),
        };
        assert_eq!(
            l.traces_url(),
            "https://lf.example.com/api/public/otel/v1/traces"
        );
        assert_eq!(
            l.authorization().expose_secret(),
            "Basic cGstbGYtMTpzay1sZi0y"
        );
    }
}
