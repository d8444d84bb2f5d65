//! A round's subjects (the goal snapshot: one row per project or 部门整体) and their snapshotted
//! indicators; and what the recomputation of warnings reads beside them — the year's execution
//! months and the reports' values — and writes: the warning rows and the subjects' colours.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use pbm_db::{AnyConnection, Money, StoreError};

use super::schema::{
    execution_months as em, monitoring_report_indicators as mri, monitoring_reports as mrp,
    monitoring_warnings as mw, round_indicators as ri, round_subjects as rs,
};

/// Rows per multi-row INSERT and codes per `IN (…)` list (22 columns × 500 rows stays under
/// both backends' bind-parameter limits).
pub const SNAPSHOT_BATCH: usize = 500;
use SNAPSHOT_BATCH as BATCH;

/// Inserts `rows` into `table`, [`SNAPSHOT_BATCH`] rows per statement. Multi-row INSERT is not
/// available through `MultiConnection`, so each statement goes to the concrete connection.
macro_rules! insert_rows {
    ($conn:expr, $table:expr, $rows:expr) => {
        for chunk in $rows.chunks(BATCH) {
            match &mut *$conn {
                AnyConnection::Postgresql(c) => {
                    diesel::insert_into($table).values(chunk).execute(c)?;
                }
                AnyConnection::Sqlite(c) => {
                    diesel::insert_into($table).values(chunk).execute(c)?;
                }
            }
        }
    };
}
pub(crate) use insert_rows;

/// A round subject. `goal_state`: `approved`, `no_goal`, `not_approved`; `origin`: `goal`,
/// `execution`; colours: `none`, `blue`, `green`, `yellow`, `red`; `report_status`: `none`,
/// `draft`, `submitted`, `checked`, `accepted`, `returned`.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = rs)]
pub struct SubjectRow {
    pub round_id: i64,
    pub subject_key: String,
    pub pro_code: String,
    pub department_code: String,
    pub agency_code: String,
    pub name: String,
    pub fund_source: String,
    pub special_field: String,
    pub amount: Money,
    pub goal_state: String,
    pub goal_id: i64,
    pub goal_version: i32,
    pub year_goal: String,
    pub origin: String,
    pub is_key: bool,
    pub budget_colour: String,
    pub goal_colour: String,
    pub forecast_colour: String,
    pub execution_forecast_colour: String,
    pub deviated: bool,
    pub report_status: String,
    pub snapshot_at: NaiveDateTime,
}

/// One snapshotted indicator; `seq` counts from 1 within its subject (the seq reports and
/// warnings name). `direction`: `ge`, `le`, `eq`, `qualitative`.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = ri)]
pub struct IndicatorRow {
    pub round_id: i64,
    pub subject_key: String,
    pub seq: i32,
    pub level1_name: String,
    pub level2_name: String,
    pub name: String,
    pub direction: String,
    pub unit: String,
    pub target_value: String,
    pub target_num: Option<Money>,
    pub library_code: String,
    pub library_version: i64,
}

/// One warning row (docs/drafts/MONITORING.md §1 "Warning").
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = mw)]
pub struct WarningRow {
    pub round_id: i64,
    pub subject_key: String,
    pub axis: String,
    pub seq: i32,
    pub colour: String,
    pub reason: String,
    pub progress: Option<Money>,
    pub inputs: String,
    pub explanation: String,
    pub incomplete: bool,
    pub rules_version: i64,
    pub computed_at: NaiveDateTime,
}

/// A subject's denormalised colours, refreshed with its warnings.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Colours {
    pub budget: String,
    pub goal: String,
    pub forecast: String,
    pub execution_forecast: String,
    pub deviated: bool,
}

impl SubjectRow {
    pub fn colours(&self) -> Colours {
        Colours {
            budget: self.budget_colour.clone(),
            goal: self.goal_colour.clone(),
            forecast: self.forecast_colour.clone(),
            execution_forecast: self.execution_forecast_colour.clone(),
            deviated: self.deviated,
        }
    }
}

pub fn insert_subjects(conn: &mut AnyConnection, rows: &[SubjectRow]) -> Result<(), StoreError> {
    insert_rows!(conn, rs::table, rows);
    Ok(())
}

pub fn insert_indicators(
    conn: &mut AnyConnection,
    rows: &[IndicatorRow],
) -> Result<(), StoreError> {
    insert_rows!(conn, ri::table, rows);
    Ok(())
}

/// The subjects of a round: every one (`keys` none) or those of `keys`, by key.
pub fn subjects_of(
    conn: &mut AnyConnection,
    round_id: i64,
    keys: Option<&[String]>,
) -> Result<Vec<SubjectRow>, StoreError> {
    let base = || {
        rs::table
            .filter(rs::round_id.eq(round_id))
            .select(SubjectRow::as_select())
            .order(rs::subject_key)
    };
    match keys {
        None => Ok(base().load(conn)?),
        Some(keys) => {
            let mut out = Vec::with_capacity(keys.len());
            for chunk in keys.chunks(BATCH) {
                out.extend(base().filter(rs::subject_key.eq_any(chunk)).load(conn)?);
            }
            Ok(out)
        }
    }
}

pub fn subject(
    conn: &mut AnyConnection,
    round_id: i64,
    key: &str,
) -> Result<Option<SubjectRow>, StoreError> {
    Ok(rs::table
        .filter(rs::round_id.eq(round_id))
        .filter(rs::subject_key.eq(key))
        .select(SubjectRow::as_select())
        .first(conn)
        .optional()?)
}

/// Deletes a subject of a round and its snapshotted indicators (a goal's newer version replaces
/// them, `crate::ops::goal_events`).
pub fn delete_subject(
    conn: &mut AnyConnection,
    round_id: i64,
    key: &str,
) -> Result<(), StoreError> {
    diesel::delete(
        ri::table
            .filter(ri::round_id.eq(round_id))
            .filter(ri::subject_key.eq(key)),
    )
    .execute(conn)?;
    diesel::delete(
        rs::table
            .filter(rs::round_id.eq(round_id))
            .filter(rs::subject_key.eq(key)),
    )
    .execute(conn)?;
    Ok(())
}

/// The keys of a round's subjects whose PRO_CODE is one of `pro_codes`.
pub fn keys_of_pro_codes(
    conn: &mut AnyConnection,
    round_id: i64,
    pro_codes: &[String],
) -> Result<Vec<String>, StoreError> {
    let mut out = Vec::new();
    for chunk in pro_codes.chunks(BATCH) {
        out.extend(
            rs::table
                .filter(rs::round_id.eq(round_id))
                .filter(rs::pro_code.eq_any(chunk))
                .select(rs::subject_key)
                .load::<String>(conn)?,
        );
    }
    Ok(out)
}

/// The snapshotted indicators of a round's subjects (all, or those of `keys`), by subject
/// and seq.
pub fn indicators_of(
    conn: &mut AnyConnection,
    round_id: i64,
    keys: Option<&[String]>,
) -> Result<HashMap<String, Vec<IndicatorRow>>, StoreError> {
    let base = || {
        ri::table
            .filter(ri::round_id.eq(round_id))
            .select(IndicatorRow::as_select())
            .order((ri::subject_key, ri::seq))
    };
    let rows: Vec<IndicatorRow> = match keys {
        None => base().load(conn)?,
        Some(keys) => {
            let mut out = Vec::new();
            for chunk in keys.chunks(BATCH) {
                out.extend(base().filter(ri::subject_key.eq_any(chunk)).load(conn)?);
            }
            out
        }
    };
    let mut by_key: HashMap<String, Vec<IndicatorRow>> = HashMap::new();
    for row in rows {
        by_key.entry(row.subject_key.clone()).or_default().push(row);
    }
    Ok(by_key)
}

/// One month of a project's execution figures, as the warnings read them.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct ExecutionMonth {
    pub pro_code: String,
    pub month: i32,
    pub initial_budget: Money,
    pub adjusted_budget: Option<Money>,
    pub executed: Money,
    pub agency_code: String,
    pub department_code: String,
    pub name: String,
}

/// The execution months ≤ `month` of a year: of `pro_codes`, or of every project (`None`: one
/// range scan on the year), by PRO_CODE in month order.
pub fn execution_until(
    conn: &mut AnyConnection,
    fiscal_year: i32,
    month: i32,
    pro_codes: Option<&[String]>,
) -> Result<HashMap<String, Vec<ExecutionMonth>>, StoreError> {
    let base = || {
        em::table
            .filter(em::fiscal_year.eq(fiscal_year))
            .filter(em::month.le(month))
            .select((
                em::pro_code,
                em::month,
                em::initial_budget,
                em::adjusted_budget,
                em::executed,
                em::agency_code,
                em::department_code,
                em::name,
            ))
            .order((em::pro_code, em::month))
    };
    let rows: Vec<ExecutionMonth> = match pro_codes {
        Some(codes) if codes.len() <= 10 * BATCH => {
            let mut out = Vec::new();
            for chunk in codes.chunks(BATCH) {
                out.extend(base().filter(em::pro_code.eq_any(chunk)).load(conn)?);
            }
            out
        }
        Some(codes) => {
            let wanted: std::collections::HashSet<&str> =
                codes.iter().map(String::as_str).collect();
            base()
                .load::<ExecutionMonth>(conn)?
                .into_iter()
                .filter(|m| wanted.contains(m.pro_code.as_str()))
                .collect()
        }
        None => base().load(conn)?,
    };
    let mut by_code: HashMap<String, Vec<ExecutionMonth>> = HashMap::new();
    for row in rows {
        by_code.entry(row.pro_code.clone()).or_default().push(row);
    }
    Ok(by_code)
}

/// What a unit reported for one indicator (texts as stored by the report service).
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct ReportedValue {
    pub subject_key: String,
    pub seq: i32,
    pub achieved: String,
    pub forecast: String,
    pub likelihood: String,
}

/// The reported values of a round's subjects (all, or those of `keys`), by subject.
pub fn reported_values(
    conn: &mut AnyConnection,
    round_id: i64,
    keys: Option<&[String]>,
) -> Result<HashMap<String, Vec<ReportedValue>>, StoreError> {
    let base = || {
        mrp::table
            .inner_join(mri::table.on(mri::report_id.eq(mrp::id)))
            .filter(mrp::round_id.eq(round_id))
            .select((
                mrp::subject_key,
                mri::seq,
                mri::achieved,
                mri::forecast,
                mri::likelihood,
            ))
    };
    let rows: Vec<ReportedValue> = match keys {
        None => base().load(conn)?,
        Some(keys) => {
            let mut out = Vec::new();
            for chunk in keys.chunks(BATCH) {
                out.extend(base().filter(mrp::subject_key.eq_any(chunk)).load(conn)?);
            }
            out
        }
    };
    let mut by_key: HashMap<String, Vec<ReportedValue>> = HashMap::new();
    for row in rows {
        by_key.entry(row.subject_key.clone()).or_default().push(row);
    }
    Ok(by_key)
}

/// Replaces the warning rows of `keys` in a round with `rows`, writing only what changed: a
/// stored row equal to its recomputed one but for `computed_at` stays as it is (so
/// `computed_at` is when the warning took its present value); the others are deleted by axis
/// and seq and the new ones inserted (multi-row inserts). A push of execution figures changes
/// the budget axes of its subjects, not their 18 indicator and goal rows: rewriting every row
/// made a 10,000-row push with its recompute take 13–15 s on PostgreSQL, past the 10 s request
/// timeout (docs/BENCHMARKS.md "Monitoring (session 11)").
pub fn replace_warnings(
    conn: &mut AnyConnection,
    round_id: i64,
    keys: &[String],
    rows: &[WarningRow],
) -> Result<(), StoreError> {
    type Key = (String, String, i32);
    let mut stored: HashMap<Key, WarningRow> = HashMap::new();
    for chunk in keys.chunks(BATCH) {
        for w in mw::table
            .filter(mw::round_id.eq(round_id))
            .filter(mw::subject_key.eq_any(chunk))
            .select(WarningRow::as_select())
            .load(conn)?
        {
            stored.insert((w.subject_key.clone(), w.axis.clone(), w.seq), w);
        }
    }
    // Subjects whose row of (axis, seq) goes, and the rows to insert.
    let mut stale: HashMap<(String, i32), Vec<String>> = HashMap::new();
    let mut fresh = Vec::new();
    for row in rows {
        match stored.remove(&(row.subject_key.clone(), row.axis.clone(), row.seq)) {
            Some(old) if same_but_time(&old, row) => continue,
            Some(_) => stale
                .entry((row.axis.clone(), row.seq))
                .or_default()
                .push(row.subject_key.clone()),
            None => {}
        }
        fresh.push(row.clone());
    }
    for ((key, axis, seq), _) in stored {
        stale.entry((axis, seq)).or_default().push(key);
    }
    for ((axis, seq), subjects) in stale {
        for chunk in subjects.chunks(BATCH) {
            diesel::delete(
                mw::table
                    .filter(mw::round_id.eq(round_id))
                    .filter(mw::axis.eq(&axis))
                    .filter(mw::seq.eq(seq))
                    .filter(mw::subject_key.eq_any(chunk)),
            )
            .execute(conn)?;
        }
    }
    insert_rows!(conn, mw::table, fresh);
    Ok(())
}

/// Whether two warning rows say the same, whenever computed.
fn same_but_time(a: &WarningRow, b: &WarningRow) -> bool {
    let WarningRow {
        round_id,
        subject_key,
        axis,
        seq,
        colour,
        reason,
        progress,
        inputs,
        explanation,
        incomplete,
        rules_version,
        computed_at: _,
    } = a;
    (
        round_id,
        subject_key,
        axis,
        seq,
        colour,
        reason,
        progress,
        inputs,
        explanation,
        incomplete,
        rules_version,
    ) == (
        &b.round_id,
        &b.subject_key,
        &b.axis,
        &b.seq,
        &b.colour,
        &b.reason,
        &b.progress,
        &b.inputs,
        &b.explanation,
        &b.incomplete,
        &b.rules_version,
    )
}

/// Writes subjects' denormalised colours: one UPDATE per distinct set of colours and chunk of
/// subjects (a push that colours 10,000 subjects makes a handful of statements, not 10,000
/// round trips: docs/BENCHMARKS.md "Monitoring (session 11)").
pub fn set_colours(
    conn: &mut AnyConnection,
    round_id: i64,
    changed: &[(String, Colours)],
) -> Result<(), StoreError> {
    let mut by_colours: HashMap<&Colours, Vec<&str>> = HashMap::new();
    for (key, c) in changed {
        by_colours.entry(c).or_default().push(key);
    }
    for (c, keys) in by_colours {
        for chunk in keys.chunks(BATCH) {
            diesel::update(
                rs::table
                    .filter(rs::round_id.eq(round_id))
                    .filter(rs::subject_key.eq_any(chunk)),
            )
            .set((
                rs::budget_colour.eq(&c.budget),
                rs::goal_colour.eq(&c.goal),
                rs::forecast_colour.eq(&c.forecast),
                rs::execution_forecast_colour.eq(&c.execution_forecast),
                rs::deviated.eq(c.deviated),
            ))
            .execute(conn)?;
        }
    }
    Ok(())
}

/// Which subjects of a round a list shows: the caller's scope and the request's filters.
#[derive(Debug, Clone, Default)]
pub struct SubjectFilter {
    /// The caller's scope: only this unit's subjects.
    pub agency_code: Option<String>,
    /// The caller's scope or the request: only this department's subjects.
    pub department_code: Option<String>,
    /// The caller's scope (an agency): only these subjects.
    pub keys: Option<Vec<String>>,
    /// The request's filters.
    pub also_agency_code: Option<String>,
    pub also_department_code: Option<String>,
    pub goal_state: Option<String>,
    pub deviated_only: bool,
    pub key_only: bool,
}

/// A page of a round's subjects (by key) and how many match.
pub fn list_subjects(
    conn: &mut AnyConnection,
    round_id: i64,
    f: &SubjectFilter,
    offset: i64,
    limit: i64,
) -> Result<(Vec<SubjectRow>, i64), StoreError> {
    let filtered = || {
        let mut q = rs::table
            .filter(rs::round_id.eq(round_id))
            .into_boxed::<pbm_db::MultiBackend>();
        for code in [&f.agency_code, &f.also_agency_code].into_iter().flatten() {
            q = q.filter(rs::agency_code.eq(code.clone()));
        }
        for code in [&f.department_code, &f.also_department_code]
            .into_iter()
            .flatten()
        {
            q = q.filter(rs::department_code.eq(code.clone()));
        }
        if let Some(keys) = &f.keys {
            q = q.filter(rs::subject_key.eq_any(keys.clone()));
        }
        if let Some(s) = &f.goal_state {
            q = q.filter(rs::goal_state.eq(s.clone()));
        }
        if f.deviated_only {
            q = q.filter(rs::deviated.eq(true));
        }
        if f.key_only {
            q = q.filter(rs::is_key.eq(true));
        }
        q
    };
    let total = filtered().count().get_result(conn)?;
    let rows = filtered()
        .order(rs::subject_key)
        .offset(offset)
        .limit(limit)
        .select(SubjectRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}

/// Per round: (subjects, with an approved goal, deviated).
pub fn round_counts(
    conn: &mut AnyConnection,
    round_ids: &[i64],
) -> Result<HashMap<i64, (i64, i64, i64)>, StoreError> {
    let rows: Vec<(i64, String, bool, i64)> = rs::table
        .filter(rs::round_id.eq_any(round_ids))
        .group_by((rs::round_id, rs::goal_state, rs::deviated))
        .select((
            rs::round_id,
            rs::goal_state,
            rs::deviated,
            diesel::dsl::count_star(),
        ))
        .load(conn)?;
    let mut out: HashMap<i64, (i64, i64, i64)> = HashMap::new();
    for (id, state, deviated, n) in rows {
        let e = out.entry(id).or_default();
        e.0 += n;
        if state == "approved" {
            e.1 += n;
        }
        if deviated {
            e.2 += n;
        }
    }
    Ok(out)
}

/// The last submission date of each report of a round (for late marks), by subject.
pub fn submitted_on(
    conn: &mut AnyConnection,
    round_id: i64,
) -> Result<HashMap<String, chrono::NaiveDate>, StoreError> {
    let rows: Vec<(String, Option<chrono::NaiveDate>)> = mrp::table
        .filter(mrp::round_id.eq(round_id))
        .select((mrp::subject_key, mrp::submitted_on))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(k, d)| d.map(|d| (k, d)))
        .collect())
}

/// Per subject of a round: how many corrective actions were opened, and how many verified.
pub fn action_counts(
    conn: &mut AnyConnection,
    round_id: i64,
) -> Result<HashMap<String, (i64, i64)>, StoreError> {
    use super::schema::corrective_actions as ca;
    let rows: Vec<(String, String)> = ca::table
        .filter(ca::round_id.eq(round_id))
        .select((ca::subject_key, ca::status))
        .load(conn)?;
    let mut out: HashMap<String, (i64, i64)> = HashMap::new();
    for (key, status) in rows {
        let e = out.entry(key).or_default();
        e.0 += 1;
        e.1 += i64::from(status == "verified");
    }
    Ok(out)
}
