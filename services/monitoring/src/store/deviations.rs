//! Reading warnings, the deviation list (偏离清单) and the execution forecasts: the subjects of
//! a round narrowed to what the caller sees, paged on the index `round_subjects_deviated`
//! (round_id, deviated, department_code, subject_key), then one read per kind of detail for the
//! whole page (docs/drafts/MONITORING.md §5 "Deviation list").

use diesel::prelude::*;
use pbm_db::{AnyConnection, StoreError};

use super::subjects::{SubjectRow, WarningRow};

use crate::domain::access::ListFilter;

use super::key::commissioned;
use super::schema::{
    monitoring_report_indicators as ri, monitoring_reports as mr, monitoring_warnings as w,
    round_indicators as rind, round_subjects as rs,
};

/// What ListWarnings asks for.
#[derive(Debug, Clone, Default)]
pub struct WarningFilter {
    pub round_id: i64,
    pub subject_key: Option<String>,
    pub axis: Option<String>,
    pub colours: Vec<String>,
}

/// A page of a round's warnings (subject, axis, seq order) over the subjects `scope` shows, and how
/// many match.
pub fn list_warnings(
    conn: &mut AnyConnection,
    f: &WarningFilter,
    scope: &ListFilter,
    offset: i64,
    limit: i64,
) -> Result<(Vec<WarningRow>, i64), StoreError> {
    let query = || {
        let mut q = w::table
            .filter(w::round_id.eq(f.round_id))
            .into_boxed::<pbm_db::MultiBackend>();
        if let Some(k) = &f.subject_key {
            q = q.filter(w::subject_key.eq(k.clone()));
        }
        if let Some(a) = &f.axis {
            q = q.filter(w::axis.eq(a.clone()));
        }
        if !f.colours.is_empty() {
            q = q.filter(w::colour.eq_any(f.colours.clone()));
        }
        let subjects = rs::table
            .filter(rs::round_id.eq(f.round_id))
            .select(rs::subject_key);
        match scope {
            ListFilter::All => q,
            ListFilter::Unit(a) => {
                q.filter(w::subject_key.eq_any(subjects.filter(rs::agency_code.eq(a.clone()))))
            }
            ListFilter::Department(d) => {
                q.filter(w::subject_key.eq_any(subjects.filter(rs::department_code.eq(d.clone()))))
            }
            ListFilter::Agency(id) => {
                q.filter(w::subject_key.eq_any(commissioned(f.round_id, id.clone())))
            }
            ListFilter::None => q.filter(w::subject_key.eq_any(Vec::<String>::new())),
        }
    };
    let total: i64 = query().count().get_result(conn)?;
    let rows = query()
        .order((w::subject_key.asc(), w::axis.asc(), w::seq.asc()))
        .offset(offset)
        .limit(limit)
        .select(WarningRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}

/// Where a keyset page starts: after this (department, subject key).
pub type After = Option<(String, String)>;

/// A page of the deviated subjects of a round in (department, subject key) order after
/// `after`, narrowed to `department` and to the subjects `scope` shows, and how many there are in all.
pub fn deviated_page(
    conn: &mut AnyConnection,
    round_id: i64,
    department: Option<&str>,
    scope: &ListFilter,
    after: &After,
    limit: i64,
) -> Result<(Vec<SubjectRow>, i64), StoreError> {
    let query = || {
        let mut q = rs::table
            .filter(rs::round_id.eq(round_id))
            .filter(rs::deviated.eq(true))
            .into_boxed::<pbm_db::MultiBackend>();
        if let Some(d) = department {
            q = q.filter(rs::department_code.eq(d.to_owned()));
        }
        match scope {
            ListFilter::All => q,
            ListFilter::Unit(a) => q.filter(rs::agency_code.eq(a.clone())),
            ListFilter::Department(d) => q.filter(rs::department_code.eq(d.clone())),
            ListFilter::Agency(id) => {
                q.filter(rs::subject_key.eq_any(commissioned(round_id, id.clone())))
            }
            ListFilter::None => q.filter(rs::subject_key.eq_any(Vec::<String>::new())),
        }
    };
    let total: i64 = query().count().get_result(conn)?;
    let mut q = query();
    if let Some((d, k)) = after {
        q = q.filter(
            rs::department_code.gt(d.clone()).or(rs::department_code
                .eq(d.clone())
                .and(rs::subject_key.gt(k.clone()))),
        );
    }
    let rows = q
        .order((rs::department_code.asc(), rs::subject_key.asc()))
        .limit(limit)
        .select(SubjectRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}

/// The warnings of `axes` of the subjects `keys` of a round, in one read.
pub fn warnings_of(
    conn: &mut AnyConnection,
    round_id: i64,
    keys: &[String],
    axes: &[&str],
) -> Result<Vec<WarningRow>, StoreError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    Ok(w::table
        .filter(w::round_id.eq(round_id))
        .filter(w::subject_key.eq_any(keys))
        .filter(w::axis.eq_any(axes))
        .order((w::subject_key.asc(), w::axis.asc(), w::seq.asc()))
        .select(WarningRow::as_select())
        .load(conn)?)
}

/// A snapshot indicator with what its report says of it (empty texts where nothing is
/// reported).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndicatorReported {
    pub subject_key: String,
    pub seq: i32,
    pub name: String,
    pub target_value: String,
    pub achieved: String,
    pub forecast: String,
    pub likelihood: String,
    pub causes: String,
    pub other_text: String,
    pub remark: String,
}

/// The snapshot indicators of the subjects `keys` of a round with their reported values, in one
/// read of each table.
pub fn indicators_reported(
    conn: &mut AnyConnection,
    round_id: i64,
    keys: &[String],
) -> Result<Vec<IndicatorReported>, StoreError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let snapshot: Vec<(String, i32, String, String)> = rind::table
        .filter(rind::round_id.eq(round_id))
        .filter(rind::subject_key.eq_any(keys))
        .order((rind::subject_key.asc(), rind::seq.asc()))
        .select((rind::subject_key, rind::seq, rind::name, rind::target_value))
        .load(conn)?;
    type Reported = (String, i32, String, String, String, String, String, String);
    let reported: Vec<Reported> = mr::table
        .inner_join(ri::table.on(ri::report_id.eq(mr::id)))
        .filter(mr::round_id.eq(round_id))
        .filter(mr::subject_key.eq_any(keys))
        .select((
            mr::subject_key,
            ri::seq,
            ri::achieved,
            ri::forecast,
            ri::likelihood,
            ri::causes,
            ri::other_text,
            ri::remark,
        ))
        .load(conn)?;
    let mut by_key: std::collections::HashMap<(String, i32), Reported> = reported
        .into_iter()
        .map(|r| ((r.0.clone(), r.1), r))
        .collect();
    Ok(snapshot
        .into_iter()
        .map(|(subject_key, seq, name, target_value)| {
            let r = by_key
                .remove(&(subject_key.clone(), seq))
                .unwrap_or_default();
            IndicatorReported {
                subject_key,
                seq,
                name,
                target_value,
                achieved: r.2,
                forecast: r.3,
                likelihood: r.4,
                causes: r.5,
                other_text: r.6,
                remark: r.7,
            }
        })
        .collect())
}

/// A subject with its execution-forecast warning (none before any execution is computed).
pub type SubjectForecast = (SubjectRow, Option<WarningRow>);

/// A page of a round's subjects with their execution-forecast warning (only the red ones when
/// `red_only`), in (department, subject key) order, and how many match.
pub fn execution_forecasts(
    conn: &mut AnyConnection,
    round_id: i64,
    red_only: bool,
    scope: &ListFilter,
    offset: i64,
    limit: i64,
) -> Result<(Vec<SubjectForecast>, i64), StoreError> {
    let query = || {
        let mut q = rs::table
            .left_join(
                w::table.on(w::round_id
                    .eq(rs::round_id)
                    .and(w::subject_key.eq(rs::subject_key))
                    .and(w::axis.eq("execution_forecast"))
                    .and(w::seq.eq(0))),
            )
            .filter(rs::round_id.eq(round_id))
            .into_boxed::<pbm_db::MultiBackend>();
        if red_only {
            q = q.filter(rs::execution_forecast_colour.eq("red"));
        }
        match scope {
            ListFilter::All => q,
            ListFilter::Unit(a) => q.filter(rs::agency_code.eq(a.clone())),
            ListFilter::Department(d) => q.filter(rs::department_code.eq(d.clone())),
            ListFilter::Agency(id) => {
                q.filter(rs::subject_key.eq_any(commissioned(round_id, id.clone())))
            }
            ListFilter::None => q.filter(rs::subject_key.eq_any(Vec::<String>::new())),
        }
    };
    let total: i64 = query().count().get_result(conn)?;
    let rows = query()
        .order((rs::department_code.asc(), rs::subject_key.asc()))
        .offset(offset)
        .limit(limit)
        .select((SubjectRow::as_select(), Option::<WarningRow>::as_select()))
        .load(conn)?;
    Ok((rows, total))
}
