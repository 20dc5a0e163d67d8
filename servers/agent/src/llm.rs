//! The OpenAI-compatible chat-completions client of the LLM mode
//! (async-openai against any base URL: OpenAI, Ollama, vLLM, …).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::chat::{ChatCompletionMessageToolCalls, CreateChatCompletionRequest};
use futures::StreamExt;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use tracing::Instrument as _;

use crate::error::{AgentError, Result};
use crate::tools::ToolSpec;

/// The default base URL when only `MODEL_ID` is set.
pub const OPENAI_BASE: &str = "https://api.openai.com/v1";

/// One tool call the model asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelToolCall {
    /// The call id the tool message must echo.
    pub id: String,
    /// Tool name.
    pub name: String,
    /// Arguments as the model wrote them (JSON text).
    pub arguments: String,
}

/// One model turn: text, tool calls, or both.
#[derive(Debug, Clone, Default)]
pub struct ModelReply {
    /// Text content (empty when the turn only calls tools).
    pub content: String,
    /// Tool calls, in order.
    pub tool_calls: Vec<ModelToolCall>,
}

impl ModelReply {
    /// The assistant message to append to the conversation.
    pub fn to_message(&self) -> Value {
        let mut m = json!({"role": "assistant", "content": self.content});
        if !self.tool_calls.is_empty() {
            m["tool_calls"] = self
                .tool_calls
                .iter()
                .map(|c| {
                    json!({"id": c.id, "type": "function",
                           "function": {"name": c.name, "arguments": c.arguments}})
                })
                .collect();
        }
        m
    }
}

/// A chat-completions client bound to one model.
///
/// Streamed turns ask for `stream_options: {"include_usage": true}` so the
/// endpoint reports token usage in a last chunk; an endpoint that ignores it
/// streams without usage. One that rejects it (a 4xx error mentioning
/// `stream_options`) gets the turn retried without it, and this client stops
/// asking from then on.
#[derive(Clone)]
pub struct Llm {
    client: Client<OpenAIConfig>,
    model: String,
    stream: bool,
    /// Set once the endpoint rejected `stream_options`.
    no_stream_options: Arc<AtomicBool>,
}

impl std::fmt::Debug for Llm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Llm")
            .field("model", &self.model)
            .field("stream", &self.stream)
            .finish_non_exhaustive()
    }
}

impl Llm {
    /// A client for `model` at `base_url` (default OpenAI), with an optional key.
    pub fn new(
        base_url: Option<&str>,
        api_key: Option<&SecretString>,
        model: &str,
        stream: bool,
    ) -> Result<Llm> {
        let base = base_url
            .unwrap_or(OPENAI_BASE)
            .trim_end_matches('/')
            .to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(AgentError::Config(format!(
                "OPENAI_BASE_URL={base:?} is not an http(s) URL; use e.g. http://127.0.0.1:11434/v1 for Ollama"
            )));
        }
        let key = api_key
            .map(|k| k.expose_secret().to_string())
            .unwrap_or_default();
        let config = OpenAIConfig::new().with_api_base(base).with_api_key(key);
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| AgentError::Llm(format!("cannot build the HTTP client: {e}")))?;
        Ok(Llm {
            client: Client::with_config(config).with_http_client(http),
            model: model.to_string(),
            stream,
            no_stream_options: Arc::new(AtomicBool::new(false)),
        })
    }

    /// The model id.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// Map tools to the `{"type":"function","function":{…}}` form.
    pub fn tool_defs(tools: &[ToolSpec]) -> Vec<Value> {
        tools
            .iter()
            .map(|t| {
                json!({"type": "function", "function": {
                    "name": t.name, "description": t.description, "parameters": t.input_schema}})
            })
            .collect()
    }

    /// Run one turn. Text is passed to `on_text` as it arrives.
    ///
    /// Traced as an `llm.call` span with `gen_ai.request.model` and, when
    /// the endpoint reports usage (streamed: in its `include_usage` chunk),
    /// `gen_ai.usage.input_tokens` and `gen_ai.usage.output_tokens` (never
    /// the prompt, the answer or the key).
    pub async fn complete(
        &self,
        messages: &[Value],
        tools: &[Value],
        on_text: &mut (dyn FnMut(&str) + Send),
    ) -> Result<ModelReply> {
        let span = tracing::info_span!(
            "llm.call",
            gen_ai.operation.name = "chat",
            gen_ai.request.model = %self.model,
            gen_ai.usage.input_tokens = tracing::field::Empty,
            gen_ai.usage.output_tokens = tracing::field::Empty,
            stream = self.stream,
            error = tracing::field::Empty
        );
        let r = self
            .complete_turn(messages, tools, on_text, &span)
            .instrument(span.clone())
            .await;
        if r.is_err() {
            span.record("error", true);
        }
        r
    }

    async fn complete_turn(
        &self,
        messages: &[Value],
        tools: &[Value],
        on_text: &mut (dyn FnMut(&str) + Send),
        span: &tracing::Span,
    ) -> Result<ModelReply> {
        let mut body = json!({"model": self.model, "messages": messages});
        if !tools.is_empty() {
            body["tools"] = Value::Array(tools.to_vec());
        }
        if self.stream {
            body["stream"] = json!(true);
            if !self.no_stream_options.load(Ordering::Relaxed) {
                body["stream_options"] = json!({"include_usage": true});
            }
        }
        let request: CreateChatCompletionRequest = serde_json::from_value(body)
            .map_err(|e| AgentError::Llm(format!("cannot build the chat request: {e}")))?;
        if self.stream {
            self.complete_stream(request, on_text, span).await
        } else {
            let resp = self
                .client
                .chat()
                .create(request)
                .await
                .map_err(|e| AgentError::Llm(e.to_string()))?;
            if let Some(u) = &resp.usage {
                record_usage(span, u.prompt_tokens, u.completion_tokens);
            }
            let choice = resp
                .choices
                .into_iter()
                .next()
                .ok_or_else(|| AgentError::Llm("the model answered with no choices".into()))?;
            let content = choice.message.content.unwrap_or_default();
            if !content.is_empty() {
                on_text(&content);
            }
            let tool_calls = choice
                .message
                .tool_calls
                .unwrap_or_default()
                .into_iter()
                .filter_map(|c| match c {
                    ChatCompletionMessageToolCalls::Function(f) => Some(ModelToolCall {
                        id: f.id,
                        name: f.function.name,
                        arguments: f.function.arguments,
                    }),
                    ChatCompletionMessageToolCalls::Custom(_) => None,
                })
                .collect();
            Ok(ModelReply {
                content,
                tool_calls,
            })
        }
    }

    async fn complete_stream(
        &self,
        mut request: CreateChatCompletionRequest,
        on_text: &mut (dyn FnMut(&str) + Send),
        span: &tracing::Span,
    ) -> Result<ModelReply> {
        let mut stream = match self.client.chat().create_stream(request.clone()).await {
            Ok(s) => s,
            Err(e) if request.stream_options.is_some() && rejects_stream_options(&e) => {
                request.stream_options = None;
                let stream = self
                    .client
                    .chat()
                    .create_stream(request)
                    .await
                    .map_err(|e| AgentError::Llm(e.to_string()))?;
                // Only once the same turn works without it: the refusal was
                // about stream_options, so stop asking.
                self.no_stream_options.store(true, Ordering::Relaxed);
                tracing::warn!(
                    model = %self.model,
                    "the model endpoint rejects stream_options; streaming without token usage"
                );
                stream
            }
            Err(e) => return Err(AgentError::Llm(e.to_string())),
        };
        let mut content = String::new();
        let mut calls: BTreeMap<u32, ModelToolCall> = BTreeMap::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| AgentError::Llm(e.to_string()))?;
            // With `include_usage`, the last chunk carries the usage and no choices.
            if let Some(u) = &chunk.usage {
                record_usage(span, u.prompt_tokens, u.completion_tokens);
            }
            for choice in chunk.choices {
                if let Some(text) = choice.delta.content.filter(|t| !t.is_empty()) {
                    on_text(&text);
                    content.push_str(&text);
                }
                for tc in choice.delta.tool_calls.unwrap_or_default() {
                    let entry = calls.entry(tc.index).or_insert_with(|| ModelToolCall {
                        id: String::new(),
                        name: String::new(),
                        arguments: String::new(),
                    });
                    if let Some(id) = tc.id {
                        entry.id.push_str(&id);
                    }
                    if let Some(f) = tc.function {
                        if let Some(n) = f.name {
                            entry.name.push_str(&n);
                        }
                        if let Some(a) = f.arguments {
                            entry.arguments.push_str(&a);
                        }
                    }
                }
            }
        }
        let tool_calls = calls
            .into_values()
            .enumerate()
            .map(|(i, mut c)| {
                if c.id.is_empty() {
                    c.id = format!("call_{i}");
                }
                c
            })
            .collect();
        Ok(ModelReply {
            content,
            tool_calls,
        })
    }
}

/// Token usage on the `llm.call` span (OpenTelemetry GenAI conventions).
fn record_usage(span: &tracing::Span, input: u32, output: u32) {
    span.record("gen_ai.usage.input_tokens", input);
    span.record("gen_ai.usage.output_tokens", output);
}

/// Whether a failed streaming request was the endpoint refusing
/// `stream_options` (a 4xx naming it, OpenAI-shaped or not).
fn rejects_stream_options(e: &OpenAIError) -> bool {
    match e {
        // 400 or 422 only: validation errors that echo the whole request
        // body (pydantic, vLLM) name it too, so the retry must confirm it.
        OpenAIError::ApiError(r) => {
            matches!(r.status_code.as_u16(), 400 | 422)
                && (r.api_error.param.as_deref() == Some("stream_options")
                    || r.api_error.message.contains("stream_options"))
        }
        // An error body that is not `{"error": {...}}` (vLLM, proxies).
        OpenAIError::JSONDeserialize(_, body) => body.contains("stream_options"),
        _ => false,
    }
}
