//! Fixed-window rate limiting per identity.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::config::RetryAfterForm;

/// Outcome of one rate-limit check.
#[derive(Debug, Clone, Copy)]
pub struct RateInfo {
    pub limit: u32,
    pub remaining: u32,
    /// Epoch seconds when the window resets.
    pub reset: u64,
    pub exceeded: bool,
    pub retry_after_secs: u64,
}

impl RateInfo {
    pub fn headers(&self) -> [(&'static str, String); 3] {
        [
            ("x-ratelimit-limit", self.limit.to_string()),
            ("x-ratelimit-remaining", self.remaining.to_string()),
            ("x-ratelimit-reset", self.reset.to_string()),
        ]
    }
}

#[derive(Debug)]
pub struct RateLimiter {
    pub limit: u32,
    pub window: Duration,
    pub form: RetryAfterForm,
    buckets: HashMap<String, (u128, u32)>,
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

impl RateLimiter {
    pub fn new(limit: u32, window: Duration, form: RetryAfterForm) -> Self {
        Self {
            limit,
            window,
            form,
            buckets: HashMap::new(),
        }
    }

    pub fn configure(&mut self, limit: u32, window: Duration) {
        self.limit = limit;
        self.window = window.max(Duration::from_millis(1));
        self.buckets.clear();
    }

    pub fn reset(&mut self) {
        self.buckets.clear();
    }

    /// Count a request for `key` (when `consume`) and report the window. `None` when disabled.
    pub fn check(&mut self, key: &str, consume: bool) -> Option<RateInfo> {
        if self.limit == 0 {
            return None;
        }
        let now = now_ms();
        let window = self.window.as_millis().max(1);
        if self.buckets.len() > 10_000 {
            self.buckets.retain(|_, (start, _)| now < *start + window);
        }
        let entry = self.buckets.entry(key.to_string()).or_insert((now, 0));
        if now >= entry.0 + window {
            *entry = (now, 0);
        }
        let exceeded = entry.1 >= self.limit;
        if consume && !exceeded {
            entry.1 += 1;
        }
        let end = entry.0 + window;
        let reset = u64::try_from(end.div_ceil(1000)).unwrap_or(u64::MAX);
        let retry = u64::try_from((end.saturating_sub(now)).div_ceil(1000))
            .unwrap_or(1)
            .max(1);
        Some(RateInfo {
            limit: self.limit,
            remaining: self.limit.saturating_sub(entry.1),
            reset,
            exceeded,
            retry_after_secs: retry,
        })
    }
}
