//! Every catalog operation, called once through the SDK against the demo seed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;

use common::*;
use dockerhub_api::catalog::{self, Module};
use dockerhub_api::{Config, Envelope, Hub};
use serde_json::{Value, json};

struct Run {
    hub: Hub,
    scim: Hub,
    anon_login: Hub,
    called: BTreeSet<String>,
}

impl Run {
    async fn call(&mut self, module: Module, action: &str, params: Value) -> Envelope {
        let hub = match module {
            Module::Scim => &self.scim,
            Module::Auth if matches!(action, "login" | "two_factor_login" | "create_token") => {
                &self.anon_login
            }
            _ => &self.hub,
        };
        let env = hub
            .call_action(module, action, &params)
            .await
            .unwrap_or_else(|e| panic!("{}.{action} failed: {e}", module.tool_name()));
        self.called
            .insert(format!("{}.{action}", module.tool_name()));
        env
    }
}

fn first<'a>(v: &'a Value, list_key: &str, field: &str) -> &'a Value {
    &v[list_key][0][field]
}

#[tokio::test]
async fn every_catalog_operation_succeeds_and_decodes() {
    let emu = emulator().await;
    let mut cfg = config(&emu, password());
    cfg.allow_destructive = true;
    let main = hub_with(cfg.clone()).0;
    let mut scfg: Config = cfg.clone();
    scfg.scim_token = Some(demo::SCIM_TOKEN.to_string().into());
    let scim = hub_with(scfg).0;
    let anon_login = hub(&emu, dockerhub_api::Credentials::Anonymous);
    let mut r = Run {
        hub: main,
        scim,
        anon_login,
        called: BTreeSet::new(),
    };
    let org = demo::ORG;

    // auth
    let t = r
        .call(
            Module::Auth,
            "create_token",
            json!({"identifier": demo::USERNAME, "secret": demo::PASSWORD}),
        )
        .await;
    assert_eq!(
        t.data["access_token"], "***redacted***",
        "JWT must be redacted"
    );
    let l = r
        .call(
            Module::Auth,
            "login",
            json!({"username": demo::TWOFA_USER, "password": demo::TWOFA_PASSWORD}),
        )
        .await;
    assert_eq!(l.status_code, 401);
    let tfa = l.data["login_2fa_token"].clone();
    let t2 = r
        .call(
            Module::Auth,
            "two_factor_login",
            json!({"login_2fa_token": tfa, "code": demo::TWOFA_CODE}),
        )
        .await;
    assert_eq!(t2.data["token"], "***redacted***");
    r.call(Module::Auth, "list_pats", json!({})).await;
    let created = r
        .call(
            Module::Auth,
            "create_pat",
            json!({"token_label": "sdk-test", "scopes": ["repo:read"]}),
        )
        .await;
    let plaintext = created.data["token"].as_str().unwrap().to_string();
    assert!(
        plaintext.starts_with("dckr_pat_"),
        "shown once: {plaintext}"
    );
    let uuid = created.data["uuid"].clone();
    let got = r.call(Module::Auth, "get_pat", json!({"uuid": uuid})).await;
    assert!(!got.data.to_string().contains(&plaintext));
    r.call(
        Module::Auth,
        "update_pat",
        json!({"uuid": uuid, "is_active": false}),
    )
    .await;
    r.call(Module::Auth, "delete_pat", json!({"uuid": uuid}))
        .await;
    r.call(Module::Auth, "list_oats", json!({"name": org}))
        .await;
    let oat = r
        .call(
            Module::Auth,
            "create_oat",
            json!({"name": org, "label": "sdk-oat", "description": "test",
                   "resources": [{"type": "TYPE_REPO", "path": "acme/app", "scopes": ["repo-pull"]}]}),
        )
        .await;
    assert!(oat.data["token"].as_str().unwrap().starts_with("dckr_oat_"));
    let oat_id = oat.data["id"].clone();
    let ids = json!({"org_name": org, "access_token_id": oat_id});
    r.call(Module::Auth, "get_oat", ids.clone()).await;
    let mut upd = ids.clone();
    upd["label"] = json!("renamed");
    r.call(Module::Auth, "update_oat", upd).await;
    r.call(Module::Auth, "delete_oat", ids).await;

    // repos
    let list = r
        .call(
            Module::Repos,
            "list",
            json!({"namespace": org, "ordering": "-last_updated"}),
        )
        .await;
    assert!(list.data["count"].as_u64().unwrap() > 0);
    r.call(
        Module::Repos,
        "create",
        json!({"namespace": org, "name": "sdk-made", "description": "made by the SDK test", "is_private": true}),
    )
    .await;
    let repo = json!({"namespace": org, "repository": "sdk-made"});
    r.call(Module::Repos, "get", repo.clone()).await;
    let exists = r.call(Module::Repos, "check", repo.clone()).await;
    assert_eq!(exists.exists, Some(true));
    let app = json!({"namespace": org, "repository": "app"});
    let tags = r.call(Module::Repos, "list_tags", app.clone()).await;
    let tag = first(&tags.data, "results", "name").clone();
    assert_eq!(
        r.call(Module::Repos, "check_tags", app.clone())
            .await
            .exists,
        Some(true)
    );
    let mut t = app.clone();
    t["tag"] = tag.clone();
    r.call(Module::Repos, "get_tag", t.clone()).await;
    assert_eq!(
        r.call(Module::Repos, "check_tag", t).await.exists,
        Some(true)
    );
    let mut p = repo.clone();
    p["immutable_tags"] = json!(true);
    p["immutable_tags_rules"] = json!(["^v\\d+$"]);
    r.call(Module::Repos, "set_immutable_tags", p).await;
    let mut p = app.clone();
    p["regex"] = json!("latest");
    r.call(Module::Repos, "verify_immutable_tags", p).await;
    let teams = r
        .call(Module::Teams, "list", json!({"org_name": org}))
        .await;
    let group_id = first(&teams.data, "results", "id").clone();
    let mut p = repo.clone();
    p["group_id"] = group_id.clone();
    p["permission"] = json!("read");
    r.call(Module::Repos, "assign_group", p).await;
    let mut g = repo.clone();
    g["group_id"] = group_id.clone();
    r.call(Module::Repos, "get_group", g.clone()).await;
    let mut gp = g.clone();
    gp["permission"] = json!("write");
    r.call(Module::Repos, "update_group", gp).await;
    r.call(Module::Repos, "delete_group", g).await;
    let mut u = repo.clone();
    u["description"] = json!("updated");
    u["full_description"] = json!("# README");
    r.call(Module::Repos, "update", u).await;
    let mut pv = repo.clone();
    pv["is_private"] = json!(false);
    r.call(Module::Repos, "set_privacy", pv).await;
    let mut dt = app.clone();
    dt["tag"] = tag;
    r.call(Module::Repos, "delete_tag", dt).await;
    r.call(Module::Repos, "delete", repo).await;

    // org
    let on = json!({"name": org});
    let settings = r.call(Module::Org, "get_settings", on.clone()).await;
    let mut s = on.clone();
    s["restricted_images"] = settings.data["restricted_images"].clone();
    r.call(Module::Org, "update_settings", s).await;
    let oo = json!({"org_name": org});
    let members = r.call(Module::Org, "list_members", oo.clone()).await;
    let csv = r.call(Module::Org, "export_members", oo.clone()).await;
    assert!(
        csv.data.as_str().unwrap().lines().count() > 1,
        "CSV comes back as text"
    );
    let member = members.data["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["username"] != demo::USERNAME)
        .unwrap()["username"]
        .clone();
    r.call(
        Module::Org,
        "update_member",
        json!({"org_name": org, "username": member, "role": "editor"}),
    )
    .await;
    let invites = r.call(Module::Org, "list_invites", oo.clone()).await;
    let inv = first(&invites.data, "data", "id").clone();
    r.call(Module::Org, "resend_invite", json!({"id": inv}))
        .await;
    r.call(Module::Org, "delete_invite", json!({"id": inv}))
        .await;
    r.call(
        Module::Org,
        "bulk_invite",
        json!({"org": org, "role": "member", "invitees": ["newbie@example.com"], "dry_run": true}),
    )
    .await;
    r.call(
        Module::Org,
        "remove_member",
        json!({"org_name": org, "username": member}),
    )
    .await;

    // teams
    r.call(
        Module::Teams,
        "create",
        json!({"org_name": org, "name": "sdk-team", "description": "d"}),
    )
    .await;
    let tm = json!({"org_name": org, "group_name": "sdk-team"});
    r.call(Module::Teams, "get", tm.clone()).await;
    let mut p = tm.clone();
    p["name"] = json!("sdk-team");
    p["description"] = json!("put");
    r.call(Module::Teams, "update", p).await;
    let mut p = tm.clone();
    p["description"] = json!("patched");
    r.call(Module::Teams, "patch", p).await;
    let mut p = tm.clone();
    p["member"] = json!(demo::USERNAME);
    r.call(Module::Teams, "add_member", p).await;
    r.call(Module::Teams, "list_members", tm.clone()).await;
    let mut p = tm.clone();
    p["username"] = json!(demo::USERNAME);
    r.call(Module::Teams, "remove_member", p).await;
    r.call(Module::Teams, "delete", tm).await;

    // audit
    let logs = r.call(Module::Audit, "logs", json!({"account": org})).await;
    assert!(!logs.data["logs"].as_array().unwrap().is_empty());
    r.call(Module::Audit, "actions", json!({"account": org}))
        .await;

    // scim
    r.call(Module::Scim, "service_provider_config", json!({}))
        .await;
    r.call(Module::Scim, "resource_types", json!({})).await;
    r.call(Module::Scim, "resource_type", json!({"name": "User"}))
        .await;
    r.call(Module::Scim, "schemas", json!({})).await;
    r.call(
        Module::Scim,
        "schema",
        json!({"id": "urn:ietf:params:scim:schemas:core:2.0:User"}),
    )
    .await;
    r.call(Module::Scim, "list_users", json!({"count": 10}))
        .await;
    let made = r
        .call(
            Module::Scim,
            "create_user",
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                   "userName": "sdk.user@example.com",
                   "name": {"givenName": "Sdk", "familyName": "User"}}),
        )
        .await;
    let id = made.data["id"].clone();
    r.call(Module::Scim, "get_user", json!({"id": id})).await;
    r.call(
        Module::Scim,
        "update_user",
        json!({"id": id, "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "enabled": true}),
    )
    .await;

    // admin
    let me = r.call(Module::Admin, "whoami", json!({})).await;
    assert_eq!(me.data["username"], demo::USERNAME);
    r.call(Module::Admin, "list_orgs", json!({})).await;

    let all: BTreeSet<String> = catalog::OPERATIONS
        .iter()
        .map(|o| o.qualified_name())
        .collect();
    let missing: Vec<_> = all.difference(&r.called).collect();
    assert!(missing.is_empty(), "operations never called: {missing:?}");
    emu.shutdown().await;
}
