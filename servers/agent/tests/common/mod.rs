//! Test helpers: a scripted fake OpenAI-compatible `/v1/chat/completions`
//! on 127.0.0.1, an agent on the demo emulator, and JSON-RPC / SSE helpers.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use dockerhub_agent::llm::Llm;
use dockerhub_agent::tools::{InProcessBackend, SharedBackend};
use dockerhub_agent::{Agent, Running, Settings};
use dockerhub_api::{Config, Hub};
use poem::http::StatusCode;
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::{Body, Endpoint, Request, Response};
use serde_json::{Value, json};

/// What the fake model does on one turn.
#[derive(Debug, Clone)]
pub enum Turn {
    /// Call tools: `(tool, arguments)`.
    Tools(Vec<(String, Value)>),
    /// Answer with text.
    Text(String),
    /// Wait, then answer with text (for cancellation tests).
    Slow(Duration, String),
    /// Answer HTTP 500.
    Fail,
}

/// The script: given the request's messages, decide the turn.
pub type Script = Arc<dyn Fn(&[Value]) -> Turn + Send + Sync>;

/// How the fake model treats a streamed request's `stream_options`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StreamOptions {
    /// Like OpenAI: a last chunk with `usage` (and no choices) only when the
    /// request asked for `stream_options.include_usage`.
    #[default]
    Honour,
    /// Never a usage chunk (older servers).
    Ignore,
    /// HTTP 400 for any request carrying `stream_options`, with an OpenAI
    /// `{"error": {...}}` body (`wrapped`) or a vLLM-style flat one.
    Reject { wrapped: bool },
}

/// The usage the fake reports in its streamed usage chunk.
pub const STREAM_USAGE: (u32, u32) = (42, 7);

/// The fake LLM: records every request body.
#[derive(Clone)]
pub struct FakeLlm {
    pub url: String,
    pub requests: Arc<Mutex<Vec<Value>>>,
}

struct FakeEp {
    script: Script,
    requests: Arc<Mutex<Vec<Value>>>,
    stream_options: StreamOptions,
}

fn tool_calls_json(calls: &[(String, Value)]) -> Vec<Value> {
    calls
        .iter()
        .enumerate()
        .map(|(i, (name, args))| {
            json!({"id": format!("call_{i}_{name}"), "type": "function",
                   "function": {"name": name, "arguments": args.to_string()}})
        })
        .collect()
}

impl Endpoint for FakeEp {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        if req.uri().path() != "/v1/chat/completions" {
            return Ok(Response::builder().status(StatusCode::NOT_FOUND).finish());
        }
        let body: Value = req.take_body().into_json().await?;
        self.requests.lock().unwrap().push(body.clone());
        let messages = body["messages"].as_array().cloned().unwrap_or_default();
        let stream = body["stream"].as_bool().unwrap_or(false);
        if let StreamOptions::Reject { wrapped } = self.stream_options
            && body.get("stream_options").is_some()
        {
            let message = "Unrecognized request argument supplied: stream_options";
            let err = if wrapped {
                json!({"error": {"message": message, "type": "invalid_request_error", "param": "stream_options", "code": null}})
            } else {
                json!({"object": "error", "message": message, "type": "BadRequestError", "param": null, "code": 400})
            };
            return Ok(Response::builder()
                .status(StatusCode::BAD_REQUEST)
                .content_type("application/json")
                .body(err.to_string()));
        }
        let include_usage = self.stream_options == StreamOptions::Honour
            && body["stream_options"]["include_usage"].as_bool() == Some(true);
        let mut turn = (self.script)(&messages);
        if let Turn::Slow(d, text) = turn {
            tokio::time::sleep(d).await;
            turn = Turn::Text(text);
        }
        if let Turn::Fail = turn {
            return Ok(Response::builder()
                .status(StatusCode::INTERNAL_SERVER_ERROR)
                .content_type("application/json")
                .body(json!({"error": {"message": "fake model failure", "type": "server_error", "param": null, "code": null}}).to_string()));
        }
        let base = |choices: Value, object: &str| json!({"id": "chatcmpl-fake", "object": object, "created": 1, "model": "fake-model", "choices": choices});
        if !stream {
            let message = match &turn {
                Turn::Tools(calls) => {
                    json!({"role": "assistant", "content": null, "tool_calls": tool_calls_json(calls)})
                }
                Turn::Text(t) => json!({"role": "assistant", "content": t}),
                _ => unreachable!(),
            };
            let finish = if matches!(turn, Turn::Tools(_)) {
                "tool_calls"
            } else {
                "stop"
            };
            let mut v = base(
                json!([{"index": 0, "message": message, "finish_reason": finish}]),
                "chat.completion",
            );
            v["usage"] = json!({"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2});
            return Ok(Response::builder()
                .content_type("application/json")
                .body(v.to_string()));
        }
        let mut frames: Vec<Value> = vec![base(
            json!([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}]),
            "chat.completion.chunk",
        )];
        match &turn {
            Turn::Tools(calls) => {
                for (i, c) in tool_calls_json(calls).iter().enumerate() {
                    let args = c["function"]["arguments"].as_str().unwrap().to_string();
                    let (a, b) = args.split_at(args.len() / 2);
                    frames.push(base(json!([{"index": 0, "delta": {"tool_calls": [{"index": i, "id": c["id"], "type": "function",
                        "function": {"name": c["function"]["name"], "arguments": a}}]}, "finish_reason": null}]), "chat.completion.chunk"));
                    frames.push(base(
                        json!([{"index": 0, "delta": {"tool_calls": [{"index": i,
                        "function": {"arguments": b}}]}, "finish_reason": null}]),
                        "chat.completion.chunk",
                    ));
                }
                frames.push(base(
                    json!([{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]),
                    "chat.completion.chunk",
                ));
            }
            Turn::Text(t) => {
                let words: Vec<&str> = t.split_inclusive(' ').collect();
                for w in words {
                    frames.push(base(
                        json!([{"index": 0, "delta": {"content": w}, "finish_reason": null}]),
                        "chat.completion.chunk",
                    ));
                }
                frames.push(base(
                    json!([{"index": 0, "delta": {}, "finish_reason": "stop"}]),
                    "chat.completion.chunk",
                ));
            }
            _ => unreachable!(),
        }
        if include_usage {
            // Every chunk carries `usage: null`; one more, with no choices, the usage.
            for f in &mut frames {
                f["usage"] = Value::Null;
            }
            let mut last = base(json!([]), "chat.completion.chunk");
            let (input, output) = STREAM_USAGE;
            last["usage"] = json!({"prompt_tokens": input, "completion_tokens": output,
                                   "total_tokens": input + output});
            frames.push(last);
        }
        let mut out = String::new();
        for f in frames {
            out.push_str(&format!("data: {f}\n\n"));
        }
        out.push_str("data: [DONE]\n\n");
        Ok(Response::builder()
            .content_type("text/event-stream")
            .body(Body::from_string(out)))
    }
}

/// Start the fake model with a script (honouring `stream_options`).
pub async fn fake_llm(script: Script) -> FakeLlm {
    fake_llm_with(script, StreamOptions::Honour).await
}

/// Start the fake model with a script and a `stream_options` behaviour.
pub async fn fake_llm_with(script: Script, stream_options: StreamOptions) -> FakeLlm {
    let acceptor = TcpListener::bind("127.0.0.1:0")
        .into_acceptor()
        .await
        .unwrap();
    let addr = acceptor.local_addr()[0].as_socket_addr().copied().unwrap();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let ep = FakeEp {
        script,
        requests: requests.clone(),
        stream_options,
    };
    tokio::spawn(async move {
        let _ = poem::Server::new_with_acceptor(acceptor).run(ep).await;
    });
    FakeLlm {
        url: format!("http://{addr}/v1"),
        requests,
    }
}

/// Whether the conversation's last message is a tool result.
pub fn after_tool(messages: &[Value]) -> bool {
    messages.last().and_then(|m| m["role"].as_str()) == Some("tool")
}

/// The content of the last tool message.
pub fn last_tool_content(messages: &[Value]) -> String {
    messages
        .iter()
        .rev()
        .find(|m| m["role"] == "tool")
        .and_then(|m| m["content"].as_str())
        .unwrap_or("")
        .to_string()
}

/// A test agent with its emulator.
pub struct TestAgent {
    pub running: Running,
    pub url: String,
    pub emu: dockerhub_emulator::EmulatorHandle,
    pub hub: Hub,
}

/// Options of a test agent.
#[derive(Default, Clone)]
pub struct Opts {
    pub args: Vec<String>,
    pub llm: Option<(String, bool)>,
    pub allow_destructive: bool,
    pub backend: Option<SharedBackend>,
}

pub async fn start(opts: Opts) -> TestAgent {
    let base = Config {
        allow_destructive: opts.allow_destructive,
        ..Config::default()
    };
    let (emu, cfg) = dockerhub_api::demo::start(base).await.unwrap();
    let hub = Hub::new(cfg).unwrap();
    let mut args = vec!["dockerhub-agent".to_string(), "--port".into(), "0".into()];
    args.extend(opts.args.clone());
    let settings = Settings::try_from_iter(args).unwrap();
    let backend: SharedBackend = opts
        .backend
        .clone()
        .unwrap_or_else(|| Arc::new(InProcessBackend::new(hub.clone())));
    let llm = opts
        .llm
        .as_ref()
        .map(|(url, stream)| Llm::new(Some(url), None, "fake-model", *stream).unwrap());
    let agent = Agent::from_parts(&settings, backend, llm, None);
    let running = agent.serve("127.0.0.1", 0).await.unwrap();
    let url = running.url();
    TestAgent {
        running,
        url,
        emu,
        hub,
    }
}

/// POST a JSON-RPC request; returns the parsed body.
pub async fn rpc(url: &str, method: &str, params: Value) -> Value {
    rpc_with(url, method, params, &[]).await
}

pub async fn rpc_with(url: &str, method: &str, params: Value, headers: &[(&str, &str)]) -> Value {
    let mut req = reqwest::Client::new()
        .post(format!("{url}/"))
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap().json().await.unwrap()
}

/// A v1.0 user message with one data part.
pub fn data_msg(tool: &str, action: &str, params: Value) -> Value {
    json!({"message": {"messageId": uuid::Uuid::new_v4().to_string(), "role": "ROLE_USER",
        "parts": [{"data": {"tool": tool, "action": action, "params": params}}]}})
}

/// A v1.0 user message with one text part.
/// The one-line text of a task's status message.
pub fn status_text(task: &Value) -> &str {
    task["status"]["message"]["parts"][0]["text"]
        .as_str()
        .unwrap_or_default()
}

pub fn text_msg(text: &str) -> Value {
    json!({"message": {"messageId": uuid::Uuid::new_v4().to_string(), "role": "ROLE_USER",
        "parts": [{"text": text}]}})
}

/// Read an SSE response into its `data:` JSON payloads.
pub async fn sse_events(resp: reqwest::Response) -> Vec<Value> {
    let text = resp.text().await.unwrap();
    text.split("\n\n")
        .filter_map(|frame| {
            let data: Vec<&str> = frame
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .map(str::trim_start)
                .collect();
            (!data.is_empty()).then(|| serde_json::from_str(&data.join("\n")).unwrap())
        })
        .collect()
}

/// POST a streaming JSON-RPC request and collect the events.
pub async fn rpc_stream(url: &str, method: &str, params: Value) -> Vec<Value> {
    let resp = reqwest::Client::new()
        .post(format!("{url}/"))
        .json(&json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    sse_events(resp).await
}

/// Run an AG-UI request and collect its events.
pub async fn agui(url: &str, input: Value) -> Vec<Value> {
    let resp = reqwest::Client::new()
        .post(format!("{url}/ag-ui"))
        .json(&input)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    sse_events(resp).await
}

/// A minimal AG-UI input with one user message.
pub fn agui_input(text: &str) -> Value {
    json!({"threadId": "t1", "runId": uuid::Uuid::new_v4().to_string(),
           "messages": [{"id": "u1", "role": "user", "content": text}],
           "tools": [], "context": [], "state": {}, "forwardedProps": {}})
}

/// Poll GetTask until the state is final.
pub async fn wait_state(url: &str, task_id: &str, want: &str) -> Value {
    for _ in 0..200 {
        let r = rpc(url, "GetTask", json!({"id": task_id})).await;
        if r["result"]["status"]["state"] == want {
            return r["result"].clone();
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("task {task_id} never reached {want}");
}

/// `dockerhub-mcp` over streamable HTTP on 127.0.0.1:0 against its own demo
/// emulator, built as its `main.rs` builds it, in this process (its spans go
/// to the test's subscriber). `extra` are more `dockerhub-mcp` flags (e.g.
/// `--allow-destructive`).
pub async fn serve_mcp(
    extra: &[&str],
) -> (
    dockerhub_mcp::http::HttpHandle,
    dockerhub_emulator::EmulatorHandle,
) {
    let mut args = vec![
        "dockerhub-mcp",
        "--transport",
        "streamable-http",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
    ];
    args.extend_from_slice(extra);
    let cfg = dockerhub_mcp::Config::from_args(args).unwrap();
    let (emu, hub_cfg) = dockerhub_api::demo::start(cfg.hub_config().unwrap())
        .await
        .unwrap();
    let server = dockerhub_mcp::build_server(&cfg, Hub::new(hub_cfg).unwrap()).unwrap();
    let handle = dockerhub_mcp::http::start_http(&cfg, server, None)
        .await
        .unwrap();
    (handle, emu)
}

/// A TCP proxy on 127.0.0.1:0 to `upstream`: returns its address and every
/// HTTP/1.1 request the clients send through it as `(head, body)` (the head
/// is the request line and header lines; bodies framed by `Content-Length`),
/// however many a connection carries.
pub async fn recording_proxy(
    upstream: std::net::SocketAddr,
) -> (std::net::SocketAddr, Arc<Mutex<Vec<(String, Vec<u8>)>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let log = requests.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let Ok(server) = tokio::net::TcpStream::connect(upstream).await else {
                    return;
                };
                let (mut client_rx, mut client_tx) = client.into_split();
                let (mut server_rx, mut server_tx) = server.into_split();
                tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut server_rx, &mut client_tx).await;
                    let _ = client_tx.shutdown().await;
                });
                let mut pending = Vec::new();
                let mut buf = vec![0u8; 16 * 1024];
                while let Ok(n @ 1..) = client_rx.read(&mut buf).await {
                    if server_tx.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                    pending.extend_from_slice(&buf[..n]);
                    // Record each complete request: head, blank line, body.
                    while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&pending[..end]).into_owned();
                        let len = head
                            .lines()
                            .filter_map(|l| l.split_once(':'))
                            .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
                            .and_then(|(_, v)| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        let total = end + 4 + len;
                        if pending.len() < total {
                            break;
                        }
                        let body = pending[end + 4..total].to_vec();
                        pending.drain(..total);
                        log.lock().unwrap().push((head, body));
                    }
                }
                let _ = server_tx.shutdown().await;
            });
        }
    });
    (addr, requests)
}
