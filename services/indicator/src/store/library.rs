//! Following an upstream library (docs/INDICATOR.md "Following an upstream library"): the change
//! log every library write appends to (`library_log`), the follower's stored position
//! (`library_mirror`) and the clashes it recorded (`library_clashes`).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use pbm_db::{AnyConnection, StoreError};

use super::rows::{IndicatorRow, rows_to_domain};
use super::schema::{
    indicator_versions as iv, indicators, library_clashes as lc, library_log as log,
    library_mirror as lm,
};
use crate::domain::indicator::Indicator;

/// The advisory lock every PostgreSQL transaction takes before appending to the log: revisions
/// then become visible in the order they were assigned, so a cursor never skips a row.
const LOG_LOCK: i64 = 727_275;

/// What a log row names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogKind {
    /// A frame created or changed: `key` is its fiscal year, `version` its number of nodes.
    Frame,
    /// An indicator version written: `key` is its code.
    Indicator,
}

impl LogKind {
    fn as_db(self) -> &'static str {
        match self {
            LogKind::Frame => "frame",
            LogKind::Indicator => "indicator",
        }
    }
}

/// One row of the change log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub revision: i64,
    pub kind: LogKind,
    pub key: String,
    pub version: i64,
    pub fiscal_year: i32,
}

/// Appends one row per written version (or frame) to the log, in this transaction.
pub fn append_log(
    conn: &mut AnyConnection,
    entries: &[(LogKind, String, i64, i32)],
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    if entries.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = entries
        .iter()
        .map(|(kind, key, version, year)| {
            (
                log::kind.eq(kind.as_db()),
                log::key.eq(key.as_str()),
                log::version.eq(*version),
                log::fiscal_year.eq(*year),
                log::logged_at.eq(at),
            )
        })
        .collect();
    // Multi-row INSERT goes through the concrete connection (store/indicators.rs).
    match conn {
        AnyConnection::Postgresql(c) => {
            diesel::sql_query(format!("SELECT pg_advisory_xact_lock({LOG_LOCK})")).execute(c)?;
            for chunk in rows.chunks(2000) {
                diesel::insert_into(log::table).values(chunk).execute(c)?;
            }
        }
        AnyConnection::Sqlite(c) => {
            for chunk in rows.chunks(2000) {
                diesel::insert_into(log::table).values(chunk).execute(c)?;
            }
        }
    }
    Ok(())
}

/// The log row of one indicator version.
pub fn indicator_entry(i: &Indicator) -> (LogKind, String, i64, i32) {
    (
        LogKind::Indicator,
        i.code.clone(),
        i.version,
        i.spec.fiscal_year.get(),
    )
}

/// Keeps the newest `keep` rows of the log; returns how many were removed.
pub fn compact_log(conn: &mut AnyConnection, keep: i64) -> Result<usize, StoreError> {
    let Some(head) = log_bounds(conn)?.1 else {
        return Ok(0);
    };
    Ok(diesel::delete(log::table.filter(log::revision.le(head - keep.max(1)))).execute(conn)?)
}

/// The oldest and newest revision kept (none when the log is empty).
pub fn log_bounds(conn: &mut AnyConnection) -> Result<(Option<i64>, Option<i64>), StoreError> {
    let oldest = log::table
        .select(diesel::dsl::min(log::revision))
        .first::<Option<i64>>(conn)?;
    let newest = log::table
        .select(diesel::dsl::max(log::revision))
        .first::<Option<i64>>(conn)?;
    Ok((oldest, newest))
}

/// At most `limit` log rows after `revision`, oldest first.
pub fn log_after(
    conn: &mut AnyConnection,
    revision: i64,
    limit: i64,
) -> Result<Vec<LogEntry>, StoreError> {
    let rows: Vec<(i64, String, String, i64, i32)> = log::table
        .filter(log::revision.gt(revision))
        .order(log::revision.asc())
        .limit(limit)
        .select((
            log::revision,
            log::kind,
            log::key,
            log::version,
            log::fiscal_year,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(revision, kind, key, version, fiscal_year)| LogEntry {
            revision,
            kind: if kind == "frame" {
                LogKind::Frame
            } else {
                LogKind::Indicator
            },
            key,
            version,
            fiscal_year,
        })
        .collect())
}

/// The given (code, version) pairs (missing ones are absent).
pub fn versions_many(
    conn: &mut AnyConnection,
    pairs: &[(String, i64)],
) -> Result<Vec<Indicator>, StoreError> {
    let mut out = Vec::with_capacity(pairs.len());
    for chunk in pairs.chunks(500) {
        let codes: Vec<&str> = chunk.iter().map(|(c, _)| c.as_str()).collect();
        let rows = iv::table
            .filter(iv::code.eq_any(codes))
            .select(IndicatorRow::as_select())
            .load(conn)?;
        out.extend(
            rows_to_domain(rows)?
                .into_iter()
                .filter(|i| chunk.iter().any(|(c, v)| *c == i.code && *v == i.version)),
        );
    }
    Ok(out)
}

/// At most `limit` current indicators with codes after `after`, in code order (a snapshot).
pub fn current_after(
    conn: &mut AnyConnection,
    after: &str,
    limit: i64,
) -> Result<Vec<Indicator>, StoreError> {
    rows_to_domain(
        indicators::table
            .inner_join(
                iv::table.on(iv::code
                    .eq(indicators::code)
                    .and(iv::version.eq(indicators::version))),
            )
            .filter(indicators::code.gt(after))
            .order(indicators::code.asc())
            .limit(limit)
            .select(IndicatorRow::as_select())
            .load(conn)?,
    )
}

/// Current upstream-owned indicators (a resync's end disables those the upstream no longer has).
pub fn upstream_owned_current(conn: &mut AnyConnection) -> Result<Vec<Indicator>, StoreError> {
    rows_to_domain(
        indicators::table
            .inner_join(
                iv::table.on(iv::code
                    .eq(indicators::code)
                    .and(iv::version.eq(indicators::version))),
            )
            .filter(iv::origin.ne(""))
            .select(IndicatorRow::as_select())
            .load(conn)?,
    )
}

/// The follower's stored position in its upstream's log.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MirrorPosition {
    pub cursor: String,
    pub last_applied_at: Option<NaiveDateTime>,
    pub resyncs: i64,
}

pub fn mirror_position(
    conn: &mut AnyConnection,
    upstream: &str,
) -> Result<Option<MirrorPosition>, StoreError> {
    let row: Option<(String, Option<NaiveDateTime>, i64)> = lm::table
        .filter(lm::upstream.eq(upstream))
        .select((lm::cursor, lm::last_applied_at, lm::resyncs))
        .first(conn)
        .optional()?;
    Ok(
        row.map(|(cursor, last_applied_at, resyncs)| MirrorPosition {
            cursor,
            last_applied_at,
            resyncs,
        }),
    )
}

/// Stores the cursor of a batch just applied (in the batch's transaction).
pub fn save_position(
    conn: &mut AnyConnection,
    upstream: &str,
    cursor: &str,
    at: NaiveDateTime,
    resynced: bool,
) -> Result<(), StoreError> {
    let add = i64::from(resynced);
    let updated = diesel::update(lm::table.filter(lm::upstream.eq(upstream)))
        .set((
            lm::cursor.eq(cursor),
            lm::last_applied_at.eq(Some(at)),
            lm::resyncs.eq(lm::resyncs + add),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(lm::table)
            .values((
                lm::upstream.eq(upstream),
                lm::cursor.eq(cursor),
                lm::last_applied_at.eq(Some(at)),
                lm::resyncs.eq(add),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// A recorded clash of an upstream indicator or frame node with a local one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clash {
    pub kind: String,
    pub key: String,
    pub upstream_region: String,
    pub detail: String,
    pub recorded_at: NaiveDateTime,
}

pub fn insert_clash(conn: &mut AnyConnection, c: &Clash) -> Result<(), StoreError> {
    diesel::insert_into(lc::table)
        .values((
            lc::kind.eq(&c.kind),
            lc::key.eq(&c.key),
            lc::upstream_region.eq(&c.upstream_region),
            lc::detail.eq(&c.detail),
            lc::recorded_at.eq(c.recorded_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Whether the same clash (kind, key, detail) was recorded already.
pub fn clash_recorded(
    conn: &mut AnyConnection,
    kind: &str,
    key: &str,
    detail: &str,
) -> Result<bool, StoreError> {
    Ok(lc::table
        .filter(lc::kind.eq(kind))
        .filter(lc::key.eq(key))
        .filter(lc::detail.eq(detail))
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

/// The newest `limit` clashes, newest first, and how many there are.
pub fn clashes(conn: &mut AnyConnection, limit: i64) -> Result<(Vec<Clash>, i64), StoreError> {
    let total: i64 = lc::table.count().get_result(conn)?;
    let rows: Vec<(String, String, String, String, NaiveDateTime)> = lc::table
        .order(lc::id.desc())
        .limit(limit)
        .select((
            lc::kind,
            lc::key,
            lc::upstream_region,
            lc::detail,
            lc::recorded_at,
        ))
        .load(conn)?;
    Ok((
        rows.into_iter()
            .map(|(kind, key, upstream_region, detail, recorded_at)| Clash {
                kind,
                key,
                upstream_region,
                detail,
                recorded_at,
            })
            .collect(),
        total,
    ))
}
