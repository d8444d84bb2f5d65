//! GetRegionStatistics (`pbm.region.v1`; docs/EVALUATION.md "Region statistics"): one region's
//! figures of a fiscal year in the one shape every deployment answers with, for the province's
//! platform and for a city reading its counties (市县联动). Hosted beside evaluation, the end of
//! the loop, which already calls the goal, monitoring and agency services: their statistics are
//! read as the original caller (each service authorises them itself), the self-evaluation's from
//! this service's own database, concurrently, and merged by [`crate::domain::region`].
//!
//! A source that does not answer is listed as UNAVAILABLE with its reason, and its figures are
//! left out — never reported as zeros; a year with no round or no self-evaluation yet is
//! NOT_OPENED. Callers: finance of the region, auditors, the province, and finance of an
//! enclosing region (who stands as an auditor here, `pbm_auth::standing`).

use pbm_auth::{Caller, Role as AuthRole};
use pbm_proto::goal::v1 as goal;
use pbm_proto::monitoring::v1 as mon;
use pbm_proto::region::v1 as rg;
use pbm_server::ApiError;
use rust_decimal::Decimal;

use super::authorise;
use super::rules::year_of;
use crate::convert::campaigns::amount;
use crate::convert::region::{figures_to, pool_figures};
use crate::domain::access::can_read_statistics;
use crate::domain::deadline::{
    DeadlineStatus, counts_as_submitted, deadline_status, effective_deadline,
};
use crate::domain::region::{
    Dimension, ExAnte, Figures, SheetFact, Table, self_evaluation_figures,
};
use crate::state::AppState;
use crate::store;

/// A source's figures: its rows and totals, or its state when it has none.
type Read = Result<(Vec<(String, Figures)>, Figures), rg::Source>;

/// GetRegionStatistics (see the module doc).
pub async fn get(
    state: &AppState,
    caller: Caller,
    authorization: &str,
    m: rg::GetRegionStatisticsRequest,
) -> Result<rg::GetRegionStatisticsResponse, ApiError> {
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
        return Err(ApiError::permission_denied(
            "ROLE_NOT_ALLOWED",
            "区划统计只对财政、审计和省级平台开放",
        ));
    }
    let year = year_of(m.fiscal_year, "fiscal_year")?;
    let group_by = rg::GroupBy::try_from(m.group_by)
        .map_err(|_| ApiError::invalid_field("GROUP_BY_INVALID", "group_by", "分组方式无效"))?;
    let by = match group_by {
        rg::GroupBy::Unspecified => Dimension::None,
        rg::GroupBy::Department => Dimension::Department,
        rg::GroupBy::FundSource => Dimension::FundSource,
        rg::GroupBy::SpecialField => Dimension::SpecialField,
    };
    let (goals, monitoring, evaluation, pool) = tokio::join!(
        goal_figures(state, authorization, year, by),
        monitoring_figures(state, authorization, year, by),
        evaluation_figures(state, year, by),
        state.pool.pool_statistics(authorization),
    );
    let mut table = Table::default();
    let mut sources = Vec::new();
    for (name, read) in [
        ("goals", goals),
        ("monitoring", monitoring),
        ("evaluation", evaluation),
    ] {
        match read {
            Ok((rows, totals)) => {
                table.add_source(rows, &totals);
                sources.push(source(name, rg::SourceState::Read, String::new()));
            }
            Err(not_read) => sources.push(not_read),
        }
    }
    let pool = match pool {
        Ok(p) => {
            sources.push(source("agency_pool", rg::SourceState::Read, String::new()));
            Some(pool_figures(&p))
        }
        Err(status) => {
            sources.push(unavailable("agency_pool", &status));
            None
        }
    };
    Ok(rg::GetRegionStatisticsResponse {
        mof_div_code: state.region.to_string(),
        fiscal_year: year,
        group_by: group_by as i32,
        as_of: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        rows: table
            .rows
            .iter()
            .map(|(key, f)| rg::RegionStatisticsRow {
                key: key.clone(),
                figures: Some(figures_to(f)),
            })
            .collect(),
        totals: Some(figures_to(&table.totals)),
        pool,
        sources,
    })
}

fn source(name: &str, state: rg::SourceState, detail: String) -> rg::Source {
    rg::Source {
        name: name.to_owned(),
        state: state as i32,
        detail,
    }
}

/// A source that did not answer: its status, in the clerk's words and with its code.
fn unavailable(name: &str, status: &tonic::Status) -> rg::Source {
    tracing::warn!(source = name, code = ?status.code(), message = status.message(), "region statistics: a source did not answer");
    source(
        name,
        rg::SourceState::Unavailable,
        format!("未能读取（{:?}）：{}", status.code(), status.message()),
    )
}

/// The goal service's statistics of the year, grouped as asked (its rows partition the year's
/// projects, so their sum is the totals).
async fn goal_figures(state: &AppState, authorization: &str, year: i32, by: Dimension) -> Read {
    let request = goal::GetGoalStatisticsRequest {
        fiscal_year: year,
        by_fiscal_year: false,
        by_department: by == Dimension::Department,
        by_fund_source: by == Dimension::FundSource,
        by_special_field: by == Dimension::SpecialField,
    };
    let answer = state
        .goals
        .statistics(authorization, request)
        .await
        .map_err(|s| unavailable("goals", &s))?;
    let mut totals = Figures::default();
    let mut rows = Vec::new();
    for r in &answer.rows {
        let tally = |t: &Option<goal::Tally>| {
            t.as_ref()
                .map_or((0, Decimal::ZERO), |t| (t.count, amount(&t.amount)))
        };
        let (projects, projects_amount) = tally(&r.projects);
        let (approved, approved_amount) = tally(&r.approved);
        let x = r.ex_ante.clone().unwrap_or_default();
        let (required, required_amount) = tally(&x.required);
        let f = Figures {
            projects,
            projects_amount,
            goals_declared: tally(&r.declared).0,
            goals_approved: approved,
            approved_amount,
            ex_ante: ExAnte {
                required,
                required_amount,
                reported: tally(&x.reported).0,
                missing: tally(&x.missing).0,
                pending_review: tally(&x.pending_review).0,
                returned: tally(&x.returned).0,
                supported: tally(&x.supported).0,
                supported_after_adjustment: tally(&x.supported_after_adjustment).0,
                not_supported: tally(&x.not_supported).0,
            },
            ..Figures::default()
        };
        totals += &f;
        let key = match by {
            Dimension::None => continue,
            Dimension::Department => r.department_code.clone(),
            Dimension::FundSource => r.fund_source().as_str_name().to_owned(),
            Dimension::SpecialField => r.special_field().as_str_name().to_owned(),
        };
        rows.push((key, f));
    }
    Ok((rows, totals))
}

/// The latest monitoring round of the year: its rows of the dimension asked for and its totals.
async fn monitoring_figures(
    state: &AppState,
    authorization: &str,
    year: i32,
    by: Dimension,
) -> Read {
    let Some(answer) = state
        .monitoring
        .latest_round_statistics(authorization, year)
        .await
        .map_err(|s| unavailable("monitoring", &s))?
    else {
        return Err(source(
            "monitoring",
            rg::SourceState::NotOpened,
            format!("{year}年度尚未开展绩效运行监控"),
        ));
    };
    let figures = |r: &mon::RoundStatisticsRow| {
        let red = |c: &Option<mon::ColourCounts>| c.as_ref().map_or(0, |c| c.red);
        Figures {
            monitored: r.subjects,
            monitoring_reported: r.reported,
            deviated: r.deviated,
            red_warnings: red(&r.budget) + red(&r.goal),
            monitored_amount: amount(&r.amount),
            executed: amount(&r.executed),
            ..Figures::default()
        }
    };
    // The round's rows come one grouping at a time (department, fund source, special field).
    let rows = answer
        .rows
        .iter()
        .filter_map(|r| {
            let key = match by {
                Dimension::None => return None,
                Dimension::Department if !r.department_code.is_empty() => r.department_code.clone(),
                Dimension::FundSource if r.fund_source != 0 => {
                    r.fund_source().as_str_name().to_owned()
                }
                Dimension::SpecialField if r.special_field != 0 => {
                    r.special_field().as_str_name().to_owned()
                }
                _ => return None,
            };
            Some((key, figures(r)))
        })
        .collect();
    let totals = answer.totals.as_ref().map(figures).unwrap_or_default();
    Ok((rows, totals))
}

/// The year's self-evaluation, from this service's database.
async fn evaluation_figures(state: &AppState, year: i32, by: Dimension) -> Read {
    let today = state.today();
    let read = state
        .db
        .read(move |conn| -> Result<_, ApiError> {
            let Some(campaign) = store::campaign_of_year(conn, year)? else {
                return Ok(None);
            };
            let sheets = store::sheet_figures(conn, campaign.id)?;
            let reopened = store::unit_deadlines(conn, campaign.id)?;
            let facts = sheets.iter().map(|s| {
                let deadline =
                    effective_deadline(campaign.deadline, reopened.get(&s.agency_code).copied());
                SheetFact {
                    department_code: &s.department_code,
                    fund_source: &s.fund_source,
                    special_field: &s.special_field,
                    submitted: counts_as_submitted(&s.status),
                    overdue: deadline_status(&s.status, today, deadline, campaign.lead_days)
                        == DeadlineStatus::Overdue,
                    grade: &s.grade,
                }
            });
            Ok(Some(self_evaluation_figures(facts, by)))
        })
        .await;
    match read {
        Ok(Some(figures)) => Ok(figures),
        Ok(None) => Err(source(
            "evaluation",
            rg::SourceState::NotOpened,
            format!("{year}年度尚未开展单位自评"),
        )),
        Err(e) => Err(source(
            "evaluation",
            rg::SourceState::Unavailable,
            format!("未能读取：{}（{}）", e.message, e.reason),
        )),
    }
}
