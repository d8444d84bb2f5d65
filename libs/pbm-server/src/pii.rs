//! Personal data at rest (身份证号, phone numbers): AES-256-GCM encryption with a random nonce per
//! value, and a keyed blind index (HMAC-SHA256) so equal values can be found and deduplicated
//! without decrypting. A 国密 SM4 cipher can replace AES behind the same type later.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

const NONCE_LEN: usize = 12;

#[derive(Clone)]
pub struct PiiCipher {
    aead: Aes256Gcm,
    index_key: [u8; 32],
    fingerprint_key: [u8; 32],
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PiiError {
    #[error("encrypted value is malformed or was encrypted with another key")]
    Undecryptable,
}

impl PiiCipher {
    pub fn from_key(key: &[u8; 32]) -> Self {
        // Separate keys for the index and the requests' fingerprints, derived from the same
        // secret.
        let derive = |label: &[u8]| -> [u8; 32] {
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("any key length");
            mac.update(label);
            mac.finalize().into_bytes().into()
        };
        Self {
            aead: Aes256Gcm::new(key.into()),
            index_key: derive(b"pbm-pii-blind-index-v1"),
            fingerprint_key: derive(b"pbm-idempotency-fingerprint-v1"),
        }
    }

    /// The key of the requests' fingerprints kept for idempotent replay: a request carries
    /// personal data (身份证号, phones), so its stored fingerprint is keyed, never a plain hash
    /// someone with the database could test guesses against.
    pub fn fingerprint_key(&self) -> [u8; 32] {
        self.fingerprint_key
    }

    /// `nonce ‖ ciphertext ‖ tag`.
    pub fn encrypt(&self, plaintext: &str) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let mut out = nonce.to_vec();
        out.extend(
            self.aead
                .encrypt(Nonce::from_slice(&nonce), plaintext.as_bytes())
                .expect("AES-GCM encrypts any length"),
        );
        out
    }

    pub fn decrypt(&self, data: &[u8]) -> Result<String, PiiError> {
        if data.len() < NONCE_LEN {
            return Err(PiiError::Undecryptable);
        }
        let (nonce, ciphertext) = data.split_at(NONCE_LEN);
        let plain = self
            .aead
            .decrypt(Nonce::from_slice(nonce), ciphertext)
            .map_err(|_| PiiError::Undecryptable)?;
        String::from_utf8(plain).map_err(|_| PiiError::Undecryptable)
    }

    /// A stable, keyed fingerprint of a value (hex), for uniqueness and look-ups.
    pub fn blind_index(&self, value: &str) -> String {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.index_key).expect("any key length");
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_fresh_nonces() {
        let c = PiiCipher::from_key(&[1u8; 32]);
        let a = c.encrypt("110101199003071234");
        let b = c.encrypt("110101199003071234");
        assert_ne!(a, b, "a random nonce per value");
        assert_eq!(c.decrypt(&a).unwrap(), "110101199003071234");
        assert!(!String::from_utf8_lossy(&a).contains("1101011990"));
    }

    #[test]
    fn another_key_cannot_decrypt_and_tampering_is_detected() {
        let c = PiiCipher::from_key(&[1u8; 32]);
        let other = PiiCipher::from_key(&[2u8; 32]);
        let mut data = c.encrypt("13812345678");
        assert_eq!(other.decrypt(&data), Err(PiiError::Undecryptable));
        let last = data.len() - 1;
        data[last] ^= 1;
        assert_eq!(c.decrypt(&data), Err(PiiError::Undecryptable));
    }

    #[test]
    fn blind_index_is_stable_and_keyed() {
        let c = PiiCipher::from_key(&[1u8; 32]);
        assert_eq!(c.blind_index("x"), c.blind_index("x"));
        assert_ne!(c.blind_index("x"), c.blind_index("y"));
        assert_ne!(
            c.blind_index("x"),
            PiiCipher::from_key(&[2u8; 32]).blind_index("x")
        );
    }
}
