//! `dockerhub repos describe`: idempotent README sync, Hub's limits, link rewriting.
#![cfg(feature = "cli")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cli_support;

use cli_support::{Env, code, filters, stderr, stdout};
use serde_json::Value;

fn patches(env: &Env) -> usize {
    env.requests()
        .iter()
        .filter(|r| r.method == "PATCH" && r.path.starts_with("/v2/repositories/acme/app"))
        .count()
}

fn hub_readme(env: &Env) -> Value {
    env.json(&["repos", "get", "acme/app", "-o", "json"])
}

#[test]
fn sync_is_idempotent() {
    let env = Env::new();
    let readme = env.path("README.md");
    std::fs::write(&readme, "# Acme app\n\nRuns things.\n").unwrap();
    let r = readme.to_str().unwrap();
    let v = env.json(&[
        "repos",
        "describe",
        "acme/app",
        "--readme",
        r,
        "--short",
        "Runs things",
    ]);
    assert_eq!(v["changed"], true);
    assert_eq!(patches(&env), 1);
    let got = hub_readme(&env);
    assert_eq!(got["full_description"], "# Acme app\n\nRuns things.\n");
    assert_eq!(got["description"], "Runs things");
    // Same input again: nothing written.
    let v = env.json(&[
        "repos",
        "describe",
        "acme/app",
        "--readme",
        r,
        "--short",
        "Runs things",
    ]);
    assert_eq!(v["changed"], false);
    assert_eq!(patches(&env), 1, "no second PATCH");
    let out = env.run(&[
        "repos", "describe", "acme/app", "--readme", r, "-o", "table",
    ]);
    assert!(stderr(&out).contains("unchanged"), "{}", stderr(&out));
    assert_eq!(patches(&env), 1);
    // Only the short description changes: one more write, with that field only.
    let v = env.json(&[
        "repos",
        "describe",
        "acme/app",
        "--readme",
        r,
        "--short",
        "Runs more things",
    ]);
    assert_eq!(v["fields"], serde_json::json!(["description"]));
    assert_eq!(patches(&env), 2);
}

#[test]
fn dry_run_shows_the_diff_and_writes_nothing() {
    let env = Env::new();
    let readme = env.path("README.md");
    std::fs::write(
        &readme,
        "# acme/app\n\nThe Acme application, now documented.\n",
    )
    .unwrap();
    let out = env.run(&[
        "repos",
        "describe",
        "acme/app",
        "--readme",
        readme.to_str().unwrap(),
        "--short",
        "Acme app",
        "--dry-run",
        "-o",
        "table",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    insta::with_settings!({filters => filters(), prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("describe_dry_run_diff", stdout(&out));
    });
    assert_eq!(patches(&env), 0);
}

#[test]
fn limits_fail_clearly_or_truncate_with_a_notice() {
    let env = Env::new();
    let big = env.path("BIG.md");
    let line =
        "0123456789 abcdefghij 0123456789 abcdefghij 0123456789 abcdefghij 0123456789 abcdefghij\n";
    let text = line.repeat(300);
    let size = text.len();
    assert!(size > 25_000);
    std::fs::write(&big, &text).unwrap();
    let b = big.to_str().unwrap();
    let out = env.run(&["repos", "describe", "acme/app", "--readme", b]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains(&format!(
            "the README is {size} bytes; Hub allows at most 25000"
        )),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("--truncate"));
    let long = "x".repeat(101);
    let out = env.run(&["repos", "describe", "acme/app", "--short", &long]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("101 characters; Hub allows at most 100"),
        "{}",
        stderr(&out)
    );
    assert_eq!(patches(&env), 0);
    // Exactly at the limits is fine.
    let exact = env.path("EXACT.md");
    std::fs::write(&exact, "y".repeat(25_000)).unwrap();
    let out = env.run(&[
        "repos",
        "describe",
        "acme/app",
        "--readme",
        exact.to_str().unwrap(),
        "--short",
        &"z".repeat(100),
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // --truncate cuts at a line end, with a notice.
    let out = env.run(&[
        "repos",
        "describe",
        "acme/app",
        "--readme",
        b,
        "--short",
        &long,
        "--truncate",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stderr(&out).contains(&format!("notice: README truncated from {size} to")));
    assert!(stderr(&out).contains("notice: short description truncated from 101 to 100"));
    let got = hub_readme(&env);
    let full = got["full_description"].as_str().unwrap();
    assert!(full.len() <= 25_000 && full.len() > 24_000 && full.ends_with('\n'));
    assert_eq!(got["description"].as_str().unwrap().chars().count(), 100);
    // Multi-byte text is counted in bytes and cut on a character boundary.
    let utf = env.path("UTF.md");
    std::fs::write(&utf, "é".repeat(13_000)).unwrap();
    let out = env.run(&[
        "repos",
        "describe",
        "acme/app",
        "--readme",
        utf.to_str().unwrap(),
        "--truncate",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        hub_readme(&env)["full_description"].as_str().unwrap().len(),
        25_000
    );
}

#[test]
fn relative_links_and_images_are_rewritten() {
    let env = Env::new();
    let readme = env.path("README.md");
    std::fs::write(
        &readme,
        "# App\n\n![logo](docs/logo.png) see [the guide](docs/guide.md#start), [site](https://acme.example/), [top](#app)\n\n<img src=\"./img/arch.svg\" width=\"300\">\n\n```sh\ncat [not](a-link.md)\n```\n",
    )
    .unwrap();
    let v = env.json(&[
        "repos",
        "describe",
        "acme/app",
        "--readme",
        readme.to_str().unwrap(),
        "--base-url",
        "https://github.com/acme/app/blob/main",
    ]);
    assert_eq!(v["changed"], true);
    let full = hub_readme(&env)["full_description"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        full.contains("![logo](https://github.com/acme/app/blob/main/docs/logo.png)"),
        "{full}"
    );
    assert!(
        full.contains("[the guide](https://github.com/acme/app/blob/main/docs/guide.md#start)")
    );
    assert!(full.contains("[site](https://acme.example/)") && full.contains("[top](#app)"));
    assert!(full.contains("<img src=\"https://github.com/acme/app/blob/main/img/arch.svg\""));
    assert!(
        full.contains("cat [not](a-link.md)"),
        "code blocks are left alone"
    );
    // Rewriting is deterministic, so the next sync is a no-op.
    let v = env.json(&[
        "repos",
        "describe",
        "acme/app",
        "--readme",
        readme.to_str().unwrap(),
        "--base-url",
        "https://github.com/acme/app/blob/main",
    ]);
    assert_eq!(v["changed"], false);
    assert_eq!(patches(&env), 1);
}
