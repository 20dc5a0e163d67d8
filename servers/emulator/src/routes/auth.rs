//! Login routes: `/v2/auth/token`, `/v2/users/login`, `/v2/users/2fa-login`.

use serde::Deserialize;
use serde_json::json;

use crate::auth::mint;
use crate::http::{ApiError, Ctx, HResult, Reply};
use crate::jwt::CredKind;
use crate::model::State;
use crate::server::Shared;
use crate::util::{now_i64, random_token};

const BAD_CREDENTIALS: &str = "Incorrect authentication credentials";
const ORG_LOGIN: &str = "Cannot log into an organization account";

/// A successful credential check.
struct Login {
    sub: String,
    username: String,
    kind: CredKind,
    token_id: Option<String>,
    scopes: Vec<String>,
}

/// Check a (identifier, secret) pair against users, PATs and OATs.
fn check(
    st: &mut State,
    identifier: &str,
    secret: &str,
    allow_oat: bool,
) -> Result<Login, ApiError> {
    if secret.starts_with("dckr_oat_") || st.org(identifier).is_some() {
        if !allow_oat {
            return Err(ApiError::unauthorized(ORG_LOGIN));
        }
        let org = st
            .org_mut(identifier)
            .ok_or_else(|| ApiError::unauthorized(BAD_CREDENTIALS))?;
        let (org_name, org_uuid) = (org.name.clone(), org.uuid.clone());
        let now = now_i64();
        let tok = org
            .oats
            .iter_mut()
            .find(|t| t.secret == secret && t.is_active && t.expires_at.is_none_or(|e| e > now))
            .ok_or_else(|| ApiError::unauthorized(BAD_CREDENTIALS))?;
        tok.last_used_at = Some(now);
        return Ok(Login {
            sub: org_uuid,
            username: org_name,
            kind: CredKind::Oat,
            token_id: Some(tok.id.clone()),
            scopes: Vec::new(),
        });
    }
    let user = st
        .user(identifier)
        .cloned()
        .ok_or_else(|| ApiError::unauthorized(BAD_CREDENTIALS))?;
    if secret.starts_with("dckr_pat_") {
        let now = now_i64();
        let pat = st
            .pats
            .iter_mut()
            .find(|p| {
                p.secret == secret
                    && p.owner == user.username
                    && p.is_active
                    && p.expires_at.is_none_or(|e| e > now)
            })
            .ok_or_else(|| ApiError::unauthorized(BAD_CREDENTIALS))?;
        pat.last_used = Some(now);
        return Ok(Login {
            sub: user.uuid,
            username: user.username,
            kind: CredKind::Pat,
            token_id: Some(pat.uuid.clone()),
            scopes: pat.scopes.clone(),
        });
    }
    if user.password != secret {
        return Err(ApiError::unauthorized(BAD_CREDENTIALS));
    }
    Ok(Login {
        sub: user.uuid,
        username: user.username,
        kind: CredKind::Password,
        token_id: None,
        scopes: Vec::new(),
    })
}

fn mint_for(shared: &Shared, l: Login) -> String {
    mint(shared, &l.sub, &l.username, l.kind, l.token_id, l.scopes)
}

#[derive(Deserialize)]
struct TokenRequest {
    identifier: String,
    secret: String,
}

/// `POST /v2/auth/token`.
pub fn token(shared: &Shared, st: &mut State, ctx: &Ctx) -> HResult {
    let req: TokenRequest = ctx.body_as()?;
    let login = check(st, &req.identifier, &req.secret, true)?;
    if login.kind == CredKind::Password && st.user(&login.username).is_some_and(|u| u.twofa_enabled)
    {
        return Err(ApiError::unauthorized(
            "Two-factor authentication is enabled on this account: use a personal access token",
        ));
    }
    Ok(Reply::ok(json!({"access_token": mint_for(shared, login)})))
}

#[derive(Deserialize)]
struct LoginRequest {
    username: String,
    password: String,
}

/// `POST /v2/users/login` (deprecated).
pub fn login(shared: &Shared, st: &mut State, ctx: &Ctx) -> HResult {
    let req: LoginRequest = ctx.body_as()?;
    let login = check(st, &req.username, &req.password, false)?;
    if login.kind == CredKind::Password && st.user(&login.username).is_some_and(|u| u.twofa_enabled)
    {
        let pending = random_token(40);
        if st.pending_2fa.len() > 10_000 {
            st.pending_2fa.clear();
        }
        st.pending_2fa.insert(pending.clone(), login.username);
        return Err(ApiError::unauthorized(
            "Require secondary authentication on MFA enabled account",
        )
        .with_extra("login_2fa_token", json!(pending)));
    }
    Ok(Reply::ok(json!({"token": mint_for(shared, login)})))
}

#[derive(Deserialize)]
struct TwoFactorRequest {
    login_2fa_token: String,
    code: String,
}

/// `POST /v2/users/2fa-login`.
pub fn two_factor(shared: &Shared, st: &mut State, ctx: &Ctx) -> HResult {
    let req: TwoFactorRequest = ctx.body_as()?;
    let username = st
        .pending_2fa
        .get(&req.login_2fa_token)
        .cloned()
        .ok_or_else(|| ApiError::unauthorized("Invalid or expired login_2fa_token"))?;
    let user = st
        .user(&username)
        .cloned()
        .ok_or_else(|| ApiError::unauthorized(BAD_CREDENTIALS))?;
    if user.twofa_code.as_deref() != Some(req.code.as_str()) {
        return Err(ApiError::unauthorized(BAD_CREDENTIALS));
    }
    st.pending_2fa.remove(&req.login_2fa_token);
    let token = mint(
        shared,
        &user.uuid,
        &user.username,
        CredKind::Password,
        None,
        Vec::new(),
    );
    Ok(Reply::ok(json!({"token": token})))
}
