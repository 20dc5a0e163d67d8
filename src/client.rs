//! [`Hub`]: the SDK's entry point. Calls operations by catalog name with JSON
//! parameters, or through the typed generated client; both go through the
//! same middleware ([`crate::hooks`]).

use std::sync::Arc;

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::{Method, Response, StatusCode, Url};
use serde_json::{Map, Value};

use crate::catalog::{self, Module, Operation, ResponseKind};
use crate::config::{Config, Credentials};
use crate::envelope::Envelope;
use crate::error::{Error, Result};
use crate::generated;
use crate::hooks::{HookState, Inner};
use crate::params;
use crate::ratelimit::RateLimit;
use crate::redact;
use crate::retry::{SharedClock, SystemClock};

/// Largest body excerpt quoted in an error.
const EXCERPT: usize = 200;

/// A Docker Hub client. Cheap to clone; clones share the token cache and the
/// rate-limit snapshot.
#[derive(Clone, Debug)]
pub struct Hub {
    typed: generated::Client,
    state: HookState,
}

impl Hub {
    /// A client from a configuration.
    pub fn new(config: Config) -> Result<Hub> {
        Hub::with_clock(config, Arc::new(SystemClock))
    }

    /// A client from the seed's environment variables ([`Config::from_env`]).
    pub fn from_env() -> Result<Hub> {
        Hub::new(Config::from_env()?)
    }

    /// A client with an injected clock (exact backoff and expiry tests).
    pub fn with_clock(config: Config, clock: SharedClock) -> Result<Hub> {
        let base = config.base_url.clone();
        let state = HookState::new(config, clock)?;
        let http = state.inner().http.clone();
        let typed = generated::Client::new_with_client(&base, http, state.clone());
        Ok(Hub { typed, state })
    }

    /// The typed client generated from the spec. Its calls go through the
    /// same middleware; hook failures surface as `progenitor_client::Error::Custom`.
    pub fn typed(&self) -> &generated::Client {
        &self.typed
    }

    /// The configuration in use.
    pub fn config(&self) -> &Config {
        &self.inner().config
    }

    fn inner(&self) -> &Inner {
        self.state.inner()
    }

    /// The last `X-RateLimit-*` snapshot seen (no network call).
    pub fn rate_limit(&self) -> Option<RateLimit> {
        self.inner().rate_limit()
    }

    /// How many JWTs this client has minted.
    pub fn mint_count(&self) -> u64 {
        self.inner().tokens.mint_count()
    }

    /// Refuse `op` now if the safety gate is closed (no network I/O).
    pub fn check_allowed(&self, op: &Operation) -> Result<()> {
        self.inner().check_safety(op)
    }

    /// Local identity: the non-secret claims of the current JWT (minting one
    /// if needed), or `{authenticated: false}` when anonymous.
    pub async fn whoami_local(&self) -> Result<Value> {
        let creds = &self.config().credentials;
        if matches!(creds, Credentials::Anonymous) {
            return Ok(serde_json::json!({"authenticated": false}));
        }
        let jwt = self.inner().current_jwt().await?;
        let mut out = Map::new();
        out.insert("authenticated".into(), Value::Bool(true));
        out.insert("credential".into(), Value::String(creds.kind().into()));
        out.extend(crate::auth::public_claims(&jwt));
        Ok(Value::Object(out))
    }

    /// Call a catalog operation by module and action.
    pub async fn call_action(
        &self,
        module: Module,
        action: &str,
        params: &Value,
    ) -> Result<Envelope> {
        let op = catalog::find(module, action).ok_or_else(|| Error::InvalidParams {
            operation: format!("{}.{action}", module.tool_name()),
            message: format!(
                "unknown action '{action}'; valid actions: {}",
                catalog::actions(module)
                    .map(|o| o.action)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })?;
        self.call(op, params).await
    }

    /// Call a catalog operation with JSON parameters (path, query and body
    /// fields in one object). Parameters are checked against the spec first.
    pub async fn call(&self, op: &Operation, params: &Value) -> Result<Envelope> {
        self.check_allowed(op)?;
        let prepared = params::prepare(op, params)?;
        let url = format!("{}{}", self.config().base_url, prepared.path_and_query);
        self.send(op, &url, prepared.body.as_ref()).await
    }

    /// Fetch an absolute URL for `op` (a pagination `next` link). The URL must
    /// be on the configured origin: credentials never follow a link elsewhere.
    pub async fn call_url(&self, op: &Operation, url: &str) -> Result<Envelope> {
        self.check_allowed(op)?;
        let parsed = Url::parse(url).map_err(|e| Error::Api {
            status: 0,
            method: op.method.into(),
            path: op.path.into(),
            detail: format!("Hub returned a bad next link: {e}"),
        })?;
        if parsed.origin() != self.inner().base.origin() {
            return Err(Error::Api {
                status: 0,
                method: op.method.into(),
                path: op.path.into(),
                detail: format!(
                    "refusing to follow a next link to another origin ({}); credentials are only sent to {}",
                    parsed.origin().ascii_serialization(),
                    self.config().base_url
                ),
            });
        }
        self.send(op, url, None).await
    }

    async fn send(&self, op: &Operation, url: &str, body: Option<&Value>) -> Result<Envelope> {
        let method = Method::from_bytes(op.method.as_bytes())
            .map_err(|e| Error::Config(format!("bad method in catalog: {e}")))?;
        let mut rb = self
            .inner()
            .http
            .request(method, url)
            .header(ACCEPT, HeaderValue::from_static("application/json"));
        if let Some(b) = body {
            rb = rb
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .body(b.to_string());
        }
        let mut req = rb.build().map_err(|e| transport(op, &e))?;
        self.inner().pre(&mut req, Some(op)).await?;
        let outcome = self.inner().exec(req, op.auth, Some(op)).await;
        if outcome.retries > 0 {
            tracing::debug!(
                operation = op.id,
                retries = outcome.retries,
                waited_ms = outcome.waited.as_millis() as u64,
                "call needed retries"
            );
        }
        let resp = outcome.response.map_err(|e| transport(op, &e))?;
        self.envelope(op, resp).await
    }

    async fn envelope(&self, op: &Operation, resp: Response) -> Result<Envelope> {
        let status = resp.status();
        let rate_limit = RateLimit::from_headers(resp.headers())
            .or_else(|| self.rate_limit())
            .unwrap_or_default();
        let headers = resp.headers().clone();
        let path = redact::redact_text(resp.url().path());
        let bytes = resp.bytes().await.map_err(|e| transport(op, &e))?;
        if op.response == ResponseKind::Exists
            && (status.is_success() || status == StatusCode::NOT_FOUND)
        {
            return Ok(Envelope {
                status_code: status.as_u16(),
                data: Value::Null,
                rate_limit,
                exists: Some(status.is_success()),
            });
        }
        if !status.is_success() && !is_2fa_challenge(op, status, &bytes) {
            return Err(error_for(op, status, &headers, &path, &bytes, rate_limit));
        }
        let mut data = decode_body(op, &headers, &bytes)?;
        redact::redact(&mut data, op.shows_token_once());
        Ok(Envelope {
            status_code: status.as_u16(),
            data,
            rate_limit,
            exists: None,
        })
    }
}

impl Inner {
    /// The current Hub JWT, minting one if needed.
    pub(crate) async fn current_jwt(&self) -> Result<String> {
        use secrecy::ExposeSecret;
        self.ensure_token()
            .await?
            .map(|t| t.expose_secret().to_string())
            .ok_or_else(|| Error::Auth {
                message: "no credentials configured; set DOCKER_HUB_USER and DOCKER_HUB_TOKEN"
                    .into(),
            })
    }
}

/// The deprecated login's 401 that carries `login_2fa_token` is a step of the
/// 2FA flow, not a failure: the caller passes the token on to
/// `two_factor_login` with the code.
fn is_2fa_challenge(op: &Operation, status: StatusCode, body: &[u8]) -> bool {
    op.module == Module::Auth
        && op.action == "login"
        && status == StatusCode::UNAUTHORIZED
        && serde_json::from_slice::<Value>(body)
            .is_ok_and(|v| v.get("login_2fa_token").is_some_and(Value::is_string))
}

fn transport(op: &Operation, e: &reqwest::Error) -> Error {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "connection failed"
    };
    Error::Transport {
        operation: op.qualified_name(),
        message: format!("{kind}: {}", redact::redact_text(&crate::error::chain(e))),
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|ct| ct.contains("json"))
}

fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(EXCERPT)]);
    redact::redact_text(&text)
}

fn decode_body(op: &Operation, headers: &HeaderMap, bytes: &[u8]) -> Result<Value> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    if op.response == ResponseKind::Text || !is_json(headers) {
        return Ok(Value::String(String::from_utf8_lossy(bytes).into_owned()));
    }
    serde_json::from_slice(bytes).map_err(|e| Error::Decode {
        operation: op.qualified_name(),
        message: e.to_string(),
        excerpt: excerpt(bytes),
    })
}

/// Hub's human message in an error body: `detail`, `message`, `error`, …
pub(crate) fn detail_of(v: &Value) -> Option<String> {
    for key in ["detail", "message", "error_description", "error", "errinfo"] {
        match v.get(key) {
            Some(Value::String(s)) if !s.is_empty() => return Some(redact::redact_text(s)),
            Some(Value::Object(o)) if !o.is_empty() => {
                return Some(redact::redact_text(&Value::Object(o.clone()).to_string()));
            }
            _ => {}
        }
    }
    None
}

fn hint_for_403(detail: &str, op: &Operation) -> Option<String> {
    let d = detail.to_ascii_lowercase();
    if d.contains("personal access token") {
        Some(format!(
            "{} needs a JWT minted from the account password (DOCKER_HUB_TOKEN=<password>), not from a personal access token",
            op.qualified_name()
        ))
    } else if d.contains("organization access token") || d.contains("organization account") {
        Some(format!(
            "{} does not accept organization access tokens; use a member's personal access token or password",
            op.qualified_name()
        ))
    } else {
        None
    }
}

fn error_for(
    op: &Operation,
    status: StatusCode,
    headers: &HeaderMap,
    path: &str,
    bytes: &[u8],
    rate: RateLimit,
) -> Error {
    let body: Value = serde_json::from_slice(bytes).unwrap_or(Value::Null);
    let detail = detail_of(&body).unwrap_or_else(|| {
        let e = excerpt(bytes);
        if e.trim().is_empty() {
            status.canonical_reason().unwrap_or("error").to_string()
        } else {
            e
        }
    });
    match status.as_u16() {
        401 => {
            let synthetic = headers.contains_key(crate::hooks::SYNTHETIC_HEADER);
            let message = if synthetic {
                detail
            } else {
                format!(
                    "HTTP 401 for {} {path}: {detail}; set DOCKER_HUB_USER and DOCKER_HUB_TOKEN (or DOCKERHUB_JWT) to credentials Hub accepts",
                    op.method
                )
            };
            Error::Auth { message }
        }
        403 => Error::Forbidden {
            operation: op.qualified_name(),
            hint: hint_for_403(&detail, op),
            detail,
        },
        404 => Error::NotFound {
            operation: op.qualified_name(),
            detail,
        },
        429 => {
            let now = std::time::SystemTime::now();
            let retry_after = headers
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| crate::retry::parse_retry_after(v, now))
                .or_else(|| rate.wait_for_reset(now));
            Error::RateLimited {
                operation: op.qualified_name(),
                retry_after,
                remaining: rate.remaining,
                reset: rate.reset,
            }
        }
        s => Error::Api {
            status: s,
            method: op.method.to_string(),
            path: path.to_string(),
            detail,
        },
    }
}
