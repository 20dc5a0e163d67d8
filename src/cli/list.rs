//! Walking list operations page by page, with a progress bar on a terminal.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Map, Value};

use super::error::CliResult;
use crate::Hub;
use crate::catalog::{Operation, Pagination};
use crate::error::Error;
use crate::pagination::{max_page_size, view};

const COUNTED: &str = "{msg} [{bar:30}] {pos}/{len} ({elapsed}, eta {eta})";

/// Give a bar a known length (a list's total, learnt from its first page).
pub fn set_total(pb: &ProgressBar, total: u64) {
    pb.set_length(total);
    if let Ok(s) = ProgressStyle::with_template(COUNTED) {
        pb.set_style(s.progress_chars("=> "));
    }
}

/// A progress bar on stderr, or a hidden one when `show` is false.
pub fn bar(show: bool, len: Option<u64>, what: &str) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::with_draw_target(len, ProgressDrawTarget::stderr());
    pb.set_message(what.to_string());
    match len {
        Some(n) => set_total(&pb, n),
        None => {
            if let Ok(s) = ProgressStyle::with_template("{msg} {spinner} {pos}") {
                pb.set_style(s);
            }
        }
    }
    pb
}

/// The list keys of the pagination styles.
const ITEM_KEYS: &[&str] = &["results", "logs", "data", "Resources", "resources"];

/// Take a page's items out of `data`, leaving as many nulls in their place.
fn take_items(data: &mut Value) -> Option<Vec<Value>> {
    let obj = data.as_object_mut()?;
    let key = ITEM_KEYS
        .iter()
        .find(|k| obj.get(**k).is_some_and(Value::is_array))?;
    let slot = obj.get_mut(*key)?;
    let Value::Array(items) = std::mem::take(slot) else {
        return None;
    };
    *slot = Value::Array(vec![Value::Null; items.len()]);
    Some(items)
}

/// Walk `op`'s pages from `params`, calling `each` for every item, until the
/// end or `limit` items. `on_total` gets the total when the first page tells.
/// One page is held at a time.
pub async fn walk(
    hub: &Hub,
    op: &'static Operation,
    mut params: Map<String, Value>,
    limit: Option<usize>,
    mut on_total: impl FnMut(Option<u64>),
    mut each: impl FnMut(Value) -> CliResult,
) -> CliResult<usize> {
    let style = op.pagination;
    let size_key = if style == Pagination::Scim {
        "count"
    } else {
        "page_size"
    };
    let takes_size = op.params.iter().any(|p| p.name == size_key);
    let page_size = params
        .get(size_key)
        .and_then(Value::as_u64)
        .unwrap_or(max_page_size(style));
    if takes_size {
        params.insert(size_key.into(), page_size.into());
    }
    let mut seen = 0usize;
    let mut next_url: Option<String> = None;
    let mut first = true;
    loop {
        let mut env = match next_url.take() {
            Some(u) => hub.call_url(op, &u).await?,
            None => hub.call(op, &Value::Object(params.clone())).await?,
        };
        // Move the items out instead of letting `view` copy them; `view`
        // then reads the page's links and counts from placeholders.
        let items = take_items(&mut env.data);
        let Some(page) = view(style, &env.data, Some(page_size)) else {
            return Err(Error::Decode {
                operation: op.qualified_name(),
                message: format!("the answer is not a {style:?} list page"),
                excerpt: env.data.to_string().chars().take(200).collect(),
            }
            .into());
        };
        if first {
            on_total(page.total);
            first = false;
        }
        let n = page.items.len();
        for item in items.unwrap_or_default() {
            if limit.is_some_and(|l| seen >= l) {
                return Ok(seen);
            }
            each(item)?;
            seen += 1;
        }
        if !page.has_next || limit.is_some_and(|l| seen >= l) {
            return Ok(seen);
        }
        match style {
            Pagination::Django | Pagination::DjangoPat | Pagination::DjangoOat => {
                match page.next_url {
                    Some(u) => next_url = Some(u),
                    None => return Ok(seen),
                }
            }
            Pagination::AuditPages => {
                let cur = params.get("page").and_then(Value::as_u64).unwrap_or(1);
                params.insert("page".into(), (cur + 1).into());
            }
            Pagination::Scim => {
                let start = env
                    .data
                    .get("startIndex")
                    .and_then(Value::as_u64)
                    .unwrap_or(1);
                params.insert("startIndex".into(), (start + n as u64).into());
            }
            Pagination::None | Pagination::Unpaged => return Ok(seen),
        }
    }
}
