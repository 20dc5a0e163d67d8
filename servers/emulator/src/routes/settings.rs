//! Organization settings: `/v2/orgs/{org}/settings`.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::{find_org_mut, org_reader, require_org_owner};
use crate::http::{Ctx, HResult, Reply};
use crate::model::{RestrictedImages, State};

fn settings_json(r: &RestrictedImages) -> Value {
    json!({"restricted_images": {
        "enabled": r.enabled,
        "allow_official_images": r.allow_official_images,
        "allow_verified_publishers": r.allow_verified_publishers,
    }})
}

/// `GET /v2/orgs/{org}/settings`.
pub fn get(st: &State, ctx: &Ctx, org: &str) -> HResult {
    let o = org_reader(st, ctx, org)?;
    Ok(Reply::ok(settings_json(&o.settings)))
}

#[derive(Deserialize)]
struct Restricted {
    enabled: bool,
    allow_official_images: bool,
    allow_verified_publishers: bool,
}

#[derive(Deserialize)]
struct PutSettings {
    restricted_images: Restricted,
}

/// `PUT /v2/orgs/{org}/settings`.
pub fn put(st: &mut State, ctx: &Ctx, org: &str) -> HResult {
    require_org_owner(st, ctx, org)?;
    let req: PutSettings = ctx.body_as()?;
    let o = find_org_mut(st, org)?;
    o.settings = RestrictedImages {
        enabled: req.restricted_images.enabled,
        allow_official_images: req.restricted_images.allow_official_images,
        allow_verified_publishers: req.restricted_images.allow_verified_publishers,
    };
    let body = settings_json(&o.settings);
    let org_name = o.name.clone();
    let enabled = req.restricted_images.enabled.to_string();
    st.audit(
        &org_name,
        "org.settings.update",
        &org_name,
        &ctx.caller.actor(),
        &[("restricted_images.enabled", &enabled)],
    );
    Ok(Reply::ok(body))
}
