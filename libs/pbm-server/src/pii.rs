//! Personal data at rest (身份证号, phone numbers, emails, birth dates): encrypted with a random
//! nonce per value, and a keyed blind index so equal values can be found and deduplicated
//! without decrypting (docs/SECURITY.md, "Personal data at rest").
//!
//! Two algorithms, chosen by `PBM_PII_CIPHER` ([`PiiAlgorithm`]):
//! * `aes256-gcm` — AES-256-GCM, blind index HMAC-SHA256 (the default; what existing data is);
//! * `sm4-gcm` — 国密 SM4 (GB/T 32907-2016) in GCM mode, blind index HMAC-SM3
//!   (GB/T 32905-2016).
//!
//! A value is `tag ‖ nonce ‖ ciphertext ‖ GCM tag`: one byte naming the algorithm
//! ([`TAG_AES256_GCM`], [`TAG_SM4_GCM`]; authenticated as associated data), a 12-byte nonce.
//! Values written before the tag existed are `nonce ‖ ciphertext ‖ GCM tag` under AES-256-GCM and
//! still read. Decryption tries the current key, then the previous one (`PBM_PII_KEY_PREVIOUS`,
//! for a key rotation); GCM's tag makes a wrong guess of key or format fail, never misread.

use std::sync::Arc;

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, AesGcm, Nonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use sm3::Sm3;

/// SM4 in GCM mode with a 96-bit nonce: SM4 is a 128-bit block cipher like AES, so GCM
/// (NIST SP 800-38D; GB/T 36624-2018 names SM4-GCM) runs over it unchanged.
pub type Sm4Gcm = AesGcm<sm4::Sm4, U12>;

const NONCE_LEN: usize = 12;
/// First byte of an AES-256-GCM value written with a format tag.
pub const TAG_AES256_GCM: u8 = 0x01;
/// First byte of an SM4-GCM value.
pub const TAG_SM4_GCM: u8 = 0x02;

/// The cipher new personal data is written with (`--pii-cipher`, `PBM_PII_CIPHER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum PiiAlgorithm {
    /// AES-256-GCM, blind index HMAC-SHA256.
    #[default]
    #[value(name = "aes256-gcm")]
    Aes256Gcm,
    /// 国密 SM4-GCM, blind index HMAC-SM3.
    #[value(name = "sm4-gcm")]
    Sm4Gcm,
}

impl PiiAlgorithm {
    fn tag(self) -> u8 {
        match self {
            PiiAlgorithm::Aes256Gcm => TAG_AES256_GCM,
            PiiAlgorithm::Sm4Gcm => TAG_SM4_GCM,
        }
    }

    fn of_tag(tag: u8) -> Option<Self> {
        match tag {
            TAG_AES256_GCM => Some(PiiAlgorithm::Aes256Gcm),
            TAG_SM4_GCM => Some(PiiAlgorithm::Sm4Gcm),
            _ => None,
        }
    }
}

fn hmac_sha256(key: &[u8], label: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("any key length");
    mac.update(label);
    mac.finalize().into_bytes().into()
}

fn hmac_sm3(key: &[u8], label: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sm3> as Mac>::new_from_slice(key).expect("any key length");
    mac.update(label);
    mac.finalize().into_bytes().into()
}

/// Everything one secret (`PBM_PII_KEY`, or the previous one) keys. AES-256 uses the secret
/// itself (as before SM4 existed); SM4's 128-bit key and the blind-index keys are derived from it
/// by HMAC with a label of their own.
struct Keys {
    aes: Aes256Gcm,
    sm4: Sm4Gcm,
    index_sha256: [u8; 32],
    index_sm3: [u8; 32],
}

impl Keys {
    fn new(key: &[u8; 32]) -> Self {
        let sm4_key = hmac_sm3(key, b"pbm-pii-sm4-key-v1");
        Keys {
            aes: Aes256Gcm::new(key.into()),
            sm4: Sm4Gcm::new_from_slice(&sm4_key[..16]).expect("SM4 keys are 16 bytes"),
            index_sha256: hmac_sha256(key, b"pbm-pii-blind-index-v1"),
            index_sm3: hmac_sm3(key, b"pbm-pii-blind-index-sm3-v1"),
        }
    }

    fn seal(
        &self,
        algorithm: PiiAlgorithm,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        plain: &[u8],
    ) -> Vec<u8> {
        let payload = Payload { msg: plain, aad };
        let nonce = Nonce::from_slice(nonce);
        match algorithm {
            PiiAlgorithm::Aes256Gcm => self.aes.encrypt(nonce, payload),
            PiiAlgorithm::Sm4Gcm => self.sm4.encrypt(nonce, payload),
        }
        .expect("GCM encrypts any length a text has")
    }

    fn open(&self, algorithm: PiiAlgorithm, data: &[u8], aad: &[u8]) -> Option<Vec<u8>> {
        if data.len() < NONCE_LEN {
            return None;
        }
        let (nonce, msg) = data.split_at(NONCE_LEN);
        let nonce = Nonce::from_slice(nonce);
        let payload = Payload { msg, aad };
        match algorithm {
            PiiAlgorithm::Aes256Gcm => self.aes.decrypt(nonce, payload),
            PiiAlgorithm::Sm4Gcm => self.sm4.decrypt(nonce, payload),
        }
        .ok()
    }

    fn blind_index(&self, algorithm: PiiAlgorithm, value: &str) -> String {
        hex::encode(match algorithm {
            PiiAlgorithm::Aes256Gcm => hmac_sha256(&self.index_sha256, value.as_bytes()),
            PiiAlgorithm::Sm4Gcm => hmac_sm3(&self.index_sm3, value.as_bytes()),
        })
    }
}

/// Encrypts and decrypts personal data at rest, and computes its blind index.
#[derive(Clone)]
pub struct PiiCipher {
    algorithm: PiiAlgorithm,
    current: Arc<Keys>,
    previous: Option<Arc<Keys>>,
    fingerprint_key: [u8; 32],
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PiiError {
    #[error("encrypted value is malformed or was encrypted with another key")]
    Undecryptable,
}

/// How a stored value was found to be encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Origin {
    algorithm: PiiAlgorithm,
    /// Under the current key (else the previous one).
    current_key: bool,
    /// Written before values carried a format tag.
    untagged: bool,
}

impl PiiCipher {
    /// AES-256-GCM under `key`, no previous key.
    pub fn from_key(key: &[u8; 32]) -> Self {
        Self::new(PiiAlgorithm::Aes256Gcm, key, None)
    }

    /// New values under `algorithm` and `key`; `previous` only decrypts (a key rotation).
    pub fn new(algorithm: PiiAlgorithm, key: &[u8; 32], previous: Option<&[u8; 32]>) -> Self {
        Self {
            algorithm,
            current: Arc::new(Keys::new(key)),
            previous: previous.map(|k| Arc::new(Keys::new(k))),
            // The requests' fingerprints keep the derivation they had before SM4 (HMAC-SHA256 of
            // the current key), whatever the algorithm.
            fingerprint_key: hmac_sha256(key, b"pbm-idempotency-fingerprint-v1"),
        }
    }

    pub fn algorithm(&self) -> PiiAlgorithm {
        self.algorithm
    }

    /// The key of the requests' fingerprints kept for idempotent replay: a request carries
    /// personal data (身份证号, phones), so its stored fingerprint is keyed, never a plain hash
    /// someone with the database could test guesses against.
    pub fn fingerprint_key(&self) -> [u8; 32] {
        self.fingerprint_key
    }

    /// `tag ‖ nonce ‖ ciphertext ‖ GCM tag` under the configured algorithm and current key.
    pub fn encrypt(&self, plaintext: &str) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let tag = [self.algorithm.tag()];
        let mut out = Vec::with_capacity(1 + NONCE_LEN + plaintext.len() + 16);
        out.extend_from_slice(&tag);
        out.extend_from_slice(&nonce);
        out.extend(
            self.current
                .seal(self.algorithm, &nonce, &tag, plaintext.as_bytes()),
        );
        out
    }

    /// Decrypts a value written under either algorithm (tagged or, for AES, untagged) and the
    /// current or the previous key.
    pub fn decrypt(&self, data: &[u8]) -> Result<String, PiiError> {
        self.open(data).map(|(text, _)| text)
    }

    /// The value encrypted afresh under the configured algorithm and current key, or `None` when
    /// it already is (a key rotation's re-encryption skips it).
    pub fn reseal(&self, data: &[u8]) -> Result<Option<Vec<u8>>, PiiError> {
        let (text, origin) = self.open(data)?;
        let target = Origin {
            algorithm: self.algorithm,
            current_key: true,
            untagged: false,
        };
        Ok((origin != target).then(|| self.encrypt(&text)))
    }

    fn open(&self, data: &[u8]) -> Result<(String, Origin), PiiError> {
        let keys =
            std::iter::once((&self.current, true)).chain(self.previous.iter().map(|k| (k, false)));
        for (keys, current_key) in keys {
            // A tagged value; an untagged AES value may begin with a tag's byte by chance, so a
            // failed tagged try falls back to the untagged form.
            if let Some((&tag, rest)) = data.split_first()
                && let Some(algorithm) = PiiAlgorithm::of_tag(tag)
                && let Some(plain) = keys.open(algorithm, rest, &[tag])
            {
                let origin = Origin {
                    algorithm,
                    current_key,
                    untagged: false,
                };
                return utf8(plain).map(|t| (t, origin));
            }
            if let Some(plain) = keys.open(PiiAlgorithm::Aes256Gcm, data, &[]) {
                let origin = Origin {
                    algorithm: PiiAlgorithm::Aes256Gcm,
                    current_key,
                    untagged: true,
                };
                return utf8(plain).map(|t| (t, origin));
            }
        }
        Err(PiiError::Undecryptable)
    }

    /// A stable, keyed fingerprint of a value (hex), for uniqueness and look-ups: HMAC-SHA256
    /// under `aes256-gcm`, HMAC-SM3 under `sm4-gcm`, with the current key.
    pub fn blind_index(&self, value: &str) -> String {
        self.current.blind_index(self.algorithm, value)
    }

    /// Every blind index a stored value may still carry: the current one first, then those of
    /// the other algorithm and of the previous key (until the re-encryption command has
    /// recomputed them all). Look-ups match any of them.
    pub fn blind_indexes(&self, value: &str) -> Vec<String> {
        let other = match self.algorithm {
            PiiAlgorithm::Aes256Gcm => PiiAlgorithm::Sm4Gcm,
            PiiAlgorithm::Sm4Gcm => PiiAlgorithm::Aes256Gcm,
        };
        let mut all = Vec::with_capacity(4);
        for keys in std::iter::once(&self.current).chain(self.previous.iter()) {
            for algorithm in [self.algorithm, other] {
                let index = keys.blind_index(algorithm, value);
                if !all.contains(&index) {
                    all.push(index);
                }
            }
        }
        all
    }
}

fn utf8(plain: Vec<u8>) -> Result<String, PiiError> {
    String::from_utf8(plain).map_err(|_| PiiError::Undecryptable)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aes_gcm::aead::generic_array::GenericArray;
    use sm3::Digest;
    use sm4::cipher::BlockEncrypt;

    const A: [u8; 32] = [1u8; 32];
    const B: [u8; 32] = [2u8; 32];

    fn both() -> [PiiCipher; 2] {
        [
            PiiCipher::new(PiiAlgorithm::Aes256Gcm, &A, None),
            PiiCipher::new(PiiAlgorithm::Sm4Gcm, &A, None),
        ]
    }

    /// The national primitives themselves: GB/T 32907-2016 Appendix A, example 1 (SM4) and
    /// GB/T 32905-2016 Appendix A, example 1 (SM3 of "abc").
    #[test]
    fn sm4_and_sm3_give_the_standards_answers() {
        let key = hex::decode("0123456789abcdeffedcba9876543210").unwrap();
        let sm4 = <sm4::Sm4 as sm4::cipher::KeyInit>::new_from_slice(&key).unwrap();
        let mut block = GenericArray::clone_from_slice(&key);
        sm4.encrypt_block(&mut block);
        assert_eq!(hex::encode(block), "681edf34d206965e86b3e94f536e4246");
        assert_eq!(
            hex::encode(Sm3::digest(b"abc")),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
    }

    #[test]
    fn round_trips_with_fresh_nonces_under_both_algorithms() {
        for c in both() {
            let a = c.encrypt("110101199003071234");
            let b = c.encrypt("110101199003071234");
            assert_ne!(a, b, "a random nonce per value");
            assert_eq!(a[0], c.algorithm().tag());
            assert_eq!(c.decrypt(&a).unwrap(), "110101199003071234");
            assert!(!String::from_utf8_lossy(&a).contains("1101011990"));
            assert_eq!(c.reseal(&a).unwrap(), None, "already current");
        }
    }

    #[test]
    fn each_reads_the_others_values_and_untagged_aes_values() {
        let [aes, sm4] = both();
        assert_eq!(aes.decrypt(&sm4.encrypt("x")).unwrap(), "x");
        assert_eq!(sm4.decrypt(&aes.encrypt("y")).unwrap(), "y");
        // As written before values were tagged: nonce ‖ ciphertext ‖ tag under AES-256-GCM.
        let nonce = [0x01u8; NONCE_LEN]; // begins with a tag's byte: the fallback must work
        let mut legacy = nonce.to_vec();
        legacy.extend(
            Aes256Gcm::new((&A).into())
                .encrypt(Nonce::from_slice(&nonce), b"13812345678".as_slice())
                .unwrap(),
        );
        for c in [&aes, &sm4] {
            assert_eq!(c.decrypt(&legacy).unwrap(), "13812345678");
            let resealed = c.reseal(&legacy).unwrap().expect("untagged is rewritten");
            assert_eq!(resealed[0], c.algorithm().tag());
        }
        assert!(sm4.reseal(&aes.encrypt("z")).unwrap().is_some());
    }

    #[test]
    fn another_key_cannot_decrypt_and_tampering_is_detected() {
        for c in both() {
            let other = PiiCipher::new(c.algorithm(), &B, None);
            let mut data = c.encrypt("13812345678");
            assert_eq!(other.decrypt(&data), Err(PiiError::Undecryptable));
            let last = data.len() - 1;
            data[last] ^= 1;
            assert_eq!(c.decrypt(&data), Err(PiiError::Undecryptable));
            // The algorithm's byte is authenticated: swapping it fails.
            let mut swapped = c.encrypt("13812345678");
            swapped[0] = TAG_AES256_GCM + TAG_SM4_GCM - swapped[0];
            assert_eq!(c.decrypt(&swapped), Err(PiiError::Undecryptable));
            assert_eq!(c.decrypt(&[]), Err(PiiError::Undecryptable));
        }
    }

    #[test]
    fn a_rotation_reads_the_previous_key_and_rewrites_under_the_new_one() {
        let old = PiiCipher::new(PiiAlgorithm::Aes256Gcm, &A, None);
        let rotated = PiiCipher::new(PiiAlgorithm::Sm4Gcm, &B, Some(&A));
        let stored = old.encrypt("13812345678");
        assert_eq!(rotated.decrypt(&stored).unwrap(), "13812345678");
        let resealed = rotated.reseal(&stored).unwrap().unwrap();
        assert_eq!(rotated.reseal(&resealed).unwrap(), None);
        assert_eq!(old.decrypt(&resealed), Err(PiiError::Undecryptable));
        assert_eq!(
            PiiCipher::new(PiiAlgorithm::Sm4Gcm, &B, None)
                .decrypt(&resealed)
                .unwrap(),
            "13812345678"
        );
        // The fingerprint key follows the current key only, as before.
        assert_eq!(
            rotated.fingerprint_key(),
            PiiCipher::from_key(&B).fingerprint_key()
        );
    }

    #[test]
    fn blind_indexes_are_stable_keyed_and_per_algorithm() {
        let [aes, sm4] = both();
        for c in [&aes, &sm4] {
            assert_eq!(c.blind_index("x"), c.blind_index("x"));
            assert_ne!(c.blind_index("x"), c.blind_index("y"));
            assert_ne!(
                c.blind_index("x"),
                PiiCipher::new(c.algorithm(), &B, None).blind_index("x")
            );
        }
        assert_ne!(aes.blind_index("x"), sm4.blind_index("x"));
        // HMAC-SM3 with the derived index key.
        let key = hmac_sm3(&A, b"pbm-pii-blind-index-sm3-v1");
        assert_eq!(sm4.blind_index("x"), hex::encode(hmac_sm3(&key, b"x")));
        let rotated = PiiCipher::new(PiiAlgorithm::Sm4Gcm, &B, Some(&A));
        let all = rotated.blind_indexes("x");
        assert_eq!(all[0], rotated.blind_index("x"));
        assert!(all.contains(&aes.blind_index("x")) && all.contains(&sm4.blind_index("x")));
        assert_eq!(all.len(), 4);
    }
}
