//! Spot checks (抽查复核): the selection as recorded (method, seed, candidates and their
//! fingerprint, weights, strata, reviewer, the commissioned agency), one review per sampled
//! sheet, and the problems finished reviews found (kept with the unit's code and the year, so a
//! later year's risk score counts them). Spot checks and reviews are guarded by revision.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use pbm_db::{AnyConnection, Money, StoreError};

use super::schema::{
    evaluation_campaigns as ca, evaluation_problems as pr, evaluation_reviews as rv,
    evaluation_sheets as sh, evaluation_spot_checks as sc,
};

/// Rows written per INSERT (22 columns × 500 stays under both backends' parameter limits).
const BATCH: usize = 500;

/// A spot check. `method`: `random`, `risk`, `stratified`; `stratum`: `department`,
/// `fund_source`, `grade` or empty; `reviewer`: `finance`, `joint`, `agency`; `seed`: the u64
/// seed's bits; `candidate_list`: JSON of `domain::sampling::SampleCandidate`; `weights`: JSON of
/// `domain::risk::RiskWeights`.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = sc)]
pub struct SpotCheckRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub campaign_id: i64,
    pub fiscal_year: i32,
    pub name: String,
    pub method: String,
    pub size: i32,
    pub seed: i64,
    pub fingerprint: String,
    pub candidates: i64,
    pub candidate_list: String,
    pub weights: String,
    pub stratum: String,
    pub risk_percent: i32,
    pub reviewer: String,
    pub agency_credit_code: String,
    pub engagement_id: i64,
    pub draw_id: i64,
    pub revision: i64,
    pub finished: i32,
    pub selected_by: String,
    pub selected_at: NaiveDateTime,
}

/// One sampled sheet's review. `status`: `pending`, `draft`, `finished`; `factors`: JSON of the
/// risk factors; `entries`: JSON of the reviewer's entries (by seq); `corrected`: the engine's
/// score of them (as `evaluation_sheets.score`).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = rv, treat_none_as_null = true)]
pub struct ReviewRow {
    pub spot_check_id: i64,
    pub sheet_id: i64,
    pub position: i32,
    pub picked_by: String,
    pub risk: Money,
    pub factors: String,
    pub self_score: Money,
    pub self_grade: String,
    pub status: String,
    pub entries: String,
    pub corrected: String,
    pub corrected_score: Option<Money>,
    pub corrected_grade: String,
    pub difference: Option<Money>,
    pub flagged: bool,
    pub problems: i32,
    pub opinion: String,
    pub revision: i64,
    pub changed_by: String,
    pub changed_at: NaiveDateTime,
    pub finished_by: Option<String>,
    pub finished_at: Option<NaiveDateTime>,
}

/// A problem a review found. `category`: `score_inflated`, `evidence_missing`,
/// `data_inconsistent`, `goal_not_met`, `analysis_insufficient`, `funds_misused`, `other`.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = pr)]
pub struct ProblemRow {
    pub spot_check_id: i64,
    pub sheet_id: i64,
    pub seq: i32,
    pub fiscal_year: i32,
    pub agency_code: String,
    pub pro_code: String,
    pub category: String,
    pub indicator_seq: i32,
    pub description: String,
    pub evidence: String,
}

/// What the risk score and the sample need of a candidate sheet.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct CandidateRow {
    pub id: i64,
    pub subject_key: String,
    pub agency_code: String,
    pub department_code: String,
    pub name: String,
    pub fund_source: String,
    pub budget: Money,
    pub total: Money,
    pub grade: String,
    pub execution_rate: Money,
    pub red_warnings: i32,
}

/// What a spot check needs of its campaign: fiscal year, pinned rules version, status.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct CampaignBrief {
    pub fiscal_year: i32,
    pub rules_version: i64,
    pub status: String,
}

pub fn campaign_brief(
    conn: &mut AnyConnection,
    campaign_id: i64,
) -> Result<Option<CampaignBrief>, StoreError> {
    Ok(ca::table
        .find(campaign_id)
        .select((ca::fiscal_year, ca::rules_version, ca::status))
        .first(conn)
        .optional()?)
}

/// The candidates of a spot check: the campaign's sheets submitted, reviewed or received, in
/// subject-key order. One query.
pub fn candidates(
    conn: &mut AnyConnection,
    campaign_id: i64,
) -> Result<Vec<CandidateRow>, StoreError> {
    Ok(sh::table
        .filter(sh::campaign_id.eq(campaign_id))
        .filter(sh::status.eq_any(["submitted", "reviewed", "received"]))
        .order(sh::subject_key)
        .select((
            sh::id,
            sh::subject_key,
            sh::agency_code,
            sh::department_code,
            sh::name,
            sh::fund_source,
            sh::budget,
            sh::total,
            sh::grade,
            sh::execution_rate,
            sh::red_warnings,
        ))
        .load(conn)?)
}

/// A problem's review (problems are saved with drafts; only a finished review's count).
#[diesel::dsl::auto_type]
fn finished_review() -> _ {
    rv::table.on(rv::spot_check_id
        .eq(pr::spot_check_id)
        .and(rv::sheet_id.eq(pr::sheet_id)))
}

/// Problems found by finished reviews of fiscal years before `fiscal_year`, per unit
/// (`agency_code`). One grouped query.
pub fn past_problems(
    conn: &mut AnyConnection,
    fiscal_year: i32,
) -> Result<HashMap<String, i64>, StoreError> {
    let rows: Vec<(String, i64)> = pr::table
        .inner_join(finished_review())
        .filter(rv::status.eq("finished"))
        .filter(pr::fiscal_year.lt(fiscal_year))
        .group_by(pr::agency_code)
        .select((pr::agency_code, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

/// Records a spot check and its reviews; returns its id.
pub fn insert_spot_check(
    conn: &mut AnyConnection,
    row: &SpotCheckRow,
    reviews: &mut [ReviewRow],
) -> Result<i64, StoreError> {
    let id = pbm_db::insert_returning_id!(conn, sc::table, row, sc::id);
    for r in reviews.iter_mut() {
        r.spot_check_id = id;
    }
    for chunk in reviews.chunks(BATCH) {
        match &mut *conn {
            AnyConnection::Postgresql(c) => {
                diesel::insert_into(rv::table).values(chunk).execute(c)?;
            }
            AnyConnection::Sqlite(c) => {
                diesel::insert_into(rv::table).values(chunk).execute(c)?;
            }
        }
    }
    Ok(id)
}

pub fn spot_check(conn: &mut AnyConnection, id: i64) -> Result<Option<SpotCheckRow>, StoreError> {
    Ok(sc::table
        .find(id)
        .select(SpotCheckRow::as_select())
        .first(conn)
        .optional()?)
}

/// A page of a campaign's spot checks (newest first), only those commissioned to `agency` when
/// given; and how many match.
pub fn list_spot_checks(
    conn: &mut AnyConnection,
    campaign_id: i64,
    agency: Option<&str>,
    offset: i64,
    limit: i64,
) -> Result<(Vec<SpotCheckRow>, i64), StoreError> {
    let query = || {
        let mut q = sc::table
            .filter(sc::campaign_id.eq(campaign_id))
            .into_boxed::<pbm_db::MultiBackend>();
        if let Some(a) = agency {
            q = q.filter(sc::reviewer.eq("agency"));
            q = q.filter(sc::agency_credit_code.eq(a.to_owned()));
        }
        q
    };
    let total: i64 = query().count().get_result(conn)?;
    let rows = query()
        .order(sc::id.desc())
        .offset(offset)
        .limit(limit)
        .select(SpotCheckRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}

/// Writes a spot check's commission (agency, draw, engagement) and its finished count if its
/// revision is still `expected` (the row's revision is the new one).
pub fn update_spot_check(
    conn: &mut AnyConnection,
    row: &SpotCheckRow,
    expected: i64,
) -> Result<bool, StoreError> {
    Ok(diesel::update(
        sc::table
            .filter(sc::id.eq(row.id))
            .filter(sc::revision.eq(expected)),
    )
    .set((
        sc::agency_credit_code.eq(&row.agency_credit_code),
        sc::engagement_id.eq(row.engagement_id),
        sc::draw_id.eq(row.draw_id),
        sc::finished.eq(row.finished),
        sc::revision.eq(row.revision),
    ))
    .execute(conn)?
        == 1)
}

/// A spot check's reviews in pick order.
pub fn reviews(conn: &mut AnyConnection, spot_check_id: i64) -> Result<Vec<ReviewRow>, StoreError> {
    Ok(rv::table
        .filter(rv::spot_check_id.eq(spot_check_id))
        .order(rv::position)
        .select(ReviewRow::as_select())
        .load(conn)?)
}

pub fn review(
    conn: &mut AnyConnection,
    spot_check_id: i64,
    sheet_id: i64,
) -> Result<Option<ReviewRow>, StoreError> {
    Ok(rv::table
        .find((spot_check_id, sheet_id))
        .select(ReviewRow::as_select())
        .first(conn)
        .optional()?)
}

/// Writes a review's new state if its revision is still `expected`.
pub fn update_review(
    conn: &mut AnyConnection,
    row: &ReviewRow,
    expected: i64,
) -> Result<bool, StoreError> {
    Ok(diesel::update(
        rv::table
            .filter(rv::spot_check_id.eq(row.spot_check_id))
            .filter(rv::sheet_id.eq(row.sheet_id))
            .filter(rv::revision.eq(expected)),
    )
    .set(row)
    .execute(conn)?
        == 1)
}

/// The reviews of one sheet with their spot checks (oldest first); finished ones only when
/// `finished_only`.
pub fn reviews_of_sheet(
    conn: &mut AnyConnection,
    sheet_id: i64,
    finished_only: bool,
) -> Result<Vec<(ReviewRow, SpotCheckRow)>, StoreError> {
    let mut q = rv::table
        .inner_join(sc::table)
        .filter(rv::sheet_id.eq(sheet_id))
        .into_boxed::<pbm_db::MultiBackend>();
    if finished_only {
        q = q.filter(rv::status.eq("finished"));
    }
    Ok(q.order(rv::spot_check_id)
        .select((ReviewRow::as_select(), SpotCheckRow::as_select()))
        .load(conn)?)
}

/// The problems of one review, in order.
pub fn problems(
    conn: &mut AnyConnection,
    spot_check_id: i64,
    sheet_id: i64,
) -> Result<Vec<ProblemRow>, StoreError> {
    Ok(pr::table
        .filter(pr::spot_check_id.eq(spot_check_id))
        .filter(pr::sheet_id.eq(sheet_id))
        .order(pr::seq)
        .select(ProblemRow::as_select())
        .load(conn)?)
}

/// Replaces a review's problems.
pub fn replace_problems(
    conn: &mut AnyConnection,
    spot_check_id: i64,
    sheet_id: i64,
    rows: &[ProblemRow],
) -> Result<(), StoreError> {
    diesel::delete(
        pr::table
            .filter(pr::spot_check_id.eq(spot_check_id))
            .filter(pr::sheet_id.eq(sheet_id)),
    )
    .execute(conn)?;
    for chunk in rows.chunks(BATCH) {
        match &mut *conn {
            AnyConnection::Postgresql(c) => {
                diesel::insert_into(pr::table).values(chunk).execute(c)?;
            }
            AnyConnection::Sqlite(c) => {
                diesel::insert_into(pr::table).values(chunk).execute(c)?;
            }
        }
    }
    Ok(())
}

/// Every review of a campaign's spot checks with the sheet's unit code (statistics).
pub fn campaign_reviews(
    conn: &mut AnyConnection,
    campaign_id: i64,
) -> Result<Vec<(ReviewRow, String)>, StoreError> {
    Ok(rv::table
        .inner_join(sc::table)
        .inner_join(sh::table)
        .filter(sc::campaign_id.eq(campaign_id))
        .order((rv::spot_check_id, rv::position))
        .select((ReviewRow::as_select(), sh::agency_code))
        .load(conn)?)
}

/// How many spot checks a campaign has.
pub fn spot_check_count(conn: &mut AnyConnection, campaign_id: i64) -> Result<i64, StoreError> {
    Ok(sc::table
        .filter(sc::campaign_id.eq(campaign_id))
        .count()
        .get_result(conn)?)
}

/// Problems of a campaign's finished reviews per category.
pub fn problems_by_category(
    conn: &mut AnyConnection,
    campaign_id: i64,
) -> Result<Vec<(String, i64)>, StoreError> {
    Ok(pr::table
        .inner_join(finished_review())
        .inner_join(sc::table.on(sc::id.eq(pr::spot_check_id)))
        .filter(rv::status.eq("finished"))
        .filter(sc::campaign_id.eq(campaign_id))
        .group_by(pr::category)
        .order(pr::category)
        .select((pr::category, diesel::dsl::count_star()))
        .load(conn)?)
}

/// One more finished review of a spot check (its revision moves on).
pub fn count_finished(conn: &mut AnyConnection, id: i64) -> Result<(), StoreError> {
    diesel::update(sc::table.find(id))
        .set((
            sc::finished.eq(sc::finished + 1),
            sc::revision.eq(sc::revision + 1),
        ))
        .execute(conn)?;
    Ok(())
}
