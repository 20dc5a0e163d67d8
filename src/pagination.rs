//! Item streams over the five pagination styles (hub-api-facts §6).
//!
//! One page is held in memory at a time, so walking 10,000 tags costs the
//! same memory as walking 100.

use futures::{Stream, StreamExt, TryStreamExt};
use serde_json::{Map, Value};

use crate::catalog::{Operation, Pagination};
use crate::client::Hub;
use crate::envelope::Envelope;
use crate::error::{Error, Result};

/// Largest page size each style allows.
pub fn max_page_size(style: Pagination) -> u64 {
    match style {
        Pagination::Scim => 200,
        _ => 100,
    }
}

/// The items of one page and where the walk goes next.
#[derive(Debug, Clone, PartialEq)]
pub struct PageView {
    /// The page's items.
    pub items: Vec<Value>,
    /// Total across all pages, when the style reports it.
    pub total: Option<u64>,
    /// Whether another page follows.
    pub has_next: bool,
    /// The `next` link (Django styles).
    pub next_url: Option<String>,
}

/// Read one page's items out of a list answer (copying them; see [`take_view`]).
pub fn view(style: Pagination, data: &Value, page_size: Option<u64>) -> Option<PageView> {
    take_view(style, &mut data.clone(), page_size)
}

/// Move one page's items out of a list answer (the list is left empty), and
/// read its total and where the walk goes next.
pub fn take_view(style: Pagination, data: &mut Value, page_size: Option<u64>) -> Option<PageView> {
    let num = |d: &Value, k: &str| d.get(k).and_then(Value::as_u64);
    let key = match style {
        Pagination::None => return None,
        Pagination::Django | Pagination::DjangoPat | Pagination::DjangoOat => "results",
        Pagination::AuditPages => "logs",
        Pagination::Unpaged => "data",
        Pagination::Scim if data.get("Resources").is_some_and(Value::is_array) => "Resources",
        Pagination::Scim => "resources",
    };
    let items = match data.get_mut(key)? {
        Value::Array(a) => std::mem::take(a),
        _ => return None,
    };
    let page = match style {
        Pagination::Django | Pagination::DjangoPat | Pagination::DjangoOat => {
            let next_url = data.get("next").and_then(Value::as_str).map(str::to_string);
            PageView {
                total: num(data, "count").or_else(|| num(data, "total")),
                has_next: next_url.is_some(),
                next_url,
                items,
            }
        }
        Pagination::AuditPages => PageView {
            total: None,
            has_next: !items.is_empty() && page_size.is_some_and(|n| items.len() as u64 >= n),
            next_url: None,
            items,
        },
        Pagination::Scim => {
            let start = num(data, "startIndex").unwrap_or(1);
            let total = num(data, "totalResults");
            let seen = start.saturating_sub(1) + items.len() as u64;
            PageView {
                has_next: !items.is_empty() && total.is_some_and(|t| seen < t),
                total,
                next_url: None,
                items,
            }
        }
        Pagination::Unpaged | Pagination::None => PageView {
            items,
            total: None,
            has_next: false,
            next_url: None,
        },
    };
    Some(page)
}

struct Walk {
    hub: Hub,
    op: &'static Operation,
    params: Map<String, Value>,
    page_size: u64,
    next: Next,
}

enum Next {
    First,
    Url(String),
    Page(u64),
    ScimStart(u64),
    Done,
}

impl Walk {
    /// Fetch the next page, or `None` at the end.
    async fn fetch(&mut self) -> Result<Option<PageView>> {
        let style = self.op.pagination;
        let mut env: Envelope = match std::mem::replace(&mut self.next, Next::Done) {
            Next::Done => return Ok(None),
            Next::Url(u) => self.hub.call_url(self.op, &u).await?,
            Next::First => {
                self.hub
                    .call(self.op, &Value::Object(self.params.clone()))
                    .await?
            }
            Next::Page(n) => {
                self.params.insert("page".into(), n.into());
                self.hub
                    .call(self.op, &Value::Object(self.params.clone()))
                    .await?
            }
            Next::ScimStart(n) => {
                self.params.insert("startIndex".into(), n.into());
                self.hub
                    .call(self.op, &Value::Object(self.params.clone()))
                    .await?
            }
        };
        let start = env
            .data
            .get("startIndex")
            .and_then(Value::as_u64)
            .unwrap_or(1);
        let page =
            take_view(style, &mut env.data, Some(self.page_size)).ok_or_else(|| Error::Decode {
                operation: self.op.qualified_name(),
                message: format!("the answer is not a {style:?} list page"),
                excerpt: env.data.to_string().chars().take(200).collect(),
            })?;
        self.next = match style {
            _ if !page.has_next => Next::Done,
            Pagination::Django | Pagination::DjangoPat | Pagination::DjangoOat => {
                page.next_url.clone().map_or(Next::Done, Next::Url)
            }
            Pagination::AuditPages => {
                let cur = self.params.get("page").and_then(Value::as_u64).unwrap_or(1);
                Next::Page(cur + 1)
            }
            Pagination::Scim => Next::ScimStart(start + page.items.len() as u64),
            _ => Next::Done,
        };
        Ok(Some(page))
    }
}

impl Hub {
    /// Stream the pages of a list operation (items moved out of each answer,
    /// with the total when the style reports one). Non-list operations yield
    /// nothing. The next page is fetched only when polled.
    pub fn pages(
        &self,
        op: &'static Operation,
        params: &Value,
    ) -> impl Stream<Item = Result<PageView>> + Send + 'static {
        let mut map = params.as_object().cloned().unwrap_or_default();
        let size_key = if op.pagination == Pagination::Scim {
            "count"
        } else {
            "page_size"
        };
        let page_size = map
            .get(size_key)
            .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))
            .unwrap_or(max_page_size(op.pagination));
        if op.params.iter().any(|p| p.name == size_key) {
            map.insert(size_key.into(), page_size.into());
        }
        let walk = Walk {
            hub: self.clone(),
            op,
            params: map,
            page_size,
            next: if op.pagination == Pagination::None {
                Next::Done
            } else {
                Next::First
            },
        };
        futures::stream::try_unfold(walk, |mut w| async move {
            Ok(w.fetch().await?.map(|page| (page, w)))
        })
    }

    /// Stream every item of a list operation, page by page, stopping after
    /// `limit` items when given. Non-list operations yield nothing.
    pub fn items(
        &self,
        op: &'static Operation,
        params: &Value,
        limit: Option<usize>,
    ) -> impl Stream<Item = Result<Value>> + Send + 'static {
        let items = self
            .pages(op, params)
            .map_ok(|page| futures::stream::iter(page.items.into_iter().map(Ok)))
            .try_flatten();
        items.take(limit.unwrap_or(usize::MAX))
    }
}
