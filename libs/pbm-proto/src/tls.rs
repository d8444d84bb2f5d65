//! How a client reaches a PBM server over TLS (docs/SECURITY.md "Encryption in transit"): the
//! CA it trusts and, for mutual TLS, its own certificate and key, all PEM files. Shared by the
//! goal service's calls to the other services, `pbmctl` and `pbm-load`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

/// The PEM files of a client's TLS.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientTlsFiles {
    /// The CA (or bundle of CAs) whose certificates the client trusts for https:// servers.
    pub ca: Option<PathBuf>,
    /// The client's certificate chain, presented when the server asks for one (mutual TLS).
    pub cert: Option<PathBuf>,
    /// The private key of `cert`.
    pub key: Option<PathBuf>,
}

/// A TLS file that is missing, unreadable or not what it should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFileError(pub String);

impl fmt::Display for TlsFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TlsFileError {}

/// How long a TLS handshake may take, on either side.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Reads a PEM file that must hold a block labelled `label` (`CERTIFICATE`, `PRIVATE KEY`).
pub fn read_pem(path: &Path, what: &str, label: &str) -> Result<Vec<u8>, TlsFileError> {
    let pem = std::fs::read(path)
        .map_err(|e| TlsFileError(format!("cannot read {what} {}: {e}", path.display())))?;
    let text = String::from_utf8_lossy(&pem);
    let found = text
        .lines()
        .any(|l| l.starts_with("-----BEGIN ") && l.trim_end().ends_with(&format!("{label}-----")));
    if !found {
        return Err(TlsFileError(format!(
            "{what} {} holds no PEM {label}",
            path.display()
        )));
    }
    Ok(pem)
}

impl ClientTlsFiles {
    /// Whether any file is given.
    pub fn is_set(&self) -> bool {
        self.ca.is_some() || self.cert.is_some() || self.key.is_some()
    }

    /// The TLS configuration these files describe: trust `ca` only (no system roots), present
    /// `cert`/`key` when both are given.
    pub fn config(&self) -> Result<ClientTlsConfig, TlsFileError> {
        let ca = self.ca.as_deref().ok_or_else(|| {
            TlsFileError("an https:// server needs a CA to trust (--tls-ca / PBM_TLS_CA)".into())
        })?;
        let mut config = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(read_pem(ca, "CA", "CERTIFICATE")?))
            .timeout(HANDSHAKE_TIMEOUT);
        match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => {
                config = config.identity(Identity::from_pem(
                    read_pem(cert, "client certificate", "CERTIFICATE")?,
                    read_pem(key, "client key", "PRIVATE KEY")?,
                ));
            }
            (None, None) => {}
            _ => {
                return Err(TlsFileError(
                    "a client certificate needs its key and a key its certificate (both or neither)"
                        .into(),
                ));
            }
        }
        Ok(config)
    }

    /// The endpoint of `url`: TLS as [`ClientTlsFiles::config`] for `https://`, plaintext for
    /// `http://` (tonic encrypts https:// URLs only).
    pub fn endpoint(&self, url: &str) -> Result<Endpoint, TlsFileError> {
        let endpoint = Endpoint::from_shared(url.to_owned())
            .map_err(|e| TlsFileError(format!("{url}: {e}")))?;
        if endpoint.uri().scheme_str() != Some("https") {
            return Ok(endpoint);
        }
        endpoint
            .tls_config(self.config()?)
            .map_err(|e| TlsFileError(format!("TLS for {url}: {e}")))
    }
}
