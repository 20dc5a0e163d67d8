//! JWT cache with single-flight minting, and local JWT introspection.

use std::future::Future;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

use crate::error::Result;

/// Refresh this long before `exp`.
pub const REFRESH_BEFORE: Duration = Duration::from_secs(60);
/// Lifetime assumed when a JWT has no `exp`.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);

/// Decode a JWT's payload without checking the signature.
pub fn decode_claims(jwt: &str) -> Option<Map<String, Value>> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

/// The `exp` claim of a JWT, as a time.
pub fn jwt_expiry(jwt: &str) -> Option<SystemTime> {
    let exp = decode_claims(jwt)?.get("exp")?.as_f64()?;
    (exp.is_finite() && exp >= 0.0).then(|| UNIX_EPOCH + Duration::from_secs_f64(exp))
}

/// The non-secret claims shown by `whoami`: sub, username, exp, iat, iss,
/// aud, scope and uuid (whichever are present).
pub fn public_claims(jwt: &str) -> Map<String, Value> {
    const KEEP: &[&str] = &[
        "sub", "username", "exp", "iat", "iss", "aud", "scope", "uuid",
    ];
    let mut out = Map::new();
    if let Some(claims) = decode_claims(jwt) {
        for (k, v) in claims {
            let short = k.rsplit('/').next().unwrap_or(&k).to_string();
            if KEEP.contains(&short.as_str()) {
                out.insert(short, v);
            }
        }
    }
    out
}

/// A bearer and when to stop using it.
#[derive(Clone)]
pub struct Token {
    /// The JWT.
    pub secret: SecretString,
    /// When to refresh (60 s before `exp`).
    pub refresh_at: SystemTime,
    /// Increases with every mint; lets a 401 ask for a token newer than the
    /// one that failed.
    pub generation: u64,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("secret", &"***")
            .field("refresh_at", &self.refresh_at)
            .field("generation", &self.generation)
            .finish()
    }
}

impl Token {
    /// Wrap a freshly minted JWT, reading its `exp`.
    pub fn new(jwt: SecretString, now: SystemTime, generation: u64) -> Token {
        let exp = jwt_expiry(jwt.expose_secret()).unwrap_or(now + DEFAULT_LIFETIME);
        let refresh_at = exp.checked_sub(REFRESH_BEFORE).unwrap_or(exp);
        Token {
            secret: jwt,
            refresh_at,
            generation,
        }
    }
}

/// A cached JWT. Concurrent callers that find it cold or stale share one
/// mint (single flight).
#[derive(Debug, Default)]
pub struct TokenCache {
    slot: RwLock<Option<Token>>,
    mint_lock: tokio::sync::Mutex<()>,
    generation: AtomicU64,
    mints: AtomicU64,
}

impl TokenCache {
    fn fresh(&self, now: SystemTime, newer_than: Option<u64>) -> Option<Token> {
        let slot = self.slot.read().ok()?;
        let t = slot.as_ref()?;
        let new_enough = newer_than.is_none_or(|g| t.generation > g);
        (now < t.refresh_at && new_enough).then(|| t.clone())
    }

    /// The cached token if it is fresh (and newer than `newer_than`), else
    /// the result of `mint`, run by exactly one of the concurrent callers.
    pub async fn get<F, Fut>(
        &self,
        now: impl Fn() -> SystemTime,
        newer_than: Option<u64>,
        mint: F,
    ) -> Result<Token>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<SecretString>>,
    {
        if let Some(t) = self.fresh(now(), newer_than) {
            return Ok(t);
        }
        let _guard = self.mint_lock.lock().await;
        if let Some(t) = self.fresh(now(), newer_than) {
            return Ok(t);
        }
        let jwt = mint().await?;
        self.mints.fetch_add(1, Ordering::Relaxed);
        let generation = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
        let token = Token::new(jwt, now(), generation);
        if let Ok(mut slot) = self.slot.write() {
            *slot = Some(token.clone());
        }
        Ok(token)
    }

    /// The cached token, fresh or not (for `whoami`).
    pub fn current(&self) -> Option<Token> {
        self.slot.read().ok().and_then(|s| s.clone())
    }

    /// How many JWTs this cache has minted.
    pub fn mint_count(&self) -> u64 {
        self.mints.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn jwt(exp: u64) -> String {
        let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.sig",
            e.encode(br#"{"alg":"HS256"}"#),
            e.encode(format!(r#"{{"sub":"u1","username":"demo","exp":{exp}}}"#))
        )
    }

    #[test]
    fn claims() {
        let t = jwt(2_000_000_000);
        assert_eq!(
            jwt_expiry(&t),
            Some(UNIX_EPOCH + Duration::from_secs(2_000_000_000))
        );
        assert_eq!(public_claims(&t)["username"], "demo");
        assert!(decode_claims("not-a-jwt").is_none());
    }

    #[tokio::test]
    async fn single_flight_and_refresh() {
        let cache = Arc::new(TokenCache::default());
        let now = || UNIX_EPOCH + Duration::from_secs(1_000_000);
        let mut handles = Vec::new();
        for _ in 0..50 {
            let c = cache.clone();
            handles.push(tokio::spawn(async move {
                c.get(now, None, || async {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    Ok(SecretString::from(jwt(1_000_600)))
                })
                .await
                .map(|t| t.generation)
            }));
        }
        for h in handles {
            assert_eq!(h.await.ok().and_then(|r| r.ok()), Some(1));
        }
        assert_eq!(cache.mint_count(), 1);
        // 30 s before exp is inside the refresh window: mint again.
        let later = || UNIX_EPOCH + Duration::from_secs(1_000_570);
        let t = cache
            .get(later, None, || async {
                Ok(SecretString::from(jwt(1_001_200)))
            })
            .await
            .map(|t| t.generation);
        assert_eq!(t.ok(), Some(2));
        // A 401 asks for a token newer than generation 2.
        let t = cache
            .get(later, Some(2), || async {
                Ok(SecretString::from(jwt(1_001_200)))
            })
            .await
            .map(|t| t.generation);
        assert_eq!(t.ok(), Some(3));
        assert_eq!(cache.mint_count(), 3);
    }
}
