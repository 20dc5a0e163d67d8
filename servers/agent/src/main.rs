//! `dockerhub-agent`: serve A2A v1.0, AG-UI and (with `--web`) a web chat.

use anyhow::Context;
use dockerhub_agent::{Agent, Settings};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::env::var_os("NO_COLOR").is_none())
        .init();
    let settings = Settings::from_args();
    let agent = Agent::build(&settings)
        .await
        .context("cannot start the agent")?;
    let state = agent.state().clone();
    let running = agent
        .serve(&settings.host, settings.port)
        .await
        .context("cannot start the server")?;
    tracing::info!(
        url = %running.url(),
        agent = %settings.agent_name,
        tools = %state.engine.backend().describe(),
        llm = settings.model_id.as_deref().unwrap_or("none (no-LLM mode)"),
        web = settings.web,
        auth = if settings.agent_api_key.is_some() { "X-API-Key" } else { "none" },
        "dockerhub-agent listening on {}",
        running.url()
    );
    let stop = running.stop_token();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down");
        stop.cancel();
    });
    running.wait().await.context("server error")?;
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {},
                    _ = term.recv() => {},
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
