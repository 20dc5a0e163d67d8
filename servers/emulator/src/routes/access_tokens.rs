//! Personal access tokens: `/v2/access-tokens[/{uuid}]`.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::{PAT_NOT_ALLOWED, require_user};
use crate::http::{ApiError, Ctx, HResult, Reply};
use crate::model::{Pat, State};
use crate::pagination::{CountKey, django_page, page_params};
use crate::util::{now_i64, parse_rfc3339, random_token, random_uuid, rfc3339};

const SCOPES: &[&str] = &["repo:admin", "repo:write", "repo:read", "repo:public_read"];

fn pat_json(p: &Pat, token: &str) -> Value {
    let mut v = json!({
        "uuid": p.uuid,
        "client_id": "HUB",
        "creator_ip": "127.0.0.1",
        "creator_ua": "dockerhub-emulator",
        "created_at": rfc3339(p.created_at),
        "last_used": p.last_used.map(rfc3339),
        "generated_by": "manual",
        "is_active": p.is_active,
        "token": token,
        "token_label": p.label,
        "scopes": p.scopes,
    });
    if let (Some(e), Some(m)) = (p.expires_at, v.as_object_mut()) {
        m.insert("expires_at".into(), json!(rfc3339(e)));
    }
    v
}

fn validate_label(label: &str) -> Result<(), ApiError> {
    let n = label.chars().count();
    if n == 0 || n > 100 {
        return Err(ApiError::field(
            "token_label",
            "token_label must be 1 to 100 characters",
        ));
    }
    Ok(())
}

#[derive(Deserialize)]
struct CreatePat {
    token_label: String,
    scopes: Vec<String>,
    #[serde(default)]
    expires_at: Option<String>,
}

/// `POST /v2/access-tokens`.
pub fn create(st: &mut State, ctx: &Ctx) -> HResult {
    let user = require_user(ctx)?.to_string();
    if ctx.caller.is_pat() {
        return Err(ApiError::forbidden(PAT_NOT_ALLOWED));
    }
    let req: CreatePat = ctx.body_as()?;
    validate_label(&req.token_label)?;
    if req.scopes.is_empty() {
        return Err(ApiError::field("scopes", "At least one scope is required"));
    }
    if let Some(bad) = req.scopes.iter().find(|s| !SCOPES.contains(&s.as_str())) {
        return Err(ApiError::field("scopes", format!("Invalid scope: {bad}")));
    }
    let expires_at = match req.expires_at.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(parse_rfc3339(s).ok_or_else(|| {
            ApiError::field("expires_at", "expires_at must be an RFC 3339 date-time")
        })?),
    };
    let secret = format!("dckr_pat_{}", random_token(27));
    let pat = Pat {
        uuid: random_uuid(),
        owner: user.clone(),
        label: req.token_label,
        scopes: req.scopes,
        is_active: true,
        created_at: now_i64(),
        last_used: None,
        expires_at,
        secret: secret.clone(),
    };
    let body = pat_json(&pat, &secret);
    st.audit(
        &user,
        "access_token.create",
        &pat.label,
        &user,
        &[("uuid", &pat.uuid)],
    );
    st.pats.push(pat);
    Ok(Reply::created(body))
}

/// `GET /v2/access-tokens`.
pub fn list(st: &State, ctx: &Ctx) -> HResult {
    let user = require_user(ctx)?;
    let page = page_params(ctx, 10, 100)?;
    let mine: Vec<&Pat> = st.pats.iter().filter(|p| p.owner == user).collect();
    let active = mine.iter().filter(|p| p.is_active).count();
    let results = mine
        .iter()
        .skip(page.offset())
        .take(page.size)
        .map(|p| pat_json(p, ""))
        .collect();
    let mut body = django_page(ctx, page, mine.len(), results, CountKey::Count)?;
    body.insert("active_count".into(), json!(active));
    Ok(Reply::ok(Value::Object(body)))
}

fn find<'a>(st: &'a mut State, user: &str, id: &str) -> Result<&'a mut Pat, ApiError> {
    st.pats
        .iter_mut()
        .find(|p| p.uuid == id && p.owner == user)
        .ok_or_else(|| ApiError::not_found("Access token not found"))
}

/// `GET /v2/access-tokens/{uuid}`.
pub fn get(st: &mut State, ctx: &Ctx, id: &str) -> HResult {
    let user = require_user(ctx)?;
    Ok(Reply::ok(pat_json(find(st, user, id)?, "")))
}

#[derive(Deserialize)]
struct PatchPat {
    #[serde(default)]
    token_label: Option<String>,
    #[serde(default)]
    is_active: Option<bool>,
}

/// `PATCH /v2/access-tokens/{uuid}`.
pub fn update(st: &mut State, ctx: &Ctx, id: &str) -> HResult {
    let user = require_user(ctx)?.to_string();
    let req: PatchPat = ctx.body_as()?;
    if let Some(l) = &req.token_label {
        validate_label(l)?;
    }
    let pat = find(st, &user, id)?;
    if let Some(l) = req.token_label {
        pat.label = l;
    }
    if let Some(a) = req.is_active {
        pat.is_active = a;
    }
    let body = pat_json(pat, "");
    let label = pat.label.clone();
    st.audit(&user, "access_token.update", &label, &user, &[("uuid", id)]);
    Ok(Reply::ok(body))
}

/// `DELETE /v2/access-tokens/{uuid}`.
pub fn delete(st: &mut State, ctx: &Ctx, id: &str) -> HResult {
    let user = require_user(ctx)?.to_string();
    let label = find(st, &user, id)?.label.clone();
    st.pats.retain(|p| !(p.uuid == id && p.owner == user));
    st.audit(&user, "access_token.delete", &label, &user, &[("uuid", id)]);
    Ok(Reply::no_content())
}
