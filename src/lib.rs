//! Typed Docker Hub API client.
//!
//! The client is generated at build time from the vendored spec in `openapi/`
//! (see `build.rs`); one middleware layer ([`hooks`]) adds the JWT lifecycle,
//! retries, rate-limit telemetry, redaction and safety gating. [`Hub`] is the
//! entry point; [`catalog::OPERATIONS`] lists every operation.
//!
//! ```no_run
//! # async fn demo() -> dockerhub_api::Result<()> {
//! use dockerhub_api::{Hub, catalog::Module};
//! use futures::TryStreamExt;
//! let hub = Hub::from_env()?;
//! let repos = hub
//!     .call_action(Module::Repos, "list", &serde_json::json!({"namespace": "acme"}))
//!     .await?;
//! println!("{} (quota left: {:?})", repos.data, repos.rate_limit.remaining);
//! let op = dockerhub_api::catalog::find(Module::Repos, "list_tags").expect("in catalog");
//! let tags: Vec<_> = hub
//!     .items(op, &serde_json::json!({"namespace": "acme", "repository": "app"}), None)
//!     .try_collect()
//!     .await?;
//! # let _ = tags; Ok(()) }
//! ```

pub mod auth;
pub mod catalog;
#[cfg(feature = "cli")]
pub mod cli;
mod client;
pub mod config;
#[cfg(feature = "demo")]
pub mod demo;
pub mod envelope;
pub mod error;
pub mod generated;
pub mod hooks;
mod observe;
pub mod pagination;
pub mod params;
pub mod ratelimit;
pub mod redact;
pub mod retry;
#[cfg(feature = "otel")]
pub mod telemetry;

pub use client::Hub;
pub use config::{Config, Credentials};
pub use envelope::Envelope;
pub use error::{Error, Result};
pub use ratelimit::RateLimit;
