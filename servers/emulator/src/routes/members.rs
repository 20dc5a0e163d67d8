//! Organization members: list, CSV export, role update, removal.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::{find_org, find_org_mut, org_reader, require_org_owner};
use crate::http::{ApiError, Ctx, HResult, Reply, ReplyBody};
use crate::model::{Org, Role, State};
use crate::pagination::{CountKey, paginate};
use crate::routes::user::member_json;
use crate::util::{merged, rfc3339};

/// One row of the members list (members and, on request, invitees).
struct Row {
    value: Value,
    username: String,
    full_name: String,
    email: String,
    role: Option<Role>,
    invitee: bool,
}

fn member_rows(st: &State, org: &Org) -> Vec<Row> {
    let mut rows: Vec<Row> = org
        .members
        .iter()
        .filter_map(|m| {
            let u = st.user(&m.username)?;
            let groups: Vec<&str> = org
                .teams
                .iter()
                .filter(|t| {
                    t.members
                        .iter()
                        .any(|x| x.eq_ignore_ascii_case(&u.username))
                })
                .map(|t| t.name.as_str())
                .collect();
            let value = merged(
                member_json(u),
                json!({
                    "role": m.role.display(),
                    "groups": groups,
                    "is_guest": false,
                    "primary_email": u.email,
                    "last_logged_in_at": rfc3339(u.last_login),
                    "last_seen_at": rfc3339(u.last_login),
                    "last_desktop_version": "4.37.0",
                }),
            );
            Some(Row {
                value,
                username: u.username.clone(),
                full_name: u.full_name.clone(),
                email: u.email.clone(),
                role: Some(m.role),
                invitee: false,
            })
        })
        .collect();
    rows.sort_by(|a, b| a.username.cmp(&b.username));
    rows
}

fn invitee_rows(org: &Org) -> Vec<Row> {
    org.invites
        .iter()
        .map(|i| Row {
            value: json!({
                "id": i.id,
                "username": i.invitee,
                "email": if i.invitee.contains('@') { i.invitee.clone() } else { String::new() },
                "full_name": "",
                "type": "User",
                "role": "Invitee",
                "groups": if i.team.is_empty() { vec![] } else { vec![i.team.clone()] },
                "is_guest": false,
                "date_joined": rfc3339(i.created_at),
            }),
            username: i.invitee.clone(),
            full_name: String::new(),
            email: i.invitee.clone(),
            role: None,
            invitee: true,
        })
        .collect()
}

/// `GET /v2/orgs/{org}/members` — one Django page (truth fix 13).
pub fn list(st: &State, ctx: &Ctx, org: &str) -> HResult {
    let o = org_reader(st, ctx, org)?;
    let kind = ctx.q_nonempty("type").unwrap_or("all");
    if !matches!(kind, "all" | "member" | "invitee") {
        return Err(ApiError::field(
            "type",
            "type must be all, member or invitee",
        ));
    }
    let role = match ctx.q_nonempty("role") {
        None => None,
        Some(r) => Some(
            Role::parse(r)
                .ok_or_else(|| ApiError::field("role", "role must be owner, editor or member"))?,
        ),
    };
    let with_invites = ctx
        .q_nonempty("invites")
        .is_some_and(|v| v == "true" || v == "1")
        || kind == "invitee";
    let mut rows = Vec::new();
    if kind != "invitee" {
        rows.extend(member_rows(st, o));
    }
    if with_invites && kind != "member" && role.is_none() {
        rows.extend(invitee_rows(o));
    }
    let search = ctx.q_nonempty("search").map(str::to_lowercase);
    let items = rows
        .into_iter()
        .filter(|r| role.is_none_or(|want| r.role == Some(want)))
        .filter(|r| kind != "invitee" || r.invitee)
        .filter(|r| {
            search.as_deref().is_none_or(|s| {
                r.username.to_lowercase().contains(s)
                    || r.full_name.to_lowercase().contains(s)
                    || r.email.to_lowercase().contains(s)
            })
        })
        .map(|r| r.value)
        .collect();
    paginate(ctx, items, 10, CountKey::Count)
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// `GET /v2/orgs/{org}/members/export` — `text/csv`.
pub fn export(st: &State, ctx: &Ctx, org: &str) -> HResult {
    let o = org_reader(st, ctx, org)?;
    let mut out = String::from("Name,Username,Email,Type,Role,Date Joined\n");
    for m in &o.members {
        if let Some(u) = st.user(&m.username) {
            let row = [
                u.full_name.as_str(),
                u.username.as_str(),
                u.email.as_str(),
                "User",
                m.role.as_str(),
                &rfc3339(u.date_joined),
            ]
            .map(csv_field)
            .join(",");
            out.push_str(&row);
            out.push('\n');
        }
    }
    Ok(Reply {
        status: 200,
        body: ReplyBody::Raw {
            content_type: "text/csv; charset=utf-8",
            bytes: out.into_bytes(),
        },
        headers: vec![(
            "content-disposition",
            format!("attachment; filename=\"{}-members.csv\"", o.name),
        )],
    })
}

#[derive(Deserialize)]
struct UpdateRole {
    role: String,
}

fn member_index(o: &Org, username: &str) -> Result<usize, ApiError> {
    o.members
        .iter()
        .position(|m| m.username.eq_ignore_ascii_case(username))
        .ok_or_else(|| {
            ApiError::not_found(format!("User {username} is not a member of {}", o.name))
        })
}

/// `PUT /v2/orgs/{org}/members/{username}`.
pub fn update(st: &mut State, ctx: &Ctx, org: &str, username: &str) -> HResult {
    require_org_owner(st, ctx, org)?;
    let req: UpdateRole = ctx.body_as()?;
    let role = Role::parse(&req.role)
        .ok_or_else(|| ApiError::field("role", "role must be owner, editor or member"))?;
    let o = find_org_mut(st, org)?;
    let idx = member_index(o, username)?;
    let current = o.members.get(idx).map(|m| m.role);
    if current == Some(Role::Owner) && role != Role::Owner && o.owner_count() <= 1 {
        return Err(ApiError::field(
            "role",
            "An organization must keep at least one owner",
        ));
    }
    if let Some(m) = o.members.get_mut(idx) {
        m.role = role;
    }
    let org_name = o.name.clone();
    st.audit(
        &org_name,
        "org.member.role_update",
        username,
        &ctx.caller.actor(),
        &[("role", role.as_str())],
    );
    let o = find_org(st, org)?;
    let row = member_rows(st, o)
        .into_iter()
        .find(|r| r.username.eq_ignore_ascii_case(username))
        .map(|r| r.value)
        .unwrap_or(Value::Null);
    Ok(Reply::ok(row))
}

/// `DELETE /v2/orgs/{org}/members/{username}`.
pub fn remove(st: &mut State, ctx: &Ctx, org: &str, username: &str) -> HResult {
    require_org_owner(st, ctx, org)?;
    let o = find_org_mut(st, org)?;
    let idx = member_index(o, username)?;
    if o.members.get(idx).is_some_and(|m| m.role == Role::Owner) && o.owner_count() <= 1 {
        return Err(ApiError::field("username", "Cannot remove the last owner"));
    }
    o.members.remove(idx);
    for t in &mut o.teams {
        t.members.retain(|m| !m.eq_ignore_ascii_case(username));
    }
    let org_name = o.name.clone();
    st.audit(
        &org_name,
        "org.member.remove",
        username,
        &ctx.caller.actor(),
        &[],
    );
    Ok(Reply::no_content())
}
