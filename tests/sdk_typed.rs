//! The typed client generated from the normalized spec decodes what the
//! emulator (modelled on the real service) answers, through the same hooks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;

#[tokio::test]
async fn typed_reads_decode_the_real_shapes() {
    let emu = emulator().await;
    let hub = hub(&emu, password());
    let t = hub.typed();

    let tags = t
        .list_repository_tags()
        .namespace("acme")
        .repository("app")
        .page_size(100)
        .send()
        .await
        .unwrap()
        .into_inner();
    let first = tags.results.first().expect("tags");
    // Truth fixes 11 and 12: images is an array, v2 a boolean.
    assert!(!first.images.is_empty(), "images decoded as an array");
    let name = first.name.clone().unwrap();
    let tag = t
        .get_repository_tag()
        .namespace("acme")
        .repository("app")
        .tag(&name)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(tag.name.as_deref(), Some(name.as_str()));

    let repos = t
        .list_namespace_repositories()
        .namespace("acme")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert!(repos.count.unwrap_or(0) > 0);
    t.get_repository()
        .namespace("acme")
        .repository("app")
        .send()
        .await
        .unwrap();
    let head = t
        .check_repository()
        .namespace("acme")
        .repository("app")
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);

    // Truth fix 13: the members list is one page object; 14: search is text.
    let members = t
        .list_org_members()
        .org_name("acme")
        .search("a")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert!(members.count.unwrap_or(0.0) > 0.0);

    t.list_org_groups().org_name("acme").send().await.unwrap();
    t.list_org_invites().org_name("acme").send().await.unwrap();
    t.get_org_settings().name("acme").send().await.unwrap();
    t.list_personal_access_tokens().send().await.unwrap();
    t.list_org_access_tokens()
        .name("acme")
        .send()
        .await
        .unwrap();
    t.audit_logs_list_audit_logs()
        .account("acme")
        .send()
        .await
        .unwrap();
    t.get_current_user().send().await.unwrap();
    t.list_current_user_orgs().send().await.unwrap();

    // SCIM through the typed client: content types restored by the hooks.
    let mut cfg = config(&emu, password());
    cfg.scim_token = Some(demo::SCIM_TOKEN.to_string().into());
    let scim = hub_with(cfg).0;
    let users = scim
        .typed()
        .scim_list_users()
        .count(2)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert!(users.total_results.unwrap_or(0) > 0);
    // Rule 16: the typed list follows RFC 7644's `Resources` key.
    assert!(!users.resources.is_empty(), "SCIM users decoded");
    scim.typed()
        .scim_get_service_provider_config()
        .send()
        .await
        .unwrap();
    assert_eq!(hub.mint_count(), 1, "one JWT for all typed calls");
    let scim_log = emu
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/v2/scim"))
        .collect::<Vec<_>>();
    assert!(
        scim_log.iter().all(|r| r.credential == "scim"),
        "{scim_log:?}"
    );
}
