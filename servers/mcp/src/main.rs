//! `dockerhub-mcp` binary: parse flags, set up logs (stderr) and
//! OpenTelemetry export, serve, flush telemetry on exit.

use std::process::ExitCode;

use clap::Parser;
use dockerhub_api::Hub;
use dockerhub_mcp::{Config, Transport};
fn main() -> ExitCode {
    let cfg = Config::parse();
    // Before the runtime starts: the OTLP exporters run on their own threads.
    let telemetry = match dockerhub_mcp::telemetry_config(&cfg).and_then(|t| {
        dockerhub_api::telemetry::init(t).map_err(|e| dockerhub_mcp::Error::Config(e.to_string()))
    }) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("dockerhub-mcp: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = serve(cfg);
    telemetry.shutdown();
    code
}

fn serve(cfg: Config) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("dockerhub-mcp: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cfg)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dockerhub-mcp: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cfg: Config) -> anyhow::Result<()> {
    let base = cfg.hub_config()?;
    let (emulator, hub_cfg) = if cfg.demo {
        let (emu, c) = dockerhub_api::demo::start(base).await?;
        eprintln!(
            "dockerhub-mcp: demo mode, Hub emulator at {} (user {})",
            emu.base_url(),
            dockerhub_api::demo::credentials::USERNAME
        );
        (Some(emu), c)
    } else {
        (None, base)
    };
    let server = dockerhub_mcp::build_server(&cfg, Hub::new(hub_cfg)?)?;
    tracing::info!(
        transport = ?cfg.transport,
        tools = server.tools().len(),
        "dockerhub-mcp starting"
    );
    let result = match cfg.transport {
        Transport::Stdio => dockerhub_mcp::serve_stdio(server).await,
        Transport::StreamableHttp | Transport::Sse => {
            dockerhub_mcp::http::serve_http(&cfg, server, None).await
        }
    };
    if let Some(emu) = emulator {
        emu.shutdown().await;
    }
    Ok(result?)
}
