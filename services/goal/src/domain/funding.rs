//! The funding gate: "may this project be funded?" (CheckFundingEligibility).
//!
//! Rule: docs/DOMAIN.md "The funding gate" (a project without an approved goal gets no budget;
//! "allowed", or every reason why not) and docs/DOMAIN.md "Ex-ante assessment (事前绩效评估)" (no
//! ex-ante report → not reviewed; 不予支持 → no budget); 晋城 2019
//! ("对未申报绩效目标或最终未通过审核的有关项目原则上不安排预算"); 青岛 2020–2022 二(四)
//! ("将绩效目标设置作为申请预算的前置条件 … 未按要求设定绩效目标的 … 不得安排预算"); 埇桥 2021
//! (区财办〔2020〕44号: ex-ante results) — local texts named in docs/DOMAIN.md "Sources". The
//! target, 2,000 projects in one batch ≤ 200 ms, is docs/BENCHMARKS.md "Goal management".
//!
//! Choices where the rules are silent:
//! * **All reasons, goal first.** The goal reason (at most one) comes before the ex-ante
//!   reason (at most one), so a clerk sees everything to fix in one answer.
//! * **An adjustment does not suspend funding.** While an approved goal is being adjusted,
//!   the approved version stays in force and the project stays fundable (see
//!   [`crate::domain::workflow`]).
//! * **Performance.** The check is a pure function over pre-loaded, `Copy` facts: no lookups,
//!   no string building; the result allocates only when there are reasons (at most two).

use serde::Serialize;

use crate::domain::exante::{ExAnteFacts, ExAnteGate, gate};
use crate::domain::workflow::{GoalState, Status};

/// Everything the gate needs about one project, loaded beforehand by the use case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FundingFacts {
    /// The project's goal for the fiscal year, if one was ever created.
    pub goal: Option<GoalState>,
    /// The project's ex-ante facts.
    pub ex_ante: ExAnteFacts,
}

/// Why a project may not be funded. [`Reason::code`] is stable; [`Reason::chinese`] is for
/// people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "code", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Reason {
    /// No goal was declared (未申报绩效目标).
    NoGoal,
    /// The goal is not approved yet.
    GoalNotApproved {
        /// Where the goal stands (flattened in JSON).
        #[serde(flatten)]
        status: Status,
    },
    /// The goal was returned to the unit for revision (中).
    GoalReturned,
    /// The goal was reviewed 差: blocked for this cycle.
    GoalBlocked,
    /// An ex-ante assessment is required and none was filed.
    ExAnteMissing,
    /// The ex-ante report awaits finance's review.
    ExAntePendingReview,
    /// The ex-ante report was found insufficient and returned with a written opinion.
    ExAnteInsufficient,
    /// The ex-ante conclusion is 不予支持.
    ExAnteNotSupported,
}

impl Reason {
    /// Stable reason code.
    pub fn code(self) -> &'static str {
        match self {
            Reason::NoGoal => "NO_GOAL",
            Reason::GoalNotApproved { .. } => "GOAL_NOT_APPROVED",
            Reason::GoalReturned => "GOAL_RETURNED",
            Reason::GoalBlocked => "GOAL_BLOCKED",
            Reason::ExAnteMissing => "EX_ANTE_MISSING",
            Reason::ExAntePendingReview => "EX_ANTE_PENDING_REVIEW",
            Reason::ExAnteInsufficient => "EX_ANTE_INSUFFICIENT",
            Reason::ExAnteNotSupported => "EX_ANTE_NOT_SUPPORTED",
        }
    }

    /// The message for people.
    pub fn chinese(self) -> String {
        match self {
            Reason::NoGoal => "未申报绩效目标，原则上不安排预算".into(),
            Reason::GoalNotApproved { status } => {
                format!("绩效目标尚未批复（当前状态：{}）", status.chinese())
            }
            Reason::GoalReturned => "绩效目标审核未通过，已退回修改，待重新申报".into(),
            Reason::GoalBlocked => "绩效目标审核结果为“差”，本年度不予安排".into(),
            Reason::ExAnteMissing => "未提供事前绩效评估报告，原则上不予审核预算".into(),
            Reason::ExAntePendingReview => "事前绩效评估报告尚待财政审核".into(),
            Reason::ExAnteInsufficient => "事前绩效评估论证不充分，已出具书面审核意见退回".into(),
            Reason::ExAnteNotSupported => "事前绩效评估结论为不予支持，不予安排预算".into(),
        }
    }
}

/// The answer for one project: allowed exactly when there is no reason against it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Eligibility {
    /// May the project be funded?
    pub allowed: bool,
    /// Every reason why not (empty when allowed).
    pub reasons: Vec<Reason>,
}

/// The goal's reason against funding, if any: none for a goal with an approved version in force
/// (also while it is adjusted).
pub fn goal_reason(goal: Option<&GoalState>) -> Option<Reason> {
    let Some(goal) = goal else {
        return Some(Reason::NoGoal);
    };
    if goal.has_approved_version() {
        return None;
    }
    Some(match goal.status {
        Status::Returned => Reason::GoalReturned,
        Status::Blocked => Reason::GoalBlocked,
        status @ (Status::Draft
        | Status::Submitted
        | Status::Reviewed { .. }
        | Status::Approved
        | Status::Published
        | Status::Adjusting) => Reason::GoalNotApproved { status },
    })
}

fn ex_ante_reason(g: ExAnteGate) -> Option<Reason> {
    match g {
        ExAnteGate::NotRequired | ExAnteGate::Supported | ExAnteGate::SupportedAfterAdjustment => {
            None
        }
        ExAnteGate::Missing => Some(Reason::ExAnteMissing),
        ExAnteGate::PendingReview => Some(Reason::ExAntePendingReview),
        ExAnteGate::Returned => Some(Reason::ExAnteInsufficient),
        ExAnteGate::NotSupported => Some(Reason::ExAnteNotSupported),
    }
}

/// May the project be funded? Allowed, or every reason why not (goal first, then ex-ante).
pub fn check_funding_eligibility(facts: &FundingFacts) -> Eligibility {
    let reasons: Vec<Reason> = [
        goal_reason(facts.goal.as_ref()),
        ex_ante_reason(gate(&facts.ex_ante)),
    ]
    .into_iter()
    .flatten()
    .collect();
    Eligibility {
        allowed: reasons.is_empty(),
        reasons,
    }
}

/// [`check_funding_eligibility`] for a batch, answers in the order of `facts`.
pub fn check_funding_eligibility_batch(facts: &[FundingFacts]) -> Vec<Eligibility> {
    facts.iter().map(check_funding_eligibility).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::exante::{Conclusion, ReportFacts, ReviewState};
    use crate::domain::workflow::{Action, Actor, ReviewOutcome, Role, apply};
    use proptest::prelude::*;
    use std::time::{Duration, Instant};

    fn goal(steps: &[(Action, Role)]) -> GoalState {
        steps.iter().fold(GoalState::new(), |s, (a, role)| {
            apply(&s, a, &Actor::new(*role, "x")).unwrap().to
        })
    }

    fn review(outcome: ReviewOutcome) -> Action {
        Action::Review {
            outcome,
            comments: "意见".into(),
        }
    }

    fn approved() -> GoalState {
        goal(&[
            (Action::Submit, Role::BudgetUnit),
            (review(ReviewOutcome::Excellent), Role::Finance),
            (Action::Approve, Role::Finance),
        ])
    }

    fn no_ex_ante() -> ExAnteFacts {
        ExAnteFacts {
            required: false,
            report: None,
        }
    }

    fn check(goal: Option<GoalState>, ex_ante: ExAnteFacts) -> Vec<&'static str> {
        let e = check_funding_eligibility(&FundingFacts { goal, ex_ante });
        assert_eq!(e.allowed, e.reasons.is_empty());
        e.reasons.iter().map(|r| r.code()).collect()
    }

    #[test]
    fn an_approved_goal_without_ex_ante_duty_is_fundable() {
        assert_eq!(check(Some(approved()), no_ex_ante()), Vec::<&str>::new());
        let published = apply(
            &approved(),
            &Action::Publish,
            &Actor::new(Role::Finance, "x"),
        )
        .unwrap()
        .to;
        assert_eq!(check(Some(published), no_ex_ante()), Vec::<&str>::new());
    }

    #[test]
    fn no_goal_no_budget() {
        assert_eq!(check(None, no_ex_ante()), vec!["NO_GOAL"]);
        assert_eq!(Reason::NoGoal.chinese(), "未申报绩效目标，原则上不安排预算");
    }

    #[test]
    fn goals_not_yet_approved_are_refused_with_their_state() {
        let draft = GoalState::new();
        let submitted = goal(&[(Action::Submit, Role::BudgetUnit)]);
        let returned = goal(&[
            (Action::Submit, Role::BudgetUnit),
            (review(ReviewOutcome::Fair), Role::Expert),
        ]);
        let blocked = goal(&[
            (Action::Submit, Role::BudgetUnit),
            (review(ReviewOutcome::Poor), Role::Finance),
        ]);
        let good = goal(&[
            (Action::Submit, Role::BudgetUnit),
            (review(ReviewOutcome::Good), Role::Finance),
        ]);
        assert_eq!(check(Some(draft), no_ex_ante()), vec!["GOAL_NOT_APPROVED"]);
        assert_eq!(check(Some(returned), no_ex_ante()), vec!["GOAL_RETURNED"]);
        assert_eq!(check(Some(blocked), no_ex_ante()), vec!["GOAL_BLOCKED"]);
        let e = check_funding_eligibility(&FundingFacts {
            goal: Some(good),
            ex_ante: no_ex_ante(),
        });
        assert_eq!(
            e.reasons[0].chinese(),
            "绩效目标尚未批复（当前状态：已审核（良））"
        );
        let e = check_funding_eligibility(&FundingFacts {
            goal: Some(submitted),
            ex_ante: no_ex_ante(),
        });
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::json!({
                "allowed": false,
                "reasons": [{"code": "GOAL_NOT_APPROVED", "status": "submitted"}]
            })
        );
    }

    #[test]
    fn an_adjustment_keeps_the_approved_version_fundable() {
        let adjusting = apply(
            &approved(),
            &Action::RequestAdjustment {
                budget_adjustment_ref: "调-1".into(),
                reason: "追加".into(),
            },
            &Actor::new(Role::BudgetUnit, "x"),
        )
        .unwrap()
        .to;
        let returned = [Action::Submit, review(ReviewOutcome::Fair)]
            .iter()
            .zip([Role::BudgetUnit, Role::Finance])
            .fold(adjusting, |s, (a, r)| {
                apply(&s, a, &Actor::new(r, "x")).unwrap().to
            });
        assert_eq!(returned.status, Status::Returned);
        assert_eq!(check(Some(adjusting), no_ex_ante()), Vec::<&str>::new());
        assert_eq!(check(Some(returned), no_ex_ante()), Vec::<&str>::new());
    }

    #[test]
    fn ex_ante_outcomes_are_reasons() {
        let facts = |required, report: Option<(Conclusion, ReviewState)>| ExAnteFacts {
            required,
            report: report.map(|(conclusion, review)| ReportFacts { conclusion, review }),
        };
        let g = Some(approved());
        assert_eq!(check(g, facts(true, None)), vec!["EX_ANTE_MISSING"]);
        assert_eq!(
            check(
                g,
                facts(true, Some((Conclusion::Support, ReviewState::Pending)))
            ),
            vec!["EX_ANTE_PENDING_REVIEW"]
        );
        assert_eq!(
            check(
                g,
                facts(true, Some((Conclusion::Support, ReviewState::Insufficient)))
            ),
            vec!["EX_ANTE_INSUFFICIENT"]
        );
        assert_eq!(
            check(
                g,
                facts(
                    true,
                    Some((Conclusion::NotSupported, ReviewState::Sufficient))
                )
            ),
            vec!["EX_ANTE_NOT_SUPPORTED"]
        );
        assert_eq!(
            check(
                g,
                facts(
                    true,
                    Some((Conclusion::SupportAfterAdjustment, ReviewState::Sufficient))
                )
            ),
            Vec::<&str>::new()
        );
        // Every reason at once, goal first.
        assert_eq!(
            check(None, facts(true, None)),
            vec!["NO_GOAL", "EX_ANTE_MISSING"]
        );
    }

    fn arb_goal() -> impl Strategy<Value = Option<GoalState>> {
        let steps = prop::collection::vec(
            (
                prop::sample::select(vec![
                    Action::Submit,
                    Action::Approve,
                    Action::Publish,
                    review(ReviewOutcome::Excellent),
                    review(ReviewOutcome::Fair),
                    review(ReviewOutcome::Poor),
                    Action::RequestAdjustment {
                        budget_adjustment_ref: "r".into(),
                        reason: "r".into(),
                    },
                ]),
                prop::sample::select(vec![Role::BudgetUnit, Role::Finance]),
            ),
            0..10,
        );
        prop::option::of(steps.prop_map(|steps| {
            steps.iter().fold(GoalState::new(), |s, (a, role)| {
                apply(&s, a, &Actor::new(*role, "x"))
                    .map(|t| t.to)
                    .unwrap_or(s)
            })
        }))
    }

    fn arb_ex_ante() -> impl Strategy<Value = ExAnteFacts> {
        let report = prop::option::of(
            (
                prop::sample::select(Conclusion::ALL.to_vec()),
                prop::sample::select(ReviewState::ALL.to_vec()),
            )
                .prop_map(|(conclusion, review)| ReportFacts { conclusion, review }),
        );
        (any::<bool>(), report).prop_map(|(required, report)| ExAnteFacts { required, report })
    }

    proptest! {
        #[test]
        fn allowed_exactly_when_an_approved_goal_meets_a_fundable_ex_ante(
            goal in arb_goal(),
            ex_ante in arb_ex_ante()
        ) {
            let e = check_funding_eligibility(&FundingFacts { goal, ex_ante });
            let approved = goal.is_some_and(|g| g.approved_version.is_some());
            let expected = approved && gate(&ex_ante).fundable();
            prop_assert_eq!(e.allowed, expected);
            prop_assert_eq!(e.allowed, e.reasons.is_empty());
            prop_assert!(e.reasons.len() <= 2);
            if goal.is_none() {
                prop_assert_eq!(e.reasons[0], Reason::NoGoal);
            }
        }
    }

    /// The gate's target (docs/BENCHMARKS.md "Goal management"): eligibility for 2,000 projects in
    /// one batch ≤ 200 ms. The check itself is a few comparisons per project; this guards against
    /// an accidental quadratic or allocation-heavy rewrite (generous bound, unoptimised test
    /// build).
    #[test]
    fn a_batch_of_2000_projects_is_fast() {
        let goals = [None, Some(GoalState::new()), Some(approved())];
        let reports = [
            None,
            Some(ReportFacts {
                conclusion: Conclusion::Support,
                review: ReviewState::Sufficient,
            }),
            Some(ReportFacts {
                conclusion: Conclusion::NotSupported,
                review: ReviewState::Pending,
            }),
        ];
        let facts: Vec<FundingFacts> = (0..2000)
            .map(|i| FundingFacts {
                goal: goals[i % 3],
                ex_ante: ExAnteFacts {
                    required: i % 2 == 0,
                    report: reports[i % 3 / 2 + i % 2],
                },
            })
            .collect();
        let start = Instant::now();
        let answers = check_funding_eligibility_batch(&facts);
        let elapsed = start.elapsed();
        assert_eq!(answers.len(), 2000);
        assert!(answers.iter().any(|a| a.allowed) && answers.iter().any(|a| !a.allowed));
        assert!(elapsed < Duration::from_millis(200), "took {elapsed:?}");
    }
}
