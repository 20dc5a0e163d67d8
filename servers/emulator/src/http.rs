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
