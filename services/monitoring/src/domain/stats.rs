//! Statistics of a monitoring round, by department, fund source and special field: counts and
//! amounts (元) of the subjects matched to an approved goal, without one, reported, overdue,
//! each colour per axis, deviated, and the corrective actions opened and verified.
//!
//! Rule: docs/DOMAIN.md "Statistics and publication" (by department, fund source and special
//! field, with counts and amounts; the provincial platform pulls these statistics) and
//! docs/DOMAIN.md "Key monitoring (重点监控)" (晋城 2018: 680 matching their goals, 270 with no
//! goal, 92 deviating). The design: docs/drafts/MONITORING.md §3 "Statistics".
//!
//! Definitions (a subject is counted in every column it qualifies for):
//! * **subjects** – every subject of the round in the caller's scope (statistics are computed
//!   after scope is applied).
//! * **matched** – goal state APPROVED; **without goal** – NO_GOAL or NOT_APPROVED (晋城's
//!   "270 with no goal" counts projects without an approved goal).
//! * **reported** – the report is SUBMITTED, CHECKED or ACCEPTED.
//! * **overdue** – the report's deadline status is OVERDUE today (given by the caller).
//! * **colours** – per project-level axis (budget, goal, forecast, execution forecast), with
//!   `none` for no colour.
//! * **deviated** – the subject's `deviated` flag ([`crate::domain::bands::deviated`]).
//! * **actions opened / verified** – counts of corrective actions, not of subjects.
//! * **executed** – the sum of the subjects' cumulative execution (元) of the latest month up
//!   to the round's month M (given by the caller).
//!
//! Amounts are the subjects' amounts in 元 as snapshotted at opening.

use std::collections::BTreeMap;

use pbm_types::Decimal;
use serde::Serialize;

use crate::domain::bands::Colour;
use crate::domain::report_workflow::ReportStatus;
use crate::domain::subject::GoalState;

/// One round subject, as loaded for statistics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsSubject {
    /// 主管部门.
    pub department_code: String,
    /// Fund source (四本预算) as stored.
    pub fund_source: String,
    /// Special field (重点领域) as stored.
    pub special_field: String,
    /// The subject's amount in 元.
    pub amount: Decimal,
    /// Its goal state at opening.
    pub goal_state: GoalState,
    /// Its report's status, if there is a report.
    pub report_status: Option<ReportStatus>,
    /// Its deadline status is OVERDUE.
    pub overdue: bool,
    /// Colour of the budget axis.
    pub budget: Option<Colour>,
    /// Colour of the goal axis.
    pub goal: Option<Colour>,
    /// Colour of the forecast axis.
    pub forecast: Option<Colour>,
    /// Colour of the execution forecast.
    pub execution_forecast: Option<Colour>,
    /// On the deviation list.
    pub deviated: bool,
    /// Corrective actions opened on it.
    pub actions_opened: u64,
    /// Of those, verified.
    pub actions_verified: u64,
    /// Its cumulative execution (元) of the latest month up to the round's month M.
    pub executed: Decimal,
}

/// Which dimensions to group by; all `false` gives one row of totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct GroupBy {
    /// By 主管部门.
    pub department: bool,
    /// By fund source.
    pub fund_source: bool,
    /// By special field.
    pub special_field: bool,
}

/// The group of a row; a dimension not grouped by is `None`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct StatsKey {
    /// 主管部门, if grouped.
    pub department_code: Option<String>,
    /// Fund source, if grouped.
    pub fund_source: Option<String>,
    /// Special field, if grouped.
    pub special_field: Option<String>,
}

/// A count of subjects and the sum of their amounts (元).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Tally {
    /// Number of subjects.
    pub count: u64,
    /// Sum of their amounts, in 元.
    pub amount: Decimal,
}

impl Tally {
    fn add(&mut self, amount: Decimal) {
        self.count += 1;
        self.amount += amount;
    }
}

/// Subjects per colour of one axis.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
pub struct ColourTally {
    /// 蓝
    pub blue: Tally,
    /// 绿
    pub green: Tally,
    /// 黄
    pub yellow: Tally,
    /// 红
    pub red: Tally,
    /// No colour.
    pub none: Tally,
}

impl ColourTally {
    fn add(&mut self, colour: Option<Colour>, amount: Decimal) {
        match colour {
            Some(Colour::Blue) => self.blue.add(amount),
            Some(Colour::Green) => self.green.add(amount),
            Some(Colour::Yellow) => self.yellow.add(amount),
            Some(Colour::Red) => self.red.add(amount),
            None => self.none.add(amount),
        }
    }

    /// The tally of one colour (`None`: no colour).
    pub fn of(&self, colour: Option<Colour>) -> Tally {
        match colour {
            Some(Colour::Blue) => self.blue,
            Some(Colour::Green) => self.green,
            Some(Colour::Yellow) => self.yellow,
            Some(Colour::Red) => self.red,
            None => self.none,
        }
    }
}

/// One row of statistics (see the module doc for the definitions).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
pub struct StatsRow {
    /// Every subject.
    pub subjects: Tally,
    /// With an approved goal.
    pub matched: Tally,
    /// Without an approved goal.
    pub without_goal: Tally,
    /// Reported.
    pub reported: Tally,
    /// Overdue.
    pub overdue: Tally,
    /// Budget axis colours.
    pub budget: ColourTally,
    /// Goal axis colours.
    pub goal: ColourTally,
    /// Forecast axis colours.
    pub forecast: ColourTally,
    /// Execution forecast colours.
    pub execution_forecast: ColourTally,
    /// Deviated.
    pub deviated: Tally,
    /// Corrective actions opened.
    pub actions_opened: u64,
    /// Corrective actions verified.
    pub actions_verified: u64,
    /// Cumulative execution (元).
    pub executed: Decimal,
}

impl StatsRow {
    /// Adds one subject to the row.
    pub fn add(&mut self, s: &StatsSubject) {
        let amount = s.amount;
        self.subjects.add(amount);
        match s.goal_state {
            GoalState::Approved => self.matched.add(amount),
            GoalState::NoGoal | GoalState::NotApproved => self.without_goal.add(amount),
        }
        if s.report_status.is_some_and(ReportStatus::is_submitted) {
            self.reported.add(amount);
        }
        if s.overdue {
            self.overdue.add(amount);
        }
        self.budget.add(s.budget, amount);
        self.goal.add(s.goal, amount);
        self.forecast.add(s.forecast, amount);
        self.execution_forecast.add(s.execution_forecast, amount);
        if s.deviated {
            self.deviated.add(amount);
        }
        self.actions_opened += s.actions_opened;
        self.actions_verified += s.actions_verified;
        self.executed += s.executed;
    }
}

fn key(s: &StatsSubject, by: GroupBy) -> StatsKey {
    StatsKey {
        department_code: by.department.then(|| s.department_code.clone()),
        fund_source: by.fund_source.then(|| s.fund_source.clone()),
        special_field: by.special_field.then(|| s.special_field.clone()),
    }
}

/// Aggregates `subjects` into one row per group, sorted by key. No subjects → no rows.
pub fn aggregate(subjects: &[StatsSubject], by: GroupBy) -> Vec<(StatsKey, StatsRow)> {
    let mut rows: BTreeMap<StatsKey, StatsRow> = BTreeMap::new();
    for s in subjects {
        rows.entry(key(s, by)).or_default().add(s);
    }
    rows.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    fn subject(dept: &str, goal_state: GoalState, goal: Option<Colour>) -> StatsSubject {
        StatsSubject {
            department_code: dept.into(),
            fund_source: "general_public".into(),
            special_field: "none".into(),
            amount: dec!(1000000.00),
            goal_state,
            report_status: Some(ReportStatus::Submitted),
            overdue: false,
            budget: Some(Colour::Green),
            goal,
            forecast: goal,
            execution_forecast: None,
            deviated: goal.is_some_and(Colour::is_deviation),
            actions_opened: 0,
            actions_verified: 0,
            executed: Decimal::ZERO,
        }
    }

    #[test]
    fn a_round_by_department() {
        let mut unreported = subject("102", GoalState::NoGoal, None);
        unreported.report_status = Some(ReportStatus::Draft);
        unreported.overdue = true;
        let mut red = subject("101", GoalState::Approved, Some(Colour::Red));
        red.actions_opened = 2;
        red.actions_verified = 1;
        let rows = aggregate(
            &[
                red,
                subject("101", GoalState::Approved, Some(Colour::Green)),
                unreported,
                subject("102", GoalState::NotApproved, None),
            ],
            GroupBy {
                department: true,
                ..GroupBy::default()
            },
        );
        assert_eq!(rows.len(), 2);
        let (k101, r101) = &rows[0];
        assert_eq!(k101.department_code.as_deref(), Some("101"));
        assert_eq!(k101.fund_source, None);
        assert_eq!(
            r101.subjects,
            Tally {
                count: 2,
                amount: dec!(2000000.00)
            }
        );
        assert_eq!(r101.matched.count, 2);
        assert_eq!(r101.goal.of(Some(Colour::Red)).count, 1);
        assert_eq!(r101.goal.of(Some(Colour::Green)).count, 1);
        assert_eq!(r101.deviated.count, 1);
        assert_eq!((r101.actions_opened, r101.actions_verified), (2, 1));
        let (_, r102) = &rows[1];
        assert_eq!(
            r102.without_goal,
            Tally {
                count: 2,
                amount: dec!(2000000.00)
            }
        );
        assert_eq!(r102.reported.count, 1);
        assert_eq!(r102.overdue.count, 1);
        assert_eq!(r102.goal.of(None).count, 2);
        assert_eq!(r102.execution_forecast.none.count, 2);
        assert!(aggregate(&[], GroupBy::default()).is_empty());
    }

    proptest! {
        /// Grouped rows add up to the totals, and each axis's colours add up to the subjects.
        #[test]
        fn groups_add_up_to_the_total(
            items in prop::collection::vec(
                (prop::sample::select(vec!["101", "102", "103"]),
                 prop::sample::select(GoalState::ALL.to_vec()),
                 prop::option::of(prop::sample::select(Colour::ALL.to_vec())),
                 0i64..100_000_000),
                0..30)
        ) {
            let subjects: Vec<_> = items.iter().map(|(d, g, c, cents)| StatsSubject {
                amount: Decimal::new(*cents, 2),
                ..subject(d, *g, *c)
            }).collect();
            let total = aggregate(&subjects, GroupBy::default());
            let by_dept = aggregate(&subjects, GroupBy { department: true, ..GroupBy::default() });
            if subjects.is_empty() {
                prop_assert!(total.is_empty());
                return Ok(());
            }
            let t = total[0].1;
            let count: u64 = by_dept.iter().map(|(_, r)| r.subjects.count).sum();
            let amount: Decimal = by_dept.iter().map(|(_, r)| r.subjects.amount).sum();
            prop_assert_eq!((count, amount), (t.subjects.count, t.subjects.amount));
            prop_assert_eq!(t.matched.count + t.without_goal.count, t.subjects.count);
            let colours: u64 = [Some(Colour::Blue), Some(Colour::Green), Some(Colour::Yellow), Some(Colour::Red), None]
                .iter().map(|c| t.goal.of(*c).count).sum();
            prop_assert_eq!(colours, t.subjects.count);
        }
    }
}
