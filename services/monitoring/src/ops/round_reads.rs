//! Reading rounds (docs/drafts/MONITORING.md §1, §3): GetRound, ListRounds, ListRoundSubjects,
//! GetRoundSubject, ListUnitDeadlines and GetRoundStatistics.
//!
//! The project's choices:
//! * **Rounds are not secret, subjects are.** Every reader of the region sees every round
//!   (its name, dates and rules); the counts a round carries are of the subjects the caller
//!   sees. Subjects are narrowed by `domain::access`: a unit its own, a department its units'
//!   and its own 部门整体, an agency the subjects commissioned to it; a subject outside the
//!   caller's scope is NOT_FOUND, never PERMISSION_DENIED.
//! * **Deadline status** per subject and per unit (`domain::deadline`), from the round's
//!   deadline or the unit's reopened one, the subject's report status (kept by the report
//!   service) and the report's last submission date.
//! * **Statistics** (finance, auditors, the province) are grouped three ways — by department,
//!   by fund source, by special field (one grouping per row, the others unspecified) — with a
//!   totals row; counts and amounts in 元. `executed` is the cumulative execution of the latest
//!   month ≤ M.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use pbm_auth::{Caller, Role as AuthRole};
use pbm_db::AnyConnection;
use pbm_proto::monitoring::v1 as mon;
use pbm_server::ApiError;
use pbm_server::paging::Page;
use pbm_types::Decimal;

use super::{authorise, round_not_found, round_of, subject_in_view};
use crate::convert::rounds::{
    date, deadline_to, goal_state_word, indicator_to, round_to, statistics_row_to, status_word,
    subject_to,
};
use crate::domain::access;
use crate::domain::access::{ListFilter, Viewer, can_read_statistics, list_filter};
use crate::domain::bands::Colour;
use crate::domain::deadline::{self, DeadlineStatus};
use crate::domain::report_workflow::ReportStatus;
use crate::domain::stats::{GroupBy, StatsKey, StatsSubject, aggregate};
use crate::domain::subject::GoalState;
use crate::state::AppState;
use crate::store::{self, RoundRow, SubjectFilter, SubjectRow};

const ROUND_READERS: &[AuthRole] = &[
    AuthRole::FinanceAdmin,
    AuthRole::Department,
    AuthRole::BudgetUnit,
    AuthRole::Auditor,
    AuthRole::Province,
];
const SUBJECT_READERS: &[AuthRole] = &[
    AuthRole::FinanceAdmin,
    AuthRole::Department,
    AuthRole::BudgetUnit,
    AuthRole::Agency,
    AuthRole::Auditor,
];
const DEADLINE_READERS: &[AuthRole] = &[
    AuthRole::FinanceAdmin,
    AuthRole::Department,
    AuthRole::BudgetUnit,
    AuthRole::Auditor,
];
const STATISTICS_READERS: &[AuthRole] = &[
    AuthRole::FinanceAdmin,
    AuthRole::Auditor,
    AuthRole::Province,
];

/// The subjects of `round_id` a viewer sees, as a store filter (`None`: none at all).
fn scope_filter(
    conn: &mut AnyConnection,
    viewer: &Viewer,
    round_id: i64,
) -> Result<Option<SubjectFilter>, ApiError> {
    let mut f = SubjectFilter::default();
    match list_filter(viewer) {
        ListFilter::All => {}
        ListFilter::Department(d) => f.department_code = Some(d),
        ListFilter::Unit(u) => f.agency_code = Some(u),
        ListFilter::Agency(a) => f.keys = Some(store::commissioned_keys(conn, round_id, &a)?),
        ListFilter::None => return Ok(None),
    }
    Ok(Some(f))
}

/// The counts of a round over the subjects the viewer sees.
fn counts_seen(
    conn: &mut AnyConnection,
    viewer: &Viewer,
    round: &RoundRow,
) -> Result<(i64, i64, i64), ApiError> {
    if matches!(list_filter(viewer), ListFilter::All) || viewer.role == access::Role::Province {
        let counts = store::round_counts(conn, &[round.id])?;
        return Ok(counts.get(&round.id).copied().unwrap_or_default());
    }
    let Some(f) = scope_filter(conn, viewer, round.id)? else {
        return Ok((0, 0, 0));
    };
    let subjects = store::list_subjects(conn, round.id, &f, 0, i64::MAX)?.0;
    Ok((
        subjects.len() as i64,
        subjects
            .iter()
            .filter(|s| s.goal_state == "approved")
            .count() as i64,
        subjects.iter().filter(|s| s.deviated).count() as i64,
    ))
}

pub async fn get(
    state: &AppState,
    caller: Caller,
    m: mon::GetRoundRequest,
) -> Result<mon::GetRoundResponse, ApiError> {
    let viewer = authorise(&caller, state, ROUND_READERS, false)?;
    state
        .db
        .read(move |conn| {
            let round = round_of(conn, m.round_id)?;
            let counts = counts_seen(conn, &viewer, &round)?;
            Ok(mon::GetRoundResponse {
                round: Some(round_to(&round, counts)),
            })
        })
        .await
}

pub async fn list(
    state: &AppState,
    caller: Caller,
    m: mon::ListRoundsRequest,
) -> Result<mon::ListRoundsResponse, ApiError> {
    let viewer = authorise(&caller, state, ROUND_READERS, false)?;
    let page = m.page.unwrap_or_default();
    let page = Page::parse(page.page_size, &page.page_token)?;
    let year = match m.fiscal_year {
        0 => None,
        y => Some(
            pbm_types::FiscalYear::new(y)
                .map(i32::from)
                .map_err(|e| ApiError::invalid_field(e.reason, "fiscal_year", e.message))?,
        ),
    };
    let status = status_word(m.status);
    state
        .db
        .read(move |conn| {
            let (rows, total) = store::list_rounds(conn, year, status, page.offset, page.limit)?;
            let mut rounds = Vec::with_capacity(rows.len());
            for r in &rows {
                let counts = counts_seen(conn, &viewer, r)?;
                rounds.push(round_to(r, counts));
            }
            Ok(mon::ListRoundsResponse {
                rounds,
                page: Some(pbm_proto::common::v1::PageResponse {
                    next_page_token: page.next_token(total),
                    total_size: total,
                }),
            })
        })
        .await
}

/// What the deadline status of a round's subjects is computed from.
pub(crate) struct Deadlines {
    round_deadline: NaiveDate,
    lead_days: u32,
    overrides: HashMap<String, Option<NaiveDate>>,
    submitted_on: HashMap<String, NaiveDate>,
    today: NaiveDate,
}

impl Deadlines {
    pub(crate) fn read(
        conn: &mut AnyConnection,
        round: &RoundRow,
        today: NaiveDate,
    ) -> Result<Self, ApiError> {
        Ok(Deadlines {
            round_deadline: round.deadline,
            lead_days: u32::try_from(round.lead_days).unwrap_or(0),
            overrides: store::units(conn, round.id)?
                .into_iter()
                .map(|u| (u.agency_code, u.deadline_override))
                .collect(),
            submitted_on: store::submitted_on(conn, round.id)?,
            today,
        })
    }

    fn effective(&self, agency_code: &str) -> NaiveDate {
        deadline::effective_deadline(
            self.round_deadline,
            self.overrides.get(agency_code).copied().flatten(),
        )
    }

    pub(crate) fn of(&self, s: &SubjectRow) -> DeadlineStatus {
        let submitted = matches!(
            s.report_status.as_str(),
            "submitted" | "checked" | "accepted"
        );
        let on = submitted.then(|| {
            self.submitted_on
                .get(&s.subject_key)
                .copied()
                .unwrap_or(self.today)
        });
        deadline::status(
            self.today,
            self.effective(&s.agency_code),
            self.lead_days,
            on,
        )
    }
}

pub async fn subjects(
    state: &AppState,
    caller: Caller,
    m: mon::ListRoundSubjectsRequest,
) -> Result<mon::ListRoundSubjectsResponse, ApiError> {
    let viewer = authorise(&caller, state, SUBJECT_READERS, false)?;
    crate::convert::limits::check(&m)?;
    let page = m.page.clone().unwrap_or_default();
    let page = Page::parse(page.page_size, &page.page_token)?;
    let today = state.today();
    state
        .db
        .read(move |conn| {
            let round = round_of(conn, m.round_id)?;
            let empty = || mon::ListRoundSubjectsResponse {
                subjects: Vec::new(),
                page: Some(pbm_proto::common::v1::PageResponse {
                    next_page_token: String::new(),
                    total_size: 0,
                }),
            };
            let Some(mut f) = scope_filter(conn, &viewer, round.id)? else {
                return Ok(empty());
            };
            let nonempty = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
            f.also_agency_code = nonempty(&m.agency_code);
            f.also_department_code = nonempty(&m.department_code);
            f.goal_state = goal_state_word(m.goal_state).map(str::to_owned);
            f.deviated_only = m.deviated_only;
            f.key_only = m.key_only;
            let (rows, total) = store::list_subjects(conn, round.id, &f, page.offset, page.limit)?;
            let deadlines = Deadlines::read(conn, &round, today)?;
            Ok(mon::ListRoundSubjectsResponse {
                subjects: rows
                    .iter()
                    .map(|s| subject_to(s, deadlines.of(s)))
                    .collect(),
                page: Some(pbm_proto::common::v1::PageResponse {
                    next_page_token: page.next_token(total),
                    total_size: total,
                }),
            })
        })
        .await
}

pub async fn subject(
    state: &AppState,
    caller: Caller,
    m: mon::GetRoundSubjectRequest,
) -> Result<mon::GetRoundSubjectResponse, ApiError> {
    let viewer = authorise(&caller, state, SUBJECT_READERS, false)?;
    crate::convert::limits::check(&m)?;
    let today = state.today();
    state
        .db
        .read(move |conn| {
            let round = round_of(conn, m.round_id)?;
            let s = subject_in_view(conn, &list_filter(&viewer), round.id, m.subject_key.trim())?;
            let keys = [s.subject_key.clone()];
            let indicators = store::indicators_of(conn, round.id, Some(&keys))?
                .remove(&s.subject_key)
                .unwrap_or_default();
            let deadlines = Deadlines::read(conn, &round, today)?;
            Ok(mon::GetRoundSubjectResponse {
                subject: Some(subject_to(&s, deadlines.of(&s))),
                indicators: indicators.iter().map(indicator_to).collect(),
            })
        })
        .await
}

/// The deadline status of a round's units (of `only` when given), worst report first within
/// each unit, by agency code.
pub(crate) fn unit_deadlines(
    conn: &mut AnyConnection,
    round: &RoundRow,
    today: NaiveDate,
    only: Option<&str>,
) -> Result<Vec<mon::UnitDeadline>, ApiError> {
    let deadlines = Deadlines::read(conn, round, today)?;
    let mut f = SubjectFilter::default();
    if let Some(a) = only {
        f.agency_code = Some(a.to_owned());
    }
    let subjects = store::list_subjects(conn, round.id, &f, 0, i64::MAX)?.0;
    let mut by_unit: BTreeMap<&str, Vec<&SubjectRow>> = BTreeMap::new();
    for s in &subjects {
        by_unit.entry(s.agency_code.as_str()).or_default().push(s);
    }
    let units: HashMap<String, store::UnitRow> = store::units(conn, round.id)?
        .into_iter()
        .map(|u| (u.agency_code.clone(), u))
        .collect();
    Ok(by_unit
        .into_iter()
        .map(|(agency, list)| {
            let statuses: Vec<DeadlineStatus> = list.iter().map(|s| deadlines.of(s)).collect();
            let worst =
                deadline::unit_status(statuses.iter().copied()).unwrap_or(DeadlineStatus::Normal);
            let unit = units.get(agency);
            mon::UnitDeadline {
                agency_code: agency.to_owned(),
                department_code: list[0].department_code.clone(),
                status: deadline_to(worst).0 as i32,
                deadline: date(deadlines.effective(agency)),
                reopened: unit.map_or(0, |u| u.reopened),
                reports: list.len() as i64,
                submitted: statuses
                    .iter()
                    .filter(|s| matches!(s, DeadlineStatus::Submitted { .. }))
                    .count() as i64,
                late: statuses
                    .iter()
                    .any(|s| matches!(s, DeadlineStatus::Submitted { late: true })),
            }
        })
        .collect())
}

pub async fn deadlines(
    state: &AppState,
    caller: Caller,
    m: mon::ListUnitDeadlinesRequest,
) -> Result<mon::ListUnitDeadlinesResponse, ApiError> {
    let viewer = authorise(&caller, state, DEADLINE_READERS, false)?;
    let page = m.page.unwrap_or_default();
    let page = Page::parse(page.page_size, &page.page_token)?;
    let today = state.today();
    state
        .db
        .read(move |conn| {
            let round = round_of(conn, m.round_id)?;
            let filter = list_filter(&viewer);
            let only = match &filter {
                ListFilter::Unit(u) => Some(u.as_str()),
                _ => None,
            };
            let all = unit_deadlines(conn, &round, today, only)?;
            let units: Vec<mon::UnitDeadline> = all
                .into_iter()
                .filter(|u| match &filter {
                    ListFilter::All => true,
                    ListFilter::Department(d) => &u.department_code == d,
                    ListFilter::Unit(a) => &u.agency_code == a,
                    ListFilter::Agency(_) | ListFilter::None => false,
                })
                .filter(|u| m.status == 0 || u.status == m.status)
                .collect();
            let total = units.len() as i64;
            let units = units
                .into_iter()
                .skip(usize::try_from(page.offset).unwrap_or(usize::MAX))
                .take(usize::try_from(page.limit).unwrap_or(0))
                .collect();
            Ok(mon::ListUnitDeadlinesResponse {
                units,
                page: Some(pbm_proto::common::v1::PageResponse {
                    next_page_token: page.next_token(total),
                    total_size: total,
                }),
            })
        })
        .await
}

pub async fn statistics(
    state: &AppState,
    caller: Caller,
    m: mon::GetRoundStatisticsRequest,
) -> Result<mon::GetRoundStatisticsResponse, ApiError> {
    let viewer = authorise(&caller, state, STATISTICS_READERS, false)?;
    if !can_read_statistics(&viewer) {
        return Err(round_not_found(m.round_id));
    }
    let today = state.today();
    state
        .db
        .read(move |conn| {
            let round = round_of(conn, m.round_id)?;
            let subjects = store::subjects_of(conn, round.id, None)?;
            let deadlines = Deadlines::read(conn, &round, today)?;
            let actions = store::action_counts(conn, round.id)?;
            let execution = store::execution_until(conn, round.fiscal_year, round.months_to, None)?;
            let stats: Vec<StatsSubject> = subjects
                .iter()
                .map(|s| {
                    let (opened, verified) =
                        actions.get(&s.subject_key).copied().unwrap_or_default();
                    StatsSubject {
                        department_code: s.department_code.clone(),
                        fund_source: s.fund_source.clone(),
                        special_field: s.special_field.clone(),
                        amount: s.amount.0,
                        goal_state: GoalState::from_db(&s.goal_state)
                            .unwrap_or(GoalState::NotApproved),
                        report_status: ReportStatus::from_db(&s.report_status),
                        overdue: deadlines.of(s) == DeadlineStatus::Overdue,
                        budget: Colour::from_db(&s.budget_colour),
                        goal: Colour::from_db(&s.goal_colour),
                        forecast: Colour::from_db(&s.forecast_colour),
                        execution_forecast: Colour::from_db(&s.execution_forecast_colour),
                        deviated: s.deviated,
                        actions_opened: u64::try_from(opened).unwrap_or(0),
                        actions_verified: u64::try_from(verified).unwrap_or(0),
                        executed: execution
                            .get(&s.pro_code)
                            .and_then(|months| months.last())
                            .map_or(Decimal::ZERO, |m| m.executed.0),
                    }
                })
                .collect();
            // One grouping per row (department, fund source, special field), then the totals.
            let rows = [
                GroupBy {
                    department: true,
                    ..GroupBy::default()
                },
                GroupBy {
                    fund_source: true,
                    ..GroupBy::default()
                },
                GroupBy {
                    special_field: true,
                    ..GroupBy::default()
                },
            ]
            .into_iter()
            .flat_map(|by| aggregate(&stats, by))
            .map(|(key, row)| statistics_row_to(&key, &row))
            .collect();
            let no_group = StatsKey {
                department_code: None,
                fund_source: None,
                special_field: None,
            };
            let totals = aggregate(&stats, GroupBy::default())
                .pop()
                .map(|(_, row)| row)
                .unwrap_or_default();
            let counts = store::round_counts(conn, &[round.id])?;
            Ok(mon::GetRoundStatisticsResponse {
                round: Some(round_to(
                    &round,
                    counts.get(&round.id).copied().unwrap_or_default(),
                )),
                rows,
                totals: Some(statistics_row_to(&no_group, &totals)),
            })
        })
        .await
}
