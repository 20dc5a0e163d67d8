//! Audit logs: `/v2/auditlogs/{account}[/actions]`.

use serde_json::{Map, Value, json};

use crate::auth::{Caller, require_org_owner, require_user};
use crate::http::{ApiError, Ctx, HResult, Reply};
use crate::model::{AuditEvent, State};
use crate::pagination::page_params;
use crate::util::{parse_rfc3339, rfc3339};

/// An action group: key, label, and its `(action, label)` pairs.
type ActionGroup = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// Action groups and their actions, as listed by `/actions`.
const ACTIONS: &[ActionGroup] = &[
    (
        "repo",
        "Repository",
        &[
            ("repo.create", "Repository created"),
            ("repo.update", "Repository updated"),
            ("repo.delete", "Repository deleted"),
            ("repo.privacy", "Repository privacy changed"),
            ("repo.tag.push", "Tag pushed"),
            ("repo.tag.delete", "Tag deleted"),
            ("repo.immutable_tags.update", "Immutable tags updated"),
            ("repo.group.add", "Team permission added"),
            ("repo.group.update", "Team permission updated"),
            ("repo.group.remove", "Team permission removed"),
        ],
    ),
    (
        "org",
        "Organization",
        &[
            ("org.member.add", "Member added"),
            ("org.member.remove", "Member removed"),
            ("org.member.role_update", "Member role changed"),
            ("org.invite.create", "Invite created"),
            ("org.invite.delete", "Invite deleted"),
            ("org.invite.resend", "Invite resent"),
            ("org.settings.update", "Settings updated"),
        ],
    ),
    (
        "team",
        "Team",
        &[
            ("team.create", "Team created"),
            ("team.update", "Team updated"),
            ("team.delete", "Team deleted"),
            ("team.member.add", "Team member added"),
            ("team.member.remove", "Team member removed"),
        ],
    ),
    (
        "access_token",
        "Personal access token",
        &[
            ("access_token.create", "Personal access token created"),
            ("access_token.update", "Personal access token updated"),
            ("access_token.delete", "Personal access token deleted"),
        ],
    ),
    (
        "org_access_token",
        "Organization access token",
        &[
            (
                "org_access_token.create",
                "Organization access token created",
            ),
            (
                "org_access_token.update",
                "Organization access token updated",
            ),
            (
                "org_access_token.delete",
                "Organization access token deleted",
            ),
        ],
    ),
    (
        "scim",
        "SCIM",
        &[
            ("scim.user.create", "SCIM user provisioned"),
            ("scim.user.update", "SCIM user updated"),
        ],
    ),
];

fn description(action: &str) -> &'static str {
    ACTIONS
        .iter()
        .flat_map(|(_, _, list)| list.iter())
        .find(|(name, _)| *name == action)
        .map_or("", |(_, label)| label)
}

/// Users may read their own account; org owners their org.
fn authorize(st: &State, ctx: &Ctx, account: &str) -> Result<(), ApiError> {
    if let Caller::Oat { .. } = ctx.caller {
        return Err(ApiError::forbidden(crate::auth::OAT_NOT_ALLOWED));
    }
    let user = require_user(ctx)?;
    if user.eq_ignore_ascii_case(account) {
        return Ok(());
    }
    if st.org(account).is_some() {
        return require_org_owner(st, ctx, account);
    }
    Err(ApiError::not_found(format!("Account {account} not found")))
}

fn event_json(e: &AuditEvent) -> Value {
    let data: Map<String, Value> = e.data.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    json!({
        "account": e.account,
        "action": e.action,
        "name": e.name,
        "actor": e.actor,
        "data": data,
        "timestamp": rfc3339(e.timestamp),
        "action_description": description(&e.action),
    })
}

fn time_param(ctx: &Ctx, key: &str) -> Result<Option<i64>, ApiError> {
    match ctx.q_nonempty(key) {
        None => Ok(None),
        Some(s) => parse_rfc3339(s)
            .map(Some)
            .ok_or_else(|| ApiError::field(key, format!("{key} must be an RFC 3339 date-time"))),
    }
}

/// `GET /v2/auditlogs/{account}` — `{logs}` only, newest first, no links.
pub fn logs(st: &State, ctx: &Ctx, account: &str) -> HResult {
    authorize(st, ctx, account)?;
    let page = page_params(ctx, 25, 100)?;
    let (from, to) = (time_param(ctx, "from")?, time_param(ctx, "to")?);
    let action = ctx.q_nonempty("action");
    let name = ctx.q_nonempty("name");
    let actor = ctx.q_nonempty("actor");
    let logs: Vec<Value> = st
        .audit
        .iter()
        .rev()
        .filter(|e| e.account.eq_ignore_ascii_case(account))
        .filter(|e| action.is_none_or(|a| e.action == a || e.action.starts_with(&format!("{a}."))))
        .filter(|e| name.is_none_or(|n| e.name.contains(n)))
        .filter(|e| actor.is_none_or(|a| e.actor == a))
        .filter(|e| from.is_none_or(|f| e.timestamp >= f))
        .filter(|e| to.is_none_or(|t| e.timestamp <= t))
        .skip(page.offset())
        .take(page.size)
        .map(event_json)
        .collect();
    Ok(Reply::ok(json!({ "logs": logs })))
}

/// `GET /v2/auditlogs/{account}/actions`.
pub fn actions(st: &State, ctx: &Ctx, account: &str) -> HResult {
    authorize(st, ctx, account)?;
    let groups: Map<String, Value> = ACTIONS
        .iter()
        .map(|(group, label, list)| {
            let actions: Vec<Value> = list
                .iter()
                .map(|(name, label)| json!({"name": name, "label": label}))
                .collect();
            (
                (*group).to_string(),
                json!({"label": label, "actions": actions}),
            )
        })
        .collect();
    Ok(Reply::ok(json!({ "actions": groups })))
}
