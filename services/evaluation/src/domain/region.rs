//! The region statistics a province (or a city, of its counties) reads through one contract
//! (`pbm.region.v1.RegionStatisticsService`; docs/EVALUATION.md "Region statistics"): the
//! figures of goals, monitoring and self-evaluation merged into one row per group — department,
//! fund source or special field — and the region's totals.
//!
//! The project's choices:
//! * Each source contributes its own figures and leaves the others' alone: a row's goal figures
//!   are the goal service's for that key, its monitoring figures the latest round's. A key only
//!   one source knows (a department with goals and no round yet) is a row with that source's
//!   figures and zeros elsewhere, the sources' states telling which were read.
//! * The totals are each source's own totals, not the sum of the rows, so that a source read
//!   only as totals still counts (and a row's key that a source leaves out is not lost).
//! * Keys are the department code, or the national enum names of the contract
//!   (`FUND_SOURCE_GENERAL_PUBLIC`, `SPECIAL_FIELD_NONE`), whatever the source's own spelling.

use std::collections::BTreeMap;
use std::ops::AddAssign;

use rust_decimal::Decimal;

/// What the rows are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    /// Totals only.
    None,
    Department,
    FundSource,
    SpecialField,
}

/// The figures of one group or of the region (amounts in 元).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Figures {
    pub projects: i64,
    pub projects_amount: Decimal,
    pub goals_declared: i64,
    pub goals_approved: i64,
    pub approved_amount: Decimal,
    pub monitored: i64,
    pub monitoring_reported: i64,
    pub deviated: i64,
    pub red_warnings: i64,
    pub monitored_amount: Decimal,
    pub executed: Decimal,
    pub self_evaluations: i64,
    pub submitted: i64,
    pub overdue: i64,
    /// Of the submitted self-evaluations: 优, 良, 中, 差.
    pub grades: [i64; 4],
    /// 事前绩效评估 (goal service).
    pub ex_ante: ExAnte,
}

/// Ex-ante assessment counts of a group (the goal service's definitions, docs/GOAL.md
/// "Statistics").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExAnte {
    pub required: i64,
    pub required_amount: Decimal,
    pub reported: i64,
    pub missing: i64,
    pub pending_review: i64,
    pub returned: i64,
    pub supported: i64,
    pub supported_after_adjustment: i64,
    pub not_supported: i64,
}

impl AddAssign<&ExAnte> for ExAnte {
    fn add_assign(&mut self, o: &ExAnte) {
        self.required += o.required;
        self.required_amount += o.required_amount;
        self.reported += o.reported;
        self.missing += o.missing;
        self.pending_review += o.pending_review;
        self.returned += o.returned;
        self.supported += o.supported;
        self.supported_after_adjustment += o.supported_after_adjustment;
        self.not_supported += o.not_supported;
    }
}

impl AddAssign<&Figures> for Figures {
    fn add_assign(&mut self, o: &Figures) {
        self.projects += o.projects;
        self.projects_amount += o.projects_amount;
        self.goals_declared += o.goals_declared;
        self.goals_approved += o.goals_approved;
        self.approved_amount += o.approved_amount;
        self.monitored += o.monitored;
        self.monitoring_reported += o.monitoring_reported;
        self.deviated += o.deviated;
        self.red_warnings += o.red_warnings;
        self.monitored_amount += o.monitored_amount;
        self.executed += o.executed;
        self.self_evaluations += o.self_evaluations;
        self.submitted += o.submitted;
        self.overdue += o.overdue;
        for (g, n) in self.grades.iter_mut().zip(o.grades) {
            *g += n;
        }
        self.ex_ante += &o.ex_ante;
    }
}

/// The merged table: rows by key, and the totals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    pub rows: BTreeMap<String, Figures>,
    pub totals: Figures,
}

impl Table {
    /// Adds one source's figures: its rows (by key) and its own totals.
    pub fn add_source(
        &mut self,
        rows: impl IntoIterator<Item = (String, Figures)>,
        totals: &Figures,
    ) {
        for (key, f) in rows {
            *self.rows.entry(key).or_default() += &f;
        }
        self.totals += totals;
    }
}

/// One self-evaluation sheet as the region statistics count it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetFact<'a> {
    pub department_code: &'a str,
    /// The stored words (`general_public`, `none`).
    pub fund_source: &'a str,
    pub special_field: &'a str,
    pub submitted: bool,
    pub overdue: bool,
    /// `excellent`, `good`, `fair`, `poor`, or empty when never scored.
    pub grade: &'a str,
}

/// The key of a stored word under the contract's enum `prefix` (`general_public` →
/// `FUND_SOURCE_GENERAL_PUBLIC`).
pub fn enum_key(prefix: &str, word: &str) -> String {
    format!("{prefix}_{}", word.to_ascii_uppercase())
}

/// The self-evaluation figures: rows by `by` and the totals.
pub fn self_evaluation_figures<'a>(
    sheets: impl IntoIterator<Item = SheetFact<'a>>,
    by: Dimension,
) -> (Vec<(String, Figures)>, Figures) {
    let mut rows: BTreeMap<String, Figures> = BTreeMap::new();
    let mut totals = Figures::default();
    for s in sheets {
        let mut f = Figures {
            self_evaluations: 1,
            ..Figures::default()
        };
        if s.overdue {
            f.overdue = 1;
        }
        if s.submitted {
            f.submitted = 1;
            if let Some(i) = ["excellent", "good", "fair", "poor"]
                .iter()
                .position(|g| *g == s.grade)
            {
                f.grades[i] = 1;
            }
        }
        totals += &f;
        let key = match by {
            Dimension::None => continue,
            Dimension::Department => s.department_code.to_owned(),
            Dimension::FundSource => enum_key("FUND_SOURCE", s.fund_source),
            Dimension::SpecialField => enum_key("SPECIAL_FIELD", s.special_field),
        };
        *rows.entry(key).or_default() += &f;
    }
    (rows.into_iter().collect(), totals)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sheet<'a>(dept: &'a str, submitted: bool, grade: &'a str) -> SheetFact<'a> {
        SheetFact {
            department_code: dept,
            fund_source: "general_public",
            special_field: "none",
            submitted,
            overdue: !submitted,
            grade,
        }
    }

    #[test]
    fn self_evaluations_by_department() {
        let sheets = [
            sheet("101", true, "excellent"),
            sheet("101", false, "good"),
            sheet("102", true, "fair"),
        ];
        let (rows, totals) = self_evaluation_figures(sheets.clone(), Dimension::Department);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].0, "101");
        assert_eq!(
            (
                rows[0].1.self_evaluations,
                rows[0].1.submitted,
                rows[0].1.overdue
            ),
            (2, 1, 1)
        );
        // A draft's score is not a grade yet.
        assert_eq!(rows[0].1.grades, [1, 0, 0, 0]);
        assert_eq!(totals.grades, [1, 0, 1, 0]);
        let (none, same) = self_evaluation_figures(sheets, Dimension::None);
        assert!(none.is_empty());
        assert_eq!(same, totals);
    }

    #[test]
    fn keys_are_the_contracts_enum_names() {
        let (rows, _) = self_evaluation_figures([sheet("101", true, "")], Dimension::FundSource);
        assert_eq!(rows[0].0, "FUND_SOURCE_GENERAL_PUBLIC");
        let (rows, _) = self_evaluation_figures([sheet("101", true, "")], Dimension::SpecialField);
        assert_eq!(rows[0].0, "SPECIAL_FIELD_NONE");
    }

    #[test]
    fn sources_merge_by_key_and_keep_their_totals() {
        let goals = Figures {
            projects: 3,
            projects_amount: Decimal::new(300, 0),
            ..Figures::default()
        };
        let monitoring = Figures {
            monitored: 2,
            ..Figures::default()
        };
        let mut t = Table::default();
        t.add_source([("101".to_owned(), goals.clone())], &goals);
        t.add_source(
            [
                ("101".to_owned(), monitoring.clone()),
                ("102".to_owned(), monitoring.clone()),
            ],
            &Figures {
                monitored: 4,
                ..Figures::default()
            },
        );
        assert_eq!(t.rows.len(), 2);
        assert_eq!((t.rows["101"].projects, t.rows["101"].monitored), (3, 2));
        assert_eq!((t.rows["102"].projects, t.rows["102"].monitored), (0, 2));
        assert_eq!((t.totals.projects, t.totals.monitored), (3, 4));
    }

    proptest! {
        /// Grouped by any dimension, the rows add up to the totals.
        #[test]
        fn rows_add_up_to_the_totals(
            sheets in proptest::collection::vec(
                (0..4usize, any::<bool>(), 0..5usize, 0..3usize), 0..40),
            by in 0..3usize,
        ) {
            let depts = ["101", "102", "103", "104"];
            let grades = ["excellent", "good", "fair", "poor", ""];
            let funds = ["general_public", "government_fund", "state_capital"];
            let facts: Vec<SheetFact<'_>> = sheets.iter().map(|&(d, s, g, f)| SheetFact {
                department_code: depts[d],
                fund_source: funds[f],
                special_field: funds[(f + 1) % 3],
                submitted: s,
                overdue: !s && d % 2 == 0,
                grade: grades[g],
            }).collect();
            let dim = [Dimension::Department, Dimension::FundSource, Dimension::SpecialField][by];
            let (rows, totals) = self_evaluation_figures(facts, dim);
            let mut sum = Figures::default();
            for (_, f) in &rows {
                sum += f;
            }
            prop_assert_eq!(sum, totals);
        }
    }
}
