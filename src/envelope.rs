//! The result envelope every front end renders: `{status_code, data, rate_limit}`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ratelimit::RateLimit;

/// One call's result, in the seed's JSON form. HEAD checks add `exists`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Envelope {
    /// HTTP status of the final answer.
    pub status_code: u16,
    /// Parsed body: JSON, text for the CSV export, `null` for an empty body.
    /// Secrets are redacted.
    pub data: Value,
    /// The `X-RateLimit-*` snapshot of this answer (or the last one seen).
    pub rate_limit: RateLimit,
    /// For HEAD checks: whether the resource exists (404 is `false`, not an error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exists: Option<bool>,
}
