//! `dockerhub-emulator`: a stateful, offline Docker Hub API emulator with fault injection.
//!
//! ```no_run
//! # async fn demo() -> Result<(), dockerhub_emulator::EmulatorError> {
//! use dockerhub_emulator::{Emulator, EmulatorConfig, demo};
//! let hub = Emulator::start(EmulatorConfig::default()).await?;
//! println!("{} (user {} / {})", hub.base_url(), demo::USERNAME, demo::PAT);
//! hub.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! See `docs/emulator.md` for the routes, the seed and the admin API.

mod admin;
mod auth;
pub mod config;
pub mod faults;
mod http;
mod jwt;
mod model;
mod pagination;
mod ratelimit;
mod router;
mod routes;
mod seed;
mod server;
mod util;

pub use config::{EmulatorConfig, RetryAfterForm, Seed};
pub use faults::{Fault, FaultKind};
pub use seed::demo;
pub use server::{Emulator, EmulatorError, EmulatorHandle, RequestRecord};
