//! The CLI layer's one error type, and its exit codes.

use std::process::ExitCode;

use crate::error::Error as SdkError;

/// Documented exit codes (see `docs/cli.md`).
pub mod code {
    /// Success.
    pub const OK: u8 = 0;
    /// A failure with no more specific code (I/O, undecodable answer, a prune
    /// that finished with failed deletes).
    pub const FAILURE: u8 = 1;
    /// Bad usage: unknown flag, bad parameter value, bad configuration.
    pub const USAGE: u8 = 2;
    /// Authentication failed or no credentials (401).
    pub const AUTH: u8 = 3;
    /// Hub refused the operation for this credential (403).
    pub const FORBIDDEN: u8 = 4;
    /// The resource does not exist (404).
    pub const NOT_FOUND: u8 = 5;
    /// Blocked by the safety gate, or the confirmation was declined.
    pub const BLOCKED: u8 = 6;
    /// Rate-limited (429) after the retry budget was spent.
    pub const RATE_LIMITED: u8 = 7;
    /// Any other error answer from Hub (4xx/5xx).
    pub const API: u8 = 8;
    /// No answer: connection refused, dropped, timed out.
    pub const TRANSPORT: u8 = 9;
    /// Interrupted (Ctrl-C).
    pub const INTERRUPTED: u8 = 130;
}

/// Everything a CLI command can fail with.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// An SDK error (Hub, transport, safety gate, parameters).
    #[error("{0}")]
    Sdk(#[from] SdkError),
    /// The command line is wrong.
    #[error("{message}")]
    Usage {
        /// What is wrong.
        message: String,
        /// What to do instead.
        hint: Option<String>,
    },
    /// The user declined a confirmation, or none could be asked.
    #[error("{0}")]
    Declined(String),
    /// A local file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The command ran but some of its work failed (prune with failed deletes).
    #[error("{0}")]
    Partial(String),
    /// Interrupted by a signal.
    #[error("interrupted")]
    Interrupted,
}

/// Shorthand for CLI results.
pub type CliResult<T = ()> = Result<T, CliError>;

impl CliError {
    /// A usage error with an optional hint.
    pub fn usage(message: impl Into<String>, hint: Option<&str>) -> Self {
        CliError::Usage {
            message: message.into(),
            hint: hint.map(str::to_string),
        }
    }

    /// An I/O error on `path`.
    pub fn io(path: impl std::fmt::Display, source: std::io::Error) -> Self {
        CliError::Io {
            path: path.to_string(),
            source,
        }
    }

    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage { .. } => code::USAGE,
            CliError::Declined(_) => code::BLOCKED,
            CliError::Io { .. } | CliError::Partial(_) => code::FAILURE,
            CliError::Interrupted => code::INTERRUPTED,
            CliError::Sdk(e) => match e {
                SdkError::Config(_) | SdkError::InvalidParams { .. } => code::USAGE,
                SdkError::Auth { .. } => code::AUTH,
                SdkError::Forbidden { .. } => code::FORBIDDEN,
                SdkError::NotFound { .. } => code::NOT_FOUND,
                SdkError::Blocked { .. } => code::BLOCKED,
                SdkError::RateLimited { .. } => code::RATE_LIMITED,
                SdkError::Api { .. } => code::API,
                SdkError::Transport { .. } => code::TRANSPORT,
                SdkError::Decode { .. } => code::FAILURE,
            },
        }
    }

    /// A hint line, where one exists.
    pub fn hint(&self) -> Option<String> {
        match self {
            CliError::Usage { hint, .. } => hint.clone(),
            CliError::Declined(_) => {
                Some("pass --yes to confirm without a prompt".to_string())
            }
            CliError::Sdk(SdkError::Auth { .. }) => Some(
                "set DOCKER_HUB_USER and DOCKER_HUB_TOKEN, pipe a token to --password-stdin, or run `docker login`"
                    .to_string(),
            ),
            CliError::Sdk(SdkError::Blocked { .. }) => Some(
                "pass --allow-destructive (or set DOCKERHUB_ALLOW_DESTRUCTIVE=true) to allow it"
                    .to_string(),
            ),
            CliError::Sdk(SdkError::RateLimited { .. }) => {
                Some("wait for the quota to reset (`dockerhub rate-limit` shows it)".to_string())
            }
            CliError::Sdk(SdkError::Transport { .. }) => {
                Some("check --url / DOCKERHUB_URL and the network".to_string())
            }
            _ => None,
        }
    }

    /// Print the error (one line, plus a hint line) to stderr and return the exit code.
    pub fn report(&self) -> ExitCode {
        eprintln!("error: {self}");
        if let Some(h) = self.hint() {
            eprintln!("hint: {h}");
        }
        ExitCode::from(self.exit_code())
    }
}
