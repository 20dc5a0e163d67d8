//! Emulator speed: startup, RSS with the demo seed, and tags-page latency on loopback keep-alive.
//!
//! Run: `cargo bench -p dockerhub-emulator --bench emulator`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use dockerhub_emulator::{Emulator, EmulatorConfig};

const ITERATIONS: usize = 2_000;
const WARMUP: usize = 200;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

async fn latency(client: &reqwest::Client, url: &str) -> (Duration, Duration, Duration) {
    for _ in 0..WARMUP {
        let r = client.get(url).send().await.unwrap();
        assert!(r.status().is_success());
        r.bytes().await.unwrap();
    }
    let mut samples = Vec::with_capacity(ITERATIONS);
    for _ in 0..ITERATIONS {
        let t = Instant::now();
        let r = client.get(url).send().await.unwrap();
        let body = r.bytes().await.unwrap();
        samples.push(t.elapsed());
        assert!(body.len() > 1000);
    }
    samples.sort();
    (
        percentile(&samples, 0.5),
        percentile(&samples, 0.99),
        samples[samples.len() - 1],
    )
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(4)
        .build()
        .unwrap();

    // 1. In-process startup: Emulator::start → first successful request.
    let mut startups = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let hub = rt
            .block_on(Emulator::start(EmulatorConfig::default()))
            .unwrap();
        let ok = rt.block_on(async {
            client
                .get(format!(
                    "{}/v2/namespaces/acme/repositories",
                    hub.base_url()
                ))
                .send()
                .await
                .unwrap()
                .status()
        });
        assert!(ok.is_success());
        startups.push(t.elapsed());
        rt.block_on(hub.shutdown());
    }
    startups.sort();

    // 2. The release binary as a child process: spawn → first successful request, and its RSS.
    let bin = env!("CARGO_BIN_EXE_dockerhub-emulator");
    let t = Instant::now();
    let mut child = Command::new(bin)
        .args(["--port", "0", "--rate-limit", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn emulator binary");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_string();
    rt.block_on(async {
        loop {
            if let Ok(r) = client
                .get(format!("{url}/v2/namespaces/acme/repositories"))
                .send()
                .await
                && r.status().is_success()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    });
    let child_startup = t.elapsed();
    let rss_start = rss_kib(child.id());

    // 3. Latency of a tags page (page_size=100) over keep-alive, against the child process.
    let big = format!("{url}/v2/namespaces/acme/repositories/many-tags/tags?page_size=100");
    let deep =
        format!("{url}/v2/namespaces/acme/repositories/many-tags/tags?page_size=100&page=100");
    let small = format!("{url}/v2/namespaces/acme/repositories/app/tags?page_size=100");
    let (b50, b99, bmax) = rt.block_on(latency(&client, &big));
    let (d50, d99, dmax) = rt.block_on(latency(&client, &deep));
    let (s50, s99, smax) = rt.block_on(latency(&client, &small));
    let rss_after = rss_kib(child.id());
    let _ = child.kill();
    let _ = child.wait();

    println!("## dockerhub-emulator benchmark");
    println!();
    println!("| metric | value | target |");
    println!("|---|---|---|");
    println!(
        "| startup, in-process (start → first 200), median of 20 | {} | < 100 ms |",
        ms(startups[startups.len() / 2])
    );
    println!(
        "| startup, in-process, worst of 20 | {} | |",
        ms(startups[startups.len() - 1])
    );
    println!(
        "| startup, release binary (spawn → first 200) | {} | < 100 ms |",
        ms(child_startup)
    );
    println!(
        "| RSS after startup (demo seed) | {:.1} MiB | < 50 MB |",
        rss_start as f64 / 1024.0
    );
    println!(
        "| RSS after {} requests | {:.1} MiB | < 50 MB |",
        3 * (ITERATIONS + WARMUP),
        rss_after as f64 / 1024.0
    );
    println!(
        "| acme/many-tags page 1 (100 tags): p50 / p99 / max | {} / {} / {} | p50 < 1 ms |",
        ms(b50),
        ms(b99),
        ms(bmax)
    );
    println!(
        "| acme/many-tags page 100 (100 tags): p50 / p99 / max | {} / {} / {} | p50 < 1 ms |",
        ms(d50),
        ms(d99),
        ms(dmax)
    );
    println!(
        "| acme/app tags (19 tags): p50 / p99 / max | {} / {} / {} | p50 < 1 ms |",
        ms(s50),
        ms(s99),
        ms(smax)
    );
}
