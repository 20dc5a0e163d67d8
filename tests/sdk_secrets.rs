//! A canary secret never shows in envelopes, errors, Debug output or logs,
//! except once, in the answer that creates it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::*;
use dockerhub_api::Credentials;
use dockerhub_api::catalog::Module;
use dockerhub_emulator::{Fault, FaultKind};
use serde_json::json;

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn canary_secret_never_leaks() {
    let logs = Buf::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let emu = emulator().await;
    let owner = hub(&emu, password());
    let created = owner
        .call_action(
            Module::Auth,
            "create_pat",
            &json!({"token_label": "canary", "scopes": ["repo:admin"]}),
        )
        .await
        .unwrap();
    let canary = created.data["token"].as_str().unwrap().to_string();
    assert!(canary.starts_with("dckr_pat_"), "shown once on creation");

    let creds = Credentials::Pat {
        username: demo::USERNAME.into(),
        token: canary.clone().into(),
    };
    let cfg = config(&emu, creds.clone());
    let hub = hub_with(cfg.clone()).0;
    let mut seen: Vec<String> = vec![format!("{creds:?}"), format!("{cfg:?}"), format!("{hub:?}")];
    let mut record = |r: Result<dockerhub_api::Envelope, dockerhub_api::Error>| match r {
        Ok(env) => {
            seen.push(format!("{env:?}"));
            seen.push(serde_json::to_string(&env).unwrap());
        }
        Err(e) => {
            seen.push(format!("{e}"));
            seen.push(format!("{e:?}"));
        }
    };
    record(
        hub.call_action(Module::Repos, "list", &json!({"namespace": "acme"}))
            .await,
    );
    record(hub.call_action(Module::Auth, "list_pats", &json!({})).await);
    record(
        hub.call_action(
            Module::Auth,
            "create_token",
            &json!({"identifier": demo::USERNAME, "secret": canary}),
        )
        .await,
    );
    record(
        hub.call_action(
            Module::Auth,
            "create_token",
            &json!({"identifier": demo::USERNAME, "secret": format!("{canary}x")}),
        )
        .await,
    );
    record(
        hub.call_action(
            Module::Repos,
            "get",
            &json!({"namespace": "acme", "repository": "nope"}),
        )
        .await,
    );
    record(
        hub.call_action(Module::Auth, "delete_pat", &json!({"uuid": "x"}))
            .await,
    );
    record(
        hub.call_action(Module::Repos, "list", &json!({"namespace": canary}))
            .await,
    );
    emu.inject_fault(Fault {
        method: None,
        path: "*".into(),
        count: 10,
        kind: FaultKind::Status {
            status: 429,
            retry_after: None,
            retry_after_secs: 1,
        },
    });
    record(
        hub.call_action(Module::Repos, "list", &json!({"namespace": "acme"}))
            .await,
    );
    emu.clear_faults();
    emu.expire_tokens();
    record(
        hub.call_action(Module::Repos, "list", &json!({"namespace": "acme"}))
            .await,
    );
    record(hub.whoami_local().await.map(|v| dockerhub_api::Envelope {
        status_code: 200,
        data: v,
        rate_limit: Default::default(),
        exists: None,
    }));
    // A wrong secret of the same shape fails without echoing it.
    let bad = Credentials::Pat {
        username: demo::USERNAME.into(),
        token: format!("{canary}-revoked").into(),
    };
    record(
        common::hub(&emu, bad)
            .call_action(Module::Repos, "list", &json!({"namespace": "acme"}))
            .await,
    );

    let log_text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(!log_text.is_empty(), "tracing captured");
    seen.push(log_text);
    for s in &seen {
        assert!(!s.contains(&canary), "canary leaked in: {s}");
        assert!(!s.contains("eyJ"), "a JWT leaked in: {s}");
        assert!(!s.contains(demo::PASSWORD), "password leaked in: {s}");
    }
    // The request log of the emulator records credential kinds, never values.
    // (Paths are user input: the namespace call above put the canary there
    // on purpose, so only the credential column is checked.)
    for r in emu.requests() {
        assert!(!r.credential.contains(&canary), "{r:?}");
        assert!(!r.query.unwrap_or_default().contains(&canary));
    }
}
