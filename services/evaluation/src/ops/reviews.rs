//! 抽查复核, the reviews (docs/EVALUATION.md "Reviews"): the reviewer re-enters what they find
//! per indicator (their entries replace the unit's by seq, on a copy of the sheet's indicators)
//! and the same engine scores them with the campaign's pinned rules
//! (`crate::ops::scoring::score_sheet`); problems are recorded with the unit's code and the
//! year (a later year's risk score counts them); finishing makes the corrected score and grade
//! final, flags the difference ([`crate::domain::review`]) and shows the findings to the unit
//! and its department. Then the spot-check statistics.

use std::collections::BTreeSet;

use pbm_auth::{Caller, Role};
use pbm_db::{AnyConnection, Money};
use pbm_proto::evaluation::v1 as ev;
use pbm_scoring::Tier;
use pbm_server::{ApiError, Effect, FieldViolation, MutationContext, run_mutation};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::authorise;
use super::scoring::{rules_of, score_sheet};
use super::sheets::{put_entries, readable, sheet_not_found};
use super::spot_checks::{campaign_of, spot_check_in_view, stale};
use crate::convert::limits;
use crate::convert::sheets::{entries_from, entry_to};
use crate::convert::spot_checks::{category_to, category_word, review_to};
use crate::domain::access::{Role as Viewing, Viewer};
use crate::domain::review::{self, ReviewStatus, Reviewer};
use crate::domain::table::EntryInput;
use crate::state::AppState;
use crate::store::spot_checks::{self as store, ProblemRow, ReviewRow, SpotCheckRow};
use crate::store::{self as sheets, SheetIndicatorRow, SheetRow};

/// At most this many entries and problems in one save.
pub const MAX_ENTRIES: usize = 200;
pub const MAX_PROBLEMS: usize = 200;

const READERS: &[Role] = &[Role::FinanceAdmin, Role::Auditor, Role::Agency];
const REVIEWERS: &[Role] = &[Role::FinanceAdmin, Role::Auditor, Role::Agency];

/// A reviewer's entry as stored (`evaluation_reviews.entries`, JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct StoredEntry {
    seq: i32,
    achieved_value: String,
    tier: Option<Tier>,
    qualitative_score: Option<Decimal>,
    not_applicable: bool,
    not_applicable_reason: String,
    deviation_causes: String,
    improvement_measures: String,
}

impl From<&EntryInput> for StoredEntry {
    fn from(e: &EntryInput) -> Self {
        StoredEntry {
            seq: e.seq,
            achieved_value: e.achieved_value.clone(),
            tier: e.tier,
            qualitative_score: e.qualitative_score,
            not_applicable: e.not_applicable,
            not_applicable_reason: e.not_applicable_reason.clone(),
            deviation_causes: e.deviation_causes.clone(),
            improvement_measures: e.improvement_measures.clone(),
        }
    }
}

impl From<StoredEntry> for EntryInput {
    fn from(e: StoredEntry) -> Self {
        EntryInput {
            seq: e.seq,
            achieved_value: e.achieved_value,
            tier: e.tier,
            qualitative_score: e.qualitative_score,
            not_applicable: e.not_applicable,
            not_applicable_reason: e.not_applicable_reason,
            deviation_causes: e.deviation_causes,
            improvement_measures: e.improvement_measures,
        }
    }
}

fn stored_entries(r: &ReviewRow) -> Result<Vec<EntryInput>, ApiError> {
    let stored: Vec<StoredEntry> = serde_json::from_str(&r.entries).map_err(ApiError::internal)?;
    Ok(stored.into_iter().map(EntryInput::from).collect())
}

fn review_not_found(spot_check_id: i64, sheet_id: i64) -> ApiError {
    ApiError::not_found(
        "REVIEW_NOT_FOUND",
        format!("抽查 {spot_check_id} 未抽中自评表 {sheet_id}"),
    )
}

/// The review of sheet `sheet_id` in spot check `spot_check_id` as `v` sees it (NOT_FOUND when
/// the spot check is not in view or did not sample the sheet).
fn review_in_view(
    conn: &mut AnyConnection,
    v: &Viewer,
    spot_check_id: i64,
    sheet_id: i64,
) -> Result<(SpotCheckRow, ReviewRow), ApiError> {
    let check = spot_check_in_view(conn, v, spot_check_id)?;
    let row = store::review(conn, spot_check_id, sheet_id)?
        .ok_or_else(|| review_not_found(spot_check_id, sheet_id))?;
    Ok((check, row))
}

/// The sheet of a review and its indicators with the reviewer's entries in place.
fn reviewed_sheet(
    conn: &mut AnyConnection,
    r: &ReviewRow,
    entries: &[EntryInput],
) -> Result<(SheetRow, Vec<SheetIndicatorRow>), ApiError> {
    let sheet = sheets::sheet(conn, r.sheet_id)?.ok_or_else(|| sheet_not_found(r.sheet_id))?;
    let mut indicators = sheets::sheet_indicators(conn, r.sheet_id)?;
    put_entries(&mut indicators, entries).map_err(ApiError::validation)?;
    Ok((sheet, indicators))
}

/// A review as a message (entries: the sheet's, with the reviewer's in place).
fn shown(
    conn: &mut AnyConnection,
    check: &SpotCheckRow,
    r: &ReviewRow,
) -> Result<ev::Review, ApiError> {
    let (_, indicators) = reviewed_sheet(conn, r, &stored_entries(r)?)?;
    let problems = store::problems(conn, r.spot_check_id, r.sheet_id)?;
    Ok(review_to(
        r,
        &check.reviewer,
        indicators.iter().map(entry_to).collect(),
        &problems,
    ))
}

/// Re-scores the review through the engine with the campaign's pinned rules: the corrected
/// score (JSON), total, grade, and the comparison with the self-score.
fn rescore(
    conn: &mut AnyConnection,
    check: &SpotCheckRow,
    r: &mut ReviewRow,
    entries: &[EntryInput],
) -> Result<SheetRow, ApiError> {
    let campaign = campaign_of(conn, check.campaign_id)?;
    let rules = rules_of(conn, campaign.fiscal_year, campaign.rules_version)?;
    let (sheet, mut indicators) = reviewed_sheet(conn, r, entries)?;
    let scored = score_sheet(&rules, &sheet.budget, &sheet.executed, &mut indicators)?;
    let (difference, flagged) =
        review::compare(r.self_score.0, &r.self_grade, scored.total.0, &scored.grade);
    r.corrected = scored.json;
    r.corrected_score = Some(scored.total);
    r.corrected_grade = scored.grade;
    r.difference = Some(Money(difference));
    r.flagged = flagged;
    Ok(sheet)
}

/// The caller reviews this spot check: finance (FINANCE, JOINT), an auditor (JOINT), the
/// commissioned agency (AGENCY). Anyone else who can see it: PERMISSION_DENIED.
fn ensure_reviewer(v: &Viewer, check: &SpotCheckRow) -> Result<(), ApiError> {
    let reviewer = Reviewer::from_db(&check.reviewer)
        .ok_or_else(|| ApiError::internal(format!("unknown reviewer {}", check.reviewer)))?;
    if review::may_review(v, reviewer, &check.agency_credit_code) {
        return Ok(());
    }
    let why = match reviewer {
        Reviewer::Agency if check.agency_credit_code.is_empty() => "尚未委托第三方机构".to_owned(),
        _ => format!("复核方式为「{}」", reviewer.chinese()),
    };
    Err(ApiError::permission_denied(
        "REVIEWER_NOT_ALLOWED",
        format!("您不能复核抽查 {}：{why}", check.id),
    ))
}

fn ensure_open(r: &ReviewRow) -> Result<(), ApiError> {
    if r.status == ReviewStatus::Finished.as_db() {
        return Err(ApiError::failed_precondition(
            "REVIEW_FINISHED",
            format!("自评表 {} 的复核已完成，不能再修改", r.sheet_id),
        ));
    }
    Ok(())
}

/// A problem as asked: category word, indicator seq, description, evidence.
type ProblemInput = (String, i32, String, String);

/// The problems of a request, checked (every problem at once): a category, the seq of one of
/// the sheet's indicators or 0, a description.
fn problems_of(m: &ev::SaveReviewRequest) -> Result<Vec<ProblemInput>, Vec<FieldViolation>> {
    let mut bad = Vec::new();
    if m.problems.len() > MAX_PROBLEMS {
        bad.push(FieldViolation::new(
            "problems",
            "PROBLEMS_TOO_MANY",
            format!("问题最多 {MAX_PROBLEMS} 条"),
        ));
    }
    if m.entries.len() > MAX_ENTRIES {
        bad.push(FieldViolation::new(
            "entries",
            "ENTRIES_TOO_MANY",
            format!("复核指标最多 {MAX_ENTRIES} 条"),
        ));
    }
    let mut out = Vec::with_capacity(m.problems.len());
    for (i, p) in m.problems.iter().enumerate() {
        let category = category_word(p.category);
        if category.is_none() {
            bad.push(FieldViolation::new(
                format!("problems[{i}].category"),
                "PROBLEM_CATEGORY_INVALID",
                "请选择问题类别",
            ));
        }
        let description = p.description.trim();
        if description.is_empty() {
            bad.push(FieldViolation::new(
                format!("problems[{i}].description"),
                "PROBLEM_DESCRIPTION_REQUIRED",
                "请填写问题描述",
            ));
        }
        if p.indicator_seq < 0 {
            bad.push(FieldViolation::new(
                format!("problems[{i}].indicator_seq"),
                "INDICATOR_NOT_FOUND",
                format!("指标序号 {} 无效", p.indicator_seq),
            ));
        }
        out.push((
            category.unwrap_or_default().to_owned(),
            p.indicator_seq,
            description.to_owned(),
            p.evidence.trim().to_owned(),
        ));
    }
    if bad.is_empty() { Ok(out) } else { Err(bad) }
}

/// GetReview: finance and auditors; an agency only in spot checks commissioned to it.
pub async fn get(
    state: &AppState,
    caller: Caller,
    m: ev::GetReviewRequest,
) -> Result<ev::GetReviewResponse, ApiError> {
    let v = authorise(&caller, state, READERS, false)?;
    state
        .db
        .read(move |conn| -> Result<_, ApiError> {
            let (check, r) = review_in_view(conn, &v, m.spot_check_id, m.self_evaluation_id)?;
            Ok(ev::GetReviewResponse {
                review: Some(shown(conn, &check, &r)?),
            })
        })
        .await
}

/// SaveReview: the spot check's reviewer. The entries given are the reviewer's (the others keep
/// the unit's), re-scored by the engine; the problems replace the saved ones; the review is a
/// draft until finished.
pub async fn save(
    state: &AppState,
    ctx: MutationContext,
    m: ev::SaveReviewRequest,
) -> Result<ev::SaveReviewResponse, ApiError> {
    let v = authorise(&ctx.caller, state, REVIEWERS, true)?;
    limits::check(&m)?;
    let mut bad = Vec::new();
    let entries = entries_from(&m.entries)
        .map_err(|e| bad.extend(e))
        .unwrap_or_default();
    let problems = problems_of(&m)
        .map_err(|e| bad.extend(e))
        .unwrap_or_default();
    ApiError::check(bad)?;
    let (check_id, sheet_id, expected) =
        (m.spot_check_id, m.self_evaluation_id, m.expected_revision);
    let opinion = m.opinion.trim().to_owned();
    run_mutation(
        &state.db,
        ctx,
        ("review", format!("{check_id}/{sheet_id}")),
        move |conn, ctx| {
            let (check, mut r) = review_in_view(conn, &v, check_id, sheet_id)?;
            ensure_reviewer(&v, &check)?;
            ensure_open(&r)?;
            if r.revision != expected {
                return Err(stale("复核", expected, r.revision));
            }
            let sheet = rescore(conn, &check, &mut r, &entries)?;
            let seqs: BTreeSet<i32> = sheets::sheet_indicators(conn, sheet_id)?
                .iter()
                .map(|i| i.seq)
                .collect();
            let unknown: Vec<FieldViolation> = problems
                .iter()
                .enumerate()
                .filter(|(_, p)| p.1 != 0 && !seqs.contains(&p.1))
                .map(|(i, p)| {
                    FieldViolation::new(
                        format!("problems[{i}].indicator_seq"),
                        "INDICATOR_NOT_FOUND",
                        format!("自评表中没有序号为 {} 的指标", p.1),
                    )
                })
                .collect();
            ApiError::check(unknown)?;
            let rows: Vec<ProblemRow> = problems
                .into_iter()
                .enumerate()
                .map(
                    |(i, (category, indicator_seq, description, evidence))| ProblemRow {
                        spot_check_id: check_id,
                        sheet_id,
                        seq: i as i32 + 1,
                        fiscal_year: check.fiscal_year,
                        agency_code: sheet.agency_code.clone(),
                        pro_code: sheet.pro_code.clone(),
                        category,
                        indicator_seq,
                        description,
                        evidence,
                    },
                )
                .collect();
            store::replace_problems(conn, check_id, sheet_id, &rows)?;
            let stored: Vec<StoredEntry> = entries.iter().map(StoredEntry::from).collect();
            r.entries = serde_json::to_string(&stored).map_err(ApiError::internal)?;
            r.problems = rows.len() as i32;
            r.opinion = opinion;
            r.status = ReviewStatus::Draft.as_db().into();
            r.revision += 1;
            r.changed_by = ctx.caller.subject.clone();
            r.changed_at = pbm_db::now();
            if !store::update_review(conn, &r, expected)? {
                return Err(stale("复核", expected, expected + 1));
            }
            let detail = format!(
                "corrected {} ({}), {} problems",
                r.corrected_score.map(|m| m.0).unwrap_or_default(),
                r.corrected_grade,
                r.problems
            );
            Ok(Effect {
                response: ev::SaveReviewResponse {
                    review: Some(shown(conn, &check, &r)?),
                },
                entity_type: "review",
                entity_id: format!("{check_id}/{sheet_id}"),
                detail,
            })
        },
    )
    .await
}

/// FinishReview: the spot check's reviewer. The corrected score (re-scored now, from the saved
/// entries) and grade are final, the difference is flagged, the spot check counts one more
/// finished review, and the unit and its department see the findings.
pub async fn finish(
    state: &AppState,
    ctx: MutationContext,
    m: ev::FinishReviewRequest,
) -> Result<ev::FinishReviewResponse, ApiError> {
    let v = authorise(&ctx.caller, state, REVIEWERS, true)?;
    let (check_id, sheet_id, expected) =
        (m.spot_check_id, m.self_evaluation_id, m.expected_revision);
    run_mutation(
        &state.db,
        ctx,
        ("review", format!("{check_id}/{sheet_id}")),
        move |conn, ctx| {
            let (check, mut r) = review_in_view(conn, &v, check_id, sheet_id)?;
            ensure_reviewer(&v, &check)?;
            ensure_open(&r)?;
            if r.revision != expected {
                return Err(stale("复核", expected, r.revision));
            }
            let entries = stored_entries(&r)?;
            rescore(conn, &check, &mut r, &entries)?;
            let now = pbm_db::now();
            r.status = ReviewStatus::Finished.as_db().into();
            r.revision += 1;
            r.changed_by = ctx.caller.subject.clone();
            r.changed_at = now;
            r.finished_by = Some(ctx.caller.subject.clone());
            r.finished_at = Some(now);
            if !store::update_review(conn, &r, expected)? {
                return Err(stale("复核", expected, expected + 1));
            }
            store::count_finished(conn, check_id)?;
            let detail = format!(
                "self {} ({}) corrected {} ({}) difference {} flagged {}",
                r.self_score.0,
                r.self_grade,
                r.corrected_score.map(|m| m.0).unwrap_or_default(),
                r.corrected_grade,
                r.difference.map(|m| m.0).unwrap_or_default(),
                r.flagged
            );
            Ok(Effect {
                response: ev::FinishReviewResponse {
                    review: Some(shown(conn, &check, &r)?),
                },
                entity_type: "review",
                entity_id: format!("{check_id}/{sheet_id}"),
                detail,
            })
        },
    )
    .await
}

/// ListFindings: the reviews of one sheet. Finance and auditors see every review; an agency
/// those of spot checks commissioned to it; the unit and its department only finished ones. A
/// sheet the caller may not read: NOT_FOUND.
pub async fn findings(
    state: &AppState,
    caller: Caller,
    m: ev::ListFindingsRequest,
) -> Result<ev::ListFindingsResponse, ApiError> {
    let v = authorise(
        &caller,
        state,
        &[
            Role::FinanceAdmin,
            Role::Auditor,
            Role::Department,
            Role::BudgetUnit,
            Role::Agency,
        ],
        false,
    )?;
    let sheet_id = m.self_evaluation_id;
    state
        .db
        .read(move |conn| -> Result<_, ApiError> {
            let sheet = sheets::sheet(conn, sheet_id)?.ok_or_else(|| sheet_not_found(sheet_id))?;
            if !readable(conn, &v, &sheet)? {
                return Err(sheet_not_found(sheet_id));
            }
            let finished_only = matches!(v.role, Viewing::Department | Viewing::BudgetUnit);
            let mut reviews = Vec::new();
            for (r, check) in store::reviews_of_sheet(conn, sheet_id, finished_only)? {
                if v.role == Viewing::Agency && check.agency_credit_code != v.org_code {
                    continue;
                }
                reviews.push(shown(conn, &check, &r)?);
            }
            Ok(ev::ListFindingsResponse { reviews })
        })
        .await
}

/// GetSpotCheckStatistics: finance, auditors and the province. Sampled sheets, finished
/// reviews, problems by category (finished reviews), corrections, flags and the units whose
/// grade fell.
pub async fn statistics(
    state: &AppState,
    caller: Caller,
    m: ev::GetSpotCheckStatisticsRequest,
) -> Result<ev::GetSpotCheckStatisticsResponse, ApiError> {
    authorise(
        &caller,
        state,
        &[Role::FinanceAdmin, Role::Auditor, Role::Province],
        false,
    )?;
    let campaign_id = m.campaign_id;
    state
        .db
        .read(move |conn| -> Result<_, ApiError> {
            campaign_of(conn, campaign_id)?;
            let spot_checks = store::spot_check_count(conn, campaign_id)?;
            let reviews = store::campaign_reviews(conn, campaign_id)?;
            let by_category = store::problems_by_category(conn, campaign_id)?;
            let mut out = ev::GetSpotCheckStatisticsResponse {
                spot_checks,
                sampled: reviews.len() as i64,
                problems: by_category.iter().map(|(_, n)| n).sum(),
                by_category: by_category
                    .iter()
                    .map(|(c, n)| ev::ProblemCount {
                        category: category_to(c) as i32,
                        problems: *n,
                    })
                    .collect(),
                ..Default::default()
            };
            let mut total = Decimal::ZERO;
            let mut fell = BTreeSet::new();
            for (r, agency_code) in &reviews {
                if r.status != ReviewStatus::Finished.as_db() {
                    continue;
                }
                out.finished += 1;
                let difference = r.difference.map(|m| m.0).unwrap_or_default();
                if !difference.is_zero() {
                    out.corrected += 1;
                    total += difference;
                }
                out.flagged += i64::from(r.flagged);
                if review::grade_fell(&r.self_grade, &r.corrected_grade) {
                    out.grades_fallen += 1;
                    fell.insert(agency_code.clone());
                }
            }
            out.total_correction = pbm_server::wire::decimal(total);
            out.units_grade_fell = fell.into_iter().collect();
            Ok(out)
        })
        .await
}
