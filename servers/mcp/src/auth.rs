//! Bearer-token authentication for the HTTP transports: static tokens and JWTs.
//!
//! The result of a successful check is a [`Principal`], which the security middleware attaches to the
//! request (poem extensions, and so `http::request::Parts::extensions` inside rmcp's request context) so that the
//! policy engine and the tool handlers can read who is calling.
//!
//! Secrets stay in [`SecretString`]s; static tokens are compared as SHA-256 digests in constant time, so neither
//! content nor length leaks through timing.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;
use tokio::sync::RwLock;

/// How long a fetched JWKS is trusted before it is fetched again.
const JWKS_TTL: Duration = Duration::from_secs(600);
/// The shortest interval between two JWKS fetches triggered by an unknown `kid`.
const JWKS_MIN_REFRESH: Duration = Duration::from_secs(30);

/// Who is calling: attached to every authenticated request.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Principal {
    /// What kind of caller this is.
    pub kind: PrincipalKind,
    /// The stable name used in logs and policy matching: `static:<id>`, `sub:<subject>`, `anonymous` or `local`.
    pub id: String,
    /// The static token id or the JWT `sub`; empty for anonymous and local callers.
    pub subject: String,
    /// Every claim of the JWT (empty for other kinds).
    pub claims: Map<String, Value>,
    /// Scopes granted by the JWT (`scope` or `scp`).
    pub scopes: Vec<String>,
}

/// The kinds of [`Principal`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalKind {
    /// An HTTP caller on a server with `AUTH_TYPE=none`.
    Anonymous,
    /// The local user of the stdio transport.
    Local,
    /// A caller holding one of the static tokens.
    Static,
    /// A caller holding a valid JWT.
    Jwt,
}

impl Principal {
    /// An unauthenticated HTTP caller (`AUTH_TYPE=none`).
    pub fn anonymous() -> Self {
        Self::simple(PrincipalKind::Anonymous, "anonymous", "")
    }

    /// The local user of the stdio transport.
    pub fn local() -> Self {
        Self::simple(PrincipalKind::Local, "local", "")
    }

    /// A caller identified by the id of a static token.
    pub fn static_token(id: &str) -> Self {
        Self::simple(PrincipalKind::Static, &format!("static:{id}"), id)
    }

    /// A caller identified by verified JWT claims.
    pub fn jwt(claims: Map<String, Value>) -> Self {
        let subject = claims
            .get("sub")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let scopes = scopes_of(&claims);
        Self {
            kind: PrincipalKind::Jwt,
            id: format!("sub:{subject}"),
            subject,
            claims,
            scopes,
        }
    }

    fn simple(kind: PrincipalKind, id: &str, subject: &str) -> Self {
        Self {
            kind,
            id: id.to_string(),
            subject: subject.to_string(),
            claims: Map::new(),
            scopes: Vec::new(),
        }
    }

    /// The principal attached to an rmcp request, if the request came over HTTP through the security middleware.
    ///
    /// Call it from a tool handler with `ctx.extensions`; stdio requests have none, and should use
    /// [`Principal::local`].
    pub fn from_rmcp_extensions(extensions: &rmcp::model::Extensions) -> Option<Self> {
        extensions
            .get::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Principal>())
            .cloned()
    }
}

/// Scopes from `scope` (space separated) or `scp` (string or array).
fn scopes_of(claims: &Map<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    for key in ["scope", "scp"] {
        match claims.get(key) {
            Some(Value::String(s)) => out.extend(s.split_whitespace().map(str::to_string)),
            Some(Value::Array(items)) => {
                out.extend(items.iter().filter_map(Value::as_str).map(str::to_string));
            }
            _ => {}
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Why a request was not authenticated.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AuthError {
    /// No `Authorization: Bearer` header.
    #[error("missing bearer token: send `Authorization: Bearer <token>`")]
    MissingToken,
    /// The token is unknown, badly signed, expired or otherwise invalid.
    #[error("invalid bearer token: {0}")]
    InvalidToken(String),
    /// The token is valid but lacks a required scope.
    #[error("token lacks required scope(s): {0}")]
    InsufficientScope(String),
    /// The keys to check the token could not be obtained (JWKS unreachable).
    #[error("cannot verify the token right now: {0}")]
    Unavailable(String),
}

/// Errors while building an [`Authenticator`] from the settings.
#[derive(Debug, thiserror::Error)]
pub enum AuthConfigError {
    /// A static-token list or file was unusable.
    #[error("static tokens: {0}")]
    StaticTokens(String),
    /// A JWT setting was unusable.
    #[error("jwt: {0}")]
    Jwt(String),
}

/// One static token, with its id.
struct StaticToken {
    id: String,
    digest: [u8; 32],
}

/// A set of static bearer tokens, compared in constant time.
pub struct StaticTokens {
    tokens: Vec<StaticToken>,
}

impl std::fmt::Debug for StaticTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.tokens.iter().map(|t| t.id.as_str()).collect();
        f.debug_struct("StaticTokens")
            .field("ids", &ids)
            .finish_non_exhaustive()
    }
}

fn sha256(data: &[u8]) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c))
}

impl StaticTokens {
    /// Parses tokens from a list of entries, each `token` or `id:token`.
    ///
    /// Entries without an id get `token-<n>` (1-based position). Blank entries and `#` comments are skipped.
    pub fn parse<'a>(entries: impl IntoIterator<Item = &'a str>) -> Result<Self, AuthConfigError> {
        let mut tokens = Vec::new();
        for (n, raw) in entries
            .into_iter()
            .map(str::trim)
            .filter(|e| !e.is_empty() && !e.starts_with('#'))
            .enumerate()
        {
            let (id, secret) = match raw.split_once(':') {
                Some((id, secret)) if valid_id(id) && !secret.is_empty() => {
                    (id.to_string(), secret)
                }
                _ => (format!("token-{}", n + 1), raw),
            };
            if secret.len() < 16 {
                return Err(AuthConfigError::StaticTokens(format!(
                    "token `{id}` is shorter than 16 characters; use a long random value (e.g. `openssl rand -hex 32`)"
                )));
            }
            if tokens.iter().any(|t: &StaticToken| t.id == id) {
                return Err(AuthConfigError::StaticTokens(format!(
                    "token id `{id}` is used twice"
                )));
            }
            tokens.push(StaticToken {
                id,
                digest: sha256(secret.as_bytes()),
            });
        }
        if tokens.is_empty() {
            return Err(AuthConfigError::StaticTokens(
                "AUTH_TYPE=static needs at least one token: set MCP_AUTH_TOKENS (comma list of `id:token`) or \
                 MCP_AUTH_TOKENS_FILE (one per line)"
                    .into(),
            ));
        }
        Ok(Self { tokens })
    }

    /// Loads tokens from the comma list and/or the file (one per line).
    pub fn load(list: Option<&SecretString>, file: Option<&Path>) -> Result<Self, AuthConfigError> {
        let mut text = String::new();
        if let Some(list) = list {
            text.push_str(&list.expose_secret().replace(',', "\n"));
            text.push('\n');
        }
        if let Some(path) = file {
            let content = std::fs::read_to_string(path).map_err(|e| {
                AuthConfigError::StaticTokens(format!(
                    "cannot read MCP_AUTH_TOKENS_FILE {}: {e}",
                    path.display()
                ))
            })?;
            text.push_str(&content);
        }
        let secret = SecretString::from(text);
        Self::parse(secret.expose_secret().lines())
    }

    /// The id of the token that matches `candidate`, checking every token in constant time.
    pub fn verify(&self, candidate: &str) -> Option<&str> {
        let digest = sha256(candidate.as_bytes());
        let mut found = None;
        for token in &self.tokens {
            if bool::from(token.digest.ct_eq(&digest)) {
                found = Some(token.id.as_str());
            }
        }
        found
    }

    /// The ids of the configured tokens (never the tokens).
    pub fn ids(&self) -> Vec<&str> {
        self.tokens.iter().map(|t| t.id.as_str()).collect()
    }
}

/// Where JWT verification keys come from.
enum KeySource {
    /// One fixed key (a PEM public key or an HMAC secret) and the algorithms it may sign with.
    Fixed {
        key: Box<DecodingKey>,
        algorithms: Vec<Algorithm>,
    },
    /// A JWKS document fetched over HTTPS and cached.
    Jwks {
        url: String,
        client: reqwest::Client,
        cache: RwLock<Option<JwksCache>>,
    },
}

struct JwksCache {
    set: JwkSet,
    fetched: Instant,
}

/// Settings for [`JwtVerifier`].
#[derive(Debug, Default, Clone)]
pub struct JwtSettings {
    /// JWKS URL of the identity provider.
    pub jwks_url: Option<String>,
    /// PEM public key (RSA, EC or Ed25519), as text or a path to a file.
    pub public_key: Option<String>,
    /// HMAC secret (HS256/384/512).
    pub secret: Option<SecretString>,
    /// Required `iss`.
    pub issuer: Option<String>,
    /// Accepted `aud` values (the token's `aud` must hold at least one).
    pub audience: Vec<String>,
    /// Scopes the token must all carry.
    pub required_scopes: Vec<String>,
}

/// Verifies JWT bearer tokens: signature, `exp`/`nbf`, issuer, audience and required scopes.
pub struct JwtVerifier {
    source: KeySource,
    issuer: Option<String>,
    audience: Vec<String>,
    required_scopes: Vec<String>,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let source = match &self.source {
            KeySource::Fixed { algorithms, .. } => format!("fixed key {algorithms:?}"),
            KeySource::Jwks { url, .. } => format!("jwks {url}"),
        };
        f.debug_struct("JwtVerifier")
            .field("source", &source)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("required_scopes", &self.required_scopes)
            .finish()
    }
}

fn pem_key(text: &str) -> Result<(DecodingKey, Vec<Algorithm>), AuthConfigError> {
    let pem = if text.trim_start().starts_with("-----BEGIN") {
        text.to_string()
    } else {
        std::fs::read_to_string(text.trim()).map_err(|e| {
            AuthConfigError::Jwt(format!(
                "MCP_JWT_PUBLIC_KEY is neither a PEM key nor a readable file ({}): {e}",
                text.trim()
            ))
        })?
    };
    let bytes = pem.as_bytes();
    if let Ok(key) = DecodingKey::from_rsa_pem(bytes) {
        return Ok((key, AlgorithmFamily::Rsa.algorithms().to_vec()));
    }
    if let Ok(key) = DecodingKey::from_ec_pem(bytes) {
        return Ok((key, AlgorithmFamily::Ec.algorithms().to_vec()));
    }
    if let Ok(key) = DecodingKey::from_ed_pem(bytes) {
        return Ok((key, AlgorithmFamily::Ed.algorithms().to_vec()));
    }
    Err(AuthConfigError::Jwt(
        "MCP_JWT_PUBLIC_KEY is not an RSA, EC or Ed25519 public key in PEM form".into(),
    ))
}

impl JwtVerifier {
    /// Builds a verifier; exactly one of `jwks_url`, `public_key` and `secret` must be set.
    pub fn new(settings: JwtSettings) -> Result<Self, AuthConfigError> {
        let set = [
            settings.jwks_url.is_some(),
            settings.public_key.is_some(),
            settings.secret.is_some(),
        ];
        let count = set.iter().filter(|b| **b).count();
        if count != 1 {
            return Err(AuthConfigError::Jwt(format!(
                "AUTH_TYPE=jwt needs exactly one of MCP_JWT_JWKS_URL, MCP_JWT_PUBLIC_KEY or MCP_JWT_SECRET ({count} set)"
            )));
        }
        let source = if let Some(url) = settings.jwks_url {
            if !(url.starts_with("https://")
                || url.starts_with("http://127.")
                || url.starts_with("http://localhost"))
            {
                return Err(AuthConfigError::Jwt(format!(
                    "MCP_JWT_JWKS_URL must be an https:// URL (plain http only on loopback): {url}"
                )));
            }
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .map_err(|e| {
                    AuthConfigError::Jwt(format!("cannot build the JWKS HTTP client: {e}"))
                })?;
            KeySource::Jwks {
                url,
                client,
                cache: RwLock::new(None),
            }
        } else if let Some(pem) = settings.public_key {
            let (key, algorithms) = pem_key(&pem)?;
            KeySource::Fixed {
                key: Box::new(key),
                algorithms,
            }
        } else if let Some(secret) = settings.secret {
            if secret.expose_secret().len() < 32 {
                return Err(AuthConfigError::Jwt(
                    "MCP_JWT_SECRET must be at least 32 bytes long".into(),
                ));
            }
            let key = DecodingKey::from_secret(secret.expose_secret().as_bytes());
            KeySource::Fixed {
                key: Box::new(key),
                algorithms: AlgorithmFamily::Hmac.algorithms().to_vec(),
            }
        } else {
            return Err(AuthConfigError::Jwt("no key source".into()));
        };
        Ok(Self {
            source,
            issuer: settings.issuer,
            audience: settings.audience,
            required_scopes: settings.required_scopes,
        })
    }

    /// The configured issuer (advertised as the authorization server in the protected-resource metadata).
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// The scopes every token must carry.
    pub fn required_scopes(&self) -> &[String] {
        &self.required_scopes
    }

    async fn fetch_jwks(&self, url: &str, client: &reqwest::Client) -> Result<JwkSet, AuthError> {
        let resp =
            client.get(url).send().await.map_err(|e| {
                AuthError::Unavailable(format!("JWKS fetch from {url} failed: {e}"))
            })?;
        if !resp.status().is_success() {
            return Err(AuthError::Unavailable(format!(
                "JWKS fetch from {url} answered {}",
                resp.status()
            )));
        }
        resp.json::<JwkSet>()
            .await
            .map_err(|e| AuthError::Unavailable(format!("JWKS from {url} is not a JWK set: {e}")))
    }

    /// Finds the key for `kid` in the cached JWKS, refreshing it when stale or when the kid is unknown.
    async fn jwks_key(
        &self,
        url: &str,
        client: &reqwest::Client,
        cache: &RwLock<Option<JwksCache>>,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<DecodingKey, AuthError> {
        let pick = |set: &JwkSet| -> Option<Result<DecodingKey, AuthError>> {
            let jwk = match kid {
                Some(kid) => set.find(kid),
                None if set.keys.len() == 1 => set.keys.first(),
                None => None,
            }?;
            Some(
                DecodingKey::from_jwk(jwk)
                    .map_err(|e| AuthError::InvalidToken(format!("unusable key in JWKS: {e}")))
                    .and_then(|key| {
                        if key.family() == alg.family() {
                            Ok(key)
                        } else {
                            Err(AuthError::InvalidToken(
                                "token algorithm does not match the key".into(),
                            ))
                        }
                    }),
            )
        };
        {
            let guard = cache.read().await;
            if let Some(c) = guard.as_ref() {
                let fresh = c.fetched.elapsed() < JWKS_TTL;
                if fresh && let Some(found) = pick(&c.set) {
                    return found;
                }
                if fresh && c.fetched.elapsed() < JWKS_MIN_REFRESH {
                    return Err(AuthError::InvalidToken("unknown key id (kid)".into()));
                }
            }
        }
        let mut guard = cache.write().await;
        // Another request may have refreshed it while we waited for the lock.
        if let Some(c) = guard.as_ref()
            && c.fetched.elapsed() < JWKS_MIN_REFRESH
            && let Some(found) = pick(&c.set)
        {
            return found;
        }
        let set = self.fetch_jwks(url, client).await?;
        let result = pick(&set)
            .unwrap_or_else(|| Err(AuthError::InvalidToken("unknown key id (kid)".into())));
        *guard = Some(JwksCache {
            set,
            fetched: Instant::now(),
        });
        result
    }

    /// Verifies a token and returns its claims.
    pub async fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| AuthError::InvalidToken(format!("not a JWT: {e}")))?;
        let (key, allowed) = match &self.source {
            KeySource::Fixed { key, algorithms } => ((**key).clone(), algorithms.clone()),
            KeySource::Jwks { url, client, cache } => {
                let key = self
                    .jwks_key(url, client, cache, header.kid.as_deref(), header.alg)
                    .await?;
                let algs = key.family().algorithms().to_vec();
                (key, algs)
            }
        };
        if !allowed.contains(&header.alg) {
            return Err(AuthError::InvalidToken(format!(
                "algorithm {:?} is not accepted",
                header.alg
            )));
        }
        let mut validation = Validation::new(header.alg);
        validation.leeway = 30;
        validation.validate_nbf = true;
        let mut required = vec!["exp"];
        if let Some(iss) = &self.issuer {
            validation.set_issuer(&[iss]);
            required.push("iss");
        }
        if self.audience.is_empty() {
            validation.validate_aud = false;
        } else {
            validation.set_audience(&self.audience);
            required.push("aud");
        }
        validation.set_required_spec_claims(&required);
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
            .map_err(|e| AuthError::InvalidToken(e.to_string()))?;
        let principal = Principal::jwt(data.claims);
        let missing: Vec<&str> = self
            .required_scopes
            .iter()
            .filter(|s| !principal.scopes.iter().any(|have| have == *s))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Err(AuthError::InsufficientScope(missing.join(" ")));
        }
        Ok(principal)
    }
}

/// The authentication mode in force for HTTP requests.
#[derive(Debug, Clone)]
pub enum Authenticator {
    /// `AUTH_TYPE=none`: every caller is [`Principal::anonymous`].
    None,
    /// `AUTH_TYPE=static`.
    Static(Arc<StaticTokens>),
    /// `AUTH_TYPE=jwt`.
    Jwt(Arc<JwtVerifier>),
}

impl Authenticator {
    /// Authenticates the value of an `Authorization` header (if any).
    pub async fn authenticate(&self, authorization: Option<&str>) -> Result<Principal, AuthError> {
        if matches!(self, Self::None) {
            return Ok(Principal::anonymous());
        }
        let token = bearer_token(authorization).ok_or(AuthError::MissingToken)?;
        match self {
            Self::None => Ok(Principal::anonymous()),
            Self::Static(tokens) => tokens
                .verify(token)
                .map(Principal::static_token)
                .ok_or_else(|| AuthError::InvalidToken("unknown token".into())),
            Self::Jwt(verifier) => verifier.verify(token).await,
        }
    }

    /// Whether callers must present a token.
    pub fn is_required(&self) -> bool {
        !matches!(self, Self::None)
    }
}

/// The token of an `Authorization: Bearer <token>` header value (scheme case-insensitive).
pub fn bearer_token(header: Option<&str>) -> Option<&str> {
    let value = header?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    const SECRET: &str = "0123456789abcdef0123456789abcdef-test-secret";

    fn hs_verifier(issuer: Option<&str>, aud: &[&str], scopes: &[&str]) -> JwtVerifier {
        JwtVerifier::new(JwtSettings {
            secret: Some(SecretString::from(SECRET)),
            issuer: issuer.map(str::to_string),
            audience: aud.iter().map(|s| s.to_string()).collect(),
            required_scopes: scopes.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        })
        .unwrap()
    }

    fn sign(claims: Value) -> String {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap()
    }

    fn exp() -> u64 {
        jsonwebtoken::get_current_timestamp() + 600
    }

    #[test]
    fn static_tokens_parse_ids_and_verify() {
        let tokens = StaticTokens::parse([
            "ci:aaaaaaaaaaaaaaaaaaaa",
            "bbbbbbbbbbbbbbbbbbbb",
            "# comment",
            "",
        ])
        .unwrap();
        assert_eq!(tokens.ids(), vec!["ci", "token-2"]);
        assert_eq!(tokens.verify("aaaaaaaaaaaaaaaaaaaa"), Some("ci"));
        assert_eq!(tokens.verify("bbbbbbbbbbbbbbbbbbbb"), Some("token-2"));
        assert_eq!(tokens.verify("ci:aaaaaaaaaaaaaaaaaaaa"), None);
        assert_eq!(tokens.verify(""), None);
        assert!(!format!("{tokens:?}").contains("aaaa"));
    }

    #[test]
    fn static_tokens_reject_short_duplicate_and_empty() {
        assert!(StaticTokens::parse(["short"]).is_err());
        assert!(
            StaticTokens::parse(["a:aaaaaaaaaaaaaaaaaaaa", "a:bbbbbbbbbbbbbbbbbbbbbb"]).is_err()
        );
        assert!(StaticTokens::parse(["", "  "]).is_err());
    }

    #[test]
    fn static_tokens_load_from_list_and_file() {
        let dir = std::env::temp_dir().join(format!("dh-mcp-auth-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("tokens");
        std::fs::write(&file, "# ops\nops:cccccccccccccccccccc\n").unwrap();
        let list = SecretString::from("ci:aaaaaaaaaaaaaaaaaaaa, dev:dddddddddddddddddddd");
        let tokens = StaticTokens::load(Some(&list), Some(&file)).unwrap();
        assert_eq!(tokens.ids(), vec!["ci", "dev", "ops"]);
        assert_eq!(tokens.verify("dddddddddddddddddddd"), Some("dev"));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn bearer_header_parsing() {
        assert_eq!(bearer_token(Some("Bearer abc")), Some("abc"));
        assert_eq!(bearer_token(Some("bearer  abc ")), Some("abc"));
        assert_eq!(bearer_token(Some("Basic abc")), None);
        assert_eq!(bearer_token(Some("Bearer ")), None);
        assert_eq!(bearer_token(None), None);
    }

    #[tokio::test]
    async fn jwt_valid_token_gives_subject_claims_and_scopes() {
        let v = hs_verifier(
            Some("https://idp.example"),
            &["dockerhub-mcp"],
            &["hub:read"],
        );
        let token = sign(json!({
            "sub": "alice", "iss": "https://idp.example", "aud": "dockerhub-mcp",
            "exp": exp(), "scope": "hub:read hub:write", "role": "admin"
        }));
        let p = v.verify(&token).await.unwrap();
        assert_eq!(p.id, "sub:alice");
        assert_eq!(p.kind, PrincipalKind::Jwt);
        assert_eq!(p.scopes, vec!["hub:read", "hub:write"]);
        assert_eq!(p.claims["role"], "admin");
    }

    #[tokio::test]
    async fn jwt_rejects_wrong_issuer_audience_expiry_signature_and_scope() {
        let v = hs_verifier(
            Some("https://idp.example"),
            &["dockerhub-mcp"],
            &["hub:read"],
        );
        let good = json!({"sub":"a","iss":"https://idp.example","aud":"dockerhub-mcp","exp":exp(),"scope":"hub:read"});
        let mut bad_iss = good.clone();
        bad_iss["iss"] = json!("https://evil.example");
        let mut bad_aud = good.clone();
        bad_aud["aud"] = json!("other");
        let mut expired = good.clone();
        expired["exp"] = json!(1000);
        let mut no_scope = good.clone();
        no_scope["scope"] = json!("other");
        for claims in [bad_iss, bad_aud, expired] {
            assert!(matches!(
                v.verify(&sign(claims)).await,
                Err(AuthError::InvalidToken(_))
            ));
        }
        assert_eq!(
            v.verify(&sign(no_scope)).await,
            Err(AuthError::InsufficientScope("hub:read".into()))
        );
        let forged = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &good,
            &EncodingKey::from_secret(b"another-secret-another-secret-another"),
        )
        .unwrap();
        assert!(matches!(
            v.verify(&forged).await,
            Err(AuthError::InvalidToken(_))
        ));
        assert!(matches!(
            v.verify("not.a.jwt").await,
            Err(AuthError::InvalidToken(_))
        ));
        assert!(v.verify(&sign(good)).await.is_ok());
    }

    #[test]
    fn jwt_settings_need_exactly_one_key_source() {
        assert!(JwtVerifier::new(JwtSettings::default()).is_err());
        let both = JwtSettings {
            secret: Some(SecretString::from(SECRET)),
            jwks_url: Some("https://idp.example/jwks".into()),
            ..Default::default()
        };
        assert!(JwtVerifier::new(both).is_err());
        let short = JwtSettings {
            secret: Some(SecretString::from("short")),
            ..Default::default()
        };
        assert!(JwtVerifier::new(short).is_err());
        let http = JwtSettings {
            jwks_url: Some("http://idp.example/jwks".into()),
            ..Default::default()
        };
        assert!(JwtVerifier::new(http).is_err());
    }

    #[tokio::test]
    async fn authenticator_modes() {
        let none = Authenticator::None;
        assert_eq!(
            none.authenticate(None).await.unwrap(),
            Principal::anonymous()
        );
        let st = Authenticator::Static(Arc::new(
            StaticTokens::parse(["ci:aaaaaaaaaaaaaaaaaaaa"]).unwrap(),
        ));
        assert_eq!(st.authenticate(None).await, Err(AuthError::MissingToken));
        assert!(matches!(
            st.authenticate(Some("Bearer nope")).await,
            Err(AuthError::InvalidToken(_))
        ));
        assert_eq!(
            st.authenticate(Some("Bearer aaaaaaaaaaaaaaaaaaaa"))
                .await
                .unwrap()
                .id,
            "static:ci"
        );
    }

    fn b64url(data: &[u8]) -> String {
        const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in data.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..=chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }

    /// A loopback JWKS endpoint serving `body`, counting fetches.
    async fn jwks_server(body: String) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
        let counter = hits.clone();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let resp = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            }
        });
        (url, hits)
    }

    #[tokio::test]
    async fn jwt_via_jwks_with_kid_and_cache() {
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        let pkcs8 = pair.to_pkcs8v1().unwrap();
        let point = pair.public_key().as_ref().to_vec();
        assert_eq!(point.len(), 65);
        let jwks = json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1", "alg": "ES256", "use": "sig",
            "x": b64url(&point[1..33]), "y": b64url(&point[33..])}]});
        let (url, hits) = jwks_server(jwks.to_string()).await;
        let v = JwtVerifier::new(JwtSettings {
            jwks_url: Some(url),
            issuer: Some("https://idp.example".into()),
            ..Default::default()
        })
        .unwrap();
        let key = EncodingKey::from_ec_der(pkcs8.as_ref());
        let sign = |kid: &str| {
            let mut h = Header::new(Algorithm::ES256);
            h.kid = Some(kid.into());
            jsonwebtoken::encode(
                &h,
                &json!({"sub": "bob", "iss": "https://idp.example", "exp": exp()}),
                &key,
            )
            .unwrap()
        };
        assert_eq!(v.verify(&sign("k1")).await.unwrap().id, "sub:bob");
        assert_eq!(v.verify(&sign("k1")).await.unwrap().id, "sub:bob");
        assert_eq!(
            hits.load(std::sync::atomic::Ordering::SeqCst),
            1,
            "JWKS is cached"
        );
        // An unknown kid is refused; a refetch happens at most every 30 s.
        assert!(matches!(
            v.verify(&sign("k2")).await,
            Err(AuthError::InvalidToken(_))
        ));
        assert!(matches!(
            v.verify(&sign("k2")).await,
            Err(AuthError::InvalidToken(_))
        ));
        assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);
        // An HS256 token cannot pass as the EC key (algorithm confusion).
        let mut h = Header::new(Algorithm::HS256);
        h.kid = Some("k1".into());
        let hs = jsonwebtoken::encode(
            &h,
            &json!({"sub": "x", "exp": exp()}),
            &EncodingKey::from_secret(b"k"),
        )
        .unwrap();
        assert!(v.verify(&hs).await.is_err());
    }

    #[tokio::test]
    async fn jwks_unreachable_is_unavailable() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let v = JwtVerifier::new(JwtSettings {
            jwks_url: Some(format!("http://127.0.0.1:{port}/jwks")),
            ..Default::default()
        })
        .unwrap();
        let token = sign(json!({"sub": "a", "exp": exp()}));
        assert!(matches!(
            v.verify(&token).await,
            Err(AuthError::Unavailable(_))
        ));
    }
}
