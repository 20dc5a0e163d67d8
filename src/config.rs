//! Client configuration: the seed's environment names, or a builder.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use crate::error::{Error, Result};
use crate::retry::RetryPolicy;

/// Default Hub base URL.
pub const DEFAULT_URL: &str = "https://hub.docker.com";

/// What the client authenticates with.
#[derive(Clone, Default)]
pub enum Credentials {
    /// No credentials: public reads only.
    #[default]
    Anonymous,
    /// Username and account password (2FA accounts need a code provider).
    Password {
        /// Docker ID.
        username: String,
        /// Account password.
        password: SecretString,
    },
    /// Username and personal access token (`dckr_pat_…`).
    Pat {
        /// Docker ID.
        username: String,
        /// The PAT.
        token: SecretString,
    },
    /// Organization name and organization access token (`dckr_oat_…`).
    Oat {
        /// Organization name.
        org: String,
        /// The OAT.
        token: SecretString,
    },
    /// A pre-minted bearer JWT (`DOCKERHUB_JWT`); it cannot be refreshed.
    Jwt(SecretString),
}

impl Credentials {
    /// Pick the credential type from a secret's prefix: `dckr_pat_` is a PAT,
    /// `dckr_oat_` an OAT, anything else a password.
    pub fn from_identifier_secret(identifier: String, secret: SecretString) -> Self {
        use secrecy::ExposeSecret;
        let s = secret.expose_secret();
        if s.starts_with("dckr_oat_") {
            Credentials::Oat {
                org: identifier,
                token: secret,
            }
        } else if s.starts_with("dckr_pat_") {
            Credentials::Pat {
                username: identifier,
                token: secret,
            }
        } else {
            Credentials::Password {
                username: identifier,
                password: secret,
            }
        }
    }

    /// A short name of the credential type (`pat`, `oat`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Credentials::Anonymous => "anonymous",
            Credentials::Password { .. } => "password",
            Credentials::Pat { .. } => "pat",
            Credentials::Oat { .. } => "oat",
            Credentials::Jwt(_) => "jwt",
        }
    }

    /// The identifier sent when minting, if any.
    pub fn identifier(&self) -> Option<&str> {
        match self {
            Credentials::Password { username, .. } | Credentials::Pat { username, .. } => {
                Some(username)
            }
            Credentials::Oat { org, .. } => Some(org),
            _ => None,
        }
    }

    /// Whether a JWT can be (re-)minted from these credentials.
    pub fn can_mint(&self) -> bool {
        !matches!(self, Credentials::Anonymous | Credentials::Jwt(_))
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.identifier() {
            Some(id) => write!(f, "Credentials::{}({id}, ***)", self.kind()),
            None if matches!(self, Credentials::Jwt(_)) => f.write_str("Credentials::jwt(***)"),
            None => f.write_str("Credentials::anonymous"),
        }
    }
}

/// Supplies a 2FA code when a password login asks for one.
pub type TwoFactorProvider = Arc<dyn Fn() -> Option<SecretString> + Send + Sync>;

/// Everything the client needs; build it with [`Config::from_env`] or [`Config::builder`].
#[derive(Clone)]
pub struct Config {
    /// Hub base URL, no trailing slash.
    pub base_url: String,
    /// Hub credentials.
    pub credentials: Credentials,
    /// SCIM bearer token (`DOCKERHUB_SCIM_TOKEN`); falls back to the Hub JWT.
    pub scim_token: Option<SecretString>,
    /// Allow destructive operations (`DOCKERHUB_ALLOW_DESTRUCTIVE`).
    pub allow_destructive: bool,
    /// Refuse every write (`DOCKERHUB_READ_ONLY`).
    pub read_only: bool,
    /// Verify TLS certificates (`DOCKERHUB_SSL_VERIFY`).
    pub ssl_verify: bool,
    /// Whole-request timeout (`DOCKERHUB_TIMEOUT`, seconds).
    pub timeout: Duration,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// User agent sent on every request.
    pub user_agent: String,
    /// Retry and pacing policy.
    pub retry: RetryPolicy,
    /// Source of 2FA codes for password logins (`DOCKERHUB_2FA_CODE` when from env).
    pub two_factor: Option<TwoFactorProvider>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("base_url", &self.base_url)
            .field("credentials", &self.credentials)
            .field("scim_token", &self.scim_token.as_ref().map(|_| "***"))
            .field("allow_destructive", &self.allow_destructive)
            .field("read_only", &self.read_only)
            .field("ssl_verify", &self.ssl_verify)
            .field("timeout", &self.timeout)
            .field("user_agent", &self.user_agent)
            .field("retry", &self.retry)
            .field("two_factor", &self.two_factor.as_ref().map(|_| "provider"))
            .finish()
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            base_url: DEFAULT_URL.to_string(),
            credentials: Credentials::Anonymous,
            scim_token: None,
            allow_destructive: false,
            read_only: false,
            ssl_verify: true,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            user_agent: format!("dockerhub-api-rs/{}", env!("CARGO_PKG_VERSION")),
            retry: RetryPolicy::default(),
            two_factor: None,
        }
    }
}

/// Parse the seed's boolean spelling: `t`, `true`, `y`, `yes`, `1`, `on`
/// (any case) are true; `f`, `false`, `n`, `no`, `0`, `off` and empty are false.
pub fn parse_bool(name: &str, value: &str) -> Result<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "t" | "true" | "y" | "yes" | "1" | "on" => Ok(true),
        "f" | "false" | "n" | "no" | "0" | "off" | "" => Ok(false),
        other => Err(Error::Config(format!(
            "{name}={other:?} is not a boolean; use true or false"
        ))),
    }
}

impl Config {
    /// Start from defaults.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder(Config::default())
    }

    /// Read the seed's environment names (hub-api-facts §4):
    /// `DOCKERHUB_URL`, `DOCKER_HUB_USER`/`DOCKER_HUB_TOKEN` (falling back to
    /// `DOCKERHUB_USERNAME`/`DOCKERHUB_TOKEN`), `DOCKERHUB_JWT` (wins),
    /// `DOCKERHUB_SCIM_TOKEN`, `DOCKERHUB_SSL_VERIFY`,
    /// `DOCKERHUB_ALLOW_DESTRUCTIVE`, `DOCKERHUB_READ_ONLY`,
    /// `DOCKERHUB_TIMEOUT` and `DOCKERHUB_2FA_CODE`.
    pub fn from_env() -> Result<Config> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`Config::from_env`] with another source of variables (tests, config files).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config> {
        // An empty value counts as unset.
        let env = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let env_bool =
            |name: &str, default: bool| env(name).map_or(Ok(default), |v| parse_bool(name, &v));
        let mut c = Config::default();
        if let Some(url) = env("DOCKERHUB_URL") {
            c.base_url = normalize_base_url(&url)?;
        }
        let user = env("DOCKER_HUB_USER").or_else(|| env("DOCKERHUB_USERNAME"));
        let secret = env("DOCKER_HUB_TOKEN").or_else(|| env("DOCKERHUB_TOKEN"));
        c.credentials = match (env("DOCKERHUB_JWT"), user, secret) {
            (Some(jwt), _, _) => Credentials::Jwt(jwt.into()),
            (None, Some(user), Some(secret)) => {
                Credentials::from_identifier_secret(user, secret.into())
            }
            (None, None, Some(_)) => {
                return Err(Error::Config(
                    "DOCKER_HUB_TOKEN is set but DOCKER_HUB_USER is not; set the username (or org name for an org token)".into(),
                ));
            }
            _ => Credentials::Anonymous,
        };
        c.scim_token = env("DOCKERHUB_SCIM_TOKEN").map(SecretString::from);
        c.allow_destructive = env_bool("DOCKERHUB_ALLOW_DESTRUCTIVE", false)?;
        c.read_only = env_bool("DOCKERHUB_READ_ONLY", false)?;
        c.ssl_verify = env_bool("DOCKERHUB_SSL_VERIFY", true)?;
        if let Some(t) = env("DOCKERHUB_TIMEOUT") {
            let secs: f64 = t.parse().map_err(|_| {
                Error::Config(format!(
                    "DOCKERHUB_TIMEOUT={t:?} is not a number of seconds"
                ))
            })?;
            if !(secs.is_finite() && secs > 0.0) {
                return Err(Error::Config("DOCKERHUB_TIMEOUT must be positive".into()));
            }
            c.timeout = Duration::from_secs_f64(secs);
        }
        if let Some(code) = env("DOCKERHUB_2FA_CODE") {
            let code = SecretString::from(code);
            c.two_factor = Some(Arc::new(move || Some(code.clone())));
        }
        Ok(c)
    }
}

/// Check a base URL and drop its trailing slash.
pub fn normalize_base_url(url: &str) -> Result<String> {
    let parsed = reqwest::Url::parse(url.trim())
        .map_err(|e| Error::Config(format!("DOCKERHUB_URL {url:?} is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Error::Config(format!(
            "DOCKERHUB_URL must be http or https, got {:?}",
            parsed.scheme()
        )));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() || !parsed.username().is_empty() {
        return Err(Error::Config(
            "DOCKERHUB_URL must not carry a query, fragment or user info".into(),
        ));
    }
    Ok(parsed.as_str().trim_end_matches('/').to_string())
}

/// Builder for [`Config`].
#[derive(Debug)]
pub struct ConfigBuilder(Config);

impl ConfigBuilder {
    /// Hub base URL.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.0.base_url = url.into();
        self
    }
    /// Credentials.
    pub fn credentials(mut self, c: Credentials) -> Self {
        self.0.credentials = c;
        self
    }
    /// SCIM bearer token.
    pub fn scim_token(mut self, t: impl Into<SecretString>) -> Self {
        self.0.scim_token = Some(t.into());
        self
    }
    /// Allow destructive operations.
    pub fn allow_destructive(mut self, on: bool) -> Self {
        self.0.allow_destructive = on;
        self
    }
    /// Refuse every write.
    pub fn read_only(mut self, on: bool) -> Self {
        self.0.read_only = on;
        self
    }
    /// Verify TLS certificates.
    pub fn ssl_verify(mut self, on: bool) -> Self {
        self.0.ssl_verify = on;
        self
    }
    /// Whole-request timeout.
    pub fn timeout(mut self, t: Duration) -> Self {
        self.0.timeout = t;
        self
    }
    /// User agent.
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.0.user_agent = ua.into();
        self
    }
    /// Retry and pacing policy.
    pub fn retry(mut self, r: RetryPolicy) -> Self {
        self.0.retry = r;
        self
    }
    /// Source of 2FA codes.
    pub fn two_factor(mut self, p: TwoFactorProvider) -> Self {
        self.0.two_factor = Some(p);
        self
    }
    /// Finish, checking the base URL.
    pub fn build(mut self) -> Result<Config> {
        self.0.base_url = normalize_base_url(&self.0.base_url)?;
        Ok(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(vars: &[(&str, &str)]) -> Result<Config> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn seed_names_and_precedence() {
        let c = from(&[("DOCKER_HUB_USER", "u"), ("DOCKER_HUB_TOKEN", "dckr_pat_x")]).unwrap();
        assert_eq!(c.credentials.kind(), "pat");
        let c = from(&[
            ("DOCKERHUB_USERNAME", "acme"),
            ("DOCKERHUB_TOKEN", "dckr_oat_x"),
        ])
        .unwrap();
        assert_eq!(c.credentials.kind(), "oat");
        assert_eq!(c.credentials.identifier(), Some("acme"));
        let c = from(&[
            ("DOCKER_HUB_USER", "u"),
            ("DOCKER_HUB_TOKEN", "pw"),
            ("DOCKERHUB_USERNAME", "other"),
        ])
        .unwrap();
        assert_eq!(c.credentials.kind(), "password");
        assert_eq!(c.credentials.identifier(), Some("u"));
        let c = from(&[
            ("DOCKER_HUB_USER", "u"),
            ("DOCKER_HUB_TOKEN", "pw"),
            ("DOCKERHUB_JWT", "j"),
        ])
        .unwrap();
        assert_eq!(c.credentials.kind(), "jwt");
        assert!(from(&[("DOCKER_HUB_TOKEN", "pw")]).is_err());
        assert_eq!(from(&[]).unwrap().credentials.kind(), "anonymous");
    }

    #[test]
    fn booleans_urls_and_debug() {
        for t in ["t", "TRUE", "y", "Yes", "1", "on"] {
            assert!(
                from(&[("DOCKERHUB_ALLOW_DESTRUCTIVE", t)])
                    .unwrap()
                    .allow_destructive
            );
        }
        assert!(
            !from(&[("DOCKERHUB_ALLOW_DESTRUCTIVE", "off")])
                .unwrap()
                .allow_destructive
        );
        let e = from(&[("DOCKERHUB_READ_ONLY", "maybe")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("DOCKERHUB_READ_ONLY"), "{e}");
        let c = from(&[("DOCKERHUB_URL", "http://127.0.0.1:9/")]).unwrap();
        assert_eq!(c.base_url, "http://127.0.0.1:9");
        assert!(from(&[("DOCKERHUB_URL", "ftp://x")]).is_err());
        assert!(from(&[("DOCKERHUB_SSL_VERIFY", "false")]).is_ok_and(|c| !c.ssl_verify));
        let c = from(&[("DOCKER_HUB_USER", "u"), ("DOCKER_HUB_TOKEN", "hunter2")]).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
