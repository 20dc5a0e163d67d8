//! CLI benchmarks: the real `dockerhub` binary against the in-process emulator.
//!
//! `cargo bench --bench cli` prints the figures recorded under `## CLI` in
//! docs/benchmarks.md:
//! 1. `tags list --all` over the 10,000 tags of `acme/many-tags` against the
//!    emulator's own time (a plain reqwest walk of the same 100 pages), and
//!    peak RSS of the CLI process for 100 vs 10,000 items (memory flat);
//! 2. a prune plan over 10,000 tags: the plan computation alone, and the
//!    whole command (listing included);
//! 3. an apply of 300 deletes under an emulator limit of 180 requests per
//!    60 s: wall time, failed deletes and 429s in the emulator's log.
//!
//! Set `CLI_BENCH_SKIP_APPLY=1` to skip the last one (it waits for a window).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use dockerhub_api::cli::prune::{Rules, TagInfo, plan};
use dockerhub_emulator::{Emulator, EmulatorConfig, demo};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_dockerhub");

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

/// Run the CLI, stdout to /dev/null; returns (wall time, peak RSS KiB when
/// /usr/bin/time is there, exit status).
fn run_cli(url: &str, args: &[&str]) -> (Duration, Option<u64>, bool) {
    let time = std::path::Path::new("/usr/bin/time");
    let mut cmd = if time.exists() {
        let mut c = Command::new(time);
        c.args(["-f", "RSS_KIB=%M", BIN]);
        c
    } else {
        Command::new(BIN)
    };
    let t = Instant::now();
    let out = cmd
        .args(args)
        .env("DOCKERHUB_URL", url)
        .env("DOCKER_HUB_USER", demo::USERNAME)
        .env("DOCKER_HUB_TOKEN", demo::PAT)
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let wall = t.elapsed();
    let err = String::from_utf8_lossy(&out.stderr);
    let rss = err
        .lines()
        .find_map(|l| l.strip_prefix("RSS_KIB="))
        .and_then(|n| n.trim().parse().ok());
    if !out.status.success() {
        eprintln!("{args:?} failed: {err}");
    }
    (wall, rss, out.status.success())
}

async fn emulator_walk(base: &str) -> Duration {
    let http = reqwest::Client::new();
    let tok: Value = http
        .post(format!("{base}/v2/auth/token"))
        .json(&json!({"identifier": demo::USERNAME, "secret": demo::PAT}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwt = tok["access_token"].as_str().unwrap().to_string();
    let t = Instant::now();
    let mut url = Some(format!(
        "{base}/v2/namespaces/acme/repositories/many-tags/tags?page_size=100"
    ));
    let mut n = 0;
    while let Some(u) = url.take() {
        let v: Value = http
            .get(&u)
            .bearer_auth(&jwt)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        n += v["results"].as_array().map_or(0, Vec::len);
        url = v["next"].as_str().map(str::to_string);
    }
    assert_eq!(n, 10_000);
    t.elapsed()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let emu = Emulator::start(EmulatorConfig {
        rate_limit: 0,
        ..Default::default()
    })
    .await
    .unwrap();
    let url = emu.base_url();
    let runs = 5;

    // 1. tags list --all
    let mut own = Vec::new();
    for _ in 0..runs {
        own.push(emulator_walk(&url).await);
    }
    let u = url.clone();
    let (cli_all, cli_fixed, rss_all, rss_small, rss_json) =
        tokio::task::spawn_blocking(move || {
            let mut all = Vec::new();
            let mut rss_all = 0;
            for _ in 0..runs {
                let (d, r, ok) = run_cli(
                    &u,
                    &["tags", "ls", "acme/many-tags", "--all", "-o", "ndjson"],
                );
                assert!(ok);
                all.push(d);
                rss_all = rss_all.max(r.unwrap_or(0));
            }
            let mut fixed = Vec::new();
            for _ in 0..runs {
                let (d, _, ok) = run_cli(
                    &u,
                    &[
                        "tags",
                        "ls",
                        "acme/many-tags",
                        "--limit",
                        "1",
                        "-o",
                        "ndjson",
                    ],
                );
                assert!(ok);
                fixed.push(d);
            }
            let (_, small, _) = run_cli(
                &u,
                &[
                    "tags",
                    "ls",
                    "acme/many-tags",
                    "--limit",
                    "100",
                    "-o",
                    "ndjson",
                ],
            );
            let (_, json, _) =
                run_cli(&u, &["tags", "ls", "acme/many-tags", "--all", "-o", "json"]);
            (all, fixed, rss_all, small.unwrap_or(0), json.unwrap_or(0))
        })
        .await
        .unwrap();
    let own_m = median(own);
    let cli_m = median(cli_all);
    println!("## tags list --all (10,000 tags, 100 pages, {runs} runs, median)\n");
    println!("| measure | value |\n|---|---|");
    println!(
        "| emulator's own time (plain reqwest walk, JWT minted once) | {} |",
        ms(own_m)
    );
    println!(
        "| `dockerhub tags ls acme/many-tags --all -o ndjson` (whole process) | {} |",
        ms(cli_m)
    );
    println!(
        "| difference | {} ({:+.0} %) |",
        ms(cli_m.saturating_sub(own_m)),
        (cli_m.as_secs_f64() / own_m.as_secs_f64() - 1.0) * 100.0
    );
    println!(
        "| fixed cost: the same command with `--limit 1` (process start, token mint, 1 page) | {} |",
        ms(median(cli_fixed))
    );
    println!("| peak RSS, `--limit 100` (1 page) | {rss_small} KiB |");
    println!("| peak RSS, `--all` ndjson (100 pages) | {rss_all} KiB |");
    println!("| peak RSS, `--all` json (100 pages) | {rss_json} KiB |");

    // 2. plan over 10,000 tags
    let now = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
    let tags: Vec<TagInfo> = (0..10_000i64)
        .map(|i| TagInfo {
            name: format!("v{}.{}.{}", i / 1000, (i / 10) % 100, i % 10),
            pushed: Some(now - chrono::Duration::hours(i)),
            pulled: (i % 3 != 0).then(|| now - chrono::Duration::hours(i / 2)),
            status: Some(if i < 720 { "active" } else { "inactive" }.into()),
        })
        .collect();
    let rules = Rules {
        keep_last: Some(100),
        older_than: Some((
            chrono::Duration::days(90),
            "90d".into(),
            dockerhub_api::cli::prune::By::Push,
        )),
        exclude: regex::Regex::new("^v0\\.").ok(),
        keep_semver: Some((3, false)),
        ..Rules::default()
    };
    let mut compute = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let p = plan(tags.clone(), &rules, &Default::default(), now);
        compute.push(t.elapsed());
        assert_eq!(p.len(), 10_000);
    }
    let u = url.clone();
    let whole = tokio::task::spawn_blocking(move || {
        let mut v = Vec::new();
        for _ in 0..runs {
            let (d, _, ok) = run_cli(
                &u,
                &[
                    "tags",
                    "prune",
                    "acme/many-tags",
                    "--keep-last",
                    "100",
                    "--older-than",
                    "90d",
                    "--keep-semver",
                    "3",
                    "-o",
                    "json",
                ],
            );
            assert!(ok);
            v.push(d);
        }
        v
    })
    .await
    .unwrap();
    println!("\n## prune plan over 10,000 tags ({runs} runs, median)\n");
    println!("| measure | value |\n|---|---|");
    println!(
        "| plan computation (4 rules, 10,000 tags, in process) | {:.1} ms |",
        median(compute).as_secs_f64() * 1000.0
    );
    println!(
        "| whole `tags prune acme/many-tags --keep-last 100 --older-than 90d --keep-semver 3 -o json` (100 pages listed, verify, plan, output) | {} |",
        ms(median(whole))
    );
    emu.shutdown().await;

    // 3. apply of 300 deletes under 180 requests / 60 s
    if std::env::var_os("CLI_BENCH_SKIP_APPLY").is_some() {
        return;
    }
    let emu = Emulator::start(EmulatorConfig {
        rate_limit: 180,
        rate_window: Duration::from_secs(60),
        ..Default::default()
    })
    .await
    .unwrap();
    let u = emu.base_url();
    let journal = std::env::temp_dir().join(format!("cli-bench-{}.journal", std::process::id()));
    let j = journal.display().to_string();
    let (wall, ok) = tokio::task::spawn_blocking(move || {
        let (d, _, ok) = run_cli(
            &u,
            &[
                "tags",
                "prune",
                "acme/many-tags",
                "--match",
                r"^v0\.([0-9]|[12][0-9])\.",
                "--apply",
                "--yes",
                "--allow-destructive",
                "--journal",
                &j,
                "-o",
                "json",
            ],
        );
        (d, ok)
    })
    .await
    .unwrap();
    let log = emu.requests();
    let deletes = log
        .iter()
        .filter(|r| r.method == "DELETE" && (200..300).contains(&r.status))
        .count();
    let limited = log.iter().filter(|r| r.status == 429).count();
    let failed = log
        .iter()
        .filter(|r| r.method == "DELETE" && !(200..300).contains(&r.status))
        .count();
    println!("\n## apply: 300 deletes under an emulator limit of 180 requests / 60 s\n");
    println!("| measure | value |\n|---|---|");
    println!(
        "| requests in all (token, 100 list pages, get, deletes) | {} |",
        log.len()
    );
    println!("| successful DELETEs | {deletes} |");
    println!("| failed DELETEs | {failed} |");
    println!("| 429s in the emulator's log | {limited} |");
    println!("| exit status success | {ok} |");
    println!("| wall time | {:.1} s |", wall.as_secs_f64());
    let _ = std::fs::remove_file(journal);
    emu.shutdown().await;
}
