//! Organization access tokens: `/v2/orgs/{org}/access-tokens[/{id}]`.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::{PAT_NOT_ALLOWED, find_org_mut, require_org_owner};
use crate::http::{ApiError, Ctx, HResult, Reply};
use crate::model::{Oat, Org, State};
use crate::pagination::{CountKey, page_params, page_reply};
use crate::util::{now_i64, parse_rfc3339, random_token, random_uuid, rfc3339};

fn oat_json(t: &Oat, with_resources: bool, token: Option<&str>) -> Value {
    let mut v = json!({
        "id": t.id,
        "label": t.label,
        "description": t.description,
        "created_by": t.created_by,
        "is_active": t.is_active,
        "created_at": rfc3339(t.created_at),
        "expires_at": t.expires_at.map(rfc3339),
        "last_used_at": t.last_used_at.map(rfc3339),
    });
    if let Some(m) = v.as_object_mut() {
        if with_resources {
            m.insert("resources".into(), Value::Array(t.resources.clone()));
        }
        if let Some(tok) = token {
            m.insert("token".into(), json!(tok));
        }
    }
    v
}

/// Owners only, and not with a JWT minted from a PAT.
fn authorize(st: &State, ctx: &Ctx, org: &str) -> Result<(), ApiError> {
    if ctx.caller.is_pat() {
        return Err(ApiError::forbidden(PAT_NOT_ALLOWED));
    }
    require_org_owner(st, ctx, org)
}

fn validate_resources(resources: &[Value]) -> Result<(), ApiError> {
    for r in resources {
        let ok = r
            .get("type")
            .and_then(Value::as_str)
            .is_some_and(|t| t == "TYPE_REPO" || t == "TYPE_ORG")
            && r.get("path").and_then(Value::as_str).is_some()
            && r.get("scopes")
                .and_then(Value::as_array)
                .is_some_and(|s| s.iter().all(Value::is_string));
        if !ok {
            return Err(ApiError::field(
                "resources",
                "each resource needs type (TYPE_REPO or TYPE_ORG), path and scopes",
            ));
        }
    }
    Ok(())
}

fn parse_expiry(s: Option<&str>) -> Result<Option<i64>, ApiError> {
    match s.filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => parse_rfc3339(s).map(Some).ok_or_else(|| {
            ApiError::field("expires_at", "expires_at must be an RFC 3339 date-time")
        }),
    }
}

#[derive(Deserialize)]
struct CreateOat {
    label: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    resources: Vec<Value>,
    #[serde(default)]
    expires_at: Option<String>,
}

/// `POST /v2/orgs/{org}/access-tokens`.
pub fn create(st: &mut State, ctx: &Ctx, org: &str) -> HResult {
    authorize(st, ctx, org)?;
    let req: CreateOat = ctx.body_as()?;
    if req.label.trim().is_empty() || req.label.chars().count() > 100 {
        return Err(ApiError::field(
            "label",
            "label must be 1 to 100 characters",
        ));
    }
    validate_resources(&req.resources)?;
    let expires_at = parse_expiry(req.expires_at.as_deref())?;
    let actor = ctx.caller.actor();
    let secret = format!("dckr_oat_{}", random_token(27));
    let tok = Oat {
        id: random_uuid(),
        label: req.label,
        description: req.description.unwrap_or_default(),
        created_by: actor.clone(),
        is_active: true,
        created_at: now_i64(),
        expires_at,
        last_used_at: None,
        resources: req.resources,
        secret: secret.clone(),
    };
    let body = oat_json(&tok, true, Some(&secret));
    let (org_name, label) = {
        let o = find_org_mut(st, org)?;
        let label = tok.label.clone();
        o.oats.push(tok);
        (o.name.clone(), label)
    };
    st.audit(&org_name, "org_access_token.create", &label, &actor, &[]);
    Ok(Reply::created(body))
}

/// `GET /v2/orgs/{org}/access-tokens`.
pub fn list(st: &mut State, ctx: &Ctx, org: &str) -> HResult {
    authorize(st, ctx, org)?;
    let page = page_params(ctx, 10, 100)?;
    let o = find_org_mut(st, org)?;
    let results = o
        .oats
        .iter()
        .skip(page.offset())
        .take(page.size)
        .map(|t| oat_json(t, false, None))
        .collect();
    page_reply(ctx, page, o.oats.len(), results, CountKey::Total)
}

fn find<'a>(o: &'a mut Org, id: &str) -> Result<&'a mut Oat, ApiError> {
    o.oats
        .iter_mut()
        .find(|t| t.id == id)
        .ok_or_else(|| ApiError::not_found("Access token not found"))
}

/// `GET /v2/orgs/{org}/access-tokens/{id}`.
pub fn get(st: &mut State, ctx: &Ctx, org: &str, id: &str) -> HResult {
    authorize(st, ctx, org)?;
    let o = find_org_mut(st, org)?;
    Ok(Reply::ok(oat_json(find(o, id)?, true, None)))
}

#[derive(Deserialize)]
struct UpdateOat {
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    resources: Option<Vec<Value>>,
    #[serde(default)]
    is_active: Option<bool>,
}

/// `PATCH /v2/orgs/{org}/access-tokens/{id}`.
pub fn update(st: &mut State, ctx: &Ctx, org: &str, id: &str) -> HResult {
    authorize(st, ctx, org)?;
    let req: UpdateOat = ctx.body_as()?;
    if let Some(r) = &req.resources {
        validate_resources(r)?;
    }
    if req
        .label
        .as_ref()
        .is_some_and(|l| l.trim().is_empty() || l.chars().count() > 100)
    {
        return Err(ApiError::field(
            "label",
            "label must be 1 to 100 characters",
        ));
    }
    let actor = ctx.caller.actor();
    let o = find_org_mut(st, org)?;
    let org_name = o.name.clone();
    let t = find(o, id)?;
    if let Some(l) = req.label {
        t.label = l;
    }
    if let Some(d) = req.description {
        t.description = d;
    }
    if let Some(r) = req.resources {
        t.resources = r;
    }
    if let Some(a) = req.is_active {
        t.is_active = a;
    }
    let body = oat_json(t, true, None);
    let label = t.label.clone();
    st.audit(&org_name, "org_access_token.update", &label, &actor, &[]);
    Ok(Reply::ok(body))
}

/// `DELETE /v2/orgs/{org}/access-tokens/{id}`.
pub fn delete(st: &mut State, ctx: &Ctx, org: &str, id: &str) -> HResult {
    authorize(st, ctx, org)?;
    let actor = ctx.caller.actor();
    let o = find_org_mut(st, org)?;
    let org_name = o.name.clone();
    let label = find(o, id)?.label.clone();
    o.oats.retain(|t| t.id != id);
    st.audit(&org_name, "org_access_token.delete", &label, &actor, &[]);
    Ok(Reply::no_content())
}
