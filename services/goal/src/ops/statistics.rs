//! Statistics of the region's goals.

use pbm_auth::Caller;
use pbm_proto::goal::v1 as proto;
use pbm_server::ApiError;

use super::internal;
use super::projects::project_from_row;
use crate::convert;
use std::collections::HashMap;

use super::rules::rules_in_force;
use crate::domain::FiscalYear;
use crate::domain::access::{can_read_statistics, viewer};
use crate::domain::exante::{
    Conclusion, ExAnteFacts, ExAnteRules, ReportFacts, ReviewState, requirement,
};
use crate::domain::project::Project;
use crate::domain::workflow::GoalState;
use crate::state::AppState;
use crate::store::{self};

pub(crate) fn tally(t: &crate::domain::stats::Tally) -> Option<proto::Tally> {
    Some(proto::Tally {
        count: i64::try_from(t.count).unwrap_or(i64::MAX),
        amount: convert::dec(t.amount),
    })
}

fn ex_ante_tallies(x: &crate::domain::stats::ExAnteTallies) -> proto::ExAnteTallies {
    proto::ExAnteTallies {
        required: tally(&x.required),
        reported: tally(&x.reported),
        missing: tally(&x.missing),
        pending_review: tally(&x.pending_review),
        returned: tally(&x.returned),
        supported: tally(&x.supported),
        supported_after_adjustment: tally(&x.supported_after_adjustment),
        not_supported: tally(&x.not_supported),
    }
}

/// The ex-ante facts of projects, with each year's rules and reports loaded once.
struct ExAnteOfYears {
    region: String,
    years: HashMap<i32, (ExAnteRules, HashMap<String, ReportFacts>)>,
}

impl ExAnteOfYears {
    fn new(region: String) -> Self {
        Self {
            region,
            years: HashMap::new(),
        }
    }

    fn facts(
        &mut self,
        conn: &mut pbm_db::AnyConnection,
        project: &Project,
    ) -> Result<ExAnteFacts, ApiError> {
        let fy = project.fiscal_year;
        let year = fy.get();
        if !self.years.contains_key(&year) {
            let rules = rules_in_force(conn, year)?;
            let rules = crate::ops::exante::ex_ante_rules(&rules, &self.region, fy);
            let reports = store::ex_ante_reports_of_year(conn, year)?
                .into_iter()
                .filter_map(|(code, conclusion, review)| {
                    Some((
                        code,
                        ReportFacts {
                            conclusion: Conclusion::from_db(&conclusion)?,
                            review: ReviewState::from_db(&review)?,
                        },
                    ))
                })
                .collect();
            self.years.insert(year, (rules, reports));
        }
        let (rules, reports) = &self.years[&year];
        Ok(ExAnteFacts {
            required: requirement(project, rules).required,
            report: reports.get(project.pro_code.as_str()).copied(),
        })
    }
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
    let region = state.region.to_string();
    let records = state
        .db
        .read(move |conn| -> Result<Vec<StatsRecord>, ApiError> {
            let rows = store::projects_with_goals(conn, year)?;
            let mut ex_ante = ExAnteOfYears::new(region);
            let mut records = Vec::with_capacity(rows.len());
            for (p, goal) in &rows {
                let goal = goal
                    .as_deref()
                    .map(serde_json::from_str::<GoalState>)
                    .transpose()
                    .map_err(internal)?;
                let project = project_from_row(p)?;
                let facts = ex_ante.facts(conn, &project)?;
                records.push(StatsRecord::new(&project, goal).with_ex_ante(facts));
            }
            Ok(records)
        })
        .await?;
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
                ex_ante: Some(ex_ante_tallies(&row.ex_ante)),
            })
            .collect(),
    })
}
