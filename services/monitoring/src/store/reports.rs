//! The units' monitoring reports (绩效监控表): one per round subject, its indicator values, its
//! history; what a report step decides on (the round, the subject and the unit's reopened
//! deadline) read in one statement; the subject's `report_status` kept in step.
//!
//! Stored forms (read by `crate::ops::recompute` too): `achieved` / `forecast` are a number's
//! canonical text (`pbm_types::decimal::to_wire`) or a 定性 tier's Chinese text, "" when not
//! reported; `likelihood` is `certain` / `possible` / `impossible` or ""; `causes` the cause
//! words joined by `,` (`funding,other`). Statuses are `draft`, `submitted`, `checked`,
//! `accepted`, `returned`.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use pbm_db::{AnyConnection, Money, StoreError};

use super::schema::{
    monitoring_report_events as ev, monitoring_report_indicators as ri, monitoring_reports as r,
    round_subjects as rs, round_units as ru, rounds,
};
use super::{RoundRow, SubjectRow};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = r, treat_none_as_null = true)]
pub struct ReportRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub round_id: i64,
    pub subject_key: String,
    pub agency_code: String,
    pub department_code: String,
    pub status: String,
    pub execution_narrative: String,
    pub expected_year_end: Option<Money>,
    pub revision: i64,
    pub submitted_on: Option<NaiveDate>,
    pub changed_by: String,
    pub changed_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = ri)]
pub struct ReportIndicatorRow {
    pub report_id: i64,
    pub seq: i32,
    pub achieved: String,
    pub forecast: String,
    pub likelihood: String,
    pub causes: String,
    pub other_text: String,
    pub remark: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = ev)]
pub struct ReportEventRow {
    pub report_id: i64,
    pub seq: i32,
    pub action: String,
    pub from_status: String,
    pub to_status: String,
    pub comments: String,
    pub actor: String,
    pub at: NaiveDateTime,
}

/// The round, the subject and the subject's unit's reopened deadline (if any), in one statement.
pub fn report_context(
    conn: &mut AnyConnection,
    round_id: i64,
    subject_key: &str,
) -> Result<Option<(RoundRow, SubjectRow, Option<NaiveDate>)>, StoreError> {
    Ok(rounds::table
        .inner_join(rs::table.on(rs::round_id.eq(rounds::id)))
        .left_join(
            ru::table.on(ru::round_id
                .eq(rs::round_id)
                .and(ru::agency_code.eq(rs::agency_code))),
        )
        .filter(rounds::id.eq(round_id))
        .filter(rs::subject_key.eq(subject_key))
        .select((
            RoundRow::as_select(),
            SubjectRow::as_select(),
            ru::deadline_override.nullable(),
        ))
        .first::<(RoundRow, SubjectRow, Option<NaiveDate>)>(conn)
        .optional()?)
}

pub fn report(conn: &mut AnyConnection, id: i64) -> Result<Option<ReportRow>, StoreError> {
    Ok(r::table
        .filter(r::id.eq(id))
        .select(ReportRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn report_of_subject(
    conn: &mut AnyConnection,
    round_id: i64,
    subject_key: &str,
) -> Result<Option<ReportRow>, StoreError> {
    Ok(r::table
        .filter(r::round_id.eq(round_id))
        .filter(r::subject_key.eq(subject_key))
        .select(ReportRow::as_select())
        .first(conn)
        .optional()?)
}

/// The reports of several subjects of a round.
pub fn reports_of_subjects(
    conn: &mut AnyConnection,
    round_id: i64,
    keys: &[String],
) -> Result<Vec<ReportRow>, StoreError> {
    let mut out = Vec::new();
    for chunk in keys.chunks(500) {
        out.extend(
            r::table
                .filter(r::round_id.eq(round_id))
                .filter(r::subject_key.eq_any(chunk))
                .select(ReportRow::as_select())
                .load(conn)?,
        );
    }
    Ok(out)
}

/// Inserts a new report; returns its id. A second first save of the same subject is a unique
/// violation on `(round_id, subject_key)`.
pub fn insert_report(conn: &mut AnyConnection, row: &ReportRow) -> Result<i64, StoreError> {
    Ok(pbm_db::insert_returning_id!(conn, r::table, row, r::id))
}

/// Writes a report's new state if its revision is still `expected`.
pub fn update_report(
    conn: &mut AnyConnection,
    row: &ReportRow,
    expected: i64,
) -> Result<bool, StoreError> {
    Ok(diesel::update(
        r::table
            .filter(r::id.eq(row.id))
            .filter(r::revision.eq(expected)),
    )
    .set(row)
    .execute(conn)?
        == 1)
}

/// A report's indicator values, by `seq`.
pub fn report_indicators(
    conn: &mut AnyConnection,
    report_id: i64,
) -> Result<Vec<ReportIndicatorRow>, StoreError> {
    Ok(ri::table
        .filter(ri::report_id.eq(report_id))
        .order(ri::seq)
        .select(ReportIndicatorRow::as_select())
        .load(conn)?)
}

/// The indicator values of several reports, by report and `seq`.
pub fn indicators_of_reports(
    conn: &mut AnyConnection,
    ids: &[i64],
) -> Result<Vec<ReportIndicatorRow>, StoreError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        out.extend(
            ri::table
                .filter(ri::report_id.eq_any(chunk))
                .order((ri::report_id, ri::seq))
                .select(ReportIndicatorRow::as_select())
                .load(conn)?,
        );
    }
    Ok(out)
}

/// Replaces a report's indicator values with `rows`.
pub fn replace_report_indicators(
    conn: &mut AnyConnection,
    report_id: i64,
    rows: &[ReportIndicatorRow],
) -> Result<(), StoreError> {
    diesel::delete(ri::table.filter(ri::report_id.eq(report_id))).execute(conn)?;
    // 8 columns × 200 rows stays under both backends' bind-parameter limits. Multi-row INSERT
    // is not available through MultiConnection, so dispatch to the concrete connection.
    for chunk in rows.chunks(200) {
        match conn {
            AnyConnection::Postgresql(c) => {
                diesel::insert_into(ri::table).values(chunk).execute(c)?;
            }
            AnyConnection::Sqlite(c) => {
                diesel::insert_into(ri::table).values(chunk).execute(c)?;
            }
        }
    }
    Ok(())
}

/// Appends an event to a report's history (its `seq` the next one).
pub fn append_report_event(
    conn: &mut AnyConnection,
    mut row: ReportEventRow,
) -> Result<(), StoreError> {
    let last: Option<i32> = ev::table
        .filter(ev::report_id.eq(row.report_id))
        .select(diesel::dsl::max(ev::seq))
        .first(conn)?;
    row.seq = last.unwrap_or(0) + 1;
    diesel::insert_into(ev::table).values(&row).execute(conn)?;
    Ok(())
}

/// Appends a "reopen" event (status unchanged) to the history of each report of a unit of a
/// round (docs/drafts/MONITORING.md §1 "Reopen").
pub fn reopen_events(
    conn: &mut AnyConnection,
    round_id: i64,
    agency_code: &str,
    comments: &str,
    actor: &str,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    let reports: Vec<(i64, String)> = r::table
        .filter(r::round_id.eq(round_id))
        .filter(r::agency_code.eq(agency_code))
        .select((r::id, r::status))
        .order(r::id)
        .load(conn)?;
    for (report_id, status) in reports {
        append_report_event(
            conn,
            ReportEventRow {
                report_id,
                seq: 0,
                action: "reopen".to_owned(),
                from_status: status.clone(),
                to_status: status,
                comments: comments.to_owned(),
                actor: actor.to_owned(),
                at,
            },
        )?;
    }
    Ok(())
}

pub fn report_events(
    conn: &mut AnyConnection,
    report_id: i64,
) -> Result<Vec<ReportEventRow>, StoreError> {
    Ok(ev::table
        .filter(ev::report_id.eq(report_id))
        .order(ev::seq)
        .select(ReportEventRow::as_select())
        .load(conn)?)
}

/// Keeps the round subject's `report_status` in step with its report.
pub fn set_subject_report_status(
    conn: &mut AnyConnection,
    round_id: i64,
    subject_key: &str,
    status: &str,
) -> Result<(), StoreError> {
    diesel::update(
        rs::table
            .filter(rs::round_id.eq(round_id))
            .filter(rs::subject_key.eq(subject_key)),
    )
    .set(rs::report_status.eq(status))
    .execute(conn)?;
    Ok(())
}

/// The reopened deadlines of a round's units (agency code → day), for units that have one.
pub fn unit_deadlines(
    conn: &mut AnyConnection,
    round_id: i64,
    agencies: &[String],
) -> Result<Vec<(String, NaiveDate)>, StoreError> {
    let mut out = Vec::new();
    for chunk in agencies.chunks(500) {
        out.extend(
            ru::table
                .filter(ru::round_id.eq(round_id))
                .filter(ru::agency_code.eq_any(chunk))
                .filter(ru::deadline_override.is_not_null())
                .select((ru::agency_code, ru::deadline_override.assume_not_null()))
                .load::<(String, NaiveDate)>(conn)?,
        );
    }
    Ok(out)
}

/// Which reports a list asks for (after the caller's scope narrowed it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportFilter {
    pub round_id: i64,
    pub status: Option<String>,
    pub department_code: Option<String>,
    pub agency_code: Option<String>,
    /// Only these subjects (a commissioned agency's).
    pub subject_keys: Option<Vec<String>>,
}

/// A page of reports by subject key, and how many there are in all.
pub fn list_reports(
    conn: &mut AnyConnection,
    f: &ReportFilter,
    offset: i64,
    limit: i64,
) -> Result<(Vec<ReportRow>, i64), StoreError> {
    macro_rules! filtered {
        () => {{
            let mut q = r::table.filter(r::round_id.eq(f.round_id)).into_boxed();
            if let Some(s) = &f.status {
                q = q.filter(r::status.eq(s.clone()));
            }
            if let Some(d) = &f.department_code {
                q = q.filter(r::department_code.eq(d.clone()));
            }
            if let Some(a) = &f.agency_code {
                q = q.filter(r::agency_code.eq(a.clone()));
            }
            if let Some(keys) = &f.subject_keys {
                q = q.filter(r::subject_key.eq_any(keys.clone()));
            }
            q
        }};
    }
    let total: i64 = filtered!().count().get_result(conn)?;
    let rows = filtered!()
        .order(r::subject_key)
        .offset(offset)
        .limit(limit)
        .select(ReportRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}

/// The subjects of a round a table export or import covers: all, one department's, one unit's,
/// or the listed ones; by subject key.
pub fn subjects_in_scope(
    conn: &mut AnyConnection,
    round_id: i64,
    department_code: Option<&str>,
    agency_code: Option<&str>,
    keys: Option<&[String]>,
) -> Result<Vec<SubjectRow>, StoreError> {
    let mut q = rs::table.filter(rs::round_id.eq(round_id)).into_boxed();
    if let Some(d) = department_code {
        q = q.filter(rs::department_code.eq(d.to_owned()));
    }
    if let Some(a) = agency_code {
        q = q.filter(rs::agency_code.eq(a.to_owned()));
    }
    if let Some(k) = keys {
        q = q.filter(rs::subject_key.eq_any(k.to_vec()));
    }
    Ok(q.order(rs::subject_key)
        .select(SubjectRow::as_select())
        .load(conn)?)
}
