//! The middleware against the emulator over real sockets: retries, auth,
//! single-flight minting, safety, secrets and pagination.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::*;
use dockerhub_api::catalog::{self, Module, Pagination, Safety};
use dockerhub_api::{Credentials, Error};
use dockerhub_emulator::{Fault, FaultKind, RetryAfterForm};
use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};

const TAGS: &str = "/v2/namespaces/acme/repositories/app/tags";

fn app() -> Value {
    json!({"namespace": "acme", "repository": "app"})
}

fn status_fault(
    path: &str,
    method: &str,
    status: u16,
    count: u32,
    form: Option<RetryAfterForm>,
) -> Fault {
    Fault {
        method: Some(method.into()),
        path: path.into(),
        count,
        kind: FaultKind::Status {
            status,
            retry_after: form,
            retry_after_secs: 2,
        },
    }
}

#[tokio::test]
async fn rate_limited_in_every_retry_after_form_recovers() {
    let emu = emulator().await;
    for form in [
        RetryAfterForm::Seconds,
        RetryAfterForm::Epoch,
        RetryAfterForm::HttpDate,
    ] {
        let clock = std::sync::Arc::new(FastClock::frozen());
        let hub = dockerhub_api::Hub::with_clock(config(&emu, pat()), clock.clone()).unwrap();
        emu.inject_fault(status_fault(TAGS, "GET", 429, 2, Some(form)));
        let env = hub
            .call_action(Module::Repos, "list_tags", &app())
            .await
            .unwrap();
        assert_eq!(env.status_code, 200, "{form:?}");
        let slept = clock.slept();
        assert_eq!(slept.len(), 2, "{form:?}: two waits, got {slept:?}");
        for s in slept {
            // 2 s asked; epoch and date forms lose sub-second precision.
            assert!(
                s >= Duration::from_secs(1) && s <= Duration::from_secs(2),
                "{form:?}: {s:?}"
            );
        }
    }
}

#[tokio::test]
async fn exhausted_retries_give_rate_limited_with_reset() {
    let emu = emulator().await;
    let (hub, clock) = hub_with(config(&emu, pat()));
    emu.inject_fault(status_fault(
        TAGS,
        "GET",
        429,
        10,
        Some(RetryAfterForm::Seconds),
    ));
    let err = hub
        .call_action(Module::Repos, "list_tags", &app())
        .await
        .unwrap_err();
    match &err {
        Error::RateLimited {
            retry_after, reset, ..
        } => {
            assert_eq!(*retry_after, Some(Duration::from_secs(2)));
            assert!(reset.is_some(), "reset carried: {err}");
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    assert_eq!(clock.slept().len(), 3, "4 attempts = 3 waits");
    assert_eq!(count(&emu, "GET", TAGS), 4);
}

#[tokio::test]
async fn server_errors_retry_only_idempotent_methods() {
    let emu = emulator().await;
    let (hub, _) = hub_with(config(&emu, pat()));
    emu.inject_fault(status_fault(TAGS, "GET", 503, 1, None));
    assert_eq!(
        hub.call_action(Module::Repos, "list_tags", &app())
            .await
            .unwrap()
            .status_code,
        200
    );
    assert_eq!(count(&emu, "GET", TAGS), 2);

    let create = "/v2/namespaces/acme/repositories";
    emu.inject_fault(status_fault(create, "POST", 503, 1, None));
    let err = hub
        .call_action(
            Module::Repos,
            "create",
            &json!({"namespace": "acme", "name": "once-only"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503), "{err}");
    assert_eq!(
        count(&emu, "POST", create),
        1,
        "a POST is never repeated on 5xx"
    );
}

#[tokio::test]
async fn dropped_connection_and_malformed_body_are_typed() {
    let emu = emulator().await;
    let (hub, _) = hub_with(config(&emu, pat()));
    emu.inject_fault(Fault {
        method: Some("GET".into()),
        path: TAGS.into(),
        count: 10,
        kind: FaultKind::Drop,
    });
    let err = hub
        .call_action(Module::Repos, "list_tags", &app())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    emu.clear_faults();
    emu.inject_fault(Fault {
        method: Some("GET".into()),
        path: TAGS.into(),
        count: 1,
        kind: FaultKind::MalformedJson,
    });
    let err = hub
        .call_action(Module::Repos, "list_tags", &app())
        .await
        .unwrap_err();
    match err {
        Error::Decode {
            operation, excerpt, ..
        } => {
            assert_eq!(operation, "hub_repos.list_tags");
            assert!(!excerpt.is_empty());
        }
        other => panic!("expected Decode, got {other:?}"),
    }
}

#[tokio::test]
async fn expiry_mid_pagination_remints_once_and_completes() {
    let emu = emulator().await;
    let (hub, _) = hub_with(config(&emu, pat()));
    let op = catalog::find(Module::Repos, "list_tags").unwrap();
    let params = json!({"namespace": "acme", "repository": "many-tags"});
    let mut stream = Box::pin(hub.items(op, &params, None));
    let mut n = 0usize;
    while let Some(item) = stream.next().await {
        item.unwrap();
        n += 1;
        if n == 250 {
            emu.expire_tokens();
        }
    }
    assert_eq!(n, demo::BIG_REPO_TAGS);
    assert_eq!(
        count(&emu, "POST", "/v2/auth/token"),
        2,
        "one mint, one re-mint"
    );
    assert_eq!(hub.mint_count(), 2);
    let unauthorized = emu.requests().iter().filter(|r| r.status == 401).count();
    assert_eq!(unauthorized, 1, "exactly one request saw the expired token");
}

#[tokio::test]
async fn hundred_concurrent_calls_mint_once() {
    let emu = emulator_with(dockerhub_emulator::EmulatorConfig {
        rate_limit: 0,
        ..Default::default()
    })
    .await;
    let (hub, _) = hub_with(config(&emu, pat()));
    let calls = (0..100).map(|_| {
        let hub = hub.clone();
        async move { hub.call_action(Module::Repos, "get", &app()).await }
    });
    let results = futures::future::join_all(calls).await;
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(count(&emu, "POST", "/v2/auth/token"), 1);
}

#[tokio::test]
async fn safety_gate_refuses_before_any_request() {
    let emu = emulator().await;
    let hub = hub(&emu, pat());
    let mut ro_cfg = config(&emu, pat());
    ro_cfg.read_only = true;
    ro_cfg.allow_destructive = true;
    let ro = hub_with(ro_cfg).0;
    for op in catalog::OPERATIONS {
        // Parameters do not matter: the gate runs first.
        if op.safety == Safety::Destructive {
            let err = hub.call(op, &json!({})).await.unwrap_err();
            let msg = err.to_string();
            assert!(matches!(err, Error::Blocked { .. }), "{}: {msg}", op.id);
            assert!(msg.contains("DOCKERHUB_ALLOW_DESTRUCTIVE=true"), "{msg}");
            assert!(msg.contains(&op.qualified_name()), "{msg}");
        }
        if op.safety != Safety::Read {
            let err = ro.call(op, &json!({})).await.unwrap_err();
            assert!(matches!(err, Error::Blocked { .. }), "{}: {err}", op.id);
            assert!(err.to_string().contains("DOCKERHUB_READ_ONLY"));
        }
    }
    assert!(emu.requests().is_empty(), "no request reached the emulator");
    // The typed client goes through the same gate.
    let err = hub
        .typed()
        .delete_repository_tag()
        .namespace("acme")
        .repository("app")
        .tag("latest")
        .send()
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("DOCKERHUB_ALLOW_DESTRUCTIVE"),
        "{err}"
    );
    assert!(emu.requests().is_empty());
}

#[tokio::test]
async fn path_injection_stays_one_segment() {
    let emu = emulator().await;
    let hub = hub(&emu, pat());
    let err = hub
        .call_action(
            Module::Repos,
            "list",
            &json!({"namespace": "../../v2/users/login#"}),
        )
        .await
        .unwrap_err();
    assert!(
        err.status().is_some_and(|s| (400..500).contains(&s)),
        "{err}"
    );
    let log = emu.requests();
    assert!(
        log.iter().all(|r| !r.path.starts_with("/v2/users/login")),
        "{log:?}"
    );
    assert!(
        log.iter().any(|r| r
            .path
            .starts_with("/v2/namespaces/..%2F..%2Fv2%2Fusers%2Flogin%23")),
        "{log:?}"
    );
    // A bare dot segment never resolves to another route either, typed or dynamic.
    let err = hub
        .call_action(
            Module::Repos,
            "get",
            &json!({"namespace": "..", "repository": "x"}),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidParams { .. }), "{err}");
    assert!(err.to_string().contains("'..'"), "{err}");
    let err = hub
        .typed()
        .get_repository()
        .namespace("..")
        .repository("repositories")
        .send()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("dot segment"), "{err}");
}

#[tokio::test]
async fn every_pagination_style_walks_to_the_end() {
    let emu = emulator().await;
    let hub = hub(&emu, password());
    let mut scfg = config(&emu, password());
    scfg.scim_token = Some(demo::SCIM_TOKEN.to_string().into());
    let scim = hub_with(scfg).0;
    let state = emu.dump();
    let cases: Vec<(Module, &str, Value, Pagination)> = vec![
        (
            Module::Repos,
            "list_tags",
            json!({"namespace": "acme", "repository": "many-tags", "page_size": 100}),
            Pagination::Django,
        ),
        (
            Module::Repos,
            "list",
            json!({"namespace": "acme", "page_size": 2}),
            Pagination::Django,
        ),
        (
            Module::Org,
            "list_members",
            json!({"org_name": "acme", "page_size": 2}),
            Pagination::Django,
        ),
        (
            Module::Teams,
            "list",
            json!({"org_name": "acme", "page_size": 1}),
            Pagination::Django,
        ),
        (
            Module::Auth,
            "list_pats",
            json!({"page_size": 1}),
            Pagination::DjangoPat,
        ),
        (
            Module::Auth,
            "list_oats",
            json!({"name": "acme", "page_size": 1}),
            Pagination::DjangoOat,
        ),
        (
            Module::Audit,
            "logs",
            json!({"account": "acme", "page_size": 7}),
            Pagination::AuditPages,
        ),
        (
            Module::Org,
            "list_invites",
            json!({"org_name": "acme"}),
            Pagination::Unpaged,
        ),
        (
            Module::Scim,
            "list_users",
            json!({"count": 2}),
            Pagination::Scim,
        ),
    ];
    for (module, action, params, style) in cases {
        let op = catalog::find(module, action).unwrap();
        assert_eq!(op.pagination, style, "{action}");
        let client = if module == Module::Scim { &scim } else { &hub };
        let items: Vec<Value> = client.items(op, &params, None).try_collect().await.unwrap();
        // Expected counts come from a one-page read of the total where the
        // style reports one, else from the emulator's own state.
        let first = client.call(op, &params).await.unwrap();
        let total = first
            .data
            .get("count")
            .or(first.data.get("total"))
            .or(first.data.get("totalResults"))
            .and_then(Value::as_u64);
        match total {
            Some(t) => assert_eq!(items.len() as u64, t, "{action}"),
            None => assert!(!items.is_empty(), "{action}"),
        }
        let limited: Vec<Value> = client
            .items(op, &params, Some(3))
            .try_collect()
            .await
            .unwrap();
        assert_eq!(limited.len(), items.len().min(3), "{action} limit");
    }
    assert!(state.is_object());
    let logs_total = emu.dump()["audit_logs"]["acme"].as_array().map(Vec::len);
    if let Some(n) = logs_total {
        let op = catalog::find(Module::Audit, "logs").unwrap();
        let items: Vec<Value> = hub
            .items(op, &json!({"account": "acme", "page_size": 7}), None)
            .try_collect()
            .await
            .unwrap();
        assert_eq!(items.len(), n);
    }
}

#[tokio::test]
async fn next_link_to_another_origin_is_not_followed() {
    let emu = emulator().await;
    let hub = hub(&emu, pat());
    let op = catalog::find(Module::Repos, "list_tags").unwrap();
    let err = hub
        .call_url(
            op,
            "http://evil.invalid/v2/namespaces/acme/repositories/app/tags?page=2",
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("another origin"), "{err}");
    assert!(emu.requests().is_empty());
}

#[tokio::test]
async fn credential_errors_name_the_credential_needed() {
    let emu = emulator().await;
    // A PAT-minted JWT cannot create PATs.
    let hub = hub(&emu, pat());
    let err = hub
        .call_action(
            Module::Auth,
            "create_pat",
            &json!({"token_label": "x", "scopes": ["repo:read"]}),
        )
        .await
        .unwrap_err();
    match &err {
        Error::Forbidden { hint: Some(h), .. } => assert!(h.contains("password"), "{h}"),
        other => panic!("expected Forbidden with hint, got {other:?}"),
    }
    // OATs are refused on legacy routes.
    let hub = common::hub(&emu, oat());
    let err = hub
        .call_action(
            Module::Repos,
            "update",
            &json!({"namespace": "acme", "repository": "app", "description": "x"}),
        )
        .await
        .unwrap_err();
    match &err {
        Error::Forbidden { hint: Some(h), .. } => {
            assert!(h.contains("organization access token"), "{h}")
        }
        other => panic!("expected Forbidden with hint, got {other:?}"),
    }
    // Wrong password: an auth error that says what to check.
    let bad = Credentials::Password {
        username: demo::USERNAME.into(),
        password: "wrong".to_string().into(),
    };
    let err = common::hub(&emu, bad)
        .call_action(Module::Repos, "list", &json!({"namespace": "demo"}))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Auth { .. }), "{err:?}");
    assert!(err.to_string().contains("DOCKER_HUB_USER"), "{err}");
}

#[tokio::test]
async fn two_factor_password_login_uses_the_code() {
    let emu = emulator().await;
    let creds = Credentials::Password {
        username: demo::TWOFA_USER.into(),
        password: demo::TWOFA_PASSWORD.to_string().into(),
    };
    let err = common::hub(&emu, creds.clone())
        .call_action(Module::Admin, "whoami", &json!({}))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("DOCKERHUB_2FA_CODE"), "{err}");
    let mut cfg = config(&emu, creds);
    cfg.two_factor = Some(std::sync::Arc::new(|| {
        Some(demo::TWOFA_CODE.to_string().into())
    }));
    let me = hub_with(cfg)
        .0
        .call_action(Module::Admin, "whoami", &json!({}))
        .await
        .unwrap();
    assert_eq!(me.data["username"], demo::TWOFA_USER);
    assert_eq!(count(&emu, "POST", "/v2/users/2fa-login"), 1);
}

#[tokio::test]
async fn anonymous_reads_public_and_rate_limit_is_tracked() {
    let emu = emulator().await;
    let hub = hub(&emu, Credentials::Anonymous);
    assert!(hub.rate_limit().is_none());
    let env = hub
        .call_action(
            Module::Repos,
            "get",
            &json!({"namespace": "acme", "repository": "app"}),
        )
        .await
        .unwrap();
    assert_eq!(env.rate_limit.limit, Some(180));
    assert_eq!(hub.rate_limit(), Some(env.rate_limit));
    let who = hub.whoami_local().await.unwrap();
    assert_eq!(who, json!({"authenticated": false}));
    assert_eq!(count(&emu, "POST", "/v2/auth/token"), 0);
}

#[tokio::test]
async fn invalid_params_are_explained() {
    let emu = emulator().await;
    let hub = hub(&emu, pat());
    let cases = [
        (
            json!({"namespace": "acme", "bogus": 1}),
            "unknown parameter 'bogus'",
        ),
        (json!({}), "missing required parameter 'namespace'"),
        (
            json!({"namespace": "acme", "page_size": "ten"}),
            "must be an integer",
        ),
        (json!([1, 2]), "must be a JSON object"),
    ];
    for (params, want) in cases {
        let err = hub
            .call_action(Module::Repos, "list", &params)
            .await
            .unwrap_err();
        assert!(err.to_string().contains(want), "{err}");
    }
    let err = hub
        .call_action(
            Module::Repos,
            "create",
            &json!({"namespace": "acme", "is_private": "yes"}),
        )
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("name"), "{msg}");
    let err = hub
        .call_action(Module::Repos, "nope", &json!({}))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("list_tags"), "{err}");
    assert!(emu.requests().is_empty(), "bad input never reaches Hub");
}

#[tokio::test]
async fn calls_are_paced_before_the_limit_is_hit() {
    // 6 calls per 2 s: 14 calls must spread over the windows with no 429.
    let emu = emulator_with(dockerhub_emulator::EmulatorConfig {
        rate_limit: 6,
        rate_window: Duration::from_secs(2),
        ..Default::default()
    })
    .await;
    let hub = dockerhub_api::Hub::new(config(&emu, pat())).unwrap();
    for _ in 0..14 {
        hub.call_action(Module::Repos, "get", &app()).await.unwrap();
    }
    let log = emu.requests();
    assert!(log.iter().all(|r| r.status != 429), "{log:?}");
    assert_eq!(
        count(&emu, "GET", "/v2/namespaces/acme/repositories/app"),
        14
    );
}

#[tokio::test]
async fn concurrent_calls_are_paced_too() {
    // Four calls on the wire at a time, 8 calls per 3 s: pacing counts the
    // requests in flight against the quota, so none is refused.
    let emu = emulator_with(dockerhub_emulator::EmulatorConfig {
        rate_limit: 8,
        rate_window: Duration::from_secs(3),
        ..Default::default()
    })
    .await;
    let hub = dockerhub_api::Hub::new(config(&emu, pat())).unwrap();
    hub.call_action(Module::Repos, "get", &app()).await.unwrap();
    let results: Vec<_> = futures::stream::iter(0..16)
        .map(|_| {
            let hub = hub.clone();
            async move { hub.call_action(Module::Repos, "get", &app()).await }
        })
        .buffer_unordered(4)
        .collect()
        .await;
    assert!(results.iter().all(Result::is_ok));
    let refused = emu.requests().iter().filter(|r| r.status == 429).count();
    assert_eq!(refused, 0, "{:?}", emu.requests());
}

/// A one-shot HTTP server: answers each connection's request with the next
/// canned response (status line and headers), then a small JSON body.
async fn canned_server(responses: Vec<String>) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        for head in responses {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let mut buf = vec![0u8; 8192];
            let _ = sock.read(&mut buf).await;
            let body = r#"{"name":"app","namespace":"acme"}"#;
            let msg = format!(
                "{head}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(msg.as_bytes()).await;
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn retry_after_is_not_stretched_by_the_pacer() {
    // Hub says: no quota left until the reset in 60 s, but retry after 1 s.
    // The retry waits the 1 s Hub asked for, not the rest of the window.
    let reset = dockerhub_api::retry::unix_secs(std::time::SystemTime::now()) + 60;
    let base = canned_server(vec![
        format!(
            "HTTP/1.1 429 Too Many Requests\r\nretry-after: 1\r\nx-ratelimit-limit: 180\r\nx-ratelimit-remaining: 0\r\nx-ratelimit-reset: {reset}"
        ),
        "HTTP/1.1 200 OK\r\nx-ratelimit-limit: 180\r\nx-ratelimit-remaining: 179".to_string(),
    ])
    .await;
    let cfg = dockerhub_api::Config::builder()
        .base_url(base)
        .retry(dockerhub_api::retry::RetryPolicy {
            jitter: 0.0,
            ..Default::default()
        })
        .build()
        .unwrap();
    let (hub, clock) = hub_with(cfg);
    let env = hub.call_action(Module::Repos, "get", &app()).await.unwrap();
    assert_eq!(env.status_code, 200);
    assert_eq!(clock.slept(), vec![Duration::from_secs(1)]);
}
