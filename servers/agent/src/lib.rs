//! `dockerhub-agent`: an A2A v1.0 and AG-UI server, with an optional web
//! chat, that drives the seven Docker Hub tools, either through an MCP
//! server (`--mcp-url`) or in-process through the SDK.
//!
//! - [`config::Settings`]: flags and environment, with the seed's names.
//! - [`tools::ToolBackend`]: how tools run ([`tools::InProcessBackend`], [`mcp::McpBackend`]).
//! - [`engine::Engine`]: the no-LLM direct call and the LLM tool loop.
//! - [`a2a`], [`agui`]: the two protocol faces; [`server`]: HTTP.

pub mod a2a;
pub mod agui;
pub mod config;
pub mod engine;
pub mod error;
pub mod legacy;
pub mod llm;
pub mod mcp;
pub mod server;
pub mod store;
pub mod tools;

pub use config::Settings;
pub use error::{AgentError, Result};
pub use server::{Agent, Running};
