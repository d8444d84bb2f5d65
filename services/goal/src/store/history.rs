//! Declaration versions and the history of workflow events.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use pbm_db::{AnyConnection, StoreError};

use super::rows::EventRow;
use super::schema::{goal_events as ev, goal_versions as gv};

pub fn insert_version(
    conn: &mut AnyConnection,
    goal_id: i64,
    version: i32,
    declaration: &str,
    by: &str,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::insert_into(gv::table)
        .values((
            gv::goal_id.eq(goal_id),
            gv::version.eq(version),
            gv::declaration.eq(declaration),
            gv::saved_by.eq(by),
            gv::saved_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Replaces the text of a declaration version that is still being edited.
pub fn replace_version(
    conn: &mut AnyConnection,
    goal_id: i64,
    version: i32,
    declaration: &str,
    by: &str,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    let n = diesel::update(
        gv::table
            .filter(gv::goal_id.eq(goal_id))
            .filter(gv::version.eq(version)),
    )
    .set((
        gv::declaration.eq(declaration),
        gv::saved_by.eq(by),
        gv::saved_at.eq(at),
    ))
    .execute(conn)?;
    if n == 0 {
        insert_version(conn, goal_id, version, declaration, by, at)?;
    }
    Ok(())
}

/// (declaration JSON, saved by, saved at) of one version.
pub fn version(
    conn: &mut AnyConnection,
    goal_id: i64,
    version: i32,
) -> Result<Option<(String, String, NaiveDateTime)>, StoreError> {
    Ok(gv::table
        .filter(gv::goal_id.eq(goal_id))
        .filter(gv::version.eq(version))
        .select((gv::declaration, gv::saved_by, gv::saved_at))
        .first(conn)
        .optional()?)
}

pub fn insert_event(conn: &mut AnyConnection, row: &EventRow) -> Result<(), StoreError> {
    // Column by column (not the struct, whose skipped id makes diesel re-send the SQL text each
    // time) so that PostgreSQL keeps the statement prepared.
    diesel::insert_into(ev::table)
        .values((
            ev::goal_id.eq(row.goal_id),
            ev::action.eq(&row.action),
            ev::from_status.eq(&row.from_status),
            ev::to_status.eq(&row.to_status),
            ev::version.eq(row.version),
            ev::comments.eq(&row.comments),
            ev::changes.eq(&row.changes),
            ev::budget_adjustment_ref.eq(&row.budget_adjustment_ref),
            ev::role.eq(&row.role),
            ev::actor.eq(&row.actor),
            ev::at.eq(row.at),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn events(conn: &mut AnyConnection, goal_id: i64) -> Result<Vec<EventRow>, StoreError> {
    Ok(ev::table
        .filter(ev::goal_id.eq(goal_id))
        .order(ev::id.asc())
        .select(EventRow::as_select())
        .load(conn)?)
}
