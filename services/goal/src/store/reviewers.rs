//! The reviewers assigned to a goal.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use pbm_db::{AnyConnection, StoreError};

use super::schema::goal_reviewers as rv;

pub fn insert_reviewer(
    conn: &mut AnyConnection,
    goal_id: i64,
    kind: &str,
    reviewer_id: &str,
    draw_id: i64,
    by: &str,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::insert_into(rv::table)
        .values((
            rv::goal_id.eq(goal_id),
            rv::kind.eq(kind),
            rv::reviewer_id.eq(reviewer_id),
            rv::draw_id.eq(draw_id),
            rv::assigned_by.eq(by),
            rv::assigned_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Ids (expert ids, agency credit codes) of a goal's reviewers.
pub fn reviewers_of(conn: &mut AnyConnection, goal_id: i64) -> Result<Vec<String>, StoreError> {
    Ok(rv::table
        .filter(rv::goal_id.eq(goal_id))
        .order(rv::reviewer_id)
        .select(rv::reviewer_id)
        .load(conn)?)
}
