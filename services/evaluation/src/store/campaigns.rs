//! Campaigns (one self-evaluation per fiscal year) and the units finance reopened.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use pbm_db::{AnyConnection, StoreError};

use super::schema::{
    evaluation_campaigns as ca, evaluation_sheets as sh, evaluation_unit_deadlines as ud,
};

/// A campaign. `status`: `open`, `closed`; `sheets`: how many were opened; `execution_month`:
/// the latest month of the figures snapshotted at opening (0: none).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = ca)]
pub struct CampaignRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub fiscal_year: i32,
    pub name: String,
    pub deadline: NaiveDate,
    pub lead_days: i32,
    pub status: String,
    pub rules_version: i64,
    pub rules_label: String,
    pub revision: i64,
    pub sheets: i64,
    pub execution_month: i32,
    pub opened_by: String,
    pub opened_at: NaiveDateTime,
    pub changed_by: String,
    pub changed_at: NaiveDateTime,
}

/// Inserts a campaign; returns its id (a second campaign of the year: a unique violation).
pub fn insert_campaign(conn: &mut AnyConnection, row: &CampaignRow) -> Result<i64, StoreError> {
    Ok(pbm_db::insert_returning_id!(conn, ca::table, row, ca::id))
}

/// Campaign `id`.
pub fn campaign(conn: &mut AnyConnection, id: i64) -> Result<Option<CampaignRow>, StoreError> {
    Ok(ca::table
        .find(id)
        .select(CampaignRow::as_select())
        .first(conn)
        .optional()?)
}

/// The campaign of a fiscal year, if opened.
pub fn campaign_of_year(
    conn: &mut AnyConnection,
    fiscal_year: i32,
) -> Result<Option<CampaignRow>, StoreError> {
    Ok(ca::table
        .filter(ca::fiscal_year.eq(fiscal_year))
        .select(CampaignRow::as_select())
        .first(conn)
        .optional()?)
}

/// Writes a changed campaign if it is still at revision `expected`; `false` when another writer
/// got there first.
pub fn update_campaign(
    conn: &mut AnyConnection,
    row: &CampaignRow,
    expected: i64,
) -> Result<bool, StoreError> {
    Ok(diesel::update(
        ca::table
            .filter(ca::id.eq(row.id))
            .filter(ca::revision.eq(expected)),
    )
    .set(row)
    .execute(conn)?
        == 1)
}

/// A page of campaigns, newest year first, and how many match.
pub fn list_campaigns(
    conn: &mut AnyConnection,
    fiscal_year: Option<i32>,
    offset: i64,
    limit: i64,
) -> Result<(Vec<CampaignRow>, i64), StoreError> {
    let filtered = || {
        let mut q = ca::table.into_boxed::<pbm_db::MultiBackend>();
        if let Some(y) = fiscal_year {
            q = q.filter(ca::fiscal_year.eq(y));
        }
        q
    };
    let total: i64 = filtered().count().get_result(conn)?;
    let rows = filtered()
        .order((ca::fiscal_year.desc(), ca::id.desc()))
        .offset(offset)
        .limit(limit)
        .select(CampaignRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}

/// A unit finance reopened: its own deadline, how often, the latest reason.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = ud)]
pub struct UnitDeadlineRow {
    pub campaign_id: i64,
    pub agency_code: String,
    pub deadline: NaiveDate,
    pub reopened: i32,
    pub reason: String,
    pub changed_by: String,
    pub changed_at: NaiveDateTime,
}

/// Whether campaign `campaign_id` has a sheet of unit `agency_code`.
pub fn unit_has_sheets(
    conn: &mut AnyConnection,
    campaign_id: i64,
    agency_code: &str,
) -> Result<bool, StoreError> {
    let n: i64 = sh::table
        .filter(sh::campaign_id.eq(campaign_id))
        .filter(sh::agency_code.eq(agency_code))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Reopens unit `agency_code` until `deadline` (the first time, or once more); returns the row.
pub fn reopen_unit_deadline(
    conn: &mut AnyConnection,
    campaign_id: i64,
    agency_code: &str,
    deadline: NaiveDate,
    reason: &str,
    by: &str,
    at: NaiveDateTime,
) -> Result<UnitDeadlineRow, StoreError> {
    let key = ud::table
        .filter(ud::campaign_id.eq(campaign_id))
        .filter(ud::agency_code.eq(agency_code));
    let changed = diesel::update(key)
        .set((
            ud::deadline.eq(deadline),
            ud::reopened.eq(ud::reopened + 1),
            ud::reason.eq(reason),
            ud::changed_by.eq(by),
            ud::changed_at.eq(at),
        ))
        .execute(conn)?;
    if changed == 0 {
        diesel::insert_into(ud::table)
            .values(&UnitDeadlineRow {
                campaign_id,
                agency_code: agency_code.to_owned(),
                deadline,
                reopened: 1,
                reason: reason.to_owned(),
                changed_by: by.to_owned(),
                changed_at: at,
            })
            .execute(conn)?;
    }
    Ok(key.select(UnitDeadlineRow::as_select()).first(conn)?)
}
