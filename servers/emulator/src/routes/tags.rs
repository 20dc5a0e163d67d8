//! Tags: list, get, delete.

use serde_json::{Value, json};

use crate::auth::readable_repo;
use crate::http::{ApiError, Ctx, HResult, Reply};
use crate::model::{Repo, State, Tag, TagOrder};
use crate::pagination::{CountKey, page_params, page_reply};
use crate::routes::repos::{audit_repo, is_immutable, writable};
use crate::util::rfc3339;

/// The tag shape, with truth fixes: `images` is an array and `v2` a boolean.
pub fn tag_json(repo: &Repo, t: &Tag) -> Value {
    let status = t.status();
    let pushed = rfc3339(t.pushed);
    let pulled = t.pulled.map(rfc3339);
    let per_image = t.size / t.platforms.len().max(1) as u64;
    let images: Vec<Value> = t
        .platforms
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut img = json!({
                "architecture": p.architecture,
                "features": "",
                "digest": crate::model::fake_digest(t.id.wrapping_mul(31).wrapping_add(i as u64)),
                "layers": [],
                "os": p.os,
                "os_features": "",
                "size": per_image,
                "status": status,
                "last_pulled": pulled,
                "last_pushed": pushed,
            });
            if let (Some(v), Some(m)) = (p.variant, img.as_object_mut()) {
                m.insert("variant".into(), json!(v));
            }
            img
        })
        .collect();
    json!({
        "id": t.id,
        "images": images,
        "creator": 1001,
        "last_updated": pushed,
        "last_updater": 1001,
        "last_updater_username": repo.namespace,
        "name": t.name,
        "repository": repo.id,
        "full_size": t.size,
        "v2": true,
        "status": status,
        "tag_status": status,
        "tag_last_pulled": pulled,
        "tag_last_pushed": pushed,
        "media_type": "application/vnd.oci.image.index.v1+json",
        "content_type": "image",
        "digest": t.digest,
    })
}

fn order(ctx: &Ctx) -> Result<TagOrder, ApiError> {
    match ctx.q_nonempty("ordering") {
        None | Some("-last_updated") => Ok(TagOrder::LastUpdatedDesc),
        Some("last_updated") => Ok(TagOrder::LastUpdatedAsc),
        Some("name") => Ok(TagOrder::NameAsc),
        Some("-name") => Ok(TagOrder::NameDesc),
        Some(other) => Err(ApiError::field(
            "ordering",
            format!("Invalid ordering {other:?}: use last_updated, -last_updated, name or -name"),
        )),
    }
}

/// `GET`/`HEAD .../tags`.
pub fn list(st: &State, ctx: &Ctx, ns: &str, name: &str) -> HResult {
    let repo = readable_repo(st, ctx, ns, name)?;
    let page = page_params(ctx, 10, 100)?;
    let order = order(ctx)?;
    let (total, tags) = repo.list_tags(ctx.q_nonempty("name"), order, page.offset(), page.size);
    let results = tags.iter().map(|t| tag_json(repo, t)).collect();
    page_reply(ctx, page, total, results, CountKey::Count)
}

/// `GET`/`HEAD .../tags/{tag}`.
pub fn get(st: &State, ctx: &Ctx, ns: &str, name: &str, tag: &str) -> HResult {
    let repo = readable_repo(st, ctx, ns, name)?;
    let t = repo
        .find_tag(tag)
        .ok_or_else(|| ApiError::not_found(format!("Tag {tag} not found")))?;
    Ok(Reply::ok(tag_json(repo, &t)))
}

/// `DELETE /v2/repositories/{ns}/{repo}/tags/{tag}/`.
pub fn delete(st: &mut State, ctx: &Ctx, ns: &str, name: &str, tag: &str) -> HResult {
    let repo = writable(st, ctx, ns, name, false)?;
    if repo.find_tag(tag).is_none() {
        return Err(ApiError::not_found(format!("Tag {tag} not found")));
    }
    if is_immutable(repo, tag) {
        return Err(ApiError::field(
            "tag",
            format!("Tag {tag} is immutable and cannot be deleted"),
        ));
    }
    let target = repo.audit_target();
    repo.delete_tag(tag);
    audit_repo(st, ctx, target, "repo.tag.delete", &[("tag", tag)]);
    Ok(Reply::no_content())
}
