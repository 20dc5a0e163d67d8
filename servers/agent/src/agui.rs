//! AG-UI 1.0: `POST /ag-ui` takes a `RunAgentInput` and answers an SSE
//! stream of events in the protocol's order (`RUN_STARTED` … `RUN_FINISHED`
//! or `RUN_ERROR`). A destructive call ends the run with a
//! `confirmation_required` custom event; the client confirms with a new run
//! whose `forwardedProps.confirm` is `{id, approved}`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dockerhub_api::catalog::Module;
use poem::http::StatusCode;
use poem::{Body, Response};
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use crate::engine::{AgentEvent, Conversation, RunEnd, RunInput};
use crate::server::AppState;

/// How long an unanswered confirmation is kept.
const CONFIRM_TTL: Duration = Duration::from_secs(900);
/// Most unanswered confirmations kept.
const CONFIRM_MAX: usize = 1000;

/// Conversations waiting for a confirmation, by confirmation id.
#[derive(Default)]
pub struct Pending {
    inner: Mutex<HashMap<String, (Conversation, Instant)>>,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending").finish_non_exhaustive()
    }
}

impl Pending {
    fn put(&self, id: String, conv: Conversation) {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.retain(|_, (_, t)| t.elapsed() < CONFIRM_TTL);
        if g.len() >= CONFIRM_MAX
            && let Some(k) = g
                .iter()
                .min_by_key(|(_, (_, t))| *t)
                .map(|(k, _)| k.clone())
        {
            g.remove(&k);
        }
        g.insert(id, (conv, Instant::now()));
    }

    fn take(&self, id: &str) -> Option<Conversation> {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.remove(id)
            .filter(|(_, t)| t.elapsed() < CONFIRM_TTL)
            .map(|(c, _)| c)
    }
}

fn text_of(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// Parse a typed command: `{"tool","action","params"}` JSON, `hub_repos list {json}`,
/// `repos.list namespace=acme`.
pub fn parse_command(text: &str) -> Option<(String, String, Value)> {
    let t = text.trim();
    if t.starts_with('{') {
        let v: Value = serde_json::from_str(t).ok()?;
        let tool = v.get("tool")?.as_str()?.to_string();
        let action = v.get("action")?.as_str()?.to_string();
        let params = v
            .get("params")
            .cloned()
            .filter(Value::is_object)
            .unwrap_or_else(|| json!({}));
        return Some((tool, action, params));
    }
    let (head, rest) = t.split_once(char::is_whitespace).unwrap_or((t, ""));
    let (tool, action, rest) = match head.split_once('.') {
        Some((tool, action)) => (tool, action.to_string(), rest.trim()),
        None => {
            let rest = rest.trim();
            let (a, r) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            (head, a.to_string(), r.trim())
        }
    };
    let module = Module::parse(tool)?;
    if action.is_empty()
        || !action
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return None;
    }
    let params = if rest.is_empty() {
        json!({})
    } else if rest.starts_with('{') {
        serde_json::from_str::<Value>(rest)
            .ok()
            .filter(Value::is_object)?
    } else {
        let mut m = Map::new();
        for kv in rest.split_whitespace() {
            let (k, v) = kv.split_once('=')?;
            let val = serde_json::from_str::<Value>(v).unwrap_or_else(|_| json!(v));
            m.insert(k.to_string(), val);
        }
        Value::Object(m)
    };
    Some((module.tool_name().to_string(), action, params))
}

/// The earlier turns of an AG-UI conversation in the OpenAI form.
fn history(messages: &[Value]) -> Vec<Value> {
    let mut out = Vec::new();
    let mut known_calls: Vec<String> = Vec::new();
    for m in messages {
        match m.get("role").and_then(Value::as_str) {
            Some("user") => out.push(json!({"role": "user", "content": text_of(&m["content"])})),
            Some("assistant") => {
                let mut a = json!({"role": "assistant", "content": text_of(&m["content"])});
                if let Some(calls) = m
                    .get("toolCalls")
                    .and_then(Value::as_array)
                    .filter(|c| !c.is_empty())
                {
                    let calls: Vec<Value> = calls
                        .iter()
                        .filter_map(|c| {
                            let id = c.get("id")?.as_str()?;
                            known_calls.push(id.to_string());
                            Some(json!({"id": id, "type": "function", "function": {
                                "name": c.pointer("/function/name")?.as_str()?,
                                "arguments": c.pointer("/function/arguments").and_then(Value::as_str).unwrap_or("{}")}}))
                        })
                        .collect();
                    a["tool_calls"] = Value::Array(calls);
                }
                out.push(a);
            }
            Some("tool") => {
                let Some(id) = m.get("toolCallId").and_then(Value::as_str) else {
                    continue;
                };
                if known_calls.iter().any(|k| k == id) {
                    out.push(json!({"role": "tool", "tool_call_id": id, "content": text_of(&m["content"])}));
                }
            }
            _ => {}
        }
    }
    out
}

fn sse(rx: mpsc::Receiver<Value>) -> Response {
    let stream = futures::StreamExt::map(tokio_stream::wrappers::ReceiverStream::new(rx), |v| {
        Ok::<_, std::io::Error>(format!("data: {v}\n\n"))
    });
    Response::builder()
        .status(StatusCode::OK)
        .content_type("text/event-stream")
        .header("cache-control", "no-cache")
        .header("x-accel-buffering", "no")
        .body(Body::from_bytes_stream(stream))
}

fn bad_request(msg: &str) -> Response {
    Response::builder()
        .status(StatusCode::BAD_REQUEST)
        .content_type("application/json")
        .body(json!({"error": msg}).to_string())
}

fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

/// Handle `POST /ag-ui`.
pub async fn handle(state: Arc<AppState>, body: &[u8]) -> Response {
    let input: Value = match serde_json::from_slice(body) {
        Ok(v @ Value::Object(_)) => v,
        Ok(_) => return bad_request("the body must be a RunAgentInput object"),
        Err(e) => return bad_request(&format!("invalid JSON: {e}")),
    };
    let thread_id = input
        .get("threadId")
        .and_then(Value::as_str)
        .map_or_else(|| new_id("thread"), str::to_string);
    let run_id = input
        .get("runId")
        .and_then(Value::as_str)
        .map_or_else(|| new_id("run"), str::to_string);
    let messages: Vec<Value> = input
        .get("messages")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    // AG-UI 1.0 `resume` answers the interrupt of the previous run;
    // `forwardedProps.confirm` is the older, simpler form.
    let confirm = input
        .get("resume")
        .and_then(Value::as_array)
        .and_then(|r| r.first())
        .map(|entry| {
            let approved = entry.get("status").and_then(Value::as_str) == Some("resolved")
                && entry.pointer("/payload/approved").and_then(Value::as_bool) != Some(false);
            json!({"id": entry.get("interruptId").cloned().unwrap_or(Value::Null), "approved": approved})
        })
        .or_else(|| input.pointer("/forwardedProps/confirm").cloned());

    let (tx, rx) = mpsc::channel::<Value>(256);
    let cancel = CancellationToken::new();
    tokio::spawn(run(state, thread_id, run_id, messages, confirm, tx, cancel));
    sse(rx)
}

struct Emitter {
    tx: mpsc::Sender<Value>,
    cancel: CancellationToken,
    open_text: Option<String>,
}

impl Emitter {
    async fn emit(&mut self, v: Value) {
        if self.tx.send(v).await.is_err() {
            // the client went away: abort the run and its tool calls
            self.cancel.cancel();
        }
    }

    async fn text(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        let id = new_id("msg");
        self.emit(json!({"type": "TEXT_MESSAGE_START", "messageId": id, "role": "assistant"}))
            .await;
        self.emit(json!({"type": "TEXT_MESSAGE_CONTENT", "messageId": id, "delta": text}))
            .await;
        self.emit(json!({"type": "TEXT_MESSAGE_END", "messageId": id}))
            .await;
    }

    async fn close_text(&mut self) {
        if let Some(id) = self.open_text.take() {
            self.emit(json!({"type": "TEXT_MESSAGE_END", "messageId": id}))
                .await;
        }
    }
}

async fn run(
    state: Arc<AppState>,
    thread_id: String,
    run_id: String,
    messages: Vec<Value>,
    confirm: Option<Value>,
    tx: mpsc::Sender<Value>,
    cancel: CancellationToken,
) {
    let mut em = Emitter {
        tx,
        cancel: cancel.clone(),
        open_text: None,
    };
    em.emit(json!({"type": "RUN_STARTED", "threadId": thread_id, "runId": run_id, "protocolVersion": "1.0"}))
        .await;
    let engine = state.engine.clone();
    em.emit(
        json!({"type": "STATE_SNAPSHOT", "snapshot": {"rateLimit": engine.backend().rate_limit()}}),
    )
    .await;

    let (input, conv) = match confirm {
        Some(c) => {
            let id = c.get("id").and_then(Value::as_str).unwrap_or("");
            let approved = c.get("approved").and_then(Value::as_bool).unwrap_or(false);
            match state.agui_pending.take(id) {
                Some(conv) => (RunInput::Confirm { approved }, Some(conv)),
                None => {
                    em.emit(json!({"type": "RUN_ERROR", "code": "UNKNOWN_CONFIRMATION",
                        "message": format!("no pending confirmation {id:?} (it may have expired); send the request again")}))
                        .await;
                    return;
                }
            }
        }
        None => {
            let last_user = messages
                .iter()
                .rposition(|m| m.get("role").and_then(Value::as_str) == Some("user"));
            let Some(idx) = last_user else {
                em.emit(json!({"type": "RUN_ERROR", "code": "NO_INPUT",
                    "message": "no user message in `messages`"}))
                    .await;
                return;
            };
            let text = text_of(&messages[idx]["content"]);
            match parse_command(&text) {
                Some((tool, action, params)) => (
                    RunInput::Direct {
                        tool,
                        action,
                        params,
                    },
                    None,
                ),
                None if engine.has_llm() => {
                    let mut msgs = vec![engine.system_message()];
                    msgs.extend(history(&messages[..idx]));
                    (
                        RunInput::Chat { text },
                        Some(Conversation {
                            messages: msgs,
                            ..Conversation::default()
                        }),
                    )
                }
                None => (RunInput::Chat { text }, None),
            }
        }
    };

    let (etx, mut erx) = mpsc::unbounded_channel();
    let span = crate::engine::task_span("ag-ui", &run_id);
    let run = engine
        .run(input, conv, etx, cancel.clone())
        .instrument(span.clone());
    let backend = engine.backend().clone();
    let forward = async {
        while let Some(ev) = erx.recv().await {
            match ev {
                AgentEvent::TextStart { message_id } => {
                    em.open_text = Some(message_id.clone());
                    em.emit(json!({"type": "TEXT_MESSAGE_START", "messageId": message_id, "role": "assistant"}))
                        .await;
                }
                AgentEvent::TextDelta { message_id, delta } => {
                    if !delta.is_empty() {
                        em.emit(json!({"type": "TEXT_MESSAGE_CONTENT", "messageId": message_id, "delta": delta}))
                            .await;
                    }
                }
                AgentEvent::TextEnd { .. } => em.close_text().await,
                AgentEvent::ToolCallStart {
                    id,
                    tool,
                    arguments,
                } => {
                    em.close_text().await;
                    em.emit(
                        json!({"type": "TOOL_CALL_START", "toolCallId": id, "toolCallName": tool,
                        "parentMessageId": format!("{id}_parent")}),
                    )
                    .await;
                    em.emit(json!({"type": "TOOL_CALL_ARGS", "toolCallId": id, "delta": arguments.to_string()}))
                        .await;
                    em.emit(json!({"type": "TOOL_CALL_END", "toolCallId": id}))
                        .await;
                }
                AgentEvent::ToolCallResult { id, outcome, .. } => {
                    em.emit(json!({"type": "TOOL_CALL_RESULT", "messageId": new_id("tool"), "toolCallId": id,
                        "content": outcome.structured.to_string(), "role": "tool"}))
                        .await;
                    let rl = outcome
                        .rate_limit()
                        .cloned()
                        .or_else(|| backend.rate_limit());
                    if rl.is_some() {
                        em.emit(json!({"type": "STATE_SNAPSHOT", "snapshot": {"rateLimit": rl}}))
                            .await;
                    }
                }
            }
        }
    };
    let ((end, conv), ()) = tokio::join!(run, forward);
    tracing::info!(thread = %thread_id, run = %run_id, failed = matches!(end, RunEnd::Failed { .. }), "ag-ui run finished");
    crate::engine::end_task_span(&span, &end);
    drop(span);
    em.close_text().await;
    match end {
        RunEnd::Completed { text, streamed } => {
            if !streamed {
                em.text(&text).await;
            }
            em.emit(
                json!({"type": "RUN_FINISHED", "threadId": thread_id, "runId": run_id,
                "result": {"status": "completed"}}),
            )
            .await;
        }
        RunEnd::NeedsConfirmation(c) => {
            state.agui_pending.put(c.id.clone(), conv);
            em.text(&c.prompt).await;
            let value = json!({"id": c.id, "tool": c.tool, "action": c.action, "params": c.params, "prompt": c.prompt});
            em.emit(json!({"type": "CUSTOM", "name": "confirmation_required", "value": value}))
                .await;
            let interrupt = json!({
                "id": c.id, "reason": "confirmation_required", "message": c.prompt, "toolCallId": c.id,
                "responseSchema": {"type": "object", "properties": {"approved": {"type": "boolean"}}, "required": ["approved"]}});
            em.emit(
                json!({"type": "RUN_FINISHED", "threadId": thread_id, "runId": run_id,
                "result": {"status": "confirmation_required", "confirmation": value},
                "outcome": {"type": "interrupt", "interrupts": [interrupt]}}),
            )
            .await;
        }
        RunEnd::Rejected { text } | RunEnd::Declined { text } => {
            em.text(&text).await;
            em.emit(
                json!({"type": "RUN_FINISHED", "threadId": thread_id, "runId": run_id,
                "result": {"status": "not_run"}}),
            )
            .await;
        }
        RunEnd::Failed { error } => {
            em.emit(json!({"type": "RUN_ERROR", "message": error, "code": "AGENT_ERROR"}))
                .await;
        }
        RunEnd::Cancelled => {
            em.emit(json!({"type": "RUN_ERROR", "message": "the run was cancelled", "code": "CANCELLED"}))
                .await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands() {
        assert_eq!(
            parse_command("hub_repos list {\"namespace\":\"acme\"}"),
            Some((
                "hub_repos".into(),
                "list".into(),
                json!({"namespace": "acme"})
            ))
        );
        assert_eq!(
            parse_command("repos.list_tags namespace=acme page_size=5 private=true"),
            Some((
                "hub_repos".into(),
                "list_tags".into(),
                json!({"namespace": "acme", "page_size": 5, "private": true})
            ))
        );
        assert_eq!(
            parse_command("hub_admin.whoami"),
            Some(("hub_admin".into(), "whoami".into(), json!({})))
        );
        assert_eq!(parse_command("list my repositories please"), None);
        assert_eq!(parse_command("repos is what I want"), None);
        assert_eq!(parse_command("{\"tool\":\"hub_x\"}"), None);
    }

    #[test]
    fn history_drops_orphan_tool_messages() {
        let h = history(&[
            json!({"id": "1", "role": "user", "content": "a"}),
            json!({"id": "2", "role": "tool", "toolCallId": "zz", "content": "x"}),
            json!({"id": "3", "role": "assistant", "toolCalls": [{"id": "c1", "type": "function",
                "function": {"name": "hub_admin", "arguments": "{}"}}]}),
            json!({"id": "4", "role": "tool", "toolCallId": "c1", "content": "{}"}),
        ]);
        let roles: Vec<&str> = h.iter().map(|m| m["role"].as_str().unwrap_or("")).collect();
        assert_eq!(roles, ["user", "assistant", "tool"]);
        assert_eq!(h[1]["tool_calls"][0]["function"]["name"], "hub_admin");
    }
}
