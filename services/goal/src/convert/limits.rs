//! The longest text every string field of every `pbm.goal.v1` request may carry, as stated on
//! the field in proto/pbm/goal/v1/*.proto, checked where the request is parsed with the one
//! check [`pbm_types::check_len`]: one `TEXT_TOO_LONG` violation per field over its maximum,
//! every field at once, before anything reads the texts.
//!
//! These bound what a request may carry at all (a mebibyte of year goal is refused on SaveGoal,
//! not kept as a draft). The domain's rules may be stricter and keep their own reasons: codes are
//! 1–40 characters (`PRO_CODE_INVALID` …), and SubmitGoal's quality checks allow a 2,000-character
//! year goal, a 100-character indicator name and a 200-character target value or unit.

use pbm_proto::goal::v1 as proto;

use pbm_server::limits::{Bounded, each_nested, nested};
pub use pbm_server::limits::{CODE, LONG, NAME, SHORT, Texts};
pub use pbm_server::limits::{check, check_under};

/// The contract whose texts these maxima bound (`pbm.goal.v1`).
pub enum Goal {}

impl Bounded<Goal> for proto::ProjectSpec {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "pro_code", "项目编码", &self.pro_code, CODE);
        t.text(at, "name", "项目名称", &self.name, NAME);
        t.text(at, "agency_code", "单位编码", &self.agency_code, CODE);
        t.text(
            at,
            "department_code",
            "主管部门编码",
            &self.department_code,
            CODE,
        );
        t.number(
            at,
            "requested_amount",
            "申请金额",
            self.requested_amount.as_ref(),
        );
    }
}

impl Bounded<Goal> for proto::GoalIndicator {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "library_code", "指标编码", &self.library_code, CODE);
        t.text(at, "name", "指标名称", &self.name, NAME);
        t.text(at, "unit", "计量单位", &self.unit, NAME);
        t.text(at, "target_value", "指标值", &self.target_value, SHORT);
        t.number(at, "weight", "权重", self.weight.as_ref());
        t.text(at, "level1_name", "一级指标", &self.level1_name, NAME);
        t.text(at, "level2_name", "二级指标", &self.level2_name, NAME);
    }
}

impl Bounded<Goal> for proto::GoalDeclaration {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "pro_code", "项目编码", &self.pro_code, CODE);
        t.text(
            at,
            "department_code",
            "部门编码",
            &self.department_code,
            CODE,
        );
        t.text(at, "year_goal", "年度目标", &self.year_goal, LONG);
        t.text(at, "mid_term_goal", "中期目标", &self.mid_term_goal, LONG);
        each_nested(t, at, "indicators", &self.indicators);
        t.number(
            at,
            "department_budget",
            "部门预算",
            self.department_budget.as_ref(),
        );
    }
}

impl Bounded<Goal> for proto::ExAnteReport {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "pro_code", "项目编码", &self.pro_code, CODE);
        t.text(
            at,
            "assessor_agency_code",
            "第三方机构代码",
            &self.assessor_agency_code,
            CODE,
        );
        t.text(at, "completed_on", "完成日期", &self.completed_on, CODE);
        t.each(at, "methods", "评估方法", &self.methods, CODE);
        t.text(at, "method_note", "方法说明", &self.method_note, LONG);
        for (i, s) in self.scores.iter().enumerate() {
            let at = format!("{at}scores[{i}].");
            t.text(&at, "dimension", "评估维度", &s.dimension, CODE);
            t.number(&at, "score", "分数", s.score.as_ref());
        }
        t.text(at, "conclusion", "评估结论", &self.conclusion, CODE);
        t.text(at, "summary", "结论说明", &self.summary, LONG);
        for (i, it) in self.special_bond_items.iter().enumerate() {
            let at = format!("{at}special_bond_items[{i}].");
            t.text(&at, "item", "专项债券评估事项", &it.item, CODE);
            t.text(&at, "text", "专项债券评估内容", &it.text, LONG);
        }
        t.number(at, "total", "总分", self.total.as_ref());
        t.text(at, "review_state", "审核状态", &self.review_state, CODE);
        t.text(at, "review_opinion", "审核意见", &self.review_opinion, LONG);
        t.text(at, "rules", "评估规则", &self.rules, SHORT);
        t.text(at, "gate", "预算安排", &self.gate, SHORT);
    }
}

impl Bounded<Goal> for proto::GoalRules {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.number(
            at,
            "ex_ante_threshold",
            "事前评估门槛",
            self.ex_ante_threshold.as_ref(),
        );
        t.number(at, "weight_total", "权重合计", self.weight_total.as_ref());
        t.text(at, "label", "规则名称", &self.label, SHORT);
    }
}

// -- requests ------------------------------------------------------------------------------------

impl Bounded<Goal> for proto::DeclareProjectRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        nested(t, at, "spec", &self.spec);
    }
}

impl Bounded<Goal> for proto::GetProjectRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "pro_code", "项目编码", &self.pro_code, CODE);
    }
}

impl Bounded<Goal> for proto::SaveGoalRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        nested(t, at, "declaration", &self.declaration);
    }
}

impl Bounded<Goal> for proto::DeclareGoalsItem {
    fn bound(&self, t: &mut Texts, at: &str) {
        nested(t, at, "project", &self.project);
        nested(t, at, "declaration", &self.declaration);
    }
}

impl Bounded<Goal> for proto::ReviewGoalRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "comments", "审核意见", &self.comments, LONG);
    }
}

impl Bounded<Goal> for proto::AmendGoalRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        nested(t, at, "declaration", &self.declaration);
        t.text(at, "comments", "修改说明", &self.comments, LONG);
    }
}

impl Bounded<Goal> for proto::RequestAdjustmentRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(
            at,
            "budget_adjustment_ref",
            "预算调整文号",
            &self.budget_adjustment_ref,
            CODE,
        );
        t.text(at, "reason", "调整原因", &self.reason, LONG);
    }
}

impl Bounded<Goal> for proto::CancelAdjustmentRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "reason", "撤回原因", &self.reason, LONG);
    }
}

impl Bounded<Goal> for proto::ListGoalsRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "agency_code", "单位编码", &self.agency_code, CODE);
        t.text(
            at,
            "department_code",
            "部门编码",
            &self.department_code,
            CODE,
        );
    }
}

impl Bounded<Goal> for proto::CheckFundingEligibilityRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.each(at, "pro_codes", "项目编码", &self.pro_codes, CODE);
    }
}

impl Bounded<Goal> for proto::SetGoalRulesRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        nested(t, at, "rules", &self.rules);
    }
}

impl Bounded<Goal> for proto::SubmitExAnteReportRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        nested(t, at, "report", &self.report);
    }
}

impl Bounded<Goal> for proto::ReviewExAnteReportRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "pro_code", "项目编码", &self.pro_code, CODE);
        t.text(at, "opinion", "审核意见", &self.opinion, LONG);
    }
}

impl Bounded<Goal> for proto::GetExAnteReportRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "pro_code", "项目编码", &self.pro_code, CODE);
    }
}

impl Bounded<Goal> for proto::CommissionExAnteAssessmentRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "pro_code", "项目编码", &self.pro_code, CODE);
        t.text(at, "due_on", "报告截止日期", &self.due_on, CODE);
    }
}

impl Bounded<Goal> for proto::ExportApprovedGoalsRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(
            at,
            "department_code",
            "部门编码",
            &self.department_code,
            CODE,
        );
    }
}

impl Bounded<Goal> for proto::StreamApprovedGoalsRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.each(
            at,
            "department_codes",
            "部门编码",
            &self.department_codes,
            CODE,
        );
        t.each(at, "pro_codes", "项目编码", &self.pro_codes, CODE);
    }
}

impl Bounded<Goal> for proto::AssignReviewersRequest {
    fn bound(&self, t: &mut Texts, at: &str) {
        t.text(at, "field", "专业领域", &self.field, CODE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pbm_proto::common::v1 as common;
    use pbm_server::limits::NUMBER;

    fn reasons(m: &impl Bounded<Goal>) -> Vec<(String, &'static str)> {
        pbm_server::limits::violations(m, "")
            .into_iter()
            .map(|v| (v.field, v.reason))
            .collect()
    }

    #[test]
    fn every_text_over_its_maximum_is_named_at_once() {
        let m = proto::SaveGoalRequest {
            declaration: Some(proto::GoalDeclaration {
                pro_code: "P".repeat(CODE + 1),
                year_goal: "目".repeat(1 << 20),
                mid_term_goal: "目".repeat(LONG),
                indicators: vec![
                    proto::GoalIndicator::default(),
                    proto::GoalIndicator {
                        name: "名".repeat(NAME + 1),
                        weight: Some(common::Decimal {
                            value: "9".repeat(NUMBER + 1),
                        }),
                        ..Default::default()
                    },
                ],
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            reasons(&m),
            [
                ("declaration.pro_code".to_owned(), "TEXT_TOO_LONG"),
                ("declaration.year_goal".to_owned(), "TEXT_TOO_LONG"),
                ("declaration.indicators[1].name".to_owned(), "TEXT_TOO_LONG"),
                (
                    "declaration.indicators[1].weight".to_owned(),
                    "TEXT_TOO_LONG"
                ),
            ]
        );
        let e = check(&m).unwrap_err();
        assert_eq!(e.reason, "TEXT_TOO_LONG");
        assert!(
            e.violations[1]
                .message
                .starts_with("「年度目标」不能超过 4000 个字符")
        );
    }

    #[test]
    fn texts_at_their_maximum_and_empty_requests_pass() {
        let m = proto::ReviewExAnteReportRequest {
            pro_code: "P".repeat(CODE),
            opinion: "意".repeat(LONG),
            ..Default::default()
        };
        assert!(check(&m).is_ok());
        assert!(check(&proto::SubmitExAnteReportRequest::default()).is_ok());
        let m = proto::CheckFundingEligibilityRequest {
            pro_codes: vec!["P-1".into(), "P".repeat(CODE + 1)],
            ..Default::default()
        };
        assert_eq!(reasons(&m), [("pro_codes[1]".to_owned(), "TEXT_TOO_LONG")]);
    }
}
