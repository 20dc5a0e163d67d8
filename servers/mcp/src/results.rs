//! Result shaping: the envelope as structured content, lists trimmed to
//! `{items, count, page, next_page}`, the size cap, and the short text summary.

use dockerhub_api::catalog::{Module, Operation, Pagination};
use dockerhub_api::{Envelope, RateLimit, pagination};
use rmcp::model::{CallToolResponse, CallToolResult, ContentBlock};
use serde_json::{Map, Value, json};

use crate::args::Args;
use crate::server::Limits;

/// A text summary inlines the data when it is at most this many bytes.
const INLINE_DATA_BYTES: usize = 600;

pub(crate) fn rate_text(rl: &RateLimit) -> String {
    match (rl.remaining, rl.limit) {
        (Some(r), Some(l)) => format!("; rate limit {r}/{l} left"),
        (Some(r), None) => format!("; rate limit {r} left"),
        _ => String::new(),
    }
}

pub(crate) fn noun(op: &Operation) -> String {
    let a = op.action;
    if let Some(rest) = a.strip_prefix("list_") {
        return rest.replace('_', " ");
    }
    match (op.module, a) {
        (Module::Repos, "list") => "repositories".into(),
        (Module::Teams, "list") => "teams".into(),
        (Module::Audit, "logs") => "log entries".into(),
        _ => "items".into(),
    }
}

/// The data itself when small; otherwise its short scalar fields, so that a
/// client that shows only text still sees the essentials.
pub(crate) fn digest(data: &Value) -> String {
    let compact = data.to_string();
    if compact.len() <= INLINE_DATA_BYTES {
        return compact;
    }
    let Value::Object(m) = data else {
        let cut: String = compact.chars().take(INLINE_DATA_BYTES).collect();
        return format!("{cut}… (full data in structuredContent)");
    };
    let mut out = Map::new();
    let mut used = 0;
    for (k, v) in m {
        let short = match v {
            Value::String(s) => s.len() <= 80,
            Value::Number(_) | Value::Bool(_) => true,
            _ => false,
        };
        if short {
            used += k.len() + v.to_string().len() + 4;
            if used > INLINE_DATA_BYTES {
                break;
            }
            out.insert(k.clone(), v.clone());
        }
    }
    format!("{} (more fields in structuredContent)", Value::Object(out))
}

/// The identifying names of list items (`name`, `username`, …), at most
/// about 300 characters.
pub(crate) fn item_names(items: &[Value]) -> String {
    const KEYS: [&str; 7] = [
        "userName",
        "username",
        "name",
        "token_label",
        "label",
        "invitee",
        "action",
    ];
    let mut out = String::new();
    for (i, it) in items.iter().enumerate() {
        let Some(name) = KEYS
            .iter()
            .find_map(|k| it.get(*k).and_then(Value::as_str))
            .map(str::to_string)
        else {
            return out;
        };
        if out.len() + name.len() > 300 {
            out.push_str(&format!(", … ({} more)", items.len() - i));
            return out;
        }
        if !out.is_empty() {
            out.push_str(", ");
        }
        out.push_str(&name);
    }
    out
}

pub(crate) fn est_tokens(v: &Value) -> usize {
    serde_json::to_string(v).map_or(0, |s| s.len()) / 4
}

pub(crate) fn envelope_value(env: &Envelope) -> Value {
    serde_json::to_value(env).unwrap_or(Value::Null)
}

pub(crate) fn page_size_of(op: &Operation, params: &Map<String, Value>) -> Option<u64> {
    let key = if op.pagination == Pagination::Scim {
        "count"
    } else {
        "page_size"
    };
    params
        .get(key)
        .and_then(|v| v.as_u64().or_else(|| v.as_str()?.trim().parse().ok()))
}

/// Trim `items` (in place) so the whole envelope fits `max_tokens`; returns
/// how many were kept.
pub(crate) fn fit_items(env: &mut Value, max_tokens: usize) -> Option<usize> {
    let budget = max_tokens.saturating_mul(4);
    let items = env.pointer("/data/items")?.as_array()?.clone();
    let total = serde_json::to_string(env).map_or(0, |s| s.len());
    if total <= budget {
        return None;
    }
    let mut base = env.clone();
    if let Some(slot) = base.pointer_mut("/data/items") {
        *slot = Value::Array(Vec::new());
    }
    let mut used = serde_json::to_string(&base).map_or(0, |s| s.len()) + 400;
    let mut keep = 0;
    for it in &items {
        let n = serde_json::to_string(it).map_or(0, |s| s.len()) + 1;
        if used + n > budget {
            break;
        }
        used += n;
        keep += 1;
    }
    if let Some(slot) = env.pointer_mut("/data/items") {
        *slot = Value::Array(items.into_iter().take(keep).collect());
    }
    Some(keep)
}

/// Shape a single-call envelope: lists trimmed to `{items, count, page,
/// next_page}`, everything capped to the token budget.
pub(crate) fn shape(
    op: &Operation,
    env: Envelope,
    args: &Args,
    limits: &Limits,
) -> (Value, String) {
    let qn = op.qualified_name();
    let rate = rate_text(&env.rate_limit);
    let page_size = page_size_of(op, &args.params);
    let view = pagination::view(op.pagination, &env.data, page_size);
    let mut value = envelope_value(&env);
    let Some(view) = view else {
        // Not a list.
        let mut summary = match env.exists {
            Some(e) => format!("{qn}: exists={e} (HTTP {})", env.status_code),
            None => format!("{qn}: HTTP {}", env.status_code),
        };
        summary.push_str(&rate);
        if est_tokens(&value) > limits.max_result_tokens {
            let text = match &env.data {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let keep = limits
                .max_result_tokens
                .saturating_mul(4)
                .saturating_sub(600);
            let cut: String = text.chars().take(keep).collect();
            value["data"] = json!({
                "truncated": true,
                "excerpt": cut,
                "note": format!("the answer was {} bytes, over the {}-token cap; narrow the request (filters, page_size) to see all of it", text.len(), limits.max_result_tokens),
            });
            summary.push_str("; result truncated (over the size cap)");
        } else if env.data.is_null() {
            summary.push_str("; no body");
        } else {
            summary.push_str(": ");
            summary.push_str(&digest(&env.data));
        }
        return (value, summary);
    };
    let (page, next_page) = if op.pagination == Pagination::Scim {
        let start = env
            .data
            .get("startIndex")
            .and_then(Value::as_u64)
            .unwrap_or(1);
        (
            json!(start),
            view.has_next
                .then(|| json!(start + view.items.len() as u64)),
        )
    } else {
        let p = args
            .params
            .get("page")
            .and_then(|v| v.as_u64().or_else(|| v.as_str()?.trim().parse().ok()))
            .unwrap_or(1);
        (json!(p), view.has_next.then(|| json!(p + 1)))
    };
    let mut items = view.items;
    let fetched = items.len();
    if let Some(l) = args.limit {
        items.truncate(l);
    }
    let shown = items.len();
    let mut data = json!({
        "items": items,
        "count": view.total,
        "page": page,
        "next_page": next_page,
    });
    if shown < fetched {
        data["limited"] = json!(format!("showing {shown} of {fetched} on this page (limit)"));
    }
    value["data"] = data;
    let n = noun(op);
    let page_key = if op.pagination == Pagination::Scim {
        "startIndex"
    } else {
        "page"
    };
    let mut summary = format!("{qn}: {shown} {n}");
    let p = value["data"]["page"].clone();
    match (
        view.total,
        page_size.or(Some(fetched as u64)).filter(|s| *s > 0),
    ) {
        (Some(total), Some(ps)) if op.pagination != Pagination::Scim => {
            let pages = total.div_ceil(ps).max(1);
            summary.push_str(&format!(" (page {p} of {pages}, {total} total)"));
        }
        (Some(total), _) => summary.push_str(&format!(" ({total} total)")),
        _ => summary.push_str(&format!(" (page {p})")),
    }
    let names = item_names(
        value["data"]["items"]
            .as_array()
            .map_or(&[][..], Vec::as_slice),
    );
    if !names.is_empty() {
        summary.push_str(": ");
        summary.push_str(&names);
    }
    if let Some(np) = value["data"]["next_page"].as_u64() {
        summary.push_str(&format!("; more: params.{page_key}={np} or all:true"));
    }
    if let Some(keep) = fit_items(&mut value, limits.max_result_tokens) {
        let msg = format!(
            "cut to {keep} of {shown} items to stay under {} tokens; ask for params.page_size={} and step params.{page_key}",
            limits.max_result_tokens,
            keep.max(1)
        );
        value["data"]["truncated"] = json!(msg.clone());
        summary.push_str(&format!("; {msg}"));
    }
    summary.push_str(&rate);
    (value, summary)
}

pub(crate) fn success(value: Value, summary: String) -> CallToolResponse {
    let mut r = CallToolResult::success(vec![ContentBlock::text(summary)]);
    r.structured_content = Some(value);
    CallToolResponse::Complete(r)
}

pub(crate) fn cancelled_result(qn: &str) -> CallToolResponse {
    success(
        json!({"cancelled": true}),
        format!("{qn} was cancelled: the user declined the confirmation; nothing was changed"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_keeps_small_data_and_scalars_of_large_objects() {
        assert_eq!(digest(&json!({"a": 1})), r#"{"a":1}"#);
        let big = json!({"name": "app", "blob": "x".repeat(2000), "n": 3});
        let d = digest(&big);
        assert!(
            d.contains(r#""name":"app""#) && d.contains(r#""n":3"#) && !d.contains("xxx"),
            "{d}"
        );
    }

    #[test]
    fn item_names_prefer_identifiers() {
        let items = vec![
            json!({"name": "a"}),
            json!({"userName": "u", "name": {"x": 1}}),
        ];
        assert_eq!(item_names(&items), "a, u");
        let many: Vec<Value> = (0..200)
            .map(|i| json!({"name": format!("tag-{i}")}))
            .collect();
        let s = item_names(&many);
        assert!(s.len() < 340 && s.ends_with("more)"), "{s}");
        assert_eq!(item_names(&[json!({"id": 1})]), "");
    }

    #[test]
    fn fit_items_trims_to_the_budget() {
        let items: Vec<Value> = (0..100)
            .map(|i| json!({"name": i, "pad": "y".repeat(100)}))
            .collect();
        let mut env = json!({"status_code": 200, "data": {"items": items}});
        let kept = fit_items(&mut env, 1000).unwrap();
        assert!(kept > 0 && kept < 100);
        assert!(serde_json::to_string(&env).unwrap().len() <= 4000);
        let mut small = json!({"data": {"items": [1, 2]}});
        assert_eq!(fit_items(&mut small, 1000), None);
    }
}
