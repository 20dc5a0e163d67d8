//! Path routing over decoded segments.

use poem::http::Method;

use crate::http::{ApiError, Ctx, HResult};
use crate::model::State;
use crate::routes::{
    access_tokens, audit, auth as login, invites, members, oats, repos, scim, settings, tags,
    teams, user,
};
use crate::server::Shared;

/// HTTP verbs the router distinguishes (HEAD is served by GET handlers without a body).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verb {
    Get,
    Post,
    Put,
    Patch,
    Delete,
    Other,
}

fn verb(m: &Method) -> Verb {
    match *m {
        Method::GET | Method::HEAD => Verb::Get,
        Method::POST => Verb::Post,
        Method::PUT => Verb::Put,
        Method::PATCH => Verb::Patch,
        Method::DELETE => Verb::Delete,
        _ => Verb::Other,
    }
}

fn not_allowed(ctx: &Ctx) -> HResult {
    Err(ApiError::new(
        405,
        format!("Method \"{}\" not allowed.", ctx.method),
    ))
}

/// Dispatch on the verb; any verb not listed gets 405.
macro_rules! verbs {
    ($v:expr, $ctx:expr, { $($verb:pat => $handler:expr),+ $(,)? }) => {
        match $v {
            $($verb => $handler,)+
            _ => not_allowed($ctx),
        }
    };
}

pub fn route(shared: &Shared, ctx: &Ctx) -> HResult {
    use Verb::{Delete, Get, Patch, Post, Put};
    let segs: Vec<&str> = ctx.segs.iter().map(String::as_str).collect();
    let v = verb(&ctx.method);
    let mut guard = shared.lock_state();
    let st: &mut State = &mut guard;
    match segs.as_slice() {
        ["v2", "users", "login"] => verbs!(v, ctx, { Post => login::login(shared, st, ctx) }),
        ["v2", "users", "2fa-login"] => verbs!(v, ctx, {
            Post => login::two_factor(shared, st, ctx),
        }),
        ["v2", "auth", "token"] => verbs!(v, ctx, { Post => login::token(shared, st, ctx) }),
        ["v2", "user"] => verbs!(v, ctx, { Get => user::me(st, ctx) }),
        ["v2", "user", "orgs"] => verbs!(v, ctx, { Get => user::my_orgs(st, ctx) }),
        ["v2", "access-tokens"] => verbs!(v, ctx, {
            Get => access_tokens::list(st, ctx),
            Post => access_tokens::create(st, ctx),
        }),
        ["v2", "access-tokens", id] => verbs!(v, ctx, {
            Get => access_tokens::get(st, ctx, id),
            Patch => access_tokens::update(st, ctx, id),
            Delete => access_tokens::delete(st, ctx, id),
        }),
        ["v2", "auditlogs", account] => verbs!(v, ctx, { Get => audit::logs(st, ctx, account) }),
        ["v2", "auditlogs", account, "actions"] => verbs!(v, ctx, {
            Get => audit::actions(st, ctx, account),
        }),
        ["v2", "orgs", org, "settings"] => verbs!(v, ctx, {
            Get => settings::get(st, ctx, org),
            Put => settings::put(st, ctx, org),
        }),
        ["v2", "orgs", org, "access-tokens"] => verbs!(v, ctx, {
            Get => oats::list(st, ctx, org),
            Post => oats::create(st, ctx, org),
        }),
        ["v2", "orgs", org, "access-tokens", id] => verbs!(v, ctx, {
            Get => oats::get(st, ctx, org, id),
            Patch => oats::update(st, ctx, org, id),
            Delete => oats::delete(st, ctx, org, id),
        }),
        ["v2", "orgs", org, "members"] => verbs!(v, ctx, { Get => members::list(st, ctx, org) }),
        ["v2", "orgs", org, "members", "export"] => verbs!(v, ctx, {
            Get => members::export(st, ctx, org),
        }),
        ["v2", "orgs", org, "members", username] => verbs!(v, ctx, {
            Put => members::update(st, ctx, org, username),
            Delete => members::remove(st, ctx, org, username),
        }),
        ["v2", "orgs", org, "invites"] => verbs!(v, ctx, { Get => invites::list(st, ctx, org) }),
        ["v2", "orgs", org, "groups"] => verbs!(v, ctx, {
            Get => teams::list(st, ctx, org),
            Post => teams::create(st, ctx, org),
        }),
        ["v2", "orgs", org, "groups", team] => verbs!(v, ctx, {
            Get => teams::get(st, ctx, org, team),
            Put => teams::update(st, ctx, org, team, true),
            Patch => teams::update(st, ctx, org, team, false),
            Delete => teams::delete(st, ctx, org, team),
        }),
        ["v2", "orgs", org, "groups", team, "members"] => verbs!(v, ctx, {
            Get => teams::members(st, ctx, org, team),
            Post => teams::add_member(st, ctx, org, team),
        }),
        ["v2", "orgs", org, "groups", team, "members", username] => verbs!(v, ctx, {
            Delete => teams::remove_member(st, ctx, org, team, username),
        }),
        ["v2", "invites", "bulk"] => verbs!(v, ctx, { Post => invites::bulk(st, ctx) }),
        ["v2", "invites", id] => verbs!(v, ctx, { Delete => invites::delete(st, ctx, id) }),
        ["v2", "invites", id, "resend"] => verbs!(v, ctx, {
            Patch => invites::resend(st, ctx, id),
        }),
        ["v2", "namespaces", ns, "repositories"] => verbs!(v, ctx, {
            Get => repos::list(st, ctx, ns),
            Post => repos::create(st, ctx, ns),
        }),
        ["v2", "namespaces", ns, "repositories", repo] => verbs!(v, ctx, {
            Get => repos::get(st, ctx, ns, repo),
        }),
        ["v2", "namespaces", ns, "repositories", repo, "tags"] => verbs!(v, ctx, {
            Get => tags::list(st, ctx, ns, repo),
        }),
        ["v2", "namespaces", ns, "repositories", repo, "tags", tag] => verbs!(v, ctx, {
            Get => tags::get(st, ctx, ns, repo, tag),
        }),
        [
            "v2",
            "namespaces",
            ns,
            "repositories",
            repo,
            "immutabletags",
        ] => verbs!(v, ctx, { Patch => repos::immutable_tags(st, ctx, ns, repo) }),
        [
            "v2",
            "namespaces",
            ns,
            "repositories",
            repo,
            "immutabletags",
            "verify",
        ] => verbs!(v, ctx, { Post => repos::verify_immutable(st, ctx, ns, repo) }),
        ["v2", "repositories", ns, repo, rest @ ..] => {
            repos::refuse_oat(ctx)?;
            match (rest, v) {
                ([], Get) => repos::get(st, ctx, ns, repo),
                ([], Patch) => repos::update(st, ctx, ns, repo),
                ([], Delete) => repos::delete(st, ctx, ns, repo),
                (["tags"], Get) => tags::list(st, ctx, ns, repo),
                (["tags", tag], Get) => tags::get(st, ctx, ns, repo, tag),
                (["tags", tag], Delete) => tags::delete(st, ctx, ns, repo, tag),
                (["privacy"], Post) => repos::privacy(st, ctx, ns, repo),
                (["groups"], Get) => repos::list_groups(st, ctx, ns, repo),
                (["groups"], Post) => repos::add_group(st, ctx, ns, repo),
                (["groups", id], Get) => repos::get_group(st, ctx, ns, repo, id),
                (["groups", id], Patch) => repos::update_group(st, ctx, ns, repo, id),
                (["groups", id], Delete) => repos::remove_group(st, ctx, ns, repo, id),
                ([] | ["tags"] | ["tags", _] | ["privacy"] | ["groups"] | ["groups", _], _) => {
                    not_allowed(ctx)
                }
                _ => Err(ApiError::not_found("Not found")),
            }
        }
        ["v2", "scim", "2.0", rest @ ..] => {
            let org = scim::authorize(st, ctx)?;
            match (rest, v) {
                (["ServiceProviderConfig"], Get) => scim::service_provider_config(ctx),
                (["ResourceTypes"], Get) => scim::resource_types(ctx),
                (["ResourceTypes", name], Get) => scim::resource_type(ctx, name),
                (["Schemas"], Get) => scim::schemas(),
                (["Schemas", id], Get) => scim::schema(id),
                (["Users"], Get) => scim::list_users(st, ctx, &org),
                (["Users"], Post) => scim::create_user(st, ctx, &org),
                (["Users", id], Get) => scim::get_user(st, ctx, &org, id),
                (["Users", id], Put) => scim::update_user(st, ctx, &org, id),
                (
                    ["ServiceProviderConfig"]
                    | ["ResourceTypes"]
                    | ["ResourceTypes", _]
                    | ["Schemas"]
                    | ["Schemas", _]
                    | ["Users"]
                    | ["Users", _],
                    _,
                ) => not_allowed(ctx),
                _ => Err(ApiError::not_found("Resource not found")),
            }
        }
        _ => Err(ApiError::not_found("Not found")),
    }
}
