//! Pure rules of the agency and expert pool: no transport, no database.
//!
//! * [`ids`] – 统一社会信用代码, 身份证号 and mobile numbers with their check digits; masking.
//! * [`dates`] – calendar arithmetic shared by the rules: exact ages and month windows.
//! * [`taxonomy`] – expert fields (专家领域) as configuration.
//! * [`rules`] – [`rules::PoolRules`], the per-region, per-year configuration recorded on results.
//! * [`rating`] – explainable dynamic rating: decay, shrinkage, penalties, credit grade, action.
//! * [`eligibility`] – who may be drawn or engaged, and every reason why not.
//! * [`engagement`] – which work may be commissioned, and the independence rules.
//! * [`draw`] – reproducible random draws with an in-crate generator an auditor can replay.
//! * [`registry`] – the agency record, its status lifecycle and qualification expiry.
//! * [`experts`] – the expert record, entry rules and status lifecycle.
//! * [`access`] – who may read and manage the registry, by role and region.
//! * [`personal`] – personal data: who sees it in full, its masking, phones sealed at rest.

pub mod access;
pub mod dates;
pub mod draw;
pub mod eligibility;
pub mod engagement;
pub mod experts;
pub mod ids;
pub mod personal;
pub mod rating;
pub mod registry;
pub mod rules;
pub mod taxonomy;
