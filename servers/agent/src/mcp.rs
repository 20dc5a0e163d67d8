//! The MCP client backend: the seven tools of a `dockerhub-mcp` (or any
//! compatible) server over streamable HTTP.

use std::sync::Mutex;

use futures::future::BoxFuture;
use rmcp::model::{CallToolRequestParams, RequestMetaObject};
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
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
        let transport = StreamableHttpClientTransport::from_config(cfg);
        let client = ().serve(transport).await.map_err(|e| {
            AgentError::Mcp(format!(
                "cannot connect to {url}: {e}; check MCP_URL and that the server runs with --transport streamable-http"
            ))
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
        // The rmcp client sends every request through one transport with fixed
        // headers, so the W3C trace context of this call (the agent's tool-call
        // span) travels in `_meta.traceparent`, which dockerhub-mcp honours.
        if let Some(tp) = traceparent(&tracing::Span::current()) {
            let mut meta = RequestMetaObject::new();
            meta.set_traceparent(tp);
            params.meta = Some(meta);
        }
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

/// The W3C `traceparent` of `span`, when it is recorded (telemetry on).
fn traceparent(span: &tracing::Span) -> Option<String> {
    let mut headers = http::HeaderMap::new();
    dockerhub_api::telemetry::inject_headers(span, &mut headers);
    headers
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
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
