//! `--demo`: an in-process emulator with the demo seed, and a configuration
//! that points at it with the demo credentials. No account, no network.

use dockerhub_emulator::{Emulator, EmulatorConfig, EmulatorHandle};

use crate::config::{Config, Credentials};
use crate::error::{Error, Result};

pub use dockerhub_emulator::demo as credentials;

/// Start the demo emulator on `127.0.0.1:0` and return it with `base`
/// pointed at it: the demo user's password, the demo SCIM token, and every
/// other setting of `base` kept (safety gates included).
pub async fn start(base: Config) -> Result<(EmulatorHandle, Config)> {
    let emu = Emulator::start(EmulatorConfig::default())
        .await
        .map_err(|e| Error::Config(format!("cannot start the demo emulator: {e}")))?;
    let cfg = Config {
        base_url: emu.base_url(),
        credentials: Credentials::Password {
            username: credentials::USERNAME.into(),
            password: credentials::PASSWORD.to_string().into(),
        },
        scim_token: Some(credentials::SCIM_TOKEN.to_string().into()),
        ..base
    };
    tracing::info!(url = %cfg.base_url, user = credentials::USERNAME, "demo emulator running");
    Ok((emu, cfg))
}
