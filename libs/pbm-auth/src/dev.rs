//! The development signing key of an embedded deployment: created on first use in the data
//! directory, so `pbm token` can hand a newcomer a working token at once. Production refuses it.

use std::io::Write;
use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;
use rand::RngCore;

use crate::TokenSigner;

/// Key id of the development key; production verifiers refuse it.
pub const DEV_KID: &str = "dev";
const FILE_NAME: &str = "dev-signing-key";

pub fn key_path(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE_NAME)
}

/// Loads the development key from `data_dir`, creating it (mode 0600) if missing.
pub fn load_or_create(data_dir: &Path) -> std::io::Result<TokenSigner> {
    let path = key_path(data_dir);
    match std::fs::read_to_string(&path) {
        Ok(text) => parse(&text)
            .map(|key| TokenSigner::new(DEV_KID, key))
            .ok_or_else(|| std::io::Error::other(format!("{} is not a valid key", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(data_dir)?;
            let mut seed = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut seed);
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            match options.open(&path) {
                Ok(mut file) => {
                    file.write_all(hex::encode(seed).as_bytes())?;
                    Ok(TokenSigner::new(DEV_KID, SigningKey::from_bytes(&seed)))
                }
                // Another process created it first: use theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load_or_create(data_dir),
                Err(e) => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

fn parse(text: &str) -> Option<SigningKey> {
    let bytes: [u8; 32] = hex::decode(text.trim()).ok()?.try_into().ok()?;
    Some(SigningKey::from_bytes(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_once_then_reuses() {
        let dir = tempfile::tempdir().unwrap();
        let a = load_or_create(dir.path()).unwrap();
        let b = load_or_create(dir.path()).unwrap();
        assert_eq!(a.verifying_key(), b.verifying_key());
        assert_eq!(a.kid(), DEV_KID);
    }
}
