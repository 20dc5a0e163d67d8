//! Tool arguments (`action`, `params`, `params_json`, `all`, `limit`,
//! `confirm`) and tool-level errors.

use rmcp::model::{CallToolResult, ContentBlock, JsonObject};
use serde_json::{Map, Value, json};

use crate::tools::Action;

/// A tool-level failure, rendered as an `isError` result.
#[derive(Debug)]
pub(crate) struct ToolError {
    pub(crate) kind: &'static str,
    pub(crate) message: String,
    pub(crate) status: Option<u16>,
    pub(crate) retry_after: Option<u64>,
}

impl ToolError {
    pub(crate) fn new(kind: &'static str, message: impl Into<String>) -> ToolError {
        ToolError {
            kind,
            message: message.into(),
            status: None,
            retry_after: None,
        }
    }

    pub(crate) fn into_result(self) -> CallToolResult {
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
pub(crate) struct Args {
    pub(crate) action: String,
    pub(crate) params: Map<String, Value>,
    pub(crate) all: bool,
    pub(crate) limit: Option<usize>,
    pub(crate) confirm: bool,
}

pub(crate) fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => dockerhub_api::config::parse_bool("", s).ok(),
        Value::Null => Some(false),
        _ => None,
    }
}

pub(crate) fn parse_args(
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
