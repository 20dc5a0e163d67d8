//! The one middleware layer: `impl ClientHooks<HookState> for Client`.
//!
//! Both the generated typed client and the dynamic [`Hub::call`](crate::Hub::call)
//! run every request through the same three steps:
//!
//! - **`pre`** runs before anything touches the network. It looks the
//!   operation up in the catalog, refuses it when the safety gate is closed
//!   ([`Error::Blocked`]), checks that path parameters did not turn into
//!   another route, sets SCIM content types, strips progenitor's
//!   `api-version` header and mints the JWT if needed (single flight). Its
//!   errors end the call with no request sent.
//! - **`exec`** owns the send. It paces calls when the quota runs low,
//!   attaches the bearer (only to the configured origin), retries 429s
//!   (honouring `Retry-After`), retries 5xx and connection errors for
//!   idempotent methods, and re-mints once on a 401. It records the
//!   `X-RateLimit-*` snapshot of every answer. Waits are capped, jittered and
//!   bounded by a total budget; the clock is injected.
//! - **`post`** has nothing left to do: telemetry is recorded in `exec`, where
//!   every attempt is visible. Each request runs in a `hub.request` span
//!   (operation, method, route template; then status, retries, wait_ms,
//!   rate_limit_remaining) and, with the `otel` feature, feeds the request,
//!   latency, 429, retry and mint metrics. No credential is ever recorded.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use progenitor_client::{ClientHooks, OperationInfo};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use reqwest::{Request, Response, StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::auth::TokenCache;
use crate::catalog::{self, AuthScheme, Operation, Safety};
use crate::config::{Config, Credentials};
use crate::error::{Error, Result};
use crate::ratelimit::RateLimit;
use crate::retry::{self, RetryCause, SharedClock};

/// Header on answers the middleware made up itself (a failed re-mint).
pub const SYNTHETIC_HEADER: &str = "x-dockerhub-api-synthetic";

/// Shared middleware state, carried as the generated client's inner value.
#[derive(Clone)]
pub struct HookState(pub(crate) Arc<Inner>);

pub(crate) struct Inner {
    pub(crate) config: Config,
    pub(crate) http: reqwest::Client,
    pub(crate) base: Url,
    pub(crate) tokens: TokenCache,
    pub(crate) rate: Mutex<Option<RateLimit>>,
    /// Requests sent and not yet answered (pacing counts them against the quota).
    pub(crate) in_flight: AtomicU64,
    /// Shares the quota between concurrent calls.
    pub(crate) pacer: Mutex<retry::Pacer>,
    pub(crate) clock: SharedClock,
}

impl fmt::Debug for HookState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HookState")
            .field("base_url", &self.0.config.base_url)
            .field("credentials", &self.0.config.credentials)
            .finish_non_exhaustive()
    }
}

/// What one `exec` run did, besides its answer.
pub(crate) struct Outcome {
    pub(crate) response: reqwest::Result<Response>,
    pub(crate) retries: u32,
    pub(crate) waited: Duration,
}

impl HookState {
    pub(crate) fn new(config: Config, clock: SharedClock) -> Result<HookState> {
        let base = Url::parse(&config.base_url)
            .map_err(|e| Error::Config(format!("bad base URL {:?}: {e}", config.base_url)))?;
        if !config.ssl_verify {
            tracing::warn!("TLS certificate verification is OFF (DOCKERHUB_SSL_VERIFY=false)");
        }
        let http = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .tls_danger_accept_invalid_certs(!config.ssl_verify)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(HookState(Arc::new(Inner {
            config,
            http,
            base,
            tokens: TokenCache::default(),
            rate: Mutex::new(None),
            in_flight: AtomicU64::new(0),
            pacer: Mutex::new(retry::Pacer::default()),
            clock,
        })))
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.0
    }
}

impl Inner {
    /// The last `X-RateLimit-*` snapshot seen.
    pub(crate) fn rate_limit(&self) -> Option<RateLimit> {
        self.rate.lock().ok().and_then(|g| *g)
    }

    /// Reserve quota for one request; how long to hold it back, if at all.
    fn pace(&self) -> Option<Duration> {
        let mut pacer = self.pacer.lock().ok()?;
        pacer.reserve(&self.config.retry, self.clock.now())
    }

    fn record_rate(&self, resp: &Response) -> Option<RateLimit> {
        let rl = RateLimit::from_headers(resp.headers())?;
        if let Ok(mut g) = self.rate.lock() {
            *g = Some(rl);
        }
        if let Ok(mut p) = self.pacer.lock() {
            p.observe(rl, self.in_flight.load(Ordering::Relaxed));
        }
        Some(rl)
    }

    fn same_origin(&self, url: &Url) -> bool {
        url.origin() == self.base.origin()
    }

    // ---------------------------------------------------------------- pre

    /// Safety gate, route check, content types and the first mint.
    pub(crate) async fn pre(&self, req: &mut Request, op: Option<&Operation>) -> Result<()> {
        req.headers_mut().remove("api-version");
        let Some(op) = op else {
            return Ok(());
        };
        self.check_safety(op)?;
        self.check_route(req.url(), op)?;
        if op.content_type != "application/json" {
            let ct = HeaderValue::from_static(op.content_type);
            req.headers_mut().insert(ACCEPT, ct.clone());
            if req.body().is_some() {
                req.headers_mut().insert(CONTENT_TYPE, ct);
            }
        }
        if self.same_origin(req.url()) {
            self.bearer(op.auth, None).await?;
        }
        Ok(())
    }

    /// Refuse destructive operations unless allowed, and every write in
    /// read-only mode. Runs before any network I/O.
    pub(crate) fn check_safety(&self, op: &Operation) -> Result<()> {
        let cfg = &self.config;
        if cfg.read_only && op.safety != Safety::Read {
            return Err(Error::Blocked {
                operation: op.qualified_name(),
                reason: "read-only mode refuses every write".into(),
                enable: "unset DOCKERHUB_READ_ONLY (or set it to false) to allow writes".into(),
            });
        }
        if op.safety == Safety::Destructive && !cfg.allow_destructive {
            return Err(Error::Blocked {
                operation: op.qualified_name(),
                reason: "it is destructive".into(),
                enable: format!(
                    "set DOCKERHUB_ALLOW_DESTRUCTIVE=true to allow {}",
                    op.qualified_name()
                ),
            });
        }
        Ok(())
    }

    /// A path parameter such as `..` must not turn the request into another
    /// route: the URL's segments must line up with the operation's template.
    fn check_route(&self, url: &Url, op: &Operation) -> Result<()> {
        let base_path = self.base.path().trim_end_matches('/');
        let path = url.path();
        let rest = path.strip_prefix(base_path).unwrap_or(path);
        let got: Vec<&str> = rest.trim_matches('/').split('/').collect();
        let want: Vec<&str> = op.path.trim_matches('/').split('/').collect();
        let ok = got.len() == want.len()
            && got.iter().zip(&want).all(|(g, w)| {
                if w.starts_with('{') {
                    !g.is_empty()
                } else {
                    g == w
                }
            });
        if ok {
            Ok(())
        } else {
            Err(Error::InvalidParams {
                operation: op.qualified_name(),
                message: format!(
                    "the path parameters resolve to {path}, which is not {}; a parameter is empty or a dot segment",
                    op.path
                ),
            })
        }
    }

    // ---------------------------------------------------------------- auth

    /// The bearer for an auth scheme, minting (single flight) when the cache
    /// is cold or stale, or when a token newer than `newer_than` is needed.
    /// Returns the secret and the token generation (0 for static tokens).
    async fn bearer(
        &self,
        scheme: AuthScheme,
        newer_than: Option<u64>,
    ) -> Result<Option<(SecretString, u64)>> {
        if scheme == AuthScheme::None {
            return Ok(None);
        }
        if scheme == AuthScheme::Scim
            && let Some(t) = &self.config.scim_token
        {
            return Ok(Some((t.clone(), 0)));
        }
        if matches!(self.config.credentials, Credentials::Anonymous) {
            return Ok(None);
        }
        let clock = self.clock.clone();
        let token = self
            .tokens
            .get(move || clock.now(), newer_than, || self.counted_mint())
            .await?;
        Ok(Some((token.secret, token.generation)))
    }

    /// The Hub bearer, minted if the cache is cold or stale.
    pub(crate) async fn ensure_token(&self) -> Result<Option<SecretString>> {
        Ok(self.bearer(AuthScheme::Hub, None).await?.map(|(s, _)| s))
    }

    /// [`Inner::mint`], counted in the token-mint metric (by credential kind).
    async fn counted_mint(&self) -> Result<SecretString> {
        let result = self.mint().await;
        if self.config.credentials.can_mint() {
            crate::observe::mint(self.config.credentials.kind(), result.is_ok());
        }
        result
    }

    /// Mint a JWT from the configured credentials.
    async fn mint(&self) -> Result<SecretString> {
        let (identifier, secret, is_password) = match &self.config.credentials {
            Credentials::Anonymous => {
                return Err(Error::Auth {
                    message: "no credentials configured; set DOCKER_HUB_USER and DOCKER_HUB_TOKEN"
                        .into(),
                });
            }
            Credentials::Jwt(t) => return Ok(t.clone()),
            Credentials::Password { username, password } => (username, password, true),
            Credentials::Pat { username, token } => (username, token, false),
            Credentials::Oat { org, token } => (org, token, false),
        };
        if is_password && self.config.two_factor.is_some() {
            return self.login_flow(identifier, secret).await;
        }
        let body = json!({"identifier": identifier, "secret": secret.expose_secret()});
        let (status, v) = self.auth_post("/v2/auth/token", &body).await?;
        if status.is_success() {
            return token_field(&v, "/v2/auth/token");
        }
        if is_password && status == StatusCode::UNAUTHORIZED && mentions_2fa(&v) {
            return self.login_flow(identifier, secret).await;
        }
        Err(auth_refused(status, &v, &self.config.credentials))
    }

    /// The deprecated login route, with the 2FA round trip.
    async fn login_flow(&self, username: &str, password: &SecretString) -> Result<SecretString> {
        let body = json!({"username": username, "password": password.expose_secret()});
        let (status, v) = self.auth_post("/v2/users/login", &body).await?;
        if status.is_success() {
            return token_field(&v, "/v2/users/login");
        }
        let Some(tfa) = v.get("login_2fa_token").and_then(Value::as_str) else {
            return Err(auth_refused(status, &v, &self.config.credentials));
        };
        let provider = self.config.two_factor.clone().ok_or_else(|| Error::Auth {
            message: "this account has two-factor authentication: set DOCKERHUB_2FA_CODE, or use a personal access token as DOCKER_HUB_TOKEN".into(),
        })?;
        let code = tokio::task::spawn_blocking(move || provider())
            .await
            .ok()
            .flatten()
            .ok_or_else(|| Error::Auth {
                message: "a two-factor code is needed and none was given".into(),
            })?;
        let body = json!({"login_2fa_token": tfa, "code": code.expose_secret()});
        let (status, v) = self.auth_post("/v2/users/2fa-login", &body).await?;
        if status.is_success() {
            return token_field(&v, "/v2/users/2fa-login");
        }
        Err(auth_refused(status, &v, &self.config.credentials))
    }

    /// POST a credential body to an auth route (no bearer; 429s retried).
    async fn auth_post(&self, path: &str, body: &Value) -> Result<(StatusCode, Value)> {
        let url = format!("{}{path}", self.config.base_url);
        let req = self
            .http
            .post(&url)
            .json(body)
            .build()
            .map_err(|e| transport("auth", &e))?;
        // Boxed: `exec` → `bearer` → `mint` → here → `exec` is a cycle of futures.
        let out = Box::pin(self.exec(req, AuthScheme::None, None)).await;
        let resp = out.response.map_err(|e| transport("auth", &e))?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| transport("auth", &e))?;
        Ok((
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        ))
    }

    // ---------------------------------------------------------------- exec

    /// Send with pacing, auth, bounded retries and one re-mint on 401.
    pub(crate) async fn exec(
        &self,
        req: Request,
        scheme: AuthScheme,
        op: Option<&Operation>,
    ) -> Outcome {
        let policy = self.config.retry;
        let idempotent = catalog::is_idempotent(req.method().as_str());
        let send_auth = self.same_origin(req.url());
        let mut attempt: u32 = 0;
        let mut waited = Duration::ZERO;
        let mut reminted = false;
        let mut server_said_when = false;
        let mut newer_than: Option<u64> = None;
        let route = op.map_or("/v2/auth", |o| o.path);
        let operation = op.map_or("auth", |o| o.id);
        let method = method_name(req.method());
        let started = std::time::Instant::now();
        let span = tracing::debug_span!(
            parent: request_parent(),
            "hub.request",
            operation,
            method,
            route,
            status = tracing::field::Empty,
            retries = tracing::field::Empty,
            wait_ms = tracing::field::Empty,
            rate_limit_remaining = tracing::field::Empty,
        );
        // The span is never entered: the request future polls many times and
        // nothing below it needs it current, so its events name it instead.
        let span_ref = &span;
        let outcome = async move {
            loop {
                attempt += 1;
                // A retry after an explicit `Retry-After` has already waited
                // as long as Hub asked: the pacer must not add the rest of
                // the window on top.
                if !std::mem::take(&mut server_said_when)
                    && let Some(d) = self.pace()
                    && waited + d <= policy.budget
                {
                    tracing::debug!(
                        parent: span_ref,
                        wait_ms = d.as_millis() as u64,
                        "pacing: quota is low"
                    );
                    self.clock.sleep(d).await;
                    waited += d;
                }
                let Some(mut attempt_req) = req.try_clone() else {
                    let response = self.http.execute(req).await;
                    return Outcome {
                        response,
                        retries: attempt - 1,
                        waited,
                    };
                };
                let mut generation = None;
                if send_auth {
                    match self.bearer(scheme, newer_than).await {
                        Ok(Some((secret, g))) => {
                            generation = Some(g);
                            if let Ok(mut v) =
                                HeaderValue::from_str(&format!("Bearer {}", secret.expose_secret()))
                            {
                                v.set_sensitive(true);
                                attempt_req.headers_mut().insert(AUTHORIZATION, v);
                            }
                        }
                        Ok(None) => {}
                        Err(e) => {
                            return Outcome {
                                response: Ok(synthetic(StatusCode::UNAUTHORIZED, &e.to_string())),
                                retries: attempt - 1,
                                waited,
                            };
                        }
                    }
                }
                self.in_flight.fetch_add(1, Ordering::Relaxed);
                let result = self.http.execute(attempt_req).await;
                self.in_flight.fetch_sub(1, Ordering::Relaxed);
                let cause = match &result {
                    Ok(resp) => {
                        let rl = self.record_rate(resp);
                        let status = resp.status();
                        // Trace level: the span records the final status and
                        // quota; a per-attempt event would be exported too.
                        tracing::trace!(
                            parent: span_ref,
                            status = status.as_u16(),
                            attempt,
                            remaining = rl.and_then(|r| r.remaining),
                            "hub answer"
                        );
                        if status == StatusCode::UNAUTHORIZED
                            && !reminted
                            && generation.is_some_and(|g| g > 0)
                            && self.config.credentials.can_mint()
                        {
                            reminted = true;
                            newer_than = generation;
                            tracing::debug!(parent: span_ref, "401: re-minting the JWT once");
                            attempt -= 1;
                            continue;
                        }
                        if status == StatusCode::TOO_MANY_REQUESTS {
                            crate::observe::rate_limited(operation);
                            Some(RetryCause::RateLimited)
                        } else if idempotent && matches!(status.as_u16(), 500 | 502 | 503 | 504) {
                            Some(RetryCause::ServerError)
                        } else {
                            None
                        }
                    }
                    Err(e) if idempotent && !e.is_builder() => Some(RetryCause::Transport),
                    Err(_) => None,
                };
                let Some(cause) = cause else {
                    return Outcome {
                        response: result,
                        retries: attempt - 1,
                        waited,
                    };
                };
                if attempt >= policy.max_attempts {
                    return Outcome {
                        response: result,
                        retries: attempt - 1,
                        waited,
                    };
                }
                let now = self.clock.now();
                let retry_after = result.as_ref().ok().and_then(|r| {
                    r.headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| retry::parse_retry_after(v, now))
                });
                let rl = result
                    .as_ref()
                    .ok()
                    .and_then(|r| RateLimit::from_headers(r.headers()));
                let wait = retry::with_jitter(
                    &policy,
                    retry::retry_wait(&policy, cause, attempt, retry_after, rl.as_ref(), now),
                );
                if waited + wait > policy.budget {
                    tracing::debug!(parent: span_ref, "retry budget spent");
                    return Outcome {
                        response: result,
                        retries: attempt - 1,
                        waited,
                    };
                }
                tracing::debug!(
                    parent: span_ref,
                    ?cause,
                    wait_ms = wait.as_millis() as u64,
                    attempt,
                    "retrying"
                );
                drop(result);
                server_said_when = retry_after.is_some();
                self.clock.sleep(wait).await;
                waited += wait;
            }
        }
        .await;
        let status = outcome.response.as_ref().ok().map(|r| r.status().as_u16());
        let remaining = outcome
            .response
            .as_ref()
            .ok()
            .and_then(|r| RateLimit::from_headers(r.headers()))
            .and_then(|r| r.remaining);
        let wait_ms = u64::try_from(outcome.waited.as_millis()).unwrap_or(u64::MAX);
        match status {
            Some(s) => span.record("status", s),
            None => span.record("status", "transport_error"),
        };
        span.record("retries", outcome.retries);
        span.record("wait_ms", wait_ms);
        if let Some(r) = remaining {
            span.record("rate_limit_remaining", r);
        }
        crate::observe::hub_request(
            operation,
            method,
            status,
            outcome.retries,
            started.elapsed(),
            remaining,
        );
        outcome
    }
}

tokio::task_local! {
    static REQUEST_PARENT: tracing::Span;
}

/// Run `fut` with `span` as the parent of the `hub.request` spans it starts
/// (outside it, the parent is the current span). Cheaper than
/// `fut.instrument(span)`, which enters `span` on every poll; use it when
/// nothing else under `fut` needs `span` to be current.
pub async fn with_parent<F: std::future::Future>(span: tracing::Span, fut: F) -> F::Output {
    REQUEST_PARENT.scope(span, fut).await
}

/// The span [`with_parent`] set for this task, as the export filter needs
/// it while a new span is being decided on: its id (none when no layer
/// wanted it) and metadata (none for `Span::none()`).
#[cfg(feature = "otel")]
pub(crate) fn request_parent_of_new_span()
-> Option<(Option<tracing::Id>, &'static tracing::Metadata<'static>)> {
    REQUEST_PARENT
        .try_with(|s| s.metadata().map(|m| (s.id(), m)))
        .ok()
        .flatten()
}

/// The parent of a new `hub.request` span: the one [`with_parent`] set, else
/// the current span.
fn request_parent() -> Option<tracing::Id> {
    REQUEST_PARENT
        .try_with(tracing::Span::id)
        .ok()
        .flatten()
        .or_else(|| tracing::Span::current().id())
}

/// The method as a static string, for span and metric attributes.
fn method_name(m: &reqwest::Method) -> &'static str {
    use reqwest::Method as M;
    match *m {
        M::GET => "GET",
        M::HEAD => "HEAD",
        M::POST => "POST",
        M::PUT => "PUT",
        M::PATCH => "PATCH",
        M::DELETE => "DELETE",
        M::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

fn transport(operation: &str, e: &reqwest::Error) -> Error {
    Error::Transport {
        operation: operation.to_string(),
        message: crate::redact::redact_text(&e.to_string()),
    }
}

/// An answer made up by the middleware (used when a re-mint fails inside
/// `exec`, which can only return an HTTP answer).
fn synthetic(status: StatusCode, detail: &str) -> Response {
    let body = json!({"detail": detail}).to_string();
    let mut resp = http::Response::new(body);
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp.headers_mut()
        .insert(SYNTHETIC_HEADER, HeaderValue::from_static("auth"));
    Response::from(resp)
}

fn token_field(v: &Value, route: &str) -> Result<SecretString> {
    v.get("access_token")
        .or_else(|| v.get("token"))
        .and_then(Value::as_str)
        .map(|s| SecretString::from(s.to_string()))
        .ok_or_else(|| Error::Auth {
            message: format!("{route} answered without an access_token"),
        })
}

fn mentions_2fa(v: &Value) -> bool {
    v.get("login_2fa_token").is_some() || {
        let t = v.to_string().to_ascii_lowercase();
        t.contains("2fa") || t.contains("secondary authentication") || t.contains("two-factor")
    }
}

fn auth_refused(status: StatusCode, v: &Value, creds: &Credentials) -> Error {
    let detail = crate::client::detail_of(v).unwrap_or_else(|| status.to_string());
    let what = match creds {
        Credentials::Oat { .. } => {
            "check DOCKER_HUB_USER (the org name) and DOCKER_HUB_TOKEN (the dckr_oat_ token)"
        }
        Credentials::Pat { .. } => {
            "check DOCKER_HUB_USER and DOCKER_HUB_TOKEN (the dckr_pat_ token)"
        }
        _ => "check DOCKER_HUB_USER and DOCKER_HUB_TOKEN",
    };
    Error::Auth {
        message: format!(
            "Hub refused the {} credentials (HTTP {}): {detail}; {what}",
            creds.kind(),
            status.as_u16()
        ),
    }
}

fn to_progenitor<E>(e: Error) -> progenitor_client::Error<E> {
    progenitor_client::Error::Custom(e.to_string())
}

impl ClientHooks<HookState> for crate::generated::Client {
    async fn pre<E>(
        &self,
        request: &mut Request,
        info: &OperationInfo,
    ) -> std::result::Result<(), progenitor_client::Error<E>> {
        use progenitor_client::ClientInfo;
        let op = catalog::by_id(info.operation_id);
        self.inner().0.pre(request, op).await.map_err(to_progenitor)
    }

    async fn exec(&self, request: Request, info: &OperationInfo) -> reqwest::Result<Response> {
        use progenitor_client::ClientInfo;
        let op = catalog::by_id(info.operation_id);
        let scheme = op.map_or(AuthScheme::Hub, |o| o.auth);
        self.inner().0.exec(request, scheme, op).await.response
    }
}
