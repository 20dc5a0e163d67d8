//! The server layer's one error type.

/// Everything that stops the server from starting or serving.
///
/// Tool-level failures are not errors here: they become `isError` results.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A flag or environment variable is unusable.
    #[error("configuration error: {0}")]
    Config(String),
    /// The SDK refused to build a client, or the demo emulator did not start.
    #[error(transparent)]
    Hub(#[from] dockerhub_api::Error),
    /// Binding or serving a socket failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The MCP session over stdio failed.
    #[error("MCP transport error: {0}")]
    Transport(String),
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
