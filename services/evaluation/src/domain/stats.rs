//! The statistics of a self-evaluation (docs/DOMAIN.md "Statistics and publication";
//! docs/EVALUATION.md "Statistics"): per group of department, fund source and grade — any of
//! them, or none for the totals only — how many sheets are covered, submitted (submitted,
//! reviewed or received) and overdue, the grades of the submitted ones, and the amounts.
//!
//! The project's choices:
//! * Grouped by grade, a sheet counts under its grade only once submitted; the others (their
//!   draft's score is not a result yet) form the group without a grade.
//! * Amounts are exact (元), budget and executed of every covered sheet and the budget of the
//!   submitted ones. A 部门整体 sheet counts like a project (its figures are its projects'
//!   sums: a total of amounts over both kinds counts them twice, as the national 自评 forms do
//!   when filed side by side).

use std::collections::BTreeMap;

use rust_decimal::Decimal;

/// What the statistics need of one sheet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetFacts<'a> {
    pub department_code: &'a str,
    pub fund_source: &'a str,
    /// `excellent`, `good`, `fair`, `poor`.
    pub grade: &'a str,
    pub submitted: bool,
    pub overdue: bool,
    pub budget: Decimal,
    pub executed: Decimal,
}

/// A group's key: the department, fund source and grade it is grouped by (`None`: not grouped
/// by it; an empty grade: not yet submitted).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct GroupKey {
    pub department_code: Option<String>,
    pub fund_source: Option<String>,
    pub grade: Option<String>,
}

/// Which dimensions to group by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GroupBy {
    pub department: bool,
    pub fund_source: bool,
    pub grade: bool,
}

impl GroupBy {
    /// Whether any dimension is asked for (none: totals only).
    pub fn any(self) -> bool {
        self.department || self.fund_source || self.grade
    }
}

/// A group's counts and amounts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tally {
    pub covered: i64,
    pub submitted: i64,
    pub overdue: i64,
    /// Of the submitted sheets: 优, 良, 中, 差 (a sheet never scored counts in none).
    pub excellent: i64,
    pub good: i64,
    pub fair: i64,
    pub poor: i64,
    pub budget: Decimal,
    pub executed: Decimal,
    pub submitted_budget: Decimal,
}

impl Tally {
    fn add(&mut self, s: &SheetFacts<'_>) {
        self.covered += 1;
        self.budget += s.budget;
        self.executed += s.executed;
        if s.overdue {
            self.overdue += 1;
        }
        if s.submitted {
            self.submitted += 1;
            self.submitted_budget += s.budget;
            match s.grade {
                "excellent" => self.excellent += 1,
                "good" => self.good += 1,
                "fair" => self.fair += 1,
                "poor" => self.poor += 1,
                _ => {}
            }
        }
    }
}

/// The groups `by` asks for (in key order; none when `by` asks for nothing) and the totals.
pub fn aggregate<'a>(
    sheets: impl IntoIterator<Item = SheetFacts<'a>>,
    by: GroupBy,
) -> (Vec<(GroupKey, Tally)>, Tally) {
    let mut groups: BTreeMap<GroupKey, Tally> = BTreeMap::new();
    let mut totals = Tally::default();
    for s in sheets {
        totals.add(&s);
        if by.any() {
            let key = GroupKey {
                department_code: by.department.then(|| s.department_code.to_owned()),
                fund_source: by.fund_source.then(|| s.fund_source.to_owned()),
                grade: by.grade.then(|| {
                    if s.submitted {
                        s.grade.to_owned()
                    } else {
                        String::new()
                    }
                }),
            };
            groups.entry(key).or_default().add(&s);
        }
    }
    (groups.into_iter().collect(), totals)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn facts(
        dept: &'static str,
        grade: &'static str,
        submitted: bool,
        budget: i64,
    ) -> SheetFacts<'static> {
        SheetFacts {
            department_code: dept,
            fund_source: "general_public",
            grade,
            submitted,
            overdue: !submitted && dept == "B",
            budget: Decimal::from(budget),
            executed: Decimal::from(budget / 2),
        }
    }

    #[test]
    fn groups_by_department_and_grade_with_totals() {
        let sheets = vec![
            facts("A", "excellent", true, 100),
            facts("A", "poor", false, 50),
            facts("B", "good", true, 30),
            facts("B", "fair", false, 20),
        ];
        let (groups, totals) = aggregate(
            sheets.clone(),
            GroupBy {
                department: true,
                grade: true,
                ..Default::default()
            },
        );
        assert_eq!(totals.covered, 4);
        assert_eq!(totals.submitted, 2);
        assert_eq!(totals.overdue, 1);
        assert_eq!(
            (totals.excellent, totals.good, totals.fair, totals.poor),
            (1, 1, 0, 0)
        );
        assert_eq!(totals.budget, Decimal::from(200));
        assert_eq!(totals.submitted_budget, Decimal::from(130));
        let keys: Vec<_> = groups
            .iter()
            .map(|(k, t)| {
                (
                    k.department_code.clone().unwrap(),
                    k.grade.clone().unwrap(),
                    t.covered,
                )
            })
            .collect();
        assert_eq!(
            keys,
            [
                ("A".into(), String::new(), 1),
                ("A".into(), "excellent".into(), 1),
                ("B".into(), String::new(), 1),
                ("B".into(), "good".into(), 1),
            ]
        );
        let (none, again) = aggregate(sheets, GroupBy::default());
        assert!(none.is_empty());
        assert_eq!(again, totals);
    }

    proptest! {
        /// The groups add up to the totals, whatever the grouping.
        #[test]
        fn groups_add_up_to_the_totals(
            rows in prop::collection::vec((0usize..3, 0usize..4, any::<bool>(), 0i64..1_000_000), 0..40),
            by in (any::<bool>(), any::<bool>(), any::<bool>()),
        ) {
            const DEPTS: [&str; 3] = ["A", "B", "C"];
            const GRADES: [&str; 4] = ["excellent", "good", "fair", "poor"];
            let sheets: Vec<_> = rows
                .iter()
                .map(|&(d, g, s, b)| facts(DEPTS[d], GRADES[g], s, b))
                .collect();
            let by = GroupBy { department: by.0, fund_source: by.1, grade: by.2 };
            let (groups, totals) = aggregate(sheets, by);
            let mut sum = Tally::default();
            for (_, t) in &groups {
                sum.covered += t.covered;
                sum.submitted += t.submitted;
                sum.overdue += t.overdue;
                sum.excellent += t.excellent;
                sum.budget += t.budget;
                sum.submitted_budget += t.submitted_budget;
            }
            if by.any() {
                prop_assert_eq!(sum.covered, totals.covered);
                prop_assert_eq!(sum.submitted, totals.submitted);
                prop_assert_eq!(sum.overdue, totals.overdue);
                prop_assert_eq!(sum.excellent, totals.excellent);
                prop_assert_eq!(sum.budget, totals.budget);
                prop_assert_eq!(sum.submitted_budget, totals.submitted_budget);
            } else {
                prop_assert!(groups.is_empty());
            }
            prop_assert_eq!(
                totals.excellent + totals.good + totals.fair + totals.poor,
                totals.submitted
            );
        }
    }
}
