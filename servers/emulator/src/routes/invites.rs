//! Invites: list (unpaged `{data}`), delete, resend, bulk.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::{find_org, require_org_owner};
use crate::http::{ApiError, Ctx, HResult, Reply};
use crate::model::{Invite, Role, State};
use crate::util::{now_i64, random_uuid, rfc3339};

fn invite_json(org: &str, i: &Invite) -> Value {
    json!({
        "id": i.id,
        "inviter_username": i.inviter_username,
        "invitee": i.invitee,
        "org": org,
        "team": i.team,
        "role": i.role,
        "created_at": rfc3339(i.created_at),
    })
}

/// `GET /v2/orgs/{org}/invites`.
pub fn list(st: &State, ctx: &Ctx, org: &str) -> HResult {
    require_org_owner(st, ctx, org)?;
    let o = find_org(st, org)?;
    let data: Vec<Value> = o.invites.iter().map(|i| invite_json(&o.name, i)).collect();
    Ok(Reply::ok(json!({ "data": data })))
}

/// The org name holding invite `id`.
fn org_of_invite(st: &State, id: &str) -> Result<String, ApiError> {
    st.orgs
        .iter()
        .find(|o| o.invites.iter().any(|i| i.id == id))
        .map(|o| o.name.clone())
        .ok_or_else(|| ApiError::not_found("Invite not found"))
}

/// `DELETE /v2/invites/{id}`.
pub fn delete(st: &mut State, ctx: &Ctx, id: &str) -> HResult {
    crate::auth::require_user(ctx)?;
    let org = org_of_invite(st, id)?;
    require_org_owner(st, ctx, &org)?;
    let mut invitee = String::new();
    if let Some(o) = st.org_mut(&org) {
        if let Some(i) = o.invites.iter().find(|i| i.id == id) {
            invitee = i.invitee.clone();
        }
        o.invites.retain(|i| i.id != id);
    }
    st.audit(
        &org,
        "org.invite.delete",
        &invitee,
        &ctx.caller.actor(),
        &[],
    );
    Ok(Reply::no_content())
}

/// `PATCH /v2/invites/{id}/resend`.
pub fn resend(st: &mut State, ctx: &Ctx, id: &str) -> HResult {
    crate::auth::require_user(ctx)?;
    let org = org_of_invite(st, id)?;
    require_org_owner(st, ctx, &org)?;
    let invitee = st
        .org(&org)
        .and_then(|o| o.invites.iter().find(|i| i.id == id))
        .map(|i| i.invitee.clone())
        .unwrap_or_default();
    st.audit(
        &org,
        "org.invite.resend",
        &invitee,
        &ctx.caller.actor(),
        &[],
    );
    Ok(Reply::no_content())
}

#[derive(Deserialize)]
struct Bulk {
    org: String,
    #[serde(default)]
    team: Option<String>,
    #[serde(default)]
    role: Option<String>,
    invitees: Vec<String>,
    #[serde(default)]
    dry_run: bool,
}

fn valid_invitee(s: &str) -> bool {
    let s = s.trim();
    if let Some((local, domain)) = s.split_once('@') {
        !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
    } else {
        (2..=255).contains(&s.len())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    }
}

/// `POST /v2/invites/bulk` — 202 `{"invitees": {"invitees": [...]}}` as the spec's schema says.
pub fn bulk(st: &mut State, ctx: &Ctx) -> HResult {
    crate::auth::require_user(ctx)?;
    let req: Bulk = ctx.body_as()?;
    require_org_owner(st, ctx, &req.org)?;
    if req.invitees.is_empty() {
        return Err(ApiError::field("invitees", "invitees must not be empty"));
    }
    if req.invitees.len() > 1000 {
        return Err(ApiError::field(
            "invitees",
            "at most 1000 invitees per request",
        ));
    }
    let role = req.role.clone().unwrap_or_else(|| "member".to_string());
    if Role::parse(&role).is_none() {
        return Err(ApiError::field(
            "role",
            "role must be owner, editor or member",
        ));
    }
    let team = req.team.clone().unwrap_or_default();
    let inviter = ctx.caller.actor();
    let o = st
        .org(&req.org)
        .ok_or_else(|| ApiError::not_found(format!("Organization {} not found", req.org)))?;
    if !team.is_empty() && o.team(&team).is_none() {
        return Err(ApiError::field("team", format!("Team {team} not found")));
    }
    let org_name = o.name.clone();
    let mut results = Vec::new();
    let mut new_invites = Vec::new();
    for invitee in &req.invitees {
        let status = if !valid_invitee(invitee) {
            "invalid_email_or_docker_id"
        } else if o.role_of(invitee).is_some()
            || st
                .user(invitee)
                .is_some_and(|u| o.role_of(&u.username).is_some())
        {
            "existing_org_member"
        } else if o
            .invites
            .iter()
            .chain(new_invites.iter())
            .any(|i: &Invite| i.invitee.eq_ignore_ascii_case(invitee))
        {
            "already_invited"
        } else {
            "invited"
        };
        let mut entry = json!({"invitee": invitee, "status": status});
        if status == "invited" {
            let inv = Invite {
                id: random_uuid(),
                inviter_username: inviter.clone(),
                invitee: invitee.clone(),
                team: team.clone(),
                role: role.clone(),
                created_at: now_i64(),
            };
            if let Some(m) = entry.as_object_mut() {
                m.insert("invite".into(), invite_json(&org_name, &inv));
            }
            new_invites.push(inv);
        }
        results.push(entry);
    }
    if !req.dry_run {
        for inv in &new_invites {
            st.audit(
                &org_name,
                "org.invite.create",
                &inv.invitee,
                &inviter,
                &[("team", &inv.team)],
            );
        }
        if let Some(o) = st.org_mut(&org_name) {
            o.invites.extend(new_invites);
        }
    }
    Ok(Reply::json(202, json!({"invitees": {"invitees": results}})))
}
