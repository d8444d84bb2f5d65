//! Signed bearer tokens: compact JWTs signed with Ed25519 (`alg = EdDSA`) or 国密 SM2
//! (`alg = SM2`), verified by a pluggable [`TokenVerifier`].
//!
//! **SM2 tokens.** JOSE registers no name for SM2 signatures, so PBM's header says `"alg":"SM2"`:
//! an SM2 signature (GB/T 32918.2-2016) with SM3 over `Z_A ‖ header.payload`, `Z_A` computed with
//! the default distinguishing identifier `1234567812345678` (GB/T 35276-2017), the signature
//! encoded as `r ‖ s`, 32 bytes each, in base64url like any JWS signature. A key's kind decides
//! the algorithm it verifies: a token whose `alg` is not its key's is refused (no algorithm
//! confusion). Key files ([`JwtVerifier::from_key_file`]) hold `kid=<base64 Ed25519 key>` or
//! `kid=sm2:<base64 SEC1 SM2 public key>` lines.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use pbm_types::DivisionCode;
use sm2::dsa::signature::RandomizedSigner;

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
    #[error("token's algorithm is not its key's")]
    WrongAlgorithm,
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

/// The JWS `alg` of Ed25519 tokens (RFC 8037).
pub const ALG_ED25519: &str = "EdDSA";
/// The JWS `alg` of SM2 tokens (PBM's name: JOSE registers none for SM2).
pub const ALG_SM2: &str = "SM2";
/// The distinguishing identifier `Z_A` of SM2 tokens is computed with: the default of
/// GB/T 35276-2017 (SM2 密码算法使用规范), the ASCII of `1234567812345678`.
pub const SM2_DISTINGUISHING_ID: &str = "1234567812345678";

/// `header.payload.signature` with `sign` computing the signature over `header.payload`.
fn compact(alg: &str, kid: &str, claims: &Claims, sign: impl FnOnce(&[u8]) -> Vec<u8>) -> String {
    let header = Header {
        alg: alg.into(),
        typ: "JWT".into(),
        kid: kid.into(),
    };
    let header = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).expect("header serialises"));
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims serialise"));
    let signing_input = format!("{header}.{payload}");
    let signature = sign(signing_input.as_bytes());
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
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
        compact(ALG_ED25519, &self.kid, claims, |input| {
            self.key.sign(input).to_bytes().to_vec()
        })
    }
}

/// Signs SM2 tokens (`alg = SM2`): tests and tooling (`pbm token --sm2-key`), or the key an
/// operator's identity service uses.
pub struct Sm2TokenSigner {
    kid: String,
    key: sm2::dsa::SigningKey,
}

impl Sm2TokenSigner {
    pub fn new(kid: impl Into<String>, key: sm2::dsa::SigningKey) -> Self {
        Self {
            kid: kid.into(),
            key,
        }
    }

    /// The signer of the 32-byte secret key `secret` (big-endian scalar), with the default
    /// distinguishing identifier.
    pub fn from_secret(kid: impl Into<String>, secret: &[u8]) -> Result<Self, String> {
        let key = sm2::dsa::SigningKey::from_slice(SM2_DISTINGUISHING_ID, secret)
            .map_err(|_| "not an SM2 secret key (32 bytes, a scalar below the order)")?;
        Ok(Self::new(kid, key))
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn verifying_key(&self) -> &sm2::dsa::VerifyingKey {
        self.key.verifying_key()
    }

    /// The key-file line that trusts this signer: `kid=sm2:<base64 SEC1 public key>`.
    pub fn key_file_line(&self) -> String {
        format!(
            "{}=sm2:{}",
            self.kid,
            base64::engine::general_purpose::STANDARD.encode(self.verifying_key().to_sec1_bytes())
        )
    }

    pub fn sign(&self, claims: &Claims) -> String {
        compact(ALG_SM2, &self.kid, claims, |input| {
            let signature: sm2::dsa::Signature =
                self.key.sign_with_rng(&mut rand::rngs::OsRng, input);
            signature.to_bytes().to_vec()
        })
    }
}

/// A trusted public key: its kind names the one `alg` it verifies.
#[derive(Clone)]
enum PublicKey {
    Ed25519(VerifyingKey),
    Sm2(Box<sm2::dsa::VerifyingKey>),
}

impl PublicKey {
    /// Whether `signature` over `input` is this key's, for a token whose header says `alg`.
    fn verifies(&self, alg: &str, input: &[u8], signature: &[u8]) -> Result<(), TokenError> {
        match self {
            PublicKey::Ed25519(key) if alg == ALG_ED25519 => {
                let signature: [u8; 64] =
                    signature.try_into().map_err(|_| TokenError::Malformed)?;
                key.verify(input, &Signature::from_bytes(&signature))
                    .map_err(|_| TokenError::BadSignature)
            }
            PublicKey::Sm2(key) if alg == ALG_SM2 => {
                let signature = sm2::dsa::Signature::from_slice(signature)
                    .map_err(|_| TokenError::Malformed)?;
                key.verify(input, &signature)
                    .map_err(|_| TokenError::BadSignature)
            }
            PublicKey::Ed25519(_) | PublicKey::Sm2(_) => Err(TokenError::WrongAlgorithm),
        }
    }
}

/// Verifies Ed25519- and SM2-signed tokens against a set of public keys by key id.
#[derive(Default, Clone)]
pub struct JwtVerifier {
    keys: HashMap<String, PublicKey>,
    refuse_kids: Vec<String>,
    revoked: Revocations,
}

/// The verifier's name from before SM2 tokens existed.
pub type Ed25519Verifier = JwtVerifier;

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

impl JwtVerifier {
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts the Ed25519 key `key` for tokens of key id `kid` (`alg = EdDSA`).
    pub fn with_key(mut self, kid: impl Into<String>, key: VerifyingKey) -> Self {
        self.keys.insert(kid.into(), PublicKey::Ed25519(key));
        self
    }

    /// Trusts the SM2 key `key` for tokens of key id `kid` (`alg = SM2`).
    pub fn with_sm2_key(mut self, kid: impl Into<String>, key: sm2::dsa::VerifyingKey) -> Self {
        self.keys.insert(kid.into(), PublicKey::Sm2(Box::new(key)));
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

    /// Parses `kid=<base64 of an Ed25519 public key>` and `kid=sm2:<base64 of an SM2 public key,
    /// SEC1-encoded>` lines (blank lines and `#` comments ignored).
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
            let (sm2, key) = match key.trim().strip_prefix("sm2:") {
                Some(key) => (true, key),
                None => (false, key.trim()),
            };
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(key)
                .or_else(|_| URL_SAFE_NO_PAD.decode(key))
                .map_err(|e| format!("line {}: {e}", n + 1))?;
            if sm2 {
                let key = sm2::dsa::VerifyingKey::from_sec1_bytes(SM2_DISTINGUISHING_ID, &bytes)
                    .map_err(|_| format!("line {}: not an SM2 public key (SEC1)", n + 1))?;
                verifier = verifier.with_sm2_key(kid.trim(), key);
                continue;
            }
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

impl TokenVerifier for JwtVerifier {
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
        if header.alg != ALG_ED25519 && header.alg != ALG_SM2 {
            return Err(TokenError::Malformed);
        }
        if self.refuse_kids.contains(&header.kid) {
            return Err(TokenError::DevelopmentKeyRefused);
        }
        let key = self
            .keys
            .get(&header.kid)
            .ok_or_else(|| TokenError::UnknownKey(header.kid.clone()))?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| TokenError::Malformed)?;
        let signing_input_len = token.len() - token.rsplit('.').next().map_or(0, str::len) - 1;
        key.verifies(
            &header.alg,
            &token.as_bytes()[..signing_input_len],
            &signature,
        )?;
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
        let v = JwtVerifier::new().with_key("k1", s.verifying_key());
        let token = s.sign(&claims(100));
        assert_eq!(v.verify(&token, 50).unwrap(), claims(100));
    }

    #[test]
    fn rejects_expired_tampered_and_unknown_tokens() {
        let s = signer();
        let v = JwtVerifier::new().with_key("k1", s.verifying_key());
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
        let v = JwtVerifier::new().with_key("k1", s.verifying_key());
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
        let v = JwtVerifier::new()
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
        let v = JwtVerifier::from_key_file(&line).unwrap();
        assert!(v.verify(&s.sign(&claims(100)), 1).is_ok());
        assert!(JwtVerifier::from_key_file("k1").is_err());
    }

    fn sm2_signer(kid: &str, seed: u8) -> Sm2TokenSigner {
        Sm2TokenSigner::from_secret(kid, &[seed; 32]).unwrap()
    }

    #[test]
    fn sm2_tokens_verify_and_name_their_algorithm() {
        let s = sm2_signer("gm1", 5);
        let v = JwtVerifier::new().with_sm2_key("gm1", s.verifying_key().clone());
        let token = s.sign(&claims(100));
        let header = token.split('.').next().unwrap();
        let header: Header =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
        assert_eq!((header.alg.as_str(), header.kid.as_str()), (ALG_SM2, "gm1"));
        assert_eq!(v.verify(&token, 50).unwrap(), claims(100));
        // Claim checks and revocations are the same as Ed25519 tokens'.
        assert_eq!(v.verify(&token, 100), Err(TokenError::Expired));
        let revoked = v
            .clone()
            .with_revocations(Revocations::parse("sub:alice").unwrap());
        assert_eq!(revoked.verify(&token, 50), Err(TokenError::Revoked));
        let refusing = v.clone().refusing("gm1");
        assert_eq!(
            refusing.verify(&token, 50),
            Err(TokenError::DevelopmentKeyRefused)
        );
    }

    #[test]
    fn sm2_tokens_tampered_or_signed_by_another_key_are_refused() {
        let s = sm2_signer("gm1", 5);
        let v = JwtVerifier::new().with_sm2_key("gm1", s.verifying_key().clone());
        let token = s.sign(&claims(100));
        let parts: Vec<&str> = token.split('.').collect();
        let mut forged = claims(100);
        forged.role = Role::Auditor;
        let forged = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        let tampered = format!("{}.{forged}.{}", parts[0], parts[2]);
        assert_eq!(v.verify(&tampered, 50), Err(TokenError::BadSignature));
        let mut signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        signature[10] ^= 1;
        let flipped = format!(
            "{}.{}.{}",
            parts[0],
            parts[1],
            URL_SAFE_NO_PAD.encode(&signature)
        );
        assert_eq!(v.verify(&flipped, 50), Err(TokenError::BadSignature));
        // Same key id, another key.
        let other = sm2_signer("gm1", 6).sign(&claims(100));
        assert_eq!(v.verify(&other, 50), Err(TokenError::BadSignature));
        let short = format!("{}.{}.AAAA", parts[0], parts[1]);
        assert_eq!(v.verify(&short, 50), Err(TokenError::Malformed));
    }

    /// A token is verified by its key id's key with that key's algorithm only: an EdDSA token
    /// under an SM2 kid, an SM2 token under an Ed25519 kid, and a header claiming the other
    /// algorithm are all refused.
    #[test]
    fn algorithm_confusion_is_refused() {
        let ed = TokenSigner::new("k1", SigningKey::from_bytes(&[7u8; 32]));
        let gm = sm2_signer("k1", 5);
        let ed_verifier = JwtVerifier::new().with_key("k1", ed.verifying_key());
        let gm_verifier = JwtVerifier::new().with_sm2_key("k1", gm.verifying_key().clone());
        assert_eq!(
            gm_verifier.verify(&ed.sign(&claims(100)), 50),
            Err(TokenError::WrongAlgorithm)
        );
        assert_eq!(
            ed_verifier.verify(&gm.sign(&claims(100)), 50),
            Err(TokenError::WrongAlgorithm)
        );
        // An Ed25519 signature relabelled SM2 (and the reverse): the header is part of what is
        // signed, and the key's kind decides the algorithm anyway.
        let relabel = |token: &str, alg: &str| {
            let parts: Vec<&str> = token.split('.').collect();
            let header = Header {
                alg: alg.into(),
                typ: "JWT".into(),
                kid: "k1".into(),
            };
            let header = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap());
            format!("{header}.{}.{}", parts[1], parts[2])
        };
        assert!(
            gm_verifier
                .verify(&relabel(&ed.sign(&claims(100)), ALG_SM2), 50)
                .is_err()
        );
        assert!(
            ed_verifier
                .verify(&relabel(&gm.sign(&claims(100)), ALG_ED25519), 50)
                .is_err()
        );
        assert_eq!(
            ed_verifier.verify(&relabel(&ed.sign(&claims(100)), "none"), 50),
            Err(TokenError::Malformed)
        );
    }

    #[test]
    fn key_files_hold_both_kinds() {
        let ed = signer();
        let gm = sm2_signer("gm1", 5);
        let text = format!(
            "# Ed25519, bare base64 as before\nk1={}\n{}\n",
            base64::engine::general_purpose::STANDARD.encode(ed.verifying_key().to_bytes()),
            gm.key_file_line()
        );
        assert!(gm.key_file_line().starts_with("gm1=sm2:"));
        let v = JwtVerifier::from_key_file(&text).unwrap();
        let mut kids: Vec<&str> = v.key_ids().collect();
        kids.sort_unstable();
        assert_eq!(kids, ["gm1", "k1"]);
        assert!(v.verify(&ed.sign(&claims(100)), 1).is_ok());
        assert!(v.verify(&gm.sign(&claims(100)), 1).is_ok());
        // Compressed SEC1 keys are read too.
        use sm2::elliptic_curve::sec1::ToEncodedPoint;
        let compressed = gm.verifying_key().to_encoded_point(true);
        let line = format!(
            "gm1=sm2:{}",
            base64::engine::general_purpose::STANDARD.encode(compressed.as_bytes())
        );
        let v = JwtVerifier::from_key_file(&line).unwrap();
        assert!(v.verify(&gm.sign(&claims(100)), 1).is_ok());
        for bad in ["gm1=sm2:AAAA", "gm1=sm2:", "gm1=sm2:!!", "k1=AAAA"] {
            assert!(JwtVerifier::from_key_file(bad).is_err(), "{bad}");
        }
        // An Ed25519 key given as SM2 is no SM2 point.
        let ed_as_sm2 = format!(
            "k1=sm2:{}",
            base64::engine::general_purpose::STANDARD.encode(ed.verifying_key().to_bytes())
        );
        assert!(JwtVerifier::from_key_file(&ed_as_sm2).is_err());
        assert!(Sm2TokenSigner::from_secret("x", &[0u8; 32]).is_err());
        assert!(Sm2TokenSigner::from_secret("x", &[1u8; 16]).is_err());
    }
}
