//! GetSelfEvaluationStatistics (docs/EVALUATION.md "Statistics"): a campaign's sheets counted
//! by department, fund source and grade — covered, submitted, overdue, the grades of the
//! submitted ones, budget, executed and the submitted budget — with the totals. Finance,
//! auditors and the province: the whole region's figures, nothing of any one sheet's entries.

use pbm_auth::{Caller, Role as AuthRole};
use pbm_proto::evaluation::v1 as ev;
use pbm_server::ApiError;

use super::authorise;
use super::campaigns::{campaign_not_found, campaign_of};
use crate::convert::campaigns::statistics_row_to;
use crate::convert::scores::campaign_to;
use crate::domain::access::can_read_statistics;
use crate::domain::deadline::{
    DeadlineStatus, counts_as_submitted, deadline_status, effective_deadline,
};
use crate::domain::stats::{GroupBy, GroupKey, SheetFacts, aggregate};
use crate::state::AppState;
use crate::store;

/// GetSelfEvaluationStatistics (see the module doc). Overdue: not submitted and past the
/// unit's effective deadline (its reopened one, else the campaign's) on the service's today.
pub async fn get(
    state: &AppState,
    caller: Caller,
    m: ev::GetSelfEvaluationStatisticsRequest,
) -> Result<ev::GetSelfEvaluationStatisticsResponse, ApiError> {
    let viewer = authorise(
        &caller,
        state,
        &[
            AuthRole::FinanceAdmin,
            AuthRole::Auditor,
            AuthRole::Province,
        ],
        false,
    )?;
    if !can_read_statistics(&viewer) {
        return Err(campaign_not_found(m.campaign_id));
    }
    let today = state.today();
    let region = state.region.to_string();
    state
        .db
        .read(move |conn| {
            let campaign = campaign_of(conn, m.campaign_id)?;
            let sheets = store::sheet_figures(conn, campaign.id)?;
            let reopened = store::unit_deadlines(conn, campaign.id)?;
            let facts = sheets.iter().map(|s| {
                let deadline =
                    effective_deadline(campaign.deadline, reopened.get(&s.agency_code).copied());
                SheetFacts {
                    department_code: &s.department_code,
                    fund_source: &s.fund_source,
                    grade: &s.grade,
                    submitted: counts_as_submitted(&s.status),
                    overdue: deadline_status(&s.status, today, deadline, campaign.lead_days)
                        == DeadlineStatus::Overdue,
                    budget: s.budget.0,
                    executed: s.executed.0,
                }
            });
            let by = GroupBy {
                department: m.by_department,
                fund_source: m.by_fund_source,
                grade: m.by_grade,
            };
            let (groups, totals) = aggregate(facts, by);
            Ok(ev::GetSelfEvaluationStatisticsResponse {
                campaign: Some(campaign_to(&region, &campaign)),
                rows: groups
                    .iter()
                    .map(|(k, t)| statistics_row_to(k, t))
                    .collect(),
                totals: Some(statistics_row_to(&GroupKey::default(), &totals)),
            })
        })
        .await
}
