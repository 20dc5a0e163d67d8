//! `dockerhub-agent`: serve A2A v1.0, AG-UI and (with `--web`) a web chat.
//!
//! Logs (stderr) and OpenTelemetry export are set up by the SDK's
//! `telemetry::init` before the runtime starts, and flushed after it stops.

use std::process::ExitCode;

use anyhow::Context;
use dockerhub_agent::{Agent, Settings};
use dockerhub_api::telemetry::{self, TelemetryConfig};

fn main() -> ExitCode {
    let settings = Settings::from_args();
    // Before the runtime starts: the OTLP exporters run on their own threads.
    let telemetry = match TelemetryConfig::from_env("dockerhub-agent").and_then(telemetry::init) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("dockerhub-agent: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = serve(settings);
    // The runtime is gone: flushing blocks no async task.
    telemetry.shutdown();
    code
}

fn serve(settings: Settings) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("dockerhub-agent: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dockerhub-agent: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(settings: Settings) -> anyhow::Result<()> {
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
