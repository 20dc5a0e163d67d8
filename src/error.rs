//! The SDK's one error type.

use std::time::Duration;

/// Everything a call through the SDK can fail with.
///
/// Messages say what failed and what to do; none of them ever contains a
/// secret (bodies quoted here have been redacted).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration is unusable (bad URL, bad environment value).
    #[error("configuration error: {0}")]
    Config(String),

    /// Credentials were refused, or no credentials are configured for an
    /// operation that needs them.
    #[error("authentication failed: {message}")]
    Auth {
        /// What went wrong and what to do.
        message: String,
    },

    /// Hub answered 403.
    #[error("forbidden ({operation}): {detail}{}", hint.as_deref().map(|h| format!(". {h}")).unwrap_or_default())]
    Forbidden {
        /// `module.action` of the call.
        operation: String,
        /// Hub's detail message.
        detail: String,
        /// Which credential type is needed, when Hub's body tells.
        hint: Option<String>,
    },

    /// Hub answered 404.
    #[error("not found ({operation}): {detail}")]
    NotFound {
        /// `module.action` of the call.
        operation: String,
        /// Hub's detail message.
        detail: String,
    },

    /// Hub answered 429 and the retry budget is spent.
    #[error("rate limited ({operation}): retry after {}{}", fmt_wait(*retry_after), reset.map(|r| format!(" (quota resets at unix {r})")).unwrap_or_default())]
    RateLimited {
        /// `module.action` of the call.
        operation: String,
        /// How long Hub asked to wait, when it said.
        retry_after: Option<Duration>,
        /// `X-RateLimit-Remaining` of the last answer.
        remaining: Option<u64>,
        /// `X-RateLimit-Reset` (unix seconds) of the last answer.
        reset: Option<u64>,
    },

    /// The safety gate refused the operation before any network I/O.
    #[error("{operation} is blocked: {reason}; {enable}")]
    Blocked {
        /// `module.action` that was refused.
        operation: String,
        /// Why (destructive, or read-only mode).
        reason: String,
        /// How to enable it.
        enable: String,
    },

    /// The parameters do not match the operation's schema.
    #[error("invalid parameters for {operation}: {message}")]
    InvalidParams {
        /// `module.action` of the call.
        operation: String,
        /// What was wrong, with the valid choices.
        message: String,
    },

    /// Any other non-success answer.
    #[error("HTTP {status} for {method} {path}: {detail}")]
    Api {
        /// HTTP status.
        status: u16,
        /// HTTP method.
        method: String,
        /// Request path (no query).
        path: String,
        /// Hub's detail message, or a short excerpt of the body.
        detail: String,
    },

    /// The request never got an answer (connection, TLS, timeout).
    #[error("transport error ({operation}): {message}")]
    Transport {
        /// `module.action` of the call.
        operation: String,
        /// What the transport said.
        message: String,
    },

    /// The answer could not be decoded.
    #[error("could not decode the answer of {operation}: {message}; body starts with: {excerpt}")]
    Decode {
        /// `module.action` of the call.
        operation: String,
        /// What the decoder said.
        message: String,
        /// The first bytes of the body (redacted).
        excerpt: String,
    },
}

fn fmt_wait(d: Option<Duration>) -> String {
    match d {
        Some(d) => format!("{}s", d.as_secs().max(1)),
        None => "an unknown time".to_string(),
    }
}

impl Error {
    /// HTTP status behind the error, when there is one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Forbidden { .. } => Some(403),
            Error::NotFound { .. } => Some(404),
            Error::RateLimited { .. } => Some(429),
            Error::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// A stable machine-readable kind (`blocked`, `rate_limited`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Config(_) => "config",
            Error::Auth { .. } => "auth",
            Error::Forbidden { .. } => "forbidden",
            Error::NotFound { .. } => "not_found",
            Error::RateLimited { .. } => "rate_limited",
            Error::Blocked { .. } => "blocked",
            Error::InvalidParams { .. } => "invalid_params",
            Error::Api { .. } => "api",
            Error::Transport { .. } => "transport",
            Error::Decode { .. } => "decode",
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error and its `source()` chain on one line (`outer: inner: root`), for
/// messages that must say what went wrong underneath.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}
