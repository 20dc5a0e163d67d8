//! HTTP security for the streamable-HTTP and SSE transports: authentication, Host and Origin allow-lists, a body
//! size limit, RFC 9728 protected-resource metadata and the startup rules.
//!
//! # Wiring
//!
//! `http.rs` calls [`apply`]`(route, &cfg)` (startup rules + the wrapper, boxed) and
//! [`rmcp_allowed_hosts`]`(&cfg)`, and passes `cfg.security.sse_max_sessions` to the SSE routes;
//! `lib.rs::build_server` installs [`tool_guard`]; `main.rs` serves `--transport sse` and caps rmcp's
//! request/response logs (`log_filter`).
//!
//! Inside a tool handler the caller is [`principal_of_call`]`(&ctx.extensions)`; [`tool_guard`] uses it.
//! [`Security::from_args`] / [`Security::wrap`] / [`Security::streamable_http_config`] are the typed equivalents
//! of [`apply`] for callers that want to keep the [`Security`] value.
//!
//! Order of checks for each request: `GET /health` passes untouched; then Host (403), Origin (403), the resource
//! metadata (no auth), bearer token
//! (401 with `WWW-Authenticate: Bearer resource_metadata="…"`, or 403 `insufficient_scope`), body size (413). The
//! authenticated [`Principal`] is inserted into the request extensions, which rmcp hands to the tool handler as
//! `http::request::Parts::extensions`.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use poem::http::{HeaderValue, Method, StatusCode, header};
use poem::{Endpoint, IntoResponse, Request, Response};
use rmcp::transport::StreamableHttpServerConfig;
use secrecy::SecretString;
use serde_json::json;

use crate::auth::{
    AuthConfigError, AuthError, Authenticator, JwtSettings, JwtVerifier, Principal, StaticTokens,
};
use crate::policy::{Policy, PolicyArgs, PolicyError};

/// Default request body limit: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// Path of the RFC 9728 protected-resource metadata.
pub const RESOURCE_METADATA_PATH: &str = "/.well-known/oauth-protected-resource";

/// `AUTH_TYPE` values. The seed's proxy modes are accepted by the parser only to be refused with advice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuthType {
    /// No authentication: allowed only on a loopback bind unless `--allow-unauthenticated`.
    None,
    /// Static bearer tokens (`MCP_AUTH_TOKENS` / `MCP_AUTH_TOKENS_FILE`).
    Static,
    /// JWT bearer tokens checked against a JWKS URL, a public key or a shared secret.
    Jwt,
    /// Not supported (seed compatibility): use `jwt`.
    #[value(hide = true)]
    OauthProxy,
    /// Not supported (seed compatibility): use `jwt`.
    #[value(hide = true)]
    OidcProxy,
    /// Not supported (seed compatibility): use `jwt`.
    #[value(hide = true)]
    RemoteOauth,
}

/// Security settings, flattened into the server's command line (`#[command(flatten)]`).
#[derive(Debug, Clone, clap::Args)]
pub struct SecurityArgs {
    /// HTTP authentication: none, static (bearer tokens) or jwt.
    #[arg(long = "auth-type", env = "AUTH_TYPE", value_enum, default_value_t = AuthType::None)]
    pub auth_type: AuthType,
    /// Serve HTTP without authentication on a non-loopback address (only behind an authenticating proxy).
    #[arg(
        long = "allow-unauthenticated",
        env = "MCP_ALLOW_UNAUTHENTICATED",
        num_args = 0..=1,
        default_value_t = false,
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub allow_unauthenticated: bool,
    /// Static bearer tokens for AUTH_TYPE=static: comma list of `id:token` (or bare tokens).
    #[arg(long = "auth-tokens", env = "MCP_AUTH_TOKENS", hide_env_values = true)]
    pub auth_tokens: Option<SecretString>,
    /// File with static bearer tokens, one `id:token` per line (`#` comments allowed).
    #[arg(long = "auth-tokens-file", env = "MCP_AUTH_TOKENS_FILE")]
    pub auth_tokens_file: Option<PathBuf>,
    /// JWKS URL of the identity provider (AUTH_TYPE=jwt).
    #[arg(long = "jwt-jwks-url", env = "MCP_JWT_JWKS_URL")]
    pub jwt_jwks_url: Option<String>,
    /// PEM public key, or a path to one, to check JWTs (AUTH_TYPE=jwt).
    #[arg(long = "jwt-public-key", env = "MCP_JWT_PUBLIC_KEY")]
    pub jwt_public_key: Option<String>,
    /// Shared HMAC secret to check HS256/384/512 JWTs (AUTH_TYPE=jwt), at least 32 bytes.
    #[arg(long = "jwt-secret", env = "MCP_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<SecretString>,
    /// Required JWT issuer (`iss`); also advertised as the authorization server.
    #[arg(long = "jwt-issuer", env = "MCP_JWT_ISSUER")]
    pub jwt_issuer: Option<String>,
    /// Accepted JWT audiences (`aud`), comma separated.
    #[arg(long = "jwt-audience", env = "MCP_JWT_AUDIENCE", value_delimiter = ',')]
    pub jwt_audience: Vec<String>,
    /// Scopes every JWT must carry, comma separated.
    #[arg(
        long = "jwt-required-scopes",
        env = "MCP_JWT_REQUIRED_SCOPES",
        value_delimiter = ','
    )]
    pub jwt_required_scopes: Vec<String>,
    /// Accepted Host headers (`host` or `host:port`, `*` for any), comma separated; default: loopback names and
    /// the bind address.
    #[arg(
        long = "allowed-hosts",
        env = "MCP_ALLOWED_HOSTS",
        value_delimiter = ','
    )]
    pub allowed_hosts: Vec<String>,
    /// Accepted browser Origins (`scheme://host[:port|:*]`, `null`, or `*`), comma separated; default: loopback
    /// origins on any port. Requests without Origin are always accepted.
    #[arg(
        long = "allowed-origins",
        env = "MCP_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    pub allowed_origins: Vec<String>,
    /// Largest accepted request body, in bytes (413 above it).
    #[arg(long = "max-body-bytes", env = "MCP_MAX_BODY_BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,
    /// Public base URL of this server (e.g. https://mcp.example.com) for the OAuth resource metadata; default:
    /// http://<Host header>.
    #[arg(long = "public-url", env = "MCP_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Most concurrent legacy SSE sessions (--transport sse).
    #[arg(
        long = "sse-max-sessions",
        env = "MCP_SSE_MAX_SESSIONS",
        default_value_t = 64
    )]
    pub sse_max_sessions: usize,
    /// Tool-call policy (EUNOMIA_*).
    #[command(flatten)]
    pub policy: PolicyArgs,
}

impl Default for SecurityArgs {
    fn default() -> Self {
        Self {
            auth_type: AuthType::None,
            allow_unauthenticated: false,
            auth_tokens: None,
            auth_tokens_file: None,
            jwt_jwks_url: None,
            jwt_public_key: None,
            jwt_secret: None,
            jwt_issuer: None,
            jwt_audience: Vec::new(),
            jwt_required_scopes: Vec::new(),
            allowed_hosts: Vec::new(),
            allowed_origins: Vec::new(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            public_url: None,
            sse_max_sessions: 64,
            policy: PolicyArgs::default(),
        }
    }
}

/// Why the server refuses to start with the given security settings.
#[derive(Debug, thiserror::Error)]
pub enum SecurityError {
    /// One of the seed's proxy auth modes.
    #[error(
        "AUTH_TYPE={0} is not supported by dockerhub-mcp; use AUTH_TYPE=jwt with MCP_JWT_JWKS_URL (your identity \
         provider's JWKS) and MCP_JWT_ISSUER, or AUTH_TYPE=static with MCP_AUTH_TOKENS"
    )]
    UnsupportedAuthType(&'static str),
    /// `AUTH_TYPE=none` on a non-loopback address.
    #[error(
        "refusing to serve HTTP on {0} without authentication: set AUTH_TYPE=static with MCP_AUTH_TOKENS (or \
         AUTH_TYPE=jwt with MCP_JWT_JWKS_URL), or bind HOST=127.0.0.1, or pass --allow-unauthenticated \
         (MCP_ALLOW_UNAUTHENTICATED=true) when a proxy in front of the server authenticates callers"
    )]
    UnauthenticatedNonLoopback(IpAddr),
    /// Bad authentication settings.
    #[error(transparent)]
    Auth(#[from] AuthConfigError),
    /// Bad policy settings.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// A bad allow-list entry or limit.
    #[error("{0}")]
    Setting(String),
}

/// Refuses unsafe or unsupported settings for an HTTP server bound to `bind`.
pub fn check_startup(args: &SecurityArgs, bind: IpAddr) -> Result<(), SecurityError> {
    let unsupported = match args.auth_type {
        AuthType::OauthProxy => Some("oauth-proxy"),
        AuthType::OidcProxy => Some("oidc-proxy"),
        AuthType::RemoteOauth => Some("remote-oauth"),
        _ => None,
    };
    if let Some(name) = unsupported {
        return Err(SecurityError::UnsupportedAuthType(name));
    }
    if args.auth_type == AuthType::None && !bind.is_loopback() {
        if !args.allow_unauthenticated {
            return Err(SecurityError::UnauthenticatedNonLoopback(bind));
        }
        tracing::warn!(%bind, "serving HTTP without authentication on a non-loopback address (--allow-unauthenticated)");
    }
    if args.max_body_bytes < 1024 {
        return Err(SecurityError::Setting(format!(
            "MCP_MAX_BODY_BYTES={} is too small; use at least 1024",
            args.max_body_bytes
        )));
    }
    if args.sse_max_sessions == 0 {
        return Err(SecurityError::Setting(
            "MCP_SSE_MAX_SESSIONS must be at least 1".into(),
        ));
    }
    Ok(())
}

/// A normalised `host[:port]` allow-list entry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct HostRule {
    host: String,
    port: Option<u16>,
}

fn normalize_host(host: &str) -> String {
    host.trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase()
}

/// Splits `host[:port]`, `[v6]:port` or a bare IPv6 address.
fn split_authority(value: &str) -> Option<(String, Option<u16>)> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if let Some(rest) = value.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse().ok()?),
            None if after.is_empty() => None,
            None => return None,
        };
        return Some((normalize_host(host), port));
    }
    if value.matches(':').count() > 1 {
        // A bare IPv6 address.
        return Some((normalize_host(value), None));
    }
    match value.rsplit_once(':') {
        Some((host, port)) => Some((normalize_host(host), Some(port.parse().ok()?))),
        None => Some((normalize_host(value), None)),
    }
}

/// A normalised Origin allow-list entry.
#[derive(Debug, Clone, PartialEq, Eq)]
enum OriginRule {
    Any,
    Null,
    Tuple {
        scheme: String,
        host: String,
        port: OriginPort,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OriginPort {
    Any,
    Exact(u16),
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

/// Parses `scheme://host[:port]` into (scheme, host, port-or-default).
fn parse_origin(value: &str) -> Option<(String, String, Option<u16>)> {
    let (scheme, rest) = value.trim().split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let rest = rest.trim_end_matches('/');
    if rest.contains('/') || rest.is_empty() {
        return None;
    }
    let (host, port) = split_authority(rest)?;
    let port = port.or_else(|| default_port(&scheme));
    Some((scheme, host, port))
}

fn parse_origin_rule(value: &str) -> Result<OriginRule, SecurityError> {
    let value = value.trim();
    if value == "*" {
        return Ok(OriginRule::Any);
    }
    if value.eq_ignore_ascii_case("null") {
        return Ok(OriginRule::Null);
    }
    let bad = || {
        SecurityError::Setting(format!(
            "MCP_ALLOWED_ORIGINS entry `{value}` is not an origin; use scheme://host, scheme://host:port, \
             scheme://host:*, null or *"
        ))
    };
    if let Some(base) = value.strip_suffix(":*") {
        let (scheme, host, _) = parse_origin(base).ok_or_else(bad)?;
        return Ok(OriginRule::Tuple {
            scheme,
            host,
            port: OriginPort::Any,
        });
    }
    let (scheme, host, port) = parse_origin(value).ok_or_else(bad)?;
    let port = port.ok_or_else(bad)?;
    Ok(OriginRule::Tuple {
        scheme,
        host,
        port: OriginPort::Exact(port),
    })
}

fn origin_allowed(rules: &[OriginRule], origin: &str) -> bool {
    let origin = origin.trim();
    if origin.eq_ignore_ascii_case("null") {
        return rules
            .iter()
            .any(|r| matches!(r, OriginRule::Any | OriginRule::Null));
    }
    let Some((scheme, host, port)) = parse_origin(origin) else {
        return false;
    };
    rules.iter().any(|rule| match rule {
        OriginRule::Any => true,
        OriginRule::Null => false,
        OriginRule::Tuple {
            scheme: s,
            host: h,
            port: p,
        } => {
            *s == scheme
                && *h == host
                && match p {
                    OriginPort::Any => true,
                    OriginPort::Exact(want) => port == Some(*want),
                }
        }
    })
}

const LOOPBACK_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

struct Inner {
    auth: Authenticator,
    auth_type: AuthType,
    policy: Arc<Policy>,
    /// `None` means any Host is accepted (`MCP_ALLOWED_HOSTS=*`).
    hosts: Option<Vec<HostRule>>,
    host_entries: Vec<String>,
    origins: Vec<OriginRule>,
    max_body: usize,
    public_url: Option<String>,
    sse_max_sessions: usize,
}

/// The HTTP security layer, built once at startup. Cheap to clone.
#[derive(Clone)]
pub struct Security {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Security {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Security")
            .field("auth", &self.inner.auth)
            .field("hosts", &self.inner.host_entries)
            .field("origins", &self.inner.origins)
            .field("max_body", &self.inner.max_body)
            .finish_non_exhaustive()
    }
}

impl Security {
    /// Checks the startup rules ([`check_startup`]) and loads tokens, keys and the policy.
    pub fn from_args(args: &SecurityArgs, bind: IpAddr) -> Result<Self, SecurityError> {
        check_startup(args, bind)?;
        let auth = match args.auth_type {
            AuthType::Static => Authenticator::Static(Arc::new(StaticTokens::load(
                args.auth_tokens.as_ref(),
                args.auth_tokens_file.as_deref(),
            )?)),
            AuthType::Jwt => Authenticator::Jwt(Arc::new(JwtVerifier::new(JwtSettings {
                jwks_url: args.jwt_jwks_url.clone(),
                public_key: args.jwt_public_key.clone(),
                secret: args.jwt_secret.clone(),
                issuer: args.jwt_issuer.clone(),
                audience: clean_list(&args.jwt_audience),
                required_scopes: clean_list(&args.jwt_required_scopes),
            })?)),
            _ => Authenticator::None,
        };
        let policy = Arc::new(Policy::from_args(&args.policy)?);

        let host_entries = host_entries(args, bind);
        let hosts = if host_entries.iter().any(|h| h == "*") {
            tracing::warn!(
                "MCP_ALLOWED_HOSTS=*: any Host header is accepted (DNS-rebinding protection is off)"
            );
            None
        } else {
            let mut rules = Vec::new();
            for entry in &host_entries {
                let (host, port) = split_authority(entry).ok_or_else(|| {
                    SecurityError::Setting(format!(
                        "MCP_ALLOWED_HOSTS entry `{entry}` is not host or host:port"
                    ))
                })?;
                rules.push(HostRule { host, port });
            }
            Some(rules)
        };
        let mut origin_entries = clean_list(&args.allowed_origins);
        if origin_entries.is_empty() {
            for scheme in ["http", "https"] {
                for host in ["localhost", "127.0.0.1", "[::1]"] {
                    origin_entries.push(format!("{scheme}://{host}:*"));
                }
            }
            if !bind.is_unspecified() && !bind.is_loopback() {
                let host = match bind {
                    IpAddr::V6(v6) => format!("[{v6}]"),
                    IpAddr::V4(v4) => v4.to_string(),
                };
                origin_entries.push(format!("http://{host}:*"));
                origin_entries.push(format!("https://{host}:*"));
            }
        }
        let origins = origin_entries
            .iter()
            .map(|o| parse_origin_rule(o))
            .collect::<Result<Vec<_>, _>>()?;
        let public_url = match &args.public_url {
            Some(url) if !(url.starts_with("http://") || url.starts_with("https://")) => {
                return Err(SecurityError::Setting(format!(
                    "MCP_PUBLIC_URL must start with http:// or https://: {url}"
                )));
            }
            Some(url) => Some(url.trim_end_matches('/').to_string()),
            None => None,
        };
        match &auth {
            Authenticator::Static(t) => {
                tracing::info!(ids = ?t.ids(), "HTTP auth: static bearer tokens")
            }
            Authenticator::Jwt(v) => tracing::info!(verifier = ?v, "HTTP auth: JWT"),
            Authenticator::None => tracing::info!("HTTP auth: none"),
        }
        Ok(Self {
            inner: Arc::new(Inner {
                auth,
                auth_type: args.auth_type,
                policy,
                hosts,
                host_entries,
                origins,
                max_body: args.max_body_bytes,
                public_url,
                sse_max_sessions: args.sse_max_sessions,
            }),
        })
    }

    /// The tool-call policy (also usable without HTTP: build it with [`Policy::from_args`] for stdio).
    pub fn policy(&self) -> Arc<Policy> {
        self.inner.policy.clone()
    }

    /// The authenticator in force.
    pub fn authenticator(&self) -> &Authenticator {
        &self.inner.auth
    }

    /// The request body limit in bytes.
    pub fn max_body_bytes(&self) -> usize {
        self.inner.max_body
    }

    /// The most concurrent legacy SSE sessions.
    pub fn sse_max_sessions(&self) -> usize {
        self.inner.sse_max_sessions
    }

    /// Aligns rmcp's own Host/Origin/body checks with ours (ours run first and are the stricter ones for Origin).
    pub fn streamable_http_config(
        &self,
        config: StreamableHttpServerConfig,
    ) -> StreamableHttpServerConfig {
        let config = match &self.inner.hosts {
            None => config.disable_allowed_hosts(),
            Some(_) => config.with_allowed_hosts(self.inner.host_entries.clone()),
        };
        // Origin is enforced by `wrap`, with explicit-port semantics rmcp does not have; keep rmcp's off.
        config
            .disable_allowed_origins()
            .with_max_request_body_bytes(self.inner.max_body)
    }

    /// Wraps an endpoint (normally the server's whole `poem::Route`) in the security checks.
    pub fn wrap<E: Endpoint>(&self, inner: E) -> SecureEndpoint<E> {
        SecureEndpoint {
            inner,
            security: self.clone(),
        }
    }

    fn host_allowed(&self, req: &Request) -> bool {
        let Some(rules) = &self.inner.hosts else {
            return true;
        };
        let raw = req
            .headers()
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .or_else(|| req.uri().authority().map(|a| a.to_string()));
        let Some((host, port)) = raw.as_deref().and_then(split_authority) else {
            return false;
        };
        rules
            .iter()
            .any(|r| r.host == host && r.port.is_none_or(|p| Some(p) == port))
    }

    fn base_url(&self, req: &Request) -> String {
        if let Some(url) = &self.inner.public_url {
            return url.clone();
        }
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("localhost");
        format!("http://{host}")
    }

    fn metadata_url(&self, req: &Request) -> String {
        format!("{}{RESOURCE_METADATA_PATH}", self.base_url(req))
    }

    /// The RFC 9728 document for `resource_path` ("" for the server root).
    fn resource_metadata(&self, req: &Request, resource_path: &str) -> serde_json::Value {
        let mut doc = json!({
            "resource": format!("{}{resource_path}", self.base_url(req)),
            "bearer_methods_supported": ["header"],
            "resource_name": "dockerhub-mcp",
        });
        if let Authenticator::Jwt(v) = &self.inner.auth {
            if let Some(iss) = v.issuer() {
                doc["authorization_servers"] = json!([iss]);
            }
            if !v.required_scopes().is_empty() {
                doc["scopes_supported"] = json!(v.required_scopes());
            }
        }
        doc
    }

    fn unauthorized(&self, req: &Request, err: &AuthError) -> Response {
        let (status, code) = match err {
            AuthError::MissingToken => (StatusCode::UNAUTHORIZED, None),
            AuthError::InvalidToken(_) => (StatusCode::UNAUTHORIZED, Some("invalid_token")),
            AuthError::InsufficientScope(_) => (StatusCode::FORBIDDEN, Some("insufficient_scope")),
            AuthError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, None),
        };
        let mut challenge = format!("Bearer resource_metadata=\"{}\"", self.metadata_url(req));
        if let Some(code) = code {
            challenge.push_str(&format!(", error=\"{code}\""));
        }
        if let AuthError::InsufficientScope(scopes) = err {
            challenge.push_str(&format!(", scope=\"{scopes}\""));
        }
        let body =
            json!({"error": code.unwrap_or("unauthorized"), "error_description": err.to_string()});
        let mut resp = json_response(status, &body);
        if let Ok(v) = HeaderValue::from_str(&challenge) {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        resp
    }
}

/// The Host allow-list: `MCP_ALLOWED_HOSTS`, or the loopback names plus a specific bind address.
fn host_entries(args: &SecurityArgs, bind: IpAddr) -> Vec<String> {
    let mut entries = clean_list(&args.allowed_hosts);
    if entries.is_empty() {
        entries = LOOPBACK_NAMES.iter().map(|s| s.to_string()).collect();
        if !bind.is_unspecified() && !bind.is_loopback() {
            entries.push(bind.to_string());
        }
    }
    entries
}

/// The IP address a `HOST` setting binds: an IP literal, `localhost` (loopback), or, for any other name, the
/// unspecified address (treated as public, the conservative choice for the startup rule).
pub fn bind_ip(host: &str) -> IpAddr {
    let host = host.trim().trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse::<IpAddr>() {
        return ip;
    }
    if host.eq_ignore_ascii_case("localhost") {
        return IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    }
    IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)
}

/// Host values for rmcp's own check, as `http.rs` expects: our allow-list, or empty (check off) for `*`.
pub fn rmcp_allowed_hosts(cfg: &crate::config::Config) -> Vec<String> {
    let entries = host_entries(&cfg.security, bind_ip(&cfg.host));
    if entries.iter().any(|h| h == "*") {
        Vec::new()
    } else {
        entries
    }
}

/// Builds the [`Security`] layer for `cfg` (startup rules included) and wraps `route` in it.
///
/// This is the seam `http.rs` calls; errors are configuration errors that say what to set.
pub fn apply(
    route: poem::Route,
    cfg: &crate::config::Config,
) -> crate::error::Result<poem::endpoint::BoxEndpoint<'static>> {
    use poem::EndpointExt;
    let security = Security::from_args(&cfg.security, bind_ip(&cfg.host))
        .map_err(|e| crate::error::Error::Config(e.to_string()))?;
    Ok(security.wrap(route).boxed())
}

/// The principal of a tool call: the one the HTTP middleware attached, [`Principal::anonymous`] for an HTTP
/// request without one, and [`Principal::local`] for stdio (no HTTP parts at all).
pub fn principal_of_call(extensions: &rmcp::model::Extensions) -> Principal {
    match extensions.get::<http::request::Parts>() {
        Some(parts) => parts
            .extensions
            .get::<Principal>()
            .cloned()
            .unwrap_or_else(Principal::anonymous),
        None => Principal::local(),
    }
}

/// A [`crate::server::ToolGuard`] enforcing `policy`: install it with `McpServer::with_guard` when
/// `policy.is_enabled()`. A denial's message names the rule.
///
/// The guard hook is synchronous, so a remote policy is asked with `block_in_place`, which needs the
/// multi-threaded runtime the binary uses; on another runtime the call is denied (fail closed).
pub fn tool_guard(policy: Arc<Policy>) -> crate::server::ToolGuard {
    Arc::new(move |req: &crate::server::GuardRequest<'_>| {
        let principal = principal_of_call(req.extensions);
        let decision = match policy.as_ref() {
            Policy::Remote { .. } => {
                let handle = tokio::runtime::Handle::current();
                if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread {
                    tokio::task::block_in_place(|| {
                        handle.block_on(policy.check(&principal, req.tool, req.action))
                    })
                } else {
                    return Err(format!(
                        "{}.{} is denied: the remote policy (EUNOMIA_REMOTE_URL) needs the multi-threaded runtime",
                        req.tool, req.action
                    ));
                }
            }
            other => other.check_now(&principal, req.tool, req.action),
        };
        if decision.allowed {
            Ok(())
        } else {
            Err(decision.reason)
        }
    })
}

fn clean_list(items: &[String]) -> Vec<String> {
    items
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn json_response(status: StatusCode, body: &serde_json::Value) -> Response {
    Response::builder()
        .status(status)
        .content_type("application/json")
        .body(body.to_string())
}

fn forbidden(message: &str) -> Response {
    json_response(
        StatusCode::FORBIDDEN,
        &json!({"error": "forbidden", "error_description": message}),
    )
}

fn too_large(limit: usize) -> Response {
    json_response(
        StatusCode::PAYLOAD_TOO_LARGE,
        &json!({"error": "payload_too_large",
                "error_description": format!("request body exceeds {limit} bytes (MCP_MAX_BODY_BYTES)")}),
    )
}

/// The endpoint returned by [`Security::wrap`].
pub struct SecureEndpoint<E> {
    inner: E,
    security: Security,
}

impl<E: Endpoint> Endpoint for SecureEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        let sec = &self.security;
        let path = req.uri().path().to_string();
        // Liveness only (status and version): exempt from Host/Origin and auth so that a container HEALTHCHECK
        // on localhost works whatever MCP_ALLOWED_HOSTS says.
        if path == "/health" && (req.method() == Method::GET || req.method() == Method::HEAD) {
            return self.inner.call(req).await.map(IntoResponse::into_response);
        }
        if !sec.host_allowed(&req) {
            tracing::warn!(host = ?req.headers().get(header::HOST), "rejected a request: Host not allowed");
            return Ok(forbidden("Host header is not allowed (MCP_ALLOWED_HOSTS)"));
        }
        if let Some(origin) = req.headers().get(header::ORIGIN) {
            let ok = origin
                .to_str()
                .is_ok_and(|o| origin_allowed(&sec.inner.origins, o));
            if !ok {
                tracing::warn!(?origin, "rejected a request: Origin not allowed");
                return Ok(forbidden("Origin is not allowed (MCP_ALLOWED_ORIGINS)"));
            }
        }
        if let Some(rest) = path.strip_prefix(RESOURCE_METADATA_PATH)
            && (rest.is_empty() || rest.starts_with('/'))
        {
            if req.method() != Method::GET && req.method() != Method::HEAD {
                return Ok(StatusCode::METHOD_NOT_ALLOWED.into_response());
            }
            if sec.inner.auth_type == AuthType::None {
                return Ok(StatusCode::NOT_FOUND.into_response());
            }
            let doc = sec.resource_metadata(&req, rest);
            let mut resp = json_response(StatusCode::OK, &doc);
            resp.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("max-age=3600"),
            );
            return Ok(resp);
        }
        let authorization = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let principal = match sec.inner.auth.authenticate(authorization).await {
            Ok(p) => p,
            Err(err) => {
                tracing::warn!(path = %path, error = %err, "rejected a request: authentication failed");
                return Ok(sec.unauthorized(&req, &err));
            }
        };
        let limit = sec.inner.max_body;
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Ok(too_large(limit));
        }
        if matches!(
            *req.method(),
            Method::POST | Method::PUT | Method::PATCH | Method::DELETE
        ) {
            match req.take_body().into_bytes_limit(limit).await {
                Ok(bytes) => req.set_body(bytes),
                Err(poem::error::ReadBodyError::PayloadTooLarge) => return Ok(too_large(limit)),
                Err(e) => {
                    return Ok(json_response(
                        StatusCode::BAD_REQUEST,
                        &json!({"error": "bad_request", "error_description": e.to_string()}),
                    ));
                }
            }
        }
        tracing::debug!(principal = %principal.id, path = %path, "authenticated request");
        req.extensions_mut().insert(principal);
        self.inner.call(req).await.map(IntoResponse::into_response)
    }
}

/// The principal of a poem request that went through [`Security::wrap`].
pub fn principal_of(req: &Request) -> Option<&Principal> {
    req.extensions().get::<Principal>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use poem::test::TestClient;
    use poem::{Route, get, handler};
    use std::net::{Ipv4Addr, Ipv6Addr};

    const TOKEN: &str = "canary-token-0123456789abcdef";

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        security: SecurityArgs,
    }

    fn args(list: &[&str]) -> SecurityArgs {
        let mut argv = vec!["x"];
        argv.extend_from_slice(list);
        Cli::try_parse_from(argv).unwrap().security
    }

    #[handler]
    fn whoami(req: &Request) -> String {
        principal_of(req).map(|p| p.id.clone()).unwrap_or_default()
    }

    #[handler]
    fn health() -> &'static str {
        "ok"
    }

    #[handler]
    async fn echo(body: poem::Body) -> String {
        body.into_string()
            .await
            .unwrap_or_default()
            .len()
            .to_string()
    }

    fn app(sec: &Security) -> TestClient<SecureEndpoint<Route>> {
        let route = Route::new()
            .at("/mcp", get(whoami).post(echo))
            .at("/health", get(health));
        TestClient::new(sec.wrap(route))
    }

    fn loopback() -> IpAddr {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    }

    fn static_security() -> Security {
        let mut a = args(&["--auth-type", "static", "--max-body-bytes", "2048"]);
        a.auth_tokens = Some(SecretString::from(format!("ci:{TOKEN}")));
        Security::from_args(&a, loopback()).unwrap()
    }

    #[test]
    fn startup_rules() {
        let a = args(&[]);
        assert!(check_startup(&a, loopback()).is_ok());
        assert!(check_startup(&a, IpAddr::V6(Ipv6Addr::LOCALHOST)).is_ok());
        let err = check_startup(&a, IpAddr::V4(Ipv4Addr::UNSPECIFIED))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("AUTH_TYPE=static") && err.contains("--allow-unauthenticated"),
            "{err}"
        );
        let a = args(&["--allow-unauthenticated"]);
        assert!(check_startup(&a, IpAddr::V4(Ipv4Addr::UNSPECIFIED)).is_ok());
        let a = args(&["--allow-unauthenticated", "false"]);
        assert!(check_startup(&a, IpAddr::V4(Ipv4Addr::UNSPECIFIED)).is_err());
        for t in ["oauth-proxy", "oidc-proxy", "remote-oauth"] {
            let err = check_startup(&args(&["--auth-type", t]), loopback())
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("not supported") && err.contains("AUTH_TYPE=jwt"),
                "{err}"
            );
        }
        let err = Security::from_args(&args(&["--auth-type", "static"]), loopback())
            .unwrap_err()
            .to_string();
        assert!(err.contains("MCP_AUTH_TOKENS"), "{err}");
        let err = Security::from_args(&args(&["--auth-type", "jwt"]), loopback())
            .unwrap_err()
            .to_string();
        assert!(err.contains("MCP_JWT_JWKS_URL"), "{err}");
    }

    #[test]
    fn secrets_are_not_in_debug_output() {
        let mut a = args(&["--auth-type", "static"]);
        a.auth_tokens = Some(SecretString::from(format!("ci:{TOKEN}")));
        a.jwt_secret = Some(SecretString::from(TOKEN));
        assert!(!format!("{a:?}").contains(TOKEN));
        let sec = Security::from_args(&a, loopback()).unwrap();
        assert!(!format!("{sec:?}").contains(TOKEN));
    }

    #[test]
    fn host_and_origin_parsing() {
        assert_eq!(
            split_authority("LocalHost:8000"),
            Some(("localhost".into(), Some(8000)))
        );
        assert_eq!(split_authority("[::1]:80"), Some(("::1".into(), Some(80))));
        assert_eq!(split_authority("::1"), Some(("::1".into(), None)));
        assert_eq!(split_authority("h:x"), None);
        let rules: Vec<OriginRule> = [
            "http://localhost:*",
            "https://app.example",
            "http://[::1]:3000",
        ]
        .iter()
        .map(|r| parse_origin_rule(r).unwrap())
        .collect();
        assert!(origin_allowed(&rules, "http://localhost:6274"));
        assert!(origin_allowed(&rules, "https://app.example"));
        assert!(origin_allowed(&rules, "https://app.example:443"));
        assert!(!origin_allowed(&rules, "https://app.example:8443"));
        assert!(!origin_allowed(&rules, "http://app.example"));
        assert!(origin_allowed(&rules, "http://[::1]:3000"));
        assert!(!origin_allowed(&rules, "http://evil.example"));
        assert!(!origin_allowed(&rules, "null"));
        assert!(!origin_allowed(&rules, "garbage"));
        assert!(parse_origin_rule("localhost").is_err());
        assert!(origin_allowed(&[OriginRule::Any], "null"));
    }

    #[tokio::test]
    async fn static_auth_flow() {
        let cli = app(&static_security());
        let resp = cli
            .get("/mcp")
            .header("host", "127.0.0.1:8000")
            .send()
            .await;
        resp.assert_status(StatusCode::UNAUTHORIZED);
        resp.assert_header(
            "www-authenticate",
            "Bearer resource_metadata=\"http://127.0.0.1:8000/.well-known/oauth-protected-resource\"",
        );
        let resp = cli
            .get("/mcp")
            .header("host", "localhost")
            .header("authorization", "Bearer wrong")
            .send()
            .await;
        resp.assert_status(StatusCode::UNAUTHORIZED);
        let challenge = resp
            .0
            .headers()
            .get("www-authenticate")
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
        let resp = cli
            .get("/mcp")
            .header("host", "localhost")
            .header("authorization", format!("Bearer {TOKEN}"))
            .send()
            .await;
        resp.assert_status_is_ok();
        resp.assert_text("static:ci").await;
        // /health needs no token.
        cli.get("/health")
            .header("host", "localhost")
            .send()
            .await
            .assert_status_is_ok();
    }

    #[tokio::test]
    async fn resource_metadata_served() {
        let mut a = args(&[
            "--auth-type",
            "jwt",
            "--jwt-issuer",
            "https://idp.example",
            "--jwt-required-scopes",
            "hub:read,hub:write",
        ]);
        a.jwt_secret = Some(SecretString::from("0123456789abcdef0123456789abcdef"));
        let sec = Security::from_args(&a, loopback()).unwrap();
        let cli = app(&sec);
        for (path, resource) in [
            (
                RESOURCE_METADATA_PATH.to_string(),
                "http://localhost:9/".trim_end_matches('/').to_string(),
            ),
            (
                format!("{RESOURCE_METADATA_PATH}/mcp"),
                "http://localhost:9/mcp".to_string(),
            ),
        ] {
            let resp = cli.get(path).header("host", "localhost:9").send().await;
            resp.assert_status_is_ok();
            let doc: serde_json::Value = resp.json().await.value().deserialize();
            assert_eq!(doc["resource"], resource);
            assert_eq!(doc["authorization_servers"], json!(["https://idp.example"]));
            assert_eq!(doc["scopes_supported"], json!(["hub:read", "hub:write"]));
            assert_eq!(doc["bearer_methods_supported"], json!(["header"]));
        }
        // With AUTH_TYPE=none there is no protected resource.
        let open = Security::from_args(&args(&[]), loopback()).unwrap();
        app(&open)
            .get(RESOURCE_METADATA_PATH)
            .header("host", "localhost")
            .send()
            .await
            .assert_status(StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn public_url_is_used_for_metadata() {
        let mut a = args(&[
            "--auth-type",
            "static",
            "--public-url",
            "https://mcp.example.com/",
        ]);
        a.auth_tokens = Some(SecretString::from(TOKEN));
        let sec = Security::from_args(&a, loopback()).unwrap();
        let resp = app(&sec)
            .get("/mcp")
            .header("host", "localhost")
            .send()
            .await;
        resp.assert_header(
            "www-authenticate",
            "Bearer resource_metadata=\"https://mcp.example.com/.well-known/oauth-protected-resource\"",
        );
    }

    #[tokio::test]
    async fn host_origin_and_body_limits() {
        let cli = app(&static_security());
        let auth = format!("Bearer {TOKEN}");
        cli.get("/mcp")
            .header("host", "evil.example")
            .header("authorization", &auth)
            .send()
            .await
            .assert_status(StatusCode::FORBIDDEN);
        cli.get("/mcp")
            .header("host", "localhost")
            .header("origin", "https://evil.example")
            .header("authorization", &auth)
            .send()
            .await
            .assert_status(StatusCode::FORBIDDEN);
        cli.get("/mcp")
            .header("host", "localhost")
            .header("origin", "http://localhost:6274")
            .header("authorization", &auth)
            .send()
            .await
            .assert_status_is_ok();
        let big = "x".repeat(4096);
        cli.post("/mcp")
            .header("host", "localhost")
            .header("authorization", &auth)
            .body(big.clone())
            .send()
            .await
            .assert_status(StatusCode::PAYLOAD_TOO_LARGE);
        // A chunked body without Content-Length is counted while read.
        let stream = futures::stream::iter(vec![Ok::<_, std::io::Error>(bytes_of(&big))]);
        cli.post("/mcp")
            .header("host", "localhost")
            .header("authorization", &auth)
            .body(poem::Body::from_bytes_stream(stream))
            .send()
            .await
            .assert_status(StatusCode::PAYLOAD_TOO_LARGE);
        let resp = cli
            .post("/mcp")
            .header("host", "localhost")
            .header("authorization", &auth)
            .body("hello")
            .send()
            .await;
        resp.assert_status_is_ok();
        resp.assert_text("5").await;
    }

    fn bytes_of(s: &str) -> Vec<u8> {
        s.as_bytes().to_vec()
    }

    #[tokio::test]
    async fn configured_hosts_replace_defaults() {
        let a = args(&["--allowed-hosts", "mcp.example.com,other:8080"]);
        let sec = Security::from_args(&a, loopback()).unwrap();
        let cli = app(&sec);
        cli.get("/mcp")
            .header("host", "mcp.example.com:443")
            .send()
            .await
            .assert_status_is_ok();
        cli.get("/mcp")
            .header("host", "other:8080")
            .send()
            .await
            .assert_status_is_ok();
        cli.get("/mcp")
            .header("host", "other:8081")
            .send()
            .await
            .assert_status(StatusCode::FORBIDDEN);
        cli.get("/mcp")
            .header("host", "localhost")
            .send()
            .await
            .assert_status(StatusCode::FORBIDDEN);
        // /health answers whatever the Host (container health checks use localhost).
        cli.get("/health")
            .header("host", "localhost")
            .send()
            .await
            .assert_status_is_ok();
        let any = Security::from_args(&args(&["--allowed-hosts", "*"]), loopback()).unwrap();
        app(&any)
            .get("/mcp")
            .header("host", "whatever")
            .send()
            .await
            .assert_status_is_ok();
        let cfg = sec.streamable_http_config(StreamableHttpServerConfig::default());
        assert_eq!(cfg.allowed_hosts, vec!["mcp.example.com", "other:8080"]);
        assert_eq!(cfg.max_request_body_bytes, DEFAULT_MAX_BODY_BYTES);
    }

    #[tokio::test]
    async fn anonymous_principal_without_auth() {
        let sec = Security::from_args(&args(&[]), loopback()).unwrap();
        let resp = app(&sec)
            .get("/mcp")
            .header("host", "127.0.0.1:8000")
            .send()
            .await;
        resp.assert_status_is_ok();
        resp.assert_text("anonymous").await;
    }
}
