//! 重点监控: the key flag on round subjects and one `key_monitoring` row per key subject, guarded
//! by its revision.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use pbm_db::{AnyConnection, StoreError};

use super::schema::{key_monitoring as km, round_subjects as rs};

/// The subject keys of round `round_id` commissioned to the agency `credit_code` (what an
/// agency sees, `domain::access::ListFilter::Agency`), as a query to load or to filter by.
#[diesel::dsl::auto_type]
pub fn commissioned(round_id: i64, credit_code: String) -> _ {
    km::table
        .filter(km::round_id.eq(round_id))
        .filter(km::agency_id.eq(credit_code))
        .select(km::subject_key)
}

/// The same, read (in subject order).
pub fn commissioned_keys(
    conn: &mut AnyConnection,
    round_id: i64,
    credit_code: &str,
) -> Result<Vec<String>, StoreError> {
    Ok(commissioned(round_id, credit_code.to_owned())
        .order(km::subject_key)
        .load(conn)?)
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = km)]
pub struct KeyRow {
    pub round_id: i64,
    pub subject_key: String,
    /// `marked`, `commissioned`, `filed`, `accepted`, `returned`.
    pub status: String,
    /// The commissioned agency's 统一社会信用代码 (empty while only marked).
    pub agency_id: String,
    pub draw_id: i64,
    pub engagement_id: i64,
    pub report: String,
    pub conclusion: String,
    /// The findings as a JSON list of texts.
    pub findings: String,
    pub comments: String,
    pub revision: i64,
    pub changed_by: String,
    pub changed_at: NaiveDateTime,
}

pub fn key_row(
    conn: &mut AnyConnection,
    round_id: i64,
    key: &str,
) -> Result<Option<KeyRow>, StoreError> {
    Ok(km::table
        .find((round_id, key))
        .select(KeyRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn insert_key_row(conn: &mut AnyConnection, row: &KeyRow) -> Result<(), StoreError> {
    diesel::insert_into(km::table).values(row).execute(conn)?;
    Ok(())
}

/// Writes a key row's new state if its revision is still `expected`.
pub fn update_key_row(
    conn: &mut AnyConnection,
    row: &KeyRow,
    expected: i64,
) -> Result<bool, StoreError> {
    Ok(diesel::update(
        km::table
            .filter(km::round_id.eq(row.round_id))
            .filter(km::subject_key.eq(&row.subject_key))
            .filter(km::revision.eq(expected)),
    )
    .set(row)
    .execute(conn)?
        == 1)
}

pub fn delete_key_row(
    conn: &mut AnyConnection,
    round_id: i64,
    key: &str,
) -> Result<(), StoreError> {
    diesel::delete(km::table.find((round_id, key))).execute(conn)?;
    Ok(())
}

/// Sets the subject's key flag.
pub fn set_key_flag(
    conn: &mut AnyConnection,
    round_id: i64,
    key: &str,
    is_key: bool,
) -> Result<(), StoreError> {
    diesel::update(rs::table.find((round_id, key)))
        .set(rs::is_key.eq(is_key))
        .execute(conn)?;
    Ok(())
}

/// How many subjects of the round are key subjects.
pub fn key_subjects(conn: &mut AnyConnection, round_id: i64) -> Result<i64, StoreError> {
    Ok(rs::table
        .filter(rs::round_id.eq(round_id))
        .filter(rs::is_key.eq(true))
        .count()
        .get_result(conn)?)
}

/// A page of a round's key monitoring (subject order), of one status if asked, only the
/// agency's commissions when `agency` is given; and how many match.
pub fn list_key_rows(
    conn: &mut AnyConnection,
    round_id: i64,
    status: Option<&str>,
    agency: Option<&str>,
    offset: i64,
    limit: i64,
) -> Result<(Vec<KeyRow>, i64), StoreError> {
    let query = || {
        let mut q = km::table
            .filter(km::round_id.eq(round_id))
            .into_boxed::<pbm_db::MultiBackend>();
        if let Some(s) = status {
            q = q.filter(km::status.eq(s.to_owned()));
        }
        if let Some(a) = agency {
            q = q.filter(km::agency_id.eq(a.to_owned()));
        }
        q
    };
    let total: i64 = query().count().get_result(conn)?;
    let rows = query()
        .order(km::subject_key.asc())
        .offset(offset)
        .limit(limit)
        .select(KeyRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}
