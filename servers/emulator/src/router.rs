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

pub fn route(shared: &Shared, ctx: &Ctx) -> HResult {
    use Verb::{Delete, Get, Patch, Post, Put};
    let segs: Vec<&str> = ctx.segs.iter().map(String::as_str).collect();
    let v = verb(&ctx.method);
    let mut guard = shared.lock_state();
    let st: &mut State = &mut guard;
    match segs.as_slice() {
        ["v2", "users", "login"] => match v {
            Post => login::login(shared, st, ctx),
            _ => not_allowed(ctx),
        },
        ["v2", "users", "2fa-login"] => match v {
            Post => login::two_factor(shared, st, ctx),
            _ => not_allowed(ctx),
        },
        ["v2", "auth", "token"] => match v {
            Post => login::token(shared, st, ctx),
            _ => not_allowed(ctx),
        },
        ["v2", "user"] => match v {
            Get => user::me(st, ctx),
            _ => not_allowed(ctx),
        },
        ["v2", "user", "orgs"] => match v {
            Get => user::my_orgs(st, ctx),
            _ => not_allowed(ctx),
        },
        ["v2", "access-tokens"] => match v {
            Get => access_tokens::list(st, ctx),
            Post => access_tokens::create(st, ctx),
            _ => not_allowed(ctx),
        },
        ["v2", "access-tokens", id] => match v {
            Get => access_tokens::get(st, ctx, id),
            Patch => access_tokens::update(st, ctx, id),
            Delete => access_tokens::delete(st, ctx, id),
            _ => not_allowed(ctx),
        },
        ["v2", "auditlogs", account] => match v {
            Get => audit::logs(st, ctx, account),
            _ => not_allowed(ctx),
        },
        ["v2", "auditlogs", account, "actions"] => match v {
            Get => audit::actions(st, ctx, account),
            _ => not_allowed(ctx),
        },
        ["v2", "orgs", org, "settings"] => match v {
            Get => settings::get(st, ctx, org),
            Put => settings::put(st, ctx, org),
            _ => not_allowed(ctx),
        },
        ["v2", "orgs", org, "access-tokens"] => match v {
            Get => oats::list(st, ctx, org),
            Post => oats::create(st, ctx, org),
            _ => not_allowed(ctx),
        },
        ["v2", "orgs", org, "access-tokens", id] => match v {
            Get => oats::get(st, ctx, org, id),
            Patch => oats::update(st, ctx, org, id),
            Delete => oats::delete(st, ctx, org, id),
            _ => not_allowed(ctx),
        },
        ["v2", "orgs", org, "members"] => match v {
            Get => members::list(st, ctx, org),
            _ => not_allowed(ctx),
        },
        ["v2", "orgs", org, "members", "export"] => match v {
            Get => members::export(st, ctx, org),
            _ => not_allowed(ctx),
        },
        ["v2", "orgs", org, "members", username] => match v {
            Put => members::update(st, ctx, org, username),
            Delete => members::remove(st, ctx, org, username),
            _ => not_allowed(ctx),
        },
        ["v2", "orgs", org, "invites"] => match v {
            Get => invites::list(st, ctx, org),
            _ => not_allowed(ctx),
        },
        ["v2", "orgs", org, "groups"] => match v {
            Get => teams::list(st, ctx, org),
            Post => teams::create(st, ctx, org),
            _ => not_allowed(ctx),
        },
        ["v2", "orgs", org, "groups", team] => match v {
            Get => teams::get(st, ctx, org, team),
            Put => teams::update(st, ctx, org, team, true),
            Patch => teams::update(st, ctx, org, team, false),
            Delete => teams::delete(st, ctx, org, team),
            _ => not_allowed(ctx),
        },
        ["v2", "orgs", org, "groups", team, "members"] => match v {
            Get => teams::members(st, ctx, org, team),
            Post => teams::add_member(st, ctx, org, team),
            _ => not_allowed(ctx),
        },
        ["v2", "orgs", org, "groups", team, "members", username] => match v {
            Delete => teams::remove_member(st, ctx, org, team, username),
            _ => not_allowed(ctx),
        },
        ["v2", "invites", "bulk"] => match v {
            Post => invites::bulk(st, ctx),
            _ => not_allowed(ctx),
        },
        ["v2", "invites", id] => match v {
            Delete => invites::delete(st, ctx, id),
            _ => not_allowed(ctx),
        },
        ["v2", "invites", id, "resend"] => match v {
            Patch => invites::resend(st, ctx, id),
            _ => not_allowed(ctx),
        },
        ["v2", "namespaces", ns, "repositories"] => match v {
            Get => repos::list(st, ctx, ns),
            Post => repos::create(st, ctx, ns),
            _ => not_allowed(ctx),
        },
        ["v2", "namespaces", ns, "repositories", repo] => match v {
            Get => repos::get(st, ctx, ns, repo),
            _ => not_allowed(ctx),
        },
        ["v2", "namespaces", ns, "repositories", repo, "tags"] => match v {
            Get => tags::list(st, ctx, ns, repo),
            _ => not_allowed(ctx),
        },
        ["v2", "namespaces", ns, "repositories", repo, "tags", tag] => match v {
            Get => tags::get(st, ctx, ns, repo, tag),
            _ => not_allowed(ctx),
        },
        [
            "v2",
            "namespaces",
            ns,
            "repositories",
            repo,
            "immutabletags",
        ] => match v {
            Patch => repos::immutable_tags(st, ctx, ns, repo),
            _ => not_allowed(ctx),
        },
        [
            "v2",
            "namespaces",
            ns,
            "repositories",
            repo,
            "immutabletags",
            "verify",
        ] => match v {
            Post => repos::verify_immutable(st, ctx, ns, repo),
            _ => not_allowed(ctx),
        },
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
