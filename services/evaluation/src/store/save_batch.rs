//! A batch of SaveSelfEvaluation on PostgreSQL ([`crate::ops::saves`], group commit as the goal
//! service's workflow steps, docs/BENCHMARKS.md "The service at a city's year-end peak"): the
//! sheets of the batch read in their context with one statement, and every decided save
//! written with one more — a data-modifying `WITH` over `unnest()`ed arrays that moves each
//! sheet only if its revision is still the one read, and writes the changed indicators, the
//! history row, the audit line and the idempotency record of each sheet that moved.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use pbm_db::platform::statement;
use pbm_db::{Money, StoreError};

use super::entries::{CampaignFacts, SheetEventRow};
use super::schema::{
    evaluation_campaigns as ca, evaluation_sheets as sh, evaluation_unit_deadlines as ud,
};
use super::{SheetIndicatorRow, SheetRow};

/// A sheet with its campaign and its unit's reopened deadline ([`super::sheet_in_context`]).
pub type SheetInContext = (SheetRow, CampaignFacts, Option<NaiveDate>);

/// [`super::sheet_in_context`] for several sheets in one statement, by id.
pub fn sheets_in_context(
    conn: &mut diesel::PgConnection,
    ids: &[i64],
) -> Result<HashMap<i64, SheetInContext>, StoreError> {
    let rows: Vec<SheetInContext> = sh::table
        .inner_join(ca::table)
        .left_join(
            ud::table.on(ud::campaign_id
                .eq(sh::campaign_id)
                .and(ud::agency_code.eq(sh::agency_code))),
        )
        .filter(sh::id.eq_any(ids))
        .select((
            SheetRow::as_select(),
            CampaignFacts::as_select(),
            ud::deadline.nullable(),
        ))
        .load(conn)?;
    Ok(rows.into_iter().map(|r| (r.0.id, r)).collect())
}

/// One decided save to write: the sheet's new row guarded by the revision read, its changed
/// indicators, its history row and the mutation's records.
pub struct SaveRows<'a> {
    pub row: &'a SheetRow,
    pub expected: i64,
    pub indicators: &'a [SheetIndicatorRow],
    pub event: &'a SheetEventRow,
    pub records: &'a pbm_server::Records,
}

/// Writes the saves (distinct sheets) in **one** statement; returns the ids of the sheets that
/// moved (the others changed since they were read: nothing of theirs is written). Any failure
/// (e.g. a request id already recorded) fails the whole statement and writes nothing.
pub fn write_saves(
    conn: &mut diesel::PgConnection,
    saves: &[SaveRows<'_>],
) -> Result<Vec<i64>, StoreError> {
    Ok(SaveColumns::of(saves).load::<i64>(conn)?)
}

/// The columns of a batch of saves, bound as arrays by [`write_saves`].
struct SaveColumns<'a> {
    id: Vec<i64>,
    expected: Vec<i64>,
    revision: Vec<i64>,
    /// total, execution_rate.
    amounts: [Vec<Money>; 2],
    late: Vec<bool>,
    /// execution_reason, summary, status, grade, score, return_reason, changed_by.
    sheet_texts: [Vec<&'a str>; 7],
    submitted_by: Vec<Option<&'a str>>,
    submitted_at: Vec<Option<NaiveDateTime>>,
    changed_at: Vec<NaiveDateTime>,
    e_revision: Vec<i64>,
    e_total: Vec<Money>,
    /// action, from_status, to_status, reason, grade, at_by.
    event_texts: [Vec<&'a str>; 6],
    e_at: Vec<NaiveDateTime>,
    audit_at: Vec<NaiveDateTime>,
    /// [`pbm_db::platform::AuditEntry::texts`], column by column.
    audit_texts: [Vec<&'a str>; 10],
    audit_mac: Vec<&'a str>,
    record_at: Vec<NaiveDateTime>,
    /// [`pbm_db::platform::IdempotencyRecord::texts`], column by column.
    record_texts: [Vec<&'a str>; 5],
    response: Vec<&'a [u8]>,
    // The indicators, one element per indicator of every save.
    i_sheet: Vec<i64>,
    i_seq: Vec<i32>,
    /// achieved_value, tier, not_applicable_reason, deviation_causes, improvement_measures.
    i_texts: [Vec<&'a str>; 5],
    i_score: Vec<Option<Money>>,
    /// weight, points.
    i_amounts: [Vec<Money>; 2],
    /// not_applicable, applicable, deviates.
    i_flags: [Vec<bool>; 3],
}

impl<'a> SaveColumns<'a> {
    fn of(saves: &[SaveRows<'a>]) -> Self {
        let column = |f: &dyn Fn(&SaveRows<'a>) -> &'a str| -> Vec<&'a str> {
            saves.iter().map(f).collect()
        };
        let indicators: Vec<&'a SheetIndicatorRow> =
            saves.iter().flat_map(|s| s.indicators.iter()).collect();
        let i_column = |f: &dyn Fn(&'a SheetIndicatorRow) -> &'a str| -> Vec<&'a str> {
            indicators.iter().map(|i| f(i)).collect()
        };
        let i_flag = |f: &dyn Fn(&SheetIndicatorRow) -> bool| -> Vec<bool> {
            indicators.iter().map(|i| f(i)).collect()
        };
        Self {
            id: saves.iter().map(|s| s.row.id).collect(),
            expected: saves.iter().map(|s| s.expected).collect(),
            revision: saves.iter().map(|s| s.row.revision).collect(),
            amounts: [
                saves.iter().map(|s| s.row.total).collect(),
                saves.iter().map(|s| s.row.execution_rate).collect(),
            ],
            late: saves.iter().map(|s| s.row.late).collect(),
            sheet_texts: [
                column(&|s| &s.row.execution_reason),
                column(&|s| &s.row.summary),
                column(&|s| &s.row.status),
                column(&|s| &s.row.grade),
                column(&|s| &s.row.score),
                column(&|s| &s.row.return_reason),
                column(&|s| &s.row.changed_by),
            ],
            submitted_by: saves
                .iter()
                .map(|s| s.row.submitted_by.as_deref())
                .collect(),
            submitted_at: saves.iter().map(|s| s.row.submitted_at).collect(),
            changed_at: saves.iter().map(|s| s.row.changed_at).collect(),
            e_revision: saves.iter().map(|s| s.event.revision).collect(),
            e_total: saves.iter().map(|s| s.event.total).collect(),
            event_texts: [
                column(&|s| &s.event.action),
                column(&|s| &s.event.from_status),
                column(&|s| &s.event.to_status),
                column(&|s| &s.event.reason),
                column(&|s| &s.event.grade),
                column(&|s| &s.event.at_by),
            ],
            e_at: saves.iter().map(|s| s.event.at).collect(),
            audit_at: saves.iter().map(|s| s.records.audit.occurred_at).collect(),
            audit_texts: std::array::from_fn(|k| {
                saves.iter().map(|s| s.records.audit.texts()[k]).collect()
            }),
            audit_mac: saves.iter().map(|s| s.records.audit_mac.as_str()).collect(),
            record_at: saves
                .iter()
                .map(|s| s.records.idempotency.created_at)
                .collect(),
            record_texts: std::array::from_fn(|k| {
                saves
                    .iter()
                    .map(|s| s.records.idempotency.texts()[k])
                    .collect()
            }),
            response: saves
                .iter()
                .map(|s| s.records.idempotency.response.as_slice())
                .collect(),
            i_sheet: indicators.iter().map(|i| i.sheet_id).collect(),
            i_seq: indicators.iter().map(|i| i.seq).collect(),
            i_texts: [
                i_column(&|i| &i.achieved_value),
                i_column(&|i| &i.tier),
                i_column(&|i| &i.not_applicable_reason),
                i_column(&|i| &i.deviation_causes),
                i_column(&|i| &i.improvement_measures),
            ],
            i_score: indicators.iter().map(|i| i.qualitative_score).collect(),
            i_amounts: [
                indicators.iter().map(|i| i.weight).collect(),
                indicators.iter().map(|i| i.points).collect(),
            ],
            i_flags: [
                i_flag(&|i| i.not_applicable),
                i_flag(&|i| i.applicable),
                i_flag(&|i| i.deviates),
            ],
        }
    }
}

impl diesel::query_builder::QueryId for SaveColumns<'_> {
    type QueryId = SaveColumns<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl diesel::query_builder::Query for SaveColumns<'_> {
    type SqlType = diesel::sql_types::BigInt;
}

type Out<'x, 'b> = diesel::query_builder::AstPass<'x, 'b, diesel::pg::Pg>;

impl<'a> diesel::query_builder::QueryFragment<diesel::pg::Pg> for SaveColumns<'a> {
    fn walk_ast<'b>(&'b self, mut out: Out<'_, 'b>) -> QueryResult<()> {
        use diesel::sql_types::{Array, BigInt, Binary, Bool, Integer, Nullable, Text, Timestamp};
        use pbm_db::sql_types::Amount;
        let texts = |out: &mut Out<'_, 'b>, columns: &'b [Vec<&'a str>]| {
            columns
                .iter()
                .try_for_each(|c| then::<Array<Text>, _>(out, c))
        };
        out.push_sql("WITH input AS (SELECT * FROM unnest(");
        out.push_bind_param::<Array<BigInt>, _>(&self.id)?;
        then::<Array<BigInt>, _>(&mut out, &self.expected)?;
        then::<Array<BigInt>, _>(&mut out, &self.revision)?;
        for c in &self.amounts {
            then::<Array<Amount>, _>(&mut out, c)?;
        }
        then::<Array<Bool>, _>(&mut out, &self.late)?;
        texts(&mut out, &self.sheet_texts)?;
        then::<Array<Nullable<Text>>, _>(&mut out, &self.submitted_by)?;
        then::<Array<Nullable<Timestamp>>, _>(&mut out, &self.submitted_at)?;
        then::<Array<Timestamp>, _>(&mut out, &self.changed_at)?;
        then::<Array<BigInt>, _>(&mut out, &self.e_revision)?;
        then::<Array<Amount>, _>(&mut out, &self.e_total)?;
        texts(&mut out, &self.event_texts)?;
        then::<Array<Timestamp>, _>(&mut out, &self.e_at)?;
        then::<Array<Timestamp>, _>(&mut out, &self.audit_at)?;
        texts(&mut out, &self.audit_texts)?;
        then::<Array<Text>, _>(&mut out, &self.audit_mac)?;
        then::<Array<Timestamp>, _>(&mut out, &self.record_at)?;
        texts(&mut out, &self.record_texts)?;
        then::<Array<Binary>, _>(&mut out, &self.response)?;
        out.push_sql(
            ") AS t(id, expected, revision, total, execution_rate, late, execution_reason, \
             summary, status, grade, score, return_reason, changed_by, submitted_by, \
             submitted_at, changed_at, e_revision, e_total, e_action, e_from, e_to, e_reason, \
             e_grade, e_by, e_at, \
             a_at, a_service, a_method, a_request_id, a_subject, a_role, a_div, a_type, a_entity, \
             a_outcome, a_detail, a_mac, \
             r_at, r_service, r_request_id, r_subject, r_method, r_hash, r_response)), \
             entries AS (SELECT * FROM unnest(",
        );
        out.push_bind_param::<Array<BigInt>, _>(&self.i_sheet)?;
        then::<Array<Integer>, _>(&mut out, &self.i_seq)?;
        texts(&mut out, &self.i_texts)?;
        then::<Array<Nullable<Amount>>, _>(&mut out, &self.i_score)?;
        for c in &self.i_amounts {
            then::<Array<Amount>, _>(&mut out, c)?;
        }
        for c in &self.i_flags {
            then::<Array<Bool>, _>(&mut out, c)?;
        }
        out.push_sql(
            ") AS t(sheet_id, seq, achieved_value, tier, not_applicable_reason, \
             deviation_causes, improvement_measures, qualitative_score, weight, points, \
             not_applicable, applicable, deviates)), \
             moved AS (UPDATE evaluation_sheets s SET execution_reason = i.execution_reason, \
             summary = i.summary, status = i.status, revision = i.revision, total = i.total, \
             grade = i.grade, execution_rate = i.execution_rate, score = i.score, \
             return_reason = i.return_reason, late = i.late, submitted_by = i.submitted_by, \
             submitted_at = i.submitted_at, changed_by = i.changed_by, \
             changed_at = i.changed_at \
             FROM input i WHERE s.id = i.id AND s.revision = i.expected RETURNING s.id), \
             done AS (SELECT i.* FROM input i JOIN moved m ON m.id = i.id), \
             indicators AS (UPDATE evaluation_sheet_indicators x SET \
             achieved_value = e.achieved_value, tier = e.tier, \
             qualitative_score = e.qualitative_score, not_applicable = e.not_applicable, \
             not_applicable_reason = e.not_applicable_reason, \
             deviation_causes = e.deviation_causes, \
             improvement_measures = e.improvement_measures, weight = e.weight, \
             points = e.points, applicable = e.applicable, deviates = e.deviates \
             FROM entries e JOIN moved m ON m.id = e.sheet_id \
             WHERE x.sheet_id = e.sheet_id AND x.seq = e.seq), \
             history AS (INSERT INTO evaluation_sheet_events (sheet_id, revision, action, \
             from_status, to_status, reason, total, grade, at_by, at) \
             SELECT id, e_revision, e_action, e_from, e_to, e_reason, e_total, e_grade, e_by, \
             e_at FROM done), \
             audit AS (",
        );
        // The platform tables' column lists are pbm_db's (statement::*_INSERT); the selected
        // columns follow their order.
        out.push_sql(statement::AUDIT_INSERT);
        out.push_sql(
            " SELECT a_at, a_service, a_method, a_request_id, a_subject, a_role, a_div, a_type, \
             a_entity, a_outcome, a_detail, a_mac FROM done), records AS (",
        );
        out.push_sql(statement::IDEMPOTENCY_INSERT);
        out.push_sql(
            " SELECT r_at, r_service, r_request_id, r_subject, r_method, r_hash, r_response \
             FROM done) SELECT id FROM done",
        );
        Ok(())
    }
}

impl RunQueryDsl<diesel::PgConnection> for SaveColumns<'_> {}

/// Appends `, $n` bound to `value`.
fn then<'b, ST, U>(out: &mut Out<'_, 'b>, value: &'b U) -> QueryResult<()>
where
    diesel::pg::Pg: diesel::sql_types::HasSqlType<ST>,
    U: diesel::serialize::ToSql<ST, diesel::pg::Pg> + ?Sized,
{
    out.push_sql(", ");
    out.push_bind_param::<ST, U>(value)
}
