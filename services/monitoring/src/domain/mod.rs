//! Pure rules of the monitoring service (绩效运行监控, 双监控). No transport, no database, no
//! I/O, no floating point: money is `rust_decimal::Decimal` in 元, shown values are rounded
//! half-up to two places (docs/DOMAIN.md "Exact numbers and rounding").
//!
//! Rule: docs/DOMAIN.md "Monitoring (双监控)"; the design and its **PROPOSAL**s:
//! docs/drafts/MONITORING.md. Each proposal is written, as the project's choice, into the doc
//! comment of the module that implements it.
//!
//! # Layout (the public API the use cases call)
//! * [`bands`] – [`Colour`] (`Red > Yellow > Green > Blue`, so the worst is the `max`),
//!   [`Axis`], [`Direction`], [`QualitativeTier`], [`Likelihood`], [`Achieved`],
//!   the self-explaining [`Warning`] and
//!   `budget_warning`, `indicator_warning`, `goal_warning`, `forecast_warning`,
//!   `project_forecast_warning`, [`deviated`]. Rule: docs/DOMAIN.md "Warning bands".
//! * [`rules`] – [`MonitoringRules`], the versioned bands of a region and year (JSON, defaults,
//!   `validate`), also re-exported from [`bands`].
//! * [`forecast`] – `execution_forecast`: the year-end budget execution projected from the
//!   monthly history (recent pace or linear), as a [`Warning`] on
//!   [`Axis::ExecutionForecast`].
//! * [`completeness`] – `check_report`: what a report needs before it is submitted, every gap a
//!   field violation. Rule: docs/DOMAIN.md "Deviation causes and completeness".
//! * [`deadline`] – [`DeadlineStatus`] of a report and a unit, and the lock after the deadline.
//!   Rule: docs/DOMAIN.md "Rounds and reports".
//! * [`report_workflow`] – the report's states and steps (save, submit, check, accept, return)
//!   with role, lock, revision and comment guards; [`WorkflowError`] is also the error of
//!   corrective actions.
//! * [`actions`] – corrective actions (整改纠偏): OPEN → IN_PROGRESS → DONE → VERIFIED,
//!   overdue and late.
//! * [`decisions`] – finance's decisions on deviated subjects and the payments on hold.
//! * [`access`] – who the caller is to monitoring ([`Viewer`]), which subjects they read and
//!   write, and the list filter the store turns into a `WHERE` clause. Rule: docs/DOMAIN.md
//!   "Regions and roles".
//! * [`stats`] – per-round statistics by department, fund source and special field. Rule:
//!   docs/DOMAIN.md "Statistics and publication".
//! * [`subject`] – round subjects' keys and goal states.
//! * `common`, `exact` – display of numbers and the exact comparison of products.

pub mod access;
pub mod actions;
pub mod bands;
pub mod common;
pub mod completeness;
pub mod deadline;
pub mod decisions;
pub mod exact;
pub mod execution;
pub mod forecast;
pub mod report_workflow;
pub mod rules;
pub mod stats;
pub mod subject;

pub use access::{ListFilter, SubjectRef, Viewer};
pub use actions::{ActionState, ActionStatus, ActionStep};
pub use bands::{
    Achieved, Axis, Colour, Direction, Likelihood, MonitoringRules, QualitativeTier, Warning,
    budget_warning, deviated, forecast_warning, goal_warning, indicator_warning,
    project_forecast_warning,
};
pub use common::FieldViolation;
pub use completeness::{Cause, IndicatorReportFacts, check_report};
pub use deadline::DeadlineStatus;
pub use decisions::DecisionKind;
pub use forecast::execution_forecast;
pub use report_workflow::{ReportAction, ReportState, ReportStatus, WorkflowError};
pub use subject::{GoalState, SubjectKey};

#[cfg(test)]
mod tests {
    /// docs/DOMAIN.md "Exact numbers and rounding": never floating point. This test keeps the
    /// float types out of every source file of the domain.
    #[test]
    fn no_floating_point_types_anywhere() {
        let sources = [
            ("mod.rs", include_str!("mod.rs")),
            ("common.rs", include_str!("common.rs")),
            ("exact.rs", include_str!("exact.rs")),
            ("bands.rs", include_str!("bands.rs")),
            ("forecast.rs", include_str!("forecast.rs")),
            ("rules.rs", include_str!("rules.rs")),
            ("access.rs", include_str!("access.rs")),
            ("deadline.rs", include_str!("deadline.rs")),
            ("completeness.rs", include_str!("completeness.rs")),
            ("actions.rs", include_str!("actions.rs")),
            ("decisions.rs", include_str!("decisions.rs")),
            ("stats.rs", include_str!("stats.rs")),
            ("subject.rs", include_str!("subject.rs")),
            ("report_workflow.rs", include_str!("report_workflow.rs")),
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
