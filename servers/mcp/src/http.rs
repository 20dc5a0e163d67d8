//! HTTP transports: streamable HTTP at `/mcp` (both spec eras) and
//! `GET /health`, mounted in poem. Security middleware wraps the route in
//! [`serve_http`] through [`crate::security::apply`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use poem::endpoint::TowerCompatExt;
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::web::Json;
use poem::{Route, get, handler};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::server::McpServer;

/// What the HTTP routes need.
#[derive(Clone, Debug)]
pub struct HttpState {
    /// The MCP handler (cloned per session).
    pub server: McpServer,
    /// Cancelled on shutdown: ends every MCP session and stream.
    pub shutdown: CancellationToken,
    /// `Host` values rmcp's own check accepts (empty disables that check).
    pub allowed_hosts: Vec<String>,
    /// rmcp's own POST body limit, aligned with the security layer's.
    pub max_body_bytes: usize,
}

impl HttpState {
    /// State for `server` under `cfg`.
    pub fn new(server: McpServer, cfg: &Config) -> HttpState {
        HttpState {
            server,
            shutdown: CancellationToken::new(),
            allowed_hosts: crate::security::rmcp_allowed_hosts(cfg),
            max_body_bytes: cfg.security.max_body_bytes,
        }
    }
}

#[handler]
fn health() -> Json<Value> {
    Json(json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")}))
}

/// The rmcp streamable HTTP service: legacy sessions for 2025-11-25 clients,
/// stateless handling for 2026-07-28 requests.
pub fn mcp_service(state: &HttpState) -> StreamableHttpService<McpServer, LocalSessionManager> {
    let mut config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(true)
        .with_max_request_body_bytes(state.max_body_bytes)
        .with_cancellation_token(state.shutdown.child_token());
    config = if state.allowed_hosts.is_empty() {
        config.disable_allowed_hosts()
    } else {
        config.with_allowed_hosts(state.allowed_hosts.clone())
    };
    let server = state.server.clone();
    StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(LocalSessionManager::default()),
        config,
    )
}

/// `/mcp` (streamable HTTP) and `/health`, without security middleware.
pub fn routes(state: &HttpState) -> Route {
    Route::new()
        .at("/health", get(health))
        .at("/mcp", mcp_service(state).compat())
}

/// A running HTTP server.
#[derive(Debug)]
pub struct HttpHandle {
    /// The bound address (useful with port 0).
    pub addr: SocketAddr,
    shutdown: CancellationToken,
    join: JoinHandle<std::io::Result<()>>,
}

impl HttpHandle {
    /// `http://addr/mcp`.
    pub fn mcp_url(&self) -> String {
        format!("http://{}/mcp", self.addr)
    }

    /// Stop accepting, end MCP streams, and wait (at most 5 s) for requests in flight.
    pub async fn shutdown(self) -> Result<()> {
        self.shutdown.cancel();
        match self.join.await {
            Ok(r) => r.map_err(Error::Io),
            Err(e) => Err(Error::Transport(format!("HTTP server task failed: {e}"))),
        }
    }

    /// Wait until the server stops (after [`HttpHandle::shutdown`] or a fatal error).
    pub async fn wait(self) -> Result<()> {
        match self.join.await {
            Ok(r) => r.map_err(Error::Io),
            Err(e) => Err(Error::Transport(format!("HTTP server task failed: {e}"))),
        }
    }

    /// A token that stops the server when cancelled.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }
}

/// Bind `cfg.host:cfg.port` and serve `route` (already wrapped by
/// security) in the background.
pub async fn start(
    cfg: &Config,
    endpoint: poem::endpoint::BoxEndpoint<'static>,
    shutdown: CancellationToken,
) -> Result<HttpHandle> {
    let bind = format!("{}:{}", cfg.host, cfg.port);
    let acceptor = TcpListener::bind(bind.clone())
        .into_acceptor()
        .await
        .map_err(|e| Error::Config(format!("cannot bind {bind}: {e}")))?;
    let addr = acceptor
        .local_addr()
        .into_iter()
        .find_map(|a| a.as_socket_addr().copied())
        .ok_or_else(|| Error::Config(format!("no socket address for {bind}")))?;
    let stop = shutdown.clone();
    let join = tokio::spawn(async move {
        poem::Server::new_with_acceptor(acceptor)
            .run_with_graceful_shutdown(
                endpoint,
                async move { stop.cancelled().await },
                Some(Duration::from_secs(5)),
            )
            .await
    });
    Ok(HttpHandle {
        addr,
        shutdown,
        join,
    })
}

/// Build the routes for `server` (plus `/sse` and `/messages` when the
/// transport is `sse`), wrap them with the security middleware, and start
/// serving. `extra` routes are nested in too.
pub async fn start_http(
    cfg: &Config,
    server: McpServer,
    extra: Option<Route>,
) -> Result<HttpHandle> {
    let state = HttpState::new(server, cfg);
    let mut route = routes(&state);
    if cfg.transport == crate::config::Transport::Sse {
        let sse = crate::sse::SseConfig {
            cancellation: state.shutdown.child_token(),
            max_body_bytes: cfg.security.max_body_bytes,
            max_sessions: cfg.security.sse_max_sessions,
            ..Default::default()
        };
        let server = state.server.clone();
        route = route.nest("/", crate::sse::routes(move || Ok(server.clone()), sse));
    }
    if let Some(extra) = extra {
        route = route.nest("/", extra);
    }
    let endpoint = crate::security::apply(route, cfg)?;
    start(cfg, endpoint, state.shutdown.clone()).await
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// Serve streamable HTTP until Ctrl-C or SIGTERM, then shut down gracefully.
pub async fn serve_http(cfg: &Config, server: McpServer, extra: Option<Route>) -> Result<()> {
    let handle = start_http(cfg, server, extra).await?;
    eprintln!(
        "dockerhub-mcp: MCP (streamable HTTP) at {}",
        handle.mcp_url()
    );
    let token = handle.shutdown_token();
    tokio::select! {
        () = shutdown_signal() => {
            tracing::info!("shutting down");
            handle.shutdown().await
        }
        () = token.cancelled() => handle.wait().await,
    }
}
