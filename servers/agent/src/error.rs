//! The agent layer's one error type.

/// Everything the agent layer can fail with. Messages say what failed and
/// what to do; none of them carries a secret.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The settings are unusable.
    #[error("configuration error: {0}")]
    Config(String),
    /// The Docker Hub SDK failed before any tool ran (building the client, the demo emulator).
    #[error(transparent)]
    Hub(#[from] dockerhub_api::Error),
    /// The MCP server could not be reached or answered badly.
    #[error("MCP server error: {0}")]
    Mcp(String),
    /// The language model endpoint failed.
    #[error("language model error: {0}")]
    Llm(String),
    /// The model did not finish within the turn cap.
    #[error("the model did not finish within {0} turns; raise MAX_TURNS or rephrase the request")]
    TurnCap(usize),
    /// The request cannot be served (bad input, unknown tool).
    #[error("{0}")]
    BadRequest(String),
    /// The run was cancelled.
    #[error("cancelled")]
    Cancelled,
    /// Binding or serving failed.
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

/// Shorthand for results of the agent layer.
pub type Result<T, E = AgentError> = std::result::Result<T, E>;
