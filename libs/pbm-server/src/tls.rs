//! TLS of a PBM server: the certificate it presents, the CA its clients' certificates must chain
//! to (mutual TLS), and the CA it trusts when it calls other services (docs/SECURITY.md
//! "Encryption in transit"). Certificates are PEM files, read at start: rotating them is
//! replacing the files and restarting.

use std::path::PathBuf;

use pbm_proto::tls::{ClientTlsFiles, HANDSHAKE_TIMEOUT, read_pem};
use tonic::transport::{Certificate, Identity, ServerTlsConfig};

#[derive(Debug, Clone, Default, clap::Args)]
pub struct TlsArgs {
    /// PEM certificate chain this server presents (TLS on the listener). It is also the client
    /// certificate of this server's calls to other services (goal → indicator, agency).
    #[arg(long, env = "PBM_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of PBM_TLS_CERT.
    #[arg(long, env = "PBM_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// PEM CA (or bundle of CAs): when set, every client must present a certificate signed by it
    /// (mutual TLS).
    #[arg(long, env = "PBM_TLS_CLIENT_CA")]
    pub tls_client_ca: Option<PathBuf>,
    /// PEM CA (or bundle) trusted for this server's calls to https:// service URLs. Default in
    /// `pbm serve` calling itself: PBM_TLS_CLIENT_CA.
    #[arg(long, env = "PBM_TLS_CA")]
    pub tls_ca: Option<PathBuf>,
    /// Production without TLS: only where TLS is terminated in front of the service (a service
    /// mesh's sidecar), so that what crosses the network is encrypted anyway.
    #[arg(long, env = "PBM_ALLOW_PLAINTEXT", default_value_t = false)]
    pub allow_plaintext: bool,
    /// A second, plaintext listener (e.g. 0.0.0.0:50052) serving grpc.health.v1 only, for
    /// probes that cannot speak TLS (Kubernetes' gRPC probes).
    #[arg(long, env = "PBM_HEALTH_LISTEN")]
    pub health_listen: Option<std::net::SocketAddr>,
}

impl TlsArgs {
    /// Whether the listener speaks TLS.
    pub fn serves_tls(&self) -> bool {
        self.tls_cert.is_some() || self.tls_key.is_some()
    }

    /// The listener's TLS, `None` for plaintext. Production refuses plaintext unless
    /// `--allow-plaintext` says TLS is terminated in front of the service.
    pub fn server(&self, production: bool) -> anyhow::Result<Option<ServerTlsConfig>> {
        let (cert, key) = match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => (cert, key),
            (None, None) => {
                if self.tls_client_ca.is_some() {
                    anyhow::bail!("PBM_TLS_CLIENT_CA needs PBM_TLS_CERT and PBM_TLS_KEY");
                }
                if production && !self.allow_plaintext {
                    anyhow::bail!(
                        "production needs TLS (PBM_TLS_CERT and PBM_TLS_KEY), or \
                         PBM_ALLOW_PLAINTEXT=true where TLS is terminated in front of the service"
                    );
                }
                return Ok(None);
            }
            _ => anyhow::bail!("PBM_TLS_CERT and PBM_TLS_KEY go together (both or neither)"),
        };
        let mut config = ServerTlsConfig::new()
            .identity(Identity::from_pem(
                read_pem(cert, "PBM_TLS_CERT", "CERTIFICATE")?,
                read_pem(key, "PBM_TLS_KEY", "PRIVATE KEY")?,
            ))
            .timeout(HANDSHAKE_TIMEOUT);
        if let Some(ca) = &self.tls_client_ca {
            config = config.client_ca_root(Certificate::from_pem(read_pem(
                ca,
                "PBM_TLS_CLIENT_CA",
                "CERTIFICATE",
            )?));
        }
        Ok(Some(config))
    }

    /// The files of this server's calls to other services: trusting PBM_TLS_CA (else
    /// PBM_TLS_CLIENT_CA: in `pbm serve` the services call their own listener), presenting its
    /// own certificate.
    pub fn client(&self) -> ClientTlsFiles {
        ClientTlsFiles {
            ca: self.tls_ca.clone().or_else(|| self.tls_client_ca.clone()),
            cert: self.tls_cert.clone(),
            key: self.tls_key.clone(),
        }
    }

    /// Refuses, in production without PBM_ALLOW_PLAINTEXT, a plaintext (http://) URL of another
    /// service: requests carry the caller's bearer token.
    pub fn check_outbound(&self, production: bool, url: &str) -> anyhow::Result<()> {
        if production && !self.allow_plaintext && !url.starts_with("https://") {
            anyhow::bail!(
                "production calls other services over TLS: {url} is not https:// \
                 (or set PBM_ALLOW_PLAINTEXT=true where a service mesh encrypts)"
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ServerArgs;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: ServerArgs,
    }

    /// A deployment's flags in `dir`, production with a trusted token key (so that only TLS
    /// decides), and PEM-labelled certificate and key files there.
    fn production(dir: &std::path::Path, extra: &[&str]) -> ServerArgs {
        use base64::Engine;
        let key = pbm_auth::dev::load_or_create(&dir.join("signer")).unwrap();
        let keys = dir.join("keys");
        let public =
            base64::engine::general_purpose::STANDARD.encode(key.verifying_key().to_bytes());
        std::fs::write(&keys, format!("prod={public}\n")).unwrap();
        std::fs::write(dir.join("tls.crt"), "-----BEGIN CERTIFICATE-----\n").unwrap();
        std::fs::write(dir.join("tls.key"), "-----BEGIN PRIVATE KEY-----\n").unwrap();
        let data = dir.to_str().unwrap();
        let mut argv = vec!["pbm", "--data-dir", data, "--production"];
        argv.extend(["--auth-public-keys", keys.to_str().unwrap()]);
        argv.extend_from_slice(extra);
        Cli::try_parse_from(argv).unwrap().args
    }

    fn serve_error(args: &ServerArgs) -> String {
        match args.serve_options(vec![]) {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn production_refuses_plaintext_unless_told_tls_is_terminated_in_front() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let (crt, key) = (d.join("tls.crt"), d.join("tls.key"));
        let (crt, key) = (crt.to_str().unwrap(), key.to_str().unwrap());
        assert!(serve_error(&production(d, &[])).contains("production needs TLS"));
        assert_eq!(serve_error(&production(d, &["--allow-plaintext"])), "");
        let tls = production(d, &["--tls-cert", crt, "--tls-key", key]);
        assert_eq!(serve_error(&tls), "");
        assert!(tls.tls.server(true).unwrap().is_some());
        // Development serves plaintext without being told.
        assert!(TlsArgs::default().server(false).unwrap().is_none());
    }

    #[test]
    fn tls_files_go_together_and_are_pem() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let (crt, key) = (d.join("tls.crt"), d.join("tls.key"));
        let (crt, key) = (crt.to_str().unwrap(), key.to_str().unwrap());
        for (extra, expected) in [
            (vec!["--tls-cert", crt], "go together"),
            (vec!["--tls-key", key], "go together"),
            (
                vec!["--allow-plaintext", "--tls-client-ca", crt],
                "needs PBM_TLS_CERT",
            ),
            // A key where the certificate should be.
            (
                vec!["--tls-cert", key, "--tls-key", key],
                "holds no PEM CERTIFICATE",
            ),
            (
                vec!["--tls-cert", crt, "--tls-key", crt],
                "holds no PEM PRIVATE KEY",
            ),
            (
                vec!["--tls-cert", "/nonexistent", "--tls-key", key],
                "cannot read",
            ),
        ] {
            let error = serve_error(&production(d, &extra));
            assert!(error.contains(expected), "{extra:?}: {error}");
        }
    }

    #[test]
    fn production_calls_other_services_over_tls() {
        let told = TlsArgs {
            allow_plaintext: true,
            ..TlsArgs::default()
        };
        let plain = "http://pbm-indicator:50051";
        assert!(TlsArgs::default().check_outbound(true, plain).is_err());
        assert!(TlsArgs::default().check_outbound(false, plain).is_ok());
        assert!(told.check_outbound(true, plain).is_ok());
        let tls = "https://pbm-indicator:50051";
        assert!(TlsArgs::default().check_outbound(true, tls).is_ok());
    }

    #[test]
    fn calls_to_other_services_present_this_servers_certificate() {
        let args = TlsArgs {
            tls_cert: Some("s.crt".into()),
            tls_key: Some("s.key".into()),
            tls_client_ca: Some("clients-ca.crt".into()),
            ..TlsArgs::default()
        };
        let client = args.client();
        assert_eq!(client.cert, args.tls_cert);
        assert_eq!(client.key, args.tls_key);
        // `pbm serve` calling itself trusts the CA of its clients unless told another.
        assert_eq!(client.ca, args.tls_client_ca);
        let told = TlsArgs {
            tls_ca: Some("ca.crt".into()),
            ..args
        };
        assert_eq!(told.client().ca, told.tls_ca);
    }
}
