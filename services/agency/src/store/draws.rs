//! What do we store? Each draw with its eligible candidate set (and fingerprint), its seed, the
//! rules it used and whether it drew experts or agencies (and by weight); each drawn expert or
//! agency with the round that drew it, its place in that round's draw order and its answer.
//! Candidates and seed are typed ([`Draw`]) everywhere but in the row: written once, parsed
//! once.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use pbm_db::{AnyConnection, StoreError, insert_returning_id};
use pbm_types::Decimal;

use crate::domain::draw::Candidate;

use super::schema::{
    draw_agencies as da, draw_members as m, draw_shortfalls as ds, draws as d,
    engagement_experts as ee,
};

/// A draw as recorded: its candidate set (sorted by id) and seed typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draw {
    pub id: i64,
    pub task_ref: String,
    pub field: String,
    pub count: i32,
    pub evaluated_party: String,
    pub kind: String,
    pub on_date: NaiveDate,
    pub seed: u64,
    pub candidates: Vec<Candidate>,
    pub fingerprint: String,
    pub rules: String,
    pub version: i64,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    /// `experts` or `agencies`.
    pub subject: String,
    /// Picks weighted by the candidates' weights (agency draws by rating).
    pub weighted: bool,
    /// The replacement rounds that could not be drawn after a decline, by round.
    pub shortfalls: Vec<Shortfall>,
}

/// A replacement round that could not be drawn: every eligible candidate was drawn already.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortfall {
    pub round: i32,
    /// The member whose decline asked for it.
    pub declined: String,
    pub message: String,
    pub recorded_at: NaiveDateTime,
}

impl Draw {
    /// True for a draw of agencies, false for one of experts.
    pub fn is_agencies(&self) -> bool {
        self.subject == AGENCIES
    }

    fn to_row(&self) -> Result<DrawRow, StoreError> {
        // JSON [[id, weight], …], as the candidates were sorted.
        let pairs: Vec<(&str, Decimal)> = self
            .candidates
            .iter()
            .map(|c| (c.id.as_str(), c.weight))
            .collect();
        Ok(DrawRow {
            id: self.id,
            task_ref: self.task_ref.clone(),
            field: self.field.clone(),
            count: self.count,
            evaluated_party: self.evaluated_party.clone(),
            kind: self.kind.clone(),
            on_date: self.on_date,
            seed: self.seed.to_string(),
            candidates: serde_json::to_string(&pairs)
                .map_err(|e| StoreError::Other(format!("draw candidates: {e}")))?,
            fingerprint: self.fingerprint.clone(),
            rules: self.rules.clone(),
            version: self.version,
            created_by: self.created_by.clone(),
            created_at: self.created_at,
            subject: self.subject.clone(),
            weighted: self.weighted,
        })
    }

    fn from_row(row: DrawRow) -> Result<Draw, StoreError> {
        let seed = row.seed.parse().map_err(|_| {
            StoreError::Other(format!("stored draw seed `{}` is not valid", row.seed))
        })?;
        let pairs: Vec<(String, Decimal)> = serde_json::from_str(&row.candidates)
            .map_err(|e| StoreError::Other(format!("stored draw {} candidates: {e}", row.id)))?;
        Ok(Draw {
            id: row.id,
            task_ref: row.task_ref,
            field: row.field,
            count: row.count,
            evaluated_party: row.evaluated_party,
            kind: row.kind,
            on_date: row.on_date,
            seed,
            candidates: pairs
                .into_iter()
                .map(|(id, weight)| Candidate { id, weight })
                .collect(),
            fingerprint: row.fingerprint,
            rules: row.rules,
            version: row.version,
            created_by: row.created_by,
            created_at: row.created_at,
            subject: row.subject,
            weighted: row.weighted,
            shortfalls: Vec::new(),
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = d)]
struct DrawRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub task_ref: String,
    pub field: String,
    pub count: i32,
    pub evaluated_party: String,
    pub kind: String,
    pub on_date: NaiveDate,
    pub seed: String,
    pub candidates: String,
    pub fingerprint: String,
    pub rules: String,
    pub version: i64,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    /// `experts` or `agencies`.
    pub subject: String,
    /// Picks weighted by the candidates' weights (agency draws by rating).
    pub weighted: bool,
}

pub const EXPERTS: &str = "experts";
pub const AGENCIES: &str = "agencies";

/// One drawn expert (`key` = its id) or agency (`key` = its credit code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRow {
    pub draw_id: i64,
    pub key: String,
    pub round: i32,
    /// Its place in its round's draw order (0 first); `None` for members recorded before the
    /// order was kept.
    pub position: Option<i32>,
    pub answer: String,
    pub reason: String,
    pub answered_at: Option<NaiveDateTime>,
}

type MemberTuple<K> = (
    i64,
    K,
    i32,
    Option<i32>,
    String,
    String,
    Option<NaiveDateTime>,
);

fn member<K: ToString>(t: MemberTuple<K>) -> MemberRow {
    MemberRow {
        draw_id: t.0,
        key: t.1.to_string(),
        round: t.2,
        position: t.3,
        answer: t.4,
        reason: t.5,
        answered_at: t.6,
    }
}

fn expert_key(key: &str) -> Result<i64, StoreError> {
    key.parse()
        .map_err(|_| StoreError::Other(format!("expert id `{key}` is not valid")))
}

pub fn insert(conn: &mut AnyConnection, draw: &Draw) -> Result<i64, StoreError> {
    let row = draw.to_row()?;
    Ok(insert_returning_id!(conn, d::table, &row, d::id))
}

/// Writes drawn members in one statement.
pub fn insert_members(
    conn: &mut AnyConnection,
    subject: &str,
    rows: &[MemberRow],
) -> Result<(), StoreError> {
    // Multi-row INSERT goes through the concrete connection (MultiConnection cannot say how
    // DEFAULT is written); no column here uses DEFAULT.
    macro_rules! insert_all {
        ($c:expr) => {
            if subject == AGENCIES {
                let values: Vec<_> = rows
                    .iter()
                    .map(|row| {
                        (
                            da::draw_id.eq(row.draw_id),
                            da::credit_code.eq(&row.key),
                            da::round.eq(row.round),
                            da::pick_order.eq(row.position),
                            da::answer.eq(&row.answer),
                            da::reason.eq(&row.reason),
                            da::answered_at.eq(row.answered_at),
                        )
                    })
                    .collect();
                diesel::insert_into(da::table).values(values).execute($c)?;
            } else {
                let values = rows
                    .iter()
                    .map(|row| {
                        Ok((
                            m::draw_id.eq(row.draw_id),
                            m::expert_id.eq(expert_key(&row.key)?),
                            m::round.eq(row.round),
                            m::pick_order.eq(row.position),
                            m::answer.eq(&row.answer),
                            m::reason.eq(&row.reason),
                            m::answered_at.eq(row.answered_at),
                        ))
                    })
                    .collect::<Result<Vec<_>, StoreError>>()?;
                diesel::insert_into(m::table).values(values).execute($c)?;
            }
        };
    }
    if rows.is_empty() {
        return Ok(());
    }
    match conn {
        AnyConnection::Postgresql(c) => insert_all!(c),
        AnyConnection::Sqlite(c) => insert_all!(c),
    }
    Ok(())
}

/// A draw and its members, each round's in draw order (members recorded before the order was
/// kept: by key).
pub fn get(
    conn: &mut AnyConnection,
    id: i64,
) -> Result<Option<(Draw, Vec<MemberRow>)>, StoreError> {
    let Some(row) = d::table
        .filter(d::id.eq(id))
        .select(DrawRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let members = if row.subject == AGENCIES {
        da::table
            .filter(da::draw_id.eq(id))
            .order((da::round, da::pick_order, da::credit_code))
            .select((
                da::draw_id,
                da::credit_code,
                da::round,
                da::pick_order,
                da::answer,
                da::reason,
                da::answered_at,
            ))
            .load::<MemberTuple<String>>(conn)?
            .into_iter()
            .map(member)
            .collect()
    } else {
        m::table
            .filter(m::draw_id.eq(id))
            .order((m::round, m::pick_order, m::expert_id))
            .select((
                m::draw_id,
                m::expert_id,
                m::round,
                m::pick_order,
                m::answer,
                m::reason,
                m::answered_at,
            ))
            .load::<MemberTuple<i64>>(conn)?
            .into_iter()
            .map(member)
            .collect()
    };
    let mut draw = Draw::from_row(row)?;
    draw.shortfalls = ds::table
        .filter(ds::draw_id.eq(id))
        .order(ds::round)
        .select((ds::round, ds::declined, ds::message, ds::recorded_at))
        .load::<(i32, String, String, NaiveDateTime)>(conn)?
        .into_iter()
        .map(|(round, declined, message, recorded_at)| Shortfall {
            round,
            declined,
            message,
            recorded_at,
        })
        .collect();
    Ok(Some((draw, members)))
}

/// Records that replacement round `shortfall.round` of draw `draw_id` could not be drawn.
pub fn insert_shortfall(
    conn: &mut AnyConnection,
    draw_id: i64,
    shortfall: &Shortfall,
) -> Result<(), StoreError> {
    diesel::insert_into(ds::table)
        .values((
            ds::draw_id.eq(draw_id),
            ds::round.eq(shortfall.round),
            ds::declined.eq(&shortfall.declined),
            ds::message.eq(&shortfall.message),
            ds::recorded_at.eq(shortfall.recorded_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records an answer if the draw is still at `expected` version and the member still pending.
#[allow(clippy::too_many_arguments)]
pub fn answer(
    conn: &mut AnyConnection,
    draw_id: i64,
    expected: i64,
    subject: &str,
    key: &str,
    answer: &str,
    reason: &str,
    at: NaiveDateTime,
) -> Result<bool, StoreError> {
    let bumped = diesel::update(
        d::table
            .filter(d::id.eq(draw_id))
            .filter(d::version.eq(expected)),
    )
    .set(d::version.eq(expected + 1))
    .execute(conn)?;
    if bumped != 1 {
        return Ok(false);
    }
    let n = if subject == AGENCIES {
        diesel::update(
            da::table
                .filter(da::draw_id.eq(draw_id))
                .filter(da::credit_code.eq(key))
                .filter(da::answer.eq("pending")),
        )
        .set((
            da::answer.eq(answer),
            da::reason.eq(reason),
            da::answered_at.eq(Some(at)),
        ))
        .execute(conn)?
    } else {
        diesel::update(
            m::table
                .filter(m::draw_id.eq(draw_id))
                .filter(m::expert_id.eq(expert_key(key)?))
                .filter(m::answer.eq("pending")),
        )
        .set((
            m::answer.eq(answer),
            m::reason.eq(reason),
            m::answered_at.eq(Some(at)),
        ))
        .execute(conn)?
    };
    Ok(n == 1)
}

/// Experts already drawn for a task (any draw, any answer).
pub fn drawn_for_task(conn: &mut AnyConnection, task_ref: &str) -> Result<Vec<i64>, StoreError> {
    Ok(m::table
        .inner_join(d::table.on(d::id.eq(m::draw_id)))
        .filter(d::task_ref.eq(task_ref))
        .select(m::expert_id)
        .load(conn)?)
}

/// Per expert: engagements ending in `year` plus accepted draws dated in `year` (workload).
pub fn workload(conn: &mut AnyConnection, year: i32) -> Result<Vec<i64>, StoreError> {
    let from = NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(NaiveDate::MIN);
    let to = NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or(NaiveDate::MAX);
    let mut ids: Vec<i64> = ee::table
        .filter(ee::ended_on.between(from, to))
        .select(ee::expert_id)
        .load(conn)?;
    ids.extend(
        m::table
            .inner_join(d::table.on(d::id.eq(m::draw_id)))
            .filter(d::on_date.between(from, to))
            .filter(m::answer.eq("accepted"))
            .select(m::expert_id)
            .load::<i64>(conn)?,
    );
    Ok(ids)
}

/// Agencies already drawn for a task (any draw, any answer).
pub fn agencies_drawn_for_task(
    conn: &mut AnyConnection,
    task_ref: &str,
) -> Result<Vec<String>, StoreError> {
    Ok(da::table
        .inner_join(d::table.on(d::id.eq(da::draw_id)))
        .filter(d::task_ref.eq(task_ref))
        .select(da::credit_code)
        .load(conn)?)
}
