//! Every mutating RPC goes through [`run_mutation`]:
//! * one transaction holds the effect, its audit row and the idempotency record;
//! * a retry with the same request id returns the first response and has no second effect;
//! * the same request id with a different request (or caller, or method) is refused;
//! * a refused or failed mutation is still audited, in its own transaction.

use hmac::{Hmac, Mac};
use pbm_auth::Caller;
use pbm_db::platform::{self, AuditEntry, IdempotencyRecord};
use pbm_db::{AnyConnection, Db, StoreError};
use prost::Message;
use sha2::Sha256;

use crate::ApiError;
use crate::rpc::Rpc;

/// Who is changing what, and under which client request id.
#[derive(Debug, Clone)]
pub struct MutationContext {
    /// The RPC: its domain (`pbm.goal`) keys the idempotency records and audit lines, its
    /// method names the change.
    pub rpc: Rpc,
    pub request_id: String,
    pub caller: Caller,
    request_hash: String,
}

impl MutationContext {
    /// Validates the request id and fingerprints the request. Handlers get theirs from
    /// [`crate::rpc::mutate`].
    pub fn new<M: Message>(
        rpc: Rpc,
        caller: Caller,
        request_id: &str,
        request: &M,
    ) -> Result<Self, ApiError> {
        let request_id = request_id.trim();
        if request_id.is_empty()
            || request_id.len() > 128
            || !request_id.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(ApiError::invalid_field(
                "REQUEST_ID_INVALID",
                "request_id",
                "每个修改请求都需要客户端请求号 request_id（1–128 个可见 ASCII 字符），用于安全重试",
            ));
        }
        let request_hash = fingerprint(&rpc, &caller, request);
        Ok(Self {
            rpc,
            request_id: request_id.to_owned(),
            caller,
            request_hash,
        })
    }

    /// The service's name in idempotency records and audit lines: the RPC's error domain
    /// (`pbm.goal`).
    pub fn service(&self) -> &str {
        self.rpc.domain()
    }

    /// The RPC's method, e.g. `SubmitGoal`.
    pub fn method(&self) -> &str {
        self.rpc.method()
    }

    fn audit(&self, entity_type: &str, entity_id: &str, outcome: &str, detail: &str) -> AuditEntry {
        AuditEntry {
            occurred_at: pbm_db::now(),
            service: self.service().to_owned(),
            method: self.method().to_owned(),
            request_id: self.request_id.clone(),
            subject: self.caller.subject.clone(),
            role: self.caller.role.as_str().to_owned(),
            mof_div_code: self.caller.mof_div_code.to_string(),
            entity_type: entity_type.to_owned(),
            entity_id: entity_id.to_owned(),
            outcome: outcome.to_owned(),
            detail: detail.to_owned(),
        }
    }
}

/// The fingerprint a retry must match to be answered with the first response: the RPC, the
/// caller's full identity (subject, role, region, unit, department, agency, expert) and the
/// request. A caller that shares only the subject (another role, region or unit under the same
/// account name) never receives another caller's answer.
///
/// The fingerprint is keyed (HMAC-SHA256 with [`install_fingerprint_key`]'s key, derived from
/// `PBM_PII_KEY`): requests carry personal data, and a plain hash stored beside them could be
/// tested against guesses offline.
fn fingerprint<M: Message>(rpc: &Rpc, caller: &Caller, request: &M) -> String {
    let key = FINGERPRINT_KEY.get().unwrap_or(DEVELOPMENT_FINGERPRINT_KEY);
    let mut hash = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("any key length");
    let region = caller.mof_div_code.to_string();
    let identity = [
        rpc.service(),
        rpc.method(),
        caller.subject.as_str(),
        caller.role.as_str(),
        region.as_str(),
        caller.unit.as_deref().unwrap_or_default(),
        caller.department.as_deref().unwrap_or_default(),
        caller.agency.as_deref().unwrap_or_default(),
        caller.expert.as_deref().unwrap_or_default(),
    ];
    for part in identity {
        // Length-prefixed, so no two identities hash the same bytes.
        hash.update(&(part.len() as u64).to_le_bytes());
        hash.update(part.as_bytes());
    }
    hash.update(&request.encode_to_vec());
    hex::encode(hash.finalize().into_bytes())
}

static FINGERPRINT_KEY: std::sync::OnceLock<[u8; 32]> = std::sync::OnceLock::new();

/// The key of a process that installed none (tests, benches).
const DEVELOPMENT_FINGERPRINT_KEY: &[u8; 32] = b"pbm-development-fingerprint-key!";

/// Sets the key of the requests' fingerprints, once per process, before serving
/// (`run::serve_hosted` installs the one derived from `PBM_PII_KEY`). Every replica of a
/// deployment must use the same key, or a retry reaching another replica is refused.
pub fn install_fingerprint_key(key: [u8; 32]) {
    let _ = FINGERPRINT_KEY.set(key);
}

/// What a successful mutation produced: the response and what to write in the audit trail.
pub struct Effect<R> {
    pub response: R,
    pub entity_type: &'static str,
    pub entity_id: String,
    /// A short description or diff of the change.
    pub detail: String,
}

const IDEMPOTENCY_RACE: &str = "IDEMPOTENCY_RACE";

/// Runs `effect` in one transaction with its audit row and idempotency record.
/// `entity` names what a refusal is audited against when `effect` fails.
pub async fn run_mutation<R, F>(
    db: &Db,
    ctx: MutationContext,
    entity: (&'static str, String),
    effect: F,
) -> Result<R, ApiError>
where
    R: Message + Default + Send + 'static,
    F: FnOnce(&mut AnyConnection, &MutationContext) -> Result<Effect<R>, ApiError> + Send + 'static,
{
    let ctx_for_tx = ctx.clone();
    // The idempotency record is looked up only when the transaction does not commit: a retry
    // of a committed request either fails in its effect (a stale revision, a duplicate key) or
    // collides with the record at the end, and is rolled back either way; then the first
    // response is replayed. A retry running *while* the first attempt is in flight waits on
    // what the first one holds — the row it updates, the unique key it inserts, at the latest
    // the record's primary key — and so also fails or collides only once the first has
    // committed, and replays it. A new request pays no lookup and no lock of its own.
    let result = db
        .write(move |conn| -> Result<R, ApiError> {
            let ctx = ctx_for_tx;
            let effect = effect(conn, &ctx)?;
            ctx.records(&effect)
                .insert(conn)
                .map_err(idempotency_collision)?;
            Ok(effect.response)
        })
        .await;
    settle(db, ctx, entity, result).await
}

/// What a mutation commits beside its change: its audit line (with its row MAC, computed once
/// here for every way of writing it: docs/SECURITY.md "Audit log") and its idempotency record.
#[derive(Debug, Clone)]
pub struct Records {
    pub audit: AuditEntry,
    /// [`AuditEntry::row_mac`] of `audit`.
    pub audit_mac: String,
    pub idempotency: IdempotencyRecord,
}

impl Records {
    /// Writes both, as separate statements (the caller holds the transaction). The audit table
    /// has no unique key, so a unique violation is the idempotency record's.
    pub fn insert(&self, conn: &mut AnyConnection) -> Result<(), StoreError> {
        platform::insert_audit_with_mac(conn, &self.audit, &self.audit_mac)?;
        platform::insert_idempotency(conn, &self.idempotency)
    }
}

impl MutationContext {
    /// The records of a successful `effect`.
    pub fn records<R: Message>(&self, effect: &Effect<R>) -> Records {
        let audit = self.audit(effect.entity_type, &effect.entity_id, "OK", &effect.detail);
        Records {
            audit_mac: audit.row_mac(),
            audit,
            idempotency: IdempotencyRecord {
                service: self.service().to_owned(),
                request_id: self.request_id.clone(),
                subject: self.caller.subject.clone(),
                method: self.method().to_owned(),
                request_hash: self.request_hash.clone(),
                response: effect.response.encode_to_vec(),
                created_at: pbm_db::now(),
            },
        }
    }
}

/// Like [`run_mutation`], for a change that `decide` works out from what it reads and that the
/// write it returns commits together with the [`Records`] it is given (the goal service's
/// workflow steps on SQLite: the same decision and write serve its batched PostgreSQL path,
/// which commits through [`settle`] itself). Both run in one transaction. The write should
/// still be guarded (an expected revision) as it would be outside a transaction. A retry
/// replays the first response exactly as with [`run_mutation`]: it fails its guard or collides
/// with the idempotency record, and the record is then looked up.
pub async fn run_decided_mutation<R, F, W>(
    db: &Db,
    ctx: MutationContext,
    entity: (&'static str, String),
    decide: F,
) -> Result<R, ApiError>
where
    R: Message + Default + Send + 'static,
    F: FnOnce(&mut AnyConnection, &MutationContext) -> Result<(Effect<R>, W), ApiError>
        + Send
        + 'static,
    W: FnOnce(&mut AnyConnection, &Records) -> Result<(), ApiError>,
{
    let ctx_for_write = ctx.clone();
    let result = db
        .write(move |conn| -> Result<R, ApiError> {
            let ctx = ctx_for_write;
            let (effect, write) = decide(conn, &ctx)?;
            let records = ctx.records(&effect);
            write(conn, &records)?;
            Ok(effect.response)
        })
        .await;
    settle(db, ctx, entity, result).await
}

/// The idempotency record's insert failed: a unique violation means the same request id
/// committed first (ours is rolled back and theirs replayed).
fn idempotency_collision(e: StoreError) -> ApiError {
    match e {
        StoreError::UniqueViolation(_) => {
            ApiError::new(crate::ErrorKind::Aborted, IDEMPOTENCY_RACE, "重复提交")
        }
        e => e.into(),
    }
}

/// The outcome of a mutation: its response, or — when it did not commit — the first response
/// to the same request id if there is one, else its error (audited as a refusal). The tail of
/// [`run_mutation`] and [`run_decided_mutation`], public for a service that commits a decided
/// write its own way (in a batch with others: `pbm_db::Coalescer`).
pub async fn settle<R: Message + Default>(
    db: &Db,
    ctx: MutationContext,
    entity: (&'static str, String),
    result: Result<R, ApiError>,
) -> Result<R, ApiError> {
    let error = match result {
        Ok(response) => return Ok(response),
        Err(e) => e,
    };
    // A caller the use case refuses is refused on a retry too: a replay never answers a caller
    // that the first request's checks would not let through.
    if matches!(
        error.kind,
        crate::ErrorKind::PermissionDenied | crate::ErrorKind::Unauthenticated
    ) {
        audit_refusal(db, &ctx, entity, &error).await;
        return Err(error);
    }
    let (service, request_id) = (ctx.service().to_owned(), ctx.request_id.clone());
    match db
        .read(move |c| platform::find_idempotency(c, &service, &request_id))
        .await
    {
        Ok(Some(previous)) => replay(&ctx, previous),
        Ok(None) if error.reason == IDEMPOTENCY_RACE => {
            Err(ApiError::internal("idempotency record vanished"))
        }
        Ok(None) | Err(_) => {
            audit_refusal(db, &ctx, entity, &error).await;
            Err(error)
        }
    }
}

/// Audits a mutation refused before it reached [`run_mutation`] (e.g. an unauthorised caller
/// refused before a large upload is parsed), in its own transaction.
pub async fn audit_refusal(
    db: &Db,
    ctx: &MutationContext,
    entity: (&'static str, String),
    error: &ApiError,
) {
    // A refusal's row is bounded: what a refused caller sent (a 2 MiB code) is not stored.
    let entry = ctx.audit(
        entity.0,
        bounded(&entity.1, MAX_REFUSAL_FIELD_CHARS),
        error.reason,
        bounded(&error.message, MAX_REFUSAL_FIELD_CHARS),
    );
    if let Err(audit_error) = db.write(move |c| platform::insert_audit(c, &entry)).await {
        tracing::error!(error = %audit_error, "could not audit a refused mutation");
    }
}

/// How long a client request id is remembered: a retry within it gets the first response; the
/// record is deleted by the next sweep after it ([`expire_idempotency`], within
/// [`IDEMPOTENCY_SWEEP_EVERY`]) and the id may then be used afresh.
pub const IDEMPOTENCY_RETENTION: chrono::TimeDelta = chrono::TimeDelta::days(7);

/// Deletes the idempotency records past [`IDEMPOTENCY_RETENTION`]; returns how many. Every
/// served database runs it every [`IDEMPOTENCY_SWEEP_EVERY`] (`run::serve_hosted`).
pub async fn expire_idempotency(db: &Db) -> Result<usize, ApiError> {
    let before = pbm_db::now() - IDEMPOTENCY_RETENTION;
    Ok(db
        .write(move |c| pbm_db::retention::expire_idempotency(c, before))
        .await?)
}

/// How often the served databases are swept of expired idempotency records.
pub const IDEMPOTENCY_SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// Most characters of a refused mutation's entity id and message kept in its audit row.
pub const MAX_REFUSAL_FIELD_CHARS: usize = 256;

/// `text` cut to at most `max` characters (on a character boundary).
fn bounded(text: &str, max: usize) -> &str {
    text.char_indices()
        .nth(max)
        .map_or(text, |(end, _)| &text[..end])
}

fn replay<R: Message + Default>(
    ctx: &MutationContext,
    previous: IdempotencyRecord,
) -> Result<R, ApiError> {
    if previous.method != ctx.method()
        || previous.subject != ctx.caller.subject
        || previous.request_hash != ctx.request_hash
    {
        return Err(ApiError::invalid_field(
            "REQUEST_ID_REUSED",
            "request_id",
            format!(
                "请求号 {} 已用于另一个不同的请求，请为新请求使用新的请求号",
                ctx.request_id
            ),
        ));
    }
    R::decode(previous.response.as_slice()).map_err(ApiError::internal)
}

#[cfg(test)]
mod tests {
    use super::bounded;

    #[test]
    fn bounded_cuts_on_a_character_boundary() {
        assert_eq!(bounded("指标代码", 2), "指标");
        assert_eq!(bounded("abc", 3), "abc");
        assert_eq!(bounded("abc", 10), "abc");
        assert_eq!(bounded(&"码".repeat(1000), 256).chars().count(), 256);
    }
}
