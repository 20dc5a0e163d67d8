//! The `/_emulator/` admin API (exempt from rate limiting and the request log).

use std::time::Duration;

use poem::http::Method;
use serde::Deserialize;
use serde_json::json;

use crate::config::RetryAfterForm;
use crate::faults::Fault;
use crate::http::{ApiError, HResult, Reply};
use crate::server::Shared;

#[derive(Deserialize)]
#[serde(untagged)]
enum FaultBody {
    Many(Vec<Fault>),
    One(Fault),
}

#[derive(Deserialize)]
struct RateBody {
    limit: u32,
    #[serde(default)]
    window_secs: Option<f64>,
    #[serde(default)]
    retry_after: Option<RetryAfterForm>,
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("Invalid request body: {e}")))
}

pub fn handle(
    shared: &Shared,
    method: &Method,
    path: &str,
    _query: Option<&str>,
    body: &[u8],
) -> HResult {
    let sub = path
        .trim_start_matches("/_emulator")
        .trim_start_matches('/');
    match (method.clone(), sub) {
        (Method::GET, "" | "health") => Ok(Reply::ok(
            json!({"status": "ok", "base_url": shared.base_url}),
        )),
        (Method::POST, "faults") => {
            let faults = match parse::<FaultBody>(body)? {
                FaultBody::Many(v) => v,
                FaultBody::One(f) => vec![f],
            };
            if let Some(bad) = faults.iter().find_map(|f| match f.kind {
                crate::faults::FaultKind::Status { status, .. }
                    if !(200..=599).contains(&status) =>
                {
                    Some(status)
                }
                _ => None,
            }) {
                return Err(ApiError::field(
                    "status",
                    format!("status {bad} is not in 200..=599"),
                ));
            }
            let n = faults.len();
            for f in faults {
                shared.inject_fault(f);
            }
            Ok(Reply::created(
                json!({"queued": n, "faults": shared.faults()}),
            ))
        }
        (Method::GET, "faults") => Ok(Reply::ok(json!(shared.faults()))),
        (Method::DELETE, "faults") => {
            shared.clear_faults();
            Ok(Reply::no_content())
        }
        (Method::POST, "expire-tokens") => {
            shared.expire_tokens();
            Ok(Reply::no_content())
        }
        (Method::GET, "requests") => Ok(Reply::ok(json!(shared.requests()))),
        (Method::DELETE, "requests") => {
            shared.clear_requests();
            Ok(Reply::no_content())
        }
        (Method::POST, "reset") => {
            shared.reset();
            Ok(Reply::no_content())
        }
        (Method::GET, "state") => Ok(Reply::ok(shared.dump())),
        (Method::GET, "rate-limit") => Ok(Reply::ok(shared.rate_settings())),
        (Method::PUT | Method::POST, "rate-limit") => {
            let req: RateBody = parse(body)?;
            let window = req.window_secs.unwrap_or(60.0);
            if !window.is_finite() || window <= 0.0 || window > 86_400.0 {
                return Err(ApiError::field(
                    "window_secs",
                    "window_secs must be in (0, 86400]",
                ));
            }
            shared.set_rate_limit(req.limit, Duration::from_secs_f64(window));
            if let Some(form) = req.retry_after {
                shared.set_retry_after_form(form);
            }
            Ok(Reply::ok(shared.rate_settings()))
        }
        _ => Err(ApiError::not_found(format!(
            "Unknown admin route {} {path}",
            method
        ))),
    }
}
