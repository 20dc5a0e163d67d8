//! Collector-down benchmark (`cargo bench -p dockerhub-mcp --bench telemetry`).
//!
//! Tool-call latency (in-process rmcp client → handler → SDK → emulator over
//! loopback, `hub_repos.get`, rate limit off) with telemetry:
//!
//! - **off**: logs only, no exporter;
//! - **up**: OTLP export to a local receiver that answers 200 at once;
//! - **down**: OTLP export to a port where nothing listens;
//! - **stall**: OTLP export to a listener that accepts and never answers.
//!
//! First an in-process A/B per exporting scenario and runtime (child process
//! with `BENCH_AB` set; see [`child_ab`]): after the exporter has met the
//! collector, off and on alternate in blocks in one process, which cancels
//! the machine's drift; `BENCH_AB_RUNS` runs (default 3) of
//! `BENCH_AB_BLOCKS` blocks (default 60) each. Then each scenario in its own
//! child process (`BENCH_SCENARIO` set), set up with `telemetry::init`
//! exactly as the `dockerhub-mcp` binary is. Scenarios are interleaved over
//! rounds (`BENCH_ROUNDS`, default 5; `BENCH_SLOW_ROUNDS` for the 20 ms
//! series, default 3); the table reports the median of the rounds and the
//! median of the per-round ratios to telemetry off. Prints markdown tables
//! for docs/benchmarks.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // benchmark binary

use std::cell::RefCell;
use std::io::{BufRead, BufReader, Read, Write};
use std::time::{Duration, Instant};

use dockerhub_api::Hub;
use dockerhub_api::telemetry::{self, OtlpTarget, TelemetryConfig};
use dockerhub_mcp::Config;
use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use serde_json::json;

const CALLS: usize = 3_000;
const WARMUP: usize = 200;
const ROUNDS: usize = 5;
const AB_BLOCK: usize = 200;
const AB_BLOCKS: usize = 60;
const AB_RUNS: usize = 3;
const AB_SETTLE: usize = 20;
/// Calls on the exporting side before the A/B starts: enough to fill the
/// 2,048-span queue, so the exporter has met the collector (the steady state
/// of a busy server whose collector is down or stalled).
const AB_STEADY: usize = 1_500;
const SCENARIOS: [&str; 4] = ["off", "up", "down", "stall"];

fn get_args() -> CallToolRequestParams {
    CallToolRequestParams::new("hub_repos").with_arguments(
        json!({"action": "get", "params": {"namespace": "acme", "repository": "app"}})
            .as_object()
            .unwrap()
            .clone(),
    )
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// A minimal OTLP/HTTP receiver connection: read each request, answer 200.
fn answer_ok(s: std::net::TcpStream) {
    let mut w = s.try_clone().unwrap();
    let mut r = BufReader::new(s);
    loop {
        let mut len = 0usize;
        loop {
            let mut line = String::new();
            if r.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                len = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0u8; len];
        if r.read_exact(&mut body).is_err() {
            return;
        }
        let reply =
            b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n";
        if w.write_all(reply).is_err() {
            return;
        }
    }
}

/// The log filter of both sides: the binary's default (`info`, rmcp capped),
/// or `BENCH_LOG` (e.g. `warn`).
fn log_filter() -> String {
    dockerhub_mcp::log_filter(&std::env::var("BENCH_LOG").unwrap_or_else(|_| "info".into()))
}

/// The OTLP target of a scenario, with its receiver when there is one
/// (threads that live as long as the process).
fn collector(scenario: &str) -> Option<OtlpTarget> {
    let target = |port: u16| {
        Some(OtlpTarget {
            endpoint: format!("http://127.0.0.1:{port}"),
            headers: vec![],
        })
    };
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    match scenario {
        "off" => None,
        "up" => {
            std::thread::spawn(move || {
                for s in l.incoming().flatten() {
                    std::thread::spawn(move || answer_ok(s));
                }
            });
            target(port)
        }
        "down" => {
            drop(l);
            target(port)
        }
        "stall" => {
            // Accept, read and never answer.
            std::thread::spawn(move || {
                let mut held = Vec::new();
                for s in l.incoming().flatten() {
                    let mut s2 = s.try_clone().unwrap();
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 4096];
                        while matches!(s2.read(&mut buf), Ok(n) if n > 0) {}
                    });
                    held.push(s);
                }
            });
            target(port)
        }
        other => panic!("unknown scenario {other}"),
    }
}

/// The demo emulator (rate limit off, `hub_ms` of latency on each answer)
/// and an rmcp client connected in-process to the MCP handler over it.
async fn setup(
    hub_ms: u64,
) -> (
    rmcp::service::RunningService<rmcp::RoleClient, ()>,
    dockerhub_emulator::EmulatorHandle,
) {
    let cfg = Config::from_args(["dockerhub-mcp"]).unwrap();
    let (emu, hub_cfg) = dockerhub_api::demo::start(cfg.hub_config().unwrap())
        .await
        .unwrap();
    emu.set_rate_limit(0, Duration::from_secs(60));
    if hub_ms > 0 {
        emu.inject_fault(dockerhub_emulator::Fault {
            method: Some("GET".into()),
            path: "/v2/namespaces/*".into(),
            count: u32::MAX,
            kind: dockerhub_emulator::FaultKind::Latency { ms: hub_ms },
        });
    }
    let server = dockerhub_mcp::build_server(&cfg, Hub::new(hub_cfg).unwrap()).unwrap();
    let (a, b) = tokio::io::duplex(1 << 20);
    tokio::spawn(async move {
        if let Ok(running) = server.serve(a).await {
            let _ = running.waiting().await;
        }
    });
    (().serve(b).await.unwrap(), emu)
}

/// Set up (see [`setup`]), make `warmup` calls (token mint, connections),
/// then time `n` calls into `out`; every call must succeed.
async fn measure(hub_ms: u64, warmup: usize, n: usize, out: &mut Vec<Duration>) {
    let (client, emu) = setup(hub_ms).await;
    for _ in 0..warmup {
        client.call_tool(get_args()).await.unwrap();
    }
    for _ in 0..n {
        let t = Instant::now();
        let r = client.call_tool(get_args()).await.unwrap();
        out.push(t.elapsed());
        assert_ne!(r.is_error, Some(true), "tool calls succeed");
    }
    let _ = client.cancel().await;
    emu.shutdown().await;
}

/// Child: run one scenario, print `p50_us p99_us mean_us dropped shed
/// shutdown_ms`.
/// `hub_ms` adds that much latency to every Hub answer (0: loopback speed).
fn child(scenario: &str, hub_ms: u64) {
    let (calls, warmup) = if hub_ms == 0 {
        (CALLS, WARMUP)
    } else {
        (200, 20)
    };
    let mut cfg = TelemetryConfig::new("dockerhub-mcp-bench");
    cfg.log.filter = log_filter();
    cfg.log.color = false;
    // For finding where the cost is: BENCH_TRACES=0 or BENCH_METRICS=0.
    cfg.traces = std::env::var("BENCH_TRACES").map_or(true, |v| v != "0");
    cfg.metrics = std::env::var("BENCH_METRICS").map_or(true, |v| v != "0");
    cfg.otlp = collector(scenario);
    // As in the binary: telemetry first, then the runtime.
    let tel = telemetry::init(cfg).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let lat = rt.block_on(async {
        let mut v = Vec::with_capacity(calls);
        measure(hub_ms, warmup, calls, &mut v).await;
        v
    });
    drop(rt);
    let mut sorted = lat.clone();
    sorted.sort();
    let mean = lat.iter().sum::<Duration>() / lat.len() as u32;
    let (dropped, shed) = (tel.dropped_spans(), tel.shed_traces());
    let t = Instant::now();
    tel.shutdown();
    println!(
        "{} {} {} {} {} {}",
        pct(&sorted, 0.5).as_micros(),
        pct(&sorted, 0.99).as_micros(),
        mean.as_micros(),
        dropped,
        shed,
        t.elapsed().as_millis()
    );
}

thread_local! {
    /// The default subscriber of an A/B runtime's thread, for its lifetime.
    static AB_DEFAULT: RefCell<Option<tracing::dispatcher::DefaultGuard>> =
        const { RefCell::new(None) };
}

/// A runtime for one side of the A/B: current-thread, or multi-thread with
/// `d` as the default subscriber of every thread it starts. Each side has
/// its own, so no task, span or worker ever crosses from one subscriber to
/// the other.
fn ab_runtime(multi: bool, d: &tracing::Dispatch) -> tokio::runtime::Runtime {
    if multi {
        let d = d.clone();
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .on_thread_start(move || {
                AB_DEFAULT.with(|g| *g.borrow_mut() = Some(tracing::dispatcher::set_default(&d)));
            })
            .build()
            .unwrap()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }
}

/// In-process A/B: one process, a runtime per side (current-thread: client,
/// MCP handler and emulator on one thread; or multi-thread with
/// `BENCH_AB_RT=multi`, as the binary), and two subscribers built by
/// `telemetry::build` — logs only, and logs plus OTLP export to `scenario`'s
/// collector. After `AB_STEADY` calls on the exporting side, blocks of
/// `AB_BLOCK` calls alternate between them, so drift in the machine's load
/// hits both sides alike. Prints `off_p50 on_p50 off_mean on_mean` in µs
/// (fractional), then the measured calls with telemetry on, and the traces
/// shed and spans dropped during them.
fn child_ab(scenario: &str, blocks: usize) {
    let mut base = TelemetryConfig::new("dockerhub-mcp-bench");
    base.log.filter = log_filter();
    base.log.color = false;
    let mut with = base.clone();
    with.otlp = collector(scenario);
    with.traces = std::env::var("BENCH_TRACES").map_or(true, |v| v != "0");
    with.metrics = std::env::var("BENCH_METRICS").map_or(true, |v| v != "0");
    let (_tel_off, off) = telemetry::build(&base).unwrap();
    let (tel_on, on) = telemetry::build(&with).unwrap();
    let (off, on) = (tracing::Dispatch::new(off), tracing::Dispatch::new(on));
    let multi = std::env::var("BENCH_AB_RT").is_ok_and(|v| v == "multi");
    let (rt_off, rt_on) = (ab_runtime(multi, &off), ab_runtime(multi, &on));
    // Each block sets up its own emulator, handler and client on its side's
    // runtime and under its subscriber.
    let run = |d: &tracing::Dispatch, n: usize, out: &mut Vec<Duration>| {
        let rt = if std::ptr::eq(d, &on) {
            &rt_on
        } else {
            &rt_off
        };
        tracing::dispatcher::with_default(d, || rt.block_on(measure(0, AB_SETTLE, n, out)))
    };
    let (mut a, mut b) = (Vec::new(), Vec::new());
    run(&off, WARMUP, &mut Vec::new());
    run(&on, AB_STEADY, &mut Vec::new());
    // Past the first scheduled export (batch delay 1 s).
    std::thread::sleep(Duration::from_millis(1_200));
    let (shed0, dropped0) = (tel_on.shed_traces(), tel_on.dropped_spans());
    for i in 0..blocks {
        if i % 2 == 0 {
            run(&off, AB_BLOCK, &mut a);
            run(&on, AB_BLOCK, &mut b);
        } else {
            run(&on, AB_BLOCK, &mut b);
            run(&off, AB_BLOCK, &mut a);
        }
    }
    let stats = |mut v: Vec<Duration>| {
        let mean = v.iter().sum::<Duration>().as_secs_f64() * 1e6 / v.len() as f64;
        v.sort();
        (pct(&v, 0.5).as_secs_f64() * 1e6, mean)
    };
    // Every trace started on the exporting side, warm-up calls included.
    let calls = b.len() + blocks * AB_SETTLE;
    let ((p_off, m_off), (p_on, m_on)) = (stats(a), stats(b));
    let shed = tel_on.shed_traces() - shed0;
    let dropped = tel_on.dropped_spans() - dropped0;
    println!("{p_off:.1} {p_on:.1} {m_off:.1} {m_on:.1} {calls} {shed} {dropped}");
    drop((rt_off, rt_on));
    // Shutdown waits for a stalled export; not measured here.
    std::mem::forget(tel_on);
}

/// Run this binary as a child with `env` and parse the numbers it prints.
fn run_child<T: std::str::FromStr>(name: &str, env: &[(&str, String)]) -> Vec<T>
where
    T::Err: std::fmt::Debug,
{
    let o = std::process::Command::new(std::env::current_exe().unwrap())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect()
}

/// Run the in-process A/B for every exporting scenario `runs` times (each
/// its own process) and print the table: median and range of the per-run
/// ratios of telemetry on to off.
fn series_ab(blocks: usize, runs: usize) {
    let median = |mut x: Vec<f64>| {
        x.sort_by(f64::total_cmp);
        x[x.len() / 2]
    };
    let range = |x: &[f64]| {
        let lo = x.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        format!("{lo:+.1} to {hi:+.1}")
    };
    for (rt, label) in [
        ("current", "current-thread runtime"),
        ("multi", "multi-thread runtime, as the binary"),
    ] {
        println!();
        println!(
            "In-process A/B, {label}: {blocks} alternating blocks of {AB_BLOCK} calls per side, \
             median of {runs} runs (range in brackets)"
        );
        println!();
        println!(
            "| telemetry | p50 off | p50 on | p50 vs off | mean vs off | traces shed | spans dropped |"
        );
        println!("|---|---|---|---|---|---|---|");
        for name in &SCENARIOS[1..] {
            let all: Vec<Vec<f64>> = (0..runs)
                .map(|_| {
                    let n = run_child(
                        name,
                        &[
                            ("BENCH_AB", name.to_string()),
                            ("BENCH_AB_RT", rt.to_string()),
                            ("BENCH_AB_BLOCKS", blocks.to_string()),
                        ],
                    );
                    eprintln!("A/B {rt} {name}: {n:?}");
                    n
                })
                .collect();
            let col = |i: usize| all.iter().map(|n| n[i]).collect::<Vec<f64>>();
            let p50: Vec<f64> = all.iter().map(|n| (n[1] / n[0] - 1.0) * 100.0).collect();
            let mean: Vec<f64> = all.iter().map(|n| (n[3] / n[2] - 1.0) * 100.0).collect();
            println!(
                "| {name} | {:.0} µs | {:.0} µs | {:+.1} % ({}) | {:+.1} % ({}) | {:.0} of {:.0} | {:.0} |",
                median(col(0)),
                median(col(1)),
                median(p50.clone()),
                range(&p50),
                median(mean.clone()),
                range(&mean),
                median(col(5)),
                median(col(4)),
                median(col(6)),
            );
        }
    }
}

fn main() {
    if let Ok(s) = std::env::var("BENCH_AB") {
        let blocks = std::env::var("BENCH_AB_BLOCKS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(AB_BLOCKS);
        child_ab(&s, blocks);
        return;
    }
    if let Ok(s) = std::env::var("BENCH_SCENARIO") {
        let hub_ms = std::env::var("BENCH_HUB_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        child(&s, hub_ms);
        return;
    }
    let rounds = |var: &str, default: usize| {
        std::env::var(var)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    series_ab(
        rounds("BENCH_AB_BLOCKS", AB_BLOCKS),
        rounds("BENCH_AB_RUNS", AB_RUNS),
    );
    if std::env::var("BENCH_ONLY_AB").is_ok() {
        return;
    }
    series(0, rounds("BENCH_ROUNDS", ROUNDS));
    series(20, rounds("BENCH_SLOW_ROUNDS", 3));
}

/// Run every scenario `rounds` times, interleaved (the order rotates each
/// round), and print the table. "vs off" is the median over the rounds of
/// each round's ratio to that round's **off** run, so that drift in the
/// machine's load between rounds cancels out.
fn series(hub_ms: u64, rounds: usize) {
    let mut results: Vec<(&str, Vec<[u64; 6]>)> =
        SCENARIOS.iter().map(|s| (*s, Vec::new())).collect();
    for round in 0..rounds {
        for k in 0..SCENARIOS.len() {
            let (name, out) = &mut results[(round + k) % SCENARIOS.len()];
            let n: Vec<u64> = run_child(
                name,
                &[
                    ("BENCH_SCENARIO", name.to_string()),
                    ("BENCH_HUB_MS", hub_ms.to_string()),
                ],
            );
            eprintln!(
                "hub +{hub_ms} ms, round {round} {name}: p50 {} µs, p99 {} µs, mean {} µs, dropped {}, shed {}, shutdown {} ms",
                n[0], n[1], n[2], n[3], n[4], n[5]
            );
            out.push([n[0], n[1], n[2], n[3], n[4], n[5]]);
        }
    }
    let median = |mut x: Vec<f64>| {
        x.sort_by(f64::total_cmp);
        x[x.len() / 2]
    };
    let med = |v: &[[u64; 6]], i: usize| median(v.iter().map(|r| r[i] as f64).collect());
    let off = results[0].1.clone();
    let ratio = |v: &[[u64; 6]], i: usize| {
        median(
            v.iter()
                .zip(&off)
                .map(|(r, o)| (r[i] as f64 / o[i] as f64 - 1.0) * 100.0)
                .collect(),
        )
    };
    println!();
    println!("Hub answers delayed by {hub_ms} ms; median of {rounds} rounds");
    println!();
    println!(
        "| telemetry | p50 | p99 | mean | p50 vs off | mean vs off | spans dropped | traces shed | shutdown |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (name, v) in &results {
        println!(
            "| {name} | {} µs | {} µs | {} µs | {:+.1} % | {:+.1} % | {} | {} | {} ms |",
            med(v, 0),
            med(v, 1),
            med(v, 2),
            ratio(v, 0),
            ratio(v, 2),
            med(v, 3),
            med(v, 4),
            med(v, 5)
        );
    }
}
