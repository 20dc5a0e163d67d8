//! `dockerhub-emulator` binary: serve the emulator until Ctrl-C or SIGTERM.

use std::io::Write;
use std::net::IpAddr;
use std::time::Duration;

use clap::Parser;
use dockerhub_emulator::{Emulator, EmulatorConfig, RetryAfterForm, Seed, demo};

/// A stateful, offline Docker Hub API emulator with fault injection.
#[derive(Debug, Parser)]
#[command(name = "dockerhub-emulator", version)]
struct Args {
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1", env = "EMULATOR_HOST")]
    host: IpAddr,
    /// Port to bind (0 picks a free port).
    #[arg(long, default_value_t = 8080, env = "EMULATOR_PORT")]
    port: u16,
    /// Data set: demo or empty.
    #[arg(long, default_value = "demo")]
    seed: Seed,
    /// JWT lifetime in seconds.
    #[arg(long, default_value_t = 600)]
    token_ttl: u64,
    /// Requests per window and identity (0 disables rate limiting).
    #[arg(long, default_value_t = 180)]
    rate_limit: u32,
    /// Rate-limit window in seconds.
    #[arg(long, default_value_t = 60)]
    rate_window: u64,
    /// Retry-After form on 429: seconds, epoch or http-date.
    #[arg(long, default_value = "seconds")]
    retry_after: RetryAfterForm,
    /// Largest accepted request body in bytes.
    #[arg(long, default_value_t = 1024 * 1024)]
    max_body_bytes: usize,
    /// Serve the /_emulator/ admin API (default: only on a loopback bind).
    #[arg(long)]
    admin_api: Option<bool>,
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let args = Args::parse();
    let cfg = EmulatorConfig {
        host: args.host,
        port: args.port,
        seed: args.seed,
        token_ttl: Duration::from_secs(args.token_ttl.max(1)),
        rate_limit: args.rate_limit,
        rate_window: Duration::from_secs(args.rate_window.max(1)),
        retry_after: args.retry_after,
        max_body_bytes: args.max_body_bytes,
        admin_api: args.admin_api,
    };
    let admin = cfg.admin_enabled();
    let hub = Emulator::start(cfg).await?;
    let url = hub.base_url();
    let admin_url = if admin {
        format!("{url}/_emulator/")
    } else {
        "off".to_string()
    };
    let banner = format!(
        "dockerhub-emulator listening on {url}\n\
         \x20 seed: {:?}   admin API: {admin_url}\n\
         \x20 user:      {} / {}\n\
         \x20 PAT:       {}\n\
         \x20 org:       {}   OAT: {}\n\
         \x20 2FA user:  {} / {} (code {})\n\
         \x20 SCIM:      Bearer {}\n\
         \x20 try: curl -s {url}/v2/namespaces/acme/repositories\n",
        args.seed,
        demo::USERNAME,
        demo::PASSWORD,
        demo::PAT,
        demo::ORG,
        demo::OAT,
        demo::TWOFA_USER,
        demo::TWOFA_PASSWORD,
        demo::TWOFA_CODE,
        demo::SCIM_TOKEN,
    );
    // A closed stdout must not stop the server.
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(banner.as_bytes());
    let _ = out.flush();
    drop(out);
    shutdown_signal().await;
    hub.shutdown().await;
    Ok(())
}
