//! The goal rules per fiscal year.

use diesel::prelude::*;
use pbm_db::{AnyConnection, StoreError};

use super::rows::RulesRow;
use super::schema::goal_rules as gr;

pub fn current_rules(conn: &mut AnyConnection, year: i32) -> Result<Option<RulesRow>, StoreError> {
    Ok(gr::table
        .filter(gr::fiscal_year.eq(year))
        .order(gr::version.desc())
        .select(RulesRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn insert_rules(conn: &mut AnyConnection, row: &RulesRow) -> Result<(), StoreError> {
    diesel::insert_into(gr::table).values(row).execute(conn)?;
    Ok(())
}
