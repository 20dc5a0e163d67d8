//! The emulated Hub state.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use crate::util::{DAY, SEED_EPOCH};

#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: u64,
    pub uuid: String,
    pub username: String,
    pub full_name: String,
    pub email: String,
    #[serde(skip_serializing)]
    pub password: String,
    pub company: String,
    pub location: String,
    pub date_joined: i64,
    pub last_login: i64,
    /// The fixed TOTP code when the account has 2FA enabled.
    #[serde(skip_serializing)]
    pub twofa_code: Option<String>,
    pub twofa_enabled: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Editor,
    Member,
}

impl Role {
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "owner" => Some(Self::Owner),
            "editor" => Some(Self::Editor),
            "member" => Some(Self::Member),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Editor => "editor",
            Self::Member => "member",
        }
    }
    /// The capitalised form used in member listings.
    pub fn display(self) -> &'static str {
        match self {
            Self::Owner => "Owner",
            Self::Editor => "Editor",
            Self::Member => "Member",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Member {
    pub username: String,
    pub role: Role,
}

#[derive(Debug, Clone, Serialize)]
pub struct Team {
    pub id: u64,
    pub uuid: String,
    pub name: String,
    pub description: String,
    pub members: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Invite {
    pub id: String,
    pub inviter_username: String,
    pub invitee: String,
    pub team: String,
    pub role: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct RestrictedImages {
    pub enabled: bool,
    pub allow_official_images: bool,
    pub allow_verified_publishers: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Oat {
    pub id: String,
    pub label: String,
    pub description: String,
    pub created_by: String,
    pub is_active: bool,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub resources: Vec<serde_json::Value>,
    #[serde(skip_serializing)]
    pub secret: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScimUser {
    pub id: String,
    pub user_name: String,
    pub given_name: String,
    pub family_name: String,
    pub active: bool,
    pub created: i64,
    pub last_modified: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Org {
    pub id: u64,
    pub uuid: String,
    pub name: String,
    pub full_name: String,
    pub company: String,
    pub location: String,
    pub date_joined: i64,
    pub members: Vec<Member>,
    pub teams: Vec<Team>,
    pub invites: Vec<Invite>,
    pub settings: RestrictedImages,
    pub oats: Vec<Oat>,
    pub scim_users: Vec<ScimUser>,
}

impl Org {
    pub fn role_of(&self, username: &str) -> Option<Role> {
        self.members
            .iter()
            .find(|m| m.username.eq_ignore_ascii_case(username))
            .map(|m| m.role)
    }
    pub fn team(&self, name: &str) -> Option<&Team> {
        self.teams.iter().find(|t| t.name == name)
    }
    pub fn team_mut(&mut self, name: &str) -> Option<&mut Team> {
        self.teams.iter_mut().find(|t| t.name == name)
    }
    pub fn owner_count(&self) -> usize {
        self.members
            .iter()
            .filter(|m| m.role == Role::Owner)
            .count()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Pat {
    pub uuid: String,
    pub owner: String,
    pub label: String,
    pub scopes: Vec<String>,
    pub is_active: bool,
    pub created_at: i64,
    pub last_used: Option<i64>,
    pub expires_at: Option<i64>,
    #[serde(skip_serializing)]
    pub secret: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Platform {
    pub os: &'static str,
    pub architecture: &'static str,
    pub variant: Option<&'static str>,
}

pub const AMD64: Platform = Platform {
    os: "linux",
    architecture: "amd64",
    variant: None,
};
pub const ARM64: Platform = Platform {
    os: "linux",
    architecture: "arm64",
    variant: Some("v8"),
};
pub const ARMV7: Platform = Platform {
    os: "linux",
    architecture: "arm",
    variant: Some("v7"),
};

#[derive(Debug, Clone, Serialize)]
pub struct Tag {
    pub id: u64,
    pub name: String,
    pub digest: String,
    pub pushed: i64,
    pub pulled: Option<i64>,
    pub platforms: Vec<Platform>,
    pub size: u64,
}

impl Tag {
    /// `active` when pushed or pulled in the month before the seed's reference time.
    pub fn status(&self) -> &'static str {
        let recent = SEED_EPOCH - 30 * DAY;
        if self.pushed >= recent || self.pulled.is_some_and(|p| p >= recent) {
            "active"
        } else {
            "inactive"
        }
    }
}

/// A deterministic pseudo-random 64-bit value (splitmix64).
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A deterministic `sha256:` digest for seed data.
pub fn fake_digest(seed: u64) -> String {
    format!(
        "sha256:{:016x}{:016x}{:016x}{:016x}",
        mix(seed),
        mix(seed ^ 1),
        mix(seed ^ 2),
        mix(seed ^ 3)
    )
}

/// Tags generated on demand from their index (for the 10,000-tag repository).
#[derive(Debug, Clone, Serialize)]
pub struct LazyTags {
    pub count: usize,
    pub deleted: BTreeSet<usize>,
}

impl LazyTags {
    pub fn name(i: usize) -> String {
        format!("v{}.{}.{}", i / 1000, (i / 10) % 100, i % 10)
    }

    pub fn index_of(&self, name: &str) -> Option<usize> {
        let rest = name.strip_prefix('v')?;
        let mut parts = rest.split('.');
        let a: usize = parts.next()?.parse().ok()?;
        let b: usize = parts.next()?.parse().ok()?;
        let c: usize = parts.next()?.parse().ok()?;
        if parts.next().is_some() || b >= 100 || c >= 10 {
            return None;
        }
        let i = a.checked_mul(1000)?.checked_add(b * 10 + c)?;
        (i < self.count && !self.deleted.contains(&i) && Self::name(i) == name).then_some(i)
    }

    pub fn tag(i: usize) -> Tag {
        let n = i as u64;
        let pushed = SEED_EPOCH - (n as i64) * 3600;
        let pulled =
            (!n.is_multiple_of(3)).then(|| (pushed + ((n % 7) as i64) * DAY).min(SEED_EPOCH));
        let platforms = if n.is_multiple_of(2) {
            vec![AMD64, ARM64]
        } else {
            vec![AMD64]
        };
        Tag {
            id: 1_000_000 + n,
            name: Self::name(i),
            digest: fake_digest(0xA11CE ^ n),
            pushed,
            pulled,
            platforms,
            size: 20_000_000 + mix(n) % 10_000_000,
        }
    }

    pub fn live_count(&self) -> usize {
        self.count.saturating_sub(self.deleted.len())
    }

    pub fn live_indices(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.count).filter(|i| !self.deleted.contains(i))
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RepoGroup {
    pub group_id: u64,
    pub permission: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagOrder {
    LastUpdatedDesc,
    LastUpdatedAsc,
    NameAsc,
    NameDesc,
}

#[derive(Debug, Clone, Serialize)]
pub struct Repo {
    pub id: u64,
    pub namespace: String,
    pub name: String,
    pub description: String,
    pub full_description: String,
    pub is_private: bool,
    pub pull_count: u64,
    pub star_count: u64,
    pub date_registered: i64,
    pub last_updated: i64,
    pub immutable_enabled: bool,
    pub immutable_rules: Vec<String>,
    pub tags: Vec<Tag>,
    pub lazy: Option<LazyTags>,
    pub groups: Vec<RepoGroup>,
}

impl Repo {
    /// The `namespace/name` key (also the audit-log name of the repository).
    pub fn key(&self) -> String {
        repo_key(&self.namespace, &self.name)
    }

    /// The audit-log account and name for an event on this repository.
    pub fn audit_target(&self) -> (String, String) {
        (self.namespace.clone(), self.key())
    }

    pub fn tag_count(&self) -> usize {
        self.tags.len() + self.lazy.as_ref().map_or(0, LazyTags::live_count)
    }

    pub fn find_tag(&self, name: &str) -> Option<Tag> {
        if let Some(t) = self.tags.iter().find(|t| t.name == name) {
            return Some(t.clone());
        }
        let lazy = self.lazy.as_ref()?;
        lazy.index_of(name).map(LazyTags::tag)
    }

    pub fn delete_tag(&mut self, name: &str) -> bool {
        if let Some(pos) = self.tags.iter().position(|t| t.name == name) {
            self.tags.remove(pos);
            return true;
        }
        if let Some(lazy) = self.lazy.as_mut()
            && let Some(i) = lazy.index_of(name)
        {
            lazy.deleted.insert(i);
            return true;
        }
        false
    }

    pub fn tag_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.tags.iter().map(|t| t.name.clone()).collect();
        if let Some(lazy) = &self.lazy {
            names.extend(lazy.live_indices().map(LazyTags::name));
        }
        names
    }

    /// Total matching tags and one page of them.
    pub fn list_tags(
        &self,
        name_filter: Option<&str>,
        order: TagOrder,
        offset: usize,
        limit: usize,
    ) -> (usize, Vec<Tag>) {
        if let (Some(lazy), true, None, TagOrder::LastUpdatedDesc) =
            (&self.lazy, self.tags.is_empty(), name_filter, order)
        {
            let page = lazy
                .live_indices()
                .skip(offset)
                .take(limit)
                .map(LazyTags::tag)
                .collect();
            return (lazy.live_count(), page);
        }
        let mut all: Vec<Tag> = self.tags.clone();
        if let Some(lazy) = &self.lazy {
            all.extend(lazy.live_indices().map(LazyTags::tag));
        }
        if let Some(f) = name_filter {
            all.retain(|t| t.name.contains(f));
        }
        match order {
            TagOrder::LastUpdatedDesc => {
                all.sort_by(|a, b| b.pushed.cmp(&a.pushed).then(a.name.cmp(&b.name)));
            }
            TagOrder::LastUpdatedAsc => {
                all.sort_by(|a, b| a.pushed.cmp(&b.pushed).then(a.name.cmp(&b.name)));
            }
            TagOrder::NameAsc => all.sort_by(|a, b| a.name.cmp(&b.name)),
            TagOrder::NameDesc => all.sort_by(|a, b| b.name.cmp(&a.name)),
        }
        let total = all.len();
        let page = all.into_iter().skip(offset).take(limit).collect();
        (total, page)
    }

    pub fn storage_size(&self) -> u64 {
        let stored: u64 = self.tags.iter().map(|t| t.size).sum();
        stored
            + self
                .lazy
                .as_ref()
                .map_or(0, |l| l.live_count() as u64 * 25_000_000)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditEvent {
    pub account: String,
    pub action: String,
    pub name: String,
    pub actor: String,
    pub data: BTreeMap<String, String>,
    pub timestamp: i64,
}

impl AuditEvent {
    pub fn new(
        account: &str,
        action: &str,
        name: &str,
        actor: &str,
        data: &[(&str, &str)],
        timestamp: i64,
    ) -> Self {
        Self {
            account: account.to_string(),
            action: action.to_string(),
            name: name.to_string(),
            actor: actor.to_string(),
            data: data
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect(),
            timestamp,
        }
    }
}

/// Everything the emulator knows.
#[derive(Debug, Clone, Default, Serialize)]
pub struct State {
    pub users: Vec<User>,
    pub orgs: Vec<Org>,
    /// Keyed by `namespace/name`.
    pub repos: BTreeMap<String, Repo>,
    pub pats: Vec<Pat>,
    pub audit: Vec<AuditEvent>,
    #[serde(skip_serializing)]
    pub pending_2fa: HashMap<String, String>,
    pub next_id: u64,
}

pub fn repo_key(ns: &str, name: &str) -> String {
    format!("{ns}/{name}")
}

impl State {
    pub fn alloc_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub fn user(&self, name: &str) -> Option<&User> {
        self.users
            .iter()
            .find(|u| u.username.eq_ignore_ascii_case(name))
    }

    pub fn org(&self, name: &str) -> Option<&Org> {
        self.orgs.iter().find(|o| o.name.eq_ignore_ascii_case(name))
    }

    pub fn org_mut(&mut self, name: &str) -> Option<&mut Org> {
        self.orgs
            .iter_mut()
            .find(|o| o.name.eq_ignore_ascii_case(name))
    }

    pub fn namespace_exists(&self, ns: &str) -> bool {
        self.user(ns).is_some() || self.org(ns).is_some()
    }

    pub fn repo(&self, ns: &str, name: &str) -> Option<&Repo> {
        self.repos.get(&repo_key(ns, name))
    }

    pub fn repo_mut(&mut self, ns: &str, name: &str) -> Option<&mut Repo> {
        self.repos.get_mut(&repo_key(ns, name))
    }

    pub fn orgs_of(&self, username: &str) -> Vec<&Org> {
        self.orgs
            .iter()
            .filter(|o| o.role_of(username).is_some())
            .collect()
    }

    /// Append an audit-log event stamped with the current time.
    pub fn audit(
        &mut self,
        account: &str,
        action: &str,
        name: &str,
        actor: &str,
        data: &[(&str, &str)],
    ) {
        let now = crate::util::now_i64();
        self.audit
            .push(AuditEvent::new(account, action, name, actor, data, now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lazy_tag_names_round_trip() {
        let mut lazy = LazyTags {
            count: 10_000,
            deleted: BTreeSet::new(),
        };
        let mut names = std::collections::HashSet::new();
        for i in 0..lazy.count {
            let name = LazyTags::name(i);
            assert_eq!(lazy.index_of(&name), Some(i), "{name}");
            assert!(names.insert(name));
        }
        for bad in [
            "v10.0.0", "v0.0.10", "v0.100.0", "v0.0", "0.0.1", "v-1.0.0", "v0.00.1", "v0.0.1.2", "",
        ] {
            assert_eq!(lazy.index_of(bad), None, "{bad}");
        }
        lazy.deleted.insert(5);
        assert_eq!(lazy.index_of("v0.0.5"), None);
        assert_eq!(lazy.live_count(), 9_999);
        assert_eq!(lazy.live_indices().nth(5), Some(6));
    }

    #[test]
    fn lazy_tags_are_newest_first() {
        let a = LazyTags::tag(0);
        let b = LazyTags::tag(1);
        assert!(a.pushed > b.pushed);
        assert!(LazyTags::tag(9_999).status() == "inactive");
        assert!(a.status() == "active");
    }
}
