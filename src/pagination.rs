//! Item streams over the five pagination styles (hub-api-facts §6).
//!
//! One page is held in memory at a time, so walking 10,000 tags costs the
//! same memory as walking 100.

use std::collections::VecDeque;

use futures::Stream;
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

/// Read one page's items out of a list answer.
pub fn view(style: Pagination, data: &Value, page_size: Option<u64>) -> Option<PageView> {
    let arr = |k: &str| data.get(k).and_then(Value::as_array).cloned();
    let num = |k: &str| data.get(k).and_then(Value::as_u64);
    match style {
        Pagination::None => None,
        Pagination::Django | Pagination::DjangoPat | Pagination::DjangoOat => {
            let items = arr("results")?;
            let next_url = data.get("next").and_then(Value::as_str).map(str::to_string);
            Some(PageView {
                total: num("count").or_else(|| num("total")),
                has_next: next_url.is_some(),
                next_url,
                items,
            })
        }
        Pagination::AuditPages => {
            let items = arr("logs")?;
            let full = page_size.is_some_and(|n| items.len() as u64 >= n);
            Some(PageView {
                total: None,
                has_next: !items.is_empty() && full,
                next_url: None,
                items,
            })
        }
        Pagination::Unpaged => Some(PageView {
            items: arr("data")?,
            total: None,
            has_next: false,
            next_url: None,
        }),
        Pagination::Scim => {
            let items = arr("Resources").or_else(|| arr("resources"))?;
            let start = num("startIndex").unwrap_or(1);
            let total = num("totalResults");
            let seen = start.saturating_sub(1) + items.len() as u64;
            Some(PageView {
                has_next: !items.is_empty() && total.is_some_and(|t| seen < t),
                total,
                next_url: None,
                items,
            })
        }
    }
}

struct Walk {
    hub: Hub,
    op: &'static Operation,
    params: Map<String, Value>,
    page_size: u64,
    next: Next,
    buffer: VecDeque<Value>,
    left: Option<usize>,
}

enum Next {
    First,
    Url(String),
    Page(u64),
    ScimStart(u64),
    Done,
}

impl Walk {
    async fn fetch(&mut self) -> Result<()> {
        let style = self.op.pagination;
        let env: Envelope = match std::mem::replace(&mut self.next, Next::Done) {
            Next::Done => return Ok(()),
            Next::Url(u) => self.hub.call_url(self.op, &u).await?,
            Next::First => {
                self.hub
                    .call(self.op, &Value::Object(self.params.clone()))
                    .await?
            }
            Next::Page(n) => {
                let mut p = self.params.clone();
                p.insert("page".into(), n.into());
                self.hub.call(self.op, &Value::Object(p)).await?
            }
            Next::ScimStart(n) => {
                let mut p = self.params.clone();
                p.insert("startIndex".into(), n.into());
                self.hub.call(self.op, &Value::Object(p)).await?
            }
        };
        let page = view(style, &env.data, Some(self.page_size)).ok_or_else(|| Error::Decode {
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
                let n = cur + 1;
                self.params.insert("page".into(), n.into());
                Next::Page(n)
            }
            Pagination::Scim => {
                let start = env
                    .data
                    .get("startIndex")
                    .and_then(Value::as_u64)
                    .unwrap_or(1);
                Next::ScimStart(start + page.items.len() as u64)
            }
            _ => Next::Done,
        };
        self.buffer.extend(page.items);
        Ok(())
    }
}

impl Hub {
    /// Stream every item of a list operation, page by page, stopping after
    /// `limit` items when given. Non-list operations yield nothing.
    pub fn items(
        &self,
        op: &'static Operation,
        params: &Value,
        limit: Option<usize>,
    ) -> impl Stream<Item = Result<Value>> + Send + 'static {
        let mut map = params.as_object().cloned().unwrap_or_default();
        let size_key = if op.pagination == Pagination::Scim {
            "count"
        } else {
            "page_size"
        };
        let has_size = op.params.iter().any(|p| p.name == size_key);
        let page_size = map
            .get(size_key)
            .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))
            .unwrap_or(max_page_size(op.pagination));
        if has_size {
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
            buffer: VecDeque::new(),
            left: limit,
        };
        futures::stream::try_unfold(walk, |mut w| async move {
            if w.left == Some(0) {
                return Ok(None);
            }
            while w.buffer.is_empty() {
                if matches!(w.next, Next::Done) {
                    return Ok(None);
                }
                w.fetch().await?;
            }
            let item = w.buffer.pop_front();
            if let Some(n) = w.left.as_mut() {
                *n -= 1;
            }
            Ok(item.map(|i| (i, w)))
        })
    }
}
