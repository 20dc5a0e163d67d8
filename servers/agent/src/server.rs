//! The HTTP face: routing, Host/Origin checks, the `X-API-Key` check, body
//! limits, the agent card, health, the web UI, and graceful shutdown.

use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dockerhub_api::{Config, Hub};
use poem::http::{Method, StatusCode};
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::{Endpoint, Request, Response};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use subtle::ConstantTimeEq;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::{DEFAULT_SYSTEM_PROMPT, Settings, is_loopback_host};
use crate::engine::Engine;
use crate::error::{AgentError, Result};
use crate::llm::Llm;
use crate::store::TaskStore;
use crate::tools::{InProcessBackend, SharedBackend};
use crate::{a2a, agui};

/// The embedded single-page chat (no CDN).
pub const WEB_UI: &str = include_str!("../web/index.html");

/// Everything the handlers share.
pub struct AppState {
    /// The agent loop.
    pub engine: Engine,
    /// A2A tasks.
    pub store: TaskStore,
    /// AG-UI runs waiting for a confirmation.
    pub agui_pending: agui::Pending,
    /// Agent name.
    pub name: String,
    api_key: Option<SecretString>,
    allowed_hosts: Vec<String>,
    bind_host: String,
    public_url: Option<String>,
    web: bool,
    max_body: usize,
    card_cache: Mutex<Option<(String, String, String)>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("name", &self.name)
            .field("engine", &self.engine)
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("web", &self.web)
            .finish_non_exhaustive()
    }
}

/// A configured agent, ready to serve.
pub struct Agent {
    state: Arc<AppState>,
    _demo: Option<dockerhub_emulator_handle::Handle>,
}

mod dockerhub_emulator_handle {
    /// Keeps the demo emulator alive while the agent runs.
    pub type Handle = Box<dyn std::any::Any + Send + Sync>;
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent").field("state", &self.state).finish()
    }
}

impl Agent {
    /// Build the agent from settings: the tool backend (MCP client, or the
    /// SDK in-process, with `--demo` on the in-process emulator), the model
    /// client when `MODEL_ID` is set, and the stores.
    pub async fn build(settings: &Settings) -> Result<Agent> {
        settings.validate()?;
        let mut demo: Option<dockerhub_emulator_handle::Handle> = None;
        let backend: SharedBackend = match &settings.mcp_url {
            Some(url) => {
                if settings.demo {
                    tracing::warn!(
                        "--demo is ignored with --mcp-url; start the MCP server with --demo instead"
                    );
                }
                Arc::new(crate::mcp::McpBackend::connect(url, settings.mcp_token.clone()).await?)
            }
            None => {
                let base = Config::from_env()?;
                let cfg = if settings.demo {
                    let (handle, cfg) = dockerhub_api::demo::start(base).await?;
                    demo = Some(Box::new(handle));
                    cfg
                } else {
                    base
                };
                Arc::new(InProcessBackend::new(Hub::new(cfg)?))
            }
        };
        let llm = match &settings.model_id {
            Some(model) => Some(Llm::new(
                settings.base_url.as_deref(),
                settings.api_key.as_ref(),
                model,
                settings.llm_stream,
            )?),
            None => None,
        };
        Ok(Agent::from_parts(settings, backend, llm, demo))
    }

    /// Assemble an agent from a backend and an optional model (tests, embedding).
    pub fn from_parts(
        settings: &Settings,
        backend: SharedBackend,
        llm: Option<Llm>,
        keep_alive: Option<Box<dyn std::any::Any + Send + Sync>>,
    ) -> Agent {
        let prompt = settings
            .system_prompt
            .clone()
            .filter(|p| !p.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_SYSTEM_PROMPT.to_string());
        let engine = Engine::new(backend, llm, prompt, settings.max_turns);
        let state = AppState {
            engine,
            store: TaskStore::new(settings.max_tasks, settings.task_ttl()),
            agui_pending: agui::Pending::default(),
            name: settings.agent_name.clone(),
            api_key: settings
                .agent_api_key
                .clone()
                .filter(|k| !k.expose_secret().is_empty()),
            allowed_hosts: settings
                .allowed_hosts
                .iter()
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
            bind_host: settings.host.to_ascii_lowercase(),
            public_url: settings
                .public_url
                .clone()
                .map(|u| u.trim_end_matches('/').to_string()),
            web: settings.web,
            max_body: settings.max_body_bytes.max(1024),
            card_cache: Mutex::new(None),
        };
        Agent {
            state: Arc::new(state),
            _demo: keep_alive,
        }
    }

    /// The shared state.
    pub fn state(&self) -> &Arc<AppState> {
        &self.state
    }

    /// Bind `host:port` and serve in the background until [`Running::shutdown`].
    pub async fn serve(self, host: &str, port: u16) -> Result<Running> {
        let addr = format!("{host}:{port}");
        let acceptor = TcpListener::bind(addr.clone())
            .into_acceptor()
            .await
            .map_err(|e| AgentError::Config(format!("cannot bind {addr}: {e}")))?;
        let local = acceptor
            .local_addr()
            .into_iter()
            .find_map(|a| a.as_socket_addr().copied())
            .ok_or_else(|| AgentError::Config(format!("no local address for {addr}")))?;
        let stop = CancellationToken::new();
        let app = App {
            state: Arc::clone(&self.state),
        };
        let signal = stop.clone();
        let join = tokio::spawn(async move {
            let _keep = self;
            poem::Server::new_with_acceptor(acceptor)
                .run_with_graceful_shutdown(
                    app,
                    signal.cancelled_owned(),
                    Some(Duration::from_secs(5)),
                )
                .await
        });
        Ok(Running {
            addr: local,
            stop,
            join,
        })
    }
}

/// A serving agent.
#[derive(Debug)]
pub struct Running {
    addr: SocketAddr,
    stop: CancellationToken,
    join: JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://addr`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stop accepting, let in-flight requests finish (5 s at most), and wait.
    pub async fn shutdown(self) -> Result<()> {
        self.stop.cancel();
        self.wait().await
    }

    /// Wait until the server stops.
    pub async fn wait(self) -> Result<()> {
        match self.join.await {
            Ok(r) => r.map_err(AgentError::Io),
            Err(e) => Err(AgentError::Config(format!("server task failed: {e}"))),
        }
    }

    /// A token that stops the server when cancelled.
    pub fn stop_token(&self) -> CancellationToken {
        self.stop.clone()
    }
}

struct App {
    state: Arc<AppState>,
}

fn json_resp(status: StatusCode, v: &serde_json::Value) -> Response {
    Response::builder()
        .status(status)
        .content_type("application/json")
        .body(v.to_string())
}

fn host_only(authority: &str) -> String {
    let a = authority.trim().to_ascii_lowercase();
    if let Some(rest) = a.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("").to_string();
    }
    a.rsplit_once(':')
        .filter(|(_, p)| p.chars().all(|c| c.is_ascii_digit()))
        .map_or(a.clone(), |(h, _)| h.to_string())
}

impl AppState {
    fn host_allowed(&self, host: &str) -> bool {
        let h = host_only(host);
        is_loopback_host(&h)
            || self.allowed_hosts.iter().any(|a| a == "*" || *a == h)
            || (h == self.bind_host && !matches!(h.as_str(), "0.0.0.0" | "::"))
    }

    fn check_origin(&self, req: &Request) -> Option<Response> {
        if let Some(host) = req.header("host")
            && !self.host_allowed(host)
        {
            return Some(json_resp(
                StatusCode::FORBIDDEN,
                &json!({"error": format!("Host {host:?} is not allowed; add it to ALLOWED_HOSTS")}),
            ));
        }
        if let Some(origin) = req.header("origin") {
            let ok = origin.split_once("://").is_some_and(|(scheme, rest)| {
                matches!(scheme, "http" | "https") && self.host_allowed(rest)
            });
            if !ok {
                return Some(json_resp(
                    StatusCode::FORBIDDEN,
                    &json!({"error": format!("Origin {origin:?} is not allowed; add its host to ALLOWED_HOSTS")}),
                ));
            }
        }
        None
    }

    fn check_key(&self, req: &Request) -> Option<Response> {
        let expected = self.api_key.as_ref()?;
        let given = req.header("x-api-key").unwrap_or("");
        let ok: bool = given
            .as_bytes()
            .ct_eq(expected.expose_secret().as_bytes())
            .into();
        (!ok).then(|| {
            json_resp(
                StatusCode::UNAUTHORIZED,
                &json!({"error": "missing or wrong X-API-Key"}),
            )
        })
    }

    fn base_url(&self, req: &Request) -> String {
        match &self.public_url {
            Some(u) => u.clone(),
            None => format!("http://{}", req.header("host").unwrap_or("127.0.0.1")),
        }
    }

    async fn card(&self, req: &Request, prefix: &str) -> Response {
        let base = format!("{}{prefix}", self.base_url(req));
        let cached = self
            .card_cache
            .lock()
            .ok()
            .and_then(|g| g.clone())
            .filter(|(b, _, _)| *b == base);
        let (body, etag) = match cached {
            Some((_, body, etag)) => (body, etag),
            None => {
                let tools = self.engine.backend().tools().await;
                let card = a2a::agent_card(&self.name, &base, &tools, self.api_key.is_some());
                let body = serde_json::to_string(&card).unwrap_or_default();
                let mut h = std::collections::hash_map::DefaultHasher::new();
                body.hash(&mut h);
                let etag = format!("\"{:016x}\"", h.finish());
                if let Ok(mut g) = self.card_cache.lock() {
                    *g = Some((base, body.clone(), etag.clone()));
                }
                (body, etag)
            }
        };
        if req.header("if-none-match") == Some(etag.as_str()) {
            return Response::builder()
                .status(StatusCode::NOT_MODIFIED)
                .header("etag", etag)
                .header("cache-control", "public, max-age=300")
                .finish();
        }
        Response::builder()
            .content_type("application/json")
            .header("etag", etag)
            .header("cache-control", "public, max-age=300")
            .body(body)
    }

    async fn read_body(&self, req: &mut Request) -> Result<Vec<u8>, Response> {
        if req
            .header("content-length")
            .and_then(|v| v.parse::<usize>().ok())
            .is_some_and(|n| n > self.max_body)
        {
            return Err(a2a::oversize(self.max_body));
        }
        match req.take_body().into_bytes_limit(self.max_body).await {
            Ok(b) => Ok(b.to_vec()),
            Err(poem::error::ReadBodyError::PayloadTooLarge) => Err(a2a::oversize(self.max_body)),
            Err(e) => Err(json_resp(
                StatusCode::BAD_REQUEST,
                &json!({"error": format!("cannot read the body: {e}")}),
            )),
        }
    }
}

impl Endpoint for App {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        let st = &self.state;
        // `/health` skips the Host check, for container health checks.
        if req.uri().path() != "/health"
            && let Some(r) = st.check_origin(&req)
        {
            return Ok(r);
        }
        let path = req.uri().path().to_string();
        let method = req.method().clone();
        let resp = match (method, path.as_str()) {
            (Method::GET, "/health") => json_resp(
                StatusCode::OK,
                &json!({"status": "OK", "agent": st.name, "version": env!("CARGO_PKG_VERSION")}),
            ),
            (Method::GET, "/.well-known/agent-card.json") => st.card(&req, "/").await,
            (Method::GET, "/a2a/.well-known/agent-card.json") => st.card(&req, "/a2a/").await,
            (Method::GET, "/") if st.web => Response::builder()
                .content_type("text/html; charset=utf-8")
                .header("cache-control", "no-cache")
                .header(
                    "content-security-policy",
                    "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'",
                )
                .body(WEB_UI),
            (Method::GET, "/" | "/a2a" | "/a2a/") => json_resp(
                StatusCode::OK,
                &json!({"agent": st.name, "agentCard": "/.well-known/agent-card.json",
                        "a2a": "POST / or /a2a/ (JSON-RPC)", "agUi": "POST /ag-ui",
                        "web": if st.web { "/" } else { "disabled (use --web)" }}),
            ),
            (Method::POST, "/" | "/a2a" | "/a2a/") => {
                if let Some(r) = st.check_key(&req) {
                    return Ok(r);
                }
                match st.read_body(&mut req).await {
                    Ok(body) => a2a::handle(Arc::clone(st), req.headers(), &body).await,
                    Err(r) => r,
                }
            }
            (Method::POST, "/ag-ui" | "/ag-ui/") => {
                if let Some(r) = st.check_key(&req) {
                    return Ok(r);
                }
                match st.read_body(&mut req).await {
                    Ok(body) => agui::handle(Arc::clone(st), &body).await,
                    Err(r) => r,
                }
            }
            (_, "/health" | "/" | "/a2a" | "/a2a/" | "/ag-ui" | "/ag-ui/")
            | (_, "/.well-known/agent-card.json" | "/a2a/.well-known/agent-card.json") => json_resp(
                StatusCode::METHOD_NOT_ALLOWED,
                &json!({"error": "method not allowed"}),
            ),
            _ => json_resp(StatusCode::NOT_FOUND, &json!({"error": format!("no route {path}")})),
        };
        Ok(resp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_parsing() {
        assert_eq!(host_only("LocalHost:9000"), "localhost");
        assert_eq!(host_only("[::1]:9000"), "::1");
        assert_eq!(host_only("example.com"), "example.com");
        assert!(is_loopback_host("127.0.0.2"));
        assert!(is_loopback_host("[::1]"));
        assert!(!is_loopback_host("0.0.0.0"));
    }
}
