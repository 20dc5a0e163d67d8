//! The one redaction function every front end uses.

use serde_json::Value;

/// What a redacted value is replaced with (the seed's marker).
pub const REDACTED: &str = "***redacted***";

/// Keys whose values are always secret, at any depth (the seed's set plus `token`).
pub const SECRET_KEYS: &[&str] = &[
    "secret",
    "password",
    "access_token",
    "refresh_token",
    "jwt",
    "token",
];

fn is_secret_key(k: &str) -> bool {
    SECRET_KEYS.iter().any(|s| k.eq_ignore_ascii_case(s))
}

/// Whether a string looks like a credential even under an innocent key:
/// a Docker PAT or OAT, or a JWT.
pub fn looks_secret(s: &str) -> bool {
    if s.contains("dckr_pat_") || s.contains("dckr_oat_") {
        return true;
    }
    if !s.contains("eyJ") {
        return false;
    }
    s.split(|c: char| c.is_whitespace() || c == '"' || c == '\'')
        .any(is_jwt_like)
}

fn is_jwt_like(w: &str) -> bool {
    let w = w.strip_prefix("Bearer").unwrap_or(w);
    let mut parts = w.split('.');
    let (Some(a), Some(b), Some(_c), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    a.starts_with("eyJ") && b.len() >= 8 && a.len() >= 8
}

/// Replace every secret in `value`: values under [`SECRET_KEYS`] at any depth,
/// and strings that look like tokens anywhere. With `show_token_once` (the
/// answer of a PAT or OAT creation, see
/// [`Operation::shows_token_once`](crate::catalog::Operation::shows_token_once))
/// the top-level `token` is kept: it is the one time Hub shows the plaintext.
pub fn redact(value: &mut Value, show_token_once: bool) {
    if show_token_once && let Value::Object(map) = value {
        for (k, v) in map.iter_mut() {
            if k == "token" {
                continue;
            }
            redact_in(k, v);
        }
        return;
    }
    redact_value(value);
}

fn redact_in(key: &str, v: &mut Value) {
    if is_secret_key(key) && !v.is_null() {
        *v = Value::String(REDACTED.into());
    } else {
        redact_value(v);
    }
}

fn redact_value(value: &mut Value) {
    match value {
        Value::Object(map) => map.iter_mut().for_each(|(k, v)| redact_in(k, v)),
        Value::Array(items) => items.iter_mut().for_each(redact_value),
        Value::String(s) if looks_secret(s) => *s = REDACTED.into(),
        _ => {}
    }
}

/// Redact a free text (an error body excerpt, a log line).
pub fn redact_text(text: &str) -> String {
    if let Ok(mut v) = serde_json::from_str::<Value>(text)
        && (v.is_object() || v.is_array())
    {
        redact(&mut v, false);
        return v.to_string();
    }
    text.split_inclusive(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == ',')
        .map(|w| {
            let core = w
                .trim_end_matches(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == ',');
            if looks_secret(core) {
                w.replacen(core, REDACTED, 1)
            } else {
                w.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_keys_and_patterns() {
        let mut v = json!({"a": {"Password": "x", "list": [{"token": "t"}]},
                           "note": "use dckr_pat_abc", "jwt": null,
                           "b": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZW1vIn0.sig"});
        redact(&mut v, false);
        assert_eq!(v["a"]["Password"], REDACTED);
        assert_eq!(v["a"]["list"][0]["token"], REDACTED);
        assert_eq!(v["note"], REDACTED);
        assert_eq!(v["b"], REDACTED);
        assert!(v["jwt"].is_null());
    }

    #[test]
    fn creation_shows_token_once() {
        let mut v = json!({"token": "dckr_pat_new", "token_label": "ci", "nested": {"token": "x"}});
        redact(&mut v, true);
        assert_eq!(v["token"], "dckr_pat_new");
        assert_eq!(v["nested"]["token"], REDACTED);
        let mut v = json!({"token": "dckr_pat_new"});
        redact(&mut v, false);
        assert_eq!(v["token"], REDACTED);
    }

    #[test]
    fn text() {
        let t = redact_text("bad token dckr_oat_123, retry");
        assert_eq!(t, format!("bad token {REDACTED}, retry"));
        assert!(!redact_text(r#"{"access_token":"abc"}"#).contains("abc"));
    }
}
