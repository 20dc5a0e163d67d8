//! Injected faults: queued per method and path glob, consumed in order.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::config::RetryAfterForm;

/// What an injected fault does to a matching request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    /// Answer with this status (and a Hub-shaped error body) instead of handling the request.
    Status {
        status: u16,
        #[serde(default)]
        retry_after: Option<RetryAfterForm>,
        #[serde(default = "default_retry_secs")]
        retry_after_secs: u64,
    },
    /// Close the connection without a complete response.
    Drop,
    /// Wait this long, then handle the request normally.
    Latency { ms: u64 },
    /// Answer 200 with a truncated JSON body.
    MalformedJson,
}

fn default_retry_secs() -> u64 {
    1
}

fn default_count() -> u32 {
    1
}

fn default_path() -> String {
    "*".to_string()
}

/// One queued fault. `path` is a glob where `*` matches any run of characters (including `/`),
/// matched against the request path without its trailing slash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default = "default_path")]
    pub path: String,
    #[serde(default = "default_count")]
    pub count: u32,
    #[serde(flatten)]
    pub kind: FaultKind,
}

impl Fault {
    fn matches(&self, method: &str, path: &str) -> bool {
        let method_ok = self
            .method
            .as_deref()
            .is_none_or(|m| m.is_empty() || m == "*" || m.eq_ignore_ascii_case(method));
        let pattern = trim_trailing_slash(&self.path);
        method_ok && glob_match(pattern, path)
    }
}

/// Strip trailing slashes, keeping a lone `/`.
pub fn trim_trailing_slash(p: &str) -> &str {
    let t = p.trim_end_matches('/');
    if t.is_empty() && p.starts_with('/') {
        "/"
    } else {
        t
    }
}

/// Glob match with `*` as the only wildcard (iterative, linear backtracking).
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p = pattern.as_bytes();
    let t = text.as_bytes();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

/// The fault queue.
#[derive(Debug, Default)]
pub struct FaultQueue {
    faults: VecDeque<Fault>,
}

impl FaultQueue {
    pub fn push(&mut self, fault: Fault) {
        if fault.count > 0 {
            self.faults.push_back(fault);
        }
    }

    pub fn clear(&mut self) {
        self.faults.clear();
    }

    pub fn list(&self) -> Vec<Fault> {
        self.faults.iter().cloned().collect()
    }

    /// Consume one use of the first fault matching this request.
    pub fn take(&mut self, method: &str, path: &str) -> Option<FaultKind> {
        let idx = self.faults.iter().position(|f| f.matches(method, path))?;
        let fault = self.faults.get_mut(idx)?;
        fault.count = fault.count.saturating_sub(1);
        let kind = fault.kind.clone();
        if fault.count == 0 {
            self.faults.remove(idx);
        }
        Some(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match(
            "/v2/namespaces/*/repositories/*/tags",
            "/v2/namespaces/acme/repositories/app/tags"
        ));
        assert!(!glob_match(
            "/v2/namespaces/*/repositories/*/tags",
            "/v2/namespaces/acme/repositories/app/tags/x"
        ));
        assert!(glob_match("*", "/anything"));
        assert!(glob_match("/v2/*", "/v2/a/b/c"));
        assert!(!glob_match("/v2/a", "/v2/ab"));
    }
}
