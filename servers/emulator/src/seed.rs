//! The demo and empty data sets. Timestamps are fixed offsets from [`SEED_EPOCH`].

use serde_json::json;

use crate::config::Seed;
use crate::model::{
    AMD64, ARM64, ARMV7, AuditEvent, Invite, LazyTags, Member, Oat, Org, Pat, Platform, Repo,
    RepoGroup, RestrictedImages, Role, ScimUser, State, Tag, Team, User, fake_digest, mix,
};
use crate::util::{DAY, SEED_EPOCH, seed_uuid};

/// Fixed credentials of the demo seed.
pub mod demo {
    /// The demo user.
    pub const USERNAME: &str = "demo";
    /// Password of [`USERNAME`].
    pub const PASSWORD: &str = "demo-password";
    /// A personal access token of [`USERNAME`] with scope `repo:admin`.
    pub const PAT: &str = "dckr_pat_demo7Qm2Xv9LpR4sT8wK3nB6yH1cJ5";
    /// The demo organization.
    pub const ORG: &str = "acme";
    /// An organization access token of [`ORG`].
    pub const OAT: &str = "dckr_oat_acme4Rt8Yu2Io6Pa0Sd3Fg5Hj7Kl9Zx";
    /// A user with two-factor authentication enabled.
    pub const TWOFA_USER: &str = "demo2fa";
    /// Password of [`TWOFA_USER`].
    pub const TWOFA_PASSWORD: &str = "demo2fa-password";
    /// The TOTP code that [`TWOFA_USER`] always accepts.
    pub const TWOFA_CODE: &str = "123456";
    /// Bearer token for the SCIM routes of [`ORG`].
    pub const SCIM_TOKEN: &str = "dckr_scim_acme_8b1f0c2d4e6a9753";
    /// Password of every other seeded user (alice, bob, carol, dave, erin, frank).
    pub const OTHER_PASSWORD: &str = "password";
    /// The repository with [`BIG_REPO_TAGS`] lazily generated tags.
    pub const BIG_REPO: &str = "acme/many-tags";
    /// Number of tags in [`BIG_REPO`].
    pub const BIG_REPO_TAGS: usize = 10_000;
}

const CI_PAT: &str = "dckr_pat_ciPipe3Kd8Wq1Zr6Mv0Nx5Bt2Gy7";
const OLD_PAT: &str = "dckr_pat_oldLap9Hs4Fe2Ru7Yc1Lo3Vb8Qa6";
const CI_OAT: &str = "dckr_oat_ciRead2Wn7Em4Tk9Ux1Pz6Lq3Js8";
const OLD_OAT: &str = "dckr_oat_oldDep5Gh0Cv3Bn8Mx2Kl7Az4Sw9";

fn days_ago(d: i64) -> i64 {
    SEED_EPOCH - d * DAY
}

fn user(id: u64, username: &str, full_name: &str, password: &str, joined_days: i64) -> User {
    User {
        id,
        uuid: seed_uuid(1, id),
        username: username.to_string(),
        full_name: full_name.to_string(),
        email: format!("{username}@example.com"),
        password: password.to_string(),
        company: "Acme Corp".to_string(),
        location: "Berlin".to_string(),
        date_joined: days_ago(joined_days),
        last_login: days_ago(1),
        twofa_code: None,
        twofa_enabled: false,
    }
}

fn users() -> Vec<User> {
    let mut list = vec![
        user(1001, demo::USERNAME, "Demo User", demo::PASSWORD, 900),
        user(
            1002,
            demo::TWOFA_USER,
            "Demo Two-Factor",
            demo::TWOFA_PASSWORD,
            800,
        ),
    ];
    if let Some(u) = list.get_mut(1) {
        u.twofa_code = Some(demo::TWOFA_CODE.to_string());
        u.twofa_enabled = true;
    }
    for (i, (name, full)) in [
        ("alice", "Alice Anders"),
        ("bob", "Bob Brown"),
        ("carol", "Carol Chen"),
        ("dave", "Dave Diaz"),
        ("erin", "Erin Evans"),
        ("frank", "Frank Fischer"),
    ]
    .into_iter()
    .enumerate()
    {
        list.push(user(
            1003 + i as u64,
            name,
            full,
            demo::OTHER_PASSWORD,
            700 - 50 * i as i64,
        ));
    }
    list
}

fn member(username: &str, role: Role) -> Member {
    Member {
        username: username.to_string(),
        role,
    }
}

fn acme_shell() -> Org {
    Org {
        id: 2001,
        uuid: seed_uuid(2, 2001),
        name: demo::ORG.to_string(),
        full_name: "Acme Corporation".to_string(),
        company: "Acme Corp".to_string(),
        location: "Berlin".to_string(),
        date_joined: days_ago(1000),
        members: vec![
            member(demo::USERNAME, Role::Owner),
            member("alice", Role::Owner),
            member("bob", Role::Member),
            member("carol", Role::Member),
            member("dave", Role::Member),
            member("erin", Role::Member),
            member(demo::TWOFA_USER, Role::Member),
        ],
        teams: Vec::new(),
        invites: Vec::new(),
        settings: RestrictedImages {
            enabled: false,
            allow_official_images: true,
            allow_verified_publishers: true,
        },
        oats: Vec::new(),
        scim_users: Vec::new(),
    }
}

fn team(id: u64, name: &str, description: &str, members: &[&str]) -> Team {
    Team {
        id,
        uuid: seed_uuid(3, id),
        name: name.to_string(),
        description: description.to_string(),
        members: members.iter().map(|m| (*m).to_string()).collect(),
    }
}

fn invite(n: u64, invitee: &str, team: &str, role: &str, days: i64) -> Invite {
    Invite {
        id: seed_uuid(4, n),
        inviter_username: demo::USERNAME.to_string(),
        invitee: invitee.to_string(),
        team: team.to_string(),
        role: role.to_string(),
        created_at: days_ago(days),
    }
}

fn oat(n: u64, label: &str, secret: &str, active: bool, resources: serde_json::Value) -> Oat {
    Oat {
        id: seed_uuid(5, n),
        label: label.to_string(),
        description: format!("{label} (seeded)"),
        created_by: demo::USERNAME.to_string(),
        is_active: active,
        created_at: days_ago(200 - 30 * n as i64),
        expires_at: Some(days_ago(-365)),
        last_used_at: active.then(|| days_ago(2)),
        resources: resources.as_array().cloned().unwrap_or_default(),
        secret: secret.to_string(),
    }
}

fn scim_user(n: u64, user_name: &str, given: &str, family: &str, active: bool) -> ScimUser {
    ScimUser {
        id: seed_uuid(6, n),
        user_name: user_name.to_string(),
        given_name: given.to_string(),
        family_name: family.to_string(),
        active,
        created: days_ago(300 - n as i64 * 10),
        last_modified: days_ago(20 - n as i64),
    }
}

fn acme_full() -> Org {
    let mut org = acme_shell();
    org.teams = vec![
        team(
            3001,
            "owners",
            "Organization owners",
            &[demo::USERNAME, "alice"],
        ),
        team(
            3002,
            "developers",
            "Application developers",
            &[demo::USERNAME, "bob", "carol"],
        ),
        team(3003, "qa", "Quality assurance", &["dave", "erin", "carol"]),
        team(
            3004,
            "ops",
            "Platform operations",
            &["alice", "bob", "erin"],
        ),
    ];
    org.invites = vec![
        invite(1, "newhire@example.com", "developers", "member", 5),
        invite(2, "frank", "qa", "member", 3),
        invite(3, "contractor@example.org", "", "member", 1),
    ];
    org.settings = RestrictedImages {
        enabled: true,
        allow_official_images: true,
        allow_verified_publishers: false,
    };
    org.oats = vec![
        oat(
            1,
            "demo-oat",
            demo::OAT,
            true,
            json!([{"type": "TYPE_REPO", "path": "acme/*", "scopes": ["repo-pull", "repo-push"]}]),
        ),
        oat(
            2,
            "ci-readonly",
            CI_OAT,
            true,
            json!([{"type": "TYPE_REPO", "path": "acme/app", "scopes": ["repo-pull"]}]),
        ),
        oat(
            3,
            "old-deploy",
            OLD_OAT,
            false,
            json!([{"type": "TYPE_ORG", "path": "acme", "scopes": ["member-read"]}]),
        ),
    ];
    org.scim_users = vec![
        scim_user(1, "alice@acme.example", "Alice", "Anders", true),
        scim_user(2, "bob@acme.example", "Bob", "Brown", true),
        scim_user(3, "carol@acme.example", "Carol", "Chen", true),
        scim_user(4, "former@acme.example", "Former", "Employee", false),
    ];
    org
}

fn pat(n: u64, label: &str, secret: &str, scopes: &[&str], active: bool, days: i64) -> Pat {
    Pat {
        uuid: seed_uuid(7, n),
        owner: demo::USERNAME.to_string(),
        label: label.to_string(),
        scopes: scopes.iter().map(|s| (*s).to_string()).collect(),
        is_active: active,
        created_at: days_ago(days),
        last_used: active.then(|| days_ago(1)),
        expires_at: None,
        secret: secret.to_string(),
    }
}

/// A seeded tag: name, pushed N days ago, pulled N days ago (`None`: never), platforms.
type TagSpec = (&'static str, i64, Option<i64>, &'static [Platform]);

const A: &[Platform] = &[AMD64];
const M: &[Platform] = &[AMD64, ARM64];
const X: &[Platform] = &[AMD64, ARM64, ARMV7];

const DEMO_HELLO: &[TagSpec] = &[
    ("latest", 2, Some(0), M),
    ("1.2.0-rc.1", 9, None, M),
    ("1.1.0", 120, Some(40), M),
    ("1.0.0", 400, Some(200), A),
    ("main", 1, Some(1), M),
];

const DEMO_TOOLS: &[TagSpec] = &[
    ("latest", 15, Some(3), A),
    ("0.1.0", 300, None, A),
    ("develop", 5, Some(5), A),
    ("a1b2c3d", 60, None, A),
];

const ACME_APP: &[TagSpec] = &[
    ("latest", 1, Some(0), X),
    ("2.3.1", 1, Some(0), X),
    ("2.3.0", 20, Some(2), X),
    ("2.2.0", 75, Some(31), X),
    ("2.1.0", 140, Some(90), M),
    ("2.0.0", 210, Some(150), M),
    ("2.0.0-rc.1", 230, None, M),
    ("2.0.0-beta.1", 250, None, M),
    ("1.2.1", 330, Some(10), M),
    ("1.2.0", 380, Some(300), A),
    ("1.1.0", 450, Some(400), A),
    ("1.0.1", 560, None, A),
    ("1.0.0", 700, Some(690), A),
    ("main", 0, Some(0), X),
    ("develop", 3, Some(3), M),
    ("feature-x", 45, None, A),
    ("3f9c2e1", 12, None, M),
    ("a7d41b0", 95, None, M),
    ("e02b9f4", 160, Some(158), A),
];

const ACME_API: &[TagSpec] = &[
    ("latest", 4, Some(1), M),
    ("v1.2.0", 4, Some(1), M),
    ("v1.1.0", 90, Some(60), M),
    ("v1.0.0", 365, None, A),
    ("v2.0.0-alpha.1", 30, None, M),
    ("main", 4, Some(4), M),
    ("develop", 6, None, M),
    ("9c8b7a6", 33, None, A),
];

const ACME_WEB: &[TagSpec] = &[
    ("latest", 10, Some(2), X),
    ("1.0.1", 10, Some(2), X),
    ("1.0.0", 180, Some(120), M),
    ("0.9.0", 600, None, A),
    ("staging", 8, Some(8), M),
    ("feature-x", 50, None, A),
];

const ACME_BASE: &[TagSpec] = &[
    ("latest", 25, Some(25), M),
    ("bookworm", 25, Some(25), M),
    ("bullseye", 500, Some(480), A),
];

fn tags(repo_id: u64, specs: &[TagSpec]) -> Vec<Tag> {
    specs
        .iter()
        .enumerate()
        .map(|(j, (name, pushed, pulled, platforms))| {
            let n = repo_id * 1000 + j as u64;
            Tag {
                id: n,
                name: (*name).to_string(),
                digest: fake_digest(n),
                pushed: days_ago(*pushed) + (mix(n) % 3600) as i64,
                pulled: pulled.map(|p| days_ago(p).min(SEED_EPOCH)),
                platforms: platforms.to_vec(),
                size: 5_000_000 + mix(n) % 80_000_000,
            }
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn repo(
    id: u64,
    ns: &str,
    name: &str,
    description: &str,
    is_private: bool,
    pull_count: u64,
    registered_days: i64,
    specs: &[TagSpec],
) -> Repo {
    let tags = tags(id, specs);
    let last_updated = tags
        .iter()
        .map(|t| t.pushed)
        .max()
        .unwrap_or(days_ago(registered_days));
    Repo {
        id,
        namespace: ns.to_string(),
        name: name.to_string(),
        description: description.to_string(),
        full_description: format!("# {ns}/{name}\n\n{description}\n"),
        is_private,
        pull_count,
        star_count: pull_count % 17,
        date_registered: days_ago(registered_days),
        last_updated,
        immutable_enabled: false,
        immutable_rules: Vec::new(),
        tags,
        lazy: None,
        groups: Vec::new(),
    }
}

fn repos() -> Vec<Repo> {
    let mut app = repo(
        501,
        "acme",
        "app",
        "The Acme application",
        false,
        152_340,
        720,
        ACME_APP,
    );
    app.immutable_enabled = true;
    app.immutable_rules = vec![r"^v?\d+\.\d+\.\d+$".to_string()];
    app.groups = vec![
        RepoGroup {
            group_id: 3002,
            permission: "write".to_string(),
        },
        RepoGroup {
            group_id: 3003,
            permission: "read".to_string(),
        },
    ];
    let mut api = repo(
        502,
        "acme",
        "api",
        "Acme internal API",
        true,
        8_211,
        500,
        ACME_API,
    );
    api.groups = vec![RepoGroup {
        group_id: 3004,
        permission: "admin".to_string(),
    }];
    let mut many = repo(
        506,
        "acme",
        "many-tags",
        "10,000 generated tags for pagination tests",
        false,
        42,
        420,
        &[],
    );
    many.lazy = Some(LazyTags {
        count: demo::BIG_REPO_TAGS,
        deleted: Default::default(),
    });
    many.last_updated = SEED_EPOCH;
    vec![
        repo(
            401,
            "demo",
            "hello",
            "Hello world image",
            false,
            1_234,
            420,
            DEMO_HELLO,
        ),
        repo(
            402,
            "demo",
            "private-tools",
            "Private helper tools",
            true,
            17,
            310,
            DEMO_TOOLS,
        ),
        app,
        api,
        repo(
            503,
            "acme",
            "web",
            "Acme web frontend",
            false,
            40_012,
            610,
            ACME_WEB,
        ),
        repo(
            504,
            "acme",
            "base-image",
            "Internal base image",
            true,
            3_900,
            650,
            ACME_BASE,
        ),
        many,
    ]
}

/// ~50 historical audit events between two years and one day before the seed epoch.
fn audit_history(state: &mut State) {
    let repo_names: Vec<String> = state.repos.values().map(Repo::key).collect();
    let mut events: Vec<AuditEvent> = Vec::new();
    let mut ev = |account: &str, action: &str, name: &str, actor: &str, data: &[(&str, &str)]| {
        events.push(AuditEvent::new(account, action, name, actor, data, 0));
    };
    for r in &repo_names {
        let (ns, _) = r.split_once('/').unwrap_or((r, ""));
        ev(
            ns,
            "repo.create",
            r,
            demo::USERNAME,
            &[("private", "false")],
        );
    }
    for (u, t) in [
        ("bob", "developers"),
        ("carol", "developers"),
        ("dave", "qa"),
        ("erin", "qa"),
        ("alice", "ops"),
    ] {
        ev(
            "acme",
            "org.member.add",
            u,
            demo::USERNAME,
            &[("role", "member")],
        );
        ev("acme", "team.member.add", t, "alice", &[("member", u)]);
    }
    for t in ["owners", "developers", "qa", "ops"] {
        ev("acme", "team.create", t, demo::USERNAME, &[]);
    }
    for (r, tag) in [
        ("acme/app", "1.0.0"),
        ("acme/app", "1.1.0"),
        ("acme/app", "2.0.0"),
        ("acme/app", "2.3.1"),
        ("acme/api", "v1.0.0"),
        ("acme/api", "v1.2.0"),
        ("acme/web", "1.0.0"),
        ("acme/web", "1.0.1"),
        ("demo/hello", "1.0.0"),
        ("demo/hello", "latest"),
    ] {
        let (ns, _) = r.split_once('/').unwrap_or((r, ""));
        ev(ns, "repo.tag.push", r, "bob", &[("tag", tag)]);
    }
    ev(
        "acme",
        "repo.immutable_tags.update",
        "acme/app",
        demo::USERNAME,
        &[("enabled", "true")],
    );
    ev(
        "acme",
        "repo.privacy",
        "acme/api",
        demo::USERNAME,
        &[("private", "true")],
    );
    ev(
        "acme",
        "repo.group.add",
        "acme/app",
        demo::USERNAME,
        &[("group", "developers"), ("permission", "write")],
    );
    ev(
        "acme",
        "repo.group.add",
        "acme/app",
        demo::USERNAME,
        &[("group", "qa"), ("permission", "read")],
    );
    ev(
        "acme",
        "repo.group.add",
        "acme/api",
        "alice",
        &[("group", "ops"), ("permission", "admin")],
    );
    ev(
        "acme",
        "org.settings.update",
        "acme",
        "alice",
        &[("restricted_images", "enabled")],
    );
    ev(
        "acme",
        "org.invite.create",
        "newhire@example.com",
        demo::USERNAME,
        &[("team", "developers")],
    );
    ev(
        "acme",
        "org.invite.create",
        "frank",
        demo::USERNAME,
        &[("team", "qa")],
    );
    ev(
        "acme",
        "org.invite.create",
        "contractor@example.org",
        demo::USERNAME,
        &[],
    );
    ev(
        "acme",
        "org_access_token.create",
        "demo-oat",
        demo::USERNAME,
        &[],
    );
    ev(
        "acme",
        "org_access_token.create",
        "ci-readonly",
        demo::USERNAME,
        &[],
    );
    ev(
        "acme",
        "org_access_token.create",
        "old-deploy",
        demo::USERNAME,
        &[],
    );
    ev(
        "acme",
        "org_access_token.update",
        "old-deploy",
        "alice",
        &[("is_active", "false")],
    );
    for u in [
        "alice@acme.example",
        "bob@acme.example",
        "carol@acme.example",
        "former@acme.example",
    ] {
        ev("acme", "scim.user.create", u, "scim", &[]);
    }
    ev(
        "acme",
        "scim.user.update",
        "former@acme.example",
        "scim",
        &[("active", "false")],
    );
    ev(
        "acme",
        "org.member.role_update",
        "alice",
        demo::USERNAME,
        &[("role", "owner")],
    );
    ev(
        "demo",
        "access_token.create",
        "demo-cli",
        demo::USERNAME,
        &[],
    );
    ev(
        "demo",
        "access_token.create",
        "ci-pipeline",
        demo::USERNAME,
        &[],
    );
    ev(
        "demo",
        "access_token.create",
        "old-laptop",
        demo::USERNAME,
        &[],
    );
    ev(
        "demo",
        "access_token.update",
        "old-laptop",
        demo::USERNAME,
        &[("is_active", "false")],
    );
    let n = events.len() as i64;
    for (i, mut e) in events.into_iter().enumerate() {
        e.timestamp = SEED_EPOCH - (n - i as i64) * 14 * DAY + (mix(i as u64) % 40_000) as i64;
        state.audit.push(e);
    }
}

/// Build the state for a seed.
pub fn build(seed: Seed) -> State {
    let mut state = State {
        users: users(),
        next_id: 10_000,
        ..State::default()
    };
    match seed {
        Seed::Empty => {
            state.orgs = vec![acme_shell()];
        }
        Seed::Demo => {
            state.orgs = vec![acme_full()];
            state.pats = vec![
                pat(1, "demo-cli", demo::PAT, &["repo:admin"], true, 200),
                pat(
                    2,
                    "ci-pipeline",
                    CI_PAT,
                    &["repo:read", "repo:write"],
                    true,
                    150,
                ),
                pat(3, "old-laptop", OLD_PAT, &["repo:read"], false, 400),
            ];
            for r in repos() {
                state.repos.insert(r.key(), r);
            }
            audit_history(&mut state);
        }
    }
    state
}
