//! Shared helpers of the core MCP tests: an emulator-backed server, an rmcp
//! test client (optional elicitation, progress capture), and call helpers.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use dockerhub_api::Hub;
use dockerhub_emulator::EmulatorHandle;
use dockerhub_mcp::{Config, McpServer};
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, ElicitRequestParams,
    ElicitResult, ElicitationAction, Implementation, ProgressNotificationParam, Tool,
};
use rmcp::service::{NotificationContext, RequestContext, RunningService};
use rmcp::{ClientHandler, ErrorData as McpError, RoleClient, ServiceExt};
use serde_json::{Value, json};

/// The test client: elicitation answered with `answer` when `Some`,
/// capability not declared when `None`.
#[derive(Clone, Default)]
pub struct TestClient {
    pub answer: Option<bool>,
    pub asked: Arc<Mutex<Vec<String>>>,
    pub progress: Arc<Mutex<Vec<ProgressNotificationParam>>>,
}

impl TestClient {
    pub fn elicit(answer: bool) -> TestClient {
        TestClient {
            answer: Some(answer),
            ..Default::default()
        }
    }
}

impl ClientHandler for TestClient {
    fn get_info(&self) -> ClientConfig {
        let caps = if self.answer.is_some() {
            ClientCapabilities::builder().enable_elicitation().build()
        } else {
            ClientCapabilities::default()
        };
        ClientConfig::new(caps, Implementation::new("core-test", "1.0"))
    }

    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, McpError> {
        if let ElicitRequestParams::FormElicitationParams { message, .. } = &request {
            self.asked.lock().unwrap().push(message.clone());
        }
        Ok(match self.answer {
            Some(true) => {
                ElicitResult::new(ElicitationAction::Accept).with_content(json!({"confirm": true}))
            }
            _ => ElicitResult::new(ElicitationAction::Decline),
        })
    }

    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.progress.lock().unwrap().push(params);
    }
}

pub type Client = RunningService<RoleClient, TestClient>;

/// A running in-process server against the demo emulator.
pub struct Env {
    pub emu: EmulatorHandle,
    pub client: Client,
    pub server: McpServer,
    pub handler: TestClient,
}

/// Server flags (after the program name).
pub fn config(args: &[&str]) -> Config {
    let mut v = vec!["dockerhub-mcp"];
    v.extend_from_slice(args);
    Config::from_args(v).expect("flags parse")
}

/// Start the demo emulator and a handler for `args`.
pub async fn server(args: &[&str]) -> (EmulatorHandle, McpServer) {
    let cfg = config(args);
    let base = cfg.hub_config().expect("hub config");
    let (emu, hub_cfg) = dockerhub_api::demo::start(base).await.expect("emulator");
    let hub = Hub::new(hub_cfg).expect("hub");
    let server = dockerhub_mcp::build_server(&cfg, hub).expect("server");
    (emu, server)
}

/// Server and client connected in process over a duplex pipe.
pub async fn in_process(args: &[&str], handler: TestClient) -> Env {
    let (emu, server) = server(args).await;
    let (a, b) = tokio::io::duplex(1 << 20);
    let s = server.clone();
    tokio::spawn(async move {
        if let Ok(running) = s.serve(a).await {
            let _ = running.waiting().await;
        }
    });
    let client = handler.clone().serve(b).await.expect("client handshake");
    Env {
        emu,
        client,
        server,
        handler,
    }
}

/// Call `tool` with `args`; a JSON-RPC error panics.
pub async fn call(client: &Client, tool: &str, args: Value) -> CallToolResult {
    let Value::Object(map) = args else {
        panic!("arguments must be an object")
    };
    client
        .call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(map))
        .await
        .expect("tools/call routed")
}

/// The text of a result's first content block.
pub fn text(r: &CallToolResult) -> String {
    r.content
        .first()
        .and_then(|c| c.as_text())
        .map(|t| t.text.clone())
        .unwrap_or_default()
}

pub fn is_error(r: &CallToolResult) -> bool {
    r.is_error == Some(true)
}

pub fn structured(r: &CallToolResult) -> Value {
    r.structured_content.clone().unwrap_or(Value::Null)
}

/// tools/list as compact JSON text (what a client puts into context).
pub fn tools_json(tools: &[Tool]) -> String {
    serde_json::to_string(&json!({ "tools": tools })).unwrap()
}

/// cl100k token count.
pub fn tokens(text: &str) -> usize {
    tiktoken_rs::cl100k_base_singleton()
        .encode_ordinary(text)
        .len()
}
