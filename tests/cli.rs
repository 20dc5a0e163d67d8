//! The `dockerhub` binary against the in-process emulator: golden outputs,
//! formats, exit codes, credentials.
#![cfg(feature = "cli")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cli_support;

use std::time::Duration;

use base64::Engine;
use cli_support::{Env, code, demo, filters, stderr, stdout};
use dockerhub_emulator::{Fault, FaultKind, RetryAfterForm};
use serde_json::Value;

macro_rules! golden {
    ($name:expr, $text:expr) => {
        insta::with_settings!({filters => filters(), prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!($name, $text);
        })
    };
}

#[test]
fn help_is_golden() {
    let env = Env::new();
    for (name, args) in [
        ("help_root", vec!["--help"]),
        ("help_tags", vec!["tags", "--help"]),
        ("help_tags_prune", vec!["tags", "prune", "--help"]),
        ("help_repos_list", vec!["repos", "list", "--help"]),
        ("help_repos_create", vec!["repos", "create", "--help"]),
        ("help_repos_describe", vec!["repos", "describe", "--help"]),
        ("help_org", vec!["org", "--help"]),
    ] {
        let out = env.bare().args(&args).output().unwrap();
        assert_eq!(code(&out), 0, "{args:?}");
        golden!(name, stdout(&out));
    }
}

#[test]
fn every_catalog_action_is_a_command() {
    let env = Env::new();
    for op in dockerhub_api::catalog::OPERATIONS {
        let action = op.action.replace('_', "-");
        let out = env
            .bare()
            .args([op.module.name(), &action, "--help"])
            .output()
            .unwrap();
        assert_eq!(code(&out), 0, "{} {action}", op.module.name());
        assert!(
            stdout(&out).contains(op.path),
            "{} {action} names its route",
            op.module.name()
        );
    }
}

#[test]
fn repos_list_in_every_format() {
    let env = Env::new();
    for fmt in ["table", "json", "ndjson", "csv"] {
        let out = env.run(&["repos", "ls", "acme", "--format", fmt]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        golden!(format!("repos_ls_{fmt}"), stdout(&out));
    }
    // Piped without --format: JSON.
    let v = env.json(&["repos", "list", "acme"]);
    assert_eq!(v.as_array().map(Vec::len), Some(5));
    // --quiet: identifiers only.
    let out = env.run(&["repos", "ls", "acme", "-q"]);
    golden!("repos_ls_quiet", stdout(&out));
}

#[test]
fn tags_list_alias_pages_and_formats() {
    let env = Env::new();
    for fmt in ["table", "json", "ndjson", "csv"] {
        let out = env.run(&["tags", "ls", "acme/app", "--page-size", "4", "-o", fmt]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        golden!(format!("tags_ls_{fmt}"), stdout(&out));
    }
    // The canonical path gives the same answer as the alias.
    let a = env.json(&["repos", "list-tags", "acme/app", "--page-size", "4"]);
    let b = env.json(&["tags", "list", "acme/app", "--page-size", "4"]);
    assert_eq!(a, b);
    // --page moves on; --limit walks pages until enough.
    let p2 = env.json(&["tags", "ls", "acme/app", "--page-size", "4", "--page", "2"]);
    assert_ne!(p2, a);
    let some = env.json(&[
        "tags",
        "ls",
        "acme/app",
        "--page-size",
        "4",
        "--limit",
        "10",
    ]);
    assert_eq!(some.as_array().map(Vec::len), Some(10));
    let all = env.json(&["tags", "ls", "acme/app", "--all"]);
    assert_eq!(all.as_array().map(Vec::len), Some(19));
    // One tag, table form.
    let out = env.run(&["tags", "get", "acme/app:2.3.1", "-o", "json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["name"], "2.3.1");
}

#[test]
fn all_walks_ten_thousand_tags() {
    let env = Env::new();
    let out = env.run(&["tags", "ls", "acme/many-tags", "--all", "-o", "ndjson"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let lines = stdout(&out).lines().count();
    assert_eq!(lines, 10_000);
    let pages = env
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/many-tags/tags"))
        .count();
    assert_eq!(pages, 100, "page_size 100 for --all");
}

#[test]
fn whoami_and_rate_limit() {
    let env = Env::new();
    let v = env.json(&["whoami"]);
    insta::with_settings!({filters => filters(), prepend_module_to_snapshot => false}, {
        insta::assert_json_snapshot!("whoami_json", v, {".exp" => "[exp]", ".iat" => "[iat]", ".sub" => "[sub]"});
    });
    let v = env.json(&["rate-limit"]);
    assert_eq!(v["limit"], 180);
    assert!(v["remaining"].as_u64().unwrap() < 180);
    assert!(v["reset_in_secs"].as_u64().unwrap() <= 61);
}

#[test]
fn dry_run_sends_nothing() {
    let env = Env::new();
    let out = env.run(&[
        "repos",
        "create",
        "acme",
        "--name",
        "newrepo",
        "--description",
        "A new one",
        "--is-private",
        "--dry-run",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    golden!("repos_create_dry_run", stdout(&out));
    assert!(
        !env.requests()
            .iter()
            .any(|r| r.method == "POST" && r.path.contains("repositories"))
    );
    // And for real.
    let v = env.json(&[
        "repos",
        "create",
        "acme",
        "--name",
        "newrepo",
        "--is-private=false",
    ]);
    assert_eq!(v["name"], "newrepo");
    assert_eq!(v["is_private"], false);
}

#[test]
fn exit_codes_are_distinct() {
    let env = Env::new();
    // Usage: unknown flag, bad target, bad enum value, invalid params.
    assert_eq!(code(&env.run(&["repos", "ls", "acme", "--nope"])), 2);
    assert_eq!(code(&env.run(&["tags", "ls", "acme"])), 2);
    assert_eq!(code(&env.run(&["tags", "get", "acme/app"])), 2);
    assert_eq!(
        code(&env.run(&["repos", "ls", "acme", "--ordering", "size"])),
        2
    );
    assert_eq!(
        code(&env.run(&["tags", "prune", "acme/app"])),
        2,
        "prune needs a rule"
    );
    // Not found, with one line on stderr.
    let out = env.run(&["repos", "get", "acme/nope"]);
    assert_eq!(code(&out), 5);
    assert!(
        stderr(&out).starts_with("error: not found"),
        "{}",
        stderr(&out)
    );
    assert_eq!(code(&env.run(&["repos", "check", "acme/nope"])), 5);
    assert_eq!(code(&env.run(&["repos", "check", "acme/app"])), 0);
    // Auth: a wrong token.
    let out = env
        .bare()
        .env("DOCKER_HUB_USER", "demo")
        .env("DOCKER_HUB_TOKEN", "dckr_pat_wrong")
        .args(["whoami"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(stderr(&out).contains("hint:"));
    // Forbidden: an org token on /v2/user/.
    let out = env
        .bare()
        .env("DOCKER_HUB_USER", demo::ORG)
        .env("DOCKER_HUB_TOKEN", demo::OAT)
        .args(["admin", "whoami"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    // Blocked by the safety gate, then declined without a terminal.
    let out = env.run(&["tags", "rm", "acme/app:main"]);
    assert_eq!(code(&out), 6);
    assert!(stderr(&out).contains("DOCKERHUB_ALLOW_DESTRUCTIVE"));
    let out = env.run(&["tags", "rm", "acme/app:main", "--allow-destructive"]);
    assert_eq!(code(&out), 6);
    assert!(stderr(&out).contains("--yes"));
    assert!(!env.requests().iter().any(|r| r.method == "DELETE"));
    let out = env
        .cmd()
        .env("DOCKERHUB_ALLOW_DESTRUCTIVE", "true")
        .args(["tags", "rm", "acme/app:main", "--yes"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // API error: a 500 on a POST (not retried).
    env.emu.inject_fault(Fault {
        method: Some("POST".into()),
        path: "/v2/namespaces/acme/repositories".into(),
        count: 1,
        kind: FaultKind::Status {
            status: 500,
            retry_after: None,
            retry_after_secs: 0,
        },
    });
    let out = env.run(&["repos", "create", "acme", "--name", "fine"]);
    assert_eq!(code(&out), 8, "{}", stderr(&out));
    assert!(
        stderr(&out).starts_with("error: HTTP 500"),
        "{}",
        stderr(&out)
    );
    // Rate-limited after the retry budget.
    env.emu.inject_fault(Fault {
        method: Some("GET".into()),
        path: "/v2/namespaces/*/repositories".into(),
        count: 10,
        kind: FaultKind::Status {
            status: 429,
            retry_after: Some(RetryAfterForm::Seconds),
            retry_after_secs: 0,
        },
    });
    let out = env.run(&["repos", "ls", "acme"]);
    assert_eq!(code(&out), 7, "{}", stderr(&out));
    env.emu.clear_faults();
    // Transport: nothing listens there.
    let out = env.run(&["repos", "ls", "acme", "--url", "http://127.0.0.1:9"]);
    assert_eq!(code(&out), 9, "{}", stderr(&out));
}

#[test]
fn docker_config_auths_fallback() {
    let env = Env::new();
    let host = env.url().trim_start_matches("http://").to_string();
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("demo:{}", demo::PAT));
    let dir = env.dir().join(".docker");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("config.json"),
        format!(r#"{{"auths": {{"{host}": {{"auth": "{auth}"}}, "https://index.docker.io/v1/": {{"auth": "eDp5"}}}}}}"#),
    )
    .unwrap();
    let out = env.bare().args(["whoami", "-o", "json"]).output().unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["username"], "demo");
    assert_eq!(v["credential"], "pat");
    assert!(v["source"].as_str().unwrap().starts_with("docker config"));
    assert!(!stdout(&out).contains(demo::PAT) && !stderr(&out).contains(demo::PAT));
    // The environment wins over docker's file.
    let out = env
        .bare()
        .env("DOCKER_HUB_USER", demo::USERNAME)
        .env("DOCKER_HUB_TOKEN", demo::PASSWORD)
        .args(["whoami"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["credential"], "password");
    // HOME/.docker is used when DOCKER_CONFIG is unset.
    let out = env
        .bare()
        .env_remove("DOCKER_CONFIG")
        .args(["whoami"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["username"], "demo");
    // Another DOCKER_CONFIG without an entry for this host: anonymous.
    let other = tempfile::tempdir().unwrap();
    let out = env
        .bare()
        .env("DOCKER_CONFIG", other.path())
        .args(["whoami"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["authenticated"], false);
}

#[cfg(unix)]
#[test]
fn docker_credential_helper_fallback() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let bin = env.dir().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let helper = bin.join("docker-credential-fake");
    // Answers only for the server it is asked about, like real helpers.
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\nread server\n[ \"$1\" = get ] || exit 1\necho \"$server\" >> \"{}/helper.log\"\nprintf '{{\"ServerURL\":\"%s\",\"Username\":\"demo\",\"Secret\":\"{}\"}}' \"$server\"\n",
            env.dir().display(),
            demo::PAT
        ),
    )
    .unwrap();
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let dir = env.dir().join(".docker");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("config.json"),
        r#"{"auths": {}, "credsStore": "fake"}"#,
    )
    .unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = env
        .bare()
        .env("PATH", &path)
        .args(["whoami"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["username"], "demo");
    assert_eq!(v["source"], "credential helper docker-credential-fake");
    let asked = std::fs::read_to_string(env.dir().join("helper.log")).unwrap();
    assert!(asked.starts_with("127.0.0.1:"), "{asked}");
}

#[test]
fn password_stdin_and_login() {
    let env = Env::new();
    let out = env
        .bare()
        .args(["login", "-u", "demo", "--password-stdin", "-o", "json"])
        .write_stdin(format!("{}\n", demo::PAT))
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["username"], "demo");
    assert_eq!(v["source"], "--password-stdin");
    assert!(!stdout(&out).contains(demo::PAT) && !stderr(&out).contains(demo::PAT));
    // A wrong secret is an auth failure.
    let out = env
        .bare()
        .args(["login", "-u", "demo", "--password-stdin"])
        .write_stdin("nope\n")
        .output()
        .unwrap();
    assert_eq!(code(&out), 3);
    assert!(!stderr(&out).contains("nope"));
    // --password-stdin without a username is a usage error.
    let out = env
        .bare()
        .args(["login", "--password-stdin"])
        .write_stdin("x\n")
        .output()
        .unwrap();
    assert_eq!(code(&out), 2);
    // A 2FA account: the code from DOCKERHUB_2FA_CODE.
    let out = env
        .bare()
        .env("DOCKER_HUB_USER", demo::TWOFA_USER)
        .env("DOCKER_HUB_TOKEN", demo::TWOFA_PASSWORD)
        .env("DOCKERHUB_2FA_CODE", demo::TWOFA_CODE)
        .args(["login", "-o", "json"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        env.requests()
            .iter()
            .any(|r| r.path.starts_with("/v2/users/2fa-login") && r.status == 200)
    );
    // Nothing at all: an auth error with a hint.
    let out = env.bare().args(["login"]).output().unwrap();
    assert_eq!(code(&out), 3);
    assert!(stderr(&out).contains("hint:"));
}

#[test]
fn completions_for_three_shells() {
    let env = Env::new();
    for shell in ["bash", "zsh", "fish"] {
        let out = env.bare().args(["completions", shell]).output().unwrap();
        assert_eq!(code(&out), 0);
        let s = stdout(&out);
        assert!(s.contains("dockerhub") && s.contains("prune"), "{shell}");
    }
}

#[test]
fn demo_mode_needs_no_setup() {
    let env = Env::new();
    let out = env
        .bare()
        .env_remove("DOCKERHUB_URL")
        .args([
            "--demo", "tags", "ls", "acme/app", "--limit", "2", "-o", "json",
        ])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v.as_array().map(Vec::len), Some(2));
}

#[test]
fn secrets_never_reach_the_terminal() {
    let env = Env::new();
    let out = env.run(&["-vvv", "whoami"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(stderr(&out).contains("hub answer"), "debug logs are on");
    assert!(!all.contains(demo::PAT), "the PAT");
    assert!(!all.contains("eyJ"), "a JWT");
    // A PAT created through the CLI is shown once, in the creation answer.
    let out = env
        .bare()
        .env("DOCKER_HUB_USER", demo::USERNAME)
        .env("DOCKER_HUB_TOKEN", demo::PASSWORD)
        .args([
            "auth",
            "create-pat",
            "--token-label",
            "ci",
            "--scopes",
            "repo:read",
            "-o",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["token"].as_str().unwrap().starts_with("dckr_pat_"));
    let out = env
        .bare()
        .env("DOCKER_HUB_USER", demo::USERNAME)
        .env("DOCKER_HUB_TOKEN", demo::PASSWORD)
        .args(["auth", "list-pats", "-o", "ndjson"])
        .output()
        .unwrap();
    assert!(!stdout(&out).contains(demo::PAT));
}
