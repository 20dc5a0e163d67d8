//! `dockerhub tags prune`: every rule changes the plan as documented; apply
//! survives 429s and dropped connections, stops, resumes, and deletes each
//! selected tag exactly once (the emulator's request log proves it).
#![cfg(feature = "cli")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cli_support;

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use cli_support::{Env, NOW, code, filters, stderr, stdout};
use dockerhub_emulator::{EmulatorConfig, Fault, FaultKind, RetryAfterForm};
use serde_json::Value;

/// The plan as (deleted, kept) tag sets.
fn plan(env: &Env, repo: &str, rules: &[&str]) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut args = vec!["tags", "prune", repo, "-o", "json", "--now", NOW];
    args.extend_from_slice(rules);
    let v = env.json(&args);
    let names = |k: &str| -> BTreeSet<String> {
        v[k].as_array()
            .unwrap()
            .iter()
            .map(|d| d["tag"].as_str().unwrap().to_string())
            .collect()
    };
    let (del, keep) = (names("delete"), names("keep"));
    assert_eq!(v["summary"]["delete"].as_u64().unwrap() as usize, del.len());
    (del, keep)
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| (*s).to_string()).collect()
}

/// acme/app's tags protected by its rule `^v?\d+\.\d+\.\d+$`.
const IMMUTABLE: &[&str] = &[
    "1.0.0", "1.0.1", "1.1.0", "1.2.0", "1.2.1", "2.0.0", "2.1.0", "2.2.0", "2.3.0", "2.3.1",
];

#[test]
fn plan_is_golden_and_sends_no_delete() {
    let env = Env::new();
    let out = env.run(&[
        "tags",
        "prune",
        "acme/app",
        "--keep-last",
        "3",
        "-o",
        "table",
        "--now",
        NOW,
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    insta::with_settings!({filters => filters(), prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("prune_plan_table", stdout(&out));
    });
    assert!(stderr(&out).contains("plan for acme/app: delete 6, keep 13"));
    let out = env.run(&[
        "tags",
        "prune",
        "acme/app",
        "--older-than",
        "90d",
        "--exclude",
        "^feature-",
        "-o",
        "json",
        "--now",
        NOW,
    ]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    insta::with_settings!({prepend_module_to_snapshot => false}, {
        insta::assert_json_snapshot!("prune_plan_json", v);
    });
    let out = env.run(&[
        "tags",
        "prune",
        "acme/app",
        "--keep-last",
        "3",
        "-q",
        "--now",
        NOW,
    ]);
    assert_eq!(stdout(&out).lines().count(), 6);
    let out = env.run(&[
        "tags",
        "prune",
        "acme/app",
        "--keep-last",
        "3",
        "-o",
        "csv",
        "--now",
        NOW,
    ]);
    assert!(stdout(&out).starts_with("tag,action,reason,pushed,pulled\n"));
    assert!(!env.requests().iter().any(|r| r.method == "DELETE"));
    // The immutable rules were checked (the verify call, or locally when
    // the SDK refuses the rule's regex; either way all ten are kept).
    let (_, keep) = plan(&env, "acme/app", &["--keep-last", "0"]);
    assert!(set(IMMUTABLE).is_subset(&keep));
}

#[test]
fn each_rule_changes_the_plan() {
    // Two walks of the 10,000-tag repository plus a dozen plans: above the
    // default 180/min, and this test is about rules, not pacing.
    let env = Env::with(EmulatorConfig {
        rate_limit: 10_000,
        ..EmulatorConfig::default()
    });
    let (del, _) = plan(&env, "acme/app", &["--keep-last", "3"]);
    assert_eq!(
        del,
        set(&[
            "3f9c2e1",
            "feature-x",
            "a7d41b0",
            "e02b9f4",
            "2.0.0-rc.1",
            "2.0.0-beta.1"
        ])
    );
    let (del5, _) = plan(&env, "acme/app", &["--keep-last", "5"]);
    assert_eq!(del5.len(), 4, "a larger N keeps more");

    let (del, _) = plan(&env, "acme/app", &["--older-than", "90d"]);
    assert_eq!(
        del,
        set(&["a7d41b0", "e02b9f4", "2.0.0-rc.1", "2.0.0-beta.1"])
    );
    let (by_push, _) = plan(&env, "acme/app", &["--older-than", "30d"]);
    let (by_pull, _) = plan(&env, "acme/app", &["--older-than", "30d", "--by", "pull"]);
    assert_eq!(
        by_pull.difference(&by_push).cloned().collect::<Vec<_>>(),
        vec!["3f9c2e1"],
        "never pulled counts as old"
    );

    let (del, _) = plan(&env, "acme/app", &["--match", "^[0-9a-f]{7}$"]);
    assert_eq!(del, set(&["3f9c2e1", "a7d41b0", "e02b9f4"]));
    let (del, keep) = plan(
        &env,
        "acme/app",
        &["--older-than", "30d", "--exclude", "^feature-"],
    );
    assert_eq!(
        by_push.difference(&del).cloned().collect::<Vec<_>>(),
        vec!["feature-x"]
    );
    assert!(keep.contains("feature-x"));

    let (del, _) = plan(&env, "acme/app", &["--inactive"]);
    assert_eq!(
        del,
        set(&[
            "feature-x",
            "a7d41b0",
            "e02b9f4",
            "2.0.0-rc.1",
            "2.0.0-beta.1"
        ])
    );

    // Semver per major on acme/api (no immutable rules); other tags untouched.
    let (del, keep) = plan(&env, "acme/api", &["--keep-semver", "1", "--per", "major"]);
    assert_eq!(del, set(&["v1.1.0", "v1.0.0"]));
    assert!(keep.contains("latest") && keep.contains("v2.0.0-alpha.1"));
    let (del, _) = plan(&env, "acme/api", &["--keep-semver", "1"]);
    assert!(del.is_empty(), "one tag per minor: nothing to delete");
    // Per minor vs per major on the big repository: v0.0.x and v0.1.x.
    let (minor, _) = plan(
        &env,
        "acme/many-tags",
        &["--match", r"^v0\.[01]\.", "--keep-semver", "3"],
    );
    let (major, _) = plan(
        &env,
        "acme/many-tags",
        &[
            "--match",
            r"^v0\.[01]\.",
            "--keep-semver",
            "3",
            "--per",
            "major",
        ],
    );
    assert_eq!((minor.len(), major.len()), (14, 17));
    assert!(!minor.contains("v0.1.9") && !minor.contains("v0.0.9") && minor.contains("v0.0.6"));
}

/// `tags prune REPO RULES… --apply` with JSON output, confirmation given,
/// the destructive gate open, the fixed clock and an optional journal.
fn apply_json(
    env: &Env,
    repo: &str,
    rules: &[&str],
    journal: Option<&std::path::Path>,
) -> std::process::Output {
    let mut args = vec!["tags", "prune", repo];
    args.extend_from_slice(rules);
    args.extend_from_slice(&[
        "--apply",
        "--yes",
        "--allow-destructive",
        "-o",
        "json",
        "--now",
        NOW,
    ]);
    if let Some(j) = journal {
        args.extend_from_slice(&["--journal", j.to_str().unwrap()]);
    }
    env.cmd()
        .args(&args)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap()
}

fn successful_deletes(env: &Env, repo_path: &str) -> HashMap<String, usize> {
    let prefix = format!("/v2/repositories/{repo_path}/tags/");
    let mut m = HashMap::new();
    for r in env.requests() {
        if r.method == "DELETE"
            && (200..300).contains(&r.status)
            && let Some(tag) = r.path.strip_prefix(&prefix)
        {
            *m.entry(tag.trim_end_matches('/').to_string()).or_default() += 1;
        }
    }
    m
}

fn fault(count: u32, kind: FaultKind) -> Fault {
    Fault {
        method: Some("DELETE".into()),
        path: "/v2/repositories/acme/many-tags/tags/*".into(),
        count,
        kind,
    }
}

fn status(code: u16) -> FaultKind {
    FaultKind::Status {
        status: code,
        retry_after: Some(RetryAfterForm::Seconds),
        retry_after_secs: 1,
    }
}

#[test]
fn apply_with_faults_interrupted_and_resumed_deletes_each_tag_once() {
    // A generous limit here: pacing has its own test below.
    let env = Env::with(EmulatorConfig {
        rate_limit: 10_000,
        ..EmulatorConfig::default()
    });
    let rules = ["--match", r"^v0\.[0-4]\."];
    let (selected, _) = plan(&env, "acme/many-tags", &rules);
    assert_eq!(selected.len(), 50);
    let journal = env.path("prune.journal");
    let apply = |extra: &[&str]| {
        let mut args = vec![
            "tags",
            "prune",
            "acme/many-tags",
            "--apply",
            "--yes",
            "--allow-destructive",
            "-o",
            "json",
            "--journal",
            journal.to_str().unwrap(),
            "--now",
            NOW,
        ];
        args.extend_from_slice(&rules);
        args.extend_from_slice(extra);
        env.cmd()
            .args(&args)
            .timeout(Duration::from_secs(120))
            .output()
            .unwrap()
    };

    // Run 1: a 429 and a dropped connection on the way; stops after 20.
    env.emu.inject_fault(fault(1, status(429)));
    env.emu.inject_fault(fault(1, FaultKind::Drop));
    let out = apply(&["--max-deletes", "20"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["deleted"].as_u64().unwrap() + v["skipped"].as_u64().unwrap(),
        20,
        "{v}"
    );
    assert_eq!(v["not_run"], 30);
    assert!(journal.exists(), "the journal stays for the resume");
    assert!(stderr(&out).contains("resume"));
    assert_eq!(successful_deletes(&env, "acme/many-tags").len(), 20);

    // Run 2: more 429s, drops and a 503 mid-run; resumes to the end.
    env.emu.inject_fault(fault(2, status(429)));
    env.emu.inject_fault(fault(2, FaultKind::Drop));
    env.emu.inject_fault(fault(1, status(503)));
    let out = apply(&[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["failed"], 0, "{v}");
    assert_eq!(v["not_run"], 0, "{v}");
    assert!(!journal.exists(), "a finished run removes its journal");

    // Every selected tag deleted exactly once; nothing else deleted.
    let deletes = successful_deletes(&env, "acme/many-tags");
    let deleted: BTreeSet<String> = deletes.keys().cloned().collect();
    assert_eq!(deleted, selected);
    assert!(deletes.values().all(|n| *n == 1), "{deletes:?}");
    let faulted: Vec<u16> = env
        .requests()
        .iter()
        .filter(|r| r.method == "DELETE" && !(200..300).contains(&r.status))
        .map(|r| r.status)
        .collect();
    assert!(
        faulted.contains(&429) && faulted.contains(&0) && faulted.contains(&503),
        "{faulted:?}"
    );
    // A third run has nothing left to do and sends no DELETE.
    let before = env
        .requests()
        .iter()
        .filter(|r| r.method == "DELETE")
        .count();
    let (del, _) = plan(&env, "acme/many-tags", &rules);
    assert!(del.is_empty());
    let out = apply(&[]);
    assert_eq!(code(&out), 0);
    assert_eq!(
        env.requests()
            .iter()
            .filter(|r| r.method == "DELETE")
            .count(),
        before
    );
}

#[test]
fn a_delete_cut_off_by_a_crash_is_checked_not_repeated() {
    let env = Env::new();
    // The delete of feature-x went through, but the run died before
    // journaling it: the journal says "start" only.
    let out = env
        .cmd()
        .args([
            "tags",
            "rm",
            "acme/app:feature-x",
            "--allow-destructive",
            "--yes",
        ])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let journal = env.path("crash.journal");
    std::fs::write(
        &journal,
        "{\"event\":\"begin\",\"repository\":\"acme/app\"}\n{\"tag\":\"feature-x\",\"event\":\"start\"}\n{\"tag\":\"a7d4",
    )
    .unwrap();
    env.emu.clear_requests();
    let out = apply_json(
        &env,
        "acme/app",
        &["--match", "^(feature-x|a7d41b0)$"],
        Some(&journal),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // feature-x is already gone, so it is no longer listed; a7d41b0 is new.
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["deleted"], 1, "{v}");
    assert_eq!(
        successful_deletes(&env, "acme/app")
            .keys()
            .cloned()
            .collect::<Vec<_>>(),
        vec!["a7d41b0"]
    );

    // A tag still listed but journaled as started is looked up (HEAD) first.
    let journal = env.path("crash2.journal");
    std::fs::write(
        &journal,
        "{\"event\":\"begin\",\"repository\":\"acme/app\"}\n{\"tag\":\"e02b9f4\",\"event\":\"start\"}\n",
    )
    .unwrap();
    env.emu.clear_requests();
    let out = apply_json(&env, "acme/app", &["--match", "^e02b9f4$"], Some(&journal));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let log = env.requests();
    let head = log
        .iter()
        .position(|r| r.method == "HEAD" && r.path.contains("e02b9f4"));
    let del = log
        .iter()
        .position(|r| r.method == "DELETE" && r.path.contains("e02b9f4"));
    assert!(
        head.is_some() && del.is_some() && head < del,
        "HEAD before DELETE"
    );

    // A journal of another repository is refused.
    std::fs::write(
        env.path("other.journal"),
        "{\"event\":\"begin\",\"repository\":\"acme/app\"}\n",
    )
    .unwrap();
    let out = env
        .cmd()
        .args([
            "tags",
            "prune",
            "acme/web",
            "--keep-last",
            "1",
            "--apply",
            "--yes",
            "--allow-destructive",
            "--journal",
            env.path("other.journal").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
}

#[test]
fn immutable_tags_survive_an_apply() {
    let env = Env::new();
    let out = env
        .cmd()
        .env("DOCKERHUB_ALLOW_DESTRUCTIVE", "true")
        .args([
            "tags",
            "prune",
            "acme/app",
            "--keep-last",
            "0",
            "--apply",
            "--yes",
            "-o",
            "json",
            "--now",
            NOW,
        ])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["deleted"], 9, "{v}");
    assert_eq!(v["kept"], 10, "{v}");
    let out = env.run(&["tags", "ls", "acme/app", "--all", "-q"]);
    let left: BTreeSet<String> = stdout(&out).lines().map(str::to_string).collect();
    assert_eq!(left, set(IMMUTABLE));
    assert!(
        !env.requests().iter().any(|r| r.method == "DELETE"
            && IMMUTABLE
                .iter()
                .any(|t| r.path.ends_with(&format!("/tags/{t}/")))),
        "no DELETE was even sent for an immutable tag"
    );
}

#[test]
fn apply_is_paced_under_a_small_limit() {
    // 8 requests per 3 s per identity; the apply needs more than that.
    let env = Env::with(EmulatorConfig {
        rate_limit: 8,
        rate_window: Duration::from_secs(3),
        ..EmulatorConfig::default()
    });
    let out = apply_json(
        &env,
        "acme/app",
        &["--keep-last", "0", "--concurrency", "4"],
        None,
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["deleted"], 9, "{v}");
    let limited: Vec<_> = env
        .requests()
        .into_iter()
        .filter(|r| r.status == 429)
        .collect();
    assert!(
        limited.is_empty(),
        "paced, so never rate-limited: {limited:?}"
    );
}

#[test]
fn failed_deletes_are_reported_and_retried_on_resume() {
    let env = Env::new();
    // e02b9f4 answers 503 more often than the SDK retries.
    env.emu.inject_fault(Fault {
        method: Some("DELETE".into()),
        path: "/v2/repositories/acme/app/tags/e02b9f4".into(),
        count: 4,
        kind: FaultKind::Status {
            status: 503,
            retry_after: None,
            retry_after_secs: 0,
        },
    });
    let journal = env.path("fail.journal");
    let args = [
        "tags",
        "prune",
        "acme/app",
        "--match",
        "^(e02b9f4|a7d41b0)$",
        "--apply",
        "--yes",
        "--allow-destructive",
        "-o",
        "json",
        "--journal",
        journal.to_str().unwrap(),
        "--now",
        NOW,
    ];
    let out = env
        .cmd()
        .args(args)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["deleted"].as_u64(), v["failed"].as_u64()),
        (Some(1), Some(1)),
        "{v}"
    );
    assert!(stderr(&out).contains("failed: e02b9f4"), "{}", stderr(&out));
    assert!(journal.exists());
    // The resume looks before it deletes, then finishes.
    let out = env.cmd().args(args).output().unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let deletes = successful_deletes(&env, "acme/app");
    assert_eq!(deletes.get("e02b9f4"), Some(&1));
    assert_eq!(deletes.get("a7d41b0"), Some(&1));
    assert!(!journal.exists());
}
