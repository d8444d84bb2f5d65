//! Corrective actions (整改纠偏): one row per action, guarded by its revision.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use pbm_db::{AnyConnection, StoreError};

use super::key::commissioned;
use super::schema::corrective_actions as ca;
use crate::domain::access::ListFilter;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = ca, treat_none_as_null = true)]
pub struct ActionRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub round_id: i64,
    pub subject_key: String,
    /// The indicator, or 0 for the project.
    pub seq: i32,
    pub description: String,
    pub owner_agency_code: String,
    /// The owner unit's department (the subject's).
    pub department_code: String,
    pub contact: String,
    pub due_on: NaiveDate,
    /// `open`, `in_progress`, `done`, `verified`.
    pub status: String,
    pub completion_note: String,
    pub comments: String,
    /// The day it was (last) marked done.
    pub done_on: Option<NaiveDate>,
    pub revision: i64,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub changed_by: String,
    pub changed_at: NaiveDateTime,
}

pub fn insert_action(conn: &mut AnyConnection, row: &ActionRow) -> Result<i64, StoreError> {
    Ok(pbm_db::insert_returning_id!(conn, ca::table, row, ca::id))
}

pub fn action(conn: &mut AnyConnection, id: i64) -> Result<Option<ActionRow>, StoreError> {
    Ok(ca::table
        .find(id)
        .select(ActionRow::as_select())
        .first(conn)
        .optional()?)
}

/// Writes an action's new state if its revision is still `expected`.
pub fn update_action(
    conn: &mut AnyConnection,
    row: &ActionRow,
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

/// What a list of actions asks for, narrowed to what the caller sees.
#[derive(Debug, Clone, Default)]
pub struct ActionFilter {
    pub round_id: i64,
    pub status: Option<String>,
    /// Only those past due and not done: `due_on < today` and status `open` / `in_progress`.
    pub overdue_on: Option<NaiveDate>,
    pub owner_agency_code: Option<String>,
    pub subject_key: Option<String>,
}

/// A page of actions in id order, and how many match.
pub fn list_actions(
    conn: &mut AnyConnection,
    f: &ActionFilter,
    scope: &ListFilter,
    offset: i64,
    limit: i64,
) -> Result<(Vec<ActionRow>, i64), StoreError> {
    let query = || {
        let mut q = ca::table
            .filter(ca::round_id.eq(f.round_id))
            .into_boxed::<pbm_db::MultiBackend>();
        if let Some(s) = &f.status {
            q = q.filter(ca::status.eq(s.clone()));
        }
        if let Some(today) = f.overdue_on {
            q = q
                .filter(ca::due_on.lt(today))
                .filter(ca::status.eq_any(["open", "in_progress"]));
        }
        if let Some(a) = &f.owner_agency_code {
            q = q.filter(ca::owner_agency_code.eq(a.clone()));
        }
        if let Some(k) = &f.subject_key {
            q = q.filter(ca::subject_key.eq(k.clone()));
        }
        match scope {
            ListFilter::All => q,
            // The owner unit sees its actions; the department those of its units.
            ListFilter::Unit(a) => q.filter(ca::owner_agency_code.eq(a.clone())),
            ListFilter::Department(d) => q.filter(ca::department_code.eq(d.clone())),
            ListFilter::Agency(id) => {
                q.filter(ca::subject_key.eq_any(commissioned(f.round_id, id.clone())))
            }
            ListFilter::None => q.filter(ca::subject_key.eq_any(Vec::<String>::new())),
        }
    };
    let total: i64 = query().count().get_result(conn)?;
    let rows = query()
        .order(ca::id.asc())
        .offset(offset)
        .limit(limit)
        .select(ActionRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}

/// How many actions of each of `keys` in `round_id` are not done yet (open or in progress).
pub fn open_actions(
    conn: &mut AnyConnection,
    round_id: i64,
    keys: &[String],
) -> Result<Vec<(String, i64)>, StoreError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    Ok(ca::table
        .filter(ca::round_id.eq(round_id))
        .filter(ca::subject_key.eq_any(keys))
        .filter(ca::status.eq_any(["open", "in_progress"]))
        .group_by(ca::subject_key)
        .select((ca::subject_key, diesel::dsl::count_star()))
        .load(conn)?)
}
