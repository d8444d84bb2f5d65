//! Statistics of the region's goals.

use pbm_auth::Caller;
use pbm_proto::goal::v1 as proto;
use pbm_server::ApiError;

use super::internal;
use super::projects::project_from_row;
use crate::convert;
use crate::domain::FiscalYear;
use crate::domain::access::{can_read_statistics, viewer};
use crate::domain::workflow::GoalState;
use crate::state::AppState;
use crate::store::{self};

pub(crate) fn tally(t: &crate::domain::stats::Tally) -> Option<proto::Tally> {
    Some(proto::Tally {
        count: i64::try_from(t.count).unwrap_or(i64::MAX),
        amount: convert::dec(t.amount),
    })
}

/// GetGoalStatistics (docs/DOMAIN.md "Statistics and publication"): for finance, auditors and the
/// province.
pub async fn statistics(
    state: &AppState,
    caller: Caller,
    r: proto::GetGoalStatisticsRequest,
) -> Result<proto::GetGoalStatisticsResponse, ApiError> {
    use crate::domain::stats::{GroupBy, StatsRecord, aggregate};
    can_read_statistics(&viewer(&caller, &state.region)?)?;
    if r.fiscal_year != 0 {
        FiscalYear::new(r.fiscal_year)
            .map_err(|e| ApiError::invalid_field(e.reason, "fiscal_year", e.message))?;
    }
    let year = (r.fiscal_year != 0).then_some(r.fiscal_year);
    let rows = state
        .db
        .read(move |conn| store::projects_with_goals(conn, year))
        .await?;
    let mut records = Vec::with_capacity(rows.len());
    for (p, goal) in &rows {
        let goal = goal
            .as_deref()
            .map(serde_json::from_str::<GoalState>)
            .transpose()
            .map_err(internal)?;
        records.push(StatsRecord::new(&project_from_row(p)?, goal));
    }
    let by = GroupBy {
        fiscal_year: r.by_fiscal_year,
        department: r.by_department,
        fund_source: r.by_fund_source,
        special_field: r.by_special_field,
    };
    Ok(proto::GetGoalStatisticsResponse {
        mof_div_code: state.region.to_string(),
        rows: aggregate(&records, by)
            .into_iter()
            .map(|(k, row)| proto::GoalStatisticsRow {
                fiscal_year: k.fiscal_year.map_or(0, FiscalYear::get),
                department_code: k
                    .department_code
                    .map(|d| d.as_str().to_owned())
                    .unwrap_or_default(),
                fund_source: k
                    .fund_source
                    .map_or(0, |f| convert::fund_source_to(f) as i32),
                special_field: k
                    .special_field
                    .map_or(0, |f| convert::special_field_to(f) as i32),
                projects: tally(&row.projects),
                declared: tally(&row.declared),
                passed_first_review: tally(&row.passed_first_review),
                returned: tally(&row.returned),
                blocked: tally(&row.blocked),
                approved: tally(&row.approved),
            })
            .collect(),
    })
}
