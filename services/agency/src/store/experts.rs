//! What do we store? Experts — their name, 身份证号, phone and birth date only encrypted (with a keyed
//! blind index of the ID number for uniqueness, and masked forms for lists) — and every status
//! change.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use pbm_db::{AnyConnection, StoreError, insert_returning_id};

use super::schema::{expert_status_changes as changes, experts};
use crate::domain::eligibility::{ExpertStatus, TitleLevel};
use crate::domain::experts::ExpertDetails;

/// A stored expert, personal data still encrypted.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = experts)]
pub struct ExpertRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    /// Empty (the name is `name_enc`); a name only in a row stored before names were sealed,
    /// until startup seals it.
    pub name: String,
    /// The name, encrypted (`convert::expert_to_proto` decrypts it).
    pub name_enc: Option<Vec<u8>>,
    pub id_number_enc: Vec<u8>,
    pub id_number_index: String,
    pub phone_enc: Vec<u8>,
    pub id_number_masked: String,
    pub phone_masked: String,
    /// `YYYY-MM-DD`, encrypted (`ops::personal::birth_date` reads it).
    pub birth_date_enc: Option<Vec<u8>>,
    pub title: String,
    pub years_in_field: i32,
    pub fields: String,
    pub affiliation: String,
    pub details: String,
    pub status: String,
    pub version: i64,
    pub changed_by: String,
    pub changed_at: NaiveDateTime,
}

fn parse_title(id: i64, title: &str) -> Result<TitleLevel, StoreError> {
    TitleLevel::from_db(title)
        .ok_or_else(|| StoreError::Other(format!("expert {id} title `{title}`")))
}

fn parse_status(id: i64, status: &str) -> Result<ExpertStatus, StoreError> {
    ExpertStatus::from_db(status)
        .ok_or_else(|| StoreError::Other(format!("expert {id} status `{status}`")))
}

fn split_fields(fields: &str) -> Vec<String> {
    fields
        .split('|')
        .filter(|f| !f.is_empty())
        .map(str::to_owned)
        .collect()
}

fn parse_details(id: i64, details: &str) -> Result<ExpertDetails, StoreError> {
    serde_json::from_str(details)
        .map_err(|e| StoreError::Other(format!("expert {id} details: {e}")))
}

impl ExpertRow {
    pub fn title(&self) -> Result<TitleLevel, StoreError> {
        parse_title(self.id, &self.title)
    }

    pub fn status(&self) -> Result<ExpertStatus, StoreError> {
        parse_status(self.id, &self.status)
    }

    pub fn fields(&self) -> Vec<String> {
        split_fields(&self.fields)
    }

    pub fn details(&self) -> Result<ExpertDetails, StoreError> {
        parse_details(self.id, &self.details)
    }

    /// The columns eligibility reads.
    pub fn eligibility(&self) -> EligibilityRow {
        EligibilityRow {
            id: self.id,
            status: self.status.clone(),
            title: self.title.clone(),
            years_in_field: self.years_in_field,
            birth_date_enc: self.birth_date_enc.clone(),
            fields: self.fields.clone(),
            details: self.details.clone(),
        }
    }
}

/// Only the columns eligibility needs (of personal data only the encrypted birth date, for the age
/// cap): what a draw reads for every expert.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = experts)]
pub struct EligibilityRow {
    pub id: i64,
    pub status: String,
    pub title: String,
    pub years_in_field: i32,
    pub birth_date_enc: Option<Vec<u8>>,
    pub fields: String,
    pub details: String,
}

impl EligibilityRow {
    pub fn title(&self) -> Result<TitleLevel, StoreError> {
        parse_title(self.id, &self.title)
    }

    pub fn status(&self) -> Result<ExpertStatus, StoreError> {
        parse_status(self.id, &self.status)
    }

    pub fn fields(&self) -> Vec<String> {
        split_fields(&self.fields)
    }

    pub fn details(&self) -> Result<ExpertDetails, StoreError> {
        parse_details(self.id, &self.details)
    }
}

/// A stamp of the experts table, bumped by a trigger on every insert, update and delete (same
/// transaction): equal stamps mean an unchanged registry.
pub fn pool_stamp(conn: &mut AnyConnection) -> Result<i64, StoreError> {
    use super::schema::pool_stamps as ps;
    Ok(ps::table
        .filter(ps::name.eq("experts"))
        .select(ps::stamp)
        .first(conn)?)
}

/// (id, status) of every expert (a recompute rates them all).
pub fn statuses(conn: &mut AnyConnection) -> Result<Vec<(i64, ExpertStatus)>, StoreError> {
    experts::table
        .select((experts::id, experts::status))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .map(|(id, s)| Ok((id, parse_status(id, &s)?)))
        .collect()
}

/// Eligibility columns of the experts a draw considers: the active experts of a field (the
/// others are ineligible by status or field whatever else holds), or every expert (`None`,
/// to say why each was left out), by id.
pub fn eligibility_rows(
    conn: &mut AnyConnection,
    active_in_field: Option<&str>,
) -> Result<Vec<EligibilityRow>, StoreError> {
    let mut q = experts::table
        .order(experts::id.asc())
        .select(EligibilityRow::as_select())
        .into_boxed::<pbm_db::MultiBackend>();
    if let Some(field) = active_in_field {
        q = q
            .filter(experts::status.eq(ExpertStatus::Active.as_db()))
            .filter(experts::fields.like(format!("%|{field}|%")));
    }
    Ok(q.load(conn)?)
}

pub fn join_fields(fields: &[String]) -> String {
    format!("|{}|", fields.join("|"))
}

/// Inserts an expert and returns its id.
pub fn insert_expert(conn: &mut AnyConnection, row: &ExpertRow) -> Result<i64, StoreError> {
    Ok(insert_returning_id!(conn, experts::table, row, experts::id))
}

/// Replaces the expert if its version is still `expected`.
pub fn update_expert(
    conn: &mut AnyConnection,
    row: &ExpertRow,
    expected: i64,
) -> Result<bool, StoreError> {
    let n = diesel::update(
        experts::table
            .filter(experts::id.eq(row.id))
            .filter(experts::version.eq(expected)),
    )
    .set(row)
    .execute(conn)?;
    Ok(n == 1)
}

pub fn expert(conn: &mut AnyConnection, id: i64) -> Result<Option<ExpertRow>, StoreError> {
    Ok(experts::table
        .filter(experts::id.eq(id))
        .select(ExpertRow::as_select())
        .first(conn)
        .optional()?)
}

#[derive(Debug, Clone, Default)]
pub struct ExpertFilter {
    pub field: Option<String>,
    pub status: Option<ExpertStatus>,
    pub min_title: Option<TitleLevel>,
    /// An expert caller sees only itself.
    pub only: Option<i64>,
}

pub fn list_experts(
    conn: &mut AnyConnection,
    f: &ExpertFilter,
    offset: i64,
    limit: i64,
) -> Result<(Vec<ExpertRow>, i64), StoreError> {
    let query = || {
        let mut q = experts::table.into_boxed::<pbm_db::MultiBackend>();
        if let Some(field) = &f.field {
            q = q.filter(experts::fields.like(format!("%|{field}|%")));
        }
        if let Some(s) = f.status {
            q = q.filter(experts::status.eq(s.as_db()));
        }
        if let Some(min) = f.min_title {
            let titles: Vec<&str> = TitleLevel::ALL
                .iter()
                .filter(|t| **t >= min)
                .map(|t| t.as_db())
                .collect();
            q = q.filter(experts::title.eq_any(titles));
        }
        if let Some(id) = f.only {
            q = q.filter(experts::id.eq(id));
        }
        q
    };
    let total: i64 = query().count().get_result(conn)?;
    let rows = query()
        .order(experts::id.asc())
        .offset(offset)
        .limit(limit)
        .select(ExpertRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpertStatusChange {
    pub expert_id: i64,
    pub from_status: String,
    pub to_status: String,
    pub reason: String,
    pub changed_by: String,
    pub changed_at: NaiveDateTime,
}

pub fn insert_status_change(
    conn: &mut AnyConnection,
    c: &ExpertStatusChange,
) -> Result<(), StoreError> {
    diesel::insert_into(changes::table)
        .values((
            changes::expert_id.eq(c.expert_id),
            changes::from_status.eq(&c.from_status),
            changes::to_status.eq(&c.to_status),
            changes::reason.eq(&c.reason),
            changes::changed_by.eq(&c.changed_by),
            changes::changed_at.eq(c.changed_at),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn status_history(
    conn: &mut AnyConnection,
    expert_id: i64,
) -> Result<Vec<ExpertStatusChange>, StoreError> {
    type Row = (i64, String, String, String, String, NaiveDateTime);
    let rows: Vec<Row> = changes::table
        .filter(changes::expert_id.eq(expert_id))
        .order(changes::id.asc())
        .select((
            changes::expert_id,
            changes::from_status,
            changes::to_status,
            changes::reason,
            changes::changed_by,
            changes::changed_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| ExpertStatusChange {
            expert_id: r.0,
            from_status: r.1,
            to_status: r.2,
            reason: r.3,
            changed_by: r.4,
            changed_at: r.5,
        })
        .collect())
}

/// Personal data of an expert as stored: what the re-encryption rewrites.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = experts)]
pub struct SealedRow {
    pub id: i64,
    pub version: i64,
    pub id_number_enc: Vec<u8>,
    pub id_number_index: String,
    pub phone_enc: Vec<u8>,
    pub birth_date_enc: Option<Vec<u8>>,
    pub name_enc: Option<Vec<u8>>,
}

/// Up to `limit` experts after id `after`, by id, with their personal data as stored.
pub fn sealed_after(
    conn: &mut AnyConnection,
    after: i64,
    limit: i64,
) -> Result<Vec<SealedRow>, StoreError> {
    Ok(experts::table
        .filter(experts::id.gt(after))
        .order(experts::id.asc())
        .limit(limit)
        .select(SealedRow::as_select())
        .load(conn)?)
}

/// The experts whose birth date is not sealed yet (stored before birth dates were encrypted).
pub fn without_sealed_birth_date(conn: &mut AnyConnection) -> Result<Vec<SealedRow>, StoreError> {
    Ok(experts::table
        .filter(experts::birth_date_enc.is_null())
        .order(experts::id.asc())
        .select(SealedRow::as_select())
        .load(conn)?)
}

/// (id, version, name in clear) of the experts whose name is not sealed yet (stored before names
/// were encrypted).
pub fn with_name_in_clear(conn: &mut AnyConnection) -> Result<Vec<(i64, i64, String)>, StoreError> {
    Ok(experts::table
        .filter(experts::name_enc.is_null())
        .order(experts::id.asc())
        .select((experts::id, experts::version, experts::name))
        .load(conn)?)
}

/// Seals an expert's name stored in clear: `name_enc` set, the clear column emptied — the same
/// content, not a change (version, who and when stay). Only while the version is still
/// `version`; returns false when it moved on (its writer sealed the name).
pub fn seal_name(
    conn: &mut AnyConnection,
    id: i64,
    version: i64,
    name_enc: &[u8],
) -> Result<bool, StoreError> {
    let n = diesel::update(
        experts::table
            .filter(experts::id.eq(id))
            .filter(experts::version.eq(version)),
    )
    .set((experts::name.eq(""), experts::name_enc.eq(name_enc)))
    .execute(conn)?;
    Ok(n == 1)
}

/// Rewrites an expert's personal data in place — the same values encrypted afresh, not a change:
/// the version, who and when stay. Only while the version is still `row.version`; returns false
/// when it moved on (the writer that moved it stored its own values under the current key).
pub fn reseal(conn: &mut AnyConnection, row: &SealedRow) -> Result<bool, StoreError> {
    let n = diesel::update(
        experts::table
            .filter(experts::id.eq(row.id))
            .filter(experts::version.eq(row.version)),
    )
    .set((
        experts::id_number_enc.eq(&row.id_number_enc),
        experts::id_number_index.eq(&row.id_number_index),
        experts::phone_enc.eq(&row.phone_enc),
        experts::birth_date_enc.eq(&row.birth_date_enc),
        experts::name_enc.eq(&row.name_enc),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// The expert, other than `except`, whose 身份证号 has one of these blind indexes (the current
/// one, and those a key rotation has not recomputed yet: `PiiCipher::blind_indexes`).
pub fn with_id_number_index(
    conn: &mut AnyConnection,
    indexes: &[String],
    except: Option<i64>,
) -> Result<Option<i64>, StoreError> {
    let mut q = experts::table
        .filter(experts::id_number_index.eq_any(indexes))
        .select(experts::id)
        .into_boxed::<pbm_db::MultiBackend>();
    if let Some(id) = except {
        q = q.filter(experts::id.ne(id));
    }
    Ok(q.first(conn).optional()?)
}

/// (fields, status) of every expert (statistics).
pub fn field_and_status(conn: &mut AnyConnection) -> Result<Vec<(String, String)>, StoreError> {
    Ok(experts::table
        .select((experts::fields, experts::status))
        .load(conn)?)
}
