//! Departments' proposals of 个性 indicators and finance's decisions on them (`proposals`).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use pbm_db::{AnyConnection, StoreError};

use super::rows::{ProposalTuple, proposal_from};
use super::schema::proposals;
use crate::domain::indicator::Spec;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposalRecord {
    pub id: i64,
    pub code: String,
    pub spec: Spec,
    pub department: String,
    pub reason: String,
    pub status: ProposalStatus,
    pub decision_comment: String,
    pub version: i64,
    pub proposed_by: String,
    pub proposed_at: NaiveDateTime,
    pub decided_by: Option<String>,
    pub decided_at: Option<NaiveDateTime>,
    pub indicator_version: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProposalStatus {
    Pending,
    Approved,
    Rejected,
}

impl ProposalStatus {
    pub fn as_db(self) -> &'static str {
        match self {
            ProposalStatus::Pending => "pending",
            ProposalStatus::Approved => "approved",
            ProposalStatus::Rejected => "rejected",
        }
    }

    pub(super) fn from_db(s: &str) -> Option<Self> {
        [
            ProposalStatus::Pending,
            ProposalStatus::Approved,
            ProposalStatus::Rejected,
        ]
        .into_iter()
        .find(|p| p.as_db() == s)
    }
}

macro_rules! proposal_columns {
    () => {
        (
            proposals::id,
            proposals::code,
            proposals::spec,
            proposals::department,
            proposals::reason,
            proposals::status,
            proposals::decision_comment,
            proposals::version,
            proposals::proposed_by,
            proposals::proposed_at,
            proposals::decided_by,
            proposals::decided_at,
            proposals::indicator_version,
        )
    };
}

pub fn insert_proposal(
    conn: &mut AnyConnection,
    code: &str,
    spec: &Spec,
    department: &str,
    reason: &str,
    actor: &str,
    at: NaiveDateTime,
) -> Result<i64, StoreError> {
    let spec = serde_json::to_string(spec).map_err(|e| StoreError::Other(e.to_string()))?;
    let values = (
        proposals::code.eq(code),
        proposals::spec.eq(spec),
        proposals::department.eq(department),
        proposals::reason.eq(reason),
        proposals::status.eq(ProposalStatus::Pending.as_db()),
        proposals::decision_comment.eq(""),
        proposals::version.eq(1i64),
        proposals::proposed_by.eq(actor),
        proposals::proposed_at.eq(at),
    );
    match conn {
        // Concurrent transactions insert concurrently: only RETURNING names our row.
        AnyConnection::Postgresql(pg) => Ok(diesel::insert_into(proposals::table)
            .values(values)
            .returning(proposals::id)
            .get_result::<i64>(pg)?),
        AnyConnection::Sqlite(sqlite) => {
            diesel::insert_into(proposals::table)
                .values(values)
                .execute(sqlite)?;
            // SQLite has one writer at a time: inside our transaction the newest row is ours.
            proposals::table
                .select(diesel::dsl::max(proposals::id))
                .first::<Option<i64>>(sqlite)?
                .ok_or(StoreError::NotFound)
        }
    }
}

pub fn proposal(conn: &mut AnyConnection, id: i64) -> Result<Option<ProposalRecord>, StoreError> {
    proposals::table
        .filter(proposals::id.eq(id))
        .select(proposal_columns!())
        .first::<ProposalTuple>(conn)
        .optional()?
        .map(proposal_from)
        .transpose()
}

pub fn list_proposals(
    conn: &mut AnyConnection,
    status: Option<ProposalStatus>,
    department: Option<&str>,
    offset: i64,
    limit: i64,
) -> Result<(Vec<ProposalRecord>, i64), StoreError> {
    let base = || {
        let mut q = proposals::table.into_boxed::<pbm_db::MultiBackend>();
        if let Some(s) = status {
            q = q.filter(proposals::status.eq(s.as_db()));
        }
        if let Some(d) = department {
            q = q.filter(proposals::department.eq(d.to_owned()));
        }
        q
    };
    let total: i64 = base().count().get_result(conn)?;
    let rows: Vec<ProposalTuple> = base()
        .order(proposals::id.desc())
        .offset(offset)
        .limit(limit)
        .select(proposal_columns!())
        .load(conn)?;
    Ok((
        rows.into_iter()
            .map(proposal_from)
            .collect::<Result<_, _>>()?,
        total,
    ))
}

/// Finance's decision on a proposal.
pub struct Decision<'a> {
    pub status: ProposalStatus,
    pub comment: &'a str,
    pub actor: &'a str,
    pub at: NaiveDateTime,
    /// The indicator version created on approval.
    pub indicator_version: Option<i64>,
}

/// Records a decision if the proposal is still pending at `expected` version.
pub fn decide_proposal(
    conn: &mut AnyConnection,
    id: i64,
    expected: i64,
    d: &Decision<'_>,
) -> Result<bool, StoreError> {
    let n = diesel::update(
        proposals::table
            .filter(proposals::id.eq(id))
            .filter(proposals::version.eq(expected))
            .filter(proposals::status.eq(ProposalStatus::Pending.as_db())),
    )
    .set((
        proposals::status.eq(d.status.as_db()),
        proposals::decision_comment.eq(d.comment),
        proposals::version.eq(expected + 1),
        proposals::decided_by.eq(Some(d.actor)),
        proposals::decided_at.eq(Some(d.at)),
        proposals::indicator_version.eq(d.indicator_version),
    ))
    .execute(conn)?;
    Ok(n == 1)
}
