//! What do we store? Engagements (who commissioned whom to do what for which party, when), the
//! experts on each, and — once rated — the criterion scores, the weighted score and the rules
//! it was computed under.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use pbm_db::{AnyConnection, Money, StoreError, insert_returning_id};

use super::schema::{engagement_experts as ee, engagements as e};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = e, treat_none_as_null = true)]
pub struct EngagementRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub commissioner: String,
    pub evaluated_party: String,
    pub kind: String,
    pub agency_credit_code: Option<String>,
    pub started_on: NaiveDate,
    pub ended_on: NaiveDate,
    pub scores: String,
    pub score: Option<Money>,
    pub rules: String,
    pub version: i64,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub rated_by: Option<String>,
    pub rated_at: Option<NaiveDateTime>,
    /// Withdrawn (撤销委托): by whom, when, why.
    pub cancelled_by: Option<String>,
    pub cancelled_at: Option<NaiveDateTime>,
    pub cancel_reason: String,
}

/// An engagement and the ids of its experts.
pub type WithExperts = (EngagementRow, Vec<i64>);

pub fn insert(
    conn: &mut AnyConnection,
    row: &EngagementRow,
    experts: &[i64],
) -> Result<i64, StoreError> {
    let id = insert_returning_id!(conn, e::table, row, e::id);
    for expert in experts {
        diesel::insert_into(ee::table)
            .values((
                ee::engagement_id.eq(id),
                ee::expert_id.eq(*expert),
                ee::ended_on.eq(Some(row.ended_on)),
            ))
            .execute(conn)?;
    }
    Ok(id)
}

pub fn get(
    conn: &mut AnyConnection,
    id: i64,
) -> Result<Option<(EngagementRow, Vec<i64>)>, StoreError> {
    let Some(row) = e::table
        .filter(e::id.eq(id))
        .select(EngagementRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let experts = ee::table
        .filter(ee::engagement_id.eq(id))
        .order(ee::expert_id)
        .select(ee::expert_id)
        .load(conn)?;
    Ok(Some((row, experts)))
}

/// Replaces an engagement if its version is still `expected`.
pub fn update(
    conn: &mut AnyConnection,
    row: &EngagementRow,
    expected: i64,
) -> Result<bool, StoreError> {
    Ok(diesel::update(
        e::table
            .filter(e::id.eq(row.id))
            .filter(e::version.eq(expected)),
    )
    .set(row)
    .execute(conn)?
        == 1)
}

/// Withdraws an engagement if its version is still `expected`: the row as `row` (with its
/// cancellation), and its experts' workload rows lose their end date (no longer counted).
pub fn cancel(
    conn: &mut AnyConnection,
    row: &EngagementRow,
    expected: i64,
) -> Result<bool, StoreError> {
    if !update(conn, row, expected)? {
        return Ok(false);
    }
    diesel::update(ee::table.filter(ee::engagement_id.eq(row.id)))
        .set(ee::ended_on.eq(None::<NaiveDate>))
        .execute(conn)?;
    Ok(true)
}

/// Engagements with an agency, or with an expert (newest first), and the total.
pub fn list(
    conn: &mut AnyConnection,
    agency: Option<&str>,
    expert: Option<i64>,
    offset: i64,
    limit: i64,
) -> Result<(Vec<WithExperts>, i64), StoreError> {
    let query = || {
        let mut q = e::table.into_boxed::<pbm_db::MultiBackend>();
        if let Some(a) = agency {
            q = q.filter(e::agency_credit_code.eq(a.to_owned()));
        }
        if let Some(x) = expert {
            q = q.filter(
                e::id.eq_any(
                    ee::table
                        .filter(ee::expert_id.eq(x))
                        .select(ee::engagement_id),
                ),
            );
        }
        q
    };
    let total: i64 = query().count().get_result(conn)?;
    let rows: Vec<EngagementRow> = query()
        .order(e::id.desc())
        .offset(offset)
        .limit(limit)
        .select(EngagementRow::as_select())
        .load(conn)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let experts = ee::table
            .filter(ee::engagement_id.eq(row.id))
            .order(ee::expert_id)
            .select(ee::expert_id)
            .load(conn)?;
        out.push((row, experts));
    }
    Ok((out, total))
}

/// (engagement id, agency, ended on, score) of a rated engagement.
pub type RatedRow = (i64, Option<String>, NaiveDate, Money);

/// Rated engagements: all of them (`None`, bulk rating), or those of the given agencies and
/// experts.
pub fn rated(
    conn: &mut AnyConnection,
    only: Option<(&[String], &[i64])>,
) -> Result<Vec<RatedRow>, StoreError> {
    let rows: Vec<(i64, Option<String>, NaiveDate, Option<Money>)> = match only {
        // The whole pool (a recompute reads every rated engagement): through the concrete
        // connection, which decodes rows several times faster than MultiConnection.
        None => {
            let q = e::table.filter(e::score.is_not_null()).select((
                e::id,
                e::agency_credit_code,
                e::ended_on,
                e::score,
            ));
            match conn {
                AnyConnection::Postgresql(c) => q.load(c)?,
                AnyConnection::Sqlite(c) => q.load(c)?,
            }
        }
        Some((agencies, experts)) => e::table
            .filter(e::score.is_not_null())
            .filter(
                e::agency_credit_code
                    .eq_any(agencies.to_vec())
                    .or(e::id.eq_any(
                        ee::table
                            .filter(ee::expert_id.eq_any(experts.to_vec()))
                            .select(ee::engagement_id),
                    )),
            )
            .select((e::id, e::agency_credit_code, e::ended_on, e::score))
            .load(conn)?,
    };
    Ok(rows
        .into_iter()
        .filter_map(|(id, a, d, s)| s.map(|s| (id, a, d, s)))
        .collect())
}

/// (engagement id, expert id) of the experts on rated engagements: all, or the given experts.
pub fn rated_expert_links(
    conn: &mut AnyConnection,
    experts: Option<&[i64]>,
) -> Result<Vec<(i64, i64)>, StoreError> {
    let mut q = ee::table
        .inner_join(e::table.on(e::id.eq(ee::engagement_id)))
        .filter(e::score.is_not_null())
        .select((ee::engagement_id, ee::expert_id))
        .into_boxed::<pbm_db::MultiBackend>();
    if let Some(experts) = experts {
        q = q.filter(ee::expert_id.eq_any(experts.to_vec()));
    }
    Ok(q.load(conn)?)
}

/// Scores of the rated engagements ended by `as_of` that had an agency (`agencies`) or at
/// least one expert (otherwise): the pools the means are taken over.
pub fn pool_scores(
    conn: &mut AnyConnection,
    agencies: bool,
    as_of: NaiveDate,
) -> Result<Vec<Money>, StoreError> {
    let q = e::table
        .filter(e::score.is_not_null())
        .filter(e::ended_on.le(as_of))
        .into_boxed::<pbm_db::MultiBackend>();
    let q = if agencies {
        q.filter(e::agency_credit_code.is_not_null())
    } else {
        q.filter(e::id.eq_any(ee::table.select(ee::engagement_id)))
    };
    let scores: Vec<Option<Money>> = q.select(e::score).load(conn)?;
    Ok(scores.into_iter().flatten().collect())
}

/// (kind, ended on) of every engagement not withdrawn (statistics).
pub fn kinds_and_dates(conn: &mut AnyConnection) -> Result<Vec<(String, NaiveDate)>, StoreError> {
    Ok(e::table
        .filter(e::cancelled_at.is_null())
        .select((e::kind, e::ended_on))
        .load(conn)?)
}
