//! Request context, replies, Hub-shaped errors and pagination helpers.

use bytes::Bytes;
use poem::http::Method;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::auth::Caller;
use crate::util::encode_component;

/// Everything a route handler sees of a request.
#[derive(Debug)]
pub struct Ctx {
    pub method: Method,
    /// The request path as sent (still percent-encoded), without trailing slash.
    pub raw_path: String,
    /// Decoded path segments.
    pub segs: Vec<String>,
    pub query: Vec<(String, String)>,
    pub body: Bytes,
    pub caller: Caller,
    pub base_url: String,
}

impl Ctx {
    /// The first value of a query parameter.
    pub fn q(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A non-empty query parameter.
    pub fn q_nonempty(&self, key: &str) -> Option<&str> {
        self.q(key).filter(|v| !v.is_empty())
    }

    /// Decode the JSON body into `T`; malformed JSON or wrong types give 400.
    pub fn body_as<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::bad_request("Request body is required"));
        }
        serde_json::from_slice(&self.body)
            .map_err(|e| ApiError::bad_request(format!("Invalid request body: {e}")))
    }

    /// The absolute URL of this request with `page` set to `page`.
    pub fn page_link(&self, key: &str, page: usize) -> String {
        let mut pairs: Vec<String> = self
            .query
            .iter()
            .filter(|(k, _)| k != key)
            .map(|(k, v)| format!("{}={}", encode_component(k), encode_component(v)))
            .collect();
        pairs.push(format!("{key}={page}"));
        format!("{}{}?{}", self.base_url, self.raw_path, pairs.join("&"))
    }
}

/// Body of a successful reply.
#[derive(Debug)]
pub enum ReplyBody {
    Empty,
    Json(Value),
    Scim(Value),
    Raw {
        content_type: &'static str,
        bytes: Vec<u8>,
    },
}

/// A successful reply.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: ReplyBody,
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub fn json(status: u16, v: Value) -> Self {
        Self {
            status,
            body: ReplyBody::Json(v),
            headers: Vec::new(),
        }
    }
    pub fn ok(v: Value) -> Self {
        Self::json(200, v)
    }
    pub fn created(v: Value) -> Self {
        Self::json(201, v)
    }
    pub fn no_content() -> Self {
        Self {
            status: 204,
            body: ReplyBody::Empty,
            headers: Vec::new(),
        }
    }
    pub fn scim(status: u16, v: Value) -> Self {
        Self {
            status,
            body: ReplyBody::Scim(v),
            headers: Vec::new(),
        }
    }
}

pub type HResult = Result<Reply, ApiError>;

/// Optional parts of an error reply (boxed to keep `ApiError` small).
#[derive(Debug, Clone, Default)]
pub struct ErrorExtras {
    pub field: Option<String>,
    pub scim_type: Option<&'static str>,
    /// Extra top-level keys merged into the Hub body.
    pub extra: Map<String, Value>,
    /// Replace the whole body.
    pub body: Option<Value>,
    pub headers: Vec<(&'static str, String)>,
}

/// An error reply in Hub's shape (or SCIM's, on SCIM routes).
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: u16,
    pub detail: String,
    extras: Option<Box<ErrorExtras>>,
}

impl ApiError {
    pub fn new(status: u16, detail: impl Into<String>) -> Self {
        Self {
            status,
            detail: detail.into(),
            extras: None,
        }
    }
    fn extras_mut(&mut self) -> &mut ErrorExtras {
        self.extras.get_or_insert_with(Box::default)
    }
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(400, detail)
    }
    pub fn field(field: &str, detail: impl Into<String>) -> Self {
        let mut e = Self::new(400, detail);
        e.extras_mut().field = Some(field.to_string());
        e
    }
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(401, detail)
    }
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(403, detail)
    }
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(404, detail)
    }
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(409, detail)
    }
    pub fn with_extra(mut self, key: &str, v: Value) -> Self {
        self.extras_mut().extra.insert(key.to_string(), v);
        self
    }
    pub fn with_scim_type(mut self, t: &'static str) -> Self {
        self.extras_mut().scim_type = Some(t);
        self
    }
    /// Replace the whole (Hub) body.
    pub fn with_body(mut self, body: Value) -> Self {
        self.extras_mut().body = Some(body);
        self
    }
    pub fn with_header(mut self, name: &'static str, value: String) -> Self {
        self.extras_mut().headers.push((name, value));
        self
    }
    pub fn headers(&self) -> &[(&'static str, String)] {
        self.extras.as_ref().map_or(&[], |x| x.headers.as_slice())
    }

    /// The Hub error body: `detail` and `message`, plus `fields`/`text` on 400s.
    pub fn hub_body(&self) -> Value {
        let extras = self.extras.as_deref();
        if let Some(b) = extras.and_then(|x| x.body.as_ref()) {
            return b.clone();
        }
        let mut m = Map::new();
        m.insert("detail".into(), json!(self.detail));
        m.insert("message".into(), json!(self.detail));
        if self.status == 400 {
            let field = extras
                .and_then(|x| x.field.clone())
                .unwrap_or_else(|| "non_field_errors".to_string());
            m.insert("fields".into(), json!({ field: [self.detail] }));
            m.insert("text".into(), json!(self.detail));
        }
        if let Some(x) = extras {
            for (k, v) in &x.extra {
                m.insert(k.clone(), v.clone());
            }
        }
        Value::Object(m)
    }

    /// The SCIM error body.
    pub fn scim_body(&self) -> Value {
        let mut v = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "status": self.status.to_string(),
            "detail": self.detail,
        });
        let scim_type = self.extras.as_deref().and_then(|x| x.scim_type);
        if let (Some(t), Some(m)) = (scim_type, v.as_object_mut()) {
            m.insert("scimType".into(), json!(t));
        }
        v
    }
}

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

/// Page an in-memory list of JSON items Django-style.
pub fn paginate(ctx: &Ctx, items: Vec<Value>, default: usize, key: CountKey) -> HResult {
    let page = page_params(ctx, default, 100)?;
    let total = items.len();
    let results: Vec<Value> = items
        .into_iter()
        .skip(page.offset())
        .take(page.size)
        .collect();
    Ok(Reply::ok(Value::Object(django_page(
        ctx, page, total, results, key,
    )?)))
}
