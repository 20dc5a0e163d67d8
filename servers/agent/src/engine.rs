//! The agent loop, shared by A2A and AG-UI: a no-LLM direct tool call, or a
//! tool-calling loop against the model with a turn cap. Progress is reported
//! as [`AgentEvent`]s; the run ends with a [`RunEnd`] and the conversation
//! state needed to resume after a confirmation.

use std::collections::VecDeque;
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use crate::error::AgentError;
use crate::llm::{Llm, ModelReply};
use crate::tools::{SharedBackend, ToolOutcome, split_arguments, tool_listing};

/// Largest tool result text handed back to the model, in bytes.
const MAX_TOOL_TEXT: usize = 24_000;

/// Progress of a run.
#[derive(Debug, Clone)]
pub enum AgentEvent {
    /// The model started a text message.
    TextStart {
        /// Message id.
        message_id: String,
    },
    /// More text of the current message.
    TextDelta {
        /// Message id.
        message_id: String,
        /// The new text.
        delta: String,
    },
    /// The text message is complete.
    TextEnd {
        /// Message id.
        message_id: String,
    },
    /// A tool call is about to run.
    ToolCallStart {
        /// Call id.
        id: String,
        /// Tool name.
        tool: String,
        /// Arguments (`{action, params}`).
        arguments: Value,
    },
    /// A tool call finished.
    ToolCallResult {
        /// Call id.
        id: String,
        /// Tool name.
        tool: String,
        /// Action name.
        action: String,
        /// The result.
        outcome: ToolOutcome,
    },
}

/// A tool call waiting to run.
#[derive(Debug, Clone)]
pub struct PendingCall {
    /// Call id.
    pub id: String,
    /// Tool name.
    pub tool: String,
    /// Arguments (`{action, params}`).
    pub arguments: Value,
    /// Whether the user already confirmed it.
    pub confirmed: bool,
}

/// Conversation state kept between runs of one task.
#[derive(Debug, Clone, Default)]
pub struct Conversation {
    /// Chat messages in the OpenAI form (LLM mode).
    pub messages: Vec<Value>,
    /// Tool calls still to run (the first may wait for confirmation).
    pub pending: VecDeque<PendingCall>,
    /// Whether this is a no-LLM direct call.
    pub direct: bool,
    /// Model turns used since the last user message.
    pub turns: usize,
}

/// What a run is asked to do.
#[derive(Debug, Clone)]
pub enum RunInput {
    /// No-LLM mode: run one tool.
    Direct {
        /// Tool name.
        tool: String,
        /// Action name.
        action: String,
        /// Parameters.
        params: Value,
    },
    /// A user's text (LLM mode; rejected without a model).
    Chat {
        /// The text.
        text: String,
    },
    /// The user's answer to a confirmation request.
    Confirm {
        /// Whether the user approved.
        approved: bool,
    },
}

/// A confirmation the user must give before a destructive call runs.
#[derive(Debug, Clone)]
pub struct Confirmation {
    /// Call id.
    pub id: String,
    /// Tool name.
    pub tool: String,
    /// Action name.
    pub action: String,
    /// Parameters.
    pub params: Value,
    /// The question for the user.
    pub prompt: String,
}

/// How a run ended.
#[derive(Debug, Clone)]
pub enum RunEnd {
    /// Done; `text` is the final answer or the direct call's summary.
    Completed {
        /// The answer.
        text: String,
        /// Whether the text was already streamed as [`AgentEvent::TextDelta`].
        streamed: bool,
    },
    /// Waiting for the user to confirm a destructive call.
    NeedsConfirmation(Confirmation),
    /// The request cannot be served as asked (text without a model).
    Rejected {
        /// Why, with what to do instead.
        text: String,
    },
    /// The user declined the destructive call of a direct run.
    Declined {
        /// What was not done.
        text: String,
    },
    /// The run failed.
    Failed {
        /// The error, actionable.
        error: String,
    },
    /// The run was cancelled.
    Cancelled,
}

impl RunEnd {
    /// The final state of the run, as logged, traced and counted
    /// (`completed`, `input-required`, `rejected`, `declined`, `failed`, `cancelled`).
    pub fn state(&self) -> &'static str {
        match self {
            RunEnd::Completed { .. } => "completed",
            RunEnd::NeedsConfirmation(_) => "input-required",
            RunEnd::Rejected { .. } => "rejected",
            RunEnd::Declined { .. } => "declined",
            RunEnd::Failed { .. } => "failed",
            RunEnd::Cancelled => "cancelled",
        }
    }
}

/// The `agent.task` span of one run of a task (`protocol` is `a2a` or
/// `ag-ui`): the parent of its `llm.call` and `agent.tool_call` spans, and
/// through them of the Hub (or MCP) spans. Close it with [`end_task_span`].
pub fn task_span(protocol: &'static str, task_id: &str) -> tracing::Span {
    tracing::info_span!(
        "agent.task",
        protocol,
        task_id = %task_id,
        state = tracing::field::Empty
    )
}

/// Record the run's final state on its `agent.task` span and count it in
/// the `agent.tasks` metric.
pub fn end_task_span(span: &tracing::Span, end: &RunEnd) {
    span.record("state", end.state());
    dockerhub_api::telemetry::record_agent_task(end.state());
}

/// The agent: tools, an optional model, and the loop settings.
#[derive(Clone)]
pub struct Engine {
    backend: SharedBackend,
    llm: Option<Arc<Llm>>,
    system_prompt: String,
    max_turns: usize,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("backend", &self.backend.describe())
            .field("llm", &self.llm)
            .field("max_turns", &self.max_turns)
            .finish()
    }
}

impl Engine {
    /// Build an engine.
    pub fn new(
        backend: SharedBackend,
        llm: Option<Llm>,
        system_prompt: String,
        max_turns: usize,
    ) -> Engine {
        Engine {
            backend,
            llm: llm.map(Arc::new),
            system_prompt,
            max_turns: max_turns.max(1),
        }
    }

    /// The tool backend.
    pub fn backend(&self) -> &SharedBackend {
        &self.backend
    }

    /// The system message that starts a conversation.
    pub fn system_message(&self) -> Value {
        json!({"role": "system", "content": self.system_prompt})
    }

    /// Whether a model is configured.
    pub fn has_llm(&self) -> bool {
        self.llm.is_some()
    }

    /// The rejection text for a text message without a model.
    pub async fn rejection_text(&self) -> String {
        let specs = self.backend.tools().await;
        format!(
            "No language model is configured (set MODEL_ID and OPENAI_BASE_URL to chat), so only direct tool calls work. \
Send a data part {{\"tool\": \"hub_repos\", \"action\": \"list\", \"params\": {{\"namespace\": \"acme\"}}}}. Tools and actions:\n{}",
            tool_listing(&specs)
        )
    }

    /// Run one step of a task, starting from `state` (a new conversation when `None`).
    pub async fn run(
        &self,
        input: RunInput,
        state: Option<Conversation>,
        events: UnboundedSender<AgentEvent>,
        cancel: CancellationToken,
    ) -> (RunEnd, Conversation) {
        let mut conv = state.unwrap_or_default();
        match input {
            RunInput::Direct {
                tool,
                action,
                params,
            } => {
                conv.direct = true;
                conv.pending.push_back(PendingCall {
                    id: format!("call_{}", uuid::Uuid::new_v4().simple()),
                    tool,
                    arguments: json!({"action": action, "params": params}),
                    confirmed: false,
                });
            }
            RunInput::Chat { text } => {
                if self.llm.is_none() {
                    return (
                        RunEnd::Rejected {
                            text: self.rejection_text().await,
                        },
                        conv,
                    );
                }
                if conv.messages.is_empty() {
                    conv.messages
                        .push(json!({"role": "system", "content": self.system_prompt}));
                }
                conv.pending.clear();
                conv.turns = 0;
                conv.messages.push(json!({"role": "user", "content": text}));
            }
            RunInput::Confirm { approved } => {
                if approved {
                    if let Some(first) = conv.pending.front_mut() {
                        first.confirmed = true;
                    }
                } else if let Some(call) = conv.pending.pop_front() {
                    let (action, _) = split_arguments(&call.arguments).unwrap_or_default();
                    let what = format!("{}.{action}", call.tool);
                    if conv.direct {
                        return (
                            RunEnd::Declined {
                                text: format!("Not confirmed: {what} was not run."),
                            },
                            conv,
                        );
                    }
                    conv.messages
                        .push(json!({"role": "tool", "tool_call_id": call.id,
                        "content": format!("The user declined to run {what}; it was not run.")}));
                }
            }
        }
        let end = self.drive(&mut conv, &events, &cancel).await;
        (end, conv)
    }

    async fn drive(
        &self,
        conv: &mut Conversation,
        events: &UnboundedSender<AgentEvent>,
        cancel: &CancellationToken,
    ) -> RunEnd {
        let tools = match &self.llm {
            Some(_) if !conv.direct => Llm::tool_defs(&self.backend.tools().await),
            _ => Vec::new(),
        };
        loop {
            let mut last: Option<ToolOutcome> = None;
            while let Some(call) = conv.pending.pop_front() {
                if cancel.is_cancelled() {
                    return RunEnd::Cancelled;
                }
                let (action, params) = match split_arguments(&call.arguments) {
                    Ok(v) => v,
                    Err(msg) => {
                        let outcome = ToolOutcome::error("InvalidArguments", msg);
                        self.finish_call(conv, events, &call, "", outcome.clone());
                        last = Some(outcome);
                        continue;
                    }
                };
                if !call.confirmed && self.backend.needs_confirmation(&call.tool, &action) {
                    let prompt = format!(
                        "{}.{action} is destructive and cannot be undone. Reply \"yes\" to run it with {params}, or \"no\" to skip it.",
                        call.tool
                    );
                    let confirmation = Confirmation {
                        id: call.id.clone(),
                        tool: call.tool.clone(),
                        action,
                        params,
                        prompt,
                    };
                    conv.pending.push_front(call);
                    return RunEnd::NeedsConfirmation(confirmation);
                }
                tracing::debug!(tool = %call.tool, action = %action, "tool call");
                let _ = events.send(AgentEvent::ToolCallStart {
                    id: call.id.clone(),
                    tool: call.tool.clone(),
                    arguments: call.arguments.clone(),
                });
                // Only the user's answer confirms a destructive call: the MCP server
                // (which cannot ask the user itself) runs it on `"confirm": true`.
                let mut arguments = call.arguments.clone();
                if let Some(o) = arguments.as_object_mut() {
                    o.remove("confirm");
                    if call.confirmed {
                        o.insert("confirm".into(), Value::Bool(true));
                    }
                }
                // A child of the task span; the backend's Hub or MCP spans are its children.
                let span = tracing::info_span!(
                    "agent.tool_call",
                    tool = %call.tool,
                    action = %action,
                    call_id = %call.id,
                    is_error = tracing::field::Empty
                );
                let outcome = self
                    .backend
                    .call(&call.tool, arguments, cancel.clone())
                    .instrument(span.clone())
                    .await;
                span.record("is_error", outcome.is_error);
                if cancel.is_cancelled() {
                    return RunEnd::Cancelled;
                }
                self.finish_call(conv, events, &call, &action, outcome.clone());
                last = Some(outcome);
            }
            if conv.direct {
                return match last {
                    Some(o) if o.is_error => RunEnd::Failed { error: o.text },
                    Some(o) => RunEnd::Completed {
                        text: o.text,
                        streamed: false,
                    },
                    None => RunEnd::Failed {
                        error: "nothing to run".into(),
                    },
                };
            }
            let Some(llm) = &self.llm else {
                return RunEnd::Failed {
                    error: "no language model is configured".into(),
                };
            };
            if conv.turns >= self.max_turns {
                return RunEnd::Failed {
                    error: AgentError::TurnCap(self.max_turns).to_string(),
                };
            }
            conv.turns += 1;
            let reply = tokio::select! {
                biased;
                () = cancel.cancelled() => return RunEnd::Cancelled,
                r = self.model_turn(llm, conv, &tools, events) => r,
            };
            let mut reply = match reply {
                Ok(r) => r,
                Err(e) => {
                    return RunEnd::Failed {
                        error: e.to_string(),
                    };
                }
            };
            // Some servers number calls per turn (`call_0`); keep ids unique per conversation.
            for c in &mut reply.tool_calls {
                let seen = conv
                    .messages
                    .iter()
                    .any(|m| m.get("tool_call_id").and_then(Value::as_str) == Some(c.id.as_str()));
                if seen || c.id.is_empty() {
                    c.id = format!("call_{}", uuid::Uuid::new_v4().simple());
                }
            }
            conv.messages.push(reply.to_message());
            if reply.tool_calls.is_empty() {
                return RunEnd::Completed {
                    text: reply.content,
                    streamed: true,
                };
            }
            for c in reply.tool_calls {
                let arguments = if c.arguments.trim().is_empty() {
                    json!({})
                } else {
                    serde_json::from_str(&c.arguments)
                        .unwrap_or_else(|_| json!({"__invalid_json": c.arguments}))
                };
                conv.pending.push_back(PendingCall {
                    id: c.id,
                    tool: c.name,
                    arguments,
                    confirmed: false,
                });
            }
        }
    }

    fn finish_call(
        &self,
        conv: &mut Conversation,
        events: &UnboundedSender<AgentEvent>,
        call: &PendingCall,
        action: &str,
        outcome: ToolOutcome,
    ) {
        if !conv.direct {
            let mut content = outcome.structured.to_string();
            if content.len() > MAX_TOOL_TEXT {
                let mut cut = MAX_TOOL_TEXT;
                while !content.is_char_boundary(cut) {
                    cut -= 1;
                }
                content.truncate(cut);
                content.push_str("… (truncated; ask for a smaller page)");
            }
            conv.messages
                .push(json!({"role": "tool", "tool_call_id": call.id, "content": content}));
        }
        let _ = events.send(AgentEvent::ToolCallResult {
            id: call.id.clone(),
            tool: call.tool.clone(),
            action: action.to_string(),
            outcome,
        });
    }

    async fn model_turn(
        &self,
        llm: &Llm,
        conv: &Conversation,
        tools: &[Value],
        events: &UnboundedSender<AgentEvent>,
    ) -> crate::error::Result<ModelReply> {
        let message_id = format!("msg_{}", uuid::Uuid::new_v4().simple());
        let mut started = false;
        let mut on_text = |delta: &str| {
            if !started {
                started = true;
                let _ = events.send(AgentEvent::TextStart {
                    message_id: message_id.clone(),
                });
            }
            let _ = events.send(AgentEvent::TextDelta {
                message_id: message_id.clone(),
                delta: delta.to_string(),
            });
        };
        let r = llm.complete(&conv.messages, tools, &mut on_text).await;
        if started {
            let _ = events.send(AgentEvent::TextEnd {
                message_id: message_id.clone(),
            });
        }
        r
    }
}
