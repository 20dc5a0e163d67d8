//! Agent benchmarks (`cargo bench -p dockerhub-agent --bench agent`):
//! start-up time to a `/health` answer, idle RSS, and the overhead of a
//! no-LLM A2A task compared with calling the tool directly.

use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use dockerhub_agent::tools::InProcessBackend;
use dockerhub_agent::{Agent, Settings};
use dockerhub_api::catalog::Module;
use dockerhub_api::{Config, Hub};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_dockerhub-agent");

fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

fn rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .context("no VmRSS")
}

/// Spawn the binary, wait for `/health`; returns (start time, idle RSS KiB).
async fn start_once(extra: &[&str], client: &reqwest::Client) -> Result<(Duration, u64)> {
    let port = free_port()?;
    let t0 = Instant::now();
    let mut child = tokio::process::Command::new(BIN)
        .args(["--port", &port.to_string()])
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let url = format!("http://127.0.0.1:{port}/health");
    let elapsed = loop {
        if let Ok(r) = client.get(&url).send().await
            && r.status().is_success()
        {
            break t0.elapsed();
        }
        if t0.elapsed() > Duration::from_secs(10) {
            bail!("the agent did not start");
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    };
    // a few requests, then idle
    for _ in 0..5 {
        client
            .get(format!(
                "http://127.0.0.1:{port}/.well-known/agent-card.json"
            ))
            .send()
            .await?;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss = rss_kib(child.id().context("pid")?)?;
    child.kill().await?;
    Ok((elapsed, rss))
}

fn pct(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i.min(v.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

#[tokio::main]
async fn main() -> Result<()> {
    let client = reqwest::Client::new();
    println!("## dockerhub-agent benchmarks\n");
    println!("| start-up (spawn → /health 200) | p50 | max | idle RSS p50 |");
    println!("|---|---|---|---|");
    for (label, args) in [
        ("in-process tools (no --demo)", vec![]),
        ("--demo (emulator in the same process)", vec!["--demo"]),
        ("--demo --web", vec!["--demo", "--web"]),
    ] {
        let mut times = Vec::new();
        let mut rss = Vec::new();
        for _ in 0..15 {
            let (t, r) = start_once(&args, &client).await?;
            times.push(t);
            rss.push(r);
        }
        rss.sort_unstable();
        let max = *times.iter().max().context("runs")?;
        println!(
            "| {label} | {} | {} | {:.1} MB |",
            ms(pct(&mut times, 0.5)),
            ms(max),
            rss[rss.len() / 2] as f64 / 1024.0
        );
    }

    // No-LLM task overhead: the same tool call directly and as an A2A task.
    let (emu, cfg) = dockerhub_api::demo::start(Config::default()).await?;
    // rate limit off: 2,400 calls would otherwise wait for the emulator's quota window
    emu.set_rate_limit(0, Duration::from_secs(60));
    let hub = Hub::new(cfg)?;
    let settings = Settings::try_from_iter(["dockerhub-agent", "--port", "0"])?;
    let agent = Agent::from_parts(
        &settings,
        std::sync::Arc::new(InProcessBackend::new(hub.clone())),
        None,
        None,
    );
    let running = agent.serve("127.0.0.1", 0).await?;
    let url = format!("{}/", running.url());
    let params = json!({"namespace": "acme", "repository": "app", "page_size": 10});
    let body = |i: usize| {
        json!({"jsonrpc": "2.0", "id": i, "method": "SendMessage", "params": {"message": {
            "messageId": format!("m{i}"), "role": "ROLE_USER",
            "parts": [{"data": {"tool": "hub_repos", "action": "list_tags", "params": params}}]}}})
    };
    let health = format!("{}/health", running.url());
    let (mut direct, mut task, mut http) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..1200 {
        let t = Instant::now();
        let env = hub.call_action(Module::Repos, "list_tags", &params).await?;
        let d = t.elapsed();
        let t = Instant::now();
        let r: Value = client
            .post(&url)
            .json(&body(i))
            .send()
            .await?
            .json()
            .await?;
        let a = t.elapsed();
        let t = Instant::now();
        client.get(&health).send().await?.bytes().await?;
        let h = t.elapsed();
        if env.status_code != 200
            || r["result"]["task"]["status"]["state"] != "TASK_STATE_COMPLETED"
        {
            bail!("unexpected answer: {r}");
        }
        if i >= 200 {
            direct.push(d);
            task.push(a);
            http.push(h);
        }
    }
    let (d50, d99) = (pct(&mut direct, 0.5), pct(&mut direct, 0.99));
    let (t50, t99) = (pct(&mut task, 0.5), pct(&mut task, 0.99));
    println!("\n| no-LLM task, 1,000 calls each, interleaved, after 200 warm-up | p50 | p99 |");
    println!("|---|---|---|");
    println!(
        "| `hub.call_action(repos, list_tags)` directly | {} | {} |",
        us(d50),
        us(d99)
    );
    println!(
        "| A2A `SendMessage` with a `{{tool, action, params}}` data part (HTTP, task store, artifact) | {} | {} |",
        us(t50),
        us(t99)
    );
    println!(
        "| (for scale: `GET /health`, the bare HTTP round trip) | {} | {} |",
        us(pct(&mut http, 0.5)),
        us(pct(&mut http, 0.99))
    );
    println!(
        "| overhead | +{} | +{} |",
        us(t50.saturating_sub(d50)),
        us(t99.saturating_sub(d99))
    );
    running.shutdown().await?;
    Ok(())
}
