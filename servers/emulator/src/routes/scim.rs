//! SCIM 2.0 under `/v2/scim/2.0/` (lists use the RFC 7644 key `Resources`).

use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::http::{ApiError, Ctx, HResult, Reply};
use crate::model::{Role, ScimUser, State};
use crate::seed::demo;
use crate::util::{now_i64, random_uuid, rfc3339};

const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// The org whose SCIM endpoint is being used: the SCIM token's org, or one the JWT user owns.
pub fn authorize(st: &State, ctx: &Ctx) -> Result<String, ApiError> {
    match &ctx.caller {
        Caller::Scim => Ok(demo::ORG.to_string()),
        Caller::User { username, .. } => st
            .orgs
            .iter()
            .find(|o| o.role_of(username) == Some(Role::Owner))
            .map(|o| o.name.clone())
            .ok_or_else(|| {
                ApiError::forbidden("SCIM requires an organization owner or the SCIM token")
            }),
        Caller::Oat { .. } => Err(ApiError::forbidden(crate::auth::OAT_NOT_ALLOWED)),
        Caller::Anonymous => Err(ApiError::unauthorized(crate::auth::NO_CREDENTIALS)),
    }
}

fn user_json(ctx: &Ctx, u: &ScimUser) -> Value {
    json!({
        "schemas": [USER_SCHEMA],
        "id": u.id,
        "userName": u.user_name,
        "name": {"givenName": u.given_name, "familyName": u.family_name},
        "displayName": format!("{} {}", u.given_name, u.family_name).trim().to_string(),
        "active": u.active,
        "emails": [{"value": u.user_name, "display": u.user_name, "primary": true}],
        "groups": [],
        "meta": {
            "resourceType": "User",
            "location": format!("{}/v2/scim/2.0/Users/{}", ctx.base_url, u.id),
            "created": rfc3339(u.created),
            "lastModified": rfc3339(u.last_modified),
        },
    })
}

fn user_resource_type(ctx: &Ctx) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "schema": USER_SCHEMA,
        "meta": {"resourceType": "ResourceType", "location": format!("{}/v2/scim/2.0/ResourceTypes/User", ctx.base_url)},
    })
}

fn attr(name: &str, ty: &str, required: bool) -> Value {
    json!({
        "name": name, "type": ty, "multiValued": false, "required": required,
        "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
    })
}

fn user_schema() -> Value {
    let mut name = attr("name", "complex", false);
    if let Some(m) = name.as_object_mut() {
        m.insert(
            "subAttributes".into(),
            json!([
                attr("givenName", "string", false),
                attr("familyName", "string", false)
            ]),
        );
    }
    let mut emails = attr("emails", "complex", false);
    if let Some(m) = emails.as_object_mut() {
        m.insert("multiValued".into(), json!(true));
        m.insert(
            "subAttributes".into(),
            json!([
                attr("value", "string", false),
                attr("display", "string", false),
                attr("primary", "boolean", false)
            ]),
        );
    }
    let mut user_name = attr("userName", "string", true);
    if let Some(m) = user_name.as_object_mut() {
        m.insert("uniqueness".into(), json!("server"));
    }
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": USER_SCHEMA,
        "name": "User",
        "description": "User Account",
        "attributes": [user_name, name, attr("displayName", "string", false), attr("active", "boolean", false), emails],
    })
}

/// `GET /ServiceProviderConfig` (`authenticationSchemes` is an object, as the spec says).
pub fn service_provider_config(ctx: &Ctx) -> HResult {
    Ok(Reply::scim(
        200,
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "documentationUri": format!("{}/docs", ctx.base_url),
            "patch": {"supported": false},
            "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": true, "maxResults": 200},
            "changePassword": {"supported": false},
            "sort": {"supported": true},
            "etag": {"supported": false},
            "authenticationSchemes": {"name": "OAuth Bearer Token", "specUri": "https://www.rfc-editor.org/info/rfc6750", "type": "oauthbearertoken"},
        }),
    ))
}

fn list(resources: Vec<Value>) -> Value {
    json!({"schemas": [LIST_SCHEMA], "totalResults": resources.len(), "startIndex": 1, "itemsPerPage": resources.len(), "Resources": resources})
}

/// `GET /ResourceTypes`.
pub fn resource_types(ctx: &Ctx) -> HResult {
    Ok(Reply::scim(200, list(vec![user_resource_type(ctx)])))
}

/// `GET /ResourceTypes/{name}`.
pub fn resource_type(ctx: &Ctx, name: &str) -> HResult {
    if name == "User" {
        Ok(Reply::scim(200, user_resource_type(ctx)))
    } else {
        Err(ApiError::not_found(format!(
            "Resource type {name} not found"
        )))
    }
}

/// `GET /Schemas`.
pub fn schemas() -> HResult {
    Ok(Reply::scim(200, list(vec![user_schema()])))
}

/// `GET /Schemas/{id}`.
pub fn schema(id: &str) -> HResult {
    if id == USER_SCHEMA {
        Ok(Reply::scim(200, user_schema()))
    } else {
        Err(ApiError::not_found(format!("Schema {id} not found")))
    }
}

fn int_param(ctx: &Ctx, key: &str, default: usize, max: usize) -> Result<usize, ApiError> {
    let Some(raw) = ctx.q_nonempty(key) else {
        return Ok(default);
    };
    let n: usize = raw.parse().map_err(|_| {
        ApiError::bad_request(format!("{key} must be a positive integer"))
            .with_scim_type("invalidValue")
    })?;
    if n < 1 || n > max {
        return Err(
            ApiError::bad_request(format!("{key} must be between 1 and {max}"))
                .with_scim_type("invalidValue"),
        );
    }
    Ok(n)
}

/// Parse the supported filter: `<attr> eq "<value>"` on userName, id or active.
fn parse_filter(f: &str) -> Result<(String, String), ApiError> {
    let bad = || {
        ApiError::bad_request(format!("Unsupported filter: {f}")).with_scim_type("invalidFilter")
    };
    let mut parts = f.trim().splitn(3, ' ');
    let (Some(attr), Some(op), Some(value)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    if !op.eq_ignore_ascii_case("eq")
        || !matches!(
            attr,
            "userName" | "id" | "active" | "emails.value" | "emails"
        )
    {
        return Err(bad());
    }
    Ok((attr.to_string(), value.trim().trim_matches('"').to_string()))
}

fn org_users<'a>(st: &'a State, org: &str) -> Result<&'a Vec<ScimUser>, ApiError> {
    st.org(org)
        .map(|o| &o.scim_users)
        .ok_or_else(|| ApiError::not_found("Organization not found"))
}

/// `GET /Users` — `startIndex` (1-based), `count` (≤ 200), `filter`, `sortBy`, `sortOrder`.
pub fn list_users(st: &State, ctx: &Ctx, org: &str) -> HResult {
    let start = int_param(ctx, "startIndex", 1, usize::MAX)?;
    let count = int_param(ctx, "count", 100, 200)?;
    let mut users: Vec<&ScimUser> = org_users(st, org)?.iter().collect();
    if let Some(f) = ctx.q_nonempty("filter") {
        let (attr, value) = parse_filter(f)?;
        users.retain(|u| match attr.as_str() {
            "id" => u.id == value,
            "active" => u.active.to_string() == value,
            _ => u.user_name.eq_ignore_ascii_case(&value),
        });
    }
    match ctx.q_nonempty("sortBy") {
        None => {}
        Some("userName" | "emails" | "emails.value") => {
            users.sort_by(|a, b| a.user_name.cmp(&b.user_name))
        }
        Some("id") => users.sort_by(|a, b| a.id.cmp(&b.id)),
        Some("name.familyName") => users.sort_by(|a, b| a.family_name.cmp(&b.family_name)),
        Some(other) => {
            return Err(
                ApiError::bad_request(format!("Unsupported sortBy: {other}"))
                    .with_scim_type("invalidValue"),
            );
        }
    }
    match ctx.q_nonempty("sortOrder") {
        None | Some("ascending") => {}
        Some("descending") => users.reverse(),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "sortOrder must be ascending or descending, not {other}"
            ))
            .with_scim_type("invalidValue"));
        }
    }
    let total = users.len();
    let page: Vec<Value> = users
        .into_iter()
        .skip(start - 1)
        .take(count)
        .map(|u| user_json(ctx, u))
        .collect();
    Ok(Reply::scim(
        200,
        json!({
            "schemas": [LIST_SCHEMA],
            "totalResults": total,
            "startIndex": start,
            "itemsPerPage": page.len(),
            "Resources": page,
        }),
    ))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Name {
    #[serde(default)]
    given_name: Option<String>,
    #[serde(default)]
    family_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateUser {
    schemas: Vec<String>,
    user_name: String,
    #[serde(default)]
    name: Option<Name>,
}

fn check_schemas(schemas: &[String]) -> Result<(), ApiError> {
    if schemas.iter().any(|s| s == USER_SCHEMA) {
        Ok(())
    } else {
        Err(
            ApiError::bad_request(format!("schemas must include {USER_SCHEMA}"))
                .with_scim_type("invalidValue"),
        )
    }
}

/// `POST /Users`.
pub fn create_user(st: &mut State, ctx: &Ctx, org: &str) -> HResult {
    let req: CreateUser = ctx.body_as()?;
    check_schemas(&req.schemas)?;
    let user_name = req.user_name.trim().to_string();
    if user_name.is_empty() || user_name.len() > 255 {
        return Err(
            ApiError::bad_request("userName must be 1 to 255 characters")
                .with_scim_type("invalidValue"),
        );
    }
    if org_users(st, org)?
        .iter()
        .any(|u| u.user_name.eq_ignore_ascii_case(&user_name))
    {
        return Err(
            ApiError::conflict(format!("User {user_name} already exists"))
                .with_scim_type("uniqueness"),
        );
    }
    let name = req.name.unwrap_or_default();
    let now = now_i64();
    let user = ScimUser {
        id: random_uuid(),
        user_name: user_name.clone(),
        given_name: name.given_name.unwrap_or_default(),
        family_name: name.family_name.unwrap_or_default(),
        active: true,
        created: now,
        last_modified: now,
    };
    let body = user_json(ctx, &user);
    if let Some(o) = st.org_mut(org) {
        o.scim_users.push(user);
    }
    st.audit(
        org,
        "scim.user.create",
        &user_name,
        &ctx.caller.actor(),
        &[],
    );
    Ok(Reply::scim(201, body))
}

/// `GET /Users/{id}`.
pub fn get_user(st: &State, ctx: &Ctx, org: &str, id: &str) -> HResult {
    let u = org_users(st, org)?
        .iter()
        .find(|u| u.id == id)
        .ok_or_else(|| ApiError::not_found(format!("User {id} not found")))?;
    Ok(Reply::scim(200, user_json(ctx, u)))
}

#[derive(Deserialize)]
struct UpdateUser {
    schemas: Vec<String>,
    #[serde(default)]
    name: Option<Name>,
    #[serde(default)]
    enabled: Option<bool>,
}

/// `PUT /Users/{id}` — omitting `enabled` deactivates the user, as the spec's default says.
pub fn update_user(st: &mut State, ctx: &Ctx, org: &str, id: &str) -> HResult {
    let req: UpdateUser = ctx.body_as()?;
    check_schemas(&req.schemas)?;
    let o = st
        .org_mut(org)
        .ok_or_else(|| ApiError::not_found("Organization not found"))?;
    let u = o
        .scim_users
        .iter_mut()
        .find(|u| u.id == id)
        .ok_or_else(|| ApiError::not_found(format!("User {id} not found")))?;
    if let Some(n) = req.name {
        if let Some(g) = n.given_name {
            u.given_name = g;
        }
        if let Some(f) = n.family_name {
            u.family_name = f;
        }
    }
    u.active = req.enabled.unwrap_or(false);
    u.last_modified = now_i64();
    let body = user_json(ctx, u);
    let (user_name, active) = (u.user_name.clone(), u.active.to_string());
    st.audit(
        org,
        "scim.user.update",
        &user_name,
        &ctx.caller.actor(),
        &[("active", &active)],
    );
    Ok(Reply::scim(200, body))
}
