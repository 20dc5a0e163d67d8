//! Property test: random paths, methods, headers and bodies never produce a 5xx, and the server stays up.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::OnceLock;

use common::Api;
use dockerhub_emulator::{Emulator, EmulatorConfig, EmulatorHandle};
use proptest::prelude::*;
use reqwest::Method;

struct Fixture {
    rt: tokio::runtime::Runtime,
    hub: EmulatorHandle,
    user: Api,
    pat: Api,
    oat: Api,
    scim: Api,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (hub, user, pat, oat) = rt.block_on(async {
            let hub = Emulator::start(EmulatorConfig {
                rate_limit: 0,
                max_body_bytes: 64 * 1024,
                ..EmulatorConfig::default()
            })
            .await
            .unwrap();
            let user = Api::user(&hub).await;
            let pat = Api::pat(&hub).await;
            let oat = Api::oat(&hub).await;
            (hub, user, pat, oat)
        });
        let scim = Api::scim(&hub);
        Fixture {
            rt,
            hub,
            user,
            pat,
            oat,
            scim,
        }
    })
}

const PREFIXES: &[&str] = &[
    "/v2/namespaces/acme/repositories",
    "/v2/namespaces/demo/repositories/hello",
    "/v2/namespaces/acme/repositories/app/tags",
    "/v2/namespaces/acme/repositories/many-tags/tags",
    "/v2/namespaces/acme/repositories/app/immutabletags",
    "/v2/repositories/acme/web",
    "/v2/repositories/demo/hello/groups",
    "/v2/orgs/acme",
    "/v2/orgs/acme/members",
    "/v2/orgs/acme/groups/developers",
    "/v2/orgs/acme/access-tokens",
    "/v2/access-tokens",
    "/v2/auditlogs/acme",
    "/v2/invites",
    "/v2/scim/2.0/Users",
    "/v2/scim/2.0",
    "/v2/users/login",
    "/v2/users/2fa-login",
    "/v2/auth/token",
    "/v2/user",
    "/v2",
    "",
];

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9._-]{0,12}",
        "(%[0-9A-Fa-f]{2}|[a-zA-Z0-9~!$&'()*+,;=:@._-]){0,12}",
        Just("..".to_string()),
        Just("%2F..%2F".to_string()),
        Just("%FF%FE".to_string()),
        Just("latest".to_string()),
        Just("00000000-0007-4000-8000-000000000002".to_string()),
        Just("3002".to_string()),
        Just("v9.99.9".to_string()),
        "[0-9]{1,25}",
    ]
}

fn query() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("page"),
        Just("page_size"),
        Just("ordering"),
        Just("name"),
        Just("startIndex"),
        Just("count"),
        Just("filter"),
        Just("search"),
        Just("role"),
        Just("type"),
        Just("from"),
        Just("to"),
        Just("invites"),
        Just("sortBy"),
        Just("sortOrder"),
        Just("action"),
    ];
    let value = prop_oneof![
        "-?[0-9]{0,22}",
        "[a-zA-Z0-9 %._-]{0,10}",
        Just("1e308".to_string()),
        Just("NaN".to_string()),
        Just("userName eq \"x\"".to_string()),
    ];
    proptest::collection::vec((key, value), 0..4).prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|(k, v)| format!("{k}={}", v.replace(' ', "%20")))
            .collect::<Vec<_>>()
            .join("&")
    })
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map_or(serde_json::Value::Null, serde_json::Value::Number)),
        "[a-z0-9.:@ ^$()*+?-]{0,20}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        let key = prop_oneof![
            Just("name".to_string()),
            Just("description".to_string()),
            Just("is_private".to_string()),
            Just("token_label".to_string()),
            Just("scopes".to_string()),
            Just("label".to_string()),
            Just("resources".to_string()),
            Just("role".to_string()),
            Just("member".to_string()),
            Just("group_id".to_string()),
            Just("permission".to_string()),
            Just("regex".to_string()),
            Just("immutable_tags".to_string()),
            Just("immutable_tags_rules".to_string()),
            Just("identifier".to_string()),
            Just("secret".to_string()),
            Just("username".to_string()),
            Just("password".to_string()),
            Just("schemas".to_string()),
            Just("userName".to_string()),
            Just("restricted_images".to_string()),
            Just("invitees".to_string()),
            Just("org".to_string()),
            "[a-z_]{1,8}",
        ];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            proptest::collection::btree_map(key, inner, 0..5)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

fn body() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![
        Just(None),
        json_value().prop_map(|v| Some(serde_json::to_vec(&v).unwrap())),
        proptest::collection::vec(any::<u8>(), 0..64).prop_map(Some),
        Just(Some(b"{\"name\":".to_vec())),
    ]
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        Just(Method::GET),
        Just(Method::HEAD),
        Just(Method::POST),
        Just(Method::PUT),
        Just(Method::PATCH),
        Just(Method::DELETE),
        Just(Method::OPTIONS),
        Just(Method::from_bytes(b"FOO").unwrap()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_requests_never_5xx(
        m in method(),
        prefix in proptest::sample::select(PREFIXES),
        segs in proptest::collection::vec(segment(), 0..4),
        slash in any::<bool>(),
        q in query(),
        b in body(),
        who in 0usize..6,
    ) {
        let f = fixture();
        let mut path = format!("{prefix}/{}", segs.join("/"));
        if slash { path.push('/'); }
        let url = if q.is_empty() { format!("{}{path}", f.hub.base_url()) } else { format!("{}{path}?{q}", f.hub.base_url()) };
        let api = match who { 0 => &f.user, 1 => &f.pat, 2 => &f.oat, 3 => &f.scim, _ => &f.user };
        let status = f.rt.block_on(async {
            let mut req = api.client.request(m.clone(), &url);
            match who {
                4 => {}
                5 => req = req.header("authorization", "Bearer garbage.token.here"),
                _ => req = req.bearer_auth(api.token.clone().unwrap()),
            }
            if let Some(b) = b { req = req.header("content-type", "application/json").body(b); }
            req.send().await.map(|r| r.status().as_u16())
        });
        let status = status.map_err(|e| TestCaseError::fail(format!("{m} {url}: transport error {e}")))?;
        prop_assert!(status < 500, "{} {} -> {}", m, url, status);
        // the server is still up
        let alive = f.rt.block_on(async {
            f.user.client.get(format!("{}/v2/namespaces/acme/repositories", f.hub.base_url())).send().await.map(|r| r.status().as_u16())
        });
        prop_assert_eq!(alive.ok(), Some(200));
        // and a reset now and then keeps the demo data meaningful
        if status < 300 && m != Method::GET && m != Method::HEAD { f.hub.reset(); }
    }
}
