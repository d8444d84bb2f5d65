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
    /// Issuer: who signed the token ([`ISSUER`] for PBM's own tokens).
    #[serde(default)]
    pub iss: String,
    /// Audience: what the token is for ([`AUDIENCE`]).
    #[serde(default)]
    pub aud: String,
    /// Token id, for revocation.
    #[serde(default)]
    pub jti: String,
}

/// The issuer of the tokens PBM itself signs (`pbm token`, pbmctl, tests).
pub const ISSUER: &str = "pbm";
/// The audience every PBM token must name.
pub const AUDIENCE: &str = "pbm";
/// The longest a token may be valid (`exp - iat`): 31 days.
pub const MAX_LIFETIME_SECS: i64 = 31 * 24 * 3600;
/// How far a token's issue time may lie ahead of the server's clock.
pub const CLOCK_SKEW_SECS: i64 = 300;

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
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            jti: {
                use rand::RngCore;
                let mut id = [0u8; 16];
                rand::rngs::OsRng.fill_bytes(&mut id);
                hex::encode(id)
            },
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
    #[error("token is issued in the future")]
    IssuedInFuture,
    #[error("token lifetime exceeds {} days", MAX_LIFETIME_SECS / 86_400)]
    LifetimeTooLong,
    #[error("token is for another issuer or audience")]
    WrongIssuerOrAudience,
    #[error("token has been revoked")]
    Revoked,
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
    revoked: Revocations,
}

/// Tokens refused although validly signed: by token id (`jti:<id>`) or every token of a
/// subject (`sub:<subject>`), one per line of the file `PBM_AUTH_REVOKED` names.
#[derive(Default, Clone, Debug)]
pub struct Revocations {
    ids: std::collections::HashSet<String>,
    subjects: std::collections::HashSet<String>,
}

impl Revocations {
    /// Parses `jti:<id>` and `sub:<subject>` lines (blank lines and `#` comments ignored).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut revoked = Self::default();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match line.split_once(':') {
                Some(("jti", id)) if !id.trim().is_empty() => {
                    revoked.ids.insert(id.trim().to_owned());
                }
                Some(("sub", sub)) if !sub.trim().is_empty() => {
                    revoked.subjects.insert(sub.trim().to_owned());
                }
                _ => {
                    return Err(format!(
                        "line {}: expected jti:<id> or sub:<subject>",
                        n + 1
                    ));
                }
            }
        }
        Ok(revoked)
    }

    fn covers(&self, claims: &Claims) -> bool {
        self.ids.contains(&claims.jti) || self.subjects.contains(&claims.sub)
    }

    /// How many tokens ids and subjects are revoked.
    pub fn len(&self) -> usize {
        self.ids.len() + self.subjects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Claims {
    /// The checks every verifier makes once the signature holds: not expired, not issued in
    /// the future (beyond [`CLOCK_SKEW_SECS`]), valid for at most [`MAX_LIFETIME_SECS`], for
    /// PBM ([`ISSUER`], [`AUDIENCE`]).
    pub fn check(&self, now_unix: i64) -> Result<(), TokenError> {
        if self.exp <= now_unix {
            return Err(TokenError::Expired);
        }
        if self.iat > now_unix + CLOCK_SKEW_SECS {
            return Err(TokenError::IssuedInFuture);
        }
        if self.exp - self.iat > MAX_LIFETIME_SECS {
            return Err(TokenError::LifetimeTooLong);
        }
        if self.iss != ISSUER || self.aud != AUDIENCE {
            return Err(TokenError::WrongIssuerOrAudience);
        }
        Ok(())
    }
}

impl Ed25519Verifier {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_key(mut self, kid: impl Into<String>, key: VerifyingKey) -> Self {
        self.keys.insert(kid.into(), key);
        self
    }

    /// Refuses these tokens although validly signed.
    pub fn with_revocations(mut self, revoked: Revocations) -> Self {
        self.revoked = revoked;
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
        claims.check(now_unix)?;
        if self.revoked.covers(&claims) {
            return Err(TokenError::Revoked);
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
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            jti: "t1".into(),
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
    fn lifetimes_issuers_and_revocations_are_checked() {
        let s = signer();
        let v = Ed25519Verifier::new().with_key("k1", s.verifying_key());
        let mut c = claims(100);
        c.iat = 1_000;
        c.exp = 2_000;
        assert_eq!(
            v.verify(&s.sign(&c), 1_000 - CLOCK_SKEW_SECS - 1),
            Err(TokenError::IssuedInFuture)
        );
        assert!(v.verify(&s.sign(&c), 1_000 - CLOCK_SKEW_SECS).is_ok());
        c.exp = c.iat + MAX_LIFETIME_SECS + 1;
        assert_eq!(
            v.verify(&s.sign(&c), 1_500),
            Err(TokenError::LifetimeTooLong)
        );
        let mut other = claims(100);
        other.aud = "another-system".into();
        assert_eq!(
            v.verify(&s.sign(&other), 50),
            Err(TokenError::WrongIssuerOrAudience)
        );
        other = claims(100);
        other.iss = String::new();
        assert_eq!(
            v.verify(&s.sign(&other), 50),
            Err(TokenError::WrongIssuerOrAudience)
        );
        let revoked = Revocations::parse("# revoked\njti:t1\nsub:mallory\n").unwrap();
        assert_eq!(revoked.len(), 2);
        let v = v.with_revocations(revoked);
        assert_eq!(
            v.verify(&s.sign(&claims(100)), 50),
            Err(TokenError::Revoked)
        );
        let mut mallory = claims(100);
        mallory.jti = "t2".into();
        mallory.sub = "mallory".into();
        assert_eq!(v.verify(&s.sign(&mallory), 50), Err(TokenError::Revoked));
        mallory.sub = "bob".into();
        assert!(v.verify(&s.sign(&mallory), 50).is_ok());
        assert!(Revocations::parse("alice").is_err());
    }

    #[test]
    fn new_claims_name_pbm_and_a_fresh_id() {
        let a = Claims::new("a", Role::Auditor, "140500", 60);
        let b = Claims::new("a", Role::Auditor, "140500", 60);
        assert_eq!((a.iss.as_str(), a.aud.as_str()), (ISSUER, AUDIENCE));
        assert_ne!(a.jti, b.jti);
        assert!(a.check(a.iat).is_ok());
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
