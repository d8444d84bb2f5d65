//! The units' side of the sheets: a sheet read with its campaign's deadline and the unit's
//! reopened one, the guarded update of a sheet and of its changed indicators, the sheets'
//! history, and the lists and batches of sheets the reads, the export and the import use.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use pbm_db::{AnyConnection, Money, StoreError};

use super::schema::{
    evaluation_campaigns as ca, evaluation_reviews as rv, evaluation_sheet_events as ev,
    evaluation_sheet_indicators as si, evaluation_sheets as sh, evaluation_spot_checks as sc,
    evaluation_unit_deadlines as ud,
};
use super::{SheetIndicatorRow, SheetRow};
use crate::domain::access::ListFilter;

/// Chunk of ids or keys per `IN (…)` list.
const BATCH: usize = 500;

/// What a sheet's step needs of its campaign.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = ca)]
pub struct CampaignFacts {
    pub id: i64,
    pub fiscal_year: i32,
    pub deadline: NaiveDate,
    pub lead_days: i32,
    /// `open` or `closed`.
    pub status: String,
    pub rules_version: i64,
    pub rules_label: String,
}

/// Sheet `id` with its campaign and its unit's reopened deadline, in one read.
pub fn sheet_in_context(
    conn: &mut AnyConnection,
    id: i64,
) -> Result<Option<(SheetRow, CampaignFacts, Option<NaiveDate>)>, StoreError> {
    Ok(sh::table
        .inner_join(ca::table)
        .left_join(
            ud::table.on(ud::campaign_id
                .eq(sh::campaign_id)
                .and(ud::agency_code.eq(sh::agency_code))),
        )
        .filter(sh::id.eq(id))
        .select((
            SheetRow::as_select(),
            CampaignFacts::as_select(),
            ud::deadline.nullable(),
        ))
        .first(conn)
        .optional()?)
}

/// Campaign `id`'s facts.
pub fn campaign_facts(
    conn: &mut AnyConnection,
    id: i64,
) -> Result<Option<CampaignFacts>, StoreError> {
    Ok(ca::table
        .find(id)
        .select(CampaignFacts::as_select())
        .first(conn)
        .optional()?)
}

/// The units of campaign `campaign_id` reopened by finance, and their own deadlines.
pub fn unit_deadlines(
    conn: &mut AnyConnection,
    campaign_id: i64,
) -> Result<HashMap<String, NaiveDate>, StoreError> {
    Ok(ud::table
        .filter(ud::campaign_id.eq(campaign_id))
        .select((ud::agency_code, ud::deadline))
        .load::<(String, NaiveDate)>(conn)?
        .into_iter()
        .collect())
}

/// Writes a sheet's texts, status, score and stamps if it is still at revision `expected`;
/// `false` when another writer got there first.
pub fn update_sheet(
    conn: &mut AnyConnection,
    row: &SheetRow,
    expected: i64,
) -> Result<bool, StoreError> {
    let n = diesel::update(
        sh::table
            .filter(sh::id.eq(row.id))
            .filter(sh::revision.eq(expected)),
    )
    .set((
        sh::execution_reason.eq(&row.execution_reason),
        sh::summary.eq(&row.summary),
        sh::status.eq(&row.status),
        sh::revision.eq(row.revision),
        sh::total.eq(row.total),
        sh::grade.eq(&row.grade),
        sh::execution_rate.eq(row.execution_rate),
        sh::score.eq(&row.score),
        sh::return_reason.eq(&row.return_reason),
        sh::late.eq(row.late),
        sh::submitted_by.eq(&row.submitted_by),
        sh::submitted_at.eq(row.submitted_at),
        sh::changed_by.eq(&row.changed_by),
        sh::changed_at.eq(row.changed_at),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Writes the entries and the engine's figures of `rows` (only the indicators that changed). On
/// PostgreSQL in one statement, an upsert on the key (sheet, seq) whose rows are all there, so
/// that a save of ten indicators costs one round trip instead of ten; on SQLite (in process, no
/// round trip; diesel has no multi-row upsert there) one UPDATE per row.
pub fn update_indicators(
    conn: &mut AnyConnection,
    rows: &[&SheetIndicatorRow],
) -> Result<(), StoreError> {
    use diesel::upsert::excluded;
    macro_rules! upsert {
        ($c:expr, $chunk:expr) => {
            diesel::insert_into(si::table)
                .values($chunk)
                .on_conflict((si::sheet_id, si::seq))
                .do_update()
                .set((
                    si::achieved_value.eq(excluded(si::achieved_value)),
                    si::tier.eq(excluded(si::tier)),
                    si::qualitative_score.eq(excluded(si::qualitative_score)),
                    si::not_applicable.eq(excluded(si::not_applicable)),
                    si::not_applicable_reason.eq(excluded(si::not_applicable_reason)),
                    si::deviation_causes.eq(excluded(si::deviation_causes)),
                    si::improvement_measures.eq(excluded(si::improvement_measures)),
                    si::weight.eq(excluded(si::weight)),
                    si::points.eq(excluded(si::points)),
                    si::applicable.eq(excluded(si::applicable)),
                    si::deviates.eq(excluded(si::deviates)),
                ))
                .execute($c)?
        };
    }
    match &mut *conn {
        AnyConnection::Postgresql(c) => {
            for chunk in rows.chunks(BATCH / 2) {
                upsert!(c, chunk.to_vec());
            }
        }
        AnyConnection::Sqlite(c) => {
            for r in rows {
                upsert!(c, *r);
            }
        }
    }
    Ok(())
}

/// One row of a sheet's history. `action`: `saved`, `submitted`, `reviewed`, `received`,
/// `returned`, `reopened`, `refreshed`.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = ev)]
pub struct SheetEventRow {
    pub sheet_id: i64,
    pub revision: i64,
    pub action: String,
    pub from_status: String,
    pub to_status: String,
    pub reason: String,
    pub total: Money,
    pub grade: String,
    pub at_by: String,
    pub at: NaiveDateTime,
}

pub fn append_event(conn: &mut AnyConnection, event: &SheetEventRow) -> Result<(), StoreError> {
    diesel::insert_into(ev::table).values(event).execute(conn)?;
    Ok(())
}

/// Sheet `sheet_id`'s history, oldest first.
pub fn events_of(
    conn: &mut AnyConnection,
    sheet_id: i64,
) -> Result<Vec<SheetEventRow>, StoreError> {
    Ok(ev::table
        .filter(ev::sheet_id.eq(sheet_id))
        .order(ev::id)
        .select(SheetEventRow::as_select())
        .load(conn)?)
}

/// Which sheets of a campaign a list shows: the caller's scope, then the request's filters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetFilter {
    pub scope: ListFilter,
    pub department_code: Option<String>,
    pub agency_code: Option<String>,
    pub status: Option<String>,
    pub grade: Option<String>,
    /// Only sheets not yet submitted of these units (`Some(true)`) or of every unit but these
    /// (`Some(false)`): a deadline status, as `ops::sheet_reads` works it out.
    pub units: Option<(bool, Vec<String>)>,
    /// Only sheets in these statuses.
    pub statuses: Option<Vec<String>>,
    /// Only these sheets (an export's ids).
    pub ids: Option<Vec<i64>>,
}

impl SheetFilter {
    pub fn new(scope: ListFilter) -> SheetFilter {
        SheetFilter {
            scope,
            department_code: None,
            agency_code: None,
            status: None,
            grade: None,
            units: None,
            statuses: None,
            ids: None,
        }
    }
}

type Boxed<'a> = sh::BoxedQuery<'a, pbm_db::MultiBackend>;

fn filtered<'a>(campaign_id: i64, f: &'a SheetFilter) -> Boxed<'a> {
    let mut q = sh::table
        .filter(sh::campaign_id.eq(campaign_id))
        .into_boxed::<pbm_db::MultiBackend>();
    q = match &f.scope {
        ListFilter::All => q,
        ListFilter::Department(code) => q.filter(sh::department_code.eq(code)),
        ListFilter::Unit(code) => q.filter(sh::agency_code.eq(code)),
        ListFilter::Agency(credit_code) => q.filter(
            sh::id.eq_any(
                rv::table
                    .inner_join(sc::table)
                    .filter(sc::agency_credit_code.eq(credit_code))
                    .filter(sc::reviewer.eq("agency"))
                    .select(rv::sheet_id),
            ),
        ),
        // Nobody's: no sheet has id 0.
        ListFilter::None => q.filter(sh::id.eq(0)),
    };
    if let Some(code) = &f.department_code {
        q = q.filter(sh::department_code.eq(code));
    }
    if let Some(code) = &f.agency_code {
        q = q.filter(sh::agency_code.eq(code));
    }
    if let Some(s) = &f.status {
        q = q.filter(sh::status.eq(s));
    }
    if let Some(g) = &f.grade {
        q = q.filter(sh::grade.eq(g));
    }
    if let Some(statuses) = &f.statuses {
        q = q.filter(sh::status.eq_any(statuses));
    }
    if let Some((within, units)) = &f.units {
        q = if *within {
            q.filter(sh::agency_code.eq_any(units))
        } else {
            q.filter(sh::agency_code.ne_all(units))
        };
    }
    if let Some(ids) = &f.ids {
        q = q.filter(sh::id.eq_any(ids));
    }
    q
}

/// A page of a campaign's sheets (by id) and how many match.
pub fn sheets_page(
    conn: &mut AnyConnection,
    campaign_id: i64,
    f: &SheetFilter,
    offset: i64,
    limit: i64,
) -> Result<(Vec<SheetRow>, i64), StoreError> {
    let total = filtered(campaign_id, f).count().get_result(conn)?;
    let rows = filtered(campaign_id, f)
        .order(sh::id)
        .offset(offset)
        .limit(limit)
        .select(SheetRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}

/// Every sheet of a campaign the filter lets through (by id), at most `limit`.
pub fn sheets_all(
    conn: &mut AnyConnection,
    campaign_id: i64,
    f: &SheetFilter,
    limit: i64,
) -> Result<Vec<SheetRow>, StoreError> {
    Ok(filtered(campaign_id, f)
        .order(sh::id)
        .limit(limit)
        .select(SheetRow::as_select())
        .load(conn)?)
}

/// The indicators of `sheet_ids`, by sheet and seq.
pub fn indicators_of_sheets(
    conn: &mut AnyConnection,
    sheet_ids: &[i64],
) -> Result<HashMap<i64, Vec<SheetIndicatorRow>>, StoreError> {
    let mut out: HashMap<i64, Vec<SheetIndicatorRow>> = HashMap::new();
    for chunk in sheet_ids.chunks(BATCH) {
        let rows = si::table
            .filter(si::sheet_id.eq_any(chunk))
            .order((si::sheet_id, si::seq))
            .select(SheetIndicatorRow::as_select())
            .load(conn)?;
        for r in rows {
            out.entry(r.sheet_id).or_default().push(r);
        }
    }
    Ok(out)
}

/// The sheets of campaign `campaign_id` with these subject keys.
pub fn sheets_by_keys(
    conn: &mut AnyConnection,
    campaign_id: i64,
    keys: &[String],
) -> Result<Vec<SheetRow>, StoreError> {
    let mut out = Vec::new();
    for chunk in keys.chunks(BATCH) {
        out.extend(
            sh::table
                .filter(sh::campaign_id.eq(campaign_id))
                .filter(sh::subject_key.eq_any(chunk))
                .select(SheetRow::as_select())
                .load(conn)?,
        );
    }
    Ok(out)
}

/// Whether sheet `sheet_id` is sampled into a spot check commissioned to the agency of credit
/// code `credit_code`.
pub fn commissioned_to(
    conn: &mut AnyConnection,
    sheet_id: i64,
    credit_code: &str,
) -> Result<bool, StoreError> {
    let n: i64 = rv::table
        .inner_join(sc::table)
        .filter(rv::sheet_id.eq(sheet_id))
        .filter(sc::agency_credit_code.eq(credit_code))
        .filter(sc::reviewer.eq("agency"))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}
