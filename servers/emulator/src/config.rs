//! Emulator configuration.

use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Which data set the emulator starts with (and returns to on reset).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Seed {
    /// The realistic demo data set described in `docs/emulator.md`.
    #[default]
    Demo,
    /// Only the demo users and the `acme` org shell: no repositories, teams, invites or tokens.
    Empty,
}

impl FromStr for Seed {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "demo" => Ok(Self::Demo),
            "empty" => Ok(Self::Empty),
            other => Err(format!("unknown seed {other:?} (expected demo or empty)")),
        }
    }
}

/// The form of the `Retry-After` header on a 429.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetryAfterForm {
    /// Delay in seconds (what the spec says).
    #[default]
    #[serde(alias = "secs")]
    Seconds,
    /// Absolute unix timestamp (what Hub sent in May 2025).
    #[serde(alias = "unix")]
    Epoch,
    /// An RFC 7231 HTTP date.
    #[serde(alias = "http-date", alias = "httpdate", alias = "date")]
    HttpDate,
}

impl FromStr for RetryAfterForm {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "seconds" | "secs" => Ok(Self::Seconds),
            "epoch" | "unix" => Ok(Self::Epoch),
            "http-date" | "httpdate" | "date" => Ok(Self::HttpDate),
            other => Err(format!(
                "unknown retry-after form {other:?} (expected seconds, epoch or http-date)"
            )),
        }
    }
}

impl RetryAfterForm {
    /// Render a `Retry-After` value for a wait of `secs` seconds from now.
    pub fn render(self, secs: u64) -> String {
        // Clamp so that absurd values from the admin API cannot overflow the clock.
        let secs = secs.min(10 * 365 * 86_400);
        match self {
            Self::Seconds => secs.to_string(),
            Self::Epoch => crate::util::now_secs().saturating_add(secs).to_string(),
            Self::HttpDate => {
                httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(secs))
            }
        }
    }
}

/// Configuration for [`crate::Emulator::start`].
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Address to bind (default 127.0.0.1).
    pub host: IpAddr,
    /// Port to bind (default 0: an ephemeral port).
    pub port: u16,
    /// Initial data set.
    pub seed: Seed,
    /// Lifetime of minted JWTs (default 600 s).
    pub token_ttl: Duration,
    /// Requests per window and identity (default 180; 0 disables rate limiting).
    pub rate_limit: u32,
    /// Rate-limit window (default 60 s).
    pub rate_window: Duration,
    /// Form of `Retry-After` on rate-limit 429s.
    pub retry_after: RetryAfterForm,
    /// Largest accepted request body (default 1 MiB); larger bodies get 413.
    pub max_body_bytes: usize,
    /// Serve the `/_emulator/` admin API. `None`: only when bound to a loopback address.
    pub admin_api: Option<bool>,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            seed: Seed::Demo,
            token_ttl: Duration::from_secs(600),
            rate_limit: 180,
            rate_window: Duration::from_secs(60),
            retry_after: RetryAfterForm::Seconds,
            max_body_bytes: 1024 * 1024,
            admin_api: None,
        }
    }
}

impl EmulatorConfig {
    /// Whether the admin API is served with this configuration.
    pub fn admin_enabled(&self) -> bool {
        self.admin_api.unwrap_or_else(|| self.host.is_loopback())
    }
}
