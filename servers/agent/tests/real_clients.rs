//! Real clients against a live agent: the Python `a2a-sdk` 1.3.0, the npm
//! `@ag-ui/client` HttpAgent, and headless Chromium driving the web chat.
//! Each runs when `.ci/run` exported its tool's path, and prints SKIP otherwise:
//! `AGENT_CI_PYTHON` (a venv with a2a-sdk==1.3.0), `AGENT_CI_NODE` and
//! `AGENT_CI_NODE_PATH` (node_modules with @ag-ui/client and playwright-core),
//! `AGENT_CI_CHROMIUM` (Debian's chromium).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use common::*;
use serde_json::{Value, json};

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/clients")
        .join(name)
}

async fn run(cmd: &str, args: &[&str], node_path: Option<&str>) {
    let mut c = tokio::process::Command::new(cmd);
    c.args(args).kill_on_drop(true);
    if let Some(p) = node_path {
        c.env("NODE_PATH", p);
    }
    let out = tokio::time::timeout(std::time::Duration::from_secs(180), c.output())
        .await
        .expect("client finished in time")
        .expect("client started");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed:\n{stdout}\n{stderr}"
    );
}

#[tokio::test]
async fn python_a2a_sdk_client() {
    let Some(python) = env("AGENT_CI_PYTHON") else {
        println!("SKIP: AGENT_CI_PYTHON is not set (a venv with a2a-sdk==1.3.0; see .ci/run)");
        return;
    };
    let a = start(Opts {
        allow_destructive: true,
        ..Opts::default()
    })
    .await;
    run(
        &python,
        &[script("a2a_client.py").to_str().unwrap(), &a.url],
        None,
    )
    .await;
    a.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn agui_http_agent_client() {
    let (Some(node), Some(node_path)) = (env("AGENT_CI_NODE"), env("AGENT_CI_NODE_PATH")) else {
        println!(
            "SKIP: AGENT_CI_NODE / AGENT_CI_NODE_PATH are not set (@ag-ui/client; see .ci/run)"
        );
        return;
    };
    let a = start(Opts {
        allow_destructive: true,
        ..Opts::default()
    })
    .await;
    let script_llm: Script = Arc::new(|m: &[Value]| {
        let last_user = m
            .iter()
            .rev()
            .find(|x| x["role"] == "user")
            .map(|x| x["content"].as_str().unwrap_or("").to_string())
            .unwrap_or_default();
        if last_user == "thanks" {
            Turn::Text("You're welcome.".into())
        } else if after_tool(m) {
            Turn::Text("You are demo.".into())
        } else {
            Turn::Tools(vec![("hub_admin".into(), json!({"action": "whoami"}))])
        }
    });
    let llm = fake_llm(script_llm).await;
    let b = start(Opts {
        llm: Some((llm.url.clone(), true)),
        ..Opts::default()
    })
    .await;
    run(
        &node,
        &[script("agui_client.cjs").to_str().unwrap(), &a.url, &b.url],
        Some(&node_path),
    )
    .await;
    a.running.shutdown().await.unwrap();
    b.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn browser_web_chat() {
    let (Some(node), Some(node_path), Some(chromium)) = (
        env("AGENT_CI_NODE"),
        env("AGENT_CI_NODE_PATH"),
        env("AGENT_CI_CHROMIUM"),
    ) else {
        println!(
            "SKIP: AGENT_CI_NODE / AGENT_CI_NODE_PATH / AGENT_CI_CHROMIUM are not set (see .ci/run)"
        );
        return;
    };
    let a = start(Opts {
        args: vec!["--web".into()],
        ..Opts::default()
    })
    .await;
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/ci-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    let shot = dir.join("agent-web.png");
    run(
        &node,
        &[
            script("browser.cjs").to_str().unwrap(),
            &a.url,
            &chromium,
            shot.to_str().unwrap(),
        ],
        Some(&node_path),
    )
    .await;
    assert!(shot.exists());
    a.running.shutdown().await.unwrap();
}
