//! The HTTP server: request pipeline, shared state and the library handle.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use poem::http::{HeaderValue, Method, StatusCode};
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::{Body, Endpoint, Request, Response};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::auth::{self, Caller, Credential};
use crate::config::{EmulatorConfig, RetryAfterForm, Seed};
use crate::faults::{Fault, FaultKind, FaultQueue, trim_trailing_slash};
use crate::http::{ApiError, Ctx, Reply, ReplyBody};
use crate::model::State;
use crate::ratelimit::{RateInfo, RateLimiter};
use crate::util::{decode_segment, parse_query};
use crate::{admin, router, seed};

const MAX_LOG: usize = 100_000;

/// One logged request (admin routes are not logged).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RequestRecord {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// `none`, `jwt-user`, `jwt-pat`, `jwt-oat`, `scim` or `invalid`; never the secret.
    pub credential: String,
    /// The status sent (0 for a dropped connection).
    pub status: u16,
}

/// Errors from [`Emulator::start`].
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("cannot bind {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("listener has no local address")]
    NoAddress,
}

/// State shared by the server and the handle.
#[derive(Debug)]
pub struct Shared {
    state: Mutex<State>,
    faults: Mutex<FaultQueue>,
    log: Mutex<Vec<RequestRecord>>,
    limiter: Mutex<RateLimiter>,
    pub signer: crate::jwt::Signer,
    jti: AtomicU64,
    min_jti: AtomicU64,
    pub base_url: String,
    pub seed: Seed,
    pub token_ttl: Duration,
    pub max_body: usize,
    pub admin_enabled: bool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    pub fn lock_state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }
    pub fn next_jti(&self) -> u64 {
        self.jti.fetch_add(1, Ordering::SeqCst)
    }
    pub fn min_valid_jti(&self) -> u64 {
        self.min_jti.load(Ordering::SeqCst)
    }
    pub fn expire_tokens(&self) {
        self.min_jti
            .store(self.jti.load(Ordering::SeqCst), Ordering::SeqCst);
    }
    pub fn inject_fault(&self, f: Fault) {
        lock(&self.faults).push(f);
    }
    pub fn clear_faults(&self) {
        lock(&self.faults).clear();
    }
    pub fn faults(&self) -> Vec<Fault> {
        lock(&self.faults).list()
    }
    pub fn requests(&self) -> Vec<RequestRecord> {
        lock(&self.log).clone()
    }
    pub fn clear_requests(&self) {
        lock(&self.log).clear();
    }
    pub fn set_rate_limit(&self, limit: u32, window: Duration) {
        lock(&self.limiter).configure(limit, window);
    }
    pub fn set_retry_after_form(&self, form: RetryAfterForm) {
        lock(&self.limiter).form = form;
    }
    pub fn rate_settings(&self) -> Value {
        let l = lock(&self.limiter);
        json!({"limit": l.limit, "window_secs": l.window.as_secs_f64(), "retry_after": l.form})
    }
    pub fn reset(&self) {
        *lock(&self.state) = seed::build(self.seed);
        lock(&self.faults).clear();
        lock(&self.limiter).reset();
    }
    pub fn dump(&self) -> Value {
        serde_json::to_value(&*lock(&self.state)).unwrap_or(Value::Null)
    }
    fn record(&self, rec: RequestRecord) {
        let mut log = lock(&self.log);
        if log.len() >= MAX_LOG {
            log.drain(..MAX_LOG / 10);
        }
        log.push(rec);
    }
}

/// What `shutdown` needs: the stop signal and the server task.
type Stopper = (oneshot::Sender<()>, tokio::task::JoinHandle<()>);

/// The running emulator's control handle. Cheap to clone.
#[derive(Debug, Clone)]
pub struct EmulatorHandle {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: Arc<Mutex<Option<Stopper>>>,
}

impl EmulatorHandle {
    /// `http://HOST:PORT` (no trailing slash).
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }
    /// The bound socket address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
    /// Queue a fault.
    pub fn inject_fault(&self, fault: Fault) {
        self.shared.inject_fault(fault);
    }
    /// Drop all queued faults.
    pub fn clear_faults(&self) {
        self.shared.clear_faults();
    }
    /// Make every JWT minted so far expired (401 from now on).
    pub fn expire_tokens(&self) {
        self.shared.expire_tokens();
    }
    /// The request log.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.requests()
    }
    /// Empty the request log.
    pub fn clear_requests(&self) {
        self.shared.clear_requests();
    }
    /// Change the rate limit (0 disables) and window; resets all counters.
    pub fn set_rate_limit(&self, limit: u32, window: Duration) {
        self.shared.set_rate_limit(limit, window);
    }
    /// Change the form of `Retry-After` on rate-limit 429s.
    pub fn set_retry_after_form(&self, form: RetryAfterForm) {
        self.shared.set_retry_after_form(form);
    }
    /// Return to the configured seed (also clears faults and rate-limit counters).
    pub fn reset(&self) {
        self.shared.reset();
    }
    /// The whole state as JSON (no secrets).
    pub fn dump(&self) -> Value {
        self.shared.dump()
    }
    /// Stop the server and wait for it.
    pub async fn shutdown(&self) {
        let taken = lock(&self.shutdown).take();
        if let Some((tx, join)) = taken {
            let _ = tx.send(());
            let _ = join.await;
        }
    }
}

/// Entry point of the library.
#[derive(Debug)]
pub struct Emulator;

impl Emulator {
    /// Bind and start serving in the background.
    pub async fn start(cfg: EmulatorConfig) -> Result<EmulatorHandle, EmulatorError> {
        let addr = SocketAddr::new(cfg.host, cfg.port);
        let acceptor = TcpListener::bind(addr)
            .into_acceptor()
            .await
            .map_err(|source| EmulatorError::Bind { addr, source })?;
        let local = acceptor
            .local_addr()
            .into_iter()
            .find_map(|a| a.as_socket_addr().copied())
            .ok_or(EmulatorError::NoAddress)?;
        let host = match local.ip() {
            std::net::IpAddr::V6(ip) => format!("[{ip}]"),
            ip => ip.to_string(),
        };
        let shared = Arc::new(Shared {
            state: Mutex::new(seed::build(cfg.seed)),
            faults: Mutex::new(FaultQueue::default()),
            log: Mutex::new(Vec::new()),
            limiter: Mutex::new(RateLimiter::new(
                cfg.rate_limit,
                cfg.rate_window,
                cfg.retry_after,
            )),
            signer: crate::jwt::Signer::new_random(),
            jti: AtomicU64::new(1),
            min_jti: AtomicU64::new(0),
            base_url: format!("http://{host}:{}", local.port()),
            seed: cfg.seed,
            token_ttl: cfg.token_ttl,
            max_body: cfg.max_body_bytes,
            admin_enabled: cfg.admin_enabled(),
        });
        let (tx, rx) = oneshot::channel::<()>();
        let app = App {
            shared: shared.clone(),
        };
        let join = tokio::spawn(async move {
            let server = poem::Server::new_with_acceptor(acceptor);
            if let Err(e) = server
                .run_with_graceful_shutdown(
                    app,
                    async {
                        let _ = rx.await;
                    },
                    Some(Duration::from_secs(1)),
                )
                .await
            {
                tracing::error!("emulator server stopped: {e}");
            }
        });
        tracing::info!(url = %shared.base_url, "dockerhub-emulator listening");
        Ok(EmulatorHandle {
            shared,
            addr: local,
            shutdown: Arc::new(Mutex::new(Some((tx, join)))),
        })
    }
}

struct App {
    shared: Arc<Shared>,
}

impl Endpoint for App {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        Ok(handle(&self.shared, req).await)
    }
}

fn status_code(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// Turn a reply into a response.
pub fn build_response(reply: Reply, head: bool) -> Response {
    let mut builder = Response::builder().status(status_code(reply.status));
    for (k, v) in &reply.headers {
        builder = builder.header(*k, v.as_str());
    }
    let (ct, bytes): (Option<&str>, Vec<u8>) = match reply.body {
        ReplyBody::Empty => (None, Vec::new()),
        ReplyBody::Json(v) => (
            Some("application/json"),
            serde_json::to_vec(&v).unwrap_or_default(),
        ),
        ReplyBody::Scim(v) => (
            Some("application/scim+json"),
            serde_json::to_vec(&v).unwrap_or_default(),
        ),
        ReplyBody::Raw {
            content_type,
            bytes,
        } => (Some(content_type), bytes),
    };
    if let Some(ct) = ct {
        builder = builder.content_type(ct);
    }
    if head {
        builder.body(Body::empty())
    } else {
        builder.body(bytes)
    }
}

fn error_reply(e: &ApiError, scim: bool) -> Reply {
    let mut r = if scim {
        Reply::scim(e.status, e.scim_body())
    } else {
        Reply::json(e.status, e.hub_body())
    };
    r.headers.extend(e.headers().iter().cloned());
    r
}

fn add_rate_headers(resp: &mut Response, info: Option<RateInfo>) {
    if let Some(info) = info {
        for (k, v) in info.headers() {
            if let Ok(v) = HeaderValue::from_str(&v) {
                resp.headers_mut().insert(k, v);
            }
        }
    }
}

fn dropped_response() -> Response {
    let stream = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other(
            "connection dropped by injected fault",
        ))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header("content-length", "64")
        .content_type("application/json")
        .body(Body::from_bytes_stream(stream))
}

fn fault_reply(status: u16, retry_after: Option<RetryAfterForm>, secs: u64) -> Reply {
    // Informational codes would confuse the HTTP layer; anything outside 200..=599 becomes 500.
    let status = if (200..=599).contains(&status) {
        status
    } else {
        500
    };
    let mut e = ApiError::new(status, format!("Injected fault: HTTP {status}"));
    if status == 429 {
        e = e.with_body(json!({"detail": "Rate limit exceeded", "error": false}));
    }
    let mut r = error_reply(&e, false);
    if let Some(form) = retry_after {
        r.headers.push(("retry-after", form.render(secs)));
    }
    r
}

async fn handle(shared: &Arc<Shared>, mut req: Request) -> Response {
    let raw_path = req.uri().path().to_string();
    let norm = trim_trailing_slash(&raw_path).to_string();
    let raw_query = req.uri().query().map(str::to_string);
    let method = req.method().clone();
    let head = method == Method::HEAD;

    if shared.admin_enabled && (norm == "/_emulator" || norm.starts_with("/_emulator/")) {
        let body = req.take_body().into_bytes_limit(shared.max_body).await;
        let reply = match body {
            Ok(b) => admin::handle(shared, &method, &norm, raw_query.as_deref(), &b),
            Err(_) => Err(ApiError::new(413, "Request body too large")),
        };
        return build_response(reply.unwrap_or_else(|e| error_reply(&e, false)), head);
    }

    let auth_header = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let cred = auth::resolve(shared, auth_header.as_deref());
    let client_ip = req
        .remote_addr()
        .as_socket_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".to_string());
    let rate_key = cred.identity().unwrap_or_else(|| format!("ip:{client_ip}"));
    let mut record = RequestRecord {
        method: method.to_string(),
        path: norm.clone(),
        query: raw_query.clone(),
        credential: cred.label().to_string(),
        status: 0,
    };
    let is_scim = norm.starts_with("/v2/scim/");

    let fault = lock(&shared.faults).take(method.as_str(), &norm);
    match fault {
        Some(FaultKind::Drop) => {
            shared.record(record);
            return dropped_response();
        }
        Some(FaultKind::Status {
            status,
            retry_after,
            retry_after_secs,
        }) => {
            let info = lock(&shared.limiter).check(&rate_key, false);
            let mut resp = build_response(fault_reply(status, retry_after, retry_after_secs), head);
            add_rate_headers(&mut resp, info);
            record.status = resp.status().as_u16();
            shared.record(record);
            return resp;
        }
        Some(FaultKind::MalformedJson) => {
            let info = lock(&shared.limiter).check(&rate_key, false);
            let mut resp = build_response(
                Reply {
                    status: 200,
                    body: ReplyBody::Raw {
                        content_type: "application/json",
                        bytes: br#"{"count": 3, "next": null, "results": [{"name": "trunc"#
                            .to_vec(),
                    },
                    headers: Vec::new(),
                },
                head,
            );
            add_rate_headers(&mut resp, info);
            record.status = 200;
            shared.record(record);
            return resp;
        }
        Some(FaultKind::Latency { ms }) => {
            tokio::time::sleep(Duration::from_millis(ms.min(600_000))).await;
        }
        None => {}
    }

    let info = lock(&shared.limiter).check(&rate_key, true);
    let result: Result<Reply, ApiError> = async {
        if let Some(i) = info.filter(|i| i.exceeded) {
            let form = lock(&shared.limiter).form;
            return Err(ApiError::new(429, "Rate limit exceeded")
                .with_body(json!({"detail": "Rate limit exceeded", "error": false}))
                .with_header("retry-after", form.render(i.retry_after_secs)));
        }
        let too_big = req
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .is_some_and(|n| n > shared.max_body as u64);
        if too_big {
            return Err(ApiError::new(413, "Request body too large"));
        }
        let body = req
            .take_body()
            .into_bytes_limit(shared.max_body)
            .await
            .map_err(|_| ApiError::new(413, "Request body too large"))?;
        let segs = split_path(&norm).ok_or_else(|| ApiError::not_found("Not found"))?;
        let is_auth_route = matches!(
            segs.iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .as_slice(),
            ["v2", "users", "login"] | ["v2", "users", "2fa-login"] | ["v2", "auth", "token"]
        );
        let caller = match &cred {
            Credential::Valid(c) => c.clone(),
            Credential::Invalid(_) if is_auth_route => Caller::Anonymous,
            Credential::Invalid(detail) => return Err(ApiError::unauthorized(*detail)),
        };
        let ctx = Ctx {
            method: method.clone(),
            raw_path: trim_trailing_slash(&raw_path).to_string(),
            segs,
            query: raw_query.as_deref().map(parse_query).unwrap_or_default(),
            body,
            caller,
            base_url: shared.base_url.clone(),
        };
        router::route(shared, &ctx)
    }
    .await;
    let reply = result.unwrap_or_else(|e| error_reply(&e, is_scim));
    let mut resp = build_response(reply, head);
    add_rate_headers(&mut resp, info);
    record.status = resp.status().as_u16();
    shared.record(record);
    resp
}

/// Split a normalised path into decoded segments (`None` for empty segments or bad UTF-8).
fn split_path(norm: &str) -> Option<Vec<String>> {
    let trimmed = norm.strip_prefix('/')?;
    if trimmed.is_empty() {
        return Some(Vec::new());
    }
    trimmed
        .split('/')
        .map(|s| {
            if s.is_empty() {
                None
            } else {
                decode_segment(s)
            }
        })
        .collect()
}
