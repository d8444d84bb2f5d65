//! Commissioning an ex-ante assessment to a third-party agency drawn by the agency service.

use chrono::NaiveDate;
use pbm_proto::goal::v1 as proto;
use pbm_server::{ApiError, Effect, FieldViolation, MutationContext, run_mutation};

use super::projects::{project_from_row, sees_project};
use super::{Authorization, project_not_found};
use crate::convert;
use crate::domain::FiscalYear;
use crate::domain::access::{can_commission_ex_ante, viewer};
use crate::domain::common::date_in_range;
use crate::domain::project::{ProCode, Project};
use crate::state::AppState;
use crate::store::{self, CommissionRow};

/// The project `code` of `year` and its commission, if `v` may see them: the project's unit,
/// department, finance (and the province, auditors) — and the agency it was commissioned to.
/// Anyone else gets NOT_FOUND.
pub(crate) fn project_in_scope(
    conn: &mut pbm_db::AnyConnection,
    v: &crate::domain::access::Viewer,
    code: &str,
    year: i32,
) -> Result<(Project, Option<CommissionRow>), ApiError> {
    let row = store::project(conn, code, year)?.ok_or_else(|| project_not_found(code, year))?;
    if !sees_project(conn, v, &row)? {
        return Err(project_not_found(code, year));
    }
    let project = project_from_row(&row)?;
    let commission = store::commission(conn, code, year)?;
    Ok((project, commission))
}

pub(crate) fn commission_to_proto(c: &CommissionRow) -> proto::ExAnteCommission {
    proto::ExAnteCommission {
        pro_code: c.pro_code.clone(),
        fiscal_year: c.fiscal_year,
        agency_credit_code: c.agency_credit_code.clone(),
        draw_id: c.draw_id,
        engagement_id: c.engagement_id,
        due_on: c.due_on.to_string(),
        commissioned: Some(convert::stamp(&c.commissioned_by, c.commissioned_at)),
    }
}

/// CommissionExAnteAssessment: finance draws an agency from the pool for the project's ex-ante
/// assessment and records the engagement there (docs/DOMAIN.md "What may be commissioned",
/// docs/DOMAIN.md "Independence" (财预〔2021〕6号): commissioned work includes ex-ante assessment,
/// the agency independent of the commissioner and of the evaluated unit — checked by the agency
/// service). The agency service is called first, with request ids derived from the caller's, so
/// that a retry replays the same draw and engagement; the commission is recorded in one transaction
/// after.
pub async fn commission(
    state: &AppState,
    ctx: MutationContext,
    auth: Authorization,
    r: proto::CommissionExAnteAssessmentRequest,
) -> Result<proto::CommissionExAnteAssessmentResponse, ApiError> {
    use pbm_proto::agency::v1 as ag;
    can_commission_ex_ante(&viewer(&ctx.caller, &state.region)?)?;
    convert::limits::check(&r)?;
    let mut problems: Vec<FieldViolation> = Vec::new();
    let code = ProCode::parse(&r.pro_code)
        .map_err(|e| problems.push(FieldViolation::generic("pro_code", e.message)))
        .ok();
    let year = FiscalYear::new(r.fiscal_year)
        .map_err(|e| problems.push(FieldViolation::generic("fiscal_year", e.message)))
        .ok();
    let today = state.today();
    let due_on = match NaiveDate::parse_from_str(r.due_on.trim(), "%Y-%m-%d") {
        Ok(d) if d >= today => date_in_range("due_on", "报告截止日期", d)
            .map_err(|e| problems.push(e))
            .ok(),
        Ok(_) => {
            problems.push(FieldViolation::generic(
                "due_on",
                format!("报告截止日期不能早于今天（{today}）"),
            ));
            None
        }
        Err(_) => {
            problems.push(FieldViolation::generic(
                "due_on",
                format!("报告截止日期「{}」应为 YYYY-MM-DD", r.due_on),
            ));
            None
        }
    };
    ApiError::check(problems)?;
    let (Some(code), Some(year), Some(due_on)) = (code, year, due_on) else {
        return Err(ApiError::internal("unreachable"));
    };
    let (code, year) = (code.as_str().to_owned(), year.get());
    // Before asking the pool: the project exists, and whether it is commissioned already.
    let (lookup, request_id) = (code.clone(), ctx.request_id.clone());
    let (unit, earlier) = state
        .db
        .read(move |conn| -> Result<_, ApiError> {
            let row = store::project(conn, &lookup, year)?
                .ok_or_else(|| project_not_found(&lookup, year))?;
            Ok((row.agency_code, store::commission(conn, &lookup, year)?))
        })
        .await?;
    let plan = match earlier {
        None => Plan::Draw,
        // Committed by this very request: the transaction below finds it and replays.
        Some(c) if c.request_id == request_id => Plan::Replay,
        // Commissioned before: only when the agency declined and the pool drew a replacement
        // (RespondToDraw in the agency service; the replacement round is drawn by its consumer
        // of the decline, docs/AGENCY.md) does a new request move the commission to it. Before
        // the replacement is drawn, or when none could be, the commission stays.
        Some(c) => match state.pool.current_agency(&auth, c.draw_id).await? {
            Some(now) if now != c.agency_credit_code => Plan::Replace {
                from: c.agency_credit_code,
                to: now,
                draw_id: c.draw_id,
                engagement_id: c.engagement_id,
            },
            _ => return Err(already_commissioned(&c)),
        },
    };
    let (agency, draw_id) = match &plan {
        Plan::Replace {
            from,
            to,
            draw_id,
            engagement_id,
        } => {
            // The engagement of the agency that declined is withdrawn first, so that a retry
            // after any later failure finds it withdrawn and goes on.
            state
                .pool
                .withdraw(
                    &auth,
                    format!("{}#withdraw", ctx.request_id),
                    *engagement_id,
                    format!(
                        "机构 {from} 谢绝项目 {code}（{year}年度）的事前绩效评估委托，由替补机构 {to} 承接"
                    ),
                )
                .await?;
            (to.clone(), *draw_id)
        }
        Plan::Draw => {
            let drawn = state
                .pool
                .draw(
                    &auth,
                    format!("{}#draw", ctx.request_id),
                    format!("ex-ante/{year}/{code}"),
                    unit.clone(),
                    ag::EngagementKind::ExAnteAssessment,
                    &crate::clients::pool::Ask::Agency {
                        weighted_by_rating: r.weighted_by_rating,
                    },
                )
                .await?;
            let Some((_, agency)) = drawn.reviewers.first().cloned() else {
                return Err(ApiError::internal("agency draw without an agency"));
            };
            (agency, drawn.draw_id)
        }
        Plan::Replay => (String::new(), 0),
    };
    let engagement_id = match plan {
        Plan::Replay => 0,
        _ => {
            state
                .pool
                .engage(
                    &auth,
                    ag::CreateEngagementRequest {
                        request_id: format!("{}#engagement", ctx.request_id),
                        commissioner: state.region.to_string(),
                        evaluated_party: unit,
                        kind: ag::EngagementKind::ExAnteAssessment as i32,
                        agency_credit_code: agency.clone(),
                        expert_ids: Vec::new(),
                        started_on: today.to_string(),
                        ended_on: due_on.to_string(),
                    },
                )
                .await?
        }
    };
    run_mutation(
        &state.db,
        ctx,
        ("ex_ante_commission", format!("{year}/{code}")),
        move |conn, ctx| {
            let current = store::commission(conn, &code, year)?;
            let row = CommissionRow {
                pro_code: code.clone(),
                fiscal_year: year,
                agency_credit_code: agency,
                draw_id,
                engagement_id,
                due_on,
                request_id: ctx.request_id.clone(),
                commissioned_by: ctx.caller.subject.clone(),
                commissioned_at: pbm_db::now(),
            };
            let detail = match (&plan, &current) {
                (Plan::Draw, None) => {
                    store::insert_commission(conn, &row)?;
                    format!(
                        "agency {} draw {} engagement {} due {}",
                        row.agency_credit_code, row.draw_id, row.engagement_id, row.due_on
                    )
                }
                (Plan::Replace { from, .. }, Some(c)) if c.agency_credit_code == *from => {
                    if !store::replace_commission(conn, &row, from)? {
                        return Err(already_commissioned(c));
                    }
                    format!(
                        "agency {from} declined; replaced by {} (draw {}) engagement {} due {}",
                        row.agency_credit_code, row.draw_id, row.engagement_id, row.due_on
                    )
                }
                (_, Some(c)) => return Err(already_commissioned(c)),
                (_, None) => {
                    return Err(ApiError::new(
                        pbm_server::ErrorKind::Aborted,
                        "EX_ANTE_COMMISSION_CHANGED",
                        "事前评估委托在办理期间发生变化，请刷新后重试",
                    ));
                }
            };
            Ok(Effect {
                response: proto::CommissionExAnteAssessmentResponse {
                    commission: Some(commission_to_proto(&row)),
                },
                entity_type: "ex_ante_commission",
                entity_id: format!("{year}/{code}"),
                detail,
            })
        },
    )
    .await
}

/// What a CommissionExAnteAssessment request does, decided before the pool is asked.
pub(crate) enum Plan {
    /// Draw an agency and record the engagement.
    Draw,
    /// The commissioned agency `from` declined: engage `to`, whom the pool drew in its place
    /// in a replacement round of the same draw.
    Replace {
        from: String,
        to: String,
        draw_id: i64,
        /// The declined agency's engagement, withdrawn in the agency service.
        engagement_id: i64,
    },
    /// This request committed already: replay.
    Replay,
}

pub(crate) fn already_commissioned(c: &CommissionRow) -> ApiError {
    ApiError::failed_precondition(
        "EX_ANTE_ALREADY_COMMISSIONED",
        format!(
            "{}年度项目「{}」的事前绩效评估已委托第三方机构「{}」（抽取记录 {}）",
            c.fiscal_year, c.pro_code, c.agency_credit_code, c.draw_id
        ),
    )
}
