//! Teams (groups) and team members: `/v2/orgs/{org}/groups/...`.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::{find_org_mut, org_reader, require_org_owner};
use crate::http::{ApiError, Ctx, HResult, Reply};
use crate::model::{Org, State, Team};
use crate::pagination::{CountKey, paginate};
use crate::routes::user::member_json;
use crate::util::random_uuid;

fn team_json(t: &Team) -> Value {
    json!({
        "id": t.id,
        "uuid": t.uuid,
        "name": t.name,
        "description": t.description,
        "member_count": t.members.len(),
    })
}

fn find<'a>(o: &'a Org, team: &str) -> Result<&'a Team, ApiError> {
    o.team(team)
        .ok_or_else(|| ApiError::not_found(format!("Group {team} not found")))
}

fn find_mut<'a>(o: &'a mut Org, team: &str) -> Result<&'a mut Team, ApiError> {
    o.team_mut(team)
        .ok_or_else(|| ApiError::not_found(format!("Group {team} not found")))
}

fn validate_team_name(name: &str) -> Result<(), ApiError> {
    let ok = (1..=30).contains(&name.chars().count())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
    if ok {
        Ok(())
    } else {
        Err(ApiError::field(
            "name",
            "Team name must be 1 to 30 characters: letters, digits, '-', '_' or '.'",
        ))
    }
}

/// `GET /v2/orgs/{org}/groups`.
pub fn list(st: &State, ctx: &Ctx, org: &str) -> HResult {
    let o = org_reader(st, ctx, org)?;
    let user = ctx.q_nonempty("username");
    let search = ctx.q_nonempty("search").map(str::to_lowercase);
    let items = o
        .teams
        .iter()
        .filter(|t| user.is_none_or(|u| t.members.iter().any(|m| m.eq_ignore_ascii_case(u))))
        .filter(|t| {
            search
                .as_deref()
                .is_none_or(|s| t.name.to_lowercase().contains(s))
        })
        .map(team_json)
        .collect();
    paginate(ctx, items, 10, CountKey::Count)
}

#[derive(Deserialize)]
struct TeamBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

/// `POST /v2/orgs/{org}/groups`.
pub fn create(st: &mut State, ctx: &Ctx, org: &str) -> HResult {
    require_org_owner(st, ctx, org)?;
    let req: TeamBody = ctx.body_as()?;
    let name = req
        .name
        .ok_or_else(|| ApiError::field("name", "This field is required."))?;
    validate_team_name(&name)?;
    let id = st.alloc_id();
    let actor = ctx.caller.actor();
    let o = find_org_mut(st, org)?;
    if o.team(&name).is_some() {
        return Err(ApiError::field(
            "name",
            format!("Group {name} already exists"),
        ));
    }
    let team = Team {
        id,
        uuid: random_uuid(),
        name: name.clone(),
        description: req.description.unwrap_or_default(),
        members: Vec::new(),
    };
    let body = team_json(&team);
    o.teams.push(team);
    let org_name = o.name.clone();
    st.audit(&org_name, "team.create", &name, &actor, &[]);
    Ok(Reply::created(body))
}

/// `GET /v2/orgs/{org}/groups/{team}`.
pub fn get(st: &State, ctx: &Ctx, org: &str, team: &str) -> HResult {
    let o = org_reader(st, ctx, org)?;
    Ok(Reply::ok(team_json(find(o, team)?)))
}

/// `PUT` (name required) or `PATCH` `/v2/orgs/{org}/groups/{team}`.
pub fn update(st: &mut State, ctx: &Ctx, org: &str, team: &str, put: bool) -> HResult {
    require_org_owner(st, ctx, org)?;
    let req: TeamBody = ctx.body_as()?;
    if put && req.name.is_none() {
        return Err(ApiError::field("name", "This field is required."));
    }
    if let Some(n) = &req.name {
        validate_team_name(n)?;
    }
    let actor = ctx.caller.actor();
    let o = find_org_mut(st, org)?;
    find(o, team)?;
    if let Some(n) = &req.name
        && n != team
        && o.team(n).is_some()
    {
        return Err(ApiError::field("name", format!("Group {n} already exists")));
    }
    let t = find_mut(o, team)?;
    if let Some(n) = req.name {
        t.name = n;
    }
    if let Some(d) = req.description {
        t.description = d;
    }
    let body = team_json(t);
    let new_name = t.name.clone();
    let org_name = o.name.clone();
    st.audit(
        &org_name,
        "team.update",
        &new_name,
        &actor,
        &[("previous_name", team)],
    );
    Ok(Reply::ok(body))
}

/// `DELETE /v2/orgs/{org}/groups/{team}`.
pub fn delete(st: &mut State, ctx: &Ctx, org: &str, team: &str) -> HResult {
    require_org_owner(st, ctx, org)?;
    let actor = ctx.caller.actor();
    let o = find_org_mut(st, org)?;
    let id = find(o, team)?.id;
    o.teams.retain(|t| t.name != team);
    let org_name = o.name.clone();
    for r in st.repos.values_mut().filter(|r| r.namespace == org_name) {
        r.groups.retain(|g| g.group_id != id);
    }
    st.audit(&org_name, "team.delete", team, &actor, &[]);
    Ok(Reply::no_content())
}

/// `GET /v2/orgs/{org}/groups/{team}/members`.
pub fn members(st: &State, ctx: &Ctx, org: &str, team: &str) -> HResult {
    let o = org_reader(st, ctx, org)?;
    let t = find(o, team)?;
    let search = ctx.q_nonempty("search").map(str::to_lowercase);
    let items = t
        .members
        .iter()
        .filter_map(|m| st.user(m))
        .filter(|u| {
            search.as_deref().is_none_or(|s| {
                u.username.to_lowercase().contains(s) || u.full_name.to_lowercase().contains(s)
            })
        })
        .map(member_json)
        .collect();
    paginate(ctx, items, 10, CountKey::Count)
}

#[derive(Deserialize)]
struct AddMember {
    member: String,
}

/// `POST /v2/orgs/{org}/groups/{team}/members`.
pub fn add_member(st: &mut State, ctx: &Ctx, org: &str, team: &str) -> HResult {
    require_org_owner(st, ctx, org)?;
    let req: AddMember = ctx.body_as()?;
    let username = st
        .user(&req.member)
        .map(|u| u.username.clone())
        .ok_or_else(|| ApiError::not_found(format!("User {} not found", req.member)))?;
    let actor = ctx.caller.actor();
    let o = find_org_mut(st, org)?;
    if o.role_of(&username).is_none() {
        return Err(ApiError::field(
            "member",
            format!("User {username} is not a member of {}", o.name),
        ));
    }
    let t = find_mut(o, team)?;
    if !t.members.iter().any(|m| m.eq_ignore_ascii_case(&username)) {
        t.members.push(username.clone());
    }
    let org_name = o.name.clone();
    st.audit(
        &org_name,
        "team.member.add",
        team,
        &actor,
        &[("member", &username)],
    );
    Ok(Reply::ok(json!({"member": username, "group": team})))
}

/// `DELETE /v2/orgs/{org}/groups/{team}/members/{username}`.
pub fn remove_member(st: &mut State, ctx: &Ctx, org: &str, team: &str, username: &str) -> HResult {
    require_org_owner(st, ctx, org)?;
    let actor = ctx.caller.actor();
    let o = find_org_mut(st, org)?;
    let t = find_mut(o, team)?;
    let before = t.members.len();
    t.members.retain(|m| !m.eq_ignore_ascii_case(username));
    if t.members.len() == before {
        return Err(ApiError::not_found(format!(
            "User {username} is not in group {team}"
        )));
    }
    let org_name = o.name.clone();
    st.audit(
        &org_name,
        "team.member.remove",
        team,
        &actor,
        &[("member", username)],
    );
    Ok(Reply::no_content())
}
