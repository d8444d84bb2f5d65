//! Tamper evidence of the audit trail (docs/SECURITY.md "Audit log").
//!
//! * Every row is written with a **row MAC**: HMAC-SM3 (GB/T 32905 hashing, keyed as RFC 2104)
//!   under the audit key of a random nonce and the row's fields ([`AuditEntry::row_mac`]). A row
//!   edited before it is sealed, or written by someone without the key, fails it.
//! * A **sealer** ([`seal`]) takes the unsealed rows in id order, checks each row MAC and gives
//!   the good ones the next sequence numbers (1, 2, 3 … without gaps) and a **chain hash**:
//!   HMAC-SM3 of the previous chain hash, the number and the row MAC. One sealer at a time per
//!   database: it locks the chain's one head row (`pbm_audit_chain`), which writers never touch,
//!   so writers are never serialised — the order of the chain is the order of sealing, not of
//!   writing. A row whose MAC fails is not sealed; it is marked `rejected` and reported.
//! * A **verifier** ([`verify`]) walks the chain by sequence number and recomputes everything:
//!   the first sequence number where a row was edited, deleted or inserted is reported, with
//!   the head (sequence number and hash) an auditor keeps to anchor the tail.
//!
//! Rows written before the chain existed have no row MAC: the run that starts the chain seals
//! them with one computed then (under another label, covering the row's id); they are protected
//! from then on only, and the verifier accepts such rows only as the chain's first links and
//! only up to the last id the migration saw (`legacy_through`, bound into the first link).

use std::collections::HashSet;
use std::sync::OnceLock;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sm3::Sm3;

use super::schema::{pbm_audit_chain, pbm_audit_log};
use super::{AuditEntry, AuditRecord};
use crate::{AnyConnection, Db, StoreError};

/// The secret behind every row MAC and chain hash: 32 bytes (`PBM_AUDIT_KEY`).
#[derive(Clone)]
pub struct AuditKey([u8; 32]);

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey(..)")
    }
}

impl AuditKey {
    pub fn new(key: [u8; 32]) -> Self {
        AuditKey(key)
    }

    /// HMAC-SM3 over `parts`, each length-prefixed (no two inputs encode alike).
    fn mac(&self, label: &[u8], parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = <Hmac<Sm3> as Mac>::new_from_slice(&self.0).expect("any key length");
        mac.update(label);
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }
}

static INSTALLED: OnceLock<AuditKey> = OnceLock::new();

/// The key of a process that installed none (tests, benches, development without a key file).
const DEVELOPMENT_KEY: [u8; 32] = *b"pbm-development-audit-chain-key!";

/// Sets the audit key of this process, once, before serving (`pbm_server::run` installs
/// `PBM_AUDIT_KEY`). Every replica of a deployment must use the same key.
pub fn install_key(key: AuditKey) {
    let _ = INSTALLED.set(key);
}

/// The installed audit key (the development key if none was installed).
pub fn installed_key() -> AuditKey {
    INSTALLED
        .get()
        .cloned()
        .unwrap_or(AuditKey(DEVELOPMENT_KEY))
}

const ROW_LABEL: &[u8] = b"pbm-audit-row-v1";
const LEGACY_LABEL: &[u8] = b"pbm-audit-legacy-v1";
const CHAIN_LABEL: &[u8] = b"pbm-audit-chain-v1";
const GENESIS_LABEL: &[u8] = b"pbm-audit-genesis-v1";
/// The row MAC of a row written before the chain existed starts so.
const LEGACY_PREFIX: &str = "legacy-";
/// `chain_hash` of a row the sealer refused.
pub const REJECTED: &str = "rejected";
const NONCE_LEN: usize = 16;

/// The fields a row MAC covers, in a fixed order: the time in microseconds, then the texts.
fn field_bytes(at: NaiveDateTime, texts: [&str; 10]) -> ([u8; 8], [&[u8]; 10]) {
    (
        at.and_utc().timestamp_micros().to_be_bytes(),
        texts.map(str::as_bytes),
    )
}

impl AuditEntry {
    /// This entry's row MAC under the process's key: hex of a fresh random nonce and of
    /// HMAC-SM3(key, nonce ‖ occurred_at ‖ the texts). The nonce makes every row's MAC unique,
    /// so a copy of a row is seen as one ([`verify`]).
    pub fn row_mac(&self) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let mac = row_mac_of(&installed_key(), &nonce, self);
        format!("{}{}", hex::encode(nonce), hex::encode(mac))
    }
}

fn row_mac_of(key: &AuditKey, nonce: &[u8], entry: &AuditEntry) -> [u8; 32] {
    let (at, texts) = field_bytes(entry.occurred_at, entry.texts());
    let mut parts: Vec<&[u8]> = vec![nonce, &at];
    parts.extend(texts);
    key.mac(ROW_LABEL, &parts)
}

/// The row MAC given, when sealing, to a row written before the chain existed: it covers the
/// row's id too.
fn legacy_mac(key: &AuditKey, row: &AuditRecord) -> String {
    let id = row.id.to_be_bytes();
    let entry = row.entry();
    let (at, texts) = field_bytes(entry.occurred_at, entry.texts());
    let mut parts: Vec<&[u8]> = vec![&id, &at];
    parts.extend(texts);
    format!(
        "{LEGACY_PREFIX}{}",
        hex::encode(key.mac(LEGACY_LABEL, &parts))
    )
}

/// Whether `row`'s row MAC is one the key gave it: written with the row (nonce ‖ MAC), or —
/// `legacy` — computed when a row older than the chain was sealed.
fn row_mac_holds(key: &AuditKey, row: &AuditRecord, row_mac: &str) -> bool {
    if row_mac.starts_with(LEGACY_PREFIX) {
        return legacy_mac(key, row) == row_mac;
    }
    let Ok(bytes) = hex::decode(row_mac) else {
        return false;
    };
    if bytes.len() != NONCE_LEN + 32 {
        return false;
    }
    let (nonce, mac) = bytes.split_at(NONCE_LEN);
    // Compared as MACs are: in constant time.
    let mut check = <Hmac<Sm3> as Mac>::new_from_slice(&key.0).expect("any key length");
    check.update(ROW_LABEL);
    let entry = row.entry();
    let (at, texts) = field_bytes(entry.occurred_at, entry.texts());
    for part in [nonce, &at].into_iter().chain(texts) {
        check.update(&(part.len() as u64).to_be_bytes());
        check.update(part);
    }
    check.verify_slice(mac).is_ok()
}

/// The chain's link before sequence number 1: it binds `legacy_through`.
fn genesis(key: &AuditKey, legacy_through: i64) -> [u8; 32] {
    key.mac(GENESIS_LABEL, &[&legacy_through.to_be_bytes()])
}

/// The chain hash of the row at `seq` with `row_mac`, after `previous`.
fn link(key: &AuditKey, previous: &[u8; 32], seq: i64, row_mac: &str) -> [u8; 32] {
    key.mac(
        CHAIN_LABEL,
        &[previous, &seq.to_be_bytes(), row_mac.as_bytes()],
    )
}

/// The chain's head: the last sequence number sealed and its chain hash (hex; empty before
/// the first).
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct Head {
    pub legacy_through: i64,
    pub seq: i64,
    pub hash: String,
}

/// What one sealing pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sealing {
    /// Rows given a sequence number.
    pub sealed: usize,
    /// Ids of rows whose row MAC failed (marked rejected, not sealed).
    pub rejected: Vec<i64>,
    /// The head after the pass.
    pub head_seq: i64,
    pub head_hash: String,
}

/// Most rows one sealing transaction takes.
pub const SEAL_BATCH: i64 = 2_000;

fn read_head(conn: &mut AnyConnection) -> Result<Option<Head>, StoreError> {
    pbm_audit_chain::table
        .filter(pbm_audit_chain::id.eq(1))
        .select((
            pbm_audit_chain::legacy_through,
            pbm_audit_chain::head_seq,
            pbm_audit_chain::head_hash,
        ))
        .first(conn)
        .optional()
        .map_err(StoreError::from)
}

fn head_missing() -> StoreError {
    StoreError::Other("the audit chain's head row (pbm_audit_chain) is missing".into())
}

fn decode_hash(hex_hash: &str) -> Option<[u8; 32]> {
    hex::decode(hex_hash).ok()?.try_into().ok()
}

/// Seals up to `limit` unsealed rows, in `conn`'s transaction (the caller holds it). First it
/// locks the chain's head row (an `UPDATE` of it: the row lock on PostgreSQL, the write lock on
/// SQLite), so a second sealer waits for this one and then continues from its head.
pub fn seal_batch(
    conn: &mut AnyConnection,
    key: &AuditKey,
    limit: i64,
) -> Result<Sealing, StoreError> {
    let locked = diesel::update(pbm_audit_chain::table.filter(pbm_audit_chain::id.eq(1)))
        .set(pbm_audit_chain::head_seq.eq(pbm_audit_chain::head_seq))
        .execute(conn)?;
    if locked != 1 {
        return Err(head_missing());
    }
    let head = read_head(conn)?.ok_or_else(head_missing)?;
    let mut previous = if head.seq == 0 {
        genesis(key, head.legacy_through)
    } else {
        decode_hash(&head.hash)
            .ok_or_else(|| StoreError::Other("the audit chain's head hash is malformed".into()))?
    };
    // Rows older than the chain are sealed only while every row sealed so far is one of them.
    let mut legacy_open = head.seq == 0
        || pbm_audit_log::table
            .filter(pbm_audit_log::chain_seq.eq(head.seq))
            .select(pbm_audit_log::row_mac)
            .first::<Option<String>>(conn)
            .optional()?
            .flatten()
            .is_some_and(|m| m.starts_with(LEGACY_PREFIX));
    let rows: Vec<AuditRecord> = pbm_audit_log::table
        .filter(pbm_audit_log::chain_seq.is_null())
        .filter(pbm_audit_log::chain_hash.is_null())
        .order(pbm_audit_log::id.asc())
        .limit(limit)
        .select(AuditRecord::as_select())
        .load(conn)?;
    let mut outcome = Sealing {
        head_seq: head.seq,
        ..Sealing::default()
    };
    for row in &rows {
        let row_mac = match &row.row_mac {
            Some(m) if !m.starts_with(LEGACY_PREFIX) && row_mac_holds(key, row, m) => {
                legacy_open = false;
                m.clone()
            }
            None if legacy_open && row.id <= head.legacy_through => legacy_mac(key, row),
            _ => {
                diesel::update(pbm_audit_log::table.filter(pbm_audit_log::id.eq(row.id)))
                    .set(pbm_audit_log::chain_hash.eq(REJECTED))
                    .execute(conn)?;
                outcome.rejected.push(row.id);
                continue;
            }
        };
        let seq = outcome.head_seq + 1;
        let hash = link(key, &previous, seq, &row_mac);
        diesel::update(pbm_audit_log::table.filter(pbm_audit_log::id.eq(row.id)))
            .set((
                pbm_audit_log::row_mac.eq(&row_mac),
                pbm_audit_log::chain_seq.eq(seq),
                pbm_audit_log::chain_hash.eq(hex::encode(hash)),
            ))
            .execute(conn)?;
        previous = hash;
        outcome.head_seq = seq;
        outcome.sealed += 1;
    }
    outcome.head_hash = if outcome.sealed > 0 {
        hex::encode(previous)
    } else {
        head.hash
    };
    if outcome.sealed > 0 {
        diesel::update(pbm_audit_chain::table.filter(pbm_audit_chain::id.eq(1)))
            .set((
                pbm_audit_chain::head_seq.eq(outcome.head_seq),
                pbm_audit_chain::head_hash.eq(&outcome.head_hash),
            ))
            .execute(conn)?;
    }
    Ok(outcome)
}

/// Seals every row unsealed now, [`SEAL_BATCH`] rows per transaction. The rejected rows are
/// logged as errors, once each (they are not read again).
pub async fn seal(db: &Db, key: &AuditKey) -> Result<Sealing, StoreError> {
    let mut total = Sealing::default();
    // Nothing to seal (an idle service): no write transaction, no lock, no sync to disk.
    let waiting = db
        .read(|c| -> Result<bool, StoreError> {
            Ok(diesel::select(diesel::dsl::exists(
                pbm_audit_log::table
                    .filter(pbm_audit_log::chain_seq.is_null())
                    .filter(pbm_audit_log::chain_hash.is_null()),
            ))
            .get_result(c)?)
        })
        .await?;
    if !waiting {
        if let Some(head) = db.read(read_head).await? {
            total.head_seq = head.seq;
            total.head_hash = head.hash;
        }
        return Ok(total);
    }
    loop {
        let key = key.clone();
        let pass = db.write(move |c| seal_batch(c, &key, SEAL_BATCH)).await?;
        for id in &pass.rejected {
            tracing::error!(
                id,
                "audit row refused by the sealer: its row MAC fails (written or edited without the audit key)"
            );
        }
        let done = pass.sealed + pass.rejected.len();
        total.sealed += pass.sealed;
        total.rejected.extend(pass.rejected);
        total.head_seq = pass.head_seq;
        total.head_hash = pass.head_hash;
        if done < SEAL_BATCH as usize {
            if total.sealed > 0 {
                // The log is outside the database: a record of the head there anchors the tail.
                tracing::info!(
                    sealed = total.sealed,
                    head_seq = total.head_seq,
                    head_hash = %total.head_hash,
                    "audit rows sealed"
                );
            }
            return Ok(total);
        }
    }
}

/// Why the chain is broken at [`Verdict::first_broken_seq`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Break {
    /// The chain's head row is gone.
    HeadMissing,
    /// No row holds this sequence number (a row was deleted).
    RowMissing,
    /// The row at this number does not match its row MAC (edited, or written without the key).
    RowAltered,
    /// A second row holds this number.
    SeqDuplicated,
    /// The row repeats an earlier row's row MAC (a copy).
    RowDuplicated,
    /// The row matches its MAC but not the chain hash (moved, or its hash edited).
    ChainBroken,
    /// The head row names another last number or hash than the chain's (the tail was cut or
    /// extended).
    HeadMismatch,
    /// A row not sealed (before this number) fails its row MAC: inserted or edited in the
    /// database.
    UnsealedRowInvalid,
}

impl Break {
    /// The stable reason code.
    pub fn code(self) -> &'static str {
        match self {
            Break::HeadMissing => "HEAD_MISSING",
            Break::RowMissing => "ROW_MISSING",
            Break::RowAltered => "ROW_ALTERED",
            Break::SeqDuplicated => "SEQ_DUPLICATED",
            Break::RowDuplicated => "ROW_DUPLICATED",
            Break::ChainBroken => "CHAIN_BROKEN",
            Break::HeadMismatch => "HEAD_MISMATCH",
            Break::UnsealedRowInvalid => "UNSEALED_ROW_INVALID",
        }
    }

    /// What it means, in Chinese, for the report.
    pub fn message(self) -> &'static str {
        match self {
            Break::HeadMissing => "审计链头记录缺失",
            Break::RowMissing => "该序号的审计记录缺失（被删除）",
            Break::RowAltered => "该序号的审计记录与其校验码不符（被篡改或伪造）",
            Break::SeqDuplicated => "该序号出现了两条审计记录（插入）",
            Break::RowDuplicated => "该序号的审计记录复制了更早的一条记录（插入）",
            Break::ChainBroken => "该序号的链哈希不符（记录被移动或链哈希被修改）",
            Break::HeadMismatch => "链头与链尾不符（末尾记录被删除或追加）",
            Break::UnsealedRowInvalid => "该序号之前有未封存的审计记录校验失败（被篡改或伪造）",
        }
    }
}

/// The verifier's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The first sequence number found broken and why; `None` when the chain holds.
    pub broken: Option<(i64, Break)>,
    /// The id of the row found broken, when there is one.
    pub broken_row_id: Option<i64>,
    /// Rows with a sequence number.
    pub sealed: i64,
    /// Rows not sealed yet whose row MAC holds (sealed by the next pass).
    pub pending: i64,
    /// The chain's head as its head row names it.
    pub head_seq: i64,
    pub head_hash: String,
}

impl Verdict {
    pub fn ok(&self) -> bool {
        self.broken.is_none()
    }
}

/// Rows the verifier reads at a time.
const VERIFY_PAGE: i64 = 2_000;

/// Walks the whole chain and the rows not sealed yet; reports the first broken sequence number.
/// Reads only: run [`seal`] first to include the rows written since the last pass.
pub fn verify(conn: &mut AnyConnection, key: &AuditKey) -> Result<Verdict, StoreError> {
    let sealed: i64 = pbm_audit_log::table
        .filter(pbm_audit_log::chain_seq.is_not_null())
        .count()
        .get_result(conn)?;
    let Some(head) = read_head(conn)? else {
        return Ok(Verdict {
            broken: Some((1, Break::HeadMissing)),
            broken_row_id: None,
            sealed,
            pending: 0,
            head_seq: 0,
            head_hash: String::new(),
        });
    };
    let mut verdict = Verdict {
        broken: None,
        broken_row_id: None,
        sealed,
        pending: 0,
        head_seq: head.seq,
        head_hash: head.hash.clone(),
    };
    if let Some((seq, why, id)) = walk(conn, key, &head)? {
        verdict.broken = Some((seq, why));
        verdict.broken_row_id = id;
    }
    let (pending, invalid) = unsealed(conn, key, &head)?;
    verdict.pending = pending;
    if let Some(id) = invalid {
        // Its place: before the first row sealed after it, else after the head.
        let next: Option<i64> = pbm_audit_log::table
            .filter(pbm_audit_log::chain_seq.is_not_null())
            .filter(pbm_audit_log::id.gt(id))
            .select(diesel::dsl::min(pbm_audit_log::chain_seq))
            .first(conn)?;
        let at = next.unwrap_or(head.seq + 1);
        if verdict.broken.is_none_or(|(seq, _)| at < seq) {
            verdict.broken = Some((at, Break::UnsealedRowInvalid));
            verdict.broken_row_id = Some(id);
        }
    }
    Ok(verdict)
}

/// The sealed rows by sequence number: the first break, with the row's id when one is at
/// fault.
fn walk(
    conn: &mut AnyConnection,
    key: &AuditKey,
    head: &Head,
) -> Result<Option<(i64, Break, Option<i64>)>, StoreError> {
    let mut previous = genesis(key, head.legacy_through);
    let mut expected = 1i64;
    let mut after = (0i64, 0i64);
    let mut seen = HashSet::new();
    // Rows older than the chain come first, or not at all.
    let mut legacy_open = true;
    loop {
        let rows: Vec<AuditRecord> = pbm_audit_log::table
            .filter(
                pbm_audit_log::chain_seq
                    .gt(after.0)
                    .or(pbm_audit_log::chain_seq
                        .eq(after.0)
                        .and(pbm_audit_log::id.gt(after.1))),
            )
            .order((pbm_audit_log::chain_seq.asc(), pbm_audit_log::id.asc()))
            .limit(VERIFY_PAGE)
            .select(AuditRecord::as_select())
            .load(conn)?;
        for row in &rows {
            let seq = row.chain_seq.unwrap_or_default();
            after = (seq, row.id);
            if seq < expected {
                return Ok(Some((seq, Break::SeqDuplicated, Some(row.id))));
            }
            if seq > expected {
                return Ok(Some((expected, Break::RowMissing, None)));
            }
            if seq > head.seq {
                return Ok(Some((seq, Break::HeadMismatch, Some(row.id))));
            }
            let row_mac = row.row_mac.as_deref().unwrap_or_default();
            let legacy = row_mac.starts_with(LEGACY_PREFIX);
            let allowed = !legacy || (legacy_open && row.id <= head.legacy_through);
            legacy_open &= legacy;
            if !allowed || !row_mac_holds(key, row, row_mac) {
                return Ok(Some((seq, Break::RowAltered, Some(row.id))));
            }
            if !seen.insert(mac_tag(row_mac)) {
                return Ok(Some((seq, Break::RowDuplicated, Some(row.id))));
            }
            let hash = link(key, &previous, seq, row_mac);
            if row.chain_hash.as_deref() != Some(hex::encode(hash).as_str()) {
                return Ok(Some((seq, Break::ChainBroken, Some(row.id))));
            }
            previous = hash;
            expected += 1;
        }
        if (rows.len() as i64) < VERIFY_PAGE {
            break;
        }
    }
    let last = expected - 1;
    if last < head.seq {
        return Ok(Some((expected, Break::RowMissing, None)));
    }
    if head.seq > 0 && decode_hash(&head.hash) != Some(previous) {
        return Ok(Some((head.seq, Break::HeadMismatch, None)));
    }
    Ok(None)
}

/// The last 128 bits of a row MAC that holds (hex): what a copy of the row repeats. Kept
/// instead of the whole MAC, so the verifier's memory stays small on a long chain.
fn mac_tag(row_mac: &str) -> u128 {
    u128::from_str_radix(&row_mac[row_mac.len().saturating_sub(32)..], 16).unwrap_or_default()
}

/// The rows not sealed yet: how many hold their row MAC, and the first (by id) that does not.
fn unsealed(
    conn: &mut AnyConnection,
    key: &AuditKey,
    head: &Head,
) -> Result<(i64, Option<i64>), StoreError> {
    let (mut pending, mut after) = (0i64, 0i64);
    loop {
        let rows: Vec<AuditRecord> = pbm_audit_log::table
            .filter(pbm_audit_log::chain_seq.is_null())
            .filter(pbm_audit_log::id.gt(after))
            .order(pbm_audit_log::id.asc())
            .limit(VERIFY_PAGE)
            .select(AuditRecord::as_select())
            .load(conn)?;
        for row in &rows {
            after = row.id;
            let holds = match &row.row_mac {
                Some(m) => !m.starts_with(LEGACY_PREFIX) && row_mac_holds(key, row, m),
                // Older than the chain, and the chain has not started: sealed by the next pass.
                None => head.seq == 0 && row.id <= head.legacy_through,
            };
            if !holds {
                return Ok((pending, Some(row.id)));
            }
            pending += 1;
        }
        if (rows.len() as i64) < VERIFY_PAGE {
            return Ok((pending, None));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(detail: &str) -> AuditEntry {
        AuditEntry {
            occurred_at: crate::now(),
            service: "pbm.test".into(),
            method: "Do".into(),
            request_id: "r".into(),
            subject: "s".into(),
            role: "finance_admin".into(),
            mof_div_code: "140500".into(),
            entity_type: "thing".into(),
            entity_id: "1".into(),
            outcome: "OK".into(),
            detail: detail.into(),
        }
    }

    fn record(id: i64, e: &AuditEntry, row_mac: &str) -> AuditRecord {
        AuditRecord {
            id,
            occurred_at: e.occurred_at,
            service: e.service.clone(),
            method: e.method.clone(),
            request_id: e.request_id.clone(),
            subject: e.subject.clone(),
            role: e.role.clone(),
            mof_div_code: e.mof_div_code.clone(),
            entity_type: e.entity_type.clone(),
            entity_id: e.entity_id.clone(),
            outcome: e.outcome.clone(),
            detail: e.detail.clone(),
            row_mac: Some(row_mac.into()),
            chain_seq: None,
            chain_hash: None,
        }
    }

    #[test]
    fn a_row_mac_covers_every_field_and_the_key() {
        let key = installed_key();
        let e = entry("x");
        let mac = e.row_mac();
        assert_ne!(mac, e.row_mac(), "a fresh nonce each time");
        assert!(row_mac_holds(&key, &record(1, &e, &mac), &mac));
        assert!(!row_mac_holds(&key, &record(1, &entry("y"), &mac), &mac));
        let mut later = e.clone();
        later.occurred_at += chrono::TimeDelta::microseconds(1);
        assert!(!row_mac_holds(&key, &record(1, &later, &mac), &mac));
        assert!(!row_mac_holds(
            &AuditKey::new([7; 32]),
            &record(1, &e, &mac),
            &mac
        ));
        assert!(!row_mac_holds(&key, &record(1, &e, "zz"), "zz"));
    }

    #[test]
    fn a_legacy_mac_covers_the_row_id() {
        let key = installed_key();
        let e = entry("x");
        let mac = legacy_mac(&key, &record(5, &e, ""));
        assert!(row_mac_holds(&key, &record(5, &e, &mac), &mac));
        assert!(!row_mac_holds(&key, &record(6, &e, &mac), &mac));
    }

    #[test]
    fn links_depend_on_the_previous_link_and_the_number() {
        let key = installed_key();
        let g = genesis(&key, 0);
        assert_ne!(g, genesis(&key, 1));
        assert_ne!(link(&key, &g, 1, "m"), link(&key, &g, 2, "m"));
        assert_ne!(link(&key, &g, 1, "m"), link(&key, &[0; 32], 1, "m"));
    }
}
