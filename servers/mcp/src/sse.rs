//! The legacy HTTP+SSE transport (MCP 2024-11-05), which rmcp no longer ships.
//!
//! - `GET /sse` opens an event stream. Its first event is `endpoint`, whose data is the URL to post to:
//!   `/messages?session_id=<id>`. Every server→client JSON-RPC message then arrives as a `message` event.
//! - `POST /messages?session_id=<id>` takes one JSON-RPC message (or a batch array) and answers `202 Accepted`;
//!   the reply comes on the stream.
//!
//! Each stream runs its own rmcp server instance over an in-memory channel transport. Sessions are bounded
//! ([`SseConfig::max_sessions`], 503 beyond), tied to the principal that opened them (a POST from another
//! principal gets 403), and torn down when the stream's client disconnects or the server shuts down.
//!
//! Mount with `route.nest("/", sse::routes(factory, config))` (or `.at` the two paths) inside the route that
//! [`crate::security::Security::wrap`] protects, so that Host/Origin checks, auth and the body limit apply.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use poem::http::StatusCode;
use poem::{Body, Endpoint, IntoResponse, Request, Response, Route, get, post};
use rmcp::ServerHandler;
use rmcp::model::{ClientJsonRpcMessage, GetExtensions, ServerJsonRpcMessage};
use rmcp::service::{RoleServer, RxJsonRpcMessage, ServiceExt, TxJsonRpcMessage};
use rmcp::transport::Transport;
use serde_json::json;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::auth::Principal;

/// Settings of the SSE transport.
#[derive(Debug, Clone)]
pub struct SseConfig {
    /// Most concurrent sessions; further `GET /sse` get 503.
    pub max_sessions: usize,
    /// Interval of keep-alive comments on idle streams.
    pub keep_alive: Duration,
    /// Largest accepted POST body (the security layer usually enforces it first).
    pub max_body_bytes: usize,
    /// Path announced in the `endpoint` event.
    pub messages_path: String,
    /// Cancelled at shutdown: ends every session.
    pub cancellation: CancellationToken,
}

impl Default for SseConfig {
    fn default() -> Self {
        Self {
            max_sessions: 64,
            keep_alive: Duration::from_secs(15),
            max_body_bytes: crate::security::DEFAULT_MAX_BODY_BYTES,
            messages_path: "/messages".into(),
            cancellation: CancellationToken::new(),
        }
    }
}

/// Messages buffered per direction before back-pressure applies.
const CHANNEL_CAPACITY: usize = 64;

struct Session {
    to_server: mpsc::Sender<ClientJsonRpcMessage>,
    owner: String,
}

struct State {
    config: SseConfig,
    sessions: Mutex<HashMap<String, Session>>,
}

impl State {
    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Removes the session and stops its server when the event stream is dropped (client gone) or ends.
struct SessionGuard {
    state: Arc<State>,
    id: String,
    ct: CancellationToken,
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        self.ct.cancel();
        self.state.sessions().remove(&self.id);
        tracing::debug!(session = %self.id, "SSE session closed");
    }
}

/// The in-memory transport between the HTTP handlers and one rmcp server instance.
struct ChannelTransport {
    from_client: mpsc::Receiver<ClientJsonRpcMessage>,
    to_client: mpsc::Sender<ServerJsonRpcMessage>,
}

impl Transport<RoleServer> for ChannelTransport {
    type Error = std::io::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleServer>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        let tx = self.to_client.clone();
        async move {
            tx.send(item).await.map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::BrokenPipe, "SSE client disconnected")
            })
        }
    }

    fn receive(&mut self) -> impl Future<Output = Option<RxJsonRpcMessage<RoleServer>>> + Send {
        self.from_client.recv()
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        self.from_client.close();
        Ok(())
    }
}

type Factory<S> = Arc<dyn Fn() -> Result<S, std::io::Error> + Send + Sync>;

/// `GET /sse`.
struct OpenStream<S> {
    state: Arc<State>,
    factory: Factory<S>,
}

/// `POST /messages`.
struct PostMessage {
    state: Arc<State>,
}

fn error(status: StatusCode, message: &str) -> Response {
    Response::builder()
        .status(status)
        .content_type("application/json")
        .body(json!({"error": message}).to_string())
}

fn event(kind: &str, data: &str) -> String {
    // `data` is one line: JSON without newlines, or a path.
    format!("event: {kind}\ndata: {data}\n\n")
}

impl<S: ServerHandler> Endpoint for OpenStream<S> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let principal = req
            .extensions()
            .get::<Principal>()
            .cloned()
            .unwrap_or_else(Principal::anonymous);
        let id = uuid::Uuid::new_v4().simple().to_string();
        let (to_server, from_client) = mpsc::channel(CHANNEL_CAPACITY);
        let (to_client, from_server) = mpsc::channel(CHANNEL_CAPACITY);
        {
            let mut sessions = self.state.sessions();
            if sessions.len() >= self.state.config.max_sessions {
                tracing::warn!(
                    max = self.state.config.max_sessions,
                    "SSE session limit reached"
                );
                let mut resp = error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "too many SSE sessions (MCP_SSE_MAX_SESSIONS); retry later or use /mcp",
                );
                resp.headers_mut()
                    .insert("retry-after", poem::http::HeaderValue::from_static("5"));
                return Ok(resp);
            }
            sessions.insert(
                id.clone(),
                Session {
                    to_server,
                    owner: principal.id.clone(),
                },
            );
        }
        let ct = self.state.config.cancellation.child_token();
        let guard = SessionGuard {
            state: self.state.clone(),
            id: id.clone(),
            ct: ct.clone(),
        };
        let service = match (self.factory)() {
            Ok(s) => s,
            Err(e) => {
                drop(guard);
                tracing::error!(error = %e, "cannot create the MCP server for an SSE session");
                return Ok(error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "cannot create the MCP server",
                ));
            }
        };
        let transport = ChannelTransport {
            from_client,
            to_client,
        };
        let session_id = id.clone();
        tokio::spawn(async move {
            match service.serve_with_ct(transport, ct).await {
                Ok(running) => {
                    let _ = running.waiting().await;
                }
                Err(e) => {
                    tracing::debug!(session = %session_id, error = %e, "SSE session ended before initialize")
                }
            }
        });
        tracing::debug!(session = %id, principal = %principal.id, "SSE session opened");

        let endpoint = format!("{}?session_id={id}", self.state.config.messages_path);
        let mut keep_alive = tokio::time::interval(self.state.config.keep_alive);
        keep_alive.reset();
        let shutdown = self.state.config.cancellation.clone();
        let first = Some(event("endpoint", &endpoint));
        let stream = futures::stream::unfold(
            (first, from_server, keep_alive, guard, shutdown),
            |(mut first, mut rx, mut tick, guard, shutdown)| async move {
                if let Some(ev) = first.take() {
                    return Some((
                        Ok::<_, std::io::Error>(ev),
                        (first, rx, tick, guard, shutdown),
                    ));
                }
                let item = tokio::select! {
                    msg = rx.recv() => match msg {
                        Some(msg) => match serde_json::to_string(&msg) {
                            Ok(text) => event("message", &text),
                            Err(e) => {
                                tracing::error!(error = %e, "cannot serialise a server message");
                                return None;
                            }
                        },
                        None => return None,
                    },
                    _ = tick.tick() => ": keep-alive\n\n".to_string(),
                    () = shutdown.cancelled() => return None,
                };
                Some((Ok(item), (first, rx, tick, guard, shutdown)))
            },
        );
        Ok(Response::builder()
            .content_type("text/event-stream")
            .header("cache-control", "no-cache")
            .header("x-accel-buffering", "no")
            .body(Body::from_bytes_stream(stream)))
    }
}

impl Endpoint for PostMessage {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        let session_id = req
            .uri()
            .query()
            .and_then(|q| {
                q.split('&').find_map(|kv| {
                    kv.strip_prefix("session_id=")
                        .or_else(|| kv.strip_prefix("sessionId="))
                })
            })
            .map(str::to_string);
        let Some(session_id) = session_id else {
            return Ok(error(
                StatusCode::BAD_REQUEST,
                "missing session_id query parameter",
            ));
        };
        let principal = req
            .extensions()
            .get::<Principal>()
            .cloned()
            .unwrap_or_else(Principal::anonymous);
        let to_server = {
            let sessions = self.state.sessions();
            match sessions.get(&session_id) {
                None => {
                    return Ok(error(
                        StatusCode::NOT_FOUND,
                        "unknown or closed session; open a new GET /sse",
                    ));
                }
                Some(s) if s.owner != principal.id => {
                    tracing::warn!(session = %session_id, principal = %principal.id, "SSE post from another principal");
                    return Ok(error(
                        StatusCode::FORBIDDEN,
                        "this session belongs to another principal",
                    ));
                }
                Some(s) => s.to_server.clone(),
            }
        };
        let body = match req
            .take_body()
            .into_bytes_limit(self.state.config.max_body_bytes)
            .await
        {
            Ok(b) => b,
            Err(poem::error::ReadBodyError::PayloadTooLarge) => {
                return Ok(error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "request body too large (MCP_MAX_BODY_BYTES)",
                ));
            }
            Err(e) => return Ok(error(StatusCode::BAD_REQUEST, &e.to_string())),
        };
        let value: serde_json::Value = match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => {
                return Ok(error(
                    StatusCode::BAD_REQUEST,
                    &format!("body is not JSON: {e}"),
                ));
            }
        };
        let items = match value {
            serde_json::Value::Array(items) if !items.is_empty() => items,
            serde_json::Value::Array(_) => {
                return Ok(error(StatusCode::BAD_REQUEST, "empty batch"));
            }
            other => vec![other],
        };
        let mut messages = Vec::with_capacity(items.len());
        for item in items {
            match serde_json::from_value::<ClientJsonRpcMessage>(item) {
                Ok(m) => messages.push(m),
                Err(e) => {
                    return Ok(error(
                        StatusCode::BAD_REQUEST,
                        &format!("not a JSON-RPC message for an MCP server: {e}"),
                    ));
                }
            }
        }
        let (parts, _) = http::Request::from(req).into_parts();
        for mut message in messages {
            // Same as rmcp's streamable HTTP service: the tool handler finds the HTTP parts (and our Principal
            // inside their extensions) in the request context.
            match &mut message {
                ClientJsonRpcMessage::Request(r) => {
                    r.request.extensions_mut().insert(parts.clone());
                }
                ClientJsonRpcMessage::Notification(n) => {
                    n.notification.extensions_mut().insert(parts.clone());
                }
                _ => {}
            }
            if to_server.send(message).await.is_err() {
                return Ok(error(
                    StatusCode::GONE,
                    "session closed; open a new GET /sse",
                ));
            }
        }
        Ok((StatusCode::ACCEPTED, "Accepted").into_response())
    }
}

/// The two routes of the SSE transport (`/sse` and `/messages`), serving one `S` per stream.
pub fn routes<S, F>(factory: F, config: SseConfig) -> Route
where
    S: ServerHandler,
    F: Fn() -> Result<S, std::io::Error> + Send + Sync + 'static,
{
    let messages_path = config.messages_path.clone();
    let state = Arc::new(State {
        config,
        sessions: Mutex::new(HashMap::new()),
    });
    Route::new()
        .at(
            "/sse",
            get(OpenStream {
                state: state.clone(),
                factory: Arc::new(factory),
            }),
        )
        .at(messages_path, post(PostMessage { state }))
}

/// The SSE routes for the server's own handler and flags: what `main.rs` nests for `--transport sse`.
///
/// `shutdown` ends every stream when cancelled (pass the HTTP server's shutdown token).
pub fn routes_for(
    server: crate::server::McpServer,
    cfg: &crate::config::Config,
    shutdown: CancellationToken,
) -> Route {
    let config = SseConfig {
        max_sessions: cfg.security.sse_max_sessions,
        max_body_bytes: cfg.security.max_body_bytes,
        cancellation: shutdown,
        ..SseConfig::default()
    };
    routes(move || Ok(server.clone()), config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;
    use rmcp::model::{ServerCapabilities, ServerConfig};

    #[derive(Clone)]
    struct Dummy;
    impl ServerHandler for Dummy {
        fn get_info(&self) -> ServerConfig {
            ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
        }
    }

    async fn serve(max: usize) -> (String, CancellationToken) {
        let ct = CancellationToken::new();
        let config = SseConfig {
            max_sessions: max,
            keep_alive: Duration::from_millis(50),
            cancellation: ct.clone(),
            ..SseConfig::default()
        };
        let app = routes(|| Ok(Dummy), config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let server = poem::Server::new(poem::listener::TcpListener::bind(addr.to_string()));
        let stop = ct.clone();
        tokio::spawn(async move {
            server
                .run_with_graceful_shutdown(app, stop.cancelled_owned(), None)
                .await
        });
        for _ in 0..50 {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        (format!("http://{addr}"), ct)
    }

    /// Reads SSE events `(event, data)` from a response.
    fn events(resp: reqwest::Response) -> impl futures::Stream<Item = (String, String)> {
        let bytes = resp.bytes_stream();
        futures::stream::unfold((bytes, String::new()), |(mut bytes, mut buf)| async move {
            loop {
                if let Some(idx) = buf.find("\n\n") {
                    let block = buf[..idx].to_string();
                    buf.drain(..idx + 2);
                    let mut kind = String::from("message");
                    let mut data = String::new();
                    for line in block.lines() {
                        if let Some(v) = line.strip_prefix("event: ") {
                            kind = v.to_string();
                        } else if let Some(v) = line.strip_prefix("data: ") {
                            data.push_str(v);
                        }
                    }
                    if data.is_empty() {
                        continue;
                    }
                    return Some(((kind, data), (bytes, buf)));
                }
                match bytes.next().await {
                    Some(Ok(chunk)) => buf.push_str(&String::from_utf8_lossy(&chunk)),
                    _ => return None,
                }
            }
        })
    }

    #[tokio::test]
    async fn handshake_list_and_cleanup() {
        let (base, ct) = serve(1).await;
        let http = reqwest::Client::new();
        let resp = http.get(format!("{base}/sse")).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], "text/event-stream");
        let mut ev = Box::pin(events(resp));
        let (kind, endpoint) = ev.next().await.unwrap();
        assert_eq!(kind, "endpoint");
        assert!(endpoint.starts_with("/messages?session_id="), "{endpoint}");
        let post =
            |body: serde_json::Value| http.post(format!("{base}{endpoint}")).json(&body).send();
        let r = post(json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{
            "protocolVersion":"2024-11-05","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}))
        .await
        .unwrap();
        assert_eq!(r.status(), 202);
        let (kind, data) = ev.next().await.unwrap();
        assert_eq!(kind, "message");
        let v: serde_json::Value = serde_json::from_str(&data).unwrap();
        assert_eq!(v["id"], 1);
        assert!(v["result"]["protocolVersion"].is_string(), "{v}");
        post(json!({"jsonrpc":"2.0","method":"notifications/initialized"}))
            .await
            .unwrap();
        post(json!({"jsonrpc":"2.0","id":2,"method":"tools/list"}))
            .await
            .unwrap();
        let (_, data) = ev.next().await.unwrap();
        let v: serde_json::Value = serde_json::from_str(&data).unwrap();
        assert_eq!(v["id"], 2);
        assert!(v["result"]["tools"].is_array(), "{v}");

        // Bad input.
        assert_eq!(post(json!({"nope": true})).await.unwrap().status(), 400);
        let r = http
            .post(format!("{base}/messages?session_id=unknown"))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        let r = http
            .post(format!("{base}/messages"))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);

        // The limit is one session: a second stream is refused until the first disconnects.
        let r = http.get(format!("{base}/sse")).send().await.unwrap();
        assert_eq!(r.status(), 503);
        drop(ev);
        let mut reopened = false;
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            if http
                .get(format!("{base}/sse"))
                .send()
                .await
                .unwrap()
                .status()
                == 200
            {
                reopened = true;
                break;
            }
        }
        assert!(reopened, "session slot was not freed after disconnect");
        // The old session id is gone.
        let r = http
            .post(format!("{base}{endpoint}"))
            .json(&json!({"jsonrpc":"2.0","method":"x"}))
            .send()
            .await;
        assert_eq!(r.unwrap().status(), 404);
        ct.cancel();
    }
}
