//! HTTP security for the MCP server: auth, Host/Origin allow-lists, body limit,
//! RFC 9728 metadata. Owned by the edge engineer; this file is the placeholder
//! seam the core (`crate::http`) calls.

use poem::{Endpoint, EndpointExt, Route};

/// Security flags, flattened into [`crate::config::Config`] (`#[command(flatten)]`).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct SecurityArgs {}

/// Wrap the MCP routes (`/mcp`, `/health`, `/sse`…) with the security
/// middleware. Called once by [`crate::http::serve_http`].
pub fn apply(
    route: Route,
    cfg: &crate::config::Config,
) -> Result<poem::endpoint::BoxEndpoint<'static>, crate::Error> {
    let _ = cfg;
    Ok(route.map_to_response().boxed())
}

/// The `Host` values rmcp's own check accepts on `/mcp` (empty disables it,
/// leaving the Host check to [`apply`]).
pub fn rmcp_allowed_hosts(cfg: &crate::config::Config) -> Vec<String> {
    let mut hosts = vec!["localhost".to_string(), "127.0.0.1".into(), "::1".into()];
    if !hosts.contains(&cfg.host) {
        hosts.push(cfg.host.clone());
    }
    hosts
}
