//! A2A v1.0 over JSON-RPC (and the 0.3 method names), with SSE streams.

use std::collections::HashMap;
use std::sync::Arc;

use a2a::{
    A2AError, AgentCapabilities, AgentCard, AgentInterface, AgentSkill, ApiKeySecurityScheme,
    Artifact, CancelTaskRequest, GetTaskRequest, JsonRpcError, ListTasksRequest, ListTasksResponse,
    Message, Part, PartContent, Role, SecurityScheme, SendMessageRequest, StreamResponse,
    SubscribeToTaskRequest, Task, TaskArtifactUpdateEvent, TaskState, TaskStatus,
    TaskStatusUpdateEvent,
};
use poem::http::{HeaderMap, StatusCode};
use poem::{Body, Response};
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use tracing::Instrument as _;

use crate::engine::{AgentEvent, RunEnd, RunInput};
use crate::legacy;
use crate::server::AppState;
use crate::store::is_final;
use crate::tools::ToolSpec;

/// Which wire dialect a request speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// A2A v1.0 (`SendMessage`, ProtoJSON shapes).
    V1,
    /// A2A 0.3 (`message/send`, `kind` shapes).
    V03,
}

fn rpc_error(id: &Value, e: &A2AError) -> Value {
    let err: JsonRpcError = e.to_jsonrpc_error();
    json!({"jsonrpc": "2.0", "id": id, "error": err})
}

fn json_response(status: StatusCode, v: &Value) -> Response {
    Response::builder()
        .status(status)
        .content_type("application/json")
        .body(v.to_string())
}

/// The JSON-RPC error response for a body over the size limit.
pub fn oversize(limit: usize) -> Response {
    let e = A2AError::invalid_request(format!(
        "request body exceeds {limit} bytes; send a smaller message"
    ));
    json_response(StatusCode::PAYLOAD_TOO_LARGE, &rpc_error(&Value::Null, &e))
}

/// Handle one JSON-RPC POST.
pub async fn handle(state: Arc<AppState>, headers: &HeaderMap, body: &[u8]) -> Response {
    let req: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            let err = A2AError::parse_error(format!("invalid JSON: {e}"));
            return json_response(StatusCode::OK, &rpc_error(&Value::Null, &err));
        }
    };
    let id = req.get("id").cloned().unwrap_or(Value::Null);
    let id = if matches!(id, Value::String(_) | Value::Number(_) | Value::Null) {
        id
    } else {
        Value::Null
    };
    let valid = req.is_object()
        && req.get("jsonrpc").and_then(Value::as_str) == Some("2.0")
        && req.get("method").is_some_and(Value::is_string)
        && req
            .get("id")
            .is_some_and(|i| i.is_string() || i.is_i64() || i.is_u64())
        && req.get("params").is_none_or(|p| p.is_object());
    if !valid {
        let err = A2AError::invalid_request(
            "not a JSON-RPC 2.0 request: need {\"jsonrpc\":\"2.0\", \"id\", \"method\", \"params\": {...}}",
        );
        return json_response(StatusCode::OK, &rpc_error(&id, &err));
    }
    if let Some(v) = headers.get("a2a-version").and_then(|v| v.to_str().ok()) {
        let v = v.trim();
        if !matches!(v, "" | "1.0" | "1" | "1.0.0" | "0.3" | "0.3.0") {
            let err = A2AError::version_not_supported(v).with_details(Vec::new());
            let mut out = rpc_error(&id, &err);
            out["error"]["message"] = json!(format!(
                "A2A-Version {v} is not supported; this agent speaks 1.0 (and 0.3)"
            ));
            return json_response(StatusCode::OK, &out);
        }
    }
    let raw_method = req.get("method").and_then(Value::as_str).unwrap_or("");
    let (method, dialect) = match legacy::v1_method(raw_method) {
        Some(m) => (m, Dialect::V03),
        None => (raw_method, Dialect::V1),
    };
    let mut params = req.get("params").cloned().unwrap_or_else(|| json!({}));
    if dialect == Dialect::V03 {
        params = legacy::params_from_v03(method, params);
    }
    let result = match method {
        "SendMessage" => send_message(&state, params, dialect).await,
        "SendStreamingMessage" => {
            return match start_stream(&state, params).await {
                // a run was just started: a waiting snapshot (a resumed task) does not end the stream
                Ok((snapshot, rx)) => sse_response(state, id, snapshot, rx, dialect, false),
                Err(e) => json_response(StatusCode::OK, &rpc_error(&id, &e)),
            };
        }
        "SubscribeToTask" => {
            return match parse::<SubscribeToTaskRequest>(params) {
                Ok(r) => match state.store.subscribe(&r.id) {
                    None => json_response(
                        StatusCode::OK,
                        &rpc_error(&id, &A2AError::task_not_found(&r.id)),
                    ),
                    Some((t, _)) if t.status.state.is_terminal() => json_response(
                        StatusCode::OK,
                        &rpc_error(
                            &id,
                            &A2AError::unsupported_operation(format!(
                                "task {} is already {}; use GetTask",
                                r.id,
                                state_name(&t.status.state)
                            )),
                        ),
                    ),
                    Some((t, rx)) => sse_response(state, id, t, rx, dialect, true),
                },
                Err(e) => json_response(StatusCode::OK, &rpc_error(&id, &e)),
            };
        }
        "GetTask" => get_task(&state, params, dialect),
        "ListTasks" => list_tasks(&state, params, dialect),
        "CancelTask" => cancel_task(&state, params, dialect),
        "CreateTaskPushNotificationConfig"
        | "GetTaskPushNotificationConfig"
        | "ListTaskPushNotificationConfigs"
        | "DeleteTaskPushNotificationConfig" => Err(A2AError::push_notification_not_supported()),
        "GetExtendedAgentCard" => Err(A2AError::extended_card_not_configured()),
        other => Err(A2AError::method_not_found(other)),
    };
    let out = match result {
        Ok(v) => json!({"jsonrpc": "2.0", "id": id, "result": v}),
        Err(e) => rpc_error(&id, &e),
    };
    json_response(StatusCode::OK, &out)
}

fn parse<T: serde::de::DeserializeOwned>(params: Value) -> Result<T, A2AError> {
    serde_json::from_value(params)
        .map_err(|e| A2AError::invalid_params(format!("invalid params: {e}")))
}

fn state_name(s: &TaskState) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn task_json(t: &Task, dialect: Dialect) -> Value {
    let v = serde_json::to_value(t).unwrap_or(Value::Null);
    match dialect {
        Dialect::V1 => v,
        Dialect::V03 => legacy::task_to_v03(&v),
    }
}

fn trim_history(mut t: Task, history_length: Option<i32>) -> Task {
    if let (Some(n), Some(h)) = (history_length, t.history.as_mut()) {
        let n = usize::try_from(n.max(0)).unwrap_or(0);
        if h.len() > n {
            h.drain(..h.len() - n);
        }
        if n == 0 {
            t.history = None;
        }
    }
    t
}

fn agent_message(task: &Task, parts: Vec<Part>) -> Message {
    let mut m = Message::new(Role::Agent, parts);
    m.task_id = Some(task.id.clone());
    m.context_id = Some(task.context_id.clone());
    m
}

fn status_event(
    task_id: &str,
    context_id: &str,
    state: TaskState,
    message: Option<Message>,
) -> StreamResponse {
    StreamResponse::StatusUpdate(TaskStatusUpdateEvent {
        task_id: task_id.to_string(),
        context_id: context_id.to_string(),
        status: TaskStatus {
            state,
            message,
            timestamp: Some(chrono::Utc::now()),
        },
        metadata: None,
    })
}

/// What a user message asks for.
fn classify(message: &Message) -> Result<RunInput, A2AError> {
    for p in &message.parts {
        if let PartContent::Data(d) = &p.content
            && let Some(input) = direct_from_value(d)?
        {
            return Ok(input);
        }
    }
    let text: Vec<&str> = message.parts.iter().filter_map(Part::as_text).collect();
    let text = text.join("\n");
    if let Ok(v @ Value::Object(_)) = serde_json::from_str::<Value>(text.trim())
        && let Some(input) = direct_from_value(&v)?
    {
        return Ok(input);
    }
    if text.trim().is_empty() {
        return Err(A2AError::invalid_params(
            "the message has no text and no {\"tool\", \"action\", \"params\"} data part",
        ));
    }
    Ok(RunInput::Chat { text })
}

/// A `{"tool", "action", "params"}` object as a direct call.
pub fn direct_from_value(d: &Value) -> Result<Option<RunInput>, A2AError> {
    let Some(tool) = d.get("tool").and_then(Value::as_str) else {
        return Ok(None);
    };
    let action = d
        .get("action")
        .and_then(Value::as_str)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| {
            A2AError::invalid_params(format!(
                "the data part names tool {tool:?} but no \"action\"; send {{\"tool\", \"action\", \"params\"}}"
            ))
        })?;
    let params = match d.get("params") {
        None | Some(Value::Null) => json!({}),
        Some(p @ Value::Object(_)) => p.clone(),
        Some(_) => return Err(A2AError::invalid_params("\"params\" must be an object")),
    };
    Ok(Some(RunInput::Direct {
        tool: tool.to_string(),
        action: action.to_string(),
        params,
    }))
}

fn confirmation_answer(message: &Message) -> bool {
    for p in &message.parts {
        match &p.content {
            PartContent::Data(d) => {
                for k in ["confirm", "approved", "confirmed"] {
                    if let Some(b) = d.get(k).and_then(Value::as_bool) {
                        return b;
                    }
                }
            }
            PartContent::Text(t) => {
                let t = t.trim().trim_end_matches(['.', '!']).to_ascii_lowercase();
                return matches!(
                    t.as_str(),
                    "yes"
                        | "y"
                        | "confirm"
                        | "confirmed"
                        | "approve"
                        | "approved"
                        | "ok"
                        | "go ahead"
                        | "do it"
                );
            }
            _ => {}
        }
    }
    false
}

/// Validate a message, then create its task or resume the waiting one.
/// Returns the task id, what to run, `historyLength` and `returnImmediately`.
fn accept(
    state: &Arc<AppState>,
    req: SendMessageRequest,
) -> Result<(String, RunInput, Option<i32>, bool), A2AError> {
    let mut msg = req.message;
    if msg.parts.is_empty() {
        return Err(A2AError::invalid_params("message.parts is empty"));
    }
    if msg.role == Role::Agent {
        return Err(A2AError::invalid_params("message.role must be ROLE_USER"));
    }
    let (hl, imm) = req
        .configuration
        .map(|c| (c.history_length, c.return_immediately.unwrap_or(false)))
        .unwrap_or((None, false));
    match msg.task_id.clone() {
        Some(tid) => {
            let task = state
                .store
                .get(&tid)
                .ok_or_else(|| A2AError::task_not_found(&tid))?;
            if task.status.state != TaskState::InputRequired {
                return Err(A2AError::unsupported_operation(format!(
                    "task {tid} is {}, not waiting for input; start a new task (omit taskId)",
                    state_name(&task.status.state)
                )));
            }
            msg.context_id = Some(task.context_id.clone());
            let approved = confirmation_answer(&msg);
            state.store.add_history(&tid, msg);
            Ok((tid, RunInput::Confirm { approved }, hl, imm))
        }
        None => {
            let input = classify(&msg)?;
            let tid = a2a::new_task_id();
            let ctx = msg.context_id.clone().unwrap_or_else(a2a::new_context_id);
            msg.task_id = Some(tid.clone());
            msg.context_id = Some(ctx.clone());
            state.store.insert(Task {
                id: tid.clone(),
                context_id: ctx,
                status: TaskStatus {
                    state: TaskState::Submitted,
                    message: None,
                    timestamp: Some(chrono::Utc::now()),
                },
                artifacts: None,
                history: Some(vec![msg]),
                metadata: None,
            });
            Ok((tid, input, hl, imm))
        }
    }
}

/// Subscribe to a task, then start its run, so no event is missed.
fn launch(state: &Arc<AppState>, tid: &str, input: RunInput) -> Result<(Task, Receiver), A2AError> {
    let (snapshot, rx) = state
        .store
        .subscribe(tid)
        .ok_or_else(|| A2AError::task_not_found(tid))?;
    spawn_run(state, tid, input)?;
    Ok((snapshot, rx))
}

type Receiver = tokio::sync::broadcast::Receiver<StreamResponse>;

async fn send_message(
    state: &Arc<AppState>,
    params: Value,
    dialect: Dialect,
) -> Result<Value, A2AError> {
    let req: SendMessageRequest = parse(params)?;
    let (tid, input, hl, imm) = accept(state, req)?;
    let (_, mut rx) = launch(state, &tid, input)?;
    if !imm {
        loop {
            match rx.recv().await {
                Ok(StreamResponse::StatusUpdate(s)) if is_final(&s.status.state) => break,
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => {
                    if state
                        .store
                        .get(&tid)
                        .is_none_or(|t| is_final(&t.status.state))
                    {
                        break;
                    }
                }
                Err(RecvError::Closed) => break,
            }
        }
    }
    let task = state
        .store
        .get(&tid)
        .ok_or_else(|| A2AError::task_not_found(&tid))?;
    let task = trim_history(task, hl);
    Ok(match dialect {
        Dialect::V1 => json!({"task": task_json(&task, dialect)}),
        Dialect::V03 => task_json(&task, dialect),
    })
}

async fn start_stream(state: &Arc<AppState>, params: Value) -> Result<(Task, Receiver), A2AError> {
    let req: SendMessageRequest = parse(params)?;
    let (tid, input, _, _) = accept(state, req)?;
    launch(state, &tid, input)
}

fn stream_json(ev: &StreamResponse, dialect: Dialect) -> Value {
    let v = serde_json::to_value(ev).unwrap_or(Value::Null);
    match dialect {
        Dialect::V1 => v,
        Dialect::V03 => legacy::stream_to_v03(&v),
    }
}

/// An SSE response: the task snapshot, then its events until a final state
/// (`snapshot_ends`: a snapshot already in a final state ends the stream).
fn sse_response(
    state: Arc<AppState>,
    id: Value,
    snapshot: Task,
    mut rx: Receiver,
    dialect: Dialect,
    snapshot_ends: bool,
) -> Response {
    let (tx, out) = mpsc::channel::<Result<String, std::io::Error>>(64);
    tokio::spawn(async move {
        let frame = |ev: &StreamResponse| {
            let v = json!({"jsonrpc": "2.0", "id": id, "result": stream_json(ev, dialect)});
            Ok(format!("data: {v}\n\n"))
        };
        let tid = snapshot.id.clone();
        let done = snapshot_ends && is_final(&snapshot.status.state);
        if tx
            .send(frame(&StreamResponse::Task(snapshot)))
            .await
            .is_err()
            || done
        {
            return;
        }
        loop {
            let ev = match rx.recv().await {
                Ok(ev) => ev,
                Err(RecvError::Lagged(_)) => match state.store.get(&tid) {
                    Some(t) => StreamResponse::Task(t),
                    None => return,
                },
                Err(RecvError::Closed) => return,
            };
            let fin = match &ev {
                StreamResponse::StatusUpdate(s) => is_final(&s.status.state),
                StreamResponse::Task(t) => is_final(&t.status.state),
                _ => false,
            };
            if tx.send(frame(&ev)).await.is_err() || fin {
                return;
            }
        }
    });
    Response::builder()
        .status(StatusCode::OK)
        .content_type("text/event-stream")
        .header("cache-control", "no-cache")
        .header("x-accel-buffering", "no")
        .body(Body::from_bytes_stream(
            tokio_stream::wrappers::ReceiverStream::new(out),
        ))
}

fn get_task(state: &Arc<AppState>, params: Value, dialect: Dialect) -> Result<Value, A2AError> {
    let r: GetTaskRequest = parse(params)?;
    let t = state
        .store
        .get(&r.id)
        .ok_or_else(|| A2AError::task_not_found(&r.id))?;
    Ok(task_json(&trim_history(t, r.history_length), dialect))
}

fn list_tasks(state: &Arc<AppState>, params: Value, dialect: Dialect) -> Result<Value, A2AError> {
    let r: ListTasksRequest = parse(params)?;
    let page_size = r.page_size.unwrap_or(50);
    if !(1..=100).contains(&page_size) {
        return Err(A2AError::invalid_params(
            "pageSize must be between 1 and 100",
        ));
    }
    let offset: usize = match r.page_token.as_deref() {
        None | Some("") => 0,
        Some(t) => t
            .parse()
            .map_err(|_| A2AError::invalid_params(format!("invalid pageToken {t:?}")))?,
    };
    let all: Vec<Task> = state
        .store
        .list()
        .into_iter()
        .filter(|t| r.context_id.as_ref().is_none_or(|c| &t.context_id == c))
        .filter(|t| r.status.as_ref().is_none_or(|s| &t.status.state == s))
        .filter(|t| {
            r.status_timestamp_after
                .is_none_or(|after| t.status.timestamp.is_some_and(|ts| ts > after))
        })
        .collect();
    let total = all.len();
    let size = usize::try_from(page_size).unwrap_or(50);
    let tasks: Vec<Task> = all
        .into_iter()
        .skip(offset)
        .take(size)
        .map(|mut t| {
            if !r.include_artifacts.unwrap_or(false) {
                t.artifacts = None;
            }
            trim_history(t, r.history_length)
        })
        .collect();
    let next = if offset + tasks.len() < total {
        (offset + tasks.len()).to_string()
    } else {
        String::new()
    };
    let resp = ListTasksResponse {
        page_size: i32::try_from(tasks.len()).unwrap_or(i32::MAX),
        tasks,
        next_page_token: next,
        total_size: i32::try_from(total).unwrap_or(i32::MAX),
    };
    let mut v = serde_json::to_value(&resp).unwrap_or(Value::Null);
    if dialect == Dialect::V03
        && let Some(Value::Array(ts)) = v.get_mut("tasks")
    {
        for t in ts.iter_mut() {
            *t = legacy::task_to_v03(t);
        }
    }
    Ok(v)
}

fn cancel_task(state: &Arc<AppState>, params: Value, dialect: Dialect) -> Result<Value, A2AError> {
    let r: CancelTaskRequest = parse(params)?;
    let before = state
        .store
        .cancel(&r.id)
        .ok_or_else(|| A2AError::task_not_found(&r.id))?;
    if before.is_terminal() {
        return Err(A2AError::task_not_cancelable(&r.id));
    }
    if let Some(t) = state.store.get(&r.id) {
        let msg = agent_message(&t, vec![Part::text("Cancelled by the client.")]);
        state.store.publish(
            &r.id,
            status_event(&t.id, &t.context_id, TaskState::Canceled, Some(msg)),
        );
    }
    let t = state
        .store
        .get(&r.id)
        .ok_or_else(|| A2AError::task_not_found(&r.id))?;
    Ok(task_json(&t, dialect))
}

/// Start the engine on a task in the background; every step becomes a
/// status or artifact event.
fn spawn_run(state: &Arc<AppState>, tid: &str, input: RunInput) -> Result<(), A2AError> {
    let (conversation, cancel) = state
        .store
        .start_run(tid)
        .ok_or_else(|| A2AError::unsupported_operation(format!("task {tid} is already running")))?;
    let Some(task) = state.store.get(tid) else {
        return Err(A2AError::task_not_found(tid));
    };
    let state = Arc::clone(state);
    let span = crate::engine::task_span("a2a", tid);
    let task_span = span.clone();
    let step = async move {
        let (tid, ctx) = (task.id.clone(), task.context_id.clone());
        state
            .store
            .publish(&tid, status_event(&tid, &ctx, TaskState::Working, None));
        let (tx, mut rx) = mpsc::unbounded_channel();
        let engine = state.engine.clone();
        let run = engine.run(input, conversation, tx, cancel);
        let forward = async {
            let mut started: HashMap<String, bool> = HashMap::new();
            while let Some(ev) = rx.recv().await {
                if let Some(resp) = translate(&task, ev, &mut started) {
                    state.store.publish(&tid, resp);
                }
            }
        };
        let ((end, conv), ()) = tokio::join!(run, forward);
        let keep = matches!(end, RunEnd::NeedsConfirmation(_));
        tracing::info!(task = %tid, outcome = end.state(), "a2a task step finished");
        crate::engine::end_task_span(&task_span, &end);
        state.store.end_run(&tid, keep.then_some(conv));
        let (st, parts) = match end {
            RunEnd::Completed { text, .. } => (
                TaskState::Completed,
                vec![Part::text(if text.is_empty() {
                    "Done.".to_string()
                } else {
                    text
                })],
            ),
            RunEnd::NeedsConfirmation(c) => (
                TaskState::InputRequired,
                vec![
                    Part::text(c.prompt.clone()),
                    Part::data(json!({"confirmation": {
                        "callId": c.id, "tool": c.tool, "action": c.action, "params": c.params}})),
                ],
            ),
            RunEnd::Rejected { text } => (TaskState::Rejected, vec![Part::text(text)]),
            RunEnd::Declined { text } => (TaskState::Canceled, vec![Part::text(text)]),
            RunEnd::Failed { error } => (TaskState::Failed, vec![Part::text(error)]),
            RunEnd::Cancelled => (TaskState::Canceled, vec![Part::text("Cancelled.")]),
        };
        let msg = agent_message(&task, parts);
        state
            .store
            .publish(&tid, status_event(&tid, &ctx, st, Some(msg)));
    };
    tokio::spawn(step.instrument(span));
    Ok(())
}

fn translate(
    task: &Task,
    ev: AgentEvent,
    started: &mut HashMap<String, bool>,
) -> Option<StreamResponse> {
    let (tid, ctx) = (task.id.clone(), task.context_id.clone());
    match ev {
        AgentEvent::TextStart { .. } | AgentEvent::TextEnd { .. } => None,
        AgentEvent::TextDelta { message_id, delta } => {
            let append = started.insert(message_id.clone(), true).is_some();
            Some(StreamResponse::ArtifactUpdate(TaskArtifactUpdateEvent {
                task_id: tid,
                context_id: ctx,
                artifact: Artifact {
                    artifact_id: message_id,
                    name: Some("answer".into()),
                    description: None,
                    parts: vec![Part::text(delta)],
                    metadata: None,
                    extensions: None,
                },
                append: Some(append),
                last_chunk: Some(false),
                metadata: None,
            }))
        }
        AgentEvent::ToolCallStart {
            id,
            tool,
            arguments,
        } => {
            let action = arguments
                .get("action")
                .and_then(Value::as_str)
                .unwrap_or("?");
            let msg = agent_message(
                task,
                vec![
                    Part::text(format!("Calling {tool}.{action}")),
                    Part::data(
                        json!({"toolCall": {"id": id, "name": tool, "arguments": arguments}}),
                    ),
                ],
            );
            Some(status_event(&tid, &ctx, TaskState::Working, Some(msg)))
        }
        AgentEvent::ToolCallResult {
            id,
            tool,
            action,
            outcome,
        } => Some(StreamResponse::ArtifactUpdate(TaskArtifactUpdateEvent {
            task_id: tid,
            context_id: ctx,
            artifact: Artifact {
                artifact_id: format!("tool-{id}"),
                name: Some(format!("{tool}.{action}")),
                description: Some(outcome.text.clone()),
                parts: vec![Part::data(outcome.structured), Part::text(outcome.text)],
                metadata: Some(HashMap::from([
                    ("isError".to_string(), json!(outcome.is_error)),
                    ("toolCallId".to_string(), json!(id)),
                ])),
                extensions: None,
            },
            append: Some(false),
            last_chunk: Some(true),
            metadata: None,
        })),
    }
}

/// The agent card: one skill per tool module, the JSON-RPC interface at `base`.
pub fn agent_card(name: &str, base: &str, tools: &[ToolSpec], api_key: bool) -> AgentCard {
    let skills = tools
        .iter()
        .map(|t| {
            let actions: Vec<String> = t.input_schema["properties"]["action"]["enum"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            let first = t.description.lines().next().unwrap_or("");
            let purpose = first
                .split(". Call with")
                .next()
                .unwrap_or(first)
                .trim_end_matches('.');
            let module = t.name.strip_prefix("hub_").unwrap_or(&t.name).to_string();
            let example_action = [
                "list",
                "get_settings",
                "logs",
                "whoami",
                "list_pats",
                "list_users",
            ]
            .into_iter()
            .find(|a| actions.iter().any(|x| x == a))
            .map(str::to_string)
            .or_else(|| actions.first().cloned())
            .unwrap_or_else(|| "list".into());
            AgentSkill {
                id: t.name.clone(),
                name: t.name.clone(),
                description: format!("{purpose}. Actions: {}.", actions.join(", ")),
                tags: vec!["docker-hub".into(), module],
                examples: Some(vec![format!(
                    "{{\"tool\": \"{}\", \"action\": \"{example_action}\", \"params\": {{}}}}",
                    t.name
                )]),
                input_modes: None,
                output_modes: None,
                security_requirements: None,
            }
        })
        .collect();
    let (schemes, reqs) = if api_key {
        (
            Some(HashMap::from([(
                "apiKey".to_string(),
                SecurityScheme::ApiKey(ApiKeySecurityScheme {
                    location: "header".into(),
                    name: "X-API-Key".into(),
                    description: Some("AGENT_API_KEY".into()),
                }),
            )])),
            Some(vec![HashMap::from([("apiKey".to_string(), Vec::new())])]),
        )
    } else {
        (None, None)
    };
    AgentCard {
        name: name.to_string(),
        description: "Manages Docker Hub (repositories, tags, tokens, orgs, teams, audit logs, SCIM) through seven tools. \
Send plain text (when a model is configured) or a data part {\"tool\", \"action\", \"params\"}."
            .into(),
        version: env!("CARGO_PKG_VERSION").into(),
        supported_interfaces: vec![AgentInterface::new(base, a2a::TRANSPORT_PROTOCOL_JSONRPC)],
        capabilities: AgentCapabilities {
            streaming: Some(true),
            push_notifications: Some(false),
            extensions: None,
            extended_agent_card: Some(false),
        },
        default_input_modes: vec!["text/plain".into(), "application/json".into()],
        default_output_modes: vec!["text/plain".into(), "application/json".into()],
        skills,
        provider: None,
        documentation_url: None,
        icon_url: None,
        security_schemes: schemes,
        security_requirements: reqs,
        signatures: None,
    }
}
