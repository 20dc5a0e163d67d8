//! The MCP client backend: the seven tools of a `dockerhub-mcp` (or any
//! compatible) server over streamable HTTP.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use http::{HeaderName, HeaderValue};
use rmcp::model::{CallToolRequestParams, ClientJsonRpcMessage, RequestMetaObject};
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::common::client_side_sse::BoxedSseResponse;
use rmcp::transport::streamable_http_client::{
    StreamableHttpClient, StreamableHttpClientTransportConfig, StreamableHttpError,
    StreamableHttpPostResponse, StreamableHttpResponseLimits,
};
use rmcp::{RoleClient, ServiceExt};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::error::{AgentError, Result};
use crate::tools::{ToolBackend, ToolOutcome, ToolSpec, is_destructive, summarize};

/// Tools served by an MCP server over streamable HTTP.
pub struct McpBackend {
    url: String,
    client: RunningService<RoleClient, ()>,
    tools: Mutex<Option<Vec<ToolSpec>>>,
    rate_limit: Mutex<Option<Value>>,
}

impl std::fmt::Debug for McpBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpBackend")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl McpBackend {
    /// Connect to `url` (e.g. `http://127.0.0.1:8000/mcp`), sending `token` as a bearer when given.
    pub async fn connect(url: &str, token: Option<SecretString>) -> Result<McpBackend> {
        let mut cfg = StreamableHttpClientTransportConfig::with_uri(url.to_string());
        if let Some(t) = token {
            cfg = cfg.auth_header(t.expose_secret().to_string());
        }
        let transport = StreamableHttpClientTransport::with_client(TraceHeaders::new()?, cfg);
        let client = ().serve(transport).await.map_err(|e| {
            let detail = dockerhub_api::error::chain(&e);
            let hint = if detail.contains("Auth required") || detail.contains("Insufficient scope")
            {
                "the server refused the agent's credentials: set MCP_TOKEN to a token it accepts (one of its MCP_AUTH_TOKENS)"
            } else {
                "check MCP_URL and that the server runs with --transport streamable-http"
            };
            AgentError::Mcp(format!("cannot connect to {url}: {detail}; {hint}"))
        })?;
        let backend = McpBackend {
            url: url.to_string(),
            client,
            tools: Mutex::new(None),
            rate_limit: Mutex::new(None),
        };
        let n = backend.load_tools().await?.len();
        tracing::info!(url, tools = n, "connected to the MCP server");
        Ok(backend)
    }

    async fn load_tools(&self) -> Result<Vec<ToolSpec>> {
        let list = self
            .client
            .list_all_tools()
            .await
            .map_err(|e| AgentError::Mcp(format!("tools/list failed: {e}")))?;
        let specs: Vec<ToolSpec> = list
            .into_iter()
            .map(|t| ToolSpec {
                name: t.name.to_string(),
                description: t.description.map(|d| d.to_string()).unwrap_or_default(),
                input_schema: Value::Object((*t.input_schema).clone()),
            })
            .collect();
        if let Ok(mut g) = self.tools.lock() {
            *g = Some(specs.clone());
        }
        Ok(specs)
    }

    fn cached(&self) -> Option<Vec<ToolSpec>> {
        self.tools.lock().ok().and_then(|g| g.clone())
    }

    async fn run(&self, tool: &str, arguments: Value) -> ToolOutcome {
        let Value::Object(args) = arguments else {
            return ToolOutcome::error("InvalidArguments", "arguments must be an object");
        };
        let action = args
            .get("action")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let mut params = CallToolRequestParams::new(tool.to_string()).with_arguments(args);
        // The W3C trace context of this call (the agent's tool-call span)
        // travels in `_meta.traceparent` (SEP-414, any transport), which
        // `TraceHeaders` also sends as the POST's `traceparent` header.
        params.meta = trace_meta(&tracing::Span::current());
        match self.client.call_tool(params).await {
            Ok(r) => {
                let text: Vec<String> = r
                    .content
                    .iter()
                    .filter_map(|c| c.as_text().map(|t| t.text.clone()))
                    .collect();
                let text = text.join("\n");
                let structured = r
                    .structured_content
                    .clone()
                    .or_else(|| serde_json::from_str(&text).ok())
                    .unwrap_or_else(|| serde_json::json!({"text": text}));
                if r.is_error.unwrap_or(false) {
                    let message = structured
                        .pointer("/error/message")
                        .and_then(Value::as_str)
                        .map_or_else(|| text.clone(), str::to_string);
                    return ToolOutcome {
                        is_error: true,
                        structured,
                        text: message,
                    };
                }
                let out = summarize(tool, &action, structured);
                if let (Some(rl), Ok(mut g)) = (out.rate_limit().cloned(), self.rate_limit.lock()) {
                    *g = Some(rl);
                }
                out
            }
            Err(e) => ToolOutcome::error(
                "McpError",
                format!("{tool} call failed at {}: {e}", self.url),
            ),
        }
    }
}

/// The W3C trace context (`traceparent`, `tracestate`) of `span` as request
/// `_meta`, when the span is recorded (telemetry on).
fn trace_meta(span: &tracing::Span) -> Option<RequestMetaObject> {
    let mut headers = http::HeaderMap::new();
    dockerhub_api::telemetry::inject_headers(span, &mut headers);
    let field = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let mut meta = RequestMetaObject::new();
    meta.set_traceparent(field("traceparent")?);
    if let Some(state) = field("tracestate") {
        meta.set_tracestate(state);
    }
    Some(meta)
}

/// The reqwest client of the MCP transport, built like rmcp's default one,
/// that also sends the `traceparent` and `tracestate` of a request's
/// `params._meta` as HTTP headers of its POST.
#[derive(Debug, Clone)]
struct TraceHeaders(reqwest::Client);

impl TraceHeaders {
    /// No idle pooling, and only same-origin 307/308 redirects (at most 10,
    /// each logged at debug), as in rmcp's `StreamableHttpClientTransport::from_config`.
    fn new() -> Result<TraceHeaders> {
        let redirect = reqwest::redirect::Policy::custom(|attempt| {
            let keeps_body = matches!(
                attempt.status(),
                reqwest::StatusCode::TEMPORARY_REDIRECT | reqwest::StatusCode::PERMANENT_REDIRECT
            );
            let same_origin = attempt
                .previous()
                .first()
                .is_some_and(|first| first.origin() == attempt.url().origin());
            if !keeps_body || !same_origin {
                attempt.stop()
            } else if attempt.previous().len() > 10 {
                attempt.error("exceeded 10 redirects")
            } else {
                // Paths only: the origin is unchanged, and a query may hold a credential.
                tracing::debug!(
                    status = %attempt.status(),
                    from = attempt.previous().last().map(|u| u.path()).unwrap_or_default(),
                    to = attempt.url().path(),
                    "following a same-origin redirect"
                );
                attempt.follow()
            }
        });
        reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .redirect(redirect)
            .build()
            .map(TraceHeaders)
            .map_err(|e| AgentError::Mcp(format!("cannot build the HTTP client: {e}")))
    }
}

/// `headers` plus the `traceparent` and `tracestate` of `message`'s
/// `params._meta` (as sent), when it is a request and they are valid header values.
fn with_trace_headers(
    message: &ClientJsonRpcMessage,
    mut headers: HashMap<HeaderName, HeaderValue>,
) -> HashMap<HeaderName, HeaderValue> {
    let ClientJsonRpcMessage::Request(request) = message else {
        return headers;
    };
    let Ok(value) = serde_json::to_value(&request.request) else {
        return headers;
    };
    let Some(meta) = value.pointer("/params/_meta") else {
        return headers;
    };
    for name in ["traceparent", "tracestate"] {
        if let Some(v) = meta
            .get(name)
            .and_then(Value::as_str)
            .and_then(|v| HeaderValue::from_str(v).ok())
        {
            headers.insert(HeaderName::from_static(name), v);
        }
    }
    headers
}

type HttpError = StreamableHttpError<reqwest::Error>;

/// Every method delegates to reqwest's, so the transport's limits apply.
impl StreamableHttpClient for TraceHeaders {
    type Error = reqwest::Error;

    async fn post_message(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> std::result::Result<StreamableHttpPostResponse, HttpError> {
        let headers = with_trace_headers(&message, custom_headers);
        self.0
            .post_message(uri, message, session_id, auth_header, headers)
            .await
    }

    async fn post_message_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> std::result::Result<StreamableHttpPostResponse, HttpError> {
        let headers = with_trace_headers(&message, custom_headers);
        self.0
            .post_message_with_max_sse_event_size(
                uri,
                message,
                session_id,
                auth_header,
                headers,
                max_sse_event_size,
            )
            .await
    }

    async fn post_message_with_response_limits(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        limits: StreamableHttpResponseLimits,
    ) -> std::result::Result<StreamableHttpPostResponse, HttpError> {
        let headers = with_trace_headers(&message, custom_headers);
        self.0
            .post_message_with_response_limits(
                uri,
                message,
                session_id,
                auth_header,
                headers,
                limits,
            )
            .await
    }

    async fn delete_session(
        &self,
        uri: Arc<str>,
        session_id: Arc<str>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> std::result::Result<(), HttpError> {
        self.0
            .delete_session(uri, session_id, auth_header, custom_headers)
            .await
    }

    async fn get_stream(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> std::result::Result<BoxedSseResponse, HttpError> {
        self.0
            .get_stream(uri, session_id, last_event_id, auth_header, custom_headers)
            .await
    }

    async fn get_stream_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> std::result::Result<BoxedSseResponse, HttpError> {
        self.0
            .get_stream_with_max_sse_event_size(
                uri,
                session_id,
                last_event_id,
                auth_header,
                custom_headers,
                max_sse_event_size,
            )
            .await
    }
}

impl ToolBackend for McpBackend {
    fn tools(&self) -> BoxFuture<'_, Vec<ToolSpec>> {
        Box::pin(async move {
            if let Some(t) = self.cached() {
                return t;
            }
            self.load_tools().await.unwrap_or_default()
        })
    }

    fn call<'a>(
        &'a self,
        tool: &'a str,
        arguments: Value,
        cancel: CancellationToken,
    ) -> BoxFuture<'a, ToolOutcome> {
        Box::pin(async move {
            tokio::select! {
                biased;
                () = cancel.cancelled() => ToolOutcome::cancelled(),
                out = self.run(tool, arguments) => out,
            }
        })
    }

    fn needs_confirmation(&self, tool: &str, action: &str) -> bool {
        if !is_destructive(tool, action) {
            return false;
        }
        // Offered (enabled on the server) unless the advertised enum says otherwise.
        self.cached()
            .and_then(|specs| {
                let spec = specs.into_iter().find(|s| s.name == tool)?;
                let actions = spec
                    .input_schema
                    .pointer("/properties/action/enum")?
                    .as_array()?
                    .clone();
                Some(actions.iter().any(|a| a.as_str() == Some(action)))
            })
            .unwrap_or(true)
    }

    fn rate_limit(&self) -> Option<Value> {
        self.rate_limit.lock().ok().and_then(|g| g.clone())
    }

    fn describe(&self) -> String {
        format!("MCP {}", self.url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(v: Value) -> ClientJsonRpcMessage {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn trace_headers_come_from_request_meta() {
        let tp = "00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01";
        let call = message(
            serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "hub_repos", "arguments": {},
                       "_meta": {"traceparent": tp, "tracestate": "k=v"}}}),
        );
        let h = with_trace_headers(&call, HashMap::new());
        let get = |name| h.get(&HeaderName::from_static(name)).unwrap();
        assert_eq!(get("traceparent"), tp);
        assert_eq!(get("tracestate"), "k=v");

        let bad = message(
            serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "x", "_meta": {"traceparent": "a\r\nx-evil: 1"}}}),
        );
        assert!(with_trace_headers(&bad, HashMap::new()).is_empty());

        let note =
            message(serde_json::json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        assert!(with_trace_headers(&note, HashMap::new()).is_empty());
    }
}
