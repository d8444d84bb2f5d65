//! The PBM test kit, used by every service's tests, by `tests/` and by the benches: a real
//! server on a free loopback port behind the standard stack ([`TestServer`]), tokens for any
//! caller ([`Who`]), requests carrying them, client request ids, and assertions on statuses
//! ([`refused`], [`reason`], [`fields`]).
//!
//! Databases come from `pbm_db::testing::TestDatabase` (SQLite, or PostgreSQL when
//! `PBM_TEST_DATABASE_URL` is set) and every API test runs on both through
//! `pbm_db::backend_tests!`. The kit knows no service: a test opens the states it needs and
//! hands their routes to [`TestServer::start`]. It knows one step of the agency service's over
//! the wire, [`admit_agencies`], which the goal and monitoring tests share.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ed25519_dalek::SigningKey;
use pbm_auth::{AuthLayer, Claims, Ed25519Verifier, Role, TokenSigner};
use pbm_server::ServeOptions;
use tokio::sync::oneshot;
use tonic::service::Routes;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};
use tonic_types::StatusExt;

pub mod echo;
mod pool;

pub use pbm_db::backend_tests;
pub use pbm_db::testing::TestDatabase;
pub use pool::admit_agencies;

/// The key id of the kit's signing key.
pub const KID: &str = "test";

/// Who calls: the claims of a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Who {
    pub sub: String,
    pub role: Role,
    pub region: String,
    pub department: Option<String>,
    pub unit: Option<String>,
    pub agency: Option<String>,
    pub expert: Option<String>,
}

impl Who {
    /// A caller of `role` in `region`, subject `<role>@<region>`, without unit or department.
    pub fn new(role: Role, region: &str) -> Who {
        Who {
            sub: format!("{}@{region}", role.as_str()),
            role,
            region: region.into(),
            department: None,
            unit: None,
            agency: None,
            expert: None,
        }
    }

    /// The finance bureau of `region`.
    pub fn finance(region: &str) -> Who {
        Who::new(Role::FinanceAdmin, region)
    }

    /// Department `code` of `region`.
    pub fn department(region: &str, code: &str) -> Who {
        Who::new(Role::Department, region).with_department(code)
    }

    /// Budget unit `unit` of department `department` in `region`.
    pub fn unit(region: &str, department: &str, unit: &str) -> Who {
        Who::new(Role::BudgetUnit, region)
            .with_department(department)
            .with_unit(unit)
    }

    /// The same caller under another subject (a second user of the same role and unit).
    #[must_use]
    pub fn with_sub(mut self, sub: &str) -> Who {
        self.sub = sub.into();
        self
    }

    #[must_use]
    pub fn with_unit(mut self, unit: &str) -> Who {
        self.unit = Some(unit.into());
        self.sub = format!("{}-{unit}", self.sub);
        self
    }

    #[must_use]
    pub fn with_department(mut self, department: &str) -> Who {
        self.department = Some(department.into());
        if self.unit.is_none() {
            self.sub = format!("{}-{department}", self.sub);
        }
        self
    }

    #[must_use]
    pub fn with_agency(mut self, agency: &str) -> Who {
        self.agency = Some(agency.into());
        self.sub = format!("{}-{agency}", self.sub);
        self
    }

    #[must_use]
    pub fn with_expert(mut self, expert: &str) -> Who {
        self.expert = Some(expert.into());
        self.sub = format!("{}-{expert}", self.sub);
        self
    }

    /// The same caller in another region.
    #[must_use]
    pub fn in_region(mut self, region: &str) -> Who {
        self.sub = format!("{}@{region}", self.sub);
        self.region = region.into();
        self
    }

    /// The claims of this caller's token, valid for `ttl_secs`.
    pub fn claims(&self, ttl_secs: i64) -> Claims {
        Claims::new(self.sub.clone(), self.role, self.region.clone(), ttl_secs)
            .with_unit(self.unit.as_deref())
            .with_department(self.department.as_deref())
            .with_agency(self.agency.as_deref())
            .with_expert(self.expert.as_deref())
    }
}

/// Signs tokens with the kit's fixed key and numbers client request ids.
pub struct Tokens {
    signer: TokenSigner,
    seq: AtomicU64,
}

impl Default for Tokens {
    fn default() -> Self {
        Tokens {
            signer: TokenSigner::new(KID, SigningKey::from_bytes(&[42u8; 32])),
            seq: AtomicU64::new(0),
        }
    }
}

impl Tokens {
    /// The auth layer that trusts these tokens.
    pub fn auth_layer(&self) -> AuthLayer {
        AuthLayer::new(Ed25519Verifier::new().with_key(KID, self.signer.verifying_key()))
    }

    /// A token for `who`, valid for an hour.
    pub fn token(&self, who: &Who) -> String {
        self.signer.sign(&who.claims(3600))
    }

    /// A token for arbitrary claims (expired ones, foreign regions, …).
    pub fn sign(&self, claims: &Claims) -> String {
        self.signer.sign(claims)
    }

    /// A request from `who`.
    pub fn req<T>(&self, who: &Who, message: T) -> Request<T> {
        bearer(&self.token(who), message)
    }

    /// A fresh client request id (`req-<n>`).
    pub fn rid(&self) -> String {
        format!("req-{}", self.seq.fetch_add(1, Ordering::Relaxed))
    }
}

/// Wraps a message in a request carrying `authorization: Bearer <token>`.
pub fn bearer<T>(token: &str, message: T) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("ascii token"),
    );
    request
}

/// A server on a free port of 127.0.0.1 behind the standard stack (`pbm_server::serve`:
/// auth, limits, health, reflection), stopped when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    pub channel: Channel,
    pub tokens: Tokens,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl TestServer {
    /// Serves `routes`, reporting `health_names` SERVING.
    pub async fn start(routes: Routes, health_names: Vec<&'static str>) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        Self::start_on(listener, routes, health_names).await
    }

    /// Serves `routes` on a listener bound beforehand (services that call each other through
    /// this very server need its address before their states open).
    pub async fn start_on(
        listener: tokio::net::TcpListener,
        routes: Routes,
        health_names: Vec<&'static str>,
    ) -> TestServer {
        let addr = listener.local_addr().expect("local addr");
        let tokens = Tokens::default();
        let options = ServeOptions {
            auth: tokens.auth_layer(),
            max_in_flight: 64,
            request_timeout: Duration::from_secs(10),
            health_services: health_names,
            tls: None,
            health_listen: None,
        };
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let shutdown = async {
                let _ = rx.await;
            };
            if let Err(e) = pbm_server::serve(listener, routes, options, shutdown).await {
                eprintln!("test server failed: {e:#}");
            }
        });
        let channel = Channel::from_shared(format!("http://{addr}"))
            .expect("url")
            .connect()
            .await
            .expect("connect to the test server");
        TestServer {
            addr,
            channel,
            tokens,
            shutdown: Some(tx),
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A request from `who`.
    pub fn req<T>(&self, who: &Who, message: T) -> Request<T> {
        self.tokens.req(who, message)
    }

    /// A fresh client request id.
    pub fn rid(&self) -> String {
        self.tokens.rid()
    }
}

/// The flags of a deployment under test as `pbm serve` reads them: database `database_url`,
/// data directory `data_dir` (its development key signs [`dev_token`]s), region `region`, a
/// free loopback port, the national frame of `seed_year` seeded.
pub fn server_args(
    data_dir: &std::path::Path,
    database_url: &str,
    region: &str,
    seed_year: i32,
) -> pbm_server::config::ServerArgs {
    pbm_server::config::ServerArgs {
        listen: "127.0.0.1:0".parse().expect("loopback"),
        data_dir: data_dir.to_owned(),
        database_url: Some(database_url.to_owned()),
        sqlite_synchronous: pbm_db::SqliteSynchronous::Full,
        mof_div_code: region.into(),
        production: false,
        auth_public_keys: None,
        auth_revoked: None,
        rate_limit: 0,
        max_in_flight: 64,
        request_timeout_secs: 10,
        pii: Default::default(),
        redis_url: None,
        otlp_endpoint: None,
        seed_fiscal_year: Some(seed_year),
        indicator_url: None,
        agency_url: None,
        goal_url: None,
        monitoring_url: None,
        library_cache_secs: 5,
        upstream_library_url: None,
        upstream_token_file: None,
        audit: Default::default(),
        tls: pbm_server::tls::TlsArgs::default(),
    }
}

/// A token for `who` as `pbm token` prints it: signed with the development key of `data_dir`.
pub fn dev_token(data_dir: &std::path::Path, who: &Who) -> String {
    pbm_auth::dev::load_or_create(data_dir)
        .expect("development key")
        .sign(&who.claims(600))
}

// -- assertions on statuses ----------------------------------------------------------------------

/// `ErrorInfo.reason` of a status ("" when missing).
pub fn reason(status: &Status) -> String {
    status
        .get_details_error_info()
        .map(|i| i.reason)
        .unwrap_or_default()
}

/// `ErrorInfo.domain` of a status ("" when missing).
pub fn domain(status: &Status) -> String {
    status
        .get_details_error_info()
        .map(|i| i.domain)
        .unwrap_or_default()
}

/// `BadRequest` field paths of a status.
pub fn fields(status: &Status) -> Vec<String> {
    violations(status).into_iter().map(|(f, _)| f).collect()
}

/// `BadRequest` field violations of a status: (field, description).
pub fn violations(status: &Status) -> Vec<(String, String)> {
    status
        .get_details_bad_request()
        .map(|b| {
            b.field_violations
                .into_iter()
                .map(|v| (v.field, v.description))
                .collect()
        })
        .unwrap_or_default()
}

/// `BadRequest` field violations of a status with their reasons: (field, reason).
pub fn violation_reasons(status: &Status) -> Vec<(String, String)> {
    status
        .get_details_bad_request()
        .map(|b| {
            b.field_violations
                .into_iter()
                .map(|v| (v.field, v.reason))
                .collect()
        })
        .unwrap_or_default()
}

/// Asserts the call failed with `code` and `reason`; returns the status for further checks.
#[track_caller]
pub fn refused<T: std::fmt::Debug>(
    result: Result<T, Status>,
    code: Code,
    expected_reason: &str,
) -> Status {
    let status = match result {
        Ok(v) => panic!("expected {code:?} {expected_reason}, got Ok({v:?})"),
        Err(s) => s,
    };
    assert_eq!(status.code(), code, "{status:?}");
    assert_eq!(reason(&status), expected_reason, "{status:?}");
    status
}

/// Asserts the status names `field` among its field violations.
#[track_caller]
pub fn has_field(status: &Status, field: &str) {
    let fs = fields(status);
    assert!(
        fs.iter().any(|f| f == field),
        "expected violation on {field}, got {fs:?} ({status:?})"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_builders_carry_what_a_real_token_carries() {
        let u = Who::unit("140525", "D01", "U0101");
        assert_eq!(u.role, Role::BudgetUnit);
        assert_eq!(u.department.as_deref(), Some("D01"));
        assert_eq!(u.unit.as_deref(), Some("U0101"));
        let claims = u.claims(60);
        assert_eq!(claims.unit.as_deref(), Some("U0101"));
        let other = u.clone().in_region("140526");
        assert_ne!(other.sub, u.sub);
        assert_eq!(other.region, "140526");
    }

    #[test]
    fn request_ids_are_fresh() {
        let t = Tokens::default();
        assert_ne!(t.rid(), t.rid());
    }
}
