//! The middleware's metric recording points: forwarded to
//! [`crate::telemetry`] with the `otel` feature, no-ops without it.
#![cfg_attr(not(feature = "otel"), allow(unused_variables))]

use std::time::Duration;

/// One finished Hub request (all its attempts).
pub(crate) fn hub_request(
    operation: &'static str,
    method: &'static str,
    status: Option<u16>,
    retries: u32,
    elapsed: Duration,
    remaining: Option<u64>,
) {
    #[cfg(feature = "otel")]
    crate::telemetry::record_hub_request(operation, method, status, retries, elapsed, remaining);
}

/// One 429 answer.
pub(crate) fn rate_limited(operation: &'static str) {
    #[cfg(feature = "otel")]
    crate::telemetry::record_rate_limited(operation);
}

/// One JWT mint.
pub(crate) fn mint(kind: &'static str, ok: bool) {
    #[cfg(feature = "otel")]
    crate::telemetry::record_mint(kind, ok);
}
