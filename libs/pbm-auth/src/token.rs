//! Signed bearer tokens: compact JWTs signed with Ed25519 (`alg = EdDSA`), verified by a
//! pluggable [`TokenVerifier`]. A 国密 SM2 verifier implements the same trait.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use pbm_types::DivisionCode;

use crate::{Caller, Role};

/// The claims PBM reads from a token.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    pub mof_div_code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expert: Option<String>,
    /// Issued at, seconds since the Unix epoch.
    pub iat: i64,
    /// Expires at, seconds since the Unix epoch.
    pub exp: i64,
}

impl Claims {
    /// Claims for `sub` acting as `role` in region `mof_div_code`, issued now and valid for
    /// `valid_secs` seconds, with no unit, department, agency or expert (the `with_*` methods
    /// add them).
    pub fn new(
        sub: impl Into<String>,
        role: Role,
        mof_div_code: impl Into<String>,
        valid_secs: i64,
    ) -> Self {
        let now = chrono::Utc::now().timestamp();
        Self {
            sub: sub.into(),
            role,
            mof_div_code: mof_div_code.into(),
            unit: None,
            department: None,
            agency: None,
            expert: None,
            iat: now,
            exp: now + valid_secs,
        }
    }

    /// The budget unit (`AGENCY_CODE`) the caller acts for.
    pub fn with_unit(mut self, unit: Option<&str>) -> Self {
        self.unit = unit.map(Into::into);
        self
    }

    /// The department the caller acts for.
    pub fn with_department(mut self, department: Option<&str>) -> Self {
        self.department = department.map(Into::into);
        self
    }

    /// The third-party agency (credit code) the caller acts for.
    pub fn with_agency(mut self, agency: Option<&str>) -> Self {
        self.agency = agency.map(Into::into);
        self
    }

    /// The expert the caller is.
    pub fn with_expert(mut self, expert: Option<&str>) -> Self {
        self.expert = expert.map(Into::into);
        self
    }

    pub fn into_caller(self) -> Result<Caller, TokenError> {
        let mof_div_code =
            DivisionCode::parse(&self.mof_div_code).map_err(|_| TokenError::Malformed)?;
        Ok(Caller {
            subject: self.sub,
            role: self.role,
            mof_div_code,
            unit: self.unit,
            department: self.department,
            agency: self.agency,
            expert: self.expert,
            authenticated: true,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token is malformed")]
    Malformed,
    #[error("token signed by unknown key `{0}`")]
    UnknownKey(String),
    #[error("token signature is invalid")]
    BadSignature,
    #[error("token has expired")]
    Expired,
    #[error("development tokens are refused in production")]
    DevelopmentKeyRefused,
}

/// Verifies a bearer token and returns its claims.
pub trait TokenVerifier: Send + Sync + 'static {
    fn verify(&self, token: &str, now_unix: i64) -> Result<Claims, TokenError>;
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Header {
    alg: String,
    typ: String,
    kid: String,
}

/// Signs tokens (development key, or a key an operator's identity service uses).
pub struct TokenSigner {
    kid: String,
    key: SigningKey,
}

impl TokenSigner {
    pub fn new(kid: impl Into<String>, key: SigningKey) -> Self {
        Self {
            kid: kid.into(),
            key,
        }
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    pub fn sign(&self, claims: &Claims) -> String {
        let header = Header {
            alg: "EdDSA".into(),
            typ: "JWT".into(),
            kid: self.kid.clone(),
        };
        let header =
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).expect("header serialises"));
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims serialise"));
        let signing_input = format!("{header}.{payload}");
        let signature = self.key.sign(signing_input.as_bytes());
        format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.to_bytes())
        )
    }
}

/// Verifies Ed25519-signed tokens against a set of public keys by key id.
#[derive(Default, Clone)]
pub struct Ed25519Verifier {
    keys: HashMap<String, VerifyingKey>,
    refuse_kids: Vec<String>,
}

impl Ed25519Verifier {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_key(mut self, kid: impl Into<String>, key: VerifyingKey) -> Self {
        self.keys.insert(kid.into(), key);
        self
    }

    /// Refuses tokens whose key id is `kid` even if a key is known (production refuses `dev`).
    pub fn refusing(mut self, kid: impl Into<String>) -> Self {
        self.refuse_kids.push(kid.into());
        self
    }

    pub fn key_ids(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }

    /// Parses `kid=base64(public key)` lines (blank lines and `#` comments ignored).
    pub fn from_key_file(text: &str) -> Result<Self, String> {
        let mut verifier = Self::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (kid, key) = line
                .split_once('=')
                .ok_or_else(|| format!("line {}: expected kid=key", n + 1))?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(key.trim())
                .or_else(|_| URL_SAFE_NO_PAD.decode(key.trim()))
                .map_err(|e| format!("line {}: {e}", n + 1))?;
            let bytes: [u8; 32] = bytes
                .try_into()
                .map_err(|_| format!("line {}: key must be 32 bytes", n + 1))?;
            let key =
                VerifyingKey::from_bytes(&bytes).map_err(|e| format!("line {}: {e}", n + 1))?;
            verifier = verifier.with_key(kid.trim(), key);
        }
        Ok(verifier)
    }
}

impl TokenVerifier for Ed25519Verifier {
    fn verify(&self, token: &str, now_unix: i64) -> Result<Claims, TokenError> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let header: Header = URL_SAFE_NO_PAD
            .decode(header)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or(TokenError::Malformed)?;
        if header.alg != "EdDSA" {
            return Err(TokenError::Malformed);
        }
        if self.refuse_kids.contains(&header.kid) {
            return Err(TokenError::DevelopmentKeyRefused);
        }
        let key = self
            .keys
            .get(&header.kid)
            .ok_or_else(|| TokenError::UnknownKey(header.kid.clone()))?;
        let signature: [u8; 64] = URL_SAFE_NO_PAD
            .decode(signature)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(TokenError::Malformed)?;
        let signing_input_len = token.len() - token.rsplit('.').next().map_or(0, str::len) - 1;
        key.verify(
            &token.as_bytes()[..signing_input_len],
            &Signature::from_bytes(&signature),
        )
        .map_err(|_| TokenError::BadSignature)?;
        let claims: Claims = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or(TokenError::Malformed)?;
        if claims.exp <= now_unix {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims {
            sub: "alice".into(),
            role: Role::FinanceAdmin,
            mof_div_code: "140500".into(),
            unit: None,
            department: None,
            agency: None,
            expert: None,
            iat: 0,
            exp,
        }
    }

    fn signer() -> TokenSigner {
        TokenSigner::new("k1", SigningKey::from_bytes(&[7u8; 32]))
    }

    #[test]
    fn verifies_what_it_signed() {
        let s = signer();
        let v = Ed25519Verifier::new().with_key("k1", s.verifying_key());
        let token = s.sign(&claims(100));
        assert_eq!(v.verify(&token, 50).unwrap(), claims(100));
    }

    #[test]
    fn rejects_expired_tampered_and_unknown_tokens() {
        let s = signer();
        let v = Ed25519Verifier::new().with_key("k1", s.verifying_key());
        let token = s.sign(&claims(100));
        assert_eq!(v.verify(&token, 100), Err(TokenError::Expired));
        let mut forged = claims(100);
        forged.role = Role::Auditor;
        let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        let parts: Vec<&str> = token.split('.').collect();
        let tampered = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
        assert_eq!(v.verify(&tampered, 50), Err(TokenError::BadSignature));
        let other = TokenSigner::new("k2", SigningKey::from_bytes(&[9u8; 32])).sign(&claims(100));
        assert_eq!(
            v.verify(&other, 50),
            Err(TokenError::UnknownKey("k2".into()))
        );
        assert_eq!(v.verify("not-a-token", 50), Err(TokenError::Malformed));
    }

    #[test]
    fn refused_key_ids_never_verify() {
        let s = TokenSigner::new("dev", SigningKey::from_bytes(&[7u8; 32]));
        let v = Ed25519Verifier::new()
            .with_key("dev", s.verifying_key())
            .refusing("dev");
        assert_eq!(
            v.verify(&s.sign(&claims(100)), 50),
            Err(TokenError::DevelopmentKeyRefused)
        );
    }

    #[test]
    fn reads_key_files() {
        let s = signer();
        let line = format!(
            "# keys\nk1={}\n",
            base64::engine::general_purpose::STANDARD.encode(s.verifying_key().to_bytes())
        );
        let v = Ed25519Verifier::from_key_file(&line).unwrap();
        assert!(v.verify(&s.sign(&claims(100)), 1).is_ok());
        assert!(Ed25519Verifier::from_key_file("k1").is_err());
    }
}
