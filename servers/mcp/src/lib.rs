//! `dockerhub-mcp`: the Docker Hub MCP server.
//!
//! Seven tools (`hub_auth` … `hub_admin`) generated from the SDK catalog
//! ([`tools`]), one handler ([`server::McpServer`]), served over stdio,
//! streamable HTTP at `/mcp` (both spec eras, [`http`]) and legacy SSE.

mod args;
pub mod auth;
pub mod config;
mod confirm;
pub mod error;
pub mod http;
pub mod policy;
mod results;
pub mod security;
pub mod server;
pub mod sse;
pub mod tools;

pub use config::{Config, Transport};
pub use error::{Error, Result};
pub use server::{Limits, McpServer};
pub use tools::Toolset;

use rmcp::ServiceExt;

/// The handler for `cfg`: the generated tools over `hub`, with the tool-call
/// policy (`EUNOMIA_TYPE`) installed as a guard when one is configured.
pub fn build_server(cfg: &Config, hub: dockerhub_api::Hub) -> Result<McpServer> {
    let server = McpServer::from_config(cfg, hub)?;
    let policy = policy::Policy::from_args(&cfg.security.policy)
        .map_err(|e| Error::Config(e.to_string()))?;
    Ok(if policy.is_enabled() {
        server.with_guard(security::tool_guard(std::sync::Arc::new(policy)))
    } else {
        server
    })
}

/// Serve MCP over stdin/stdout until the client closes the stream.
pub async fn serve_stdio(server: McpServer) -> Result<()> {
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| Error::Transport(e.to_string()))?;
    running
        .waiting()
        .await
        .map_err(|e| Error::Transport(e.to_string()))?;
    Ok(())
}

/// The telemetry settings of the server: the environment
/// ([`dockerhub_api::telemetry::TelemetryConfig::from_env`], service name
/// `dockerhub-mcp`), with the log filter from `RUST_LOG`, else
/// `--log-level` / `FASTMCP_LOG_LEVEL`, passed through [`log_filter`].
pub fn telemetry_config(cfg: &Config) -> Result<dockerhub_api::telemetry::TelemetryConfig> {
    let mut t = dockerhub_api::telemetry::TelemetryConfig::from_env("dockerhub-mcp")
        .map_err(|e| Error::Config(e.to_string()))?;
    let rust_log = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty());
    t.log.filter = log_filter(rust_log.as_deref().unwrap_or(&cfg.log_level));
    Ok(t)
}

/// The tracing filter for a log level setting (`RUST_LOG`, or its alias
/// `FASTMCP_LOG_LEVEL`).
///
/// rmcp logs whole requests, tool arguments included, at `debug`; arguments
/// can hold secrets (`hub_auth` passwords), so rmcp is capped at `info`
/// unless the setting names `rmcp` itself.
pub fn log_filter(level: &str) -> String {
    let level = level.trim();
    let level = if level.is_empty() { "info" } else { level };
    if level.contains("rmcp") {
        level.to_string()
    } else {
        format!("{level},rmcp=info")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn log_filter_caps_rmcp_payload_logs() {
        assert_eq!(super::log_filter("debug"), "debug,rmcp=info");
        assert_eq!(super::log_filter(""), "info,rmcp=info");
        assert_eq!(super::log_filter("info,rmcp=trace"), "info,rmcp=trace");
    }
}
