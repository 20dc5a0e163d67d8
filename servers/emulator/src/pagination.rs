//! Pagination helpers: Django pages (`{count|total, next, previous, results}`) with absolute links.

use serde_json::{Map, Value, json};

use crate::http::{ApiError, Ctx, HResult, Reply};

/// A parsed `page`/`page_size` pair.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub page: usize,
    pub size: usize,
}

impl Page {
    pub fn offset(&self) -> usize {
        self.page.saturating_sub(1).saturating_mul(self.size)
    }
}

/// Parse a positive integer query parameter ("3" or "3.0").
fn positive(ctx: &Ctx, key: &str) -> Result<Option<usize>, ApiError> {
    let Some(raw) = ctx.q_nonempty(key) else {
        return Ok(None);
    };
    let n = raw
        .parse::<usize>()
        .ok()
        .or_else(|| {
            raw.parse::<f64>()
                .ok()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < 1e15)
                .map(|f| f as usize)
        })
        .ok_or_else(|| ApiError::field(key, format!("{key} must be a positive integer")))?;
    if n == 0 {
        return Err(ApiError::field(key, format!("{key} must be at least 1")));
    }
    Ok(Some(n))
}

/// Read `page` (default 1) and `page_size` (default `default`, above `max` gives 400).
pub fn page_params(ctx: &Ctx, default: usize, max: usize) -> Result<Page, ApiError> {
    let page = positive(ctx, "page")?.unwrap_or(1);
    let size = positive(ctx, "page_size")?.unwrap_or(default);
    if size > max {
        return Err(ApiError::field(
            "page_size",
            format!("page_size must be at most {max}"),
        ));
    }
    Ok(Page { page, size })
}

/// Which key carries the total in a Django-style page.
#[derive(Debug, Clone, Copy)]
pub enum CountKey {
    Count,
    Total,
}

/// Build a Django page `{count, next, previous, results}` (404 for a page past the end).
pub fn django_page(
    ctx: &Ctx,
    page: Page,
    total: usize,
    results: Vec<Value>,
    key: CountKey,
) -> Result<Map<String, Value>, ApiError> {
    let last = total.div_ceil(page.size).max(1);
    if page.page > last {
        return Err(ApiError::not_found("Invalid page."));
    }
    let next = (page.page < last).then(|| ctx.page_link("page", page.page + 1));
    let previous = (page.page > 1).then(|| ctx.page_link("page", page.page - 1));
    let mut m = Map::new();
    let k = match key {
        CountKey::Count => "count",
        CountKey::Total => "total",
    };
    m.insert(k.into(), json!(total));
    m.insert("next".into(), json!(next));
    m.insert("previous".into(), json!(previous));
    m.insert("results".into(), Value::Array(results));
    Ok(m)
}

/// Reply with a Django page of `results` (one page of `total`).
pub fn page_reply(
    ctx: &Ctx,
    page: Page,
    total: usize,
    results: Vec<Value>,
    key: CountKey,
) -> HResult {
    Ok(Reply::ok(Value::Object(django_page(
        ctx, page, total, results, key,
    )?)))
}

/// Page an in-memory list of JSON items Django-style.
pub fn paginate(ctx: &Ctx, items: Vec<Value>, default: usize, key: CountKey) -> HResult {
    let page = page_params(ctx, default, 100)?;
    let total = items.len();
    let results: Vec<Value> = items
        .into_iter()
        .skip(page.offset())
        .take(page.size)
        .collect();
    page_reply(ctx, page, total, results, key)
}
