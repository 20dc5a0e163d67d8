//! The MCP handler: `tools/list` from the generated [`Toolset`], `tools/call`
//! routed to the SDK, results shaped into envelopes and errors into `isError`
//! results.

use std::collections::BTreeMap;
use std::sync::Arc;

use dockerhub_api::catalog::{Module, Operation, Pagination, Safety};
use dockerhub_api::{Credentials, Envelope, Hub, RateLimit, pagination, params};
use futures::StreamExt;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ElicitRequest,
    ElicitRequestParams, ElicitResult, ElicitationAction, ElicitationSchema, Extensions,
    Implementation, InputRequest, InputRequiredResult, JsonObject, ListToolsResult,
    PaginatedRequestParams, ProgressNotificationParam, ProtocolVersion, ServerCapabilities,
    ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use serde_json::{Map, Value, json};

use crate::config::Config;
use crate::error::Result;
use crate::tools::{Action, Toolset, find_action};

/// Key of the confirmation request in a 2026-07-28 `InputRequiredResult`.
const CONFIRM_KEY: &str = "confirm";
/// Largest `limit` a caller may ask of `all: true`.
const MAX_ALL_LIMIT: usize = 10_000;
/// A text summary inlines the data when it is at most this many bytes.
const INLINE_DATA_BYTES: usize = 600;

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

/// A tool-level failure, rendered as an `isError` result.
#[derive(Debug)]
struct ToolError {
    kind: &'static str,
    message: String,
    status: Option<u16>,
    retry_after: Option<u64>,
}

impl ToolError {
    fn new(kind: &'static str, message: impl Into<String>) -> ToolError {
        ToolError {
            kind,
            message: message.into(),
            status: None,
            retry_after: None,
        }
    }

    fn into_result(self) -> CallToolResult {
        let mut err = json!({"type": self.kind, "message": self.message});
        if let Some(s) = self.status {
            err["status"] = s.into();
        }
        if let Some(r) = self.retry_after {
            err["retry_after_secs"] = r.into();
        }
        let mut r = CallToolResult::error(vec![ContentBlock::text(self.message)]);
        r.structured_content = Some(json!({ "error": err }));
        r
    }
}

impl From<dockerhub_api::Error> for ToolError {
    fn from(e: dockerhub_api::Error) -> ToolError {
        let retry_after = match &e {
            dockerhub_api::Error::RateLimited { retry_after, .. } => {
                retry_after.map(|d| d.as_secs().max(1))
            }
            _ => None,
        };
        ToolError {
            kind: e.kind(),
            status: e.status(),
            retry_after,
            message: e.to_string(),
        }
    }
}

/// The parsed tool arguments.
#[derive(Debug, Default)]
struct Args {
    action: String,
    params: Map<String, Value>,
    all: bool,
    limit: Option<usize>,
    confirm: bool,
}

fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => dockerhub_api::config::parse_bool("", s).ok(),
        Value::Null => Some(false),
        _ => None,
    }
}

fn parse_args(
    tool: &str,
    offered: &[Action],
    mut args: JsonObject,
) -> std::result::Result<Args, ToolError> {
    let valid = || {
        offered
            .iter()
            .map(Action::name)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let action = match args.remove("action") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        Some(other) if !other.is_null() => {
            return Err(ToolError::new(
                "invalid_arguments",
                format!(
                    "{tool}: 'action' must be a string, got {other}. Valid actions: {}",
                    valid()
                ),
            ));
        }
        _ => {
            return Err(ToolError::new(
                "invalid_arguments",
                format!("{tool}: 'action' is required. Valid actions: {}", valid()),
            ));
        }
    };
    let mut params = Map::new();
    match args.remove("params_json") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if s.trim().is_empty() => {}
        Some(Value::String(s)) => match serde_json::from_str::<Value>(&s) {
            Ok(Value::Object(m)) => params = m,
            Ok(other) => {
                return Err(ToolError::new(
                    "invalid_arguments",
                    format!("{tool}: params_json must hold a JSON object, got {other}"),
                ));
            }
            Err(e) => {
                return Err(ToolError::new(
                    "invalid_arguments",
                    format!(
                        "{tool}: params_json is not valid JSON ({e}); pass an object in 'params' instead"
                    ),
                ));
            }
        },
        Some(other) => {
            return Err(ToolError::new(
                "invalid_arguments",
                format!("{tool}: params_json must be a string of JSON, got {other}"),
            ));
        }
    }
    match args.remove("params") {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => params.extend(m),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(&s) {
            Ok(Value::Object(m)) => params.extend(m),
            _ => {
                return Err(ToolError::new(
                    "invalid_arguments",
                    format!("{tool}: 'params' must be an object, got the string {s:?}"),
                ));
            }
        },
        Some(other) => {
            return Err(ToolError::new(
                "invalid_arguments",
                format!("{tool}: 'params' must be an object, got {other}"),
            ));
        }
    }
    let flag = |args: &mut JsonObject, name: &str| -> std::result::Result<bool, ToolError> {
        match args.remove(name) {
            None => Ok(false),
            Some(v) => as_bool(&v).ok_or_else(|| {
                ToolError::new(
                    "invalid_arguments",
                    format!("{tool}: '{name}' must be true or false, got {v}"),
                )
            }),
        }
    };
    let all = flag(&mut args, "all")?;
    let confirm = flag(&mut args, "confirm")?;
    let limit = match args.remove("limit") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let n = v
                .as_u64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()));
            match n {
                Some(n) if n >= 1 => Some(usize::try_from(n).unwrap_or(usize::MAX)),
                _ => {
                    return Err(ToolError::new(
                        "invalid_arguments",
                        format!("{tool}: 'limit' must be a positive integer, got {v}"),
                    ));
                }
            }
        }
    };
    // Models often put parameters next to `action`: treat leftovers as params
    // (the SDK still rejects unknown names, listing the valid ones).
    for (k, v) in args {
        params.entry(k).or_insert(v);
    }
    Ok(Args {
        action,
        params,
        all,
        limit,
        confirm,
    })
}

/// Outcome of asking for confirmation.
enum Confirmation {
    Confirmed,
    Declined,
    NeedInput(InputRequiredResult),
    Unsupported(String),
}

fn confirm_message(op: &Operation, params: &Map<String, Value>) -> String {
    let p = |k: &str| {
        params
            .get(k)
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
            .unwrap_or_default()
    };
    match (op.module, op.action) {
        (Module::Repos, "delete_tag") => format!(
            "Delete tag {}/{}:{}? This cannot be undone.",
            p("namespace"),
            p("repository"),
            p("tag")
        ),
        (Module::Repos, "delete") => format!(
            "Delete repository {}/{} and all its tags? This cannot be undone.",
            p("namespace"),
            p("repository")
        ),
        _ => {
            let args: Vec<String> = op
                .params
                .iter()
                .filter(|q| params.contains_key(q.name))
                .map(|q| format!("{}={}", q.name, p(q.name)))
                .collect();
            format!(
                "Run {} ({}) with {}? It is destructive: {}.",
                op.qualified_name(),
                op.method,
                if args.is_empty() {
                    "no parameters".to_string()
                } else {
                    args.join(", ")
                },
                op.summary.trim_end_matches('.')
            )
        }
    }
}

fn confirm_schema() -> Option<ElicitationSchema> {
    let schema = json!({
        "type": "object",
        "properties": {
            "confirm": {"type": "boolean", "title": "Confirm", "description": "yes to proceed, no to cancel"}
        },
        "required": ["confirm"]
    });
    match schema {
        Value::Object(o) => ElicitationSchema::from_json_schema(o).ok(),
        _ => None,
    }
}

fn accepted(result: &ElicitResult) -> bool {
    result.action == ElicitationAction::Accept
        && result
            .content
            .as_ref()
            .and_then(|c| c.get("confirm"))
            .and_then(as_bool)
            .unwrap_or(false)
}

fn is_modern(ctx: &RequestContext<RoleServer>) -> bool {
    ctx.protocol_version()
        .is_some_and(|v| v.as_str() >= ProtocolVersion::V_2026_07_28.as_str())
}

async fn confirm(
    op: &Operation,
    params: &Map<String, Value>,
    req: &CallToolRequestParams,
    ctx: &RequestContext<RoleServer>,
) -> Confirmation {
    let retry_hint = format!(
        "{} is destructive and needs confirmation; re-call with \"confirm\": true to proceed",
        op.qualified_name()
    );
    let supports = ctx
        .client_capabilities()
        .is_some_and(|c| c.elicitation.is_some());
    if !supports {
        return Confirmation::Unsupported(retry_hint);
    }
    let Some(schema) = confirm_schema() else {
        return Confirmation::Unsupported(retry_hint);
    };
    let message = confirm_message(op, params);
    let request = ElicitRequestParams::FormElicitationParams {
        meta: None,
        message,
        requested_schema: schema,
    };
    if is_modern(ctx) {
        if let Some(answer) = req
            .input_responses
            .as_ref()
            .and_then(|r| r.get(CONFIRM_KEY))
        {
            return match serde_json::from_value::<ElicitResult>(answer.clone()) {
                Ok(r) if accepted(&r) => Confirmation::Confirmed,
                _ => Confirmation::Declined,
            };
        }
        let mut requests = BTreeMap::new();
        requests.insert(
            CONFIRM_KEY.to_string(),
            InputRequest::Elicitation(ElicitRequest::new(request)),
        );
        return Confirmation::NeedInput(InputRequiredResult::new(
            Some(requests),
            Some(format!("confirm:{}", op.id)),
        ));
    }
    match ctx.peer.create_elicitation(request).await {
        Ok(r) if accepted(&r) => Confirmation::Confirmed,
        Ok(_) => Confirmation::Declined,
        Err(e) => {
            tracing::debug!(error = %e, "elicitation failed");
            Confirmation::Unsupported(format!("{retry_hint} (asking the client failed: {e})"))
        }
    }
}

fn rate_text(rl: &RateLimit) -> String {
    match (rl.remaining, rl.limit) {
        (Some(r), Some(l)) => format!("; rate limit {r}/{l} left"),
        (Some(r), None) => format!("; rate limit {r} left"),
        _ => String::new(),
    }
}

fn noun(op: &Operation) -> String {
    let a = op.action;
    if let Some(rest) = a.strip_prefix("list_") {
        return rest.replace('_', " ");
    }
    match (op.module, a) {
        (Module::Repos, "list") => "repositories".into(),
        (Module::Teams, "list") => "teams".into(),
        (Module::Audit, "logs") => "log entries".into(),
        _ => "items".into(),
    }
}

fn est_tokens(v: &Value) -> usize {
    serde_json::to_string(v).map_or(0, |s| s.len()) / 4
}

fn envelope_value(env: &Envelope) -> Value {
    serde_json::to_value(env).unwrap_or(Value::Null)
}

fn page_size_of(op: &Operation, params: &Map<String, Value>) -> Option<u64> {
    let key = if op.pagination == Pagination::Scim {
        "count"
    } else {
        "page_size"
    };
    params
        .get(key)
        .and_then(|v| v.as_u64().or_else(|| v.as_str()?.trim().parse().ok()))
}

/// Trim `items` (in place) so the whole envelope fits `max_tokens`; returns
/// how many were kept.
fn fit_items(env: &mut Value, max_tokens: usize) -> Option<usize> {
    let budget = max_tokens.saturating_mul(4);
    let items = env.pointer("/data/items")?.as_array()?.clone();
    let total = serde_json::to_string(env).map_or(0, |s| s.len());
    if total <= budget {
        return None;
    }
    let mut base = env.clone();
    if let Some(slot) = base.pointer_mut("/data/items") {
        *slot = Value::Array(Vec::new());
    }
    let mut used = serde_json::to_string(&base).map_or(0, |s| s.len()) + 400;
    let mut keep = 0;
    for it in &items {
        let n = serde_json::to_string(it).map_or(0, |s| s.len()) + 1;
        if used + n > budget {
            break;
        }
        used += n;
        keep += 1;
    }
    if let Some(slot) = env.pointer_mut("/data/items") {
        *slot = Value::Array(items.into_iter().take(keep).collect());
    }
    Some(keep)
}

/// Shape a single-call envelope: lists trimmed to `{items, count, page,
/// next_page}`, everything capped to the token budget.
fn shape(op: &Operation, env: Envelope, args: &Args, limits: &Limits) -> (Value, String) {
    let qn = op.qualified_name();
    let rate = rate_text(&env.rate_limit);
    let page_size = page_size_of(op, &args.params);
    let view = pagination::view(op.pagination, &env.data, page_size);
    let mut value = envelope_value(&env);
    let Some(view) = view else {
        // Not a list.
        let mut summary = match env.exists {
            Some(e) => format!("{qn}: exists={e} (HTTP {})", env.status_code),
            None => format!("{qn}: HTTP {}", env.status_code),
        };
        summary.push_str(&rate);
        if est_tokens(&value) > limits.max_result_tokens {
            let text = match &env.data {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let keep = limits
                .max_result_tokens
                .saturating_mul(4)
                .saturating_sub(600);
            let cut: String = text.chars().take(keep).collect();
            value["data"] = json!({
                "truncated": true,
                "excerpt": cut,
                "note": format!("the answer was {} bytes, over the {}-token cap; narrow the request (filters, page_size) to see all of it", text.len(), limits.max_result_tokens),
            });
            summary.push_str("; result truncated (over the size cap)");
        } else if env.data.is_null() {
            summary.push_str("; no body");
        } else {
            let compact = env.data.to_string();
            if compact.len() <= INLINE_DATA_BYTES {
                summary.push_str(": ");
                summary.push_str(&compact);
            }
        }
        return (value, summary);
    };
    let (page, next_page) = if op.pagination == Pagination::Scim {
        let start = env
            .data
            .get("startIndex")
            .and_then(Value::as_u64)
            .unwrap_or(1);
        (
            json!(start),
            view.has_next
                .then(|| json!(start + view.items.len() as u64)),
        )
    } else {
        let p = args
            .params
            .get("page")
            .and_then(|v| v.as_u64().or_else(|| v.as_str()?.trim().parse().ok()))
            .unwrap_or(1);
        (json!(p), view.has_next.then(|| json!(p + 1)))
    };
    let mut items = view.items;
    let fetched = items.len();
    if let Some(l) = args.limit {
        items.truncate(l);
    }
    let shown = items.len();
    let mut data = json!({
        "items": items,
        "count": view.total,
        "page": page,
        "next_page": next_page,
    });
    if shown < fetched {
        data["limited"] = json!(format!("showing {shown} of {fetched} on this page (limit)"));
    }
    value["data"] = data;
    let n = noun(op);
    let page_key = if op.pagination == Pagination::Scim {
        "startIndex"
    } else {
        "page"
    };
    let mut summary = format!("{qn}: {shown} {n}");
    let p = value["data"]["page"].clone();
    match (
        view.total,
        page_size.or(Some(fetched as u64)).filter(|s| *s > 0),
    ) {
        (Some(total), Some(ps)) if op.pagination != Pagination::Scim => {
            let pages = total.div_ceil(ps).max(1);
            summary.push_str(&format!(" (page {p} of {pages}, {total} total)"));
        }
        (Some(total), _) => summary.push_str(&format!(" ({total} total)")),
        _ => summary.push_str(&format!(" (page {p})")),
    }
    if let Some(np) = value["data"]["next_page"].as_u64() {
        summary.push_str(&format!("; more: params.{page_key}={np} or all:true"));
    }
    if let Some(keep) = fit_items(&mut value, limits.max_result_tokens) {
        let msg = format!(
            "cut to {keep} of {shown} items to stay under {} tokens; ask for params.page_size={} and step params.{page_key}",
            limits.max_result_tokens,
            keep.max(1)
        );
        value["data"]["truncated"] = json!(msg.clone());
        summary.push_str(&format!("; {msg}"));
    }
    summary.push_str(&rate);
    (value, summary)
}

fn success(value: Value, summary: String) -> CallToolResponse {
    let mut r = CallToolResult::success(vec![ContentBlock::text(summary)]);
    r.structured_content = Some(value);
    CallToolResponse::Complete(r)
}

fn cancelled_result(qn: &str) -> CallToolResponse {
    success(
        json!({"cancelled": true}),
        format!("{qn} was cancelled: the user declined the confirmation; nothing was changed"),
    )
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
        if op.safety == Safety::Destructive && !args.confirm {
            match confirm(op, &args.params, req, ctx).await {
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
        match self.dispatch(module, &request, &context).await {
            Ok(r) => Ok(r),
            Err(e) => Ok(CallToolResponse::Complete(e.into_result())),
        }
    }
}
