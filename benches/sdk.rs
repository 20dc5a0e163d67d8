//! SDK benchmarks against the in-process emulator (no network beyond loopback).
//!
//! `cargo bench --bench sdk` prints a Markdown table for docs/benchmarks.md:
//! per-call overhead against plain reqwest, memory while streaming 10,000
//! tags, and mints for 100 concurrent cold calls.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use dockerhub_api::catalog::{self, Module};
use dockerhub_api::retry::RetryPolicy;
use dockerhub_api::{Config, Credentials, Hub};
use dockerhub_emulator::{Emulator, EmulatorConfig, demo};
use futures::StreamExt;
use serde_json::json;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

fn percentile(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn hub(base: &str) -> Hub {
    let cfg = Config::builder()
        .base_url(base)
        .credentials(Credentials::Pat {
            username: demo::USERNAME.into(),
            token: demo::PAT.to_string().into(),
        })
        .retry(RetryPolicy::default())
        .build()
        .unwrap();
    Hub::new(cfg).unwrap()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let emu = Emulator::start(EmulatorConfig {
        rate_limit: 0,
        ..Default::default()
    })
    .await
    .unwrap();
    let base = emu.base_url();
    let n = 2000;
    let path = "/v2/namespaces/acme/repositories/app/tags?page_size=10";

    // Plain reqwest with a JWT minted once.
    let plain = reqwest::Client::new();
    let jwt: serde_json::Value = plain
        .post(format!("{base}/v2/auth/token"))
        .json(&json!({"identifier": demo::USERNAME, "secret": demo::PAT}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bearer = format!("Bearer {}", jwt["access_token"].as_str().unwrap());
    let url = format!("{base}{path}");
    let mut plain_t = Vec::with_capacity(n);
    let mut sdk_t = Vec::with_capacity(n);
    let mut typed_t = Vec::with_capacity(n);
    let hub = hub(&base);
    let op = catalog::find(Module::Repos, "list_tags").unwrap();
    let params = json!({"namespace": "acme", "repository": "app", "page_size": 10});
    hub.call(op, &params).await.unwrap(); // warm: mint + connection
    for i in 0..(n + 200) {
        // Interleave the three so drift affects all alike.
        let t = Instant::now();
        let r = plain
            .get(&url)
            .header("authorization", &bearer)
            .send()
            .await
            .unwrap();
        let _v: serde_json::Value = r.json().await.unwrap();
        let a = t.elapsed();
        let t = Instant::now();
        hub.call(op, &params).await.unwrap();
        let b = t.elapsed();
        let t = Instant::now();
        hub.typed()
            .list_repository_tags()
            .namespace("acme")
            .repository("app")
            .page_size(10)
            .send()
            .await
            .unwrap();
        let c = t.elapsed();
        if i >= 200 {
            plain_t.push(a);
            sdk_t.push(b);
            typed_t.push(c);
        }
    }
    let (p50p, p50s, p50t) = (
        percentile(&mut plain_t, 0.5),
        percentile(&mut sdk_t, 0.5),
        percentile(&mut typed_t, 0.5),
    );
    let (p99p, p99s, p99t) = (
        percentile(&mut plain_t, 0.99),
        percentile(&mut sdk_t, 0.99),
        percentile(&mut typed_t, 0.99),
    );
    let pct = |x: Duration| (x.as_secs_f64() / p50p.as_secs_f64() - 1.0) * 100.0;
    println!("## SDK per-call overhead ({n} calls each, tags page of 10, loopback)\n");
    println!("| client | p50 | p99 | p50 overhead vs plain reqwest |");
    println!("|---|---|---|---|");
    println!("| plain reqwest (JWT minted once) | {p50p:?} | {p99p:?} | – |");
    println!(
        "| `Hub::call` (dynamic) | {p50s:?} | {p99s:?} | {:+.1}% |",
        pct(p50s)
    );
    println!(
        "| `hub.typed()` (generated) | {p50t:?} | {p99t:?} | {:+.1}% |",
        pct(p50t)
    );

    // Streaming all 10,000 tags: RSS after 10 pages vs after 100 pages.
    let big = json!({"namespace": "acme", "repository": "many-tags", "page_size": 100});
    let start_rss = rss_kib();
    let mut stream = Box::pin(hub.items(op, &big, None));
    let mut count = 0usize;
    let mut at_1000 = 0;
    let t = Instant::now();
    while let Some(item) = stream.next().await {
        item.unwrap();
        count += 1;
        if count == 1000 {
            at_1000 = rss_kib();
        }
    }
    let elapsed = t.elapsed();
    let end_rss = rss_kib();
    println!(
        "\n## Streaming every tag of {} ({count} tags, 100 pages)\n",
        demo::BIG_REPO
    );
    println!("| measure | value |");
    println!("|---|---|");
    println!("| wall time | {elapsed:?} |");
    println!("| RSS before | {start_rss} KiB |");
    println!("| RSS after 1,000 items (10 pages) | {at_1000} KiB |");
    println!("| RSS after 10,000 items (100 pages) | {end_rss} KiB |");
    println!(
        "| growth from page 10 to page 100 | {} KiB |",
        end_rss as i64 - at_1000 as i64
    );

    // 100 concurrent calls on a cold cache.
    emu.clear_requests();
    let cold = self::hub(&base);
    let t = Instant::now();
    let calls = (0..100).map(|_| {
        let h = cold.clone();
        async move {
            h.call_action(
                Module::Repos,
                "get",
                &json!({"namespace": "acme", "repository": "app"}),
            )
            .await
        }
    });
    let ok = futures::future::join_all(calls)
        .await
        .iter()
        .filter(|r| r.is_ok())
        .count();
    let mints = emu
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.trim_end_matches('/') == "/v2/auth/token")
        .count();
    println!("\n## 100 concurrent calls, cold token cache\n");
    println!("| measure | value |");
    println!("|---|---|");
    println!("| succeeded | {ok} / 100 |");
    println!("| mints seen by the emulator | {mints} |");
    println!("| wall time | {:?} |", t.elapsed());
    emu.shutdown().await;
}
