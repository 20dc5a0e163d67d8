//! No Docker engine runs in CI, so this checks the deployment files statically: every variable that
//! `docker/mcp.compose.yml` and `.env.example` pass must be one the server reads (a `dockerhub-mcp` flag's env
//! name, or a variable the SDK reads), and every variable the server reads must be documented in `.env.example`.
//! It also checks the Dockerfile's essentials (multi-stage, non-root, HEALTHCHECK on /health).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Mutex;

use clap::CommandFactory;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo_root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Env names of the server's flags.
fn flag_vars() -> BTreeSet<String> {
    dockerhub_mcp::Config::command()
        .get_arguments()
        .filter_map(|a| a.get_env())
        .map(|e| e.to_string_lossy().to_string())
        .collect()
}

/// Every variable the SDK reads (recorded through its lookup hook), plus the ones read directly by the binary.
fn sdk_vars() -> BTreeSet<String> {
    let seen = Mutex::new(BTreeSet::new());
    let _ = dockerhub_api::Config::from_lookup(|name| {
        seen.lock().unwrap().insert(name.to_string());
        None
    });
    let mut vars = seen.into_inner().unwrap();
    vars.insert("NO_COLOR".into());
    vars.extend(telemetry_vars());
    vars
}

/// Every variable the telemetry setup (logs, OpenTelemetry, Langfuse) reads, recorded through its lookup hook.
fn telemetry_vars() -> BTreeSet<String> {
    let seen = Mutex::new(BTreeSet::new());
    let _ = dockerhub_api::telemetry::TelemetryConfig::from_lookup("dockerhub-mcp", |name| {
        seen.lock().unwrap().insert(name.to_string());
        None
    });
    seen.into_inner().unwrap()
}

/// `NAME=` entries of `.env.example`, commented out or not.
fn env_example_vars() -> BTreeSet<String> {
    read(".env.example")
        .lines()
        .map(|l| l.trim().trim_start_matches('#').trim())
        .filter_map(|l| l.split_once('='))
        .map(|(k, _)| k.trim())
        .filter(|k| {
            !k.is_empty()
                && k.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        })
        .map(str::to_string)
        .collect()
}

/// Keys of `services.*.environment` (map or list form) and every `${NAME…}` the compose file interpolates,
/// including commented `# NAME: ${NAME}` lines documenting optional settings.
fn compose_vars() -> BTreeSet<String> {
    let text = read("docker/mcp.compose.yml");
    let doc: serde_json::Value = yaml_serde::from_str(&text).expect("compose file is YAML");
    let mut vars = BTreeSet::new();
    for (_, service) in doc["services"].as_object().expect("services").iter() {
        match &service["environment"] {
            serde_json::Value::Object(map) => vars.extend(map.keys().cloned()),
            serde_json::Value::Array(items) => vars.extend(
                items
                    .iter()
                    .filter_map(|i| i.as_str())
                    .map(|i| i.split('=').next().unwrap_or(i).to_string()),
            ),
            _ => {}
        }
    }
    let mut rest = text.as_str();
    while let Some(idx) = rest.find("${") {
        rest = &rest[idx + 2..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            vars.insert(name);
        }
    }
    vars
}

#[test]
fn compose_and_env_example_only_pass_known_variables() {
    let mut known = flag_vars();
    known.extend(sdk_vars());
    for (file, vars) in [
        ("docker/mcp.compose.yml", compose_vars()),
        (".env.example", env_example_vars()),
    ] {
        let unknown: Vec<&String> = vars.iter().filter(|v| !known.contains(*v)).collect();
        assert!(
            unknown.is_empty(),
            "{file} passes variables dockerhub-mcp does not read: {unknown:?}"
        );
        assert!(
            vars.len() > 20,
            "{file}: suspiciously few variables: {vars:?}"
        );
    }
}

#[test]
fn env_example_documents_every_variable() {
    let documented = env_example_vars();
    let mut all = flag_vars();
    all.extend(sdk_vars());
    let missing: Vec<&String> = all.iter().filter(|v| !documented.contains(*v)).collect();
    assert!(
        missing.is_empty(),
        ".env.example lacks these variables the server reads: {missing:?}"
    );
    let compose = compose_vars();
    let missing: Vec<String> = flag_vars()
        .into_iter()
        .filter(|v| !compose.contains(v))
        .collect();
    assert!(
        missing.is_empty(),
        "docker/mcp.compose.yml lacks these server settings: {missing:?}"
    );
}

#[test]
fn env_example_lines_are_commented() {
    // Each NAME= line needs a comment line right above it (or above its group).
    let text = read(".env.example");
    let mut last_comment = false;
    for line in text.lines() {
        let t = line.trim();
        if t.is_empty() {
            last_comment = false;
            continue;
        }
        let is_var = t
            .trim_start_matches('#')
            .trim()
            .split_once('=')
            .is_some_and(|(k, _)| {
                !k.trim().is_empty()
                    && k.trim()
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            });
        if is_var {
            assert!(last_comment, ".env.example: `{t}` has no comment above it");
        } else {
            last_comment = t.starts_with('#');
        }
    }
}

#[test]
fn dockerfile_essentials() {
    let text = read("docker/Dockerfile");
    assert!(
        text.matches("\nFROM ").count() + usize::from(text.starts_with("FROM ")) >= 2,
        "multi-stage build"
    );
    assert!(
        text.contains("AS builder")
            && text.contains("FROM rust:")
            && text.contains("RUST_VERSION=1.95"),
        "rust 1.95 builder"
    );
    assert!(text.contains("cargo build --release --locked -p dockerhub-mcp"));
    let user = text
        .lines()
        .rev()
        .find(|l| l.starts_with("USER "))
        .expect("USER instruction");
    assert!(
        !user.contains("root") && user.trim() != "USER 0",
        "non-root user: {user}"
    );
    let health = text
        .lines()
        .find(|l| l.starts_with("HEALTHCHECK"))
        .expect("HEALTHCHECK");
    assert!(
        text.contains("/health"),
        "HEALTHCHECK hits /health: {health}"
    );
}
