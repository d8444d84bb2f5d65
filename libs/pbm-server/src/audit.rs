//! The audit trail's tamper evidence as the runner serves it (docs/SECURITY.md "Audit log";
//! the chain itself is `pbm_db::platform::chain`):
//! * the audit key (`--audit-key` / `PBM_AUDIT_KEY`), installed once per process;
//! * a sealer per served database, every [`SEAL_EVERY`] and once at shutdown;
//! * `pbm.audit.v1.AuditService` (VerifyAuditChain, ExportAudit), added by the runner to every
//!   server, so every service has it without code of its own;
//! * the `audit-verify` command.

use std::sync::Arc;

use anyhow::Context;
use chrono::{NaiveDateTime, SecondsFormat};
use pbm_auth::{Caller, Denied, Role};
use pbm_db::Db;
use pbm_db::platform::chain::{self, AuditKey, Verdict};
use pbm_db::platform::{self, AuditFilter, AuditRecord};
use pbm_proto::audit::v1 as proto;
use pbm_proto::audit::v1::audit_service_server::{AuditService, AuditServiceServer};
use pbm_proto::common::v1 as common;
use pbm_types::DivisionCode;
use tonic::service::Routes;
use tonic::{Request, Response, Status};

use crate::ApiError;
use crate::limits::{CODE, Texts};
use crate::paging::Page;

/// Name reported by grpc.health.v1.
pub const HEALTH_NAME: &str = <AuditServiceServer<AuditGrpc> as tonic::server::NamedService>::NAME;

/// How often each served database's new audit rows are sealed.
pub const SEAL_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// The audit key's flag.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct AuditArgs {
    /// Key of the audit trail's row MACs and hash chain (HMAC-SM3): base64 of 32 random bytes,
    /// the same for every service of a deployment and kept for as long as the trail. Required
    /// in production; in development a key is created in the data directory.
    #[arg(long = "audit-key", env = "PBM_AUDIT_KEY", hide_env_values = true)]
    pub key: Option<String>,
}

impl AuditArgs {
    /// `PBM_AUDIT_KEY`, or (development only) `<data_dir>/dev-audit-key`, created on first use.
    pub fn key(&self, data_dir: &std::path::Path, production: bool) -> anyhow::Result<AuditKey> {
        use base64::Engine;
        let bytes = match &self.key {
            Some(text) => base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map_err(|e| anyhow::anyhow!("PBM_AUDIT_KEY is not base64: {e}"))?,
            None if production => {
                anyhow::bail!("production needs PBM_AUDIT_KEY (base64 of 32 random bytes)")
            }
            None => {
                let path = data_dir.join("dev-audit-key");
                match std::fs::read_to_string(&path) {
                    Ok(text) => hex::decode(text.trim())
                        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        use rand::RngCore;
                        std::fs::create_dir_all(data_dir)?;
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
                }
            }
        };
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| anyhow::anyhow!("PBM_AUDIT_KEY must be 32 bytes"))?;
        Ok(AuditKey::new(key))
    }
}

/// A hosted service's trail: its error domain (`pbm.goal`, the `service` of its audit rows)
/// and its database.
#[derive(Debug, Clone)]
pub struct Trail {
    pub service: &'static str,
    pub db: Db,
}

impl Trail {
    /// The trail of the service whose gRPC service is `grpc_service` (a health name).
    pub fn of(grpc_service: &'static str, db: Db) -> Trail {
        Trail {
            service: crate::rpc::error_domain(grpc_service),
            db,
        }
    }
}

/// Seals `db`'s new audit rows every [`SEAL_EVERY`], for as long as the process runs.
pub async fn run_sealer(db: Db) {
    let mut every = tokio::time::interval(SEAL_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if let Err(e) = chain::seal(&db, &chain::installed_key()).await {
            tracing::warn!(error = %e, "could not seal the audit trail");
        }
    }
}

/// Seals every row written so far (at shutdown, after the last request).
pub async fn seal_now(dbs: &[Db]) {
    for db in dbs {
        if let Err(e) = chain::seal(db, &chain::installed_key()).await {
            tracing::warn!(error = %e, "could not seal the audit trail at shutdown");
        }
    }
}

/// Seals, then verifies `db`'s chain. A chain that cannot be sealed (its head row deleted) is
/// still verified: the verdict says what is wrong.
pub async fn seal_and_verify(db: &Db) -> Result<Verdict, ApiError> {
    let key = chain::installed_key();
    if let Err(e) = chain::seal(db, &key).await {
        tracing::warn!(error = %e, "could not seal the audit trail before verifying it");
    }
    Ok(db.read(move |c| chain::verify(c, &key)).await?)
}

/// `audit-verify`: seals and verifies each trail's database (once, naming every service, when
/// they `share_one_database`), prints the verdicts, and fails when a chain is broken.
pub async fn verify_command(
    trails: &[Trail],
    share_one_database: bool,
    key: AuditKey,
) -> anyhow::Result<()> {
    chain::install_key(key);
    let groups: Vec<(String, &Db)> = match trails {
        [first, ..] if share_one_database => {
            let names: Vec<&str> = trails.iter().map(|t| t.service).collect();
            vec![(names.join(", "), &first.db)]
        }
        _ => trails
            .iter()
            .map(|t| (t.service.to_owned(), &t.db))
            .collect(),
    };
    let mut broken = Vec::new();
    for (names, db) in groups {
        let verdict = seal_and_verify(db)
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.message))
            .with_context(|| format!("verifying the audit trail of {names}"))?;
        println!("{names}: {}", describe(&verdict));
        if !verdict.ok() {
            broken.push(names);
        }
    }
    if !broken.is_empty() {
        anyhow::bail!("audit trail broken: {}", broken.join("; "));
    }
    Ok(())
}

/// One line for a person: the verdict, the counts and the head.
pub fn describe(v: &Verdict) -> String {
    let counts = format!(
        "sealed {}, pending {}, head {} {}",
        v.sealed,
        v.pending,
        v.head_seq,
        if v.head_hash.is_empty() {
            "-"
        } else {
            &v.head_hash
        }
    );
    match v.broken {
        None => format!("ok ({counts})"),
        Some((seq, why)) => format!(
            "BROKEN at seq {seq}: {} ({}){} ({counts})",
            why.message(),
            why.code(),
            v.broken_row_id
                .map(|id| format!(", row id {id}"))
                .unwrap_or_default()
        ),
    }
}

/// Adds `pbm.audit.v1.AuditService` over `trails` to `routes`.
pub fn add_to(routes: Routes, region: DivisionCode, trails: Vec<Trail>) -> Routes {
    routes.add_service(AuditServiceServer::new(AuditGrpc {
        region,
        trails: Arc::new(trails),
    }))
}

/// May `caller` verify and export this region's audit trails? The auditor of the region or of
/// a region above it; the finance bureau of this very region.
pub fn can_audit(caller: &Caller, region: &DivisionCode) -> Result<(), Denied> {
    if !caller.authenticated {
        return Err(Denied::Unauthenticated);
    }
    let in_region = match caller.role {
        Role::Auditor => caller.mof_div_code.covers(region),
        Role::FinanceAdmin => &caller.mof_div_code == region,
        role => {
            return Err(Denied::permission(
                "ROLE_NOT_ALLOWED",
                format!("只有审计人员和本级财政部门可以核验和导出审计日志（当前角色：{role}）"),
            ));
        }
    };
    if !in_region {
        return Err(Denied::permission(
            "REGION_MISMATCH",
            format!(
                "您属于财政区划 {}，不能核验或导出财政区划 {} 的审计日志",
                caller.mof_div_code, region
            ),
        ));
    }
    Ok(())
}

/// The gRPC adapter of `pbm.audit.v1.AuditService`.
#[derive(Clone)]
pub struct AuditGrpc {
    region: DivisionCode,
    trails: Arc<Vec<Trail>>,
}

impl AuditGrpc {
    /// The database of `service`'s trail, after the caller and the request's texts are checked.
    fn trail(&self, caller: &Caller, service: &str, texts: Texts) -> Result<Db, ApiError> {
        can_audit(caller, &self.region)?;
        texts.check()?;
        self.trails
            .iter()
            .find(|t| t.service == service)
            .map(|t| t.db.clone())
            .ok_or_else(|| {
                let hosted: Vec<&str> = self.trails.iter().map(|t| t.service).collect();
                ApiError::not_found(
                    "SERVICE_UNKNOWN",
                    format!(
                        "本服务器没有服务「{service}」的审计日志（可选：{}）",
                        hosted.join("、")
                    ),
                )
                .with_violation("service", "未知的服务")
            })
    }
}

#[tonic::async_trait]
impl AuditService for AuditGrpc {
    async fn verify_audit_chain(
        &self,
        request: Request<proto::VerifyAuditChainRequest>,
    ) -> Result<Response<proto::VerifyAuditChainResponse>, Status> {
        crate::rpc::query(request, |caller, m| async move {
            let mut texts = Texts::default();
            texts.text("", "service", "服务", &m.service, CODE);
            let db = self.trail(&caller, &m.service, texts)?;
            let v = seal_and_verify(&db).await?;
            Ok(proto::VerifyAuditChainResponse {
                ok: v.ok(),
                first_broken_seq: v.broken.map_or(0, |b| b.0),
                reason: v.broken.map(|b| b.1.code().to_owned()).unwrap_or_default(),
                detail: match v.broken {
                    Some((_, why)) => match v.broken_row_id {
                        Some(id) => format!("{}（记录 id {id}）", why.message()),
                        None => why.message().to_owned(),
                    },
                    None => String::new(),
                },
                sealed: v.sealed,
                pending: v.pending,
                head_seq: v.head_seq,
                head_hash: v.head_hash,
            })
        })
        .await
    }

    async fn export_audit(
        &self,
        request: Request<proto::ExportAuditRequest>,
    ) -> Result<Response<proto::ExportAuditResponse>, Status> {
        crate::rpc::query(request, |caller, m| async move {
            let mut texts = Texts::default();
            texts.text("", "service", "服务", &m.service, CODE);
            texts.text("", "from", "起始时间", &m.from, CODE);
            texts.text("", "to", "截止时间", &m.to, CODE);
            texts.text("", "only_service", "服务", &m.only_service, CODE);
            let page = m.page.unwrap_or_default();
            texts.text("page.", "page_token", "分页令牌", &page.page_token, 128);
            let db = self.trail(&caller, &m.service, texts)?;
            let limit = Page::parse(page.page_size, "")?.limit;
            let after = after_id(&page.page_token)?;
            let filter = AuditFilter {
                from: time("from", &m.from)?,
                to: time("to", &m.to)?,
                service: Some(m.only_service).filter(|s| !s.is_empty()),
            };
            let rows = db
                .read(move |c| platform::audit_page(c, &filter, after, limit))
                .await?;
            let next_page_token = match rows.last() {
                Some(last) if rows.len() as i64 == limit => format!("a{}", last.id),
                _ => String::new(),
            };
            Ok(proto::ExportAuditResponse {
                rows: rows.into_iter().map(row).collect(),
                page: Some(common::PageResponse {
                    next_page_token,
                    total_size: 0,
                }),
            })
        })
        .await
    }
}

/// The id a page token continues after (`a<id>`; empty: from the start).
fn after_id(token: &str) -> Result<i64, ApiError> {
    if token.is_empty() {
        return Ok(0);
    }
    token
        .strip_prefix('a')
        .and_then(|n| n.parse::<i64>().ok())
        .filter(|n| *n >= 0)
        .ok_or_else(|| {
            ApiError::invalid_field("PAGE_TOKEN_INVALID", "page.page_token", "分页令牌无效")
        })
}

/// An RFC 3339 time of field `field`, in UTC; empty: no bound.
fn time(field: &str, text: &str) -> Result<Option<NaiveDateTime>, ApiError> {
    if text.is_empty() {
        return Ok(None);
    }
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| Some(t.naive_utc()))
        .map_err(|_| {
            ApiError::invalid_field(
                "TIME_INVALID",
                field,
                format!("时间「{text}」不是 RFC 3339 格式（例如 2026-03-01T00:00:00+08:00）"),
            )
        })
}

fn row(r: AuditRecord) -> proto::AuditRow {
    proto::AuditRow {
        id: r.id,
        occurred_at: r
            .occurred_at
            .and_utc()
            .to_rfc3339_opts(SecondsFormat::Micros, true),
        service: r.service,
        method: r.method,
        request_id: r.request_id,
        subject: r.subject,
        role: r.role,
        mof_div_code: r.mof_div_code,
        entity_type: r.entity_type,
        entity_id: r.entity_id,
        outcome: r.outcome,
        detail: r.detail,
        row_mac: r.row_mac.unwrap_or_default(),
        chain_seq: r.chain_seq.unwrap_or_default(),
        chain_hash: r.chain_hash.unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(role: Role, region: &str) -> Caller {
        Caller {
            subject: "s".into(),
            role,
            mof_div_code: DivisionCode::parse(region).unwrap(),
            unit: None,
            department: None,
            agency: None,
            expert: None,
            authenticated: true,
        }
    }

    #[test]
    fn auditors_above_and_finance_of_the_region_only() {
        let region = DivisionCode::parse("140525").unwrap();
        assert!(can_audit(&caller(Role::Auditor, "140525"), &region).is_ok());
        assert!(can_audit(&caller(Role::Auditor, "140000"), &region).is_ok());
        assert!(can_audit(&caller(Role::FinanceAdmin, "140525"), &region).is_ok());
        let reason = |c: &Caller| can_audit(c, &region).unwrap_err().reason();
        assert_eq!(
            reason(&caller(Role::FinanceAdmin, "140500")),
            "REGION_MISMATCH"
        );
        assert_eq!(reason(&caller(Role::Auditor, "140526")), "REGION_MISMATCH");
        for role in [
            Role::Department,
            Role::BudgetUnit,
            Role::Agency,
            Role::Expert,
            Role::Province,
            Role::Public,
        ] {
            assert_eq!(reason(&caller(role, "140525")), "ROLE_NOT_ALLOWED");
        }
        assert_eq!(
            can_audit(&Caller::anonymous(), &region).unwrap_err(),
            Denied::Unauthenticated
        );
    }

    #[test]
    fn page_tokens_and_times() {
        assert_eq!(after_id("").unwrap(), 0);
        assert_eq!(after_id("a42").unwrap(), 42);
        assert!(after_id("o42").is_err());
        assert!(after_id("a-1").is_err());
        assert_eq!(
            time("from", "2026-03-01T08:00:00+08:00").unwrap(),
            Some(
                chrono::NaiveDate::from_ymd_opt(2026, 3, 1)
                    .unwrap()
                    .and_hms_opt(0, 0, 0)
                    .unwrap()
            )
        );
        assert_eq!(time("to", "").unwrap(), None);
        assert_eq!(time("to", "yesterday").unwrap_err().reason, "TIME_INVALID");
    }
}
