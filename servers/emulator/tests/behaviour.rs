//! Behaviour tests over real sockets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::{Api, client, start, start_with, status_of};
use dockerhub_emulator::{EmulatorConfig, Fault, FaultKind, RetryAfterForm, demo};
use reqwest::Method;
use serde_json::{Value, json};

fn results(v: &Value) -> &Vec<Value> {
    v["results"].as_array().expect("results array")
}

fn names(v: &Value, key: &str) -> Vec<String> {
    results(v)
        .iter()
        .map(|r| r[key].as_str().unwrap_or_default().to_string())
        .collect()
}

fn audit_actions(hub: &dockerhub_emulator::EmulatorHandle) -> Vec<String> {
    hub.dump()["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect()
}

/// Assert that the audit log holds each of `wanted` actions.
fn assert_audited(hub: &dockerhub_emulator::EmulatorHandle, wanted: &[&str]) {
    let actions = audit_actions(hub);
    for a in wanted {
        assert!(actions.iter().any(|x| x == a), "audit has {a}");
    }
}

/// Assert that a page's `name`s are in ascending order; returns them.
fn assert_sorted_names(v: &Value) -> Vec<String> {
    let n = names(v, "name");
    let mut sorted = n.clone();
    sorted.sort();
    assert_eq!(n, sorted);
    n
}

/// The `count` of a Django page.
async fn count_at(api: &Api, path: &str) -> u64 {
    api.get(path).await.json()["count"].as_u64().unwrap()
}

/// Follow `next` links to the end; returns all results and the first page's count.
async fn walk(api: &Api, first: &str, count_key: &str) -> (Vec<Value>, u64) {
    let mut url = first.to_string();
    let mut all = Vec::new();
    let mut count = None;
    loop {
        let r = api.get(&url).await;
        assert_eq!(r.code(), 200, "{url}: {}", r.text);
        let v = r.json();
        count.get_or_insert(v[count_key].as_u64().expect("count"));
        all.extend(results(&v).iter().cloned());
        match v["next"].as_str() {
            Some(next) => {
                assert!(
                    next.starts_with(&api.base),
                    "absolute next on own base: {next}"
                );
                url = next.to_string();
            }
            None => break,
        }
    }
    (all, count.unwrap_or(0))
}

#[tokio::test]
async fn repository_round_trip() {
    let hub = start().await;
    let api = Api::user(&hub).await;
    let r = api
        .post("/v2/namespaces/demo/repositories", json!({"name": "new-repo", "namespace": "demo", "description": "fresh", "is_private": true}))
        .await;
    assert_eq!(r.code(), 201, "{}", r.text);
    assert_eq!(r.json()["is_private"], true);
    api.post(
        "/v2/namespaces/demo/repositories",
        json!({"name": "new-repo", "namespace": "demo"}),
    )
    .await
    .assert_code(400);
    let list = api
        .get("/v2/namespaces/demo/repositories?page_size=100")
        .await
        .json();
    assert!(names(&list, "name").contains(&"new-repo".to_string()));

    let upd = api
        .patch(
            "/v2/repositories/demo/new-repo/",
            json!({"description": "updated", "full_description": "# README"}),
        )
        .await;
    assert_eq!(upd.code(), 200, "{}", upd.text);
    assert_eq!(upd.json()["description"], "updated");
    let too_long = api
        .patch(
            "/v2/repositories/demo/new-repo/",
            json!({"description": "x".repeat(101)}),
        )
        .await;
    assert_eq!(too_long.code(), 400);
    assert!(too_long.json()["detail"].as_str().unwrap().contains("100"));
    api.patch(
        "/v2/repositories/demo/new-repo/",
        json!({"full_description": "x".repeat(25_001)}),
    )
    .await
    .assert_code(400);

    let privacy = api
        .post(
            "/v2/repositories/demo/new-repo/privacy",
            json!({"is_private": false}),
        )
        .await;
    assert_eq!(privacy.code(), 200);
    assert_eq!(privacy.json()["is_private"], false);
    Api::anon(&hub)
        .get("/v2/namespaces/demo/repositories/new-repo")
        .await
        .assert_code(200);

    api.delete("/v2/repositories/demo/new-repo/")
        .await
        .assert_code(204);
    api.get("/v2/namespaces/demo/repositories/new-repo")
        .await
        .assert_code(404);
    let list = api
        .get("/v2/namespaces/demo/repositories?page_size=100")
        .await
        .json();
    assert!(!names(&list, "name").contains(&"new-repo".to_string()));

    assert_audited(
        &hub,
        &["repo.create", "repo.update", "repo.privacy", "repo.delete"],
    );
    let logs = api
        .get("/v2/auditlogs/demo?action=repo.delete")
        .await
        .json();
    assert_eq!(logs["logs"][0]["action"], "repo.delete");
    assert_eq!(logs["logs"][0]["name"], "demo/new-repo");
}

#[tokio::test]
async fn repository_validation() {
    let hub = start().await;
    let api = Api::user(&hub).await;
    for bad in [
        "A",
        "x",
        "UPPER",
        "-lead",
        "trail-",
        "a..b",
        "has space",
        &"a".repeat(256),
    ] {
        let r = api
            .post(
                "/v2/namespaces/demo/repositories",
                json!({"name": bad, "namespace": "demo"}),
            )
            .await;
        assert_eq!(r.code(), 400, "name {bad:?}: {}", r.text);
        assert!(r.json()["detail"].is_string());
    }
    api.post("/v2/namespaces/demo/repositories", json!({"name": 5}))
        .await
        .assert_code(400);
    let r = api
        .post(
            "/v2/namespaces/demo/repositories",
            json!({"namespace": "demo"}),
        )
        .await;
    assert_eq!(r.code(), 400, "missing name");
    api.send(Method::POST, "/v2/namespaces/demo/repositories", None)
        .await
        .assert_code(400);
    let raw = client()
        .post(format!(
            "{}/v2/namespaces/demo/repositories",
            hub.base_url()
        ))
        .bearer_auth(api.token.clone().unwrap())
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status().as_u16(), 400);
    api.post(
        "/v2/namespaces/demo/repositories",
        json!({"name": "okname", "description": "d".repeat(101)}),
    )
    .await
    .assert_code(400);
    api.post(
        "/v2/namespaces/nobody-here/repositories",
        json!({"name": "okname"}),
    )
    .await
    .assert_code(404);
    let r = api
        .get("/v2/namespaces/demo/repositories?ordering=bogus")
        .await;
    assert_eq!(r.code(), 400);
    let ordered = api
        .get("/v2/namespaces/acme/repositories?ordering=-pull_count&page_size=100")
        .await
        .json();
    let pulls: Vec<u64> = results(&ordered)
        .iter()
        .map(|r| r["pull_count"].as_u64().unwrap())
        .collect();
    assert!(pulls.windows(2).all(|w| w[0] >= w[1]), "{pulls:?}");
    let by_name = api
        .get("/v2/namespaces/acme/repositories?ordering=name&name=a")
        .await
        .json();
    let n = assert_sorted_names(&by_name);
    assert!(n.iter().all(|x| x.contains('a')));
}

#[tokio::test]
async fn tags_delete_and_immutability() {
    let hub = start().await;
    let api = Api::user(&hub).await;
    let before = count_at(&api, "/v2/namespaces/demo/repositories/hello/tags").await;
    api.delete("/v2/repositories/demo/hello/tags/main/")
        .await
        .assert_code(204);
    api.get("/v2/namespaces/demo/repositories/hello/tags/main")
        .await
        .assert_code(404);
    let after = count_at(&api, "/v2/namespaces/demo/repositories/hello/tags").await;
    assert_eq!(after, before - 1);
    api.delete("/v2/repositories/demo/hello/tags/main/")
        .await
        .assert_code(404);

    let immut = api.delete("/v2/repositories/acme/app/tags/2.3.1/").await;
    assert_eq!(immut.code(), 400, "{}", immut.text);
    api.delete("/v2/repositories/acme/app/tags/feature-x/")
        .await
        .assert_code(204);
    let verify = api
        .post(
            "/v2/namespaces/acme/repositories/app/immutabletags/verify",
            json!({"regex": r"^2\."}),
        )
        .await;
    assert_eq!(verify.code(), 200);
    assert!(
        verify.json()["tags"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t.as_str().unwrap().starts_with("2."))
    );
    api.post(
        "/v2/namespaces/acme/repositories/app/immutabletags/verify",
        json!({"regex": "("}),
    )
    .await
    .assert_code(400);
    let off = api
        .patch(
            "/v2/namespaces/acme/repositories/app/immutabletags",
            json!({"immutable_tags": false, "immutable_tags_rules": []}),
        )
        .await;
    assert_eq!(off.code(), 200);
    assert_eq!(off.json()["immutable_tags_settings"]["enabled"], false);
    api.delete("/v2/repositories/acme/app/tags/2.3.1/")
        .await
        .assert_code(204);

    let big = api
        .get("/v2/namespaces/acme/repositories/many-tags/tags/v0.0.5")
        .await;
    assert_eq!(big.code(), 200);
    let tag = big.json();
    assert!(tag["images"].is_array());
    assert_eq!(tag["v2"], true);
    api.delete("/v2/repositories/acme/many-tags/tags/v0.0.5/")
        .await
        .assert_code(204);
    api.get("/v2/namespaces/acme/repositories/many-tags/tags/v0.0.5")
        .await
        .assert_code(404);
    let count = count_at(&api, "/v2/namespaces/acme/repositories/many-tags/tags").await;
    assert_eq!(count as usize, demo::BIG_REPO_TAGS - 1);
    let ordered = api
        .get("/v2/namespaces/acme/repositories/app/tags?ordering=name&page_size=100")
        .await
        .json();
    assert_sorted_names(&ordered);
    assert_audited(&hub, &["repo.tag.delete"]);
}

#[tokio::test]
async fn org_members_teams_invites_settings() {
    let hub = start().await;
    let api = Api::user(&hub).await;
    // teams
    let t = api
        .post(
            "/v2/orgs/acme/groups",
            json!({"name": "docs", "description": "Docs team"}),
        )
        .await;
    assert_eq!(t.code(), 201, "{}", t.text);
    let team_id = t.json()["id"].as_u64().unwrap();
    api.post(
        "/v2/orgs/acme/groups/docs/members",
        json!({"member": "carol"}),
    )
    .await
    .assert_code(200);
    let m = api.get("/v2/orgs/acme/groups/docs/members").await.json();
    assert_eq!(names(&m, "username"), vec!["carol"]);
    api.post(
        "/v2/orgs/acme/groups/docs/members",
        json!({"member": "frank"}),
    )
    .await
    .assert_code(400);
    api.post(
        "/v2/orgs/acme/groups/docs/members",
        json!({"member": "nobody"}),
    )
    .await
    .assert_code(404);
    let p = api
        .patch(
            "/v2/orgs/acme/groups/docs",
            json!({"description": "Documentation"}),
        )
        .await;
    assert_eq!(p.json()["description"], "Documentation");
    let put = api
        .put(
            "/v2/orgs/acme/groups/docs",
            json!({"description": "no name"}),
        )
        .await;
    assert_eq!(put.code(), 400);
    // repo group permissions (legacy routes)
    let g = api
        .post(
            "/v2/repositories/acme/web/groups",
            json!({"group_id": team_id, "permission": "read"}),
        )
        .await;
    assert_eq!(g.code(), 200, "{}", g.text);
    assert_eq!(g.json()["group_name"], "docs");
    let g = api
        .patch(
            &format!("/v2/repositories/acme/web/groups/{team_id}/"),
            json!({"permission": "admin"}),
        )
        .await;
    assert_eq!(g.json()["permission"], "admin");
    let g = api
        .patch(
            &format!("/v2/repositories/acme/web/groups/{team_id}/"),
            json!({"permission": "root"}),
        )
        .await;
    assert_eq!(g.code(), 400);
    assert_eq!(
        api.get(&format!("/v2/repositories/acme/web/groups/{team_id}/"))
            .await
            .json()["permission"],
        "admin"
    );
    api.delete(&format!("/v2/repositories/acme/web/groups/{team_id}/"))
        .await
        .assert_code(204);
    api.get(&format!("/v2/repositories/acme/web/groups/{team_id}/"))
        .await
        .assert_code(404);
    api.delete("/v2/orgs/acme/groups/docs/members/carol")
        .await
        .assert_code(204);
    api.delete("/v2/orgs/acme/groups/docs")
        .await
        .assert_code(204);
    api.get("/v2/orgs/acme/groups/docs").await.assert_code(404);

    // members
    let r = api
        .put("/v2/orgs/acme/members/bob", json!({"role": "editor"}))
        .await;
    assert_eq!(r.code(), 200, "{}", r.text);
    assert_eq!(r.json()["role"], "Editor");
    let editors = api.get("/v2/orgs/acme/members?role=editor").await.json();
    assert_eq!(names(&editors, "username"), vec!["bob"]);
    api.put("/v2/orgs/acme/members/bob", json!({"role": "king"}))
        .await
        .assert_code(400);
    api.delete("/v2/orgs/acme/members/erin")
        .await
        .assert_code(204);
    let all = api.get("/v2/orgs/acme/members?page_size=100").await.json();
    assert!(!names(&all, "username").contains(&"erin".to_string()));
    let search = api.get("/v2/orgs/acme/members?search=ali").await.json();
    assert_eq!(names(&search, "username"), vec!["alice"]);
    // a plain member cannot manage the org
    let carol = Api::login(&hub, "carol", demo::OTHER_PASSWORD).await;
    carol
        .delete("/v2/orgs/acme/members/bob")
        .await
        .assert_code(403);

    // invites
    let b = api
        .post("/v2/invites/bulk", json!({"org": "acme", "team": "qa", "role": "member", "invitees": ["new@example.com", "bob", "not an email"]}))
        .await;
    assert_eq!(b.code(), 202, "{}", b.text);
    let statuses: Vec<String> = b.json()["invitees"]["invitees"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["status"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        statuses,
        vec![
            "invited",
            "existing_org_member",
            "invalid_email_or_docker_id"
        ]
    );
    let inv = api.get("/v2/orgs/acme/invites").await.json();
    let data = inv["data"].as_array().unwrap();
    let new = data
        .iter()
        .find(|i| i["invitee"] == "new@example.com")
        .unwrap();
    let id = new["id"].as_str().unwrap();
    api.patch(&format!("/v2/invites/{id}/resend"), json!({}))
        .await
        .assert_code(204);
    api.delete(&format!("/v2/invites/{id}"))
        .await
        .assert_code(204);
    api.delete(&format!("/v2/invites/{id}"))
        .await
        .assert_code(404);
    let dry = api
        .post(
            "/v2/invites/bulk",
            json!({"org": "acme", "invitees": ["dry@example.com"], "dry_run": true}),
        )
        .await;
    assert_eq!(dry.code(), 202);
    let inv = api.get("/v2/orgs/acme/invites").await.json();
    assert!(
        inv["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["invitee"] != "dry@example.com")
    );

    // settings
    api.put("/v2/orgs/acme/settings", json!({"restricted_images": {"enabled": false, "allow_official_images": false, "allow_verified_publishers": true}}))
        .await
        .assert_code(200);
    let s = api.get("/v2/orgs/acme/settings").await.json();
    assert_eq!(s["restricted_images"]["enabled"], false);
    assert_eq!(s["restricted_images"]["allow_verified_publishers"], true);
    api.put(
        "/v2/orgs/acme/settings",
        json!({"restricted_images": {"enabled": "yes"}}),
    )
    .await
    .assert_code(400);

    assert_audited(
        &hub,
        &[
            "team.create",
            "team.update",
            "team.delete",
            "team.member.add",
            "team.member.remove",
            "repo.group.add",
            "repo.group.update",
            "repo.group.remove",
            "org.member.role_update",
            "org.member.remove",
            "org.invite.create",
            "org.invite.resend",
            "org.invite.delete",
            "org.settings.update",
        ],
    );
    let groups = api.get("/v2/auditlogs/acme/actions").await.json();
    for g in [
        "repo",
        "org",
        "team",
        "access_token",
        "org_access_token",
        "scim",
    ] {
        assert!(
            groups["actions"][g]["actions"].is_array(),
            "action group {g}"
        );
    }
}

#[tokio::test]
async fn members_csv_export() {
    let hub = start().await;
    let api = Api::user(&hub).await;
    let r = api.get("/v2/orgs/acme/members/export").await;
    assert_eq!(r.code(), 200);
    assert!(r.header("content-type").unwrap().starts_with("text/csv"));
    assert!(
        r.header("content-disposition")
            .unwrap()
            .contains("attachment")
    );
    let mut lines = r.text.lines();
    assert_eq!(
        lines.next(),
        Some("Name,Username,Email,Type,Role,Date Joined")
    );
    assert_eq!(lines.count(), 7);
}

#[tokio::test]
async fn personal_access_token_shown_once() {
    let hub = start().await;
    let api = Api::user(&hub).await;
    let r = api
        .post(
            "/v2/access-tokens",
            json!({"token_label": "ci", "scopes": ["repo:read"]}),
        )
        .await;
    assert_eq!(r.code(), 201, "{}", r.text);
    let created = r.json();
    let secret = created["token"].as_str().unwrap().to_string();
    assert!(secret.starts_with("dckr_pat_"));
    let uuid = created["uuid"].as_str().unwrap();
    let got = api.get(&format!("/v2/access-tokens/{uuid}")).await;
    assert!(!got.text.contains(&secret));
    assert_eq!(got.json()["token"], "");
    let list = api.get("/v2/access-tokens?page_size=100").await;
    assert!(!list.text.contains(&secret));
    assert!(!list.text.contains(demo::PAT));
    assert_eq!(list.json()["active_count"], 3);
    assert!(
        !serde_json::to_string(&hub.dump())
            .unwrap()
            .contains(&secret)
    );

    // the new PAT works, read-only
    let ro = Api::login(&hub, demo::USERNAME, &secret).await;
    ro.get("/v2/namespaces/demo/repositories/private-tools")
        .await
        .assert_code(200);
    ro.post("/v2/namespaces/demo/repositories", json!({"name": "nope"}))
        .await
        .assert_code(403);
    // a PAT JWT cannot create PATs or manage OATs
    let pat = Api::pat(&hub).await;
    let r = pat
        .post(
            "/v2/access-tokens",
            json!({"token_label": "x", "scopes": ["repo:read"]}),
        )
        .await;
    assert_eq!(r.code(), 403);
    assert_eq!(
        r.json()["detail"],
        "token issued from personal access token"
    );
    pat.get("/v2/orgs/acme/access-tokens")
        .await
        .assert_code(403);

    let p = api
        .patch(
            &format!("/v2/access-tokens/{uuid}"),
            json!({"is_active": false}),
        )
        .await;
    assert_eq!(p.json()["is_active"], false);
    assert_eq!(
        ro.get("/v2/user/").await.code(),
        401,
        "deactivated PAT's JWT is refused"
    );
    Api::anon(&hub)
        .post(
            "/v2/auth/token",
            json!({"identifier": "demo", "secret": secret}),
        )
        .await
        .assert_code(401);
    api.delete(&format!("/v2/access-tokens/{uuid}"))
        .await
        .assert_code(204);
    api.get(&format!("/v2/access-tokens/{uuid}"))
        .await
        .assert_code(404);
    let public = api
        .post(
            "/v2/access-tokens",
            json!({"token_label": "pub", "scopes": ["repo:public_read"]}),
        )
        .await;
    let public = Api::login(
        &hub,
        demo::USERNAME,
        public.json()["token"].as_str().unwrap(),
    )
    .await;
    public
        .get("/v2/namespaces/demo/repositories/hello")
        .await
        .assert_code(200);
    public
        .get("/v2/namespaces/demo/repositories/private-tools")
        .await
        .assert_code(403);
    api.post(
        "/v2/access-tokens",
        json!({"token_label": "", "scopes": ["repo:read"]}),
    )
    .await
    .assert_code(400);
    api.post(
        "/v2/access-tokens",
        json!({"token_label": "x", "scopes": ["root"]}),
    )
    .await
    .assert_code(400);
    assert_audited(
        &hub,
        &[
            "access_token.create",
            "access_token.update",
            "access_token.delete",
        ],
    );
}

#[tokio::test]
async fn organization_access_tokens() {
    let hub = start().await;
    let api = Api::user(&hub).await;
    let r = api
        .post("/v2/orgs/acme/access-tokens", json!({"label": "deploy", "resources": [{"type": "TYPE_REPO", "path": "acme/app", "scopes": ["repo-pull"]}]}))
        .await;
    assert_eq!(r.code(), 201, "{}", r.text);
    let secret = r.json()["token"].as_str().unwrap().to_string();
    assert!(secret.starts_with("dckr_oat_"));
    let id = r.json()["id"].as_str().unwrap().to_string();
    let got = api.get(&format!("/v2/orgs/acme/access-tokens/{id}")).await;
    assert!(!got.text.contains(&secret));
    assert!(got.json().get("token").is_none());
    let list = api.get("/v2/orgs/acme/access-tokens").await;
    assert_eq!(list.json()["total"], 4);
    assert!(list.json().get("count").is_none());

    let oat = Api::login(&hub, "acme", &secret).await;
    oat.get("/v2/namespaces/acme/repositories/api")
        .await
        .assert_code(200);
    for (m, path) in [
        (Method::GET, "/v2/repositories/acme/app/"),
        (Method::DELETE, "/v2/repositories/acme/web/tags/latest/"),
        (Method::PATCH, "/v2/repositories/acme/app/"),
    ] {
        let r = oat.send(m, path, Some(json!({"description": "x"}))).await;
        assert_eq!(r.code(), 403, "{path}");
        assert_eq!(
            r.json()["detail"],
            "organization access token is not allowed"
        );
    }
    let bad = Api::anon(&hub)
        .post(
            "/v2/users/login",
            json!({"username": "acme", "password": secret}),
        )
        .await;
    assert_eq!(bad.code(), 401);
    assert_eq!(
        bad.json()["detail"],
        "Cannot log into an organization account"
    );

    let p = api
        .patch(
            &format!("/v2/orgs/acme/access-tokens/{id}"),
            json!({"is_active": false}),
        )
        .await;
    assert_eq!(p.json()["is_active"], false);
    oat.get("/v2/namespaces/acme/repositories/api")
        .await
        .assert_code(401);
    api.delete(&format!("/v2/orgs/acme/access-tokens/{id}"))
        .await
        .assert_code(204);
    api.get(&format!("/v2/orgs/acme/access-tokens/{id}"))
        .await
        .assert_code(404);
    let bad = api
        .post("/v2/orgs/acme/access-tokens", json!({"resources": []}))
        .await;
    assert_eq!(bad.code(), 400, "label is required");
}

#[tokio::test]
async fn jwt_expiry() {
    let hub = start().await;
    let api = Api::user(&hub).await;
    assert_eq!(api.get("/v2/user/").await.json()["username"], "demo");
    hub.expire_tokens();
    let r = api.get("/v2/user/").await;
    assert_eq!(r.code(), 401);
    assert!(r.json()["detail"].as_str().unwrap().contains("expired"));
    let fresh = Api::user(&hub).await;
    fresh.get("/v2/user/").await.assert_code(200);

    let garbage = Api {
        token: Some("not.a.jwt".into()),
        ..Api::anon(&hub)
    };
    garbage
        .get("/v2/namespaces/acme/repositories")
        .await
        .assert_code(401);

    let short = start_with(EmulatorConfig {
        token_ttl: Duration::from_secs(1),
        rate_limit: 0,
        ..EmulatorConfig::default()
    })
    .await;
    let api = Api::pat(&short).await;
    let token = api.token.clone().unwrap();
    let payload = token.split('.').nth(1).unwrap();
    use base64::Engine;
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["username"], "demo");
    assert!(claims["exp"].as_u64().unwrap() <= claims["iat"].as_u64().unwrap() + 1);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    api.get("/v2/user/").await.assert_code(401);
    // an expired bearer does not block minting a new one
    api.post(
        "/v2/auth/token",
        json!({"identifier": "demo", "secret": demo::PAT}),
    )
    .await
    .assert_code(200);
}

#[tokio::test]
async fn two_factor_login() {
    let hub = start().await;
    let anon = Api::anon(&hub);
    let r = anon
        .post(
            "/v2/users/login",
            json!({"username": demo::TWOFA_USER, "password": demo::TWOFA_PASSWORD}),
        )
        .await;
    assert_eq!(r.code(), 401);
    let v = r.json();
    assert_eq!(
        v["detail"],
        "Require secondary authentication on MFA enabled account"
    );
    let pending = v["login_2fa_token"].as_str().unwrap().to_string();
    anon.post(
        "/v2/users/2fa-login",
        json!({"login_2fa_token": pending, "code": "000000"}),
    )
    .await
    .assert_code(401);
    let ok = anon
        .post(
            "/v2/users/2fa-login",
            json!({"login_2fa_token": pending, "code": demo::TWOFA_CODE}),
        )
        .await;
    assert_eq!(ok.code(), 200, "{}", ok.text);
    let token = ok.json()["token"].as_str().unwrap().to_string();
    let me = Api {
        token: Some(token),
        ..anon.clone()
    };
    assert_eq!(
        me.get("/v2/user/").await.json()["username"],
        demo::TWOFA_USER
    );
    let reuse = anon
        .post(
            "/v2/users/2fa-login",
            json!({"login_2fa_token": pending, "code": demo::TWOFA_CODE}),
        )
        .await;
    assert_eq!(reuse.code(), 401, "2FA tokens are single-use");
    let plain = anon
        .post(
            "/v2/users/login/",
            json!({"username": "demo", "password": demo::PASSWORD}),
        )
        .await;
    assert_eq!(plain.code(), 200);
    assert!(plain.json()["token"].is_string());
    anon.post(
        "/v2/users/login",
        json!({"username": "demo", "password": "nope"}),
    )
    .await
    .assert_code(401);
    let bad = anon
        .post(
            "/v2/auth/token",
            json!({"identifier": "demo", "secret": "nope"}),
        )
        .await;
    assert_eq!(bad.code(), 401);
    assert!(bad.json()["detail"].is_string());
}

#[tokio::test]
async fn pagination_styles_walked_to_the_end() {
    let hub = start().await;
    let api = Api::user(&hub).await;
    let state = hub.dump();

    // Django: all 10,000 tags at page_size 100.
    let (tags, count) = walk(
        &api,
        "/v2/namespaces/acme/repositories/many-tags/tags?page_size=100",
        "count",
    )
    .await;
    assert_eq!(count as usize, demo::BIG_REPO_TAGS);
    assert_eq!(tags.len(), demo::BIG_REPO_TAGS);
    let mut seen: Vec<&str> = tags.iter().map(|t| t["name"].as_str().unwrap()).collect();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(
        seen.len(),
        demo::BIG_REPO_TAGS,
        "no duplicates across pages"
    );

    // Django: repositories, members, groups, group members (other query params kept).
    let acme_repos = state["repos"]
        .as_object()
        .unwrap()
        .values()
        .filter(|r| r["namespace"] == "acme")
        .count();
    let (repos, count) = walk(
        &api,
        "/v2/namespaces/acme/repositories?page_size=2&ordering=name",
        "count",
    )
    .await;
    assert_eq!((repos.len(), count as usize), (acme_repos, acme_repos));
    let members = state["orgs"][0]["members"].as_array().unwrap().len();
    let (m, count) = walk(&api, "/v2/orgs/acme/members?page_size=3", "count").await;
    assert_eq!((m.len(), count as usize), (members, members));
    let teams = state["orgs"][0]["teams"].as_array().unwrap();
    let (g, _) = walk(&api, "/v2/orgs/acme/groups?page_size=1", "count").await;
    assert_eq!(g.len(), teams.len());
    let (gm, _) = walk(
        &api,
        "/v2/orgs/acme/groups/developers/members?page_size=1",
        "count",
    )
    .await;
    assert_eq!(gm.len(), teams[1]["members"].as_array().unwrap().len());

    // PAT variant with active_count; OAT variant with total.
    let (pats, count) = walk(&api, "/v2/access-tokens?page_size=1", "count").await;
    assert_eq!((pats.len(), count), (3, 3));
    assert_eq!(
        api.get("/v2/access-tokens?page_size=1").await.json()["active_count"],
        2
    );
    let (oats, total) = walk(&api, "/v2/orgs/acme/access-tokens?page_size=2", "total").await;
    assert_eq!((oats.len(), total), (3, 3));

    // Audit logs: {logs} only, stop on a short page.
    let expected = state["audit"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["account"] == "acme")
        .count();
    let mut page = 1;
    let mut n = 0;
    loop {
        let v = api
            .get(&format!("/v2/auditlogs/acme?page={page}&page_size=10"))
            .await
            .json();
        assert!(v.get("next").is_none() && v.get("count").is_none());
        let logs = v["logs"].as_array().unwrap().len();
        n += logs;
        if logs < 10 {
            break;
        }
        page += 1;
    }
    assert_eq!(n, expected);
    assert_eq!(
        api.get("/v2/auditlogs/acme").await.json()["logs"]
            .as_array()
            .unwrap()
            .len(),
        25,
        "default 25"
    );

    // Invites: {data}, unpaged.
    let inv = api.get("/v2/orgs/acme/invites").await.json();
    assert_eq!(
        inv["data"].as_array().unwrap().len(),
        state["orgs"][0]["invites"].as_array().unwrap().len()
    );

    // SCIM: startIndex/count.
    let scim = Api::scim(&hub);
    let total_users = state["orgs"][0]["scim_users"].as_array().unwrap().len();
    let mut start = 1;
    let mut got = 0;
    loop {
        let v = scim
            .get(&format!("/v2/scim/2.0/Users?startIndex={start}&count=3"))
            .await
            .json();
        assert_eq!(v["totalResults"].as_u64().unwrap() as usize, total_users);
        assert_eq!(v["startIndex"].as_u64().unwrap(), start);
        let k = v["Resources"].as_array().unwrap().len();
        assert_eq!(v["itemsPerPage"].as_u64().unwrap() as usize, k);
        got += k;
        if k == 0 || got >= total_users {
            break;
        }
        start += k as u64;
    }
    assert_eq!(got, total_users);

    // Limits.
    api.get("/v2/namespaces/acme/repositories/many-tags/tags?page_size=101")
        .await
        .assert_code(400);
    api.get("/v2/orgs/acme/members?page_size=500")
        .await
        .assert_code(400);
    scim.get("/v2/scim/2.0/Users?count=201")
        .await
        .assert_code(400);
    api.get("/v2/namespaces/acme/repositories/many-tags/tags?page=0")
        .await
        .assert_code(400);
    api.get("/v2/namespaces/acme/repositories/many-tags/tags?page=abc")
        .await
        .assert_code(400);
    let default = api
        .get("/v2/namespaces/acme/repositories/many-tags/tags")
        .await
        .json();
    assert_eq!(results(&default).len(), 10);
}

#[tokio::test]
async fn scim_users_round_trip() {
    let hub = start().await;
    let scim = Api::scim(&hub);
    let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "new@acme.example", "name": {"givenName": "New", "familyName": "Person"}});
    let r = scim.post("/v2/scim/2.0/Users", body.clone()).await;
    assert_eq!(r.code(), 201, "{}", r.text);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/scim+json")
    );
    let id = r.json()["id"].as_str().unwrap().to_string();
    let dup = scim.post("/v2/scim/2.0/Users", body).await;
    assert_eq!(dup.code(), 409);
    assert_eq!(dup.json()["status"], "409");
    assert_eq!(
        dup.json()["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:Error"
    );
    let f = scim
        .get("/v2/scim/2.0/Users?filter=userName%20eq%20%22new@acme.example%22")
        .await
        .json();
    assert_eq!(f["totalResults"], 1);
    let u = scim
        .put(&format!("/v2/scim/2.0/Users/{id}"), json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "name": {"givenName": "Renamed"}, "enabled": true}))
        .await;
    assert_eq!(u.json()["name"]["givenName"], "Renamed");
    assert_eq!(u.json()["active"], true);
    let missing = scim.get("/v2/scim/2.0/Users/nope").await;
    assert_eq!(missing.code(), 404);
    assert_eq!(missing.json()["status"], "404");
    let anon = Api::anon(&hub).get("/v2/scim/2.0/Users").await;
    assert_eq!(anon.code(), 401);
    assert_eq!(anon.json()["status"], "401");
    let owner = Api::user(&hub).await;
    assert_eq!(
        owner.get("/v2/scim/2.0/Users").await.code(),
        200,
        "org owner JWT accepted"
    );
    let actions = audit_actions(&hub);
    assert!(actions.iter().filter(|a| *a == "scim.user.create").count() >= 5);
}

#[tokio::test]
async fn faults_observed_by_plain_client() {
    let hub = start().await;
    let c = client();
    let url = format!(
        "{}/v2/namespaces/acme/repositories/app/tags",
        hub.base_url()
    );

    hub.inject_fault(Fault {
        method: Some("GET".into()),
        path: "/v2/namespaces/*/repositories/*/tags".into(),
        count: 2,
        kind: FaultKind::Status {
            status: 503,
            retry_after: Some(RetryAfterForm::Seconds),
            retry_after_secs: 7,
        },
    });
    for _ in 0..2 {
        let r = c.get(&url).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 503);
        assert_eq!(r.headers()["retry-after"], "7");
    }
    assert_eq!(
        status_of(c.get(format!("{url}/"))).await,
        200,
        "fault consumed"
    );

    hub.inject_fault(Fault {
        method: None,
        path: "/v2/namespaces/acme/*".into(),
        count: 1,
        kind: FaultKind::Drop,
    });
    let dropped = match c.get(&url).send().await {
        Err(_) => true,
        Ok(r) => r.bytes().await.is_err(),
    };
    assert!(dropped, "dropped connection is a client error");
    assert_eq!(status_of(c.get(&url)).await, 200);

    hub.inject_fault(Fault {
        method: Some("get".into()),
        path: "*".into(),
        count: 1,
        kind: FaultKind::Latency { ms: 300 },
    });
    let t = Instant::now();
    let r = c.get(&url).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(t.elapsed() >= Duration::from_millis(300));

    hub.inject_fault(Fault {
        method: None,
        path: "/v2/namespaces/acme/repositories/app/tags".into(),
        count: 1,
        kind: FaultKind::MalformedJson,
    });
    let r = c.get(&url).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.json::<Value>().await.is_err(), "malformed JSON");

    // The same over the admin HTTP API, with 500 and 502.
    for status in [500u16, 502] {
        let f = c
            .post(format!("{}/_emulator/faults", hub.base_url()))
            .json(&json!({"method": "GET", "path": "/v2/user", "count": 1, "kind": "status", "status": status}))
            .send()
            .await
            .unwrap();
        assert_eq!(f.status().as_u16(), 201);
        let r = c
            .get(format!("{}/v2/user/", hub.base_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), status);
    }
    let f = c
        .post(format!("{}/_emulator/faults", hub.base_url()))
        .json(&json!({"path": "/v2/user", "kind": "drop", "count": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(f.status().as_u16(), 201);
    let cleared = c
        .delete(format!("{}/_emulator/faults", hub.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status().as_u16(), 204);
    assert_eq!(
        status_of(c.get(format!("{}/v2/user", hub.base_url()))).await,
        401
    );
}

#[tokio::test]
async fn rate_limit_in_all_retry_after_forms() {
    let hub = start_with(EmulatorConfig {
        rate_limit: 3,
        ..EmulatorConfig::default()
    })
    .await;
    let c = client();
    let url = format!("{}/v2/namespaces/acme/repositories", hub.base_url());
    for form in [
        RetryAfterForm::Seconds,
        RetryAfterForm::Epoch,
        RetryAfterForm::HttpDate,
    ] {
        hub.set_rate_limit(3, Duration::from_secs(60));
        hub.set_retry_after_form(form);
        for i in 0..3u32 {
            let r = c.get(&url).send().await.unwrap();
            assert_eq!(r.status().as_u16(), 200);
            assert_eq!(r.headers()["x-ratelimit-limit"], "3");
            assert_eq!(
                r.headers()["x-ratelimit-remaining"],
                (2 - i).to_string().as_str()
            );
            assert!(
                r.headers()["x-ratelimit-reset"]
                    .to_str()
                    .unwrap()
                    .parse::<u64>()
                    .unwrap()
                    > 1_700_000_000
            );
        }
        let r = c.get(&url).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 429);
        assert_eq!(r.headers()["x-ratelimit-remaining"], "0");
        let ra = r.headers()["retry-after"].to_str().unwrap().to_string();
        let body: Value = r.json().await.unwrap();
        assert_eq!(
            body,
            json!({"detail": "Rate limit exceeded", "error": false})
        );
        match form {
            RetryAfterForm::Seconds => {
                assert!((1..=60).contains(&ra.parse::<u64>().unwrap()), "{ra}")
            }
            RetryAfterForm::Epoch => assert!(ra.parse::<u64>().unwrap() > 1_000_000_000, "{ra}"),
            RetryAfterForm::HttpDate => assert!(httpdate::parse_http_date(&ra).is_ok(), "{ra}"),
        }
    }
    // per identity: a logged-in user has its own window
    hub.set_rate_limit(3, Duration::from_secs(60));
    let user = Api::user(&hub).await;
    let _ = c.get(&url).send().await.unwrap();
    let _ = c.get(&url).send().await.unwrap();
    user.get("/v2/namespaces/acme/repositories")
        .await
        .assert_code(200);
    // headers on 401/404 too
    let r = c
        .get(format!("{}/v2/nope", hub.base_url()))
        .send()
        .await
        .unwrap();
    assert!(r.headers().contains_key("x-ratelimit-limit"));
    // window expiry
    hub.set_rate_limit(1, Duration::from_millis(500));
    assert_eq!(status_of(c.get(&url)).await, 200);
    assert_eq!(status_of(c.get(&url)).await, 429);
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(status_of(c.get(&url)).await, 200);
    // 0 disables; the admin API is exempt
    hub.set_rate_limit(0, Duration::from_secs(60));
    for _ in 0..5 {
        assert_eq!(status_of(c.get(&url)).await, 200);
    }
    let put = c
        .put(format!("{}/_emulator/rate-limit", hub.base_url()))
        .json(&json!({"limit": 1, "window_secs": 60, "retry_after": "http_date"}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status().as_u16(), 200);
    let _ = c.get(&url).send().await.unwrap();
    let r = c.get(&url).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 429);
    assert!(httpdate::parse_http_date(r.headers()["retry-after"].to_str().unwrap()).is_ok());
    for _ in 0..3 {
        assert_eq!(
            status_of(c.get(format!("{}/_emulator/requests", hub.base_url()))).await,
            200
        );
    }
}

#[tokio::test]
async fn body_limit_gives_413() {
    let hub = start_with(EmulatorConfig {
        max_body_bytes: 1024,
        rate_limit: 0,
        ..EmulatorConfig::default()
    })
    .await;
    let api = Api::user(&hub).await;
    let r = api
        .post(
            "/v2/namespaces/demo/repositories",
            json!({"name": "big", "full_description": "x".repeat(4096)}),
        )
        .await;
    assert_eq!(r.code(), 413);
    assert!(r.json()["detail"].is_string());
}

#[tokio::test]
async fn trailing_slashes_and_encoded_paths() {
    let hub = start().await;
    let api = Api::user(&hub).await;
    for p in [
        "/v2/namespaces/acme/repositories/app/tags",
        "/v2/namespaces/acme/repositories/app/tags/",
        "/v2/orgs/acme/groups/",
        "/v2/orgs/acme/groups",
        "/v2/user/",
        "/v2/user",
    ] {
        assert_eq!(api.get(p).await.code(), 200, "{p}");
    }
    let r = api
        .post(
            "/v2/auth/token/",
            json!({"identifier": "demo", "secret": demo::PASSWORD}),
        )
        .await;
    assert_eq!(r.code(), 200);
    hub.clear_requests();
    let evil = api
        .get("/v2/namespaces/..%2F..%2Fv2%2Fusers%2Flogin%23/repositories/x")
        .await;
    assert!(matches!(evil.code(), 400 | 404), "{}", evil.code());
    let evil = api
        .post(
            "/v2/namespaces/demo/repositories/..%2F..%2Fv2%2Fusers%2Flogin%23/tags",
            json!({}),
        )
        .await;
    assert!(matches!(evil.code(), 400 | 404 | 405));
    api.patch(
        "/v2/repositories/demo/..%2F..%2Fv2%2Fusers%2Flogin%23/",
        json!({"description": "x"}),
    )
    .await
    .assert_code(404);
    assert!(hub.requests().iter().all(|r| r.status != 200));
    let tag = api
        .get("/v2/namespaces/acme/repositories/app/tags/2%2E3%2E1")
        .await;
    assert_eq!(tag.code(), 200, "percent-encoded segment decoded");
    api.get("/v2//namespaces").await.assert_code(404);
    api.send(
        Method::PUT,
        "/v2/namespaces/acme/repositories/app/tags",
        None,
    )
    .await
    .assert_code(405);
}

#[tokio::test]
async fn anonymous_access_rules() {
    let hub = start().await;
    let anon = Api::anon(&hub);
    anon.get("/v2/namespaces/acme/repositories/app")
        .await
        .assert_code(200);
    anon.get("/v2/namespaces/acme/repositories/app/tags")
        .await
        .assert_code(200);
    anon.get("/v2/namespaces/acme/repositories/app/tags/latest")
        .await
        .assert_code(200);
    anon.send(Method::HEAD, "/v2/namespaces/acme/repositories/app", None)
        .await
        .assert_code(200);
    anon.send(Method::HEAD, "/v2/namespaces/acme/repositories/nope", None)
        .await
        .assert_code(404);
    let list = anon
        .get("/v2/namespaces/acme/repositories?page_size=100")
        .await
        .json();
    assert!(results(&list).iter().all(|r| r["is_private"] == false));
    anon.get("/v2/namespaces/acme/repositories/api")
        .await
        .assert_code(401);
    anon.get("/v2/namespaces/acme/repositories/api/tags")
        .await
        .assert_code(401);
    for (m, p) in [
        (Method::POST, "/v2/namespaces/demo/repositories"),
        (Method::GET, "/v2/orgs/acme/members"),
        (Method::GET, "/v2/access-tokens"),
        (Method::GET, "/v2/orgs/acme/settings"),
        (Method::GET, "/v2/auditlogs/acme"),
        (Method::GET, "/v2/user/"),
        (Method::DELETE, "/v2/repositories/acme/app/"),
        (Method::GET, "/v2/orgs/acme/invites"),
    ] {
        let r = anon.send(m, p, Some(json!({"name": "x"}))).await;
        assert_eq!(r.code(), 401, "{p}");
        assert!(r.json()["detail"].is_string());
    }
    let user = Api::user(&hub).await;
    let private = user
        .get("/v2/namespaces/acme/repositories?page_size=100")
        .await
        .json();
    assert!(results(&private).iter().any(|r| r["is_private"] == true));
    let frank = Api::login(&hub, "frank", demo::OTHER_PASSWORD).await;
    frank
        .get("/v2/namespaces/acme/repositories/api")
        .await
        .assert_code(403);
    frank.get("/v2/orgs/acme/members").await.assert_code(403);
}

#[tokio::test]
async fn request_log_credential_kinds() {
    let hub = start().await;
    let user = Api::user(&hub).await;
    let pat = Api::pat(&hub).await;
    let oat = Api::oat(&hub).await;
    hub.clear_requests();
    Api::anon(&hub)
        .get("/v2/namespaces/acme/repositories")
        .await;
    user.get("/v2/user/").await;
    pat.get("/v2/user/").await;
    oat.get("/v2/namespaces/acme/repositories?name=app").await;
    Api::scim(&hub).get("/v2/scim/2.0/Users").await;
    Api {
        token: Some("bogus".into()),
        ..Api::anon(&hub)
    }
    .get("/v2/user/")
    .await;
    let log = hub.requests();
    let kinds: Vec<&str> = log.iter().map(|r| r.credential.as_str()).collect();
    assert_eq!(
        kinds,
        vec!["none", "jwt-user", "jwt-pat", "jwt-oat", "scim", "invalid"]
    );
    assert_eq!(log[3].query.as_deref(), Some("name=app"));
    assert_eq!(log[5].status, 401);
    let text = serde_json::to_string(&log).unwrap();
    assert!(!text.contains(demo::SCIM_TOKEN) && !text.contains("bogus"));
    // counting token mints
    hub.clear_requests();
    let _ = Api::pat(&hub).await;
    let _ = Api::pat(&hub).await;
    assert_eq!(
        hub.requests()
            .iter()
            .filter(|r| r.path == "/v2/auth/token")
            .count(),
        2
    );
    // admin routes are not logged
    let c = client();
    let r = c
        .get(format!("{}/_emulator/requests", hub.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.json::<Value>().await.unwrap().as_array().unwrap().len(),
        2
    );
}

#[tokio::test]
async fn reset_dump_and_admin_api() {
    let hub = start().await;
    let api = Api::user(&hub).await;
    api.delete("/v2/repositories/demo/hello/")
        .await
        .assert_code(204);
    assert!(hub.dump()["repos"]["demo/hello"].is_null());
    let dump = serde_json::to_string(&hub.dump()).unwrap();
    for secret in [demo::PAT, demo::OAT, demo::PASSWORD] {
        assert!(!dump.contains(secret), "dump leaks {secret}");
    }
    hub.reset();
    api.get("/v2/namespaces/demo/repositories/hello")
        .await
        .assert_code(200);

    let c = client();
    let base = hub.base_url();
    api.delete("/v2/repositories/demo/hello/")
        .await
        .assert_code(204);
    assert_eq!(
        status_of(c.post(format!("{base}/_emulator/reset"))).await,
        204
    );
    api.get("/v2/namespaces/demo/repositories/hello")
        .await
        .assert_code(200);
    let state: Value = c
        .get(format!("{base}/_emulator/state"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(state["repos"]["acme/many-tags"].is_object());
    assert_eq!(
        status_of(c.post(format!("{base}/_emulator/expire-tokens"))).await,
        204
    );
    api.get("/v2/user/").await.assert_code(401);
    assert_eq!(
        status_of(c.delete(format!("{base}/_emulator/requests"))).await,
        204
    );
    assert!(hub.requests().is_empty());

    let empty = start_with(EmulatorConfig {
        seed: dockerhub_emulator::Seed::Empty,
        rate_limit: 0,
        ..EmulatorConfig::default()
    })
    .await;
    let api = Api::user(&empty).await;
    assert_eq!(
        api.get("/v2/namespaces/acme/repositories").await.json()["count"],
        0
    );
    let off = start_with(EmulatorConfig {
        admin_api: Some(false),
        rate_limit: 0,
        ..EmulatorConfig::default()
    })
    .await;
    assert_eq!(
        status_of(c.get(format!("{}/_emulator/state", off.base_url()))).await,
        404
    );
    off.shutdown().await;
    assert!(
        c.get(format!("{}/v2/user", off.base_url()))
            .send()
            .await
            .is_err(),
        "server stopped"
    );
}

#[tokio::test]
async fn current_user_and_orgs() {
    let hub = start().await;
    let api = Api::pat(&hub).await;
    let me = api.get("/v2/user/").await.json();
    assert_eq!(me["username"], "demo");
    assert_eq!(me["type"], "User");
    let orgs = api.get("/v2/user/orgs/").await.json();
    assert_eq!(orgs["count"], 1);
    assert_eq!(orgs["results"][0]["orgname"], "acme");
    let oat = Api::oat(&hub).await;
    oat.get("/v2/user/").await.assert_code(403);
}
