//! `/v2/user/` and `/v2/user/orgs/`.

use serde_json::{Value, json};

use crate::auth::require_user;
use crate::http::{ApiError, Ctx, HResult, Reply};
use crate::model::{Org, State, User};
use crate::pagination::{CountKey, paginate};
use crate::util::rfc3339;

pub fn user_json(u: &User) -> Value {
    json!({
        "id": u.uuid,
        "uuid": u.uuid,
        "username": u.username,
        "full_name": u.full_name,
        "location": u.location,
        "company": u.company,
        "profile_url": "",
        "gravatar_email": "",
        "gravatar_url": "",
        "date_joined": rfc3339(u.date_joined),
        "type": "User",
    })
}

/// A user as listed among an organization's or a team's members.
pub fn member_json(u: &User) -> Value {
    json!({
        "id": u.uuid,
        "company": u.company,
        "date_joined": rfc3339(u.date_joined),
        "full_name": u.full_name,
        "gravatar_email": "",
        "gravatar_url": "",
        "location": u.location,
        "profile_url": "",
        "type": "User",
        "username": u.username,
        "email": u.email,
    })
}

pub fn org_json(o: &Org) -> Value {
    json!({
        "id": o.uuid,
        "uuid": o.uuid,
        "orgname": o.name,
        "full_name": o.full_name,
        "location": o.location,
        "company": o.company,
        "profile_url": "",
        "gravatar_url": "",
        "date_joined": rfc3339(o.date_joined),
        "type": "Org",
    })
}

/// `GET /v2/user/`.
pub fn me(st: &State, ctx: &Ctx) -> HResult {
    let name = require_user(ctx)?;
    let u = st
        .user(name)
        .ok_or_else(|| ApiError::not_found("User not found"))?;
    Ok(Reply::ok(user_json(u)))
}

/// `GET /v2/user/orgs/`.
pub fn my_orgs(st: &State, ctx: &Ctx) -> HResult {
    let name = require_user(ctx)?;
    let items: Vec<Value> = st.orgs_of(name).into_iter().map(org_json).collect();
    paginate(ctx, items, 10, CountKey::Count)
}
