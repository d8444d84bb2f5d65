//! Configuration shared by every PBM binary (`pbm` and the per-service binaries). Every flag
//! has an environment variable, so containers configure by env and people by flags.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use pbm_auth::{AuthLayer, JwtVerifier, dev};
use pbm_types::{DivisionCode, FiscalYear};

#[derive(Debug, Clone, clap::Args)]
pub struct ServerArgs {
    /// Address to listen on.
    #[arg(long, env = "PBM_LISTEN", default_value = "127.0.0.1:50051")]
    pub listen: SocketAddr,
    /// Directory for the embedded SQLite databases and the development signing key.
    #[arg(long, env = "PBM_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// PostgreSQL URL (postgres://…); when set it is used instead of SQLite files.
    #[arg(long, env = "PBM_DATABASE_URL")]
    pub database_url: Option<String>,
    /// SQLite's `synchronous` setting: `full` (the default) keeps every acknowledged write on
    /// power failure; `normal` syncs only at checkpoints (faster; the last writes before a power
    /// failure may be lost, never on a process crash). PostgreSQL ignores it.
    #[arg(long, env = "PBM_SQLITE_SYNCHRONOUS", default_value = "full")]
    pub sqlite_synchronous: pbm_db::SqliteSynchronous,
    /// 6-digit region code (财政区划, MOF_DIV_CODE) this deployment serves.
    #[arg(long, env = "PBM_MOF_DIV_CODE", default_value = DEFAULT_REGION)]
    pub mof_div_code: String,
    /// Production mode: tokens are verified only with PBM_AUTH_PUBLIC_KEYS; the development key
    /// is refused.
    #[arg(long, env = "PBM_PRODUCTION", default_value_t = false)]
    pub production: bool,
    /// File of keys trusted for tokens: `kid=<base64 Ed25519 public key>` (EdDSA tokens) or
    /// `kid=sm2:<base64 SEC1 SM2 public key>` (国密 SM2 tokens) lines.
    #[arg(long, env = "PBM_AUTH_PUBLIC_KEYS")]
    pub auth_public_keys: Option<PathBuf>,
    /// File of revoked tokens: `jti:<token id>` or `sub:<subject>` lines, read at start.
    #[arg(long, env = "PBM_AUTH_REVOKED")]
    pub auth_revoked: Option<PathBuf>,
    /// Requests a second each caller (a token's subject; the peer address of a call without a
    /// valid token) may make, bursts of twice as many allowed; beyond it RESOURCE_EXHAUSTED.
    /// 0 = no limit.
    #[arg(long, env = "PBM_RATE_LIMIT", default_value_t = 500)]
    pub rate_limit: u32,
    /// Requests in flight before new ones are shed with RESOURCE_EXHAUSTED.
    #[arg(long, env = "PBM_MAX_IN_FLIGHT", default_value_t = 256)]
    pub max_in_flight: usize,
    /// Per-request deadline in seconds.
    #[arg(long, env = "PBM_REQUEST_TIMEOUT_SECS", default_value_t = 10)]
    pub request_timeout_secs: u64,
    /// Personal data at rest: the cipher, its key and the previous key of a rotation
    /// (`--pii-cipher`, `--pii-key`, `--pii-key-previous`).
    #[command(flatten)]
    pub pii: PiiArgs,
    /// Redis URL (redis://…) for event streams in distributed deployments; without it events
    /// go to an in-process bus.
    #[arg(long, env = "PBM_REDIS_URL")]
    pub redis_url: Option<String>,
    /// OTLP/gRPC collector endpoint for traces, e.g. http://otel-collector:4317.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
    /// Fiscal year whose national default indicator frame is seeded into an empty library
    /// (default: the current year).
    #[arg(long, env = "PBM_SEED_FISCAL_YEAR")]
    pub seed_fiscal_year: Option<i32>,
    /// gRPC URL of the indicator service, which the goal service calls (e.g.
    /// http://pbm-indicator:50051). Default in `pbm serve`: this very process.
    #[arg(long, env = "PBM_INDICATOR_URL")]
    pub indicator_url: Option<String>,
    /// gRPC URL of the agency service, which the goal service calls to draw reviewers (e.g.
    /// http://pbm-agency:50051). Default in `pbm serve`: this very process.
    #[arg(long, env = "PBM_AGENCY_URL")]
    pub agency_url: Option<String>,
    /// gRPC URL of the goal service, which the monitoring service calls to snapshot approved
    /// goals (e.g. http://pbm-goal:50051). Default in `pbm serve`: this very process.
    #[arg(long, env = "PBM_GOAL_URL")]
    pub goal_url: Option<String>,
    /// gRPC URL of the monitoring service, which the evaluation service calls for execution
    /// figures and warnings (e.g. http://pbm-monitoring:50051). Default in `pbm serve`: this
    /// very process.
    #[arg(long, env = "PBM_MONITORING_URL")]
    pub monitoring_url: Option<String>,
    /// Seconds the goal service reuses the indicator library's answers (pinned versions, the
    /// 固化 list) before asking again; 0 = ask on every submission.
    #[arg(long, env = "PBM_LIBRARY_CACHE_SECS", default_value_t = 5)]
    pub library_cache_secs: u64,
    /// gRPC URL of the upstream deployment whose indicator library this one follows (a city's
    /// province, a county's city; docs/INDICATOR.md "Following an upstream library"). Unset:
    /// the library follows no one.
    #[arg(long, env = "PBM_UPSTREAM_LIBRARY_URL")]
    pub upstream_library_url: Option<String>,
    /// File holding the token the upstream trusts for following it (finance_admin of this
    /// region, signed by the upstream's key); read on every reconnect.
    #[arg(long, env = "PBM_UPSTREAM_TOKEN_FILE")]
    pub upstream_token_file: Option<std::path::PathBuf>,
    /// The audit trail's key (`--audit-key`).
    #[command(flatten)]
    pub audit: crate::audit::AuditArgs,
    /// TLS of the listener and of calls to other services (`--tls-cert`, `--tls-key`,
    /// `--tls-client-ca`, `--tls-ca`, `--allow-plaintext`, `--health-listen`).
    #[command(flatten)]
    pub tls: crate::tls::TlsArgs,
}

/// How personal data is encrypted at rest (docs/SECURITY.md, "Personal data at rest").
#[derive(Debug, Clone, Default, clap::Args)]
pub struct PiiArgs {
    /// Cipher of personal data written from now on: `aes256-gcm` (blind index HMAC-SHA256) or
    /// `sm4-gcm` (国密 SM4-GCM, blind index HMAC-SM3). Values written under either are read.
    #[arg(
        id = "pii_cipher",
        long = "pii-cipher",
        env = "PBM_PII_CIPHER",
        value_enum,
        default_value_t
    )]
    pub cipher: crate::pii::PiiAlgorithm,
    /// Key for personal data at rest (身份证号, phones, emails, birth dates): base64 of 32 random
    /// bytes. Required in production; in development a key is created in the data directory.
    #[arg(
        id = "pii_key",
        long = "pii-key",
        env = "PBM_PII_KEY",
        hide_env_values = true
    )]
    pub key: Option<String>,
    /// The key before a rotation (base64 of 32 bytes): only decrypts, until `reencrypt-pii` has
    /// rewritten every value under `PBM_PII_KEY`.
    #[arg(
        id = "pii_key_previous",
        long = "pii-key-previous",
        env = "PBM_PII_KEY_PREVIOUS",
        hide_env_values = true
    )]
    pub key_previous: Option<String>,
}

/// The region of an unconfigured development deployment: 晋城市, the city of the local source
/// 晋城 2019 (docs/DOMAIN.md "Sources"). Every real deployment sets its own code.
pub const DEFAULT_REGION: &str = "140500";

impl ServerArgs {
    /// The indicator service's URL: `PBM_INDICATOR_URL`, else this process's own address.
    pub fn indicator_url_or_self(&self) -> String {
        self.url_or_self(self.indicator_url.as_deref())
    }

    /// The agency service's URL: `PBM_AGENCY_URL`, else this process's own address.
    pub fn agency_url_or_self(&self) -> String {
        self.url_or_self(self.agency_url.as_deref())
    }

    /// The goal service's URL: `PBM_GOAL_URL`, else this process's own address.
    pub fn goal_url_or_self(&self) -> String {
        self.url_or_self(self.goal_url.as_deref())
    }

    /// The monitoring service's URL: `PBM_MONITORING_URL`, else this process's own address.
    pub fn monitoring_url_or_self(&self) -> String {
        self.url_or_self(self.monitoring_url.as_deref())
    }

    /// `url`, else this process's own listen address (an unspecified listen address is
    /// reached on loopback; https:// when it serves TLS): `pbm serve` hosts every service, so
    /// they call each other there.
    fn url_or_self(&self, url: Option<&str>) -> String {
        if let Some(url) = url.filter(|u| !u.is_empty()) {
            return url.to_owned();
        }
        let mut addr = self.listen;
        if addr.ip().is_unspecified() {
            addr.set_ip(if addr.is_ipv4() {
                std::net::Ipv4Addr::LOCALHOST.into()
            } else {
                std::net::Ipv6Addr::LOCALHOST.into()
            });
        }
        let scheme = if self.tls.serves_tls() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{addr}")
    }

    /// The deployment's region: a 6-digit code whose first two digits name a province
    /// (GB/T 2260: 11–15, 21–23, 31–37, 41–46, 50–54, 61–65, 71, 81, 82), so `000000` or
    /// `999999` never start a server.
    pub fn region(&self) -> anyhow::Result<DivisionCode> {
        let code = DivisionCode::parse(&self.mof_div_code)
            .map_err(|e| anyhow::anyhow!("PBM_MOF_DIV_CODE: {e}"))?;
        let province: u32 = self.mof_div_code[..2].parse().unwrap_or(0);
        let real = matches!(province, 11..=15 | 21..=23 | 31..=37 | 41..=46 | 50..=54 | 61..=65 | 71 | 81 | 82);
        if !real {
            anyhow::bail!(
                "PBM_MOF_DIV_CODE: {} is not a region (its first two digits name no province)",
                self.mof_div_code
            );
        }
        Ok(code)
    }

    pub fn seed_year(&self) -> anyhow::Result<FiscalYear> {
        let year = self.seed_fiscal_year.unwrap_or_else(current_year);
        FiscalYear::new(year).map_err(|e| anyhow::anyhow!("PBM_SEED_FISCAL_YEAR: {e}"))
    }

    /// Whether every hosted service uses one database (`--database-url`): then one outbox
    /// relay publishes all their events (one relay per service would publish each event once
    /// per service).
    pub fn shares_one_database(&self) -> bool {
        self.database_url.as_deref().is_some_and(|u| !u.is_empty())
    }

    /// A pool on `service`'s database ([`ServerArgs::database_url`]), sized for its backend.
    pub fn database(&self, service: &str) -> anyhow::Result<pbm_db::Db> {
        let url = self.database_url(service)?;
        let options = pbm_db::DbOptions {
            sqlite_synchronous: self.sqlite_synchronous,
            ..pbm_db::DbOptions::for_backend(pbm_db::Backend::of_url(&url))
        };
        Ok(pbm_db::Db::connect(&url, &options)?)
    }

    /// The database of one service: the PostgreSQL URL when given, else
    /// `<data-dir>/<service>.sqlite3` (created on first start).
    pub fn database_url(&self, service: &str) -> anyhow::Result<String> {
        match &self.database_url {
            Some(url) if !url.is_empty() => Ok(url.clone()),
            _ => {
                create_private_dir(&self.data_dir)?;
                let path = self.data_dir.join(format!("{service}.sqlite3"));
                create_private_file(&path)?;
                Ok(path.to_string_lossy().into_owned())
            }
        }
    }

    /// Token verification: configured public keys, plus the local development key unless in
    /// production (where a configured `dev` key id is refused outright).
    pub fn auth_layer(&self) -> anyhow::Result<AuthLayer> {
        let mut verifier = match &self.auth_public_keys {
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| {
                    format!("cannot read PBM_AUTH_PUBLIC_KEYS {}", path.display())
                })?;
                JwtVerifier::from_key_file(&text)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
            }
            None => JwtVerifier::new(),
        };
        if self.production {
            if verifier.key_ids().any(|k| k == dev::DEV_KID) {
                anyhow::bail!(
                    "production refuses the development key id `{}` in PBM_AUTH_PUBLIC_KEYS",
                    dev::DEV_KID
                );
            }
            if verifier.key_ids().next().is_none() {
                anyhow::bail!(
                    "production needs PBM_AUTH_PUBLIC_KEYS (no token could ever be verified)"
                );
            }
            verifier = verifier.refusing(dev::DEV_KID);
        } else {
            let signer = dev::load_or_create(&self.data_dir)
                .with_context(|| format!("development key in {}", self.data_dir.display()))?;
            verifier = verifier.with_key(dev::DEV_KID, signer.verifying_key());
            tracing::warn!(
                "development mode: tokens from `pbm token` are accepted (set PBM_PRODUCTION=true in production)"
            );
        }
        if let Some(path) = &self.auth_revoked {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read PBM_AUTH_REVOKED {}", path.display()))?;
            let revoked = pbm_auth::token::Revocations::parse(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            tracing::info!(revoked = revoked.len(), "revoked tokens loaded");
            verifier = verifier.with_revocations(revoked);
        }
        let mut layer = AuthLayer::new(verifier);
        if self.production {
            layer = layer.with_closed_reflection();
        }
        Ok(
            match std::num::NonZeroU32::new(self.rate_limit)
                .zip(std::num::NonZeroU32::new(self.rate_limit.saturating_mul(2)))
            {
                Some((per_second, burst)) => layer.with_rate_limit(per_second, burst),
                None => layer,
            },
        )
    }

    /// The cipher for personal data: `PBM_PII_CIPHER` under `PBM_PII_KEY` (or, development only,
    /// `<data-dir>/dev-pii-key`), decrypting with `PBM_PII_KEY_PREVIOUS` too.
    pub fn pii_cipher(&self) -> anyhow::Result<crate::pii::PiiCipher> {
        let key = match &self.pii.key {
            Some(text) => pii_key("PBM_PII_KEY", text)?,
            None if self.production => {
                anyhow::bail!("production needs PBM_PII_KEY (base64 of 32 random bytes)")
            }
            None => self.dev_pii_key()?,
        };
        let previous = match &self.pii.key_previous {
            Some(text) if !text.trim().is_empty() => Some(pii_key("PBM_PII_KEY_PREVIOUS", text)?),
            _ => None,
        };
        Ok(crate::pii::PiiCipher::new(
            self.pii.cipher,
            &key,
            previous.as_ref(),
        ))
    }

    /// `<data-dir>/dev-pii-key`, created (0600) on first use.
    fn dev_pii_key(&self) -> anyhow::Result<[u8; 32]> {
        let path = self.data_dir.join("dev-pii-key");
        let key = match std::fs::read_to_string(&path) {
            Ok(text) => {
                hex::decode(text.trim()).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                use rand::RngCore;
                std::fs::create_dir_all(&self.data_dir)?;
                let mut key = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut key);
                std::fs::write(&path, hex::encode(key))?;
                #[cfg(unix)]
                std::fs::set_permissions(
                    &path,
                    std::os::unix::fs::PermissionsExt::from_mode(0o600),
                )?;
                key.to_vec()
            }
            Err(e) => return Err(e.into()),
        };
        key.try_into()
            .map_err(|_| anyhow::anyhow!("{} must hold 32 bytes", path.display()))
    }

    pub fn serve_options(
        &self,
        health_services: Vec<&'static str>,
    ) -> anyhow::Result<crate::ServeOptions> {
        Ok(crate::ServeOptions {
            auth: self.auth_layer()?,
            max_in_flight: self.max_in_flight,
            request_timeout: Duration::from_secs(self.request_timeout_secs),
            health_services,
            tls: self.tls.server(self.production)?,
            health_listen: self.tls.health_listen,
        })
    }
}

/// A personal-data key given as base64 of 32 bytes (`name` is its variable, for the message).
fn pii_key(name: &str, text: &str) -> anyhow::Result<[u8; 32]> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| anyhow::anyhow!("{name} is not base64: {e}"))?
        .try_into()
        .map_err(|_| anyhow::anyhow!("{name} must be 32 bytes"))
}

/// Creates the data directory readable by this user only (0700). An existing directory keeps
/// the permissions its operator gave it.
fn create_private_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .with_context(|| format!("cannot create data directory {}", dir.display()))
}

/// Creates an empty database file readable by this user only (0600) when there is none:
/// SQLite then creates its journal files (`-wal`, `-shm`) with the same permissions.
fn create_private_file(path: &std::path::Path) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot create {}", path.display())),
    }
}

pub fn current_year() -> i32 {
    chrono::Datelike::year(&chrono::Utc::now())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: ServerArgs,
    }

    fn args(extra: &[&str], data_dir: &std::path::Path) -> ServerArgs {
        let mut argv = vec!["pbm", "--data-dir", data_dir.to_str().unwrap()];
        argv.extend_from_slice(extra);
        Cli::try_parse_from(argv).unwrap().args
    }

    fn dev_token(data_dir: &std::path::Path) -> String {
        dev::load_or_create(data_dir)
            .unwrap()
            .sign(&pbm_auth::Claims::new(
                "dev",
                pbm_auth::Role::FinanceAdmin,
                DEFAULT_REGION,
                60,
            ))
    }

    fn bearer(token: &str) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert(
            http::header::AUTHORIZATION,
            format!("Bearer {token}").parse().unwrap(),
        );
        h
    }

    #[test]
    fn defaults_are_the_documented_interface() {
        let dir = tempfile::tempdir().unwrap();
        let a = args(&[], dir.path());
        assert_eq!(a.listen.to_string(), "127.0.0.1:50051");
        assert_eq!(a.mof_div_code, DEFAULT_REGION);
        assert!(
            a.database_url("indicator")
                .unwrap()
                .ends_with("indicator.sqlite3")
        );
        let pg = args(&["--database-url", "postgres://u@h/db"], dir.path());
        assert_eq!(pg.database_url("indicator").unwrap(), "postgres://u@h/db");
    }

    #[test]
    fn revoked_tokens_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let token = dev_token(dir.path());
        let subject = "sub:dev\n";
        let revoked = dir.path().join("revoked");
        std::fs::write(&revoked, subject).unwrap();
        let layer = args(&["--auth-revoked", revoked.to_str().unwrap()], dir.path())
            .auth_layer()
            .unwrap();
        let refused = layer.authenticate(&bearer(&token)).unwrap_err();
        assert_eq!(refused.code(), tonic::Code::Unauthenticated);
        std::fs::write(&revoked, "garbage\n").unwrap();
        assert!(
            args(&["--auth-revoked", revoked.to_str().unwrap()], dir.path())
                .auth_layer()
                .is_err()
        );
    }

    #[test]
    fn a_region_names_a_province() {
        let dir = tempfile::tempdir().unwrap();
        for good in ["140500", "110000", "820000", "650102"] {
            assert!(
                args(&["--mof-div-code", good], dir.path()).region().is_ok(),
                "{good}"
            );
        }
        for bad in ["000000", "999999", "100000", "900000"] {
            assert!(
                args(&["--mof-div-code", bad], dir.path()).region().is_err(),
                "{bad}"
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn database_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let url = args(&[], &data).database_url("goal").unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(std::path::Path::new(&url)), 0o600);
    }

    #[test]
    fn development_mode_accepts_the_dev_key() {
        let dir = tempfile::tempdir().unwrap();
        let layer = args(&[], dir.path()).auth_layer().unwrap();
        assert!(
            layer
                .authenticate(&bearer(&dev_token(dir.path())))
                .unwrap()
                .authenticated
        );
    }

    #[test]
    fn production_refuses_the_dev_key() {
        let dir = tempfile::tempdir().unwrap();
        let token = dev_token(dir.path());
        let signer = dev::load_or_create(dir.path()).unwrap();
        let key = base64_key(&signer);

        // No keys at all: refuse to start.
        assert!(args(&["--production"], dir.path()).auth_layer().is_err());
        // The dev key id configured: refuse to start.
        let keys = dir.path().join("keys");
        std::fs::write(&keys, format!("dev={key}\n")).unwrap();
        assert!(
            args(
                &["--production", "--auth-public-keys", keys.to_str().unwrap()],
                dir.path()
            )
            .auth_layer()
            .is_err()
        );
        // Real keys configured: a dev token is refused even though the key material is the same.
        std::fs::write(&keys, format!("idp-2026={key}\n")).unwrap();
        let layer = args(
            &["--production", "--auth-public-keys", keys.to_str().unwrap()],
            dir.path(),
        )
        .auth_layer()
        .unwrap();
        let refused = layer.authenticate(&bearer(&token)).unwrap_err();
        assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    }

    #[test]
    fn the_pii_cipher_is_chosen_and_rotated_by_flags() {
        use crate::pii::PiiAlgorithm;
        use base64::Engine;
        let dir = tempfile::tempdir().unwrap();
        let b64 = |k: [u8; 32]| base64::engine::general_purpose::STANDARD.encode(k);
        let (a, b) = (b64([1; 32]), b64([2; 32]));
        let old = args(&["--pii-key", &a], dir.path()).pii_cipher().unwrap();
        assert_eq!(old.algorithm(), PiiAlgorithm::Aes256Gcm);
        let stored = old.encrypt("13812345678");
        let rotated = args(
            &[
                "--pii-cipher",
                "sm4-gcm",
                "--pii-key",
                &b,
                "--pii-key-previous",
                &a,
            ],
            dir.path(),
        )
        .pii_cipher()
        .unwrap();
        assert_eq!(rotated.algorithm(), PiiAlgorithm::Sm4Gcm);
        assert_eq!(rotated.decrypt(&stored).unwrap(), "13812345678");
        let without_previous = args(&["--pii-cipher", "sm4-gcm", "--pii-key", &b], dir.path());
        assert!(
            without_previous
                .pii_cipher()
                .unwrap()
                .decrypt(&stored)
                .is_err()
        );
        for bad in [
            vec!["--pii-key", "not base64!"],
            vec!["--pii-key", "AAAA"],
            vec!["--pii-key", &a, "--pii-key-previous", "AAAA"],
        ] {
            assert!(args(&bad, dir.path()).pii_cipher().is_err(), "{bad:?}");
        }
        assert!(args(&["--production"], dir.path()).pii_cipher().is_err());
        assert!(
            Cli::try_parse_from(["pbm", "--pii-cipher", "sm4"]).is_err(),
            "only the documented names"
        );
    }

    #[test]
    fn production_accepts_sm2_tokens_of_the_key_file() {
        let dir = tempfile::tempdir().unwrap();
        let gm = pbm_auth::Sm2TokenSigner::from_secret("idp-sm2", &[5u8; 32]).unwrap();
        let ed = dev::load_or_create(dir.path()).unwrap();
        let keys = dir.path().join("keys");
        std::fs::write(
            &keys,
            format!("idp-2026={}\n{}\n", base64_key(&ed), gm.key_file_line()),
        )
        .unwrap();
        let revoked = dir.path().join("revoked");
        std::fs::write(&revoked, "sub:mallory\n").unwrap();
        let flags = [
            "--production",
            "--auth-public-keys",
            keys.to_str().unwrap(),
            "--auth-revoked",
            revoked.to_str().unwrap(),
        ];
        let layer = args(&flags, dir.path()).auth_layer().unwrap();
        let claims =
            |sub: &str| pbm_auth::Claims::new(sub, pbm_auth::Role::Auditor, DEFAULT_REGION, 60);
        assert!(
            layer
                .authenticate(&bearer(&gm.sign(&claims("alice"))))
                .unwrap()
                .authenticated
        );
        for refused in [gm.sign(&claims("mallory")), dev_token(dir.path())] {
            let status = layer.authenticate(&bearer(&refused)).unwrap_err();
            assert_eq!(status.code(), tonic::Code::Unauthenticated);
        }
        // The development key id is refused in production whatever its key's kind.
        let dev_sm2 = pbm_auth::Sm2TokenSigner::from_secret(dev::DEV_KID, &[5u8; 32]).unwrap();
        std::fs::write(&keys, format!("{}\n", dev_sm2.key_file_line())).unwrap();
        assert!(args(&flags, dir.path()).auth_layer().is_err());
    }

    fn base64_key(signer: &pbm_auth::TokenSigner) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(signer.verifying_key().to_bytes())
    }
}
