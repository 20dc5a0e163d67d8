//! The MCP handler: `tools/list` from the generated [`Toolset`], `tools/call`
//! routed to the SDK, results shaped into envelopes and errors into `isError`
//! results.

use std::sync::Arc;

use dockerhub_api::catalog::{Module, Operation, Pagination, Safety};
use dockerhub_api::{Credentials, Hub, params};
use futures::StreamExt;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, Extensions, Implementation, ListToolsResult,
    PaginatedRequestParams, ProgressNotificationParam, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use serde_json::{Map, Value, json};

use crate::args::{Args, ToolError, parse_args};
use crate::config::Config;
use crate::confirm::{Confirmation, confirm};
use crate::error::Result;
use crate::results::{cancelled_result, noun, rate_text, shape, success};
use crate::tools::{Action, Toolset, find_action};

/// Largest `limit` a caller may ask of `all: true`.
const MAX_ALL_LIMIT: usize = 10_000;

const INSTRUCTIONS: &str = "Docker Hub tools. Call a tool with {action, params}; each action's \
parameters are listed in the tool description (* = required, type string unless noted). \
Lists return data {items, count, page, next_page}: pass params.page=next_page for more, or \
all:true to walk every page (limit caps the items). Destructive actions are confirmed with the \
user, or need confirm:true. Errors say which parameter or setting to change.";

/// What a policy hook sees of one tool call (see [`ToolGuard`]).
#[derive(Debug)]
pub struct GuardRequest<'a> {
    /// Tool name (`hub_repos`).
    pub tool: &'a str,
    /// Action name (`delete_tag`).
    pub action: &'a str,
    /// The call's parameters (may hold secrets: never log them).
    pub params: &'a Value,
    /// Request extensions; over HTTP they carry `http::request::Parts`, whose
    /// own extensions hold whatever the HTTP middleware inserted (the principal).
    pub extensions: &'a Extensions,
}

/// A policy hook run before every routed tool call. `Err(message)` refuses
/// the call with an `isError` result carrying the message (name the rule).
pub type ToolGuard =
    Arc<dyn Fn(&GuardRequest<'_>) -> std::result::Result<(), String> + Send + Sync>;

/// Per-call limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Cap on one result, in estimated tokens (bytes / 4).
    pub max_result_tokens: usize,
    /// Default item cap of `all: true`.
    pub all_limit: usize,
    /// Largest accepted arguments, in bytes.
    pub max_args_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_result_tokens: 20_000,
            all_limit: 1_000,
            max_args_bytes: 65_536,
        }
    }
}

impl Limits {
    /// From the server flags.
    pub fn from_config(cfg: &Config) -> Limits {
        Limits {
            max_result_tokens: cfg.max_result_tokens.max(500),
            all_limit: cfg.all_limit.clamp(1, MAX_ALL_LIMIT),
            max_args_bytes: cfg.max_args_bytes.max(1024),
        }
    }
}

struct Inner {
    hub: Hub,
    toolset: Toolset,
    tools: Vec<Tool>,
    limits: Limits,
    guard: Option<ToolGuard>,
}

/// The MCP server handler. Cheap to clone (one per HTTP session).
#[derive(Clone)]
pub struct McpServer {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for McpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpServer")
            .field("toolset", &self.inner.toolset)
            .field("limits", &self.inner.limits)
            .finish_non_exhaustive()
    }
}

impl McpServer {
    /// A handler over `hub` offering `toolset`.
    pub fn new(hub: Hub, toolset: Toolset, limits: Limits) -> McpServer {
        let tools = toolset.tools();
        McpServer {
            inner: Arc::new(Inner {
                hub,
                toolset,
                tools,
                limits,
                guard: None,
            }),
        }
    }

    /// A handler from the server flags and an SDK client.
    pub fn from_config(cfg: &Config, hub: Hub) -> Result<McpServer> {
        Ok(McpServer::new(
            hub,
            Toolset::from_config(cfg)?,
            Limits::from_config(cfg),
        ))
    }

    /// Install a policy hook run before every routed call.
    pub fn with_guard(self, guard: ToolGuard) -> McpServer {
        let inner = Inner {
            hub: self.inner.hub.clone(),
            toolset: self.inner.toolset.clone(),
            tools: self.inner.tools.clone(),
            limits: self.inner.limits,
            guard: Some(guard),
        };
        McpServer {
            inner: Arc::new(inner),
        }
    }

    /// The tools this handler lists.
    pub fn tools(&self) -> &[Tool] {
        &self.inner.tools
    }

    /// The SDK client.
    pub fn hub(&self) -> &Hub {
        &self.inner.hub
    }

    /// The offered toolset.
    pub fn toolset(&self) -> &Toolset {
        &self.inner.toolset
    }
}

impl McpServer {
    async fn dispatch(
        &self,
        module: Module,
        req: &CallToolRequestParams,
        ctx: &RequestContext<RoleServer>,
    ) -> std::result::Result<CallToolResponse, ToolError> {
        let inner = &self.inner;
        let tool = module.tool_name();
        let offered = inner.toolset.offered(module);
        let raw = req.arguments.clone().unwrap_or_default();
        let size = serde_json::to_string(&raw).map_or(0, |s| s.len());
        if size > inner.limits.max_args_bytes {
            return Err(ToolError::new(
                "invalid_arguments",
                format!(
                    "{tool}: arguments are {size} bytes, over the {} byte limit (MCP_MAX_ARGS_BYTES); send smaller params",
                    inner.limits.max_args_bytes
                ),
            ));
        }
        let args = parse_args(tool, &offered, raw)?;
        let Some(action) = find_action(module, &args.action) else {
            return Err(ToolError::new(
                "unknown_action",
                format!(
                    "Unknown action '{}' for {tool}. Valid actions: {}",
                    args.action,
                    offered
                        .iter()
                        .map(Action::name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        };
        if let Some(reason) = inner.toolset.hidden_reason(&action) {
            return Err(ToolError::new("blocked", reason));
        }
        let params = Value::Object(args.params.clone());
        if let Some(guard) = &inner.guard {
            guard(&GuardRequest {
                tool,
                action: action.name(),
                params: &params,
                extensions: &ctx.extensions,
            })
            .map_err(|m| ToolError::new("policy_denied", m))?;
        }
        tracing::debug!(tool, action = action.name(), "tool call");
        let op = match action {
            Action::RateLimit => {
                if !args.params.is_empty() {
                    return Err(ToolError::new(
                        "invalid_params",
                        "hub_admin.rate_limit takes no parameters",
                    ));
                }
                return Ok(self.rate_limit());
            }
            Action::Op(op) => op,
        };
        params::prepare(op, &params)?;
        if op.safety == Safety::Destructive {
            match confirm(op, &args.params, args.confirm, req, ctx).await {
                Confirmation::Confirmed => {}
                Confirmation::Declined => return Ok(cancelled_result(&op.qualified_name())),
                Confirmation::NeedInput(r) => return Ok(CallToolResponse::InputRequired(r)),
                Confirmation::Unsupported(msg) => {
                    return Err(ToolError::new("confirmation_required", msg));
                }
            }
        }
        if module == Module::Admin && op.action == "whoami" {
            return self.whoami(op, ctx).await;
        }
        if args.all && op.pagination != Pagination::None {
            return self.walk(op, &args, ctx).await;
        }
        let env = tokio::select! {
            r = inner.hub.call(op, &params) => r?,
            () = ctx.ct.cancelled() => return Err(ToolError::new("cancelled", format!("{} was cancelled by the client", op.qualified_name()))),
        };
        let (value, summary) = shape(op, env, &args, &inner.limits);
        Ok(success(value, summary))
    }

    fn rate_limit(&self) -> CallToolResponse {
        let snap = self.inner.hub.rate_limit();
        let rl = snap.unwrap_or_default();
        let data = match snap {
            Some(s) => serde_json::to_value(s).unwrap_or(Value::Null),
            None => json!({"note": "no Hub answer seen yet; call any other action first"}),
        };
        let summary = match (rl.remaining, rl.limit) {
            (Some(r), Some(l)) => format!(
                "hub_admin.rate_limit: {r}/{l} left{}",
                rl.reset
                    .map(|t| format!(", resets at unix {t}"))
                    .unwrap_or_default()
            ),
            _ => "hub_admin.rate_limit: no X-RateLimit headers seen yet".to_string(),
        };
        success(
            json!({"status_code": 200, "data": data, "rate_limit": rl}),
            summary,
        )
    }

    async fn whoami(
        &self,
        op: &'static Operation,
        ctx: &RequestContext<RoleServer>,
    ) -> std::result::Result<CallToolResponse, ToolError> {
        let hub = &self.inner.hub;
        if matches!(hub.config().credentials, Credentials::Anonymous) {
            let rl = hub.rate_limit().unwrap_or_default();
            return Ok(success(
                json!({"status_code": 200, "data": {"authenticated": false}, "rate_limit": rl}),
                "hub_admin.whoami: anonymous (set DOCKER_HUB_USER and DOCKER_HUB_TOKEN to authenticate)".into(),
            ));
        }
        let no_params = json!({});
        let env = tokio::select! {
            r = hub.call(op, &no_params) => r?,
            () = ctx.ct.cancelled() => return Err(ToolError::new("cancelled", "hub_admin.whoami was cancelled by the client")),
        };
        let local = hub.whoami_local().await?;
        let mut data = match env.data {
            Value::Object(m) => m,
            Value::Null => Map::new(),
            other => {
                let mut m = Map::new();
                m.insert("user".into(), other);
                m
            }
        };
        if let Value::Object(claims) = local {
            for (k, v) in claims {
                data.entry(k).or_insert(v);
            }
        }
        let who = data
            .get("username")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string();
        let value =
            json!({"status_code": env.status_code, "data": data, "rate_limit": env.rate_limit});
        Ok(success(
            value,
            format!("hub_admin.whoami: {who}{}", rate_text(&env.rate_limit)),
        ))
    }

    async fn walk(
        &self,
        op: &'static Operation,
        args: &Args,
        ctx: &RequestContext<RoleServer>,
    ) -> std::result::Result<CallToolResponse, ToolError> {
        let inner = &self.inner;
        let limit = args
            .limit
            .unwrap_or(inner.limits.all_limit)
            .min(MAX_ALL_LIMIT);
        let mut params = args.params.clone();
        params.remove("page");
        params.remove("startIndex");
        let token = ctx.meta.get_progress_token();
        let budget = inner
            .limits
            .max_result_tokens
            .saturating_mul(4)
            .saturating_sub(1_000);
        // Ask for one more than the limit, to know whether more exist.
        let mut stream = Box::pin(inner.hub.items(op, &Value::Object(params), Some(limit + 1)));
        let mut items = Vec::new();
        let mut used = 0usize;
        let mut stop: Option<String> = None;
        let step = 100usize;
        loop {
            let next = tokio::select! {
                n = stream.next() => n,
                () = ctx.ct.cancelled() => {
                    return Err(ToolError::new("cancelled", format!("{} was cancelled by the client after {} items; no further Hub calls were made", op.qualified_name(), items.len())));
                }
            };
            let Some(item) = next else { break };
            let item = item?;
            if items.len() == limit {
                stop = Some(format!(
                    "stopped at limit={limit}; more items exist: raise limit (max {MAX_ALL_LIMIT}) or narrow the params"
                ));
                break;
            }
            let n = serde_json::to_string(&item).map_or(0, |s| s.len()) + 1;
            if used + n > budget {
                stop = Some(format!(
                    "stopped after {} items to stay under {} tokens; use page/page_size (or filters) to read the rest",
                    items.len(),
                    inner.limits.max_result_tokens
                ));
                break;
            }
            used += n;
            items.push(item);
            if let Some(t) = &token
                && items.len() % step == 0
            {
                let p = ProgressNotificationParam::new(t.clone(), items.len() as f64)
                    .with_total(limit as f64)
                    .with_message(format!("{} items fetched", items.len()));
                if let Err(e) = ctx.peer.notify_progress(p).await {
                    tracing::debug!(error = %e, "progress notification failed");
                }
            }
        }
        drop(stream);
        if let Some(t) = &token {
            let p = ProgressNotificationParam::new(t.clone(), items.len() as f64)
                .with_total(items.len() as f64)
                .with_message("done");
            let _ = ctx.peer.notify_progress(p).await;
        }
        let rl = inner.hub.rate_limit().unwrap_or_default();
        let count = items.len();
        let mut data = json!({
            "items": items,
            "count": count,
            "page": Value::Null,
            "next_page": Value::Null,
        });
        let mut summary = format!(
            "{}: {count} {} across all pages",
            op.qualified_name(),
            noun(op)
        );
        if let Some(s) = &stop {
            data["truncated"] = json!(s);
            summary.push_str(&format!("; {s}"));
        }
        summary.push_str(&rate_text(&rl));
        Ok(success(
            json!({"status_code": 200, "data": data, "rate_limit": rl}),
            summary,
        ))
    }
}

/// `_meta.traceparent` / `_meta.tracestate` of a request, as headers.
fn meta_trace(meta: &rmcp::model::RequestMetaObject) -> http::HeaderMap {
    let mut h = http::HeaderMap::new();
    for (name, value) in [
        ("traceparent", meta.get_traceparent()),
        ("tracestate", meta.get_tracestate()),
    ] {
        if let Some(v) = value.and_then(|v| http::HeaderValue::from_str(v).ok()) {
            h.insert(name, v);
        }
    }
    h
}

impl ServerHandler for McpServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(
                Implementation::new("dockerhub-mcp", env!("CARGO_PKG_VERSION"))
                    .with_title("Docker Hub MCP server"),
            )
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> std::result::Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(self.inner.tools.clone()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> std::result::Result<CallToolResponse, McpError> {
        let module = Module::parse(&request.name)
            .filter(|m| request.name == m.tool_name())
            .filter(|m| !self.inner.toolset.offered(*m).is_empty());
        let Some(module) = module else {
            let names: Vec<&str> = self.inner.tools.iter().map(|t| t.name.as_ref()).collect();
            let hint = Module::parse(&request.name)
                .filter(|m| request.name == m.tool_name())
                .map(|m| {
                    format!(
                        " ({} is switched off: set {}=true and include {} in TOOLSETS)",
                        m.tool_name(),
                        m.toggle_env(),
                        m.name()
                    )
                })
                .unwrap_or_default();
            return Err(McpError::invalid_params(
                format!(
                    "unknown tool '{}'{hint}; this server offers: {}",
                    request.name,
                    names.join(", ")
                ),
                None,
            ));
        };
        let tool = module.tool_name();
        // Only a known action name becomes an attribute (never free text).
        let action = request
            .arguments
            .as_ref()
            .and_then(|a| a.get("action"))
            .and_then(Value::as_str)
            .and_then(|a| find_action(module, a))
            .map_or("unknown", |a| a.name());
        let span = tracing::info_span!(
            "mcp.tool_call",
            otel.name = %format_args!("tools/call {tool}"),
            otel.kind = "server",
            tool,
            action,
            is_error = tracing::field::Empty,
        );
        // The caller's trace: `_meta.traceparent` (SEP-414, any transport),
        // else the HTTP request's `traceparent` header.
        if !dockerhub_api::telemetry::set_parent_from_headers(&span, &meta_trace(&context.meta))
            && let Some(parts) = context.extensions.get::<http::request::Parts>()
        {
            dockerhub_api::telemetry::set_parent_from_headers(&span, &parts.headers);
        }
        let started = std::time::Instant::now();
        // The span is the parent of the Hub requests without being entered
        // on every poll of the call (a measurable cost on fast calls).
        let response = match dockerhub_api::hooks::with_parent(
            span.clone(),
            self.dispatch(module, &request, &context),
        )
        .await
        {
            Ok(r) => r,
            Err(e) => CallToolResponse::Complete(e.into_result()),
        };
        let is_error = match &response {
            CallToolResponse::Complete(r) => r.is_error == Some(true),
            _ => false,
        };
        span.record("is_error", is_error);
        dockerhub_api::telemetry::record_tool_call(tool, action, is_error, started.elapsed());
        Ok(response)
    }
}
