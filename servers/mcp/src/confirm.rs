//! Confirmation of destructive actions: elicitation (a server request on
//! 2025-11-25 sessions, an `InputRequiredResult` round on 2026-07-28), or
//! `confirm: true` when the client cannot ask.

use std::collections::BTreeMap;

use dockerhub_api::catalog::{Module, Operation};
use rmcp::RoleServer;
use rmcp::model::{
    CallToolRequestParams, ElicitRequest, ElicitRequestParams, ElicitResult, ElicitationAction,
    ElicitationSchema, InputRequest, InputRequiredResult, ProtocolVersion,
};
use rmcp::service::RequestContext;
use serde_json::{Map, Value, json};

use crate::args::as_bool;

/// Key of the confirmation request in a 2026-07-28 `InputRequiredResult`.
const CONFIRM_KEY: &str = "confirm";

/// Outcome of asking for confirmation.
pub(crate) enum Confirmation {
    Confirmed,
    Declined,
    NeedInput(InputRequiredResult),
    Unsupported(String),
}

pub(crate) fn confirm_message(op: &Operation, params: &Map<String, Value>) -> String {
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

pub(crate) fn confirm_schema() -> Option<ElicitationSchema> {
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

pub(crate) fn accepted(result: &ElicitResult) -> bool {
    result.action == ElicitationAction::Accept
        && result
            .content
            .as_ref()
            .and_then(|c| c.get("confirm"))
            .and_then(as_bool)
            .unwrap_or(false)
}

pub(crate) fn is_modern(ctx: &RequestContext<RoleServer>) -> bool {
    ctx.protocol_version()
        .is_some_and(|v| v.as_str() >= ProtocolVersion::V_2026_07_28.as_str())
}

/// Ask the user to confirm a destructive call. A client that declares
/// elicitation is always asked (a model cannot skip that with
/// `confirm: true`); otherwise `confirm: true` in the arguments is the
/// confirmation.
pub(crate) async fn confirm(
    op: &Operation,
    params: &Map<String, Value>,
    confirmed_by_args: bool,
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
        return if confirmed_by_args {
            Confirmation::Confirmed
        } else {
            Confirmation::Unsupported(retry_hint)
        };
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
        // The client could not ask (an error, not a "no"): fall back to the argument.
        Err(_) if confirmed_by_args => Confirmation::Confirmed,
        Err(e) => {
            tracing::debug!(error = %e, "elicitation failed");
            Confirmation::Unsupported(format!("{retry_hint} (asking the client failed: {e})"))
        }
    }
}
