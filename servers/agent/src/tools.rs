//! How the agent runs tools: the [`ToolBackend`] trait and its in-process
//! implementation on the SDK catalog. The MCP client implementation is in
//! [`crate::mcp`].

use std::sync::Arc;

use dockerhub_api::Hub;
use dockerhub_api::catalog::{self, Module, Safety};
use dockerhub_api::params;
use futures::future::BoxFuture;
use serde::Serialize;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// One tool the agent can call.
#[derive(Debug, Clone, Serialize)]
pub struct ToolSpec {
    /// Tool name (`hub_repos`).
    pub name: String,
    /// What it does, with its actions.
    pub description: String,
    /// JSON Schema of its arguments (`{action, params}`).
    pub input_schema: Value,
}

/// The result of one tool call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolOutcome {
    /// Whether the call failed (a result the model can read and fix).
    pub is_error: bool,
    /// Structured result: the envelope `{status_code, data, rate_limit}`, or `{error:{type,message}}`.
    pub structured: Value,
    /// A one-line human summary.
    pub text: String,
}

impl ToolOutcome {
    /// An error result with a machine-readable type and an actionable message.
    pub fn error(kind: &str, message: impl Into<String>) -> ToolOutcome {
        let message = message.into();
        ToolOutcome {
            is_error: true,
            structured: json!({"error": {"type": kind, "message": message}}),
            text: message,
        }
    }

    /// The cancelled result.
    pub fn cancelled() -> ToolOutcome {
        ToolOutcome::error("Cancelled", "the call was cancelled")
    }

    /// The `rate_limit` object of an envelope result, when there is one.
    pub fn rate_limit(&self) -> Option<&Value> {
        self.structured.get("rate_limit").filter(|v| v.is_object())
    }
}

/// Something that lists and runs the seven Docker Hub tools.
pub trait ToolBackend: Send + Sync {
    /// The tools on offer.
    fn tools(&self) -> BoxFuture<'_, Vec<ToolSpec>>;
    /// Run one tool; dropping the call or cancelling `cancel` aborts it.
    fn call<'a>(
        &'a self,
        tool: &'a str,
        arguments: Value,
        cancel: CancellationToken,
    ) -> BoxFuture<'a, ToolOutcome>;
    /// Whether `tool.action` is destructive and enabled, so the agent must
    /// ask the user before running it. A disabled destructive action is not
    /// asked about: the call itself answers that it is blocked.
    fn needs_confirmation(&self, tool: &str, action: &str) -> bool;
    /// The last `X-RateLimit-*` snapshot seen, as `{limit, remaining, reset}`.
    fn rate_limit(&self) -> Option<Value>;
    /// Short description for logs (`in-process`, `mcp http://…`).
    fn describe(&self) -> String;
}

/// A shared tool backend.
pub type SharedBackend = Arc<dyn ToolBackend>;

/// Whether the catalog marks `tool.action` destructive.
pub fn is_destructive(tool: &str, action: &str) -> bool {
    Module::parse(tool)
        .and_then(|m| catalog::find(m, action))
        .is_some_and(|op| op.safety == Safety::Destructive)
}

/// One-line purpose of each tool module.
pub fn purpose(m: Module) -> &'static str {
    match m {
        Module::Auth => "Docker Hub auth: JWT, personal (PAT) and org (OAT) access tokens",
        Module::Repos => "Docker Hub repositories, tags, immutable tags, repo groups",
        Module::Org => "Docker Hub org settings, members, invites",
        Module::Teams => "Docker Hub org teams (groups) and their members",
        Module::Audit => "Docker Hub audit logs",
        Module::Scim => "Docker Hub SCIM 2.0 user provisioning",
        Module::Admin => "Docker Hub identity and rate-limit status",
    }
}

/// The seven tools run in-process through the SDK (no MCP server).
#[derive(Clone)]
pub struct InProcessBackend {
    hub: Hub,
}

impl InProcessBackend {
    /// Wrap a configured client.
    pub fn new(hub: Hub) -> InProcessBackend {
        InProcessBackend { hub }
    }

    /// The client.
    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// Action names of a module that the safety gates allow.
    fn offered(&self, m: Module) -> Vec<String> {
        let mut v: Vec<String> = catalog::actions(m)
            .filter(|op| self.hub.check_allowed(op).is_ok())
            .map(|op| op.action.to_string())
            .collect();
        if m == Module::Admin {
            v.push("rate_limit".into());
        }
        v
    }

    fn spec(&self, m: Module) -> ToolSpec {
        let actions = self.offered(m);
        let mut lines = vec![format!(
            "{}. Call with {{\"action\": ..., \"params\": {{...}}}}. Actions:",
            purpose(m)
        )];
        for a in &actions {
            let sig = catalog::find(m, a)
                .map(|op| {
                    params::describe(op)
                        .iter()
                        .map(|p| {
                            if p.required {
                                p.name.clone()
                            } else {
                                format!("{}?", p.name)
                            }
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            lines.push(format!("- {a}({sig})"));
        }
        ToolSpec {
            name: m.tool_name().to_string(),
            description: lines.join("\n"),
            input_schema: json!({
                "type": "object",
                "properties": {
                    "action": {"type": "string", "enum": actions, "description": "The action to run."},
                    "params": {"type": "object", "description": "The action's parameters (path, query and body fields in one object)."}
                },
                "required": ["action"],
                "additionalProperties": false
            }),
        }
    }

    async fn run(&self, tool: &str, arguments: Value) -> ToolOutcome {
        let Some(module) = Module::parse(tool).filter(|m| m.tool_name() == tool) else {
            return ToolOutcome::error(
                "UnknownTool",
                format!(
                    "unknown tool '{tool}'; tools: {}",
                    Module::ALL.map(Module::tool_name).join(", ")
                ),
            );
        };
        let (action, params) = match split_arguments(&arguments) {
            Ok(v) => v,
            Err(msg) => return ToolOutcome::error("InvalidArguments", msg),
        };
        if module == Module::Admin && action == "rate_limit" {
            let rl = self.hub.rate_limit().unwrap_or_default();
            let structured = json!({"status_code": 200, "data": rl, "rate_limit": rl});
            return summarize(tool, &action, structured);
        }
        if catalog::find(module, &action).is_none() {
            return ToolOutcome::error(
                "UnknownAction",
                format!(
                    "Unknown action: '{action}'. Valid actions: [{}]",
                    self.offered(module).join(", ")
                ),
            );
        }
        match self.hub.call_action(module, &action, &params).await {
            Ok(env) => match serde_json::to_value(&env) {
                Ok(v) => summarize(tool, &action, v),
                Err(e) => ToolOutcome::error("Internal", format!("cannot encode the result: {e}")),
            },
            Err(e) => error_outcome(&e),
        }
    }
}

/// Split `{action, params}` (or the seed's `params_json` string) into parts.
pub fn split_arguments(arguments: &Value) -> Result<(String, Value), String> {
    let obj = arguments.as_object().ok_or_else(|| {
        "arguments must be an object {\"action\": ..., \"params\": {...}}".to_string()
    })?;
    let action = obj
        .get("action")
        .and_then(Value::as_str)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| "missing \"action\" (a string naming the action to run)".to_string())?
        .to_string();
    let params = match (obj.get("params"), obj.get("params_json")) {
        (Some(Value::Object(p)), _) => Value::Object(p.clone()),
        (Some(Value::Null) | None, None) => json!({}),
        (Some(Value::String(s)), _) | (None, Some(Value::String(s))) => {
            match serde_json::from_str::<Value>(s) {
                Ok(v @ Value::Object(_)) => v,
                _ => return Err(format!("params_json is not a JSON object: {s:.80}")),
            }
        }
        _ => return Err("\"params\" must be an object".to_string()),
    };
    Ok((action, integral_numbers(params)))
}

/// Turn whole floats (`2.0`) into integers. Protobuf-based clients (A2A's
/// `google.protobuf.Value`) and some models send every number as a double.
pub fn integral_numbers(v: Value) -> Value {
    match v {
        Value::Number(n) if n.is_f64() => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 => json!(f as i64),
            _ => Value::Number(n),
        },
        Value::Array(a) => Value::Array(a.into_iter().map(integral_numbers).collect()),
        Value::Object(o) => Value::Object(
            o.into_iter()
                .map(|(k, v)| (k, integral_numbers(v)))
                .collect(),
        ),
        other => other,
    }
}

/// The tool result of an SDK error, in the seed's `{error:{type,message}}` form.
pub fn error_outcome(e: &dockerhub_api::Error) -> ToolOutcome {
    let kind = match e.kind() {
        "blocked" => "Blocked",
        "invalid_params" => "InvalidParams",
        "not_found" => "NotFound",
        "forbidden" => "Forbidden",
        "rate_limited" => "RateLimited",
        "auth" => "AuthError",
        "transport" => "TransportError",
        "decode" => "DecodeError",
        "config" => "ConfigError",
        _ => "ApiError",
    };
    let mut out = ToolOutcome::error(kind, e.to_string());
    if let (Some(status), Some(err)) = (e.status(), out.structured.get_mut("error")) {
        err["status_code"] = json!(status);
    }
    out
}

/// Build the one-line summary of a successful envelope.
pub fn summarize(tool: &str, action: &str, structured: Value) -> ToolOutcome {
    let status = structured.get("status_code").and_then(Value::as_u64);
    let data = structured.get("data").unwrap_or(&Value::Null);
    let what = match data {
        _ if structured.get("exists").and_then(Value::as_bool) == Some(true) => "exists".into(),
        _ if structured.get("exists").and_then(Value::as_bool) == Some(false) => {
            "does not exist".into()
        }
        Value::Object(o) => {
            let list = [
                "results",
                "logs",
                "resources",
                "Resources",
                "data",
                "members",
            ]
            .iter()
            .find_map(|k| o.get(*k).and_then(Value::as_array));
            match (list, o.get("count").and_then(Value::as_u64)) {
                (Some(items), Some(total)) => format!("{} items of {total}", items.len()),
                (Some(items), None) => format!("{} items", items.len()),
                _ => format!("an object with {} fields", o.len()),
            }
        }
        Value::Array(a) => format!("{} items", a.len()),
        Value::Null => "no content".into(),
        Value::String(s) => format!("{} bytes of text", s.len()),
        other => other.to_string(),
    };
    let rl = structured
        .get("rate_limit")
        .and_then(|r| Some((r.get("remaining")?.as_u64()?, r.get("limit")?.as_u64()?)))
        .map(|(rem, lim)| format!(" (rate limit {rem}/{lim} left)"))
        .unwrap_or_default();
    let status = status.map(|s| format!("HTTP {s}, ")).unwrap_or_default();
    ToolOutcome {
        is_error: false,
        text: format!("{tool}.{action}: {status}{what}{rl}"),
        structured,
    }
}

impl ToolBackend for InProcessBackend {
    fn tools(&self) -> BoxFuture<'_, Vec<ToolSpec>> {
        Box::pin(async move { Module::ALL.into_iter().map(|m| self.spec(m)).collect() })
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
        Module::parse(tool)
            .and_then(|m| catalog::find(m, action))
            .is_some_and(|op| {
                op.safety == Safety::Destructive && self.hub.check_allowed(op).is_ok()
            })
    }

    fn rate_limit(&self) -> Option<Value> {
        self.hub
            .rate_limit()
            .and_then(|r| serde_json::to_value(r).ok())
    }

    fn describe(&self) -> String {
        format!("in-process SDK ({})", self.hub.config().base_url)
    }
}

/// The text listing every tool and its actions (the no-LLM rejection).
pub fn tool_listing(specs: &[ToolSpec]) -> String {
    let mut out = String::new();
    for s in specs {
        let actions: Vec<&str> = s.input_schema["properties"]["action"]["enum"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        out.push_str(&format!("- {}: {}\n", s.name, actions.join(", ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_accept_params_and_params_json() {
        let (a, p) =
            split_arguments(&json!({"action": "list", "params": {"page_size": 2.0}})).unwrap();
        assert_eq!((a.as_str(), p), ("list", json!({"page_size": 2})));
        let (_, p) =
            split_arguments(&json!({"action": "get", "params_json": "{\"x\": 1.5}"})).unwrap();
        assert_eq!(p, json!({"x": 1.5}));
        assert!(split_arguments(&json!({"params": {}})).is_err());
        assert!(split_arguments(&json!({"action": "x", "params": 3})).is_err());
        assert!(split_arguments(&json!("nope")).is_err());
    }

    #[test]
    fn summaries() {
        let o = summarize(
            "hub_repos",
            "list",
            json!({"status_code": 200,
            "data": {"count": 9, "results": [1, 2]}, "rate_limit": {"limit": 10, "remaining": 7, "reset": 1}}),
        );
        assert_eq!(
            o.text,
            "hub_repos.list: HTTP 200, 2 items of 9 (rate limit 7/10 left)"
        );
        let o = summarize(
            "hub_repos",
            "check",
            json!({"status_code": 404, "data": null, "exists": false}),
        );
        assert_eq!(o.text, "hub_repos.check: HTTP 404, does not exist");
        assert!(is_destructive("hub_teams", "delete"));
        assert!(!is_destructive("hub_teams", "list"));
    }
}
