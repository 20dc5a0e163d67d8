//! Retry, backoff and pacing decisions, with an injectable clock.
//!
//! The decisions here are pure functions of the response headers, the policy
//! and the clock, so tests can check every wait exactly.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::ratelimit::RateLimit;

/// Bounds on retrying and pacing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, first one included (default 4).
    pub max_attempts: u32,
    /// Cap on one wait (default 60 s).
    pub max_wait: Duration,
    /// Cap on the sum of all waits of one call (default 120 s).
    pub budget: Duration,
    /// First exponential backoff step (default 500 ms).
    pub base_backoff: Duration,
    /// Random extra wait, as a fraction of the wait (default 0.1; 0 in tests).
    pub jitter: f64,
    /// Start spreading calls out when `remaining` falls to this fraction of
    /// `limit` (default 0.1).
    pub pace_below: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            max_wait: Duration::from_secs(60),
            budget: Duration::from_secs(120),
            base_backoff: Duration::from_millis(500),
            jitter: 0.1,
            pace_below: 0.1,
        }
    }
}

/// A source of time and of sleeping, injectable for exact tests.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Wall-clock now.
    fn now(&self) -> SystemTime;
    /// Sleep for `d`.
    fn sleep(&self, d: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}

/// The real clock: system time and `tokio::time::sleep`.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
    fn sleep(&self, d: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(tokio::time::sleep(d))
    }
}

/// Shared clock handle.
pub type SharedClock = Arc<dyn Clock>;

/// Unix seconds of a time (0 before the epoch).
pub fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Parse `Retry-After` in its three forms: delta seconds, a unix epoch (any
/// number above 10⁹, as Hub sent in 2025) or an HTTP date. Returns the wait
/// from `now`.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(n) = v.parse::<f64>() {
        if !n.is_finite() || n < 0.0 {
            return None;
        }
        if n > 1e9 {
            let at = UNIX_EPOCH + Duration::from_secs_f64(n);
            return Some(at.duration_since(now).unwrap_or(Duration::ZERO));
        }
        return Some(Duration::from_secs_f64(n));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Why a call is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryCause {
    /// 429.
    RateLimited,
    /// 5xx on an idempotent method.
    ServerError,
    /// Connection failure on an idempotent method.
    Transport,
}

/// The wait before retry number `attempt` (1 = first retry).
///
/// For a 429 this is `Retry-After`, else the time to `X-RateLimit-Reset`
/// when `remaining` is 0, else exponential backoff. Server and transport
/// errors use exponential backoff. The result is capped at `max_wait`; jitter
/// is applied by the caller.
pub fn retry_wait(
    policy: &RetryPolicy,
    cause: RetryCause,
    attempt: u32,
    retry_after: Option<Duration>,
    rate: Option<&RateLimit>,
    now: SystemTime,
) -> Duration {
    let backoff = policy
        .base_backoff
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
    let wait = match cause {
        RetryCause::RateLimited => retry_after
            .or_else(|| rate.and_then(|r| r.wait_for_reset(now)))
            .unwrap_or(backoff),
        RetryCause::ServerError | RetryCause::Transport => backoff,
    };
    wait.min(policy.max_wait)
}

/// Add up to `policy.jitter` of `wait`, at random.
pub fn with_jitter(policy: &RetryPolicy, wait: Duration) -> Duration {
    if policy.jitter <= 0.0 || wait.is_zero() {
        return wait;
    }
    let f: f64 = rand::random::<f64>() * policy.jitter;
    wait + wait.mul_f64(f)
}

/// Shares the quota between concurrent calls. Each call reserves one unit of
/// the last snapshot's `remaining` before it is sent; when little is left,
/// calls get successive slots spread evenly until the reset, and when nothing
/// is left they wait for the reset.
#[derive(Debug, Default)]
pub struct Pacer {
    snapshot: Option<RateLimit>,
    reserved: u64,
    next_slot: Option<SystemTime>,
}

impl Pacer {
    /// Take in a new snapshot; `unanswered` requests are still on the wire
    /// and not counted in it yet.
    pub fn observe(&mut self, rate: RateLimit, unanswered: u64) {
        self.snapshot = Some(rate);
        self.reserved = unanswered;
    }

    /// Reserve a unit for one call; returns how long to hold it back.
    pub fn reserve(&mut self, policy: &RetryPolicy, now: SystemTime) -> Option<Duration> {
        let rate = self.snapshot?;
        let window = rate.wait_for_reset(now).filter(|w| !w.is_zero())?;
        let remaining = rate.remaining?;
        let left = remaining.saturating_sub(self.reserved);
        self.reserved += 1;
        if left == 0 {
            return Some(window.min(policy.max_wait));
        }
        let limit = rate.limit.unwrap_or(remaining).max(1);
        let threshold = ((limit as f64) * policy.pace_below).ceil() as u64;
        if left > threshold {
            return None;
        }
        let step = window / (left as u32 + 1);
        let slot = self.next_slot.filter(|s| *s > now).unwrap_or(now) + step;
        self.next_slot = Some(slot);
        Some(
            slot.duration_since(now)
                .unwrap_or(Duration::ZERO)
                .min(policy.max_wait),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn retry_after_forms() {
        let now = at(1_800_000_000);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("1800000012", now),
            Some(Duration::from_secs(12))
        );
        let date = httpdate::fmt_http_date(at(1_800_000_030));
        assert_eq!(parse_retry_after(&date, now), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after("1700000000", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-3", now), None);
    }

    #[test]
    fn waits_are_capped_and_fall_back() {
        let p = RetryPolicy {
            jitter: 0.0,
            ..RetryPolicy::default()
        };
        let now = at(1000);
        let rl = RateLimit {
            limit: Some(180),
            remaining: Some(0),
            reset: Some(1020),
        };
        let w = retry_wait(&p, RetryCause::RateLimited, 1, None, Some(&rl), now);
        assert_eq!(w, Duration::from_secs(20));
        let w = retry_wait(
            &p,
            RetryCause::RateLimited,
            1,
            Some(Duration::from_secs(3600)),
            None,
            now,
        );
        assert_eq!(w, Duration::from_secs(60));
        let w = retry_wait(&p, RetryCause::ServerError, 3, None, None, now);
        assert_eq!(w, Duration::from_secs(2));
    }

    #[test]
    fn pacer_shares_the_quota_between_concurrent_calls() {
        let p = RetryPolicy::default();
        let now = at(1000);
        let mut pacer = Pacer::default();
        assert_eq!(pacer.reserve(&p, now), None, "no snapshot yet");
        pacer.observe(
            RateLimit {
                limit: Some(10),
                remaining: Some(3),
                reset: Some(1008),
            },
            0,
        );
        // Three left, threshold 1: two go now, the third gets a slot, the
        // fourth waits for the reset.
        assert_eq!(pacer.reserve(&p, now), None);
        assert_eq!(pacer.reserve(&p, now), None);
        assert_eq!(pacer.reserve(&p, now), Some(Duration::from_secs(4)));
        assert_eq!(pacer.reserve(&p, now), Some(Duration::from_secs(8)));
        // After the reset the stale snapshot holds nothing back.
        assert_eq!(pacer.reserve(&p, at(1009)), None);
    }
}
