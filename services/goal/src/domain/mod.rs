//! Pure domain rules of the goal-management service (绩效目标管理): projects, goal
//! declarations, submission quality checks, the 二上二下 review workflow, ex-ante assessment
//! (事前绩效评估), the funding gate and statistics. No transport, no database, no I/O, no
//! floating point: money is `rust_decimal::Decimal` in 元, scores are `Decimal`.
//!
//! The rule the whole service hangs on (docs/DOMAIN.md "The funding gate"): **a project without an
//! approved performance goal gets no budget** (晋城 2019: "对未申报绩效目标或最终未通过审核的有关
//! 项目原则上不安排预算").
//!
//! # Layout
//! * [`common`] – [`FiscalYear`], [`FieldViolation`], exact decimal parsing of declared
//!   values (full-width digits accepted, floats and exponents refused).
//! * [`project`] – projects as the budget system knows them (`PRO_CODE`, `AGENCY_CODE`, 四本预算,
//!   special fields, new or continuing, requested amount in 元, mid-term period) and the
//!   declaration target (project or 部门整体支出). Rule: docs/DOMAIN.md "Budgets, fields and
//!   projects" (四本预算 and special fields).
//! * [`goal`] – a goal declaration: year goal, optional mid-term goal, indicators picked from
//!   the library (pinned version) or specific, with levels, direction, target, unit, weight
//!   and the 固化 flag; the library facts the checks need; amendment diffs. Rule: docs/DOMAIN.md
//!   "Indicator library", docs/DOMAIN.md "Declarations".
//! * [`fixed`] – which 固化 indicators of the library a declaration must carry (by the
//!   indicator's owner department and its field and level tags). Rule: docs/DOMAIN.md "Fixed
//!   indicators (固化)" (分行业、分领域、分层次), docs/DOMAIN.md "Quality checks".
//! * [`quality`] – the submission checks, each a field violation with a stable reason code and a
//!   Chinese message; all violations are returned. Rule: docs/DOMAIN.md "Quality checks".
//! * [`workflow`] – the 二上二下 state machine: submit (二上), review 优/良/中/差, amendment,
//!   approval (二下), publication, adjustment with a budget-adjustment reference; role
//!   guards; optimistic revision. Rule: docs/DOMAIN.md "Budget cycle (二上二下)", docs/DOMAIN.md
//!   "Review and approval", docs/DOMAIN.md "Adjustments" (财预〔2015〕88号; 晋城 2019, 洛龙 2019:
//!   "与部门预算'二上二下'同步").
//! * [`access`] – who the caller is to the goal rules (role, region, the unit, department, expert
//!   or agency code of the token), which roles take which steps, which goals a viewer may read (all
//!   versions, the published one, or none) and write: units their own, departments their units',
//!   finance its region, reviewers what is assigned to them, the public published goals; refusals
//!   are [`access::Denied`]. Rule: docs/DOMAIN.md "Regions and roles".
//! * [`exante`] – when ex-ante assessment is required (per-region threshold, e.g. 500万元 in
//!   赣州, 50万元 in 埇桥), the five dimensions, methods, conclusion, the eight mandatory items
//!   of 专项债 projects, and the gate (no report → not reviewed; insufficient → returned with
//!   a written opinion; 不予支持 → not fundable). Rule: docs/DOMAIN.md "Ex-ante assessment
//!   (事前绩效评估)" (中发〔2018〕34号; 埇桥 2021, 区财办〔2020〕44号; 赣州 2020), docs/DOMAIN.md
//!   "Special bond projects (专项债)" (财预〔2021〕61号 第八条).
//! * [`funding`] – `check_funding_eligibility`: allowed, or every reason why not. Rule:
//!   docs/DOMAIN.md "The funding gate" (青岛 2020–2022 二(四):
//!   "将绩效目标设置作为申请预算的前置条件"; 埇桥 2021, 区财办〔2020〕44号: ex-ante results).
//! * [`stats`] – counts and amounts by year, department, fund source and special field: declared,
//!   passed first review, returned, blocked, approved. Rule: docs/DOMAIN.md "Statistics and
//!   publication" (晋城 2019: "共申报了900个项目绩效目标,初次审核通过492个,未通过408个").
//!
//! # Example: the funding gate of a new 60万元 project in 埇桥
//!
//! ```
//! use pbm_goal::domain::exante::{self, ExAnteFacts, ExAnteRules};
//! use pbm_goal::domain::funding::{FundingFacts, check_funding_eligibility};
//! use pbm_goal::domain::project::{Continuity, FundSource, Nature, Project, ProjectInput, SpecialField};
//! use pbm_goal::domain::workflow::{Action, Actor, GoalState, ReviewOutcome, Role, apply};
//! use pbm_goal::domain::FiscalYear;
//! use rust_decimal_macros::dec;
//!
//! let project = Project::parse(ProjectInput {
//!     pro_code: "341302-2022-0042".into(),
//!     name: "农村饮水安全巩固提升工程".into(),
//!     agency_code: "341302101".into(),
//!     department_code: "341302101".into(),
//!     fiscal_year: 2022,
//!     fund_source: FundSource::GeneralPublic,
//!     special_field: SpecialField::None,
//!     continuity: Continuity::New,
//!     nature: Nature::Project,
//!     requested_amount: dec!(600000),
//!     mid_term: None,
//! })
//! .expect("a valid project");
//!
//! // 埇桥区 (341302): new projects of 50万元 and above need an ex-ante assessment.
//! let year = FiscalYear::new(2022).unwrap();
//! let rules = ExAnteRules::new("341302-2022", "341302", year, dec!(500000));
//! let required = exante::requirement(&project, &rules).required;
//! let ex_ante = ExAnteFacts { required, report: None };
//!
//! // The goal is declared (二上), reviewed 优 and approved (二下).
//! let unit = Actor::new(Role::BudgetUnit, "341302101");
//! let finance = Actor::new(Role::Finance, "fin");
//! let mut goal = GoalState::new();
//! for (action, actor) in [
//!     (Action::Submit, &unit),
//!     (Action::Review { outcome: ReviewOutcome::Excellent, comments: String::new() }, &finance),
//!     (Action::Approve, &finance),
//! ] {
//!     goal = apply(&goal, &action, actor).expect("a legal step").to;
//! }
//!
//! // Approved goal, but no ex-ante report: not fundable yet.
//! let answer = check_funding_eligibility(&FundingFacts { goal: Some(goal), ex_ante });
//! assert!(!answer.allowed);
//! assert_eq!(answer.reasons[0].code(), "EX_ANTE_MISSING");
//! ```

pub mod access;
pub mod common;
pub mod exante;
pub mod fixed;
pub mod funding;
pub mod goal;
pub mod project;
pub mod quality;
pub mod stats;
pub mod workflow;

pub use common::{FieldViolation, FiscalYear};
pub use exante::{ExAnteGate, ExAnteRules};
pub use funding::{Eligibility, FundingFacts, Reason, check_funding_eligibility};
pub use goal::{DeclaredIndicator, GoalDeclaration};
pub use project::{DeclarationTarget, Project};
pub use quality::check_declaration;
pub use workflow::{Action, Actor, GoalState, Role, Status, Transition, WorkflowError, apply};

#[cfg(test)]
mod tests {
    /// docs/DOMAIN.md "Exact numbers and rounding": never floating point. Clippy denies float
    /// arithmetic; this test also keeps the float *types* out of every source file of the crate.
    #[test]
    fn no_floating_point_types_anywhere() {
        let sources = [
            ("mod.rs", include_str!("mod.rs")),
            ("access.rs", include_str!("access.rs")),
            ("common.rs", include_str!("common.rs")),
            ("project.rs", include_str!("project.rs")),
            ("goal.rs", include_str!("goal.rs")),
            ("fixed.rs", include_str!("fixed.rs")),
            ("quality.rs", include_str!("quality.rs")),
            ("workflow.rs", include_str!("workflow.rs")),
            ("exante.rs", include_str!("exante.rs")),
            ("funding.rs", include_str!("funding.rs")),
            ("stats.rs", include_str!("stats.rs")),
        ];
        // Built at run time so that this file does not contain the words it looks for.
        let banned = [format!("{}{}", 'f', 32), format!("{}{}", 'f', 64)];
        for (file, text) in sources {
            for word in &banned {
                let found = text.match_indices(word.as_str()).any(|(i, _)| {
                    let before = text[..i].chars().next_back();
                    let after = text[i + word.len()..].chars().next();
                    let ident =
                        |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
                    !ident(before) && !ident(after)
                });
                assert!(!found, "{file} mentions the float type `{word}`");
            }
        }
    }
}
