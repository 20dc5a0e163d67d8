//! The `dockerhub-agent` binary: start-up, /health, graceful SIGTERM, refusal off loopback.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

const BIN: &str = env!("CARGO_BIN_EXE_dockerhub-agent");

#[tokio::test]
async fn demo_serves_health_and_stops_on_sigterm() {
    let mut child = tokio::process::Command::new(BIN)
        .args(["--demo", "--web", "--port", "0"])
        .env("NO_COLOR", "1")
        .env_remove("MODEL_ID")
        .env_remove("AGENT_API_KEY")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = loop {
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("announces its URL")
            .unwrap()
            .expect("stderr open");
        if let Some(i) = line.find("listening on http://") {
            break line[i + "listening on ".len()..]
                .split_whitespace()
                .next()
                .unwrap()
                .to_string();
        }
    };
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let h: serde_json::Value = reqwest::get(format!("{url}/health"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(h["status"], "OK");
    let page = reqwest::get(format!("{url}/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("<title>dockerhub-agent</title>"));
    let pid = child.id().unwrap().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = tokio::time::timeout(Duration::from_secs(15), child.wait())
        .await
        .expect("exits")
        .unwrap();
    assert!(status.success(), "graceful exit: {status}");
}

#[tokio::test]
async fn refuses_to_serve_unauthenticated_off_loopback() {
    let out = tokio::process::Command::new(BIN)
        .args(["--host", "0.0.0.0", "--port", "0"])
        .env_remove("AGENT_API_KEY")
        .env_remove("ALLOW_UNAUTHENTICATED")
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("AGENT_API_KEY"), "{err}");
}
