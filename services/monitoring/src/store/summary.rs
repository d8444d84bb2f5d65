//! StreamExecutionSummary's read: per project of a fiscal year, its latest month of figures
//! (`execution_months`) and its warnings in the latest round that holds it (`round_subjects`,
//! `monitoring_warnings`), a chunk of projects at a time in PRO_CODE order.
//!
//! The projects are the union of those with figures and those in a round of the year, so a
//! chunk is a keyset merge: the next `limit` codes after the last one of each source (the
//! figures' primary key, and each round's primary key `(round_id, subject_key)` — a project's
//! subject key is its PRO_CODE), of which the `limit` smallest make the chunk. Every statement
//! is a range of a primary key (as the goal service's StreamApprovedGoals,
//! `services/goal/src/store/snapshot.rs`): no join, anti-join or list of hundreds of codes whose
//! plan, guessed without table statistics, could compare every row with every other.

use std::collections::{BTreeSet, HashMap};

use diesel::prelude::*;
use pbm_db::{AnyConnection, StoreError};

use super::execution::ExecutionMonthRow;
use super::schema::{
    execution_months as em, monitoring_warnings as mw, round_subjects as rs, rounds,
};
use crate::domain::bands::Colour;

/// Lists of codes longer than this are applied to each chunk after it is read rather than in
/// its statements (one range scan instead of thousands of bound parameters per statement).
const IN_STATEMENT_UP_TO: usize = 200;

/// Which projects of a year a summary covers.
#[derive(Debug, Clone, Default)]
pub struct SummaryFilter {
    pub fiscal_year: i32,
    /// Sorted, without duplicates; empty = every project.
    pub pro_codes: Vec<String>,
}

impl SummaryFilter {
    fn keeps(&self, code: &str) -> bool {
        self.pro_codes.is_empty()
            || self
                .pro_codes
                .binary_search_by(|c| c.as_str().cmp(code))
                .is_ok()
    }

    fn in_statement(&self) -> Option<Vec<String>> {
        let c = &self.pro_codes;
        (!c.is_empty() && c.len() <= IN_STATEMENT_UP_TO).then(|| c.clone())
    }
}

/// A project's place in the latest round that holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RoundStanding {
    pub round_id: i64,
    pub red_warnings: i32,
    pub yellow_warnings: i32,
    pub deviated: bool,
}

/// One project of a chunk: its latest month (none without figures) and its standing in the
/// latest round that holds it (none in no round).
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectSummary {
    pub pro_code: String,
    pub latest: Option<ExecutionMonthRow>,
    pub round: Option<RoundStanding>,
}

/// One chunk: the projects kept, in PRO_CODE order, and the code the next chunk starts after
/// (none when this chunk was the last).
#[derive(Debug)]
pub struct SummaryChunk {
    pub projects: Vec<ProjectSummary>,
    pub next: Option<String>,
}

/// The year's rounds a summary reads, latest first: highest `months_to`, then latest id; open
/// or closed (a round still opening has not its subjects yet).
fn latest_rounds_first(conn: &mut AnyConnection, year: i32) -> Result<Vec<i64>, StoreError> {
    Ok(rounds::table
        .filter(rounds::fiscal_year.eq(year))
        .filter(rounds::status.eq_any(["open", "closed"]))
        .order((rounds::months_to.desc(), rounds::id.desc()))
        .select(rounds::id)
        .load(conn)?)
}

/// The next `limit` projects of the year after PRO_CODE `after` (see the module doc).
pub fn summary_chunk(
    conn: &mut AnyConnection,
    f: &SummaryFilter,
    after: &str,
    limit: i64,
) -> Result<SummaryChunk, StoreError> {
    let full = |n: usize| i64::try_from(n).unwrap_or(i64::MAX) >= limit;
    // The next codes with figures.
    let mut q = em::table
        .filter(em::fiscal_year.eq(f.fiscal_year))
        .filter(em::pro_code.gt(after.to_owned()))
        .select(em::pro_code)
        .distinct()
        .into_boxed::<pbm_db::MultiBackend>();
    if let Some(c) = f.in_statement() {
        q = q.filter(em::pro_code.eq_any(c));
    }
    let with_figures: Vec<String> = q.order(em::pro_code.asc()).limit(limit).load(conn)?;
    let mut any_full = full(with_figures.len());
    let mut codes: BTreeSet<String> = with_figures.into_iter().collect();
    // The next projects of each round, latest round first.
    let mut in_rounds: Vec<(i64, Vec<(String, bool)>)> = Vec::new();
    for round in latest_rounds_first(conn, f.fiscal_year)? {
        let mut q = rs::table
            .filter(rs::round_id.eq(round))
            .filter(rs::subject_key.gt(after.to_owned()))
            .filter(rs::pro_code.ne(""))
            .select((rs::subject_key, rs::deviated))
            .into_boxed::<pbm_db::MultiBackend>();
        if let Some(c) = f.in_statement() {
            q = q.filter(rs::subject_key.eq_any(c));
        }
        let subjects: Vec<(String, bool)> =
            q.order(rs::subject_key.asc()).limit(limit).load(conn)?;
        any_full |= full(subjects.len());
        codes.extend(subjects.iter().map(|(code, _)| code.clone()));
        in_rounds.push((round, subjects));
    }
    // The chunk: the `limit` smallest codes read. Each source read in full holds every one of
    // its codes up to the chunk's last, so nothing of a source is skipped.
    let more = any_full || i64::try_from(codes.len()).unwrap_or(i64::MAX) > limit;
    let chunk: Vec<String> = codes
        .into_iter()
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .collect();
    let next = chunk.last().filter(|_| more).cloned();
    let kept: Vec<String> = chunk.into_iter().filter(|c| f.keeps(c)).collect();
    let (Some(first), Some(last)) = (kept.first().cloned(), kept.last().cloned()) else {
        return Ok(SummaryChunk {
            projects: Vec::new(),
            next,
        });
    };
    let mut latest = latest_months(conn, f, &first, &last)?;
    // Each project's latest round, and its warnings there.
    let mut standing: HashMap<String, RoundStanding> = HashMap::new();
    for (round, subjects) in in_rounds {
        let mut mine: Vec<String> = Vec::new();
        for (code, deviated) in subjects {
            if code.as_str() > last.as_str() || !f.keeps(&code) || standing.contains_key(&code) {
                continue;
            }
            let s = RoundStanding {
                round_id: round,
                deviated,
                ..Default::default()
            };
            standing.insert(code.clone(), s);
            mine.push(code);
        }
        if let (Some(lo), Some(hi)) = (mine.first(), mine.last()) {
            count_warnings(conn, round, lo, hi, &mut standing)?;
        }
    }
    let projects = kept
        .into_iter()
        .map(|code| ProjectSummary {
            latest: latest.remove(&code),
            round: standing.get(&code).copied(),
            pro_code: code,
        })
        .collect();
    Ok(SummaryChunk { projects, next })
}

/// The latest stored month of each project from `first` to `last`: one range of the primary
/// key, every month read (at most 12 a project) and the last kept.
fn latest_months(
    conn: &mut AnyConnection,
    f: &SummaryFilter,
    first: &str,
    last: &str,
) -> Result<HashMap<String, ExecutionMonthRow>, StoreError> {
    let mut q = em::table
        .filter(em::fiscal_year.eq(f.fiscal_year))
        .filter(em::pro_code.ge(first.to_owned()))
        .filter(em::pro_code.le(last.to_owned()))
        .select(ExecutionMonthRow::as_select())
        .into_boxed::<pbm_db::MultiBackend>();
    if let Some(c) = f.in_statement() {
        q = q.filter(em::pro_code.eq_any(c));
    }
    let rows: Vec<ExecutionMonthRow> = q.order((em::pro_code, em::month)).load(conn)?;
    Ok(rows.into_iter().map(|r| (r.pro_code.clone(), r)).collect())
}

/// Adds the red and yellow warnings of `round` to the projects whose standing is in that round,
/// read as one range `lo..=hi` of the warnings' primary key.
fn count_warnings(
    conn: &mut AnyConnection,
    round: i64,
    lo: &str,
    hi: &str,
    standing: &mut HashMap<String, RoundStanding>,
) -> Result<(), StoreError> {
    let (red, yellow) = (Colour::Red.as_db(), Colour::Yellow.as_db());
    let warnings: Vec<(String, String)> = mw::table
        .filter(mw::round_id.eq(round))
        .filter(mw::subject_key.ge(lo.to_owned()))
        .filter(mw::subject_key.le(hi.to_owned()))
        .filter(mw::colour.eq_any([red, yellow]))
        .select((mw::subject_key, mw::colour))
        .load(conn)?;
    for (code, colour) in warnings {
        match standing.get_mut(&code) {
            Some(s) if s.round_id == round && colour == red => s.red_warnings += 1,
            Some(s) if s.round_id == round => s.yellow_warnings += 1,
            _ => {}
        }
    }
    Ok(())
}
