//! Goal statistics by fiscal year, department, fund source and special field: counts and
//! amounts of projects declared, passed at first review, returned, blocked and approved.
//!
//! Rule: docs/DOMAIN.md "Statistics and publication" (by year, department, fund source and
//! special field: declared, passed first review, returned, blocked, approved, with counts and
//! amounts; the provincial platform pulls these statistics); 晋城 2019, a local text named in
//! docs/DOMAIN.md "Sources" ("截止'二下'共申报了900个项目绩效目标,初次审核通过492个,未通过408个,
//! 对于绩效目标审核不通过的项目退回重新填报").
//!
//! Definitions (a project is counted in every column it qualifies for; the columns overlap):
//! * **projects** – every project record given, with or without a goal (晋城 2018: "270个项目
//!   没有目标" is `projects − declared`).
//! * **declared** (申报) – the goal was submitted at least once (二上); a never-submitted draft
//!   is not declared.
//! * **passed first review** (初次审核通过) – the first review of the goal was 优 or 良.
//! * **returned** (初次审核未通过、退回重新填报) – the first review was 中. A goal that later
//!   passes stays counted here, as in the 晋城 figures (492 + 408 = 900).
//! * **blocked** (本年度不予安排) – the goal is blocked now (差 at any review).
//! * **approved** (批复) – an approved version is in force (also while being adjusted).
//!
//! Amounts are the projects' requested amounts in 元 (the approved budget amount is the budget
//! system's, not ours). A goal whose first review was 差 is in `declared` and `blocked` but in
//! neither first-review column; one not yet reviewed is only in `declared`.
//!
//! 部门整体支出 declarations have no fund source or special field; these statistics cover
//! project goals.
//!
//! Ex-ante assessment (事前绩效评估, docs/DOMAIN.md "Ex-ante assessment (事前绩效评估)"), per
//! project of the row, in [`ExAnteTallies`]:
//! * **required** – the rules of the project's year require an assessment
//!   ([`crate::domain::exante::requirement`]);
//! * **reported** – a report was filed (required or voluntary);
//! * **missing** – required and no report (未提供报告，不予审核预算);
//! * **pending review** / **returned** – a filed report finance has not reviewed yet / found
//!   insufficient (论证不充分，退回);
//! * **supported**, **supported after adjustment**, **not supported** – what the report means for
//!   the budget now, as the funding gate reads it ([`crate::domain::exante::gate`]): a 不予支持
//!   conclusion counts as soon as it is stated, a supporting one once finance found it sufficient.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Serialize;

use crate::domain::common::FiscalYear;
use crate::domain::exante::{ExAnteFacts, ExAnteGate, ReviewState, gate};
use crate::domain::project::{DepartmentCode, FundSource, Project, SpecialField};
use crate::domain::workflow::{GoalState, ReviewOutcome, Status};

/// One project with its goal state, as loaded for statistics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsRecord {
    /// 预算年度.
    pub fiscal_year: FiscalYear,
    /// 主管部门.
    pub department_code: DepartmentCode,
    /// Which of the 四本预算.
    pub fund_source: FundSource,
    /// 重点领域.
    pub special_field: SpecialField,
    /// 申请金额 in 元.
    pub requested_amount: Decimal,
    /// The project's goal, if one was created.
    pub goal: Option<GoalState>,
    /// Whether an ex-ante assessment is required, and the latest report.
    pub ex_ante: ExAnteFacts,
}

impl StatsRecord {
    /// The record of `project` with its goal.
    pub fn new(project: &Project, goal: Option<GoalState>) -> Self {
        Self {
            fiscal_year: project.fiscal_year,
            department_code: project.department_code.clone(),
            fund_source: project.fund_source,
            special_field: project.special_field,
            requested_amount: project.requested_amount.yuan(),
            goal,
            ex_ante: ExAnteFacts {
                required: false,
                report: None,
            },
        }
    }

    /// The record with its ex-ante facts.
    pub fn with_ex_ante(mut self, facts: ExAnteFacts) -> Self {
        self.ex_ante = facts;
        self
    }
}

/// Which dimensions to group by; all `false` gives one row of totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct GroupBy {
    /// By 预算年度.
    pub fiscal_year: bool,
    /// By 主管部门.
    pub department: bool,
    /// By 四本预算.
    pub fund_source: bool,
    /// By 重点领域.
    pub special_field: bool,
}

/// The group of a row; a dimension not grouped by is `None`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct StatsKey {
    /// 预算年度, if grouped.
    pub fiscal_year: Option<FiscalYear>,
    /// 主管部门, if grouped.
    pub department_code: Option<DepartmentCode>,
    /// 四本预算, if grouped.
    pub fund_source: Option<FundSource>,
    /// 重点领域, if grouped.
    pub special_field: Option<SpecialField>,
}

/// A count of projects and the sum of their requested amounts (元).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Tally {
    /// Number of projects.
    pub count: u64,
    /// Sum of requested amounts, in 元.
    pub amount: Decimal,
}

impl Tally {
    fn add(&mut self, amount: Decimal) {
        self.count += 1;
        self.amount += amount;
    }
}

/// One row of statistics (see the module doc for the definitions).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
pub struct StatsRow {
    /// All projects.
    pub projects: Tally,
    /// 申报.
    pub declared: Tally,
    /// 初次审核通过.
    pub passed_first_review: Tally,
    /// 初次审核未通过、退回.
    pub returned: Tally,
    /// 本年度不予安排.
    pub blocked: Tally,
    /// 已批复.
    pub approved: Tally,
    /// 事前绩效评估.
    pub ex_ante: ExAnteTallies,
}

/// Ex-ante assessment figures of a row (see the module doc).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
pub struct ExAnteTallies {
    /// 应开展事前绩效评估.
    pub required: Tally,
    /// 已提交评估报告.
    pub reported: Tally,
    /// 应评未评（未提供报告）.
    pub missing: Tally,
    /// 报告待财政审核.
    pub pending_review: Tally,
    /// 论证不充分，已退回.
    pub returned: Tally,
    /// 予以支持.
    pub supported: Tally,
    /// 调整后支持.
    pub supported_after_adjustment: Tally,
    /// 不予支持.
    pub not_supported: Tally,
}

impl ExAnteTallies {
    fn add(&mut self, facts: &ExAnteFacts, amount: Decimal) {
        if facts.required {
            self.required.add(amount);
        }
        if let Some(report) = facts.report {
            self.reported.add(amount);
            match report.review {
                ReviewState::Pending => self.pending_review.add(amount),
                ReviewState::Insufficient => self.returned.add(amount),
                ReviewState::Sufficient => {}
            }
        }
        match gate(facts) {
            ExAnteGate::Missing => self.missing.add(amount),
            ExAnteGate::Supported if facts.report.is_some() => self.supported.add(amount),
            ExAnteGate::SupportedAfterAdjustment => self.supported_after_adjustment.add(amount),
            ExAnteGate::NotSupported => self.not_supported.add(amount),
            _ => {}
        }
    }
}

impl StatsRow {
    /// Adds one record to the row.
    pub fn add(&mut self, r: &StatsRecord) {
        let amount = r.requested_amount;
        self.projects.add(amount);
        self.ex_ante.add(&r.ex_ante, amount);
        let Some(goal) = r.goal else {
            return;
        };
        if goal.status != Status::Draft {
            self.declared.add(amount);
        }
        match goal.first_review {
            Some(ReviewOutcome::Excellent | ReviewOutcome::Good) => {
                self.passed_first_review.add(amount);
            }
            Some(ReviewOutcome::Fair) => self.returned.add(amount),
            Some(ReviewOutcome::Poor) | None => {}
        }
        if goal.status == Status::Blocked {
            self.blocked.add(amount);
        }
        if goal.approved_version.is_some() {
            self.approved.add(amount);
        }
    }
}

fn key(r: &StatsRecord, by: GroupBy) -> StatsKey {
    StatsKey {
        fiscal_year: by.fiscal_year.then_some(r.fiscal_year),
        department_code: by.department.then(|| r.department_code.clone()),
        fund_source: by.fund_source.then_some(r.fund_source),
        special_field: by.special_field.then_some(r.special_field),
    }
}

/// Aggregates `records` into one row per group, sorted by key. No records → no rows.
pub fn aggregate(records: &[StatsRecord], by: GroupBy) -> Vec<(StatsKey, StatsRow)> {
    let mut rows: BTreeMap<StatsKey, StatsRow> = BTreeMap::new();
    for r in records {
        rows.entry(key(r, by)).or_default().add(r);
    }
    rows.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::workflow::{Action, Actor, Role, apply};
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    fn step(s: GoalState, action: Action, role: Role) -> GoalState {
        apply(&s, &action, &Actor::new(role, "x")).unwrap().to
    }

    fn review(outcome: ReviewOutcome) -> Action {
        Action::Review {
            outcome,
            comments: "审核意见".into(),
        }
    }

    fn amend() -> Action {
        Action::Amend {
            changes: vec![crate::domain::goal::FieldChange {
                field: "year_goal".into(),
                before: "a".into(),
                after: "b".into(),
            }],
        }
    }

    fn submitted() -> GoalState {
        step(GoalState::new(), Action::Submit, Role::BudgetUnit)
    }

    fn passed(outcome: ReviewOutcome) -> GoalState {
        let mut s = step(submitted(), review(outcome), Role::Finance);
        if outcome == ReviewOutcome::Good {
            s = step(s, amend(), Role::Finance);
        }
        step(s, Action::Approve, Role::Finance)
    }

    fn returned_then(outcome: Option<ReviewOutcome>) -> GoalState {
        let s = step(submitted(), review(ReviewOutcome::Fair), Role::Expert);
        match outcome {
            None => s,
            Some(ReviewOutcome::Poor) => step(
                step(s, Action::Submit, Role::BudgetUnit),
                review(ReviewOutcome::Poor),
                Role::Finance,
            ),
            Some(_) => {
                let s = step(
                    step(s, Action::Submit, Role::BudgetUnit),
                    review(ReviewOutcome::Excellent),
                    Role::Finance,
                );
                step(s, Action::Approve, Role::Finance)
            }
        }
    }

    fn record(
        dept: &str,
        fund: FundSource,
        field: SpecialField,
        goal: Option<GoalState>,
    ) -> StatsRecord {
        StatsRecord {
            fiscal_year: FiscalYear::new(2019).unwrap(),
            department_code: DepartmentCode::parse(dept).unwrap(),
            fund_source: fund,
            special_field: field,
            requested_amount: dec!(100000.00),
            goal,
            ex_ante: ExAnteFacts {
                required: false,
                report: None,
            },
        }
    }

    fn tally(count: u64) -> Tally {
        Tally {
            count,
            amount: Decimal::from(count) * dec!(100000),
        }
    }

    /// 晋城 2019: 900 goals declared by "二下", 492 passed the first review, 408 did not and
    /// were returned for refilling. Afterwards (our illustration): 380 of the returned pass on
    /// resubmission, 20 are blocked, 8 are still with their units; 5 projects never declared a
    /// goal and 3 drafts were never submitted.
    fn jincheng_2019() -> Vec<StatsRecord> {
        let depts = ["101", "102", "103"];
        let mut records = Vec::new();
        let mut push = |i: usize, goal: Option<GoalState>| {
            let fund = if i.is_multiple_of(10) {
                FundSource::GovernmentFund
            } else {
                FundSource::GeneralPublic
            };
            records.push(record(depts[i % 3], fund, SpecialField::None, goal));
        };
        let mut i = 0;
        let mut next = || {
            i += 1;
            i
        };
        for _ in 0..300 {
            push(next(), Some(passed(ReviewOutcome::Excellent)));
        }
        for _ in 0..192 {
            push(next(), Some(passed(ReviewOutcome::Good)));
        }
        for _ in 0..380 {
            push(next(), Some(returned_then(Some(ReviewOutcome::Excellent))));
        }
        for _ in 0..20 {
            push(next(), Some(returned_then(Some(ReviewOutcome::Poor))));
        }
        for _ in 0..8 {
            push(next(), Some(returned_then(None)));
        }
        for _ in 0..5 {
            push(next(), None);
        }
        for _ in 0..3 {
            push(next(), Some(GoalState::new()));
        }
        records
    }

    #[test]
    fn reproduces_the_jincheng_2019_shape() {
        let rows = aggregate(&jincheng_2019(), GroupBy::default());
        assert_eq!(rows.len(), 1);
        let (key, row) = &rows[0];
        assert_eq!(key.fiscal_year, None);
        assert_eq!(row.projects, tally(908));
        assert_eq!(row.declared, tally(900));
        assert_eq!(row.passed_first_review, tally(492));
        assert_eq!(row.returned, tally(408));
        assert_eq!(row.blocked, tally(20));
        assert_eq!(row.approved, tally(872));
        assert_eq!(row.declared.amount, dec!(90000000.00));
    }

    #[test]
    fn groups_by_department_and_fund_source() {
        let records = jincheng_2019();
        let by_dept = aggregate(
            &records,
            GroupBy {
                department: true,
                ..GroupBy::default()
            },
        );
        assert_eq!(by_dept.len(), 3);
        let codes: Vec<&str> = by_dept
            .iter()
            .map(|(k, _)| k.department_code.as_ref().unwrap().as_str())
            .collect();
        assert_eq!(codes, vec!["101", "102", "103"]);
        let declared: u64 = by_dept.iter().map(|(_, r)| r.declared.count).sum();
        assert_eq!(declared, 900);

        let by_all = aggregate(
            &records,
            GroupBy {
                fiscal_year: true,
                department: true,
                fund_source: true,
                special_field: true,
            },
        );
        assert_eq!(by_all.len(), 6);
        let fund_rows: u64 = by_all
            .iter()
            .filter(|(k, _)| k.fund_source == Some(FundSource::GovernmentFund))
            .map(|(_, r)| r.projects.count)
            .sum();
        assert_eq!(fund_rows, 90);
        assert!(
            by_all
                .iter()
                .all(|(k, _)| k.special_field == Some(SpecialField::None))
        );
        assert!(aggregate(&[], GroupBy::default()).is_empty());
    }

    #[test]
    fn a_first_review_of_poor_counts_as_declared_and_blocked_only() {
        let blocked = step(submitted(), review(ReviewOutcome::Poor), Role::Finance);
        let rows = aggregate(
            &[record(
                "101",
                FundSource::GeneralPublic,
                SpecialField::Ppp,
                Some(blocked),
            )],
            GroupBy::default(),
        );
        let row = rows[0].1;
        assert_eq!((row.declared.count, row.blocked.count), (1, 1));
        assert_eq!(
            (
                row.passed_first_review.count,
                row.returned.count,
                row.approved.count
            ),
            (0, 0, 0)
        );
    }

    #[test]
    fn records_are_built_from_projects() {
        let p = crate::domain::project::tests::project();
        let r = StatsRecord::new(&p, None);
        assert_eq!(r.requested_amount, dec!(6000000.00));
        assert_eq!(r.department_code.as_str(), "101");
        let json = serde_json::to_value(aggregate(&[r], GroupBy::default())).unwrap();
        assert_eq!(
            json[0][1]["projects"],
            serde_json::json!({"count": 1, "amount": "6000000.00"})
        );
    }

    fn arb_ex_ante() -> impl Strategy<Value = ExAnteFacts> {
        use crate::domain::exante::{Conclusion, ReportFacts};
        let report = prop::option::of(
            (
                prop::sample::select(vec![
                    Conclusion::Support,
                    Conclusion::SupportAfterAdjustment,
                    Conclusion::NotSupported,
                ]),
                prop::sample::select(vec![
                    ReviewState::Pending,
                    ReviewState::Sufficient,
                    ReviewState::Insufficient,
                ]),
            )
                .prop_map(|(conclusion, review)| ReportFacts { conclusion, review }),
        );
        (any::<bool>(), report).prop_map(|(required, report)| ExAnteFacts { required, report })
    }

    #[test]
    fn ex_ante_columns_follow_the_report_and_the_gate() {
        use crate::domain::exante::{Conclusion, ReportFacts};
        let base = record("101", FundSource::GeneralPublic, SpecialField::None, None);
        let with = |required, report| base.clone().with_ex_ante(ExAnteFacts { required, report });
        let report = |conclusion, review| Some(ReportFacts { conclusion, review });
        let records = [
            with(true, None),
            with(true, report(Conclusion::Support, ReviewState::Sufficient)),
            with(true, report(Conclusion::Support, ReviewState::Pending)),
            with(
                true,
                report(Conclusion::SupportAfterAdjustment, ReviewState::Sufficient),
            ),
            with(true, report(Conclusion::NotSupported, ReviewState::Pending)),
            with(true, report(Conclusion::Support, ReviewState::Insufficient)),
            with(false, report(Conclusion::Support, ReviewState::Sufficient)),
            with(false, None),
        ];
        let rows = aggregate(&records, GroupBy::default());
        let x = rows[0].1.ex_ante;
        assert_eq!(x.required, tally(6));
        assert_eq!(x.reported, tally(6));
        assert_eq!(x.missing, tally(1));
        assert_eq!(x.pending_review, tally(2));
        assert_eq!(x.returned, tally(1));
        assert_eq!(
            x.supported,
            tally(2),
            "a voluntary sufficient report counts too"
        );
        assert_eq!(x.supported_after_adjustment, tally(1));
        assert_eq!(
            x.not_supported,
            tally(1),
            "不予支持 counts before finance's review"
        );
    }

    fn arb_record() -> impl Strategy<Value = StatsRecord> {
        let goal = prop::option::of(prop::sample::select(vec![
            GoalState::new(),
            submitted(),
            passed(ReviewOutcome::Excellent),
            passed(ReviewOutcome::Good),
            returned_then(None),
            returned_then(Some(ReviewOutcome::Excellent)),
            returned_then(Some(ReviewOutcome::Poor)),
            step(submitted(), review(ReviewOutcome::Poor), Role::Finance),
        ]));
        (
            2019i32..2022,
            prop::sample::select(vec!["101", "102"]),
            prop::sample::select(FundSource::ALL.to_vec()),
            prop::sample::select(SpecialField::ALL.to_vec()),
            1i64..1_000_000_000,
            goal,
            arb_ex_ante(),
        )
            .prop_map(
                |(year, dept, fund, field, cents, goal, ex_ante)| StatsRecord {
                    fiscal_year: FiscalYear::new(year).unwrap(),
                    department_code: DepartmentCode::parse(dept).unwrap(),
                    fund_source: fund,
                    special_field: field,
                    requested_amount: Decimal::new(cents, 2),
                    goal,
                    ex_ante,
                },
            )
    }

    proptest! {
        #[test]
        fn groups_add_up_to_the_totals_and_columns_nest(
            records in prop::collection::vec(arb_record(), 0..60),
            y in any::<bool>(), d in any::<bool>(), f in any::<bool>(), s in any::<bool>()
        ) {
            let totals = aggregate(&records, GroupBy::default());
            let by = GroupBy { fiscal_year: y, department: d, fund_source: f, special_field: s };
            let grouped = aggregate(&records, by);
            let mut sum = StatsRow::default();
            for (_, row) in &grouped {
                for (acc, part) in [
                    (&mut sum.projects, row.projects),
                    (&mut sum.declared, row.declared),
                    (&mut sum.passed_first_review, row.passed_first_review),
                    (&mut sum.returned, row.returned),
                    (&mut sum.blocked, row.blocked),
                    (&mut sum.approved, row.approved),
                    (&mut sum.ex_ante.required, row.ex_ante.required),
                    (&mut sum.ex_ante.reported, row.ex_ante.reported),
                    (&mut sum.ex_ante.missing, row.ex_ante.missing),
                    (&mut sum.ex_ante.pending_review, row.ex_ante.pending_review),
                    (&mut sum.ex_ante.returned, row.ex_ante.returned),
                    (&mut sum.ex_ante.supported, row.ex_ante.supported),
                    (
                        &mut sum.ex_ante.supported_after_adjustment,
                        row.ex_ante.supported_after_adjustment,
                    ),
                    (&mut sum.ex_ante.not_supported, row.ex_ante.not_supported),
                ] {
                    acc.count += part.count;
                    acc.amount += part.amount;
                }
                prop_assert!(row.declared.count <= row.projects.count);
                let first = row.passed_first_review.count + row.returned.count;
                prop_assert!(first <= row.declared.count);
                prop_assert!(row.approved.count <= row.declared.count);
                prop_assert!(row.blocked.count <= row.declared.count);
                prop_assert!(row.approved.count + row.blocked.count <= row.declared.count);
                let x = row.ex_ante;
                prop_assert!(x.reported.count <= row.projects.count);
                prop_assert!(x.missing.count <= x.required.count);
                prop_assert!(x.pending_review.count + x.returned.count <= x.reported.count);
                let decided = x.supported.count + x.supported_after_adjustment.count
                    + x.not_supported.count;
                prop_assert!(decided <= x.reported.count);
                prop_assert!(x.required.count <= x.missing.count + x.reported.count);
            }
            match totals.first() {
                Some((_, t)) => prop_assert_eq!(&sum, t),
                None => prop_assert!(records.is_empty()),
            }
        }
    }
}
