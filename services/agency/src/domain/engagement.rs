//! What may be commissioned, and the independence rules of a commission
//! (docs/DOMAIN.md "What may be commissioned", docs/DOMAIN.md "Independence" (财预〔2021〕6号)):
//! commissioned work is only ex-ante assessment and goal review, evaluation or review of
//! evaluation results, indicator systems, and research; a department may not commission an
//! evaluation of itself; the agency (and every expert) must be independent of the commissioner
//! and of the evaluated party; no 主评人 → no evaluation; a non-selectable agency or expert is
//! refused.

use chrono::NaiveDate;
use pbm_types::FieldViolation;
use serde::{Deserialize, Serialize};

use super::eligibility::{AgencyFacts, ExpertFacts, Relation, agency_standing, expert_standing};
use super::rules::PoolRules;

/// Kind of performance-management work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EngagementKind {
    ExAnteAssessment,
    GoalReview,
    Evaluation,
    EvaluationReview,
    IndicatorSystem,
    Research,
    GoalSetting,
    Monitoring,
    SelfEvaluation,
}

text_enum!(EngagementKind {
    ExAnteAssessment => "ex_ante_assessment", "事前绩效评估";
    GoalReview => "goal_review", "绩效目标审核";
    Evaluation => "evaluation", "绩效评价";
    EvaluationReview => "evaluation_review", "评价结果复核";
    IndicatorSystem => "indicator_system", "指标体系建设";
    Research => "research", "课题研究";
    GoalSetting => "goal_setting", "绩效目标编制";
    Monitoring => "monitoring", "绩效运行监控";
    SelfEvaluation => "self_evaluation", "绩效自评";
});

/// The four service scopes an agency is admitted for (docs/DOMAIN.md "What may be commissioned"
/// (财预〔2021〕6号: the four kinds)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceScope {
    ExAnteAndGoalReview,
    Evaluation,
    IndicatorSystem,
    Research,
}

text_enum!(ServiceScope {
    ExAnteAndGoalReview => "ex_ante_and_goal_review", "事前绩效评估和绩效目标审核";
    Evaluation => "evaluation", "绩效评价或评价结果复核";
    IndicatorSystem => "indicator_system", "指标体系建设";
    Research => "research", "课题研究";
});

impl EngagementKind {
    /// The service scope that covers this kind; `None` for work that is never commissioned
    /// (goal setting, monitoring, self-evaluation are the spending unit's own duties).
    pub fn scope(self) -> Option<ServiceScope> {
        match self {
            EngagementKind::ExAnteAssessment | EngagementKind::GoalReview => {
                Some(ServiceScope::ExAnteAndGoalReview)
            }
            EngagementKind::Evaluation | EngagementKind::EvaluationReview => {
                Some(ServiceScope::Evaluation)
            }
            EngagementKind::IndicatorSystem => Some(ServiceScope::IndicatorSystem),
            EngagementKind::Research => Some(ServiceScope::Research),
            EngagementKind::GoalSetting
            | EngagementKind::Monitoring
            | EngagementKind::SelfEvaluation => None,
        }
    }

    pub fn is_commissionable(self) -> bool {
        self.scope().is_some()
    }

    /// Evaluation or review of evaluation results: needs a 主评人 and may not be commissioned
    /// by the evaluated department itself.
    pub fn is_evaluation(self) -> bool {
        matches!(
            self,
            EngagementKind::Evaluation | EngagementKind::EvaluationReview
        )
    }
}

pub const KIND_NOT_COMMISSIONABLE: &str = "KIND_NOT_COMMISSIONABLE";
pub const SELF_EVALUATION_COMMISSION: &str = "SELF_EVALUATION_COMMISSION";
pub const NOT_INDEPENDENT: &str = "NOT_INDEPENDENT";
pub const NO_LEAD_EVALUATOR: &str = "NO_LEAD_EVALUATOR";
pub const SCOPE_MISMATCH: &str = "SCOPE_MISMATCH";
pub const NOT_SELECTABLE: &str = "NOT_SELECTABLE";
/// An empty commissioner or evaluated party (independence could not be checked).
pub const REQUIRED: &str = "REQUIRED";

/// Relations of `relations` that tie their holder to `party` on `on` (see
/// [`Relation::ties_to`]), as a readable list, e.g. `任职（2021-01-01 至今）`.
fn ties(relations: &[Relation], party: &str, on: NaiveDate, rules: &PoolRules) -> Vec<String> {
    relations
        .iter()
        .filter(|r| r.ties_to(party, on, rules.draw.recusal_years))
        .map(Relation::describe)
        .collect()
}

/// Checks a commission on `on`: `commissioner` (委托方) asks for work of `kind` on
/// `evaluated_party` (被评价对象), by `agency` and/or `experts`. Parties are compared by their
/// codes after trimming. Returns every refused part (all checks run; none stops the others,
/// except that scope and 主评人 checks are skipped for a kind that cannot be commissioned).
/// Draw-only limits (workload cap, already drawn) are not checked here.
pub fn check_commission(
    commissioner: &str,
    evaluated_party: &str,
    kind: EngagementKind,
    agency: Option<&AgencyFacts>,
    experts: &[&ExpertFacts],
    rules: &PoolRules,
    on: NaiveDate,
) -> Result<(), Vec<FieldViolation>> {
    let mut v: Vec<FieldViolation> = Vec::new();
    let (commissioner, evaluated_party) = (commissioner.trim(), evaluated_party.trim());
    if commissioner.is_empty() {
        v.push(FieldViolation::new(
            "commissioner",
            REQUIRED,
            "委托方不能为空",
        ));
    }
    if evaluated_party.is_empty() {
        v.push(FieldViolation::new(
            "evaluated_party",
            REQUIRED,
            "被评价对象不能为空",
        ));
    }
    if !kind.is_commissionable() {
        v.push(FieldViolation::new(
            "kind",
            KIND_NOT_COMMISSIONABLE,
            format!("{}不属于可委托第三方的工作（只能委托事前绩效评估和绩效目标审核、绩效评价或评价结果复核、指标体系建设、课题研究）", kind.chinese()),
        ));
    }
    // 财预〔2021〕6号 (docs/DOMAIN.md "Independence"): a department may not commission an
    // evaluation of itself.
    if kind.is_evaluation() && !commissioner.is_empty() && commissioner == evaluated_party {
        v.push(FieldViolation::new(
            "evaluated_party",
            SELF_EVALUATION_COMMISSION,
            format!("部门不能委托第三方对本部门开展{}", kind.chinese()),
        ));
    }
    // docs/DOMAIN.md "Independence" (财预〔2021〕6号, 财监〔2021〕4号): independent of the
    // commissioner and of the evaluated object.
    let parties: Vec<(&str, &str)> = [("委托方", commissioner), ("被评价对象", evaluated_party)]
        .into_iter()
        .filter(|(_, code)| !code.is_empty())
        .collect();
    let independence =
        |field: &str, who: &str, relations: &[Relation], v: &mut Vec<FieldViolation>| {
            for (role, code) in &parties {
                let found = ties(relations, code, on, rules);
                if !found.is_empty() {
                    v.push(FieldViolation::new(
                        field,
                        NOT_INDEPENDENT,
                        format!(
                            "{who}与{role}「{code}」存在关联关系（{}），不具备独立性",
                            found.join("；")
                        ),
                    ));
                }
            }
        };

    if let Some(agency) = agency {
        let who = format!("机构「{}」", agency.credit_code);
        independence("agency", &who, &agency.relations, &mut v);
        if let Some(scope) = kind.scope() {
            if kind.is_evaluation() && agency.lead_evaluators == 0 {
                v.push(FieldViolation::new(
                    "agency",
                    NO_LEAD_EVALUATOR,
                    format!("{who}没有主评人，不能承接{}", kind.chinese()),
                ));
            }
            if !agency.scopes.contains(&scope) {
                v.push(FieldViolation::new(
                    "agency",
                    SCOPE_MISMATCH,
                    format!("{who}的服务范围不含「{}」", scope.chinese()),
                ));
            }
        }
        let standing = agency_standing(agency, on, rules);
        if !standing.is_empty() {
            let reasons: Vec<String> = standing.iter().map(|e| e.chinese()).collect();
            v.push(FieldViolation::new(
                "agency",
                NOT_SELECTABLE,
                format!("{who}当前不可选用：{}", reasons.join("；")),
            ));
        }
    }
    for (i, expert) in experts.iter().enumerate() {
        let field = format!("experts[{i}]");
        let who = format!("专家「{}」", expert.id);
        independence(&field, &who, &expert.relations, &mut v);
        let standing = expert_standing(expert, on, rules);
        if !standing.is_empty() {
            let reasons: Vec<String> = standing.iter().map(|e| e.chinese()).collect();
            v.push(FieldViolation::new(
                field,
                NOT_SELECTABLE,
                format!("{who}当前不可选用：{}", reasons.join("；")),
            ));
        }
    }
    if v.is_empty() { Ok(()) } else { Err(v) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::eligibility::tests::{agency, d, expert};
    use crate::domain::eligibility::{AgencyStatus, ExpertStatus, RelationKind};

    fn reasons(r: Result<(), Vec<FieldViolation>>) -> Vec<(String, &'static str)> {
        r.err()
            .unwrap_or_default()
            .into_iter()
            .map(|v| (v.field, v.reason))
            .collect()
    }

    fn check(
        commissioner: &str,
        party: &str,
        kind: EngagementKind,
        agency: Option<&AgencyFacts>,
        experts: &[&ExpertFacts],
    ) -> Vec<(String, &'static str)> {
        reasons(check_commission(
            commissioner,
            party,
            kind,
            agency,
            experts,
            &PoolRules::default(),
            d(2026, 6, 30),
        ))
    }

    fn r(f: &str, reason: &'static str) -> (String, &'static str) {
        (f.to_owned(), reason)
    }

    #[test]
    fn kinds_map_to_scopes() {
        assert_eq!(
            EngagementKind::GoalReview.scope(),
            Some(ServiceScope::ExAnteAndGoalReview)
        );
        assert_eq!(
            EngagementKind::EvaluationReview.scope(),
            Some(ServiceScope::Evaluation)
        );
        for k in [
            EngagementKind::GoalSetting,
            EngagementKind::Monitoring,
            EngagementKind::SelfEvaluation,
        ] {
            assert!(!k.is_commissionable());
        }
        assert_eq!(
            EngagementKind::ALL
                .iter()
                .filter(|k| k.is_commissionable())
                .count(),
            6
        );
        for k in EngagementKind::ALL {
            assert_eq!(EngagementKind::from_db(k.as_db()), Some(*k));
            assert_eq!(EngagementKind::from_chinese(k.chinese()), Some(*k));
        }
        for s in ServiceScope::ALL {
            assert_eq!(ServiceScope::from_db(s.as_db()), Some(*s));
        }
    }

    #[test]
    fn an_independent_qualified_commission_passes() {
        let a = agency();
        let e = expert();
        for kind in [
            EngagementKind::Evaluation,
            EngagementKind::ExAnteAssessment,
            EngagementKind::Research,
        ] {
            assert_eq!(
                check("FIN", "DEPT-EDU", kind, Some(&a), &[&e]),
                vec![],
                "{kind:?}"
            );
        }
        assert_eq!(
            check("FIN", "DEPT-EDU", EngagementKind::Evaluation, None, &[]),
            vec![]
        );
    }

    #[test]
    fn own_duties_are_not_commissioned() {
        let a = agency();
        for kind in [
            EngagementKind::GoalSetting,
            EngagementKind::Monitoring,
            EngagementKind::SelfEvaluation,
        ] {
            assert_eq!(
                check("FIN", "DEPT-EDU", kind, Some(&a), &[]),
                vec![r("kind", KIND_NOT_COMMISSIONABLE)]
            );
        }
    }

    #[test]
    fn a_department_cannot_commission_an_evaluation_of_itself() {
        for kind in [EngagementKind::Evaluation, EngagementKind::EvaluationReview] {
            assert_eq!(
                check("DEPT-EDU", " DEPT-EDU ", kind, None, &[]),
                vec![r("evaluated_party", SELF_EVALUATION_COMMISSION)]
            );
        }
        // Research on its own field is fine.
        assert_eq!(
            check("DEPT-EDU", "DEPT-EDU", EngagementKind::Research, None, &[]),
            vec![]
        );
    }

    #[test]
    fn ties_to_either_party_break_independence() {
        let mut a = agency();
        a.relations.push(Relation {
            party_code: "DEPT-EDU".into(),
            kind: RelationKind::WorkedFor,
            from: d(2020, 1, 1),
            to: Some(d(2024, 1, 1)),
        });
        let mut e = expert();
        e.relations.push(Relation {
            party_code: "FIN".into(),
            kind: RelationKind::Family,
            from: d(1990, 1, 1),
            to: Some(d(2000, 1, 1)),
        });
        let got = check_commission(
            "FIN",
            "DEPT-EDU",
            EngagementKind::Evaluation,
            Some(&a),
            &[&e],
            &PoolRules::default(),
            d(2026, 6, 30),
        )
        .unwrap_err();
        assert_eq!(
            got.iter()
                .map(|v| (v.field.clone(), v.reason))
                .collect::<Vec<_>>(),
            vec![
                r("agency", NOT_INDEPENDENT),
                r("experts[0]", NOT_INDEPENDENT)
            ]
        );
        assert!(
            got[0].message.contains("被评价对象「DEPT-EDU」"),
            "{}",
            got[0]
        );
        assert!(
            got[0].message.contains("任职（2020-01-01 至 2024-01-01）"),
            "{}",
            got[0]
        );
        assert!(got[1].message.contains("委托方「FIN」"), "{}", got[1]);
        // The agency's tie ended more than 3 years before the commission.
        assert_eq!(
            reasons(check_commission(
                "FIN",
                "DEPT-EDU",
                EngagementKind::Evaluation,
                Some(&a),
                &[],
                &PoolRules::default(),
                d(2027, 1, 2)
            )),
            vec![]
        );
    }

    #[test]
    fn evaluations_need_a_lead_evaluator_and_the_scope() {
        let a = AgencyFacts {
            lead_evaluators: 0,
            scopes: vec![ServiceScope::Research],
            ..agency()
        };
        assert_eq!(
            check(
                "FIN",
                "DEPT-EDU",
                EngagementKind::EvaluationReview,
                Some(&a),
                &[]
            ),
            vec![r("agency", NO_LEAD_EVALUATOR), r("agency", SCOPE_MISMATCH)]
        );
        assert_eq!(
            check("FIN", "DEPT-EDU", EngagementKind::Research, Some(&a), &[]),
            vec![]
        );
        assert_eq!(
            check(
                "FIN",
                "DEPT-EDU",
                EngagementKind::IndicatorSystem,
                Some(&a),
                &[]
            ),
            vec![r("agency", SCOPE_MISMATCH)]
        );
    }

    #[test]
    fn non_selectable_parties_are_refused() {
        let suspended = AgencyFacts {
            status: AgencyStatus::Suspended {
                until: d(2026, 12, 31),
            },
            ..agency()
        };
        let expired = AgencyFacts {
            qualified_to: d(2026, 6, 29),
            ..agency()
        };
        let violated = AgencyFacts {
            major_violation_on: Some(d(2024, 1, 1)),
            ..agency()
        };
        for a in [&suspended, &expired, &violated] {
            assert_eq!(
                check("FIN", "DEPT-EDU", EngagementKind::Evaluation, Some(a), &[]),
                vec![r("agency", NOT_SELECTABLE)]
            );
        }
        let exited = ExpertFacts {
            status: ExpertStatus::Exited,
            ..expert()
        };
        let got = check_commission(
            "FIN",
            "DEPT-EDU",
            EngagementKind::Evaluation,
            None,
            &[&expert(), &exited],
            &PoolRules::default(),
            d(2026, 6, 30),
        )
        .unwrap_err();
        assert_eq!(got.len(), 1);
        assert_eq!(
            (got[0].field.as_str(), got[0].reason),
            ("experts[1]", NOT_SELECTABLE)
        );
        assert!(got[0].message.contains("退出"), "{}", got[0]);
        // Draw-only limits do not block a commission.
        let busy = ExpertFacts {
            engagements_this_year: 99,
            drawn_for_task: true,
            ..expert()
        };
        assert_eq!(
            check(
                "FIN",
                "DEPT-EDU",
                EngagementKind::Evaluation,
                None,
                &[&busy]
            ),
            vec![]
        );
    }

    #[test]
    fn empty_parties_are_required() {
        assert_eq!(
            check(" ", "", EngagementKind::Research, None, &[]),
            vec![r("commissioner", REQUIRED), r("evaluated_party", REQUIRED)]
        );
    }
}
