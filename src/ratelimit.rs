//! `X-RateLimit-*` snapshots.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::HeaderMap;
use serde::{Deserialize, Serialize};

/// The `X-RateLimit-*` headers of one answer: `{limit, remaining, reset}`,
/// the seed's JSON form. `reset` is unix seconds.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct RateLimit {
    /// `X-RateLimit-Limit`.
    pub limit: Option<u64>,
    /// `X-RateLimit-Remaining`.
    pub remaining: Option<u64>,
    /// `X-RateLimit-Reset`, unix seconds.
    pub reset: Option<u64>,
}

fn header_u64(h: &HeaderMap, name: &str) -> Option<u64> {
    let v = h.get(name)?.to_str().ok()?.trim();
    v.parse::<u64>().ok().or_else(|| {
        v.parse::<f64>()
            .ok()
            .filter(|f| f.is_finite() && *f >= 0.0)
            .map(|f| f as u64)
    })
}

impl RateLimit {
    /// Read the headers; `None` when none of the three is present.
    pub fn from_headers(h: &HeaderMap) -> Option<RateLimit> {
        let rl = RateLimit {
            limit: header_u64(h, "x-ratelimit-limit"),
            remaining: header_u64(h, "x-ratelimit-remaining"),
            reset: header_u64(h, "x-ratelimit-reset"),
        };
        (rl != RateLimit::default()).then_some(rl)
    }

    /// Time from `now` to the reset, if the reset is known.
    pub fn wait_for_reset(&self, now: SystemTime) -> Option<Duration> {
        let at = UNIX_EPOCH + Duration::from_secs(self.reset?);
        Some(at.duration_since(now).unwrap_or(Duration::ZERO))
    }
}
