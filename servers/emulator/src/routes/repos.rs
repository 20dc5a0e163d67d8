//! Repositories: namespace routes and the legacy `/v2/repositories/...` routes.

use std::sync::LazyLock;

use regex::Regex;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::{
    Access, Caller, OAT_NOT_ALLOWED, check_repo_write, namespace_access, readable_repo,
    repo_access, require_auth,
};
use crate::http::{ApiError, Ctx, HResult, Reply};
use crate::model::{Repo, RepoGroup, State, repo_key};
use crate::pagination::{CountKey, page_params, page_reply, paginate};
use crate::util::{merged, now_i64, rfc3339};

static NAME_RE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$").ok());

const MAX_DESCRIPTION: usize = 100;
const MAX_FULL_DESCRIPTION: usize = 25_000;

/// Validate a repository name (2..255 chars, `[a-z0-9]+(?:[._-][a-z0-9]+)*`).
pub fn validate_name(name: &str) -> Result<(), ApiError> {
    let ok = (2..=255).contains(&name.len()) && NAME_RE.as_ref().is_some_and(|r| r.is_match(name));
    if ok {
        Ok(())
    } else {
        Err(ApiError::field(
            "name",
            "Repository name must be 2 to 255 characters of lowercase letters, digits and separators (._-)",
        ))
    }
}

fn validate_descriptions(description: Option<&str>, full: Option<&str>) -> Result<(), ApiError> {
    if description.is_some_and(|d| d.chars().count() > MAX_DESCRIPTION) {
        return Err(ApiError::field(
            "description",
            format!("Ensure description has no more than {MAX_DESCRIPTION} characters."),
        ));
    }
    if full.is_some_and(|d| d.len() > MAX_FULL_DESCRIPTION) {
        return Err(ApiError::field(
            "full_description",
            format!("Ensure full_description has no more than {MAX_FULL_DESCRIPTION} bytes."),
        ));
    }
    Ok(())
}

/// Legacy routes refuse organization access tokens.
pub fn refuse_oat(ctx: &Ctx) -> Result<(), ApiError> {
    if matches!(ctx.caller, Caller::Oat { .. }) {
        return Err(ApiError::forbidden(OAT_NOT_ALLOWED));
    }
    Ok(())
}

fn media_types(r: &Repo) -> Vec<&'static str> {
    if r.tag_count() == 0 {
        Vec::new()
    } else {
        vec!["application/vnd.oci.image.index.v1+json"]
    }
}

/// The `repository_info` shape: the list entry plus the detail fields (`affiliation` is `null` here).
pub fn repo_info(r: &Repo, access: Access) -> Value {
    merged(
        list_entry(r),
        json!({
            "user": r.namespace,
            "is_automated": false,
            "collaborator_count": 0,
            "affiliation": null,
            "hub_user": r.namespace,
            "has_starred": false,
            "full_description": r.full_description,
            "permissions": {"read": access.read, "write": access.write, "admin": access.admin},
            "immutable_tags_settings": {"enabled": r.immutable_enabled, "rules": r.immutable_rules},
            "source": null,
        }),
    )
}

/// The `repository_list_entry` shape.
fn list_entry(r: &Repo) -> Value {
    json!({
        "name": r.name,
        "namespace": r.namespace,
        "repository_type": "image",
        "status": 1,
        "status_description": "active",
        "description": r.description,
        "is_private": r.is_private,
        "star_count": r.star_count,
        "pull_count": r.pull_count,
        "last_updated": rfc3339(r.last_updated),
        "last_modified": rfc3339(r.last_updated),
        "date_registered": rfc3339(r.date_registered),
        "affiliation": "",
        "media_types": media_types(r),
        "content_types": if r.tag_count() == 0 { vec![] } else { vec!["image"] },
        "categories": [],
        "storage_size": r.storage_size(),
    })
}

/// `GET /v2/namespaces/{ns}/repositories`.
pub fn list(st: &State, ctx: &Ctx, ns: &str) -> HResult {
    if !st.namespace_exists(ns) {
        return Err(ApiError::not_found(format!("Namespace {ns} not found")));
    }
    let page = page_params(ctx, 10, 100)?;
    let name = ctx.q_nonempty("name");
    let mut repos: Vec<&Repo> = st
        .repos
        .values()
        .filter(|r| r.namespace.eq_ignore_ascii_case(ns))
        .filter(|r| name.is_none_or(|n| r.name.contains(n)))
        .filter(|r| repo_access(st, &ctx.caller, r).read)
        .collect();
    match ctx.q_nonempty("ordering") {
        None | Some("-last_updated") => {
            repos.sort_by(|a, b| {
                b.last_updated
                    .cmp(&a.last_updated)
                    .then(a.name.cmp(&b.name))
            });
        }
        Some("last_updated") => {
            repos.sort_by(|a, b| {
                a.last_updated
                    .cmp(&b.last_updated)
                    .then(a.name.cmp(&b.name))
            });
        }
        Some("name") => repos.sort_by(|a, b| a.name.cmp(&b.name)),
        Some("-name") => repos.sort_by(|a, b| b.name.cmp(&a.name)),
        Some("pull_count") => {
            repos.sort_by(|a, b| a.pull_count.cmp(&b.pull_count).then(a.name.cmp(&b.name)))
        }
        Some("-pull_count") => {
            repos.sort_by(|a, b| b.pull_count.cmp(&a.pull_count).then(a.name.cmp(&b.name)))
        }
        Some(other) => {
            return Err(ApiError::field(
                "ordering",
                format!(
                    "Invalid ordering {other:?}: use name, last_updated or pull_count, optionally with '-'"
                ),
            ));
        }
    }
    let total = repos.len();
    let results = repos
        .into_iter()
        .skip(page.offset())
        .take(page.size)
        .map(list_entry)
        .collect();
    page_reply(ctx, page, total, results, CountKey::Count)
}

#[derive(Deserialize)]
struct CreateRepo {
    name: String,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    full_description: Option<String>,
    #[serde(default)]
    registry: Option<String>,
    #[serde(default)]
    is_private: Option<bool>,
}

/// `POST /v2/namespaces/{ns}/repositories`.
pub fn create(st: &mut State, ctx: &Ctx, ns: &str) -> HResult {
    require_auth(ctx)?;
    let req: CreateRepo = ctx.body_as()?;
    if !st.namespace_exists(ns) {
        return Err(ApiError::not_found(format!("Namespace {ns} not found")));
    }
    if req
        .namespace
        .as_deref()
        .is_some_and(|n| !n.eq_ignore_ascii_case(ns))
    {
        return Err(ApiError::field(
            "namespace",
            "namespace does not match the path",
        ));
    }
    if req
        .registry
        .as_deref()
        .is_some_and(|r| !r.is_empty() && r != "docker" && r != "registry-1.docker.io")
    {
        return Err(ApiError::field("registry", "registry must be \"docker\""));
    }
    validate_name(&req.name)?;
    validate_descriptions(req.description.as_deref(), req.full_description.as_deref())?;
    let access = namespace_access(st, &ctx.caller, ns);
    if !access.write {
        return Err(ApiError::forbidden(
            "You do not have permission to create repositories in this namespace.",
        ));
    }
    let ns_name = st
        .user(ns)
        .map(|u| u.username.clone())
        .or_else(|| st.org(ns).map(|o| o.name.clone()))
        .unwrap_or_else(|| ns.to_string());
    let key = repo_key(&ns_name, &req.name);
    if st.repos.contains_key(&key) {
        return Err(ApiError::field(
            "name",
            "Repository with this Name and Namespace already exists.",
        ));
    }
    let now = now_i64();
    let id = st.alloc_id();
    let repo = Repo {
        id,
        namespace: ns_name.clone(),
        name: req.name,
        description: req.description.unwrap_or_default(),
        full_description: req.full_description.unwrap_or_default(),
        is_private: req.is_private.unwrap_or(false),
        pull_count: 0,
        star_count: 0,
        date_registered: now,
        last_updated: now,
        immutable_enabled: false,
        immutable_rules: Vec::new(),
        tags: Vec::new(),
        lazy: None,
        groups: Vec::new(),
    };
    let body = repo_info(&repo, access);
    let private = repo.is_private.to_string();
    st.repos.insert(key.clone(), repo);
    st.audit(
        &ns_name,
        "repo.create",
        &key,
        &ctx.caller.actor(),
        &[("private", &private)],
    );
    Ok(Reply::created(body))
}

/// `GET`/`HEAD /v2/namespaces/{ns}/repositories/{repo}` (and the legacy GET).
pub fn get(st: &State, ctx: &Ctx, ns: &str, name: &str) -> HResult {
    let repo = readable_repo(st, ctx, ns, name)?;
    Ok(Reply::ok(repo_info(
        repo,
        repo_access(st, &ctx.caller, repo),
    )))
}

/// Find a repository the caller may write (or administer).
pub(crate) fn writable<'a>(
    st: &'a mut State,
    ctx: &Ctx,
    ns: &str,
    name: &str,
    admin: bool,
) -> Result<&'a mut Repo, ApiError> {
    require_auth(ctx)?;
    let repo = st
        .repo(ns, name)
        .ok_or_else(|| ApiError::not_found("Object not found"))?;
    check_repo_write(st, ctx, repo, admin)?;
    st.repo_mut(ns, name)
        .ok_or_else(|| ApiError::not_found("Object not found"))
}

/// Record an audit event by the caller on a repository (`target` from [`Repo::audit_target`]).
pub(crate) fn audit_repo(
    st: &mut State,
    ctx: &Ctx,
    target: (String, String),
    action: &str,
    data: &[(&str, &str)],
) {
    let (account, key) = target;
    st.audit(&account, action, &key, &ctx.caller.actor(), data);
}

fn finish(
    st: &mut State,
    ctx: &Ctx,
    ns: &str,
    name: &str,
    action: &str,
    data: &[(&str, &str)],
) -> HResult {
    let repo = st
        .repo(ns, name)
        .ok_or_else(|| ApiError::not_found("Object not found"))?;
    let body = repo_info(repo, repo_access(st, &ctx.caller, repo));
    let target = repo.audit_target();
    audit_repo(st, ctx, target, action, data);
    Ok(Reply::ok(body))
}

#[derive(Deserialize)]
struct UpdateRepo {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    full_description: Option<String>,
}

/// `PATCH /v2/repositories/{ns}/{repo}/`.
pub fn update(st: &mut State, ctx: &Ctx, ns: &str, name: &str) -> HResult {
    require_auth(ctx)?;
    let req: UpdateRepo = ctx.body_as()?;
    validate_descriptions(req.description.as_deref(), req.full_description.as_deref())?;
    let repo = writable(st, ctx, ns, name, false)?;
    if let Some(d) = req.description {
        repo.description = d;
    }
    if let Some(f) = req.full_description {
        repo.full_description = f;
    }
    repo.last_updated = now_i64();
    finish(st, ctx, ns, name, "repo.update", &[])
}

/// `DELETE /v2/repositories/{ns}/{repo}/`.
pub fn delete(st: &mut State, ctx: &Ctx, ns: &str, name: &str) -> HResult {
    let repo = writable(st, ctx, ns, name, true)?;
    let (account, key) = repo.audit_target();
    st.repos.remove(&key);
    st.audit(&account, "repo.delete", &key, &ctx.caller.actor(), &[]);
    Ok(Reply::no_content())
}

#[derive(Deserialize)]
struct Privacy {
    is_private: bool,
}

/// `POST /v2/repositories/{ns}/{repo}/privacy`.
pub fn privacy(st: &mut State, ctx: &Ctx, ns: &str, name: &str) -> HResult {
    require_auth(ctx)?;
    let req: Privacy = ctx.body_as()?;
    let repo = writable(st, ctx, ns, name, true)?;
    repo.is_private = req.is_private;
    let private = req.is_private.to_string();
    finish(st, ctx, ns, name, "repo.privacy", &[("private", &private)])
}

#[derive(Deserialize)]
struct ImmutableTags {
    immutable_tags: bool,
    immutable_tags_rules: Vec<String>,
}

fn compile_rule(rule: &str) -> Result<Regex, ApiError> {
    regex::RegexBuilder::new(rule)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| ApiError::field("regex", format!("Invalid regular expression {rule:?}: {e}")))
}

/// `PATCH /v2/namespaces/{ns}/repositories/{repo}/immutabletags`.
pub fn immutable_tags(st: &mut State, ctx: &Ctx, ns: &str, name: &str) -> HResult {
    require_auth(ctx)?;
    let req: ImmutableTags = ctx.body_as()?;
    for r in &req.immutable_tags_rules {
        compile_rule(r)?;
    }
    let repo = writable(st, ctx, ns, name, true)?;
    repo.immutable_enabled = req.immutable_tags;
    repo.immutable_rules = req.immutable_tags_rules;
    let enabled = req.immutable_tags.to_string();
    finish(
        st,
        ctx,
        ns,
        name,
        "repo.immutable_tags.update",
        &[("enabled", &enabled)],
    )
}

/// Whether a tag is protected by the repository's immutable-tag rules.
pub fn is_immutable(repo: &Repo, tag: &str) -> bool {
    repo.immutable_enabled
        && repo
            .immutable_rules
            .iter()
            .any(|r| compile_rule(r).is_ok_and(|re| re.is_match(tag)))
}

#[derive(Deserialize)]
struct Verify {
    regex: String,
}

/// `POST /v2/namespaces/{ns}/repositories/{repo}/immutabletags/verify` (a dry run).
pub fn verify_immutable(st: &State, ctx: &Ctx, ns: &str, name: &str) -> HResult {
    require_auth(ctx)?;
    let req: Verify = ctx.body_as()?;
    if req.regex.is_empty() {
        return Err(ApiError::field("regex", "regex is required"));
    }
    let re = compile_rule(&req.regex)?;
    let repo = readable_repo(st, ctx, ns, name)?;
    let tags: Vec<String> = repo
        .tag_names()
        .into_iter()
        .filter(|t| re.is_match(t))
        .collect();
    Ok(Reply::ok(json!({"tags": tags})))
}

fn group_json(st: &State, repo: &Repo, g: &RepoGroup) -> Value {
    let name = st
        .org(&repo.namespace)
        .and_then(|o| o.teams.iter().find(|t| t.id == g.group_id))
        .map(|t| t.name.clone())
        .unwrap_or_default();
    json!({"group_id": g.group_id, "group_name": name, "permission": g.permission})
}

fn parse_group_id(id: &str) -> Result<u64, ApiError> {
    id.parse()
        .map_err(|_| ApiError::not_found(format!("Group {id} not found")))
}

fn validate_permission(p: &str) -> Result<(), ApiError> {
    if matches!(p, "read" | "write" | "admin") {
        Ok(())
    } else {
        Err(ApiError::field(
            "permission",
            "permission must be read, write or admin",
        ))
    }
}

/// `GET /v2/repositories/{ns}/{repo}/groups`.
pub fn list_groups(st: &State, ctx: &Ctx, ns: &str, name: &str) -> HResult {
    require_auth(ctx)?;
    let repo = readable_repo(st, ctx, ns, name)?;
    let items = repo
        .groups
        .iter()
        .map(|g| group_json(st, repo, g))
        .collect();
    paginate(ctx, items, 10, CountKey::Count)
}

#[derive(Deserialize)]
struct AddGroup {
    group_id: u64,
    permission: String,
}

/// `POST /v2/repositories/{ns}/{repo}/groups`.
pub fn add_group(st: &mut State, ctx: &Ctx, ns: &str, name: &str) -> HResult {
    require_auth(ctx)?;
    let req: AddGroup = ctx.body_as()?;
    validate_permission(&req.permission)?;
    let repo = writable(st, ctx, ns, name, true)?;
    let repo_ns = repo.namespace.clone();
    let team = st
        .org(&repo_ns)
        .and_then(|o| o.teams.iter().find(|t| t.id == req.group_id))
        .map(|t| t.name.clone())
        .ok_or_else(|| {
            ApiError::field(
                "group_id",
                format!("Group {} not found in {repo_ns}", req.group_id),
            )
        })?;
    let repo = writable(st, ctx, ns, name, true)?;
    match repo.groups.iter_mut().find(|g| g.group_id == req.group_id) {
        Some(g) => g.permission = req.permission.clone(),
        None => repo.groups.push(RepoGroup {
            group_id: req.group_id,
            permission: req.permission.clone(),
        }),
    }
    let key = repo.key();
    st.audit(
        &repo_ns,
        "repo.group.add",
        &key,
        &ctx.caller.actor(),
        &[("group", &team), ("permission", &req.permission)],
    );
    Ok(Reply::ok(
        json!({"group_id": req.group_id, "group_name": team, "permission": req.permission}),
    ))
}

/// `GET /v2/repositories/{ns}/{repo}/groups/{id}`.
pub fn get_group(st: &State, ctx: &Ctx, ns: &str, name: &str, id: &str) -> HResult {
    require_auth(ctx)?;
    let gid = parse_group_id(id)?;
    let repo = readable_repo(st, ctx, ns, name)?;
    let g = repo
        .groups
        .iter()
        .find(|g| g.group_id == gid)
        .ok_or_else(|| {
            ApiError::not_found(format!("Group {id} has no permission on this repository"))
        })?;
    Ok(Reply::ok(group_json(st, repo, g)))
}

#[derive(Deserialize)]
struct UpdateGroup {
    permission: String,
}

/// `PATCH /v2/repositories/{ns}/{repo}/groups/{id}`.
pub fn update_group(st: &mut State, ctx: &Ctx, ns: &str, name: &str, id: &str) -> HResult {
    require_auth(ctx)?;
    let gid = parse_group_id(id)?;
    let req: UpdateGroup = ctx.body_as()?;
    validate_permission(&req.permission)?;
    let repo = writable(st, ctx, ns, name, true)?;
    let g = repo
        .groups
        .iter_mut()
        .find(|g| g.group_id == gid)
        .ok_or_else(|| {
            ApiError::not_found(format!("Group {id} has no permission on this repository"))
        })?;
    g.permission = req.permission.clone();
    let target = repo.audit_target();
    let repo = st
        .repo(ns, name)
        .ok_or_else(|| ApiError::not_found("Object not found"))?;
    let body = repo
        .groups
        .iter()
        .find(|g| g.group_id == gid)
        .map(|g| group_json(st, repo, g))
        .unwrap_or(Value::Null);
    audit_repo(
        st,
        ctx,
        target,
        "repo.group.update",
        &[("group_id", id), ("permission", &req.permission)],
    );
    Ok(Reply::ok(body))
}

/// `DELETE /v2/repositories/{ns}/{repo}/groups/{id}`.
pub fn remove_group(st: &mut State, ctx: &Ctx, ns: &str, name: &str, id: &str) -> HResult {
    let gid = parse_group_id(id)?;
    let repo = writable(st, ctx, ns, name, true)?;
    let before = repo.groups.len();
    repo.groups.retain(|g| g.group_id != gid);
    if repo.groups.len() == before {
        return Err(ApiError::not_found(format!(
            "Group {id} has no permission on this repository"
        )));
    }
    let target = repo.audit_target();
    audit_repo(st, ctx, target, "repo.group.remove", &[("group_id", id)]);
    Ok(Reply::no_content())
}
