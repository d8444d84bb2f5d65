//! The scoring rules per fiscal year, versioned (version 0, the national default, is never
//! stored).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use pbm_db::{AnyConnection, StoreError};

use super::schema::evaluation_rules as er;

/// One version of a year's scoring rules. `body` is `pbm_scoring::RuleSet` as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = er)]
pub struct RulesRow {
    pub fiscal_year: i32,
    pub version: i64,
    pub label: String,
    pub body: String,
    pub changed_by: String,
    pub changed_at: NaiveDateTime,
}

/// The newest stored version of a year's rules.
pub fn current_rules(conn: &mut AnyConnection, year: i32) -> Result<Option<RulesRow>, StoreError> {
    Ok(er::table
        .filter(er::fiscal_year.eq(year))
        .order(er::version.desc())
        .select(RulesRow::as_select())
        .first(conn)
        .optional()?)
}

/// One stored version of a year's rules.
pub fn rules_version(
    conn: &mut AnyConnection,
    year: i32,
    version: i64,
) -> Result<Option<RulesRow>, StoreError> {
    Ok(er::table
        .filter(er::fiscal_year.eq(year))
        .filter(er::version.eq(version))
        .select(RulesRow::as_select())
        .first(conn)
        .optional()?)
}

/// Inserts a new version (a concurrent writer of the same version gets a unique violation).
pub fn insert_rules(conn: &mut AnyConnection, row: &RulesRow) -> Result<(), StoreError> {
    diesel::insert_into(er::table).values(row).execute(conn)?;
    Ok(())
}
