//! Credentials: who is calling, minting JWTs, and permission checks.

use crate::http::{ApiError, Ctx};
use crate::jwt::{Claims, CredKind, ISSUER, JwtError};
use crate::model::{Org, Repo, Role, State};
use crate::seed::demo;
use crate::server::Shared;
use crate::util::now_secs;

pub const OAT_NOT_ALLOWED: &str = "organization access token is not allowed";
pub const PAT_NOT_ALLOWED: &str = "token issued from personal access token";
pub const NO_CREDENTIALS: &str = "Authentication credentials were not provided.";

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    Anonymous,
    /// A user, from a password or PAT JWT.
    User {
        username: String,
        kind: CredKind,
        token_id: Option<String>,
        scopes: Vec<String>,
    },
    /// An organization, from an OAT JWT.
    Oat {
        org: String,
        token_id: String,
    },
    /// The SCIM bearer token.
    Scim,
}

impl Caller {
    pub fn username(&self) -> Option<&str> {
        match self {
            Self::User { username, .. } => Some(username),
            _ => None,
        }
    }
    /// The actor name written to the audit log.
    pub fn actor(&self) -> String {
        match self {
            Self::Anonymous => "anonymous".to_string(),
            Self::User { username, .. } => username.clone(),
            Self::Oat { org, .. } => format!("{org} (organization access token)"),
            Self::Scim => "scim".to_string(),
        }
    }
    pub fn is_pat(&self) -> bool {
        matches!(
            self,
            Self::User {
                kind: CredKind::Pat,
                ..
            }
        )
    }
}

/// Result of looking at the Authorization header.
#[derive(Debug, Clone)]
pub enum Credential {
    Valid(Caller),
    /// A bearer was sent but is not acceptable (detail for the 401).
    Invalid(&'static str),
}

impl Credential {
    /// The credential kind recorded in the request log.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Valid(Caller::Anonymous) => "none",
            Self::Valid(Caller::User {
                kind: CredKind::Pat,
                ..
            }) => "jwt-pat",
            Self::Valid(Caller::User { .. }) => "jwt-user",
            Self::Valid(Caller::Oat { .. }) => "jwt-oat",
            Self::Valid(Caller::Scim) => "scim",
            Self::Invalid(_) => "invalid",
        }
    }
    /// The rate-limit identity, when the caller is known.
    pub fn identity(&self) -> Option<String> {
        match self {
            Self::Valid(Caller::User { username, .. }) => Some(format!("user:{username}")),
            Self::Valid(Caller::Oat { org, .. }) => Some(format!("org:{org}")),
            Self::Valid(Caller::Scim) => Some("scim".to_string()),
            _ => None,
        }
    }
}

/// Resolve an `Authorization` header value.
pub fn resolve(shared: &Shared, header: Option<&str>) -> Credential {
    let Some(h) = header.map(str::trim).filter(|h| !h.is_empty()) else {
        return Credential::Valid(Caller::Anonymous);
    };
    let token = match h.split_once(' ') {
        Some((scheme, t))
            if scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("jwt") =>
        {
            t.trim()
        }
        _ => return Credential::Invalid("Invalid authorization header."),
    };
    if token == demo::SCIM_TOKEN {
        return Credential::Valid(Caller::Scim);
    }
    let claims = match shared.signer.verify(token) {
        Ok(c) => c,
        Err(JwtError::Expired) => return Credential::Invalid("Token has expired."),
        Err(_) => return Credential::Invalid("Invalid token."),
    };
    if claims.jti < shared.min_valid_jti() {
        return Credential::Invalid("Token has expired.");
    }
    let state = shared.lock_state();
    match claims.cred {
        CredKind::Oat => {
            let Some(tid) = claims.token_id else {
                return Credential::Invalid("Invalid token.");
            };
            let active = state
                .org(&claims.username)
                .and_then(|o| o.oats.iter().find(|t| t.id == tid))
                .is_some_and(|t| t.is_active);
            if !active {
                return Credential::Invalid("Token has been revoked.");
            }
            Credential::Valid(Caller::Oat {
                org: claims.username,
                token_id: tid,
            })
        }
        kind => {
            if state.user(&claims.username).is_none() {
                return Credential::Invalid("Invalid token.");
            }
            if let Some(tid) = &claims.token_id {
                let active = state.pats.iter().any(|p| &p.uuid == tid && p.is_active);
                if !active {
                    return Credential::Invalid("Token has been revoked.");
                }
            }
            Credential::Valid(Caller::User {
                username: claims.username,
                kind,
                token_id: claims.token_id,
                scopes: claims.scope,
            })
        }
    }
}

/// Mint a JWT for a resolved login.
pub fn mint(
    shared: &Shared,
    sub: &str,
    username: &str,
    cred: CredKind,
    token_id: Option<String>,
    scope: Vec<String>,
) -> String {
    let iat = now_secs();
    let claims = Claims {
        sub: sub.to_string(),
        username: username.to_string(),
        iat,
        exp: iat.saturating_add(shared.token_ttl.as_secs().max(1)),
        iss: ISSUER.to_string(),
        jti: shared.next_jti(),
        cred,
        token_id,
        scope,
    };
    shared.signer.sign(&claims)
}

/// 401 unless someone is authenticated.
pub fn require_auth(ctx: &Ctx) -> Result<(), ApiError> {
    match ctx.caller {
        Caller::Anonymous => Err(ApiError::unauthorized(NO_CREDENTIALS)),
        _ => Ok(()),
    }
}

/// The calling user (password or PAT JWT); OATs get 403, others 401.
pub fn require_user(ctx: &Ctx) -> Result<&str, ApiError> {
    match &ctx.caller {
        Caller::User { username, .. } => Ok(username),
        Caller::Oat { .. } => Err(ApiError::forbidden(OAT_NOT_ALLOWED)),
        Caller::Scim => Err(ApiError::unauthorized(
            "SCIM token is not valid for this route.",
        )),
        Caller::Anonymous => Err(ApiError::unauthorized(NO_CREDENTIALS)),
    }
}

/// What a caller may do with a repository or namespace.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Access {
    pub read: bool,
    pub write: bool,
    pub admin: bool,
}

impl Access {
    const NONE: Self = Self {
        read: false,
        write: false,
        admin: false,
    };
    const READ: Self = Self {
        read: true,
        write: false,
        admin: false,
    };
    const WRITE: Self = Self {
        read: true,
        write: true,
        admin: false,
    };
    const ADMIN: Self = Self {
        read: true,
        write: true,
        admin: true,
    };

    fn from_permission(p: &str) -> Self {
        match p {
            "admin" => Self::ADMIN,
            "write" => Self::WRITE,
            "read" => Self::READ,
            _ => Self::NONE,
        }
    }

    fn max(self, o: Self) -> Self {
        Self {
            read: self.read || o.read,
            write: self.write || o.write,
            admin: self.admin || o.admin,
        }
    }

    fn cap_by_scopes(self, scopes: &[String]) -> Self {
        if scopes.is_empty() {
            return self;
        }
        let has = |s: &str| scopes.iter().any(|x| x == s);
        // `repo:public_read` (or no repo scope) reads public repositories only, which
        // `repo_access` grants to everyone anyway.
        let cap = if has("repo:admin") {
            Self::ADMIN
        } else if has("repo:write") {
            Self::WRITE
        } else if has("repo:read") {
            Self::READ
        } else {
            Self::NONE
        };
        Self {
            read: self.read && cap.read,
            write: self.write && cap.write,
            admin: self.admin && cap.admin,
        }
    }
}

/// Access to a namespace (its repositories in general).
pub fn namespace_access(state: &State, caller: &Caller, ns: &str) -> Access {
    match caller {
        Caller::User {
            username, scopes, ..
        } => {
            let base = if username.eq_ignore_ascii_case(ns) {
                Access::ADMIN
            } else {
                match state.org(ns).and_then(|o| o.role_of(username)) {
                    Some(Role::Owner) => Access::ADMIN,
                    Some(Role::Editor) => Access::WRITE,
                    Some(Role::Member) => Access::READ,
                    None => Access::NONE,
                }
            };
            base.cap_by_scopes(scopes)
        }
        Caller::Oat { org, .. } if org.eq_ignore_ascii_case(ns) => Access::WRITE,
        _ => Access::NONE,
    }
}

/// Access to one repository, including team permissions and public read.
pub fn repo_access(state: &State, caller: &Caller, repo: &Repo) -> Access {
    let mut access = namespace_access(state, caller, &repo.namespace);
    if let (Some(user), Some(org)) = (caller.username(), state.org(&repo.namespace)) {
        for g in &repo.groups {
            if let Some(team) = org.teams.iter().find(|t| t.id == g.group_id)
                && team.members.iter().any(|m| m.eq_ignore_ascii_case(user))
            {
                let mut team_access = Access::from_permission(&g.permission);
                if let Caller::User { scopes, .. } = caller {
                    team_access = team_access.cap_by_scopes(scopes);
                }
                access = access.max(team_access);
            }
        }
    }
    if !repo.is_private {
        access.read = true;
    }
    access
}

/// Look up a repository the caller may read (401 anonymous / 404 otherwise when hidden).
pub fn readable_repo<'a>(
    state: &'a State,
    ctx: &Ctx,
    ns: &str,
    name: &str,
) -> Result<&'a Repo, ApiError> {
    let repo = state
        .repo(ns, name)
        .ok_or_else(|| ApiError::not_found("Object not found"))?;
    if repo_access(state, &ctx.caller, repo).read {
        return Ok(repo);
    }
    match ctx.caller {
        Caller::Anonymous => Err(ApiError::unauthorized(NO_CREDENTIALS)),
        _ => Err(ApiError::forbidden(
            "You do not have permission to access this repository.",
        )),
    }
}

/// Require write (or admin) access to a repository.
pub fn check_repo_write(
    state: &State,
    ctx: &Ctx,
    repo: &Repo,
    admin: bool,
) -> Result<(), ApiError> {
    require_auth(ctx)?;
    let a = repo_access(state, &ctx.caller, repo);
    if (admin && a.admin) || (!admin && a.write) {
        return Ok(());
    }
    if !a.read {
        return Err(ApiError::not_found("Object not found"));
    }
    Err(ApiError::forbidden(
        "You do not have permission to modify this repository.",
    ))
}

/// The org named `org`, or 404.
pub fn find_org<'a>(state: &'a State, org: &str) -> Result<&'a Org, ApiError> {
    state
        .org(org)
        .ok_or_else(|| ApiError::not_found(format!("Organization {org} not found")))
}

/// The org named `org` for changing, or 404.
pub fn find_org_mut<'a>(state: &'a mut State, org: &str) -> Result<&'a mut Org, ApiError> {
    state
        .org_mut(org)
        .ok_or_else(|| ApiError::not_found(format!("Organization {org} not found")))
}

/// The org, if the caller may read its membership data (members, or the org's OAT).
pub fn org_reader<'a>(state: &'a State, ctx: &Ctx, org: &str) -> Result<&'a Org, ApiError> {
    require_auth(ctx)?;
    let o = find_org(state, org)?;
    let ok = match &ctx.caller {
        Caller::User { username, .. } => o.role_of(username).is_some(),
        Caller::Oat { org: tok_org, .. } => tok_org.eq_ignore_ascii_case(&o.name),
        Caller::Scim => false,
        Caller::Anonymous => false,
    };
    if ok {
        Ok(o)
    } else {
        Err(ApiError::forbidden(
            "You are not a member of this organization.",
        ))
    }
}

/// Require an owner of `org` (users only; OATs get 403).
pub fn require_org_owner(state: &State, ctx: &Ctx, org: &str) -> Result<(), ApiError> {
    let user = require_user(ctx)?;
    let o = find_org(state, org)?;
    match o.role_of(user) {
        Some(Role::Owner) => Ok(()),
        Some(_) => Err(ApiError::forbidden("Only organization owners can do this.")),
        None => Err(ApiError::forbidden(
            "You are not a member of this organization.",
        )),
    }
}
