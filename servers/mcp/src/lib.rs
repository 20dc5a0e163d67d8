//! `dockerhub-mcp`: the Docker Hub MCP server.
//!
//! Seven tools (`hub_auth` … `hub_admin`) generated from the SDK catalog, served over stdio,
//! streamable HTTP (both spec eras) and legacy SSE.

pub mod auth;
pub mod policy;
pub mod security;
pub mod sse;
