//! A spot check's review of one sampled sheet (抽查复核; docs/EVALUATION.md "Reviews"): who
//! reviews, its states, and how the corrected score is compared with the self-score. The
//! corrected score itself comes only from the engine (`pbm_scoring`, through
//! `ops::scoring::score_sheet`).
//!
//! * Reviewer: finance itself; jointly with the audit bureau (finance or an auditor may review);
//!   or an agency drawn from the pool (only the commissioned agency, once commissioned).
//! * States: pending (sampled, nothing saved) → draft (saved) → finished (final; the unit and
//!   its department see the findings).
//! * The difference is corrected − self; a review is flagged when |difference| ≥
//!   [`FLAG_POINTS`] or the grade changed.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::domain::access::{Role, Viewer};

/// A difference of at least this many points between the corrected score and the self-score
/// flags the review. A project default (docs/EVALUATION.md "Reviews"), not a national rule.
pub const FLAG_POINTS: Decimal = Decimal::from_parts(5, 0, 0, false, 0);

/// Who reviews a spot check's sheets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reviewer {
    /// 财政部门 itself.
    Finance,
    /// Finance jointly with the audit bureau (auditor role).
    Joint,
    /// An agency commissioned through the pool (评价结果复核).
    Agency,
}

text_enum!(Reviewer {
    Finance => "finance", "财政部门";
    Joint => "joint", "财政部门会同审计部门";
    Agency => "agency", "第三方机构";
});

/// A review's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    Pending,
    Draft,
    Finished,
}

text_enum!(ReviewStatus {
    Pending => "pending", "待复核";
    Draft => "draft", "复核中";
    Finished => "finished", "已完成";
});

/// Whether `viewer` reviews (saves, finishes) the sheets of a spot check reviewed by
/// `reviewer`, commissioned to `commissioned` (the agency's credit code; empty before
/// CommissionReview): finance for FINANCE and JOINT, an auditor for JOINT, only the
/// commissioned agency for AGENCY.
pub fn may_review(viewer: &Viewer, reviewer: Reviewer, commissioned: &str) -> bool {
    match (reviewer, viewer.role) {
        (Reviewer::Finance | Reviewer::Joint, Role::Finance) => true,
        (Reviewer::Joint, Role::Auditor) => true,
        (Reviewer::Agency, Role::Agency) => {
            !commissioned.is_empty() && viewer.org_code == commissioned
        }
        _ => false,
    }
}

/// The corrected score compared with the self-score: the difference (corrected − self) and
/// whether it is flagged (|difference| ≥ [`FLAG_POINTS`] or the grade changed).
pub fn compare(
    self_score: Decimal,
    self_grade: &str,
    corrected: Decimal,
    corrected_grade: &str,
) -> (Decimal, bool) {
    let difference = corrected - self_score;
    (
        difference,
        difference.abs() >= FLAG_POINTS || self_grade != corrected_grade,
    )
}

/// Grade words from best to worst: a fall is a move to a later word.
const GRADES: [&str; 4] = ["excellent", "good", "fair", "poor"];

/// Whether the corrected grade is worse than the self-evaluated one.
pub fn grade_fell(self_grade: &str, corrected_grade: &str) -> bool {
    let at = |g: &str| GRADES.iter().position(|x| *x == g);
    matches!((at(self_grade), at(corrected_grade)), (Some(a), Some(b)) if b > a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn v(role: Role, org: &str) -> Viewer {
        Viewer {
            role,
            org_code: org.into(),
        }
    }

    #[test]
    fn a_difference_of_five_points_or_another_grade_is_flagged() {
        assert_eq!(
            compare(dec!(92), "excellent", dec!(87.01), "good"),
            (dec!(-4.99), true)
        );
        assert_eq!(
            compare(dec!(85), "good", dec!(80.01), "good"),
            (dec!(-4.99), false)
        );
        assert_eq!(
            compare(dec!(85), "good", dec!(80), "good"),
            (dec!(-5), true)
        );
        assert_eq!(compare(dec!(70), "fair", dec!(75), "fair"), (dec!(5), true));
        assert_eq!(
            compare(dec!(70), "fair", dec!(70), "fair"),
            (dec!(0), false)
        );
    }

    #[test]
    fn grades_fall_only_downwards() {
        assert!(grade_fell("excellent", "good"));
        assert!(grade_fell("good", "poor"));
        assert!(!grade_fell("fair", "good"));
        assert!(!grade_fell("good", "good"));
    }

    #[test]
    fn who_reviews() {
        let finance = v(Role::Finance, "360702");
        let auditor = v(Role::Auditor, "360702");
        let agency = v(Role::Agency, "91360000AAA");
        assert!(may_review(&finance, Reviewer::Finance, ""));
        assert!(!may_review(&auditor, Reviewer::Finance, ""));
        assert!(may_review(&auditor, Reviewer::Joint, ""));
        assert!(may_review(&finance, Reviewer::Joint, ""));
        assert!(!may_review(&finance, Reviewer::Agency, "91360000AAA"));
        assert!(!may_review(&agency, Reviewer::Agency, ""));
        assert!(may_review(&agency, Reviewer::Agency, "91360000AAA"));
        assert!(!may_review(&agency, Reviewer::Agency, "91360000BBB"));
        assert!(!may_review(&agency, Reviewer::Joint, "91360000AAA"));
    }

    #[test]
    fn words_round_trip() {
        assert_eq!(Reviewer::ALL.len(), 3);
        for &r in Reviewer::ALL {
            assert_eq!(Reviewer::from_db(r.as_db()), Some(r));
            assert_eq!(Reviewer::from_chinese(r.chinese()), Some(r));
        }
        assert_eq!(ReviewStatus::ALL.len(), 3);
        for &s in ReviewStatus::ALL {
            assert_eq!(ReviewStatus::from_db(s.as_db()), Some(s));
            assert_eq!(ReviewStatus::from_chinese(s.chinese()), Some(s));
        }
    }
}
