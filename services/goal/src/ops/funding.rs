//! The funding gate: may a project be funded (an approved goal, an ex-ante assessment where due)?

use pbm_auth::Caller;
use pbm_proto::goal::v1 as proto;
use pbm_server::ApiError;

use super::projects::project_from_row;
use super::rules::{rules_in_force, rules_label};
use super::state_of;
use crate::domain::FiscalYear;
use crate::domain::access::{can_check_funding, viewer};
use crate::domain::exante::{self, Conclusion, ExAnteFacts, ReportFacts, ReviewState};
use crate::domain::funding::{FundingFacts, check_funding_eligibility};
use crate::state::AppState;
use crate::store::{self, GoalRow, ProjectRow};

/// CheckFundingEligibility for a batch of projects (finance, auditors, the province, and the
/// budget system acting as finance): allowed, or every reason why not.
pub async fn funding(
    state: &AppState,
    caller: Caller,
    m: proto::CheckFundingEligibilityRequest,
) -> Result<proto::CheckFundingEligibilityResponse, ApiError> {
    can_check_funding(&viewer(&caller, &state.region)?)?;
    crate::convert::limits::check(&m)?;
    let (year, codes) = (m.fiscal_year, m.pro_codes);
    let fy = FiscalYear::new(year)
        .map_err(|e| ApiError::invalid_field(e.reason, "fiscal_year", e.message))?;
    let codes: Vec<String> = codes.iter().map(|c| c.trim().to_owned()).collect();
    if codes.is_empty() || codes.len() > 5000 || codes.iter().any(String::is_empty) {
        return Err(ApiError::invalid_field(
            "PRO_CODES_INVALID",
            "pro_codes",
            "请提供 1–5000 个非空项目编码",
        ));
    }
    let region = state.region.to_string();
    let results = state
        .db
        .read(move |conn| -> Result<_, ApiError> {
            let rules = rules_in_force(conn, year)?;
            let label = rules_label(&rules);
            let ex_ante_rules = crate::ops::exante::ex_ante_rules(&rules, &region, fy);
            let reports: std::collections::HashMap<String, ReportFacts> =
                store::ex_ante_facts(conn, year, &codes)?
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
            let projects: std::collections::HashMap<String, ProjectRow> =
                store::projects(conn, year, &codes)?
                    .into_iter()
                    .map(|p| (p.pro_code.clone(), p))
                    .collect();
            let goals: std::collections::HashMap<String, GoalRow> =
                store::goals_of_projects(conn, year, &codes)?
                    .into_iter()
                    .map(|g| (g.target_code.clone(), g))
                    .collect();
            codes
                .iter()
                .map(|code| {
                    let required = match projects.get(code) {
                        Some(p) => {
                            exante::requirement(&project_from_row(p)?, &ex_ante_rules).required
                        }
                        None => false,
                    };
                    let goal = goals.get(code).map(state_of).transpose()?;
                    let answer = check_funding_eligibility(&FundingFacts {
                        goal,
                        ex_ante: ExAnteFacts {
                            required,
                            report: reports.get(code).copied(),
                        },
                    });
                    let mut reasons: Vec<proto::FundingReason> = answer
                        .reasons
                        .iter()
                        .map(|r| crate::convert::funding_reason_to(*r))
                        .collect();
                    if !projects.contains_key(code) {
                        reasons.insert(
                            0,
                            proto::FundingReason {
                                code: "PROJECT_NOT_FOUND".into(),
                                message: format!("{year}年度项目「{code}」未在项目库登记"),
                            },
                        );
                    }
                    Ok(proto::FundingEligibility {
                        pro_code: code.clone(),
                        allowed: answer.allowed && projects.contains_key(code),
                        reasons,
                        rules: label.clone(),
                    })
                })
                .collect()
        })
        .await?;
    Ok(proto::CheckFundingEligibilityResponse { results })
}
