//! HS256 JSON Web Tokens, signed with a per-process random key.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

pub const ISSUER: &str = "dockerhub-emulator";

/// Which credential a JWT was minted from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CredKind {
    /// Password login (including the 2FA round trip).
    Password,
    /// Personal access token.
    Pat,
    /// Organization access token.
    Oat,
}

/// The claims the emulator puts in its JWTs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub username: String,
    pub iat: u64,
    pub exp: u64,
    pub iss: String,
    pub jti: u64,
    /// Credential kind: `password`, `pat` or `oat`.
    pub cred: CredKind,
    /// Id of the PAT/OAT the token was minted from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scope: Vec<String>,
}

/// Why a bearer token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtError {
    Malformed,
    BadSignature,
    Expired,
}

#[derive(Clone)]
pub struct Signer {
    key: Vec<u8>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(..)")
    }
}

impl Signer {
    pub fn new_random() -> Self {
        let key: [u8; 32] = rand::random();
        Self { key: key.to_vec() }
    }

    fn mac(&self, data: &[u8]) -> Option<Vec<u8>> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).ok()?;
        mac.update(data);
        Some(mac.finalize().into_bytes().to_vec())
    }

    pub fn sign(&self, claims: &Claims) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
        let signing_input = format!("{header}.{payload}");
        let sig = self.mac(signing_input.as_bytes()).unwrap_or_default();
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig))
    }

    /// Check the signature and decode the claims (expiry is checked by the caller).
    pub fn verify(&self, token: &str) -> Result<Claims, JwtError> {
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwtError::Malformed);
        };
        let sig = URL_SAFE_NO_PAD.decode(s).map_err(|_| JwtError::Malformed)?;
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).map_err(|_| JwtError::Malformed)?;
        mac.update(h.as_bytes());
        mac.update(b".");
        mac.update(p.as_bytes());
        mac.verify_slice(&sig).map_err(|_| JwtError::BadSignature)?;
        let payload = URL_SAFE_NO_PAD.decode(p).map_err(|_| JwtError::Malformed)?;
        let claims: Claims = serde_json::from_slice(&payload).map_err(|_| JwtError::Malformed)?;
        if claims.exp <= crate::util::now_secs() {
            return Err(JwtError::Expired);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_tamper() {
        let s = Signer::new_random();
        let c = Claims {
            sub: "1".into(),
            username: "demo".into(),
            iat: 1,
            exp: crate::util::now_secs() + 60,
            iss: ISSUER.into(),
            jti: 1,
            cred: CredKind::Pat,
            token_id: None,
            scope: vec![],
        };
        let t = s.sign(&c);
        assert_eq!(s.verify(&t).map(|c| c.username), Ok("demo".to_string()));
        let other = Signer::new_random();
        assert_eq!(other.verify(&t).err(), Some(JwtError::BadSignature));
        assert_eq!(s.verify("a.b").err(), Some(JwtError::Malformed));
    }
}
