//! Shared test helpers: an in-process emulator and SDK clients on it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use dockerhub_api::retry::{Clock, RetryPolicy};
use dockerhub_api::{Config, Credentials, Hub};
pub use dockerhub_emulator::demo;
use dockerhub_emulator::{Emulator, EmulatorConfig, EmulatorHandle};

/// A clock whose sleeps return at once and move time forward; it records them.
#[derive(Debug, Default)]
pub struct FastClock {
    offset: Mutex<Duration>,
    frozen: bool,
    pub sleeps: Mutex<Vec<Duration>>,
}

impl FastClock {
    /// A clock whose time does not move when it sleeps (real time only), so
    /// absolute `Retry-After` forms from the emulator stay in the future.
    pub fn frozen() -> FastClock {
        FastClock {
            frozen: true,
            ..FastClock::default()
        }
    }

    pub fn slept(&self) -> Vec<Duration> {
        self.sleeps.lock().unwrap().clone()
    }
}

impl Clock for FastClock {
    fn now(&self) -> SystemTime {
        SystemTime::now() + *self.offset.lock().unwrap()
    }
    fn sleep(&self, d: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        if !self.frozen {
            *self.offset.lock().unwrap() += d;
        }
        self.sleeps.lock().unwrap().push(d);
        Box::pin(async {})
    }
}

pub async fn emulator() -> EmulatorHandle {
    emulator_with(EmulatorConfig::default()).await
}

pub async fn emulator_with(cfg: EmulatorConfig) -> EmulatorHandle {
    Emulator::start(cfg).await.expect("emulator starts")
}

pub fn password() -> Credentials {
    Credentials::Password {
        username: demo::USERNAME.into(),
        password: demo::PASSWORD.to_string().into(),
    }
}

pub fn pat() -> Credentials {
    Credentials::Pat {
        username: demo::USERNAME.into(),
        token: demo::PAT.to_string().into(),
    }
}

pub fn oat() -> Credentials {
    Credentials::Oat {
        org: demo::ORG.into(),
        token: demo::OAT.to_string().into(),
    }
}

pub fn config(emu: &EmulatorHandle, creds: Credentials) -> Config {
    Config::builder()
        .base_url(emu.base_url())
        .credentials(creds)
        .retry(RetryPolicy {
            jitter: 0.0,
            ..RetryPolicy::default()
        })
        .build()
        .unwrap()
}

/// A client with a fast clock (retries do not really sleep).
pub fn hub_with(cfg: Config) -> (Hub, Arc<FastClock>) {
    let clock = Arc::new(FastClock::default());
    (Hub::with_clock(cfg, clock.clone()).unwrap(), clock)
}

pub fn hub(emu: &EmulatorHandle, creds: Credentials) -> Hub {
    hub_with(config(emu, creds)).0
}

/// Requests the emulator saw for a method and exact path (trailing slash ignored).
pub fn count(emu: &EmulatorHandle, method: &str, path: &str) -> usize {
    emu.requests()
        .iter()
        .filter(|r| r.method == method && r.path.trim_end_matches('/') == path)
        .count()
}
