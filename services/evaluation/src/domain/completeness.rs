//! When a self-evaluation sheet is complete enough to submit.
//!
//! Rule: docs/DOMAIN.md "Self-evaluation, spot checks, key evaluations" (the unit enters per
//! indicator the achieved value — 定性: the tier and a score inside it — or marks it not
//! applicable with a reason; gives a reason when execution is below the rules' rate; analyses
//! causes and improvement measures wherever an indicator deviates) and docs/EVALUATION.md
//! "Completeness". The project's choices:
//! * Every gap is listed at once, one field violation each, named after the request's entry by
//!   its `seq` (`entries[3].deviation_causes`) as SaveSelfEvaluation names them; the use case
//!   answers FAILED_PRECONDITION [`SHEET_INCOMPLETE`] (as monitoring's `REPORT_INCOMPLETE`).
//! * Whether an indicator deviates and whether execution needs a reason is the engine's verdict
//!   on the saved entries (`pbm_scoring::Score`), never decided twice.
//! * A 总体完成情况 / 自评结论 (`summary`) is always required.

use pbm_types::FieldViolation;

/// The reason of a submission refused for gaps.
pub const SHEET_INCOMPLETE: &str = "SHEET_INCOMPLETE";

/// One indicator as completeness sees it: the unit's entry and the engine's `deviates`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndicatorFacts<'a> {
    pub seq: i32,
    pub name: &'a str,
    /// A 定性 indicator (tier and score instead of a number).
    pub qualitative: bool,
    pub achieved_value: &'a str,
    pub tier_given: bool,
    pub score_given: bool,
    pub not_applicable: bool,
    pub not_applicable_reason: &'a str,
    /// The engine's verdict: causes and measures are required.
    pub deviates: bool,
    pub deviation_causes: &'a str,
    pub improvement_measures: &'a str,
}

/// The sheet as completeness sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetFacts<'a> {
    pub indicators: Vec<IndicatorFacts<'a>>,
    /// The engine's verdict: execution below the rules' `reason_below_rate`.
    pub needs_execution_reason: bool,
    pub execution_reason: &'a str,
    pub summary: &'a str,
}

fn blank(text: &str) -> bool {
    text.trim().is_empty()
}

/// Every gap of the sheet, in the order of the form (indicators by seq, then the execution
/// reason, then the summary); empty when it may be submitted.
pub fn gaps(sheet: &SheetFacts<'_>) -> Vec<FieldViolation> {
    let mut out = Vec::new();
    for i in &sheet.indicators {
        let mut gap = |field: &str, reason: &'static str, what: &str| {
            out.push(FieldViolation::new(
                format!("entries[{}].{field}", i.seq),
                reason,
                format!("第{}条指标「{}」{what}", i.seq, i.name),
            ));
        };
        if i.not_applicable {
            if blank(i.not_applicable_reason) {
                gap(
                    "not_applicable_reason",
                    "NOT_APPLICABLE_REASON_REQUIRED",
                    "标为不适用，须说明理由",
                );
            }
            continue;
        }
        if i.qualitative {
            if !i.tier_given {
                gap("tier", "TIER_REQUIRED", "为定性指标，须选择完成档次");
            }
            if !i.score_given {
                gap(
                    "qualitative_score",
                    "QUALITATIVE_SCORE_REQUIRED",
                    "为定性指标，须在所选档次的分值范围内打分",
                );
            }
        } else if blank(i.achieved_value) {
            gap(
                "achieved_value",
                "ACHIEVED_VALUE_REQUIRED",
                "须填写实际完成值",
            );
        }
        if i.deviates {
            if blank(i.deviation_causes) {
                gap(
                    "deviation_causes",
                    "DEVIATION_CAUSES_REQUIRED",
                    "存在偏差，须分析偏差原因",
                );
            }
            if blank(i.improvement_measures) {
                gap(
                    "improvement_measures",
                    "IMPROVEMENT_MEASURES_REQUIRED",
                    "存在偏差，须提出改进措施",
                );
            }
        }
    }
    if sheet.needs_execution_reason && blank(sheet.execution_reason) {
        out.push(FieldViolation::new(
            "execution_reason",
            "EXECUTION_REASON_REQUIRED",
            "预算执行率低于规定比例，须说明未完成原因",
        ));
    }
    if blank(sheet.summary) {
        out.push(FieldViolation::new(
            "summary",
            "SUMMARY_REQUIRED",
            "须填写总体完成情况（自评结论）",
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn indicator(seq: i32) -> IndicatorFacts<'static> {
        IndicatorFacts {
            seq,
            name: "受益人口",
            qualitative: false,
            achieved_value: "32000",
            tier_given: false,
            score_given: false,
            not_applicable: false,
            not_applicable_reason: "",
            deviates: false,
            deviation_causes: "",
            improvement_measures: "",
        }
    }

    fn fields(sheet: &SheetFacts<'_>) -> Vec<(String, &'static str)> {
        gaps(sheet)
            .into_iter()
            .map(|v| (v.field, v.reason))
            .collect()
    }

    #[test]
    fn a_complete_sheet_has_no_gaps() {
        let mut deviating = indicator(2);
        deviating.deviates = true;
        deviating.deviation_causes = "汛期延误";
        deviating.improvement_measures = "提前备料";
        let qualitative = IndicatorFacts {
            qualitative: true,
            achieved_value: "",
            tier_given: true,
            score_given: true,
            ..indicator(3)
        };
        let not_applicable = IndicatorFacts {
            not_applicable: true,
            not_applicable_reason: "本年度未涉及",
            achieved_value: "",
            ..indicator(4)
        };
        let sheet = SheetFacts {
            indicators: vec![indicator(1), deviating, qualitative, not_applicable],
            needs_execution_reason: true,
            execution_reason: "年底资金到位",
            summary: "总体完成",
        };
        assert!(gaps(&sheet).is_empty());
    }

    #[test]
    fn every_gap_at_once_in_the_forms_order() {
        let missing = IndicatorFacts {
            achieved_value: " ",
            ..indicator(1)
        };
        let deviating = IndicatorFacts {
            deviates: true,
            ..indicator(2)
        };
        let qualitative = IndicatorFacts {
            qualitative: true,
            ..indicator(3)
        };
        let not_applicable = IndicatorFacts {
            not_applicable: true,
            // A not applicable indicator needs nothing but its reason, even when it deviated.
            deviates: true,
            ..indicator(4)
        };
        let sheet = SheetFacts {
            indicators: vec![missing, deviating, qualitative, not_applicable],
            needs_execution_reason: true,
            execution_reason: "",
            summary: "",
        };
        let expected: Vec<(String, &str)> = vec![
            (
                "entries[1].achieved_value".into(),
                "ACHIEVED_VALUE_REQUIRED",
            ),
            (
                "entries[2].deviation_causes".into(),
                "DEVIATION_CAUSES_REQUIRED",
            ),
            (
                "entries[2].improvement_measures".into(),
                "IMPROVEMENT_MEASURES_REQUIRED",
            ),
            ("entries[3].tier".into(), "TIER_REQUIRED"),
            (
                "entries[3].qualitative_score".into(),
                "QUALITATIVE_SCORE_REQUIRED",
            ),
            (
                "entries[4].not_applicable_reason".into(),
                "NOT_APPLICABLE_REASON_REQUIRED",
            ),
            ("execution_reason".into(), "EXECUTION_REASON_REQUIRED"),
            ("summary".into(), "SUMMARY_REQUIRED"),
        ];
        assert_eq!(fields(&sheet), expected);
        let message = &gaps(&sheet)[0].message;
        assert_eq!(message, "第1条指标「受益人口」须填写实际完成值");
    }

    #[test]
    fn no_reason_is_asked_when_execution_is_high_enough() {
        let sheet = SheetFacts {
            indicators: vec![indicator(1)],
            needs_execution_reason: false,
            execution_reason: "",
            summary: "完成",
        };
        assert!(gaps(&sheet).is_empty());
    }
}
