//! Reading sheets: GetSelfEvaluation (with its indicators, entries and the score's
//! explanation), ListSelfEvaluations (a page, filtered in SQL by the caller's scope and the
//! request's filters) and GetSelfEvaluationHistory. docs/EVALUATION.md "Roles": a sheet outside
//! the caller's scope answers NOT_FOUND, and a list never shows one.
//!
//! The deadline status filter is worked out against the campaign's deadline and the few units
//! finance reopened: the units whose own deadline gives the asked status, or every unit but
//! those whose own deadline gives another, among the sheets not yet submitted.

use std::collections::HashMap;

use chrono::NaiveDate;
use pbm_auth::Caller;
use pbm_proto::common::v1::PageResponse;
use pbm_proto::evaluation::v1 as ev;
use pbm_server::ApiError;

use super::sheets::{
    READERS, deadline_status, effective_deadline, message, status_of, visible_sheet,
};
use super::{authorise, page_of};
use crate::convert::limits;
use crate::convert::scores::grade_from;
use crate::convert::sheets::{DeadlineView, event_to, sheet_to, status_from};
use crate::domain::access::list_filter;
use crate::domain::workflow::SheetStatus;
use crate::state::AppState;
use crate::store::{self, CampaignFacts, SheetFilter};

pub(crate) fn campaign_not_found(id: i64) -> ApiError {
    ApiError::not_found("CAMPAIGN_NOT_FOUND", format!("自评任务 {id} 不存在"))
}

pub async fn get(
    state: &AppState,
    caller: Caller,
    m: ev::GetSelfEvaluationRequest,
) -> Result<ev::GetSelfEvaluationResponse, ApiError> {
    let v = authorise(&caller, state, READERS, false)?;
    let today = state.today();
    state
        .db
        .read(move |conn| {
            let (row, campaign, unit) = visible_sheet(conn, &v, m.self_evaluation_id)?;
            let indicators = store::sheet_indicators(conn, row.id)?;
            Ok(ev::GetSelfEvaluationResponse {
                self_evaluation: Some(message(&row, &indicators, &campaign, unit, today)?),
            })
        })
        .await
}

pub async fn history(
    state: &AppState,
    caller: Caller,
    m: ev::GetSelfEvaluationHistoryRequest,
) -> Result<ev::GetSelfEvaluationHistoryResponse, ApiError> {
    let v = authorise(&caller, state, READERS, false)?;
    state
        .db
        .read(move |conn| {
            let (row, _, _) = visible_sheet(conn, &v, m.self_evaluation_id)?;
            Ok(ev::GetSelfEvaluationHistoryResponse {
                events: store::events_of(conn, row.id)?
                    .iter()
                    .map(event_to)
                    .collect(),
            })
        })
        .await
}

/// The part of a filter that a deadline status asks for (see the module doc).
fn deadline_filter(
    f: &mut SheetFilter,
    asked: ev::DeadlineStatus,
    campaign: &CampaignFacts,
    units: &HashMap<String, NaiveDate>,
    today: NaiveDate,
) {
    let submitted: Vec<String> = SheetStatus::ALL
        .iter()
        .filter(|s| s.is_submitted() == (asked == ev::DeadlineStatus::Submitted))
        .map(|s| s.as_db().to_owned())
        .collect();
    f.statuses = Some(submitted);
    if asked == ev::DeadlineStatus::Submitted {
        return;
    }
    let of = |d: NaiveDate| deadline_status(SheetStatus::Draft, today, d, campaign.lead_days);
    let (same, other): (Vec<_>, Vec<_>) = units.iter().partition(|(_, d)| of(**d) == asked);
    f.units = Some(if of(campaign.deadline) == asked {
        (false, other.into_iter().map(|(u, _)| u.clone()).collect())
    } else {
        (true, same.into_iter().map(|(u, _)| u.clone()).collect())
    });
}

pub async fn list(
    state: &AppState,
    caller: Caller,
    m: ev::ListSelfEvaluationsRequest,
) -> Result<ev::ListSelfEvaluationsResponse, ApiError> {
    let v = authorise(&caller, state, READERS, false)?;
    limits::check(&m)?;
    let page = page_of(m.page.as_ref())?;
    let today = state.today();
    let text = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let mut f = SheetFilter::new(list_filter(&v));
    f.department_code = text(&m.department_code);
    f.agency_code = text(&m.agency_code);
    f.status = status_from(m.status).map(|s| s.as_db().to_owned());
    f.grade = grade_from(m.grade).map(|g| g.code().to_owned());
    let asked = ev::DeadlineStatus::try_from(m.deadline_status)
        .ok()
        .filter(|d| *d != ev::DeadlineStatus::Unspecified);
    state
        .db
        .read(move |conn| {
            let campaign = store::campaign_facts(conn, m.campaign_id)?
                .ok_or_else(|| campaign_not_found(m.campaign_id))?;
            let units = store::unit_deadlines(conn, campaign.id)?;
            if let Some(asked) = asked {
                deadline_filter(&mut f, asked, &campaign, &units, today);
            }
            let (rows, total) = store::sheets_page(conn, campaign.id, &f, page.offset, page.limit)?;
            let sheets = rows
                .iter()
                .map(|row| {
                    let deadline =
                        effective_deadline(&campaign, units.get(&row.agency_code).copied());
                    let view = DeadlineView {
                        status: deadline_status(
                            status_of(row)?,
                            today,
                            deadline,
                            campaign.lead_days,
                        ),
                        deadline,
                    };
                    Ok(sheet_to(row, campaign.fiscal_year, None, view))
                })
                .collect::<Result<Vec<_>, ApiError>>()?;
            Ok(ev::ListSelfEvaluationsResponse {
                self_evaluations: sheets,
                page: Some(PageResponse {
                    next_page_token: page.next_token(total),
                    total_size: total,
                }),
            })
        })
        .await
}
