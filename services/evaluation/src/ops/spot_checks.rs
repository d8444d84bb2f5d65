//! 抽查复核, the selection (docs/EVALUATION.md "Spot checks"): the candidates (a campaign's
//! sheets submitted, reviewed or received) ranked by the explainable risk score
//! ([`crate::domain::risk`]), a sample chosen at random, by risk or stratified and recorded so
//! that an auditor replays it ([`crate::domain::sampling`]), the review commissioned to an
//! agency drawn from the pool, and the reads.

use std::collections::HashMap;

use pbm_auth::{Caller, Role};
use pbm_db::{AnyConnection, Money};
use pbm_proto::agency::v1 as ag;
use pbm_proto::evaluation::v1 as ev;
use pbm_server::{ApiError, Effect, FieldViolation, MutationContext, run_mutation};
use rand::RngCore;
use rust_decimal::Decimal;

use super::{authorise, page_of};
use crate::convert::limits;
use crate::convert::spot_checks::{
    SheetFacts, method_from, reviewer_from, risk_entry_to, sampled_to, spot_check_to, stratum_from,
    weights_from,
};
use crate::domain::access::{Role as Viewing, Viewer};
use crate::domain::review::{ReviewStatus, Reviewer};
use crate::domain::risk::{Risk, RiskInput, RiskWeights, rank_order, risk};
use crate::domain::sampling::{self, Method, Plan, SampleCandidate, StratumKind};
use crate::state::AppState;
use crate::store::spot_checks::{
    self as store, CampaignBrief, CandidateRow, ReviewRow, SpotCheckRow,
};

/// RankRisk answers at most this many entries (default [`RANK_DEFAULT`]).
pub const RANK_MAX: i32 = 1000;
pub const RANK_DEFAULT: i32 = 50;
/// A sample of at most this many sheets.
pub const SIZE_MAX: i32 = 1000;

const READERS: &[Role] = &[Role::FinanceAdmin, Role::Auditor, Role::Agency];

pub(crate) fn campaign_not_found(id: i64) -> ApiError {
    ApiError::not_found("CAMPAIGN_NOT_FOUND", format!("自评批次 {id} 不存在"))
}

pub(crate) fn spot_check_not_found(id: i64) -> ApiError {
    ApiError::not_found("SPOT_CHECK_NOT_FOUND", format!("抽查 {id} 不存在"))
}

/// The record changed since the caller read it: ABORTED `STALE_REVISION`.
pub(crate) fn stale(what: &str, expected: i64, current: i64) -> ApiError {
    ApiError::new(
        pbm_server::ErrorKind::Aborted,
        "STALE_REVISION",
        format!("{what}已被他人修改（您读取的版本 {expected}，当前版本 {current}），请刷新后重试"),
    )
    .with_violation(
        "expected_revision",
        format!("expected {expected}, current {current}"),
    )
}

pub(crate) fn campaign_of(conn: &mut AnyConnection, id: i64) -> Result<CampaignBrief, ApiError> {
    store::campaign_brief(conn, id)?.ok_or_else(|| campaign_not_found(id))
}

/// The spot check `id` if `v` may see it: finance and auditors any, an agency only one
/// commissioned to it (NOT_FOUND otherwise, so that its existence does not leak).
pub(crate) fn spot_check_in_view(
    conn: &mut AnyConnection,
    v: &Viewer,
    id: i64,
) -> Result<SpotCheckRow, ApiError> {
    store::spot_check(conn, id)?
        .filter(|s| match v.role {
            Viewing::Finance | Viewing::Auditor => true,
            Viewing::Agency => {
                s.reviewer == Reviewer::Agency.as_db() && s.agency_credit_code == v.org_code
            }
            _ => false,
        })
        .ok_or_else(|| spot_check_not_found(id))
}

/// One candidate ranked: the sheet's facts, its risk and rank (1 = the highest).
pub(crate) struct Ranked {
    pub row: CandidateRow,
    pub risk: Risk,
    pub rank: u32,
}

impl Ranked {
    fn facts(&self) -> SheetFacts<'_> {
        SheetFacts {
            subject_key: &self.row.subject_key,
            agency_code: &self.row.agency_code,
            department_code: &self.row.department_code,
            name: &self.row.name,
            budget: self.row.budget.0,
        }
    }

    fn entry(&self) -> ev::RiskEntry {
        risk_entry_to(
            self.row.id,
            &self.facts(),
            self.row.total.0,
            &self.row.grade,
            self.risk.risk,
            self.risk
                .factors
                .iter()
                .map(|f| ev::RiskFactor {
                    factor: f.factor.clone(),
                    input: f.input.clone(),
                    contribution: pbm_server::wire::decimal(f.contribution),
                })
                .collect(),
            self.rank,
        )
    }
}

/// The candidates of a campaign ranked by risk: one query for the sheets, one grouped query for
/// the units' problems of earlier years.
pub(crate) fn ranked(
    conn: &mut AnyConnection,
    campaign: &CampaignBrief,
    campaign_id: i64,
    weights: &RiskWeights,
) -> Result<Vec<Ranked>, ApiError> {
    let rows = store::candidates(conn, campaign_id)?;
    let past = store::past_problems(conn, campaign.fiscal_year)?;
    let max_budget = rows
        .iter()
        .map(|r| r.budget.0)
        .max()
        .unwrap_or(Decimal::ZERO);
    let mut out: Vec<Ranked> = rows
        .into_iter()
        .map(|row| {
            let input = RiskInput {
                self_score: row.total.0,
                execution_rate: row.execution_rate.0,
                red_warnings: i64::from(row.red_warnings),
                budget: row.budget.0,
                past_problems: past.get(&row.agency_code).copied().unwrap_or(0),
            };
            let risk = risk(weights, &input, max_budget);
            Ranked { row, risk, rank: 0 }
        })
        .collect();
    out.sort_by(|a, b| {
        rank_order(
            (&a.risk.risk, &a.row.budget.0, &a.row.subject_key),
            (&b.risk.risk, &b.row.budget.0, &b.row.subject_key),
        )
    });
    for (i, r) in out.iter_mut().enumerate() {
        r.rank = i as u32 + 1;
    }
    Ok(out)
}

/// RankRisk: finance and auditors.
pub async fn rank_risk(
    state: &AppState,
    caller: Caller,
    m: ev::RankRiskRequest,
) -> Result<ev::RankRiskResponse, ApiError> {
    authorise(&caller, state, &[Role::FinanceAdmin, Role::Auditor], false)?;
    limits::check(&m)?;
    let limit = match m.limit {
        0 => RANK_DEFAULT,
        n if (1..=RANK_MAX).contains(&n) => n,
        n => {
            return Err(ApiError::invalid_field(
                "LIMIT_INVALID",
                "limit",
                format!("条数 {n} 无效：应在 1 至 {RANK_MAX} 之间"),
            ));
        }
    } as usize;
    let weights = weights_from(m.weights.as_ref()).map_err(ApiError::validation)?;
    let campaign_id = m.campaign_id;
    state
        .db
        .read(move |conn| -> Result<_, ApiError> {
            let campaign = campaign_of(conn, campaign_id)?;
            let all = ranked(conn, &campaign, campaign_id, &weights)?;
            Ok(ev::RankRiskResponse {
                candidates: all.len() as i64,
                entries: all.iter().take(limit).map(Ranked::entry).collect(),
            })
        })
        .await
}

/// What SelectSpotCheck was asked, checked.
struct Selection {
    name: String,
    method: Method,
    size: usize,
    seed: u64,
    weights: RiskWeights,
    stratum: Option<StratumKind>,
    risk_percent: u32,
    reviewer: Reviewer,
}

fn selection_of(m: &ev::SelectSpotCheckRequest) -> Result<Selection, ApiError> {
    let mut bad = Vec::new();
    let name = m.name.trim().to_owned();
    if name.is_empty() {
        bad.push(FieldViolation::new(
            "name",
            "NAME_REQUIRED",
            "请填写抽查名称",
        ));
    }
    let method = method_from(m.method);
    if method.is_none() {
        bad.push(FieldViolation::new(
            "method",
            "METHOD_INVALID",
            "请选择抽取方式",
        ));
    }
    if !(1..=SIZE_MAX).contains(&m.size) {
        bad.push(FieldViolation::new(
            "size",
            "SIZE_INVALID",
            format!("抽取数量 {} 无效：应在 1 至 {SIZE_MAX} 之间", m.size),
        ));
    }
    let reviewer = reviewer_from(m.reviewer);
    if reviewer.is_none() {
        bad.push(FieldViolation::new(
            "reviewer",
            "REVIEWER_INVALID",
            "请选择复核方式",
        ));
    }
    let stratum = stratum_from(m.stratum);
    if method == Some(Method::Stratified) && stratum.is_none() {
        bad.push(FieldViolation::new(
            "stratum",
            "STRATUM_REQUIRED",
            "分层抽取须选择分层依据",
        ));
    }
    if !(0..=100).contains(&m.risk_percent) {
        bad.push(FieldViolation::new(
            "risk_percent",
            "RISK_PERCENT_INVALID",
            format!(
                "按风险抽取的比例 {} 无效：应在 0 至 100 之间",
                m.risk_percent
            ),
        ));
    }
    let weights = weights_from(m.weights.as_ref())
        .map_err(|v| bad.extend(v))
        .ok();
    ApiError::check(bad)?;
    let method = method.expect("checked");
    let stratified = method == Method::Stratified;
    Ok(Selection {
        name,
        method,
        size: m.size as usize,
        // Risk samples need no seed; random and stratified ones get one (0: the service's).
        seed: match (method, m.seed) {
            (Method::Risk, _) => 0,
            (_, 0) => fresh_seed(),
            (_, s) => s,
        },
        weights: weights.expect("checked"),
        stratum: stratum.filter(|_| stratified),
        risk_percent: if stratified { m.risk_percent as u32 } else { 0 },
        reviewer: reviewer.expect("checked"),
    })
}

/// A fresh non-zero seed from the operating system.
fn fresh_seed() -> u64 {
    loop {
        let s = rand::rngs::OsRng.next_u64();
        if s != 0 {
            return s;
        }
    }
}

/// The stratum value of a candidate.
fn stratum_value(kind: Option<StratumKind>, row: &CandidateRow) -> String {
    match kind {
        Some(StratumKind::Department) => row.department_code.clone(),
        Some(StratumKind::FundSource) => row.fund_source.clone(),
        Some(StratumKind::Grade) => row.grade.clone(),
        None => String::new(),
    }
}

/// SelectSpotCheck: finance. The candidates are ranked and sampled inside the transaction that
/// records the spot check and one pending review per sampled sheet; a retry with the same
/// request id replays the recorded answer (and so the same seed).
pub async fn select(
    state: &AppState,
    ctx: MutationContext,
    m: ev::SelectSpotCheckRequest,
) -> Result<ev::SelectSpotCheckResponse, ApiError> {
    authorise(&ctx.caller, state, &[Role::FinanceAdmin], true)?;
    limits::check(&m)?;
    let sel = selection_of(&m)?;
    let campaign_id = m.campaign_id;
    run_mutation(
        &state.db,
        ctx,
        ("spot_check", format!("campaign/{campaign_id}")),
        move |conn, ctx| {
            let campaign = campaign_of(conn, campaign_id)?;
            let ranked = ranked(conn, &campaign, campaign_id, &sel.weights)?;
            if ranked.len() < sel.size {
                return Err(ApiError::failed_precondition(
                    "TOO_FEW_CANDIDATES",
                    format!(
                        "已提交的自评表只有 {} 份，不足抽取数量 {}",
                        ranked.len(),
                        sel.size
                    ),
                )
                .with_violation("size", format!("at most {}", ranked.len())));
            }
            let mut candidates: Vec<SampleCandidate> = ranked
                .iter()
                .map(|r| SampleCandidate {
                    id: r.row.id,
                    key: r.row.subject_key.clone(),
                    stratum: stratum_value(sel.stratum, &r.row),
                    risk: r.risk.risk,
                    rank: r.rank,
                })
                .collect();
            sampling::sort_candidates(&mut candidates);
            let plan = Plan {
                method: sel.method,
                size: sel.size,
                seed: sel.seed,
                risk_percent: sel.risk_percent,
            };
            let picks = sampling::sample(&candidates, &plan);
            let by_id: HashMap<i64, &Ranked> = ranked.iter().map(|r| (r.row.id, r)).collect();
            let now = pbm_db::now();
            let who = ctx.caller.subject.clone();
            let mut reviews: Vec<ReviewRow> = picks
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let r = by_id[&candidates[p.index].id];
                    ReviewRow {
                        spot_check_id: 0,
                        sheet_id: r.row.id,
                        position: i as i32 + 1,
                        picked_by: p.why.text(sel.stratum),
                        risk: Money(r.risk.risk),
                        factors: serde_json::to_string(&r.risk.factors).expect("factors serialise"),
                        self_score: r.row.total,
                        self_grade: r.row.grade.clone(),
                        status: ReviewStatus::Pending.as_db().into(),
                        entries: "[]".into(),
                        corrected: String::new(),
                        corrected_score: None,
                        corrected_grade: String::new(),
                        difference: None,
                        flagged: false,
                        problems: 0,
                        opinion: String::new(),
                        revision: 1,
                        changed_by: who.clone(),
                        changed_at: now,
                        finished_by: None,
                        finished_at: None,
                    }
                })
                .collect();
            let mut row = SpotCheckRow {
                id: 0,
                campaign_id,
                fiscal_year: campaign.fiscal_year,
                name: sel.name,
                method: sel.method.as_db().into(),
                size: sel.size as i32,
                seed: sel.seed as i64,
                fingerprint: sampling::fingerprint(&candidates),
                candidates: candidates.len() as i64,
                candidate_list: serde_json::to_string(&candidates).expect("candidates serialise"),
                weights: serde_json::to_string(&sel.weights).expect("weights serialise"),
                stratum: sel.stratum.map_or("", StratumKind::as_db).into(),
                risk_percent: sel.risk_percent as i32,
                reviewer: sel.reviewer.as_db().into(),
                agency_credit_code: String::new(),
                engagement_id: 0,
                draw_id: 0,
                revision: 1,
                finished: 0,
                selected_by: who,
                selected_at: now,
            };
            row.id = store::insert_spot_check(conn, &row, &mut reviews)?;
            let items = reviews
                .iter()
                .map(|r| {
                    let k = by_id[&r.sheet_id];
                    sampled_to(r, &k.facts(), k.rank)
                })
                .collect();
            Ok(Effect {
                response: ev::SelectSpotCheckResponse {
                    spot_check: Some(spot_check_to(&row, Some(items))),
                },
                entity_type: "spot_check",
                entity_id: row.id.to_string(),
                detail: format!(
                    "{} {} of {} seed {} fingerprint {}",
                    row.method, row.size, row.candidates, row.seed as u64, row.fingerprint
                ),
            })
        },
    )
    .await
}

/// The recorded candidates of a spot check, in key order.
fn recorded(row: &SpotCheckRow) -> Result<Vec<SampleCandidate>, ApiError> {
    serde_json::from_str(&row.candidate_list).map_err(ApiError::internal)
}

/// A spot check with its sampled sheets.
fn with_items(conn: &mut AnyConnection, row: &SpotCheckRow) -> Result<ev::SpotCheck, ApiError> {
    let reviews = store::reviews(conn, row.id)?;
    let ranks: HashMap<i64, u32> = recorded(row)?.into_iter().map(|c| (c.id, c.rank)).collect();
    let mut items = Vec::with_capacity(reviews.len());
    for r in &reviews {
        let sheet = crate::store::sheet(conn, r.sheet_id)?
            .ok_or_else(|| ApiError::internal(format!("sampled sheet {} missing", r.sheet_id)))?;
        let facts = SheetFacts {
            subject_key: &sheet.subject_key,
            agency_code: &sheet.agency_code,
            department_code: &sheet.department_code,
            name: &sheet.name,
            budget: sheet.budget.0,
        };
        items.push(sampled_to(
            r,
            &facts,
            ranks.get(&r.sheet_id).copied().unwrap_or(0),
        ));
    }
    Ok(spot_check_to(row, Some(items)))
}

/// ReplaySpotCheck: finance and auditors. Recomputes the sample from the record (candidates,
/// seed, method, strata): `matches` when the recorded candidates still give the recorded
/// fingerprint and the same sheets in the same order.
pub async fn replay(
    state: &AppState,
    caller: Caller,
    m: ev::ReplaySpotCheckRequest,
) -> Result<ev::ReplaySpotCheckResponse, ApiError> {
    let v = authorise(&caller, state, &[Role::FinanceAdmin, Role::Auditor], false)?;
    state
        .db
        .read(move |conn| -> Result<_, ApiError> {
            let row = spot_check_in_view(conn, &v, m.spot_check_id)?;
            let mut candidates = recorded(&row)?;
            sampling::sort_candidates(&mut candidates);
            let fingerprint = sampling::fingerprint(&candidates);
            let method = Method::from_db(&row.method)
                .ok_or_else(|| ApiError::internal(format!("unknown method {}", row.method)))?;
            let plan = Plan {
                method,
                size: row.size as usize,
                seed: row.seed as u64,
                risk_percent: row.risk_percent as u32,
            };
            let ids: Vec<i64> = sampling::sample(&candidates, &plan)
                .iter()
                .map(|p| candidates[p.index].id)
                .collect();
            let recorded_ids: Vec<i64> = store::reviews(conn, row.id)?
                .iter()
                .map(|r| r.sheet_id)
                .collect();
            Ok(ev::ReplaySpotCheckResponse {
                matches: fingerprint == row.fingerprint && ids == recorded_ids,
                candidates_fingerprint: fingerprint,
                self_evaluation_ids: ids,
            })
        })
        .await
}

/// CommissionReview: finance draws one agency from the pool for 评价结果复核, independent of
/// the sampled units (the first sampled unit is the evaluated party the pool's recusal checks:
/// its contract names one party), and records the engagement there; then records the commission
/// in one transaction. The agency service is called first with request ids derived from the
/// caller's, so a retry replays the same draw and engagement.
pub async fn commission(
    state: &AppState,
    ctx: MutationContext,
    auth: String,
    m: ev::CommissionReviewRequest,
) -> Result<ev::CommissionReviewResponse, ApiError> {
    let v = authorise(&ctx.caller, state, &[Role::FinanceAdmin], true)?;
    let (id, expected) = (m.spot_check_id, m.expected_revision);
    let (row, party) = state
        .db
        .read(move |conn| -> Result<_, ApiError> {
            let row = spot_check_in_view(conn, &v, id)?;
            let first = store::reviews(conn, id)?.into_iter().next();
            let party = match first {
                Some(r) => crate::store::sheet(conn, r.sheet_id)?
                    .map(|s| s.agency_code)
                    .unwrap_or_default(),
                None => String::new(),
            };
            Ok((row, party))
        })
        .await?;
    if row.reviewer != Reviewer::Agency.as_db() {
        return Err(ApiError::failed_precondition(
            "NOT_AGENCY_REVIEW",
            format!(
                "抽查 {id} 的复核方式为「{}」，不委托第三方机构",
                reviewer_label(&row.reviewer)
            ),
        ));
    }
    // Drawn and engaged only while not commissioned; otherwise the transaction below refuses
    // (or replays this very request's answer).
    let engaged = if row.agency_credit_code.is_empty() {
        if row.revision != expected {
            return Err(stale("抽查", expected, row.revision));
        }
        let drawn = state
            .pool
            .draw_agency(
                &auth,
                ag::DrawAgenciesRequest {
                    request_id: format!("{}#draw", ctx.request_id),
                    task_ref: format!("spot-check/{id}"),
                    count: 1,
                    evaluated_party: party.clone(),
                    kind: ag::EngagementKind::EvaluationReview as i32,
                    weighted_by_rating: m.weighted_by_rating,
                },
            )
            .await?;
        let today = state.today();
        // The review runs until the end of the year after the fiscal year (the spring's
        // self-evaluations are reviewed within it).
        let ends = chrono::NaiveDate::from_ymd_opt(row.fiscal_year + 1, 12, 31)
            .filter(|d| *d >= today)
            .unwrap_or(today);
        let engagement_id = state
            .pool
            .engage(
                &auth,
                ag::CreateEngagementRequest {
                    request_id: format!("{}#engagement", ctx.request_id),
                    commissioner: state.region.to_string(),
                    evaluated_party: party,
                    kind: ag::EngagementKind::EvaluationReview as i32,
                    agency_credit_code: drawn.credit_code.clone(),
                    expert_ids: Vec::new(),
                    started_on: today.to_string(),
                    ended_on: ends.to_string(),
                },
            )
            .await?;
        Some((drawn, engagement_id))
    } else {
        None
    };
    run_mutation(
        &state.db,
        ctx,
        ("spot_check", id.to_string()),
        move |conn, _ctx| {
            let mut row = store::spot_check(conn, id)?.ok_or_else(|| spot_check_not_found(id))?;
            let Some((drawn, engagement_id)) =
                engaged.filter(|_| row.agency_credit_code.is_empty())
            else {
                return Err(ApiError::failed_precondition(
                    "SPOT_CHECK_ALREADY_COMMISSIONED",
                    format!(
                        "抽查 {id} 已委托第三方机构「{}」（抽取记录 {}）",
                        row.agency_credit_code, row.draw_id
                    ),
                ));
            };
            if row.revision != expected {
                return Err(stale("抽查", expected, row.revision));
            }
            row.agency_credit_code = drawn.credit_code;
            row.draw_id = drawn.draw_id;
            row.engagement_id = engagement_id;
            row.revision += 1;
            if !store::update_spot_check(conn, &row, expected)? {
                return Err(stale("抽查", expected, expected + 1));
            }
            let shown = with_items(conn, &row)?;
            Ok(Effect {
                response: ev::CommissionReviewResponse {
                    spot_check: Some(shown),
                },
                entity_type: "spot_check",
                entity_id: id.to_string(),
                detail: format!(
                    "agency {} draw {} engagement {}",
                    row.agency_credit_code, row.draw_id, row.engagement_id
                ),
            })
        },
    )
    .await
}

fn reviewer_label(word: &str) -> &'static str {
    Reviewer::from_db(word).map_or("", Reviewer::chinese)
}

/// GetSpotCheck: finance and auditors; an agency only those commissioned to it.
pub async fn get(
    state: &AppState,
    caller: Caller,
    m: ev::GetSpotCheckRequest,
) -> Result<ev::GetSpotCheckResponse, ApiError> {
    let v = authorise(&caller, state, READERS, false)?;
    state
        .db
        .read(move |conn| -> Result<_, ApiError> {
            let row = spot_check_in_view(conn, &v, m.spot_check_id)?;
            Ok(ev::GetSpotCheckResponse {
                spot_check: Some(with_items(conn, &row)?),
            })
        })
        .await
}

/// ListSpotChecks: a campaign's spot checks without their items, newest first (an agency: only
/// those commissioned to it, filtered in SQL).
pub async fn list(
    state: &AppState,
    caller: Caller,
    m: ev::ListSpotChecksRequest,
) -> Result<ev::ListSpotChecksResponse, ApiError> {
    let v = authorise(&caller, state, READERS, false)?;
    let page = page_of(m.page.as_ref())?;
    let agency = (v.role == Viewing::Agency).then(|| v.org_code.clone());
    let campaign_id = m.campaign_id;
    state
        .db
        .read(move |conn| -> Result<_, ApiError> {
            campaign_of(conn, campaign_id)?;
            let (rows, total) = store::list_spot_checks(
                conn,
                campaign_id,
                agency.as_deref(),
                page.offset,
                page.limit,
            )?;
            Ok(ev::ListSpotChecksResponse {
                spot_checks: rows.iter().map(|r| spot_check_to(r, None)).collect(),
                page: Some(pbm_proto::common::v1::PageResponse {
                    next_page_token: page.next_token(total),
                    total_size: total,
                }),
            })
        })
        .await
}
